"""`ingest_log_file`: one streaming pass over a log file -> parsed lines -> templates + stored raw lines.

Also the file reading itself (bounded 1 MiB blocks, transparent gzip, UTF-8 with replacement, capped
line length) and `default_service_from_path`. Memory stays bounded whatever the file size: lines flow
from the reader through the parser and the miner straight into SQLite batches; only the templates
(capped, see templates.py) and the miner's bounded caches live for the whole file.
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

from pydantic import BaseModel, Field

from opsagent.knowledge.logs import LineParser
from opsagent.knowledge.logstore import LogLineStore, LogRow
from opsagent.knowledge.models import LogTemplate
from opsagent.knowledge.multiline import EventAssembler
from opsagent.knowledge.templates import TemplateMiner

MAX_LINE_CHARS = 16 * 1024
READ_BLOCK = 1024 * 1024


class LogFileResult(BaseModel):
    """What ingesting one log file produced."""

    templates: list[LogTemplate]
    lines: int = Field(description="Non-blank lines parsed and stored.")
    timestamped: int = Field(
        default=0, description="Lines with a timestamp (their own, or their multi-line event's)."
    )
    bytes: int = Field(description="Bytes read from disk (the compressed size for gzip files).")
    warnings: list[str] = Field(default_factory=list)


class ReadStats:
    """Counters filled while a file is read, turned into warnings by the caller."""

    __slots__ = ("bytes_read", "lines", "truncated", "bad_utf8", "error")

    def __init__(self) -> None:
        self.bytes_read = 0
        self.lines = 0
        self.truncated = 0
        self.bad_utf8 = 0
        self.error: str | None = None


def iter_raw_lines(
    path: Path,
    *,
    max_chars: int = MAX_LINE_CHARS,
    stats: ReadStats | None = None,
    progress: Callable[[int], None] | None = None,
) -> Iterator[tuple[int, str]]:
    """Yield (1-based line number, text) for each non-blank line, reading in bounded 1 MiB blocks."""
    stats = stats if stats is not None else ReadStats()
    raw = path.open("rb")
    # Sniff rather than trust the name: rotated `app.log.1` files are often gzip. read1 because a truncated
    # gzip raises at its end, and read() would drop everything it had decompressed in that call.
    gz = gzip.GzipFile(fileobj=raw, mode="rb") if raw.read(2) == b"\x1f\x8b" else None
    raw.seek(0)
    read = gz.read1 if gz is not None else raw.read
    next_report = 0
    line_no = 0
    carry = b""  # the start of a line that continues in the next block
    skipping = False  # `carry` holds an overlong line's kept prefix; drop the rest up to its newline
    try:
        while True:
            try:
                block = read(READ_BLOCK)
            except (OSError, EOFError, zlib.error) as exc:
                # A truncated or corrupt gzip (e.g. rotated while being written): keep what was readable.
                stats.error = f"stopped reading at byte {raw.tell()}: {exc}"
                break
            if not block:
                break
            nl = block.rfind(b"\n")
            if nl < 0:
                if not skipping:
                    carry += block
                    if len(carry) > max_chars * 4:  # > max_chars characters whatever the encoding
                        kept = carry[: max_chars * 4].decode("utf-8", "replace")[:max_chars]
                        carry = kept.encode("utf-8")
                        skipping = True
                        stats.truncated += 1
            else:
                start = block.find(b"\n") if skipping else 0
                skipping = False
                chunk = carry + block[start:nl]
                carry = block[nl + 1 :]
                # Newline bytes never occur inside a multi-byte UTF-8 sequence, so decoding a run of whole
                # lines at once is safe and far cheaper than per line; split("\n") (not splitlines) keeps
                # the numbering identical to `wc -l` even with stray \x0b or \u2028 characters.
                text = chunk.decode("utf-8", "replace")
                if "\r" in text:
                    text = text.replace("\r\n", "\n")
                has_bad = "\ufffd" in text
                for line in text.split("\n"):
                    line_no += 1
                    if not line or (line[0] in " \t" and line.isspace()):
                        continue
                    if len(line) > max_chars:
                        line = line[:max_chars]
                        stats.truncated += 1
                    if has_bad and "\ufffd" in line:
                        stats.bad_utf8 += 1
                    stats.lines += 1
                    yield line_no, line
            stats.bytes_read = raw.tell()
            if progress is not None and stats.bytes_read >= next_report:
                progress(stats.bytes_read)
                next_report = stats.bytes_read + READ_BLOCK
        if carry:  # last line without a trailing newline
            line = carry.decode("utf-8", "replace").rstrip("\r")
            line_no += 1
            if line and not line.isspace():
                if len(line) > max_chars:
                    line = line[:max_chars]
                    stats.truncated += 1
                if "\ufffd" in line:
                    stats.bad_utf8 += 1
                stats.lines += 1
                yield line_no, line
        if progress is not None:
            progress(stats.bytes_read)
    finally:
        if gz is not None:
            gz.close()
        raw.close()


def ingest_log_file(
    path: Path,
    *,
    root: str,
    source: str,
    store: LogLineStore,
    default_service: str | None,
    default_year: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> LogFileResult:
    """Parse, mine and store one log file in a single pass; `progress(bytes_read)` about every MiB."""
    stats = ReadStats()
    miner = TemplateMiner()
    reference = None
    if default_year is None:
        try:  # syslog/klog stamps have no year: the file's mtime is a better anchor than today
            reference = path.stat().st_mtime
        except OSError:
            reference = None
    parser = LineParser(default_service=default_service, default_year=default_year, reference=reference)

    events = EventAssembler(miner)
    dated = [0]  # lines with a timestamp, their own or their event's

    def rows() -> Iterator[LogRow]:
        parse = parser.parse
        feed = events.feed
        head = events.head
        count = 0  # stored rows with a timestamp (a journald record's fields get it from their record)
        for line_no, text in iter_raw_lines(path, stats=stats, progress=progress):
            p = parse(line_no, text)
            if p.continued or events.busy:
                for row in feed(p):
                    if row[1] is not None:
                        count += 1
                    yield row
            elif (done := head(p)) is not None:  # one-line events: no generator per line
                if done[1] is not None:
                    count += 1
                yield done
        for row in events.flush():
            if row[1] is not None:
                count += 1
            yield row
        dated[0] = count

    lines = store.replace_source(root, source, rows(), timestamped=lambda: dated[0])
    timestamped = dated[0]
    warnings = []
    if stats.error:
        warnings.append(stats.error)
    if stats.truncated:
        warnings.append(f"{stats.truncated} line(s) longer than {MAX_LINE_CHARS} characters were truncated")
    if stats.bad_utf8:
        warnings.append(f"{stats.bad_utf8} line(s) had invalid UTF-8, replaced by U+FFFD")
    if lines and timestamped * 10 < lines * 9:  # under 90% dated: time windows will miss lines
        warnings.append(
            f"{lines - timestamped} of {lines} lines have no timestamp ({timestamped / lines:.0%} dated): "
            "their format was not recognised; time-window search and triage will not see them"
        )
    if miner.overflowed:
        warnings.append(
            f"more than {miner.max_templates} distinct line shapes: {miner.overflowed} line(s) were "
            "counted in an <overflow> template"
        )
    return LogFileResult(
        templates=miner.templates(source=source, root=root),
        lines=lines,
        timestamped=timestamped,
        bytes=stats.bytes_read,
        warnings=warnings,
    )


# Names that say what kind of log a file is, not whose: the directory names the service instead.
_GENERIC_NAMES = frozenset(
    {
        "access", "error", "errors", "app", "application", "output", "out", "stdout", "stderr", "syslog",
        "messages", "current", "log", "logs", "server", "main", "debug", "info", "combined", "all",
        "console", "service", "daemon", "kern", "auth",
    }
)  # fmt: skip
_GENERIC_DIRS = frozenset({"log", "logs", "var", "tmp", "data", "containers", "pods"})
_COMPRESSION = re.compile(r"\.(?:gz|bz2|xz|zst)$", re.I)
_ROTATION = re.compile(r"\.\d+$")
_LOG_EXT = re.compile(r"\.(?:log|txt|json|jsonl|ndjson|out|err)$", re.I)
_DATE_SUFFIX = re.compile(r"[-_.]\d{4}-?\d\d-?\d\d(?:[T_-]?\d{2,6})?$")
_KIND_SUFFIX = re.compile(r"[-_.](?:access|error|errors|out|err|stdout|stderr)$", re.I)
# /var/log/containers/<pod>_<namespace>_<container>-<64 hex container id>.log
_K8S_CONTAINER_LOG = re.compile(r"^.+?_[a-z0-9-]+_(.+)-[0-9a-f]{64}$")


def default_service_from_path(path: Path | str) -> str | None:
    """Guess the service a log file belongs to from its name (`payments-api-2026-11-20.log.gz`)."""
    p = Path(path)
    name = _COMPRESSION.sub("", p.name)
    name = _ROTATION.sub("", name)
    name = _LOG_EXT.sub("", name)
    k8s = _K8S_CONTAINER_LOG.match(name)
    if k8s is not None:
        return k8s.group(1)
    name = _ROTATION.sub("", _DATE_SUFFIX.sub("", name))
    name = _KIND_SUFFIX.sub("", name)
    if name and not name.isdigit() and name.lower() not in _GENERIC_NAMES:
        return name
    parent = p.parent.name
    return parent if parent and parent.lower() not in _GENERIC_DIRS else None
