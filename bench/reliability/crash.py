"""Crash safety: SIGKILL `opsagent ingest` and `opsagent serve` mid-work, restart, and check the result.

Ingestion: `opsagent ingest knowledge/` is killed at fractions of a clean run's duration, then run
again to completion. Afterwards the store must equal a clean ingest's: the same records (ids, texts,
metadata), the same raw log lines, the same search results; and between the kill and the re-run the
half-done store must open and answer searches (nothing half-written that breaks reading).

Triage: a real `opsagent serve` (worker on, lease 2 s) is killed while alerts are being posted, then
again (several times) while its worker is triaging. Senders re-send what was not acknowledged, as
Alertmanager does. After the last restart the queue must drain and every incident must have exactly
one diagnosis, every diagnosis must validate, nothing stays queued or running, no job failed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from bench.common import REPO
from bench.http_load import TEMPLATE
from bench.reliability.serve import (
    OPSAGENT,
    create_token,
    open_store,
    opsagent,
    server_env,
    start_server,
    wait_drained,
)
from opsagent.agent.diagnosis import Diagnosis
from opsagent.config import Settings
from opsagent.incidents.db import read_only
from opsagent.incidents.tables import alert_events, diagnoses, incidents, jobs
from opsagent.knowledge.base import KnowledgeBase
from opsagent.knowledge.models import DocumentKind

CORPUS = REPO / "knowledge"
QUERIES = [
    "x509: certificate has expired or is not yet valid",
    "pod OOMKilled exit code 137",
    "too many clients already",
    "disk full no space left on device",
    "connection refused",
    "CrashLoopBackOff",
]

# --- ingestion ---------------------------------------------------------------------------------------


def snapshot(data_dir: Path) -> dict[str, Any]:
    """What a data dir holds, comparably: record digests per kind, log files and lines, search results."""
    kb = KnowledgeBase(Settings(data_dir=data_dir))
    try:
        records: dict[str, Any] = {}
        for kind in DocumentKind:
            digest = hashlib.sha256()
            ids = sorted(
                (rid, text, json.dumps(meta, sort_keys=True, default=str))
                for rid, text, meta in kb.store.iter_records(kind)
            )
            for item in ids:
                digest.update("\0".join(item).encode())
            records[kind.value] = {"records": len(ids), "sha256": digest.hexdigest()[:16]}
        searches = {q: [(h.citation.render(), round(h.score, 3)) for h in kb.search(q, 5)] for q in QUERIES}
        lines = {f"{s}": n for _, s, n in kb.log_store.sources()}
        return {"records": records, "log_files": lines, "searches": searches}
    finally:
        kb.close()


def _readable(data_dir: Path) -> str | None:
    """None when the half-done store opens, counts and searches; else the error."""
    try:
        kb = KnowledgeBase(Settings(data_dir=data_dir))
        try:
            kb.stats()
            for q in QUERIES[:2]:
                kb.search(q, 3)
            kb.search_log_lines("error", limit=5)
        finally:
            kb.close()
    except Exception as exc:  # any failure to read is the finding
        return f"{exc.__class__.__name__}: {str(exc)[:300]}"
    return None


SMALL_CORPUS = ["runbooks", "logs/payments-api.log", "logs/inventory-db.log"]


def _ingest_process(env: dict[str, str], corpus: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(OPSAGENT), "ingest", str(corpus)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def _copy_corpus(parts: list[str], to: Path) -> Path:
    for part in parts:
        source = CORPUS / part
        if source.is_dir():
            shutil.copytree(source, to / part)
        else:
            (to / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, to / part)
    return to


def run_ingest_crash(
    kill_fractions: tuple[float, ...] = (0.3, 0.55, 0.8), parts: list[str] | None = None
) -> dict[str, Any]:
    """Kill `opsagent ingest` at each fraction of a clean run's wall time; compare with the clean run.

    `parts` (paths under knowledge/) ingest a smaller corpus; default: all of knowledge/.
    """
    workdir = Path(tempfile.mkdtemp(prefix="opsagent-reliability-ingest-"))
    try:
        corpus = _copy_corpus(parts, workdir / "corpus") if parts else CORPUS
        clean_env = server_env(workdir / "clean")
        started = time.perf_counter()
        opsagent(clean_env, "ingest", str(corpus))
        clean_seconds = time.perf_counter() - started
        clean = snapshot(workdir / "clean")
        runs = []
        for n, fraction in enumerate(kill_fractions):
            delay = clean_seconds * fraction
            for attempt in range(3):
                # Ingest speed varies with the machine's load: a run that finished before its kill is
                # redone in a fresh data dir with half the delay.
                data = workdir / f"killed-{n}-{attempt}"
                env = server_env(data)
                process = _ingest_process(env, corpus)
                time.sleep(delay)
                running = process.poll() is None
                process.send_signal(signal.SIGKILL)
                process.wait(30)
                if running:
                    break
                delay /= 2
            broken = _readable(data)
            opsagent(env, "ingest", str(corpus))
            after = snapshot(data)
            runs.append(
                {
                    "kill_at_s": round(delay, 1),
                    "killed_while_running": running,
                    "unreadable_after_kill": broken,
                    "records_equal": after["records"] == clean["records"],
                    "log_lines_equal": after["log_files"] == clean["log_files"],
                    "searches_equal": after["searches"] == clean["searches"],
                    "differences": _differences(clean, after),
                }
            )
        inconsistent = sum(
            1
            for r in runs
            if not (r["records_equal"] and r["log_lines_equal"] and r["searches_equal"])
            or r["unreadable_after_kill"]
        )
        return {
            "figures": {"inconsistent_after_restart": inconsistent, "kills": len(runs)},
            "passed": inconsistent == 0 and all(r["killed_while_running"] for r in runs),
            "corpus": parts or ["knowledge/"],
            "clean_ingest_s": round(clean_seconds, 1),
            "clean": {"records": clean["records"], "log_files": len(clean["log_files"])},
            "runs": runs,
        }
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _differences(clean: dict[str, Any], after: dict[str, Any]) -> list[str]:
    out = [
        f"records[{k}]: {v} vs clean {clean['records'][k]}"
        for k, v in after["records"].items()
        if v != clean["records"][k]
    ]
    for source in sorted(set(clean["log_files"]) | set(after["log_files"])):
        if clean["log_files"].get(source) != after["log_files"].get(source):
            got, want = after["log_files"].get(source), clean["log_files"].get(source)
            out.append(f"log lines of {source}: {got} vs clean {want}")
    out += [f"search {q!r} differs" for q in QUERIES if clean["searches"][q] != after["searches"][q]]
    return out[:20]


# --- triage ------------------------------------------------------------------------------------------


def _alert_body(fingerprint: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(TEMPLATE.read_text())
    body["alerts"][0]["fingerprint"] = fingerprint
    body["alerts"][0]["labels"]["pod"] = f"payments-api-7d4b9c6f8-{fingerprint[-5:]}"
    return body


class _Poster:
    """Posts alerts one at a time in a thread; remembers which were acknowledged."""

    def __init__(self, url: str, token: str, fingerprints: list[str]) -> None:
        self.url, self.token, self.fingerprints = url, token, fingerprints
        self.acked: set[str] = set()
        self.unanswered: set[str] = set()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(base_url=self.url, headers=headers, timeout=10) as client:
            for fp in self.fingerprints:
                if self.stop.is_set():
                    return
                try:
                    response = client.post("/v1/webhooks/alertmanager", json=_alert_body(fp))
                    if response.status_code == 202:
                        self.acked.add(fp)
                        continue
                except httpx.HTTPError:
                    pass
                self.unanswered.add(fp)
                return  # the server is gone: the sender retries later


def _wait_for(condition: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def run_triage_crash(alerts: int = 120, triage_kills: int = 3) -> dict[str, Any]:
    """Kill serve during webhook intake, then `triage_kills` times during triage; check exactly once."""
    workdir = Path(tempfile.mkdtemp(prefix="opsagent-reliability-crash-"))
    data = workdir / "data"
    env = server_env(data, job_lease_seconds="2", worker_poll_seconds="0.1")
    fingerprints = [f"crash{i:06d}" for i in range(alerts)]
    store = None
    server = None
    kills: list[dict[str, Any]] = []
    try:
        token = create_token(env, "webhook")
        store = open_store(data)
        # 1. Kill while alerts arrive (and the worker has started on the first ones).
        server = start_server(env, workdir / "server.log")
        poster = _Poster(server.url, token, fingerprints)
        poster.thread.start()
        _wait_for(lambda: len(poster.acked) >= alerts // 3, 60)
        server.kill()
        poster.stop.set()
        poster.thread.join(15)
        kills.append(
            {"during": "webhook intake", "acked_before_kill": len(poster.acked), **_after_kill(store, data)}
        )
        acked = set(poster.acked)
        # 2. Restart; senders re-send what was not acknowledged (a lost ack: a repeat, not a new incident).
        server = start_server(env, workdir / "server.log")
        resend = _Poster(server.url, token, [fp for fp in fingerprints if fp not in acked])
        resend.thread.start()
        resend.thread.join(120)
        acked |= resend.acked
        # 3. Kill during triage, several times, each once the worker has made progress since the restart.
        for n in range(triage_kills):
            done_before = store.counts()["diagnoses"]
            target = done_before + max(2, (alerts - done_before) // (triage_kills + 1 - n))
            if n > 0:
                server = start_server(env, workdir / "server.log")
            _wait_for(lambda t=target: store.counts()["diagnoses"] >= t, 120)
            depth = store.queue.depth()
            server.kill()
            kills.append({"during": "triage", "queue_at_kill": depth, **_after_kill(store, data)})
        # 4. The last restart drains the queue.
        server = start_server(env, workdir / "server.log")
        drained, drain_seconds = wait_drained(store, 180)
        exit_code = server.stop()
        check = _verify(store, acked)
        figures = {
            "lost": check["lost"],
            "triaged_twice": check["triaged_twice"],
            "untriaged": check["untriaged"],
            "half_written": check["invalid_diagnoses"]
            + check["stuck"]
            + sum(1 for k in kills if k["integrity"] != "ok"),
            "failed_jobs": check["queue"]["failed"],
            "queue_drained": drained,
        }
        passed = (
            drained
            and figures["lost"] == figures["triaged_twice"] == figures["untriaged"] == 0
            and figures["half_written"] == figures["failed_jobs"] == 0
            and kills[0]["acked_before_kill"] < alerts
            and all(k.get("queue_at_kill", {"queued": 1}).get("queued", 0) > 0 for k in kills[1:])
        )
        return {
            "figures": figures,
            "passed": passed,
            "alerts": alerts,
            "acked": len(acked),
            "kills": kills,
            "drain_seconds": round(drain_seconds, 1),
            "store": check,
            "server_exit_code": exit_code,
        }
    finally:
        if server is not None:
            server.stop()
        if store is not None:
            store.engine.dispose()
        shutil.rmtree(workdir, ignore_errors=True)


def _after_kill(store: Any, data: Path) -> dict[str, Any]:
    """SQLite's own integrity check on the database the killed server left, and what it holds."""
    with sqlite3.connect(data / "opsagent.sqlite3") as connection:
        integrity = connection.execute("PRAGMA integrity_check").fetchone()[0]
    return {"integrity": integrity, "counts_after_kill": store.counts()}


