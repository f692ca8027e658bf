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

import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from opsagent.config import Settings
from opsagent.knowledge.embeddings import OnnxEmbedder
from opsagent.knowledge.lexical import tokenize, top_k
from opsagent.knowledge.models import Citation, DocumentKind, SearchHit
from opsagent.knowledge.snapshot import LexicalSnapshot, identifier_forms, joined_name
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
class _Chunk:
    sim: float
    text: str
    meta: dict[str, Any]


@dataclass
class _Candidate:
    doc_id: str
    position: int | None  # None: written after the keyword snapshot was taken (an ingest is running)
    dense: float = 0.0
    keyword: float = 0.0
    name: float = 0.0
    chunks: dict[str, _Chunk] = field(default_factory=dict)

    def score(self, signals: int) -> float:
        return (self.dense + self.keyword + self.name) / signals


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
        if not revision:  # no collection yet: nothing to index, nothing to cache
            return LexicalSnapshot.build(self.store, kind, revision)
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
            collection = self.store.existing(kind)
            if collection is not None:
                hits.extend(
                    self._search_kind(kind, collection, self.snapshot(kind), query, vector, k, filters)
                )
        hits.sort(key=lambda h: h.score, reverse=True)
        return hits[:k]

    def _search_kind(
        self,
        kind: DocumentKind,
        collection: Any,
        snapshot: LexicalSnapshot,
        query: str,
        vector: np.ndarray,
        k: int,
        filters: SearchFilters,
    ) -> list[SearchHit]:
        pool = max(4 * k, 40)
        candidates: dict[str, _Candidate] = {}
        forms = identifier_forms(query)

        # Dense side: the nearest chunks, kept per document.
        result = collection.query(
            query_embeddings=[vector.tolist()],
            n_results=pool,
            where=filters.chroma_where(),
            include=["distances", "metadatas", "documents"],
        )
        rows = zip(
            result["ids"][0],
            (result["distances"] or [[]])[0],
            (result["documents"] or [[]])[0],
            (result["metadatas"] or [[]])[0],
            strict=True,
        )
        for chunk_id, distance, text, meta in rows:
            meta = dict(meta or {})
            doc_id = str(meta.get("doc_id", chunk_id))
            candidate = candidates.setdefault(doc_id, _Candidate(doc_id, snapshot.doc_position.get(doc_id)))
            candidate.chunks[chunk_id] = _Chunk(1.0 - float(distance), text or "", meta)

        # Keyword side: BM25 over whole documents, normalised by the query's best possible score.
        mask = snapshot.doc_mask(filters.service, filters.since, filters.until)
        doc_scores, ceiling = snapshot.doc_index.scores(query, mask)
        keyword = doc_scores / ceiling if ceiling > 0 else doc_scores
        for position, _ in top_k(keyword, pool):
            doc_id = snapshot.doc_ids[position]
            candidates.setdefault(doc_id, _Candidate(doc_id, position))

        # Name side: runbooks named for what the query mentions.
        exact = snapshot.exact_name_matches(query)
        for position in exact:
            if mask is None or mask[position]:
                doc_id = snapshot.doc_ids[position]
                candidates.setdefault(doc_id, _Candidate(doc_id, position))
        if not candidates:
            return []

        query_terms = set(tokenize(query))
        for candidate in candidates.values():
            candidate.dense = max((c.sim for c in candidate.chunks.values()), default=0.0)
            if candidate.position is None:  # not in the snapshot yet: names from its own metadata
                candidate.name = float(kind is DocumentKind.RUNBOOK and _names_match(candidate, forms))
                continue
            candidate.keyword = float(keyword[candidate.position])
            if kind is DocumentKind.RUNBOOK:
                candidate.name = (
                    1.0
                    if candidate.position in exact
                    else PARTIAL_NAME_WEIGHT * snapshot.name_coverage(candidate.position, query_terms)
                )
        signals = 3 if kind is DocumentKind.RUNBOOK else 2
        # A document the dense query did not return is no closer than the farthest chunk it did return;
        # only candidates that could still reach the top k need their vectors fetched.
        floor = min((c.sim for cand in candidates.values() for c in cand.chunks.values()), default=1.0)
        contenders = _could_reach_top(candidates.values(), k, signals, floor)
        self._fill_dense(collection, snapshot, vector, contenders)
        for candidate in contenders:
            candidate.dense = max((c.sim for c in candidate.chunks.values()), default=0.0)
        ranked = sorted(candidates.values(), key=lambda c: c.score(signals), reverse=True)[:k]
        return [
            _to_hit(kind, c.doc_id, _best_chunk(c, query_terms, snapshot), c.score(signals), query)
            for c in ranked
            if c.chunks
        ]

    @staticmethod
    def _fill_dense(
        collection: Any, snapshot: LexicalSnapshot, vector: np.ndarray, candidates: list[_Candidate]
    ) -> None:
        """Candidates found only by keywords or names still need their chunks' dense similarity.

        Fetched by id (the snapshot knows each document's chunks): a metadata `$in` filter would
        scan the collection.
        """
        by_doc = {c.doc_id: c for c in candidates}
        wanted = [
            chunk_id
            for candidate in candidates
            if candidate.position is not None
            for chunk_id in snapshot.chunks_of(candidate.position)
        ]
        if not wanted:
            return
        records = collection.get(ids=wanted, include=["embeddings", "documents", "metadatas"])
        embeddings = records.get("embeddings")
        if embeddings is None or len(records["ids"]) == 0:
            return
        sims = np.asarray(embeddings, dtype=np.float32) @ vector
        rows = zip(records["ids"], sims, records["documents"] or [], records["metadatas"] or [], strict=True)
        for chunk_id, sim, text, meta in rows:
            candidate = by_doc.get(str((meta or {}).get("doc_id")))
            if candidate is not None:
                candidate.chunks[chunk_id] = _Chunk(float(sim), text or "", dict(meta or {}))


