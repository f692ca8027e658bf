#!/usr/bin/env python3
"""Generate the busy-night scenarios (``tests/scenarios/20-*`` onward and ``tests/scenarios/_cluster/logs``).

One night on one cluster, 2026-11-27 01:00-05:00 UTC, where several things go wrong at once and every
service's logs also carry the ordinary unrelated errors of a busy night (retries that worked, a flapping
probe, a noisy CronJob, known-benign warnings). All logs are cluster-wide (``_cluster/logs``, ingested
together by ``opsagent eval``); a scenario folder holds only its ``alert.json``, its ``expected.yaml``
(written from the story below, never from triage's output) and, for one scenario, a ``services.yaml``
declaring a dependency. What happens, in UTC:

- 01:38-02:05  session-cache (Redis) cannot write its RDB snapshot (``Permission denied`` on /data after
               a volume restore); Redis then refuses writes (MISCONF) and cart-api logs tracebacks.
- 02:05-02:31  ledger-export is scaled 2 -> 24 by KEDA for the nightly export (10 connections each):
               orders-db runs out of slots (``too many clients``); checkout-api's pool times out -> 5xx.
- 02:40-05:00  shipping-db's data volume fills up (``No space left on device``, WAL PANIC, crash loop);
               shipping-api only logs ``connection refused`` dialling it.
- 03:18-04:20  node ip-10-0-7-21: a video-transcoder emptyDir fills the root disk (DiskPressure).
- 03:44-05:00  node ip-10-0-5-42: the EBS volume stalls (nvme timeouts) -> containerd hangs -> NotReady.
- 03:58        payments-api v2.4.1 rolls out; from 04:00 it throws NullPointerException on non-EUR charges.
- 04:08-05:00  rabbitmq-server-2 restarts; orders-fulfillment consumers reconnect but never consume.
- 04:12-05:00  an ad-hoc report on replica inventory-db-2 blocks WAL replay: catalog reads go stale.
- 04:31-05:00  one storefront-web pod (10.42.6.19) hangs; ingress returns 504 for it; a blackbox probe fails.
- 04:45/04:50  an Elasticsearch health alert (no ES logs at all) and a catalog-api TargetDown whose logs
               are clean: nothing in the logs explains either.

Deterministic (stdlib only, seeded). Reuses the timeline machinery of ``gen_scenarios.py``.

    python scripts/gen_busy_night.py [--out DIR] [--seed N]
"""
# ruff: noqa: E501

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen_scenarios as gs  # noqa: E402
from gen_scenarios import ALPH, Draw, H, Log, lat, pick, play, pod_ip, pod_names, token  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NIGHT = datetime(2026, 11, 27, tzinfo=UTC)
START, END = "01:00", "05:00"


def night_log(name: str, fmt: Any, **opts: str) -> Log:
    """A log covering the whole night (gen_scenarios' Log dates itself in October; move it)."""
    log = Log(1, name, fmt, START, END, **opts)
    log.base = NIGHT
    return log


# ------------------------------------------------------------------------------------------------
# Formats not in gen_scenarios: fmt(log, t, level, message, fields) -> line.

PRIO = {"debug": 7, "info": 6, "warn": 4, "error": 3, "crit": 2}


def _node_message(log: Log, t: float, lvl: str, msg: str, f: dict) -> tuple[str, int, str]:
    prog, pid = f.pop("prog"), f.pop("pid", 0)
    if "src" in f:
        msg = gs.klog(log, t, lvl, f.pop("src"), msg, pid)
    elif prog == "containerd":
        level = "warning" if lvl == "warn" else lvl
        msg = f'time="{log.ts(t, 9)}" level={level} msg={json.dumps(msg)} {gs.kv(f)}'.rstrip()
    return prog, pid, msg


def f_syslog(log: Log, t: float, lvl: str, msg: str, f: dict) -> str:
    """RFC 3164 /var/log/syslog as rsyslog writes it; the kernel's lines keep printk's uptime stamp."""
    prog, pid, msg = _node_message(log, t, lvl, msg, f)
    d = log.d(t)
    head = f"{d:%b} {d.day:>2} {d:%H:%M:%S} {log.host} "
    if prog == "kernel":
        return f"{head}kernel: [{1_204_311.5 + t:.6f}] {msg}"
    return f"{head}{prog}[{pid}]: {msg}"


def f_journal(log: Log, t: float, lvl: str, msg: str, f: dict) -> str:
    """`journalctl -o json`: kernel lines carry their priority; daemons' stdout is all PRIORITY 6."""
    prog, pid, msg = _node_message(log, t, lvl, msg, f)
    usec = int(log.d(t).timestamp() * 1_000_000)
    seq = gs.h(t, 10**7)
    kernel = prog == "kernel"
    entry = {
        "__CURSOR": f"s=6f0a9e2d4c1b4f7e9a8b7c6d5e4f3a2b;i={seq:x};b={BOOT};m={usec - BOOTED:x};t={usec:x};x={hashlib.md5(msg.encode()).hexdigest()[:16]}",
        "__REALTIME_TIMESTAMP": str(usec),
        "__MONOTONIC_TIMESTAMP": str(usec - BOOTED),
        "_BOOT_ID": BOOT,
        "PRIORITY": str(PRIO[lvl] if kernel else 6),
        "SYSLOG_FACILITY": "0" if kernel else "3",
        "SYSLOG_IDENTIFIER": prog,
        "_TRANSPORT": "kernel" if kernel else "stdout",
        "_HOSTNAME": log.host,
        "MESSAGE": msg,
    }
    if not kernel:
        entry |= {"_PID": str(pid), "_COMM": prog, "_SYSTEMD_UNIT": f"{prog}.service"}
    return json.dumps(entry, separators=(",", ":"))


BOOT = "3c1d9b7e5a2f4e08b6d1c9a7e3f5b2d4"
BOOTED = int(datetime(2026, 11, 13, 9, 12, 4, tzinfo=UTC).timestamp() * 1_000_000)


def f_redis(log: Log, t: float, lvl: str, msg: str, f: dict) -> str:
    """Redis server log: `pid:role dd Mon yyyy HH:MM:SS.mmm <mark> message`."""
    d = log.d(t)
    mark = {"debug": ".", "info": "*", "warn": "#", "error": "#"}[lvl]
    return f"{f.get('rpid', 1)}:{f.get('role', 'M')} {d.day:02d} {d:%b %Y %H:%M:%S}.{d.microsecond // 1000:03d} {mark} {msg}"


def f_log4j(log: Log, t: float, lvl: str, msg: str, f: dict) -> str:
    """log4j2 `%d{yyyy-MM-dd HH:mm:ss.SSS} [%t] %-5level %logger{36} - %msg%n`."""
    thread = f.pop("thread", f"http-nio-8080-exec-{gs.h(t, 40) + 1}")
    return f"{log.ts(t, sep=' ', z='')} [{thread}] {lvl.upper():<5} {f.pop('logger', 'c.e.checkout.web.RequestLog')} - {msg}"


def f_golog(log: Log, t: float, lvl: str, msg: str, f: dict) -> str:
    """Go's standard `log` with Ldate|Lmicroseconds|Lshortfile; the app prefixes warnings and errors itself."""
    d = log.d(t)
    tag = {"warn": "WARN ", "error": "ERROR "}.get(lvl, "")
    return f"{d:%Y/%m/%d %H:%M:%S}.{d.microsecond:06d} {f.pop('src', 'server.go:112')}: {tag}{msg} {gs.kv(f)}".rstrip()


def f_pino(log: Log, t: float, lvl: str, msg: str, f: dict) -> str:
    """pino (Node.js) JSON: numeric level, epoch-millis `time`."""
    head: dict[str, Any] = {
        "level": {"debug": 20, "info": 30, "warn": 40, "error": 50}[lvl],
        "time": int(log.d(t).timestamp() * 1000),
    }
    head |= {"pid": 1, "hostname": f.pop("pod"), "msg": msg}
    return json.dumps(head | f, separators=(",", ":"))


