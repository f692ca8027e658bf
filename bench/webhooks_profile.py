"""Where a webhook's time goes: an in-process breakdown, and a sampling profile of the loaded server.

`breakdown` (bench.webhooks --breakdown) times each stage of the product's webhook path alone, on a warm
store, one request at a time: the token cache, JSON and schema checks, parsing, `record_delivery` (with
its statements, BEGIN and COMMIT timed separately), the response, metrics, the access log, the thread
hop, and the whole request through the ASGI app with the store real and stubbed.

`python -m bench.webhooks_profile --port P --sample OUT` (bench.webhooks --profile) runs `opsagent serve`
with a thread sampling every thread's Python stack (py-spy is not installed) while `OUT.on` exists;
`profile_report` turns the counts into wall ms per request by stage.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import sysconfig
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import REPO
from bench.http_load import PATH, latency_stats, make_plan, run_async

# --- the in-process, one-at-a-time breakdown ------------------------------------------------------------


def breakdown(database_url: str | None, iterations: int) -> dict[str, Any]:
    """Each stage of the webhook path timed alone on a warm store, one request at a time (ms)."""
    from bench.webhooks import fresh_database

    with fresh_database(database_url) as url, tempfile.TemporaryDirectory(prefix="opsagent-bd-") as tmp:
        return _breakdown(Path(tmp), url, iterations)


def _breakdown(tmp: Path, database_url: str | None, n: int) -> dict[str, Any]:
    from fastapi.concurrency import run_in_threadpool
    from fastapi.responses import JSONResponse
    from sqlalchemy import event

    from opsagent.api.app import create_app
    from opsagent.api.body import json_problem
    from opsagent.api.logs import JsonFormatter
    from opsagent.api.routes.webhooks import WebhookAck
    from opsagent.api.services import Services
    from opsagent.api.tokens import Scope
    from opsagent.config import Settings
    from opsagent.integrations.alertmanager import parse_alertmanager

    catalog = REPO / "knowledge" / "actions" / "catalog.yaml"
    settings = Settings(
        data_dir=tmp / "data", database_url=database_url, worker_enabled=False, action_catalog=catalog
    )
    services = Services.build(settings, chat_model=None)
    bodies = iter(make_plan(8 * n + 20, 0.0, 7, prefix="bd").bodies)
    secret, _ = services.tokens.create("bench", [Scope.WEBHOOK])
    tokens, store = services.tokens, services.store
    timings: dict[str, list[float]] = defaultdict(list)

    def timed(name: str, fn: Callable[[], Any], times: int = n) -> Any:
        result = None
        for _ in range(times):
            started = time.perf_counter()
            result = fn()
            timings[name].append((time.perf_counter() - started) * 1000)
        return result

    def fresh_alerts() -> list[Any]:
        return [
            a.model_copy(update={"source": "alertmanager"})
            for a in parse_alertmanager(json.loads(next(bodies)))
        ]

    def miss() -> Any:
        tokens._cache.clear()
        return tokens.authenticate(secret)

    try:
        body = next(bodies)
        timed("auth: token cache miss (authenticate: SELECT)", miss)
        timed("auth: token cache hit (TokenStore.cached, on the event loop)", lambda: tokens.cached(secret))
        payload = timed("json.loads(body)", lambda: json.loads(body))
        timed("json_problem (depth / surrogate walk)", lambda: json_problem(payload))
        alerts = timed("parse_alertmanager (pydantic)", lambda: parse_alertmanager(payload))
        timed(
            "Alert.model_copy(source)",
            lambda: [a.model_copy(update={"source": "alertmanager"}) for a in alerts],
        )
        timed("Alert.model_dump(mode=json)", lambda: alerts[0].model_dump(mode="json"))
        batch = iter([fresh_alerts() for _ in range(4 * n)])
        new = "record_delivery: new fingerprint (commit)"
        outcome = timed(new, lambda: store.record_delivery("alertmanager", next(batch)), 2 * n)
        repeat = next(batch)
        assert store.record_delivery("alertmanager", repeat).alerts[0].outcome == "created"
        timed("record_delivery: repeat (commit)", lambda: store.record_delivery("alertmanager", repeat))

        # The same new-fingerprint deliveries again with every statement and the COMMIT timed.
        sql: dict[str, list[float]] = defaultdict(list)
        starts: list[float] = []
        dialect = services.engine.dialect
        do_commit = dialect.do_commit

        def commit(connection: Any) -> None:
            started = time.perf_counter()
            do_commit(connection)
            sql["COMMIT"].append((time.perf_counter() - started) * 1000)

        def before(*_: Any) -> None:
            starts.append(time.perf_counter())

        def after(_c: Any, _cur: Any, statement: str, *__: Any) -> None:
            sql[" ".join(statement.split()[:3])[:40]].append((time.perf_counter() - starts.pop()) * 1000)

        dialect.do_commit = commit  # type: ignore[method-assign]
        event.listen(services.engine, "before_cursor_execute", before)
        event.listen(services.engine, "after_cursor_execute", after)
        timed(
            "record_delivery: new fingerprint, statements timed",
            lambda: store.record_delivery("alertmanager", next(batch)),
        )
        event.remove(services.engine, "before_cursor_execute", before)
        event.remove(services.engine, "after_cursor_execute", after)
        dialect.do_commit = do_commit  # type: ignore[method-assign]
        sql_new = {k: latency_stats(v) | {"per_delivery": round(len(v) / n, 2)} for k, v in sql.items()}

        def respond() -> bytes:
            ack = WebhookAck(status="accepted", source="alertmanager", alerts=outcome.alerts)
            return bytes(JSONResponse(ack.model_dump(), status_code=202).body)

        timed("WebhookAck + JSONResponse", respond)
        metrics = services.metrics

        def count() -> None:
            metrics.requests.labels("POST", PATH, "202").inc()
            metrics.request_seconds.labels("POST", PATH).observe(0.004)
            metrics.webhooks.labels("alertmanager", "accepted").inc()
            metrics.alerts.labels("alertmanager", "created").inc()

        timed("prometheus metrics (4 updates)", count)
        root = logging.getLogger()
        saved = root.handlers[:], root.level
        log_file = logging.FileHandler(tmp / "server.log")
        log_file.setFormatter(JsonFormatter())
        root.handlers[:] = [log_file]
        root.setLevel(logging.INFO)
        access = logging.getLogger("opsagent.access")
        extra = {
            "request_id": "0123456789abcdef",
            "method": "POST",
            "path": PATH,
            "route": PATH,
            "status": 202,
        }
        timed(
            "access log line (JSON, to a file)", lambda: access.info("POST %s 202 4.2ms", PATH, extra=extra)
        )

        async def hops() -> list[float]:
            out = []
            for _ in range(n):
                started = time.perf_counter()
                await run_in_threadpool(lambda: None)
                out.append((time.perf_counter() - started) * 1000)
            return out

        timings["threadpool hop (run_in_threadpool, idle loop)"] = run_async(hops())
        app = create_app(settings, services, run_worker=False)
        headers = [(b"host", b"bench"), (b"authorization", f"Bearer {secret}".encode())]
        headers.append((b"content-type", b"application/json"))

        async def requests() -> list[float]:
            out = []
            for _ in range(n):
                data = next(bodies)
                scope = {
                    "type": "http",
                    "asgi": {"version": "3.0"},
                    "http_version": "1.1",
                    "method": "POST",
                    "scheme": "http",
                    "path": PATH,
                    "raw_path": PATH.encode(),
                    "query_string": b"",
                    "root_path": "",
                    "headers": [*headers, (b"content-length", str(len(data)).encode())],
                    "client": ("127.0.0.1", 50000),
                    "server": ("127.0.0.1", 8080),
                }
                messages = [{"type": "http.request", "body": data, "more_body": False}]
                status: list[int] = []

                async def receive(messages: list[dict[str, Any]] = messages) -> dict[str, Any]:
                    return messages.pop() if messages else {"type": "http.disconnect"}

                async def send(message: dict[str, Any], status: list[int] = status) -> None:
                    if message["type"] == "http.response.start":
                        status.append(message["status"])

                started = time.perf_counter()
                await app(scope, receive, send)
                out.append((time.perf_counter() - started) * 1000)
                assert status == [202], status
            return out

        try:
            timings["whole request through the ASGI app (log level info)"] = run_async(requests())
            # Without the database: everything else (framework, hop, parse, response, log, metrics).
            store.record_delivery = lambda *_a, **_kw: outcome  # type: ignore[method-assign]
            timings["whole request through the ASGI app, record_delivery stubbed"] = run_async(requests())
        finally:
            root.handlers[:], root.level = saved
            log_file.close()
    finally:
        services.close()
    return {
        "method": "in-process, warm, one request at a time (no concurrency, no network); ms",
        "database": "postgresql" if database_url else "sqlite",
        "iterations": n,
        "stages_ms": {k: latency_stats(v) for k, v in timings.items()},
        "sql_per_new_delivery_ms": sql_new,
    }


# --- the sampled server ---------------------------------------------------------------------------------

_TRIM = ("site-packages/", f"{REPO}/", sysconfig.get_paths()["stdlib"] + "/")


class Sampler(threading.Thread):
    """Samples every thread's Python stack while `<out>.on` exists; writes the counts to `out` on stop."""

    def __init__(self, out: Path, interval: float) -> None:
        super().__init__(name="bench-sampler", daemon=True)
        self.out, self.interval = out, interval
        self.stopped = threading.Event()
        self.rounds, self.window = 0, 0.0
        self.samples: Counter[str] = Counter()
        self.leaf: dict[str, Counter[str]] = defaultdict(Counter)
        self.inclusive: dict[str, Counter[str]] = defaultdict(Counter)
        self._keys: dict[Any, str] = {}

    def _key(self, code: Any) -> str:
        key = self._keys.get(code)
        if key is None:
            name = code.co_filename
            name = next((name.split(m, 1)[1] for m in _TRIM if m in name), name)
            key = self._keys[code] = f"{name}:{code.co_name}"
        return key

    def run(self) -> None:
        flag, me = self.out.with_suffix(".on"), threading.get_ident()
        names: dict[int, str] = {}
        while not self.stopped.is_set():
            if not flag.exists():
                time.sleep(0.02)
                continue
            started = time.perf_counter()
            for ident, frame in sys._current_frames().items():
                if ident == me:
                    continue
                if ident not in names:
                    names = {t.ident: t.name for t in threading.enumerate() if t.ident is not None}
                role = _role(names.get(ident, "?"))
                keys, f = [], frame
                while f is not None:
                    keys.append(self._key(f.f_code))
                    f = f.f_back
                self.samples[role] += 1
                self.leaf[role][keys[0]] += 1
                self.inclusive[role].update(set(keys))
            time.sleep(self.interval)
            self.rounds += 1
            self.window += time.perf_counter() - started

    def dump(self) -> None:
        self.stopped.set()
        self.join(5)
        data = {"rounds": self.rounds, "window_s": self.window, "samples": dict(self.samples)}
        data["leaf"] = {r: dict(c.most_common(40)) for r, c in self.leaf.items()}
        data["inclusive"] = {r: dict(c.most_common(400)) for r, c in self.inclusive.items()}
        self.out.write_text(json.dumps(data))


