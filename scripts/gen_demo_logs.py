#!/usr/bin/env python3
"""Generate the demo incident logs in ``knowledge/logs/``.

One bad night, 2026-11-20 02:00-04:00 UTC, seen through seven log files in seven formats. Each file
is mostly ordinary noise (requests, health and stats lines, periodic jobs) with one incident that
starts at a known moment and escalates; the files agree with each other where incidents touch
(pod names, IPs, times). ``knowledge/logs/README.md`` describes what is in each file.

Deterministic: the same seed always writes byte-identical files (stdlib only, ``random.Random``
seeded per file, no clock, no environment). Run from anywhere:

    python scripts/gen_demo_logs.py              # writes knowledge/logs/*.log
    python scripts/gen_demo_logs.py --out /tmp/x --seed 7
"""
# Long lines here are log-line literals; splitting them would only make them harder to read.
# ruff: noqa: E501

from __future__ import annotations

import argparse
import json
import math
import random
import string
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

DEFAULT_SEED = 20261120
WINDOW_START = datetime(2026, 11, 20, 2, 0, 0, tzinfo=UTC)
WINDOW = 2 * 3600.0  # seconds covered by every file

# ------------------------------------------------------------------------------------------------
# Time helpers: a time is a float number of seconds since WINDOW_START.


def T(hms: str) -> float:
    """'03:12:01.123' -> seconds since 02:00:00."""
    h, m, s = hms.split(":")
    return (int(h) - 2) * 3600 + int(m) * 60 + float(s)


def _dt(t: float) -> datetime:
    return WINDOW_START + timedelta(microseconds=round(t * 1e6))


def iso_ms(t: float) -> str:
    d = _dt(t)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


def iso_s(t: float) -> str:
    return _dt(t).strftime("%Y-%m-%dT%H:%M:%SZ")


def pg_ts(t: float) -> str:
    d = _dt(t)
    return d.strftime("%Y-%m-%d %H:%M:%S.") + f"{d.microsecond // 1000:03d} UTC"


def nginx_local(t: float) -> str:
    return _dt(t).strftime("%d/%b/%Y:%H:%M:%S +0000")


def nginx_err(t: float) -> str:
    return _dt(t).strftime("%Y/%m/%d %H:%M:%S")


def syslog_ts(t: float) -> str:
    d = _dt(t)
    return d.strftime("%b ") + f"{d.day:2d}" + d.strftime(" %H:%M:%S")


def klog_ts(level: str, t: float) -> str:
    d = _dt(t)
    return f"{level}{d:%m%d} {d:%H:%M:%S}.{d.microsecond:06d}"


def hms_duration(seconds: float) -> str:
    sign = "-" if seconds < 0 else ""
    s = int(abs(seconds))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    if h:
        return f"{sign}{h}h{m}m{sec}s"
    if m:
        return f"{sign}{m}m{sec}s"
    return f"{sign}{sec}s"


# ------------------------------------------------------------------------------------------------
# Shared timeline. Every generator reads these so the files agree with each other.

# DNS: a Corefile `rewrite` for the payments namespace migration breaks *.payments.svc names.
DNS_BREAK = T("02:18:31.402")  # first NXDOMAIN seen by checkout-web
DNS_FIXED = T("02:40:10.000")  # last-known-good Corefile applied + CoreDNS restarted

# payments-api v3.8.0 (deployed 2026-11-20 00:05 UTC) leaks its idempotency cache.
PAY_LIMIT_MB = 2048
PAY_ROLLBACK = T("03:41:30.000")  # rollback_deployment to v3.7.4
PAY_OLD = [  # pod, ip, started (seconds, negative = before the window), first OOM kill
    ("payments-api-7d4b9c6f8-x2lqp", "10.42.1.17", -(6900 - 10), T("03:12:01.123")),
    ("payments-api-7d4b9c6f8-m8r4t", "10.42.2.29", -(6900 - 41), T("03:13:44.870")),
    ("payments-api-7d4b9c6f8-q9z2k", "10.42.4.9", -(6900 - 75), T("03:15:09.402")),
    ("payments-api-7d4b9c6f8-h6v7n", "10.42.5.63", -(6900 - 112), T("03:16:52.018")),
]
PAY_NEW = [
    ("payments-api-5b8c7d9e2-f7k2m", "10.42.1.52", T("03:41:32.410")),
    ("payments-api-5b8c7d9e2-p3n8x", "10.42.2.71", T("03:42:10.882")),
    ("payments-api-5b8c7d9e2-w9c4t", "10.42.4.66", T("03:42:51.305")),
    ("payments-api-5b8c7d9e2-z2r6h", "10.42.5.14", T("03:43:30.067")),
]
PAY_CLUSTER_IP = "10.96.112.40"

# Node ip-10-0-3-17: fluent-bit's hostPath buffer fills the root disk (Loki rejecting since 01:40).
NODE = "ip-10-0-3-17.ec2.internal"
DISK_HIGH = T("02:38:05.000")  # image fs over 85 %: image GC starts (and cannot free anything)
DISK_PRESSURE = T("03:22:10.118")  # nodefs.available < 10 %: DiskPressure, evictions
DISK_FULL = T("03:30:01.512")  # first "no space left on device"
NODE_NOTREADY = T("03:41:07.000")  # PLEG unhealthy -> NotReady
NODE_READY = T("03:50:44.000")  # after buffer removed and containerd/kubelet restarted
EVICTED = {  # pod -> eviction time (kubelet "pod is evicted successfully")
    "search-api-5c8d7b9f4-q7wzn": T("03:22:10.771"),
    "checkout-web-84d6c5f7b9-lw2xz": T("03:22:31.204"),
    "orders-worker-6f9c7d8b4-2kq8n": T("03:22:52.339"),
}

# auth-service: serving cert auth-service-tls (internal-ca issuer) expires; renewal had been failing.
CERT_NOT_AFTER = T("03:19:58.000")
CERT_RENEWED = T("03:47:52.000")  # cmctl renew after the CA keypair Secret was restored
AUTH_RESTART = T("03:49:05.000")  # restart_deployment auth-service

# orders-worker: Parcelio 429s (a backfill Job shares the API key) -> Kafka lag -> KEDA scale-out
# 6 -> 16 -> inventory-db connection exhaustion.
BACKFILL_START = T("02:45:03.118")
RATE_LIMIT_START = T("02:47:13.402")
KEDA_SCALE_UP = T("03:08:31.000")
DB_EXHAUSTED = T("03:14:07.120")
BACKFILL_KILLED = T("03:33:10.000")
ORDERS_SCALE_DOWN = T("03:35:02.000")
DB_IDLE_TERMINATED = T("03:36:20.000")

# ------------------------------------------------------------------------------------------------
# Generic helpers


class Stream:
    """Collects (time, line) pairs and writes them in time order."""

    def __init__(self) -> None:
        self._events: list[tuple[float, int, str]] = []

    def add(self, t: float, line: str, *, before_window: bool = False) -> None:
        # `before_window`: a line the collector exported ahead of the window (the rollout that started it all)
        if 0.0 <= t < WINDOW or (before_window and t < 0.0):
            self._events.append((t, len(self._events), line))

    def lines(self) -> list[str]:
        return [line for _, _, line in sorted(self._events)]


def arrivals(
    rng: random.Random, start: float, end: float, rate: float | Callable[[float], float]
) -> Iterator[float]:
    """Poisson arrivals between start and end; rate (events/s) may depend on time."""
    t = start
    while True:
        r = rate(t) if callable(rate) else rate
        if r <= 0:
            t += 1.0
            if t >= end:
                return
            continue
        t += rng.expovariate(r)
        if t >= end:
            return
        yield t


def every(rng: random.Random, start: float, end: float, period: float, jitter: float) -> Iterator[float]:
    """Periodic ticks with a small jitter (a timer that is never exactly on time)."""
    t = start
    while t < end:
        yield t + rng.uniform(0, jitter)
        t += period


def ramp(t: float, t0: float, t1: float, lo: float, hi: float) -> float:
    if t <= t0:
        return lo
    if t >= t1:
        return hi
    return lo + (hi - lo) * (t - t0) / (t1 - t0)


def hexid(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


_B36 = string.ascii_lowercase + string.digits


def b36(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(_B36) for _ in range(n))


def user_id(rng: random.Random) -> str:
    return f"usr_{rng.randrange(100000, 999999)}"


def lognorm_ms(rng: random.Random, median: float, sigma: float = 0.45) -> float:
    return median * math.exp(rng.gauss(0, sigma))


CLIENT_IPS = (
    [f"203.0.113.{i}" for i in range(2, 254, 3)]
    + [f"198.51.100.{i}" for i in range(5, 250, 4)]
    + [f"192.0.2.{i}" for i in range(10, 240, 7)]
)
USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 15; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "ShopApp/5.12.0 (iOS 18.1; iPhone15,3)",
    "ShopApp/5.12.0 (Android 15; SM-S921B)",
]
BOT_AGENTS = [
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "curl/8.5.0",
    "python-requests/2.32.3",
]
PRODUCTS = [
    "merino-crew-sweater",
    "trail-runner-gtx",
    "linen-shirt-relaxed",
    "canvas-tote-large",
    "wool-beanie",
    "down-parka-long",
    "chino-slim-stone",
    "leather-belt-35mm",
    "rain-shell-packable",
    "cotton-socks-3pack",
    "denim-jacket-classic",
    "hiking-boot-mid",
    "fleece-quarter-zip",
    "silk-scarf-print",
    "sneaker-court-white",
]
QUERIES = [
    "boots",
    "rain+jacket",
    "merino",
    "gift+ideas",
    "socks",
    "parka",
    "linen",
    "belt",
    "white+sneakers",
    "scarf",
]


# ------------------------------------------------------------------------------------------------
# payments-api pod schedule (shared by payments-api.log, nginx-ingress.log and checkout-web.log)


class PaymentsSchedule:
    """When each payments-api pod is up and ready, and when it is OOM-killed."""

    BACKOFF = [1.0, 10.0, 20.0, 40.0, 80.0, 160.0, 300.0, 300.0, 300.0]

    def __init__(self, seed: int) -> None:
        rng = random.Random(f"{seed}:payments-schedule")
        # pod -> list of (start, ready_from, end, killed); end = OOM kill or rollback
        self.lives: dict[str, list[tuple[float, float | None, float, bool]]] = {}
        self.ip: dict[str, str] = {}
        self.kills: list[tuple[float, str, int]] = []  # (time, pod, restart_count after the kill)
        self.backoffs: list[tuple[float, str, float]] = []  # (time, pod, seconds)
        for pod, ip, started, oom in PAY_OLD:
            self.ip[pod] = ip
            lives: list[tuple[float, float | None, float, bool]] = [(started, started + 8.0, oom, True)]
            self.kills.append((oom, pod, 1))
            t, restarts = oom, 1
            while True:
                delay = self.BACKOFF[min(restarts - 1, len(self.BACKOFF) - 1)]
                if delay > 1.0:
                    self.backoffs.append((t + rng.uniform(0.4, 1.2), pod, delay))
                start = t + delay + rng.uniform(0.2, 0.9)
                if start >= PAY_ROLLBACK:
                    break
                end = start + rng.uniform(17.0, 29.0)  # the cache warm-up blows the limit again
                # v3.8.0 starts its HTTP server before warming the cache, and /healthz (the readiness
                # probe) answers 200 at once: the pod is Ready and takes traffic for a few seconds.
                ready_from = start + 5.5
                if end >= PAY_ROLLBACK:
                    lives.append((start, ready_from, PAY_ROLLBACK + 0.5, False))
                    break
                lives.append((start, ready_from, end, True))
                restarts += 1
                self.kills.append((end, pod, restarts))
                t = end
            self.lives[pod] = lives
        for pod, ip, start in PAY_NEW:
            self.ip[pod] = ip
            self.lives[pod] = [(start, start + 9.0, WINDOW + 1, False)]
        self.kills.sort()

    def ready(self, t: float) -> list[str]:
        out = []
        for pod, lives in self.lives.items():
            for _start, ready_from, end, _ in lives:
                if ready_from is not None and ready_from <= t < end:
                    out.append(pod)
        return sorted(out)

    def recently_killed(self, t: float, window: float = 6.0) -> str | None:
        """A pod killed less than `window` s ago: its IP may still be in the ingress's endpoint list."""
        for k, pod, _ in self.kills:
            if k <= t < k + window:
                return pod
        return None

    def rss(self, pod: str, t: float) -> float:
        for p, _ip, started, oom in PAY_OLD:
            if p == pod:
                if t < oom:  # the slow leak since the 00:05 deploy
                    slope = (PAY_LIMIT_MB - 450.0) / (oom - started)
                    return PAY_LIMIT_MB - slope * (oom - t)
                for start, _ready, end, _killed in self.lives[pod][1:]:
                    if start <= t < end:  # cache warm-up after a restart
                        return 380.0 + (PAY_LIMIT_MB - 380.0) * float(min(1.0, (t - start) / 22.0) ** 1.3)
                return 380.0
        for p, _ip, start in PAY_NEW:
            if p == pod:
                return 470.0 + 130.0 * (1 - math.exp(-(t - start) / 500.0))
        return 500.0

    def pressure(self, pod: str, t: float) -> float:
        """Latency multiplier from GC pressure as the heap approaches the limit."""
        frac = self.rss(pod, t) / PAY_LIMIT_MB
        if frac <= 0.82:
            return 1.0
        return 1.0 + ((frac - 0.82) / 0.18) ** 2 * 65.0


# ------------------------------------------------------------------------------------------------
# 1. payments-api.log — JSON lines, Go service


