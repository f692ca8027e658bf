"""Every fake secret of tests/fixtures/secrets/corpus.yaml, planted everywhere the model can read.

Each secret is put in a log line, a runbook paragraph, an alert's labels/annotations (as the triage prompt
renders them), `kubectl describe` output and `kubectl get -o yaml` output, then sent through `redact_text`
and `redact_messages`: the secret substring must never survive.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from opsagent.agent.redaction import redact, redact_messages, redact_text

CORPUS: list[dict[str, str]] = yaml.safe_load(
    (Path(__file__).parent / "fixtures" / "secrets" / "corpus.yaml").read_text()
)
PREFIX = "2026-11-20T02:00:00.000Z ERROR orders-api orders-api-7d9f8b6c5-x2k4q [worker] "


def in_log(text: str) -> str:
    """One log event; a multi-line one is a message plus unprefixed continuation lines, as stored."""
    if "\n" in text:
        return f"{PREFIX}dumping what the pod sees:\n{text}\n{PREFIX}next event"
    return f"{PREFIX}{text}\n{PREFIX}next event"


def in_log_per_line(text: str) -> str:
    """Every line logged on its own with its own prefix (the red team's PEM case)."""
    return "\n".join(f"{PREFIX}{line}" for line in text.splitlines())


def in_runbook(text: str) -> str:
    return (
        "# Orders API cannot reach its database\n\n## Diagnosis\n\n"
        "Compare the credentials the pod uses with the ones below:\n\n"
        f"```\n{text}\n```\n\nThen restart the deployment with `kubectl rollout restart`.\n"
    )


def in_alert(text: str) -> str:
    """The alert as `render_evidence` puts it in the prompt: JSON with labels and annotations."""
    first = text.splitlines()[0] if text.strip() else text
    return json.dumps(
        {
            "name": "OrdersDbAuthFailing",
            "labels": {"alertname": "OrdersDbAuthFailing", "service": "orders-api", "detail": first},
            "annotations": {"description": text, "runbook_url": "https://runbooks.internal/orders-db"},
        }
    )


def in_describe(text: str) -> str:
    """`kubectl describe pod`: a one-line text as an env value, a longer one as the container's args."""
    head = (
        "Name:         orders-api-7d9f8b6c5-x2k4q\nNamespace:    orders\nContainers:\n  app:\n"
        "    Image:      registry.internal/orders-api:1.42.0\n"
    )
    if "\n" not in text:
        return head + f"    Environment:\n      LOG_LEVEL:  info\n      APP_NOTE:   {text}\n"
    return head + "    Args:\n" + textwrap.indent(text, " " * 6) + "\n    Ready:  True\n"


def in_get_yaml(text: str) -> str:
    """`kubectl get configmap -o yaml` with the text as a block scalar (a ConfigMap's data stays data)."""
    return (
        "apiVersion: v1\ndata:\n  notes.txt: |\n"
        + textwrap.indent(text, " " * 4)
        + "\nkind: ConfigMap\nmetadata:\n  name: orders-notes\n  namespace: orders\n"
    )


PLACES: dict[str, Callable[[str], str]] = {
    "log": in_log,
    "log_per_line": in_log_per_line,
    "runbook": in_runbook,
    "alert": in_alert,
    "describe": in_describe,
    "get_yaml": in_get_yaml,
}
# Planting a manifest one prefixed line at a time destroys the structure that makes it a Secret, and no
# logger writes manifests that way; PEM keys and single lines are planted per line.
STRUCTURED = ("k8s_", "kubeconfig_", "describe_", "yaml_", "wireguard", "putty", "gcp_service", "age_key")


def _cases() -> list[Any]:
    cases = []
    for entry in CORPUS:
        for place in PLACES:
            if place == "log_per_line" and entry["kind"].startswith(STRUCTURED):
                continue
            cases.append(pytest.param(entry, place, id=f"{entry['kind']}-{place}"))
    return cases


def test_the_corpus_is_large_and_distinct() -> None:
    kinds = [e["kind"] for e in CORPUS]
    assert len(kinds) >= 70 and len(set(kinds)) == len(kinds)
    for entry in CORPUS:
        assert entry["secret"] in entry["text"], entry["kind"]
        assert len(entry["secret"]) >= 8, entry["kind"]


@pytest.mark.parametrize(("entry", "place"), _cases())
def test_secret_never_survives(entry: dict[str, str], place: str) -> None:
    planted = PLACES[place](entry["text"])
    result = redact(planted)
    assert entry["secret"] not in result.text, result.text
    assert result.total >= 1
    assert redact_text(result.text) == result.text  # idempotent


@pytest.mark.parametrize("entry", CORPUS, ids=[e["kind"] for e in CORPUS])
def test_secret_never_reaches_the_model(entry: dict[str, str]) -> None:
    """Through `redact_messages`, as every model call sends them: prompt, tool results, tool-call args."""
    messages = [
        HumanMessage(in_alert(entry["text"]) + "\n\n" + in_log(entry["text"])),
        AIMessage(
            content="",
            tool_calls=[{"name": "search_logs", "args": {"query": entry["text"]}, "id": "c1"}],
        ),
        ToolMessage(content=in_describe(entry["text"]), tool_call_id="c1"),
        ToolMessage(content=[{"type": "text", "text": in_get_yaml(entry["text"])}], tool_call_id="c1"),
    ]
    sent = json.dumps([m.model_dump() for m in redact_messages(messages)])
    assert entry["secret"] not in sent
    assert json.dumps(entry["secret"])[1:-1] not in sent
