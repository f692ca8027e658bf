"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from opsagent.api.auth import AuthFirstRoute, ReadToken, ServicesDep
from opsagent.api.routes.common import AUTH_RESPONSES
from opsagent.api.services import Services
from opsagent.incidents.db import ping

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"], route_class=AuthFirstRoute)


class Health(BaseModel):
    """The process is up."""

    status: str = "ok"


class Readiness(BaseModel):
    """Whether this replica can serve: each dependency's state."""

    ready: bool
    checks: dict[str, dict[str, Any]]


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """Liveness: answers while the process runs (no dependencies checked; no token needed)."""
    return Health()


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
async def readyz(services: ServicesDep) -> JSONResponse:
    """Readiness: the database and Chroma answer; the LLM setting is reported, never called. No token."""
    readiness = await run_in_threadpool(check_readiness, services)
    return JSONResponse(readiness.model_dump(), status_code=200 if readiness.ready else 503)


def check_readiness(services: Services) -> Readiness:
    """Run the readiness checks (errors are reported, not raised)."""
    checks: dict[str, dict[str, Any]] = {}
    try:
        ping(services.engine)
        checks["database"] = {"ok": True, "backend": services.engine.dialect.name}
    except Exception as exc:
        log.warning("readiness: database: %s", exc)
        checks["database"] = {"ok": False, "error": "unreachable (see the server log)"}
    try:
        services.kb.store.client.heartbeat()
        checks["chroma"] = {"ok": True, "mode": "server" if services.settings.chroma_url else "embedded"}
    except Exception as exc:
        log.warning("readiness: chroma: %s: %s", exc.__class__.__name__, exc)
        checks["chroma"] = {"ok": False, "error": "unreachable (see the server log)"}
    settings = services.settings
    checks["llm"] = {
        "ok": True,  # offline mode is a mode, not a failure
        "mode": "llm" if services.chat_model is not None else "offline",
        "model": settings.llm_model if services.chat_model is not None else None,
    }
    checks["worker"] = {
        "ok": True,
        "in_process": services.worker is not None,
        "alive": services.worker is not None and services.worker.alive,
    }
    return Readiness(ready=all(c["ok"] for c in checks.values()), checks=checks)


@router.get(
    "/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}, **AUTH_RESPONSES}
)
async def metrics(services: ServicesDep, _: ReadToken) -> Response:
    """Prometheus metrics (scrape with a read-scoped token as bearer_token)."""
    body = await run_in_threadpool(services.metrics.render)
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")
