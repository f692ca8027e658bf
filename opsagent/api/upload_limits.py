"""What one upload may cost: bytes as sent, bytes after gzip decompression, line length, file count.

Ingest decompresses any file that starts with the gzip magic (whatever its name), so the expanded size is
what bounds the disk, CPU and index an upload can use: a 164 KiB `.gz` once expanded to 215 MB. Each file
is metered while it is copied into the staging folder, by decompressing into a counter (never to disk
and never more than one block in memory), and the first limit passed stops the copy.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from opsagent.config import Settings

GZIP_MAGIC = b"\x1f\x8b"
BLOCK = 1 << 20  # decompressed bytes per step: a bomb never expands more than this at once


class UploadLimitError(Exception):
    """An upload is over one of its limits; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class UploadLimits:
    """The limits, with the setting that raises each (named in every refusal)."""

    request_bytes: int
    expanded_bytes: int
    line_bytes: int
    files: int
    runbook_bytes: int

    @classmethod
    def from_settings(cls, settings: Settings) -> UploadLimits:
        return cls(
            request_bytes=settings.upload_max_bytes,
            expanded_bytes=settings.upload_max_expanded_bytes,
            line_bytes=settings.upload_max_line_bytes,
            files=settings.upload_max_files,
            runbook_bytes=settings.max_runbook_bytes,
        )

    def check_file_count(self, count: int) -> None:
        if count > self.files:
            raise self.too_many_files(str(count))

    def too_many_files(self, count: str) -> UploadLimitError:
        return UploadLimitError(
            413,
            f"{count} files in one upload; the limit is {self.files} (OPSAGENT_UPLOAD_MAX_FILES): "
            "send them in several requests, or raise the setting.",
        )


@dataclass
class ExpandedBudget:
    """What the files of one request have used so far: the limits are per request."""

    limit: int
    used: int = 0  # bytes after decompression
    sent: int = 0  # bytes as sent (the multipart framing is bounded separately)


@dataclass
class FileMeter:
    """Feed a file's bytes as they arrive; raises UploadLimitError at the first limit passed."""

    name: str
    limits: UploadLimits
    budget: ExpandedBudget
    runbook: bool = False
    sent: int = 0
    expanded: int = 0
    line: int = 0  # bytes of the current (unfinished) line
    _head: bytes = b""
    _gzip: bool | None = None  # unknown until two bytes have arrived
    _inflater: zlib._Decompress | None = None
    _pending: bytes = b""  # bytes after one gzip member ended, before the next one's header is complete
    _done: bool = False  # past the end of the readable gzip data: ingest stops there too

    def feed(self, chunk: bytes) -> None:
        self.sent += len(chunk)
        self.budget.sent += len(chunk)
        if self.budget.sent > self.limits.request_bytes:
            raise UploadLimitError(
                413,
                f"{self.name!r} brings the upload over the {self.limits.request_bytes}-byte limit "
                "(OPSAGENT_UPLOAD_MAX_BYTES, all files together as sent): send fewer or smaller files per "
                "request, or raise the setting.",
            )
        if self.runbook and self.sent > self.limits.runbook_bytes:
            raise UploadLimitError(
                413,
                f"{self.name!r} is over the {self.limits.runbook_bytes}-byte runbook limit "
                "(OPSAGENT_MAX_RUNBOOK_BYTES): split it, or raise the setting.",
            )
        if self._gzip is None:
            self._head += chunk
            if len(self._head) < len(GZIP_MAGIC):
                return
            self._gzip = self._head.startswith(GZIP_MAGIC)
            chunk, self._head = self._head, b""
        if self._gzip:
            self._inflate(chunk)
        else:
            self._count(chunk)

    def finish(self) -> None:
        """The file is complete (a one-byte file never decided whether it was gzip)."""
        if self._head:
            self._count(self._head)
            self._head = b""

    def _inflate(self, data: bytes) -> None:
        data = self._pending + data
        self._pending = b""
        while data and not self._done:
            if self._inflater is None:
                if len(data) < len(GZIP_MAGIC):
                    self._pending = data
                    return
                if not data.startswith(GZIP_MAGIC):
                    self._done = True  # trailing bytes that are not another member: ingest stops here
                    return
                self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            try:
                self._count(self._inflater.decompress(data, BLOCK))
                while self._inflater.unconsumed_tail and not self._inflater.eof:
                    self._count(self._inflater.decompress(self._inflater.unconsumed_tail, BLOCK))
            except zlib.error:
                self._done = True  # corrupt: ingest keeps what was readable up to here
                return
            if not self._inflater.eof:
                return
            data = self._inflater.unused_data  # a concatenated gzip (`cat a.gz b.gz`) has more members
            self._inflater = None

    def _count(self, data: bytes) -> None:
        if not data:
            return
        self.expanded += len(data)
        self.budget.used += len(data)
        if self.budget.used > self.budget.limit:
            what = "expands to more than" if self._gzip else "brings the upload over"
            raise UploadLimitError(
                413,
                f"{self.name!r} {what} the {self.budget.limit}-byte limit on an upload's decompressed "
                "size (OPSAGENT_UPLOAD_MAX_EXPANDED_BYTES): ingest it on the server with `opsagent "
                "ingest`, or raise the setting.",
            )
        newline = data.rfind(b"\n")
        if newline < 0:
            self.line += len(data)
            longest = self.line
        else:
            first = data.find(b"\n")
            longest = max(self.line + first, max(map(len, data[first + 1 : newline].split(b"\n"))))
            self.line = len(data) - newline - 1
            longest = max(longest, self.line)
        if longest > self.limits.line_bytes:
            raise UploadLimitError(
                422,
                f"{self.name!r} has a line longer than {self.limits.line_bytes} bytes "
                "(OPSAGENT_UPLOAD_MAX_LINE_BYTES): it is not a log or a runbook, or raise the setting.",
            )