def f_event(log: Log, t: float, lvl: str, msg: str, f: dict) -> str:
    """A Kubernetes Event as kubernetes-event-exporter dumps it (one JSON object per line)."""
    ts, rng = log.ts(t, 0), random.Random(t)
    kind, name, ns = f["kind"], f["obj"], f.get("ns", "")
    source = {"component": f["comp"]} | ({"host": f["host"]} if "host" in f else {})
    return json.dumps(
        {
            "metadata": {
                "name": f"{name}.{hashlib.md5(repr(t).encode()).hexdigest()[:16]}",
                "namespace": ns or "default",
                "uid": "-".join(token(rng, n) for n in (8, 4, 4, 4, 12)),
                "resourceVersion": str(88_000_000 + int(t)),
                "creationTimestamp": ts,
            },
            "reason": f["reason"],
            "message": msg,
            "source": source,
            "firstTimestamp": ts,
            "lastTimestamp": ts,
            "count": 1,
            "type": "Warning" if lvl in ("warn", "error") else "Normal",
            "eventTime": None,
            "reportingComponent": f["comp"],
            "reportingInstance": f.get("host", ""),
            "involvedObject": {"kind": kind, "namespace": ns, "name": name, "apiVersion": f.get("api", "v1")},
        },
        separators=(",", ":"),
    )


# ------------------------------------------------------------------------------------------------
# Nodes.

NODE_EXTRA = r"""
*900 warn "Probe failed" probeType="Readiness" pod="monitoring/blackbox-exporter-$sfx" podUID="$uid" containerName="blackbox-exporter" probeResult="failure" output="Get \"http://$pip:9115/-/healthy\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)" | src=prober.go:107
+30 info "SyncLoop (probe)" probe="readiness" status="ready" pod="monitoring/blackbox-exporter-$sfx" | src=kubelet.go:2452
*3600@01:00:40- error "Error syncing pod, skipping" err="failed to \"StartContainer\" for \"mailer\" with CrashLoopBackOff: \"back-off 5m0s restarting failed container=mailer pod=report-mailer-{29394060..29394299}-${sfx}_(reports)\"" pod="reports/report-mailer-{29394060..29394299}-$sfx" | src=pod_workers.go:1301
~0.1 info IPv4: martian source 10.42.{0..7}.1 from 10.42.{0..7}.{2..250}, on dev eth1 | prog=kernel
*1800 warn "Failed to pull image" err="rpc error: code = Canceled desc = failed to pull and unpack image \"public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.2\": context canceled" image="public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.2" | src=kuberuntime_image.go:55
+41 info "Successfully pulled image" image="public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.2" duration="{3.1..9.8}s" | src=kuberuntime_image.go:63
"""

DISK_PRESSURE = r"""
03:14:05 info "SyncLoop ADD" source="api" pods=["media/$tx"] | src=kubelet.go:2407
+1.4 info StartContainer for "$hex64" returns successfully | prog=containerd pid=$cpid
*300@03:18:40-04:20 warn "Image garbage collection failed multiple times in a row" err="failed to garbage collect required amount of images. Attempted to free {8000000000..9900000000} bytes, but only found 0 bytes eligible to free" | src=kubelet.go:1400
*60@03:21-04:20 warn "Eviction manager: attempting to reclaim" resourceName="ephemeral-storage" | src=eviction_manager.go:366
+0.01 info "Eviction manager: must evict pod(s) to reclaim" resourceName="ephemeral-storage" | src=eviction_manager.go:377
+0.02 info "Eviction manager: pods ranked for eviction" pods=["media/$tx","monitoring/node-exporter-7m4qz","kube-system/aws-node-q8t2w"] | src=eviction_manager.go:395
*60@03:22-04:20 error "Failed to rotate log for container" err="failed to rotate log \"/var/log/pods/media_${tx}_$uid/transcoder/0.log\": failed to reopen container log \"$hex64\": rpc error: code = Unknown desc = failed to create and open log file: open /var/log/pods/media_${tx}_$uid/transcoder/0.log: no space left on device" worker=1 containerID="$hex64" | src=container_log_manager.go:271
*240@03:23-04:20 error PullImage "registry.example.com/shop/reco-api:3.2.1" failed | prog=containerd pid=$cpid error="failed to pull and unpack image \"registry.example.com/shop/reco-api:3.2.1\": failed to extract layer sha256:$hex64: write /var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/{4100..4199}/fs/usr/lib/x86_64-linux-gnu/libLLVM-15.so.1: no space left on device: unknown"
03:27:31 error file '/var/log/syslog': write error - see https://www.rsyslog.com/solving-rsyslog-write-errors/ for help OS error: No space left on device [v8.2302.0 try https://www.rsyslog.com/e/2027 ] | prog=rsyslogd pid=811
03:29:02 info "Eviction manager: pod is evicted successfully" pod="media/$tx" | src=eviction_manager.go:616
03:31:40 info "SyncLoop ADD" source="api" pods=["media/$tx2"] | src=kubelet.go:2407
04:18:12 info "SyncLoop DELETE" source="api" pods=["media/$tx2"] | src=kubelet.go:2423
"""

NOT_READY = r"""
~2@03:44:10-03:50 warn nvme nvme1: I/O {100..900} QID {1..4} timeout, aborting | prog=kernel
+0.5 warn nvme nvme1: Abort status: 0x371 | prog=kernel
*60@03:45-05:00 error nvme nvme1: I/O {100..900} QID {1..4} timeout, reset controller | prog=kernel
*120@03:46:20-05:00 error INFO: task containerd:1042 blocked for more than {122..600} seconds. | prog=kernel
+0 error       Not tainted 6.1.112-124.190.amzn2023.x86_64 #1 | prog=kernel
+0 error "echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message. | prog=kernel
*30@03:45:30-05:00 error ExecSync for "$hex64" failed | prog=containerd pid=1042 error="rpc error: code = DeadlineExceeded desc = failed to exec in container: timeout 1s exceeded: context deadline exceeded"
*30@03:46-05:00 error "GenericPLEG: Unable to retrieve pods" err="rpc error: code = DeadlineExceeded desc = context deadline exceeded" | src=generic.go:238
*30@03:47:40-05:00 info "Skipping pod synchronization" err="PLEG is not healthy: pleg was last seen active {3..9}m{0..59}.{1..9}s ago; threshold is 3m0s" | src=kubelet.go:2391
03:47:41 info "Node became not ready" node="ip-10-0-5-42" condition={"type":"Ready","status":"False","lastHeartbeatTime":"2026-11-27T03:47:41Z","lastTransitionTime":"2026-11-27T03:47:41Z","reason":"KubeletNotReady","message":"PLEG is not healthy: pleg was last seen active 3m0.6s ago; threshold is 3m0s"} | src=setters.go:600
"""


def nodes(r: random.Random) -> list[Log]:
    """Three workers: one healthy, one whose root disk fills up, one whose data volume stalls."""
    out = []
    for host, fmt, pid, cpid, story, until in (
        ("ip-10-0-1-8", f_syslog, 1877, 1021, "", 1e9),
        ("ip-10-0-7-21", f_syslog, 1893, 1033, DISK_PRESSURE, 1e9),
        ("ip-10-0-5-42", f_journal, 1911, 1042, NOT_READY, H("03:44")),
    ):
        log = night_log(host, fmt, host=host, defaults=f"prog=kubelet pid={pid}")
        values = gs.node_values(cpid, until) | {
            "tx": "video-transcoder-5d8f7c6b9-q2x7k",
            "tx2": "video-transcoder-5d8f7c6b9-z8m4n",
        }
        play(log, r, gs.NODE_NOISE + NODE_EXTRA + story, **values)
        out.append(log)
    return out


# ------------------------------------------------------------------------------------------------
# Databases (PostgreSQL, log_line_prefix '%m [%p] %q%u@%d ').

PG_NOISE = r"""
~$rate LOG connection received: host=$pip port=$port | pid=$pid
+0.004 LOG connection authorized: user=$user database=$db application_name=$app | pid=$pid who=$user@$db
+$sess LOG disconnection: session time: 0:$stime user=$user database=$db host=$pip port=$port | pid=$pid who=$user@$db
~0.3 LOG duration: {1000.000..2600.000} ms  execute <unnamed>: $query | pid=$pid who=$user@$db
*300 LOG checkpoint starting: time | pid=68
+{60..250} LOG checkpoint complete: wrote {900..4200} buffers (1.{10..99}%); 0 WAL file(s) added, 0 removed, {1..3} recycled; write=52.402 s, sync=0.011 s, total=52.502 s; sync files={40..90}, longest=0.004 s, average=0.001 s; distance={9000..40000} kB, estimate={30000..42000} kB | pid=68
~0.08 WARNING there is no transaction in progress | pid=$pid who=$user@$db
~0.05 ERROR could not serialize access due to concurrent update | pid=$pid who=$user@$db
+0 STATEMENT UPDATE $table SET status = $$1, updated_at = now() WHERE id = $$2 | pid=$pid who=$user@$db
"""


