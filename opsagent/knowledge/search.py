"""Hybrid search: dense vectors (Chroma) + BM25 + document names, fused into one calibrated score.

For each document we compute three signals in [0, 1] and average them with equal weights:
- dense: cosine similarity of its best chunk to the query;
- keyword: BM25 of the whole document, divided by the best score any document could get for this
  query, so it reads as "how much of the query's weight this document matches";
- name: 1.0 when the query spells one of the document's names (its title, H1, file name or an alert
  it declares in front matter), else half its idf-weighted name coverage.
A plain average of signals that each mean something on their own gives a score that is comparable
across queries, which is what lets triage say "no runbook found" below a threshold. Log templates have
no names, so their score averages the first two signals. Equal weights are deliberate: no tuning to a
benchmark (numbers in the README).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from opsagent.config import Settings
from opsagent.knowledge.embeddings import OnnxEmbedder
from opsagent.knowledge.lexical import tokenize, top_k
from opsagent.knowledge.models import Citation, DocumentKind, SearchHit
from opsagent.knowledge.snapshot import LexicalSnapshot
from opsagent.knowledge.store import VectorStore

log = logging.getLogger(__name__)
SNIPPET_CHARS = 320
PARTIAL_NAME_WEIGHT = 0.5


@dataclass
class SearchFilters:
    """Restrictions applied to both the vector and the keyword side."""

    kind: DocumentKind | None = None
    service: str | None = None
    since: float | None = None
    until: float | None = None

    def chroma_where(self) -> dict[str, Any] | None:
        clauses: list[dict[str, Any]] = []
        if self.service is not None:
            clauses.append({"service": self.service})
        if self.since is not None:
            clauses.append({"last_seen": {"$gte": self.since}})
        if self.until is not None:
            clauses.append({"first_seen": {"$lte": self.until}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}


@dataclass
class _Candidate:
    position: int
    dense: float = 0.0
    keyword: float = 0.0
    name: float = 0.0
    chunk_sims: dict[str, float] = field(default_factory=dict)


class KnowledgeSearch:
    """Searches runbooks and log templates; keeps one lexical snapshot per collection revision."""

    def __init__(self, settings: Settings, store: VectorStore, embedder: OnnxEmbedder) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self._snapshots: dict[DocumentKind, LexicalSnapshot] = {}

    def snapshot(self, kind: DocumentKind) -> LexicalSnapshot:
        """The lexical snapshot for the collection's current revision (memory, then disk, then build)."""
        revision = self.store.revision(kind)
        cached = self._snapshots.get(kind)
        if cached is not None and cached.revision == revision:
            return cached
        directory = self.settings.data_dir / "cache" / "lexical" / self.store.collection_name(kind) / revision
        snapshot = LexicalSnapshot.load(directory) if revision else None
        if snapshot is None or snapshot.revision != revision:
            snapshot = LexicalSnapshot.build(self.store, kind, revision)
            try:
                snapshot.save(directory)
            except OSError as exc:  # a read-only data dir still searches, just rebuilds each start
                log.warning("could not cache the keyword index in %s: %s", directory, exc)
        self._snapshots[kind] = snapshot
        return snapshot

    def search(self, query: str, k: int = 5, filters: SearchFilters | None = None) -> list[SearchHit]:
        """The k best documents for a query, best first, each with its best chunk as the snippet."""
        filters = filters or SearchFilters()
        query = query.strip()
        if not query or k <= 0:
            return []
        vector = self.embedder.encode([query])[0]
        kinds = [filters.kind] if filters.kind else list(DocumentKind)
        hits: list[SearchHit] = []
        for kind in kinds:
            if self.store.count(kind) == 0:
                continue
            hits.extend(self._search_kind(kind, query, vector, k, filters))
        hits.sort(key=lambda h: h.score, reverse=True)
        return hits[:k]

    def search_many(
        self, queries: Sequence[str], k: int = 5, filters: SearchFilters | None = None
    ) -> list[list[SearchHit]]:
        """Run several queries (the batch CLI); snapshots and the model are shared."""
        return [self.search(q, k, filters) for q in queries]

    def _search_kind(
        self, kind: DocumentKind, query: str, vector: np.ndarray, k: int, filters: SearchFilters
    ) -> list[SearchHit]:
        snapshot = self.snapshot(kind)
        collection = self.store.collection(kind)
        where = filters.chroma_where()
        pool = max(4 * k, 40)
        candidates: dict[int, _Candidate] = {}

        # Dense side: the nearest chunks, best chunk per document.
        result = collection.query(
            query_embeddings=[vector.tolist()],
            n_results=min(pool, max(len(snapshot.chunk_ids), 1)),
            where=where,
            include=["distances", "metadatas"],
        )
        for chunk_id, distance, meta in zip(
            result["ids"][0], (result["distances"] or [[]])[0], (result["metadatas"] or [[]])[0], strict=True
        ):
            position = snapshot.doc_position.get(str((meta or {}).get("doc_id", chunk_id)))
            if position is None:  # written after the snapshot; picked up at the next revision
                continue
            candidate = candidates.setdefault(position, _Candidate(position))
            candidate.chunk_sims[chunk_id] = 1.0 - float(distance)

        # Keyword side: BM25 over whole documents, normalised by the query's best possible score.
        mask = snapshot.doc_mask(filters.service, filters.since, filters.until)
        doc_scores, ceiling = snapshot.doc_index.scores(query, mask)
        keyword = doc_scores / ceiling if ceiling > 0 else doc_scores
        for position, _ in top_k(keyword, pool):
            candidates.setdefault(position, _Candidate(position))

        # Name side: runbooks named for what the query mentions.
        exact = snapshot.exact_name_matches(query)
        for position in exact:
            if mask is None or mask[position]:
                candidates.setdefault(position, _Candidate(position))
        if not candidates:
            return []

        self._fill_dense(collection, snapshot, vector, candidates)
        query_terms = set(tokenize(query))
        for candidate in candidates.values():
            candidate.dense = max(candidate.chunk_sims.values(), default=0.0)
            candidate.keyword = float(keyword[candidate.position])
            if kind is DocumentKind.RUNBOOK:
                candidate.name = (
                    1.0
                    if candidate.position in exact
                    else PARTIAL_NAME_WEIGHT * snapshot.name_coverage(candidate.position, query_terms)
                )
        signals = 3 if kind is DocumentKind.RUNBOOK else 2
        ranked = sorted(
            candidates.values(), key=lambda c: (c.dense + c.keyword + c.name) / signals, reverse=True
        )[:k]
        chunk_keyword, chunk_ceiling = snapshot.chunk_index.scores(query)
        best_chunks = {
            c.position: self._best_chunk(snapshot, c, chunk_keyword / max(chunk_ceiling, 1e-9))
            for c in ranked
        }
        records = collection.get(ids=list(best_chunks.values()), include=["documents", "metadatas"])
        by_id = {
            rid: (doc or "", meta or {})
            for rid, doc, meta in zip(
                records["ids"], records["documents"] or [], records["metadatas"] or [], strict=True
            )
        }
        hits = []
        for candidate in ranked:
            text, meta = by_id.get(best_chunks[candidate.position], ("", {}))
            score = (candidate.dense + candidate.keyword + candidate.name) / signals
            hits.append(_to_hit(kind, snapshot.doc_ids[candidate.position], text, dict(meta), score, query))
        return hits

    def _fill_dense(
        self,
        collection: Any,
        snapshot: LexicalSnapshot,
        vector: np.ndarray,
        candidates: dict[int, _Candidate],
    ) -> None:
        """Candidates found only by keywords or names still need their dense similarity."""
        missing = [snapshot.doc_ids[c.position] for c in candidates.values() if not c.chunk_sims]
        if not missing:
            return
        records = collection.get(where={"doc_id": {"$in": missing}}, include=["embeddings", "metadatas"])
        embeddings = records.get("embeddings")
        if embeddings is None or len(records["ids"]) == 0:
            return
        sims = np.asarray(embeddings, dtype=np.float32) @ vector
        for chunk_id, sim, meta in zip(records["ids"], sims, records["metadatas"] or [], strict=True):
            position = snapshot.doc_position.get(str((meta or {}).get("doc_id")))
            if position is not None and position in candidates:
                candidates[position].chunk_sims[chunk_id] = float(sim)

    @staticmethod
    def _best_chunk(snapshot: LexicalSnapshot, candidate: _Candidate, chunk_keyword: np.ndarray) -> str:
        """The chunk that best answers the query: dense similarity plus its own keyword match."""

        def value(chunk_id: str) -> float:
            position = snapshot.chunk_position.get(chunk_id)
            return candidate.chunk_sims[chunk_id] + (
                float(chunk_keyword[position]) if position is not None else 0
            )

        return max(candidate.chunk_sims, key=value)


