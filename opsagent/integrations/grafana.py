"""Grafana unified-alerting webhook contact point (payload version "1") -> normalised alerts.

The body is Alertmanager's webhook with Grafana's additions (`orgId`, per-alert `values`, `silenceURL`,
`dashboardURL`, `panelURL`, and the deprecated `title`, `state`, `message`), so the per-alert
normalisation is shared with the Alertmanager parser.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from opsagent.incidents.models import Alert, AlertStatus
from opsagent.integrations.alertmanager import AlertmanagerAlert, alert_from_item
from opsagent.integrations.errors import AlertParseError, describe_validation_error

SOURCE = "grafana"
# Grafana's links and values become annotations (under these names) so triage can cite them.
_EXTRA_ANNOTATIONS = {
    "generatorURL": "generator_url",
    "silenceURL": "silence_url",
    "dashboardURL": "dashboard_url",
    "panelURL": "panel_url",
    "imageURL": "image_url",
    "valueString": "value_string",
}


class GrafanaAlert(AlertmanagerAlert):
    """One entry of `alerts[]`: Alertmanager's fields plus Grafana's; unknown fields are tolerated."""

    model_config = ConfigDict(extra="allow")

    silenceURL: str | None = None
    dashboardURL: str | None = None
    panelURL: str | None = None
    imageURL: str | None = None
    values: dict[str, Any] | None = None
    valueString: str | None = None


class GrafanaPayload(BaseModel):
    """The webhook body (grafana.com/docs: alerting, webhook notifier, "Webhook JSON payload")."""

    model_config = ConfigDict(extra="allow")

    receiver: str | None = None
    status: AlertStatus = AlertStatus.FIRING
    orgId: int | None = None
    alerts: list[GrafanaAlert]
    groupLabels: dict[str, str] = Field(default_factory=dict)
    commonLabels: dict[str, str] = Field(default_factory=dict)
    commonAnnotations: dict[str, str] = Field(default_factory=dict)
    externalURL: str | None = None
    version: str | None = None
    groupKey: str | None = None
    truncatedAlerts: int = 0
    title: str | None = None
    state: str | None = None
    message: str | None = None


def parse_grafana(body: Any) -> list[Alert]:
    """All alerts of one Grafana webhook delivery, normalised (an empty `alerts` list gives [])."""
    try:
        payload = GrafanaPayload.model_validate(body)
    except ValidationError as exc:
        raise AlertParseError(f"Not a valid Grafana webhook: {describe_validation_error(exc)}") from exc
    return [
        alert_from_item(
            item,
            index,
            common_labels=payload.commonLabels,
            common_annotations=payload.commonAnnotations,
            source=SOURCE,
            extra_annotations=_extra_annotations(item),
        )
        for index, item in enumerate(payload.alerts)
    ]


def _extra_annotations(item: GrafanaAlert) -> dict[str, str]:
    found = {name: getattr(item, field) for field, name in _EXTRA_ANNOTATIONS.items()}
    return {name: value for name, value in found.items() if isinstance(value, str) and value}