def pg_values(
    db: str, apps: dict[str, str], tables: tuple[str, ...], queries: tuple[str, ...]
) -> dict[str, Any]:
    sess = lambda d: round(d.r.uniform(20, 1500), 3)  # noqa: E731
    return {
        "db": db,
        "user": tuple(apps),
        "app": lambda d: apps[d["user"]],
        "sess": sess,
        "stime": lambda d: f"{int(d['sess']) // 60:02d}:{d['sess'] % 60:06.3f}",
        "query": queries,
        "table": tables,
    }


ORDERS_DB = r"""
02:04:58 LOG duration: 1203.114 ms  statement: SELECT ledger_export_claim_shard($$1) | pid=30877 who=ledger_app@orders
~14@02:05:31-02:06:20 LOG connection authorized: user=ledger_app database=orders application_name=ledger-export | pid=$pid who=ledger_app@orders
~9@02:06:20-02:31 FATAL sorry, too many clients already | pid=$pid who=$fuser@orders
~3@02:06:20-02:31 FATAL remaining connection slots are reserved for non-replication superuser connections | pid=$pid who=$fuser@orders
~6@02:31-02:33 LOG disconnection: session time: 0:{25..27}:{10.000..59.999} user=ledger_app database=orders host=$pip port=$port | pid=$pid who=ledger_app@orders
"""

SHIPPING_ARCHIVE = r"""
*1800@01:00-02:30 LOG duration: {180000.000..240000.000} ms  statement: INSERT INTO shipment_events_archive SELECT * FROM shipment_events WHERE created_at < now() - interval '30 days' | pid=$pid who=shipping@shipping
"""
SHIPPING_DB = r"""
02:40:05.118 ERROR could not extend file "base/16385/91234.3": No space left on device | pid=51201 who=shipping@shipping
+0 HINT Check free disk space. | pid=51201 who=shipping@shipping
+0 STATEMENT INSERT INTO shipment_events_archive SELECT * FROM shipment_events WHERE created_at < now() - interval '30 days' | pid=51201 who=shipping@shipping
~3@02:40:06-02:41:12 ERROR could not extend file "base/16385/{91234..91240}.{1..9}": No space left on device | pid=$pid who=shipping@shipping
02:41:12.044 PANIC could not write to file "pg_wal/xlogtemp.412": No space left on device | pid=412
+0.2 LOG server process (PID 412) was terminated by signal 6: Aborted | pid=1
+0.2 LOG terminating any other active server processes | pid=1
+0.6 LOG all server processes terminated; reinitializing | pid=1
+0.8 LOG database system was interrupted; last known up at 2026-11-27 02:36:01 UTC | pid=431
+1.0 FATAL could not write to file "pg_wal/xlogtemp.431": No space left on device | pid=431
+1.1 LOG startup process (PID 431) exited with exit code 1 | pid=1
+1.1 LOG aborting startup due to startup process failure | pid=1
+1.2 LOG database system is shut down | pid=1
*300@02:44-05:00 LOG starting PostgreSQL 16.4 (Debian 16.4-1.pgdg120+2) on x86_64-pc-linux-gnu, compiled by gcc (Debian 12.2.0-14) 12.2.0, 64-bit | pid=1
+0.1 LOG listening on IPv4 address "0.0.0.0", port 5432 | pid=1
+0.3 LOG database system was interrupted while in recovery at 2026-11-27 02:41:13 UTC | pid=27
+0.3 HINT This probably means that some data is corrupted and you will have to use the last backup for recovery. | pid=27
+0.9 FATAL could not write to file "pg_wal/xlogtemp.27": No space left on device | pid=27
+1.0 LOG startup process (PID 27) exited with exit code 1 | pid=1
+1.0 LOG aborting startup due to startup process failure | pid=1
+1.1 LOG database system is shut down | pid=1
"""

REPLICA = r"""
*600 LOG restartpoint starting: time | pid=64
+{30..90} LOG restartpoint complete: wrote {900..4200} buffers ({1..4}.{10..99}%); 0 WAL file(s) added, 0 removed, {1..4} recycled; write=26.902 s, sync=0.006 s, total=26.951 s; sync files={30..80}, longest=0.004 s, average=0.001 s; distance={9000..90000} kB, estimate={30000..90000} kB | pid=64
+{31..91} LOG recovery restart point at {3A..4B}/{10..99}A0{1000..9999} | pid=64
+0 DETAIL Last completed transaction was at log time 2026-11-27 $last+00 | pid=64
~2 LOG duration: {1000.000..1900.000} ms  execute <unnamed>: SELECT sku, available FROM stock_levels WHERE sku = ANY($$1) | pid=$pid who=search_ro@inventory
04:12:03 LOG connection authorized: user=analyst database=inventory application_name=Metabase v0.50.21 [report: nightly-stock-reconciliation] | pid=9121 who=analyst@inventory
*150@04:13:10-05:00 LOG recovery still waiting after 1000.{100..999} ms: recovery conflict on snapshot | pid=31
+0 DETAIL Conflicting process: 9121. | pid=31
+0 CONTEXT WAL redo at 4C/{10..99}{1000..9999}C8 for Heap2/PRUNE: snapshotConflictHorizon: {88120000..88129999}, isCatalogRel: F, nredirected: 0, ndead: {1..9}, nunused: 0, redirected: [], dead: [{1..60}], unused: []; blkref #0: rel 1663/16384/16621, blk {9000..9999} | pid=31
"""


def databases(r: random.Random) -> list[Log]:
    orders = night_log("orders-db", gs.f_pg, variant="userdb")
    apps = {
        "checkout_app": "checkout-api",
        "orders_app": "orders-worker",
        "ledger_app": "ledger-export",
        "cron_app": "report-mailer",
    }
    q = (
        "SELECT * FROM orders WHERE customer_id = $1 ORDER BY created_at DESC LIMIT 20",
        "SELECT id, status FROM order_items WHERE order_id = ANY($1)",
    )
    play(
        orders,
        r,
        PG_NOISE + ORDERS_DB,
        rate=2,
        fuser=("checkout_app",) * 3 + ("orders_app", "ledger_app"),
        **pg_values("orders", apps, ("orders", "order_items"), q),
    )
    shipping = night_log("shipping-db", gs.f_pg, variant="userdb")
    apps = {"shipping": "shipping-api", "shipping_ro": "label-printer"}
    q = (
        "SELECT * FROM shipments WHERE order_id = $1",
        "SELECT carrier, count(*) FROM shipments WHERE created_at > $1 GROUP BY 1",
    )
    play(
        shipping,
        r,
        PG_NOISE + SHIPPING_ARCHIVE,
        until="02:40",
        rate=1.2,
        **pg_values("shipping", apps, ("shipments", "labels"), q),
    )
    play(shipping, r, SHIPPING_DB, pid=lambda d: d.r.randint(20000, 64000))
    inventory = night_log("inventory-db", gs.f_pg, variant="userdb")

    # replay stops at the last transaction before the report's conflict: later restartpoints say so
    def last(d: Draw) -> str:
        return (NIGHT + gs.timedelta(seconds=min(d.t - d.r.uniform(0.1, 2), H("04:13:09.4")))).strftime(
            "%H:%M:%S.%f"
        )

    play(inventory, r, REPLICA, last=last)
    return [orders, shipping, inventory]


# ------------------------------------------------------------------------------------------------
# Applications.

