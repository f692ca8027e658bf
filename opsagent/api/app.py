"""The FastAPI app factory. `create_app(settings)` builds everything from Settings; nothing is global."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

import opsagent
from opsagent.api.limits import BodyDeadlineMiddleware
from opsagent.api.logs import AccessLogMiddleware
from opsagent.api.routes import chat, health, incidents, knowledge, search, webhooks
from opsagent.api.services import Services
from opsagent.config import Settings
from opsagent.errors import OpsagentError

log = logging.getLogger(__name__)

API_MAX_BODY_BYTES = 1024 * 1024
DESCRIPTION = """
opsagent's HTTP API: signed alert webhooks (Alertmanager, Grafana, PagerDuty, Opsgenie, Standard
Webhooks), incidents and their diagnoses, runbook and log search, knowledge upload, and on-call chat.

Every route except `/healthz`, `/readyz` and these docs (`/docs`, `/openapi.json`) needs an API token
(`opsagent token create --scope ...`) as `Authorization: Bearer <token>`; webhooks authenticate with
their source's signature or token.
"""


def create_app(
    settings: Settings, services: Services | None = None, *, run_worker: bool | None = None
) -> FastAPI:
    """The app. Pass `services` to inject fakes; `run_worker` defaults to settings.worker_enabled."""
    built = services or Services.build(settings)
    start_worker = settings.worker_enabled if run_worker is None else run_worker

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if start_worker and built.worker is None:
            built.start_worker()
        log.info(
            "opsagent API ready",
            extra={"database": built.engine.dialect.name, "worker": built.worker is not None},
        )
        try:
            yield
        finally:
            built.close()

    app = FastAPI(
        title="opsagent",
        version=opsagent.__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served below from bundled assets: the default page needs a CDN
        redoc_url=None,
        # Every request body is bounded before it is parsed (413), authenticated or not; uploads have
        # their own limit (routes/knowledge.py) and webhooks check theirs before reading the body.
        max_body_size=max(settings.webhook_max_bytes, API_MAX_BODY_BYTES),
    )
    _offline_docs(app)
    app.state.services = built
    app.add_middleware(BodyDeadlineMiddleware, seconds=settings.api_body_timeout_seconds)
    app.add_middleware(AccessLogMiddleware, metrics=built.metrics)  # outermost: it sees every status
    for module in (webhooks, incidents, search, chat, health):
        app.include_router(module.router)
    app.include_router(knowledge.build_router(settings))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        # One readable line first, then the details pydantic gives.
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err.get('loc', ())[1:]) or 'body'}: {err.get('msg')}"
            for err in exc.errors()[:5]
        )
        details = [
            {"loc": list(err.get("loc", ())), "msg": str(err.get("msg")), "type": str(err.get("type"))}
            for err in exc.errors()[:20]
        ]
        return JSONResponse({"detail": f"Invalid request: {problems}", "errors": details}, status_code=422)

    @app.exception_handler(OpsagentError)
    async def _opsagent_error(_: Request, exc: OpsagentError) -> JSONResponse:
        log.warning("request failed: %s", exc)
        return JSONResponse({"detail": str(exc)}, status_code=400)

    return app


def app_from_environment() -> FastAPI:
    """The app from OPSAGENT_* settings: the factory each process of `opsagent serve --processes N` calls."""
    from opsagent.api.logs import configure_logging
    from opsagent.api.server import configure_protocol
    from opsagent.config import load_settings

    settings = load_settings()
    configure_logging(settings.log_format, settings.log_level)
    configure_protocol(settings)  # this process's connections get the header limits (api/server.py)
    return create_app(settings)


def _offline_docs(app: FastAPI) -> None:
    """Swagger UI at /docs with its JavaScript and CSS served from the swagger-ui-bundle package."""
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.staticfiles import StaticFiles
    from starlette.responses import HTMLResponse
    from swagger_ui_bundle import swagger_ui_path

    app.mount("/docs/assets", StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="opsagent API",
            swagger_js_url="/docs/assets/swagger-ui-bundle.js",
            swagger_css_url="/docs/assets/swagger-ui.css",
            swagger_favicon_url="/docs/assets/favicon-32x32.png",
        )
