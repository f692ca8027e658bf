"""Log line parsing: raw text line -> ``ParsedLine`` (timestamp, level, service, message).

Reading files (bounded buffer, gzip, bad UTF-8, overlong lines) lives in ``log_ingest.py``. Shapes:
JSON lines, logfmt, syslog (RFC 3164 and 5424), PostgreSQL, nginx access / error, klog, ISO-8601
(optionally bracketed) prefixed lines, anything else as plain text. Dispatch is on the first character
so a line pays for at most a couple of precompiled regexes; no pydantic here: this runs once per line.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

_json_loads: Callable[[str], Any]
try:  # orjson parses ~4x faster than json; chromadb already depends on it, but work without it
    from orjson import loads as _json_loads
except ImportError:  # pragma: no cover - only without orjson
    _json_loads = json.loads

_EPOCH = datetime(1970, 1, 1)

_LEVELS: dict[str, str] = {
    "trace": "trace", "trc": "trace", "finest": "trace", "finer": "trace",
    "debug": "debug", "dbg": "debug", "fine": "debug", "verbose": "debug",
    "debug1": "debug", "debug2": "debug", "debug3": "debug", "debug4": "debug", "debug5": "debug",
    "info": "info", "inf": "info", "information": "info", "informational": "info", "notice": "info",
    "log": "info",
    "warn": "warn", "warning": "warn", "wrn": "warn",
    "error": "error", "err": "error", "eror": "error", "severe": "error",
    "fatal": "fatal", "panic": "fatal", "emerg": "fatal", "emergency": "fatal", "dpanic": "fatal",
    "critical": "critical", "crit": "critical", "alert": "critical",
}  # fmt: skip
# pino / bunyan numeric levels
_NUMERIC_LEVELS = {10: "trace", 20: "debug", 30: "info", 40: "warn", 50: "error", 60: "fatal"}
# syslog severity = PRI % 8
_SYSLOG_SEVERITY = ("fatal", "critical", "critical", "error", "warn", "info", "info", "debug")
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS = {m: i for i, m in enumerate(_MONTH_NAMES, 1)}
_KLOG_LEVELS = {"I": "info", "W": "warn", "E": "error", "F": "fatal"}
_PG_CONTINUATION = frozenset({"DETAIL", "HINT", "STATEMENT", "CONTEXT", "QUERY", "LOCATION"})

_ISO = re.compile(
    r"\[?(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d{1,9})?)\s?(Z|[+-]\d\d(?::?\d\d)?|UTC|GMT)?\]?[\s,|]*"
)
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
    r"(\S+) ([^\s:\[]+)(?:\[\d+\])?: ?(.*)",
    re.S,
)
_RFC5424 = re.compile(r"(\S+) (\S+) (\S+) (\S+) (\S+) (-|\[.*?\]) ?(.*)", re.S)
_PRI = re.compile(r"<(\d{1,3})>(?:1 )?")
_KLOG = re.compile(r"([IWEF])(\d\d)(\d\d) (\d\d):(\d\d):(\d\d)(\.\d+)?\s+\d+ [^\]]*\] (.*)", re.S)
_LOGFMT_HEAD = re.compile(r"[A-Za-z_][\w.\-]*=")
_LOGFMT_PAIR = re.compile(r'([\w.\-@]+)=("(?:[^"\\]|\\.)*"|\S*)')
# A level word right at the start of the text: `ERROR msg`, `[warn] msg`, `<info>`, `error:`.
_LEVEL_FIRST = re.compile(r"[\s\-|:]*[\[(<]?([A-Za-z]{3,13}[1-5]?)[\])>]?(?::|\s|$)")
# Upper-case level words anywhere in the head: `2026-.. - app - ERROR - msg`, spring's `  INFO 1 --- `.
_LEVEL_UPPER = re.compile(
    r"\b(TRACE|DEBUG|INFO|NOTICE|WARNING|WARN|ERROR|ERR|FATAL|PANIC|CRITICAL|CRIT|SEVERE|EMERG|ALERT)\b"
)
_LEVEL_HEAD_CHARS = 80
_PLAIN_LEVEL_WORDS = frozenset(("trace", "debug", "info", "warn", "warning", "error", "fatal", "critical"))

_TS_KEYS = ("ts", "time", "timestamp", "@timestamp", "t", "date", "datetime", "eventTime")
_LEVEL_KEYS = ("level", "lvl", "severity", "levelname", "log.level", "loglevel", "@l")
_MSG_KEYS = ("msg", "message", "log", "event", "MESSAGE", "@m", "text")
_SERVICE_KEYS = ("service", "service.name", "app", "application", "component", "logger", "logger_name")
# Other keys worth keeping next to the message: they carry the "why" of an error line.
_EXTRA_KEYS = ("error", "err", "exception", "exc_info", "reason", "status", "status_code")
_BOOKKEEPING = frozenset(_TS_KEYS + _LEVEL_KEYS + _SERVICE_KEYS)

_T = TypeVar("_T")
# (ts, level, service, message) as found by one format's parser
_Fields = tuple[float | None, str | None, str | None, str]


class ParsedLine:
    """One parsed log line; a plain slotted class because one is made per line."""

    __slots__ = ("line_no", "ts", "level", "service", "message", "text")

    def __init__(
        self, line_no: int, ts: float | None, level: str | None, service: str | None, message: str, text: str
    ) -> None:
        self.line_no = line_no
        self.ts = ts
        self.level = level
        self.service = service
        self.message = message
        self.text = text

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__[:-1])
        return f"ParsedLine({fields})"


def normalize_level(value: object) -> str | None:
    """Map a level name or number (WARNING, ERR, 50, PANIC) to trace/debug/info/warn/error/fatal/critical."""
    if isinstance(value, str):
        return _LEVELS.get(value.strip().lower())
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _NUMERIC_LEVELS.get(int(value))
    return None


def _iso_epoch(stamp: str, tz: str | None) -> float | None:
    """Epoch seconds of `YYYY-MM-DD[T ]HH:MM:SS[.frac]` plus an optional zone; naive means UTC."""
    try:
        seconds = (datetime.fromisoformat(stamp) - _EPOCH).total_seconds()
    except ValueError:
        return None
    if tz and tz[0] in "+-":
        sign = -1 if tz[0] == "+" else 1  # 03:00+02:00 is 01:00 UTC
        digits = tz[1:].replace(":", "")
        seconds += sign * (int(digits[:2]) * 3600 + (int(digits[2:4]) * 60 if len(digits) >= 4 else 0))
    return seconds


def _ymd_epoch(year: int, month: int, day: int, hh: str, mm: str, ss: str) -> float | None:
    try:
        return (datetime(year, month, day, int(hh), int(mm), int(ss)) - _EPOCH).total_seconds()
    except ValueError:
        return None


def _epoch_from_value(value: Any) -> float | None:
    """A JSON timestamp: an ISO string or epoch seconds / milliseconds / micro- / nanoseconds."""
    if isinstance(value, str):
        m = _ISO.match(value)
        if m is not None:
            return _iso_epoch(m.group(1), m.group(2))
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            v = float(value)
        except OverflowError:  # a JSON integer beyond float range
            return None
        if not math.isfinite(v):
            return None
        while v > 1e11:  # milliseconds, microseconds, nanoseconds since the epoch
            v /= 1000.0
        return v
    return None


def split_level(text: str) -> tuple[str | None, str]:
    """(level, rest): a level word at the start (then dropped) or an upper-case one in the first 80 chars."""
    m = _LEVEL_FIRST.match(text)
    if m is not None:
        word = m.group(1)
        level = _LEVELS.get(word.lower())
        # `Log rotated`, `alert fired`: ordinary words unless written like a level (upper case)
        if level is not None and (word.isupper() or word.lower() in _PLAIN_LEVEL_WORDS):
            return level, text[m.end() :]
    m = _LEVEL_UPPER.search(text, 0, _LEVEL_HEAD_CHARS)
    if m is None:
        return None, text
    level = _LEVELS[m.group(1).lower()]
    if text.startswith((" - ", " | "), m.end()):  # `- name - ERROR - msg`: drop the constant prefix
        return level, text[m.end() + 3 :]
    return level, text


def _first(obj: dict[str, Any], keys: tuple[str, ...], convert: Callable[[Any], _T | None]) -> _T | None:
    """The first of `keys` in `obj` whose value converts to something."""
    for key in keys:
        if key in obj:
            value = convert(obj[key])
            if value is not None:
                return value
    return None


def _compact(value: Any, limit: int = 300) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, separators=(",", ":"))
    return text if len(text) <= limit else text[:limit] + "…"


class LineParser:
    """Turns raw lines into ParsedLine; holds per-file defaults and the previous line for continuations."""

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
        self._fixed_year = default_year is not None
        self._year = default_year if default_year is not None else self._now.year
        self._prev_ts: float | None = None
        self._prev_level: str | None = None
        self._prev_service: str | None = None

    def parse(self, line_no: int, text: str) -> ParsedLine:
        """Parse one line (never raises: unknown shapes become plain text with whatever was found)."""
        c = text[0]
        got: _Fields | None = None
        if c == "{":
            got = self._json(text)
        elif "0" <= c <= "9":
            got = self._digit(text)
        elif c == "<":
            got = self._pri(text)
        elif c == "[":
            m = _ISO.match(text)
            if m is not None:
                rest = text[m.end() :]
                level, rest = split_level(rest)
                got = _iso_epoch(m.group(1), m.group(2)), level, None, rest
        elif c in "JFMASOND" and text[3:4] == " " and text[:3] in _MONTHS:
            got = self._syslog(text, 0)
        elif c in "IWEF" and text[1:2].isdigit():
            got = self._klog(text)
        if got is None and c.isalpha() and _LOGFMT_HEAD.match(text) is not None:
            got = self._logfmt(text)
        if got is None:
            level, message = split_level(text) if c not in " \t" else (None, text)
            got = None, level, None, message
        ts, level, service, message = got
        if ts is None:
            # A line without its own timestamp (stack frame, wrapped message) belongs to the entry above.
            ts = self._prev_ts
            if level is None:
                level = self._prev_level
            if service is None:
                service = self._prev_service
        else:
            self._prev_ts = ts
            self._prev_level = level
        if service is None:
            service = self.default_service
        self._prev_service = service
        return ParsedLine(line_no, ts, level, service, message.strip(), text)

    def _digit(self, text: str) -> _Fields | None:
        m = _ISO.match(text)
        if m is not None:
            ts = _iso_epoch(m.group(1), m.group(2))
            rest = text[m.end() :]
            pg = _PG.match(rest)
            if pg is not None:
                tag = pg.group(2)
                level = None if tag in _PG_CONTINUATION else _LEVELS.get(tag.lower())
                if level is None and tag in _PG_CONTINUATION:
                    level = self._prev_level
                return ts, level, self.default_service or "postgres", f"{tag}: {pg.group(3)}"
            sl = _SYSLOG_REST.match(rest)
            if sl is not None and not _LEVEL_UPPER.match(rest):
                return ts, split_level(sl.group(3))[0], sl.group(2), sl.group(3)
            level, rest = split_level(rest)
            return ts, level, None, rest
        m = _ACCESS.match(text)
        if m is not None:
            return self._access(m)
        m = _NGINX_ERROR.match(text)
        if m is not None:
            year, month, day, hms, lvl, msg = m.groups()
            ts = _iso_epoch(f"{year}-{month}-{day} {hms}", None)
            return ts, _LEVELS.get(lvl.lower()), self.default_service or "nginx", msg
        return None

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
        return ts, level, self.default_service or "nginx", f'"{request}" {status}'

    def _syslog_year_epoch(self, month: int, day: int, hh: str, mm: str, ss: str) -> float | None:
        ts = _ymd_epoch(self._year, month, day, hh, mm, ss)
        if ts is not None and not self._fixed_year and ts > (self._now - _EPOCH).total_seconds() + 86400:
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
        elif level is None and "level=" in msg and (inner := self._logfmt(msg)) is not None:
            level = inner[1]
        return ts, level, prog, msg

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
            ts = _epoch_from_value(stamp)
            return ts, severity, None if app == "-" else app, msg
        got = self._syslog(text, pos)
        if got is None:
            return None
        return got[0], severity, got[2], got[3]

    def _klog(self, text: str) -> _Fields | None:
        m = _KLOG.match(text)
        if m is None:
            return None
        lvl, month, day, hh, mm, ss, frac, msg = m.groups()
        ts = self._syslog_year_epoch(int(month), int(day), hh, mm, ss)
        if ts is not None and frac:
            ts += float(frac)
        return ts, _KLOG_LEVELS[lvl], None, msg

    def _json(self, text: str) -> _Fields | None:
        try:
            obj = _json_loads(text)
        except ValueError:
            return None
        if not isinstance(obj, dict):
            return None
        return self._structured(obj)

    def _logfmt(self, text: str) -> _Fields | None:
        pairs = _LOGFMT_PAIR.findall(text)
        if len(pairs) < 2:
            return None
        obj = {k: (v[1:-1].replace('\\"', '"') if v[:1] == '"' and len(v) > 1 else v) for k, v in pairs}
        ts, level, service, message = self._structured(obj)
        if not any(k in obj for k in _MSG_KEYS):
            message = text  # key=value only: the whole line is the message
        return ts, level, service, message

    def _structured(self, obj: dict[str, Any]) -> _Fields:
        ts = _first(obj, _TS_KEYS, _epoch_from_value)
        level = _first(obj, _LEVEL_KEYS, normalize_level)
        if level is None and isinstance(obj.get("log"), dict):  # ECS: {"log": {"level": "error"}}
            level = normalize_level(obj["log"].get("level"))
        service = None
        for key in _SERVICE_KEYS:
            value = obj.get(key)
            if isinstance(value, dict):  # ECS: {"service": {"name": ...}}
                value = value.get("name")
            if isinstance(value, str) and value:
                service = value
                break
        if service is None:
            k8s = obj.get("kubernetes")
            if isinstance(k8s, dict) and isinstance(k8s.get("container_name"), str):
                service = k8s["container_name"]
            elif isinstance(obj.get("kubernetes.container_name"), str):
                service = obj["kubernetes.container_name"]
        message = ""
        for key in _MSG_KEYS:
            value = obj.get(key)
            if isinstance(value, str):
                message = value
                if key == "log":  # docker json-file: the payload is itself a log line
                    message = value.rstrip("\n")
                    if level is None:
                        level = split_level(message)[0]
                break
        extras = [f"{k}={_compact(obj[k])}" for k in _EXTRA_KEYS if k in obj and obj[k] not in (None, "")]
        if extras:
            message = f"{message} {' '.join(extras)}" if message else " ".join(extras)
        if not message:  # no message key at all: the remaining fields are the message
            message = " ".join(f"{k}={_compact(v, 80)}" for k, v in obj.items() if k not in _BOOKKEEPING)[
                :2000
            ]
        return ts, level, service, message


def parse_line(
    text: str, *, default_service: str | None = None, default_year: int | None = None
) -> ParsedLine:
    """Parse one line on its own (tests, ad-hoc use); files go through `LineParser` to link continuations."""
    return LineParser(default_service=default_service, default_year=default_year).parse(1, text)
