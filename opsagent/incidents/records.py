"""What the incident store returns: pydantic models the API serialises as they are."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field

from opsagent.agent.diagnosis import Diagnosis
from opsagent.incidents.models import Alert


class TriageStatus(StrEnum):
    """Where an incident's triage is."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"  # e.g. the first we heard of the alert was its resolution


class AlertOutcome(BaseModel):
    """What one received alert did."""

    fingerprint: str
    incident_id: int
    outcome: Literal["created", "repeat", "resolved", "stale", "resolved_unknown"] = Field(
        description="created: a new incident (triage queued); repeat: the incident was already open; "
        "resolved: the open incident was closed; stale: a late copy of an episode already resolved; "
        "resolved_unknown: a resolution for an alert never seen firing (stored, not triaged)."
    )
    triage_queued: bool


class DeliveryOutcome(BaseModel):
    """What one webhook delivery did; `duplicate` means its delivery id was seen before."""

    source: str
    delivery_id: str | None = None
    duplicate: bool = False
    alerts: list[AlertOutcome] = Field(default_factory=list)


class IncidentSummary(BaseModel):
    """One row of the incident list."""

    id: int
    source: str
    fingerprint: str
    episode: int
    status: Literal["firing", "resolved"]
    alert_name: str
    severity: str | None
    service: str | None
    summary: str
    starts_at: float | None
    ends_at: float | None
    created_at: float
    updated_at: float
    resolved_at: float | None
    deliveries: int
    triage_status: TriageStatus
    diagnosed_at: float | None


class TimelineEvent(BaseModel):
    """Something that happened to an incident."""

    at: float
    kind: str
    message: str
    data: dict[str, Any] | None = None


class IncidentDetail(IncidentSummary):
    """An incident with its alert, latest diagnosis and timeline."""

    alert: Alert
    diagnosis: Diagnosis | None
    diagnoses: int = Field(description="How many diagnoses were made (re-triage adds one each).")
    timeline: list[TimelineEvent]


class IncidentPage(BaseModel):
    """A page of incidents, newest first; pass `next_cursor` as `cursor` for the next page."""

    items: list[IncidentSummary]
    total: int
    next_cursor: int | None = None


class Job(BaseModel):
    """A claimed job of the queue."""

    id: int
    kind: str
    incident_id: int
    attempts: int
    max_attempts: int
    payload: dict[str, Any] | None = None
    lease_owner: str
