"""Runbook and log search over the knowledge base (the same hybrid search as `opsagent search`)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from opsagent.agent.redaction import redact_text
from opsagent.api.auth import AuthFirstRoute, ReadToken, ServicesDep
from opsagent.api.routes.common import AUTH_RESPONSES, INVALID_RESPONSE, parse_time_param
from opsagent.incidents.records import IsoTime
from opsagent.knowledge.models import DocumentKind, SearchHit
from opsagent.knowledge.search import SearchFilters

router = APIRouter(
    prefix="/v1",
    tags=["search"],
    responses={**AUTH_RESPONSES, **INVALID_RESPONSE},
    route_class=AuthFirstRoute,
)


class SearchRequest(BaseModel):
    """A query and its filters."""

    query: str = Field(min_length=1, max_length=4000, description="An alert, a symptom, an error message.")
    k: int = Field(default=5, ge=1, le=100)
    kind: DocumentKind | None = None
    service: str | None = Field(default=None, max_length=200)
    since: str | None = Field(default=None, max_length=64, description="Logs seen after (ISO, epoch, 2h).")
    until: str | None = Field(default=None, max_length=64)


class SearchResult(SearchHit):
    """A search hit as the API writes it: times as ISO-8601 strings, like every time the API returns."""

    first_seen: IsoTime | None = None
    last_seen: IsoTime | None = None


class SearchResponse(BaseModel):
    """Hits, best first, each with its citation."""

    query: str
    results: list[SearchResult]


@router.post("/search", response_model=SearchResponse)
async def search(request: SearchRequest, services: ServicesDep, _: ReadToken) -> SearchResponse:
    """Hybrid (vector + keyword) search over runbooks and log templates."""
    filters = SearchFilters(
        kind=request.kind,
        service=request.service,
        since=parse_time_param("since", request.since),
        until=parse_time_param("until", request.until),
    )
    hits = await run_in_threadpool(lambda: services.kb.search(request.query, request.k, filters))
    # Hits quote runbooks and log lines as ingested: secrets in them are redacted on the way out.
    results = [
        SearchResult.model_validate(
            {**hit.model_dump(), "title": redact_text(hit.title), "snippet": redact_text(hit.snippet)}
        )
        for hit in hits
    ]
    return SearchResponse(query=request.query, results=results)
