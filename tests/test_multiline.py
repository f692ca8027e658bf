"""Multi-line events (Java/Python tracebacks, Go panics, wrapped text) and masks acting as variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsagent.knowledge.log_ingest import LogFileResult, ingest_log_file
from opsagent.knowledge.logs import LineParser
from opsagent.knowledge.logstore import LogLineStore, LogRow
from opsagent.knowledge.multiline import exception_signature
from opsagent.knowledge.templates import TemplateMiner

JAVA = """\
2026-03-14 09:26:50,001 INFO [main] org.acme.Api: request 1 ok
2026-03-14 09:26:51,002 ERROR [http-1] org.acme.Api: request 2 failed
java.lang.IllegalStateException: pool closed
    at org.acme.db.Pool.take(Pool.java:88)
    at org.acme.Api.handle(Api.java:42)
Caused by: java.io.IOException: broken pipe
    ... 12 more
2026-03-14 09:26:52,003 INFO [main] org.acme.Api: request 3 ok
2026-03-14 09:26:53,004 ERROR [http-2] org.acme.Api: request 4 failed
java.lang.IllegalStateException: pool closed again
    at org.acme.db.Pool.take(Pool.java:91)

    at org.acme.Api.handle(Api.java:42)
2026-03-14 09:26:54,005 ERROR [http-3] org.acme.Api: request 5 failed
java.lang.NullPointerException
    at org.acme.Api.render(Api.java:120)
"""


def ingest(tmp_path: Path, text: str, name: str = "app.log") -> tuple[LogFileResult, list[LogRow]]:
    path = tmp_path / name
    path.write_text(text)
    store = LogLineStore(tmp_path / "lines.db")
    captured: list[LogRow] = []
    original = store.replace_source

    def capture(root: str, source: str, rows: object, **kwargs: object) -> int:
        def tee() -> object:
            for row in rows:  # type: ignore[attr-defined]
                captured.append(row)
                yield row

        return original(root, source, tee(), **kwargs)  # type: ignore[arg-type]

    store.replace_source = capture  # type: ignore[method-assign]
    try:
        result = ingest_log_file(path, root=str(tmp_path), source=name, store=store, default_service="api")
    finally:
        store.close()
    return result, captured


def test_java_traces_join_their_event_and_every_line_is_kept(tmp_path: Path) -> None:
    result, rows = ingest(tmp_path, JAVA)
    # Every non-blank line is stored under its own `wc -l` line number (line 12 is blank).
    assert [r[0] for r in rows] == [n for n in range(1, 17) if n != 12]
    tid = {r[0]: r[4] for r in rows}
    assert {tid[n] for n in (2, 3, 4, 5, 6, 7)} == {tid[2]}  # the trace carries its event's template
    assert tid[9] == tid[2]  # same exception type and site: same template, whatever the message
    assert tid[14] != tid[2]  # another exception type and site: its own template
    assert tid[1] == tid[8] != tid[2]
    failed = result.templates[tid[2]]
    assert "java.lang.IllegalStateException at org.acme.db.Pool.take" in failed.template
    assert (failed.count, failed.levels) == (2, {"error": 2})
    assert (failed.first_line, failed.last_line) == (2, 13)  # the citation covers the whole last trace
    assert failed.examples[0].splitlines()[1] == "java.lang.IllegalStateException: pool closed"
    assert result.timestamped == result.lines == 15


def test_python_traceback_is_one_error_event_named_by_exception_and_innermost_frame(tmp_path: Path) -> None:
    text = (
        "2026-03-14 09:26:53,589 - billing - INFO - charge started\n"
        "Traceback (most recent call last):\n"
        '  File "/app/billing/api.py", line 10, in charge\n'
        "    ledger.post(amount)\n"
        '  File "/app/billing/ledger.py", line 77, in post\n'
        "    raise ValueError(amount)\n"
        "ValueError: -5\n"
    )
    result, rows = ingest(tmp_path, text)
    assert len({r[4] for r in rows}) == 1
    (template,) = result.templates
    assert template.template.endswith("ValueError at ledger.py in post")
    assert template.levels == {"error": 1}  # a traceback makes the event an error
    assert all(r[1] is not None for r in rows)


def test_go_panic_with_goroutine_dump_is_one_fatal_event_even_without_timestamps(tmp_path: Path) -> None:
    text = (
        "starting worker\n"
        "panic: runtime error: invalid memory address or nil pointer dereference\n"
        "[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x4a2b3c]\n"
        "\n"
        "goroutine 1 [running]:\n"
        "main.(*Worker).run(0xc000010000)\n"
        "\t/app/worker.go:31 +0x1d\n"
        "main.main()\n"
        "\t/app/main.go:12 +0x25\n"
        "exit status 2\n"
        "starting worker\n"
    )
    result, rows = ingest(tmp_path, text)
    tid = {r[0]: r[4] for r in rows}
    assert {tid[n] for n in range(2, 11) if n != 4} == {tid[2]}
    assert tid[1] == tid[11] != tid[2]
    panic = result.templates[tid[2]]
    assert panic.template.endswith("at main.(*Worker).run")
    assert panic.levels == {"fatal": 1}
    assert result.timestamped == 0  # nothing here is dated: no fraction is invented


def test_header_less_lines_of_an_undated_file_stay_their_own_events() -> None:
    parser = LineParser()
    lines = [parser.parse(n, text) for n, text in enumerate(["job one done", "job two done", "Error: x"], 1)]
    assert not any(p.continued for p in lines)


def test_wrapped_text_in_a_dated_file_joins_the_event_above() -> None:
    parser = LineParser()
    parser.parse(1, "2026-03-14T09:26:53Z INFO config reloaded:")
    parser.parse(2, "2026-03-14T09:26:54Z INFO applying")
    wrapped = parser.parse(3, "max_connections=500")
    assert wrapped.continued
    assert wrapped.ts == pytest.approx(1773480414.0)


@pytest.mark.parametrize(
    ("lines", "signature"),
    [
        (["java.lang.RuntimeException: x", "\tat a.B.c(B.java:1)"], "java.lang.RuntimeException at a.B.c"),
        (
            ["Traceback (most recent call last):", '  File "x.py", line 1, in f', "KeyError: 'k'"],
            "KeyError at x.py in f",
        ),
        (
            ["goroutine 7 [running]:", "net/http.(*conn).serve(0xc0001)", "\t/x.go:1"],
            "at net/http.(*conn).serve",
        ),
        (["  continued text", "  more text"], None),
    ],
)
def test_exception_signature(lines: list[str], signature: str | None) -> None:
    assert exception_signature(lines) == signature


def test_masked_variables_are_never_fixed_words_of_the_prefix_tree() -> None:
    miner = TemplateMiner()
    hosts = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]
    ids = {
        miner.add(f"{h}:{8300 + i} member joined", i + 1, None, "info", "svc", "raw")
        for i, h in enumerate(hosts)
    }
    assert len(ids) == 1  # `alpha:<NUM>`, `bravo:<NUM>` ... are one variable position, not six branches
    (template,) = miner.templates(source="a", root="/")
    assert template.template == "<*> member joined"