CHECKOUT = r"""
~4 info $req -> $st in $ms ms | logger=c.e.checkout.web.RequestLog
~0.2 warn HHH90003004: firstResult/maxResults specified with collection fetch; applying in memory | logger=o.h.orm.query thread=http-nio-8080-exec-{1..40}
~0.15 warn Call to payments-api failed (attempt 1 of 3): 503 Service Unavailable; retrying in 200 ms | logger=c.e.checkout.payments.PaymentsClient
+0.3 info Call to payments-api succeeded on attempt 2 | logger=c.e.checkout.payments.PaymentsClient
*60 info HikariPool-1 - Pool stats (total=10, active={1..4}, idle={6..9}, waiting=0) | logger=com.zaxxer.hikari.pool.HikariPool thread=HikariPool-1:housekeeper
~2@02:06:40-02:31 error Could not open JDBC connection to orders-db.data.svc.cluster.local:5432/orders for order ord_$id | logger=c.e.checkout.orders.OrderRepository
+0 raw org.springframework.jdbc.CannotGetJdbcConnectionException: Failed to obtain JDBC Connection
+0 raw \tat org.springframework.jdbc.datasource.DataSourceUtils.getConnection(DataSourceUtils.java:84)
+0 raw \tat org.springframework.jdbc.core.JdbcTemplate.execute(JdbcTemplate.java:388)
+0 raw \tat com.example.checkout.orders.OrderRepository.reserve(OrderRepository.java:142)
+0 raw \tat com.example.checkout.web.CheckoutController.confirm(CheckoutController.java:77)
+0 raw Caused by: java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available, request timed out after 30000ms (total=10, active=10, idle=0, waiting={12..40})
+0 raw \tat com.zaxxer.hikari.pool.HikariPool.createTimeoutException(HikariPool.java:686)
+0 raw \tat com.zaxxer.hikari.pool.HikariPool.getConnection(HikariPool.java:179)
+0 raw \t... 58 common frames omitted
+0 raw Caused by: org.postgresql.util.PSQLException: The connection attempt failed.
+0 raw \tat org.postgresql.core.v3.ConnectionFactoryImpl.openConnectionImpl(ConnectionFactoryImpl.java:354)
+0 raw \t... 6 common frames omitted
+0 raw Caused by: java.net.SocketTimeoutException: Connect timed out
+0 raw \tat java.base/sun.nio.ch.NioSocketImpl.timedFinishConnect(NioSocketImpl.java:551)
+0 raw \t... 12 common frames omitted
+0.002 error POST /api/checkout/confirm -> 500 in {30001..30090} ms | logger=c.e.checkout.web.RequestLog
*60@02:06:30-02:31 warn HikariPool-1 - Pool stats (total=10, active=10, idle=0, waiting={12..40}) | logger=com.zaxxer.hikari.pool.HikariPool thread=HikariPool-1:housekeeper
"""

LEDGER = r"""
*3600@01:00:05- info heartbeat: no export scheduled | logger=ledger.scheduler
02:05:28 info nightly export 2026-11-26 started: 24 shards | logger=ledger.scheduler
~18@02:05:31-02:06:20 info worker started shard=$shard/24 pool_size=10 db=orders-db.data.svc.cluster.local | logger=ledger.worker
~6@02:06:20-02:30 warn could not connect to orders-db, retrying in 2s: connection to server at "orders-db.data.svc.cluster.local" (10.43.8.21), port 5432 failed: FATAL:  sorry, too many clients already | logger=ledger.db
~20@02:06-02:31 info exported batch shard=$shard/24 rows=5000 | logger=ledger.worker
02:31:02 info nightly export 2026-11-26 complete: 24 shards, 2,918,220 rows in 25m34s | logger=ledger.scheduler
"""

CART = r"""
~5 info $req $st {3..40}ms | logger=cart.http
~0.3 warn pricing-api timed out after 800ms, retrying (1/2) | logger=cart.pricing
+0.4 info pricing-api responded on retry (2/2) | logger=cart.pricing
*1800 warn DeprecationWarning: datetime.datetime.utcnow() is deprecated and scheduled for removal in a future version. | logger=py.warnings
~1.5@01:38:20-02:05:10 error failed to persist session sess_$id | logger=cart.sessions
+0 raw Traceback (most recent call last):
+0 raw   File "/app/cart/sessions.py", line 88, in save
+0 raw     self.redis.setex(key, self.ttl, payload)
+0 raw   File "/usr/local/lib/python3.12/site-packages/redis/commands/core.py", line 2338, in setex
+0 raw     return self.execute_command("SETEX", name, time, value)
+0 raw   File "/usr/local/lib/python3.12/site-packages/redis/client.py", line 559, in execute_command
+0 raw     return conn.retry.call_with_retry(
+0 raw   File "/usr/local/lib/python3.12/site-packages/redis/connection.py", line 616, in read_response
+0 raw     raise response
+0 raw redis.exceptions.ResponseError: MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.
+0.001 error POST /cart/items 500 {3..9}ms | logger=cart.http
"""

REDIS = r"""
*300@01:00-01:37 info 100 changes in 300 seconds. Saving...
+0.002 info Background saving started by pid $bg
+0.4 info DB saved on disk | rpid=$bg role=C
+0.4 info Fork CoW for RDB: current {1..3} MB, peak {2..4} MB, average {1..2} MB | rpid=$bg role=C
+0.5 info Background saving terminated with success
*300@02:05:30- info 100 changes in 300 seconds. Saving...
+0.002 info Background saving started by pid $bg
+0.4 info DB saved on disk | rpid=$bg role=C
+0.5 info Background saving terminated with success
*30@01:38:04-02:05:10 info 100 changes in 300 seconds. Saving...
+0.002 info Background saving started by pid $bg
+0.003 warn Failed opening the temp RDB file temp-$bg.rdb (in server root dir /data) for saving: Permission denied | rpid=$bg role=C
+0.1 warn Background saving error
~0.15 warn Client id={1000..9999} addr=10.42.{0..7}.{2..250}:{32768..60999} laddr=10.42.2.31:6379 fd={10..90} name= age={100..9000} idle=0 flags=P db=0 sub=0 psub=1 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=1024 rbp=0 obl=0 oll={100..900} omem={8000000..9000000} tot-mem={8000000..9000000} events=rw cmd=psubscribe user=default redir=-1 resp=2 lib-name=redis-py lib-ver=5.0.8 scheduled to be closed ASAP for overcoming of output buffer limits.
"""

SHIPPING = r"""
~4 info $req status=$st dur=$ms | src=server.go:112
~0.3 warn carrier $carrier slow response dur={2.1..4.9}s | src=carriers.go:88
~0.15 warn carrier $carrier: attempt 1/3 failed: 502 Bad Gateway, retrying | src=carriers.go:131
+1.1 info carrier $carrier: attempt 2/3 ok | src=carriers.go:131
~5@02:41:12-05:00 error $dberr | src=store.go:57
+0.001 info $req status=500 dur={1.0..9.0}ms | src=server.go:112
"""

PAYMENTS = r"""
~4 info Completed $req $st in $ms ms | logger=c.e.payments.web.AccessLog
*600 info Pool stats (total=20, active={2..6}, idle={14..18}, waiting=0) | logger=com.zaxxer.hikari.pool.HikariPool thread=HikariPool-1:housekeeper
~0.2 warn PayGrid call failed (attempt 1/3): Read timed out; retrying | logger=c.e.payments.paygrid.PayGridClient
+0.6 info PayGrid call succeeded on attempt 2 | logger=c.e.payments.paygrid.PayGridClient
:stop info Commencing graceful shutdown. Waiting for active requests to complete | logger=o.s.b.w.e.tomcat.GracefulShutdown thread=tomcat-shutdown
+1.1 info Graceful shutdown complete | logger=o.s.b.w.e.tomcat.GracefulShutdown thread=tomcat-shutdown
:start info Starting PaymentsApiApplication v2.4.1 using Java 21.0.5 with PID 1 (/app/app.jar started by app in /app) | logger=c.e.payments.PaymentsApiApplication thread=main
+6.2 warn spring.jpa.open-in-view is enabled by default. Therefore, database queries may be performed during view rendering. Explicitly configure spring.jpa.open-in-view to disable this warning | logger=JpaBaseConfiguration$$JpaWebConfiguration thread=main
+9.8 info Started PaymentsApiApplication in 10.{10..99} seconds (process running for 11.{10..99}) | logger=c.e.payments.PaymentsApiApplication thread=main
+9.9 info Started payments-api version v2.4.1 (commit 4e1f2a9, built 2026-11-26T17:02:11Z) | logger=c.e.payments.BuildInfo thread=main
~2.5@04:00:20-05:00 error Servlet.service() for servlet [dispatcherServlet] in context with path [] threw exception [Request processing failed: java.lang.NullPointerException: Cannot invoke "java.math.BigDecimal.multiply(java.math.BigDecimal)" because "rate" is null] with root cause | logger=o.a.c.c.C.[.[.[/].[dispatcherServlet]
+0 raw java.lang.NullPointerException: Cannot invoke "java.math.BigDecimal.multiply(java.math.BigDecimal)" because "rate" is null
+0 raw \tat com.example.payments.fx.FxConverter.toSettlement(FxConverter.java:58)
+0 raw \tat com.example.payments.charges.ChargeService.create(ChargeService.java:131)
+0 raw \tat com.example.payments.web.ChargeController.create(ChargeController.java:49)
+0 raw \tat java.base/jdk.internal.reflect.DirectMethodHandleAccessor.invoke(DirectMethodHandleAccessor.java:103)
+0.001 info Completed POST /v1/charges 500 in {5..30} ms | logger=c.e.payments.web.AccessLog
"""

