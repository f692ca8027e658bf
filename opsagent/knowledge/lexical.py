"""BM25 keyword index, the lexical half of hybrid search.

Chroma holds the truth; this index is a cache derived from it, rebuilt when a collection's revision
changes and saved under the data dir, so every process (and every API replica sharing a Chroma server)
ranks the same content the same way. Scoring is vectorised with numpy: one slice per query term.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

WORD = re.compile(r"[A-Za-z0-9]+(?:[._'][A-Za-z0-9]+)*")
CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "from",
        "has",
        "have",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "no",
        "not",
        "of",
        "on",
        "or",
        "so",
        "such",
        "that",
        "the",
        "their",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "were",
        "will",
        "with",
        "which",
        "when",
        "what",
        "why",
        "how",
        "can",
        "may",
        "should",
        "does",
        "do",
        "than",
        "too",
        "very",
        "via",
        "per",
        "our",
        "your",
        "you",
        "we",
        "i",
    ]
)


def _stem(token: str) -> str:
    # Deliberately light: plural and common verb endings only, so "restarts"/"restarting"/"restarted"
    # meet while technical words ("redis", "ingress", "status") keep their shape.
    if len(token) > 5 and token.endswith("ing"):
        return token[:-3]
    if len(token) > 4 and token.endswith("ed") and not token.endswith("eed"):
        return token[:-2]
    if len(token) > 3 and token.endswith("s") and not token.endswith(("ss", "us", "is")):
        return token[:-1]
    return token


def tokenize(text: str) -> list[str]:
    """Lowercased, lightly stemmed terms; identifiers also yield their parts.

    `KubePodCrashLooping` gives `kubepodcrashlooping`, `kube`, `pod`, `crash`, `loop`;
    `payments-api` gives `payments`, `api` (hyphen splits) and `ingress.class` gives both parts too.
    """
    terms: list[str] = []
    for match in WORD.finditer(text):
        word = match.group(0)
        pieces = re.split(r"[._']", word)
        for piece in pieces:
            parts = CAMEL.findall(piece)
            lowered = piece.lower()
            if len(parts) > 1:
                terms.append(lowered)  # the identifier itself, a very specific term
                terms.extend(_stem(p.lower()) for p in parts if p.lower() not in STOPWORDS)
            elif lowered not in STOPWORDS and (len(lowered) > 1 or lowered.isdigit()):
                terms.append(_stem(lowered))
    return terms


class BM25Index:
    """Okapi BM25 over a fixed set of documents (chunks), with precomputed per-posting weights."""

    def __init__(
        self,
        ids: list[str],
        term_ids: dict[str, int],
        indptr: np.ndarray,
        postings: np.ndarray,
        weights: np.ndarray,
        max_weight: np.ndarray,
        idf: np.ndarray,
    ) -> None:
        self.ids = ids
        self.term_ids = term_ids
        self.indptr = indptr
        self.postings = postings
        self.weights = weights
        self.max_weight = max_weight  # per term: the best weight any document gets, for normalising
        self.idf = idf

    @classmethod
    def build(cls, ids: list[str], texts: Iterable[str], k1: float = 1.2, b: float = 0.75) -> BM25Index:
        """Index texts (one per id)."""
        term_ids: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        tfs: list[int] = []
        lengths: list[int] = []
        for doc, text in enumerate(texts):
            counts = Counter(tokenize(text))
            lengths.append(sum(counts.values()))
            for term, tf in counts.items():
                cols.append(term_ids.setdefault(term, len(term_ids)))
                rows.append(doc)
                tfs.append(tf)
        n_docs = len(lengths)
        doc_len = np.asarray(lengths, dtype=np.float32)
        avgdl = float(doc_len.mean()) if n_docs else 1.0
        col = np.asarray(cols, dtype=np.int64)
        order = np.argsort(col, kind="stable")
        col = col[order]
        postings = np.asarray(rows, dtype=np.int32)[order]
        term_freq = np.asarray(tfs, dtype=np.float32)[order]
        df = np.bincount(col, minlength=len(term_ids)).astype(np.float32)
        idf = np.log1p((n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)
        norm = k1 * (1 - b + b * doc_len[postings] / max(avgdl, 1e-9))
        weights = (idf[col] * term_freq * (k1 + 1) / (term_freq + norm)).astype(np.float32)
        indptr = np.zeros(len(term_ids) + 1, dtype=np.int64)
        np.cumsum(df.astype(np.int64), out=indptr[1:])
        max_weight = np.zeros(len(term_ids), dtype=np.float32)
        if len(weights):
            np.maximum.at(max_weight, col, weights)
        return cls(list(ids), term_ids, indptr, postings, weights, max_weight, idf)

    def __len__(self) -> int:
        return len(self.ids)

    def idf_of(self, term: str) -> float:
        """Inverse document frequency of a term, recovered from the stored weights (0 if unseen)."""
        term_id = self.term_ids.get(term)
        if term_id is None:
            return 0.0
        return float(self.idf[term_id])

    def scores(self, query: str, mask: np.ndarray | None = None) -> tuple[np.ndarray, float]:
        """BM25 score of every document, and the best score any document could reach for this query."""
        scores = np.zeros(len(self.ids), dtype=np.float32)
        ceiling = 0.0
        for term, qtf in Counter(tokenize(query)).items():
            term_id = self.term_ids.get(term)
            if term_id is None:
                continue
            lo, hi = self.indptr[term_id], self.indptr[term_id + 1]
            # Postings of one term name each document once, so plain fancy-index add is exact.
            scores[self.postings[lo:hi]] += qtf * self.weights[lo:hi]
            ceiling += qtf * float(self.max_weight[term_id])
        if mask is not None:
            scores[~mask] = 0.0
        return scores, ceiling

    def top(self, query: str, k: int, mask: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The k best (document index, score) pairs with a positive score."""
        scores, _ = self.scores(query, mask)
        return top_k(scores, k)

    def save(self, directory: Path) -> None:
        """Write the index to a directory (numpy arrays + JSON; no pickle)."""
        directory.mkdir(parents=True, exist_ok=True)
        np.savez(
            directory / "arrays.npz",
            indptr=self.indptr,
            postings=self.postings,
            weights=self.weights,
            max_weight=self.max_weight,
            idf=self.idf,
        )
        (directory / "terms.json").write_text(json.dumps({"ids": self.ids, "terms": self.term_ids}))

    @classmethod
    def load(cls, directory: Path) -> BM25Index:
        """Read an index written by save()."""
        meta = json.loads((directory / "terms.json").read_text())
        with np.load(directory / "arrays.npz") as arrays:
            return cls(
                meta["ids"],
                meta["terms"],
                arrays["indptr"],
                arrays["postings"],
                arrays["weights"],
                arrays["max_weight"],
                arrays["idf"],
            )


def top_k(scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    """Indices and values of the k largest positive scores, best first."""
    positive = int((scores > 0).sum())
    k = min(k, positive)
    if k <= 0:
        return []
    idx = np.argpartition(-scores, k - 1)[:k]
    idx = idx[np.argsort(-scores[idx], kind="stable")]
    return [(int(i), float(scores[i])) for i in idx]


def rank_of(ids: Sequence[str]) -> dict[str, int]:
    """Position (0-based) of each id in a ranked list."""
    return {item: pos for pos, item in enumerate(ids)}