def _verify(store: Any, acked: set[str]) -> dict[str, Any]:
    with read_only(store.engine) as connection:
        stored = Counter(
            fp
            for (fp,) in connection.execute(
                select(incidents.c.fingerprint).select_from(
                    incidents.join(alert_events, alert_events.c.incident_id == incidents.c.id)
                )
            )
        )
        rows = connection.execute(select(incidents.c.id, incidents.c.triage_status)).all()
        per_incident = Counter(i for (i,) in connection.execute(select(diagnoses.c.incident_id)))
        triage_jobs = Counter(i for (i,) in connection.execute(select(jobs.c.incident_id)))
        attempts = Counter(int(a) for (a,) in connection.execute(select(jobs.c.attempts)))
        invalid = 0
        for (data,) in connection.execute(select(diagnoses.c.diagnosis)):
            try:
                Diagnosis.model_validate(data)
            except ValueError:
                invalid += 1
    return {
        "lost": sum(1 for fp in acked if stored[fp] == 0),
        "incidents": len(rows),
        "triaged_twice": sum(1 for i, _ in rows if per_incident[i] > 1 or triage_jobs[i] > 1),
        "untriaged": sum(1 for i, _ in rows if per_incident[i] == 0),
        "invalid_diagnoses": invalid,
        "stuck": sum(1 for _, status in rows if status != "done"),
        "job_attempts": dict(sorted(attempts.items())),
        "queue": store.queue.depth(),
    }


def run_crash(short: bool = False) -> dict[str, Any]:
    """Both halves; the short form kills ingestion once and triage twice."""
    ingest = run_ingest_crash((0.6,), SMALL_CORPUS) if short else run_ingest_crash((0.3, 0.55, 0.8))
    triage = run_triage_crash(40 if short else 120, 2 if short else 3)
    return {
        "figures": {
            "ingest_inconsistent_after_restart": ingest["figures"]["inconsistent_after_restart"],
            **{f"triage_{k}": v for k, v in triage["figures"].items()},
        },
        "passed": ingest["passed"] and triage["passed"],
        "ingest": ingest,
        "triage": triage,
    }


if __name__ == "__main__":  # pragma: no cover - python -m bench.reliability.crash [--short]
    import sys

    print(json.dumps(run_crash("--short" in sys.argv), indent=2, default=str))
