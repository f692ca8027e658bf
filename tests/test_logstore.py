"""The SQLite raw-line store (FTS keyword search, filters, atomic replace) and end-to-end ingestion."""

from __future__ import annotations

import gzip
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from opsagent.errors import StoreError
from opsagent.knowledge import logstore
from opsagent.knowledge.log_ingest import ingest_log_file
from opsagent.knowledge.logstore import SCHEMA_VERSION, LogLineStore, LogRow, fts_query

ROOT = "/srv/logs"


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[LogLineStore]:
    s = LogLineStore(tmp_path / "logs.sqlite3")
    yield s
    s.close()


def rows(*lines: tuple[float | None, str | None, str | None, str]) -> list[LogRow]:
    return [(n, ts, level, service, None, text) for n, (ts, level, service, text) in enumerate(lines, 1)]


@pytest.fixture()
def filled(store: LogLineStore) -> LogLineStore:
    store.replace_source(
        ROOT,
        "payments.log",
        rows(
            (100.0, "info", "payments", "charge ok for order 1"),
            (200.0, "error", "payments", "connection refused to db-1 10.0.0.5:5432"),
            (300.0, "warn", "payments", "retrying payments-api call (attempt 2)"),
            (400.0, "error", "payments", "connection reset by peer"),
        ),
    )
    store.replace_source(
        ROOT,
        "checkout.log",
        rows(
            (150.0, "info", "checkout", "cart viewed"),
            (250.0, "error", "checkout", "connection refused to payments-api"),
            (None, None, "checkout", "stack frame without time"),
        ),
    )
    return store


def test_keyword_search_ands_words_in_time_order(filled: LogLineStore) -> None:
    hits = filled.search("connection refused")
    assert [(h.source, h.line_no, h.ts) for h in hits] == [
        ("payments.log", 2, 200.0),
        ("checkout.log", 2, 250.0),
    ]
    assert hits[0].root == ROOT and hits[0].level == "error" and hits[0].service == "payments"
    assert hits[0].text == "connection refused to db-1 10.0.0.5:5432"
    newest = filled.search("connection", newest_first=True, limit=2)
    assert [h.ts for h in newest] == [400.0, 250.0]


def test_punctuated_keywords_are_phrases_and_prefixes_work(filled: LogLineStore) -> None:
    assert [h.line_no for h in filled.search("10.0.0.5:5432")] == [2]
    assert {(h.source, h.line_no) for h in filled.search("payments-api")} == {
        ("payments.log", 3),
        ("checkout.log", 2),
    }
    assert [h.line_no for h in filled.search("refus*", service="payments")] == [2]


@pytest.mark.parametrize(
    "hostile",
    [
        '"foo AND (',
        "NEAR/",
        "NEAR(a b",
        "a OR",
        "*",
        "(",
        '"',
        "col:value",
        "^start",
        "-x",
        "AND",
        "\x00",
        "'",
    ],
)
def test_hostile_input_never_raises(filled: LogLineStore, hostile: str) -> None:
    filled.search(hostile)
    filled.count(hostile)


def test_operators_are_searched_as_words(store: LogLineStore) -> None:
    store.replace_source(
        ROOT, "a.log", rows((1.0, None, "s", "rock AND roll"), (2.0, None, "s", "rock roll"))
    )
    assert [h.line_no for h in store.search("AND")] == [1]
    assert [h.line_no for h in store.search('"foo AND (')] == []
    assert fts_query('"foo AND (') == '"""foo" "AND"'
    assert fts_query("( ) *") is None
    assert store.search("((") == []


def test_time_window_listing_and_filters(filled: LogLineStore) -> None:
    window = filled.search(None, since=150.0, until=300.0)
    assert [(h.source, h.ts) for h in window] == [
        ("checkout.log", 150.0),
        ("payments.log", 200.0),
        ("checkout.log", 250.0),
        ("payments.log", 300.0),
    ]
    assert [h.ts for h in filled.search(None, service="payments", since=150.0)] == [200.0, 300.0, 400.0]
    assert [h.ts for h in filled.search(None, level="ERROR")] == [200.0, 250.0, 400.0]
    assert [h.ts for h in filled.search(None, level=["warn", "fatal"])] == [300.0]
    assert [h.line_no for h in filled.search(None, sources=["checkout.log"])] == [3, 1, 2]  # NULL ts first
    assert filled.search(None, sources=["missing.log"]) == []
    assert [h.ts for h in filled.search("connection", service="checkout")] == [250.0]
    assert filled.count(None) == 7
    assert filled.count("connection", until=300.0) == 2
    assert filled.count(None, root="/elsewhere") == 0
    assert len(filled.search(None, limit=3)) == 3


