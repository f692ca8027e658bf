"""PagerDuty V3 webhook (one event per delivery) -> normalised alerts.

`{"event": {"id", "event_type", "resource_type", "occurred_at", "agent", "client", "data"}}`, where `data`
is the incident for incident.* events (developer.pagerduty.com, Webhooks V3 overview). Only a triggered
or reopened incident (firing) and a resolved one (resolved) are alerts; every other event (pagey.ping,
incident.acknowledged, incident.annotated, service.*, ...) is valid but nothing to triage.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from opsagent.incidents.models import Alert, AlertStatus
from opsagent.integrations.alertmanager import parse_timestamp, rejected_as_parse_error
from opsagent.integrations.errors import AlertParseError, describe_validation_error
from opsagent.integrations.opsgenie import severity_of_priority
from opsagent.knowledge.links import is_link_key

SOURCE = "pagerduty"
EVENT_STATUS = {
    "incident.triggered": AlertStatus.FIRING,
    "incident.reopened": AlertStatus.FIRING,
    "incident.resolved": AlertStatus.RESOLVED,
}
URGENCY_SEVERITY = {"high": "critical", "low": "warning"}
# Alert.name's limit; PagerDuty titles may be up to 1024 characters (the full title stays the summary).
MAX_NAME_LENGTH = 500


class PagerDutyReference(BaseModel):
    """A `*_reference` object (service, priority, ...): only its summary is used."""

    model_config = ConfigDict(extra="allow")

    id: str | None = None
    summary: str | None = None
    html_url: str | None = None


class PagerDutyIncidentBody(BaseModel):
    """`data.body`, when PagerDuty includes it."""

    model_config = ConfigDict(extra="allow")

    details: str | dict[str, Any] | None = None


class PagerDutyIncident(BaseModel):
    """`event.data` of an incident.* event."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(min_length=1)
    type: str | None = None
    title: str | None = None
    number: int | None = None
    status: str | None = None
    html_url: str | None = None
    incident_key: str | None = None
    created_at: str | None = None
    urgency: str | None = None
    service: PagerDutyReference | None = None
    priority: PagerDutyReference | None = None
    body: PagerDutyIncidentBody | None = None


class PagerDutyEvent(BaseModel):
    """`event`: the envelope; `data` is validated only for the event types that become alerts."""

    model_config = ConfigDict(extra="allow")

    id: str | None = None
    event_type: str = Field(min_length=1)
    resource_type: str | None = None
    occurred_at: str | None = None
    agent: dict[str, Any] | None = None
    client: dict[str, Any] | None = None
    data: Any = None


class PagerDutyWebhook(BaseModel):
    """The webhook body."""

    model_config = ConfigDict(extra="allow")

    event: PagerDutyEvent


class PagerDutyIncidentEvent(PagerDutyEvent):
    """`event` of an incident.* event that becomes an alert."""

    data: PagerDutyIncident


class PagerDutyIncidentWebhook(BaseModel):
    """The body of an incident.* event, validated again so errors name `event.data.<field>`."""

    model_config = ConfigDict(extra="allow")

    event: PagerDutyIncidentEvent


def parse_pagerduty(body: Any) -> list[Alert]:
    """The incident of one PagerDuty V3 delivery as an alert, or [] for events that are not alerts."""
    try:
        webhook = PagerDutyWebhook.model_validate(body)
    except ValidationError as exc:
        raise AlertParseError(f"Not a valid PagerDuty V3 webhook: {describe_validation_error(exc)}") from exc
    status = EVENT_STATUS.get(webhook.event.event_type)
    if status is None:
        return []
    try:
        event = PagerDutyIncidentWebhook.model_validate(body).event
    except ValidationError as exc:
        detail = describe_validation_error(exc)
        raise AlertParseError(f"Not a valid PagerDuty {webhook.event.event_type} event: {detail}") from exc
    incident = event.data
    occurred_at = parse_timestamp(event.occurred_at, "event.occurred_at")
    title = incident.title or ""
    name = title[:MAX_NAME_LENGTH] or f"PagerDuty incident {incident.number or incident.id}"
    labels = {"pagerduty_incident_id": incident.id}
    service = incident.service.summary if incident.service and incident.service.summary else None
    priority = incident.priority.summary if incident.priority and incident.priority.summary else None
    optional = {
        "service": service,
        "urgency": incident.urgency,
        "priority": priority,
        "pagerduty_incident_number": str(incident.number) if incident.number is not None else None,
        "pagerduty_event_type": event.event_type,
    }
    labels.update({key: value for key, value in optional.items() if value})
    annotations = {"summary": title or name}
    if incident.html_url:
        annotations["html_url"] = incident.html_url
    description = _description(incident.body)
    if description:
        annotations["description"] = description
    # A runbook link among the custom details (`runbook_url`, ...) stays a link triage can follow.
    details = incident.body.details if incident.body else None
    if isinstance(details, dict):
        annotations.update({k: v for k, v in details.items() if isinstance(v, str) and is_link_key(k)})
    with rejected_as_parse_error("event.data"):
        alert = Alert(
            name=name,
            status=status,
            severity=severity_of_priority(priority) or URGENCY_SEVERITY.get((incident.urgency or "").lower()),
            service=service,
            labels=labels,
            annotations=annotations,
            # A reopened incident is a new firing episode: it starts when it was reopened, not created
            # (with created_at the store would take it for a late copy of the resolved episode).
            starts_at=(occurred_at if event.event_type == "incident.reopened" else None)
            or parse_timestamp(incident.created_at, "event.data.created_at")
            or occurred_at,
            ends_at=occurred_at if status is AlertStatus.RESOLVED else None,
            fingerprint=f"pagerduty-{incident.id}",
            source=SOURCE,
            raw=body if isinstance(body, dict) else webhook.model_dump(),
        )
    return [alert]


def _description(body: PagerDutyIncidentBody | None) -> str | None:
    if body is None or not body.details:
        return None
    if isinstance(body.details, str):
        return body.details
    return json.dumps(body.details, sort_keys=True, ensure_ascii=False)
