"""Webhook storm: N Alertmanager alerts in S seconds against a real `opsagent serve` (SQLite, worker on).

Every fingerprint fires once and is resolved once (one episode: the same `startsAt`); a share of the
resolutions is sent *before* their firing alert (out of order), and a share of all sends re-sends an
earlier body (duplicates). Triage runs offline over an empty knowledge base (cheap). After the load the
queue must drain; then the store is read and compared with what was acknowledged:

- lost: acknowledged (202) alerts with no stored alert event;
- triaged twice: incidents with more than one triage job or diagnosis;
- duplicate incidents: fingerprints with more than one incident (each has exactly one episode);
- untriaged / wrongly triaged: an incident whose first stored alert fired must have exactly one
  diagnosis; one first seen resolved (`resolved_unknown`, its firing copy then `stale`) must have none.

The order the server saw is the order of `alert_events` ids, so the check does not depend on which of
two concurrent requests won. Peak RSS is the server's VmHWM.
"""

from __future__ import annotations

import copy
import json
import random
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bench.common import percentile
from bench.http_load import TEMPLATE, Load, Plan, run_async, run_load
from bench.reliability.serve import (
    OPSAGENT,
    create_token,
    open_store,
    server_env,
    start_server,
    status_kib,
    wait_drained,
)
from opsagent.incidents.db import read_only
from opsagent.incidents.store import TRIAGE
from opsagent.incidents.tables import alert_events, diagnoses, incidents, jobs

STARTS_AT = "2026-11-20T03:15:00Z"


@dataclass
class StormPlan:
    plan: Plan
    statuses: list[str]  # "firing" / "resolved", parallel to plan.bodies
    fingerprints: int
    duplicates: int
    early_resolves: int


def _body(template: dict[str, Any], fingerprint: str, status: str) -> bytes:
    body = copy.deepcopy(template)
    item = body["alerts"][0]
    pod = f"payments-api-{fingerprint[-10:-5]}-{fingerprint[-5:]}"
    item["labels"]["pod"] = pod
    item["annotations"]["summary"] = f"Pod payments/{pod} is crash looping."
    item.update(status=status, fingerprint=fingerprint, startsAt=STARTS_AT)
    if status == "resolved":
        item["endsAt"] = "2026-11-20T04:00:00Z"
    body["status"] = status
    return json.dumps(body).encode()


def storm_plan(
    count: int, duplicate_fraction: float, early_resolve_fraction: float, seed: int, prefix: str
) -> StormPlan:
    """`count` sends: each fingerprint fires and resolves once; duplicates re-send an earlier body."""
    rng = random.Random(seed)
    template = json.loads(TEMPLATE.read_text())
    unique = count - round(count * duplicate_fraction)
    n_fp = unique // 2
    keyed: list[tuple[float, str, str]] = []  # (position, fingerprint, status)
    early = 0
    for i in range(n_fp):
        fp = f"{prefix}{i:08x}"
        # Resolutions follow their firing by 0.5-2.5 s at the storm's rate, or precede it (out of order).
        gap = rng.uniform(0.005, 0.025) * unique
        before = rng.random() < early_resolve_fraction
        early += before
        position = i * unique / n_fp
        keyed.append((position, fp, "firing"))
        keyed.append((position - gap if before else position + gap, fp, "resolved"))
    keyed.sort()
    bodies: list[bytes] = []
    fingerprints: list[str] = []
    statuses: list[str] = []
    pending = iter(keyed)
    duplicates = count - len(keyed)
    dup_slots = set(rng.sample(range(1, count), duplicates)) if duplicates > 0 else set()
    for slot in range(count):
        if slot in dup_slots and bodies:
            j = rng.randrange(len(bodies))
            bodies.append(bodies[j])
            fingerprints.append(fingerprints[j])
            statuses.append(statuses[j])
            continue
        _, fp, status = next(pending)
        bodies.append(_body(template, fp, status))
        fingerprints.append(fp)
        statuses.append(status)
    return StormPlan(Plan(bodies, fingerprints), statuses, n_fp, duplicates, early)


