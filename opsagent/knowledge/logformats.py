"""Header parsers for the many plain-text log shapes: timestamp, level, component and message body.

``logs.LineParser`` dispatches on a line's first characters and calls at most a couple of these per
line, so each is one anchored, precompiled regex plus plain string work (no pydantic, no dateutil).
Year-less stamps (syslog, Android logcat, Proxifier) are dated through the ``Yearless`` callback the
parser passes in, which knows the file's year. Formats handled here:

* after a timestamp, the log4j/logback/Spark/HDFS/OpenStack/MySQL/Windows CBS tail: optional pid, level
  (``INFO``, ``[ERROR]``, ``- WARN``), optional ``[thread]``, optional ``logger:`` / ``logger -`` /
  ``Component   `` -- see ``split_tail``;
* ``yyyy/MM/dd`` (Go's log), ``yy/MM/dd`` (Hadoop/Spark), ``yyMMdd HHmmss`` (HDFS), ``MM-dd HH:mm:ss.SSS``
  (Android threadtime), ``yyyyMMdd-HH:mm:ss:SSS`` (HealthApp), Redis, epoch seconds/millis prefixes and
  the HPC record shape;
* bracketed stamps: Apache error logs (2.2 and 2.4), ``[dd/Mon/yyyy:HH:mm:ss +zzzz]``, ``[MM.dd HH:mm:ss]``;
* labelled supercomputer logs (BGL, Thunderbird: ``- <epoch> yyyy.MM.dd node ...``) and Python's
  ``LEVEL:logger:message``;
* a generic detector that finds a date-time near the start of an otherwise unknown line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

_EPOCH = datetime(1970, 1, 1)
MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                                       "Nov", "Dec"), 1)}  # fmt: skip

# (ts, level, service, component, message) as found by one format's parser
Fields = tuple[float | None, str | None, str | None, str | None, str]
# dates a year-less stamp: (month, day, hh, mm, ss) -> epoch seconds
Yearless = Callable[[int, int, str, str, str], float | None]

LEVELS: dict[str, str] = {
    "trace": "trace", "trc": "trace", "finest": "trace", "finer": "trace",
    "debug": "debug", "dbg": "debug", "fine": "debug", "verbose": "debug",
    "debug1": "debug", "debug2": "debug", "debug3": "debug", "debug4": "debug", "debug5": "debug",
    "info": "info", "inf": "info", "information": "info", "informational": "info", "notice": "info",
    "log": "info",
    "warn": "warn", "warning": "warn", "wrn": "warn",
    "error": "error", "err": "error", "eror": "error", "severe": "error", "failure": "error",
    "fatal": "fatal", "panic": "fatal", "emerg": "fatal", "emergency": "fatal", "dpanic": "fatal",
    "critical": "critical", "crit": "critical", "alert": "critical",
}  # fmt: skip
_LETTER_LEVELS = {
    "V": "trace", "D": "debug", "I": "info", "W": "warn", "E": "error", "F": "fatal", "A": "fatal"
}  # fmt: skip
_REDIS_LEVELS = {".": "debug", "-": "debug", "*": "info", "#": "warn"}

# pino / bunyan numeric levels
_NUMERIC_LEVELS = {10: "trace", 20: "debug", 30: "info", 40: "warn", 50: "error", 60: "fatal"}
ISO = re.compile(
    r"\[?(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d{1,9})?)\s?(Z|[+-]\d\d(?::?\d\d)?|UTC|GMT)?\]?[\s,|]*"
)
# A level word right at the start of the text: `ERROR msg`, `[warn] msg`, `<info>`, `error:`.
_LEVEL_FIRST = re.compile(r"[\s\-|:]*[\[(<]?([A-Za-z]{3,13}[1-5]?)[\])>]?(?::|\s|$)")
# Upper-case level words anywhere in the head: `2026-.. - app - ERROR - msg`, spring's `  INFO 1 --- `.
LEVEL_UPPER = re.compile(
    r"\b(TRACE|DEBUG|INFO|NOTICE|WARNING|WARN|ERROR|ERR|FATAL|PANIC|CRITICAL|CRIT|SEVERE|EMERG|ALERT)\b"
)
_LEVEL_HEAD_CHARS = 80
_PLAIN_LEVEL_WORDS = frozenset(("trace", "debug", "info", "warn", "warning", "error", "fatal", "critical"))

# The tail after a timestamp: [pid] level [thread] [component] -- one regex, every part optional but
# the level, which is what makes the rest a header rather than message words.
_TAIL = re.compile(  # possessive quantifiers (*+, ++): a failed tail must not backtrack char by char
    r"[\s\-|:,]*+(?:\d++\s+)?"  # separators, a pid (OpenStack, HDFS, MySQL `0 [ERROR]`)
    r"(?:\[(?P<blevel>[A-Za-z]{3,11})\]|(?P<level>[A-Za-z]{3,11}+[1-5]?))(?=[\s:|]|$)[\s:|\-]*+"
    r"(?:\d++\s+---\s+)?"  # Spring Boot's `<pid> ---`
    r"(?:\[(?P<thread>(?:[^\[\]]++|\[[^\[\]]*+\])*+)\][\s\-]*+)?"  # [main], [QuorumPeer[myid=1]/0:..@774]
    r"(?:\[(?P<bcomp>[\w$.\-/ ]{1,60})\]\s+)?"  # MySQL's [Server]
    r"(?:(?P<comp>[A-Za-z_$][\w$.\-/]*+(?:\[\d+\])?)(?:\s*:\s+|\s+-\s+|\s{2,}|\s+(?=\[[^\]]*\]\s)))?"
    r"(?:\[[^\]]*+\]\s+)?"  # OpenStack's [req-... - - -] request context
)
_LOWER_OK = frozenset(("trace", "debug", "info", "warn", "warning", "error", "fatal", "critical", "notice"))

_SLASH_DATE = re.compile(r"(\d{2}|\d{4})/(\d\d)/(\d\d)[ T](\d\d):(\d\d):(\d\d)(?:[.,](\d{1,9}))? ?")
_HDFS = re.compile(r"(\d\d)(\d\d)(\d\d) (\d\d)(\d\d)(\d\d) ")
_ANDROID = re.compile(
    r"(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(\.\d+)?\s+\d+\s+\d+\s+([VDIWEFA])\s+([^:]*?)\s*: ?(.*)", re.S
)
_COMPACT = re.compile(
    r"(\d{4})(\d\d)(\d\d)-(\d\d):(\d\d):(\d\d)(?::(\d{1,3}))?\|([^|]*)\|(?:\d+\|)?(.*)", re.S
)
_REDIS = re.compile(r"\d+:[XCSM] (\d\d) (\w{3}) (\d{4}) (\d\d):(\d\d):(\d\d)(\.\d+)? ([.\-*#]) (.*)", re.S)
_EPOCH_PREFIX = re.compile(r"(\d{10}(?:\.\d{1,9})?|\d{13})(?=[\s,|;\]])[\s,|;\]]*")
_HPC = re.compile(r"\d+ (\S+) (\S+) (\S+) (\d{10}) \d+ (.*)", re.S)
_APACHE = re.compile(
    r"\[(?:\w{3}) (\w{3}) (\d\d) (\d\d):(\d\d):(\d\d)(\.\d+)? (\d{4})\] \[(?:([\w-]+):)?(\w+)\]\s*"
    r"(?:\[pid [^\]]*\]\s*)?(.*)",
    re.S,
)
_BRACKET_CLF = re.compile(r"\[(\d\d)/(\w{3})/(\d{4}):(\d\d):(\d\d):(\d\d)(?:\.\d+)? ?([+-]\d{4})?\][\s\-|:]*")
_BRACKET_MD = re.compile(r"\[(\d\d)\.(\d\d) (\d\d):(\d\d):(\d\d)\]\s*(?:(\S+) - )?(.*)", re.S)
_PY_BASIC = re.compile(r"(CRITICAL|ERROR|WARNING|INFO|DEBUG):([\w.]+):(.*)", re.S)
_LABELLED = re.compile(r"(\S+) (\d{10}) \d{4}\.\d\d\.\d\d (\S+) (.*)", re.S)
_BGL_REST = re.compile(r"\d{4}-\d\d-\d\d-\d\d\.\d\d\.\d\d\.\d+ \S+ \S+ (\S+) ([A-Z]+) (.*)", re.S)
_SYSLOG_REST = re.compile(
    r"(\w{3}) {1,2}(\d{1,2}) (\d\d):(\d\d):(\d\d) \S+ ([^\s:\[]+)(?:\[\d*\])?(?: \([^)]*\))?: ?(.*)", re.S
)
_GENERIC = re.compile(
    r"(?P<y>\d{4})[-/.](?P<mo>\d\d)[-/.](?P<d>\d\d)[T -](?P<h>\d\d)[:.](?P<mi>\d\d)[:.](?P<s>\d\d)"
    r"(?P<f>[.,]\d{1,9})?"
    r"|(?P<mon>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) {1,2}(?P<md>\d{1,2}) "
    r"(?P<th>\d\d):(?P<tm>\d\d):(?P<ts>\d\d)(?:\.\d+)?(?: (?P<ty>\d{4})\b)?"
)
GENERIC_SPAN = 64  # how far into a line a leading timestamp may start (past a file name or a host)


def ymd_epoch(year: int, month: int, day: int, hh: str | int, mm: str | int, ss: str | int) -> float | None:
    """Epoch seconds of a naive (UTC) date-time, or None when it is not a real date."""
    try:
        return (datetime(year, month, day, int(hh), int(mm), int(ss)) - _EPOCH).total_seconds()
    except ValueError:
        return None


def _frac(text: str | None) -> float:
    """`.123` / `123` (milliseconds digits after a separator) as a fraction of a second."""
    if not text:
        return 0.0
    digits = text.lstrip(".,:")
    return int(digits) / 10 ** len(digits) if digits.isdigit() else 0.0


def normalize_level(value: object) -> str | None:
    """Map a level name or number (WARNING, ERR, 50, PANIC) to trace/debug/info/warn/error/fatal/critical."""
    if isinstance(value, str):
        return LEVELS.get(value.strip().lower())
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _NUMERIC_LEVELS.get(int(value))
    return None


def iso_epoch(stamp: str, tz: str | None) -> float | None:
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


def split_level(text: str) -> tuple[str | None, str]:
    """(level, rest): a level word at the start (then dropped) or an upper-case one in the first 80 chars."""
    m = _LEVEL_FIRST.match(text)
    if m is not None:
        word = m.group(1)
        level = LEVELS.get(word.lower())
        # `Log rotated`, `alert fired`: ordinary words unless written like a level (upper case)
        if level is not None and (word.isupper() or word.lower() in _PLAIN_LEVEL_WORDS):
            return level, text[m.end() :]
    m = LEVEL_UPPER.search(text, 0, _LEVEL_HEAD_CHARS)
    if m is None:
        return None, text
    level = LEVELS[m.group(1).lower()]
    if text.startswith((" - ", " | "), m.end()):  # `- name - ERROR - msg`: drop the constant prefix
        return level, text[m.end() + 3 :]
    return level, text


def split_tail(rest: str) -> tuple[str | None, str | None, str] | None:
    """(level, component, message) of a header tail after a timestamp, or None when no level opens it."""
    m = _TAIL.match(rest)
    if m is None:
        return None
    blevel, word, _thread, bcomp, comp = m.groups()
    lower = (blevel or word).lower()
    level = LEVELS.get(lower)
    if level is None or not (blevel or word.isupper() or lower in _LOWER_OK):
        return None
    return level, comp or bcomp, rest[m.end() :]


def slash_date(text: str) -> tuple[float | None, str] | None:
    """`2009/11/10 23:00:00[.micro]` (Go's log) or `17/06/09 20:10:40` (Hadoop, Spark): (ts, rest)."""
    m = _SLASH_DATE.match(text)
    if m is None:
        return None
    year = int(m.group(1))
    year += 2000 if year < 100 else 0
    ts = ymd_epoch(year, int(m.group(2)), int(m.group(3)), m.group(4), m.group(5), m.group(6))
    if ts is not None:
        ts += _frac(m.group(7))
    return ts, text[m.end() :]


def hdfs(text: str) -> tuple[float | None, str] | None:
    """`081109 203615 ...` (yyMMdd HHmmss): (ts, rest)."""
    m = _HDFS.match(text)
    if m is None:
        return None
    yy, mo, dd, hh, mi, ss = m.groups()
    return ymd_epoch(2000 + int(yy), int(mo), int(dd), hh, mi, ss), text[m.end() :]


def android(text: str, yearless: Yearless) -> Fields | None:
    """Android logcat threadtime: `03-17 16:13:38.811  1702  2395 D Tag: msg`."""
    m = _ANDROID.match(text)
    if m is None:
        return None
    mo, dd, hh, mi, ss, frac, letter, tag, msg = m.groups()
    ts = yearless(int(mo), int(dd), hh, mi, ss)
    if ts is not None:
        ts += _frac(frac)
    return ts, _LETTER_LEVELS[letter], None, tag or None, msg


def compact(text: str) -> Fields | None:
    """`20171223-22:15:29:606|Component|pid|msg` (yyyyMMdd-HH:mm:ss:SSS, pipe-separated)."""
    m = _COMPACT.match(text)
    if m is None:
        return None
    y, mo, dd, hh, mi, ss, ms, component, msg = m.groups()
    ts = ymd_epoch(int(y), int(mo), int(dd), hh, mi, ss)
    if ts is not None and ms:
        ts += int(ms) / 1000
    return ts, None, None, component or None, msg


def redis(text: str) -> Fields | None:
    """Redis: `1:M 04 Dec 2026 10:00:00.123 # msg` (the mark is the level)."""
    m = _REDIS.match(text)
    if m is None or m.group(2) not in MONTHS:
        return None
    dd, mon, y, hh, mi, ss, frac, mark, msg = m.groups()
    ts = ymd_epoch(int(y), MONTHS[mon], int(dd), hh, mi, ss)
    if ts is not None:
        ts += _frac(frac)
    return ts, _REDIS_LEVELS[mark], "redis", None, msg


def epoch_prefix(text: str) -> tuple[float, str] | None:
    """A line that starts with epoch seconds (`1700000000[.123]`) or milliseconds: (ts, rest)."""
    m = _EPOCH_PREFIX.match(text)
    if m is None:
        return None
    stamp = m.group(1)
    value = float(stamp) / (1000.0 if len(stamp) == 13 and "." not in stamp else 1.0)
    return value, text[m.end() :]


def hpc(text: str) -> Fields | None:
    """HPC records: `<id> <node> <component> <state> <epoch> <flag> <msg>`."""
    m = _HPC.match(text)
    if m is None:
        return None
    _node, component, _state, stamp, msg = m.groups()
    return float(stamp), None, None, component, msg


def bracketed(text: str, yearless: Yearless) -> Fields | None:
    """Lines opening with a non-ISO bracketed stamp: Apache error logs, `[dd/Mon/yyyy:..]`, `[MM.dd ..]`."""
    second = text[1:2]
    if second.isalpha():
        m = _APACHE.match(text)
        if m is None or m.group(1) not in MONTHS:
            return None
        mon, dd, hh, mi, ss, frac, y, module, lvl, msg = m.groups()
        ts = ymd_epoch(int(y), MONTHS[mon], int(dd), hh, mi, ss)
        if ts is not None:
            ts += _frac(frac)
        return ts, LEVELS.get(lvl.lower()), None, module, msg
    if not second.isdigit():
        return None
    c = _BRACKET_CLF.match(text)
    if c is not None and c.group(2) in MONTHS:
        dd, mon, y, hh, mi, ss, tz = c.groups()
        ts = ymd_epoch(int(y), MONTHS[mon], int(dd), hh, mi, ss)
        if ts is not None and tz:
            offset = int(tz[1:3]) * 3600 + int(tz[3:5]) * 60
            ts += -offset if tz[0] == "+" else offset
        return ts, None, None, None, text[c.end() :]
    p = _BRACKET_MD.match(text)
    if p is not None:
        mo, dd, hh, mi, ss, program, msg = p.groups()
        return yearless(int(mo), int(dd), hh, mi, ss), None, None, program, msg
    return None


def python_basic(text: str) -> Fields | None:
    """Python's `logging.basicConfig()` default: `LEVEL:logger:message` (no timestamp)."""
    m = _PY_BASIC.match(text)
    if m is None:
        return None
    return None, LEVELS[m.group(1).lower()], None, m.group(2), m.group(3)


def labelled(text: str, yearless: Yearless) -> Fields | None:
    """BGL / Thunderbird: `<label> <epoch> yyyy.MM.dd <node> ...` (the epoch dates the line)."""
    m = _LABELLED.match(text)
    if m is None:
        return None
    _label, stamp, _node, rest = m.groups()
    ts = float(stamp)
    b = _BGL_REST.match(rest)
    if b is not None:
        component, lvl, msg = b.groups()
        return ts, LEVELS.get(lvl.lower()), None, component, msg
    s = _SYSLOG_REST.match(rest)
    if s is not None:
        return ts, None, s.group(6), None, s.group(7)
    return ts, None, None, None, rest


def generic(text: str, yearless: Yearless) -> tuple[float | None, str] | None:
    """A date-time within the first GENERIC_SPAN characters of an unknown line: (ts, text after it)."""
    m = _GENERIC.search(text, 0, GENERIC_SPAN + 32)
    if m is None or m.start() > GENERIC_SPAN:
        return None
    if m.group("y"):
        ts = ymd_epoch(int(m["y"]), int(m["mo"]), int(m["d"]), m["h"], m["mi"], m["s"])
        if ts is not None:
            ts += _frac(m["f"])
    elif m.group("ty"):
        ts = ymd_epoch(int(m["ty"]), MONTHS[m["mon"]], int(m["md"]), m["th"], m["tm"], m["ts"])
    else:
        ts = yearless(MONTHS[m["mon"]], int(m["md"]), m["th"], m["tm"], m["ts"])
    return ts, text[m.end() :]
