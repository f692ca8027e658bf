"""Open-loop HTTP/1.1 load on loopback: Alertmanager bodies, a lean asyncio client, latency statistics.

A send is scheduled every 1/rate seconds whether or not earlier ones have come back, so the ack latency
(measured from the scheduled time) includes queueing; at most `concurrency` keep-alive connections.

RawClient is a small asyncio protocol; httpx.AsyncClient (HttpxClient) costs ~3-6 ms of client CPU per
request here and tops out below 300 req/s even against a no-op server. `client_ceiling` drives a no-op
ASGI app on the same uvicorn the same way (`python -m bench.http_load PORT` serves it).
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import random
import resource
import socket
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from bench.common import REPO, percentile

PATH = "/v1/webhooks/alertmanager"
TEMPLATE = REPO / "knowledge" / "alerts" / "payments-oom.json"


@dataclass
class Plan:
    """What to send: bodies in send order, and the fingerprint of each."""

    bodies: list[bytes]
    fingerprints: list[str]


def make_plan(count: int, repeat_fraction: float, seed: int, prefix: str) -> Plan:
    """`count` Alertmanager v4 bodies: new fingerprints, and `repeat_fraction` re-sends of earlier ones."""
    template = json.loads(TEMPLATE.read_text())
    rng = random.Random(seed)
    bodies: list[bytes] = []
    fingerprints: list[str] = []
    originals: list[int] = []
    for i in range(count):
        if originals and rng.random() < repeat_fraction:
            j = rng.choice(originals)  # the same alert again: same fingerprint, same startsAt (one episode)
            bodies.append(bodies[j])
            fingerprints.append(fingerprints[j])
            continue
        fp = f"{prefix}{i:010x}"
        body = copy.deepcopy(template)
        item = body["alerts"][0]
        pod = f"payments-api-{fp[-10:-5]}-{fp[-5:]}"
        item["labels"]["pod"] = pod
        item["annotations"]["summary"] = f"Pod payments/{pod} is crash looping."
        item["annotations"]["description"] = (
            f'Pod payments/{pod} (payments-api) is in waiting state (reason: "CrashLoopBackOff").'
        )
        item["fingerprint"] = fp
        originals.append(i)
        bodies.append(json.dumps(body).encode())
        fingerprints.append(fp)
    return Plan(bodies, fingerprints)


@dataclass
class Shot:
    """One request: when it was due, when it started waiting, was sent and answered (perf_counter s)."""

    index: int
    due: float
    started: float = 0.0
    sent: float = 0.0
    done: float = 0.0
    status: str = "unsent"
    outcome: str | None = None


class ResponseError(Exception):
    """The connection failed or closed before a whole response arrived."""


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 keep-alive connection: one request at a time, Content-Length responses."""

    def __init__(self) -> None:
        self.transport: Any = None  # uvloop's transports are not asyncio.Transport subclasses
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes, bool]] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.waiter is not None and not self.waiter.done():
            try:
                response = self._parse()
            except (ResponseError, ValueError, IndexError) as exc:
                self.waiter.set_exception(ResponseError(f"bad response: {exc}"))
                return
            if response is not None:
                self.waiter.set_result(response)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ResponseError(f"connection lost: {exc}"))

    def _parse(self) -> tuple[int, bytes, bool] | None:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return None
        lines = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
        length, close = 0, False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection":
                close = value.strip().lower() == "close"
            elif name == "transfer-encoding":
                raise ResponseError("chunked responses are not supported by this client")
        if len(self.buffer) < end + 4 + length:
            return None
        body = bytes(self.buffer[end + 4 : end + 4 + length])
        del self.buffer[: end + 4 + length]
        return int(lines[0].split(" ", 2)[1]), body, close

    async def request(self, data: bytes) -> tuple[int, bytes, bool]:
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return await self.waiter


