#!/usr/bin/env python3
"""Generate the triage evaluation scenarios in ``tests/scenarios/`` (see its README.md).

Scenario NN is one incident on 2026-10-NN: ``alert.json`` (Alertmanager v4 webhook or the generic
single-alert form), ``expected.yaml``, and ``logs/<service>.log`` files that are mostly ordinary noise
with the incident's signal starting a few minutes before the alert. Each scenario is one function
``sNN_name(rng, day)``: its docstring holds the alert and the expected answer, its body writes the
logs from a *timeline*, one kind of log line per timeline line::

    ~5 info request completed | pod=$pod status=200     5 a minute (Poisson) over the log window
    ~0.5>3@02:04- warn ...                             rate ramping from 0.5 to 3 a minute from 02:04
    *300@-02:31 LOG checkpoint starting: time           every 300 s until 02:31
    02:55:08.412 info payout export started             once
    :kill error container terminated | pod=$pod         at the times the scenario passes in events["kill"]
    +0.4 LOG ...                                        part of the line above: 0.4 s after it

A line is ``level message | key=value ...``. ``$name`` is drawn once per occurrence from the
scenario's providers (or BUILTIN) and shared by the lines of a group; ``{10..99}``, ``{0.5..2.0}``
and ``{a|b|c}`` are drawn per line. Level ``raw`` writes the message as is (stack traces); otherwise
the log's format function renders (time, level, message, fields) in the service's own format.

Deterministic: stdlib only, one ``random.Random`` per scenario seeded from --seed and its name.

    python scripts/gen_scenarios.py [--out DIR] [--seed N]
"""
# ruff: noqa: E501

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import math
import random
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from string import Template
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
ALPH = "bcdfghjklmnpqrstvwxz2456789"  # Kubernetes' pod-name suffix alphabet
UAS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1",
    "ShopApp/7.12.0 (iOS 18.0; iPhone15,2)",
    "ShopApp/7.12.0 (Android 14; Pixel 8)",
)

# ------------------------------------------------------------------------------------------------
# Small helpers. Times are float seconds since the scenario's midnight (UTC).


def H(hms: str) -> float:
    """'03:12' or '03:12:01.5' -> seconds since midnight."""
    h, m, *s = hms.split(":")
    return int(h) * 3600 + int(m) * 60 + (float(s[0]) if s else 0.0)


def token(r: random.Random, n: int, alphabet: str = "0123456789abcdef") -> str:
    return "".join(r.choice(alphabet) for _ in range(n))


def pod_names(r: random.Random, deploy: str, n: int) -> list[str]:
    rs = token(r, r.choice((9, 10)), ALPH)
    return [f"{deploy}-{rs}-{token(r, 5, ALPH)}" for _ in range(n)]


def pod_ip(r: random.Random) -> str:
    return f"10.42.{r.randint(0, 7)}.{r.randint(2, 250)}"


def ramp(t: float, a: float, b: float) -> float:
    """0 before a, 1 after b, linear in between."""
    return min(1.0, max(0.0, (t - a) / (b - a)))


def h(t: float, n: int) -> int:
    """A deterministic pseudo-random number in [0, n) derived from a time, for filler fields."""
    return int(t * 1e6) * 2654435761 % 4294967296 % n


def poisson(r: random.Random, t0: float, t1: float, per_min: float) -> Iterator[float]:
    t = t0
    while per_min > 0 and (t := t + r.expovariate(per_min / 60.0)) < t1:
        yield t


def every(r: random.Random, t0: float, t1: float, period: float) -> Iterator[float]:
    t = t0 + r.uniform(0, period)
    while t < t1:
        yield t
        t += period * r.uniform(0.97, 1.03)


# ------------------------------------------------------------------------------------------------
# Value providers: called with the Draw of one occurrence (d.r: rng, d.t: time, d[name]: other values).


class Skip(Exception):
    """Raised by a provider: do not write this occurrence."""


class Draw(dict):
    def __init__(self, r: random.Random, t: float, providers: dict, fixed: dict) -> None:
        super().__init__(fixed)
        self.r, self.t, self.providers = r, t, providers

    def __missing__(self, key: str) -> Any:
        p = self.providers[key]
        v = p(self) if callable(p) else self.r.choice(p) if isinstance(p, tuple | list) else p
        self[key] = v
        return v


def lat(mu: float, slow: Callable[[float], float] | None = None) -> Callable[[Draw], float]:
    """Log-normal latency in ms around `mu`, times `slow(t)`."""
    return lambda d: round(d.r.lognormvariate(math.log(mu), 0.45) * (slow(d.t) if slow else 1.0), 1)


def pick(*items: str) -> Callable[[Draw], str]:
    """One of the items, with {id} and {sku} filled in."""
    return lambda d: (
        d.r.choice(items)
        .replace("{id}", token(d.r, 14, ALPH))
        .replace("{sku}", str(d.r.randint(10000, 99999)))
    )


CHECKOUT = ("GET /cart", "POST /cart/items", "GET /checkout", "POST /checkout/confirm", "GET /p/{sku}")
SEARCH = ("GET /api/search", "GET /api/products/{sku}", "GET /api/suggest")
PAYMENTS = ("POST /v1/charges", "GET /v1/payments/pay_{id}", "POST /v1/refunds", "GET /v1/payment-methods")


def route(*requests: str) -> Callable[[Draw], str]:
    """`method=GET path=/x` fields for one of the requests ('GET /x')."""
    req = pick(*requests)
    return lambda d: "method={} path={}".format(*req(d).split(" ", 1))


def _hex(n: int) -> Callable[[Draw], str]:
    return lambda d: token(d.r, n)


BUILTIN: dict[str, Any] = {
    "cip": lambda d: f"{d.r.choice(('192.0.2', '198.51.100', '203.0.113'))}.{d.r.randint(1, 254)}",
    "pip": lambda d: pod_ip(d.r),
    "port": lambda d: d.r.randint(32768, 60999),
    "pid": lambda d: d.r.randint(20000, 64000),
    "id": lambda d: token(d.r, 14, ALPH),
    "uid": lambda d: "-".join(token(d.r, n) for n in (8, 4, 4, 4, 12)),
    "st": (200,) * 30 + (400, 404, 404, 409),
    "hex16": _hex(16),
    "hex64": _hex(64),
}
INLINE = re.compile(r"\{(-?\d+(?:\.\d+)?)\.\.(-?\d+(?:\.\d+)?)\}|\{([^{}\"\s|]+(?:\|[^{}\"\s|]+)+)\}")


def inline(r: random.Random, text: str) -> str:
    """Fill `{10..99}` (int; `{020..090}` keeps the zeros), `{0.25..2.0}` (float, as many decimals as written), `{a|b|c}`."""

    def one(m: re.Match[str]) -> str:
        if m[3]:
            return r.choice(m[3].split("|"))
        if "." in m[1]:
            return f"{r.uniform(float(m[1]), float(m[2])):.{len(m[1].split('.')[1])}f}"
        return f"{r.randint(int(m[1]), int(m[2])):0{len(m[1]) if m[1][0] == '0' else 1}d}"

    return INLINE.sub(one, text)


# ------------------------------------------------------------------------------------------------
# Logs and line formats: fmt(log, t, level, message, fields) -> line.

FIELD = re.compile(r'([\w.@/-]+)=("(?:[^"\\]|\\.)*"|\S*)')
QUOTE_IF = re.compile(r'^$|[\s="]')


