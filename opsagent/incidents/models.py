"""The normalised alert every integration produces and triage consumes."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, ValidationInfo, field_validator, model_validator


class AlertStatus(StrEnum):
    """Whether the alert is still happening."""

    FIRING = "firing"
    RESOLVED = "resolved"


# Widths of the incident store's columns (opsagent.incidents.tables). PostgreSQL enforces them and refuses
# NUL characters in text, so an alert that could not be stored is refused here, naming the field (a 422 at
# the webhooks) rather than failing the insert (a 503 that tells the sender to retry forever).
MAX_FINGERPRINT_LENGTH = 200


class Alert(BaseModel):
    """One alert, whatever system sent it."""

    name: str = Field(min_length=1, max_length=500)
    status: AlertStatus = AlertStatus.FIRING
    severity: str | None = Field(default=None, description="Cut to 64 characters (the column's width).")
    service: str | None = Field(
        default=None, description="The affected service, from labels if known; cut to 200 characters."
    )
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    fingerprint: str = Field(description="Stable identity of the alert (same labels -> same fingerprint).")
    source: str = Field(default="generic", description="alertmanager, grafana, pagerduty, opsgenie, generic")
    raw: dict[str, Any] = Field(default_factory=dict, description="The payload as received, for audit.")

    @field_validator("severity", "service")
    @classmethod
    def _fit_column(cls, value: str | None, info: ValidationInfo) -> str | None:
        # Cut rather than refuse: an over-long label must not cost the alert (the full one stays in labels).
        width = 64 if info.field_name == "severity" else 200
        return value[:width] if value is not None else None

    @field_validator("fingerprint")
    @classmethod
    def _bounded_fingerprint(cls, value: str) -> str:
        """One too long to store (an Opsgenie alias can be 512 characters) is hashed: still stable."""
        if len(value) <= MAX_FINGERPRINT_LENGTH:
            return value
        return "sha256:" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()

    @model_validator(mode="after")
    def _no_nul_characters(self) -> Alert:
        texts = [self.name, self.severity, self.service, self.fingerprint, self.source]
        texts += [*self.labels, *self.labels.values(), *self.annotations, *self.annotations.values()]
        if any("\x00" in text for text in texts if text):
            raise ValueError("NUL (\\x00) characters are not allowed in alert names, labels or annotations")
        return self

    @property
    def summary(self) -> str:
        """The human one-liner: the summary annotation, else the name."""
        return self.annotations.get("summary") or self.annotations.get("title") or self.name


def fingerprint_of(name: str, labels: dict[str, str]) -> str:
    """Alertmanager-style fingerprint: a hash of the alert name and its sorted labels."""
    payload = json.dumps({"alertname": name, **labels}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()[:16]
