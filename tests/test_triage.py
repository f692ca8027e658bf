"""Offline triage over the bundled knowledge base: evidence, citations, actions, no LLM."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsagent.actions.catalog import load_catalog
from opsagent.agent.diagnosis import Diagnosis, DiagnosisMode
from opsagent.agent.entities import alert_entities, parameter_values
from opsagent.agent.proposals import fill_parameters
from opsagent.agent.signatures import load_signatures
from opsagent.agent.triage import Triage
from opsagent.integrations.generic import load_alert_file, parse_alert_payload
from opsagent.knowledge.base import KnowledgeBase

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def triage(demo_kb: KnowledgeBase) -> Triage:
    return Triage(demo_kb.settings, demo_kb, load_catalog(demo_kb.settings.action_catalog))


def test_oom_alert_gets_runbook_logs_signature_and_actions(triage: Triage) -> None:
    alert = load_alert_file(REPO / "knowledge/alerts/payments-oom.json")[0]
    diagnosis = triage.diagnose(alert)
    assert diagnosis.mode is DiagnosisMode.OFFLINE
    assert diagnosis.runbook is not None
    assert diagnosis.runbook.source == "runbooks/kubernetes/pod-oomkilled-crashloop.md"
    assert "memory" in diagnosis.probable_root_cause.lower()
    kinds = {e.kind for e in diagnosis.evidence}
    assert {"runbook", "signature", "log"} <= kinds
    assert all(e.citation.source.startswith(("runbooks/", "logs/")) for e in diagnosis.evidence)
    assert any(e.citation.line_start for e in diagnosis.evidence if e.kind == "log")
    actions = {a.action_id: a for a in diagnosis.proposed_actions}
    assert "increase_memory_limit" in actions
    assert actions["increase_memory_limit"].parameters["namespace"] == "payments"
    assert actions["increase_memory_limit"].parameters["deployment"] == "payments-api"
    assert actions["increase_memory_limit"].missing_parameters == ["memory"]
    assert all(a.mutating for a in diagnosis.proposed_actions)  # read-only ones are next steps
    assert diagnosis.confidence.value > 0.6 and diagnosis.timings["total_ms"] > 0


def test_unknown_alert_says_no_runbook_found(triage: Triage) -> None:
    alert = parse_alert_payload(
        {
            "alertname": "DomainRegistrationExpiring",
            "labels": {"service": "dns-registrar"},
            "annotations": {"summary": "The example.com registration expires in 7 days"},
            "startsAt": "2026-11-20T03:00:00Z",
        }
    )[0]
    diagnosis = triage.diagnose(alert)
    assert diagnosis.runbook is None
    assert diagnosis.proposed_actions == []
    assert diagnosis.confidence.value < 0.5
    assert "no runbook" in diagnosis.confidence.reason


def test_logs_outside_the_window_are_not_evidence(triage: Triage) -> None:
    alert = load_alert_file(REPO / "knowledge/alerts/payments-oom.json")[0]
    later = alert.model_copy(
        update={"starts_at": alert.starts_at.replace(month=12) if alert.starts_at else None}
    )
    diagnosis = triage.diagnose(later)
    assert not [e for e in diagnosis.evidence if e.kind in ("log", "signature")]


def test_diagnosis_json_schema_is_exported() -> None:
    schema = Diagnosis.model_json_schema()
    assert {"summary", "probable_root_cause", "confidence", "evidence", "proposed_actions", "mode"} <= set(
        schema["properties"]
    )


def test_parameters_are_filled_only_when_valid() -> None:
    catalog = load_catalog(REPO / "knowledge/actions/catalog.yaml")
    spec = catalog.get("restart_deployment")
    assert spec is not None
    alert = parse_alert_payload(
        {"alertname": "X", "labels": {"namespace": "Bad Namespace!", "pod": "web-5d8f7c6b9-x2k4q"}}
    )[0]
    parameters, missing = fill_parameters(spec, parameter_values(alert_entities(alert), alert.labels))
    assert parameters == {"deployment": "web"} and missing == ["namespace"]


def test_builtin_signatures_load_and_match() -> None:
    by_id = {s.id: s for s in load_signatures()}
    assert by_id["disk_full"].matches("write /var/lib/data: No space left on device")
    assert by_id["dns_failure"].matches("dial tcp: lookup api.svc.cluster.local: no such host")
    assert not by_id["auth_failed"].matches("user logged in successfully")
    assert by_id["server_errors"].symptom and not by_id["oom_killed"].symptom


def test_spiking_templates_are_evidence(tmp_path: Path) -> None:
    from opsagent.config import Settings

    logs = tmp_path / "logs"
    logs.mkdir()
    lines = []
    for minute in range(60):
        lines += [
            f"2026-11-20T02:{minute:02d}:{s:02d}Z INFO api request ok id={minute * 60 + s}" for s in (0, 30)
        ]
        retries = 1 if minute < 45 else 12  # a background retry storm starting 15 min before the alert
        lines += [
            f"2026-11-20T02:{minute:02d}:{s:02d}Z WARN api retrying upstream call attempt={s}"
            for s in range(retries)
        ]
    (logs / "api.log").write_text("\n".join(lines) + "\n")
    settings = Settings(data_dir=tmp_path / "data", action_catalog=REPO / "knowledge/actions/catalog.yaml")
    kb = KnowledgeBase(settings)
    try:
        kb.ingest([logs])
        alert = parse_alert_payload(
            {"alertname": "ApiSlow", "labels": {"service": "api"}, "startsAt": "2026-11-20T03:00:00Z"}
        )[0]
        found = Triage(settings, kb, load_catalog(settings.action_catalog)).pipeline.gather(alert)
    finally:
        kb.close()
    spiking = [f for f in found.findings if any(r.startswith("spiking") for r in f.reasons)]
    assert len(spiking) == 1 and "retrying upstream call" in spiking[0].template
    assert "180 lines in the last 15 min vs 45 before" in " ".join(spiking[0].reasons)
