"""`triage FILE` / `eval`'s alert.json: any body the API accepts, told apart by its shape.

The bodies in tests/fixtures/payloads are the senders' published samples (see the README there).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from opsagent.cli import app
from opsagent.incidents.models import AlertStatus
from opsagent.integrations.detect import detect_source, parse_detected
from opsagent.integrations.errors import AlertParseError
from opsagent.integrations.generic import load_alert_file

PAYLOADS = Path(__file__).parent / "fixtures" / "payloads"
REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("name", "source", "alert_name", "status"),
    [
        ("am_docsrs_sample.json", "alertmanager", "ProbeFailure", AlertStatus.FIRING),
        ("am_gist_sample.json", "alertmanager", "Test", AlertStatus.FIRING),
        ("grafana_doc.json", "grafana", "High memory usage", AlertStatus.FIRING),
        ("pd_triggered.json", "pagerduty", None, AlertStatus.FIRING),
        ("pd_resolved.json", "pagerduty", None, AlertStatus.RESOLVED),
        ("og_create.json", "opsgenie", "test alert", AlertStatus.FIRING),
        ("og_close.json", "opsgenie", "test alert", AlertStatus.RESOLVED),
    ],
)
def test_published_samples_load_as_their_sender_parses_them(
    name: str, source: str, alert_name: str | None, status: AlertStatus
) -> None:
    body = json.loads((PAYLOADS / name).read_text())
    assert detect_source(body) == source
    alerts = load_alert_file(PAYLOADS / name)
    assert alerts and alerts[0].source == source and alerts[0].status is status
    if alert_name is not None:
        assert alerts[0].name == alert_name
    # The same alert the webhook endpoint of that sender would store.
    assert parse_detected(body)[1] == alerts


def test_pagerduty_sample_is_named_from_the_incident_title() -> None:
    body = json.loads((PAYLOADS / "pd_triggered.json").read_text())
    alert = load_alert_file(PAYLOADS / "pd_triggered.json")[0]
    assert alert.name == body["event"]["data"]["title"]
    assert alert.fingerprint == f"pagerduty-{body['event']['data']['id']}"


def test_grafana_links_are_kept_as_annotations() -> None:
    alert = load_alert_file(PAYLOADS / "grafana_doc.json")[0]
    assert alert.annotations["runbook_url"] == "https://myrunbook.com/runbook/1234"
    assert alert.annotations["silence_url"].startswith("https://")


def test_the_demo_alert_and_a_generic_alert_still_load(tmp_path: Path) -> None:
    assert load_alert_file(REPO / "knowledge/alerts/payments-oom.json")[0].source == "alertmanager"
    generic = tmp_path / "generic.json"
    generic.write_text(json.dumps({"alertname": "DiskFull", "labels": {"service": "db"}}))
    alert = load_alert_file(generic)[0]
    assert (alert.name, alert.service, alert.source) == ("DiskFull", "db", "generic")


@pytest.mark.parametrize("name", ["pd_priority_updated.json", "og_ack.json"])
def test_valid_events_that_are_not_alerts_say_so(name: str) -> None:
    with pytest.raises(AlertParseError, match="nothing to triage") as caught:
        load_alert_file(PAYLOADS / name)
    assert ("incident.priority_updated" in str(caught.value)) or ("Acknowledge" in str(caught.value))


@pytest.mark.parametrize("content", ["", "  \n\t\n"])
def test_an_empty_file_says_empty(tmp_path: Path, content: str) -> None:
    path = tmp_path / "alert.json"
    path.write_text(content)
    with pytest.raises(AlertParseError, match=r"alert\.json is empty: expected an Alertmanager"):
        load_alert_file(path)


def test_an_unknown_shape_names_what_was_expected_and_the_keys_seen(tmp_path: Path) -> None:
    path = tmp_path / "alert.json"
    path.write_text(json.dumps({"incident": {"title": "x"}, "foo": 1}))
    with pytest.raises(AlertParseError) as caught:
        load_alert_file(path)
    message = str(caught.value)
    assert "Alertmanager" in message and "PagerDuty" in message and "Opsgenie" in message
    assert "found keys 'foo', 'incident'" in message
    assert "\n" not in message


def test_a_list_or_scalar_says_an_object_was_expected(tmp_path: Path) -> None:
    path = tmp_path / "alert.json"
    path.write_text("[1, 2]")
    with pytest.raises(AlertParseError, match="Expected a JSON object.*found a JSON list of 2 item"):
        load_alert_file(path)


def test_a_known_shape_with_a_bad_field_keeps_the_parser_error(tmp_path: Path) -> None:
    path = tmp_path / "alert.json"
    path.write_text(json.dumps({"event": {"event_type": "incident.triggered", "data": {}}}))
    with pytest.raises(AlertParseError, match=r"event\.data"):
        load_alert_file(path)


def test_triage_cli_reports_an_empty_file_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "alert.json"
    path.write_text("")
    result = CliRunner().invoke(app, ["triage", str(path)], env={"OPSAGENT_DATA_DIR": str(tmp_path / "d")})
    assert result.exit_code != 0
    assert isinstance(result.exception, AlertParseError) and "is empty" in str(result.exception)