FULFILLMENT = r"""
~4@01:00-04:08 info task done | pod=$pod task_id=tsk_$id kind={pick|pack|label} duration_ms=$ms
*60 info consumer stats | pod=$pod queue=fulfillment.tasks prefetch=20 delivered_last_min=$delivered unacked={0..20}
~0.2 warn parcelio label API slow, retrying | pod=$pod attempt=1 status=503
+1.2 info parcelio label created | pod=$pod attempt=2
:lost warn connection to rabbitmq lost, reconnecting | pod=$pod broker=rabbitmq-server-2.rabbitmq-nodes.messaging.svc:5672 error="EOF"
+9.5 info connection recovered | pod=$pod broker=rabbitmq-server-0.rabbitmq-nodes.messaging.svc:5672
"""

RABBIT = r"""
*60 info accepting AMQP connection <0.{3000..9000}.0> (10.42.{0..7}.{2..250}:{32768..60999} -> 10.42.3.{10..20}:5672)
+0.02 info connection <0.{3000..9000}.0> (10.42.{0..7}.{2..250}:{32768..60999} -> 10.42.3.{10..20}:5672): user 'orders' authenticated and granted access to vhost 'orders'
~0.1 warn closing AMQP connection <0.{3000..9000}.0> (10.42.{0..7}.{2..250}:{32768..60999} -> 10.42.3.{10..20}:5672, vhost: 'orders', user: 'orders'): client unexpectedly closed TCP connection
04:08:12 info RabbitMQ is asked to stop...
+0.5 info Stopping RabbitMQ applications and their dependencies in the following order:
+4 info Successfully stopped RabbitMQ and its dependencies
+46 info Starting RabbitMQ 3.13.7 on Erlang 26.2.5.3 [jit]
+58 info Server startup complete; 5 plugins started.
*120@04:12-05:00 warn queue 'fulfillment.tasks' in vhost 'orders': {20000..60000} messages ready, 0 unacknowledged, 6 consumers, 0 deliveries in the last 2 minutes
"""

SEARCH = r"""
~4 info request completed | logger=c.e.search.web.RequestLog path=/api/search status=200 duration_ms={8..60}
~0.2 warn slow query on replica | logger=c.e.search.stock.StockClient duration_ms={900..1900} host=inventory-db-2.inventory-db.inventory.svc
*60@04:16- warn stock read is stale | logger=c.e.search.stock.StockClient replica=inventory-db-2 replica_lag_seconds=$lag
~1@04:18- warn stock mismatch: search said in stock, checkout reserved 0 | logger=c.e.search.stock.Reconciler sku={10000..99999}
"""

STOREFRONT = r"""
~6 info request completed | pod=$pod req.method=GET req.url=$url res.statusCode=200 responseTime={5..90}
~0.3 warn upstream catalog-api slow | pod=$pod responseTime={900..2500} retry=1
*120 info event loop lag | pod=$pod lagMs={1..20}
04:30:50 warn event loop lag high | pod=$bad lagMs=5123
+4 error event loop blocked: no progress for 10s | pod=$bad lagMs=10077
"""

NGINX = r"""
~5 access | ip=$cip req="GET $url" st=200 ups=storefront-storefront-web-80 addr=$addr rt=0.{020..250}
~3 access | ip=$cip req="POST /api/checkout/confirm" st=200 ups=checkout-checkout-api-8080 addr=10.42.{0..7}.{2..250}:8080 rt=0.{100..400}
~0.1 access | ip=$cip req="GET $url" st=499 ups=storefront-storefront-web-80 addr=$addr rt=0.{300..900}
~0.05 error client intended to send too large body: {1100000..9000000} bytes, client: $cip, server: shop.example.com, request: "POST /api/reviews/photos HTTP/2.0", host: "shop.example.com"
~2@04:31-05:00 error upstream timed out (110: Operation timed out) while reading response header from upstream, client: $cip, server: shop.example.com, request: "GET $url HTTP/2.0", upstream: "http://10.42.6.19:3000$url", host: "shop.example.com"
+0 access | ip=$cip req="GET $url" st=504 ups=storefront-storefront-web-80 addr=10.42.6.19:3000 rt=60.00{1..9} urt=60.001
*30@04:31-05:00 access | ip=203.0.113.50 req="GET /healthz" st=504 ups=storefront-storefront-web-80 addr=10.42.6.19:3000 rt=60.00{1..9} urt=60.001 ua=Blackbox-Exporter/0.25.0
"""

CATALOG = r"""
~4 info request completed | pod=$pod method=GET path=/v2/products/{10000..99999} status=200 duration_ms={3..40}
~0.1 warn cache refill slow | pod=$pod keys={100..900} duration_ms={300..900}
*300 info stats | pod=$pod goroutines={80..140} heap_mb={180..260} cache_hit_ratio=0.9{1..9}
"""


def applications(r: random.Random) -> list[Log]:
    logs = []
    checkout = night_log("checkout-api", f_log4j)
    play(
        checkout,
        r,
        CHECKOUT,
        req=pick("GET /api/cart", "POST /api/checkout/confirm", "GET /api/checkout/summary"),
        st=(200,) * 20 + (400, 404),
        ms=lat(60),
    )
    ledger = night_log("ledger-export", gs.f_text, variant="python")
    play(ledger, r, LEDGER, shard=lambda d: d.r.randint(1, 24))
    cart = night_log("cart-api", gs.f_text, variant="python")
    play(
        cart,
        r,
        CART,
        req=pick("GET /cart", "POST /cart/items", "DELETE /cart/items/{sku}"),
        st=(200,) * 20 + (404,),
    )
    redis = night_log("session-cache", f_redis)
    play(redis, r, REDIS, bg=lambda d: 2000 + int(d.t) % 9000)
    shipping = night_log("shipping-api", f_golog)
    dberr = pick(
        "query shipments: failed to connect to `user=shipping database=shipping`: 10.43.12.7:5432 (shipping-db.data.svc.cluster.local): dial error: dial tcp 10.43.12.7:5432: connect: connection refused",
        "query labels: failed to connect to `user=shipping database=shipping`: 10.43.12.7:5432 (shipping-db.data.svc.cluster.local): dial error: dial tcp 10.43.12.7:5432: connect: connection refused",
        "health: dial tcp shipping-db.data.svc.cluster.local:5432: connect: connection refused",
    )
    play(
        shipping,
        r,
        SHIPPING,
        req=pick("GET /v1/quotes", "POST /v1/shipments", "GET /v1/shipments/shp_{id}"),
        st=(200,) * 20 + (404,),
        ms=lambda d: f"{d.r.uniform(2, 40):.1f}ms",
        carrier=("dhl", "ups", "parcelio"),
        dberr=dberr,
    )
    payments = night_log("payments-api", gs.f_text, variant="spring")
    starts = [H("03:58:02") + i * 48 for i in range(4)]
    ev: dict[str, list[tuple[float, dict[str, Any]]]] = {
        "start": [(s, {}) for s in starts],
        "stop": [(s + 22, {}) for s in starts],
    }
    play(
        payments,
        r,
        PAYMENTS,
        ev,
        req=pick("POST /v1/charges", "GET /v1/payments/pay_{id}", "POST /v1/refunds"),
        st=(200,) * 20 + (402, 404),
        ms=lat(80),
    )
    fulfillment = night_log("orders-fulfillment", gs.f_json)
    pods = pod_names(r, "orders-fulfillment", 6)
    lost = {"lost": [(H("04:08:14") + i * 0.3, {"pod": p}) for i, p in enumerate(pods)]}
    play(
        fulfillment,
        r,
        FULFILLMENT,
        lost,
        pod=tuple(pods),
        ms=lat(900),
        delivered=lambda d: 0 if d.t > H("04:08:24") else d.r.randint(180, 260),
    )
    rabbit = night_log("rabbitmq", gs.f_stamped, variant="rabbit")
    play(rabbit, r, RABBIT)
    search = night_log("search-api", gs.f_json, variant="ecs")
    play(search, r, SEARCH, lag=lambda d: int(d.t - H("04:13:10")) + d.r.randint(0, 5))
    storefront = night_log("storefront-web", f_pino)
    web = pod_names(r, "storefront-web", 4)
    ips = {p: pod_ip(r) for p in web[1:]} | {web[0]: "10.42.6.19"}
    url = pick("/", "/p/{sku}", "/c/outdoor", "/c/shoes", "/search")

    def alive(d: Draw) -> str:
        pod = d.r.choice(web)
        if pod == web[0] and d.t > H("04:30:54"):
            return d.r.choice(web[1:])
        return pod

    play(storefront, r, STOREFRONT, pod=alive, bad=web[0], url=url)
    nginx = night_log("nginx-ingress", gs.f_nginx)
    play(nginx, r, NGINX, url=url, addr=lambda d: f"{ips[alive(d)]}:3000")
    catalog = night_log("catalog-api", gs.f_logfmt)
    play(catalog, r, CATALOG, pod=tuple(pod_names(r, "catalog-api", 3)))
    logs += [
        checkout,
        ledger,
        cart,
        redis,
        shipping,
        payments,
        fulfillment,
        rabbit,
        search,
        storefront,
        nginx,
        catalog,
    ]
    return logs