def gen_payments(seed: int, sched: PaymentsSchedule) -> list[str]:
    rng = random.Random(f"{seed}:payments-api")
    s = Stream()

    def emit(
        t: float, level: str, pod: str | None, msg: str, *, before_window: bool = False, **fields: object
    ) -> None:
        rec: dict[str, object] = {"ts": iso_ms(t), "level": level, "service": "payments-api"}
        if pod:
            rec["pod"] = pod
        rec["msg"] = msg
        rec.update(fields)
        s.add(t, json.dumps(rec), before_window=before_window)

    version = {p: "3.8.0" for p, *_ in PAY_OLD} | {p: "3.7.4" for p, *_ in PAY_NEW}
    started = {p: st for p, _ip, st, _oom in PAY_OLD} | {p: st for p, _ip, st in PAY_NEW}

    # --- requests
    for t in arrivals(rng, 0, WINDOW, 0.22):
        pods = sched.ready(t)
        if not pods:
            continue
        pod = rng.choice(pods)
        trace = hexid(rng, 32)
        uid = user_id(rng)
        r = rng.random()
        factor = sched.pressure(pod, t)
        if r < 0.36:
            method, path, status, base = "POST", "/v1/charges", 201, 185.0
        elif r < 0.40:
            method, path, status, base = "POST", "/v1/charges", 402, 160.0
        elif r < 0.42:
            method, path, status, base = "POST", "/v1/charges", 409, 6.0
        elif r < 0.62:
            method, path, status, base = "GET", f"/v1/charges/ch_{b36(rng, 14)}", 200, 9.0
        elif r < 0.65:
            method, path, status, base = "GET", f"/v1/charges/ch_{b36(rng, 14)}", 404, 5.0
        elif r < 0.89:
            method, path, status, base = "GET", "/v1/payment-methods", 200, 14.0
        elif r < 0.95:
            method, path, status, base = "POST", "/v1/refunds", 201, 210.0
        else:
            method, path, status, base = "POST", "/v1/webhooks/paygrid", 200, 11.0
        dur = lognorm_ms(rng, base) * factor
        extra: dict[str, object] = {}
        if path == "/v1/charges" and status in (201, 402):
            extra = {
                "amount_cents": rng.choice([1999, 2450, 4900, 5990, 8900, 12900, 15950, 23900]),
                "currency": "EUR",
            }
        if status == 402:
            emit(
                t + dur / 1000 - 0.001,
                "warn",
                pod,
                "charge declined",
                trace_id=trace,
                user_id=uid,
                decline_code=rng.choice(
                    ["insufficient_funds", "card_declined", "expired_card", "do_not_honor"]
                ),
                psp="paygrid",
            )
        if status == 409:
            emit(
                t + dur / 1000 - 0.001,
                "warn",
                pod,
                "idempotency key reused with different payload",
                trace_id=trace,
                user_id=uid,
                idempotency_key=f"idk_{b36(rng, 20)}",
            )
        if dur > 10000:
            # the ingress gives up after 10 s (proxy-read-timeout) and closes the connection
            emit(
                t + 10.0,
                "warn",
                pod,
                "request failed",
                method=method,
                path=path,
                status=499,
                duration_ms=10000.4,
                err="context canceled",
                trace_id=trace,
                user_id=uid,
            )
            continue
        if base > 100 and rng.random() < 0.02 and factor < 2:
            emit(
                t + dur / 1000 - 0.002,
                "warn",
                pod,
                "paygrid call slow",
                op="authorize",
                duration_ms=round(dur * 0.9 + 2000, 1),
                trace_id=trace,
            )
            dur += 2000
        emit(
            t + dur / 1000,
            "info",
            pod,
            "request completed",
            method=method,
            path=path,
            status=status,
            duration_ms=round(dur, 1),
            trace_id=trace,
            user_id=uid,
            **extra,
        )

    # --- per-pod runtime stats + memory watchdog, cache stats
    for pod, lives in sched.lives.items():
        for start, ready_from, end, _killed in lives:
            if ready_from is None:
                continue
            gc_count = int(max(0.0, 0 - start) / 7.5)
            for t in every(rng, max(0.0, start + 30), end, 60.0, 2.0):
                if t >= end:
                    break
                rss = sched.rss(pod, t) + rng.uniform(-12, 12)
                frac = rss / PAY_LIMIT_MB
                gc_count += int(8 + 60 * max(0.0, frac - 0.6) ** 2 * 10)
                pause = round(lognorm_ms(rng, 0.6 if frac < 0.8 else 4 + (frac - 0.8) * 400, 0.3), 2)
                emit(
                    t,
                    "info",
                    pod,
                    "runtime stats",
                    version=version[pod],
                    uptime_s=int(t - started[pod]),
                    rss_mb=int(rss),
                    heap_inuse_mb=int(rss * 0.81),
                    goroutines=rng.randint(168, 236),
                    gc_cycles=gc_count,
                    gc_pause_p99_ms=pause,
                )
                if frac >= 0.90:
                    emit(
                        t + 0.002,
                        "error",
                        pod,
                        "memory watchdog: RSS critical, GC cannot keep up",
                        rss_mb=int(rss),
                        limit_mb=PAY_LIMIT_MB,
                        threshold_pct=90,
                    )
                    emit(
                        t + rng.uniform(3, 20),
                        "warn",
                        pod,
                        "GC pause exceeded budget",
                        pause_ms=round(pause * rng.uniform(1.5, 3), 1),
                        budget_ms=50,
                    )
                elif frac >= 0.75:
                    emit(
                        t + 0.002,
                        "warn",
                        pod,
                        "memory watchdog: RSS above threshold",
                        rss_mb=int(rss),
                        limit_mb=PAY_LIMIT_MB,
                        threshold_pct=75,
                    )
            for t in every(rng, max(0.0, start + 120), end, 300.0, 5.0):
                if t >= end:
                    break
                if version[pod] == "3.8.0":
                    entries = int(310_000 + 97.0 * (t - started[pod]) + rng.randint(-900, 900))
                    emit(
                        t,
                        "info",
                        pod,
                        "idempotency cache stats",
                        entries=entries,
                        evictions=0,
                        hit_ratio=round(rng.uniform(0.90, 0.95), 3),
                        ttl="24h",
                    )
                else:
                    emit(
                        t,
                        "info",
                        pod,
                        "idempotency cache stats",
                        entries=250_000 - rng.randint(0, 400),
                        evictions=rng.randint(1200, 9000),
                        hit_ratio=round(rng.uniform(0.90, 0.95), 3),
                        max_entries=250_000,
                        ttl="24h",
                    )

    # --- crash loop: OOM kills, back-off, restarts that die in cache warm-up
    for kt, pod, restarts in sched.kills:
        emit(
            kt + rng.uniform(0.05, 0.4),
            "error",
            pod,
            "container exited with code 137",
            source="kubelet",
            container="payments-api",
            reason="OOMKilled",
            exit_code=137,
            restart_count=restarts,
            limit_mb=PAY_LIMIT_MB,
        )
    for bt, pod, secs in sched.backoffs:
        emit(
            bt,
            "warn",
            pod,
            "Back-off restarting failed container",
            source="kubelet",
            container="payments-api",
            reason="CrashLoopBackOff",
            backoff=f"{int(secs)}s",
        )
    for pod, lives in sched.lives.items():
        for start, _ready_from, end, killed in lives:
            if start < 0:
                continue
            v = version[pod]
            emit(
                start + 0.31,
                "info",
                pod,
                "starting payments-api",
                version=v,
                commit="a41c9e2" if v == "3.8.0" else "7be03d1",
                go_version="go1.23.4",
                gomaxprocs=2,
            )
            emit(
                start + 0.94,
                "info",
                pod,
                "connected to database",
                host="payments-db.c8x2k1p9vq3z.us-east-1.rds.amazonaws.com",
                pool_max=25,
                elapsed_ms=round(rng.uniform(18, 60), 1),
            )
            if v == "3.8.0":
                emit(start + 1.05, "info", pod, "HTTP server listening", addr=":8080", admin_addr=":6060")
                emit(
                    start + 1.2,
                    "info",
                    pod,
                    "warming idempotency cache from redis",
                    source="redis://payments-redis.payments.svc:6379/2",
                    keys=1_843_211 + rng.randint(0, 4000),
                )
                if killed:
                    emit(
                        end - rng.uniform(1.5, 4.0),
                        "error",
                        pod,
                        "memory watchdog: RSS critical, GC cannot keep up",
                        rss_mb=rng.randint(1960, 2040),
                        limit_mb=PAY_LIMIT_MB,
                        threshold_pct=90,
                        phase="warmup",
                    )
            else:
                emit(
                    start + 1.2,
                    "info",
                    pod,
                    "warming idempotency cache from redis",
                    source="redis://payments-redis.payments.svc:6379/2",
                    keys=250_000,
                    capped=True,
                    skipped=1_597_388,
                )
                emit(start + 7.8, "info", pod, "idempotency cache warm", entries=250_000, elapsed_ms=6512)
                emit(start + 8.1, "info", pod, "HTTP server listening", addr=":8080", admin_addr=":6060")

    # --- leader-only periodic jobs
    for t in every(rng, 40.0, WINDOW, 600.0, 3.0):
        pods = sched.ready(t)
        if pods:
            emit(
                t,
                "info",
                pods[0],
                "fx rates refreshed",
                currencies=14,
                source="ecb-mirror",
                duration_ms=round(lognorm_ms(rng, 140), 1),
            )
    for t in every(rng, 15 * 60.0, WINDOW, 900.0, 4.0):
        pods = sched.ready(t)
        if pods:
            stamp = _dt(t).strftime("%Y-%m-%dT%H%M")
            emit(
                t,
                "info",
                pods[0],
                "settlement export finished",
                rows=rng.randint(180, 420),
                file=f"s3://acme-payments-settlements/paygrid/{stamp}.csv",
                duration_ms=rng.randint(900, 2600),
            )

    # --- rollout events at rollback time
    for i, (_pod, _ip, start) in enumerate(PAY_NEW):
        emit(
            start - 1.6,
            "info",
            None,
            f"Scaled up replica set payments-api-5b8c7d9e2 to {i + 1}",
            source="deployment-controller",
            reason="ScalingReplicaSet",
            object="deployment/payments-api",
        )
        emit(
            start + 10.2,
            "info",
            None,
            f"Scaled down replica set payments-api-7d4b9c6f8 to {3 - i}",
            source="deployment-controller",
            reason="ScalingReplicaSet",
            object="deployment/payments-api",
        )
    # --- the 00:05 rollout of v3.8.0 that brought the leak (the collector's export starts with it)
    for i, (pod, _ip, start, _oom) in enumerate(PAY_OLD):
        emit(
            start - 9.4,
            "info",
            None,
            f"Scaled up replica set payments-api-7d4b9c6f8 to {i + 1}",
            source="deployment-controller",
            reason="ScalingReplicaSet",
            object="deployment/payments-api",
            before_window=True,
        )
        emit(
            start - 8.1,
            "info",
            pod,
            'Pulling image "registry.example.com/payments/payments-api:v3.8.0"',
            source="kubelet",
            reason="Pulling",
            before_window=True,
        )
        emit(start, "info", pod, "starting payments-api", version="3.8.0", commit="a41c9e2",
             go_version="go1.23.4", gomaxprocs=2, before_window=True)  # fmt: skip
        emit(
            start + 12.6,
            "info",
            f"payments-api-6c5f8d9b7-{('k2v8p', 'r7t4m', 'w3x9c', 'z5q2n')[i]}",
            "shutting down payments-api: received SIGTERM",
            version="3.7.4",
            commit="7be03d1",
            before_window=True,
        )
    return s.lines()


# ------------------------------------------------------------------------------------------------
# 2. inventory-db.log — PostgreSQL 15 stderr log, log_line_prefix = '%m [%p] '

ORDERS_PODS_ORIG = [
    ("orders-worker-6f9c7d8b4-2kq8n", "10.42.3.40"),
    ("orders-worker-6f9c7d8b4-9wz4c", "10.42.5.12"),
    ("orders-worker-6f9c7d8b4-hx7mt", "10.42.1.38"),
    ("orders-worker-6f9c7d8b4-p4d2s", "10.42.2.57"),
    ("orders-worker-6f9c7d8b4-c8v6j", "10.42.4.21"),
    ("orders-worker-6f9c7d8b4-r3f9b", "10.42.1.45"),
]
ORDERS_PODS_SCALED = [  # started by KEDA at 03:08:31
    ("orders-worker-6f9c7d8b4-b2m7q", "10.42.2.81"),
    ("orders-worker-6f9c7d8b4-d9k3w", "10.42.4.77"),
    ("orders-worker-6f9c7d8b4-f5x8n", "10.42.5.88"),
    ("orders-worker-6f9c7d8b4-g1t4z", "10.42.1.91"),
    ("orders-worker-6f9c7d8b4-k6p2r", "10.42.2.93"),
    ("orders-worker-6f9c7d8b4-m3w9v", "10.42.4.95"),
    ("orders-worker-6f9c7d8b4-q8c5j", "10.42.5.97"),
    ("orders-worker-6f9c7d8b4-s4n1h", "10.42.1.99"),
    ("orders-worker-6f9c7d8b4-v7r6d", "10.42.2.102"),
    ("orders-worker-6f9c7d8b4-x2h8f", "10.42.4.104"),
]
ORDERS_REPLACEMENT = ("orders-worker-6f9c7d8b4-j7t5w", "10.42.5.115")  # for the evicted 2kq8n
CHECKOUT_IPS = ["10.42.3.34", "10.42.2.18", "10.42.4.12"]
CHECKOUT_REPLACEMENT_IP = "10.42.5.41"


