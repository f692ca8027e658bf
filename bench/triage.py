"""Triage benchmarks over the scenario suite.

1. Offline (non-LLM) triage time per incident, model already loaded: p50/p95 (target <= 300 ms).
2. Tokens sent to the LLM per scenario, counted at the fake OpenAI server, for opsagent's prompt (the
   evidence pipeline's compact findings, one tool call, the answer) against a naive prompt that pastes
   the alert, every related log line in the window and the top-5 runbooks in full (target <= 1/5).
Usage: python -m bench.triage [--scenarios tests/scenarios] [--knowledge knowledge]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import SecretStr

from bench.common import REPO, emit, percentile, temp_knowledge_base
from opsagent.actions.catalog import ActionCatalog, load_catalog
from opsagent.agent.evaluation import load_scenarios
from opsagent.agent.models import build_chat_model
from opsagent.agent.triage import Triage
from opsagent.config import Settings
from opsagent.incidents.models import Alert
from opsagent.integrations.generic import load_alert_file
from opsagent.knowledge.base import KnowledgeBase
from opsagent.knowledge.models import DocumentKind
from opsagent.knowledge.search import SearchFilters
from opsagent.testing import FakeOpenAIServer, call

ANSWER = json.dumps(
    {
        "summary": "s",
        "probable_root_cause": "r",
        "confidence": {"value": 0.5, "reason": "x"},
        "evidence": [],
        "next_steps": [],
        "proposed_actions": [],
    }
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenarios", type=Path, default=REPO / "tests" / "scenarios")
    parser.add_argument("--knowledge", type=Path, default=REPO / "knowledge")
    args = parser.parse_args()
    scenarios = load_scenarios(args.scenarios)
    kb, tmp = temp_knowledge_base(action_catalog=args.knowledge / "actions" / "catalog.yaml")
    try:
        kb.ingest([args.knowledge])
        kb.ingest([s.path / "logs" for s in scenarios if (s.path / "logs").is_dir()])
        catalog = load_catalog(kb.settings.action_catalog)
        offline = Triage(kb.settings, kb, catalog)
        alerts = {s.name: load_alert_file(s.path / "alert.json")[0] for s in scenarios}
        for alert in list(alerts.values())[:2]:
            offline.diagnose(alert)  # warm caches
        latencies = []
        for _ in range(3):
            for alert in alerts.values():
                started = time.perf_counter()
                offline.diagnose(alert)
                latencies.append((time.perf_counter() - started) * 1000)

        per_scenario: list[dict[str, object]] = []
        ratios: list[float] = []
        for scenario in scenarios:
            alert = alerts[scenario.name]
            ours = _tokens_ours(kb, catalog, alert)
            naive = _tokens_naive(kb, alert)
            ratio = round(ours / naive, 3) if naive else 0.0
            ratios.append(ratio)
            per_scenario.append(
                {"scenario": scenario.name, "opsagent_tokens": ours, "naive_tokens": naive, "ratio": ratio}
            )
    finally:
        kb.close()
        tmp.cleanup()
    emit(
        "triage",
        {
            "benchmark": "triage",
            "scenarios": len(scenarios),
            "offline_ms_p50": round(percentile(latencies, 50), 1),
            "offline_ms_p95": round(percentile(latencies, 95), 1),
            "offline_target_ms": 300,
            "tokens_total_opsagent": sum(p["opsagent_tokens"] for p in per_scenario),
            "tokens_total_naive": sum(p["naive_tokens"] for p in per_scenario),
            "token_ratio_median": round(percentile(ratios, 50), 3),
            "token_ratio_max": round(max(ratios), 3),
            "token_ratio_target": 0.2,
            "per_scenario": per_scenario,
        },
    )


def _llm_settings(kb: KnowledgeBase, server: FakeOpenAIServer) -> Settings:
    return kb.settings.model_copy(
        update={
            "llm_base_url": server.base_url,
            "llm_api_key": SecretStr("bench"),
            "llm_model": "fake",
            "llm_max_attempts": 1,
        }
    )


def _tokens_ours(kb: KnowledgeBase, catalog: ActionCatalog, alert: Alert) -> int:
    with FakeOpenAIServer([call("search_logs", query=alert.name), ANSWER]) as server:
        settings = _llm_settings(kb, server)
        Triage(settings, kb, catalog, build_chat_model(settings)).diagnose(alert)
        return server.prompt_tokens_received


def _tokens_naive(kb: KnowledgeBase, alert: Alert) -> int:
    """Alert + all related log lines in the window + top-5 runbooks in full, in one request."""
    anchor = alert.starts_at.timestamp() if alert.starts_at else time.time()
    lines = kb.search_log_lines(
        None, service=alert.service, since=anchor - 3600, until=anchor + 900, limit=100_000
    )
    if not lines:
        lines = kb.search_log_lines(None, since=anchor - 3600, until=anchor + 900, limit=100_000)
    runbooks = kb.search(f"{alert.name} {alert.summary}", 5, SearchFilters(kind=DocumentKind.RUNBOOK))
    texts = []
    for hit in runbooks:
        path = Path(hit.root) / hit.source
        texts.append(path.read_text(encoding="utf-8", errors="replace") if path.is_file() else hit.snippet)
    prompt = "\n\n".join(
        [
            "Alert:\n" + alert.model_dump_json(exclude={"raw"}),
            "Logs:\n" + "\n".join(line.text for line in lines),
            "Runbooks:\n" + "\n\n".join(texts),
        ]
    )
    with FakeOpenAIServer([ANSWER]) as server:
        settings = _llm_settings(kb, server)
        model = build_chat_model(settings)
        assert model is not None
        model.invoke([SystemMessage("You are an SRE. Diagnose the incident."), HumanMessage(prompt)])
        return server.prompt_tokens_received


if __name__ == "__main__":
    main()