# ------------------------------------------------------------------------------------------------
# Kubernetes events (what changed, and the cluster's everyday noise).

EVENTS = r"""
*900 info Created job $cron-{29394060..29394299} | reason=SuccessfulCreate kind=CronJob obj=$cron ns=$cns comp=cronjob-controller api=batch/v1
*1200 warn Readiness probe failed: HTTP probe failed with statuscode: 503 | reason=Unhealthy kind=Pod obj=recommendations-6b9f7d5c8-$sfx ns=reco comp=kubelet host=ip-10-0-1-8
*3600@01:00:30- warn Back-off restarting failed container mailer in pod report-mailer-{29394060..29394299}-${sfx}_(reports) | reason=BackOff kind=Pod obj=report-mailer-$sfx ns=reports comp=kubelet host=ip-10-0-5-42
02:05:30 info Scaled up replica set ledger-export-7c9d8f6b5 to 24 from 2 | reason=ScalingReplicaSet kind=Deployment obj=ledger-export ns=ledger comp=deployment-controller api=apps/v1
+0 info Scaled ledger-export from 2 to 24, triggered by rabbitMQScaler | reason=KEDAScaleTargetActivated kind=ScaledObject obj=ledger-export ns=ledger comp=keda-operator api=keda.sh/v1alpha1
02:32:10 info Scaled down replica set ledger-export-7c9d8f6b5 to 2 from 24 | reason=ScalingReplicaSet kind=Deployment obj=ledger-export ns=ledger comp=deployment-controller api=apps/v1
*300@02:44-05:00 warn Back-off restarting failed container postgres in pod shipping-db-0_data($uid) | reason=BackOff kind=Pod obj=shipping-db-0 ns=data comp=kubelet host=ip-10-0-1-8
03:22:00 warn Node ip-10-0-7-21 status is now: NodeHasDiskPressure | reason=NodeHasDiskPressure kind=Node obj=ip-10-0-7-21 comp=kubelet host=ip-10-0-7-21
+0.5 warn Attempting to reclaim ephemeral-storage | reason=EvictionThresholdMet kind=Node obj=ip-10-0-7-21 comp=kubelet host=ip-10-0-7-21
03:29:02 warn The node was low on resource: ephemeral-storage. Threshold quantity: 10%, available: 2103124Ki. Container transcoder was using 64431212Ki, request is 0, has larger consumption of ephemeral-storage. | reason=Evicted kind=Pod obj=video-transcoder-5d8f7c6b9-q2x7k ns=media comp=kubelet host=ip-10-0-7-21
03:31:39 info Successfully assigned media/video-transcoder-5d8f7c6b9-z8m4n to ip-10-0-7-21 | reason=Scheduled kind=Pod obj=video-transcoder-5d8f7c6b9-z8m4n ns=media comp=default-scheduler
03:48:21 info Node ip-10-0-5-42 status is now: NodeNotReady | reason=NodeNotReady kind=Node obj=ip-10-0-5-42 comp=node-controller
03:57:58 info Scaled up replica set payments-api-5b8d7c9f4 to 1 | reason=ScalingReplicaSet kind=Deployment obj=payments-api ns=payments comp=deployment-controller api=apps/v1
:pull info Pulling image "registry.example.com/payments/payments-api:v2.4.1" | reason=Pulling kind=Pod obj=$ppod ns=payments comp=kubelet host=ip-10-0-1-8
+3.4 info Successfully pulled image "registry.example.com/payments/payments-api:v2.4.1" in 3.381s (3.381s including waiting). Image size: 187223114 bytes. | reason=Pulled kind=Pod obj=$ppod ns=payments comp=kubelet host=ip-10-0-1-8
+22 info Scaled down replica set payments-api-7f6c8d9b4 to $left from $from | reason=ScalingReplicaSet kind=Deployment obj=payments-api ns=payments comp=deployment-controller api=apps/v1
04:08:12 info Stopping container rabbitmq | reason=Killing kind=Pod obj=rabbitmq-server-2 ns=messaging comp=kubelet host=ip-10-0-1-8
+50 info Started container rabbitmq | reason=Started kind=Pod obj=rabbitmq-server-2 ns=messaging comp=kubelet host=ip-10-0-1-8
"""


def events(r: random.Random) -> Log:
    log = night_log("kube-events", f_event)
    pull = [
        (
            H("03:58:00") + i * 48,
            {"ppod": f"payments-api-5b8d7c9f4-{token(r, 5, ALPH)}", "left": 3 - i, "from": 4 - i},
        )
        for i in range(4)
    ]
    crons = {
        "cart-expiry": "checkout",
        "suggest-rebuild": "search",
        "report-mailer": "reports",
        "feature-refresh": "reco",
    }
    play(
        log,
        r,
        EVENTS,
        {"pull": pull},
        cron=tuple(crons),
        cns=lambda d: crons[d["cron"]],
        sfx=lambda d: token(d.r, 5, ALPH),
    )
    return log


# ------------------------------------------------------------------------------------------------
# The scenarios: alert and expected answer, each written from the story above.

