"""The read-only tools' guards (issue 9): kubectl resources and namespaces, http_check URLs and ports, and
a tool that fails for any reason answering the model instead of ending the run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from opsagent.actions.catalog import load_catalog
from opsagent.agent.chat import ChatSession
from opsagent.agent.diagnosis import DiagnosisMode
from opsagent.agent.tools import http_check_allowlist, http_check_url, kubectl_argv
from opsagent.agent.triage import Triage
from opsagent.config import Settings
from opsagent.integrations.generic import parse_alert_payload
from opsagent.knowledge.base import KnowledgeBase
from opsagent.testing import FakeOpenAIServer, ScriptedChatModel, call
from tests.api_support import alertmanager_body, api_settings, running_api
from tests.test_api import run_jobs

REPO = Path(__file__).resolve().parents[1]
ANSWER = json.dumps(
    {
        "summary": "payments-api is OOMKilled",
        "probable_root_cause": "the container exceeds its memory limit",
        "confidence": {"value": 0.5, "reason": "OOMKilled lines"},
    }
)


def _settings(**overrides: Any) -> Settings:
    return Settings(kubectl="kubectl", **overrides)


# -- kubectl: resources ------------------------------------------------------------------------------------

SECRET_SPELLINGS = [
    "secret", "secrets", "secret.", "secrets.", "secrets.v1.", "secret.v1", "secrets.v1", "SECRETS", "Secret",
    " secrets ", "pods,secrets", "secrets,pods", "po,SECRET.v1.", "secret/db-creds", "secrets/db-creds",
    "sealedsecrets.bitnami.com", "externalsecrets.external-secrets.io", "es", "css",
    "vaultstaticsecrets.secrets.hashicorp.com", "secretproviderclasses.secrets-store.csi.x-k8s.io",
    "tokenreviews", "serviceaccounts/token", "pods/../secrets",
]  # fmt: skip


@pytest.mark.parametrize("verb", ["get", "describe"])
@pytest.mark.parametrize("resource", SECRET_SPELLINGS)
def test_no_spelling_of_secrets_gets_through(verb: str, resource: str) -> None:
    with pytest.raises(ValueError, match="off-limits|not a Kubernetes resource|name separately"):
        kubectl_argv(_settings(), verb, resource, None, "payments", 200, ["payments"])


@pytest.mark.parametrize(
    ("resource", "passed"),
    [
        ("pods", "pods"),
        ("Pods", "pods"),
        ("deploy", "deploy"),
        ("deployments.v1.apps", "deployments.v1.apps"),
        ("pods,events", "pods,events"),
        ("all", "all"),
        ("serviceaccounts", "serviceaccounts"),
    ],
)
def test_ordinary_resources_pass_case_folded(resource: str, passed: str) -> None:
    argv = kubectl_argv(_settings(), "get", resource, None, "payments", 200, ["payments"])
    assert argv == ["kubectl", "-n", "payments", "get", passed]


# -- kubectl: namespaces -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("verb", "name", "namespace"),
    [
        ("logs", "vault-0", "vault"),
        ("get", None, "kube-system"),
        ("describe", "coredns-5d78c9869d-4xkzv", "kube-system"),
        ("get", None, "cert-manager"),
        ("get", None, "billing"),  # another team's
        ("get", None, "-A"),
        ("get", None, "--all-namespaces"),
        ("get", None, "*"),
        ("get", None, "all"),
        ("get", None, "Vault"),
    ],
)
def test_namespaces_outside_the_incident_are_refused(verb: str, name: str | None, namespace: str) -> None:
    with pytest.raises(ValueError, match="namespace|not a valid"):
        kubectl_argv(_settings(), verb, "pods", name, namespace, 200, ["payments"])


def test_the_incidents_namespace_is_the_default() -> None:
    argv = kubectl_argv(_settings(), "logs", "pods", "payments-api-0", None, 50, ["payments"])
    assert argv == ["kubectl", "-n", "payments", "logs", "payments-api-0", "--tail=50", "--timestamps"]
    with pytest.raises(ValueError, match="name a namespace"):
        kubectl_argv(_settings(), "get", "pods", None, None, 200, [])  # chat: no incident


def test_an_incident_in_a_credential_namespace_needs_it_configured() -> None:
    with pytest.raises(ValueError, match="holds cluster credentials"):
        kubectl_argv(_settings(), "get", "pods", None, "kube-system", 200, ["kube-system"])
    with pytest.raises(ValueError, match="name a namespace"):
        kubectl_argv(_settings(), "get", "pods", None, None, 200, ["kube-system"])
    allowed = _settings(kubectl_namespaces=["kube-system"])
    assert kubectl_argv(allowed, "get", "pods", None, None, 200, ["kube-system"])[1:3] == [
        "-n",
        "kube-system",
    ]


def test_configured_namespaces_and_the_wildcard() -> None:
    settings = _settings(kubectl_namespaces=["shared", "*"])
    assert kubectl_argv(settings, "get", "pods", None, "shared", 200, [])[1:3] == ["-n", "shared"]
    assert kubectl_argv(settings, "get", "pods", None, "billing", 200, [])[1:3] == ["-n", "billing"]
    with pytest.raises(ValueError, match="holds cluster credentials"):
        kubectl_argv(settings, "get", "pods", None, "vault", 200, [])  # `*` never includes the denied ones
    with pytest.raises(ValueError, match="every namespace"):
        kubectl_argv(settings, "get", "pods", None, "-A", 200, [])


def test_cluster_scoped_resources_need_no_namespace() -> None:
    assert kubectl_argv(_settings(), "describe", "node", "worker-3", None, 200, []) == [
        "kubectl", "describe", "node", "worker-3",
    ]  # fmt: skip
    assert kubectl_argv(_settings(), "get", "nodes", None, "vault", 200, []) == ["kubectl", "get", "nodes"]


# -- kubectl through the loop ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KnowledgeBase]:
    root = tmp_path_factory.mktemp("tool-guards")
    (root / "logs").mkdir()
    (root / "logs" / "payments-api.log").write_text(
        "".join(f"2026-11-20T03:{m:02d}:00Z ERROR payments-api OOMKilled exit code 137\n" for m in range(20))
    )
    settings = Settings(data_dir=root / "data", action_catalog=REPO / "knowledge/actions/catalog.yaml")
    knowledge = KnowledgeBase(settings)
    knowledge.ingest([root / "logs"])
    yield knowledge
    knowledge.close()


def _alert() -> Any:
    labels = {"namespace": "payments", "pod": "payments-api-7d4b9c6f8-x2lqp", "service": "payments-api"}
    return parse_alert_payload(
        {"alertname": "KubePodCrashLooping", "labels": labels, "startsAt": "2026-11-20T03:15:00Z"}
    )[0]


def _triage(kb: KnowledgeBase, model: Any, **overrides: Any) -> Triage:
    settings = kb.settings.model_copy(update=overrides)
    return Triage(settings, kb, load_catalog(settings.action_catalog), model)


def _tool_results(model: ScriptedChatModel) -> list[str]:
    return [str(messages[-1].content) for messages in model.calls[1:]]


def test_a_gullible_model_cannot_read_secrets_or_other_namespaces(kb: KnowledgeBase, tmp_path: Path) -> None:
    fake = tmp_path / "kubectl"
    record = tmp_path / "argv.txt"
    fake.write_text(f'#!/bin/sh\nprintf "%s " "$@" >> {record}\necho >> {record}\necho ok\n')
    fake.chmod(0o755)
    model = ScriptedChatModel(
        [
            call("kubectl", verb="get", resource="secret."),
            call("kubectl", verb="get", resource="secrets.v1.", namespace="payments"),
            call("kubectl", verb="get", resource="pods,secrets"),
            call("kubectl", verb="logs", name="vault-0", namespace="vault"),
            call("kubectl", verb="get", resource="pods", namespace="kube-system"),
            call("kubectl", verb="get", resource="pods"),
            ANSWER,
        ]
    )
    diagnosis = _triage(kb, model, kubectl=str(fake)).diagnose(_alert())
    model.assert_complete()
    results = _tool_results(model)
    assert all(r.startswith("refused") for r in results[:5]), results
    assert "ok" in results[5]
    assert record.read_text().split("\n")[:-1] == ["-n payments get pods "]  # the only call that ran
    assert diagnosis.mode is DiagnosisMode.LLM


def test_the_whole_step_budget_is_usable(kb: KnowledgeBase) -> None:
    """agent_max_steps model calls fit in one run (the graph's recursion limit used to cut it at five)."""
    model = ScriptedChatModel([call("search_logs", query="oom")] * 7 + [ANSWER])
    diagnosis = _triage(kb, model, agent_max_steps=8).diagnose(_alert())
    model.assert_complete()
    assert diagnosis.mode is DiagnosisMode.LLM, diagnosis.fallback_reason


def test_kubectl_output_that_is_not_utf8_is_still_an_answer(kb: KnowledgeBase, tmp_path: Path) -> None:
    fake = tmp_path / "kubectl"
    fake.write_text("#!/bin/sh\nprintf 'pod \\377\\376 OOMKilled\\n'\n")
    fake.chmod(0o755)
    model = ScriptedChatModel([call("kubectl", verb="get", resource="pods"), ANSWER])
    diagnosis = _triage(kb, model, kubectl=str(fake)).diagnose(_alert())
    assert "OOMKilled" in _tool_results(model)[0] and diagnosis.mode is DiagnosisMode.LLM


# -- http_check --------------------------------------------------------------------------------------------

ALLOWED = http_check_allowlist(Settings(http_check_hosts=["status.internal", "127.0.0.1:8080", "[::1]:9090"]))

BAD_URLS = {
    "port not a number": "http://127.0.0.1:abc/",
    "tab": "http://127.0.0.1:8080/\tx",
    "nul": "http://127.0.0.1:8080/\x00",
    "newline": "http://127.0.0.1:8080/a\r\nHost: evil",
    "over-long": "http://127.0.0.1:8080/" + "a" * 5000,
    "long query": "http://127.0.0.1:8080/?" + "q=1&" * 200,
    "userinfo": "http://admin:hunter2@127.0.0.1:8080/",
    "backslash trick": "http://127.0.0.1:8080\\@evil.example/",
    "port not listed": "http://127.0.0.1:22/",
    "default port of a host:port entry": "http://127.0.0.1/",
    "out of range port": "http://127.0.0.1:99999/",
    "other port on a bare host": "http://status.internal:8443/",
    "other host": "http://metadata.internal/latest/meta-data",
    "scheme": "file:///etc/passwd",
    "ftp": "ftp://status.internal/",
    "full-width host": "http://１２７.0.0.1:8080/",
    "empty": "",
}


@pytest.mark.parametrize("url", BAD_URLS.values(), ids=BAD_URLS.keys())
def test_bad_urls_are_refused_with_a_reason(url: str) -> None:
    with pytest.raises(ValueError) as refused:
        http_check_url(url, ALLOWED)
    assert str(refused.value)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/healthz",
        "https://status.internal/",
        "http://status.internal:80/x?y=1",
        "http://STATUS.internal/",
        "http://[::1]:9090/-/ready",
    ],
)
def test_allowed_urls_pass(url: str) -> None:
    assert http_check_url(url, ALLOWED).host.lower() in ALLOWED


