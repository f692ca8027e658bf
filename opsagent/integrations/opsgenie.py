"""Opsgenie outgoing webhook (the Webhook integration's alert action data) -> normalised alerts.

`{"action": "Create", "alert": {"alertId", "message", "tags", "tinyId", "entity", "alias", "createdAt",
"updatedAt", "username", "description", "team", "priority", "source", "details": {...}}, "source": {...},
"integrationName", ...}` (docs.opsgenie.com, "Alert action data"). A Create is a firing alert and a Close a
resolved one; every other action (Acknowledge, AddNote, Delete, ...) is valid but nothing to triage.
Opsgenie sends description and details only with Create (and custom) actions.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr, ValidationError

from opsagent.incidents.models import Alert, AlertStatus
from opsagent.integrations.alertmanager import parse_timestamp, rejected_as_parse_error
from opsagent.integrations.errors import AlertParseError, describe_validation_error

SOURCE = "opsgenie"
ACTION_STATUS = {"create": AlertStatus.FIRING, "close": AlertStatus.RESOLVED}
PRIORITY_SEVERITY = {"P1": "critical", "P2": "high", "P3": "warning", "P4": "info", "P5": "info"}
MAX_NAME_LENGTH = 500
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
# Opsgenie's createdAt is epoch milliseconds and updatedAt epoch nanoseconds; the magnitude tells which
# unit a number is in (1e11 seconds is the year 5138, 1e11 milliseconds is 1973).
_EPOCH_UNITS = ((1e17, 1e9), (1e14, 1e6), (1e11, 1e3))

EpochOrIso = StrictInt | StrictFloat | StrictStr


class OpsgenieAlert(BaseModel):
    """`alert`: the subset of alert fields Opsgenie sends; unknown fields and nulls are tolerated."""

    model_config = ConfigDict(extra="allow")

    alertId: str = Field(min_length=1)
    message: str | None = None
    tags: list[str] | None = None
    tinyId: str | int | None = None
    entity: str | None = None
    alias: str | None = None
    createdAt: EpochOrIso | None = None
    updatedAt: EpochOrIso | None = None
    username: str | None = None
    userId: str | None = None
    description: str | None = None
    team: str | None = None
    teams: list[str] | None = None
    priority: str | None = None
    source: str | None = None
    details: dict[str, Any] | None = None


class OpsgenieWebhook(BaseModel):
    """The webhook body; `alert` is validated only for the actions that become alerts."""

    model_config = ConfigDict(extra="allow")

    action: str = Field(min_length=1)
    alert: Any = None
    source: dict[str, Any] | None = None
    integrationId: str | None = None
    integrationName: str | None = None


class OpsgenieAlertWebhook(OpsgenieWebhook):
    """The body of a Create or Close action, validated again so errors name `alert.<field>`."""

    alert: OpsgenieAlert


def severity_of_priority(priority: str | None) -> str | None:
    """The severity of an Opsgenie-style priority (P1 critical, P2 high, P3 warning, P4/P5 info)."""
    return PRIORITY_SEVERITY.get((priority or "").strip().upper())


def parse_opsgenie(body: Any) -> list[Alert]:
    """The alert of one Opsgenie webhook delivery, or [] for actions that are not alerts."""
    try:
        webhook = OpsgenieWebhook.model_validate(body)
    except ValidationError as exc:
        raise AlertParseError(f"Not a valid Opsgenie webhook: {describe_validation_error(exc)}") from exc
    status = ACTION_STATUS.get(webhook.action.strip().lower())
    if status is None:
        return []
    try:
        item = OpsgenieAlertWebhook.model_validate(body).alert
    except ValidationError as exc:
        detail = describe_validation_error(exc)
        raise AlertParseError(f"Not a valid Opsgenie {webhook.action} webhook: {detail}") from exc
    # Opsgenie keeps messages as typed (its own sample has " test alert"): the name is one clean line.
    name = " ".join((item.message or "").split())
    if not name:
        raise AlertParseError("alert.message is missing or empty: Opsgenie alerts need a message.")
    labels = _labels(item)
    details = item.details or {}
    service = next((s for s in (details.get("service"), item.entity) if isinstance(s, str) and s), None)
    annotations = {"summary": (item.message or "").strip()}
    optional = {
        "description": item.description,
        "tiny_id": str(item.tinyId) if item.tinyId is not None else None,
        "opsgenie_source": item.source,
        "integration_name": webhook.integrationName,
    }
    annotations.update({key: value for key, value in optional.items() if value})
    starts_at = epoch_or_iso(item.createdAt, "alert.createdAt")
    ends_at = epoch_or_iso(item.updatedAt, "alert.updatedAt") if status is AlertStatus.RESOLVED else None
    with rejected_as_parse_error("alert"):
        alert = Alert(
            name=name[:MAX_NAME_LENGTH],
            status=status,
            severity=severity_of_priority(item.priority) or labels.get("severity"),
            service=service,
            labels=labels,
            annotations=annotations,
            starts_at=starts_at,
            ends_at=ends_at,
            fingerprint=f"opsgenie-{item.alias or item.alertId}",
            source=SOURCE,
            raw=body if isinstance(body, dict) else webhook.model_dump(),
        )
    return [alert]


def epoch_or_iso(value: int | float | str | None, where: str) -> datetime | None:
    """A Unix time (seconds, milliseconds, microseconds or nanoseconds) or an ISO 8601 timestamp."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and not _NUMBER.fullmatch(value.strip()):
        return parse_timestamp(value.strip(), where)
    try:
        number = float(value)
        scale = next((unit for limit, unit in _EPOCH_UNITS if abs(number) >= limit), 1.0)
        return datetime.fromtimestamp(number / scale, tz=UTC)
    except (OverflowError, ValueError, OSError):
        raise AlertParseError(f"{where} is not a Unix time or an ISO 8601 timestamp in range") from None


def _labels(item: OpsgenieAlert) -> dict[str, str]:
    labels: dict[str, str] = {"opsgenie_alert_id": item.alertId}
    plain = []
    for tag in item.tags or []:
        key, _, value = tag.partition(":")
        if key.strip() and value.strip():
            labels[key.strip()] = value.strip()
        elif tag.strip():
            plain.append(tag.strip())
    if plain:
        labels["tags"] = ",".join(plain)
    # Details are set deliberately per alert, so they win over key:value tags of the same key.
    labels.update({key: value for key, value in (item.details or {}).items() if isinstance(value, str)})
    if item.team and "team" not in labels:
        labels["team"] = item.team
    if item.priority:
        labels["priority"] = item.priority
    return labels