def gen_inventory_db(seed: int) -> list[str]:
    rng = random.Random(f"{seed}:inventory-db")
    s = Stream()

    def pid(t: float) -> int:
        """Backend PIDs grow with time (a few new backends per second), like on the real server."""
        return 31800 + int(max(t, 0.0) * 2.9) + rng.randint(0, 2)

    def log(t: float, p: int, sev: str, msg: str) -> None:
        s.add(t, f"{pg_ts(t)} [{p}] {sev}:  {msg}")

    def connect(t: float, ip: str, user: str, app: str, session_s: float | None) -> int:
        p = pid(t)
        port = rng.randint(32768, 60999)
        log(t, p, "LOG", f"connection received: host={ip} port={port}")
        log(
            t + rng.uniform(0.003, 0.02),
            p,
            "LOG",
            f"connection authorized: user={user} database=inventory application_name={app}",
        )
        if session_s is not None:
            end = t + session_s
            h, rem = divmod(session_s, 3600)
            m, sec = divmod(rem, 60)
            log(
                end,
                p,
                "LOG",
                f"disconnection: session time: {int(h)}:{int(m):02d}:{sec:06.3f} "
                f"user={user} database=inventory host={ip} port={port}",
            )
        return p

    orders_ips = [ip for _, ip in ORDERS_PODS_ORIG]

    def orders_ips_at(t: float) -> list[str]:
        ips = list(orders_ips)
        if t >= EVICTED["orders-worker-6f9c7d8b4-2kq8n"]:
            ips.remove("10.42.3.40")
            ips.append(ORDERS_REPLACEMENT[1])
        if KEDA_SCALE_UP <= t < ORDERS_SCALE_DOWN:
            ips += [ip for _, ip in ORDERS_PODS_SCALED]
        elif t >= ORDERS_SCALE_DOWN:
            ips += [ip for _, ip in ORDERS_PODS_SCALED[:2]]
        return ips

    def checkout_ips_at(t: float) -> list[str]:
        ips = list(CHECKOUT_IPS)
        if t >= EVICTED["checkout-web-84d6c5f7b9-lw2xz"]:
            ips[0] = CHECKOUT_REPLACEMENT_IP
        return ips

    exhausted = (DB_EXHAUSTED, DB_IDLE_TERMINATED + 60)

    # --- pool churn (max conn lifetime 30 min => steady connect/disconnect noise)
    for t in arrivals(rng, 0, WINDOW, 0.11):
        if exhausted[0] <= t < exhausted[1]:
            continue  # slots are full; attempts are logged below as rejections
        r = rng.random()
        if r < 0.55:
            connect(t, rng.choice(orders_ips_at(t)), "orders_app", "orders-worker", rng.uniform(900, 1800))
        elif r < 0.85:
            connect(t, rng.choice(checkout_ips_at(t)), "checkout_app", "checkout-web", rng.uniform(900, 1800))
        elif r < 0.95:
            connect(
                t,
                rng.choice(["10.42.1.29", "10.42.5.33", "10.42.4.50"]),
                "search_ro",
                "search-api",
                rng.uniform(600, 1800),
            )
        else:
            connect(t, "10.42.0.14", "postgres_exporter", "postgres_exporter", rng.uniform(0.05, 0.3))

    # --- checkpoints every 5 minutes
    lsn = 0xA1C2F01B10
    for t in every(rng, 95.0, WINDOW, 300.0, 0.2):
        p = 68
        log(t, p, "LOG", "checkpoint starting: time")
        bufs = rng.randint(900, 4200)
        write = rng.uniform(150, 270)
        dist = rng.randint(30000, 90000)
        redo = lsn
        lsn += dist * 1024
        log(
            t + write + 0.05,
            p,
            "LOG",
            f"checkpoint complete: wrote {bufs} buffers ({bufs / 131072 * 100:.1f}%); 0 WAL file(s) added, "
            f"0 removed, {rng.randint(1, 4)} recycled; write={write:.3f} s, sync={rng.uniform(0.001, 0.02):.3f} s, "
            f"total={write + 0.03:.3f} s; sync files={rng.randint(60, 180)}, longest=0.00{rng.randint(1, 9)} s, "
            f"average=0.001 s; distance={dist} kB, estimate={dist + rng.randint(-4000, 9000)} kB; "
            f"lsn={lsn >> 32:X}/{lsn & 0xFFFFFFFF:08X}, redo lsn={redo >> 32:X}/{redo & 0xFFFFFFFF:08X}",
        )

    # --- autovacuum / autoanalyze
    tables = ["stock_levels", "reservations", "stock_movements", "warehouses", "skus", "outbox_events"]
    for t in arrivals(rng, 0, WINDOW, 1 / 95):
        tbl = rng.choice(tables)
        p = pid(t)
        if rng.random() < 0.5:
            log(
                t,
                p,
                "LOG",
                f'automatic analyze of table "inventory.public.{tbl}" system usage: CPU: user: '
                f"{rng.uniform(0.02, 0.6):.2f} s, system: {rng.uniform(0.0, 0.05):.2f} s, elapsed: "
                f"{rng.uniform(0.1, 1.9):.2f} s",
            )
        else:
            log(
                t,
                p,
                "LOG",
                f'automatic vacuum of table "inventory.public.{tbl}": index scans: 1, pages: 0 '
                f"removed, {rng.randint(2000, 90000)} remain, tuples: {rng.randint(100, 9000)} removed, "
                f"elapsed: {rng.uniform(0.2, 6.0):.2f} s",
            )

    # --- slow statements (log_min_duration_statement = 1000)
    slow = [
        "execute <unnamed>: SELECT s.sku, s.warehouse_id, s.on_hand - s.reserved AS available FROM stock_levels s "
        "JOIN skus k ON k.sku = s.sku WHERE k.category_id = $1 ORDER BY available DESC LIMIT 200",
        "execute <unnamed>: UPDATE stock_levels SET reserved = reserved + $1, updated_at = now() WHERE sku = $2 "
        "AND warehouse_id = $3",
        "statement: SELECT count(*) FROM stock_movements WHERE created_at >= now() - interval '1 day'",
        "execute <unnamed>: INSERT INTO reservations (order_id, sku, warehouse_id, qty) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (order_id, sku) DO NOTHING",
    ]
    for t in arrivals(
        rng, 0, WINDOW, lambda t: 1 / 240 if t < KEDA_SCALE_UP or t > DB_IDLE_TERMINATED else 1 / 40
    ):
        log(
            t,
            pid(t - rng.uniform(60, 1700)),
            "LOG",
            f"duration: {rng.uniform(1000, 4800):.3f} ms  {rng.choice(slow)}",
        )

    # --- ordinary application errors
    for t in arrivals(rng, 0, WINDOW, 1 / 420):
        p = pid(t - rng.uniform(30, 1700))
        oid = f"ord_{b36(rng, 12)}"
        sku = f"SKU-{rng.randint(10000, 99999)}"
        log(t, p, "ERROR", 'duplicate key value violates unique constraint "reservations_order_id_sku_key"')
        log(t, p, "DETAIL", f"Key (order_id, sku)=({oid}, {sku}) already exists.")
        log(
            t,
            p,
            "STATEMENT",
            "INSERT INTO reservations (order_id, sku, warehouse_id, qty) VALUES ($1, $2, $3, $4)",
        )

    # two ordinary deadlocks (multi-item orders reserving in cart order), long before the incident
    for hhmm in ("02:37:44.219", "03:05:12.870"):
        t = T(hhmm)
        a, b = pid(t - rng.uniform(300, 1500)), pid(t - rng.uniform(300, 1500))
        x1, x2 = rng.randint(91_800_000, 91_900_000), rng.randint(91_800_000, 91_900_000)
        log(
            t - 1.0,
            b,
            "LOG",
            f"process {b} still waiting for ShareLock on transaction {x1} after 1000.{rng.randint(100, 999)} ms",
        )
        log(t - 1.0, b, "DETAIL", f"Process holding the lock: {a}. Wait queue: {b}.")
        log(t, a, "ERROR", "deadlock detected")
        log(
            t,
            a,
            "DETAIL",
            f"Process {a} waits for ShareLock on transaction {x2}; blocked by process {b}. "
            f"Process {b} waits for ShareLock on transaction {x1}; blocked by process {a}.",
        )
        log(t, a, "HINT", "See server log for query details.")
        log(
            t,
            a,
            "CONTEXT",
            f'while updating tuple ({rng.randint(100, 4000)},{rng.randint(1, 40)}) in relation "stock_levels"',
        )
        log(
            t,
            a,
            "STATEMENT",
            "UPDATE stock_levels SET reserved = reserved + $1, updated_at = now() WHERE sku = $2 AND warehouse_id = $3",
        )

    # --- idle-in-transaction timeouts now and then (idle_in_transaction_session_timeout = 60s)
    for t in arrivals(rng, 0, WINDOW, lambda t: 1 / 900 if t < KEDA_SCALE_UP else 1 / 200):
        log(
            t,
            pid(t - rng.uniform(60, 1700)),
            "FATAL",
            "terminating connection due to idle-in-transaction timeout",
        )

    # --- the incident: KEDA adds 10 orders-worker pods, each pool grows to 20 connections
    keda_pids: list[int] = []
    for pod_i, (_, ip) in enumerate(ORDERS_PODS_SCALED):
        base = KEDA_SCALE_UP + 9.0 + pod_i * 1.7
        for k in range(20):
            # min_conns=4 at start, the rest as the pool grows under load
            t = base + rng.uniform(0, 1.5) if k < 4 else rng.uniform(base + 30, DB_EXHAUSTED - 2)
            keda_pids.append(connect(t, ip, "orders_app", "orders-worker", None))

    def reject_rate(t: float) -> float:
        if t < DB_EXHAUSTED:
            return 0.0
        if t < T("03:20:00"):
            return ramp(t, DB_EXHAUSTED, T("03:20:00"), 0.15, 0.9)
        if t < ORDERS_SCALE_DOWN:
            return 0.9
        if t < DB_IDLE_TERMINATED + 30:
            return 0.35
        return 0.0

    first = True
    for t in arrivals(rng, DB_EXHAUSTED, DB_IDLE_TERMINATED + 30, reject_rate):
        if first:
            t, first = DB_EXHAUSTED, False
        p = pid(t)
        r = rng.random()
        if r < 0.8:
            ip = rng.choice(orders_ips_at(t))
        elif r < 0.97:
            ip = rng.choice(checkout_ips_at(t))
        else:
            ip = "10.42.0.14"  # postgres_exporter
        log(t - 0.004, p, "LOG", f"connection received: host={ip} port={rng.randint(32768, 60999)}")
        if t == DB_EXHAUSTED or rng.random() < 0.72:
            log(t, p, "FATAL", "sorry, too many clients already")
        else:
            log(
                t,
                p,
                "FATAL",
                "remaining connection slots are reserved for non-replication superuser connections",
            )

    # on-call logs in as superuser through a reserved slot, looks around, then terminates idle sessions
    admin = pid(T("03:22:41.305"))
    log(T("03:22:41.305"), admin, "LOG", "connection received: host=[local]")
    log(
        T("03:22:41.311"),
        admin,
        "LOG",
        "connection authorized: user=postgres database=inventory application_name=psql",
    )
    terminated = sorted(random.Random(f"{seed}:idle").sample(keda_pids, 64))
    for i, p in enumerate(terminated):
        t = DB_IDLE_TERMINATED + i * 0.004
        log(t, p, "FATAL", "terminating connection due to administrator command")
    for p in terminated[:9]:
        log(
            DB_IDLE_TERMINATED + rng.uniform(0.3, 1.5),
            p,
            "LOG",
            "could not receive data from client: Connection reset by peer",
        )
    log(
        T("03:38:02.911"),
        admin,
        "LOG",
        "disconnection: session time: 0:15:21.600 user=postgres database=inventory host=[local]",
    )
    # pools refill at a sane size after the scale-down
    for t in arrivals(rng, DB_IDLE_TERMINATED + 2, DB_IDLE_TERMINATED + 240, 0.25):
        connect(t, rng.choice(orders_ips_at(t)), "orders_app", "orders-worker", rng.uniform(900, 1800))
    return s.lines()


# ------------------------------------------------------------------------------------------------
# 3. nginx-ingress.log — ingress-nginx controller stdout: access log + error log + klog lines

CHECKOUT_PODS_NGX = ["10.42.3.34", "10.42.2.18", "10.42.4.12"]
SEARCH_PODS = ["10.42.3.21", "10.42.1.29", "10.42.5.33"]
SEARCH_REPLACEMENT_IP = "10.42.4.50"
AUTH_PODS_OLD = ["10.42.1.61", "10.42.2.44", "10.42.4.37"]
AUTH_PODS_NEW = ["10.42.1.73", "10.42.2.52", "10.42.5.60"]


def dns_fail_fraction(t: float) -> float:
    """Fraction of checkout-web -> payments-api calls failing on DNS (keep-alive conns die off)."""
    if t < DNS_BREAK or t >= DNS_FIXED:
        return 0.0
    return ramp(t, DNS_BREAK, DNS_BREAK + 200, 0.15, 1.0)


