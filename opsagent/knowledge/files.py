"""Finding files to ingest, telling runbooks from logs, and hashing content."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from opsagent.errors import IngestError
from opsagent.knowledge.ignore import IgnoreRules
from opsagent.knowledge.models import DocumentKind

RUNBOOK_SUFFIXES = {".md", ".markdown", ".txt", ".rst"}
LOG_SUFFIXES = {".log", ".jsonl", ".ndjson", ".gz"}
# Folders that are never knowledge: VCS metadata, virtualenvs, caches.
SKIP_DIRS = {".git", ".hg", ".svn", ".venv", "venv", "node_modules", "__pycache__", ".opsagent"}
TIMESTAMPISH = re.compile(
    r"^\s*(\{|\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}|[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2}|ts=|time=|level=|"
    r"\d{1,3}(\.\d{1,3}){3} )"
)


@dataclass(frozen=True)
class FoundFile:
    """A file to ingest, named relative to the root it was found under."""

    path: Path
    root: Path
    source: str
    kind: DocumentKind


def detect_kind(path: Path) -> DocumentKind | None:
    """Runbook, log, or None (not something we ingest) from the name and, for .txt, the content."""
    name = path.name.lower()
    suffix = path.suffix.lower()
    if suffix in LOG_SUFFIXES or re.search(r"\.log(\.\d+)?$", name):
        return DocumentKind.LOG
    if suffix in {".md", ".markdown", ".rst"}:
        return DocumentKind.RUNBOOK
    if suffix == ".txt":
        return DocumentKind.LOG if _looks_like_log(path) else DocumentKind.RUNBOOK
    return None


def _looks_like_log(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            head = handle.read(8192).decode("utf-8", errors="replace").splitlines()[:20]
    except OSError:
        return False
    lines = [line for line in head if line.strip()]
    return bool(lines) and sum(bool(TIMESTAMPISH.match(line)) for line in lines) >= 0.6 * len(lines)


def discover(
    path: Path, forced: DocumentKind | None = None, excludes: Sequence[str] = ()
) -> tuple[Path, list[FoundFile], list[str]]:
    """All ingestible files under a path: (root, files, warnings). A file path is its own one-file set.

    Walking a folder applies the ignore rules (ignore.py: built-in skips, `.opsagentignore`, `excludes`);
    a file named explicitly is always ingested.
    """
    if not path.exists():
        raise IngestError(f"{path} does not exist.")
    root = path.resolve()
    warnings: list[str] = []
    if not root.is_file() and not root.is_dir():
        raise IngestError(f"{path} is not a regular file or a directory.")
    if root.is_file():
        kind = forced or detect_kind(root)
        if kind is None:
            raise IngestError(
                f"{path}: not a runbook (.md, .markdown, .txt, .rst) or log (.log, .jsonl, .gz); "
                "use --kind to force one."
            )
        return root.parent, [FoundFile(root, root.parent, root.name, kind)], warnings
    files: list[FoundFile] = []
    for file in _walk(root, root, IgnoreRules(root, excludes), warnings):
        kind = forced or detect_kind(file)
        if kind is None:
            continue
        files.append(FoundFile(file, root, file.relative_to(root).as_posix(), kind))
    return root, files, warnings


def _walk(folder: Path, root: Path, rules: IgnoreRules, warnings: list[str]) -> Iterator[Path]:
    try:
        entries = sorted(folder.iterdir())
    except OSError as exc:  # one unreadable folder must not stop the rest
        warnings.append(f"skipped folder {folder}: {exc.strerror or exc}")
        return
    for entry in entries:
        if entry.name.startswith(".") or entry.name in SKIP_DIRS:
            continue
        # Never follow links: a link could lead out of the tree being ingested.
        if entry.is_symlink():
            continue
        is_dir = entry.is_dir()
        # Folders already walked were not ignored, so checking this entry alone is enough.
        if rules.verdict(entry.relative_to(root).as_posix(), is_dir).ignored:
            continue
        if is_dir:
            yield from _walk(entry, root, rules, warnings)
        elif entry.is_file():
            yield entry


def file_sha256(path: Path) -> str:
    """Content hash, streamed so a large log does not have to fit in memory."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def looks_binary(path: Path) -> bool:
    """NUL bytes in the first 8 KiB (decompressed for .gz): a core dump or an archive, not text."""
    import gzip

    try:
        if path.suffix.lower() == ".gz":
            with gzip.open(path, "rb") as handle:
                head = handle.read(8192)
        else:
            with path.open("rb") as handle:
                head = handle.read(8192)
    except (OSError, EOFError):
        return False  # unreadable or corrupt: the reader reports it properly
    return b"\x00" in head


def doc_id_for(root: Path | str, source: str) -> str:
    """Stable id of a document: the same file under the same root always gets the same id."""
    return hashlib.sha256(f"{root}\0{source}".encode()).hexdigest()[:20]


def read_text_file(path: Path, max_bytes: int) -> str:
    """Read a runbook as UTF-8, raising ValueError with the reason a file is unusable."""
    size = path.stat().st_size
    if size > max_bytes:
        raise ValueError(f"larger than the {max_bytes} byte limit ({size} bytes; OPSAGENT_MAX_RUNBOOK_BYTES)")
    data = path.read_bytes()
    if b"\x00" in data[:8192]:
        raise ValueError("binary file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not valid UTF-8 (byte {exc.start})") from exc
    return text.removeprefix("\ufeff").replace("\r\n", "\n")
