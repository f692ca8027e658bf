"""Helpers shared by the benchmarks: where the k8s set is, a throwaway knowledge base, JSON output."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from opsagent.config import Settings
from opsagent.knowledge.base import KnowledgeBase

REPO = Path(__file__).resolve().parents[1]
K8S_SET = REPO.parent / "shared" / "bench" / "k8s"
RESULTS = REPO / "bench" / "results"


def temp_knowledge_base(**overrides: Any) -> tuple[KnowledgeBase, tempfile.TemporaryDirectory[str]]:
    """A knowledge base in a fresh temporary data dir (the caller cleans up the directory)."""
    tmp = tempfile.TemporaryDirectory(prefix="opsagent-bench-")
    settings = Settings(data_dir=Path(tmp.name), **overrides)
    return KnowledgeBase(settings), tmp


def emit(name: str, result: dict[str, Any]) -> None:
    """Print the result as JSON and keep a copy in bench/results/NAME.json."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, indent=2)
    (RESULTS / f"{name}.json").write_text(text + "\n")
    print(text)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]
