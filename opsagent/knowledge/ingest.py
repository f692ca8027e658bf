"""Ingestion: files on disk -> chunks/templates in Chroma (+ raw log lines in SQLite), incrementally.

Per root, the store already knows each file's content hash. Unchanged files are skipped, changed ones
replaced (new chunks upserted first, stale ones deleted after, so a document never disappears from
search mid-way), and files gone from a directory root are removed. One bad file is a warning, never
an aborted batch. Chunks from many files are embedded together, so the model runs on full,
length-bucketed batches.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from opsagent.config import Settings
from opsagent.knowledge.embeddings import OnnxEmbedder
from opsagent.knowledge.files import (
    FoundFile,
    discover,
    doc_id_for,
    file_sha256,
    looks_binary,
    read_text_file,
)
from opsagent.knowledge.ignore import IgnoreRules
from opsagent.knowledge.log_ingest import default_service_from_path, ingest_log_file
from opsagent.knowledge.logstore import LogLineStore
from opsagent.knowledge.models import DocumentKind, IngestReport, LogCoverage, LogTemplate, RunbookChunk
from opsagent.knowledge.roots import nested_roots, place_under_known_root, stored_roots
from opsagent.knowledge.runbooks import chunk_runbook, parse_runbook, tags_from_path
from opsagent.knowledge.store import VectorStore

log = logging.getLogger(__name__)
# Chunks embedded per flush. Length bucketing pads each model batch to its longest text, so the more
# chunks a flush sorts together, the less padding: 256 measured a 0.73-0.85 ingest/model-alone ratio,
# 1024 gives 0.85-0.86 (bench/ingest_throughput.py) for ~1 MB of pending text.
FLUSH_CHUNKS = 1024


class IngestProgress(Protocol):
    """Receives progress; the CLI renders it as a bar, the API ignores it."""

    def start(self, total_bytes: int) -> None: ...

    def advance(self, done_bytes: int, description: str) -> None: ...


class _NoProgress:
    def start(self, total_bytes: int) -> None:
        pass

    def advance(self, done_bytes: int, description: str) -> None:
        pass


@dataclass
class _Pending:
    """Records waiting to be embedded, and the stale ids to delete once they are stored."""

    kind: DocumentKind
    ids: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    metadatas: list[dict[str, Any]] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)


def runbook_metadata(chunk: RunbookChunk) -> dict[str, Any]:
    """What a runbook chunk keeps in Chroma besides its text and vector."""
    return {
        "kind": DocumentKind.RUNBOOK.value,
        "doc_id": chunk.doc_id,
        "source": chunk.source,
        "root": chunk.root,
        "title": chunk.title,
        "section": chunk.section,
        "chunk_index": chunk.chunk_index,
        "line_start": chunk.line_start,
        "line_end": chunk.line_end,
        "file_hash": chunk.file_hash,
        "service": chunk.service,
        "tags": chunk.tags,
        "actions": chunk.actions,
        "alerts": chunk.alerts,
    }


def template_record(
    template: LogTemplate, file_hash: str, occurrence: int = 0, index: int | None = None
) -> tuple[str, str, dict[str, Any]]:
    """(id, embedded text, metadata) of a mined log template; one template is one document.

    The same shape can be mined more than once per file (per service, and apart for warn-or-worse
    lines), so the id also carries which occurrence of that text it is.
    """
    doc_id = doc_id_for(template.root, f"{template.source}\0{template.template}\0{occurrence}")
    metadata = {
        "kind": DocumentKind.LOG.value,
        "doc_id": doc_id,
        "source": template.source,
        "root": template.root,
        "title": template.template[:200],
        "section": "",
        "service": template.service,
        "count": template.count,
        "first_seen": template.first_seen,
        "last_seen": template.last_seen,
        "line_start": template.first_line,
        "line_end": template.last_line,
        "level": template.dominant_level,
        "levels": json.dumps(template.levels),
        "examples": json.dumps(template.examples),
        "example_lines": json.dumps(template.example_lines),
        "file_hash": file_hash,
        # The miner's id for this template: the raw lines in the log store carry it (spike detection).
        "template_index": index,
    }
    return doc_id, template.template, metadata


class Ingestor:
    """Ingests paths into one vector store and one log line store."""

    def __init__(
        self, settings: Settings, store: VectorStore, log_store: LogLineStore, embedder: OnnxEmbedder
    ) -> None:
        self.settings = settings
        self.store = store
        self.log_store = log_store
        self.embedder = embedder
        self._excludes: tuple[str, ...] = ()

    def ingest(
        self,
        paths: list[Path],
        *,
        kind: DocumentKind | None = None,
        progress: IngestProgress | None = None,
        excludes: Sequence[str] = (),
    ) -> IngestReport:
        """Ingest files and directories; returns what happened, including per-file warnings.

        `excludes` are gitignore-style patterns relative to each folder ingested (`--exclude`).
        """
        progress = progress or _NoProgress()
        started = time.perf_counter()
        report = IngestReport()
        self._excludes = tuple(excludes)
        plan = [(discover(path, kind, self._excludes), path.resolve().is_dir()) for path in paths]
        progress.start(sum(_size(f.path) for (_, files, _), _ in plan for f in files))
        self._done = 0
        self._changed: set[DocumentKind] = set()
        try:
            for (root, files, warnings), is_dir in plan:
                report.warnings.extend(warnings)
                self._ingest_root(root, files, is_dir, report, progress)
        finally:
            # Also on failure or Ctrl-C: whatever was written must become visible to keyword search.
            for doc_kind in self._changed:
                self.store.bump_revision(doc_kind)
        report.seconds = round(time.perf_counter() - started, 3)
        return report

    def _ingest_root(
        self,
        walked: Path,
        files: list[FoundFile],
        is_dir: bool,
        report: IngestReport,
        progress: IngestProgress,
    ) -> None:
        roots = stored_roots(self.store, self.log_store)
        root, prefix = place_under_known_root(walked, roots)
        if prefix:  # a folder (or file) inside a root ingested before: keep one copy, under that root
            files = [replace(f, root=Path(root), source=f"{prefix}/{f.source}") for f in files]
        elif is_dir:
            for nested in nested_roots(walked, roots):
                for doc_kind in DocumentKind:
                    self._remove_root(nested, doc_kind)
                report.warnings.append(f"{nested} was ingested before; its files now belong to {walked}")
        known = {k: self._known_files(root, k, prefix) for k in DocumentKind}
        with_lines = {(r, s) for r, s, _ in self.log_store.sources() if r == root}
        pending = {k: _Pending(k) for k in DocumentKind}
        for found in files:
            report.files_seen += 1
            progress.advance(self._done, found.source)

            def within_file(read: int, base: int = self._done, name: str = found.source) -> None:
                progress.advance(base + read, name)  # large logs move the bar while they stream

            # Raw log lines live in this node's SQLite: re-read a file whose lines are missing here.
            lines_missing = found.kind is DocumentKind.LOG and (root, found.source) not in with_lines
            self._ingest_file(
                found, known[found.kind], pending[found.kind], report, within_file, lines_missing
            )
            self._done += _size(found.path)
            progress.advance(self._done, found.source)
            for batch in pending.values():
                if len(batch.ids) >= FLUSH_CHUNKS:
                    self._flush(batch)
        for batch in pending.values():
            self._flush(batch)
        if is_dir:
            rules = IgnoreRules(walked, self._excludes)
            self._remove_missing(Path(root), files, known, report, rules, prefix)

    def _remove_missing(
        self,
        root: Path,
        files: list[FoundFile],
        known: dict[DocumentKind, dict[str, tuple[str, set[str]]]],
        report: IngestReport,
        rules: IgnoreRules,
        prefix: str = "",
    ) -> None:
        """Drop what is stored for files that are gone, now excluded, or now read as the other kind.

        A stored file that still exists but that only a built-in rule skips (a README at the top,
        ingested by name) is kept: the user asked for it. One a user rule now excludes
        (`.opsagentignore`, `--exclude`) is removed.
        """
        present = {(f.source, f.kind) for f in files}
        walked = {f.source for f in files}
        for doc_kind, sources in known.items():
            for source in sorted(sources):
                if (source, doc_kind) in present:
                    continue
                gone = not (root / source).exists()
                relative = source[len(prefix) + 1 :] if prefix else source
                verdict = rules.ignored(relative)
                excluded = not gone and verdict.ignored and verdict.by_user
                if gone or excluded or source in walked:  # gone, excluded, or now read as the other kind
                    self._remove(str(root), source, doc_kind)
                    report.files_removed += int(gone or excluded)

    def _known_files(self, root: str, kind: DocumentKind, prefix: str) -> dict[str, tuple[str, set[str]]]:
        """source -> (file hash, record ids) for what is stored under a root (and inside prefix)."""
        known: dict[str, tuple[str, set[str]]] = {}
        for record_id, _, meta in self.store.iter_records(
            kind, include_documents=False, where={"root": root}
        ):
            source = str(meta.get("source", ""))
            if prefix and not source.startswith(prefix + "/"):
                continue
            file_hash, ids = known.get(source, (str(meta.get("file_hash", "")), set()))
            ids.add(record_id)
            known[source] = (file_hash, ids)
        return known

    def _ingest_file(
        self,
        found: FoundFile,
        known: dict[str, tuple[str, set[str]]],
        pending: _Pending,
        report: IngestReport,
        on_bytes: Callable[[int], None],
        lines_missing: bool = False,
    ) -> None:
        try:
            file_hash = file_sha256(found.path)
        except OSError as exc:
            return self._skip(report, found, f"cannot read: {exc.strerror or exc}")
        previous = known.get(found.source)
        if previous and previous[0] == file_hash and not lines_missing:
            report.files_unchanged += 1
            return None
        try:
            if found.kind is DocumentKind.RUNBOOK:
                records = self._runbook_records(found, file_hash)
                report.chunks_added += len(records)
            else:
                records = self._log_records(found, file_hash, report, on_bytes)
                report.templates_added += len(records)
        except Exception as exc:  # one bad file (even a RecursionError from nested YAML) skips that file only
            kept = "; the previously ingested version is kept" if previous else ""
            reason = str(exc) if isinstance(exc, ValueError | OSError) else f"{exc.__class__.__name__}: {exc}"
            return self._skip(report, found, f"{reason}{kept}")
        new_ids = [r[0] for r in records]
        pending.ids.extend(new_ids)
        pending.texts.extend(r[1] for r in records)
        pending.metadatas.extend(r[2] for r in records)
        if previous:
            pending.stale.extend(previous[1] - set(new_ids))
        report.files_ingested += 1
        return None

    def _runbook_records(self, found: FoundFile, file_hash: str) -> list[tuple[str, str, dict[str, Any]]]:
        text = read_text_file(found.path, self.settings.max_runbook_bytes)
        runbook = parse_runbook(text, found.source, folder=found.root.name)
        chunks = chunk_runbook(
            runbook,
            root=str(found.root),
            doc_id=doc_id_for(found.root, found.source),
            file_hash=file_hash,
            chunk_chars=self.settings.chunk_chars,
            tags_from_path=tags_from_path(found.source),
        )
        return [(c.id, c.embedding_text(), runbook_metadata(c)) for c in chunks]

    def _log_records(
        self, found: FoundFile, file_hash: str, report: IngestReport, on_bytes: Callable[[int], None]
    ) -> list[tuple[str, str, dict[str, Any]]]:
        size = _size(found.path)
        if size > self.settings.max_log_bytes:
            raise ValueError(
                f"larger than the {self.settings.max_log_bytes} byte limit (OPSAGENT_MAX_LOG_BYTES)"
            )
        if looks_binary(found.path):
            raise ValueError("binary file (NUL bytes), not a text log")
        result = ingest_log_file(
            found.path,
            root=str(found.root),
            source=found.source,
            store=self.log_store,
            default_service=default_service_from_path(found.path),
            progress=on_bytes,
        )
        report.log_lines += result.lines
        report.log_coverage.append(
            LogCoverage(source=found.source, lines=result.lines, timestamped=result.timestamped)
        )
        report.warnings.extend(f"{found.source}: {w}" for w in result.warnings)
        seen: dict[str, int] = {}
        records = []
        for index, template in enumerate(result.templates):
            occurrence = seen.get(template.template, 0)
            seen[template.template] = occurrence + 1
            records.append(template_record(template, file_hash, occurrence, index))
        return records

    def _skip(self, report: IngestReport, found: FoundFile, reason: str) -> None:
        report.files_skipped += 1
        report.warnings.append(f"skipped {found.source}: {reason}")
        log.info("skipped %s: %s", found.path, reason)  # the report carries it to the user

    def _flush(self, pending: _Pending) -> None:
        if pending.ids:
            vectors = self.embedder.encode(pending.texts)
            self.store.upsert(pending.kind, pending.ids, pending.texts, pending.metadatas, vectors.tolist())
            self._changed.add(pending.kind)
        if pending.stale:
            self.store.collection(pending.kind).delete(ids=sorted(set(pending.stale)))
            self._changed.add(pending.kind)
        pending.ids, pending.texts, pending.metadatas, pending.stale = [], [], [], []

    def _remove(self, root: str, source: str, kind: DocumentKind) -> None:
        self.store.delete_where(kind, {"$and": [{"root": root}, {"source": source}]})
        if kind is DocumentKind.LOG:
            self.log_store.delete_source(root, source)
        self._changed.add(kind)

    def forget(self, root: str) -> None:
        """Remove everything stored under a root (e.g. a folder that was moved or deleted)."""
        self._changed = set()
        try:
            for kind in DocumentKind:
                self._remove_root(root, kind)
        finally:
            for kind in self._changed:
                self.store.bump_revision(kind)

    def _remove_root(self, root: str, kind: DocumentKind) -> None:
        if self.store.existing(kind) is not None:
            self.store.delete_where(kind, {"root": root})
            self._changed.add(kind)
        if kind is DocumentKind.LOG:
            for stored_root, source, _ in self.log_store.sources():
                if stored_root == root:
                    self.log_store.delete_source(root, source)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