def gen_nginx(seed: int, sched: PaymentsSchedule) -> list[str]:
    rng = random.Random(f"{seed}:nginx-ingress")
    s = Stream()

    def access(
        t: float,
        ip: str,
        method: str,
        uri: str,
        status: int,
        nbytes: int,
        referer: str,
        ua: str,
        upstream_name: str,
        upstream_addr: str,
        up_len: str,
        up_time: str,
        up_status: str,
        req_time: float,
    ) -> None:
        req_len = rng.randint(380, 1400) if method == "POST" else rng.randint(220, 700)
        proto = "HTTP/2.0" if not ua.startswith(("curl", "python")) else "HTTP/1.1"
        s.add(
            t + req_time,
            f'{ip} - - [{nginx_local(t + req_time)}] "{method} {uri} {proto}" {status} {nbytes} '
            f'"{referer}" "{ua}" {req_len} {req_time:.3f} [{upstream_name}] [] {upstream_addr} {up_len} '
            f"{up_time} {up_status} {hexid(rng, 32)}",
        )

    def error(t: float, text: str, ip: str, method: str, uri: str, upstream: str, referer: str) -> None:
        conn = 4_790_000 + int(t * 9.7) + rng.randint(0, 9)  # connection serials grow with time
        ref = f', referrer: "{referer}"' if referer != "-" else ""
        up = f', upstream: "{upstream}"' if upstream else ""
        w = rng.choice([38, 39, 41, 42])
        s.add(
            t,
            f"{nginx_err(t)} [error] {w}#{w}: "
            f'*{conn} {text}, client: {ip}, server: shop.example.com, request: "{method} {uri} HTTP/2.0"'
            f'{up}, host: "shop.example.com"{ref}',
        )

    def pick_checkout(t: float) -> str:
        pods = list(CHECKOUT_PODS_NGX)
        ev = EVICTED["checkout-web-84d6c5f7b9-lw2xz"]
        if t >= ev:
            pods[0] = CHECKOUT_REPLACEMENT_IP if t >= ev + 24 else pods[1]
        return rng.choice(pods)

    def pick_search(t: float) -> str:
        pods = list(SEARCH_PODS)
        ev = EVICTED["search-api-5c8d7b9f4-q7wzn"]
        if t >= ev:
            pods[0] = SEARCH_REPLACEMENT_IP if t >= ev + 31 else pods[1]
        return rng.choice(pods)

    def payments_rate(t: float) -> float:
        base = 0.06
        if T("03:12:00") <= t < T("03:45:00"):
            return 0.32  # mobile clients retrying failed payments
        return base

    # --- storefront traffic through checkout-web
    for t in arrivals(rng, 0, WINDOW, 0.21):
        ip = rng.choice(CLIENT_IPS)
        ua = rng.choice(USER_AGENTS)
        r = rng.random()
        referer = "https://shop.example.com/"
        if r < 0.22:
            method, uri, status, nbytes, base = "GET", "/", 200, rng.randint(28000, 34000), 38.0
            referer = rng.choice(["-", "https://www.google.com/", "-"])
        elif r < 0.50:
            method, uri, status, nbytes, base = (
                "GET",
                f"/products/{rng.choice(PRODUCTS)}",
                200,
                rng.randint(41000, 52000),
                55.0,
            )
        elif r < 0.60:
            method, uri, status, nbytes, base = "GET", "/cart", 200, rng.randint(12000, 16000), 31.0
        elif r < 0.68:
            method, uri, status, nbytes, base = "GET", "/checkout", 200, rng.randint(18000, 22000), 64.0
            referer = "https://shop.example.com/cart"
        elif r < 0.73:
            method, uri, status, nbytes, base = "POST", "/checkout/pay", 303, 0, 240.0
            referer = "https://shop.example.com/checkout"
        elif r < 0.90:
            asset = rng.choice(
                ["js/app.4f1c2e.js", "css/main.91ab3d.css", "img/logo.svg", "js/vendor.77d0a1.js"]
            )
            cached = rng.random() < 0.4
            method, uri, status, nbytes, base = (
                "GET",
                f"/static/{asset}",
                304 if cached else 200,
                0 if cached else rng.randint(3000, 180000),
                2.0,
            )
        elif r < 0.95:
            method, uri, status, nbytes, base = "POST", "/cart/items", 200, rng.randint(300, 900), 22.0
            referer = f"https://shop.example.com/products/{rng.choice(PRODUCTS)}"
        else:
            ua = rng.choice(BOT_AGENTS)
            method, uri, status, nbytes, base = (
                "GET",
                rng.choice(["/wp-login.php", "/.env", "/admin/config.php", "/xmlrpc.php"]),
                404,
                548,
                3.0,
            )
            referer = "-"
        up = pick_checkout(t)
        req_time = lognorm_ms(rng, base) / 1000
        calls_payments = uri in ("/checkout", "/checkout/pay")
        if calls_payments:
            payments_down = not sched.ready(t)
            if rng.random() < dns_fail_fraction(t) or (payments_down and t >= T("03:12:00")):
                status, nbytes = 502, rng.randint(1100, 1300)
                req_time = lognorm_ms(rng, 9.0) / 1000 if t < DNS_FIXED else rng.uniform(0.003, 0.02)
        if status == 303:
            nbytes = 0
        access(
            t,
            ip,
            method,
            uri,
            status,
            nbytes,
            referer,
            ua,
            "checkout-checkout-web-80",
            f"{up}:8080",
            str(nbytes),
            f"{req_time:.3f}",
            str(status),
            req_time,
        )

    # the evicted checkout pod: one request hits it just as it goes away
    ev = EVICTED["checkout-web-84d6c5f7b9-lw2xz"]
    error(
        ev + 0.9,
        "connect() failed (111: Connection refused) while connecting to upstream",
        rng.choice(CLIENT_IPS),
        "GET",
        "/cart",
        "http://10.42.3.34:8080/cart",
        "https://shop.example.com/",
    )
    access(
        ev + 0.9,
        rng.choice(CLIENT_IPS),
        "GET",
        "/cart",
        200,
        14211,
        "https://shop.example.com/",
        USER_AGENTS[0],
        "checkout-checkout-web-80",
        "10.42.3.34:8080, 10.42.2.18:8080",
        "0, 14211",
        "0.001, 0.033",
        "502, 200",
        0.034,
    )

    # --- search
    for t in arrivals(rng, 0, WINDOW, 0.05):
        ip = rng.choice(CLIENT_IPS)
        q = rng.choice(QUERIES)
        up = pick_search(t)
        req_time = lognorm_ms(rng, 48.0) / 1000
        n = rng.randint(2000, 9000)
        access(
            t,
            ip,
            "GET",
            f"/api/search?q={q}&page=1",
            200,
            n,
            "https://shop.example.com/",
            rng.choice(USER_AGENTS),
            "search-search-api-8080",
            f"{up}:8080",
            str(n),
            f"{req_time:.3f}",
            "200",
            req_time,
        )
    ev = EVICTED["search-api-5c8d7b9f4-q7wzn"]
    for k in range(2):
        ip = rng.choice(CLIENT_IPS)
        error(
            ev + 0.4 + k * 1.3,
            "connect() failed (111: Connection refused) while connecting to upstream",
            ip,
            "GET",
            "/api/search?q=boots&page=1",
            "http://10.42.3.21:8080/api/search?q=boots&page=1",
            "https://shop.example.com/",
        )
        access(
            ev + 0.4 + k * 1.3,
            ip,
            "GET",
            "/api/search?q=boots&page=1",
            200,
            4411,
            "https://shop.example.com/",
            USER_AGENTS[2],
            "search-search-api-8080",
            "10.42.3.21:8080, 10.42.1.29:8080",
            "0, 4411",
            "0.000, 0.051",
            "502, 200",
            0.052,
        )

    # --- auth (public HTTP port 8080 behind the ingress; unaffected by the internal mTLS cert)
    for t in arrivals(rng, 0, WINDOW, 0.045):
        pods = AUTH_PODS_OLD if t < AUTH_RESTART + 40 else AUTH_PODS_NEW
        up = rng.choice(pods)
        r = rng.random()
        if r < 0.5:
            method, uri, status, base = "GET", "/api/auth/session", 200, 6.0
        elif r < 0.8:
            method, uri, status, base = "POST", "/oauth/token", 200, 21.0
        elif r < 0.93:
            method, uri, status, base = "POST", "/api/auth/login", 200, 95.0
        else:
            method, uri, status, base = "POST", "/api/auth/login", 401, 90.0
        req_time = lognorm_ms(rng, base) / 1000
        n = rng.randint(300, 1800)
        access(
            t,
            rng.choice(CLIENT_IPS),
            method,
            uri,
            status,
            n,
            "https://shop.example.com/login",
            rng.choice(USER_AGENTS),
            "auth-auth-service-8080",
            f"{up}:8080",
            str(n),
            f"{req_time:.3f}",
            str(status),
            req_time,
        )

    # --- payments API used directly by the mobile app
    last_endpoint_warning = -100.0
    for t in arrivals(rng, 0, WINDOW, payments_rate):
        ip = rng.choice(CLIENT_IPS)
        ua = rng.choice(USER_AGENTS[5:])
        r = rng.random()
        if r < 0.55:
            method, uri, base, ok = "POST", "/api/payments/charge", 190.0, 201
        elif r < 0.85:
            method, uri, base, ok = "GET", "/api/payments/methods", 15.0, 200
        else:
            method, uri, base, ok = "GET", f"/api/payments/charges/ch_{b36(rng, 14)}", 9.0, 200
        name = "payments-payments-api-8080"
        killed = sched.recently_killed(t)
        pods = sched.ready(t)
        if killed is not None:
            addr = sched.ip[killed]
            error(
                t + 0.001,
                "connect() failed (111: Connection refused) while connecting to upstream",
                ip,
                method,
                uri,
                f"http://{addr}:8080{uri}",
                "-",
            )
            if pods:
                other = sched.ip[rng.choice(pods)]
                rt = lognorm_ms(rng, base) * sched.pressure(rng.choice(pods), t) / 1000
                if rt < 10:
                    access(
                        t,
                        ip,
                        method,
                        uri,
                        ok,
                        rng.randint(200, 900),
                        "-",
                        ua,
                        name,
                        f"{addr}:8080, {other}:8080",
                        f"0, {rng.randint(200, 900)}",
                        f"0.001, {rt:.3f}",
                        f"502, {ok}",
                        rt + 0.002,
                    )
                    continue
            access(t, ip, method, uri, 502, 150, "-", ua, name, f"{addr}:8080", "0", "0.001", "502", 0.002)
            continue
        if not pods:
            if t - last_endpoint_warning > rng.uniform(40, 90):
                last_endpoint_warning = t
                s.add(
                    t - 0.3,
                    f'{klog_ts("W", t - 0.3)}       7 controller.go:1214] Service "payments/payments-api" '
                    "does not have any active Endpoint.",
                )
            if rng.random() < 0.5:
                error(
                    t + 0.0005,
                    "no live upstreams while connecting to upstream",
                    ip,
                    method,
                    uri,
                    f"http://upstream_balancer{uri}",
                    "-",
                )
            access(t, ip, method, uri, 503, 190, "-", ua, name, "-", "-", "-", "-", 0.000)
            continue
        pod = rng.choice(pods)
        addr = sched.ip[pod]
        rt = lognorm_ms(rng, base) * sched.pressure(pod, t) / 1000
        cut = [k for k, p, _ in sched.kills if p == pod and t < k < t + min(rt, 10.0)]
        if cut:  # the pod was OOM-killed while this request was in flight
            rt = cut[0] - t + 0.001
            error(
                t + rt,
                "upstream prematurely closed connection while reading response header from upstream",
                ip,
                method,
                uri,
                f"http://{addr}:8080{uri}",
                "-",
            )
            access(t, ip, method, uri, 502, 150, "-", ua, name, f"{addr}:8080", "0", f"{rt:.3f}", "502", rt)
            continue
        if rt >= 10.0:
            error(
                t + 10.0,
                "upstream timed out (110: Connection timed out) while reading response header from upstream",
                ip,
                method,
                uri,
                f"http://{addr}:8080{uri}",
                "-",
            )
            access(t, ip, method, uri, 504, 160, "-", ua, name, f"{addr}:8080", "0", "10.001", "504", 10.001)
            continue
        n = rng.randint(200, 900)
        access(
            t, ip, method, uri, ok, n, "-", ua, name, f"{addr}:8080", str(n), f"{rt:.3f}", str(ok), rt + 0.001
        )

    # --- controller housekeeping
    for t in arrivals(rng, 0, WINDOW, 1 / 600):
        s.add(
            t,
            f'{klog_ts("I", t)}       7 event.go:377] Event(v1.ObjectReference{{Kind:"Ingress", '
            f'Namespace:"{rng.choice(["checkout", "payments", "search", "auth"])}", Name:"web", '
            f"APIVersion:\"networking.k8s.io/v1\"}}): type: 'Normal' reason: 'Sync' Scheduled for sync",
        )
    for t in (T("02:52:17.400"), T("03:49:31.700")):
        s.add(
            t,
            f'{klog_ts("I", t)}       7 controller.go:193] "Configuration changes detected, backend reload required"',
        )
        s.add(
            t + 0.24, f'{klog_ts("I", t + 0.24)}       7 controller.go:213] "Backend successfully reloaded"'
        )
    return s.lines()


# ------------------------------------------------------------------------------------------------
# 4. auth-service.log — plain text: "<ts> <LEVEL> auth-service <pod> [component] message"

AUTH_OLD = [
    ("auth-service-6b7f9d8c5-k2l4p", "10.42.1.61"),
    ("auth-service-6b7f9d8c5-v8n3q", "10.42.2.44"),
    ("auth-service-6b7f9d8c5-d5w7r", "10.42.4.37"),
]
AUTH_NEW = [
    ("auth-service-7c9d4f6b8-n4z8k", "10.42.1.73"),
    ("auth-service-7c9d4f6b8-t2q6m", "10.42.2.52"),
    ("auth-service-7c9d4f6b8-y7h3c", "10.42.5.60"),
]
AUTH_NEW_START = [AUTH_RESTART + 2.1, AUTH_RESTART + 24.6, AUTH_RESTART + 47.3]
AUTH_OLD_STOP = [AUTH_RESTART + 14.0, AUTH_RESTART + 36.8, AUTH_RESTART + 59.9]
SEARCH_CLIENT_IPS = ["10.42.1.29", "10.42.5.33", "10.42.3.21"]