def verify_store(data_dir: Path, storm: StormPlan, acked: list[int], unanswered: list[int]) -> dict[str, Any]:
    """Compare the store with what was acknowledged (indices into the plan).

    `unanswered` are sends that may or may not have been committed: those not acknowledged in the end,
    and those re-sent after no answer (the first copy may have been stored too).
    """
    fps = storm.plan.fingerprints
    acked_per_fp = Counter(fps[i] for i in acked)
    maybe_per_fp = Counter(fps[i] for i in unanswered)
    store = open_store(data_dir)
    try:
        with read_only(store.engine) as connection:
            events = connection.execute(
                select(incidents.c.fingerprint, incidents.c.id, alert_events.c.status, alert_events.c.outcome)
                .select_from(incidents.join(alert_events, alert_events.c.incident_id == incidents.c.id))
                .order_by(alert_events.c.id)
            ).all()
            incident_rows = connection.execute(
                select(incidents.c.id, incidents.c.fingerprint, incidents.c.status)
            ).all()
            triage_jobs = Counter(
                i for (i,) in connection.execute(select(jobs.c.incident_id).where(jobs.c.kind == TRIAGE))
            )
            diagnosis_count = Counter(i for (i,) in connection.execute(select(diagnoses.c.incident_id)))
        depth = store.queue.depth()
    finally:
        store.engine.dispose()
    stored_per_fp: Counter[str] = Counter()
    first_status: dict[int, str] = {}
    outcomes: Counter[str] = Counter()
    for fp, incident_id, status, outcome in events:
        stored_per_fp[fp] += 1
        first_status.setdefault(int(incident_id), str(status))
        outcomes[str(outcome)] += 1
    incidents_per_fp = Counter(fp for _, fp, _ in incident_rows)
    should_triage = {i for i, status in first_status.items() if status == "firing"}
    lost = sum(max(0, n - stored_per_fp[fp]) for fp, n in acked_per_fp.items())
    extra = sum(max(0, stored_per_fp[fp] - acked_per_fp[fp] - maybe_per_fp[fp]) for fp in stored_per_fp)
    triaged_twice = sum(
        1 for i, _, _ in incident_rows if triage_jobs[int(i)] > 1 or diagnosis_count[int(i)] > 1
    )
    return {
        "lost": lost,
        "stored_without_an_ack": extra,
        "triaged_twice": triaged_twice,
        "duplicate_incidents": sum(n - 1 for n in incidents_per_fp.values() if n > 1),
        "untriaged": sum(1 for i in should_triage if diagnosis_count[i] == 0),
        "wrongly_triaged": sum(
            1 for i, _, _ in incident_rows if int(i) not in should_triage and triage_jobs[int(i)]
        ),
        "incidents": len(incident_rows),
        "incidents_triaged": sum(1 for i in should_triage if diagnosis_count[i] == 1),
        "incidents_first_seen_resolved": len(incident_rows) - len(should_triage),
        "open_incidents_at_end": sum(1 for _, _, status in incident_rows if status == "firing"),
        "stored_outcomes": dict(outcomes),
        "queue": depth,
    }


def _peak_rss_mib(pid: int) -> float:
    return status_kib(pid, "VmHWM") / 1024


