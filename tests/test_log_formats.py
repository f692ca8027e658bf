"""Header parsing of real-world log formats: timestamp, level, component and message body.

Each fixture is a line written here in the documented shape of its format (not copied from a data set).
The message must be the body only: dates, levels, pids, threads and logger names are header.
"""
# ruff: noqa: E501  (fixture lines are kept whole, as they appear in a log file)

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from opsagent.knowledge.log_ingest import ingest_log_file
from opsagent.knowledge.logs import LineParser, parse_line
from opsagent.knowledge.logstore import LogLineStore


def epoch(text: str) -> float:
    """Epoch seconds of an ISO stamp; naive means UTC."""
    dt = datetime.fromisoformat(text)
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()


# (line, ts, level, component, message); parsed with default_service "svc" and default_year 2026
FORMATS = [
    pytest.param(
        "2026-03-14 09:26:53,589 INFO [main] org.acme.billing.InvoiceJob: Created invoice batch 7 of 12",
        "2026-03-14T09:26:53.589", "info", "org.acme.billing.InvoiceJob", "Created invoice batch 7 of 12",
        id="log4j-logback-default",
    ),
    pytest.param(
        "2026-03-14 09:26:53,589 - WARN  [SyncThread:0:FileTxnLog@338] - fsync-ing the write ahead log took 1203ms",
        "2026-03-14T09:26:53.589", "warn", None, "fsync-ing the write ahead log took 1203ms",
        id="zookeeper",
    ),
    pytest.param(
        "[2026-03-14 09:26:53,589] ERROR Error while fetching metadata (kafka.server.ReplicaFetcherThread)",
        "2026-03-14T09:26:53.589", "error", None, "Error while fetching metadata (kafka.server.ReplicaFetcherThread)",
        id="kafka",
    ),
    pytest.param(
        "2026-03-14 09:26:53,589 - billing.worker - WARNING - queue depth 812 above 500",
        "2026-03-14T09:26:53.589", "warn", None, "queue depth 812 above 500",
        id="python-logging-default-format",
    ),
    pytest.param(
        "2026-03-14 09:26:53.589  INFO 4242 --- [           main] org.acme.billing.App             : Started App in 3.1 seconds",
        "2026-03-14T09:26:53.589", "info", "org.acme.billing.App", "Started App in 3.1 seconds",
        id="spring-boot",
    ),
    pytest.param(
        "ERROR:billing.worker:could not reach the ledger",
        None, "error", "billing.worker", "could not reach the ledger",
        id="python-logging-basicconfig",
    ),
    pytest.param(
        "2026/03/14 09:26:53 http: TLS handshake error from 10.2.0.7:51234: EOF",
        "2026-03-14T09:26:53", None, None, "http: TLS handshake error from 10.2.0.7:51234: EOF",
        id="go-log",
    ),
    pytest.param(
        "2026/03/14 09:26:53.120456 listening on :8080",
        "2026-03-14T09:26:53.120456", None, None, "listening on :8080",
        id="go-log-microseconds",
    ),
    pytest.param(
        "2026-03-14T09:26:53.589123Z 0 [ERROR] [MY-010119] [Server] Aborting",
        "2026-03-14T09:26:53.589123", "error", "Server", "Aborting",
        id="mysql-8",
    ),
    pytest.param(
        "1:M 14 Mar 2026 09:26:53.589 # WARNING overcommit_memory is set to 0!",
        "2026-03-14T09:26:53.589", "warn", None, "WARNING overcommit_memory is set to 0!",
        id="redis",
    ),
    pytest.param(
        "26/03/14 09:26:53 INFO storage.BlockManager: Removing RDD 42",
        "2026-03-14T09:26:53", "info", "storage.BlockManager", "Removing RDD 42",
        id="hadoop-spark-yy-MM-dd",
    ),
    pytest.param(
        "260314 092653 1733 WARN dfs.DataNode$DataXceiver: Slow BlockReceiver write packet to mirror took 712ms",
        "2026-03-14T09:26:53", "warn", "dfs.DataNode$DataXceiver",
        "Slow BlockReceiver write packet to mirror took 712ms",
        id="hdfs-yyMMdd-HHmmss",
    ),
    pytest.param(
        "03-14 09:26:53.589  1702  2395 E ActivityManager: ANR in com.acme.app (com.acme.app/.Main)",
        "2026-03-14T09:26:53.589", "error", "ActivityManager", "ANR in com.acme.app (com.acme.app/.Main)",
        id="android-logcat-threadtime",
    ),
    pytest.param(
        "2026-03-14 09:26:53, Info                  CBS    Session: 3054_42 initialized by client WindowsUpdate.",
        "2026-03-14T09:26:53", "info", "CBS", "Session: 3054_42 initialized by client WindowsUpdate.",
        id="windows-cbs",
    ),
    pytest.param(
        "20260314-09:26:53:589|Step_Counter|30002312|flush sensor data",
        "2026-03-14T09:26:53.589", None, "Step_Counter", "flush sensor data",
        id="yyyyMMdd-HH:mm:ss:SSS-pipes",
    ),
    pytest.param(
        "[03.14 09:26:53] chrome.exe - api.acme.io:443 open through proxy proxy.acme.io:3128 HTTPS",
        "2026-03-14T09:26:53", None, "chrome.exe", "api.acme.io:443 open through proxy proxy.acme.io:3128 HTTPS",
        id="proxifier-MM.dd",
    ),
    pytest.param(
        "[Sat Mar 14 09:26:53 2026] [error] [client 10.2.0.7] File does not exist: /var/www/favicon.ico",
        "2026-03-14T09:26:53", "error", None, "[client 10.2.0.7] File does not exist: /var/www/favicon.ico",
        id="apache-2.2-error",
    ),
    pytest.param(
        "[Sat Mar 14 09:26:53.589123 2026] [proxy:error] [pid 4242:tid 1401] [client 10.2.0.7:5100] AH00898: timeout",
        "2026-03-14T09:26:53.589123", "error", "proxy", "[client 10.2.0.7:5100] AH00898: timeout",
        id="apache-2.4-error",
    ),
    pytest.param(
        "[14/Mar/2026:09:26:53 +0100] worker 3 stalled",
        "2026-03-14T08:26:53", None, None, "worker 3 stalled",
        id="bracketed-clf-date",
    ),
    pytest.param(
        "1773480413 cron[811]: job rotated",
        "2026-03-14T09:26:53", None, None, "cron[811]: job rotated",
        id="epoch-seconds-prefix",
    ),
    pytest.param(
        "1773480413589 WARN pool exhausted",
        "2026-03-14T09:26:53.589", "warn", None, "pool exhausted",
        id="epoch-millis-prefix",
    ),
    pytest.param(
        "- 1773480413 2026.03.14 R02-M1-N0-C:J12-U11 2026-03-14-09.26.53.589000 R02-M1-N0-C:J12-U11 RAS KERNEL "
        "FATAL data TLB error interrupt",
        "2026-03-14T09:26:53", "fatal", "KERNEL", "data TLB error interrupt",
        id="bgl",
    ),
    pytest.param(
        "- 1773480413 2026.03.14 dn228 Mar 14 09:26:53 dn228/dn228 crond(pam_unix)[2915]: session closed for user root",
        "2026-03-14T09:26:53", None, None, "session closed for user root",
        id="thunderbird",
    ),
    pytest.param(
        "134681 node-246 unix.hw state_change.unavailable 1773480413 1 Component State Change: alt0 unavailable",
        "2026-03-14T09:26:53", None, "unix.hw", "Component State Change: alt0 unavailable",
        id="hpc",
    ),
    pytest.param(
        "Mar 14 09:26:53 mbp kernel[0]: AirPort: Link Up on en0",
        "2026-03-14T09:26:53", None, None, "AirPort: Link Up on en0",
        id="mac-syslog",
    ),
    pytest.param(
        "Mar  4 09:26:53 mbp sandboxd[129] ([31211]): deny network-outbound /private/var/run/x",
        "2026-03-04T09:26:53", None, None, "deny network-outbound /private/var/run/x",
        id="mac-syslog-address",
    ),
    pytest.param(
        "Mar 14 09:26:53 bastion sshd[24200]: Failed password for invalid user admin from 10.2.0.7 port 38926 ssh2",
        "2026-03-14T09:26:53", None, None, "Failed password for invalid user admin from 10.2.0.7 port 38926 ssh2",
        id="openssh",
    ),
    pytest.param(
        "nova-api.log.1.2026-03-14_13:53:08 2026-03-14 09:26:53.589 25746 INFO nova.osapi_compute.wsgi.server "
        '[req-38101a0b - - -] 10.2.0.7 "GET /v2/servers HTTP/1.1" status: 200',
        "2026-03-14T09:26:53.589", "info", "nova.osapi_compute.wsgi.server",
        '10.2.0.7 "GET /v2/servers HTTP/1.1" status: 200',
        id="openstack",
    ),
    pytest.param(
        "job-runner: started at Sat 2026-03-14 09:26:53 with 4 workers",
        "2026-03-14T09:26:53", None, None, "with 4 workers",
        id="generic-leading-timestamp",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("line", "ts", "level", "component", "message"), FORMATS)
def test_parses_header_into_fields(
    line: str, ts: str | None, level: str | None, component: str | None, message: str
) -> None:
    parsed = parse_line(line, default_service="svc", default_year=2026)
    if ts is None:
        assert parsed.ts is None
    else:
        assert parsed.ts == pytest.approx(epoch(ts), abs=1e-3)
    assert (parsed.level, parsed.component, parsed.message) == (level, component, message)


@pytest.mark.parametrize(
    ("line", "service"),
    [
        ("Mar 14 09:26:53 bastion sshd[24200]: Connection closed by 10.2.0.7", "sshd"),
        ("- 1773480413 2026.03.14 dn228 Mar 14 09:26:53 dn228/dn228 ntpd[7467]: synchronized", "ntpd"),
        ("1:M 14 Mar 2026 09:26:53.589 * Ready to accept connections", "redis"),
        ("2026-03-14 09:26:53 INFO [main] org.acme.Job: x", "svc"),  # a logger is not the service
    ],
)
def test_program_names_are_services_but_loggers_are_not(line: str, service: str) -> None:
    assert parse_line(line, default_service="svc", default_year=2026).service == service


def test_year_less_stamps_take_the_year_of_nearby_full_dates() -> None:
    parser = LineParser(reference=epoch("2030-06-01T00:00:00"))
    parser.parse(1, "2024-12-31 23:59:58 INFO node rebooting")
    logcat = parser.parse(2, "12-31 23:59:59.000  1702  2395 I Boot: up")
    assert logcat.ts == pytest.approx(epoch("2024-12-31T23:59:59"))


def test_year_less_stamps_otherwise_use_the_files_time() -> None:
    # File written on 2026-01-02: December lines are from the year before, not from the future.
    parser = LineParser(reference=epoch("2026-01-02T00:00:00"))
    assert parser.parse(1, "[12.31 23:59:59] app.exe - closed").ts == epoch("2025-12-31T23:59:59")
    assert parser.parse(2, "01-01 00:00:01.000  1  1 I Boot: up").ts == epoch("2026-01-01T00:00:01")


def test_lowercase_words_are_not_taken_for_levels() -> None:
    parsed = parse_line("2026-03-14 09:26:53 alert fired for disk", default_year=2026)
    assert (parsed.level, parsed.message) == (None, "alert fired for disk")


def test_timestamp_coverage_is_reported_and_stored(tmp_path: Path) -> None:
    log = tmp_path / "mixed.log"
    log.write_text(
        "2026-03-14 09:26:53 INFO start\n"
        "2026-03-14 09:26:54 ERROR failed\n"
        "    at com.acme.Job.run(Job.java:12)\n"  # a continuation: dated by its event
        "2026-03-14 09:26:55 INFO done\n"
    )
    none = tmp_path / "plain.log"
    none.write_text("no stamp here\nnor here\n")
    store = LogLineStore(tmp_path / "lines.db")
    try:
        dated = ingest_log_file(log, root=str(tmp_path), source="mixed.log", store=store, default_service="a")
        plain = ingest_log_file(
            none, root=str(tmp_path), source="plain.log", store=store, default_service="b"
        )
        coverage = {source: (lines, ts) for _, source, lines, ts in store.timestamp_coverage()}
    finally:
        store.close()
    assert (dated.lines, dated.timestamped) == (4, 4)
    assert (plain.lines, plain.timestamped) == (2, 0)
    assert coverage == {"mixed.log": (4, 4), "plain.log": (2, 0)}
    assert any("no timestamp" in w for w in plain.warnings)
    assert not dated.warnings


def test_stats_lists_log_files_without_timestamps(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from opsagent.cli import app

    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "api.log").write_text("2026-03-14 09:26:53 INFO up\n2026-03-14 09:26:54 WARN slow\n")
    (logs / "mystery.log").write_text("%% 9:26 up %%\n%% 9:27 slow %%\n")
    env = {"OPSAGENT_DATA_DIR": str(tmp_path / "data")}
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", str(logs)], env=env).exit_code == 0
    result = runner.invoke(app, ["stats", "--json"], env=env)
    coverage = {f["source"]: f["fraction"] for f in json.loads(result.output)["log_timestamps"]}
    assert coverage == {"api.log": 1.0, "mystery.log": 0.0}
    text = runner.invoke(app, ["stats"], env={**env, "COLUMNS": "200"}).output
    assert "mystery.log: no timestamps" in text
    assert "api.log:" not in text


def test_journald_export_records_are_one_event_each(tmp_path: Path) -> None:
    log = tmp_path / "node.journal"
    log.write_text(
        "__CURSOR=s=739ad4;i=4ece7\n"
        "__REALTIME_TIMESTAMP=1773480413589000\n"
        "PRIORITY=3\n"
        "_SYSTEMD_UNIT=kubelet.service\n"
        "MESSAGE=eviction manager: must evict pod(s) to reclaim ephemeral-storage\n"
        "\n"
        "__CURSOR=s=739ad4;i=4ece8\n"
        "__REALTIME_TIMESTAMP=1773480414000000\n"
        "PRIORITY=6\n"
        "SYSLOG_IDENTIFIER=containerd\n"
        "MESSAGE=shim disconnected id=42\n"
    )
    store = LogLineStore(tmp_path / "lines.db")
    try:
        result = ingest_log_file(
            log, root=str(tmp_path), source="node.journal", store=store, default_service=None
        )
        evict = store.search("eviction", limit=10)
    finally:
        store.close()
    assert (result.lines, result.timestamped) == (10, 10)
    assert [t.template for t in result.templates] == [
        "eviction manager: must evict pod(s) to reclaim ephemeral-storage",
        "shim disconnected id=<NUM>",
    ]
    assert [(t.service, t.levels, t.first_line, t.last_line) for t in result.templates] == [
        ("kubelet", {"error": 1}, 1, 5),
        ("containerd", {"info": 1}, 7, 11),
    ]
    assert evict[0].ts == pytest.approx(epoch("2026-03-14T09:26:53.589"))
