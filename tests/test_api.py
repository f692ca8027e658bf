"""The rest of the API through the real app: auth on every route, incidents, search, uploads, chat."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from opsagent.api.tokens import Scope
from opsagent.incidents.worker import Worker
from opsagent.testing import ScriptedChatModel, call
from tests.api_support import Api, alertmanager_body, api_settings, running_api

pytestmark = pytest.mark.anyio
PUBLIC = {"/healthz", "/readyz", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
WEBHOOKS_WITH_OWN_AUTH = {"/v1/webhooks/grafana", "/v1/webhooks/pagerduty", "/v1/webhooks/generic"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(api_settings(tmp_path)) as running:
        yield running


def run_jobs(api: Api) -> int:
    """Run every due job with a real Worker (fake diagnoser), as the in-process worker would."""
    worker = Worker(
        api.services.settings, api.services.store, api.services.triage, metrics=api.services.metrics
    )
    count = 0
    while worker.run_once():
        count += 1
    return count


async def test_every_route_but_health_needs_a_token(api: Api) -> None:
    operations = [(m.upper(), p) for p, item in api.app.openapi()["paths"].items() for m in item]
    assert len(operations) >= 14
    for method, template in operations:
        if template in PUBLIC | WEBHOOKS_WITH_OWN_AUTH:
            continue
        path = template.replace("{incident_id}", "1").replace("{conversation_id}", "x")
        response = await api.client.request(method, path)
        assert response.status_code == 401, (method, path, response.status_code)
    assert (await api.client.get("/healthz")).status_code == 200
    ready = await api.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["llm"]["mode"] == "offline"


async def test_scopes_403_and_revoked_or_expired_tokens_401(api: Api) -> None:
    assert (await api.client.get("/v1/incidents", headers=api.auth("chat"))).status_code == 403
    assert (await api.client.get("/v1/incidents", headers=api.auth("admin"))).status_code == 200
    secret, token = api.services.tokens.create("to-revoke", [Scope.READ])
    headers = {"Authorization": f"Bearer {secret}"}
    assert (await api.client.get("/v1/incidents", headers=headers)).status_code == 200
    api.services.tokens.revoke(str(token.id))
    assert (await api.client.get("/v1/incidents", headers=headers)).status_code == 401
    expired, _ = api.services.tokens.create("expired", token.scopes, expires_in_seconds=0.001)
    await anyio.sleep(0.01)
    assert (
        await api.client.get("/v1/incidents", headers={"Authorization": f"Bearer {expired}"})
    ).status_code == 401


async def test_incidents_list_detail_timeline_and_retriage(api: Api) -> None:
    hook = api.auth("webhook")
    for i in range(3):
        await api.client.post("/v1/webhooks/alertmanager", json=alertmanager_body(f"fp-{i}"), headers=hook)
    assert run_jobs(api) == 3
    read = api.auth("read")
    page = (await api.client.get("/v1/incidents", params={"limit": 2}, headers=read)).json()
    assert page["total"] == 3 and len(page["items"]) == 2 and page["next_cursor"]
    rest = (
        await api.client.get("/v1/incidents", params={"cursor": page["next_cursor"]}, headers=read)
    ).json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert (await api.client.get("/v1/incidents", params={"status": "resolved"}, headers=read)).json()[
        "total"
    ] == 0
    bad = await api.client.get("/v1/incidents", params={"since": "yesterday-ish"}, headers=read)
    assert bad.status_code == 422 and "since" in bad.json()["detail"]

    incident_id = page["items"][0]["id"]
    detail = (await api.client.get(f"/v1/incidents/{incident_id}", headers=read)).json()
    assert detail["triage_status"] == "done" and detail["diagnosis"]["summary"].endswith("pod OOMKilled")
    assert [e["kind"] for e in detail["timeline"]] == ["opened", "triage_queued", "triage_started", "triaged"]
    assert detail["alert"]["labels"]["service"] == "payments-api"
    assert (await api.client.get("/v1/incidents/999999", headers=read)).status_code == 404

    assert (await api.client.post(f"/v1/incidents/{incident_id}/retriage", headers=read)).status_code == 403
    chat = api.auth("chat")
    first = (await api.client.post(f"/v1/incidents/{incident_id}/retriage", headers=chat)).json()
    second = (await api.client.post(f"/v1/incidents/{incident_id}/retriage", headers=chat)).json()
    assert first["created"] and not second["created"] and first["job_id"] == second["job_id"]
    assert run_jobs(api) == 1
    detail = (await api.client.get(f"/v1/incidents/{incident_id}", headers=read)).json()
    assert detail["diagnoses"] == 2
    metrics = (await api.client.get("/metrics", headers=read)).text
    assert 'opsagent_triage_seconds_count{mode="offline"} 4.0' in metrics
    assert 'opsagent_jobs_total{kind="triage",outcome="done"} 4.0' in metrics


async def test_a_failing_diagnoser_is_retried_then_given_up(tmp_path: Path) -> None:
    class Broken:
        def diagnose(self, alert: object) -> object:
            raise RuntimeError("the knowledge base is on fire")

    settings = api_settings(tmp_path, job_max_attempts=1)
    async with running_api(settings, diagnoser=Broken) as api:
        await api.client.post(
            "/v1/webhooks/alertmanager", json=alertmanager_body(), headers=api.auth("webhook")
        )
        assert run_jobs(api) == 1
        detail = (await api.client.get("/v1/incidents/1", headers=api.auth("read"))).json()
        assert detail["triage_status"] == "failed"
        assert "on fire" in detail["timeline"][-1]["message"]


RUNBOOK = """---
title: Redis eviction storm
alerts: [RedisEvictionStorm]
---
# Redis eviction storm

