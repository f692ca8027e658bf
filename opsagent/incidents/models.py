"""The normalised alert every integration produces and triage consumes."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class AlertStatus(StrEnum):
    """Whether the alert is still happening."""

    FIRING = "firing"
    RESOLVED = "resolved"


class Alert(BaseModel):
    """One alert, whatever system sent it."""

    name: str = Field(min_length=1, max_length=500)
    status: AlertStatus = AlertStatus.FIRING
    severity: str | None = None
    service: str | None = Field(default=None, description="The affected service, from labels if known.")
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    fingerprint: str = Field(description="Stable identity of the alert (same labels -> same fingerprint).")
    source: str = Field(default="generic", description="alertmanager, grafana, pagerduty, opsgenie, generic")
    raw: dict[str, Any] = Field(default_factory=dict, description="The payload as received, for audit.")

    @property
    def summary(self) -> str:
        """The human one-liner: the summary annotation, else the name."""
        return self.annotations.get("summary") or self.annotations.get("title") or self.name


def fingerprint_of(name: str, labels: dict[str, str]) -> str:
    """Alertmanager-style fingerprint: a hash of the alert name and its sorted labels."""
    payload = json.dumps({"alertname": name, **labels}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()[:16]