def _role(thread_name: str) -> str:
    if thread_name == "MainThread":
        return "event_loop"
    if thread_name.startswith("AnyIO worker"):
        return "threadpool"
    if thread_name.startswith(("opsagent-worker", "lease-")):
        return "triage_worker"
    return "other"


# (stage, thread role, frame key, "inclusive": on the stack / "leaf": the innermost Python frame)
STAGES = [
    ("threadpool: record_delivery", "threadpool", "opsagent/incidents/store.py:record_delivery", "inclusive"),
    ("  waiting for the writer lock", "threadpool", "opsagent/incidents/db.py:_locked_begin", "leaf"),
    ("  BEGIN (IMMEDIATE)", "threadpool", "opsagent/incidents/db.py:_on_begin", "inclusive"),
    (
        "  the statements (AlertIntake.record)",
        "threadpool",
        "opsagent/incidents/intake.py:record",
        "inclusive",
    ),
    ("  COMMIT", "threadpool", "sqlalchemy/engine/base.py:_commit_impl", "inclusive"),
    ("threadpool: token lookup (cache miss)", "threadpool", "opsagent/api/tokens.py:_lookup", "inclusive"),
    (
        "event loop: receive() (the route)",
        "event_loop",
        "opsagent/api/routes/webhooks.py:receive",
        "inclusive",
    ),
    ("  json.loads + json_problem", "event_loop", "opsagent/api/body.py:json_problem", "inclusive"),
    (
        "  parse_alertmanager",
        "event_loop",
        "opsagent/integrations/alertmanager.py:parse_alertmanager",
        "inclusive",
    ),
    ("  WebhookAck + JSONResponse", "event_loop", "starlette/responses.py:__init__", "inclusive"),
    ("event loop: access log line", "event_loop", "logging/__init__.py:info", "inclusive"),
    (
        "event loop: AccessLogMiddleware (all below)",
        "event_loop",
        "opsagent/api/logs.py:__call__",
        "inclusive",
    ),
    (
        "event loop: uvicorn httptools",
        "event_loop",
        "uvicorn/protocols/http/httptools_impl.py:data_received",
        "inclusive",
    ),
    ("triage worker: Triage.diagnose", "triage_worker", "opsagent/agent/triage.py:diagnose", "inclusive"),
]
IDLE_LEAVES = ("threading.py:wait", "queue.py:get", "asyncio/runners.py:run", "uvloop/__init__.py:run")