def run_storm(
    alerts: int = 10_000,
    seconds: float = 60,
    duplicate_fraction: float = 0.2,
    early_resolve_fraction: float = 0.25,
    drain_timeout: float = 240,
    seed: int = 9,
    extra_workers: int = 1,
) -> dict[str, Any]:
    """The storm against a fresh `opsagent serve`; {"figures", "passed", ...}."""
    workdir = Path(tempfile.mkdtemp(prefix="opsagent-reliability-storm-"))
    storm = storm_plan(alerts, duplicate_fraction, early_resolve_fraction, seed, "st")
    server = None
    workers: list[subprocess.Popen[bytes]] = []
    try:
        env = server_env(workdir / "data", worker_enabled="true", worker_poll_seconds="0.1")
        token = create_token(env, "webhook")
        server = start_server(env, workdir / "server.log")
        # The documented setup for high alert rates: triage also in `opsagent worker` processes.
        workers = [
            subprocess.Popen([str(OPSAGENT), "worker"], env=env, stdout=log, stderr=subprocess.STDOUT)
            for log in [(workdir / "worker.log").open("ab") for _ in range(extra_workers)]
        ]
        rss: list[float] = []
        sampling = threading.Event()

        def sample() -> None:
            while not sampling.wait(1.0):
                rss.append(server.rss_mib())

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        rss_start = server.rss_mib()
        load = Load(client="raw", rate=alerts / seconds, concurrency=64, warmup=0, timeout=30)
        began = time.perf_counter()
        _, shots, _ = run_async(run_load(server.url, token, storm.plan, load))
        load_wall = time.perf_counter() - began
        rss_end_of_storm = server.rss_mib()
        # Like Alertmanager, a sender re-sends what was not acknowledged (a timeout may have committed:
        # the re-send must then fold into the same incident, not open or triage another).
        latencies = [(s.done - s.due) * 1000 for s in shots if s.status == "202"]
        first_try = Counter(s.status for s in shots)
        retried = [s.index for s in shots if not s.status.isdigit()]
        first_unanswered = list(retried)
        resent = len(retried)
        resend_rounds = 0
        while retried and resend_rounds < 3:
            resend_rounds += 1
            again = Plan(
                [storm.plan.bodies[i] for i in retried], [storm.plan.fingerprints[i] for i in retried]
            )
            retry_load = Load(client="raw", rate=50, concurrency=8, warmup=0, timeout=60)
            _, retry_shots, _ = run_async(run_load(server.url, token, again, retry_load))
            for shot in retry_shots:
                shots[retried[shot.index]].status = shot.status
            retried = [i for i in retried if not shots[i].status.isdigit()]
        store = open_store(workdir / "data")
        try:
            drained, drain_seconds = wait_drained(store, drain_timeout)
        finally:
            store.engine.dispose()
        sampling.set()
        sampler.join()
        peak = server.peak_rss_mib()
        rss_after = server.rss_mib()
        workers_peak = [_peak_rss_mib(w.pid) for w in workers]
        exit_code = server.stop()
        for worker in workers:
            worker.send_signal(signal.SIGINT)
            worker.wait(30)
        acked = [s.index for s in shots if s.status == "202"]
        unanswered = [s.index for s in shots if not s.status.isdigit()]
        maybe_twice = sorted({*unanswered, *first_unanswered})
        refused = Counter(s.status for s in shots if s.status.isdigit() and s.status != "202")
        check = verify_store(workdir / "data", storm, acked, maybe_twice)
        figures = {
            "lost": check["lost"],
            "triaged_twice": check["triaged_twice"],
            "duplicate_incidents": check["duplicate_incidents"],
            "untriaged": check["untriaged"],
            "wrongly_triaged": check["wrongly_triaged"],
            "queue_drained": drained,
            "failed_jobs": check["queue"]["failed"],
            "peak_rss_mib": round(peak, 1),
        }
        passed = (
            figures["lost"] == figures["triaged_twice"] == figures["duplicate_incidents"] == 0
            and figures["untriaged"] == figures["wrongly_triaged"] == figures["failed_jobs"] == 0
            and drained
            and not unanswered
            and not refused
        )
        return {
            "figures": figures,
            "passed": passed,
            "sent": len(shots),
            "acked_202": len(acked),
            "refused": dict(refused),
            "unanswered": len(unanswered),
            "first_try_statuses": dict(first_try),
            "resent_after_no_answer": resent,
            "resend_rounds": resend_rounds,
            "offered_rate": round(alerts / seconds, 1),
            "achieved_rate": round(len(shots) / load_wall, 1) if load_wall else None,
            "load_wall_s": round(load_wall, 1),
            "ack_latency_ms": {
                "p50": round(percentile(latencies, 50), 1),
                "p99": round(percentile(latencies, 99), 1),
                "max": round(max(latencies), 1) if latencies else None,
            },
            "plan": {
                "alerts": alerts,
                "seconds": seconds,
                "fingerprints": storm.fingerprints,
                "duplicates": storm.duplicates,
                "resolves_sent_before_firing": storm.early_resolves,
            },
            "drain_seconds_after_load": round(drain_seconds, 1),
            "rss_mib": {
                "start": round(rss_start, 1),
                "end_of_storm": round(rss_end_of_storm, 1),
                "after_drain": round(rss_after, 1),
                "max_sampled": round(max(rss, default=float("nan")), 1),
                "peak_vmhwm": round(peak, 1),
                "extra_workers_peak_vmhwm": [round(w, 1) for w in workers_peak],
            },
            "extra_worker_processes": extra_workers,
            "store": check,
            "server_exit_code": exit_code,
        }
    finally:
        if server is not None:
            server.stop()
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


__all__ = ["run_storm", "storm_plan", "verify_store"]


def _main() -> None:  # pragma: no cover - a quick manual run: python -m bench.reliability.storm
    import sys

    alerts = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 10
    print(json.dumps(run_storm(alerts, seconds), indent=2, default=str))


if __name__ == "__main__":
    _main()
