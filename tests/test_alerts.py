"""Alert parsing: Alertmanager v4 webhooks and the generic single-alert form."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from opsagent.incidents.models import AlertStatus, fingerprint_of
from opsagent.integrations.errors import AlertParseError
from opsagent.integrations.generic import load_alert_file, parse_alert_payload

REPO = Path(__file__).resolve().parents[1]


def test_alertmanager_webhook() -> None:
    alerts = load_alert_file(REPO / "knowledge/alerts/payments-oom.json")
    assert len(alerts) == 1
    alert = alerts[0]
    assert (alert.name, alert.status, alert.severity, alert.service) == (
        "KubePodCrashLooping",
        AlertStatus.FIRING,
        "critical",
        "payments-api",
    )
    assert alert.labels["namespace"] == "payments"
    assert alert.starts_at is not None and alert.starts_at.isoformat() == "2026-11-20T03:15:00+00:00"
    assert alert.ends_at is None  # Alertmanager's zero time means "still firing"
    assert alert.fingerprint == "5f1c0d8a2b7e4c19" and alert.source == "alertmanager"


def test_alertmanager_tolerates_new_fields_and_merges_common_labels() -> None:
    body = {
        "version": "4",
        "groupKey": "g",
        "truncatedAlerts": 2,
        "status": "resolved",
        "futureField": {"x": 1},
        "commonLabels": {"severity": "warning", "team": "db"},
        "alerts": [
            {
                "status": "resolved",
                "labels": {"alertname": "ReplicaLag", "app": "orders-db"},
                "annotations": {},
                "startsAt": "2026-11-20T03:00:00.123456789Z",
                "endsAt": "2026-11-20T03:30:00Z",
                "newAlertField": True,
            }
        ],
    }
    alert = parse_alert_payload(body)[0]
    assert (
        alert.status is AlertStatus.RESOLVED and alert.severity == "warning" and alert.labels["team"] == "db"
    )
    assert alert.service == "orders-db"
    assert alert.fingerprint == fingerprint_of("ReplicaLag", alert.labels)
    assert alert.ends_at is not None


def test_generic_form() -> None:
    alert = parse_alert_payload(
        {"name": "DiskFull", "labels": {"node": "n1"}, "startsAt": "2026-11-20T03:00:00Z"}
    )[0]
    assert alert.name == "DiskFull" and alert.source == "generic" and alert.status is AlertStatus.FIRING
    assert parse_alert_payload({"labels": {"alertname": "X"}})[0].name == "X"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"labels": {}}, "no name"),
        ({"alertname": "X", "startsAt": "yesterday"}, "RFC 3339"),
        ({"alertname": "X", "status": "exploding"}, "status"),
        ({"groupKey": "g", "alerts": []}, "alerts"),
        ({"groupKey": "g", "alerts": [{"labels": {}}]}, "alertname"),
        (["not", "an", "object"], "valid alert"),
    ],
)
def test_malformed_alerts_are_clear_errors(body: object, message: str) -> None:
    with pytest.raises(AlertParseError, match=message):
        parse_alert_payload(body)


def test_unreadable_alert_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(AlertParseError, match="not valid JSON"):
        load_alert_file(bad)
    with pytest.raises(AlertParseError, match="Cannot read"):
        load_alert_file(tmp_path / "missing.json")
    assert json.loads((REPO / "knowledge/alerts/payments-oom.json").read_text())["version"] == "4"