def profile_report(data: dict[str, Any], requests: int) -> dict[str, Any]:
    """Sampled wall time per request: ms of thread time spent with each stage on the stack."""
    rounds = max(1, data["rounds"])
    per_request = data["window_s"] / rounds * 1000 / max(1, requests)

    def ms(count: float) -> float:
        return round(count * per_request, 3)

    stages = {label: ms(data[kind].get(role, {}).get(key, 0)) for label, role, key, kind in STAGES}
    threads = {}
    for role, samples in data["samples"].items():
        leaves = data["leaf"].get(role, {})
        idle = sum(count for key, count in leaves.items() if key in IDLE_LEAVES)
        threads[role] = {
            "threads_avg": round(samples / rounds, 1),
            "busy_ms_per_request": ms(samples - idle),
            "top_leaf_frames_ms": {k: ms(c) for k, c in list(leaves.items())[:12] if k not in IDLE_LEAVES},
        }
    return {
        "method": "every thread's stack sampled (sys._current_frames) during the timed load; ms = samples "
        "x interval / requests, summed over threads (so queueing on a lock counts once per waiting thread). "
        "The sampler needs the GIL, so it over-represents waits that release it (I/O, locks) and "
        "under-represents pure-Python CPU: for CPU use see the run's `cpu` and --breakdown",
        "sample_interval_ms": round(data["window_s"] / rounds * 1000, 2),
        "stages_ms_per_request": stages,
        "threads": threads,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.webhooks_profile", description="opsagent serve, sampled.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--worker", action=argparse.BooleanOptionalAction, default=False)
    parser.add_argument("--sample", type=Path, required=True)
    parser.add_argument("--interval", type=float, default=0.005)
    args = parser.parse_args()
    sampler = Sampler(args.sample, args.interval)
    sampler.start()
    from opsagent.cli_server import serve_command

    try:
        serve_command(host=None, port=args.port, worker=args.worker, processes=1)
    finally:
        sampler.dump()


if __name__ == "__main__":
    main()