## Meaning
Redis is evicting keys because maxmemory was reached; cache hit rate collapses.
"""


async def test_upload_then_search(api: Api) -> None:
    files = [("files", ("redis-evictions.md", RUNBOOK.encode(), "text/markdown"))]
    response = await api.client.post(
        "/v1/knowledge", files=files, data={"folder": "runbooks/cache"}, headers=api.auth("ingest")
    )
    assert response.status_code == 200, response.text
    assert response.json()["files_ingested"] == 1 and response.json()["chunks_added"] >= 1
    stored = api.services.settings.data_dir / "uploads/runbooks/cache/redis-evictions.md"
    assert stored.read_text() == RUNBOOK
    again = await api.client.post(
        "/v1/knowledge", files=files, data={"folder": "runbooks/cache"}, headers=api.auth("ingest")
    )
    assert again.json()["files_unchanged"] == 1

    found = await api.client.post(
        "/v1/search", json={"query": "RedisEvictionStorm", "k": 3}, headers=api.auth("read")
    )
    assert found.status_code == 200
    top = found.json()["results"][0]
    assert top["title"] == "Redis eviction storm" and top["citation"]["source"].endswith("redis-evictions.md")
    assert (
        await api.client.post("/v1/search", json={"query": ""}, headers=api.auth("read"))
    ).status_code == 422


@pytest.mark.parametrize(
    ("name", "folder"),
    [
        ("../escape.md", None),
        ("/etc/passwd.md", None),
        ("..\\escape.md", None),
        ("sub/dir.md", None),
        (".hidden.md", None),
        ("payload.exe", None),
        ("ok.md", "../../etc"),
        ("ok.md", "/abs"),
        ("ok.md", "a/./b"),
    ],
)
async def test_upload_refuses_path_traversal(api: Api, name: str, folder: str | None) -> None:
    data = {"folder": folder} if folder else {}
    response = await api.client.post(
        "/v1/knowledge",
        files=[("files", (name, b"# x\n", "text/markdown"))],
        data=data,
        headers=api.auth("ingest"),
    )
    assert response.status_code == 422, response.text
    root = api.services.settings.data_dir
    assert not any(p.is_file() for p in root.parent.rglob("escape.md"))
    assert not (root / "uploads").exists() or not any((root / "uploads").rglob("*.md"))


async def test_upload_size_limit(tmp_path: Path) -> None:
    async with running_api(api_settings(tmp_path, upload_max_bytes=2048)) as api:
        files = [("files", ("big.log", b"x" * 4096, "text/plain"))]
        response = await api.client.post("/v1/knowledge", files=files, headers=api.auth("ingest"))
        assert response.status_code == 413
        assert not (api.services.settings.data_dir / "uploads/big.log").exists()


async def test_offline_chat_keeps_the_conversation(api: Api) -> None:
    chat = api.auth("chat")
    first = await api.client.post("/v1/chat", json={"message": "payments-api OOMKilled"}, headers=chat)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["mode"] == "offline" and body["conversation_id"]
    follow = await api.client.post(
        "/v1/chat", json={"message": "and now?", "conversation_id": body["conversation_id"]}, headers=chat
    )
    assert follow.json()["conversation_id"] == body["conversation_id"]
    history = (await api.client.get(f"/v1/chat/{body['conversation_id']}", headers=chat)).json()
    assert [m["role"] for m in history["messages"]] == ["user", "assistant", "user", "assistant"]
    # Another token cannot read or continue it.
    other = api.auth("admin")
    assert (await api.client.get(f"/v1/chat/{body['conversation_id']}", headers=other)).status_code == 404
    stolen = await api.client.post(
        "/v1/chat", json={"message": "hi", "conversation_id": body["conversation_id"]}, headers=other
    )
    assert stolen.status_code == 404


def _sse(text: str) -> list[tuple[str, dict[str, object]]]:
    events = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        events.append((fields.get("event", "message"), json.loads(fields["data"])))
    return events


async def test_chat_stream_with_a_scripted_model(tmp_path: Path, demo_kb: object) -> None:
    model = ScriptedChatModel(
        [
            call("search_runbooks", query="payments-api OOMKilled"),
            "The pod is OOMKilled: raise the memory limit (see the runbook).",
        ]
    )
    settings = api_settings(tmp_path, data_dir=demo_kb.settings.data_dir)  # type: ignore[attr-defined]
    async with running_api(settings, chat_model=model) as api:
        response = await api.client.post(
            "/v1/chat/stream", json={"message": "why is payments-api crashlooping?"}, headers=api.auth("chat")
        )
        assert response.status_code == 200 and response.headers["content-type"].startswith(
            "text/event-stream"
        )
        events = _sse(response.text)
        kinds = [kind for kind, _ in events]
        assert kinds[0] == "conversation" and kinds[-1] == "done"
        assert "tool" in kinds and "token" in kinds and "citation" in kinds
        done = events[-1][1]
        assert "OOMKilled" in str(done["answer"]) and done["sources"]
        model.assert_complete()
        conversation = str(events[0][1]["conversation_id"])
        history = (await api.client.get(f"/v1/chat/{conversation}", headers=api.auth("chat"))).json()
        assert history["messages"][-1]["sources"] == done["sources"]


async def test_triage_posts_to_slack_and_pagerduty(tmp_path: Path) -> None:
    """The worker's notify jobs reach a local fake receiver; a failing target is retried by the queue."""
    from opsagent.incidents.notify import Notifier
    from tests.test_notify import Receiver, Reply

    receiver = Receiver()
    receiver.start()
    try:
        settings = api_settings(
            tmp_path,
            slack_webhook_url=f"{receiver.url}/services/T000/B000/XXXX",
            pagerduty_api_token="pd-token",
            pagerduty_from_email="oncall@example.com",
            pagerduty_api_url=receiver.url,
            public_url="https://opsagent.example.com",
            notify_max_attempts=1,
        )
        async with running_api(settings) as api:
            receiver.script(Reply(200, "ok"), Reply(201, "{}"))
            body = json.loads(_PD_TRIGGERED)
            from opsagent.integrations.webhook_signatures import sign_pagerduty
            from tests.api_support import PAGERDUTY_SECRETS

            raw = json.dumps(body).encode()
            headers = {"X-PagerDuty-Signature": sign_pagerduty(raw, PAGERDUTY_SECRETS[0])}
            assert (
                await api.client.post("/v1/webhooks/pagerduty", content=raw, headers=headers)
            ).status_code == 202
            notifier = Notifier(settings)
            worker = Worker(settings, api.services.store, api.services.triage, notifier=notifier)
            ran = 0
            while worker.run_once():
                ran += 1
            notifier.close()
            assert ran == 3  # triage, then one notify job per target
            paths = sorted(r.path for r in receiver.requests)
            assert paths == ["/incidents/PXYZ123/notes", "/services/T000/B000/XXXX"]
            slack = next(r for r in receiver.requests if r.path.startswith("/services"))
            assert "pod OOMKilled" in json.dumps(slack.json())
            detail = (await api.client.get("/v1/incidents/1", headers=api.auth("read"))).json()
            kinds = [e["kind"] for e in detail["timeline"]]
            assert kinds.count("notified") == 2
    finally:
        receiver.stop()