def gen_auth(seed: int) -> list[str]:
    rng = random.Random(f"{seed}:auth-service")
    s = Stream()

    def log(t: float, level: str, pod: str, comp: str, msg: str) -> None:
        s.add(t, f"{iso_ms(t)} {level:<5} auth-service {pod} [{comp}] {msg}")

    def pods_at(t: float) -> list[tuple[str, str]]:
        out = []
        for i, p in enumerate(AUTH_OLD):
            if t < AUTH_OLD_STOP[i]:
                out.append(p)
        for i, p in enumerate(AUTH_NEW):
            if t >= AUTH_NEW_START[i] + 3:
                out.append(p)
        return out

    def expired(pod: str, t: float) -> bool:
        return pod.startswith("auth-service-6b7f") and t >= CERT_NOT_AFTER

    def search_ips(t: float) -> list[str]:
        return SEARCH_CLIENT_IPS[:2] + (
            [SEARCH_CLIENT_IPS[2]] if t < EVICTED["search-api-5c8d7b9f4-q7wzn"] else [SEARCH_REPLACEMENT_IP]
        )

    # --- public traffic (port 8080 behind the ingress: unaffected)
    for t in arrivals(rng, 0, WINDOW, 0.16):
        pod, _ = rng.choice(pods_at(t))
        r = rng.random()
        req = f"req_{hexid(rng, 16)}"
        if r < 0.40:
            log(
                t,
                "INFO",
                pod,
                "token",
                f"token issued sub={user_id(rng)} client_id={rng.choice(['web', 'ios-app', 'android-app'])} "
                f"grant_type=refresh_token ttl=900s req_id={req}",
            )
        elif r < 0.58:
            log(
                t,
                "INFO",
                pod,
                "login",
                f"login succeeded user={user_id(rng)} mfa={rng.choice(['none', 'totp', 'none'])} req_id={req}",
            )
        elif r < 0.64:
            log(
                t,
                "WARN",
                pod,
                "login",
                f"login failed user={user_id(rng)} reason=invalid_credentials attempts={rng.randint(1, 4)} req_id={req}",
            )
        elif r < 0.66:
            log(
                t,
                "WARN",
                pod,
                "login",
                f"account temporarily locked user={user_id(rng)} attempts=5 lock=15m req_id={req}",
            )
        else:
            log(
                t,
                "INFO",
                pod,
                "session",
                f"session validated sid=sess_{b36(rng, 18)} user={user_id(rng)} req_id={req}",
            )

    # --- internal mTLS callers on :8443 — token introspection from search-api
    for t in arrivals(
        rng, 0, WINDOW, lambda t: 0.1 if not (CERT_NOT_AFTER <= t < AUTH_RESTART + 60) else 0.42
    ):
        pod, _ = rng.choice(pods_at(t))
        caller_ip = rng.choice(search_ips(t))
        if expired(pod, t):
            log(
                t,
                "ERROR",
                pod,
                "tls",
                f"http: TLS handshake error from {caller_ip}:{rng.randint(32768, 60999)}: "
                "remote error: tls: bad certificate",
            )
        else:
            log(
                t,
                "INFO",
                pod,
                "introspect",
                f"token introspection ok caller=search-api active=true latency_ms={lognorm_ms(rng, 3.0):.1f}",
            )

    # --- JWKS fetched by checkout-web every 10 minutes (3 pods), also over mTLS
    checkout_ips = {
        "lw2xz": "10.42.3.34",
        "9hq4d": "10.42.2.18",
        "t6m1v": "10.42.4.12",
        "r5n8k": CHECKOUT_REPLACEMENT_IP,
    }
    for t, cpod in jwks_fetches(seed):
        pod, _ = rng.choice(pods_at(t))
        ip = checkout_ips[cpod]
        if expired(pod, t):
            log(
                t + 0.004,
                "ERROR",
                pod,
                "tls",
                f"http: TLS handshake error from {ip}:{rng.randint(32768, 60999)}: "
                "remote error: tls: bad certificate",
            )
        else:
            log(t + 0.004, "INFO", pod, "jwks", "served jwks keys=2 kid=auth-2026-11 caller=checkout-web")

    # --- peer session sync every 60 s (each replica pushes to the others, client side of mTLS)
    for i, (pod, _ip) in enumerate(AUTH_OLD + AUTH_NEW):
        start = 0.0 if i < 3 else AUTH_NEW_START[i - 3] + 5
        stop = AUTH_OLD_STOP[i] if i < 3 else WINDOW
        for t in every(rng, start + rng.uniform(0, 60), stop, 60.0, 1.5):
            if t >= stop:
                break
            peers = [p for p in pods_at(t) if p[0] != pod]
            if not peers:
                continue
            peer, peer_ip = rng.choice(peers)
            if expired(peer, t):
                log(
                    t,
                    "ERROR",
                    pod,
                    "peer",
                    f'session sync failed peer={peer} err="Post \\"https://{peer_ip}:8443/internal/sessions/sync\\": '
                    f"tls: failed to verify certificate: x509: certificate has expired or is not yet valid: current time "
                    f'{iso_s(t)} is after {iso_s(CERT_NOT_AFTER)}"',
                )
            else:
                log(
                    t,
                    "INFO",
                    pod,
                    "peer",
                    f"session sync ok peer={peer} sessions={rng.randint(1800, 2600)} "
                    f"took_ms={lognorm_ms(rng, 12.0):.0f}",
                )

    # --- certificate watcher (every 15 min, every 5 min in the last hour, every minute once expired)
    for i, (pod, _ip) in enumerate(AUTH_OLD):
        offs = rng.uniform(0, 20)
        ticks = [x * 900.0 + offs for x in range(4)] + [3600 + x * 300.0 + offs for x in range(4)]
        ticks += [CERT_NOT_AFTER + 2 + x * 60 + rng.uniform(0, 3) for x in range(32)]
        for t in ticks:
            if t >= AUTH_OLD_STOP[i]:
                break
            remaining = CERT_NOT_AFTER - t
            if remaining > 0:
                log(
                    t,
                    "WARN",
                    pod,
                    "certwatch",
                    f'serving certificate expires soon subject="CN=auth-service.auth.svc" '
                    f'issuer="CN=internal-ca" not_after={iso_s(CERT_NOT_AFTER)} remaining={hms_duration(remaining)} '
                    "secret=auth/auth-service-tls",
                )
            else:
                log(
                    t,
                    "ERROR",
                    pod,
                    "certwatch",
                    f'serving certificate has EXPIRED subject="CN=auth-service.auth.svc" '
                    f"not_after={iso_s(CERT_NOT_AFTER)} expired_for={hms_duration(-remaining)} secret=auth/auth-service-tls",
                )
        # the renewed Secret lands on disk; the server only reads it at start-up
        log(
            CERT_RENEWED + 41 + i * 3.3,
            "WARN",
            pod,
            "certwatch",
            "certificate file changed on disk "
            "path=/etc/tls/tls.crt new_not_after=2027-02-18T03:47:52Z: restart required to serve it",
        )
        log(AUTH_OLD_STOP[i] - 0.4, "INFO", pod, "main", "received SIGTERM, draining connections grace=10s")
    for i, (pod, ip) in enumerate(AUTH_NEW):
        st = AUTH_NEW_START[i]
        log(st, "INFO", pod, "main", "starting auth-service version=4.2.1 commit=c93e0f4")
        log(
            st + 0.6,
            "INFO",
            pod,
            "tls",
            'loaded TLS certificate subject="CN=auth-service.auth.svc" issuer="CN=internal-ca" '
            "serial=4f:a2:91:0c:7e:55:d1:38 not_after=2027-02-18T03:47:52Z",
        )
        log(st + 0.7, "INFO", pod, "main", "listening addr=:8080 tls=false (public, behind ingress)")
        log(
            st + 0.7,
            "INFO",
            pod,
            "main",
            f"listening addr=:8443 tls=true client_auth=require_and_verify pod_ip={ip}",
        )

    # --- housekeeping
    for t in every(rng, 100.0, WINDOW, 300.0, 4.0):
        pod, _ = rng.choice(pods_at(t))
        log(
            t,
            "INFO",
            pod,
            "cleanup",
            f"expired sessions purged count={rng.randint(40, 260)} took_ms={rng.randint(3, 40)}",
        )
    for t in every(rng, 700.0, WINDOW, 1800.0, 4.0):
        pod, _ = rng.choice(pods_at(t))
        log(
            t,
            "INFO",
            pod,
            "keys",
            "signing key check ok active_kid=auth-2026-11 next_rotation=2026-12-01T00:00:00Z",
        )
    return s.lines()


def jwks_fetches(seed: int) -> list[tuple[float, str]]:
    """When each checkout-web pod refreshes the JWKS from auth-service (shared with checkout-web.log)."""
    rng = random.Random(f"{seed}:jwks")
    out = []
    for pod in ("lw2xz", "9hq4d", "t6m1v"):
        off = rng.uniform(0, 600)
        for k in range(12):
            t = off + k * 600 + rng.uniform(0, 2)
            if pod == "lw2xz" and t >= EVICTED["checkout-web-84d6c5f7b9-lw2xz"]:
                break
            out.append((t, pod))
    start = EVICTED["checkout-web-84d6c5f7b9-lw2xz"] + 22
    for k in range(7):
        out.append((start + 5 + k * 600 + rng.uniform(0, 2), "r5n8k"))
    return sorted(out)


# ------------------------------------------------------------------------------------------------
# 5. orders-worker.log — logfmt (Go), Kafka consumer + Parcelio client + inventory-db pool

KAFKA_PRODUCE_RATE = 20.0  # orders.events messages/s at night


def orders_lag_at(t: float) -> float:
    """Total consumer-group lag (messages) over time; integrates produce - consume."""
    # (from, consume rate) pieces; lag never below a small baseline
    pieces = [
        (0.0, KAFKA_PRODUCE_RATE),
        (RATE_LIMIT_START, 14.0),
        (T("02:55:00"), 7.0),
        (KEDA_SCALE_UP, 5.0),
        (DB_EXHAUSTED, 2.0),
        (ORDERS_SCALE_DOWN, 0.0),
        (T("03:37:00"), 85.0),
    ]
    lag = 0.0
    for i, (start, rate) in enumerate(pieces):
        end = pieces[i + 1][0] if i + 1 < len(pieces) else WINDOW
        if t <= start:
            break
        span = min(t, end) - start
        lag = max(0.0, lag + (KAFKA_PRODUCE_RATE - rate) * span)
    return lag + 120.0


