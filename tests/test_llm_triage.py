"""LLM triage through the real agent loop (scripted model) and the real HTTP path (fake OpenAI server)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from langchain_core.messages import ToolMessage
from pydantic import SecretStr

from opsagent.actions.catalog import load_catalog
from opsagent.agent.diagnosis import DiagnosisMode
from opsagent.agent.loop import parse_citation
from opsagent.agent.models import build_chat_model
from opsagent.agent.triage import Triage
from opsagent.config import Settings
from opsagent.incidents.models import Alert
from opsagent.integrations.generic import load_alert_file
from opsagent.knowledge.base import KnowledgeBase
from opsagent.testing import FakeOpenAIServer, Fault, ScriptedChatModel, call

REPO = Path(__file__).resolve().parents[1]
ANSWER = {
    "summary": "payments-api pods are OOM-killed by a memory leak",
    "probable_root_cause": "Memory grows to the 2 GiB limit; the kernel OOM-kills the container (exit 137).",
    "confidence": {"value": 0.8, "reason": "41 OOMKilled lines and a steady RSS climb"},
    "evidence": [
        {"citation": "logs/payments-api.log:L1657-L2113", "excerpt": "container exited with code 137"}
    ],
    "next_steps": ["Take a heap profile of one pod before it dies"],
    "proposed_actions": [
        {
            "action_id": "rollback_deployment",
            "parameters": {"namespace": "payments", "deployment": "payments-api"},
            "why": "the leak started with the last release",
        }
    ],
}


@pytest.fixture
def alert() -> Alert:
    return load_alert_file(REPO / "knowledge/alerts/payments-oom.json")[0]


def _triage(kb: KnowledgeBase, model: object, **overrides: object) -> Triage:
    settings = kb.settings.model_copy(update=overrides)
    return Triage(settings, kb, load_catalog(settings.action_catalog), model)  # type: ignore[arg-type]


def test_agent_calls_a_tool_then_answers(demo_kb: KnowledgeBase, alert: Alert) -> None:
    model = ScriptedChatModel(
        [call("log_lines", keywords="OOMKilled", service="payments-api"), json.dumps(ANSWER)]
    )
    diagnosis = _triage(demo_kb, model).diagnose(alert)
    model.assert_complete()
    assert diagnosis.mode is DiagnosisMode.LLM and diagnosis.fallback_reason is None
    assert diagnosis.prompt_version == "triage-v3" and diagnosis.model
    assert diagnosis.summary == ANSWER["summary"]
    assert diagnosis.token_usage.prompt_tokens > 0 and diagnosis.token_usage.completion_tokens > 0
    assert set(model.tool_names(0)) >= {"search_runbooks", "search_logs", "log_lines"}
    tool_result = model.calls[1][-1]
    assert isinstance(tool_result, ToolMessage) and "OOMKilled" in str(tool_result.content)
    assert "<untrusted-data" in str(tool_result.content)
    first_prompt = " ".join(str(m.content) for m in model.calls[0])
    assert "payments-api.log" in first_prompt and "increase_memory_limit" in first_prompt
    assert [a.action_id for a in diagnosis.proposed_actions] == ["rollback_deployment"]
    assert diagnosis.evidence[0].kind == "log" and diagnosis.evidence[0].citation.line_start == 1657
    assert diagnosis.runbook is not None  # the pipeline's runbook stays


def test_invalid_answer_gets_one_repair(demo_kb: KnowledgeBase, alert: Alert) -> None:
    model = ScriptedChatModel(["I think it is memory.", json.dumps(ANSWER)])
    diagnosis = _triage(demo_kb, model).diagnose(alert)
    model.assert_complete()
    assert diagnosis.mode is DiagnosisMode.LLM
    assert "could not be used" in str(model.calls[1][-1].content)


def test_two_invalid_answers_fall_back_offline(demo_kb: KnowledgeBase, alert: Alert) -> None:
    model = ScriptedChatModel(['{"summary": ""}', "still not json"])
    diagnosis = _triage(demo_kb, model).diagnose(alert)
    model.assert_complete()
    assert diagnosis.mode is DiagnosisMode.OFFLINE
    assert diagnosis.fallback_reason and "did not validate" in diagnosis.fallback_reason
    assert diagnosis.prompt_version == "triage-v3"  # says which prompt failed
    assert diagnosis.runbook is not None and diagnosis.proposed_actions


def test_model_cannot_propose_uncatalogued_actions(demo_kb: KnowledgeBase, alert: Alert) -> None:
    answer = {
        **ANSWER,
        "proposed_actions": [
            {"action_id": "rm_rf_slash", "parameters": {}, "why": "clean up"},
            {
                "action_id": "restart_deployment",
                "parameters": {"namespace": "x; rm -rf /", "deployment": "a"},
                "why": "?",
            },
        ],
    }
    model = ScriptedChatModel([json.dumps(answer)])
    diagnosis = _triage(demo_kb, model).diagnose(alert)
    assert [a.action_id for a in diagnosis.proposed_actions] == ["restart_deployment"]
    assert diagnosis.proposed_actions[0].parameters.get("namespace") == "payments"  # the validated fill
    notes = " ".join(diagnosis.next_steps)
    assert "rm_rf_slash" in notes and "not in the action catalog" in notes


def test_step_budget_bounds_the_loop(demo_kb: KnowledgeBase, alert: Alert) -> None:
    model = ScriptedChatModel([call("search_runbooks", query="oom")] * 3 + [json.dumps(ANSWER)])
    diagnosis = _triage(demo_kb, model, agent_max_steps=2).diagnose(alert)
    assert len(model.calls) <= 3  # two agent steps and at most one repair
    assert diagnosis.mode in (DiagnosisMode.LLM, DiagnosisMode.OFFLINE)


def _server_settings(kb: KnowledgeBase, server: FakeOpenAIServer, **overrides: object) -> dict[str, object]:
    return {
        "llm_base_url": server.base_url,
        "llm_api_key": SecretStr("test-key"),
        "llm_model": "fake",
        "llm_timeout_seconds": 2,
        "llm_max_attempts": 3,
        "llm_retry_budget_seconds": 20,
        **overrides,
    }


def test_real_http_path_with_rate_limit_then_success(demo_kb: KnowledgeBase, alert: Alert) -> None:
    with FakeOpenAIServer(
        [Fault.rate_limit(retry_after=0), Fault.server_error(), json.dumps(ANSWER)]
    ) as server:
        settings = demo_kb.settings.model_copy(update=_server_settings(demo_kb, server))
        triage = Triage(settings, demo_kb, load_catalog(settings.action_catalog), build_chat_model(settings))
        diagnosis = triage.diagnose(alert)
        server.assert_complete()
    assert diagnosis.mode is DiagnosisMode.LLM and diagnosis.model == "fake"
    assert len(server.requests) == 3  # one call, retried twice by tenacity (the client's own retries are off)
    assert diagnosis.token_usage.prompt_tokens > 0


@pytest.mark.parametrize(
    ("faults", "reason"),
    [
        ([Fault.server_error()] * 3, "500"),
        ([Fault.slow(5)] * 3, "Timeout"),
        ([Fault.malformed()], "JSONDecodeError"),
    ],
)
def test_real_http_path_falls_back_after_the_retry_budget(
    demo_kb: KnowledgeBase, alert: Alert, faults: list[object], reason: str
) -> None:
    with FakeOpenAIServer(faults) as server:  # type: ignore[arg-type]
        settings = demo_kb.settings.model_copy(
            update=_server_settings(demo_kb, server, llm_timeout_seconds=0.5)
        )
        triage = Triage(settings, demo_kb, load_catalog(settings.action_catalog), build_chat_model(settings))
        diagnosis = triage.diagnose(alert)
    assert diagnosis.mode is DiagnosisMode.OFFLINE
    assert diagnosis.fallback_reason and reason in diagnosis.fallback_reason
    assert diagnosis.runbook is not None


SECRETS = [
    "postgres://app:Sup3rS3cretPw@db.internal:5432/orders",
    "AKIAIOSFODNN7EXAMPLE",
    "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJlX3ZhbHVl",
]


def test_secrets_in_logs_and_runbooks_never_reach_the_llm(tmp_path: Path) -> None:
    kb_dir = tmp_path / "kb"
    (kb_dir / "runbooks").mkdir(parents=True)
    (kb_dir / "logs").mkdir()
    (kb_dir / "runbooks" / "db.md").write_text(
        "---\ntitle: Orders DB connection failures\nalerts: [OrdersDbDown]\n---\n"
        "# Orders DB connection failures\n\n"
        f"## Diagnosis\nConnect with `psql {SECRETS[0]}` and check pg_stat_activity.\n"
        f"The backup job uses key {SECRETS[1]}.\n"
    )
    (kb_dir / "logs" / "orders.log").write_text(
        "".join(
            f"2026-11-20T03:0{i % 10}:00Z ERROR orders connection refused dsn={SECRETS[0]} "
            f"token={SECRETS[2]} "
            f"auth=Bearer {SECRETS[3]}\n"
            for i in range(40)
        )
    )
    settings = Settings(data_dir=tmp_path / "data", action_catalog=REPO / "knowledge/actions/catalog.yaml")
    kb = KnowledgeBase(settings)
    try:
        kb.ingest([kb_dir])
        alert = Alert(
            name="OrdersDbDown",
            service="orders",
            fingerprint="f",
            annotations={"description": f"cannot reach {SECRETS[0]}"},
            starts_at="2026-11-20T03:05:00Z",
        )  # type: ignore[arg-type]
        replies = [call("log_lines", keywords="connection refused"), json.dumps(ANSWER)]
        with FakeOpenAIServer(replies) as server:
            llm_settings = settings.model_copy(update=_server_settings(kb, server))
            Triage(
                llm_settings, kb, load_catalog(settings.action_catalog), build_chat_model(llm_settings)
            ).diagnose(alert)
            sent = json.dumps(server.requests)
            server.assert_complete()
    finally:
        kb.close()
    assert "connection refused" in sent and "[REDACTED:" in sent
    for secret in SECRETS:
        assert secret not in sent
    assert "Sup3rS3cretPw" not in sent


def test_parse_citation_round_trip() -> None:
    assert (
        parse_citation("runbooks/a.md#Diagnosis > Pool (L3-L9)").render()
        == "runbooks/a.md#Diagnosis > Pool (L3-L9)"
    )
    assert parse_citation("logs/x.log:L10-L20").render() == "logs/x.log:L10-L20"
    assert parse_citation("logs/x.log:L7").line_end == 7
    assert parse_citation("runbooks/a.md").render() == "runbooks/a.md"


def test_offline_by_default() -> None:
    assert build_chat_model(Settings()) is None


def test_log_templates_tool_lists_a_services_shapes(demo_kb: KnowledgeBase, alert: Alert) -> None:
    model = ScriptedChatModel(
        [call("log_templates", service="payments-api", minutes_before_alert=120), json.dumps(ANSWER)]
    )
    _triage(demo_kb, model).diagnose(alert)
    result = str(model.calls[1][-1].content)
    assert "OOMKilled" in result and "payments-api.log:L" in result
    model.assert_complete()


def test_kubectl_tool_runs_read_only_argv(demo_kb: KnowledgeBase, alert: Alert, tmp_path: Path) -> None:
    fake = tmp_path / "kubectl"
    record = tmp_path / "argv.txt"
    fake.write_text(
        f'#!/bin/sh\nprintf "%s\\n" "$@" > {record}\necho "payments-api-7d4b9c6f8-x2lqp 0/1 OOMKilled"\n'
    )
    fake.chmod(0o755)
    model = ScriptedChatModel(
        [
            call("kubectl", verb="get", resource="pods", namespace="payments"),
            call("kubectl", verb="delete", resource="pod", name="x", namespace="payments"),
            call("kubectl", verb="get", resource="secrets", namespace="payments"),
            call("kubectl", verb="logs", name="web; rm -rf /", namespace="payments"),
            json.dumps(ANSWER),
        ]
    )
    _triage(demo_kb, model, kubectl=str(fake)).diagnose(alert)
    model.assert_complete()
    results = [str(m.content) for call_messages in model.calls[1:] for m in call_messages[-1:]]
    assert "OOMKilled" in results[0]
    assert record.read_text().split() == ["-n", "payments", "get", "pods"]
    assert "refused" in results[1] and "only get, describe and logs" in results[1]
    assert "refused" in results[2] and "refused" in results[3]


def test_unconfigured_tools_are_not_offered(demo_kb: KnowledgeBase, alert: Alert) -> None:
    model = ScriptedChatModel([json.dumps(ANSWER)])
    _triage(demo_kb, model).diagnose(alert)
    assert not {"kubectl", "http_check", "prometheus_query"} & set(model.tool_names(0))


def test_http_check_only_calls_allowed_hosts(demo_kb: KnowledgeBase, alert: Alert) -> None:
    with FakeOpenAIServer() as target:
        port = target.base_url.split(":")[2].split("/")[0]
        model = ScriptedChatModel(
            [
                call("http_check", url=f"{target.base_url}/models"),
                call("http_check", url="http://metadata.internal/latest/meta-data"),
                json.dumps(ANSWER),
            ]
        )
        _triage(demo_kb, model, http_check_hosts=[f"127.0.0.1:{port}"]).diagnose(alert)
    results = [str(m[-1].content) for m in model.calls[1:]]
    assert "HTTP 200" in results[0]
    assert "refused" in results[1] and "metadata.internal" in results[1]
