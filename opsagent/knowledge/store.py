"""The vector store: Chroma on disk by default, a Chroma server when OPSAGENT_CHROMA_URL is set.

One collection per document kind. Each collection records the embedding model that made its vectors;
opening it with another model is refused, because mixing vector spaces silently ruins search.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import chromadb
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.config import Settings as ChromaSettings

from opsagent.config import Settings
from opsagent.errors import EmbeddingModelError, StoreError
from opsagent.knowledge.embeddings import OpsagentEmbeddingFunction
from opsagent.knowledge.models import DocumentKind

SCHEMA_VERSION = 1
MODEL_KEY = "opsagent_embedding_model"
REVISION_KEY = "opsagent_revision"
SCHEMA_KEY = "opsagent_schema"
PAGE = 5000


@contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """An exclusive advisory lock on a file, held for the block (a no-op where fcntl is missing)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def connect(settings: Settings) -> ClientAPI:
    """Open the configured Chroma: embedded PersistentClient, or HttpClient for a server URL."""
    # Telemetry would try to reach the internet; opsagent runs offline.
    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        try:
            client = chromadb.HttpClient(
                host=url.hostname or "localhost",
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=chroma_settings,
            )
            client.heartbeat()
        except Exception as exc:
            raise StoreError(
                f"Cannot reach the Chroma server at {settings.chroma_url} ({exc.__class__.__name__}). "
                "Start one with `chroma run --path DIR --port PORT`, or unset OPSAGENT_CHROMA_URL to use "
                "the embedded store."
            ) from exc
        return client
    try:
        settings.chroma_path.mkdir(parents=True, exist_ok=True)
        # Chroma creates its SQLite schema and default tenant on first open; two processes doing that at
        # once (`serve --processes N`, two `opsagent worker`s on a fresh data dir) fail with "table
        # collections already exists" / "Could not connect to tenant". Opening under an exclusive file
        # lock makes the second wait for the first.
        with _exclusive(settings.chroma_path / ".opsagent-open.lock"):
            return chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)
    except OSError as exc:
        raise StoreError(
            f"Cannot open the vector store in {settings.chroma_path}: {exc}. Set OPSAGENT_DATA_DIR "
            "to a writable directory."
        ) from exc