def parse_fields(text: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in FIELD.findall(text):
        num = re.fullmatch(r"-?(?:[1-9]\d{0,15}|0)(\.\d+)?", v)
        out[k] = json.loads(v) if v[:1] == '"' else (float(v) if num[1] else int(v)) if num else v
    return out


def kv(f: dict) -> str:
    vals = ((k, v if isinstance(v, str) else json.dumps(v)) for k, v in f.items())
    return " ".join(f"{k}={json.dumps(s) if QUOTE_IF.search(s) else s}" for k, s in vals)


class Log:
    """One log file: lines collected in any order, written sorted by time."""

    def __init__(self, day: int, name: str, fmt: Callable[..., str], t0: str, t1: str, **opts: str) -> None:
        self.base, self.name, self.fmt, self.t0, self.t1 = (
            datetime(2026, 10, day, tzinfo=UTC),
            name,
            fmt,
            H(t0),
            H(t1),
        )
        self.host, self.variant, self.defaults = (
            opts.get("host", ""),
            opts.get("variant", ""),
            parse_fields(opts.get("defaults", "")),
        )
        self.rows: list[tuple[float, int, str]] = []

    def d(self, t: float) -> datetime:
        return self.base + timedelta(microseconds=round(t * 1e6))

    def ts(self, t: float, frac: int = 3, sep: str = "T", z: str = "Z") -> str:
        d = self.d(t)
        digits = f"{d.microsecond:06d}{h(t, 1000):03d}"[:frac]
        return f"{d:%Y-%m-%d}{sep}{d:%H:%M:%S}" + (f".{digits}" if frac else "") + z

    def emit(self, t: float, level: str, msg: str, fields: str = "") -> None:
        text = (
            msg.replace("\\t", "\t")
            if level == "raw"
            else self.fmt(self, t, level, msg, self.defaults | parse_fields(fields))
        )
        self.rows.append((t, len(self.rows), text))

    def text(self) -> str:
        return "".join(row[2] + "\n" for row in sorted(self.rows))


def f_json(log: Log, t: float, lvl: str, msg: str, f: dict) -> str:
    """JSON lines. Variants: '' (Go: ts, level, service, pod, msg), 'zap' (level, ts, caller, msg), 'ecs'."""
    if log.variant == "zap":
        head = {"level": lvl, "ts": log.ts(t), "caller": f.pop("caller", "http/middleware.go:64"), "msg": msg}
    elif log.variant == "ecs":
        head = {"@timestamp": log.ts(t), "log.level": lvl.upper(), "message": msg, "service.name": log.name}
        head |= {
            "process.thread.name": f.pop("thread", f"http-nio-8080-exec-{h(t, 24) + 1}"),
            "log.logger": f.pop("logger", "c.e.search.web.RequestLog"),
        }
    else:
        head = (
            {"ts": log.ts(t), "level": lvl, "service": log.name}
            | ({"pod": f.pop("pod")} if "pod" in f else {})
            | {"msg": msg}
        )
    return json.dumps(head | f, separators=(",", ":"))


def f_logfmt(log: Log, t: float, lvl: str, msg: str, f: dict) -> str:
    """logfmt; variant 'slog' is Go's log/slog TextHandler."""
    if log.variant == "slog":
        return (
            f"time={log.ts(t)} level={lvl.upper()} msg={json.dumps(msg)} service={log.name} {kv(f)}".rstrip()
        )
    pod = f" pod={f.pop('pod')}" if "pod" in f else ""
    return f"ts={log.ts(t)} level={lvl} service={log.name}{pod} msg={json.dumps(msg)} {kv(f)}".rstrip()


def f_text(log: Log, t: float, lvl: str, msg: str, f: dict) -> str:
    """Text lines. Variants: 'zap' (console encoder), 'spring' (Boot 3), 'boot2', 'python', '' (plain)."""
    if log.variant == "zap":
        return f"{log.ts(t)}\t{lvl.upper()}\t{f.pop('caller', 'http/middleware.go:64')}\t{msg}" + (
            f"\t{json.dumps(f)}" if f else ""
        )
    if log.variant in ("spring", "boot2"):
        thread = f.pop("thread", f"http-nio-8080-exec-{h(t, 24) + 1}")
        logger = f.pop("logger", "c.e.web.RequestLoggingFilter")
        head = (
            f"{log.ts(t)} {lvl.upper():>5} 1 --- [{log.name}]"
            if log.variant == "spring"
            else f"{log.ts(t, sep=' ', z='')} {lvl.upper():>5} 1 ---"
        )
        return f"{head} [{thread[-15:]:>15}] {logger:<40} : {msg} {kv(f)}".rstrip()
    if log.variant == "python":
        name = "WARNING" if lvl == "warn" else lvl.upper()
        return f"{log.ts(t, sep=' ', z='').replace('.', ',')} {name:<8} [{f.pop('logger', 'recsys.api')}] {msg} {kv(f)}".rstrip()
    return f"{log.ts(t)} {lvl.upper():<5} {log.name} {f.pop('pod', '-')} [{f.pop('comp', 'http')}] {msg} {kv(f)}".rstrip()


def f_pg(log: Log, t: float, tag: str, msg: str, f: dict) -> str:
    """PostgreSQL stderr, log_line_prefix '%m [%p] ' (variant 'userdb': '%m [%p] %q%u@%d ')."""
    who = f"{f['who']} " if "who" in f and log.variant == "userdb" else ""
    return f"{log.ts(t, sep=' ', z=' UTC')} [{f.get('pid', 0)}] {who}{tag}:  {msg}"


def klog(log: Log, t: float, lvl: str, src: str, msg: str, pid: int = 1) -> str:
    d = log.d(t)
    return f"{lvl[0].upper()}{d:%m%d} {d:%H:%M:%S}.{d.microsecond:06d} {pid:>7} {src}] {msg}"


def f_stamped(log: Log, t: float, lvl: str, msg: str, f: dict) -> str:
    """Lines behind a timestamp: CoreDNS under `kubectl logs --timestamps` ('') or RabbitMQ ('rabbit')."""
    if log.variant == "rabbit":
        return f"{log.ts(t, 6, ' ', '+00:00')} [{'warning' if lvl == 'warn' else lvl}] <0.{f.get('erl', h(t, 9000) + 300)}.0> {msg}"
    return f"{log.ts(t, 9)} [{'WARNING' if lvl == 'warn' else lvl.upper()}] {msg}"


def f_node(log: Log, t: float, lvl: str, msg: str, f: dict) -> str:
    """A node's journal (klog from kubelet, logfmt from containerd) as RFC 5424 syslog or `journalctl -o short-iso-precise`."""
    prog, pid = f.pop("prog"), f.pop("pid", 0)
    if "src" in f:
        msg = klog(log, t, lvl, f.pop("src"), msg, pid)
    elif prog == "containerd":
        msg = f'time="{log.ts(t, 9)}" level={"warning" if lvl == "warn" else lvl} msg={json.dumps(msg)} {kv(f)}'.rstrip()
    if log.variant == "rfc5424":
        sev = {"debug": 7, "info": 6, "warn": 4, "error": 3, "crit": 2}[lvl]
        return (
            f"<{(0 if prog == 'kernel' else 3) * 8 + sev}>1 {log.ts(t, 6)} {log.host} {prog} {pid} - - {msg}"
        )
    return f"{log.ts(t, 6, z='+0000')} {log.host} {prog}{'' if prog == 'kernel' else f'[{pid}]'}: {msg}"


def f_nginx(log: Log, t: float, lvl: str, msg: str, f: dict) -> str:
    """ingress-nginx controller stdout: access lines (level 'access'), nginx error lines, klog lines (with src=)."""
    if "src" in f:
        return klog(log, t, lvl, f["src"], msg, 7)
    if lvl != "access":
        return f"{log.d(t):%Y/%m/%d %H:%M:%S} [{lvl}] 31#31: *{h(t, 9000000) + 100000} {msg}"
    st, rt, rid = int(f["st"]), float(f["rt"]), hashlib.md5(repr(t).encode()).hexdigest()
    size = h(t, 8800) + 200 if st < 400 else h(t, 400) + 150
    head = f'{f["ip"]} - - [{log.d(t):%d/%b/%Y:%H:%M:%S} +0000] "{f["req"]} HTTP/2.0" {st} {size} "-" "{f.get("ua", UAS[h(t, 4)])}" {h(t, 900) + 40} {rt:.3f}'
    return f"{head} [{f['ups']}] [] {f['addr']} {size if st < 500 else 0} {f.get('urt', f'{rt:.3f}')} {f.get('ust', st)} {rid}"


# ------------------------------------------------------------------------------------------------
# Timelines.


def parse_timeline(text: str) -> list[tuple[str, list[tuple[str, str, str, str]]]]:
    groups: list[tuple[str, list[tuple[str, str, str, str]]]] = []
    for line in (x.strip() for x in text.splitlines()):
        if line and not line.startswith("#"):
            when, lvl, rest = line.split(" ", 2)
            msg, _, fields = f" {rest}".partition(" | ")  # the message may be empty: `access | ip=...`
            msg = msg[1:]
            if when[0] == "+":
                groups[-1][1].append((when[1:], lvl, msg, fields))
            else:
                groups.append((when, [("0", lvl, msg, fields)]))
    return groups


def triggers(r: random.Random, when: str, t0: float, t1: float, events: dict) -> list[tuple[float, dict]]:
    """Occurrence times (and fixed values) of one timeline line, from its `when` column."""
    if when[0] == ":":
        return events.get(when[1:], [])
    spec, _, window = when.partition("@")
    a, _, b = window.partition("-")
    lo, hi = (H(a) if a else t0), (H(b) if b else t1)
    if spec[0] == "~":
        start, _, end = spec[1:].partition(">")
        r0, r1 = float(start), float(end or start)
        peak = max(r0, r1)
        return [
            (t, {}) for t in poisson(r, lo, hi, peak) if r.random() * peak < r0 + (r1 - r0) * ramp(t, lo, hi)
        ]
    if spec[0] == "*":
        return [(t, {}) for t in every(r, lo, hi, float(spec[1:]))]
    return [(H(spec), {})]


def play(
    log: Log, r: random.Random, timeline: str, events: dict | None = None, until: str = "", **providers: Any
) -> None:
    """Write every occurrence of every timeline line into `log`; lines outside the window are dropped."""
    prov, hi = BUILTIN | providers, H(until) if until else log.t1
    consts = {k: v for k, v in providers.items() if isinstance(v, int | float)}
    for when, items in parse_timeline(timeline):
        for t, fixed in triggers(r, Template(when).substitute(consts), log.t0, hi, events or {}):
            d = Draw(r, t, prov, fixed)
            try:
                lines = [[Template(inline(r, x)).substitute(d) for x in item] for item in items]
            except Skip:
                continue
            for off, lvl, msg, fields in lines:
                if log.t0 <= t + float(off) <= hi:
                    log.emit(t + float(off), lvl, msg, fields)


# PostgreSQL noise: connection churn and slow statements; checkpoints and autovacuum (primary only).
PG_CONN = r"""
~$rate LOG connection received: host=$pip port=$port | pid=$pid
+0.004 LOG connection authorized: user=$user database=inventory application_name=$app SSL enabled (protocol=TLSv1.3, cipher=TLS_AES_256_GCM_SHA384, bits=256) | pid=$pid who=$user@inventory
+$sess LOG disconnection: session time: 0:$stime user=$user database=inventory host=$pip port=$port | pid=$pid who=$user@inventory
~0.5 LOG duration: {1000.000..2600.000} ms  execute <unnamed>: $query | pid=$pid who=$user@inventory
"""
PG_CKPT = r"""
*300 LOG checkpoint starting: time | pid=68
+269.5 LOG checkpoint complete: wrote {900..4200} buffers (1.{10..99}%); 0 WAL file(s) added, 0 removed, {1..3} recycled; write=269.402 s, sync=0.011 s, total=269.502 s; sync files={40..90}, longest=0.004 s, average=0.001 s; distance={9000..40000} kB, estimate={30000..42000} kB | pid=68
~0.4 LOG automatic vacuum of table "inventory.public.{stock_levels|stock_movements|reservations|orders}": index scans: 1 | pid=$pid
+0 raw \tpages: 0 removed, {4000..90000} remain, {10..900} scanned ({0.10..9.00}% of total)
+0 raw \ttuples: {100..9000} removed, {100000..9000000} remain, 0 are dead but not yet removable
"""
PG_APPS = {
    "orders_app": "orders-worker",
    "checkout_app": "checkout-web",
    "search_ro": "search-api",
    "cron_app": "stock-sync",
}
PG_VALUES: dict[str, Any] = {
    "user": ("orders_app", "orders_app", "checkout_app", "checkout_app", "search_ro", "cron_app"),
    "app": lambda d: PG_APPS[d["user"]],
    "sess": lambda d: round(d.r.uniform(20, 1500), 3),
    "stime": lambda d: f"{int(d['sess']) // 60:02d}:{d['sess'] % 60:06.3f}",
    "query": (
        "SELECT sku, sum(qty) FROM stock_movements WHERE created_at > $1 GROUP BY sku",
        "SELECT * FROM reservations WHERE order_id = ANY($1)",
        "UPDATE stock_levels SET available = available - $1 WHERE sku = $2",
    ),
}

# A worker node's journal: CronJob pods coming and going (kubelet, containerd), agents, chrony.
NODE_NOISE = r"""
*200 info "SyncLoop ADD" source="api" pods=["$job"] | src=kubelet.go:2407
+0.1 info "operationExecutor.MountVolume started for volume \"kube-api-access-$sfx\" pod=\"$jobpod\"" pod="$job" | src=reconciler_common.go:220
+0.4 info RunPodSandbox for &PodSandboxMetadata{Name:$jobpod,Uid:$uid,Namespace:$ns,Attempt:0,} returns sandbox id "$hex64" | prog=containerd pid=$cpid
+0.9 info CreateContainer within sandbox "$hex64" for container &ContainerMetadata{Name:$jobname,Attempt:0,} returns container id "$cid" | prog=containerd pid=$cpid
+1.1 info StartContainer for "$cid" returns successfully | prog=containerd pid=$cpid
+1.3 info "Observed pod startup duration" pod="$job" podStartSLOduration={1.200000000..3.400000000} | src=pod_startup_latency_tracker.go:102
+$run info "SyncLoop (PLEG): event for pod" pod="$job" event={"ID":"$uid","Type":"ContainerDied","Data":"$cid"} | src=kubelet.go:2439
+$run info shim disconnected | prog=containerd pid=$cpid id=$cid namespace=k8s.io
+$run info cleaning up dead shim | prog=containerd pid=$cpid namespace=k8s.io
+$gone info "SyncLoop DELETE" source="api" pods=["$job"] | src=kubelet.go:2423
~0.8 info "SyncLoop (probe)" probe="readiness" status="ready" pod="{kube-system/aws-node|logging/fluent-bit|monitoring/node-exporter|kube-system/kube-proxy}-$sfx" | src=kubelet.go:2452
*300 info INFO [HealthCheck] HealthCheck reporting agent health. | prog=amazon-ssm-agent pid=1703
*1020 info Selected source 169.254.169.123, offset {-40.0..40.0}us | prog=chronyd pid=812
*900 info Started logrotate.service - Rotate log files. | prog=systemd pid=1
"""
CRON_JOBS = {
    "reco": "feature-refresh",
    "orders": "shipment-sync",
    "search": "suggest-rebuild",
    "checkout": "cart-expiry",
    "monitoring": "blackbox-canary",
}


def node_values(cpid: int, cron_until: float = 1e9) -> dict[str, Any]:
    def job(d: Draw) -> str:
        if d.t > cron_until:  # the container runtime hangs: no new pods start
            raise Skip
        return f"{d['ns']}/{d['jobpod']}"

    return {
        "job": job,
        "cpid": cpid,
        "ns": tuple(CRON_JOBS),
        "jobname": lambda d: CRON_JOBS[d["ns"]],
        "jobpod": lambda d: f"{d['jobname']}-{d.r.randint(29320000, 29329999)}-{token(d.r, 5, ALPH)}",
        "sfx": lambda d: token(d.r, 5, ALPH),
        "cid": _hex(64),
        "run": lambda d: round(d.r.uniform(8, 70), 3),
        "gone": lambda d: d["run"] + 30,
    }


# ------------------------------------------------------------------------------------------------
# Alerts and expectations, from the scenario docstring: a first line
#   `AlertName | am|generic | severity | startsAt HH:MM:SS.mmm | signal start HH:MM:SS`
# then `labels:`, `summary:`, `description:`, `expr:` (am only), `runbook:`, `keywords:`, `action:`, `notes:`.


def read_meta(doc: str, values: dict[str, str]) -> dict[str, str]:
    head, *rest = inspect.cleandoc(doc).splitlines()
    meta = dict(
        zip(
            ("name", "form", "severity", "starts", "signal"),
            (x.strip() for x in head.split("|")),
            strict=True,
        )
    )
    return meta | {k: Template(v).safe_substitute(values) for k, v in (line.split(": ", 1) for line in rest)}


def alert_body(m: dict[str, str], day: int) -> dict:
    labels = {k: str(v) for k, v in parse_fields(m["labels"]).items()}
    starts = f"2026-10-{day:02d}T{m['starts']}Z"
    ann = {"summary": m["summary"], "description": m["description"]}
    if m["form"] == "generic":
        return {
            "alertname": m["name"],
            "status": "firing",
            "severity": m["severity"],
            "labels": labels,
            "annotations": ann,
            "startsAt": starts,
        }
    lab = {"alertname": m["name"], "severity": m["severity"]} | labels
    ann["runbook_url"] = f"https://wiki.example.com/oncall/alerts/{m['name']}"
    group = {k: lab[k] for k in ("alertname", "namespace") if k in lab}
    one = {
        "status": "firing",
        "labels": lab,
        "annotations": ann,
        "startsAt": starts,
        "endsAt": "0001-01-01T00:00:00Z",
    }
    one["generatorURL"] = (
        f"https://prometheus.prod-eu-1.example.com/graph?g0.expr={quote(m['expr'], safe='')}&g0.tab=1"
    )
    one["fingerprint"] = hashlib.sha256(json.dumps(lab, sort_keys=True).encode()).hexdigest()[:16]
    return {
        "version": "4",
        "groupKey": "{}:{" + ", ".join(f'{k}="{v}"' for k, v in group.items()) + "}",
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "opsagent",
        "groupLabels": group,
        "commonLabels": lab,
        "commonAnnotations": ann,
        "externalURL": "https://alertmanager.prod-eu-1.example.com",
        "alerts": [one],
    }


def expected_yaml(m: dict[str, str]) -> str:
    words = [w.strip() for w in m["keywords"].split(",")]
    kws = ", ".join(w if re.fullmatch(r"[a-z][a-z0-9.-]*", w) else json.dumps(w) for w in words)
    return f"runbook: {m['runbook']}\nroot_cause_keywords: [{kws}]\naction: {m['action']}\nnotes: {json.dumps(m['notes'])}\n"


# ------------------------------------------------------------------------------------------------
# The scenarios: sNN_name(rng, day) -> (logs, values for the docstring's $placeholders).


def s01_payments_oomkilled(r: random.Random, day: int) -> tuple[list[Log], dict]:
    """ContainerOOMKilled | am | critical | 03:01:30.000 | 02:55:08
    labels: namespace=payments service=payments-api pod=$pod container=payments-api job=kube-state-metrics cluster=prod-eu-1
    summary: Container payments-api in pod payments/$pod was OOMKilled
    description: payments-api was killed by the kernel OOM killer (exit code 137) twice in 5 minutes; memory limit 2Gi. The 3 other replicas are restarting too.
    expr: increase(kube_pod_container_status_restarts_total{namespace="payments",container="payments-api"}[5m]) > 0 and on (namespace, pod, container) kube_pod_container_status_last_terminated_reason{reason="OOMKilled"} == 1
    runbook: runbooks/kubernetes/pod-oomkilled-crashloop.md
    keywords: oom, memory, 137
    action: increase_memory_limit
    notes: The monthly payout export loads a month of ledger into memory on every payments-api pod; the 2Gi limit is too small for it and nothing was released (v3.9.2 since 2026-09-22). All 4 pods OOMKilled, then CrashLoopBackOff.
    """
    log = Log(day, "payments-api", f_json, "02:15", "03:25")
    pods = pod_names(r, "payments-api", 4)
    export = H("02:55:08.412")
    ev: dict[str, list] = defaultdict(list)
    down: dict[str, list[tuple[float, float]]] = {p: [] for p in pods}
    for i, pod in enumerate(pods):
        t, rss, rows = export + 1.5 + i * 0.8, 1380 + r.randint(-40, 40), 0
        while rss < 2048:
            t, rows, rss = t + r.uniform(14, 22), rows + r.randint(180_000, 240_000), rss + r.randint(60, 95)
            ev["load" if rss <= 1536 else "watch"].append(
                (t, {"pod": pod, "i": i, "rows": rows, "rss": min(rss, 2046)})
            )
        kill, n = t + r.uniform(1, 4), 0
        while kill < log.t1:
            n += 1
            ev["kill" if n == 1 else "killagain"].append((kill, {"pod": pod, "n": n}))
            start = kill + min(10 * 2 ** (n - 1), 300) + r.uniform(0.5, 2)
            ev["start"].append((start, {"pod": pod, "i": i, "rows": rows // 2}))
            down[pod].append((kill - 0.5, start + 6))
            kill = start + r.uniform(34, 48)

    def live(d: Draw) -> str:
        up = [p for p in pods if not any(a <= d.t < b for a, b in down[p])]
        if not up:
            raise Skip
        return d.r.choice(up)

    timeline = r"""
        ~3 info request completed | pod=$live $route status=$st duration_ms=$ms remote_ip=$cip request_id=$hex16
        *60 info runtime stats | pod=$live version=v3.9.2 uptime=$up rss_mb=$rss heap_inuse_mb={880..1010} goroutines={180..260} idem_cache_entries={41000..44000} idem_cache_evictions={300..900}
        ~0.8 info paygrid webhook received | pod=$live event_type={charge.succeeded|charge.succeeded|refund.settled|payout.paid} event_id=evt_$id
        02:55:08.412 info payout export started | pod=$pod0 job=merchant-payouts-29322135 period=2026-09 shards=4 mode=in-memory
        :load info payout export: loading ledger shard | pod=$pod shard=$i rows_loaded=$rows rss_mb=$rss
        :watch info payout export: loading ledger shard | pod=$pod shard=$i rows_loaded=$rows rss_mb=$rss
        +0.05 warn memory watchdog: RSS above threshold | pod=$pod rss_mb=$rss limit_mb=2048 gc_cpu_pct={25..70}
        :kill error container terminated | pod=$pod source=kubelet container=payments-api reason=OOMKilled exit_code=137 restart_count=$n
        :killagain error container terminated | pod=$pod source=kubelet container=payments-api reason=OOMKilled exit_code=137 restart_count=$n
        +1.2 warn Back-off restarting failed container payments-api in pod $pod | pod=$pod source=kubelet reason=BackOff
        :start info starting payments-api | pod=$pod version=v3.9.2 go=go1.23.4 memory_limit=2Gi gomemlimit=1800MiB
        +5.5 info payout export: resuming shard from checkpoint | pod=$pod shard=$i rows_loaded=$rows
        +24 warn memory watchdog: RSS above threshold | pod=$pod rss_mb={1600..1900} limit_mb=2048 gc_cpu_pct={40..70}
    """
    values: dict[str, Any] = {"live": live, "pod0": pods[0], "ms": lat(85), "route": route(*PAYMENTS)}
    values["up"] = lambda d: f"{211 + int(d.t // 3600)}h{int(d.t % 3600 // 60)}m"
    values["rss"] = lambda d: d.r.randint(1310, 1460) if d.t < export else d.r.randint(1650, 1990)
    play(log, r, timeline, ev, **values)
    return [log], {"pod": pods[0]}


def s02_search_heap_leak(r: random.Random, day: int) -> tuple[list[Log], dict]:
    """SearchApiHeapUsageHigh | generic | warning | 02:20:00.000 | 02:04:00
    labels: namespace=search service=search-api deployment=search-api container=search-api pod=$pod
    summary: search-api JVM heap after GC above 85% of max
    description: Old generation occupancy after GC on search-api keeps rising on all 3 pods (2.9 GiB to 3.5 GiB of a 4 GiB -Xmx in under 2 hours) and mixed collections no longer reclaim it; at this slope the heap is exhausted in about 2 hours.
    runbook: runbooks/kubernetes/memory-leak.md
    keywords: leak, heap, memory, cache
    action: rollback_deployment
    notes: search-api 2.14.0 (deployed the previous afternoon) no longer bounds its query result cache (maxSize=unbounded, evictions=0), so the old gen climbs on every pod. No OOM kill yet; roll back.
    """
    log = Log(day, "search-api", f_text, "00:50", "02:40", variant="spring")
    pod = pod_names(r, "search-api", 1)[0]

    def old(d: Draw) -> int:  # old generation after GC, MB
        return round(2880 + 720 * ramp(d.t, log.t0, log.t1) + d.r.uniform(-10, 10))

    timeline = r"""
        ~3.5 info Completed request | $route status=$st duration_ms=$ms
        *70 raw [$gcts][info][gc] GC($gcn) $kind ${before}M->${after}M(4096M) ${pause}ms
        *300 info QueryResultCache stats size=$entries maxSize=unbounded hitRate=0.{38..44} evictions=0 estimatedSizeMB=$mb | logger=c.e.search.cache.CacheMetrics thread=cache-metrics-1
        *120@02:04- warn Old gen after GC at $pct% of max heap (${old}M of 4096M), not shrinking after mixed collections | logger=c.e.search.ops.HeapWatchdog thread=heap-watchdog
        *3600 info Runtime info version=2.14.0 build=2026-10-01T15:58:12Z started=2026-10-01T16:41:37Z uptime=$upt xmx=4096M gc=G1 | logger=c.e.search.ops.RuntimeInfo thread=scheduling-1
        *600 info Catalog delta sync applied products={40..400} took={800..2400}ms | logger=c.e.search.catalog.DeltaSync thread=scheduling-1
    """
    young = ("Pause Young (Normal) (G1 Evacuation Pause)",) * 6 + (
        "Pause Young (Mixed) (G1 Evacuation Pause)",
    )
    providers: dict[str, Any] = {
        "route": route(*SEARCH),
        "ms": lat(45),
        "gcts": lambda d: log.ts(d.t, z="+0000"),
        "gcn": lambda d: 48120 + int((d.t - log.t0) / 70),
        "kind": lambda d: d.r.choice(
            young
            + (("Pause Young (Concurrent Start) (G1 Humongous Allocation)",) * 3 if d.t > H("02:05") else ())
        ),
        "old": old,
        "before": lambda d: d["old"] + d.r.randint(950, 1080),
        "after": lambda d: d["old"] + d.r.randint(30, 90),
        "pause": lambda d: f"{d.r.uniform(9, 26) * (1 + 4 * ramp(d.t, H('02:00'), H('02:35'))):.3f}",
        "entries": lambda d: 1_210_000 + int((d.t - log.t0) * 190),
        "mb": lambda d: d["entries"] // 1024,
        "pct": lambda d: round(d["old"] / 40.96),
        "upt": lambda d: f"{int(d.t // 3600) + 7}h{int(d.t % 3600 // 60)}m",
    }
    play(log, r, timeline, **providers)
    return [log], {"pod": pod}


def s03_node_disk_full(r: random.Random, day: int) -> tuple[list[Log], dict]:
    """NodeFilesystemSpaceFillingUp | am | critical | 02:40:00.000 | 02:31:04
    labels: node=ip-10-0-2-41.eu-west-1.compute.internal instance=10.0.2.41:9100 job=node-exporter service=kubelet mountpoint=/ device=/dev/nvme0n1p1 fstype=xfs
    summary: Filesystem on /dev/nvme0n1p1 at 10.0.2.41:9100 is predicted to run out of space within the next 4 hours.
    description: Filesystem on /dev/nvme0n1p1, mounted on /, at 10.0.2.41:9100 (node ip-10-0-2-41.eu-west-1.compute.internal) has only 10.4% available space left and is filling up fast.
    expr: (node_filesystem_avail_bytes{job="node-exporter",fstype!=""} / node_filesystem_size_bytes{job="node-exporter",fstype!=""} * 100 < 15 and predict_linear(node_filesystem_avail_bytes{job="node-exporter",fstype!=""}[6h], 4*60*60) < 0)
    runbook: runbooks/storage/node-disk-full.md
    keywords: disk, space, ephemeral-storage, diskpressure, emptydir
    action: cordon_node
    notes: A reco-api model export writes ~40 GiB into an emptyDir without sizeLimit. Image GC frees nothing; the pod is evicted, rescheduled onto the same node and fills it again: 'no space left on device' at 03:06, evicted again, back at 03:15.
    """
    node = "ip-10-0-2-41.eu-west-1.compute.internal"
    log = Log(
        day,
        "kubelet",
        f_node,
        "02:05",
        "03:20",
        host="ip-10-0-2-41",
        variant="rfc5424",
        defaults="prog=kubelet pid=2871",
    )
    reco, reco2, reco3 = pod_names(r, "reco-api", 3)
    play(log, r, NODE_NOISE, **node_values(1187))

    def usage(d: Draw) -> int:  # % of the root filesystem; the pod is gone between 02:46 and 02:58
        if H("02:46:20") < d.t < H("02:58"):
            raise Skip
        return round(
            86 + 7 * ramp(d.t, H("02:31"), H("02:46"))
            if d.t < H("02:46:20")
            else 85 + 15 * ramp(d.t, H("02:58"), H("03:06:30"))
        )

    timeline = r"""
        *300@02:31:04- info "Disk usage on image filesystem is over the high threshold, trying to free bytes down to the low threshold" usage=$usage highThreshold=85 amountToFree=$free lowThreshold=80 | src=image_gc_manager.go:305
        02:31:04.6 info "Removing image to free bytes" imageID="sha256:$hex64" size=641728512 runtimeHandler="" | src=image_gc_manager.go:402
        02:31:04.9 info "Removing image to free bytes" imageID="sha256:$hex64" size=397412352 runtimeHandler="" | src=image_gc_manager.go:402
        *300@02:36:05- error "Image garbage collection failed multiple times in a row" err="Failed to garbage collect required amount of images. Attempted to free $free bytes, but only found 0 bytes eligible to free." | src=kubelet.go:1436
        :evict warn "Eviction manager: attempting to reclaim" resourceName="ephemeral-storage" | src=eviction_manager.go:366
        +0.01 info "Eviction manager: must evict pod(s) to reclaim" resourceName="ephemeral-storage" | src=eviction_manager.go:377
        +0.02 info "Eviction manager: pods ranked for eviction" pods=["reco/$victim","search/search-api-6d5f8c7b9-q2w8z","logging/fluent-bit-x7k2p"] | src=eviction_manager.go:395
        +0.05 info "Event occurred" object="reco/$victim" fieldPath="" kind="Pod" apiVersion="v1" type="Warning" reason="Evicted" message="The node was low on resource: ephemeral-storage. Threshold quantity: 10737418240, available: {9100000..9900000}Ki. Container reco-api was using {41000000..44000000}Ki, request is 0, has larger consumption of ephemeral-storage. " | src=event.go:389
        +0.06 info "Event occurred" object="$node" fieldPath="" kind="Node" apiVersion="" type="Normal" reason="NodeHasDiskPressure" message="Node $node status is now: NodeHasDiskPressure" | src=event.go:389
        +31.5 info "Eviction manager: pod is evicted successfully" pod="reco/$victim" | src=eviction_manager.go:604
        +31.6 info "Eviction manager: pods successfully cleaned up" pods=["reco/$victim"] | src=eviction_manager.go:208
        02:52:01.2 info "Event occurred" object="$node" fieldPath="" kind="Node" apiVersion="" type="Normal" reason="NodeHasNoDiskPressure" message="Node $node status is now: NodeHasNoDiskPressure" | src=event.go:389
        02:52:44.9 info "SyncLoop ADD" source="api" pods=["reco/$reco2"] | src=kubelet.go:2407
        02:52:47.3 info "SyncLoop (PLEG): event for pod" pod="reco/$reco2" event={"ID":"$puid","Type":"ContainerStarted","Data":"$hex64"} | src=kubelet.go:2439
        03:14:35.6 info "Event occurred" object="$node" fieldPath="" kind="Node" apiVersion="" type="Normal" reason="NodeHasNoDiskPressure" message="Node $node status is now: NodeHasNoDiskPressure" | src=event.go:389
        03:15:02.1 info "SyncLoop ADD" source="api" pods=["reco/$reco3"] | src=kubelet.go:2407
        ~4@03:06:31-03:09:34 error failed to write log | prog=containerd pid=1187 error="write /var/log/pods/reco_${reco2}_$puid/reco-api/0.log: no space left on device"
        ~4@03:06:31-03:09:34 error "Failed to rotate log for container" err="failed to compress log \"/var/log/pods/reco_${reco2}_$puid/reco-api/0.log.20261003-030812\": write /var/log/pods/reco_${reco2}_$puid/reco-api/0.log.20261003-030812.gz: no space left on device" worker=1 containerID="$hex64" | src=container_log_manager.go:296
    """
    evict = {"evict": [(H("02:46:20.114"), {"victim": reco}), (H("03:09:02.530"), {"victim": reco2})]}
    values = {"node": node, "reco2": reco2, "reco3": reco3, "puid": "7c1e2f4a-9b3d-4e8f-a2c6-5d0e9f1b3a74"}
    play(log, r, timeline, evict, usage=usage, free=lambda d: (d["usage"] - 80) * 1073741824, **values)
    return [log], {}


def s04_inventory_pvc_full(r: random.Random, day: int) -> tuple[list[Log], dict]:
    """KubePersistentVolumeFillingUp | generic | critical | 02:47:30.000 | 02:43:12
    labels: namespace=inventory service=inventory-db persistentvolumeclaim=data-inventory-db-0 pod=inventory-db-0 statefulset=inventory-db
    summary: PersistentVolume is filling up.
    description: The PersistentVolume claimed by data-inventory-db-0 in Namespace inventory is only 1.9% free.
    runbook: runbooks/storage/pvc-full.md
    keywords: space, disk, volume, pvc, full
    action: expand_pvc
    notes: Bulk inserts into audit_events (a new audit feature) fill the inventory-db data volume: 'could not extend file ... No space left on device' from 02:43, then a WAL PANIC at 03:06 and restarts that cannot write WAL.
    """
    log = Log(day, "inventory-db", f_pg, "02:00", "03:10")
    play(log, r, PG_CONN, until="03:06:41", rate=1.5, **PG_VALUES)
    play(log, r, PG_CKPT, until="03:06:41")
    timeline = r"""
        *140@-03:06:41 LOG duration: {1400.000..5200.000} ms  statement: INSERT INTO audit_events (entity, entity_id, action, actor, payload, created_at) SELECT * FROM unnest($$1::text[], $$2::text[], $$3::text[], $$4::text[], $$5::jsonb[], $$6::timestamptz[]) | pid=$pid
        *240@02:21-03:06:41 LOG checkpoints are occurring too frequently ({9..24} seconds apart) | pid=68
        +0 HINT Consider increasing the configuration parameter "max_wal_size". | pid=68
        ~4@02:43:12-03:06:41 ERROR could not extend file "base/16384/$rel": No space left on device | pid=$pid
        +0 HINT Check free disk space. | pid=$pid
        +0 STATEMENT INSERT INTO $table VALUES ($$1, $$2, $$3, $$4, $$5, $$6) | pid=$pid
        03:06:41.220 PANIC could not write to file "pg_wal/xlogtemp.28711": No space left on device | pid=28711
        +0.04 LOG WAL writer process (PID 28711) was terminated by signal 6: Aborted | pid=61
        +0.05 LOG terminating any other active server processes | pid=61
        +0.3 LOG all server processes terminated; reinitializing | pid=61
        *40@03:06:49- LOG database system was interrupted; last known up at 2026-10-04 03:05:12 UTC | pid=$spid
        +0.2 LOG database system was not properly shut down; automatic recovery in progress | pid=$spid
        +0.3 LOG redo starts at 3F/A1000028 | pid=$spid
        +1.9 PANIC could not write to file "pg_wal/xlogtemp.$spid": No space left on device | pid=$spid
        +2.0 LOG startup process (PID $spid) was terminated by signal 6: Aborted | pid=61
        +2.0 LOG aborting startup due to startup process failure | pid=61
        +2.1 LOG database system is shut down | pid=61
    """
    values: dict[str, Any] = {"table": ("audit_events", "audit_events", "stock_movements", "reservations")}
    values["rel"] = lambda d: f"{2620117 if d['table'] == 'audit_events' else 24891}.{d.r.randint(38, 41)}"
    play(log, r, timeline, spid=lambda d: d.r.randint(28800, 29900), **values)
    return [log], {}


def s05_shop_cert_expired(r: random.Random, day: int) -> tuple[list[Log], dict]:
    """PublicEndpointCertificateInvalid | am | critical | 02:19:00.000 | 02:14:09
    labels: namespace=checkout service=nginx-ingress ingress=checkout-web certificate=shop-example-com-tls instance=https://shop.example.com job=blackbox-https
    summary: HTTPS probe of https://shop.example.com fails certificate verification
    description: blackbox-exporter probe_success is 0 for https://shop.example.com since 02:14 UTC and probe_ssl_earliest_cert_expiry is in the past (2026-10-05T02:14:09Z). Browsers show a certificate warning; shop traffic has collapsed.
    expr: probe_success{job="blackbox-https"} == 0 and probe_ssl_earliest_cert_expiry{job="blackbox-https"} - time() < 0
    runbook: runbooks/security/certificate-expiry.md
    keywords: expired, certificate, expiry, x509
    action: renew_certificate
    notes: Public certificate shop-example-com-tls expired at 02:14:09: cert-manager's HTTP-01 self-check has been getting 404 for weeks (the challenge path is routed to checkout-web), so renewal never happened; browsers abort the TLS handshake.
    """
    nx = Log(day, "nginx-ingress", f_nginx, "01:40", "02:45")
    ips = {
        u: [pod_ip(r) for _ in range(3)]
        for u in ("checkout-checkout-web-80", "search-search-api-8080", "payments-payments-api-8080")
    }
    routes = {
        "checkout-checkout-web-80": pick("GET /", *CHECKOUT),
        "search-search-api-8080": pick("GET /api/search?q=boots", "GET /api/suggest?q=ra"),
    }
    timeline = r"""
        ~4@-02:14:09 access | ip=$cip req="$req" st=$st ups=$ups addr=$addr rt=0.{012..200}
        ~0.4@02:14:09- access | ip=$cip req="$req" st=$st ups=$ups addr=$addr rt=0.{012..200}
        ~1.5 access | ip=$cip req="$preq" st=200 ups=payments-payments-api-8080 addr=$paddr rt=0.{040..300}
        ~3.5@02:14:09- crit SSL_do_handshake() failed (SSL: error:$sslerr) while SSL handshaking, client: $cip, server: 0.0.0.0:443
        ~1 access | ip=$cmip req="GET /.well-known/acme-challenge/$tok" st=404 ups=checkout-checkout-web-80 addr=$caddr rt=0.004 ua="cert-manager-challenges/v1.15.3 (linux/amd64) cert-manager/4c9ae1d"
        *600 info "Configuration changes detected, backend reload required" | src=controller.go:193
        +0.9 info "Backend successfully reloaded" | src=controller.go:213
        *600@02:14:30- warn Unexpected error validating SSL certificate "checkout/shop-example-com-tls" for server "shop.example.com": x509: certificate has expired or is not yet valid: current time $now is after 2026-10-05T02:14:09Z | src=controller.go:1522
        +0 warn Validating certificate against DNS names. This will be deprecated in a future version | src=controller.go:1523
    """
    providers: dict[str, Any] = {
        "ups": ("checkout-checkout-web-80",) * 3 + ("search-search-api-8080",),
        "req": lambda d: routes[d["ups"]](d),
        "addr": lambda d: f"{d.r.choice(ips[d['ups']])}:{d['ups'].rsplit('-', 1)[1]}",
        "caddr": lambda d: f"{d.r.choice(ips['checkout-checkout-web-80'])}:80",
        "paddr": lambda d: f"{d.r.choice(ips['payments-payments-api-8080'])}:8080",
        "sslerr": (
            "0A000415:SSL routines::sslv3 alert certificate expired:SSL alert number 45",
            "0A000416:SSL routines::sslv3 alert certificate unknown:SSL alert number 46",
        ),
        "tok": lambda d: token(d.r, 43, ALPH + "AEKQXYZ_-"),
        "now": lambda d: nx.ts(d.t, 0),
        "cmip": pod_ip(r),
        "preq": pick("POST /v1/charges", "GET /v1/payments/pay_{id}", "GET /v1/payment-methods"),
    }
    play(nx, r, timeline, **providers)
    return [nx], {}


def s06_auth_tls_handshake(r: random.Random, day: int) -> tuple[list[Log], dict]:
    """TLSHandshakeErrorsHigh | generic | warning | 02:46:00.000 | 02:36:22
    labels: namespace=auth app=auth-service service=auth-service deployment=auth-service
    summary: TLS handshake errors on auth-service
    description: auth-service logged 38 'TLS handshake error' lines in the last 5 minutes (threshold 20).
    runbook: runbooks/security/tls-handshake-errors.md
    keywords: tls, handshake, cipher
    action: rollback_deployment
    notes: auth-service v4.3.0 (new Go toolchain, default cipher suites) rolled out at 02:36; partner-gateway (Java, pinned to RSA key-exchange suites) can no longer complete the handshake. Roll auth-service back.
    """
    log = Log(day, "auth-service", f_text, "02:00", "03:10")
    gw = Log(day, "partner-gateway", f_text, "02:00", "03:10", variant="boot2")
    old = pod_names(r, "auth-service", 3)
    new = pod_names(r, "auth-service", 3)
    gw_ips = [pod_ip(r) for _ in range(2)]
    starts = [H("02:36:10") + i * 52 + r.uniform(0, 6) for i in range(3)]

    def srv(d: Draw) -> str:
        return d.r.choice([new[i] if d.t > s + 12 else old[i] for i, s in enumerate(starts)])

    def newsrv(d: Draw) -> str:
        if d["srv"] in old:
            raise Skip
        return d["srv"]

    def client(d: Draw) -> str:
        return d.r.choice(
            ("search-api", "checkout-web", "orders-worker")
            + (("partner-gateway",) if d["srv"] in old else ())
        )

    timeline = r"""
        ~4 info request | pod=$srv method=POST path={/oauth2/introspect|/oauth2/introspect|/oauth2/token} status=200 duration_ms={1.5..9.0} client=$client tls=TLS1.3
        ~6@02:36:22- warn http: TLS handshake error from $gwip:$port: tls: no cipher suite supported by both client and server | pod=$newsrv comp=tls
        :start info starting auth-service version=v4.3.0 commit=7ac1e0f go=go1.23.2 | pod=$pod comp=main
        +0.4 info loaded TLS certificate subject=auth-service.auth.svc issuer=internal-ca not_after=2026-12-18T09:12:00Z | pod=$pod comp=certwatch
        +0.5 info listening addr=:8443 tls=true min_version=TLS1.2 cipher_suites=go-default | pod=$pod comp=main
        +14 info received SIGTERM, draining connections grace=10s | pod=$old comp=main
        *300 info serving certificate valid not_after=2026-12-18T09:12:00Z days_left=73 | pod=$srv comp=certwatch
        *600 info jwks rotation check ok active_kid=k-2026-10 next_rotation=2026-10-20T00:00:00Z | pod=$srv comp=keys
    """
    ev = {"start": [(s, {"pod": new[i], "old": old[i]}) for i, s in enumerate(starts)]}
    play(log, r, timeline, ev, srv=srv, newsrv=newsrv, client=client, gwip=gw_ips)
    timeline = r"""
        ~2.5 info Completed request | $route status=200 duration_ms=$ms logger=c.e.partner.web.AccessLog
        ~1 info Partner order sync partner=$partner orders={1..40} took=${ms}ms | logger=c.e.partner.sync.OrderSync thread=scheduling-1
        *60@02:36:24- error Token introspection failed for partner=$partner | thread=pool-3-thread-{1..8} logger=c.e.partner.auth.IntrospectionClient
        +0 raw javax.net.ssl.SSLHandshakeException: Received fatal alert: handshake_failure
        +0 raw \tat sun.security.ssl.Alerts.getSSLException(Alerts.java:192)
        +0 raw \tat sun.security.ssl.SSLSocketImpl.recvAlert(SSLSocketImpl.java:2023)
        +0 raw \tat sun.security.ssl.SSLSocketImpl.startHandshake(SSLSocketImpl.java:1375)
        +0 raw \tat com.example.partner.auth.IntrospectionClient.introspect(IntrospectionClient.java:88)
        +0 raw \t... 14 common frames omitted
        +0.01 warn Rejecting partner request with 401: access token could not be validated | logger=c.e.partner.web.AuthFilter
    """
    partner = route("POST /partner/v1/orders", "GET /partner/v1/orders/{id}", "GET /partner/v1/stock/{sku}")
    play(gw, r, timeline, route=partner, ms=lat(120), partner=("acme-retail", "northwind", "globex"))
    return [log, gw], {}


def s07_db_too_many_clients(r: random.Random, day: int) -> tuple[list[Log], dict]:
    """PostgresTooManyConnections | am | critical | 02:56:00.000 | 02:38:10
    labels: namespace=inventory service=inventory-db pod=inventory-db-0 datname=inventory instance=10.42.5.10:9187 job=postgres-exporter
    summary: inventory-db is refusing new connections (too many clients)
    description: inventory-db-0 uses 297 of 300 connection slots and rejected 41 connection attempts in the last 5 minutes.
    expr: sum(pg_stat_activity_count{datname="inventory"}) / max(pg_settings_max_connections) > 0.95
    runbook: runbooks/database/db-connection-exhaustion.md
    keywords: connection, clients, max_connections, pool
    action: scale_deployment
    notes: A promo traffic spike makes the checkout-web HPA scale from 10 to 26 pods (8 pooled connections each) between 02:38 and 02:45; with orders-worker's 120 connections the 300 slots run out at 02:52. Scale checkout-web back and cap its HPA.
    """
    db = Log(day, "inventory-db", f_pg, "02:15", "03:25", variant="userdb")
    web = Log(day, "checkout-web", f_text, "02:15", "03:25", variant="zap")
    base = pod_names(r, "checkout-web", 10)
    extra = [f"{base[0][:-6]}-{token(r, 5, ALPH)}" for _ in range(16)]
    starts = [H(a) + r.uniform(0, 50) for a in ("02:38:10",) * 6 + ("02:41:25",) * 6 + ("02:44:40",) * 4]
    play(db, r, PG_CONN, until="02:52:18", rate=1.6, **PG_VALUES)
    play(db, r, PG_CKPT)
    timeline = r"""
        ~9@02:38:10-02:52:10 LOG connection received: host=$pip port=$port | pid=$pid
        +0.004 LOG connection authorized: user=checkout_app database=inventory application_name=checkout-web SSL enabled (protocol=TLSv1.3, cipher=TLS_AES_256_GCM_SHA384, bits=256) | pid=$pid who=checkout_app@inventory
        ~3>6@02:52:18- LOG connection received: host=$pip port=$port | pid=$pid
        +0.002 FATAL sorry, too many clients already | pid=$pid who={checkout_app|checkout_app|checkout_app|orders_app|cron_app}@inventory
        ~0.5>1.5@02:52:18- LOG connection received: host=$pip port=$port | pid=$pid
        +0.002 FATAL remaining connection slots are reserved for non-replication superuser connections | pid=$pid who={checkout_app|orders_app}@inventory
    """
    play(db, r, timeline)

    def pod(d: Draw) -> str:
        return d.r.choice(base + [p for p, s in zip(extra, starts, strict=True) if d.t > s + 3])

    timeline = r"""
        ~2.5>5 info request completed | pod=$pod $route status=$st duration_ms=$ms
        :hpa info Event: HorizontalPodAutoscaler checkout/checkout-web SuccessfulRescale: New size: $n; reason: cpu resource utilization (percentage of request) above target | caller=k8sevents/watch.go:88
        :newpod info starting checkout-web | pod=$pod version=v5.3.2 db_pool_max=8 caller=cmd/server/main.go:57
        +2.1 info db pool ready | pod=$pod open=8 caller=db/pool.go:88
        *120 info db pool stats | pod=$pod open=8 in_use={1..7} idle={1..7} wait_count={0..3} caller=db/pool.go:131
        ~3@02:52:18- error stock check failed | pod=$pod sku=SKU-{10000..99999} err="pq: sorry, too many clients already" caller=inventory/client.go:77
        +0.002 warn request completed | pod=$pod method=POST path=/checkout/confirm status=503 duration_ms={5.0..40.0}
    """
    ev = {
        "hpa": [(H("02:38:05"), {"n": 16}), (H("02:41:20"), {"n": 22}), (H("02:44:35"), {"n": 26})],
        "newpod": [(s, {"pod": p}) for p, s in zip(extra, starts, strict=True)],
    }
    play(web, r, timeline, ev, pod=pod, route=route(*CHECKOUT), ms=lat(60))
    return [db, web], {}


DEADLOCK = r"""
~0.3>1.4@02:04:10- LOG process $p2 still waiting for ShareLock on transaction $x1 after 1000.{100..999} ms | pid=$p2
+0 DETAIL Process holding the lock: $p1. Wait queue: $p2. | pid=$p2
+0 CONTEXT while updating tuple ({100..3000},{1..60}) in relation "stock_levels" | pid=$p2
+0 STATEMENT $upd | pid=$p2
+0.41 ERROR deadlock detected | pid=$p1
+0.41 DETAIL Process $p1 waits for ShareLock on transaction $x2; blocked by process $p2. | pid=$p1
+0.41 raw \tProcess $p2 waits for ShareLock on transaction $x1; blocked by process $p1.
+0.41 raw \tProcess $p1: $upd
+0.41 raw \tProcess $p2: $upd
+0.41 HINT See server log for query details. | pid=$p1
+0.41 CONTEXT while updating tuple ({100..3000},{1..60}) in relation "stock_levels" | pid=$p1
+0.41 STATEMENT $upd | pid=$p1
+0.42 LOG process $p2 acquired ShareLock on transaction $x1 after 1418.{100..999} ms | pid=$p2
"""


def s08_stock_deadlocks(r: random.Random, day: int) -> tuple[list[Log], dict]:
    """PostgresDeadlocksDetected | generic | warning | 02:21:00.000 | 02:04:10
    labels: namespace=inventory service=inventory-db datname=inventory pod=inventory-db-0
    summary: Deadlocks on inventory-db
    description: 27 deadlocks in database inventory in the last 10 minutes (pg_stat_database_deadlocks), rising.
    runbook: runbooks/database/lock-contention-deadlocks.md
    keywords: deadlock, lock
    action: rollback_deployment
    notes: orders-worker v2.19.0 (rolled out 01:52) reserves stock rows in cart order instead of sorted by sku, so concurrent multi-item orders deadlock on stock_levels; 40P01 retries in the worker. Roll orders-worker back.
    """
    db = Log(day, "inventory-db", f_pg, "01:40", "02:55")
    ow = Log(day, "orders-worker", f_logfmt, "01:40", "02:55")
    old, new = pod_names(r, "orders-worker", 6), pod_names(r, "orders-worker", 6)
    starts = [H("01:52:00") + i * 27 + r.uniform(0, 4) for i in range(6)]
    play(db, r, PG_CONN, rate=0.8, **PG_VALUES)
    play(db, r, PG_CKPT)
    upd = "UPDATE stock_levels SET reserved = reserved + $1, updated_at = now() WHERE sku = $2 AND warehouse_id = $3"
    values: dict[str, Any] = {"p1": BUILTIN["pid"], "p2": BUILTIN["pid"], "upd": upd}
    values["x1"] = values["x2"] = lambda d: d.r.randint(91_800_000, 91_899_999)
    play(db, r, DEADLOCK, **values)

    def pod(d: Draw) -> str:
        return d.r.choice([new[i] if d.t > s + 3 else old[i] for i, s in enumerate(starts)])

    timeline = r"""
        ~4 info order processed | pod=$pod order_id=ord_$id items={1..6} duration_ms=$ms
        ~0.3>1.8@02:04:10- warn stock reservation failed, retrying | pod=$pod order_id=ord_$id err="ERROR: deadlock detected (SQLSTATE 40P01)" attempt={1|1|1|2|3} will_retry=true
        *60 info batch committed | pod=$pod partition={0..11} records={20..140} offset={18800000..18900000}
        :start info starting orders-worker | pod=$pod version=v2.19.0 commit=e41b7c2
        +0.3 info config loaded | pod=$pod reserve_lock_order=cart_position max_poll_records=500 db_pool_max=20
        +1.1 info partitions assigned | pod=$pod partitions=$parts
        +3 info shutting down | pod=$old signal=SIGTERM
        +3.8 info offsets committed, consumer closed | pod=$old
    """
    ev = {
        "start": [
            (s, {"pod": new[i], "old": old[i], "parts": f"{2 * i},{2 * i + 1}"}) for i, s in enumerate(starts)
        ]
    }
    play(ow, r, timeline, ev, pod=pod, ms=lat(180))
    return [db, ow], {}


def s09_replica_lag(r: random.Random, day: int) -> tuple[list[Log], dict]:
    """PostgresReplicationLagHigh | am | warning | 02:44:00.000 | 02:31:30
    labels: namespace=inventory service=inventory-db pod=inventory-db-2 instance=10.42.6.21:9187 job=postgres-exporter
    summary: inventory-db replica inventory-db-2 is lagging behind the primary
    description: pg_replication_lag_seconds on inventory-db-2 has been above 30s for 5 minutes (currently 104s) and is growing.
    expr: pg_replication_lag_seconds{namespace="inventory"} > 30
    runbook: runbooks/database/replica-lag.md
    keywords: replica, replication, lag, wal, replay
    action: set_deployment_env
    notes: A bulk price recalculation on the primary from 02:31 generates WAL faster than inventory-db-2 replays it (restartpoints every 45 s instead of every 5 min, last replayed transaction minutes old); search-api serves stale stock. Point search-api reads at the primary.
    """
    db = Log(day, "inventory-db", f_pg, "02:10", "03:15")
    api = Log(day, "search-api", f_json, "02:10", "03:15", variant="ecs")

    def lag(t: float) -> float:
        return 0.3 + 470 * ramp(t, H("02:31:30"), H("03:12")) ** 1.3

    play(db, r, PG_CONN, rate=2, **(PG_VALUES | {"user": ("search_ro",)}))
    timeline = r"""
        *300@-02:31:30 LOG restartpoint starting: time | pid=68
        +269.5 LOG restartpoint complete: wrote {900..4200} buffers (1.{10..99}%); 0 WAL file(s) added, 0 removed, {1..3} recycled; write=269.4 s, sync=0.011 s, total=269.5 s; sync files={40..90}, longest=0.004 s, average=0.001 s; distance={9000..40000} kB, estimate={30000..42000} kB | pid=68
        +269.5 LOG recovery restart point at 1A3/$lsn | pid=68
        +269.5 DETAIL Last completed transaction was at log time $behind. | pid=68
        *45@02:31:30- LOG restartpoint starting: wal | pid=68
        +11 LOG restartpoint complete: wrote {90000..131000} buffers (7{0..9}.{1..9}%); 0 WAL file(s) added, {40..64} removed, {0..3} recycled; write=10.9 s, sync=0.201 s, total=11.2 s; sync files=12, longest=0.120 s, average=0.016 s; distance=1048576 kB, estimate=1048576 kB | pid=68
        +11 LOG recovery restart point at 1A3/$lsn | pid=68
        +11 DETAIL Last completed transaction was at log time $behind. | pid=68
        *30 raw $pts INFO: no action. I am (inventory-db-2), a secondary, and following a leader (inventory-db-0)
        ~0.4@02:36- ERROR canceling statement due to conflict with recovery | pid=$pid who=search_ro@inventory
        +0 DETAIL User query might have needed to see row versions that must be removed. | pid=$pid who=search_ro@inventory
        +0 STATEMENT SELECT sku, available, reserved FROM stock_levels WHERE sku = ANY($$1) | pid=$pid who=search_ro@inventory
    """
    values: dict[str, Any] = {
        "pts": lambda d: db.ts(d.t, sep=" ", z="").replace(".", ",")
    }  # Patroni's own log format
    values["behind"] = lambda d: db.ts(d.t + (11 if d.t > H("02:31:30") else 269.5) - lag(d.t), 6, " ", "+00")
    values["lsn"] = lambda d: (
        f"{int((d.t - db.t0) * 2.3e5 * (1 + 9 * ramp(d.t, H('02:31'), H('02:33')))) & 0xFFFFFFFF:08X}"
    )
    play(db, r, timeline, **values)
    timeline = r"""
        ~3.5 info Completed request | $route status=$st duration_ms=$ms
        *60@02:37- warn Replica staleness above budget, serving possibly stale stock levels | replica_host=inventory-db-replica.inventory.svc replica_lag_seconds=$lag budget_seconds=30 logger=com.example.search.stock.StalenessGuard thread=stock-refresh-1
        ~1@02:41- warn Reservation rejected after stock was shown as available | sku=SKU-{10000..99999} shown_available={1..4} reservation_error=insufficient_stock logger=com.example.search.stock.MismatchReporter thread=kafka-listener-1
        *300 info Stock snapshot refreshed | rows={181000..183000} took_ms={900..1900} source=replica logger=com.example.search.stock.SnapshotJob thread=stock-refresh-1
    """
    play(
        api,
        r,
        timeline,
        route=route(*SEARCH, "GET /api/products/{sku}/stock"),
        ms=lat(40),
        lag=lambda d: round(lag(d.t)),
    )
    return [db, api], {}


def s10_coredns_timeouts(r: random.Random, day: int) -> tuple[list[Log], dict]:
    """CheckoutDependencyTimeouts | generic | critical | 02:37:30.000 | 02:27:40
    labels: namespace=checkout service=checkout-web deployment=checkout-web team=checkout
    summary: checkout-web calls to payments-api and search-api are failing
    description: 6% of checkout-web's outgoing calls failed in the last 5 minutes, before any connection was made: "dial tcp: lookup payments-api.payments.svc.cluster.local on 10.96.0.10:53: ... i/o timeout". Checkout confirmations return 502.
    runbook: runbooks/networking/dns-failure.md
    keywords: dns, coredns, lookup, resolution, resolve
    action: scale_deployment
    notes: A new feed-exporter CronJob (02:25) floods CoreDNS with ndots:5 search-path lookups of external names; the 2 CoreDNS replicas saturate and upstream forwards time out, so in-cluster lookups time out too. Scale coredns out.
    """
    dns = Log(day, "coredns", f_stamped, "02:00", "03:05")
    web = Log(day, "checkout-web", f_json, "02:00", "03:05", variant="zap")
    timeline = r"""
        ~3 info $pip:$port - {1000..65000} "{A|AAAA} IN $qname. udp {60..99} false 1232" NXDOMAIN qr,aa,rd {150..200} 0.000{080..300}s
        ~5@02:25:10- info $fip:$port - {1000..65000} "{A|AAAA} IN cdn.partner-feeds.example.$suffix. udp {60..99} false 1232" NXDOMAIN qr,aa,rd {150..200} 0.{000..900}{100..999}s
        ~4@02:27:40- error plugin/errors: 2 $ext. {A|AAAA}: read udp $cdns:$port->10.0.0.2:53: i/o timeout
        ~2@02:27:40- info $pip:$port - {1000..65000} "A IN $ext. udp {40..60} false 1232" SERVFAIL qr,rd {40..60} 2.00{1..9}{100..999}s
        *40@02:28- warn plugin/health: Local health request to "http://:8080/health" took more than 1s: 1.{100..900}{100..999}s
    """
    qname = pick(
        "payments-api.payments.svc.cluster.local.checkout.svc.cluster.local",
        "api.parcelio.example.orders.svc.cluster.local",
        "search-api.search.svc.cluster.local.checkout.svc.cluster.local",
        "kafka-0.kafka-headless.kafka.svc.cluster.local.orders.svc.cluster.local",
    )
    exts = (
        "cdn.partner-feeds.example",
        "api.parcelio.example",
        "api.paygrid.example",
        "sts.eu-west-1.amazonaws.com",
    )
    suffixes = ("feeds.svc.cluster.local", "svc.cluster.local", "cluster.local", "eu-west-1.compute.internal")
    play(
        dns,
        r,
        timeline,
        qname=qname,
        fip=pod_ip(r),
        ext=exts,
        suffix=suffixes,
        cdns=("10.42.0.14", "10.42.4.9"),
    )
    pods = pod_names(r, "checkout-web", 6)
    ips = {p: pod_ip(r) for p in pods}
    timeline = r"""
        ~3 info request completed | pod=$pod $route status=$st duration_ms=$ms
        ~0.5>4@02:27:50- error payments call failed | pod=$pod caller=payments/client.go:88 err="Post \"http://payments-api.payments.svc.cluster.local:8080/v1/charges\": dial tcp: lookup payments-api.payments.svc.cluster.local on 10.96.0.10:53: read udp $ip:$port->10.96.0.10:53: i/o timeout"
        +0.001 warn request completed | pod=$pod method=POST path=/checkout/confirm status=502 duration_ms={5000.0..5100.0}
        ~0.3>2@02:28:30- error search call failed | pod=$pod caller=search/client.go:61 err="Get \"http://search-api.search.svc.cluster.local:8080/api/search?q=boots\": dial tcp: lookup search-api.search.svc.cluster.local on 10.96.0.10:53: read udp $ip:$port->10.96.0.10:53: i/o timeout"
        *120 info circuit breaker stats | pod=$pod breaker=payments state=closed failures_1m=$bf caller=resilience/breaker.go:140
    """
    values: dict[str, Any] = {
        "pod": pods,
        "ip": lambda d: ips[d["pod"]],
        "route": route(*CHECKOUT),
        "ms": lat(60),
    }
    values["bf"] = lambda d: (
        d.r.randint(0, 1) if d.t < H("02:28") else d.r.randint(6, 35)
    )  # breaker failures a minute
    play(web, r, timeline, **values)
    return [dns, web], {}


def s11_node_notready(r: random.Random, day: int) -> tuple[list[Log], dict]:
    """KubeNodeNotReady | am | critical | 03:17:10.000 | 02:58:12
    labels: node=ip-10-0-1-88.eu-west-1.compute.internal condition=Ready status=false job=kube-state-metrics service=kubelet
    summary: Node is not ready.
    description: ip-10-0-1-88.eu-west-1.compute.internal has been unready for more than 15 minutes.
    expr: kube_node_status_condition{job="kube-state-metrics",condition="Ready",status="true"} == 0
    runbook: runbooks/kubernetes/node-notready.md
    keywords: notready, not ready, pleg, containerd, runtime, kubelet
    action: cordon_node
    notes: The EBS volume behind /var/lib/containerd stalls (nvme I/O timeouts at 02:58); containerd blocks in D state, PLEG goes unhealthy and the kubelet reports NotReady at 03:02. Cordon (then drain) the node.
    """
    node = "ip-10-0-1-88.eu-west-1.compute.internal"
    log = Log(day, "kubelet", f_node, "02:30", "03:35", host="ip-10-0-1-88", defaults="prog=kubelet pid=2390")
    play(log, r, NODE_NOISE, **node_values(1187, cron_until=H("02:58")))
    timeline = r"""
        ~3@02:58:12-03:01 warn nvme nvme1: I/O {1..1023} QID {1..4} timeout, aborting | prog=kernel
        +0.02 warn nvme nvme1: Abort status: 0x0 | prog=kernel
        ~1@02:58:30-03:02 error failed to handle container TaskExit event &TaskExit{ContainerID:$hex64,ID:$hex64,Pid:{3000..9000},ExitStatus:0,} | prog=containerd pid=1187 error="failed to stop container: context deadline exceeded: unknown"
        *120@03:00:20- error INFO: task $task:$tpid blocked for more than {122..369} seconds. | prog=kernel
        +0 error       Not tainted 6.1.112-122.189.amzn2023.x86_64 #1 | prog=kernel
        +0 error "echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message. | prog=kernel
        +0 info task:$task state:D stack:0     pid:$tpid  ppid:$ppid      flags:0x00000002 | prog=kernel
        ~2@02:59- warn "Probe errored" err="rpc error: code = DeadlineExceeded desc = context deadline exceeded" probeType="{Liveness|Readiness}" pod="$ppod" podUID="$uid" containerName="$cn" | src=prober.go:104
        *20@03:01:14- error "Skipping pod synchronization" err="PLEG is not healthy: pleg was last seen active $pleg ago; threshold is 3m0s" | src=kubelet.go:2412
        03:02:05.3 info "Node became not ready" node="$node" condition={"type":"Ready","status":"False","lastHeartbeatTime":"2026-10-11T03:02:05Z","lastTransitionTime":"2026-10-11T03:02:05Z","reason":"KubeletNotReady","message":"PLEG is not healthy: pleg was last seen active 3m53.1s ago; threshold is 3m0s"} | src=setters.go:568
        *60@03:02- error "ContainerStatus from runtime service failed" err="rpc error: code = DeadlineExceeded desc = context deadline exceeded" containerID="$hex64" | src=remote_runtime.go:432
        *90@03:03- error "Error syncing pod, skipping" err="failed to \"KillPodSandbox\" for \"$uid\" with KillPodSandboxError: \"rpc error: code = DeadlineExceeded desc = context deadline exceeded\"" pod="$ppod" podUID="$uid" | src=pod_workers.go:1298
    """
    pods = {
        "checkout/checkout-web-7f9c8d6b5-k2x4p": "checkout-web",
        "search/search-api-6d5f8c7b9-w7n2q": "search-api",
        "orders/orders-worker-5b7d9c8f4-p8m3z": "orders-worker",
        "logging/fluent-bit-q4r7t": "fluent-bit",
    }
    tasks = {
        "containerd": (1187, 1),
        "jbd2/nvme1n1-8": (412, 2),
        "kworker/u4:2": (3321, 2),
        "containerd-shim": (4410, 1),
    }
    values: dict[str, Any] = {
        "task": tuple(tasks),
        "tpid": lambda d: tasks[d["task"]][0],
        "ppid": lambda d: tasks[d["task"]][1],
        "node": node,
    }
    values |= {
        "ppod": tuple(pods),
        "cn": lambda d: pods[d["ppod"]],
        "pleg": lambda d: f"{int(d.t - H('02:58:12')) // 60}m{(d.t - H('02:58:12')) % 60:.1f}s",
    }
    play(log, r, timeline, **values)
    return [log], {}


def s12_orders_kafka_lag(r: random.Random, day: int) -> tuple[list[Log], dict]:
    """OrderConfirmationsDelayed | generic | warning | 03:24:00.000 | 03:01:00
    labels: namespace=orders service=orders-worker deployment=orders-worker consumergroup=orders-worker topic=orders.events
    summary: Order confirmation emails are delayed by more than 15 minutes
    description: p95 time from order placed to confirmation sent is 22 minutes (normally under 1 minute). orders-worker has not caught up with orders.events since the APAC flash sale started.
    runbook: runbooks/messaging/kafka-consumer-lag.md
    keywords: lag, consumer, kafka, partition, throughput
    action: scale_deployment
    notes: Produce rate on orders.events triples with a flash sale at 03:00; the 6 orders-worker pods (KEDA scaling left paused after a Kafka upgrade) run full 500-record batches with healthy dependencies, and lag grows evenly on all 12 partitions. Scale to 12.
    """
    log, pods = Log(day, "orders-worker", f_logfmt, "02:40", "03:55"), pod_names(r, "orders-worker", 6)
    sale = H("03:00:40")

    def lag(t: float) -> int:
        return round(250 + 1250 * max(0.0, t - sale) / 60)

    timeline = r"""
        ~2>4@-03:55 info order processed | pod=$pod order_id=ord_$id partition=$part duration_ms=$ms
        *20 info batch committed | pod=$pod partition=$part records=$recs offset=$off poll_to_commit_ms=$pms
        *60 info consumer lag | pod=$leader group=orders-worker topic=orders.events total_lag=$lag max_partition_lag=$maxlag partitions=12 members=6
        *60@03:17- warn consumer lag above threshold | pod=$leader group=orders-worker topic=orders.events total_lag=$lag threshold=20000
        *300 info dependency latency | pod=$pod p95_db_ms={9..16} p95_parcelio_ms={150..230} parcelio_429_last_5m=0 db_pool_in_use={4..11} db_pool_max=20
        *600 info parcelio quota | pod=$leader rps_used={9..19} rps_quota=50 remaining_burst=100
    """
    providers: dict[str, Any] = {
        "pod": pods,
        "leader": pods[0],
        "ms": lat(140),
        "part": lambda d: 2 * pods.index(d["pod"]) + d.r.randint(0, 1),
        "recs": lambda d: 500 if d.t > sale + 30 else d.r.randint(40, 160),
        "off": lambda d: 18_800_000 + int(d.t * 4) + d.r.randint(0, 900),
        "pms": lambda d: round(d["recs"] * d.r.uniform(8.0, 9.5)),
        "lag": lambda d: lag(d.t) + d.r.randint(-60, 60),
        "maxlag": lambda d: round(lag(d.t) / 12 * d.r.uniform(1.02, 1.12)),
    }
    play(log, r, timeline, **providers)
    return [log], {}


def s13_fulfillment_backlog(r: random.Random, day: int) -> tuple[list[Log], dict]:
    """RabbitMQQueueBacklogHigh | am | warning | 03:02:00.000 | 02:40:58
    labels: namespace=orders service=orders-fulfillment deployment=orders-fulfillment queue=fulfillment.tasks vhost=/ rabbitmq_cluster=rabbitmq
    summary: RabbitMQ queue fulfillment.tasks has more than 10000 ready messages
    description: fulfillment.tasks has 13,480 ready messages (normally under 200) and is growing; 8 consumers are registered, 0 messages unacknowledged.
    expr: rabbitmq_detailed_queue_messages_ready{queue="fulfillment.tasks"} > 10000
    runbook: runbooks/messaging/queue-backlog.md
    keywords: queue, backlog, consumer, rabbitmq, stuck
    action: restart_deployment
    notes: rabbitmq-server-1 restarted for an upgrade at 02:41; the 6 orders-fulfillment pods connected to it reconnect but never resume consuming (publisher channel reopened, no deliveries), only 2 pods work. Restart orders-fulfillment.
    """
    fl = Log(day, "orders-fulfillment", f_json, "02:20", "03:30")
    mq = Log(day, "rabbitmq", f_stamped, "02:20", "03:30", variant="rabbit")
    pods, close = pod_names(r, "orders-fulfillment", 8), H("02:40:57.9")
    stuck, ips = pods[:6], {p: pod_ip(r) for p in pods}
    ev = {
        "close": [
            (close + i * 0.07, {"pod": p, "ip": ips[p], "rc": round(r.uniform(2, 9), 3)})
            for i, p in enumerate(stuck)
        ]
    }
    timeline = r"""
        ~6@-02:40:57 info task completed | pod=$worker task_id=ft_$id type=$type duration_ms=$ms
        ~1.6@02:40:57- info task completed | pod=$ok task_id=ft_$id type=$type duration_ms=$ms
        *60 info consumer heartbeat | pod=$ok queue=fulfillment.tasks prefetch=20 in_flight={3..20} delivered_last_min={40..90}
        *60@-02:40:57 info consumer heartbeat | pod=$worker queue=fulfillment.tasks prefetch=20 in_flight={3..20} delivered_last_min={40..90}
        *30@02:42- info consumer heartbeat | pod=$stuck queue=fulfillment.tasks prefetch=20 in_flight=0 delivered_last_min=0
        :close warn amqp connection closed | pod=$pod node=rabbitmq-server-1 err="Exception (320) Reason: \"CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'\""
        +$rc info reconnected to rabbitmq | pod=$pod node=rabbitmq-server-0 vhost=/
        +$rc info publisher channel reopened | pod=$pod exchange=fulfillment
    """
    providers = {
        "worker": pods,
        "ok": pods[6:],
        "stuck": stuck,
        "type": ("pick_list", "pick_list", "shipping_label", "invoice_pdf"),
        "ms": lat(700),
    }
    play(fl, r, timeline, ev, **providers)
    timeline = r"""
        ~1.9 info accepting AMQP connection <0.$erl.0> ($pip:$port -> 10.42.1.9:5672) | erl=$erl
        +0.02 info connection <0.$erl.0> ($pip:$port -> 10.42.1.9:5672): user '$user' authenticated and granted access to vhost '/' | erl=$erl
        +$dur info closing AMQP connection <0.$erl.0> ($pip:$port -> 10.42.1.9:5672, vhost: '/', user: '$user') | erl=$erl
        02:40:58.6 info rabbit on node 'rabbit@rabbitmq-server-1.rabbitmq-nodes.rabbitmq' down
        +0.3 info Node rabbit@rabbitmq-server-1.rabbitmq-nodes.rabbitmq is down, deleting its listeners
        +1.1 info queue 'fulfillment.tasks' in vhost '/': detected a new leader {'%2F_fulfillment.tasks','rabbit@rabbitmq-server-0.rabbitmq-nodes.rabbitmq'} in term 14
        02:42:31.7 info rabbit on node 'rabbit@rabbitmq-server-1.rabbitmq-nodes.rabbitmq' up
        :close info accepting AMQP connection <0.$erl.0> ($ip:$port -> 10.42.1.9:5672) | erl=$erl
        +$rc info connection <0.$erl.0> ($ip:$port -> 10.42.1.9:5672): user 'fulfillment' authenticated and granted access to vhost '/' | erl=$erl
    """
    play(
        mq,
        r,
        timeline,
        ev,
        erl=lambda d: d.r.randint(3000, 98000),
        user=("fulfillment-report", "orders-publisher", "monitoring"),
        dur=lambda d: round(d.r.uniform(0.5, 40), 3),
    )
    return [fl, mq], {}


def s14_paygrid_rate_limited(r: random.Random, day: int) -> tuple[list[Log], dict]:
    """PaymentsApiErrorRateHigh | generic | critical | 03:04:00.000 | 02:53:40
    labels: namespace=payments service=payments-api deployment=payments-api team=payments
    summary: payments-api charge error rate above 5%
    description: 7.8% of POST /v1/charges requests failed in the last 10 minutes with error code PROCESSOR_RATE_LIMITED ("payment processor temporarily unavailable, please retry"). Customers see declined payments.
    runbook: runbooks/integrations/upstream-429-rate-limited.md
    keywords: 429, rate limit, rate-limit, rate limited, quota
    action: set_deployment_env
    notes: Evening traffic makes the payments-api HPA scale from 6 to 14 pods; each pod's PayGrid limiter allows 20 requests/s and 14 x 20 = 280 exceeds the account's 200/s quota, so PayGrid answers 429 from 02:53. Lower PAYGRID_MAX_RPS (or the replica count).
    """
    log = Log(day, "payments-api", f_logfmt, "02:30", "03:40", variant="slog")
    base = pod_names(r, "payments-api", 6)
    extra = [f"{base[0][:-6]}-{token(r, 5, ALPH)}" for _ in range(8)]
    starts = sorted(H("02:44:30") + r.uniform(0, 480) for _ in extra)

    def pod(d: Draw) -> str:
        return d.r.choice(base + [p for p, s in zip(extra, starts, strict=True) if d.t > s + 2])

    timeline = r"""
        ~2>4 info charge authorized | pod=$pod charge_id=ch_$id amount_minor={500..25000} currency={EUR|EUR|GBP|SEK} paygrid_ms=$ms
        ~0.8 info request completed | pod=$pod method=GET path=/v1/payments/pay_$id status=200 duration_ms={3.0..30.0}
        ~0.6>3.5@02:53:40- warn paygrid responded 429 | pod=$pod endpoint=/v2/charges status=429 retry_after_s=1 ratelimit_limit=200 ratelimit_remaining=0 attempt={1|1|2}
        +0.002 error charge failed | pod=$pod charge_id=ch_$id code=PROCESSOR_RATE_LIMITED http_status=503 err="paygrid: POST /v2/charges: 429 Too Many Requests"
        *90 info paygrid client stats | pod=$pod rps_limit_per_pod=20 rps_last_min={11..19}.{0..9} throttled_last_min=$thr account=acct_eu_main
        :start info starting payments-api | pod=$pod version=v3.9.4 paygrid_max_rps=20 paygrid_account=acct_eu_main
        +1.8 info ready | pod=$pod listen=:8080
    """
    ev = {"start": [(s, {"pod": p}) for p, s in zip(extra, starts, strict=True)]}
    play(
        log,
        r,
        timeline,
        ev,
        pod=pod,
        ms=lat(180),
        thr=lambda d: 0 if d.t < H("02:53:40") else d.r.randint(20, 140),
    )
    return [log], {}


def s15_checkout_bad_deploy(r: random.Random, day: int) -> tuple[list[Log], dict]:
    """ErrorRateAfterDeploy | am | critical | 02:19:00.000 | 02:04:10
    labels: namespace=checkout service=checkout-web deployment=checkout-web version=v5.4.0 pipeline=argo-cd
    summary: checkout-web error rate doubled after deploying v5.4.0
    description: The 5xx rate of checkout-web went from 0.1% to 4.2% within 15 minutes of the v5.4.0 ReplicaSet rolling out (02:03 UTC).
    expr: sum(rate(http_requests_total{service="checkout-web",code=~"5.."}[10m])) / sum(rate(http_requests_total{service="checkout-web"}[10m])) > 2 * (sum(rate(http_requests_total{service="checkout-web",code=~"5.."}[10m] offset 1h)) / sum(rate(http_requests_total{service="checkout-web"}[10m] offset 1h)))
    runbook: runbooks/deploy/bad-deploy-rollback.md
    keywords: deploy, release, v5.4.0, rollout, version, regression
    action: rollback_deployment
    notes: checkout-web v5.4.0 (rolled out 02:03-02:08) dereferences a nil gift-card balance in POST /checkout/confirm: panics and 500s, only on the new pods. Roll back.
    """
    web = Log(day, "checkout-web", f_text, "01:45", "02:50", variant="zap")
    nx = Log(day, "nginx-ingress", f_nginx, "01:45", "02:50")
    old, new = pod_names(r, "checkout-web", 6), pod_names(r, "checkout-web", 6)
    ip = {p: pod_ip(r) for p in old + new}
    starts = [H("02:03:00") + i * 55 + r.uniform(0, 5) for i in range(6)]

    def serving(d: Draw) -> str:
        return d.r.choice([new[i] if d.t > s + 9 else old[i] for i, s in enumerate(starts)])

    panics = [
        (t, {"pod": p, "addr": f"{ip[p]}:8080"})
        for t, _ in triggers(r, "~0.3>1.6@02:04:10-", 0, web.t1, {})
        for p in [r.choice(new)]
    ]
    ev = {"start": [(s, {"pod": new[i], "old": old[i]}) for i, s in enumerate(starts)], "panic": panics}
    timeline = r"""
        ~4 info request completed | pod=$pod $route status=$st duration_ms=$ms
        :start info starting checkout-web | pod=$pod version=v5.4.0 commit=3be91d2 build=2026-10-14T22:10:41Z caller=cmd/server/main.go:57
        +2 info ready | pod=$pod listen=:8080 caller=cmd/server/main.go:88
        +9 info shutting down | pod=$old signal=SIGTERM caller=cmd/server/main.go:102
        :panic error panic recovered | pod=$pod method=POST path=/checkout/confirm panic="runtime error: invalid memory address or nil pointer dereference" caller=http/recover.go:41
        +0 raw github.com/example/checkout-web/internal/http.Recover.func1.1
        +0 raw \t/src/internal/http/recover.go:41
        +0 raw github.com/example/checkout-web/internal/giftcard.(*Balance).Apply
        +0 raw \t/src/internal/giftcard/balance.go:57
        +0 raw github.com/example/checkout-web/internal/checkout.(*Service).Confirm
        +0 raw \t/src/internal/checkout/confirm.go:143
        +0.001 error request completed | pod=$pod method=POST path=/checkout/confirm status=500 duration_ms={20.0..90.0}
    """
    play(web, r, timeline, ev, pod=serving, route=route(*CHECKOUT), ms=lat(60))
    timeline = r"""
        ~5 access | ip=$cip req="$req" st=$st ups=checkout-checkout-web-80 addr=$addr rt=0.{020..250}
        :panic access | ip=$cip req="POST /checkout/confirm" st=500 ups=checkout-checkout-web-80 addr=$addr rt=0.{020..090}
    """
    play(nx, r, timeline, ev, req=pick(*CHECKOUT), addr=lambda d: f"{ip[serving(d)]}:8080")
    return [web, nx], {}


def s16_orders_db_password(r: random.Random, day: int) -> tuple[list[Log], dict]:
    """PostgresAuthenticationFailures | generic | critical | 02:20:00.000 | 01:58:00
    labels: namespace=inventory service=inventory-db pod=inventory-db-0 datname=inventory user=orders_app
    summary: Password authentication failures on inventory-db
    description: inventory-db-0 logged 64 'password authentication failed' lines for user orders_app in the last 5 minutes.
    runbook: runbooks/security/expired-credentials.md
    keywords: password, credential, authentication, rotat, secret
    action: restart_deployment
    notes: The orders_app password was rotated at 01:00 (ExternalSecret synced at 01:05) but orders-worker reads it from an env var at start: as pooled connections reach their 1 h max lifetime, reconnects fail. The one pod restarted at 02:31 works. Restart orders-worker.
    """
    db = Log(day, "inventory-db", f_pg, "01:45", "02:55", variant="userdb")
    ow = Log(day, "orders-worker", f_logfmt, "01:45", "02:55")
    pods = pod_names(r, "orders-worker", 6)
    fresh, ip = f"{pods[0][:-6]}-{token(r, 5, ALPH)}", {p: pod_ip(r) for p in pods}
    restart = H("02:31:12.5")

    def stale(d: Draw) -> str:
        return d.r.choice([p for p in pods if p != pods[2] or d.t < restart])

    fails = [
        (t, {"pod": p, "ip": ip[p]})
        for t, _ in triggers(r, "~0.3>3@01:58-", 0, db.t1, {})
        for p in [stale(Draw(r, t, {}, {}))]
    ]
    play(
        db,
        r,
        PG_CONN,
        rate=1.2,
        **(PG_VALUES | {"user": ("checkout_app", "checkout_app", "search_ro", "cron_app")}),
    )
    play(db, r, PG_CKPT)
    timeline = r"""
        :fail LOG connection received: host=$ip port=$port | pid=$pid
        +0.003 FATAL password authentication failed for user "orders_app" | pid=$pid who=orders_app@inventory
        +0.003 DETAIL Connection matched pg_hba.conf line 7: "hostssl all all 10.42.0.0/16 scram-sha-256" | pid=$pid who=orders_app@inventory
        02:31:13.9 LOG connection authorized: user=orders_app database=inventory application_name=orders-worker SSL enabled (protocol=TLSv1.3, cipher=TLS_AES_256_GCM_SHA384, bits=256) | pid=$pid who=orders_app@inventory
    """
    play(db, r, timeline, {"fail": fails})
    timeline = r"""
        ~5>3 info order processed | pod=$pod order_id=ord_$id partition={0..11} duration_ms=$ms
        :fail error db acquire failed | pod=$pod err="failed to connect to `host=inventory-db-primary.inventory.svc user=orders_app database=inventory`: failed SASL auth (FATAL: password authentication failed for user \"orders_app\" (SQLSTATE 28P01))"
        *120@02:05- warn db pool degraded | pod=$pod open=$open max=20 acquire_failures_last_min={2..14}
        02:30:41.2 info shutting down | pod=$drained signal=SIGTERM reason="node drain ip-10-0-4-19"
        02:31:12.5 info starting orders-worker | pod=$fresh version=v2.18.3 db_user=orders_app db_password_from=env:DB_PASSWORD
        +1.4 info db pool ready | pod=$fresh open=20 max=20
        *300@02:32- info db pool stats | pod=$fresh open=20 max=20 in_use={3..12}
    """
    play(
        ow,
        r,
        timeline,
        {"fail": fails},
        pod=stale,
        ms=lat(170),
        open=lambda d: max(2, 20 - int((d.t - H("01:58")) / 200)),
        drained=pods[2],
        fresh=fresh,
    )
    return [db, ow], {}


def s17_search_cpu_throttling(r: random.Random, day: int) -> tuple[list[Log], dict]:
    """CPUThrottlingHigh | am | warning | 02:47:00.000 | 02:30:00
    labels: namespace=search service=search-api pod=$pod container=search-api job=kube-state-metrics
    summary: Processes experience elevated CPU throttling.
    description: 87.3% throttling of CPU in namespace search for container search-api in pod $pod.
    expr: sum(increase(container_cpu_cfs_throttled_periods_total{container!=""}[5m])) by (container, pod, namespace) / sum(increase(container_cpu_cfs_periods_total[5m])) by (container, pod, namespace) > (25 / 100)
    runbook: runbooks/kubernetes/cpu-throttling.txt
    keywords: cpu, throttl
    action: increase_cpu_limit
    notes: The weekly full catalog reindex runs inside the search-api pods with 16 threads on a 2-CPU limit: CFS throttling sends latency up, Hikari reports thread starvation and the liveness probe restarts the pod once. No release, memory flat; raise the CPU limit.
    """
    log = Log(day, "search-api", f_text, "02:00", "03:15", variant="spring")
    pod = pod_names(r, "search-api", 1)[0]
    ip = pod_ip(r)

    def up(d: Draw) -> str:
        if H("02:58:40") < d.t < H("02:59:24"):  # restarted by the liveness probe
            raise Skip
        return ""

    timeline = r"""
        ~4 info Completed request$up | $route status=$st duration_ms=$ms
        ~0.8@02:33- warn Slow request exceeded threshold$up | $route duration_ms=$slow threshold_ms=500 logger=c.e.search.web.SlowRequestLog
        02:30:00.2 info Catalog reindex started mode=full shards=24 threads=16 | logger=c.e.search.index.ReindexJob thread=reindex-main
        *240@02:31- info Catalog reindex progress shard=$shard/24 docs={180000..240000} rate_docs_per_s={300..700} | logger=c.e.search.index.ReindexJob thread=reindex-main
        *70 raw [$gcts][info][gc] GC($gcn) Pause Young (Normal) (G1 Evacuation Pause) {2300..2500}M->{1100..1250}M(3072M) $pause
        ~0.5@02:33- warn HikariPool-1 - Thread starvation or clock leap detected (housekeeper delta={31..58}s{100..999}ms). | logger=com.zaxxer.hikari.pool.HikariPool thread=HikariPool-1 housekeeper
        ~0.7@02:48-02:58:40 warn Liveness probe failed: Get "http://$ip:8080/actuator/health/liveness": context deadline exceeded (Client.Timeout exceeded while awaiting headers) | logger=k8s.Event thread=event-collector reason=Unhealthy type=Warning pod=$pod
        02:58:40.3 warn Container search-api failed liveness probe, will be restarted | logger=k8s.Event thread=event-collector reason=Killing type=Normal pod=$pod
        02:58:41.9 info Starting SearchApiApplication v2.15.1 using Java 21.0.4 with PID 1 (/app/search-api.jar started by app in /app) | logger=c.e.search.SearchApiApplication thread=main
        02:59:23.8 info Started SearchApiApplication in 41.873 seconds (process running for 42.512) | logger=c.e.search.SearchApiApplication thread=main
        +0.4 info Catalog reindex resumed from checkpoint shard=14/24 threads=16 | logger=c.e.search.index.ReindexJob thread=reindex-main
        *1800 info Runtime info version=2.15.1 build=2026-10-08T11:20:45Z availableProcessors=2 xmx=3072M gc=G1 | logger=c.e.search.ops.RuntimeInfo thread=scheduling-1
    """

    def slow(t: float) -> float:
        return 1 + 6 * ramp(t, H("02:30"), H("02:40"))

    values: dict[str, Any] = {
        "up": up,
        "ms": lat(60, slow),
        "slow": lambda d: d.r.randint(520, 2400),
        "pod": pod,
        "ip": ip,
    }
    values["route"] = route(*SEARCH)
    values["shard"] = lambda d: min(24, 1 + int((d.t - H("02:30")) / 240))
    values["gcts"] = lambda d: log.ts(d.t, z="+0000")
    values["gcn"] = lambda d: 9120 + int((d.t - log.t0) / 70)
    values["pause"] = lambda d: f"{d.r.uniform(8, 22) * slow(d.t):.3f}ms"
    play(log, r, timeline, **values)
    return [log], {"pod": pod}


def s18_ingress_5xx(r: random.Random, day: int) -> tuple[list[Log], dict]:
    """IngressHigh5xxRate | generic | critical | 02:44:00.000 | 02:24:00
    labels: namespace=ingress-nginx service=nginx-ingress ingress=checkout-web exported_namespace=checkout
    summary: More than 2% of requests to ingress checkout-web fail with 5xx
    description: 3.9% of requests to ingress checkout/checkout-web returned 5xx in the last 5 minutes, mostly 504; p99 request time 60 s.
    runbook: runbooks/traffic/5xx-latency-spike.md
    keywords: 504, 5xx, upstream, timeout, timed out, hung, unresponsive
    action: restart_deployment
    notes: One checkout-web pod (10.42.3.44) stops answering (slow from 02:24, hung from 02:31): requests routed to it time out after 60 s (504 for POSTs, GETs retried on another pod after 60 s); the other 5 pods are fine. Restart checkout-web.
    """
    nx, good = Log(day, "nginx-ingress", f_nginx, "02:00", "03:05"), [f"{pod_ip(r)}:8080" for _ in range(5)]
    timeline = r"""
        ~4@-02:24 access | ip=$cip req="$req" st=$st ups=checkout-checkout-web-80 addr=$any rt=0.{020..250}
        ~3.4@02:24- access | ip=$cip req="$req" st=$st ups=checkout-checkout-web-80 addr=$good rt=0.{020..250}
        ~0.8@02:24-02:31 access | ip=$cip req="$req" st=200 ups=checkout-checkout-web-80 addr=10.42.3.44:8080 rt={1.500..9.000}
        ~0.8@02:31- access | ip=$cip req="GET $get" st=200 ups=checkout-checkout-web-80 addr="10.42.3.44:8080, $good" ust="504, 200" urt="60.00{1..4}, 0.0{20..99}" rt=60.{050..140}
        ~0.5@02:31- error upstream timed out (110: Connection timed out) while reading response header from upstream, client: $cip, server: shop.example.com, request: "POST $post HTTP/2.0", upstream: "http://10.42.3.44:8080$post", host: "shop.example.com"
        +0 access | ip=$cip req="POST $post" st=504 ups=checkout-checkout-web-80 addr=10.42.3.44:8080 rt=60.00{1..4} urt=60.00{1..4}
        ~1.5 access | ip=$cip req="$sreq" st=$st ups=search-search-api-8080 addr=$saddr rt=0.{010..120}
        ~0.4 warn a client request body is buffered to a temporary file /tmp/client-body/00000{10000..99999}, client: $cip, server: shop.example.com, request: "POST /cart/items HTTP/2.0", host: "shop.example.com"
    """
    providers: dict[str, Any] = {
        "req": pick(*CHECKOUT),
        "get": pick("/cart", "/checkout", "/p/{sku}"),
        "post": ("/cart/items", "/checkout/confirm", "/checkout/confirm"),
        "any": tuple(good) + ("10.42.3.44:8080",),
        "good": tuple(good),
        "sreq": pick("GET /api/search?q=boots", "GET /api/suggest?q=ra", "GET /api/products/{sku}"),
        "saddr": (f"{pod_ip(r)}:8080", f"{pod_ip(r)}:8080"),
    }
    play(nx, r, timeline, **providers)
    return [nx], {}


def s19_gpu_ecc_errors(r: random.Random, day: int) -> tuple[list[Log], dict]:
    """GPUDoubleBitEccErrors | am | critical | 03:03:00.000 | 03:01:12
    labels: namespace=ml service=recsys-inference pod=$pod node=ip-10-0-7-12.eu-west-1.compute.internal gpu=2 UUID=GPU-5f8e2c1a-93b4-7d62-a0e1-c4b8d2f61e07 modelName="NVIDIA A10G" Hostname=ip-10-0-7-12 job=dcgm-exporter
    summary: Uncorrectable (double-bit) ECC errors on GPU 2 of ip-10-0-7-12
    description: DCGM reports 2 volatile double-bit ECC errors on GPU 2 (NVIDIA A10G) of node ip-10-0-7-12; memory pages are pending retirement.
    expr: DCGM_FI_DEV_ECC_DBE_VOL_TOTAL > 0
    runbook: null
    keywords: ecc, gpu
    action: null
    notes: Hardware fault, not in the knowledge base: uncorrectable ECC errors on one GPU of recsys-inference's node (CUDA error: uncorrectable ECC error encountered, Xid 48). The right answer is no runbook (escalate, replace the instance).
    """
    log = Log(day, "recsys-inference", f_text, "02:30", "03:35", variant="python")
    pod = pod_names(r, "recsys-inference", 1)[0]
    ecc = H("03:01:12.331")

    def gpu(d: Draw) -> int:
        return d.r.choice((0, 1, 3) if d.t > ecc else (0, 1, 2, 3))

    timeline = r"""
        ~4 info POST /v1/recommendations 200 | gpu=$gpu batch={1..32} latency_ms=$ms model=recsys-two-tower-v41
        *15 info gpu health | gpu=$g temp_c={48..71} util_pct={35..88} mem_used_mib={14000..19800} ecc_sbe_volatile=0 ecc_dbe_volatile=$dbe xid=$xid logger=recsys.gpu
        *600 info model cache ok | model=recsys-two-tower-v41 embeddings_mib=6144 age_s={100..3000} logger=recsys.models
        03:01:12.331 error inference failed on gpu 2 | request_id=$hex16 batch=32 logger=recsys.worker.gpu2
        +0 raw Traceback (most recent call last):
        +0 raw   File "/app/recsys/worker.py", line 211, in run_batch
        +0 raw     scores = self.model(features.to(self.device, non_blocking=True))
        +0 raw   File "/usr/local/lib/python3.11/site-packages/torch/nn/modules/module.py", line 1736, in _wrapped_call_impl
        +0 raw     return self._call_impl(*args, **kwargs)
        +0 raw RuntimeError: CUDA error: uncorrectable ECC error encountered
        +0 raw CUDA kernel errors might be asynchronously reported at some other API call, so the stacktrace below might be incorrect.
        +0 raw For debugging consider passing CUDA_LAUNCH_BLOCKING=1
        ~10@03:01:13-03:03:30 error inference failed on gpu 2: CUDA error: uncorrectable ECC error encountered | request_id=$hex16 batch={1..32} logger=recsys.worker.gpu2
        03:03:31.2 warn gpu 2 marked unhealthy after 25 consecutive CUDA errors, removing it from the pool | logger=recsys.pool
        *120@03:04- warn gpu 2 still excluded from the pool | reason="uncorrectable ECC errors (DBE), retired pages pending" pool_size=3 logger=recsys.pool
    """
    values: dict[str, Any] = {
        "gpu": gpu,
        "ms": lat(24),
        "g": lambda d: int(d.t // 15) % 4,
    }  # health checks go round the 4 GPUs
    values["dbe"] = lambda d: 2 if d["g"] == 2 and d.t > ecc else 0
    values["xid"] = lambda d: 48 if d["g"] == 2 and d.t > ecc else 0
    play(log, r, timeline, **values)
    return [log], {"pod": pod}


# ------------------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--out", type=Path, default=ROOT / "tests" / "scenarios", help="where to write the scenario folders"
    )
    ap.add_argument("--seed", type=int, default=20261001, help="base seed (each scenario adds its name)")
    args = ap.parse_args()
    scenarios = sorted((name, fn) for name, fn in globals().items() if re.fullmatch(r"s\d\d_\w+", name))
    total = 0
    for name, fn in scenarios:
        folder, day = args.out / name[1:].replace("_", "-"), int(name[1:3])
        logs, values = fn(random.Random(f"{args.seed}:{name}"), day)
        meta = read_meta(fn.__doc__, values)
        if meta["runbook"] != "null":  # the expected answer must exist in the knowledge base
            front = (ROOT / "knowledge" / meta["runbook"]).read_text().split("#", 1)[0]
            assert meta["action"] in front, f"{name}: {meta['action']} is not in {meta['runbook']}'s actions"
        (folder / "logs").mkdir(parents=True, exist_ok=True)
        for stale in set((folder / "logs").glob("*.log")) - {
            folder / "logs" / f"{log.name}.log" for log in logs
        }:
            stale.unlink()
        (folder / "alert.json").write_text(json.dumps(alert_body(meta, day), indent=2) + "\n")
        (folder / "expected.yaml").write_text(expected_yaml(meta))
        sizes = []
        for log in logs:
            text = log.text()
            assert 300 <= text.count("\n") <= 1500, f"{name}: {log.name}.log has {text.count(chr(10))} lines"
            (folder / "logs" / f"{log.name}.log").write_text(text)
            sizes.append(f"{log.name}.log {text.count(chr(10))} lines")
            total += len(text.encode())
        print(
            f"{folder.name:28} {meta['name']:34} {meta['form']:8} signal {meta['signal']} alert {meta['starts'][:8]}  {', '.join(sizes)}"
        )
    print(f"{len(scenarios)} scenarios, {total / 1e6:.2f} MB of logs")


if __name__ == "__main__":
    main()