# A table, one scenario per block: long lines on purpose.
# fmt: off
SCENARIOS: list[dict[str, Any]] = [
    {
        "folder": "20-node-disk-pressure",
        "alert": ("NodeFilesystemAlmostOutOfSpace", "am", "critical", "03:30:00"),
        "labels": {"job": "node-exporter", "instance": "ip-10-0-7-21", "device": "/dev/nvme0n1p1", "fstype": "ext4", "mountpoint": "/", "endpoint": "https", "container": "kube-rbac-proxy", "namespace": "monitoring", "pod": "node-exporter-7m4qz"},
        "summary": "Filesystem has less than 5% space left.",
        "description": "Filesystem on /dev/nvme0n1p1, mounted on /, at ip-10-0-7-21 has only 3.12% available space left.",
        "expr": "(node_filesystem_avail_bytes{job=\"node-exporter\",fstype!=\"\"} / node_filesystem_size_bytes{job=\"node-exporter\",fstype!=\"\"} * 100 < 5 and node_filesystem_readonly{job=\"node-exporter\",fstype!=\"\"} == 0)",
        "expected": {"runbook": "runbooks/storage/node-disk-full.md", "root_cause_keywords": ["no space left", "ephemeral-storage", "video-transcoder"], "forbidden_keywords": ["too many clients", "connection slots", "nvme", "misconf"], "action": "cordon_node", "action_parameters": {"node": "ip-10-0-7-21"}},
        "notes": "A video-transcoder pod without an emptyDir sizeLimit fills the root disk of ip-10-0-7-21; kubelet evicts it for ephemeral-storage, image GC frees nothing, containerd and rsyslog hit 'no space left on device', and the pod is rescheduled onto the same node. The alert is node-exporter's (instance = node name, namespace/pod are the exporter's). orders-db's connection storm earlier that night is unrelated.",
    },
    {
        "folder": "21-node-notready-ebs-stall",
        "alert": ("KubeNodeNotReady", "am", "warning", "03:52:00"),
        "labels": {"node": "ip-10-0-5-42", "job": "kube-state-metrics", "instance": "10.42.0.15:8080", "endpoint": "http", "container": "kube-state-metrics", "namespace": "monitoring", "pod": "kube-state-metrics-6d4b9c7f5-k2x8p"},
        "summary": "Node is not ready.",
        "description": "ip-10-0-5-42 has been unready for more than 4 minutes.",
        "expr": "kube_node_status_condition{job=\"kube-state-metrics\",condition=\"Ready\",status=\"true\"} == 0",
        "expected": {"runbook": "runbooks/kubernetes/node-notready.md", "root_cause_keywords": ["nvme", "i/o", "blocked for more than", "ebs"], "forbidden_keywords": ["too many clients", "connection slots", "no space left", "ephemeral-storage"], "action": "cordon_node", "action_parameters": {"node": "ip-10-0-5-42"}},
        "notes": "The EBS data volume of ip-10-0-5-42 stalls (kernel: nvme I/O timeouts, controller resets); containerd blocks in the kernel for minutes, the PLEG stops and kubelet marks the node NotReady. The node logs are a journalctl -o json export. Another node's disk-pressure incident 20 minutes earlier is unrelated.",
    },
    {
        "folder": "22-checkout-5xx-orders-db",
        "alert": ("CheckoutApiHigh5xxRate", "generic", "critical", "02:14:00"),
        "labels": {"service": "checkout-api", "namespace": "checkout", "job": "checkout-api", "instance": "10.42.3.18:8080"},
        "summary": "checkout-api 5xx ratio above 5% for 5 minutes",
        "description": "POST /api/checkout/confirm is failing with HTTP 500 for 9% of requests (30 s responses).",
        "services_yaml": "services:\n  checkout-api:\n    depends_on: [orders-db, payments-api]\n",
        "expected": {"runbook": "runbooks/database/db-connection-exhaustion.md", "root_cause_keywords": ["too many clients", "connection slots", "max_connections", "ledger-export"], "forbidden_keywords": ["misconf", "bgsave", "no space left"], "action": "scale_deployment", "action_parameters": {"deployment": "ledger-export"}},
        "notes": "checkout-api's own logs only show Hikari acquire timeouts and 'Connect timed out' to orders-db; the cause is in orders-db's log (sorry, too many clients already) after KEDA scaled ledger-export from 2 to 24 pods with 10 connections each. The dependency checkout-api -> orders-db is declared in services.yaml. Scale ledger-export back, per the runbook.",
    },
    {
        "folder": "23-shipping-5xx-db-disk-full",
        "alert": ("ShippingApiErrorRateHigh", "am", "critical", "02:52:00"),
        "labels": {"service": "shipping-api", "namespace": "shipping", "job": "shipping-api", "instance": "10.42.4.77:8080"},
        "summary": "shipping-api is failing more than 20% of requests",
        "description": "shipping-api 5xx rate is 64% over the last 10 minutes.",
        "expr": "sum(rate(http_requests_total{job=\"shipping-api\",code=~\"5..\"}[10m])) / sum(rate(http_requests_total{job=\"shipping-api\"}[10m])) > 0.2",
        "expected": {"runbook": "runbooks/storage/pvc-full.md", "root_cause_keywords": ["no space left", "disk full", "volume is full"], "forbidden_keywords": ["too many clients", "connection slots"], "action": "expand_pvc", "action_parameters": {"pvc": "data-shipping-db-0"}},
        "notes": "shipping-db's data volume fills up during an archive INSERT: 'could not extend file ... No space left on device', then a WAL PANIC and a crash loop that cannot start. shipping-api only logs 'dial tcp ... shipping-db...:5432: connect: connection refused'; no dependency is declared anywhere, the API's error lines name the database. Expand the PVC.",
    },
    {
        "folder": "24-payments-bad-deploy",
        "alert": ("PaymentsApiErrorRateHigh", "generic", "critical", "04:06:00"),
        "labels": {"service": "payments-api", "namespace": "payments", "job": "payments-api", "instance": "10.42.1.31:8080"},
        "summary": "payments-api 5xx above 2%",
        "description": "POST /v1/charges returns 500 for about 40% of non-EUR charges since ~04:00.",
        "expected": {"runbook": "runbooks/deploy/bad-deploy-rollback.md", "root_cause_keywords": ["v2.4.1"], "forbidden_keywords": ["too many clients", "connection slots", "nvme"], "action": "rollback_deployment", "action_first": True, "action_parameters": {"deployment": "payments-api"}},
        "notes": "payments-api v2.4.1 rolls out 03:58-04:01 (Pulling image ...:v2.4.1, ScalingReplicaSet, 'Started payments-api version v2.4.1'); from 04:00 its FxConverter throws NullPointerException ('rate' is null) on charges. A release right before the errors: roll back first.",
    },
    {
        "folder": "25-redis-bgsave-no-runbook",
        "alert": ("RedisLastBgsaveFailed", "am", "warning", "01:50:00"),
        "labels": {"service": "session-cache", "namespace": "cart", "pod": "session-cache-0", "job": "redis-exporter", "instance": "10.42.2.31:9121"},
        "summary": "Redis last background save failed",
        "description": "session-cache has not persisted an RDB snapshot since 01:32; writes are refused while stop-writes-on-bgsave-error is on.",
        "expr": "redis_rdb_last_bgsave_status{job=\"redis-exporter\"} == 0",
        "expected": {"runbook": None, "root_cause_keywords": ["permission denied", "rdb", "bgsave"], "forbidden_keywords": ["too many clients", "connection slots", "no space left"], "action": None},
        "notes": "After the session-cache volume was restored from a snapshot with root-owned files, Redis cannot create its temp RDB file ('Permission denied' in /data); every background save fails and, with stop-writes-on-bgsave-error, cart-api's writes fail with MISCONF. There is no Redis runbook in the knowledge base: the answer is no runbook, no action, the cause from the logs.",
    },
    {
        "folder": "26-elasticsearch-red-no-logs",
        "alert": ("ElasticsearchClusterHealthRed", "am", "critical", "04:45:00"),
        "labels": {"cluster": "logging-es", "job": "elasticsearch-exporter", "instance": "10.42.5.77:9114", "namespace": "logging"},
        "summary": "Elasticsearch cluster health is RED",
        "description": "Cluster logging-es reports health RED: at least one primary shard is not allocated.",
        "expr": "elasticsearch_cluster_health_status{color=\"red\"} == 1",
        "expected": {"runbook": None, "unknowable": True, "forbidden_keywords": ["too many clients", "connection slots", "no space left", "v2.4.1"], "action": None},
        "notes": "No Elasticsearch logs are collected and no runbook covers Elasticsearch. Nothing ingested says why a primary shard is unassigned; the honest answer is 'unknown' with low confidence and checks to run (cluster allocation explain, node disk).",
    },
    {
        "folder": "27-catalog-target-down-clean-logs",
        "alert": ("TargetDown", "am", "warning", "04:50:00"),
        "labels": {"job": "catalog-api", "namespace": "catalog", "service": "catalog-api"},
        "summary": "One or more targets are unreachable.",
        "description": "100% of the catalog-api/catalog-api targets in catalog namespace are down.",
        "expr": "100 * (count(up == 0) BY (cluster, job, namespace, service) / count(up) BY (cluster, job, namespace, service)) > 10",
        "expected": {"runbook": None, "unknowable": True, "forbidden_keywords": ["too many clients", "connection slots", "upstream timed out", "no space left"], "action": None},
        "notes": "Prometheus cannot scrape catalog-api, but catalog-api's logs show normal traffic and nothing unusual before or after 04:50; nothing ingested explains the scrape failure (a NetworkPolicy or port change would not show in these logs). The honest answer is 'unknown' with low confidence.",
    },
    {
        "folder": "28-fulfillment-slo-runbook-url-blob",
        "alert": ("OrdersShipLatencySLOBreach", "am", "warning", "04:25:00"),
        "labels": {"service": "orders-fulfillment", "namespace": "orders", "slo": "order-ship-latency"},
        "summary": "Orders are not being fulfilled within the SLO",
        "description": "p95 time from payment to pick task is above 30 minutes.",
        "expr": "histogram_quantile(0.95, sum by (le) (rate(order_pick_latency_seconds_bucket[15m]))) > 1800",
        "runbook_url": "https://github.com/acme-shop/platform-runbooks/blob/main/runbooks/messaging/queue-backlog.md",
        "expected": {"runbook": "runbooks/messaging/queue-backlog.md", "root_cause_keywords": ["delivered_last_min=0", "not consuming", "0 deliveries", "stopped consuming"], "forbidden_keywords": ["too many clients", "connection slots"], "action": "restart_deployment", "action_parameters": {"deployment": "orders-fulfillment"}},
        "notes": "rabbitmq-server-2 restarts at 04:08; the six orders-fulfillment pods reconnect to another node but never resume consuming (delivered_last_min=0) while fulfillment.tasks grows. The alert's name matches no runbook; its runbook_url is a GitHub blob link to our queue-backlog runbook. Workers stuck: restart them.",
    },
    {
        "folder": "29-catalog-stale-runbook-url-site",
        "alert": ("CatalogReadsStale", "generic", "warning", "04:30:00"),
        "labels": {"service": "search-api", "namespace": "search"},
        "summary": "search-api serves stale stock levels",
        "description": "More than 50 stock mismatches per 10 minutes between search results and checkout reservations.",
        "runbook_url": "https://runbooks.acme-shop.example/runbooks/database/replica-lag/",
        "expected": {"runbook": "runbooks/database/replica-lag.md", "root_cause_keywords": ["recovery conflict", "recovery still waiting", "conflicting process", "metabase"], "forbidden_keywords": ["too many clients", "connection slots", "no space left"], "action": "set_deployment_env", "action_parameters": {"deployment": "search-api"}},
        "notes": "At 04:12 an analyst's Metabase report starts a long query on replica inventory-db-2; WAL replay waits on it (recovery still waiting ... recovery conflict on snapshot, Conflicting process: 9121), so search-api reads stale stock. The alert links to the rendered runbook site (.../runbooks/database/replica-lag/). Point search-api's reads at the primary.",
    },
    {
        "folder": "30-storefront-blackbox-probe",
        "alert": ("BlackboxProbeFailed", "am", "critical", "04:40:00"),
        "labels": {"job": "blackbox", "instance": "https://shop.example.com/healthz", "module": "http_2xx", "service": "storefront-web", "namespace": "storefront"},
        "summary": "Blackbox probe failed",
        "description": "Probe of https://shop.example.com/healthz has been failing for 5 minutes (HTTP 504 on some attempts).",
        "expr": "probe_success{job=\"blackbox\"} == 0",
        "expected": {"runbook": "runbooks/traffic/5xx-latency-spike.md", "root_cause_keywords": ["10.42.6.19", "event loop blocked", "upstream timed out"], "forbidden_keywords": ["too many clients", "connection slots", "nvme"], "action": "restart_deployment", "action_parameters": {"deployment": "storefront-web"}},
        "notes": "One storefront-web pod (10.42.6.19) blocks its event loop at 04:30:54 and stops answering; ingress-nginx times out after 60 s (504) on requests and probes routed to it, the other pods are fine. Restart the Deployment storefront-web; the job label 'blackbox' is the prober, not a deployment.",
    },
    {
        "folder": "31-orders-db-too-many-clients",
        "alert": ("PostgresTooManyConnections", "am", "critical", "02:12:00"),
        "labels": {"service": "orders-db", "namespace": "data", "pod": "orders-db-0", "job": "postgres-exporter", "instance": "10.42.4.12:9187"},
        "summary": "orders-db is refusing connections",
        "description": "'too many clients' errors on orders-db in the last 5 minutes; 297 of 300 connections in use.",
        "expr": "sum(pg_stat_activity_count{job=\"postgres-exporter\"}) by (instance) >= 0.98 * max(pg_settings_max_connections) by (instance)",
        "expected": {"runbook": "runbooks/database/db-connection-exhaustion.md", "root_cause_keywords": ["ledger-export"], "forbidden_keywords": ["misconf", "bgsave", "permission denied"], "action": "scale_deployment", "action_parameters": {"deployment": "ledger-export"}},
        "notes": "KEDA scaled ledger-export from 2 to 24 pods at 02:05:30 for the nightly export, each with a pool of 10 connections: orders-db runs out of slots. Who holds them is ledger-export (its connections, the ScalingReplicaSet event); scale it back. session-cache's MISCONF incident just before is unrelated.",
    },
]
# fmt: on


