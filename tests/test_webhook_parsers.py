"""Webhook parsers for Grafana, PagerDuty V3 and Opsgenie: samples, ignored events, errors, fuzzing."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsagent.incidents.models import Alert, AlertStatus
from opsagent.integrations.errors import AlertParseError
from opsagent.integrations.grafana import parse_grafana
from opsagent.integrations.opsgenie import parse_opsgenie
from opsagent.integrations.pagerduty import parse_pagerduty

# --- Grafana ----------------------------------------------------------------------------------------

# The shape of grafana.com's "Webhook JSON payload" example (alerting, webhook notifier).
GRAFANA_FIRING: dict[str, Any] = {
    "receiver": "opsagent",
    "status": "firing",
    "orgId": 1,
    "alerts": [
        {
            "status": "firing",
            "labels": {
                "alertname": "High memory usage",
                "team": "blue",
                "zone": "us-1",
                "service": "checkout",
            },
            "annotations": {
                "description": "The system has high memory usage",
                "runbook_url": "https://runbooks.example.com/memory",
                "summary": "This alert was triggered for zone us-1",
            },
            "startsAt": "2021-10-12T09:51:03.157076+02:00",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "https://grafana.example.com/alerting/1afz29v7z/edit",
            "fingerprint": "c6eadffa33fcdf37",
            "silenceURL": "https://grafana.example.com/alerting/silence/new?matchers=alertname%3DT2",
            "dashboardURL": "",
            "panelURL": "",
            "values": {"B": 44.23943737541908, "C": 1},
            "valueString": "[ var='B' labels={} value=44.2 ], [ var='C' labels={} value=1 ]",
        },
        {
            "status": "firing",
            "labels": {"alertname": "High CPU usage", "team": "blue", "zone": "eu-1"},
            "annotations": {"summary": "This alert was triggered for zone eu-1"},
            "startsAt": "2021-10-12T09:56:03.157076+02:00",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "https://grafana.example.com/alerting/d1rdpdv7k/edit",
            "fingerprint": "bc97ff14869b13e3",
            "silenceURL": "https://grafana.example.com/alerting/silence/new?matchers=alertname%3DT1",
            "dashboardURL": "https://grafana.example.com/d/abc",
            "panelURL": "https://grafana.example.com/d/abc?viewPanel=2",
            "values": None,
        },
    ],
    "groupLabels": {},
    "commonLabels": {"team": "blue", "severity": "warning"},
    "commonAnnotations": {},
    "externalURL": "https://grafana.example.com/",
    "version": "1",
    "groupKey": "{}:{}",
    "truncatedAlerts": 0,
    "title": "[FIRING:2]  (blue)",
    "state": "alerting",
    "message": "**Firing**\n\nLabels:\n - alertname = T2\n",
}


def test_grafana_firing() -> None:
    memory, cpu = parse_grafana(GRAFANA_FIRING)
    assert (memory.name, memory.status, memory.severity, memory.service, memory.source) == (
        "High memory usage",
        AlertStatus.FIRING,
        "warning",
        "checkout",
        "grafana",
    )
    assert memory.fingerprint == "c6eadffa33fcdf37" and memory.labels["team"] == "blue"
    assert memory.starts_at == datetime(2021, 10, 12, 7, 51, 3, 157076, tzinfo=UTC)
    assert memory.ends_at is None  # the zero time: still firing
    assert memory.annotations["silence_url"].endswith("T2")
    assert memory.annotations["value_string"].startswith("[ var='B'")
    assert "dashboard_url" not in memory.annotations  # empty strings are not annotations
    assert memory.raw["values"] == {"B": 44.23943737541908, "C": 1}
    assert cpu.annotations["panel_url"].endswith("viewPanel=2") and cpu.service is None


def test_grafana_resolved_and_annotation_precedence() -> None:
    body = copy.deepcopy(GRAFANA_FIRING)
    body["status"] = "resolved"
    body["alerts"] = body["alerts"][:1]
    body["alerts"][0].update(status="resolved", endsAt="2021-10-12T10:30:00+02:00")
    body["alerts"][0]["annotations"]["silence_url"] = "set by the rule"
    (alert,) = parse_grafana(body)
    assert alert.status is AlertStatus.RESOLVED and alert.ends_at is not None
    assert alert.annotations["silence_url"] == "set by the rule"


def test_grafana_test_notification_and_unknown_fields() -> None:
    body = {
        "receiver": "test",
        "status": "firing",
        "orgId": 1,
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "TestAlert", "instance": "Grafana"},
                "annotations": {"summary": "Notification test"},
                "startsAt": "2026-11-20T03:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "fingerprint": "57c6d9296de2ad39",
                "futureAlertField": {"nested": [1, 2]},
            }
        ],
        "version": "1",
        "groupKey": "test-57c6d9296de2ad39-1700000000",
        "futureTopLevel": True,
    }
    (alert,) = parse_grafana(body)
    assert alert.name == "TestAlert" and alert.raw["futureAlertField"] == {"nested": [1, 2]}
    assert parse_grafana({**body, "alerts": []}) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda b: b.pop("alerts"), "alerts: Field required"),
        (lambda b: b.update(alerts={"a": 1}), "alerts"),
        (lambda b: b["alerts"][0].update(labels=["alertname"]), r"alerts\.0\.labels"),
        (lambda b: b["alerts"][0]["labels"].pop("alertname"), r"alerts\[0\] has no 'alertname'"),
        (lambda b: b["alerts"][1].update(startsAt="soon"), r"alerts\[1\]\.startsAt"),
        (lambda b: b["alerts"][0].update(status="exploding"), r"alerts\.0\.status"),
        (lambda b: b["alerts"][0]["labels"].update(alertname="x" * 501), r"alerts\[0\]: name"),
        (lambda b: b.update(orgId="one"), "orgId"),
    ],
)
def test_grafana_malformed(change: Callable[[dict[str, Any]], object], message: str) -> None:
    body = copy.deepcopy(GRAFANA_FIRING)
    change(body)
    with pytest.raises(AlertParseError, match=message):
        parse_grafana(body)


# --- PagerDuty --------------------------------------------------------------------------------------

# The shape of developer.pagerduty.com's V3 example (Webhooks overview, incident event data).
PD_TRIGGERED: dict[str, Any] = {
    "event": {
        "id": "5ac64822-4adc-4fda-ade0-410becf0de4f",
        "event_type": "incident.triggered",
        "resource_type": "incident",
        "occurred_at": "2020-10-02T18:45:22.169Z",
        "agent": {"id": "PLH1HKV", "summary": "Tenex Engineer", "type": "user_reference"},
        "client": {"name": "PagerDuty"},
        "data": {
            "id": "PGR0VU2",
            "type": "incident",
            "self": "https://api.pagerduty.com/incidents/PGR0VU2",
            "html_url": "https://acme.pagerduty.com/incidents/PGR0VU2",
            "number": 2,
            "status": "triggered",
            "incident_key": "d3640fbd41094207a1c11e58e46b1662",
            "created_at": "2020-04-09T15:16:27Z",
            "title": "A little bump in the road",
            "service": {"id": "PF9KMXH", "summary": "API Service", "type": "service_reference"},
            "assignees": [{"id": "PTUXL6G", "summary": "User 123", "type": "user_reference"}],
            "escalation_policy": {"id": "PUS0KTE", "summary": "Default"},
            "teams": [{"id": "PFCVPS0", "summary": "Engineering", "type": "team_reference"}],
            "priority": {"id": "PSO75BM", "summary": "P1", "type": "priority_reference"},
            "urgency": "high",
            "conference_bridge": {"conference_number": "+1 1234123412,,987654321#"},
            "resolve_reason": None,
        },
    }
}


def _pd(event_type: str = "incident.triggered", **data: Any) -> dict[str, Any]:
    body = copy.deepcopy(PD_TRIGGERED)
    body["event"]["event_type"] = event_type
    body["event"]["data"].update(data)
    return body


def test_pagerduty_triggered() -> None:
    (alert,) = parse_pagerduty(PD_TRIGGERED)
    assert (alert.name, alert.status, alert.severity, alert.service, alert.source) == (
        "A little bump in the road",
        AlertStatus.FIRING,
        "critical",
        "API Service",
        "pagerduty",
    )
    assert alert.fingerprint == "pagerduty-PGR0VU2"
    assert alert.labels["pagerduty_incident_id"] == "PGR0VU2"
    assert (alert.labels["urgency"], alert.labels["priority"], alert.labels["service"]) == (
        "high",
        "P1",
        "API Service",
    )
    assert alert.annotations["summary"] == alert.name
    assert alert.annotations["html_url"] == "https://acme.pagerduty.com/incidents/PGR0VU2"
    assert alert.starts_at == datetime(2020, 4, 9, 15, 16, 27, tzinfo=UTC) and alert.ends_at is None
    assert alert.raw == PD_TRIGGERED


def test_pagerduty_resolved_and_reopened() -> None:
    (resolved,) = parse_pagerduty(_pd("incident.resolved", status="resolved"))
    assert resolved.status is AlertStatus.RESOLVED
    assert resolved.ends_at == datetime(2020, 10, 2, 18, 45, 22, 169000, tzinfo=UTC)
    (reopened,) = parse_pagerduty(_pd("incident.reopened"))
    assert reopened.status is AlertStatus.FIRING and reopened.fingerprint == resolved.fingerprint


@pytest.mark.parametrize(
    "event_type",
    [
        "incident.acknowledged",
        "incident.annotated",
        "incident.priority_updated",
        "service.updated",
        "x.future",
    ],
)
def test_pagerduty_other_events_are_not_alerts(event_type: str) -> None:
    assert parse_pagerduty(_pd(event_type)) == []


def test_pagerduty_ping_is_not_an_alert() -> None:
    ping = {
        "event": {
            "id": "01CCBH5ZS1AWGW1EEZ7Z0TIVUV",
            "event_type": "pagey.ping",
            "resource_type": "pagey",
            "occurred_at": "2021-12-08T22:14:07.413Z",
            "agent": None,
            "client": None,
            "data": {"message": "Hello from your friend Pagey!", "type": "ping"},
        }
    }
    assert parse_pagerduty(ping) == []


def test_pagerduty_fallbacks_and_optional_fields() -> None:
    body = _pd(
        title=None, priority=None, urgency="low", body={"type": "incident_body", "details": "Disk 91% full"}
    )
    body["event"]["data"].pop("created_at")
    body["event"]["futureField"] = 1
    (alert,) = parse_pagerduty(body)
    assert alert.name == "PagerDuty incident 2" and alert.severity == "warning"
    assert "priority" not in alert.labels
    assert alert.annotations["description"] == "Disk 91% full"
    assert alert.starts_at == datetime(2020, 10, 2, 18, 45, 22, 169000, tzinfo=UTC)  # event.occurred_at
    (long,) = parse_pagerduty(_pd(title="t" * 1024))
    assert len(long.name) == 500 and len(long.annotations["summary"]) == 1024
    (structured,) = parse_pagerduty(_pd(body={"details": {"disk": "91%"}}))
    assert json.loads(structured.annotations["description"]) == {"disk": "91%"}
    (p3,) = parse_pagerduty(_pd(priority={"summary": "P3"}, urgency="high"))
    assert p3.severity == "warning"  # the priority, when it is a P-level, wins over urgency


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "event: Field required"),
        ([PD_TRIGGERED], "Not a valid PagerDuty V3 webhook"),
        ({"event": {"data": {}}}, r"event\.event_type"),
        ({"event": {"event_type": "incident.triggered"}}, r"event\.data"),
        (_pd(id=None), r"event\.data\.id"),
        (_pd(number="two"), r"event\.data\.number"),
        (_pd(service="API Service"), r"event\.data\.service"),
        (_pd(created_at="last tuesday"), r"event\.data\.created_at"),
    ],
)
def test_pagerduty_malformed(body: Any, message: str) -> None:
    with pytest.raises(AlertParseError, match=message):
        parse_pagerduty(body)


# --- Opsgenie ---------------------------------------------------------------------------------------

# The shape of docs.opsgenie.com's "Alert action data" example, with description, details and priority.
OG_CREATE: dict[str, Any] = {
    "source": {"name": "web", "type": "API"},
    "alert": {
        "updatedAt": 1420452193166002000,
        "tags": ["env:prod", "region:eu-west-1", "database", "paging"],
        "teams": ["team1"],
        "recipients": ["recipient1"],
        "message": "Replica lag above 30s on orders-db",
        "username": "oncall@example.com",
        "alertId": "052652ac-5d1c-464a-812a-7dd18bbfba8c",
        "source": "prometheus",
        "alias": "orders-db-replica-lag",
        "tinyId": "23",
        "createdAt": 1420452191104,
        "userId": "daed1180-0ce8-438b-8f8e-57e1a5920a2d",
        "entity": "orders-db-2",
        "description": "Replica orders-db-2 is 45s behind its primary.",
        "team": "databases",
        "priority": "P2",
        "details": {"service": "orders-db", "env": "production", "lag_seconds": 45},
    },
    "action": "Create",
    "integrationId": "37c8f316-17c6-49d7-899b-9c7e540c048d",
    "integrationName": "opsagent",
}


def _og(action: str = "Create", **fields: Any) -> dict[str, Any]:
    body = copy.deepcopy(OG_CREATE)
    body["action"] = action
    body["alert"].update(fields)
    return body


def test_opsgenie_create() -> None:
    (alert,) = parse_opsgenie(OG_CREATE)
    assert (alert.name, alert.status, alert.severity, alert.service, alert.source) == (
        "Replica lag above 30s on orders-db",
        AlertStatus.FIRING,
        "high",
        "orders-db",
        "opsgenie",
    )
    assert alert.fingerprint == "opsgenie-orders-db-replica-lag"
    assert alert.labels["region"] == "eu-west-1" and alert.labels["tags"] == "database,paging"
    assert alert.labels["env"] == "production"  # details win over a key:value tag
    assert "lag_seconds" not in alert.labels  # only string details are labels
    assert (alert.labels["priority"], alert.labels["team"]) == ("P2", "databases")
    assert alert.annotations["summary"] == alert.name and alert.annotations["tiny_id"] == "23"
    assert alert.annotations["description"].startswith("Replica orders-db-2")
    assert alert.starts_at == datetime(2015, 1, 5, 10, 3, 11, 104000, tzinfo=UTC)  # epoch milliseconds
    assert alert.ends_at is None and alert.raw == OG_CREATE


def test_opsgenie_close() -> None:
    body = _og("Close", description=None, details=None, priority=None)
    (alert,) = parse_opsgenie(body)
    assert alert.status is AlertStatus.RESOLVED and alert.fingerprint == "opsgenie-orders-db-replica-lag"
    assert alert.ends_at == datetime(2015, 1, 5, 10, 3, 13, 166002, tzinfo=UTC)  # epoch nanoseconds
    assert alert.service == "orders-db-2"  # no details: the entity
    assert alert.severity is None and "priority" not in alert.labels


@pytest.mark.parametrize("action", ["Acknowledge", "AddNote", "Delete", "EscalateToNext", "UnAcknowledge"])
def test_opsgenie_other_actions_are_not_alerts(action: str) -> None:
    assert parse_opsgenie({"action": action, "alert": {"alertId": "x"}}) == []
    assert parse_opsgenie({"action": action}) == []


@pytest.mark.parametrize(
    ("priority", "severity"),
    [("P1", "critical"), ("P2", "high"), ("P3", "warning"), ("P4", "info"), ("p5", "info"), ("Urgent", None)],
)
def test_opsgenie_priority_severity(priority: str, severity: str | None) -> None:
    body = _og(priority=priority)
    body["alert"]["details"].pop("env")
    (alert,) = parse_opsgenie(body)
    assert alert.severity == severity and alert.labels["priority"] == priority


@pytest.mark.parametrize(
    ("created_at", "expected"),
    [
        ("2026-11-20T03:15:00.123Z", datetime(2026, 11, 20, 3, 15, 0, 123000, tzinfo=UTC)),
        ("2026-11-20T04:15:00+01:00", datetime(2026, 11, 20, 3, 15, tzinfo=UTC)),
        (1795144500000, datetime(2026, 11, 20, 3, 15, tzinfo=UTC)),
        ("1795144500000", datetime(2026, 11, 20, 3, 15, tzinfo=UTC)),
        (1795144500, datetime(2026, 11, 20, 3, 15, tzinfo=UTC)),
        (1795144500.5, datetime(2026, 11, 20, 3, 15, 0, 500000, tzinfo=UTC)),
        (None, None),
    ],
)
def test_opsgenie_created_at_forms(created_at: Any, expected: datetime | None) -> None:
    (alert,) = parse_opsgenie(_og(createdAt=created_at))
    assert alert.starts_at == expected


def test_opsgenie_without_alias_and_with_unknown_fields() -> None:
    body = _og(alias=None, tags=None, futureField={"x": 1})
    body["heartbeat"] = {"future": True}
    (alert,) = parse_opsgenie(body)
    assert alert.fingerprint == "opsgenie-052652ac-5d1c-464a-812a-7dd18bbfba8c"
    assert "tags" not in alert.labels and alert.labels["opsgenie_alert_id"] == OG_CREATE["alert"]["alertId"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"alert": {}}, "action: Field required"),
        ("Create", "Not a valid Opsgenie webhook"),
        ({"action": "Create"}, "alert: Field required"),
        (_og(alertId=None), r"alert\.alertId"),
        (_og(message=""), r"alert\.message is missing"),
        (_og(tags="env:prod"), r"alert\.tags"),
        (_og(createdAt=True), r"alert\.createdAt"),
        (_og(createdAt="next week"), r"alert\.createdAt"),
        (_og(createdAt=10**400), r"alert\.createdAt"),
        (_og(details=["service"]), r"alert\.details"),
    ],
)
def test_opsgenie_malformed(body: Any, message: str) -> None:
    with pytest.raises(AlertParseError, match=message):
        parse_opsgenie(body)


# --- Fuzzing: any JSON value gives a list of alerts or an AlertParseError, nothing else --------------

json_leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=True, allow_infinity=True)  # json.loads accepts NaN and Infinity
    | st.text(max_size=20)
    | st.sampled_from(
        ["", "\ud800", "x" * 600, "0001-01-01T00:00:00Z", "2026-11-20T03:00:00Z", "P1", "Create"]
    )
)
json_values = st.recursive(
    json_leaves,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
# Replacements inside a mutated sample: small, since a sample has dozens of places to put one.
small_json_values = st.recursive(
    json_leaves,
    lambda children: (
        st.lists(children, max_size=2) | st.dictionaries(st.text(max_size=8), children, max_size=2)
    ),
    max_leaves=4,
)


@st.composite
def mutated(draw: st.DrawFn, sample: dict[str, Any]) -> Any:
    """`sample` with one to three of its values replaced by arbitrary JSON, dropped, or given a new key."""
    body = copy.deepcopy(sample)
    for path in draw(st.lists(st.sampled_from(list(_paths(sample))), min_size=1, max_size=3)):
        parent = _at(body, path[:-1])
        key = path[-1]
        if not _has(parent, key):
            continue  # an earlier change replaced an ancestor
        choice = draw(st.integers(0, 4))
        if choice == 0:
            del parent[key]
        elif choice == 1 and isinstance(parent[key], dict):
            parent[key][draw(st.text(max_size=8))] = draw(json_values)
        else:
            parent[key] = draw(json_values)
    return body


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, child in items:
        yield (*prefix, key)
        yield from _paths(child, (*prefix, key))


def _has(container: Any, key: Any) -> bool:
    if isinstance(container, dict):
        return key in container
    return isinstance(container, list) and isinstance(key, int) and key < len(container)


def _at(body: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        if not _has(body, key):
            return None
        body = body[key]
    return body


PARSERS: list[tuple[Callable[[Any], list[Alert]], dict[str, Any]]] = [
    (parse_grafana, GRAFANA_FIRING),
    (parse_pagerduty, PD_TRIGGERED),
    (parse_opsgenie, OG_CREATE),
]
PARSER_IDS = ["grafana", "pagerduty", "opsgenie"]


def _only_alerts_or_parse_errors(parser: Callable[[Any], list[Alert]], body: Any) -> None:
    try:
        alerts = parser(body)
    except AlertParseError as exc:
        assert str(exc)
    else:
        assert isinstance(alerts, list) and all(isinstance(alert, Alert) for alert in alerts)


@pytest.mark.parametrize(("parser", "sample"), PARSERS, ids=PARSER_IDS)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzz_arbitrary_json(
    parser: Callable[[Any], list[Alert]], sample: dict[str, Any], data: st.DataObject
) -> None:
    _only_alerts_or_parse_errors(parser, data.draw(json_values))


@pytest.mark.parametrize(("parser", "sample"), PARSERS, ids=PARSER_IDS)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzz_mutated_samples(
    parser: Callable[[Any], list[Alert]], sample: dict[str, Any], data: st.DataObject
) -> None:
    _only_alerts_or_parse_errors(parser, data.draw(mutated(sample)))