def _to_hit(
    kind: DocumentKind, doc_id: str, text: str, meta: dict[str, Any], score: float, query: str
) -> SearchHit:
    line_start = meta.get("line_start")
    line_end = meta.get("line_end")
    if kind is DocumentKind.RUNBOOK:
        body = text.split("\n\n", 1)[1] if "\n\n" in text else text
        citation = Citation(source=str(meta.get("source", "")), section=str(meta.get("section") or ""))
        if not citation.section:
            citation.line_start, citation.line_end = line_start, line_end
        snippet = make_snippet(body, query)
    else:
        examples = _json_list(meta.get("examples"))
        citation = Citation(source=str(meta.get("source", "")), line_start=line_start, line_end=line_end)
        snippet = examples[0][:SNIPPET_CHARS] if examples else text[:SNIPPET_CHARS]
    return SearchHit(
        doc_id=doc_id,
        kind=kind,
        source=str(meta.get("source", "")),
        title=str(meta.get("title", "")),
        section=str(meta.get("section") or ""),
        score=round(max(0.0, min(1.0, score)), 4),
        snippet=snippet,
        citation=citation,
        service=meta.get("service"),
        actions=[str(a) for a in meta.get("actions") or []],
        count=meta.get("count"),
        first_seen=meta.get("first_seen"),
        last_seen=meta.get("last_seen"),
    )


def _json_list(value: Any) -> list[str]:
    import json

    try:
        data = json.loads(value) if isinstance(value, str) else []
    except ValueError:
        return []
    return [str(v) for v in data] if isinstance(data, list) else []


def make_snippet(body: str, query: str, width: int = SNIPPET_CHARS) -> str:
    """A window of the body around the first query term it contains, on word boundaries."""
    flat = re.sub(r"\s+", " ", body).strip()
    if len(flat) <= width:
        return flat
    lowered = flat.lower()
    positions = [lowered.find(t) for t in tokenize(query) if len(t) > 2 and t in lowered]
    start = max(0, min(positions) - width // 4) if positions else 0
    if start:
        start = flat.find(" ", start) + 1 or start
    window = flat[start : start + width]
    cut = window.rfind(" ")
    window = window[:cut] if cut > width // 2 else window
    return ("…" if start else "") + window + ("…" if start + len(window) < len(flat) else "")
