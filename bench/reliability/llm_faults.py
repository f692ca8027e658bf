"""LLM faults: the real worker triages incidents through the real ChatOpenAI wire path while the fake
OpenAI-compatible server fails 30% of calls (seeded): 429, 500, timeouts, malformed JSON, tool calls
whose arguments are not JSON, an answer cut off mid-way. Every incident must still end with exactly one
diagnosis (the LLM's, or the offline one marked with its fallback reason); none stuck, no job failed.

Chat turns (the streaming path) run under the same faults: each must end with an answer or a clean,
caught error, never hang.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from sqlalchemy import select

from bench.common import REPO
from bench.http_load import TEMPLATE
from opsagent.actions.catalog import load_catalog
from opsagent.agent.models import build_chat_model
from opsagent.agent.triage import Triage
from opsagent.api.app import create_app
from opsagent.api.services import Services
from opsagent.api.tokens import Scope
from opsagent.config import Settings
from opsagent.incidents.db import create_db_engine, read_only, upgrade
from opsagent.incidents.store import IncidentStore
from opsagent.incidents.tables import diagnoses, incidents
from opsagent.incidents.worker import Worker
from opsagent.integrations.alertmanager import parse_alertmanager
from opsagent.knowledge.base import KnowledgeBase
from opsagent.testing import FakeOpenAIServer, ScriptedToolCall
from opsagent.testing.fake_openai import Chaos, ServerReply

RUNBOOK = """---
title: Pod crash looping
service: payments-api
alerts: [KubePodCrashLooping]
actions: [restart_deployment, increase_memory_limit]
---
# Pod crash looping

## Diagnosis
Check `kubectl describe pod` for `OOMKilled` and the container's exit code (137 is the OOM killer).

