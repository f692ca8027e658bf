"""What the incident store returns: pydantic models the API serialises as they are."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field, PlainSerializer, WithJsonSchema

from opsagent.agent.diagnosis import Diagnosis
from opsagent.incidents.models import Alert


def epoch_of(value: Any) -> Any:
    """Epoch seconds from an ISO-8601 string (what the API sends back); other values pass through."""
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()
    return value


def iso_of(epoch: float) -> str:
    """ISO-8601 UTC with milliseconds, e.g. `2026-11-20T03:15:00.000Z`."""
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# A time kept as epoch seconds in Python (the store and the worker compute with it) but written as an
# ISO-8601 string in JSON, so API clients read times like the alerts' own `startsAt`.
IsoTime = Annotated[
    float,
    BeforeValidator(epoch_of),
    PlainSerializer(iso_of, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}, mode="serialization"),
]


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
    outcome: Literal["created", "repeat", "resolved", "resolved_again", "stale", "resolved_unknown"] = Field(
        description="created: a new incident (triage queued); repeat: the incident was already open; "
        "resolved: the open incident was closed; resolved_again: another resolution of an incident "
        "already resolved (nothing changed); stale: a late firing copy of an episode already resolved; "
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
    starts_at: IsoTime | None
    ends_at: IsoTime | None
    created_at: IsoTime
    updated_at: IsoTime
    resolved_at: IsoTime | None
    deliveries: int
    triage_status: TriageStatus
    diagnosed_at: IsoTime | None


class TimelineEvent(BaseModel):
    """Something that happened to an incident."""

    at: IsoTime
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