@pytest.mark.parametrize("entry", ["127.0.0.1:abc", "http://x/", "a b", "x:0", "x:70000", "[::1]x", ""])
def test_bad_allowlist_entries_are_config_errors(entry: str) -> None:
    with pytest.raises(ValueError, match="http_check_hosts"):
        Settings(http_check_hosts=[entry])


def test_bad_urls_from_the_model_never_end_triage(kb: KnowledgeBase) -> None:
    with FakeOpenAIServer() as target:
        port = httpx.URL(target.base_url).port
        urls = [
            "http://127.0.0.1:abc/",
            "http://127.0.0.1/\t",
            "http://127.0.0.1/\x00",
            "http://127.0.0.1/" + "x" * 10_000,
            f"http://u:p@127.0.0.1:{port}/v1/models",
            "http://127.0.0.1:1/",  # allowed host, port not listed
            f"{target.base_url}/models",
        ]
        model = ScriptedChatModel([*(call("http_check", url=u) for u in urls), ANSWER])
        diagnosis = _triage(kb, model, http_check_hosts=[f"127.0.0.1:{port}"]).diagnose(_alert())
    model.assert_complete()
    results = _tool_results(model)
    assert all(r.startswith("refused") for r in results[:6]), results
    assert "HTTP 200" in results[6]
    assert diagnosis.mode is DiagnosisMode.LLM and diagnosis.fallback_reason is None