## Mitigation
Raise the memory limit (`increase_memory_limit`) or restart the deployment.
"""
ANSWER = {
    "summary": "payments-api is OOM-killed",
    "probable_root_cause": "The container exceeds its memory limit and is OOM-killed (exit 137).",
    "confidence": {"value": 0.7, "reason": "OOMKilled lines in the window"},
    "evidence": [{"citation": "logs/payments-api.log:L1-L40", "excerpt": "OOMKilled"}],
    "next_steps": ["Take a heap profile of one pod before it dies"],
    "proposed_actions": [
        {
            "action_id": "increase_memory_limit",
            "parameters": {"namespace": "payments", "deployment": "payments-api"},
            "why": "the limit is too low",
        }
    ],
}


def write_corpus(root: Path) -> Path:
    """A small knowledge base: one runbook, one log of OOM kills around the sample alert."""
    (root / "runbooks").mkdir(parents=True, exist_ok=True)
    (root / "logs").mkdir(parents=True, exist_ok=True)
    (root / "runbooks" / "crashloop.md").write_text(RUNBOOK)
    lines = [
        f"2026-11-20T03:{m:02d}:{s:02d}Z ERROR payments-api container payments-api OOMKilled exit code 137"
        for m in range(0, 15)
        for s in (10, 40)
    ]
    lines += [f"2026-11-20T03:{m:02d}:05Z INFO payments-api request ok id={m}" for m in range(0, 15)]
    (root / "logs" / "payments-api.log").write_text("\n".join(sorted(lines)) + "\n")
    return root


def responder(body: dict[str, Any]) -> ServerReply:
    """A cooperative model: one tool call, then the answer (also for the no-tools repair request)."""
    messages = body.get("messages") or []
    if not body.get("tools") or any(m.get("role") == "tool" for m in messages):
        return json.dumps(ANSWER)
    if body.get("stream"):  # chat: answer in text after one tool call
        return ScriptedToolCall("search_runbooks", {"query": "crash looping OOMKilled"})
    return ScriptedToolCall("log_lines", {"keywords": "OOMKilled", "service": "payments-api"})


def _alert_body(i: int) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(TEMPLATE.read_text())
    body["alerts"][0]["fingerprint"] = f"llmfault{i:05d}"
    body["alerts"][0]["labels"]["pod"] = f"payments-api-7d4b9c6f8-{i:05d}"
    return body


def run_llm_faults(
    incidents_count: int = 40, chat_turns: int = 10, rate: float = 0.3, seed: int = 3
) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="opsagent-reliability-llm-"))
    chaos = Chaos(rate=rate, seed=seed)
    try:
        with FakeOpenAIServer(responder=responder, chaos=chaos) as server:
            settings = Settings(
                data_dir=workdir / "data",
                action_catalog=REPO / "knowledge" / "actions" / "catalog.yaml",
                llm_base_url=server.base_url,
                llm_api_key=SecretStr("reliability-key"),
                llm_model="fake",
                llm_timeout_seconds=1.0,
                llm_max_attempts=4,
                llm_retry_budget_seconds=20,
                job_lease_seconds=30,
            )
            kb = KnowledgeBase(settings)
            engine = create_db_engine(settings)
            try:
                kb.ingest([write_corpus(workdir / "kb")])
                upgrade(engine)
                store = IncidentStore(engine, lease_seconds=30, max_attempts=3)
                for i in range(incidents_count):
                    store.record_delivery("alertmanager", parse_alertmanager(_alert_body(i)))
                catalog = load_catalog(settings.action_catalog)
                worker = Worker(
                    settings, store, lambda: Triage(settings, kb, catalog, build_chat_model(settings))
                )
                started = time.perf_counter()
                runs = 0
                # Bounded: every job either finishes or is retried at most max_attempts times.
                while runs < incidents_count * 4 and worker.run_once():
                    runs += 1
                triage_seconds = time.perf_counter() - started
                check = _verify(store)
                chat = _chat(settings, kb, chat_turns)
            finally:
                engine.dispose()
                kb.close()
            requests = len(server.requests)
            handler_errors = list(server.errors)
        figures = {
            "incidents_without_diagnosis": check["without_diagnosis"],
            "incidents_triaged_twice": check["twice"],
            "stuck": check["stuck"],
            "failed_jobs": check["queue"]["failed"],
            "chat_turns_hung_or_crashed": chat["crashed"],
        }
        return {
            "figures": figures,
            "passed": all(v == 0 for v in figures.values()) and not handler_errors,
            "incidents": incidents_count,
            "llm_requests": requests,
            "faults_injected": dict(chaos.injected),
            "fault_share": round(sum(chaos.injected.values()) / max(1, requests), 3),
            "modes": check["modes"],
            "fallback_reasons": check["fallback_reasons"],
            "job_runs": runs,
            "triage_wall_s": round(triage_seconds, 1),
            "chat": chat,
            "fake_server_errors": handler_errors[:5],
        }
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _verify(store: IncidentStore) -> dict[str, Any]:
    with read_only(store.engine) as connection:
        rows = connection.execute(select(incidents.c.id, incidents.c.triage_status)).all()
        stored = connection.execute(select(diagnoses.c.incident_id, diagnoses.c.diagnosis)).all()
    per_incident = Counter(i for i, _ in stored)
    modes = Counter(str(d.get("mode")) for _, d in stored)
    reasons = Counter(str(d.get("fallback_reason") or "")[:60] for _, d in stored if d.get("fallback_reason"))
    return {
        "without_diagnosis": sum(1 for i, _ in rows if per_incident[i] == 0),
        "twice": sum(1 for i, _ in rows if per_incident[i] > 1),
        "stuck": sum(1 for _, status in rows if status != "done"),
        "queue": store.queue.depth(),
        "modes": dict(modes),
        "fallback_reasons": dict(reasons.most_common(8)),
    }


def _chat(settings: Settings, kb: KnowledgeBase, turns: int) -> dict[str, Any]:
    """Chat turns through the real API (POST /v1/chat and /v1/chat/stream, alternately) under the same
    faults: answered, failed cleanly (a 4xx/503 or an in-band `error` event), or crashed (5xx, hang)."""
    return asyncio.run(_chat_turns(settings, kb, turns))


async def _chat_turns(settings: Settings, kb: KnowledgeBase, turns: int) -> dict[str, Any]:
    services = Services.build(settings, chat_model=build_chat_model(settings))
    services._kb = kb  # share the ingested knowledge base (the app would open its own)
    app = create_app(settings, services, run_worker=False)
    token, _ = services.tokens.create("reliability-chat", [Scope.CHAT])
    outcomes: Counter[str] = Counter()
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url="http://opsagent.test", headers=headers, timeout=120
        ) as client:
            for n in range(turns):
                stream = n % 2 == 1
                path = "/v1/chat/stream" if stream else "/v1/chat"
                try:
                    response = await client.post(path, json={"message": "Why is payments-api crash looping?"})
                except Exception as exc:  # the app raised through the transport: a crash
                    outcomes[f"crashed: {exc.__class__.__name__}"] += 1
                    continue
                if response.status_code >= 500 and response.status_code != 503:
                    outcomes[f"crashed: HTTP {response.status_code}"] += 1
                elif response.status_code != 200:
                    outcomes[f"refused: HTTP {response.status_code}"] += 1
                elif stream and "event: error" in response.text:
                    outcomes["stream error event"] += 1
                else:
                    outcomes["answered"] += 1
    finally:
        services._kb = None  # closed by the caller
        services.close()
    crashed = sum(n for kind, n in outcomes.items() if kind.startswith("crashed"))
    return {"turns": turns, "crashed": crashed, "outcomes": dict(outcomes)}


if __name__ == "__main__":  # pragma: no cover - python -m bench.reliability.llm_faults [N]
    import sys

    print(json.dumps(run_llm_faults(int(sys.argv[1]) if len(sys.argv) > 1 else 10), indent=2, default=str))
