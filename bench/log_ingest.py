"""Benchmark: log ingestion throughput and peak memory over a generated mixed log.

    python -m bench.log_ingest [--lines N] [--seed S] [--keep DIR]

Generates a realistic log (ISO plain text, JSON lines and logfmt mixed; a few hundred distinct shapes
with Zipf-like frequencies; variable ids, IPs, UUIDs, durations, user names; mostly info noise, some
warnings and errors with stack traces), then runs `ingest_log_file` into a fresh `LogLineStore` in a
child process so that `peak_rss_mb` is the ingestion's own high-water mark (ru_maxrss of that process,
interpreter and imports included), not the generator's. Prints one JSON object and writes it to
bench/results/log_ingest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "log_ingest.json"

# One deployment's log: a couple of services interleaved (as from a log shipper), many threads.
SERVICES = ["payments-api", "payments-api", "payments-api", "payments-worker", "payments-cron"]
THREADS = [
    "main",
    "scheduler",
    *(f"worker-{i}" for i in range(8)),
    *(f"http-nio-8080-exec-{i}" for i in range(20)),
]
VERBS = ["processed", "accepted", "rejected", "retried", "scheduled", "completed", "cancelled", "queued"]
OBJECTS = [
    "order",
    "payment",
    "invoice",
    "session",
    "cart",
    "shipment",
    "refund",
    "token",
    "webhook",
    "batch",
]
PATTERNS = [
    "{verb} {obj} {id} for user {user} in {dur}",
    "{obj} {id} {verb} after {num} attempts",
    "{verb} {num} {obj} records from queue {obj}-events partition {small}",
    "upstream {ip} answered {code} for {obj} {uuid} in {dur}",
    "cache lookup for {obj}:{id} key={hex} {verb}",
    "{obj} handler {verb} request trace_id={hex} span_id={hex16}",
    "worker-{small} {verb} job {uuid} ({obj}) duration={dur}",
    "GET /api/v1/{obj}s/{id} {verb} status={code} bytes={num}",
    "db pool stats for {obj}: active={small} idle={small} waiting={small}",
    "{verb} {obj} webhook to https://hooks.example.com/{hex16} after {dur}",
    "pod {obj}-api-{pod} {verb} container restart count {small}",
    "feature flag {obj}_v{small} evaluated for tenant {id}: {verb}",
]
ERROR_PATTERNS = [
    "failed to {verb} {obj} {id}: connection refused to {ip}",
    "timeout after {dur} while calling {obj}-service for {uuid}",
    '{obj} {id} could not be {verb}: deadlock detected on relation "{obj}s"',
    "unhandled exception in {obj} handler: NullPointerException at {obj}Service.java:{num}",
    "out of memory while {verb} {obj} batch of {num} items",
]
USERS = [f"{n}{i}" for n in ("alice", "bob", "carol", "dave", "erin", "frank") for i in range(200)]
POD_CHARS = "bcdfghjklmnpqrstvwxz2456789"


def _shapes(rng: random.Random, count: int) -> list[tuple[str, str]]:
    """(level, format string) for `count` distinct message shapes."""
    shapes: set[tuple[str, str]] = set()
    while len(shapes) < count:
        is_error = rng.random() < 0.06
        pattern = rng.choice(ERROR_PATTERNS if is_error else PATTERNS)
        level = "ERROR" if is_error else rng.choices(["INFO", "DEBUG", "WARN"], [0.86, 0.09, 0.05])[0]
        text = pattern.replace("{verb}", rng.choice(VERBS)).replace("{obj}", rng.choice(OBJECTS))
        shapes.add(
            (level, f"{text} region={rng.choice(['eu-west-1', 'us-east-1'])}" if rng.random() < 0.3 else text)
        )
    return sorted(shapes)


def _fill(fmt: str, rng: random.Random) -> str:
    octets = ".".join(str(rng.randint(1, 254)) for _ in range(3))
    values = {
        "id": str(rng.randint(1, 10**7)),
        "user": rng.choice(USERS),
        "dur": f"{rng.randint(1, 5000)}ms",
        "num": str(rng.randint(0, 100000)),
        "small": str(rng.randint(0, 20)),
        "ip": f"10.{octets}:{rng.randint(1024, 65535)}",
        "code": rng.choice(["200", "200", "201", "404", "500", "503"]),
        "uuid": str(uuid.UUID(int=rng.getrandbits(128))),
        "hex": f"{rng.getrandbits(128):032x}",
        "hex16": f"{rng.getrandbits(64):016x}",
        "pod": "".join(rng.choices(POD_CHARS, k=10)) + "-" + "".join(rng.choices(POD_CHARS, k=5)),
    }
    return fmt.format(**values)


def generate(path: Path, lines: int, seed: int = 7) -> int:
    """Write `lines` lines of mixed-format log to `path`; returns the number of distinct shapes used."""
    rng = random.Random(seed)
    shapes = _shapes(rng, 400)
    weights = [1.0 / (rank + 1) ** 1.1 for rank in range(len(shapes))]
    ts = 1_795_140_000.0  # 2026-11-20T02:00Z
    written = 0
    with path.open("w", encoding="utf-8") as out:
        while written < lines:
            batch = rng.choices(shapes, weights, k=1000)
            buf = []
            for level, fmt in batch:
                ts += rng.random() * 0.002
                service = rng.choice(SERVICES)
                msg = _fill(fmt, rng)
                iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1000):03d}Z"
                kind = rng.random()
                if kind < 0.6:
                    buf.append(f"{iso} {level:<5} [{rng.choice(THREADS)}] {msg}")
                elif kind < 0.85:
                    rec = {"ts": iso, "level": level.lower(), "service": service, "msg": msg}
                    if level == "ERROR":
                        rec["error"] = "context deadline exceeded"
                    buf.append(json.dumps(rec))
                else:
                    pid = rng.randint(1, 9999)
                    buf.append(f'ts={iso} level={level.lower()} service={service} msg="{msg}" pid={pid}')
                if level == "ERROR" and rng.random() < 0.3:  # a stack trace under some errors
                    for depth in range(rng.randint(2, 5)):
                        where = f"Handler.java:{rng.randint(10, 900)}"
                        buf.append(f"    at com.example.{service.title()}.handle{depth}({where})")
            room = lines - written
            buf = buf[:room]
            written += len(buf)
            out.write("\n".join(buf) + "\n")
    return len(shapes)


def _ingest_child(log_path: Path, db_path: Path) -> None:
    """Run in the child process: ingest and report timing and this process's peak RSS."""
    from opsagent.knowledge.log_ingest import ingest_log_file
    from opsagent.knowledge.logstore import LogLineStore

    store = LogLineStore(db_path)
    start = time.perf_counter()
    result = ingest_log_file(
        log_path, root="/bench", source=log_path.name, store=store, default_service="bench"
    )
    seconds = time.perf_counter() - start
    store.close()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    db_bytes = sum(p.stat().st_size for p in db_path.parent.glob(db_path.name + "*"))
    print(
        json.dumps(
            {
                "lines": result.lines,
                "bytes": result.bytes,
                "seconds": round(seconds, 3),
                "lines_per_s": round(result.lines / seconds),
                "peak_rss_mb": round(peak_kb / 1024, 1),
                "templates": len(result.templates),
                "db_mb": round(db_bytes / 2**20, 1),
                "warnings": result.warnings,
            }
        )
    )


def main(argv: list[str] | None = None) -> None:
    """Generate the log, ingest it in a child process, print and save the JSON result."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="generate into this directory and keep the files")
    parser.add_argument("--child", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _ingest_child(*args.child)
        return
    with tempfile.TemporaryDirectory(prefix="opsagent-bench-") as tmp:
        workdir = args.keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        log_path = workdir / "bench-service.log"
        db_path = workdir / "logs.sqlite3"
        for stale in workdir.glob("logs.sqlite3*"):
            stale.unlink()
        started = time.perf_counter()
        shapes = generate(log_path, args.lines, args.seed)
        generated_s = time.perf_counter() - started
        child = subprocess.run(
            [sys.executable, "-m", "bench.log_ingest", "--child", str(log_path), str(db_path)],
            check=True,
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parent.parent,
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
        result = json.loads(child.stdout.strip().splitlines()[-1])
    result = {
        **result,
        "generated_shapes": shapes,
        "generate_seconds": round(generated_s, 1),
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
