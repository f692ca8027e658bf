"""Inbound alert webhooks. Order of checks: a bearer/token header (401/403, before any body is read, for
the token schemes) → encoding (415: compressed bodies are refused) → size (413) → signature over the raw
body (401) → JSON and schema (422) → commit, then 202. Nothing is parsed before it is authenticated, and
the 202 is sent only after the alerts are committed, so an acknowledged alert is never lost. A source
whose secret is not configured answers 503: nothing is accepted (fail closed), and senders keep retrying
instead of dropping the alert.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError
from starlette.datastructures import Headers

from opsagent.api.auth import authenticate, get_services
from opsagent.api.body import MAX_JSON_DEPTH, BodyTooLarge, json_problem, read_limited_body
from opsagent.api.services import Services
from opsagent.api.tokens import Scope
from opsagent.errors import OpsagentError
from opsagent.incidents.models import Alert
from opsagent.incidents.records import AlertOutcome
from opsagent.integrations.alertmanager import parse_alertmanager
from opsagent.integrations.errors import AlertParseError
from opsagent.integrations.generic import parse_alert_payload
from opsagent.integrations.grafana import parse_grafana
from opsagent.integrations.opsgenie import parse_opsgenie
from opsagent.integrations.pagerduty import parse_pagerduty
from opsagent.integrations.webhook_signatures import (
    PAGERDUTY_SIGNATURE_HEADER,
    SignatureError,
    WebhookConfigError,
    verify_grafana_signature,
    verify_pagerduty_signature,
    verify_standard_webhook,
)

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])
# PagerDuty's delivery id; a redelivery carries the same one.
PAGERDUTY_WEBHOOK_ID_HEADER = "X-Webhook-Id"
OPSGENIE_TOKEN_HEADER = "X-Opsagent-Token"
TOO_DEEP = object()  # json.loads gave up: the body nests deeper than the interpreter recurses

Verifier = Callable[[Services, bytes, Headers], str | None]  # returns the sender's delivery id, if any


class WebhookAck(BaseModel):
    """What a delivery did. `duplicate`: its delivery id was seen before; `ignored`: nothing to triage."""

    status: Literal["accepted", "duplicate", "ignored"]
    source: str
    delivery_id: str | None = None
    alerts: list[AlertOutcome] = []


class WebhookError(BaseModel):
    """Why a delivery was refused."""

    detail: str


RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": WebhookError, "description": "Missing or wrong signature or token."},
    403: {"model": WebhookError, "description": "The token lacks the webhook scope."},
    413: {"model": WebhookError, "description": "Body over OPSAGENT_WEBHOOK_MAX_BYTES (1 MiB)."},
    415: {"model": WebhookError, "description": "A compressed body (Content-Encoding): send it as is."},
    422: {"model": WebhookError, "description": "Not JSON, or not this source's payload."},
    503: {
        "model": WebhookError,
        "description": "The store is unavailable or the source is not configured: retry (nothing stored).",
    },
}


def _error(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


async def receive(
    request: Request,
    source: str,
    verify: Verifier,
    parse: Callable[[Any], list[Alert]],
    token_header: str | None = None,
) -> JSONResponse:
    """The common path of every webhook."""
    services = get_services(request)
    metrics = services.metrics.webhooks
    if token_header is not None:  # token schemes: refuse before reading a byte of the body
        try:
            token = await authenticate(services, _token(request.headers, token_header))
        except HTTPException as exc:
            metrics.labels(source, "unauthorized" if exc.status_code == 401 else "unavailable").inc()
            raise
        if not token.allows(Scope.WEBHOOK):
            metrics.labels(source, "forbidden").inc()
            return _error(403, "This token lacks the 'webhook' scope: create one with --scope webhook.")
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        # Signatures cover the bytes as sent, and no sender we support compresses: refusing is clearer
        # than a 422 for "not JSON", and there is no decompression for a bomb to exploit.
        metrics.labels(source, "invalid").inc()
        return _error(415, f"Content-Encoding {encoding[:40]!r} is not accepted: send the JSON uncompressed.")
    try:
        body = await read_limited_body(request, services.settings.webhook_max_bytes)
    except BodyTooLarge as exc:
        metrics.labels(source, "too_large").inc()
        return _error(413, f"Webhook body too large: {exc} (OPSAGENT_WEBHOOK_MAX_BYTES).")
    try:
        delivery_id = verify(services, body, request.headers)
    except SignatureError as exc:
        metrics.labels(source, "unauthorized").inc()
        return _error(401, str(exc))
    except WebhookConfigError as exc:
        metrics.labels(source, "not_configured").inc()
        log.error("%s webhook refused: %s", source, exc)
        return _error(503, str(exc), {"Retry-After": "60"})
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        metrics.labels(source, "invalid").inc()
        return _error(422, f"The body is not valid JSON ({exc}).")
    except RecursionError:
        payload = TOO_DEEP
    problem = "deep" if payload is TOO_DEEP else json_problem(payload)
    if problem == "deep":
        metrics.labels(source, "invalid").inc()
        return _error(422, f"The body nests JSON arrays/objects more than {MAX_JSON_DEPTH} levels deep.")
    if problem == "surrogate":
        metrics.labels(source, "invalid").inc()
        return _error(422, "The body has a \\u escape that is not text (a lone UTF-16 surrogate).")
    try:
        alerts = parse(payload)
    except AlertParseError as exc:
        metrics.labels(source, "invalid").inc()
        return _error(422, str(exc))
    if not alerts:
        metrics.labels(source, "ignored").inc()
        ignored = WebhookAck(status="ignored", source=source, delivery_id=delivery_id)
        return JSONResponse(ignored.model_dump(), status_code=202)
    alerts = [alert.model_copy(update={"source": source}) for alert in alerts]
    try:
        outcome = await run_in_threadpool(
            services.store.record_delivery, source, alerts, delivery_id=delivery_id
        )
    except (SQLAlchemyError, OpsagentError):
        log.exception("%s webhook: could not store the alerts", source)
        metrics.labels(source, "unavailable").inc()
        return _error(
            503, "The incident store is unavailable; nothing was stored, retry.", {"Retry-After": "5"}
        )
    for item in outcome.alerts:
        services.metrics.alerts.labels(source, item.outcome).inc()
    metrics.labels(source, "duplicate" if outcome.duplicate else "accepted").inc()
    ack = WebhookAck(
        status="duplicate" if outcome.duplicate else "accepted",
        source=source,
        delivery_id=delivery_id,
        alerts=outcome.alerts,
    )
    return JSONResponse(ack.model_dump(), status_code=202)


def _token(headers: Headers, header: str) -> str | None:
    authorization = headers.get("authorization", "")
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return headers.get(header) if header != "authorization" else None


def _no_signature(_: Services, __: bytes, ___: Headers) -> str | None:
    return None  # the bearer token was checked before the body was read


def _grafana(services: Services, body: bytes, headers: Headers) -> str | None:
    secret = services.settings.grafana_webhook_secret
    if secret is None:
        raise WebhookConfigError(
            "Grafana webhooks are not enabled here: set OPSAGENT_GRAFANA_WEBHOOK_SECRET to the contact "
            "point's HMAC secret."
        )
    # The replay key (with a timestamp) becomes the delivery id: an identical signed delivery inside
    # the window is acknowledged as a duplicate and not processed again. The ids live in the incident
    # database (webhook_deliveries), so every process and replica sees them, and they survive restarts.
    return verify_grafana_signature(
        body,
        headers,
        secret.get_secret_value(),
        now=services.clock(),
        tolerance_seconds=services.settings.webhook_tolerance_seconds,
        signature_header=services.settings.grafana_signature_header,
        timestamp_header=services.settings.grafana_timestamp_header,
        require_timestamp=services.settings.grafana_require_timestamp,
    )


def _pagerduty(services: Services, body: bytes, headers: Headers) -> str | None:
    secrets = [s.get_secret_value() for s in services.settings.pagerduty_webhook_secrets]
    if not secrets:
        raise WebhookConfigError(
            "PagerDuty webhooks are not enabled here: set OPSAGENT_PAGERDUTY_WEBHOOK_SECRETS to the "
            "subscription's signing secret."
        )
    verify_pagerduty_signature(body, headers.get(PAGERDUTY_SIGNATURE_HEADER), secrets)
    delivery = headers.get(PAGERDUTY_WEBHOOK_ID_HEADER)
    return delivery[:200] if delivery else None


def _standard(services: Services, body: bytes, headers: Headers) -> str | None:
    secrets = [s.get_secret_value() for s in services.settings.generic_webhook_secrets]
    if not secrets:
        raise WebhookConfigError(
            "Generic webhooks are not enabled here: set OPSAGENT_GENERIC_WEBHOOK_SECRETS to a Standard "
            "Webhooks secret (whsec_<base64>)."
        )
    return verify_standard_webhook(
        body,
        headers,
        secrets,
        now=services.clock(),
        tolerance_seconds=services.settings.webhook_tolerance_seconds,
    )


@dataclass(frozen=True)
class WebhookSource:
    """One inbound integration: how it authenticates and how its payload becomes alerts."""

    name: str
    verify: Verifier
    parse: Callable[[Any], list[Alert]]
    token_header: str | None  # token schemes: checked before the body is read
    summary: str
    description: str


SOURCES = (
    WebhookSource(
        "alertmanager",
        _no_signature,
        parse_alertmanager,
        "authorization",
        "Alertmanager webhook (v4); Authorization: Bearer <token with webhook scope>",
        "Alertmanager `webhook_config` deliveries; every alert of the group becomes or updates an incident.",
    ),
    WebhookSource(
        "grafana",
        _grafana,
        parse_grafana,
        None,
        "Grafana alerting webhook contact point, HMAC-SHA256 signed",
        "Grafana unified alerting; `X-Grafana-Alerting-Signature` and, unless "
        "OPSAGENT_GRAFANA_REQUIRE_TIMESTAMP is false, the signed timestamp header (a replay inside the "
        "window is acknowledged as a duplicate, not processed).",
    ),
    WebhookSource(
        "pagerduty",
        _pagerduty,
        parse_pagerduty,
        None,
        "PagerDuty V3 webhook subscription, X-PagerDuty-Signature",
        "PagerDuty V3 incident events; redeliveries (same X-Webhook-Id) are acknowledged, not re-processed.",
    ),
    WebhookSource(
        "opsgenie",
        _no_signature,
        parse_opsgenie,
        OPSGENIE_TOKEN_HEADER,
        "Opsgenie webhook integration; X-Opsagent-Token or Authorization: Bearer",
        "Opsgenie alert actions (Create opens, Close resolves; others are acknowledged and ignored).",
    ),
    WebhookSource(
        "generic",
        _standard,
        parse_alert_payload,
        None,
        "Generic alerts, Standard Webhooks signed (webhook-id, webhook-timestamp, webhook-signature)",
        "A generic alert (or an Alertmanager-shaped body), signed per standardwebhooks.com.",
    ),
)
# The body is read raw (signatures cover its exact bytes), so FastAPI cannot infer it: declare it.
JSON_BODY = {
    "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}
}


def _endpoint(source: WebhookSource) -> Callable[[Request], Awaitable[JSONResponse]]:
    async def endpoint(request: Request) -> JSONResponse:
        return await receive(request, source.name, source.verify, source.parse, source.token_header)

    return endpoint


for _source in SOURCES:
    router.add_api_route(
        f"/{_source.name}",
        _endpoint(_source),
        methods=["POST"],
        status_code=202,
        response_model=WebhookAck,
        responses=RESPONSES,
        summary=_source.summary,
        description=_source.description,
        name=f"{_source.name}_webhook",
        operation_id=f"{_source.name}_webhook",
        openapi_extra=JSON_BODY,
    )
