"""Log line parsing (every supported shape) and bounded, forgiving file reading."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import pytest

from opsagent.knowledge.log_ingest import (
    MAX_LINE_CHARS,
    READ_BLOCK,
    ReadStats,
    default_service_from_path,
    iter_raw_lines,
)
from opsagent.knowledge.logs import LineParser, normalize_level, parse_line


def epoch(text: str) -> float:
    """Epoch seconds of an ISO stamp; naive means UTC."""
    dt = datetime.fromisoformat(text)
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()


T0 = epoch("2026-11-20T03:14:07")

# (line, ts, level, service, message) with default_service="dflt", default_year=2026
CASES = [
    pytest.param(
        '{"ts":"2026-11-20T03:14:07.120Z","level":"WARNING","service":"payments-api",'
        '"msg":"charge slow","error":"timeout after 30s","user":"bob"}',
        T0 + 0.12,
        "warn",
        "payments-api",
        "charge slow error=timeout after 30s",
        id="json",
    ),
    pytest.param(
        '{"@timestamp":1795144447123,"level":50,"kubernetes":{"container_name":"checkout"},"message":"boom"}',
        T0 + 0.123,
        "error",
        "checkout",
        "boom",
        id="json-epoch-ms-pino-k8s",
    ),
    pytest.param(
        '{"time":"2026-11-20T05:14:07+02:00","severity":"PANIC","app":"ledger","event":"halt"}',
        T0,
        "fatal",
        "ledger",
        "halt",
        id="json-offset",
    ),
    pytest.param(
        '{"log":"ERROR db down\\n","stream":"stderr","time":"2026-11-20T03:14:07Z"}',
        T0,
        "error",
        "dflt",
        "ERROR db down",
        id="docker-json-file",
    ),
    pytest.param(
        'ts=2026-11-20T03:14:07Z level=error service=payments msg="db connection refused" err="dial tcp"',
        T0,
        "error",
        "payments",
        "db connection refused err=dial tcp",
        id="logfmt",
    ),
    pytest.param(
        "time=2026-11-20T03:14:07Z lvl=WARN app=cart retries=3",
        T0,
        "warn",
        "cart",
        "time=2026-11-20T03:14:07Z lvl=WARN app=cart retries=3",
        id="logfmt-no-msg",
    ),
    pytest.param(
        "Nov 20 03:14:07 web-1 CRON[1234]: (root) CMD (run-parts /etc/cron.hourly)",
        T0,
        None,
        "CRON",
        "(root) CMD (run-parts /etc/cron.hourly)",
        id="syslog",
    ),
    pytest.param(
        "<11>Nov 20 03:14:07 web-1 sshd[22]: kex failed",
        T0,
        "error",
        "sshd",
        "kex failed",
        id="syslog-pri",
    ),
    pytest.param(
        "<34>1 2026-11-20T03:14:07.003Z host app 123 ID47 - something bad",
        T0 + 0.003,
        "critical",
        "app",
        "something bad",
        id="rfc5424",
    ),
    pytest.param(
        '2026-11-20 03:14:07.120 UTC [4211] FATAL:  password authentication failed for user "app"',
        T0 + 0.12,
        "fatal",
        "dflt",
        'FATAL: password authentication failed for user "app"',
        id="postgres",
    ),
    pytest.param(
        '10.1.2.3 - - [20/Nov/2026:04:14:07 +0100] "GET /api/v1/orders/123?x=1 HTTP/1.1" 503 512 "-" "c/8"',
        T0,
        "error",
        "dflt",
        '"GET /api/v1/orders/123 HTTP/1.1" 503',
        id="nginx-access-5xx",
    ),
    pytest.param(
        '10.1.2.3 - bob [20/Nov/2026:03:14:07 +0000] "POST /login HTTP/2.0" 404 0 "-" "x"',
        T0,
        "warn",
        "dflt",
        '"POST /login HTTP/2.0" 404',
        id="nginx-access-4xx",
    ),
    pytest.param(
        '10.1.2.3 - - [20/Nov/2026:03:14:07 +0000] "GET / HTTP/1.1" 200 5 "-" "x"',
        T0,
        "info",
        "dflt",
        '"GET / HTTP/1.1" 200',
        id="nginx-access-2xx",
    ),
    pytest.param(
        "2026/11/20 03:14:07 [error] 1234#0: *5 connect() failed (111: Connection refused) while connecting",
        T0,
        "error",
        "dflt",
        "connect() failed (111: Connection refused) while connecting",
        id="nginx-error",
    ),
    pytest.param(
        "2026-11-20T05:14:07.5+02:00 ERROR [worker] job 42 failed",
        T0 + 0.5,
        "error",
        "dflt",
        "job 42 failed",  # the [thread] is header, not message
        id="iso-offset",
    ),
    pytest.param(
        "2026-11-20 03:14:07,250 - payments - ERR - oops",
        T0 + 0.25,
        "error",
        "dflt",
        "oops",
        id="python-logging",
    ),
    pytest.param(
        "[2026-11-20 03:14:07] [warn] disk 91% full", T0, "warn", "dflt", "disk 91% full", id="bracketed"
    ),
    pytest.param(
        "E1120 03:14:07.250000       1 controller.go:114] sync failed",
        T0 + 0.25,
        "error",
        "dflt",
        "sync failed",
        id="klog",
    ),
    pytest.param("CRITICAL: kernel explode", None, "critical", "dflt", "kernel explode", id="plain-level"),
    pytest.param("Log rotated by cron", None, None, "dflt", "Log rotated by cron", id="plain-no-level"),
]


@pytest.mark.parametrize(("line", "ts", "level", "service", "message"), CASES)
def test_parses_every_format(
    line: str, ts: float | None, level: str | None, service: str, message: str
) -> None:
    parsed = parse_line(line, default_service="dflt", default_year=2026)
    if ts is None:
        assert parsed.ts is None
    else:
        assert parsed.ts == pytest.approx(ts, abs=1e-3)
    assert (parsed.level, parsed.service, parsed.message) == (level, service, message)
    assert parsed.text == line


def test_naive_timestamps_are_utc_and_offsets_are_applied() -> None:
    naive = parse_line("2026-11-20 03:14:07 INFO x").ts
    assert naive == epoch("2026-11-20T03:14:07+00:00")
    assert parse_line("2026-11-20T03:14:07-05:00 INFO x").ts == naive + 5 * 3600


def test_syslog_uses_default_year_and_otherwise_the_reference_time() -> None:
    line = "Dec 31 23:59:59 h prog: bye"
    assert parse_line(line, default_year=2020).ts == epoch("2020-12-31T23:59:59")
    # Read on 2027-01-02 without a year: December belongs to the previous year, not the future.
    parser = LineParser(reference=epoch("2027-01-02T00:00:00"))
    assert parser.parse(1, line).ts == epoch("2026-12-31T23:59:59")


@pytest.mark.parametrize(
    ("value", "level"),
    [
        ("WARNING", "warn"),
        ("warn", "warn"),
        ("ERR", "error"),
        ("Error", "error"),
        ("FATAL", "fatal"),
        ("PANIC", "fatal"),
        ("CRIT", "critical"),
        ("debug2", "debug"),
        ("TRACE", "trace"),
        (30, "info"),
        (50, "error"),
        ("bogus", None),
        (True, None),
    ],
)
def test_normalize_level(value: object, level: str | None) -> None:
    assert normalize_level(value) == level


def test_continuation_lines_inherit_the_entry_above() -> None:
    parser = LineParser(default_service="svc")
    head = parser.parse(1, "2026-11-20T03:14:07Z ERROR request failed")
    frame = parser.parse(2, "    at com.example.Handler.handle(Handler.java:42)")
    assert (frame.ts, frame.level, frame.service) == (head.ts, "error", "svc")
    assert frame.message == "at com.example.Handler.handle(Handler.java:42)"


def test_unparseable_json_falls_back_to_plain_text() -> None:
    parsed = parse_line('{"msg": "unterminated ERROR', default_service="s")
    assert (parsed.ts, parsed.level, parsed.message) == (None, "error", '{"msg": "unterminated ERROR')


def test_garbage_timestamps_do_not_raise() -> None:
    assert parse_line("2026-13-45T99:99:99Z ERROR x").ts is None
    assert parse_line('{"ts": 1e400, "msg": "x"}').ts is None
    assert parse_line('{"ts": "nan", "msg": "x"}').ts is None


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_invalid_utf8_is_replaced_and_reading_goes_on(tmp_path: Path) -> None:
    path = write(tmp_path / "a.log", b"ok one\nbad \xff\xfe byte\r\nok three\n")
    stats = ReadStats()
    lines = list(iter_raw_lines(path, stats=stats))
    assert lines == [(1, "ok one"), (2, "bad \ufffd\ufffd byte"), (3, "ok three")]
    assert stats.bad_utf8 == 1


def test_overlong_lines_are_truncated_and_numbering_survives(tmp_path: Path) -> None:
    within_block = b"x" * (MAX_LINE_CHARS * 3)
    across_blocks = b"y" * (READ_BLOCK * 3 + 17)  # never held whole: bounded buffer
    path = write(tmp_path / "a.log", b"first\n" + within_block + b"\n" + across_blocks + b"\nlast")
    stats = ReadStats()
    lines = list(iter_raw_lines(path, stats=stats))
    assert [n for n, _ in lines] == [1, 2, 3, 4]
    assert lines[1][1] == "x" * MAX_LINE_CHARS
    assert lines[2][1] == "y" * MAX_LINE_CHARS
    assert lines[3] == (4, "last")
    assert stats.truncated == 2


def test_blank_lines_are_skipped_but_counted(tmp_path: Path) -> None:
    path = write(tmp_path / "a.log", b"a\n\n   \r\nb\n")
    assert list(iter_raw_lines(path)) == [(1, "a"), (4, "b")]


def test_gzip_is_read_transparently_whatever_the_name(tmp_path: Path) -> None:
    body = "".join(f"2026-11-20T03:14:07Z INFO line {i}\n" for i in range(5000)).encode()
    plain = write(tmp_path / "app.log", body)
    gz = write(tmp_path / "app.log.1", gzip.compress(body))  # rotated files are gzip without `.gz`
    seen: list[int] = []
    stats = ReadStats()
    assert list(iter_raw_lines(gz, stats=stats, progress=seen.append)) == list(iter_raw_lines(plain))
    assert stats.bytes_read == gz.stat().st_size
    assert seen and seen[-1] == gz.stat().st_size


def test_truncated_gzip_keeps_what_was_readable(tmp_path: Path) -> None:
    body = "".join(f"line {i} {'x' * 50}\n" for i in range(20000)).encode()
    data = gzip.compress(body)
    path = write(tmp_path / "cut.log.gz", data[: len(data) // 2])
    stats = ReadStats()
    lines = list(iter_raw_lines(path, stats=stats))
    assert 0 < len(lines) < 20000
    assert lines[0] == (1, "line 0 " + "x" * 50)
    assert stats.error is not None


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("payments-api.log", "payments-api"),
        ("payments-api-2026-11-20.log.gz", "payments-api"),
        ("/var/log/nginx/error.log", "nginx"),
        ("/var/log/nginx/access.log.1", "nginx"),
        ("postgresql-2026-11-20_031407.log", "postgresql"),
        ("payments-api.error.log", "payments-api"),
        ("/var/log/pods/ns_pod_uid/checkout/0.log", "checkout"),
        ("/var/log/containers/web-7d9f8b6c5d-x2x7k_default_web-" + "a" * 64 + ".log", "web"),
        ("/var/log/syslog", None),
    ],
)
def test_default_service_from_path(path: str, service: str | None) -> None:
    assert default_service_from_path(path) == service


def test_syslog_wrapping_klog_and_logfmt_takes_the_inner_level() -> None:
    kubelet = parse_line(
        "Nov 20 03:32:33 ip-10-0-3-17 kubelet[2871]: E1120 03:32:33.554009    2871 eviction_manager.go:431] "
        '"Eviction manager: unable to evict any pods from the node"',
        default_year=2026,
    )
    assert (kubelet.level, kubelet.service) == ("error", "kubelet")
    assert kubelet.message.startswith('"Eviction manager')
    containerd = parse_line(
        'Nov 20 03:32:37 ip-10-0-3-17 containerd[2144]: time="2026-11-20T03:32:37Z" level=warning msg="x"',
        default_year=2026,
    )
    assert (containerd.level, containerd.service) == ("warn", "containerd")


def test_json_without_a_message_key_keeps_its_fields() -> None:
    line = parse_line('{"ts": "2026-11-20T03:00:00Z", "level": "warn", "queue": "orders", "depth": 48211}')
    assert line.level == "warn"
    assert line.message == "queue=orders depth=48211"
