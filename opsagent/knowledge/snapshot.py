"""The lexical side of a collection: BM25 over chunks and documents, plus document names.

Built from Chroma's records, cached on disk per collection revision (see lexical.py for why).
"""

from __future__ import annotations

import json
import math
import re
import shutil
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from opsagent.knowledge.lexical import CAMEL, WORD, BM25Index, tokenize
from opsagent.knowledge.models import DocumentKind
from opsagent.knowledge.store import VectorStore

CACHE_FORMAT = 2
NAN = float("nan")


def identifier_forms(text: str) -> set[str]:
    """Lowercased words of a text with separators removed, as they may spell a runbook's name."""
    forms: set[str] = set()
    for match in WORD.finditer(text):
        word = match.group(0)
        forms.add(re.sub(r"[._']", "", word).lower())
        forms.update(piece.lower() for piece in re.split(r"[._']", word))
    return forms


def joined_name(name: str) -> str | None:
    """`Kube Pod Crash Looping` and `KubePodCrashLooping` both -> `kubepodcrashlooping`.

    Only names of two or more words count: a one-word name ("database") would match far too much.
    """
    words = [p for w in WORD.findall(name) for p in CAMEL.findall(w)]
    if len(words) < 2:
        return None
    return "".join(words).lower()


@dataclass
class LexicalSnapshot:
    """Everything keyword-side search needs for one collection at one revision."""

    revision: str
    chunk_ids: list[str]
    chunk_doc: np.ndarray  # chunk position -> document position
    doc_ids: list[str]
    doc_service: list[str | None]
    doc_first_seen: np.ndarray
    doc_last_seen: np.ndarray
    doc_names: list[list[str]]
    chunk_index: BM25Index
    doc_index: BM25Index

    @classmethod
    def build(cls, store: VectorStore, kind: DocumentKind, revision: str) -> LexicalSnapshot:
        """Read every record of a collection and index it."""
        chunk_ids: list[str] = []
        chunk_texts: list[str] = []
        chunk_doc_ids: list[str] = []
        docs: dict[str, dict[str, Any]] = {}
        doc_texts: dict[str, list[str]] = defaultdict(list)
        for record_id, text, meta in store.iter_records(kind):
            doc_id = str(meta.get("doc_id", record_id))
            chunk_ids.append(record_id)
            chunk_texts.append(text)
            chunk_doc_ids.append(doc_id)
            doc_texts[doc_id].append(text)
            if doc_id not in docs:
                names = [str(meta.get("title", ""))] + [str(a) for a in meta.get("alerts") or []]
                docs[doc_id] = {
                    "service": meta.get("service"),
                    "first_seen": meta.get("first_seen"),
                    "last_seen": meta.get("last_seen"),
                    "names": [n for n in names if n] if kind is DocumentKind.RUNBOOK else [],
                }
        doc_ids = list(docs)
        position = {doc_id: i for i, doc_id in enumerate(doc_ids)}
        chunk_index = BM25Index.build(chunk_ids, chunk_texts)
        one_chunk_per_doc = len(doc_ids) == len(chunk_ids)
        doc_index = (
            chunk_index
            if one_chunk_per_doc and doc_ids == chunk_doc_ids
            else BM25Index.build(doc_ids, ("\n".join(doc_texts[d]) for d in doc_ids))
        )
        return cls(
            revision=revision,
            chunk_ids=chunk_ids,
            chunk_doc=np.asarray([position[d] for d in chunk_doc_ids], dtype=np.int32),
            doc_ids=doc_ids,
            doc_service=[docs[d]["service"] for d in doc_ids],
            doc_first_seen=np.asarray([_num(docs[d]["first_seen"]) for d in doc_ids], dtype=np.float64),
            doc_last_seen=np.asarray([_num(docs[d]["last_seen"]) for d in doc_ids], dtype=np.float64),
            doc_names=[docs[d]["names"] for d in doc_ids],
            chunk_index=chunk_index,
            doc_index=doc_index,
        )

    def __post_init__(self) -> None:
        self.doc_position = {doc_id: i for i, doc_id in enumerate(self.doc_ids)}
        self._doc_chunks: dict[int, list[str]] = defaultdict(list)
        for chunk_id, doc in zip(self.chunk_ids, self.chunk_doc.tolist(), strict=True):
            self._doc_chunks[doc].append(chunk_id)
        self._exact: dict[str, list[int]] = defaultdict(list)
        self._name_terms: list[list[set[str]]] = []
        df: dict[str, int] = defaultdict(int)
        for position, names in enumerate(self.doc_names):
            term_sets = [set(tokenize(name)) for name in names]
            self._name_terms.append([t for t in term_sets if t])
            for term in set().union(*term_sets) if term_sets else set():
                df[term] += 1
            for name in names:
                joined = joined_name(name)
                if joined:
                    self._exact[joined].append(position)
        n = max(len(self.doc_names), 1)
        self._name_idf = {t: math.log1p((n - c + 0.5) / (c + 0.5)) for t, c in df.items()}

    def chunks_of(self, position: int) -> list[str]:
        """Chunk ids of a document."""
        return self._doc_chunks.get(position, [])

    def exact_name_matches(self, query: str) -> set[int]:
        """Documents one of whose names the query spells out (e.g. the alert a runbook is named for)."""
        return {pos for form in identifier_forms(query) for pos in self._exact.get(form, ())}

    def name_coverage(self, position: int, query_terms: set[str]) -> float:
        """How much of the document's best-covered name the query mentions, idf-weighted, in [0, 1]."""
        best = 0.0
        for terms in self._name_terms[position]:
            total = sum(self._name_idf.get(t, 1.0) for t in terms)
            if total > 0:
                best = max(best, sum(self._name_idf.get(t, 1.0) for t in terms & query_terms) / total)
        return best

    def doc_mask(self, service: str | None, since: float | None, until: float | None) -> np.ndarray | None:
        """Documents passing the filters (None = all)."""
        if service is None and since is None and until is None:
            return None
        mask = np.ones(len(self.doc_ids), dtype=bool)
        if service is not None:
            mask &= np.asarray([s == service for s in self.doc_service], dtype=bool)
        # A document without timestamps (a runbook) has no time and fails a time filter.
        if since is not None:
            mask &= self.doc_last_seen >= since
        if until is not None:
            mask &= self.doc_first_seen <= until
        return mask

    # -- disk cache -------------------------------------------------------------------------------

    def save(self, directory: Path) -> None:
        """Write to directory (replacing older revisions beside it)."""
        if directory.parent.exists():
            for old in directory.parent.iterdir():
                if old.name != directory.name:
                    shutil.rmtree(old, ignore_errors=True)
        tmp = directory.with_name(directory.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        self.chunk_index.save(tmp / "chunks")
        if self.doc_index is not self.chunk_index:
            self.doc_index.save(tmp / "docs")
        np.savez(
            tmp / "docs.npz", chunk_doc=self.chunk_doc, first=self.doc_first_seen, last=self.doc_last_seen
        )
        meta = {
            "format": CACHE_FORMAT,
            "revision": self.revision,
            "doc_ids": self.doc_ids,
            "doc_service": self.doc_service,
            "doc_names": self.doc_names,
        }
        (tmp / "meta.json").write_text(json.dumps(meta))
        shutil.rmtree(directory, ignore_errors=True)
        tmp.rename(directory)  # readers see a whole snapshot or none

    @classmethod
    def load(cls, directory: Path) -> LexicalSnapshot | None:
        """Read a snapshot written by save(); None if absent or from another format."""
        try:
            meta = json.loads((directory / "meta.json").read_text())
            if meta.get("format") != CACHE_FORMAT:
                return None
            chunk_index = BM25Index.load(directory / "chunks")
            docs_dir = directory / "docs"
            doc_index = BM25Index.load(docs_dir) if docs_dir.exists() else chunk_index
            with np.load(directory / "docs.npz") as arrays:
                chunk_doc, first, last = arrays["chunk_doc"], arrays["first"], arrays["last"]
        except (OSError, ValueError, KeyError):
            return None
        return cls(
            revision=meta["revision"],
            chunk_ids=chunk_index.ids,
            chunk_doc=chunk_doc,
            doc_ids=meta["doc_ids"],
            doc_service=meta["doc_service"],
            doc_first_seen=first,
            doc_last_seen=last,
            doc_names=meta["doc_names"],
            chunk_index=chunk_index,
            doc_index=doc_index,
        )


def _num(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else NAN