def _names_match(candidate: _Candidate, forms: set[str]) -> bool:
    meta = next(iter(candidate.chunks.values())).meta
    names = [str(meta.get("title", ""))] + [str(a) for a in meta.get("alerts") or []]
    return any(joined_name(n) in forms for n in names if joined_name(n))


def _could_reach_top(
    candidates: Iterable[_Candidate], k: int, signals: int, dense_ceiling: float
) -> list[_Candidate]:
    """Candidates without a dense score whose best possible score reaches the k-th guaranteed one."""
    pool = list(candidates)
    guaranteed = sorted((c.score(signals) for c in pool), reverse=True)  # dense 0 when not yet known
    bar = guaranteed[k - 1] if len(guaranteed) >= k else 0.0
    return [
        c for c in pool if not c.chunks and (max(dense_ceiling, 0.0) + c.keyword + c.name) / signals >= bar
    ]


def _best_chunk(candidate: _Candidate, query_terms: set[str], snapshot: LexicalSnapshot) -> _Chunk:
    """The chunk that best answers the query: its dense similarity plus its share of the query's
    idf-weighted terms (so the snippet shows the words the user searched for)."""
    idf = snapshot.doc_index.idf_of
    total = sum(idf(t) for t in query_terms) or 1.0

    def value(chunk: _Chunk) -> float:
        return chunk.sim + sum(idf(t) for t in query_terms & set(tokenize(chunk.text))) / total

    return max(candidate.chunks.values(), key=value)


def _to_hit(kind: DocumentKind, doc_id: str, chunk: _Chunk, score: float, query: str) -> SearchHit:
    text, meta = chunk.text, chunk.meta
    line_start = meta.get("line_start")
    line_end = meta.get("line_end")
    if kind is DocumentKind.RUNBOOK:
        body = text.split("\n\n", 1)[1] if "\n\n" in text else text
        citation = Citation(
            source=str(meta.get("source", "")),
            section=str(meta.get("section") or ""),
            line_start=line_start,
            line_end=line_end,
        )
        snippet = make_snippet(body, query)
    else:
        examples = json_list(meta.get("examples"))
        citation = Citation(source=str(meta.get("source", "")), line_start=line_start, line_end=line_end)
        snippet = examples[0][:SNIPPET_CHARS] if examples else text[:SNIPPET_CHARS]
    return SearchHit(
        doc_id=doc_id,
        kind=kind,
        source=str(meta.get("source", "")),
        root=str(meta.get("root", "")),
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


def json_list(value: Any) -> list[str]:
    """A JSON-encoded list of strings from Chroma metadata (lists of long strings are stored as JSON)."""
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