_PD_TRIGGERED = json.dumps(
    {
        "event": {
            "id": "evt1",
            "event_type": "incident.triggered",
            "resource_type": "incident",
            "occurred_at": "2026-11-20T03:15:00Z",
            "data": {
                "id": "PXYZ123",
                "type": "incident",
                "title": "payments-api OOMKilled",
                "urgency": "high",
                "created_at": "2026-11-20T03:15:00Z",
                "service": {"id": "PSVC", "summary": "payments-api"},
            },
        }
    }
)


async def test_openapi_docs_work_offline(api: Api) -> None:
    page = await api.client.get("/docs")
    assert page.status_code == 200 and "/docs/assets/swagger-ui-bundle.js" in page.text
    assert "cdn" not in page.text.lower()
    script = await api.client.get("/docs/assets/swagger-ui-bundle.js")
    assert script.status_code == 200 and len(script.content) > 100_000
    spec = (await api.client.get("/openapi.json")).json()
    assert "/v1/webhooks/alertmanager" in spec["paths"] and "/v1/chat/stream" in spec["paths"]


async def test_bodies_are_bounded_before_auth(api: Api) -> None:
    big = b'{"query": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    for path in ("/v1/search", "/v1/chat", "/v1/chat/stream"):
        response = await api.client.post(path, content=big, headers={"content-type": "application/json"})
        assert response.status_code == 413, (path, response.status_code)


