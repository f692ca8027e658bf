"""The generic single-alert form, for scripts and systems without a dedicated integration.

`{"alertname": "DiskFull", "status": "firing", "severity": "critical", "labels": {...},
  "annotations": {"summary": ...}, "startsAt": "2026-11-20T03:00:00Z"}` (`name` works for `alertname`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from opsagent.incidents.models import Alert, AlertStatus, fingerprint_of
from opsagent.integrations.alertmanager import (
    SERVICE_LABELS,
    is_alertmanager,
    parse_alertmanager,
    parse_timestamp,
    rejected_as_parse_error,
)
from opsagent.integrations.errors import AlertParseError, describe_validation_error


class GenericAlert(BaseModel):
    """The generic form; unknown fields are kept in `raw` but otherwise ignored."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    alertname: str | None = Field(default=None, max_length=500)
    name: str | None = Field(default=None, max_length=500)
    status: AlertStatus = AlertStatus.FIRING
    severity: str | None = None
    service: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: str | None = None
    endsAt: str | None = None
    fingerprint: str | None = None


def parse_generic(body: Any) -> Alert:
    """One generic alert, normalised."""
    try:
        item = GenericAlert.model_validate(body)
    except ValidationError as exc:
        raise AlertParseError(f"Not a valid alert: {describe_validation_error(exc)}") from exc
    name = item.alertname or item.name or item.labels.get("alertname")
    if not name:
        raise AlertParseError("The alert has no name: set 'alertname' (or 'name', or labels.alertname).")
    labels = dict(item.labels)
    severity = item.severity or labels.get("severity")
    starts_at = parse_timestamp(item.startsAt, "startsAt")
    ends_at = parse_timestamp(item.endsAt, "endsAt")
    with rejected_as_parse_error("alert"):  # e.g. a labels.alertname over 500 characters
        return Alert(
            name=name,
            status=item.status,
            severity=severity,
            service=item.service or next((labels[k] for k in SERVICE_LABELS if labels.get(k)), None),
            labels=labels,
            annotations=item.annotations,
            starts_at=starts_at,
            ends_at=ends_at,
            fingerprint=item.fingerprint or fingerprint_of(name, labels),
            source="generic",
            raw=body if isinstance(body, dict) else {},
        )


def parse_alert_payload(body: Any) -> list[Alert]:
    """An Alertmanager webhook (several alerts) or one generic alert."""
    if is_alertmanager(body):
        return parse_alertmanager(body)
    return [parse_generic(body)]


def load_alert_file(path: Path) -> list[Alert]:
    """Alerts from a JSON file of any sender's shape (see detect.py), with one-line errors."""
    # Imported here: detect.py builds on this module's parser, so a top-level import would be a cycle.
    from opsagent.integrations.detect import load_alert_file as load_detected

    return load_detected(path)
