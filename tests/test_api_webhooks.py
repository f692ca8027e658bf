"""Webhooks through the real app and a real database (SQLite and PostgreSQL): auth, limits, dedup."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from opsagent.incidents.db import create_db_engine
from opsagent.incidents.store import IncidentStore
from opsagent.integrations.webhook_signatures import sign_grafana, sign_pagerduty, sign_standard_webhook
from tests.api_support import (
    GENERIC_SECRET,
    GRAFANA_SECRET,
    PAGERDUTY_SECRETS,
    Api,
    alertmanager_body,
    api_settings,
    running_api,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def api(tmp_path: Path, database_url: str) -> AsyncIterator[Api]:
    """On SQLite and on PostgreSQL: for what touches the store's semantics."""
    async with running_api(api_settings(tmp_path, database_url)) as running:
        yield running


@pytest.fixture
async def lite(tmp_path: Path) -> AsyncIterator[Api]:
    """On SQLite only: for what is decided before the store (auth, limits, parsing)."""
    async with running_api(api_settings(tmp_path)) as running:
        yield running


def _json(body: object) -> bytes:
    return json.dumps(body).encode()


async def test_alertmanager_needs_a_webhook_token(api: Api) -> None:
    body = alertmanager_body()
    missing = await api.client.post("/v1/webhooks/alertmanager", json=body)
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    wrong = await api.client.post(
        "/v1/webhooks/alertmanager", json=body, headers={"Authorization": "Bearer opsa_not-a-token"}
    )
    assert wrong.status_code == 401
    read_only = await api.client.post("/v1/webhooks/alertmanager", json=body, headers=api.auth("read"))
    assert read_only.status_code == 403 and "webhook" in read_only.json()["detail"]
    assert api.services.store.counts()["alert_events"] == 0
    ok = await api.client.post("/v1/webhooks/alertmanager", json=body, headers=api.auth("webhook"))
    assert ok.status_code == 202, ok.text
    assert ok.json()["alerts"][0]["outcome"] == "created"


async def test_the_alert_is_committed_before_the_ack(api: Api) -> None:
    response = await api.client.post(
        "/v1/webhooks/alertmanager", json=alertmanager_body("fp-durable"), headers=api.auth("webhook")
    )
    assert response.status_code == 202
    # A separate engine (another process, in effect) sees the incident the moment the 202 arrives.
    engine = create_db_engine(api.services.settings)
    try:
        page = IncidentStore(engine).list_incidents()
        assert [i.fingerprint for i in page.items] == ["fp-durable"]
    finally:
        engine.dispose()


async def test_repeat_resolve_and_new_episode(api: Api) -> None:
    post = api.client.post
    headers = api.auth("webhook")
    first = (await post("/v1/webhooks/alertmanager", json=alertmanager_body(), headers=headers)).json()
    repeat = (await post("/v1/webhooks/alertmanager", json=alertmanager_body(), headers=headers)).json()
    resolved = await post(
        "/v1/webhooks/alertmanager", json=alertmanager_body(status="resolved"), headers=headers
    )
    again = await post(
        "/v1/webhooks/alertmanager", json=alertmanager_body(starts="2026-11-21T01:00:00Z"), headers=headers
    )
    outcomes = [r["alerts"][0]["outcome"] for r in (first, repeat, resolved.json(), again.json())]
    assert outcomes == ["created", "repeat", "resolved", "created"]
    assert api.services.store.queue.depth()["queued"] == 2  # one triage per firing episode


