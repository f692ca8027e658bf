"""Log line parsing: raw text line -> ``ParsedLine`` (timestamp, level, service, component, message).

Reading files (bounded buffer, gzip, bad UTF-8, overlong lines) lives in ``log_ingest.py``; the many
plain-text header shapes live in ``logformats.py``. Here: JSON lines, logfmt, syslog (RFC 3164 and 5424),
PostgreSQL, nginx access / error, klog, ISO-8601 (optionally bracketed) prefixed lines, dispatch to the
other formats, and multi-line events. Dispatch is on the first characters so a line pays for at most a
couple of precompiled regexes; no pydantic here: this runs once per line.

``message`` is the body only (no date, level, pid, thread or logger): it is what the template miner sees.
A line without a header of its own is a *continuation* of the event above (stack frames, tracebacks, Go
goroutine dumps, wrapped text) when it looks like one or when most lines so far carried a timestamp;
it then inherits the event's timestamp, level and service. Other header-less lines stay undated.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from opsagent.knowledge import logformats as fmt
from opsagent.knowledge.logformats import (
    ISO,
    LEVEL_UPPER,
    LEVELS,
    MONTHS,
    Fields,
    iso_epoch,
    normalize_level,
    split_level,
    ymd_epoch,
)
from opsagent.knowledge.logrecords import LOGFMT_HEAD, epoch_from_value, json_record, logfmt_record

__all__ = ["LineParser", "ParsedLine", "normalize_level", "parse_line", "split_level"]

_EPOCH = datetime(1970, 1, 1)

_LEVELS = LEVELS
# syslog severity = PRI % 8
_SYSLOG_SEVERITY = ("fatal", "critical", "critical", "error", "warn", "info", "info", "debug")
_MONTHS = MONTHS
_KLOG_LEVELS = {"I": "info", "W": "warn", "E": "error", "F": "fatal"}
_PG_CONTINUATION = frozenset({"DETAIL", "HINT", "STATEMENT", "CONTEXT", "QUERY", "LOCATION"})

_PG = re.compile(
    r"\[(\d+)\](?:-\d+)?\s+(?:\S+\s+)??(LOG|ERROR|FATAL|PANIC|WARNING|NOTICE|INFO|DEBUG[1-5]?|"
    r"DETAIL|HINT|STATEMENT|CONTEXT|QUERY|LOCATION):\s+(.*)",
    re.S,
)
_SYSLOG_REST = re.compile(r"(\S+) ([^\s:\[]+)\[\d+\]: ?(.*)", re.S)
_NGINX_ERROR = re.compile(r"(\d{4})/(\d\d)/(\d\d) (\d\d:\d\d:\d\d) \[(\w+)\] \d+#\d+: (?:\*\d+ )?(.*)", re.S)
_ACCESS = re.compile(
    r"([0-9A-Fa-f.:]+) \S+ \S+ \[(\d\d)/(\w{3})/(\d{4}):(\d\d):(\d\d):(\d\d) ([+-]\d{4})\] "
    r'"([^"]*)" (\d{3}) '
)
_SYSLOG = re.compile(
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) {1,2}(\d{1,2}) (\d\d):(\d\d):(\d\d)(?:\.\d+)? "
    r"(\S+) ([^\s:\[]+)(?:\[\d*\])?(?: \([^)]*\))?: ?(.*)",  # macOS adds ` (<address>)` after the pid
    re.S,
)
_RFC5424 = re.compile(r"(\S+) (\S+) (\S+) (\S+) (\S+) (-|\[.*?\]) ?(.*)", re.S)
_PRI = re.compile(r"<(\d{1,3})>(?:1 )?")
_KLOG = re.compile(r"([IWEF])(\d\d)(\d\d) (\d\d):(\d\d):(\d\d)(\.\d+)?\s+\d+ [^\]]*\] (.*)", re.S)
_Fields = Fields  # (ts, level, service, component, message) as found by one format's parser

# A header-less line that continues the event above: indented, a Java/Python/Go trace line, or an
# exception name (`java.lang.IllegalStateException: x`, `ValueError: x`; CamelCase so `Error: x` is not).
_CONTINUATION = re.compile(
    r"[ \t]|at [\w$.<>]+\(|Caused by:|Suppressed:|\.\.\. \d+ (?:more|common)|Traceback \(|"
    r"During handling of|The above exception|goroutine \d+ \[|\[signal |created by |exit status \d|"
    r"(?:[\w$]+\.)*[A-Z][a-z][\w$]*(?:Error|Exception|Throwable|Exit|Interrupt)\b:?"
)
# Inside a trace, Go's frame lines (`main.main()`, `net/http.(*conn).serve(0xc0001)`) have no indent.
_TRACE_FRAME = re.compile(r"[\w./*()\[\]$-]+\(.*\)\s*$")
_TRACE_START = re.compile(
    r"\s*(?:at |Traceback|goroutine |Caused by|\[signal )|(?:[\w$]+\.)*[A-Z][a-z]\w*(?:Error|Exception)"
)
_JOURNAL_FIELD = re.compile(r"(__CURSOR|__REALTIME_TIMESTAMP|[A-Z_][A-Z0-9_]*)=(.*)", re.S)
_PANIC = ("panic: ", "fatal error: ")  # a Go runtime crash: its goroutine dump follows


class ParsedLine:
    """One parsed log line; a plain slotted class because one is made per line.

    `continued` marks a line without a header of its own that belongs to the event above (it then
    carries that event's ts, level and service); `component` is the logger / tag / program part of the
    header (`org.apache.hadoop.ipc.Server`, `WindowManager`), kept apart from the file's service.
    """

    __slots__ = ("line_no", "ts", "level", "service", "message", "text", "component", "continued")

    def __init__(
        self,
        line_no: int,
        ts: float | None,
        level: str | None,
        service: str | None,
        message: str,
        text: str,
        component: str | None = None,
        continued: bool = False,
    ) -> None:
        self.line_no = line_no
        self.ts = ts
        self.level = level
        self.service = service
        self.message = message
        self.text = text
        self.component = component
        self.continued = continued

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__ if name != "text")
        return f"ParsedLine({fields})"


_ymd_epoch = ymd_epoch
_iso_epoch = iso_epoch
_ISO = ISO
# CRI (containerd, CRI-O) container log lines: `2026-12-02T01:02:03.123456789Z stderr F message`
_CRI = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?)(Z|[+-]\d\d:\d\d) (?:stdout|stderr) [PF] ")


class LineParser:
    """Turns raw lines into ParsedLine; holds per-file defaults and the open event for continuations."""

    def __init__(
        self,
        *,
        default_service: str | None = None,
        default_year: int | None = None,
        reference: float | None = None,
    ) -> None:
        """`reference` (epoch, default now) dates year-less stamps when `default_year` is None."""
        self.default_service = default_service
        self._now = datetime.fromtimestamp(reference, UTC) if reference is not None else datetime.now(UTC)
        self._now = self._now.replace(tzinfo=None)
        self._now_epoch = (self._now - _EPOCH).total_seconds()
        self._fixed_year = default_year is not None
        self._year = default_year if default_year is not None else self._now.year
        # The latest full date in this file: year-less stamps next to it take over its year.
        self._context_stamp: str | None = None
        self._prev_ts: float | None = None
        self._prev_level: str | None = None
        self._prev_service: str | None = None
        self._prev_component: str | None = None
        self._prev_message = ""
        self._journal = False  # `journalctl -o export`: one KEY=VALUE per line, records from __CURSOR=
        self._in_trace = False  # the open event has a stack trace / goroutine dump under way
        self._stamped = 0
        self._yearless = self._syslog_year_epoch

    @property
    def stamped_lines(self) -> int:
        """Lines that carried a timestamp of their own so far."""
        return self._stamped

    def parse(self, line_no: int, text: str) -> ParsedLine:
        """Parse one line (never raises: unknown shapes become plain text with whatever was found)."""
        if text[:1].isdigit() and text[10:11] == "T" and (cri := _CRI.match(text)) is not None:
            return self._cri(line_no, text, cri)
        c = text[:1]  # "" for an empty line (the file reader skips them; a caller may not)
        got: _Fields | None = None
        if c == "{":
            got = json_record(text)
        elif "0" <= c <= "9":
            got = self._iso(text) if text[4:5] == "-" else self._digit(text)
        elif c == "<":
            got = self._pri(text)
        elif c == "[":
            got = self._bracket(text)
        elif c in "JFMASOND" and text[3:4] == " " and text[:3] in _MONTHS:
            got = self._syslog(text, 0)
        elif c in "IWEF" and text[1:2].isdigit():
            got = self._klog(text)
        if got is None and (c == "-" or "A" <= c <= "Z"):
            got = fmt.labelled(text, self._yearless) or fmt.python_basic(text)
        if got is None and (c == "_" or self._journal) and (field := _JOURNAL_FIELD.match(text)):
            return self._journal_field(line_no, text, field.group(1), field.group(2))
        if got is None and c.isalpha() and LOGFMT_HEAD.match(text) is not None:
            got = logfmt_record(text)
        if got is None and c not in " \t":
            found = fmt.generic(text, self._yearless)
            if found is not None:
                got = self._with_tail(found[0], found[1])
        if got is None:
            # Line numbers count the lines before this one (blank ones too, which only makes the
            # "most lines are dated" rule stricter); the first line has no event to continue.
            if line_no > 1 and (
                c in " \t"
                or _CONTINUATION.match(text) is not None
                or (self._in_trace and _TRACE_FRAME.match(text) is not None)
                or self._stamped * 2 > line_no - 1  # most lines are dated: a header-less one is wrapped
            ):
                if not self._in_trace and (
                    _TRACE_START.match(text) is not None or self._prev_message.startswith(_PANIC)
                ):
                    self._in_trace = True
                return ParsedLine(
                    line_no,
                    self._prev_ts,
                    self._prev_level,
                    self._prev_service,
                    text.strip(),
                    text,
                    self._prev_component,
                    True,
                )
            level, message = split_level(text) if c not in " \t" else (None, text)
            got = None, level, None, None, message
        ts, level, service, component, message = got
        if ts is not None:
            self._stamped += 1
        if service is None:
            service = self.default_service
        self._in_trace = False
        self._prev_message = message
        self._prev_ts, self._prev_level = ts, level
        self._prev_service, self._prev_component = service, component
        return ParsedLine(line_no, ts, level, service, message.strip(), text, component)

    def _cri(self, line_no: int, text: str, cri: re.Match[str]) -> ParsedLine:
        """A container runtime (CRI) line, as kubelet writes /var/log/pods/*/*/0.log:
        `<RFC 3339 nano> stdout|stderr P|F <the container's own line>`. The inner line is parsed as any
        line is (JSON, klog, a traceback frame continuing the event above); the CRI stamp dates it."""
        ts = _iso_epoch(cri.group(1), cri.group(2))
        inner = text[cri.end() :]
        if not inner.strip():
            self._stamped += ts is not None
            return ParsedLine(line_no, ts, None, self.default_service, "", text)
        stamped = self._stamped
        parsed = self.parse(line_no, inner)
        if self._stamped == stamped and ts is not None:
            self._stamped += 1  # the line is dated, by the runtime
        if parsed.ts is None and not parsed.continued:
            parsed.ts = ts
            self._prev_ts = ts
        parsed.text = text
        return parsed

    def _journal_field(self, line_no: int, text: str, key: str, value: str) -> ParsedLine:
        """A `journalctl -o export` line: `__CURSOR=` opens a record, later fields continue it."""
        if key == "__CURSOR":
            self._journal = True
            self._prev_ts, self._prev_level, self._prev_service = None, None, self.default_service
            return ParsedLine(line_no, None, None, self.default_service, "", text)
        message = ""
        if key == "__REALTIME_TIMESTAMP" and value.isdigit():
            self._prev_ts = int(value) / 1e6
            self._stamped += 1
        elif key == "PRIORITY" and value.isdigit() and int(value) < 8:
            self._prev_level = _SYSLOG_SEVERITY[int(value)]
        elif key == "SYSLOG_IDENTIFIER" or (key == "_SYSTEMD_UNIT" and self._prev_service is None):
            self._prev_service = value.removesuffix(".service")
        elif key == "MESSAGE":
            message = value
        ts, level, service = self._prev_ts, self._prev_level, self._prev_service
        return ParsedLine(line_no, ts, level, service, message, text, None, True)

    def _with_tail(self, ts: float | None, rest: str) -> _Fields:
        """Fields of `<timestamp> <rest>`: a pid/level/thread/logger tail, else a level word anywhere."""
        tail = fmt.split_tail(rest)
        if tail is not None:
            return ts, tail[0], None, tail[1], tail[2]
        level, rest = split_level(rest)
        return ts, level, None, None, rest

    def _digit(self, text: str) -> _Fields | None:
        c4 = text[4:5]
        if c4 == "-":
            return self._iso(text)
        if c4 == "/":
            m = _NGINX_ERROR.match(text)
            if m is not None:
                year, month, day, hms, lvl, msg = m.groups()
                ts = _iso_epoch(f"{year}-{month}-{day} {hms}", None)
                return ts, _LEVELS.get(lvl.lower()), self.default_service or "nginx", None, msg
        if c4 == "/" or text[2:3] == "/":
            slash = fmt.slash_date(text)
            if slash is not None:
                return self._with_tail(*slash)
        if text[2:3] == "-":
            return fmt.android(text, self._yearless)
        if text[8:9] == "-":
            return fmt.compact(text)
        if text[6:7] == " " and text[13:14] == " ":
            hdfs = fmt.hdfs(text)
            if hdfs is not None:
                return self._with_tail(*hdfs)
        if "." in text[1:4]:
            m = _ACCESS.match(text)
            if m is not None:
                return self._access(m)
        if ":" in text[1:8]:
            got = fmt.redis(text)
            if got is not None:
                return got
        epoch = fmt.epoch_prefix(text)
        if epoch is not None:
            return self._with_tail(*epoch)
        return fmt.hpc(text)

    def _iso(self, text: str) -> _Fields | None:
        m = _ISO.match(text)
        if m is None:
            return None
        stamp = m.group(1)
        self._context_stamp = stamp
        ts = _iso_epoch(stamp, m.group(2))
        rest = text[m.end() :]
        pg = _PG.match(rest)
        if pg is not None:
            tag = pg.group(2)
            level = None if tag in _PG_CONTINUATION else _LEVELS.get(tag.lower())
            if level is None and tag in _PG_CONTINUATION:
                level = self._prev_level
            return ts, level, self.default_service or "postgres", None, f"{tag}: {pg.group(3)}"
        tail = fmt.split_tail(rest)
        if tail is not None:
            return ts, tail[0], None, tail[1], tail[2]
        sl = _SYSLOG_REST.match(rest)
        if sl is not None and not LEVEL_UPPER.match(rest):
            return ts, split_level(sl.group(3))[0], sl.group(2), None, sl.group(3)
        level, rest = split_level(rest)
        return ts, level, None, None, rest

    def _bracket(self, text: str) -> _Fields | None:
        m = _ISO.match(text)
        if m is not None:
            self._context_stamp = m.group(1)
            return self._with_tail(_iso_epoch(m.group(1), m.group(2)), text[m.end() :])
        got = fmt.bracketed(text, self._yearless)
        if got is not None and got[1] is None and got[3] is None:  # `[stamp] LEVEL msg`: split the tail
            return self._with_tail(got[0], got[4])
        return got

    def _access(self, m: re.Match[str]) -> _Fields:
        _ip, day, mon, year, hh, mi, ss, tz, request, status = m.groups()
        month = _MONTHS.get(mon)
        ts = _ymd_epoch(int(year), month, int(day), hh, mi, ss) if month else None
        if ts is not None:
            offset = int(tz[1:3]) * 3600 + int(tz[3:5]) * 60
            ts += -offset if tz[0] == "+" else offset
        code = int(status)
        level = "error" if code >= 500 else "warn" if code >= 400 else "info"
        parts = request.split(" ")
        if len(parts) == 3:  # drop the query string: it is variable and its keys rarely matter for shape
            request = f"{parts[0]} {parts[1].split('?', 1)[0]} {parts[2]}"
        return ts, level, self.default_service or "nginx", None, f'"{request}" {status}'

    def _syslog_year_epoch(self, month: int, day: int, hh: str, mm: str, ss: str) -> float | None:
        if self._context_stamp is not None and not self._fixed_year:
            return _ymd_epoch(int(self._context_stamp[:4]), month, day, hh, mm, ss)
        ts = _ymd_epoch(self._year, month, day, hh, mm, ss)
        if ts is not None and not self._fixed_year and ts > self._now_epoch + 86400:
            ts = _ymd_epoch(self._year - 1, month, day, hh, mm, ss)  # December lines read in January
        return ts

    def _syslog(self, text: str, pos: int) -> _Fields | None:
        m = _SYSLOG.match(text, pos)
        if m is None:
            return None
        mon, day, hh, mm, ss, _host, prog, msg = m.groups()
        ts = self._syslog_year_epoch(_MONTHS[mon], int(day), hh, mm, ss)
        level = split_level(msg)[0]
        # journald/syslog often wraps another format: klog (kubelet) or logfmt (containerd).
        if level is None and msg[:1] in "IWEF" and msg[1:2].isdigit() and (k := _KLOG.match(msg)):
            level, msg = _KLOG_LEVELS[k.group(1)], k.group(8)
        elif level is None and "level=" in msg and (inner := logfmt_record(msg)) is not None:
            level = inner[1]
        return ts, level, prog, None, msg

    def _pri(self, text: str) -> _Fields | None:
        p = _PRI.match(text)
        if p is None:
            return None
        severity = _SYSLOG_SEVERITY[int(p.group(1)) % 8]
        pos = p.end()
        if text[pos : pos + 1].isdigit():
            m = _RFC5424.match(text, pos)
            if m is None:
                return None
            stamp, _host, app, _procid, _msgid, _sd, msg = m.groups()
            ts = epoch_from_value(stamp)
            return ts, severity, None if app == "-" else app, None, msg
        got = self._syslog(text, pos)
        if got is None:
            return None
        return got[0], severity, got[2], None, got[4]

    def _klog(self, text: str) -> _Fields | None:
        m = _KLOG.match(text)
        if m is None:
            return None
        lvl, month, day, hh, mm, ss, frac, msg = m.groups()
        ts = self._syslog_year_epoch(int(month), int(day), hh, mm, ss)
        if ts is not None and frac:
            ts += float(frac)
        return ts, _KLOG_LEVELS[lvl], None, None, msg


def parse_line(
    text: str, *, default_service: str | None = None, default_year: int | None = None
) -> ParsedLine:
    """Parse one line on its own (tests, ad-hoc use); files go through `LineParser` to link continuations."""
    return LineParser(default_service=default_service, default_year=default_year).parse(1, text)
