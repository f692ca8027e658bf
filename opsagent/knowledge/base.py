"""`KnowledgeBase`: the one object the CLI, the API and the agent use to ingest and search."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

from opsagent.config import Settings
from opsagent.errors import IngestError
from opsagent.knowledge.embeddings import OnnxEmbedder, get_model_spec, load_embedder
from opsagent.knowledge.ingest import Ingestor, IngestProgress
from opsagent.knowledge.logstore import LogLineStore
from opsagent.knowledge.models import DocumentKind, IngestReport, LogLine, SearchHit
from opsagent.knowledge.roots import stored_roots
from opsagent.knowledge.search import KnowledgeSearch, SearchFilters
from opsagent.knowledge.store import VectorStore


class KnowledgeBase:
    """Runbooks and logs of one deployment: vector store, keyword index, raw log lines."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

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
        self, paths: list[Path], *, kind: DocumentKind | None = None, progress: IngestProgress | None = None
    ) -> IngestReport:
        """Ingest files/directories incrementally (see ingest.py)."""
        ingestor = Ingestor(self.settings, self.store, self.log_store, self.embedder)
        return ingestor.ingest(paths, kind=kind, progress=progress)

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