async def test_size_limit_413_before_parsing(lite: Api) -> None:
    huge = b'{"pad": "' + b"x" * (1024 * 1024) + b'"}'
    response = await lite.client.post(
        "/v1/webhooks/alertmanager",
        content=huge,
        headers={**lite.auth("webhook"), "content-type": "application/json"},
    )
    assert response.status_code == 413

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: the reader stops at the limit
        for _ in range(20):
            yield b"x" * 65536

    streamed = await lite.client.post("/v1/webhooks/grafana", content=chunked())
    assert streamed.status_code == 413


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (_json({"alerts": []}), "alerts"),
        (_json({"groupKey": "g", "alerts": [{"labels": {}}]}), "alertname"),
        (_json([1, 2, 3]), "Alertmanager"),
    ],
)
async def test_malformed_bodies_are_422_with_a_reason(lite: Api, body: bytes, message: str) -> None:
    response = await lite.client.post(
        "/v1/webhooks/alertmanager",
        content=body,
        headers={**lite.auth("webhook"), "content-type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert message in response.json()["detail"]


async def test_grafana_signatures(lite: Api) -> None:
    body = _json(alertmanager_body("fp-grafana"))
    signed = sign_grafana(body, GRAFANA_SECRET, timestamp=int(time.time()))
    ok = await lite.client.post("/v1/webhooks/grafana", content=body, headers=signed)
    assert ok.status_code == 202, ok.text
    tampered = body.replace(b"critical", b"warning!")
    assert (
        await lite.client.post("/v1/webhooks/grafana", content=tampered, headers=signed)
    ).status_code == 401
    wrong = sign_grafana(body, "not-the-secret")
    assert (await lite.client.post("/v1/webhooks/grafana", content=body, headers=wrong)).status_code == 401
    stale = sign_grafana(body, GRAFANA_SECRET, timestamp=int(time.time()) - 3600)
    response = await lite.client.post("/v1/webhooks/grafana", content=body, headers=stale)
    assert response.status_code == 401 and "timestamp" in response.json()["detail"].lower()
    assert lite.services.store.counts()["alert_events"] == 1


def _pagerduty_event(event_type: str = "incident.triggered", incident: str = "Q1ABCDEF") -> bytes:
    return _json(
        {
            "event": {
                "id": "01DEN4HPBQAE0F7CB2CXLQJCY9",
                "event_type": event_type,
                "resource_type": "incident",
                "occurred_at": "2026-11-20T03:15:00.000Z",
                "data": {
                    "id": incident,
                    "type": "incident",
                    "number": 42,
                    "status": "triggered",
                    "title": "payments-api error rate above 5%",
                    "urgency": "high",
                    "created_at": "2026-11-20T03:15:00Z",
                    "service": {"id": "PSVC1", "summary": "payments-api", "type": "service_reference"},
                    "html_url": "https://example.pagerduty.com/incidents/Q1ABCDEF",
                },
            }
        }
    )


async def test_pagerduty_rotation_and_delivery_dedup(api: Api) -> None:
    body = _pagerduty_event()
    # During rotation PagerDuty signs with both secrets; either one configured here is enough.
    header = sign_pagerduty(body, "some-other-secret", PAGERDUTY_SECRETS[1])
    headers = {"X-PagerDuty-Signature": header, "X-Webhook-Id": "delivery-1"}
    first = await api.client.post("/v1/webhooks/pagerduty", content=body, headers=headers)
    assert first.status_code == 202 and first.json()["status"] == "accepted", first.text
    again = await api.client.post("/v1/webhooks/pagerduty", content=body, headers=headers)
    assert again.status_code == 202 and again.json()["status"] == "duplicate"
    only_unknown = {"X-PagerDuty-Signature": sign_pagerduty(body, "unknown"), "X-Webhook-Id": "d-2"}
    assert (
        await api.client.post("/v1/webhooks/pagerduty", content=body, headers=only_unknown)
    ).status_code == 401
    ping = _json({"event": {"id": "e", "event_type": "pagey.ping", "resource_type": "pagey", "data": {}}})
    pong = await api.client.post(
        "/v1/webhooks/pagerduty",
        content=ping,
        headers={"X-PagerDuty-Signature": sign_pagerduty(ping, PAGERDUTY_SECRETS[0])},
    )
    assert pong.status_code == 202 and pong.json()["status"] == "ignored"
    incidents = api.services.store.list_incidents().items
    assert len(incidents) == 1 and incidents[0].source == "pagerduty"
    detail = api.services.store.get_incident(incidents[0].id)
    assert detail.alert.labels["pagerduty_incident_id"] == "Q1ABCDEF"


async def test_opsgenie_token_header(lite: Api) -> None:
    body = {
        "action": "Create",
        "alert": {
            "alertId": "70413a06-38d6-4c85-92b8-5ebc900d42e2",
            "message": "Disk almost full on db-1",
            "tags": ["service:inventory-db", "disk"],
            "priority": "P1",
            "createdAt": 1795144500000,
            "details": {"host": "db-1"},
        },
    }
    assert (await lite.client.post("/v1/webhooks/opsgenie", json=body)).status_code == 401
    token = {"X-Opsagent-Token": lite.tokens["webhook"]}
    created = await lite.client.post("/v1/webhooks/opsgenie", json=body, headers=token)
    assert created.status_code == 202 and created.json()["alerts"][0]["outcome"] == "created", created.text
    closed = await lite.client.post("/v1/webhooks/opsgenie", json={**body, "action": "Close"}, headers=token)
    assert closed.json()["alerts"][0]["outcome"] == "resolved"
    ack = await lite.client.post(
        "/v1/webhooks/opsgenie", json={**body, "action": "Acknowledge"}, headers=token
    )
    assert ack.json()["status"] == "ignored"


async def test_generic_standard_webhooks(lite: Api) -> None:
    body = _json({"alertname": "DiskFull", "severity": "critical", "labels": {"service": "inventory-db"}})
    headers = sign_standard_webhook(body, GENERIC_SECRET, "msg_1", int(time.time()))
    first = await lite.client.post("/v1/webhooks/generic", content=body, headers=headers)
    assert first.status_code == 202 and first.json()["delivery_id"] == "msg_1", first.text
    replay = await lite.client.post("/v1/webhooks/generic", content=body, headers=headers)
    assert replay.json()["status"] == "duplicate"
    old = sign_standard_webhook(body, GENERIC_SECRET, "msg_2", int(time.time()) - 301)
    assert (await lite.client.post("/v1/webhooks/generic", content=body, headers=old)).status_code == 401
    unsigned = await lite.client.post("/v1/webhooks/generic", content=body)
    assert unsigned.status_code == 401


async def test_unconfigured_sources_fail_closed(tmp_path: Path) -> None:
    settings = api_settings(
        tmp_path, grafana_webhook_secret=None, pagerduty_webhook_secrets=[], generic_webhook_secrets=[]
    )
    async with running_api(settings) as api:
        body = _json(alertmanager_body())
        for source, setting in (
            ("grafana", "OPSAGENT_GRAFANA_WEBHOOK_SECRET"),
            ("pagerduty", "OPSAGENT_PAGERDUTY_WEBHOOK_SECRETS"),
            ("generic", "OPSAGENT_GENERIC_WEBHOOK_SECRETS"),
        ):
            response = await api.client.post(f"/v1/webhooks/{source}", content=body)
            assert response.status_code == 503 and setting in response.json()["detail"]


async def test_store_down_is_503_and_the_sender_retries(lite: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    def down(*_: object, **__: object) -> None:
        raise OperationalError("INSERT", {}, Exception("connection refused"))

    monkeypatch.setattr(lite.services.store, "record_delivery", down)
    response = await lite.client.post(
        "/v1/webhooks/alertmanager", json=alertmanager_body(), headers=lite.auth("webhook")
    )
    assert response.status_code == 503 and response.headers["retry-after"] == "5"


async def test_webhook_metrics(lite: Api) -> None:
    await lite.client.post(
        "/v1/webhooks/alertmanager", json=alertmanager_body(), headers=lite.auth("webhook")
    )
    await lite.client.post("/v1/webhooks/alertmanager", json=alertmanager_body())
    metrics = await lite.client.get("/metrics", headers=lite.auth("read"))
    text = metrics.text
    assert 'opsagent_webhooks_total{outcome="accepted",source="alertmanager"} 1.0' in text
    assert 'opsagent_webhooks_total{outcome="unauthorized",source="alertmanager"} 1.0' in text
    assert 'opsagent_queue_jobs{status="queued"} 1.0' in text
    assert 'route="/v1/webhooks/alertmanager"' in text


async def test_pagerduty_reopened_is_a_new_episode(api: Api) -> None:
    def post(event_type: str, occurred: str) -> object:
        body = json.loads(_pagerduty_event(event_type))
        body["event"]["occurred_at"] = occurred
        raw = _json(body)
        headers = {"X-PagerDuty-Signature": sign_pagerduty(raw, PAGERDUTY_SECRETS[0])}
        return api.client.post("/v1/webhooks/pagerduty", content=raw, headers=headers)

    outcomes = []
    for event_type, occurred in (
        ("incident.triggered", "2026-11-20T03:15:00Z"),
        ("incident.resolved", "2026-11-20T03:40:00Z"),
        ("incident.reopened", "2026-11-20T05:00:00Z"),
    ):
        response = await post(event_type, occurred)  # type: ignore[misc]
        outcomes.append(response.json()["alerts"][0]["outcome"])
    assert outcomes == ["created", "resolved", "created"]


async def test_token_store_down_is_503_not_500(lite: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    def down(_: str) -> None:
        raise OperationalError("SELECT", {}, Exception("connection refused"))

    monkeypatch.setattr(lite.services.tokens, "authenticate", down)
    hook = await lite.client.post(
        "/v1/webhooks/alertmanager", json=alertmanager_body(), headers=lite.auth("webhook")
    )
    assert hook.status_code == 503 and hook.headers["retry-after"] == "5"
    listing = await lite.client.get("/v1/incidents", headers=lite.auth("read"))
    assert listing.status_code == 503


async def test_lone_surrogates_are_422_not_500(lite: Api) -> None:
    body = json.dumps(alertmanager_body()).replace('"summary": "', '"summary": "\\udc80', 1).encode()
    response = await lite.client.post(
        "/v1/webhooks/alertmanager",
        content=body,
        headers={**lite.auth("webhook"), "content-type": "application/json"},
    )
    assert response.status_code == 422 and "surrogate" in response.json()["detail"]


async def test_a_pagerduty_label_on_another_source_never_steers_notes(lite: Api) -> None:
    from opsagent.incidents.worker import Worker

    body = alertmanager_body("fp-victim", pagerduty_incident_id="PVICTIM1")
    await lite.client.post("/v1/webhooks/alertmanager", json=body, headers=lite.auth("webhook"))
    worker = Worker(lite.services.settings, lite.services.store, lite.services.triage)
    incident = lite.services.store.get_incident(1)
    notice = worker._notice(incident, lite.diagnoser.diagnose(incident.alert))
    assert notice.pagerduty_incident_id is None