def test_any_tool_exception_becomes_a_tool_error(kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(url: str, allowed: object) -> object:
        raise httpx.InvalidURL("something no guard foresaw")

    monkeypatch.setattr("opsagent.agent.tools.http_check_url", explode)
    model = ScriptedChatModel([call("http_check", url="http://127.0.0.1/"), ANSWER])
    diagnosis = _triage(kb, model, http_check_hosts=["127.0.0.1"]).diagnose(_alert())
    assert _tool_results(model)[0].startswith("tool failed: InvalidURL")
    assert diagnosis.mode is DiagnosisMode.LLM


def test_chat_survives_a_bad_url(kb: KnowledgeBase) -> None:
    model = ScriptedChatModel([call("http_check", url="http://127.0.0.1:abc/"), "The URL was refused."])
    settings = kb.settings.model_copy(update={"http_check_hosts": ["127.0.0.1"]})
    events = list(ChatSession(settings, kb, model).ask("is the status page up?"))
    assert "".join(e.text for e in events if e.kind == "text") == "The URL was refused."
    assert str(model.calls[1][-1].content).startswith("refused")


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_api_chat_and_worker_survive_a_bad_url(tmp_path: Path, anyio_backend: str) -> None:
    model = ScriptedChatModel(
        [
            call("http_check", url="http://127.0.0.1/\x00"),
            "The URL was refused.",
            call("http_check", url="http://127.0.0.1:abc/"),
            ANSWER,
        ]
    )
    settings = api_settings(tmp_path, http_check_hosts=["127.0.0.1"], job_max_attempts=1)
    async with running_api(settings, chat_model=model, diagnoser=None) as api:
        api.services.diagnoser_factory = None  # the real Triage over the (empty) knowledge base
        chat = await api.client.post("/v1/chat", json={"message": "status?"}, headers=api.auth("chat"))
        assert chat.status_code == 200 and chat.json()["answer"] == "The URL was refused."
        await api.client.post(
            "/v1/webhooks/alertmanager", json=alertmanager_body(), headers=api.auth("webhook")
        )
        assert run_jobs(api) >= 1
        detail = (await api.client.get("/v1/incidents/1", headers=api.auth("read"))).json()
    assert detail["triage_status"] != "failed", detail
    model.assert_complete()