def gen_orders(seed: int) -> list[str]:
    rng = random.Random(f"{seed}:orders-worker")
    s = Stream()

    def log(t: float, level: str, pod: str, msg: str, **kv: object) -> None:
        parts = [f"ts={iso_ms(t)}", f"level={level}", "service=orders-worker", f"pod={pod}", f'msg="{msg}"']
        for k, v in kv.items():
            sv = str(v)
            if any(c in sv for c in ' ="') or sv == "":
                sv = '"' + sv.replace("\\", "\\\\").replace('"', '\\"') + '"'
            parts.append(f"{k}={sv}")
        s.add(t, " ".join(parts))

    evict_t = EVICTED["orders-worker-6f9c7d8b4-2kq8n"]
    repl_start = evict_t + 41.0

    def live_pods(t: float) -> list[str]:
        pods = [p for p, _ in ORDERS_PODS_ORIG]
        if t >= evict_t:
            pods.remove("orders-worker-6f9c7d8b4-2kq8n")
            if t >= repl_start:
                pods.append(ORDERS_REPLACEMENT[0])
        if t >= KEDA_SCALE_UP + 8:
            scaled = [p for p, _ in ORDERS_PODS_SCALED]
            pods += scaled if t < ORDERS_SCALE_DOWN + 3 else scaled[:2]
        return pods

    def assignment(t: float) -> dict[str, list[int]]:
        pods = live_pods(t)
        out: dict[str, list[int]] = {p: [] for p in pods}
        for part in range(12):
            out[pods[part % len(pods)]].append(part)
        return out

    def rate_limited_fraction(t: float) -> float:
        if t < RATE_LIMIT_START:
            return 0.0
        if t < T("02:55:00"):
            return ramp(t, RATE_LIMIT_START, T("02:55:00"), 0.15, 0.75)
        if t < BACKFILL_KILLED:
            return 0.85 if t < KEDA_SCALE_UP else 0.93
        return ramp(t, BACKFILL_KILLED, BACKFILL_KILLED + 100, 0.6, 0.0)

    def db_fail(t: float) -> bool:
        return DB_EXHAUSTED <= t < DB_IDLE_TERMINATED + 20

    # --- shipment bookings (order.paid events), the main info noise
    for t in arrivals(rng, 0, WINDOW, 0.2):
        pods = [p for p, parts in assignment(t).items() if parts]
        pod = rng.choice(pods)
        part = rng.choice(assignment(t)[pod])
        oid = f"ord_{b36(rng, 12)}"
        if db_fail(t) and rng.random() < 0.85:
            continue  # logged by the DB failure generator below
        if rng.random() < rate_limited_fraction(t):
            continue  # logged by the 429 generator below
        dur = lognorm_ms(rng, 140.0)
        log(
            t,
            "info",
            pod,
            "shipment booked",
            order_id=oid,
            partition=part,
            carrier="parcelio",
            tracking=f"PCL{rng.randint(10**9, 10**10 - 1)}",
            skus=rng.randint(1, 5),
            duration_ms=int(dur),
        )

    # --- 429 Too Many Requests from Parcelio
    limited = [RATE_LIMIT_START] + list(
        arrivals(
            rng,
            RATE_LIMIT_START + 0.5,
            BACKFILL_KILLED + 100,
            lambda t: 0.3 * rate_limited_fraction(t) + 0.01,
        )
    )
    for t in limited:
        pods = [p for p, parts in assignment(t).items() if parts]
        pod = rng.choice(pods)
        oid = f"ord_{b36(rng, 12)}"
        attempt = rng.choice([1, 1, 1, 2, 2, 3]) if t > RATE_LIMIT_START else 1
        retry_after = rng.choice([30, 30, 30, 60]) if t > T("02:55:00") else rng.choice([5, 10, 30])
        log(
            t,
            "warn",
            pod,
            "rate limited by upstream",
            upstream="parcelio",
            method="POST",
            path="/v2/shipments",
            status=429,
            retry_after=retry_after,
            ratelimit_remaining=0,
            ratelimit_limit=50,
            attempt=attempt,
            order_id=oid,
        )
        if attempt == 3:
            log(
                t + 0.002,
                "error",
                pod,
                "shipment booking failed, message will be redelivered",
                order_id=oid,
                err=f"parcelio: POST /v2/shipments: 429 Too Many Requests (Retry-After: {retry_after})",
                attempts=3,
            )

    # --- slow batches, poll timeouts, rebalances
    rebalances = [
        T("03:02:14.551"),
        T("03:05:40.093"),
        KEDA_SCALE_UP + 9.2,
        T("03:11:50.774"),
        T("03:16:30.118"),
        evict_t + 1.1,
        repl_start + 2.0,
        T("03:27:44.306"),
        ORDERS_SCALE_DOWN + 3.4,
        T("03:37:12.664"),
    ]
    gen = 41
    for rt in rebalances:
        gen += 1
        before = live_pods(rt - 1)
        if rt in (
            T("03:02:14.551"),
            T("03:05:40.093"),
            T("03:11:50.774"),
            T("03:16:30.118"),
            T("03:27:44.306"),
        ):
            slow_pod = rng.choice(before)
            log(
                rt - 0.8,
                "warn",
                slow_pod,
                "consumer left group",
                reason="poll timeout: batch processing exceeded max.poll.interval.ms",
                max_poll_interval_ms=300000,
                batch_elapsed_ms=rng.randint(300100, 340000),
                group="orders-worker",
            )
            reason = f"member {slow_pod} left: poll timeout"
        elif rt == KEDA_SCALE_UP + 9.2:
            reason = "10 members joined"
        elif rt == evict_t + 1.1:
            reason = "member orders-worker-6f9c7d8b4-2kq8n left: shutdown"
        elif rt == repl_start + 2.0:
            reason = f"member {ORDERS_REPLACEMENT[0]} joined"
        elif rt == ORDERS_SCALE_DOWN + 3.4:
            reason = "8 members left: shutdown"
        else:
            reason = "member rejoined after session timeout"
        asg = assignment(rt + 3)
        for pod in sorted(asg):
            log(
                rt + rng.uniform(0, 0.4),
                "warn",
                pod,
                "consumer group rebalance",
                group="orders-worker",
                generation=gen,
                reason=reason,
            )
            parts = asg[pod]
            if parts:
                log(
                    rt + rng.uniform(2.5, 4.0),
                    "info",
                    pod,
                    "partitions assigned",
                    topic="orders.events",
                    partitions=",".join(str(p) for p in parts),
                    generation=gen,
                )
            else:
                log(
                    rt + rng.uniform(2.5, 4.0),
                    "warn",
                    pod,
                    "no partitions assigned, consumer is idle",
                    topic="orders.events",
                    partitions_total=12,
                    members=len(asg),
                    generation=gen,
                )

    # --- per-pod stats every 60 s: throughput, lag of assigned partitions, DB pool
    pods_all = [p for p, _ in ORDERS_PODS_ORIG] + [p for p, _ in ORDERS_PODS_SCALED] + [ORDERS_REPLACEMENT[0]]
    offsets = {p: 18_790_000 + p * 3111 for p in range(12)}
    for pod in pods_all:
        for t in every(rng, rng.uniform(0, 60), WINDOW, 60.0, 1.0):
            if pod not in live_pods(t):
                continue
            parts = assignment(t).get(pod, [])
            lag_total = orders_lag_at(t)
            lag = int(lag_total / 12 * len(parts) * rng.uniform(0.8, 1.2))
            consume = KAFKA_PRODUCE_RATE - (orders_lag_at(t) - orders_lag_at(t - 60)) / 60
            processed = max(0, int(consume * 60 / 12 * len(parts) * rng.uniform(0.85, 1.15)))
            acquired = rng.randint(1, 4) if not db_fail(t) else 20
            if KEDA_SCALE_UP <= t < ORDERS_SCALE_DOWN and not db_fail(t):
                acquired = rng.randint(8, 20)
            pool_total = 20 if db_fail(t) else min(20, acquired + rng.randint(2, 6))
            if pod in [p for p, _ in ORDERS_PODS_SCALED] and t < KEDA_SCALE_UP + 40:
                pool_total = 4
            level = "warn" if lag > 5000 else "info"
            if parts:
                head = offsets[parts[0]] + int(t * KAFKA_PRODUCE_RATE / 12)
                log(
                    t,
                    level,
                    pod,
                    "consumer stats",
                    group="orders-worker",
                    partitions=",".join(map(str, parts)),
                    processed_1m=processed,
                    lag=lag,
                    committed_offset=head - lag // max(1, len(parts)),
                    db_pool_acquired=min(acquired, pool_total),
                    db_pool_total=pool_total,
                    db_pool_max=20,
                )
            else:
                log(
                    t,
                    "info",
                    pod,
                    "consumer stats",
                    group="orders-worker",
                    partitions="",
                    processed_1m=0,
                    lag=0,
                    db_pool_acquired=0,
                    db_pool_total=pool_total,
                    db_pool_max=20,
                )
            if lag > 5000 and rng.random() < 0.5:
                log(
                    t + 0.01,
                    "warn",
                    pod,
                    "consumer lag above threshold",
                    group="orders-worker",
                    lag=lag,
                    threshold=5000,
                )

    # --- DB connection exhaustion (inventory-db), client side
    def db_rate(t: float) -> float:
        if t < DB_EXHAUSTED:
            return 0.0
        if t < T("03:20:00"):
            return ramp(t, DB_EXHAUSTED, T("03:20:00"), 0.08, 0.38)
        if t < ORDERS_SCALE_DOWN:
            return 0.38
        return 0.15

    first = True
    for t in arrivals(rng, DB_EXHAUSTED, DB_IDLE_TERMINATED + 20, db_rate):
        if first:
            t, first = DB_EXHAUSTED + 0.011, False
        pod = rng.choice(live_pods(t))
        if t == DB_EXHAUSTED + 0.011 or rng.random() < 0.55:
            pg = (
                "sorry, too many clients already"
                if t == DB_EXHAUSTED + 0.011 or rng.random() < 0.72
                else "remaining connection slots are reserved for non-replication superuser connections"
            )
            log(
                t,
                "error",
                pod,
                "db acquire failed",
                err=f"failed to connect to `host=inventory-db-primary.inventory.svc user=orders_app database=inventory`: "
                f"server error (FATAL: {pg} (SQLSTATE 53300))",
                op="reserve_stock",
            )
        else:
            log(
                t,
                "warn",
                pod,
                "db pool exhausted",
                pool_max=20,
                acquired=20,
                waited_ms=5000,
                err="context deadline exceeded",
                op=rng.choice(["reserve_stock", "load_order", "write_outbox"]),
            )
    for k in range(12):
        pod = rng.choice(live_pods(DB_IDLE_TERMINATED))
        log(
            DB_IDLE_TERMINATED + k * 0.05 + rng.uniform(0, 0.3),
            "warn",
            pod,
            "db connection lost",
            err="FATAL: terminating connection due to administrator command (SQLSTATE 57P01)",
        )

    # --- pod lifecycle
    def start_pod(t: float, pod: str, ip: str) -> None:
        log(t, "info", pod, "starting orders-worker", version="2.14.1", commit="5d0b7aa", pod_ip=ip)
        log(
            t + 0.4,
            "info",
            pod,
            "kafka client ready",
            brokers="kafka-0.kafka-headless.kafka.svc:9092,"
            "kafka-1.kafka-headless.kafka.svc:9092,kafka-2.kafka-headless.kafka.svc:9092",
            group="orders-worker",
        )
        log(
            t + 0.6,
            "info",
            pod,
            "db pool created",
            host="inventory-db-primary.inventory.svc",
            database="inventory",
            min_conns=4,
            max_conns=20,
            max_conn_lifetime="30m",
        )

    for i, (pod, ip) in enumerate(ORDERS_PODS_SCALED):
        start_pod(KEDA_SCALE_UP + 1.5 + i * 0.6, pod, ip)
    start_pod(repl_start, *ORDERS_REPLACEMENT)
    log(
        evict_t - 0.3,
        "info",
        "orders-worker-6f9c7d8b4-2kq8n",
        "received signal, shutting down",
        signal="terminated",
        reason="pod evicted (node DiskPressure)",
    )
    log(evict_t + 0.8, "info", "orders-worker-6f9c7d8b4-2kq8n", "left consumer group", group="orders-worker")
    for pod, _ in ORDERS_PODS_SCALED[2:]:
        t = ORDERS_SCALE_DOWN + rng.uniform(0.1, 1.5)
        log(t, "info", pod, "received signal, shutting down", signal="terminated")
        log(t + rng.uniform(0.5, 1.5), "info", pod, "left consumer group", group="orders-worker")

    # --- the backfill Job that shares the Parcelio key
    job_pod = "shipment-backfill-29919045-xk2p9"
    log(
        BACKFILL_START,
        "info",
        job_pod,
        "backfill started",
        mode="backfill",
        job="shipment-backfill",
        window="2026-11-01..2026-11-19",
        orders=48211,
        target_rps=40,
    )
    for t in every(rng, BACKFILL_START + 60, BACKFILL_KILLED, 60.0, 0.5):
        done = int((t - BACKFILL_START) * rng.uniform(17, 21))
        log(
            t,
            "info",
            job_pod,
            "backfill progress",
            processed=done,
            total=48211,
            parcelio_rps=round(rng.uniform(36, 41), 1),
            rate_limited_pct=round(100 * rate_limited_fraction(t) * 0.6, 1),
        )
    log(
        BACKFILL_KILLED,
        "info",
        job_pod,
        "received signal, shutting down",
        signal="terminated",
        mode="backfill",
    )
    log(
        BACKFILL_KILLED + 0.3,
        "info",
        job_pod,
        "backfill checkpoint saved",
        processed=int((BACKFILL_KILLED - BACKFILL_START) * 19),
        resume_from="ord_5k2x9q1m7c4z",
    )

    # --- periodic outbox relay
    for t in every(rng, 20.0, WINDOW, 300.0, 3.0):
        pod = rng.choice(live_pods(t))
        if db_fail(t):
            log(
                t,
                "error",
                pod,
                "outbox relay failed",
                err="context deadline exceeded",
                pending=rng.randint(200, 900),
            )
        else:
            log(t, "info", pod, "outbox relay flushed", published=rng.randint(30, 190), topic="orders.status")
    return s.lines()


# ------------------------------------------------------------------------------------------------
# 6. checkout-web.log — zap console encoder: ts \t LEVEL \t caller \t msg \t {json fields}