def alert_body(s: dict[str, Any]) -> dict[str, Any]:
    """The scenario's alert as Alertmanager (v4 webhook) or a generic sender would post it."""
    name, form, severity, starts = s["alert"]
    annotations = {"summary": s["summary"], "description": s["description"]}
    if "runbook_url" in s:
        annotations["runbook_url"] = s["runbook_url"]
    when = f"2026-11-27T{starts}Z"
    if form == "generic":
        return {
            "alertname": name,
            "status": "firing",
            "severity": severity,
            "labels": s["labels"],
            "annotations": annotations,
            "startsAt": when,
        }
    labels = {"alertname": name, "severity": severity, "prometheus": "monitoring/k8s"} | s["labels"]
    one = {
        "status": "firing",
        "labels": labels,
        "annotations": annotations,
        "startsAt": when,
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "https://prometheus.prod-eu-2.example.com/graph?g0.expr="
        + quote(s["expr"], safe="")
        + "&g0.tab=1",
        "fingerprint": hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:16],
    }
    group = {k: labels[k] for k in ("alertname", "namespace") if k in labels}
    return {
        "version": "4",
        "groupKey": "{}:{" + ", ".join(f'{k}="{v}"' for k, v in group.items()) + "}",
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "opsagent",
        "groupLabels": group,
        "commonLabels": labels,
        "commonAnnotations": annotations,
        "externalURL": "https://alertmanager.prod-eu-2.example.com",
        "alerts": [one],
    }


def expected_yaml(s: dict[str, Any]) -> str:
    """expected.yaml: one `key: value` per line, values in JSON (which YAML reads as is)."""
    fields = s["expected"] | {"notes": s["notes"]}
    return "".join(f"{k}: {json.dumps(v)}\n" for k, v in fields.items())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--out", type=Path, default=ROOT / "tests" / "scenarios", help="the scenario suite folder"
    )
    ap.add_argument("--seed", type=int, default=20261127)
    args = ap.parse_args()
    r = random.Random(args.seed)
    logs = nodes(r) + databases(r) + applications(r) + [events(r)]
    out = args.out / "_cluster" / "logs"
    out.mkdir(parents=True, exist_ok=True)
    total = 0
    for log in logs:
        path = (
            out / "nodes" / log.name / "syslog.log"
            if log.fmt is f_syslog
            else out / "nodes" / f"{log.name}.jsonl"
            if log.fmt is f_journal
            else out / f"{log.name}.log"
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        text = log.text()
        path.write_text(text)
        total += len(text.encode())
        print(f"{path.relative_to(args.out)}: {text.count(chr(10))} lines")
    for s in SCENARIOS:
        folder = args.out / s["folder"]
        folder.mkdir(parents=True, exist_ok=True)
        exp = s["expected"]
        if exp["runbook"]:  # the expected answer must exist in the knowledge base
            front = (ROOT / "knowledge" / exp["runbook"]).read_text().split("\n#", 1)[0]
            assert exp["action"] in front, (
                f"{s['folder']}: {exp['action']} is not in {exp['runbook']}'s actions"
            )
        (folder / "alert.json").write_text(json.dumps(alert_body(s), indent=2) + "\n")
        (folder / "expected.yaml").write_text(expected_yaml(s))
        if "services_yaml" in s:
            # Declared dependencies live with the cluster's knowledge (an ingested folder), as a team keeps them.
            (out / "services.yaml").write_text(s["services_yaml"])
    print(f"{len(SCENARIOS)} scenarios, {len(logs)} logs, {total / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
