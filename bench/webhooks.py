"""Webhook ingestion under load: open-loop posters on loopback against a real `opsagent serve`.

A fresh data dir (and, with a Postgres --database-url, a fresh database that is dropped afterwards), a
webhook token from `opsagent token create --scope webhook`, `opsagent serve [--processes N]`, then the
load of bench/http_load.py: untimed warm-up requests, then one send every 1/--rate seconds for --seconds,
each a new fingerprint except --repeats of them, which re-send an earlier alert and must dedup into its
incident. After the run the server is stopped and the database counted: alert events == 202s,
incidents == distinct fingerprints, one triage job per incident, per fingerprint (exactly once).

Target: p99 <= 50 ms at 500 req/s on this (2-core) machine.

--client-check drives a no-op server the same way (the client's own ceiling); --breakdown times each
stage of the webhook path in-process, one request at a time; --profile samples the server's threads
during the load (bench/webhooks_profile.py). The load average (1, 5, 15 min) is recorded before and
after the timed load; with Postgres, `postgres_cores` is the CPU of every local postgres process.

Usage: python -m bench.webhooks [--rate 500] [--seconds 10] [--processes 1] [--worker/--no-worker]
       [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres] [--knowledge DIR]
       [--client raw|httpx] [--client-check] [--breakdown] [--profile] [--pin] [--name webhooks]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import REPO, emit
from bench.http_load import (
    CLIENTS,
    Load,
    Plan,
    Shot,
    client_ceiling,
    free_port,
    make_plan,
    run_async,
    run_load,
    summarise_load,
    wait_healthy,
)

OPSAGENT = Path(sys.executable).parent / "opsagent"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def server_env(data_dir: Path, database_url: str | None, log_level: str, worker: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSAGENT_") and k != "OPENAI_API_KEY"}
    env.update(
        {
            "OPSAGENT_DATA_DIR": str(data_dir),
            "OPSAGENT_LOG_LEVEL": log_level,
            "OPSAGENT_WORKER_ENABLED": "true" if worker else "false",
            "OPSAGENT_ACTION_CATALOG": str(REPO / "knowledge" / "actions" / "catalog.yaml"),
            "PYTHONPATH": str(REPO),
        }
    )
    if database_url:
        env["OPSAGENT_DATABASE_URL"] = database_url
    return env


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    log_path: Path

    def cpu(self) -> dict[str, float]:
        """CPU seconds of the server's processes (uvicorn's children too), and of their main threads."""
        total = loop = 0.0
        for pid in _process_tree(self.process.pid):
            with contextlib.suppress(OSError):
                total += _stat_cpu(f"/proc/{pid}/stat")
                loop += _stat_cpu(f"/proc/{pid}/task/{pid}/stat")
        return {"total": total, "loop": loop}

    def stop(self, timeout: float = 45) -> int | None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # uvicorn's graceful shutdown
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return self.process.returncode


def _process_tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(child) for child in (task / "children").read_text().split()]
    return pids


def _stat_cpu(path: str) -> float:
    fields = Path(path).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def start_server(env: dict[str, str], workdir: Path, args: argparse.Namespace, sample: Path | None) -> Server:
    port = free_port()
    worker = "--worker" if args.worker else "--no-worker"
    if sample is not None:  # the same serve_command, under a sampling thread
        command = [sys.executable, "-m", "bench.webhooks_profile", "--port", str(port), worker]
        command += ["--sample", str(sample), "--interval", str(args.sample_interval)]
    else:
        command = [str(OPSAGENT), "serve", "--port", str(port), worker, "--processes", str(args.processes)]
    if args.pin:
        command = ["taskset", "-c", "0", *command]
    log_path = workdir / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
    server = Server(process, f"http://127.0.0.1:{port}", log_path)
    if not wait_healthy(server.url, process, 90):
        server.stop()
        raise RuntimeError(
            f"opsagent serve did not come up ({process.returncode}):\n{log_path.read_text()[-3000:]}"
        )
    deadline = time.monotonic() + 60  # every uvicorn process logs this once its app has started
    while log_path.read_text(errors="replace").count("opsagent API ready") < args.processes:
        if time.monotonic() > deadline or args.log_level not in ("debug", "info"):
            break
        time.sleep(0.2)
    return server


def opsagent(env: dict[str, str], workdir: Path, *arguments: str, timeout: float = 120) -> str:
    done = subprocess.run(
        [str(OPSAGENT), *arguments], env=env, cwd=workdir, capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        raise RuntimeError(f"opsagent {arguments[0]} failed:\n{done.stderr[-3000:]}")
    return done.stdout


@contextlib.contextmanager
def fresh_database(url: str | None) -> Iterator[str | None]:
    """None (SQLite in the data dir), or a new database on the URL's Postgres server, dropped after."""
    if not url or not url.startswith(("postgres", "postgresql")):
        yield url
        return
    from sqlalchemy import create_engine, text

    from opsagent.incidents.db import normalise_url

    admin_url = normalise_url(url)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"opsagent_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def postgres_cpu() -> float:
    """CPU seconds of every local `postgres` process, and of the backends they have reaped (cutime and
    cstime): pooled connections come and go under load, so per-backend sums would miss the closed ones."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            text = stat.read_text()
            if text.split("(", 1)[1].startswith("postgres)"):
                fields = text.rsplit(")", 1)[1].split()
                total += sum(int(f) for f in fields[11:15]) / CLK_TCK
    return total


def verify(data_dir: Path, database_url: str | None, warm: list[Shot], shots: list[Shot], plan: Plan) -> dict:
    """Count what the store holds against what was acknowledged.

    A request with no answer (timeout, reset) may or may not have been committed: for those the check is
    "at most once"; every 202 must be stored exactly once either way.
    """
    from sqlalchemy import func, select

    from opsagent.config import Settings
    from opsagent.incidents.db import create_db_engine, read_only
    from opsagent.incidents.store import TRIAGE, IncidentStore
    from opsagent.incidents.tables import alert_events, incidents, jobs

    everything = warm + shots
    acked = [s for s in everything if s.status == "202"]
    unanswered = [s for s in everything if not s.status.isdigit()]
    refused = [s for s in everything if s.status.isdigit() and s.status != "202"]
    acked_per_fp = Counter(plan.fingerprints[s.index] for s in acked)
    maybe_per_fp = Counter(plan.fingerprints[s.index] for s in unanswered)
    engine = create_db_engine(Settings(data_dir=data_dir, database_url=database_url))
    try:
        counts = IncidentStore(engine).counts()
        with read_only(engine) as connection:
            joined = incidents.join(alert_events, alert_events.c.incident_id == incidents.c.id)
            stored_per_fp = Counter(
                dict(
                    connection.execute(
                        select(incidents.c.fingerprint, func.count(alert_events.c.id))
                        .select_from(joined)
                        .group_by(incidents.c.fingerprint)
                    ).all()
                )
            )
            incidents_per_fp = Counter(fp for (fp,) in connection.execute(select(incidents.c.fingerprint)))
            triage = select(jobs.c.incident_id).where(jobs.c.kind == TRIAGE)
            triage_per_incident = Counter(i for (i,) in connection.execute(triage))
            incident_ids = {i for (i,) in connection.execute(select(incidents.c.id))}
    finally:
        engine.dispose()
    outcomes = Counter(s.outcome for s in acked)
    fingerprints = set(acked_per_fp) | set(maybe_per_fp) | set(stored_per_fp)
    checks = {
        "alert_events == 202s (+ at most the unanswered)": len(acked)
        <= counts["alert_events"]
        <= len(acked) + len(unanswered),
        "incidents == distinct fingerprints stored": counts["incidents"] == len(stored_per_fp),
        "every acked fingerprint has its incident": set(acked_per_fp) <= set(incidents_per_fp),
        "jobs == incidents": counts["jobs"] == counts["incidents"],
        "each fingerprint: one incident": all(n == 1 for n in incidents_per_fp.values()),
        "each fingerprint: its 202s <= alert events <= 202s + unanswered": all(
            acked_per_fp[fp] <= stored_per_fp[fp] <= acked_per_fp[fp] + maybe_per_fp[fp]
            for fp in fingerprints
        ),
        "each incident: one triage job": set(triage_per_incident) == incident_ids
        and all(n == 1 for n in triage_per_incident.values()),
    }
    if not unanswered:
        checks["incidents == distinct fingerprints sent"] = counts["incidents"] == len(acked_per_fp)
        checks["acks say created == incidents"] = outcomes.get("created", 0) == counts["incidents"]
    return {
        "requests_incl_warmup": len(everything),
        "acked_202_incl_warmup": len(acked),
        "unanswered": len(unanswered),
        "refused": len(refused),
        "distinct_fingerprints_acked": len(acked_per_fp),
        "repeats_acked": len(acked) - len(acked_per_fp),
        "ack_outcomes": dict(outcomes),
        "stored_without_an_ack": counts["alert_events"] - len(acked),
        "store_counts": counts,
        "checks": checks,
        "exactly_once": all(checks.values()) and not unanswered,
    }


def server_log_summary(path: Path) -> dict[str, Any]:
    """Lines by level, and the distinct errors (message and the exception's last line) with counts."""
    levels: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    for line in path.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            levels["text"] += 1
            continue
        level = str(entry.get("level", "?"))
        levels[level] += 1
        if level in ("error", "critical"):
            last = str(entry.get("exception", "")).strip().splitlines()[-1:] or [""]
            errors[f"{entry.get('message', '').strip()} | {last[0][:200]}"] += 1
    return {"bytes": path.stat().st_size, "levels": dict(levels), "errors": dict(errors.most_common(5))}


def run_once(args: argparse.Namespace) -> dict[str, Any]:
    """One configuration: serve, load, stop, count. Cleans up whatever happens."""
    workdir = Path(tempfile.mkdtemp(prefix="opsagent-bench-webhooks-"))
    server: Server | None = None
    if args.pin:
        os.sched_setaffinity(0, {1})
    try:
        with fresh_database(args.database_url) as database_url:
            env = server_env(workdir / "data", database_url, args.log_level, args.worker)
            if args.knowledge:
                opsagent(env, workdir, "ingest", *(str(p.resolve()) for p in args.knowledge), timeout=900)
            token = json.loads(
                opsagent(env, workdir, "token", "create", "--scope", "webhook", "--name", "bench", "--json")
            )["token"]
            sample = workdir / "samples.json" if args.profile else None
            load = Load(args.client, args.rate, args.concurrency, args.warmup, args.timeout)
            server = srv = start_server(env, workdir, args, sample)
            count = args.warmup + int(args.rate * args.seconds)
            plan = make_plan(count, args.repeats, args.seed, f"b{uuid.uuid4().hex[:5]}")
            marks: dict[str, dict[str, float]] = {}
            db_cpu = postgres_cpu if database_url else lambda: 0.0

            def mark(name: str) -> Callable[[], None]:
                def record() -> None:
                    marks[name] = {**srv.cpu(), "wall": time.perf_counter(), "db": db_cpu()}
                    if sample is not None:  # the sampler runs while this flag file exists
                        flag = sample.with_suffix(".on")
                        if name == "start":
                            flag.touch()
                        else:
                            flag.unlink(missing_ok=True)

                return record

            load_before = os.getloadavg()
            warm, shots, client = run_async(
                run_load(server.url, token, plan, load, mark("start"), mark("end"))
            )
            load_after = os.getloadavg()
            wall = marks["end"]["wall"] - marks["start"]["wall"]
            server_cpu = marks["end"]["total"] - marks["start"]["total"]
            loop_cpu = marks["end"]["loop"] - marks["start"]["loop"]
            returncode = server.stop()
            summary = summarise_load(shots, args.rate)
            per_request = 1000 / max(1, len(shots))
            cpu = {
                "cores": os.cpu_count(),
                "wall_s": round(wall, 2),
                "server_cores_used": round(server_cpu / wall, 2),
                "server_main_threads_cores": round(loop_cpu / wall, 2),
                "server_other_threads_cores": round((server_cpu - loop_cpu) / wall, 2),
                "postgres_cores": round((marks["end"]["db"] - marks["start"]["db"]) / wall, 2),
                "client_cores_used": round(client["client_cpu_s"] / client["client_wall_s"], 2),
                "server_cpu_ms_per_request": round(server_cpu * per_request, 3),
                "client_cpu_ms_per_request": round(client["client_cpu_s"] * per_request, 3),
            }
            result: dict[str, Any] = {
                "benchmark": "webhooks",
                "database": "postgresql" if database_url else "sqlite",
                "processes": args.processes,
                "worker": args.worker,
                "knowledge": [str(p) for p in args.knowledge],
                "rate": args.rate,
                "seconds": args.seconds,
                "concurrency": args.concurrency,
                "repeat_fraction": args.repeats,
                "warmup_requests": args.warmup,
                "client": args.client,
                "log_level": args.log_level,
                "pinned": "server cpu 0, client cpu 1" if args.pin else None,
                "profiled": args.profile,
                "target": {"p99_ms": 50, "rate": 500},
                "target_met": summary["ack_latency_ms"].get("p99", float("inf")) <= 50
                and summary["throughput_rps"] >= 0.98 * args.rate
                and not summary["errors_by_status"],
                "load_avg_before": [round(x, 2) for x in load_before],
                "load_avg_after": [round(x, 2) for x in load_after],
                **summary,
                "cpu": cpu,
                "server_exit_code": returncode,
                "server_log": server_log_summary(server.log_path),
                "verification": verify(workdir / "data", database_url, warm, shots, plan),
            }
            if sample is not None and sample.exists():
                from bench.webhooks_profile import profile_report

                result["profile"] = profile_report(json.loads(sample.read_text()), len(shots))
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    if args.client_check:
        result["client_ceiling"] = client_ceiling(load, min(args.seconds, 5.0), args.pin)
    if args.breakdown:
        from bench.webhooks_profile import breakdown

        result["breakdown"] = breakdown(args.database_url, args.breakdown_iterations)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="A Postgres server URL (its database is only used to CREATE and DROP a fresh one); "
        "default: SQLite in the temp data dir.",
    )
    parser.add_argument("--rate", type=float, default=500, help="Requests per second, open-loop.")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=64, help="Keep-alive connections (in flight).")
    parser.add_argument("--repeats", type=float, default=0.10, help="Fraction re-sending an earlier alert.")
    parser.add_argument("--processes", type=int, default=1, help="opsagent serve --processes N (Postgres).")
    parser.add_argument("--worker", action=argparse.BooleanOptionalAction, default=False)
    parser.add_argument("--knowledge", type=Path, action="append", default=[], help="Ingest before serving.")
    parser.add_argument("--warmup", type=int, default=200, help="Untimed requests first (stored, counted).")
    parser.add_argument("--timeout", type=float, default=30, help="Per-request timeout (s).")
    parser.add_argument("--client", choices=sorted(CLIENTS), default="raw", help="Load generator.")
    parser.add_argument(
        "--client-check", action="store_true", help="Also load a no-op server (client ceiling)."
    )
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    parser.add_argument("--pin", action="store_true", help="taskset: server on CPU 0, this client on CPU 1.")
    parser.add_argument("--profile", action="store_true", help="Sample the server's threads (1 process).")
    parser.add_argument("--sample-interval", type=float, default=0.005)
    parser.add_argument("--breakdown", action="store_true", help="Also time each stage in-process.")
    parser.add_argument("--breakdown-iterations", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--name", default="webhooks", help="Results file: bench/results/NAME.json.")
    args = parser.parse_args()
    if args.profile and args.processes > 1:
        parser.error("--profile samples one server process: use it with --processes 1")
    emit(args.name, run_once(args))


if __name__ == "__main__":
    main()
