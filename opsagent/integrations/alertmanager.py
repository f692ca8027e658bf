"""Alertmanager webhook (payload version 4) -> normalised alerts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from opsagent.incidents.models import Alert, AlertStatus, fingerprint_of
from opsagent.integrations.errors import AlertParseError, describe_validation_error

# Alertmanager sends this for "no end time yet".
ZERO_TIME_PREFIX = "0001-01-01"
# Not `job`: it names the scrape job (blackbox, kube-state-metrics), not the affected workload.
SERVICE_LABELS = ("service", "app", "app_kubernetes_io_name", "k8s_app", "container")


class AlertmanagerAlert(BaseModel):
    """One entry of `alerts[]`; unknown (newer) fields are tolerated."""

    model_config = ConfigDict(extra="allow")

    status: AlertStatus = AlertStatus.FIRING
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: str | None = None
    endsAt: str | None = None
    generatorURL: str | None = None
    fingerprint: str | None = None


class AlertmanagerPayload(BaseModel):
    """The webhook body (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config)."""

    model_config = ConfigDict(extra="allow")

    version: str = "4"
    groupKey: str | None = None
    truncatedAlerts: int = 0
    status: AlertStatus = AlertStatus.FIRING
    receiver: str | None = None
    groupLabels: dict[str, str] = Field(default_factory=dict)
    commonLabels: dict[str, str] = Field(default_factory=dict)
    commonAnnotations: dict[str, str] = Field(default_factory=dict)
    externalURL: str | None = None
    alerts: list[AlertmanagerAlert] = Field(min_length=1)


def is_alertmanager(body: Any) -> bool:
    """Whether a decoded JSON body looks like an Alertmanager webhook."""
    return isinstance(body, dict) and isinstance(body.get("alerts"), list) and "groupKey" in body


def parse_alertmanager(body: Any) -> list[Alert]:
    """All alerts of one webhook delivery, normalised."""
    try:
        payload = AlertmanagerPayload.model_validate(body)
    except ValidationError as exc:
        raise AlertParseError(f"Not a valid Alertmanager webhook: {describe_validation_error(exc)}") from exc
    return [
        alert_from_item(
            item,
            index,
            common_labels=payload.commonLabels,
            common_annotations=payload.commonAnnotations,
            source="alertmanager",
        )
        for index, item in enumerate(payload.alerts)
    ]


def alert_from_item(
    item: AlertmanagerAlert,
    index: int,
    *,
    common_labels: dict[str, str],
    common_annotations: dict[str, str],
    source: str,
    extra_annotations: dict[str, str] | None = None,
) -> Alert:
    """One `alerts[index]` entry of an Alertmanager-shaped webhook (Alertmanager, Grafana), normalised."""
    name = item.labels.get("alertname")
    if not name:
        raise AlertParseError(f"alerts[{index}] has no 'alertname' label")
    labels = {**common_labels, **item.labels}
    # Sender-specific extras (links, values) never override what the alert rule itself annotated.
    annotations = {**(extra_annotations or {}), **common_annotations, **item.annotations}
    starts_at = parse_timestamp(item.startsAt, f"alerts[{index}].startsAt")
    ends_at = parse_timestamp(item.endsAt, f"alerts[{index}].endsAt")
    with rejected_as_parse_error(f"alerts[{index}]"):
        return Alert(
            name=name,
            status=item.status,
            severity=labels.get("severity"),
            service=next((labels[k] for k in SERVICE_LABELS if labels.get(k)), None),
            labels=labels,
            annotations=annotations,
            starts_at=starts_at,
            ends_at=ends_at,
            fingerprint=item.fingerprint or fingerprint_of(name, labels),
            source=source,
            raw=item.model_dump(),
        )


@contextmanager
def rejected_as_parse_error(where: str) -> Iterator[None]:
    """Report a value the `Alert` model rejects (e.g. a 600-character name) as an AlertParseError."""
    try:
        yield
    except ValidationError as exc:
        raise AlertParseError(f"{where}: {describe_validation_error(exc)}") from exc


def parse_timestamp(value: str | None, where: str) -> datetime | None:
    """RFC 3339 timestamp, or None for absent / Alertmanager's zero time."""
    if not value or value.startswith(ZERO_TIME_PREFIX):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise AlertParseError(f"{where}: {value!r} is not an RFC 3339 timestamp") from None
