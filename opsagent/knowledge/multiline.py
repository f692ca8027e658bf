"""Multi-line events: a head line and the continuation lines the parser attached to it.

A Java or Python stack trace, a Go panic with its goroutine dump, or a wrapped message is one event.
The template miner sees it once, through its head, plus an *exception signature* -- the exception type
and the site it was thrown from (`java.lang.IllegalStateException at com.acme.Pool.take`), so each
exception type and site gets its own template, and an event with a trace counts as an error even when
its head line had no level. Every raw line is still stored (line numbers stay true to `wc -l`), and
continuation lines get the event's template id; the template's example keeps the whole trace and its
line range runs from the event's first to its last line, for citation.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from opsagent.knowledge.logs import ParsedLine
from opsagent.knowledge.logstore import LogRow
from opsagent.knowledge.templates import TemplateMiner

# Continuation lines buffered per event before its template is decided; later lines of a longer event
# stream straight through with the id already chosen (memory stays bounded whatever the trace length).
MAX_EVENT_LINES = 500

_JAVA_EXC = re.compile(r"(?:Caused by: )?((?:[\w$]+\.)*[A-Z][\w$]*(?:Exception|Error|Throwable))(?::|\s*$)")
_PY_EXC = re.compile(r"((?:\w+\.)*[A-Z]\w*(?:Error|Exception|Exit|Interrupt|Warning))(?::|\s*$)")
_JAVA_FRAME = re.compile(r"at ([\w$.<>]+)\(")
_PY_FRAME = re.compile(r'File "([^"]+)", line \d+, in (\S+)')
_GO_FRAME = re.compile(r"([^\s(]\S*)\([^()]*\)\s*$")  # `main.(*Worker).run(0xc0001)`: up to its args
_ELEVATE = frozenset({None, "trace", "debug", "info"})


def exception_signature(lines: list[str]) -> str | None:
    """`Type at site` of a trace in an event's continuation lines (None when there is no trace).

    Java: the first exception and the first `at` frame; Python: the raised (last) exception and the
    innermost (last) `File ..., in func` frame; Go: the first function of the panicking goroutine.
    Line numbers are left out of the site: they move with every release.
    """
    stripped = [line.strip() for line in lines]
    if any(s.startswith("Traceback (") for s in stripped):
        kind = next((m.group(1) for s in reversed(stripped) if (m := _PY_EXC.match(s))), None)
        frame = next((m for s in reversed(stripped) if (m := _PY_FRAME.match(s))), None)
        site = f"{frame.group(1).rsplit('/', 1)[-1]} in {frame.group(2)}" if frame else None
    elif any(s.startswith("goroutine ") for s in stripped):
        kind = None
        start = next(i for i, s in enumerate(stripped) if s.startswith("goroutine "))
        site = next((m.group(1) for s in stripped[start + 1 :] if (m := _GO_FRAME.match(s))), None)
    else:
        kind = next((m.group(1) for s in stripped if (m := _JAVA_EXC.match(s))), None)
        site = next((m.group(1) for s in stripped if (m := _JAVA_FRAME.match(s))), None)
    if kind is None and site is None:
        return None
    return " ".join(part for part in (kind, f"at {site}" if site else None) if part)


class EventAssembler:
    """Turns parsed lines into stored rows, adding each event to the miner once."""

    __slots__ = ("miner", "busy", "_add", "_head", "_rest", "_tid", "_level")

    def __init__(self, miner: TemplateMiner) -> None:
        self.miner = miner
        # The open event has continuation lines: further lines must go through `feed`, not `head`.
        self.busy = False
        self._add = miner.add
        self._head: ParsedLine | None = None
        self._rest: list[ParsedLine] = []
        self._tid: int | None = None  # set once an overlong event's template is decided
        self._level: str | None = None

    def head(self, p: ParsedLine) -> LogRow | None:
        """Fast path for a line that starts a new event while the open one is a single line (not busy)."""
        prev = self._head
        self._head = p
        if prev is None:
            return None
        line_no, ts, level, service, text = prev.line_no, prev.ts, prev.level, prev.service, prev.text
        return line_no, ts, level, service, self._add(prev.message, line_no, ts, level, service, text), text

    def feed(self, p: ParsedLine) -> Iterator[LogRow]:
        """Rows that became final with this line (the previous event's, when this line starts a new one)."""
        if p.continued and self._head is not None:
            self.busy = True
            if self._tid is not None:
                yield p.line_no, p.ts, self._level, p.service, self._tid, p.text
            else:
                self._rest.append(p)
                if len(self._rest) >= MAX_EVENT_LINES:
                    yield from self._decide()
            return
        yield from self.flush()
        self._head = p

    def flush(self) -> Iterator[LogRow]:
        """Rows of the event still open (call at end of file)."""
        if self._head is not None and self._tid is None:
            yield from self._decide()
        self._head, self._rest, self._tid, self.busy = None, [], None, False

    def _decide(self) -> Iterator[LogRow]:
        head, rest = self._head, self._rest
        assert head is not None
        if rest and head.text.startswith("__CURSOR="):  # a journald export record: fields follow the head
            last = rest[-1]
            message = next((p.message for p in rest if p.text.startswith("MESSAGE=")), "")
            head = ParsedLine(head.line_no, last.ts, last.level, last.service, message, head.text)
            rest = [ParsedLine(p.line_no, last.ts, last.level, last.service, "", p.text) for p in rest]
        if not rest:  # the common single-line event
            tid = self.miner.add(head.message, head.line_no, head.ts, head.level, head.service, head.text)
            yield head.line_no, head.ts, head.level, head.service, tid, head.text
            return
        signature = exception_signature([p.text for p in rest])
        level = head.level
        message = head.message
        if signature is not None:
            message = f"{message} {signature}" if message else signature
            if level in _ELEVATE:
                level = "fatal" if head.message.startswith(("panic:", "fatal error:")) else "error"
        raw = "\n".join([head.text, *(p.text for p in rest)])[: self.miner.example_chars]
        end = rest[-1].line_no
        tid = self.miner.add(message, head.line_no, head.ts, level, head.service, raw, signature, end)
        self._tid, self._level, self._rest = tid, level, []
        yield head.line_no, head.ts, level, head.service, tid, head.text
        for p in rest:
            yield p.line_no, p.ts, level, p.service, tid, p.text