async def test_upload_name_clashing_with_a_folder_or_file_is_422(api: Api) -> None:
    ingest = api.auth("ingest")
    ok = await api.client.post(
        "/v1/knowledge", files=[("files", ("db.md", RUNBOOK.encode()))], headers=ingest
    )
    assert ok.status_code == 200
    under_a_file = await api.client.post(
        "/v1/knowledge", files=[("files", ("restore.md", b"# r\n"))], data={"folder": "db.md"}, headers=ingest
    )
    assert under_a_file.status_code == 422, under_a_file.text
    await api.client.post(
        "/v1/knowledge", files=[("files", ("x.md", b"# x\n"))], data={"folder": "runbooks"}, headers=ingest
    )
    over_a_folder = await api.client.post(
        "/v1/knowledge", files=[("files", ("runbooks.md", b"# r\n"))], headers=ingest
    )
    assert over_a_folder.status_code == 200  # runbooks.md is not runbooks/
    staging = api.services.settings.data_dir / "uploads/.staging"
    assert not any(staging.iterdir())


def test_access_log_escapes_control_characters_and_bounds_methods() -> None:
    from opsagent.api.logs import KNOWN_METHODS, _printable

    assert _printable("/x\nFAKE ERROR line") == "/x\\nFAKE ERROR line"
    assert "QWERTY" not in KNOWN_METHODS


async def test_readyz_tells_anonymous_callers_no_internals(api: Api) -> None:
    body = (await api.client.get("/readyz")).json()
    assert "base_url" not in body["checks"]["llm"]


async def test_a_misspelt_incident_filter_is_422_not_everything(api: Api) -> None:
    response = await api.client.get("/v1/incidents", params={"staus": "firing"}, headers=api.auth("read"))
    assert response.status_code == 422 and "'staus'" in response.json()["detail"]
