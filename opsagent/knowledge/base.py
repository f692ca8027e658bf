"""`KnowledgeBase`: the one object the CLI, the API and the agent use to ingest and search."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from opsagent.config import Settings
from opsagent.errors import IngestError
from opsagent.knowledge.embeddings import OnnxEmbedder, get_model_spec, load_embedder
from opsagent.knowledge.ingest import Ingestor, IngestProgress
from opsagent.knowledge.links import LinkedDocument, resolve_link
from opsagent.knowledge.logstore import LogLineStore
from opsagent.knowledge.models import Citation, DocumentKind, IngestReport, LogLine, SearchHit
from opsagent.knowledge.roots import stored_roots
from opsagent.knowledge.search import KnowledgeSearch, SearchFilters, make_snippet
from opsagent.knowledge.store import VectorStore


class KnowledgeBase:
    """Runbooks and logs of one deployment: vector store, keyword index, raw log lines."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # (collection revision, its runbook documents): link resolution reads the store once per change.
        self._linked: tuple[str, list[LinkedDocument]] = ("", [])

    @cached_property
    def store(self) -> VectorStore:
        return VectorStore(self.settings)

    @cached_property
    def embedder(self) -> OnnxEmbedder:
        return load_embedder(
            self.settings.embedding_model, self.settings.embedding_threads, self.settings.embedding_batch_size
        )

    @cached_property
    def log_store(self) -> LogLineStore:
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        return LogLineStore(self.settings.log_index_path)

    @cached_property
    def searcher(self) -> KnowledgeSearch:
        return KnowledgeSearch(self.settings, self.store, self.embedder)

    def ingest(
        self,
        paths: list[Path],
        *,
        kind: DocumentKind | None = None,
        progress: IngestProgress | None = None,
        excludes: Sequence[str] = (),
    ) -> IngestReport:
        """Ingest files/directories incrementally (see ingest.py); `excludes` are gitignore patterns."""
        ingestor = Ingestor(self.settings, self.store, self.log_store, self.embedder)
        return ingestor.ingest(paths, kind=kind, progress=progress, excludes=excludes)

    def roots(self) -> list[str]:
        """Every ingested root directory."""
        return sorted(stored_roots(self.store, self.log_store))

    def forget(self, path: Path) -> str:
        """Remove everything ingested from a root; the folder itself need not exist any more."""
        root = str(path.expanduser().resolve())
        known = self.roots()
        if root not in known:
            listing = ", ".join(known) or "none"
            raise IngestError(f"Nothing is stored under {root}. Ingested roots: {listing}.")
        Ingestor(self.settings, self.store, self.log_store, self.embedder).forget(root)
        return root

    def search(self, query: str, k: int = 5, filters: SearchFilters | None = None) -> list[SearchHit]:
        """Hybrid search over runbooks and log templates."""
        return self.searcher.search(query, k, filters)

    def runbook_for_link(self, url: str) -> SearchHit | None:
        """The ingested runbook a `runbook_url`-style link points at (see links.py), or None.

        The hit is the document's first chunk, scored 1.0: the alert itself names this runbook.
        """
        revision = self.store.revision(DocumentKind.RUNBOOK)
        if not revision:
            return None
        if self._linked[0] != revision:
            documents = {
                str(meta.get("doc_id", "")): LinkedDocument(
                    str(meta.get("doc_id", "")), str(meta.get("root", "")), str(meta.get("source", ""))
                )
                for _, _, meta in self.store.iter_records(DocumentKind.RUNBOOK, include_documents=False)
            }
            self._linked = (revision, list(documents.values()))
        document = resolve_link(url, self._linked[1])
        return self._first_chunk_hit(document) if document else None

    def _first_chunk_hit(self, document: LinkedDocument) -> SearchHit | None:
        records = list(self.store.iter_records(DocumentKind.RUNBOOK, where={"doc_id": document.doc_id}))
        if not records:  # removed since the document list was read
            return None
        _, text, meta = min(records, key=lambda record: int(record[2].get("chunk_index", 0)))
        body = text.split("\n\n", 1)[1] if "\n\n" in text else text
        section = str(meta.get("section") or "")
        return SearchHit(
            doc_id=document.doc_id,
            kind=DocumentKind.RUNBOOK,
            source=document.source,
            root=document.root,
            title=str(meta.get("title", "")),
            section=section,
            score=1.0,
            snippet=make_snippet(body, ""),
            citation=Citation(
                source=document.source,
                section=section,
                line_start=meta.get("line_start"),
                line_end=meta.get("line_end"),
            ),
            service=meta.get("service"),
            actions=[str(a) for a in meta.get("actions") or []],
        )

    def search_log_lines(
        self,
        text: str | None,
        *,
        service: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 50,
    ) -> list[LogLine]:
        """Raw log lines by keyword and/or time window."""
        return self.log_store.search(text, service=service, since=since, until=until, limit=limit)

    def log_template(self, template_id: str) -> tuple[str, dict[str, Any]] | None:
        """(template text, metadata) of a mined template by the id search shows for it; None if unknown."""
        for _, document, meta in self.store.iter_records(DocumentKind.LOG, where={"doc_id": template_id}):
            return document, meta
        return None

    def log_templates_of(self, lines: list[LogLine]) -> list[tuple[str, str] | None]:
        """(template id as search shows it, template text) of each line; None where a line has none."""
        indexes = self.log_store.template_ids(lines)
        # A line stores its template's index in its file's mined list; search shows the template's doc_id.
        by_file: dict[tuple[str, str], dict[int, tuple[str, str]]] = {}
        for root, source in {(line.root, line.source) for line in lines}:
            where = {"$and": [{"root": root}, {"source": source}]}
            by_file[(root, source)] = {
                int(meta["template_index"]): (str(meta.get("doc_id", record_id)), document)
                for record_id, document, meta in self.store.iter_records(DocumentKind.LOG, where=where)
                if meta.get("template_index") is not None
            }
        return [
            by_file[(line.root, line.source)].get(index) if index is not None else None
            for line, index in zip(lines, indexes, strict=True)
        ]

    def stats(self) -> dict[str, Any]:
        """Counts and configuration, for `opsagent stats` and the health endpoint."""
        spec = get_model_spec(self.settings.embedding_model)
        documents = {kind.value: self._distinct_docs(kind) for kind in DocumentKind}
        return {
            **self.settings.describe(),
            "embedding_model_description": spec.describe,
            "collections": {
                kind.value: {"records": self.store.count(kind), "documents": documents[kind.value]}
                for kind in DocumentKind
            },
            "roots": self.roots(),
            "log_lines": sum(lines for _, _, lines in self.log_store.sources()),
            "log_files": len(self.log_store.sources()),
        }

    def _distinct_docs(self, kind: DocumentKind) -> int:
        sources = {
            (meta.get("root"), meta.get("source"))
            for _, _, meta in self.store.iter_records(kind, include_documents=False)
        }
        return len(sources)

    def close(self) -> None:
        """Release the log store's SQLite connection."""
        if "log_store" in self.__dict__:
            self.log_store.close()
