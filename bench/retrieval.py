"""Alert -> runbook retrieval on the k8s set: R@1/3/5 and MRR at document level, and how the alerts
that have no runbook score (to set the "no runbook found" threshold).

Runs the real product path: `opsagent ingest` of the runbooks into a fresh store, then each alert's
`text` through hybrid search, exactly as `opsagent search --batch FILE -k 5 --json` does.
Usage: python -m bench.retrieval [--model ID] [--data DIR] [--chroma-url URL]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from bench.common import K8S_SET, emit, percentile, temp_knowledge_base
from opsagent.knowledge.models import DocumentKind
from opsagent.knowledge.search import SearchFilters

BASELINES = {
    "bm25_whole_document": {"R@1": 0.896, "R@3": 0.962, "R@5": 0.981, "MRR": 0.936},
    "dense_1000_char_chunks": {"R@1": 0.849, "R@3": 0.943, "R@5": 0.972, "MRR": 0.903},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="minilm-l6-int8")
    parser.add_argument("--data", type=Path, default=K8S_SET)
    parser.add_argument("--chroma-url", default=None)
    args = parser.parse_args()

    overrides = {"embedding_model": args.model}
    if args.chroma_url:
        overrides["chroma_url"] = args.chroma_url
    kb, tmp = temp_knowledge_base(**overrides)
    try:
        started = time.perf_counter()
        report = kb.ingest([args.data / "runbooks"], kind=DocumentKind.RUNBOOK)
        ingest_seconds = time.perf_counter() - started
        alerts = [json.loads(line) for line in (args.data / "alerts.jsonl").read_text().splitlines() if line]
        ranks: list[int | None] = []
        positive_scores: list[float] = []
        null_scores: list[float] = []
        latencies: list[float] = []
        misses = []
        filters = SearchFilters(kind=DocumentKind.RUNBOOK)
        for alert in alerts:
            t0 = time.perf_counter()
            hits = kb.search(alert["text"], 5, filters)
            latencies.append((time.perf_counter() - t0) * 1000)
            sources = [h.source for h in hits]
            top = hits[0].score if hits else 0.0
            if alert["expected"] is None:
                null_scores.append(top)
                continue
            positive_scores.append(top)
            rank = sources.index(alert["expected"]) + 1 if alert["expected"] in sources else None
            ranks.append(rank)
            if rank != 1:
                misses.append(
                    {
                        "id": alert["id"],
                        "alert": alert["alert"],
                        "expected": alert["expected"],
                        "got": sources[:3],
                    }
                )
        n = len(ranks)
        metrics = {
            f"R@{k}": round(sum(1 for r in ranks if r is not None and r <= k) / n, 3) for k in (1, 3, 5)
        }
        metrics["MRR"] = round(sum(1 / r for r in ranks if r) / n, 3)
        threshold = kb.settings.no_runbook_threshold
        result = {
            "benchmark": "retrieval_k8s",
            "model": args.model,
            "store": "server" if args.chroma_url else "embedded",
            "runbooks": report.files_ingested,
            "chunks": report.chunks_added,
            "alerts_with_runbook": n,
            "alerts_without_runbook": len(null_scores),
            "metrics": metrics,
            "baselines": BASELINES,
            "top_score_with_runbook": _dist(positive_scores),
            "top_score_without_runbook": _dist(null_scores),
            "no_runbook_threshold": threshold,
            "at_threshold": {
                "answered_correctly_kept": round(
                    sum(1 for r, s in zip(ranks, positive_scores, strict=True) if r == 1 and s >= threshold)
                    / n,
                    3,
                ),
                "no_runbook_alerts_rejected": round(
                    sum(1 for s in null_scores if s < threshold) / len(null_scores), 3
                )
                if null_scores
                else None,
            },
            "ingest_seconds": round(ingest_seconds, 2),
            "search_ms_p50": round(percentile(latencies, 50), 1),
            "search_ms_p95": round(percentile(latencies, 95), 1),
            "misses": misses,
        }
        emit(f"retrieval_{args.model}", result)
    finally:
        kb.close()
        tmp.cleanup()


def _dist(values: list[float]) -> dict[str, float]:
    return (
        {
            "min": round(min(values), 3),
            "p5": round(percentile(values, 5), 3),
            "p50": round(percentile(values, 50), 3),
            "p95": round(percentile(values, 95), 3),
            "max": round(max(values), 3),
        }
        if values
        else {}
    )


if __name__ == "__main__":
    main()