def gen_checkout(seed: int, sched: PaymentsSchedule) -> list[str]:
    rng = random.Random(f"{seed}:checkout-web")
    s = Stream()

    def log(t: float, level: str, caller: str, msg: str, **fields: object) -> None:
        s.add(t, f"{iso_ms(t)}\t{level}\t{caller}\t{msg}\t{json.dumps(fields)}")

    ev = EVICTED["checkout-web-84d6c5f7b9-lw2xz"]
    repl = "checkout-web-84d6c5f7b9-r5n8k"
    repl_start = ev + 18.0

    def pods_at(t: float) -> list[str]:
        pods = [
            "checkout-web-84d6c5f7b9-lw2xz",
            "checkout-web-84d6c5f7b9-9hq4d",
            "checkout-web-84d6c5f7b9-t6m1v",
        ]
        if t >= ev:
            pods.pop(0)
            if t >= repl_start + 4:
                pods.append(repl)
        return pods

    # one circuit breaker per pod for calls to payments-api: opens after 3 failures within 60 s,
    # lets one trial call through after 30 s (half-open)
    breakers: dict[str, dict[str, object]] = {}

    def breaker_to(t: float, new: str, pod: str) -> None:
        b = breakers.setdefault(pod, {"state": "closed", "since": 0.0, "fails": []})
        if b["state"] != new:
            log(
                t,
                "WARN" if new == "open" else "INFO",
                "resilience/breaker.go:88",
                "circuit breaker state changed",
                upstream="payments-api",
                **{"from": b["state"], "to": new},
                pod=pod,
            )
            b["state"] = new
            b["since"] = t

    def payments_call(t: float, pod: str, trace: str, path: str, force_dns: bool = False) -> str | None:
        """Returns an error string, or None on success."""
        url = f"http://payments-api.payments.svc.cluster.local:8080{path}"
        method = "Post" if path == "/v1/charges" else "Get"
        b = breakers.setdefault(pod, {"state": "closed", "since": 0.0, "fails": []})
        if b["state"] == "open" and t - float(b["since"]) < 30:  # type: ignore[arg-type]
            return "circuit breaker is open"
        if b["state"] == "open":
            breaker_to(t, "half-open", pod)
        err = None
        if not force_dns and DNS_FIXED - 25 <= t < DNS_FIXED + 8 and rng.random() < 0.5:
            # CoreDNS pods being restarted with the fixed Corefile: a few lookups time out
            err = (
                f'{method} "{url}": dial tcp: lookup payments-api.payments.svc.cluster.local on 10.96.0.10:53: '
                f"read udp 10.42.{rng.choice([2, 4])}.{rng.randint(10, 90)}:{rng.randint(32768, 60999)}->10.96.0.10:53: i/o timeout"
            )
        elif force_dns or rng.random() < dns_fail_fraction(t):
            err = (
                f'{method} "{url}": dial tcp: lookup payments-api.payments.svc.cluster.local on 10.96.0.10:53: '
                "no such host"
            )
        elif t >= T("03:12:00") and not sched.ready(t):
            err = f'{method} "{url}": dial tcp {PAY_CLUSTER_IP}:8080: connect: connection refused'
        elif t >= T("03:00:00") and sched.ready(t):
            p = rng.choice(sched.ready(t))
            if lognorm_ms(rng, 190.0) * sched.pressure(p, t) > 5000:
                err = f'{method} "{url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)'
        if err is None:
            if b["state"] == "half-open":
                breaker_to(t + 0.05, "closed", pod)
            return None
        if b["state"] == "half-open":
            breaker_to(t + 0.01, "open", pod)
            return err
        fails = [x for x in b["fails"] if t - x < 60] + [t]  # type: ignore[attr-defined]
        b["fails"] = fails
        if b["state"] == "closed" and len(fails) >= 3:
            breaker_to(t + 0.006, "open", pod)
        return err

    # --- requests (plus one forced checkout at the moment DNS breaks, so the signal starts on time)
    forced = {DNS_BREAK}
    for t in sorted([*arrivals(rng, 0, WINDOW, 0.22), *forced]):
        pod = rng.choice(pods_at(t))
        trace = hexid(rng, 32)
        uid = user_id(rng)
        r = rng.random()
        if r < 0.25:
            method, path, base = "GET", "/", 30.0
        elif r < 0.55:
            method, path, base = "GET", f"/products/{rng.choice(PRODUCTS)}", 45.0
        elif r < 0.67:
            method, path, base = "GET", "/cart", 25.0
        elif r < 0.78:
            method, path, base = "POST", "/cart/items", 18.0
        elif r < 0.91:
            method, path, base = "GET", "/checkout", 55.0
        else:
            method, path, base = "POST", "/checkout/pay", 230.0
        if t in forced:
            method, path, base = "POST", "/checkout/pay", 230.0
        status = 200 if path != "/checkout/pay" else 303
        lat = lognorm_ms(rng, base)
        if path.startswith("/cart") or path == "/checkout":
            if rng.random() < 0.7:
                log(
                    t + 0.002,
                    "DEBUG",
                    "cart/cache.go:61",
                    "cart cache hit",
                    cart_id=f"cart_{b36(rng, 10)}",
                    pod=pod,
                )
            else:
                log(
                    t + 0.002,
                    "DEBUG",
                    "cart/cache.go:67",
                    "cart cache miss",
                    cart_id=f"cart_{b36(rng, 10)}",
                    backend="redis-cart.checkout.svc:6379",
                    pod=pod,
                )
        if path in ("/checkout", "/checkout/pay"):
            err = payments_call(
                t,
                pod,
                trace,
                "/v1/charges" if path == "/checkout/pay" else "/v1/payment-methods",
                force_dns=t in forced,
            )
            if err is not None:
                level = "ERROR" if path == "/checkout/pay" else "WARN"
                log(
                    t + 0.004,
                    level,
                    "payments/client.go:142",
                    "payments-api call failed",
                    err=err,
                    trace_id=trace,
                    user_id=uid,
                    pod=pod,
                )
                status = 502
                lat = (
                    lognorm_ms(rng, 9.0)
                    if "no such host" in err or "refused" in err
                    else (5000 + rng.uniform(1, 20) if "deadline" in err else lognorm_ms(rng, 1.0))
                )
        if (
            DB_EXHAUSTED <= t < DB_IDLE_TERMINATED + 20
            and path in ("/cart/items", "/checkout")
            and rng.random() < 0.12
        ):
            log(
                t + 0.003,
                "WARN",
                "stock/check.go:57",
                "stock check failed, showing cached availability",
                err="pq: sorry, too many clients already",
                trace_id=trace,
                pod=pod,
            )
        level = "INFO" if status < 500 else "WARN"
        log(
            t + lat / 1000,
            level,
            "http/server.go:142",
            "request completed",
            method=method,
            path=path,
            status=status,
            latency_ms=round(lat, 1),
            trace_id=trace,
            user_id=uid,
            pod=pod,
        )

    # --- periodic: feature flags, JWKS refresh, session cleanup
    for pod in [
        "checkout-web-84d6c5f7b9-lw2xz",
        "checkout-web-84d6c5f7b9-9hq4d",
        "checkout-web-84d6c5f7b9-t6m1v",
        repl,
    ]:
        start = repl_start + 3 if pod == repl else rng.uniform(0, 60)
        for t in every(rng, start, WINDOW, 60.0, 0.5):
            if pod not in pods_at(t):
                continue
            log(
                t,
                "DEBUG",
                "flags/poller.go:40",
                "feature flags refreshed",
                flags=42,
                etag=f'W/"{hexid(rng, 8)}"',
                pod=pod,
            )
    for t, short in jwks_fetches(seed):
        pod = f"checkout-web-84d6c5f7b9-{short}"
        url = "https://auth-service.auth.svc.cluster.local:8443/.well-known/jwks.json"
        if CERT_NOT_AFTER <= t < AUTH_RESTART + 60:
            log(
                t + 0.006,
                "WARN",
                "auth/jwks.go:93",
                "jwks refresh failed, keeping cached keys",
                err=f'Get "{url}": tls: failed to verify certificate: x509: certificate has expired or is not yet '
                f"valid: current time {iso_s(t)} is after {iso_s(CERT_NOT_AFTER)}",
                cached_keys=2,
                pod=pod,
            )
        else:
            log(t + 0.006, "INFO", "auth/jwks.go:71", "jwks refreshed", keys=2, kid="auth-2026-11", pod=pod)
    for t in every(rng, 200.0, WINDOW, 600.0, 3.0):
        pod = rng.choice(pods_at(t))
        log(t, "INFO", "session/gc.go:33", "expired carts purged", count=rng.randint(20, 160), pod=pod)

    # --- CoreDNS restart (02:39:45-02:40:15): new Redis connections see DNS timeouts for a moment
    for _ in range(5):
        t = rng.uniform(DNS_FIXED - 24, DNS_FIXED + 5)
        pod = rng.choice(pods_at(t))
        log(
            t,
            "WARN",
            "cart/cache.go:74",
            "cart cache unavailable, reading cart from database",
            err=f"dial tcp: lookup redis-cart.checkout.svc.cluster.local on 10.96.0.10:53: read udp "
            f"10.42.{rng.choice([2, 4])}.{rng.randint(10, 90)}:{rng.randint(32768, 60999)}->10.96.0.10:53: i/o timeout",
            pod=pod,
        )

    # --- lifecycle of the evicted pod and its replacement
    log(
        ev - 0.2,
        "INFO",
        "cmd/server/main.go:118",
        "shutting down",
        signal="terminated",
        grace="20s",
        pod="checkout-web-84d6c5f7b9-lw2xz",
    )
    log(
        repl_start,
        "INFO",
        "cmd/server/main.go:64",
        "starting checkout-web",
        version="1.31.2",
        commit="e7f21c9",
        pod=repl,
    )
    log(repl_start + 0.4, "INFO", "cmd/server/main.go:97", "listening", addr=":8080", pod=repl)
    return s.lines()


# ------------------------------------------------------------------------------------------------
# 7. node-kubelet.log — journald short format (syslog style) of node ip-10-0-3-17