class VectorStore:
    """Collections for runbook chunks and log templates, bound to one embedding model."""

    def __init__(self, settings: Settings, client: ClientAPI | None = None) -> None:
        self.settings = settings
        self.client = client or connect(settings)
        self.embedding_function = OpsagentEmbeddingFunction(
            model=settings.embedding_model,
            threads=settings.embedding_threads,
            batch_size=settings.embedding_batch_size,
        )
        self._collections: dict[DocumentKind, Collection] = {}

    def collection_name(self, kind: DocumentKind) -> str:
        """Chroma collection name for a kind, e.g. `opsagent_runbook`."""
        return f"{self.settings.collection_prefix}_{kind.value}"

    def collection(self, kind: DocumentKind) -> Collection:
        """Get or create the collection for a kind, refusing one made by another embedding model."""
        if kind in self._collections:
            return self._collections[kind]
        name = self.collection_name(kind)
        model = self.settings.embedding_model
        try:
            collection = self.client.get_or_create_collection(
                name=name,
                embedding_function=self.embedding_function,  # type: ignore[arg-type]
                metadata={MODEL_KEY: model, SCHEMA_KEY: SCHEMA_VERSION, REVISION_KEY: uuid.uuid4().hex},
                configuration={"hnsw": {"space": "cosine"}},
            )
        except EmbeddingModelError:
            raise
        except Exception as exc:  # Chroma raises ValueError on an embedding-function conflict
            existing = self._stored_model(name)
            if existing and existing != model:
                raise self._model_mismatch(name, existing) from exc
            raise StoreError(f"Cannot open collection {name!r}: {exc}") from exc
        stored = (collection.metadata or {}).get(MODEL_KEY)
        if stored != model:
            raise self._model_mismatch(name, str(stored))
        self._collections[kind] = collection
        return collection

    def _stored_model(self, name: str) -> str | None:
        try:
            meta = self.client.get_collection(name).metadata or {}
        except Exception:
            return None
        value = meta.get(MODEL_KEY)
        return str(value) if value is not None else None

    def _model_mismatch(self, name: str, stored: str) -> EmbeddingModelError:
        return EmbeddingModelError(
            f"Collection {name!r} was built with embedding model {stored!r}, but opsagent is configured for "
            f"{self.settings.embedding_model!r}. Set OPSAGENT_EMBEDDING_MODEL={stored} to use it, or point "
            "OPSAGENT_DATA_DIR (or OPSAGENT_COLLECTION_PREFIX) somewhere new and re-ingest."
        )

    def existing(self, kind: DocumentKind) -> Collection | None:
        """The collection if it exists (model checked), without creating it.

        Read-only commands use this, so a search run with a different OPSAGENT_EMBEDDING_MODEL on an
        empty store does not create collections bound to that model.
        """
        if kind in self._collections:
            return self._collections[kind]
        try:
            collection = self.client.get_collection(self.collection_name(kind))
        except Exception as exc:  # NotFoundError embedded, a different error class over HTTP
            if "does not exist" in str(exc) or exc.__class__.__name__ == "NotFoundError":
                return None
            raise StoreError(f"Cannot open collection {self.collection_name(kind)!r}: {exc}") from exc
        stored = (collection.metadata or {}).get(MODEL_KEY)
        if stored != self.settings.embedding_model:
            raise self._model_mismatch(collection.name, str(stored))
        return self.collection(kind)

    def revision(self, kind: DocumentKind) -> str:
        """Changes whenever the collection's content changes; keys derived caches (the BM25 index)."""
        if self.existing(kind) is None:
            return ""
        # Re-read rather than trust the cached object: another process may have ingested since.
        meta = self.client.get_collection(self.collection_name(kind)).metadata or {}
        return str(meta.get(REVISION_KEY, ""))

    def bump_revision(self, kind: DocumentKind) -> None:
        """Record that the collection's content changed."""
        collection = self.collection(kind)
        meta = dict(collection.metadata or {})
        meta[REVISION_KEY] = uuid.uuid4().hex
        collection.modify(metadata=meta)

    def upsert(
        self,
        kind: DocumentKind,
        ids: Sequence[str],
        documents: Sequence[str],
        metadatas: Sequence[dict[str, Any]],
        embeddings: Sequence[Sequence[float]] | None = None,
    ) -> None:
        """Upsert in batches Chroma accepts; embeds with the bundled model unless vectors are given."""
        collection = self.collection(kind)
        step = min(self.client.get_max_batch_size(), 1000)
        for start in range(0, len(ids), step):
            end = start + step
            collection.upsert(
                ids=list(ids[start:end]),
                documents=list(documents[start:end]),
                metadatas=[_clean(m) for m in metadatas[start:end]],
                embeddings=None if embeddings is None else list(embeddings[start:end]),
            )

    def delete_where(self, kind: DocumentKind, where: dict[str, Any]) -> None:
        """Delete every record matching a metadata filter."""
        self.collection(kind).delete(where=where)

    def iter_records(
        self, kind: DocumentKind, *, include_documents: bool = True, where: dict[str, Any] | None = None
    ) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """Yield (id, document, metadata) for every record, paging so memory stays flat."""
        collection = self.existing(kind)
        if collection is None:
            return
        include: list[Any] = ["metadatas", "documents"] if include_documents else ["metadatas"]
        offset = 0
        while True:
            page = collection.get(include=include, limit=PAGE, offset=offset, where=where)
            ids = page["ids"]
            if not ids:
                return
            docs = page.get("documents") or [""] * len(ids)
            metas = page.get("metadatas") or [{}] * len(ids)
            for record_id, doc, meta in zip(ids, docs, metas, strict=True):
                yield record_id, doc or "", dict(meta or {})
            offset += len(ids)

    def count(self, kind: DocumentKind) -> int:
        """Number of records of a kind."""
        collection = self.existing(kind)
        return int(collection.count()) if collection is not None else 0


def _clean(meta: dict[str, Any]) -> dict[str, Any]:
    """Chroma metadata values must be scalars or non-empty lists; drop Nones and empty lists."""
    cleaned: dict[str, Any] = {}
    for key, value in meta.items():
        if value is None or (isinstance(value, list) and not value):
            continue
        cleaned[key] = value
    return cleaned