def test_replace_source_replaces_and_delete_source_removes(filled: LogLineStore) -> None:
    filled.replace_source(ROOT, "payments.log", rows((500.0, "info", "payments", "fresh line about refunds")))
    assert filled.search("connection", sources=["payments.log"]) == []
    assert [h.text for h in filled.search("refunds")] == ["fresh line about refunds"]
    assert sorted(filled.sources()) == [(ROOT, "checkout.log", 3), (ROOT, "payments.log", 1)]

    assert filled.delete_source(ROOT, "checkout.log") is True
    assert filled.delete_source(ROOT, "checkout.log") is False
    assert filled.search("cart") == []
    assert filled.count(None) == 1
    assert filled.sources() == [(ROOT, "payments.log", 1)]


def test_failed_replace_leaves_the_old_lines_visible(filled: LogLineStore) -> None:
    def exploding() -> Iterator[LogRow]:
        yield from rows(*[(float(i), None, "payments", f"new line {i}") for i in range(25_000)])
        raise OSError("disk went away")

    with pytest.raises(OSError, match="disk went away"):
        filled.replace_source(ROOT, "payments.log", exploding())
    assert filled.count(None, sources=["payments.log"]) == 4
    assert filled.search("new") == []
    assert [h.line_no for h in filled.search("connection refused", sources=["payments.log"])] == [2]


def test_rows_out_of_line_order_across_batches_are_rejected(
    store: LogLineStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.replace_source(ROOT, "ok.log", rows((1.0, None, None, "keep me")))
    monkeypatch.setattr(logstore, "BATCH_ROWS", 1)
    bad: list[LogRow] = [(2, None, None, None, None, "b"), (1, None, None, None, None, "a")]
    with pytest.raises(ValueError, match="increasing line number"):
        store.replace_source(ROOT, "ok.log", bad)  # line 1 after line 2's batch would miss the FTS index
    assert [h.text for h in store.search("keep")] == ["keep me"]


def test_schema_version_is_recorded_and_newer_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "logs.sqlite3"
    LogLineStore(path).close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer opsagent"):
        LogLineStore(path)


def generated_log(path: Path, services: int = 3, repeats: int = 600) -> int:
    """A few thousand gzipped lines: JSON requests of 3 services, plain cache lines, a burst of errors."""
    lines = []
    for i in range(repeats):
        for s in range(services):
            ts = f"2026-11-20T03:{(i // 60) % 60:02d}:{i % 60:02d}.{s}00Z"
            msg = f"request {i * 7 + s} ok in {i % 90}ms"
            lines.append(json.dumps({"ts": ts, "level": "info", "service": f"svc-{s}", "msg": msg}))
            lines.append(f"{ts} INFO cache hit for key user:{i * 13 + s} ratio=0.{i % 10}")
            if 200 <= i < 210:
                lines.append(f"{ts} ERROR payment {i} failed: connection refused to 10.0.{s}.{i % 250}:5432")
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    return len(lines)


def test_ingest_log_file_end_to_end(tmp_path: Path, store: LogLineStore) -> None:
    path = tmp_path / "payments-api-2026-11-20.log.gz"
    total = generated_log(path)
    seen: list[int] = []
    result = ingest_log_file(
        path, root=ROOT, source=path.name, store=store, default_service="payments-api", progress=seen.append
    )
    assert result.lines == total == 3630
    assert result.bytes == path.stat().st_size == seen[-1]
    assert result.warnings == []
    by_template = {(t.service, t.template): t for t in result.templates}
    assert sum(t.count for t in result.templates) == total
    request = by_template[("svc-1", "request <NUM> ok in <DUR>")]
    assert (request.count, request.first_line, request.levels) == (600, 3, {"info": 600})
    errors = by_template[("payments-api", "payment <NUM> failed: connection refused to <IP>")]
    assert errors.count == 30 and errors.levels == {"error": 30}
    assert errors.first_seen == pytest.approx(1795144800.0 - 600 + 200) and errors.last_seen is not None
    assert errors.examples[0].endswith("ERROR payment 200 failed: connection refused to 10.0.0.200:5432")
    assert len(result.templates) == 5  # one request template per JSON service, cache hits, payment errors

    hits = store.search("connection refused", limit=100)
    assert len(hits) == 30 and {h.level for h in hits} == {"error"}
    assert hits[0].line_no == errors.first_line and hits[0].source == path.name
    assert store.count(None, service="svc-2") == 600
    assert store.sources() == [(ROOT, path.name, total)]

    # Re-ingesting the same file replaces, it does not duplicate.
    ingest_log_file(path, root=ROOT, source=path.name, store=store, default_service="payments-api")
    assert store.count(None) == total