class RawClient:
    """`concurrency` pre-opened keep-alive connections, taken from a queue (waiting there is latency)."""

    def __init__(self, url: str, headers: dict[str, str], concurrency: int, timeout: float) -> None:
        parsed = httpx.URL(url)
        self.host, self.port = parsed.host, parsed.port or 80
        self.concurrency = concurrency
        self.timeout = timeout
        lines = [f"POST {PATH} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self.head = ("\r\n".join(lines) + "\r\nContent-Length: ").encode()
        self.idle: asyncio.Queue[_Connection] = asyncio.Queue()

    async def _open(self) -> _Connection:
        _, protocol = await asyncio.get_running_loop().create_connection(_Connection, self.host, self.port)
        return protocol

    async def __aenter__(self) -> RawClient:
        for connection in await asyncio.gather(*(self._open() for _ in range(self.concurrency))):
            self.idle.put_nowait(connection)
        return self

    async def __aexit__(self, *_: object) -> None:
        while not self.idle.empty():
            connection = self.idle.get_nowait()
            if connection.transport is not None:
                connection.transport.close()

    async def post(self, body: bytes, shot: Shot) -> None:
        connection = await self.idle.get()
        shot.sent = time.perf_counter()
        keep = False
        try:
            async with asyncio.timeout(self.timeout):
                request = self.head + str(len(body)).encode() + b"\r\n\r\n" + body
                status, data, close = await connection.request(request)
            shot.status = str(status)
            if status == 202:
                shot.outcome = (json.loads(data).get("alerts") or [{}])[0].get("outcome")
            keep = not close and not connection.closed
        except (TimeoutError, OSError, ResponseError) as exc:
            shot.status = "timeout" if isinstance(exc, TimeoutError) else exc.__class__.__name__
        shot.done = time.perf_counter()
        if not keep:
            if connection.transport is not None:
                connection.transport.close()
            try:
                connection = await self._open()
            except OSError:
                await asyncio.sleep(0.1)
                connection = await self._open()
        self.idle.put_nowait(connection)


class HttpxClient:
    """httpx.AsyncClient with HTTP/1.1 keep-alive connections capped at `concurrency`."""

    def __init__(self, url: str, headers: dict[str, str], concurrency: int, timeout: float) -> None:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self.client = httpx.AsyncClient(base_url=url, limits=limits, headers=headers, timeout=timeout)
        self.gate = asyncio.Semaphore(concurrency)

    async def __aenter__(self) -> HttpxClient:
        await self.client.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.client.__aexit__(*exc)

    async def post(self, body: bytes, shot: Shot) -> None:
        async with self.gate:
            shot.sent = time.perf_counter()
            try:
                response = await self.client.post(PATH, content=body)
                shot.status = str(response.status_code)
                if response.status_code == 202:
                    shot.outcome = (response.json().get("alerts") or [{}])[0].get("outcome")
            except httpx.TimeoutException:
                shot.status = "timeout"
            except httpx.HTTPError as exc:
                shot.status = exc.__class__.__name__
            shot.done = time.perf_counter()


CLIENTS = {"raw": RawClient, "httpx": HttpxClient}


@dataclass
class Load:
    """How to load: the client, the open-loop rate, connections, untimed warm-up requests, timeout (s)."""

    client: str = "raw"
    rate: float = 500
    concurrency: int = 64
    warmup: int = 200
    timeout: float = 30


async def run_load(
    url: str,
    token: str,
    plan: Plan,
    load: Load,
    on_start: Callable[[], None] = lambda: None,
    on_end: Callable[[], None] = lambda: None,
) -> tuple[list[Shot], list[Shot], dict[str, float]]:
    """Warm-up shots (all at once, not timed), then the timed open-loop shots; and client CPU use."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    warmup, rate = load.warmup, load.rate
    async with CLIENTS[load.client](url, headers, load.concurrency, load.timeout) as client:
        warm = [Shot(i, time.perf_counter()) for i in range(warmup)]
        await asyncio.gather(*(client.post(plan.bodies[s.index], s) for s in warm))

        async def fire(shot: Shot) -> None:
            shot.started = time.perf_counter()
            await client.post(plan.bodies[shot.index], shot)

        on_start()
        cpu0, wall0 = _self_cpu(), time.perf_counter()
        begin = time.perf_counter() + 0.05
        shots = [Shot(warmup + i, begin + i / rate) for i in range(len(plan.bodies) - warmup)]
        tasks = []
        for shot in shots:
            delay = shot.due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(fire(shot)))
        last_due = shots[-1].due if shots else time.perf_counter()
        # Queued requests wait for a connection; give the backlog time to drain, then give up on it.
        drain = max(0.0, last_due - time.perf_counter()) + load.timeout + 5
        _, pending = await asyncio.wait(tasks, timeout=drain) if tasks else (set(), set())
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        cpu1, wall1 = _self_cpu(), time.perf_counter()
        on_end()
    for shot in shots:
        if shot.status == "unsent":
            shot.status = "cancelled"
    return warm, shots, {"client_cpu_s": cpu1 - cpu0, "client_wall_s": wall1 - wall0}


def run_async(coro: Any) -> Any:
    """Run on uvloop (as uvicorn does) when it is installed."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
        return asyncio.run(coro)
    return uvloop.run(coro)


def _self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def latency_stats(values: list[float]) -> dict[str, float]:
    """p50/p90/p99/p99.9/max/mean of a list of milliseconds."""
    if not values:
        return {"n": 0}
    points = {"p50": 50, "p90": 90, "p99": 99, "p999": 99.9}
    out = {name: round(percentile(values, q), 2) for name, q in points.items()}
    return out | {"max": round(max(values), 2), "mean": round(sum(values) / len(values), 2)}


def summarise_load(shots: list[Shot], rate: float) -> dict[str, Any]:
    """Latency (from the scheduled send time, and from the actual send), throughput, errors, timeline."""
    ok = [s for s in shots if s.status == "202"]
    first = min((s.due for s in shots), default=0.0)
    last = max((s.done for s in ok), default=first)
    per_second: dict[int, list[Shot]] = defaultdict(list)
    for s in shots:
        per_second[int(s.due - first)].append(s)
    timeline = []
    for second, group in sorted(per_second.items()):
        lat = [(s.done - s.due) * 1000 for s in group if s.status == "202"]
        timeline.append(
            {
                "s": second,
                "sent": len(group),
                "ok": len(lat),
                "p50_ms": round(percentile(lat, 50), 1) if lat else None,
                "p99_ms": round(percentile(lat, 99), 1) if lat else None,
                "max_ms": round(max(lat), 1) if lat else None,
            }
        )
    return {
        "offered_rate": rate,
        "requests": len(shots),
        "acked_202": len(ok),
        "errors_by_status": dict(Counter(s.status for s in shots if s.status != "202")),
        "throughput_rps": round(len(ok) / (last - first), 1) if last > first else 0.0,
        "ack_latency_ms": latency_stats([(s.done - s.due) * 1000 for s in ok]),
        "service_latency_ms": latency_stats([(s.done - s.sent) * 1000 for s in ok]),
        "client_schedule_lag_ms": latency_stats([(s.started - s.due) * 1000 for s in shots if s.started]),
        "client_connection_wait_ms": latency_stats(
            [(s.sent - s.started) * 1000 for s in shots if s.sent and s.started]
        ),
        "timeline": timeline,
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(url: str, process: subprocess.Popen[bytes], seconds: float) -> bool:
    """Poll GET url/healthz until 200; False if the process exits or time runs out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return False


# --- the client's own ceiling: the same load against a no-op ASGI app on the same uvicorn ---------------

_NULL_BODY = json.dumps(
    {"status": "accepted", "source": "alertmanager", "alerts": [{"fingerprint": "x", "outcome": "created"}]}
).encode()


async def _null_app(scope: dict[str, Any], receive: Callable[[], Any], send: Callable[[Any], Any]) -> None:
    if scope["type"] != "http":
        return
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(_NULL_BODY)).encode())]
    status = 200 if scope["path"] == "/healthz" else 202
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": _NULL_BODY})


def client_ceiling(load: Load, seconds: float, pin: bool) -> dict[str, Any]:
    """Drive a no-op server exactly like the real one: what the client alone can do on this machine."""
    port = free_port()
    command = [sys.executable, "-m", "bench.http_load", str(port)]
    if pin:
        command = ["taskset", "-c", "0", *command]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        command, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        if not wait_healthy(url, process, 30):
            raise RuntimeError("the no-op server did not start")
        plan = make_plan(load.warmup + int(load.rate * seconds), 0.0, 1, prefix="null")
        _, shots, cpu = run_async(run_load(url, "opsa_none", plan, load))
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
    summary = summarise_load(shots, load.rate)
    return {
        "client": load.client,
        "seconds": seconds,
        "throughput_rps": summary["throughput_rps"],
        "errors_by_status": summary["errors_by_status"],
        "ack_latency_ms": summary["ack_latency_ms"],
        "client_schedule_lag_ms": summary["client_schedule_lag_ms"],
        "client_cores_used": round(cpu["client_cpu_s"] / cpu["client_wall_s"], 2),
        "client_cpu_ms_per_request": round(cpu["client_cpu_s"] * 1000 / max(1, len(shots)), 3),
    }


if __name__ == "__main__":  # the no-op server for client_ceiling
    import uvicorn

    uvicorn.run(_null_app, port=int(sys.argv[1]), log_level="warning", access_log=False)