def gen_node(seed: int) -> list[str]:
    rng = random.Random(f"{seed}:node-kubelet")
    s = Stream()
    host = "ip-10-0-3-17"
    RABBIT_UID = "3b1f7c2e-58d4-4a9e-b0c6-7e21d94f0a13"
    FLUENT_UID = "a9e04d71-2c3b-4f68-9d15-c08b6e7f2a44"
    RABBIT_CID, FLUENT_CID = hexid(rng, 64), hexid(rng, 64)
    kubelet_pid = [2871]
    containerd_pid = [2144]

    def line(t: float, proc: str, msg: str) -> None:
        s.add(t, f"{syslog_ts(t)} {host} {proc}: {msg}")

    def kubelet(t: float, lvl: str, src: str, msg: str) -> None:
        t += rng.uniform(0, 0.0009)  # klog prints microseconds
        pid = kubelet_pid[0] if t < T("03:50:12") else 48213
        line(t, f"kubelet[{pid}]", f"{klog_ts(lvl, t)} {pid:>7} {src}] {msg}")

    def containerd(t: float, level: str, msg: str) -> None:
        pid = containerd_pid[0] if t < T("03:50:09") else 48177
        line(
            t,
            f"containerd[{pid}]",
            f'time="{_dt(t).strftime("%Y-%m-%dT%H:%M:%S.%f")}{rng.randint(100, 999)}Z" '
            f"level={level} msg={msg}",
        )

    pods = [
        ("search", "search-api-5c8d7b9f4-q7wzn", "search-api"),
        ("checkout", "checkout-web-84d6c5f7b9-lw2xz", "checkout-web"),
        ("orders", "orders-worker-6f9c7d8b4-2kq8n", "orders-worker"),
        ("kube-system", "kube-proxy-8cx2v", "kube-proxy"),
        ("kube-system", "calico-node-w6l9p", "calico-node"),
        ("logging", "fluent-bit-x8k2d", "fluent-bit"),
        ("monitoring", "node-exporter-7h5mq", "node-exporter"),
        ("rabbitmq", "rabbitmq-server-1", "rabbitmq"),
    ]
    alive = {p[1]: True for p in pods}

    def disk_pct(t: float) -> float:
        if t < DISK_HIGH:
            return ramp(t, 0, DISK_HIGH, 78.0, 85.0)
        if t < DISK_PRESSURE:
            return ramp(t, DISK_HIGH, DISK_PRESSURE, 85.0, 90.2)
        if t < DISK_FULL:
            return ramp(t, DISK_PRESSURE, DISK_FULL, 90.2, 100.0)
        if t < T("03:48:40"):
            return 100.0
        return ramp(t, T("03:48:40"), T("03:50:00"), 100.0, 71.0)

    probe_pods = [p for p in pods if p[0] in ("search", "checkout", "orders", "rabbitmq")]

    # --- routine kubelet noise
    def healthy(t: float) -> bool:
        return t < DISK_FULL or t >= NODE_READY

    for t in arrivals(rng, 0, WINDOW, 0.18):
        if T("03:38:00") <= t < T("03:50:12"):
            continue  # kubelet busy failing, see below
        live = [
            p for p in probe_pods if alive.get(p[1], True) and not (p[1] in EVICTED and t >= EVICTED[p[1]])
        ]
        if not live:
            continue
        ns, pod, ctr = rng.choice(live)
        r = rng.random()
        if r < 0.45:
            kubelet(
                t,
                "I",
                "kubelet.go:2435",
                f'"SyncLoop (probe)" probe="readiness" status="ready" pod="{ns}/{pod}"',
            )
        elif r < 0.70:
            kubelet(t, "I", "kubelet.go:2417", f'"SyncLoop UPDATE" source="api" pods=["{ns}/{pod}"]')
        elif r < 0.80 and healthy(t):
            kubelet(t, "I", "scope.go:117", f'"RemoveContainer" containerID="{hexid(rng, 64)}"')
        elif r < 0.90:
            kubelet(
                t,
                "I",
                "prober.go:107",
                f'"Probe failed" probeType="Readiness" pod="{ns}/{pod}" podUID="{hexid(rng, 8)}-'
                f'{hexid(rng, 4)}-{hexid(rng, 4)}-{hexid(rng, 4)}-{hexid(rng, 12)}" containerName="{ctr}" '
                f'probeResult="failure" output="Get \\"http://10.42.3.{rng.randint(20, 60)}:8080/ready\\": context '
                'deadline exceeded (Client.Timeout exceeded while awaiting headers)"',
            )
        else:
            kubelet(
                t,
                "I",
                "kubelet_getters.go:218",
                f'"Pod status is inconsistent with cached status for pod, a reconciliation '
                f'should be triggered" pod="{ns}/{pod}"',
            )

    for t in arrivals(rng, 0, DISK_FULL, 1 / 70):
        containerd(
            t,
            "info",
            f'"ImageCreate event name:\\"registry.example.com/platform/{rng.choice(["search-api", "checkout-web", "orders-worker"])}'
            f'@sha256:{hexid(rng, 64)}\\" labels:{{key:\\"io.cri-containerd.image\\" value:\\"managed\\"}}"',
        )
    for t in arrivals(rng, 0, WINDOW, 1 / 240):
        line(
            t,
            "chronyd[1021]",
            f"Selected source 169.254.169.123 (offset {rng.uniform(-0.0004, 0.0004):+.6f} seconds)",
        )
    for t in every(rng, 300.0, WINDOW, 900.0, 1.0):
        line(t, "systemd[1]", "Starting sysstat-collect.service - system activity accounting tool...")
        line(t + 0.4, "systemd[1]", "sysstat-collect.service: Deactivated successfully.")
        line(t + 0.4, "systemd[1]", "Finished sysstat-collect.service - system activity accounting tool.")
    for t in every(rng, 1800.0, WINDOW, 3600.0, 1.0):
        line(t, "systemd[1]", "Starting logrotate.service - Rotate log files...")
        line(t + 1.1, "systemd[1]", "logrotate.service: Deactivated successfully.")
        line(t + 1.1, "systemd[1]", "Finished logrotate.service - Rotate log files.")

    # --- image GC once over the high threshold: it cannot free what images do not hold
    for fails, t in enumerate(every(rng, DISK_HIGH, NODE_NOTREADY, 300.0, 0.5), start=1):
        pct = disk_pct(t)
        to_free = int((pct - 80.0) / 100 * 107_374_182_400)
        kubelet(
            t,
            "I",
            "image_gc_manager.go:391",
            f'"Disk usage on image filesystem is over the high threshold, trying to free '
            f'bytes down to the low threshold" usage={pct:.0f} highThreshold=85 amountToFree={to_free} lowThreshold=80',
        )
        freed = rng.choice([0, 0, 0, 211_812_352, 0])
        msg = (
            (
                f'"Image garbage collection failed multiple times in a row" err="failed to garbage collect required amount of images. '
                f'Wanted to free {to_free} bytes, but freed {freed} bytes"'
            )
            if fails > 1
            else (
                f'"Image garbage collection failed once. Stats initialization may not have completed yet" err="failed to garbage '
                f'collect required amount of images. Wanted to free {to_free} bytes, but freed {freed} bytes"'
            )
        )
        kubelet(t + rng.uniform(0.3, 1.2), "E", "kubelet.go:1580", msg)

    # --- DiskPressure and evictions
    kubelet(
        DISK_PRESSURE,
        "I",
        "kubelet_node_status.go:679",
        f'"Recording event message for node" node="{NODE}" event="NodeHasDiskPressure"',
    )
    t = DISK_PRESSURE
    ranked = [
        '"search/search-api-5c8d7b9f4-q7wzn"',
        '"checkout/checkout-web-84d6c5f7b9-lw2xz"',
        '"orders/orders-worker-6f9c7d8b4-2kq8n"',
        '"rabbitmq/rabbitmq-server-1"',
        '"logging/fluent-bit-x8k2d"',
        '"monitoring/node-exporter-7h5mq"',
    ]
    for k, (victim, vt) in enumerate(sorted(EVICTED.items(), key=lambda kv: kv[1])):
        t = vt - rng.uniform(0.4, 0.6)
        kubelet(
            t - 0.2,
            "W",
            "eviction_manager.go:366",
            '"Eviction manager: attempting to reclaim" resourceName="ephemeral-storage"',
        )
        kubelet(t - 0.19, "I", "container_gc.go:88", '"Attempting to delete unused containers"')
        kubelet(t - 0.15, "I", "image_gc_manager.go:404", '"Attempting to delete unused images"')
        kubelet(
            t - 0.02,
            "I",
            "eviction_manager.go:377",
            '"Eviction manager: must evict pod(s) to reclaim" resourceName="ephemeral-storage"',
        )
        kubelet(
            t,
            "I",
            "eviction_manager.go:395",
            f'"Eviction manager: pods ranked for eviction" pods=[{",".join(ranked[k:])}]',
        )
        ns = {"search": "search", "checko": "checkout", "orders": "orders"}[victim[:6]]
        kubelet(
            vt,
            "I",
            "eviction_manager.go:616",
            f'"Eviction manager: pod is evicted successfully" pod="{ns}/{victim}"',
        )
        kubelet(
            vt + 2.1,
            "I",
            "eviction_manager.go:205",
            f'"Eviction manager: pods successfully cleaned up" pods=["{ns}/{victim}"]',
        )
        alive[victim] = False
    # evictions free almost nothing (the space is in a hostPath buffer, not pod storage); keep trying
    for t in every(rng, max(EVICTED.values()) + 11, NODE_NOTREADY, 10.0, 0.2):
        kubelet(
            t,
            "W",
            "eviction_manager.go:366",
            '"Eviction manager: attempting to reclaim" resourceName="ephemeral-storage"',
        )
        kubelet(
            t + 0.1,
            "I",
            "eviction_manager.go:377",
            '"Eviction manager: must evict pod(s) to reclaim" resourceName="ephemeral-storage"',
        )
        kubelet(
            t + 0.12,
            "I",
            "eviction_manager.go:395",
            '"Eviction manager: pods ranked for eviction" pods=['
            '"rabbitmq/rabbitmq-server-1","logging/fluent-bit-x8k2d","monitoring/node-exporter-7h5mq","kube-system/calico-node-w6l9p","kube-system/kube-proxy-8cx2v"]',
        )
        if rng.random() < 0.5:
            kubelet(
                t + 0.13,
                "E",
                "eviction_manager.go:413",
                '"Eviction manager: cannot evict a critical pod" pod="logging/fluent-bit-x8k2d"',
            )
        kubelet(
            t + 0.15,
            "E",
            "eviction_manager.go:431",
            '"Eviction manager: unable to evict any pods from the node"',
        )
    # RabbitMQ on this node raises its disk alarm (free disk limit) — visible as a probe failure
    kubelet(
        T("03:26:12.402"),
        "I",
        "prober.go:107",
        '"Probe failed" probeType="Readiness" pod="rabbitmq/rabbitmq-server-1" '
        'containerName="rabbitmq" probeResult="failure" output="Error: node rabbit@rabbitmq-server-1 has active alarms: [disk]"',
    )

    # --- disk full: writes fail everywhere
    def nospace_rate(t: float) -> float:
        if t < DISK_FULL or t >= T("03:48:40"):
            return 0.0
        return ramp(t, DISK_FULL, DISK_FULL + 300, 0.12, 0.45)

    first = True
    for t in arrivals(rng, DISK_FULL, T("03:48:40"), nospace_rate):
        if first:
            t, first = DISK_FULL, False
        r = rng.random()
        if r < 0.28:
            d = f"/var/log/pods/rabbitmq_rabbitmq-server-1_{RABBIT_UID}/rabbitmq"
            stamp = _dt(t - rng.uniform(5, 30)).strftime("%Y%m%d-%H%M%S")
            kubelet(
                t,
                "E",
                "container_log_manager.go:297",
                '"Failed to rotate log for container" err="failed to rotate log '
                f'\\"{d}/0.log\\": failed to compress log \\"{d}/0.log.{stamp}\\": write {d}/0.log.{stamp}.gz: '
                f'no space left on device" worker=1 containerID="{RABBIT_CID}"',
            )
        elif r < 0.50:
            containerd(
                t,
                "error",
                f'"PullImage \\"registry.example.com/platform/search-api:2.40.1\\" failed" error="failed to '
                f'pull and unpack image \\"registry.example.com/platform/search-api:2.40.1\\": failed to copy: write '
                f'/var/lib/containerd/io.containerd.content.v1.content/ingest/{hexid(rng, 64)}/data: no space left on device"',
            )
        elif r < 0.68:
            containerd(
                t,
                "error",
                '"failed to write container log" error="write /var/log/pods/logging_fluent-bit-x8k2d_'
                f'{FLUENT_UID}/fluent-bit/0.log: no space left on device" id={FLUENT_CID}',
            )
        elif r < 0.82:
            line(
                t,
                "systemd-journald[412]",
                f"Failed to write entry ({rng.randint(9, 30)} items, {rng.randint(400, 1400)} bytes), "
                "ignoring: No space left on device",
            )
        else:
            kubelet(
                t,
                "E",
                "kubelet.go:2009",
                f'"Unable to write pod status" err="open /var/lib/kubelet/pods/{hexid(rng, 8)}-'
                f'{hexid(rng, 4)}-{hexid(rng, 4)}-{hexid(rng, 4)}-{hexid(rng, 12)}/containers/.status.tmp: no space left on device"',
            )
    line(
        DISK_FULL + 40.2,
        "systemd-journald[412]",
        "/var/log/journal/ec2a8f1e6b1d4f3c9b1e0f2a7d5c3b19/system.journal: "
        "Journal file corrupted, rotating. Failed to rotate: No space left on device",
    )

    # --- containerd hangs on I/O -> PLEG -> NotReady
    for t in every(rng, T("03:36:40"), T("03:50:05"), 21.0, 4.0):
        containerd(
            t,
            "error",
            f'"ContainerStatus for \\"{hexid(rng, 64)}\\" failed" error="rpc error: code = DeadlineExceeded '
            'desc = context deadline exceeded"',
        )
    for t in every(rng, T("03:38:12.449"), T("03:50:05"), 5.0, 0.3):
        since = 180.0 + (t - T("03:38:12.449"))
        kubelet(
            t,
            "E",
            "kubelet.go:2409",
            f'"Skipping pod synchronization" err="PLEG is not healthy: pleg was last seen active '
            f'{since:.9f}s ago; threshold is 3m0s"',
        )
        if rng.random() < 0.25:
            kubelet(
                t + 0.2,
                "E",
                "generic.go:238",
                '"GenericPLEG: Unable to retrieve pods" err="rpc error: code = DeadlineExceeded '
                'desc = context deadline exceeded"',
            )
    nr = NODE_NOTREADY
    kubelet(
        nr,
        "I",
        "kubelet_node_status.go:679",
        f'"Recording event message for node" node="{NODE}" event="NodeNotReady"',
    )
    kubelet(
        nr + 0.01,
        "I",
        "setters.go:600",
        f'"Node became not ready" node="{NODE}" condition={{"type":"Ready","status":"False",'
        f'"lastHeartbeatTime":"{iso_s(nr)}","lastTransitionTime":"{iso_s(nr)}","reason":"KubeletNotReady",'
        '"message":"PLEG is not healthy: pleg was last seen active 3m54.551349102s ago; threshold is 3m0s"}',
    )
    for t in every(rng, nr + 10, T("03:50:05"), 10.0, 0.5):
        kubelet(
            t,
            "E",
            "kubelet_node_status.go:540",
            '"Error updating node status, will retry" err="error getting node '
            f'\\"{NODE}\\": Get \\"https://10.0.0.12:443/api/v1/nodes/{NODE}?timeout=10s\\": context deadline exceeded"'
            if rng.random() < 0.3
            else '"Error updating node status, will retry" err="failed to patch status: '
            'rpc error: code = DeadlineExceeded desc = context deadline exceeded"',
        )

    # --- on-call over SSM
    sess = "ssm-user"
    cmds = [
        ("03:46:12.330", "/usr/bin/df -h / /var/lib/containerd /var/log"),
        ("03:46:40.918", "/usr/bin/du -xh --max-depth=1 /var"),
        ("03:47:31.201", "/usr/bin/du -xh --max-depth=2 /var/fluent-bit"),
        ("03:48:22.764", "/usr/bin/rm -rf /var/fluent-bit/buffer/tail.0"),
        ("03:49:03.455", "/usr/bin/crictl rmi --prune"),
        ("03:50:05.010", "/usr/bin/systemctl restart containerd kubelet"),
        ("03:56:40.381", "/usr/bin/journalctl --vacuum-size=500M"),
    ]
    line(
        T("03:45:51.004"),
        "amazon-ssm-agent[1308]",
        f"INFO [ssm-session-worker] [{sess}-0a1b2c3d4e5f67890] Session started",
    )
    for hms, cmd in cmds:
        t = T(hms)
        line(
            t,
            "sudo[" + str(41000 + int(t) % 900) + "]",
            f"{sess} : TTY=pts/0 ; PWD=/home/{sess} ; USER=root ; COMMAND={cmd}",
        )
        line(
            t + 0.004,
            "sudo[" + str(41000 + int(t) % 900) + "]",
            "pam_unix(sudo:session): session opened for user root(uid=0) by ssm-user(uid=1001)",
        )
    line(
        T("03:48:40.102"),
        "kernel",
        "EXT4-fs (nvme0n1p1): Delayed block allocation failed for inode 262311 at logical offset 0 with max blocks 2 with error 28",
    )
    line(
        T("03:49:12.663"),
        "containerd[2144]",
        'time="2026-11-20T03:49:12.663210455Z" level=info msg="RemoveImage \\"registry.example.com/platform/search-api:2.38.0\\" returns successfully"',
    )
    line(T("03:50:05.120"), "systemd[1]", "Stopping kubelet.service - Kubernetes Kubelet...")
    line(T("03:50:07.402"), "systemd[1]", "kubelet.service: Deactivated successfully.")
    line(T("03:50:07.410"), "systemd[1]", "Stopped kubelet.service - Kubernetes Kubelet.")
    line(T("03:50:07.415"), "systemd[1]", "Stopping containerd.service - containerd container runtime...")
    line(T("03:50:08.990"), "systemd[1]", "Stopped containerd.service - containerd container runtime.")
    line(T("03:50:09.001"), "systemd[1]", "Starting containerd.service - containerd container runtime...")
    containerd(T("03:50:09.530"), "info", '"containerd successfully booted in 0.512336s"')
    line(T("03:50:09.540"), "systemd[1]", "Started containerd.service - containerd container runtime.")
    line(T("03:50:12.002"), "systemd[1]", "Started kubelet.service - Kubernetes Kubelet.")
    kubelet(T("03:50:12.412"), "I", "server.go:484", '"Kubelet version" kubeletVersion="v1.31.2-eks-94953ac"')
    kubelet(T("03:50:13.108"), "I", "kubelet.go:2360", '"Starting kubelet main sync loop"')
    kubelet(
        T("03:50:13.110"),
        "E",
        "kubelet.go:2384",
        '"Skipping pod synchronization" err="[container runtime status check may not '
        'have completed yet, PLEG is not healthy: pleg has yet to be successful]"',
    )
    # a fresh kubelet records the node's conditions as it registers
    for k, event in enumerate(("NodeHasSufficientMemory", "NodeHasNoDiskPressure", "NodeHasSufficientPID")):
        kubelet(
            T("03:50:14.771") + k * 0.0004,
            "I",
            "kubelet_node_status.go:679",
            f'"Recording event message for node" node="{NODE}" event="{event}"',
        )
    kubelet(
        NODE_READY,
        "I",
        "kubelet_node_status.go:679",
        f'"Recording event message for node" node="{NODE}" event="NodeReady"',
    )
    line(
        T("03:58:02.117"),
        "amazon-ssm-agent[1308]",
        f"INFO [ssm-session-worker] [{sess}-0a1b2c3d4e5f67890] Session terminated",
    )
    return s.lines()


# ------------------------------------------------------------------------------------------------


def generate(out: Path, seed: int) -> dict[str, int]:
    sched = PaymentsSchedule(seed)
    files = {
        "payments-api.log": gen_payments(seed, sched),
        "inventory-db.log": gen_inventory_db(seed),
        "nginx-ingress.log": gen_nginx(seed, sched),
        "auth-service.log": gen_auth(seed),
        "orders-worker.log": gen_orders(seed),
        "checkout-web.log": gen_checkout(seed, sched),
        "node-kubelet.log": gen_node(seed),
    }
    out.mkdir(parents=True, exist_ok=True)
    counts = {}
    for name, lines in files.items():
        (out / name).write_text("\n".join(lines) + "\n", encoding="utf-8", newline="\n")
        counts[name] = len(lines)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_out = Path(__file__).resolve().parent.parent / "knowledge" / "logs"
    parser.add_argument(
        "--out", type=Path, default=default_out, help=f"output directory (default: {default_out})"
    )
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default: {DEFAULT_SEED})"
    )
    args = parser.parse_args()
    counts = generate(args.out, args.seed)
    for name, n in counts.items():
        size = (args.out / name).stat().st_size
        print(f"{name:20s} {n:6d} lines {size / 1024:8.1f} KiB")


if __name__ == "__main__":
    main()
