"""Incidents: list with filters and pagination, one with its alert, diagnosis and timeline, re-triage."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from opsagent.agent.redaction import redact_alert, redact_diagnosis
from opsagent.api.auth import AuthFirstRoute, ChatToken, ReadToken, ServicesDep
from opsagent.api.routes.common import AUTH_RESPONSES, INVALID_RESPONSE, NOT_FOUND, NoNul, parse_time_param
from opsagent.incidents.records import IncidentDetail, IncidentPage, TriageStatus
from opsagent.incidents.store import IncidentNotFound

router = APIRouter(
    prefix="/v1/incidents",
    tags=["incidents"],
    responses={**AUTH_RESPONSES, **INVALID_RESPONSE},
    route_class=AuthFirstRoute,
)
# incidents.id is an INTEGER: 32 bits on PostgreSQL, which refuses larger parameters (a 500, not a 404).
MAX_ID = 2**31 - 1
IncidentId = Annotated[int, Path(ge=1, le=MAX_ID, description="The incident id.")]


class RetriageAck(BaseModel):
    """The triage job; `created` is false when one was already queued or running."""

    incident_id: int
    job_id: int
    created: bool


LIST_FILTERS = frozenset(
    {
        "status",
        "service",
        "source",
        "severity",
        "alert_name",
        "triage_status",
        "since",
        "until",
        "limit",
        "cursor",
    }
)


def only_known_filters(request: Request) -> None:
    """A 422 for an unknown query parameter: a misspelt filter (`?staus=firing`) must not silently
    return every incident."""
    unknown = sorted(set(request.query_params) - LIST_FILTERS)
    if unknown:
        known = ", ".join(sorted(LIST_FILTERS))
        raise HTTPException(
            422, f"Unknown query parameter(s) {', '.join(map(repr, unknown))}; known: {known}."
        )


@router.get("", response_model=IncidentPage, dependencies=[Depends(only_known_filters)])
async def list_incidents(
    services: ServicesDep,
    _: ReadToken,
    status: Annotated[Literal["firing", "resolved"] | None, Query()] = None,
    service: Annotated[str | None, Query(max_length=200), NoNul] = None,
    source: Annotated[str | None, Query(max_length=32), NoNul] = None,
    severity: Annotated[str | None, Query(max_length=64), NoNul] = None,
    alert_name: Annotated[str | None, Query(max_length=500), NoNul] = None,
    triage_status: Annotated[TriageStatus | None, Query()] = None,
    since: Annotated[
        str | None, Query(description="Created after: ISO time, epoch, or 2h / 30m ago.")
    ] = None,
    until: Annotated[str | None, Query(description="Created before.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="`next_cursor` of the last page.")
    ] = None,
) -> IncidentPage:
    """Incidents, newest first."""
    return await run_in_threadpool(
        services.store.list_incidents,
        status=status,
        service=service,
        source=source,
        severity=severity,
        alert_name=alert_name,
        triage_status=triage_status.value if triage_status else None,
        since=parse_time_param("since", since),
        until=parse_time_param("until", until),
        limit=limit,
        cursor=cursor,
    )


@router.get(
    "/{incident_id}",
    response_model=IncidentDetail,
    responses={404: {**NOT_FOUND, "description": "No such incident."}},
)
async def get_incident(incident_id: IncidentId, services: ServicesDep, _: ReadToken) -> IncidentDetail:
    """The incident with its latest alert, its latest diagnosis and its timeline."""
    try:
        incident = await run_in_threadpool(services.store.get_incident, incident_id)
    except IncidentNotFound:
        raise HTTPException(404, f"No incident {incident_id}.") from None
    if incident.diagnosis is not None:
        # Stored diagnoses are redacted when written; this also covers rows written before a new rule.
        incident.diagnosis = await run_in_threadpool(redact_diagnosis, incident.diagnosis)
    # The alert is kept as received (audit); what any read token sees is redacted.
    incident.alert = await run_in_threadpool(redact_alert, incident.alert)
    return incident


@router.post(
    "/{incident_id}/retriage",
    status_code=202,
    response_model=RetriageAck,
    responses={404: {**NOT_FOUND, "description": "No such incident."}},
)
async def retriage(incident_id: IncidentId, services: ServicesDep, _: ChatToken) -> RetriageAck:
    """Queue a new triage (e.g. after new runbooks were ingested). Needs the chat scope: it may spend LLM
    tokens, which a read-only token (a dashboard's) should not."""
    try:
        job_id, created = await run_in_threadpool(services.store.request_retriage, incident_id)
    except IncidentNotFound:
        raise HTTPException(404, f"No incident {incident_id}.") from None
    return RetriageAck(incident_id=incident_id, job_id=job_id, created=created)
