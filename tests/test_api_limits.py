"""Resource limits and replays: auth before any body is read, header and body deadlines on a real uvicorn,
upload limits (sent, decompressed, line length, files, runbook size), Grafana replays, request ids.

Regressions for the red-team findings of issue 9 ("Resource exhaustion", "Replays").
"""

from __future__ import annotations

import gzip
import json
import select
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.routing import APIRoute, iter_route_contexts

from opsagent.api.app import create_app
from opsagent.api.auth import AuthFirstRoute, required_scopes
from opsagent.api.server import H11WithDeadlines, HttpToolsWithDeadlines, uvicorn_options
from opsagent.api.services import Services
from opsagent.api.tokens import Scope
from opsagent.api.upload_limits import ExpandedBudget, FileMeter, UploadLimitError, UploadLimits
from opsagent.config import Settings
from opsagent.integrations.webhook_signatures import sign_grafana
from tests.api_support import GRAFANA_SECRET, Api, FakeDiagnoser, alertmanager_body, api_settings, running_api

pytestmark = pytest.mark.anyio
LOG_LINE = b"2026-11-20T03:15:00Z ERROR payments-api connection refused to db-primary:5432\n"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(api_settings(tmp_path)) as running:
        yield running


# --- 1. the token is checked before a byte of the body is read ------------------------------------------


async def _call_without_body(api: Api, path: str, headers: dict[str, str]) -> tuple[int, int]:
    """Call the app directly over ASGI with a body that never arrives; (status, receive() calls)."""
    calls = 0
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal calls
        calls += 1
        raise AssertionError("the body was read before the token was checked")

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "server": ("opsagent.test", 80),
        "client": ("127.0.0.1", 1234),
        "headers": [
            (b"host", b"opsagent.test"),
            (b"content-type", b"multipart/form-data; boundary=xyz"),
            (b"content-length", b"1000000"),
            *[(k.lower().encode(), v.encode()) for k, v in headers.items()],
        ],
    }
    await api.app(scope, receive, send)
    return status, calls


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer opsa_not-a-token"}, 401),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, 401),
        ("read", 403),
    ],
    ids=["none", "unknown", "basic", "wrong-scope"],
)
async def test_upload_checks_the_token_before_reading_the_body(
    api: Api, headers: dict[str, str] | str, status: int
) -> None:
    """The upload read (and spooled to temporary files) up to 50 MiB before answering 401."""
    sent = api.auth(headers) if isinstance(headers, str) else headers
    assert await _call_without_body(api, "/v1/knowledge", sent) == (status, 0)
    assert not (api.services.settings.data_dir / "uploads").exists()


async def test_a_bad_token_with_a_bad_body_is_401_on_every_operation(api: Api) -> None:
    """JSON was parsed before auth: a bad token with bad JSON got 400/422 instead of 401."""
    spec = api.app.openapi()
    operations = [(m.upper(), p) for p, item in spec["paths"].items() for m in item if m == "post"]
    assert len(operations) >= 5
    public = {"/v1/webhooks/grafana", "/v1/webhooks/pagerduty", "/v1/webhooks/generic"}
    for method, template in operations:
        if template in public:
            continue
        path = template.replace("{incident_id}", "1")
        for body, content_type in (
            (b"{not json", "application/json"),
            (b"--x\r\nbroken", "multipart/form-data"),
        ):
            for headers, expected in (
                ({"Authorization": "Bearer opsa_nope"}, 401),
                (api.auth("approve"), 403),
            ):
                response = await api.client.request(
                    method, path, content=body, headers={**headers, "content-type": content_type}
                )
                assert response.status_code == expected, (method, path, response.status_code, response.text)


def test_every_route_with_a_scope_checks_it_before_the_body(tmp_path: Path) -> None:
    """New routes must use AuthFirstRoute, or FastAPI reads their body before the token dependency runs."""
    app = create_app(api_settings(tmp_path), run_worker=False)
    routes = [context.original_route for context in iter_route_contexts(app.routes)]
    scoped = [route for route in routes if isinstance(route, APIRoute) and required_scopes(route.dependant)]
    assert len(scoped) >= 8
    assert [route.path for route in scoped if not isinstance(route, AuthFirstRoute)] == []
    app.state.services.close()


async def test_an_over_limit_json_body_names_the_limit(api: Api) -> None:
    big = b'{"query": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    response = await api.client.post(
        "/v1/search", content=big, headers={**api.auth("read"), "content-type": "application/json"}
    )
    assert response.status_code == 413


# --- 3. upload limits --------------------------------------------------------------------------------------


def _upload_settings(tmp_path: Path, **overrides: Any) -> Settings:
    return api_settings(tmp_path, **overrides)


async def _upload(api: Api, *files: tuple[str, bytes], **form: str) -> httpx.Response:
    parts = [("files", (name, content, "application/octet-stream")) for name, content in files]
    return await api.client.post("/v1/knowledge", files=parts, data=form, headers=api.auth("ingest"))


def _stored(api: Api) -> list[str]:
    uploads = api.services.settings.data_dir / "uploads"
    return sorted(p.name for p in uploads.rglob("*") if p.is_file()) if uploads.exists() else []


async def test_a_gzip_bomb_is_413_and_nothing_is_stored(tmp_path: Path) -> None:
    """A 164 KiB .gz expanded to 215 MB and 500,000 lines: there was no decompressed-size limit."""
    settings = _upload_settings(tmp_path, upload_max_expanded_bytes=1024 * 1024)
    bomb = gzip.compress(LOG_LINE * 40_000)  # 3.2 MB of log lines in ~20 KB
    async with running_api(settings) as api:
        response = await _upload(api, ("ok.log", LOG_LINE * 10), ("app.log.gz", bomb))
        assert response.status_code == 413, response.text
        detail = response.json()["detail"]
        assert "app.log.gz" in detail and "OPSAGENT_UPLOAD_MAX_EXPANDED_BYTES" in detail
        assert _stored(api) == []  # all or nothing: ok.log was not kept either
        staging = api.services.settings.data_dir / "uploads/.staging"
        assert not staging.exists() or list(staging.iterdir()) == []


@pytest.mark.parametrize(
    "content",
    [
        gzip.compress(LOG_LINE * 20_000) + gzip.compress(LOG_LINE * 20_000),  # `cat a.gz b.gz`
        gzip.compress(LOG_LINE * 40_000),
    ],
    ids=["concatenated-members", "one-member"],
)
async def test_gzip_content_is_metered_whatever_the_name(tmp_path: Path, content: bytes) -> None:
    """Ingest decompresses any file starting with the gzip magic (rotated `app.log.1`), so `.log` too."""
    async with running_api(_upload_settings(tmp_path, upload_max_expanded_bytes=2 * 1024 * 1024)) as api:
        response = await _upload(api, ("rotated.log", content))
        assert response.status_code == 413, response.text


async def test_a_gzip_within_the_limit_is_ingested(tmp_path: Path) -> None:
    async with running_api(_upload_settings(tmp_path, upload_max_expanded_bytes=1024 * 1024)) as api:
        response = await _upload(api, ("app.log.gz", gzip.compress(LOG_LINE * 1000)))
        assert response.status_code == 200, response.text
        assert _stored(api) == ["app.log.gz"]


async def test_an_overlong_line_is_422_naming_the_setting(tmp_path: Path) -> None:
    async with running_api(_upload_settings(tmp_path, upload_max_line_bytes=4096)) as api:
        response = await _upload(api, ("one-line.log", b"x" * 5000 + b"\n"))
        assert response.status_code == 422, response.text
        assert "OPSAGENT_UPLOAD_MAX_LINE_BYTES" in response.json()["detail"]
        inside_gzip = gzip.compress(LOG_LINE + b"y" * 10_000)
        response = await _upload(api, ("packed.log.gz", inside_gzip))
        assert response.status_code == 422, response.text
        assert (await _upload(api, ("fine.log", LOG_LINE * 100))).status_code == 200


async def test_too_many_files_is_413_naming_the_setting(tmp_path: Path) -> None:
    async with running_api(_upload_settings(tmp_path, upload_max_files=3)) as api:
        files = [(f"f{i}.log", LOG_LINE) for i in range(4)]
        response = await _upload(api, *files)
        assert response.status_code == 413, response.text
        assert "OPSAGENT_UPLOAD_MAX_FILES" in response.json()["detail"]
        many = [(f"g{i}.log", LOG_LINE) for i in range(20)]  # past Starlette's own parser cap too
        response = await _upload(api, *many)
        assert response.status_code == 413 and "OPSAGENT_UPLOAD_MAX_FILES" in response.json()["detail"]
        assert (await _upload(api, *files[:3])).status_code == 200


async def test_upload_size_limits_name_their_settings(tmp_path: Path) -> None:
    settings = _upload_settings(tmp_path, upload_max_bytes=64 * 1024, max_runbook_bytes=2048)
    async with running_api(settings) as api:
        response = await _upload(api, ("a.log", LOG_LINE * 500), ("b.log", LOG_LINE * 500))
        assert response.status_code == 413 and "OPSAGENT_UPLOAD_MAX_BYTES" in response.json()["detail"]
        response = await _upload(api, ("huge.log", b"z\n" * 200_000))  # over the whole-request cap
        assert response.status_code == 413 and "OPSAGENT_UPLOAD_MAX_BYTES" in response.json()["detail"]
        response = await _upload(api, ("long.md", b"# Runbook\n" + b"words words\n" * 300))
        assert response.status_code == 413 and "OPSAGENT_MAX_RUNBOOK_BYTES" in response.json()["detail"]
        assert _stored(api) == []


async def test_upload_form_fields_are_validated(api: Api) -> None:
    response = await _upload(api, ("a.md", b"# a\n"), kind="spreadsheet")
    assert response.status_code == 422 and "kind" in response.json()["detail"]
    response = await api.client.post(
        "/v1/knowledge", data={"files": "not a file"}, headers=api.auth("ingest")
    )
    assert response.status_code == 422, response.text
    response = await api.client.post(
        "/v1/knowledge",
        content=b"--x\r\nbroken",
        headers={**api.auth("ingest"), "content-type": "multipart/form-data; boundary=x"},
    )
    assert 400 <= response.status_code < 500, response.text


@pytest.mark.parametrize("step", [1, 2, 3, 7, 4096])
def test_the_meter_counts_the_same_whatever_the_chunking(step: int) -> None:
    data = gzip.compress(b"a\n" * 500) + gzip.compress(b"bb\n" * 300) + b"\x00\x00garbage"
    limits = UploadLimits(
        request_bytes=10**9, expanded_bytes=10**9, line_bytes=10**6, files=10, runbook_bytes=1
    )
    meter = FileMeter("x.gz", limits, ExpandedBudget(limits.expanded_bytes))
    for start in range(0, len(data), step):
        meter.feed(data[start : start + step])
    meter.finish()
    assert meter.expanded == 1000 + 900  # trailing bytes that are not a member end the stream (as ingest)


@pytest.mark.parametrize("step", [1, 5, 1000])
def test_the_meter_finds_the_longest_line_across_chunks(step: int) -> None:
    limits = UploadLimits(request_bytes=10**9, expanded_bytes=10**9, line_bytes=10, files=10, runbook_bytes=1)
    ok = b"0123456789\n" * 5 + b"short\nx"
    meter = FileMeter("ok.log", limits, ExpandedBudget(10**9))
    for start in range(0, len(ok), step):
        meter.feed(ok[start : start + step])
    meter.finish()
    bad = b"short\n" + b"0123456789A\nend\n"
    meter = FileMeter("bad.log", limits, ExpandedBudget(10**9))
    with pytest.raises(UploadLimitError, match="OPSAGENT_UPLOAD_MAX_LINE_BYTES"):
        for start in range(0, len(bad), step):
            meter.feed(bad[start : start + step])


def test_a_one_byte_file_is_counted() -> None:
    limits = UploadLimits(request_bytes=100, expanded_bytes=100, line_bytes=100, files=1, runbook_bytes=100)
    meter = FileMeter("x.log", limits, ExpandedBudget(100))
    meter.feed(b"x")
    meter.finish()
    assert meter.expanded == 1


async def test_compressed_webhook_bodies_are_415(api: Api) -> None:
    body = gzip.compress(json.dumps(alertmanager_body("fp-gz")).encode())
    response = await api.client.post(
        "/v1/webhooks/alertmanager",
        content=body,
        headers={**api.auth("webhook"), "content-type": "application/json", "content-encoding": "gzip"},
    )
    assert response.status_code == 415, response.text
    assert "Content-Encoding" in response.json()["detail"]
    assert api.services.store.counts()["alert_events"] == 0


# --- 4. replays and request ids -------------------------------------------------------------------------


async def test_grafana_without_a_timestamp_is_refused_by_default(api: Api) -> None:
    body = json.dumps(alertmanager_body("fp-no-ts")).encode()
    response = await api.client.post(
        "/v1/webhooks/grafana", content=body, headers=sign_grafana(body, GRAFANA_SECRET)
    )
    assert response.status_code == 401, response.text
    detail = response.json()["detail"]
    assert (
        "X-Grafana-Alerting-Signature-Timestamp" in detail and "OPSAGENT_GRAFANA_REQUIRE_TIMESTAMP" in detail
    )


async def test_grafana_without_a_timestamp_when_not_required(tmp_path: Path) -> None:
    async with running_api(api_settings(tmp_path, grafana_require_timestamp=False)) as api:
        body = json.dumps(alertmanager_body("fp-no-ts")).encode()
        headers = sign_grafana(body, GRAFANA_SECRET)
        response = await api.client.post("/v1/webhooks/grafana", content=body, headers=headers)
        assert response.status_code == 202 and response.json()["status"] == "accepted", response.text


async def test_an_identical_signed_grafana_delivery_is_not_processed_twice(api: Api) -> None:
    """A captured request replayed inside the timestamp window was processed again."""
    firing = json.dumps(alertmanager_body("fp-replay")).encode()
    resolved = json.dumps(alertmanager_body("fp-replay", status="resolved")).encode()
    signed_firing = sign_grafana(firing, GRAFANA_SECRET, int(time.time()))
    first = await api.client.post("/v1/webhooks/grafana", content=firing, headers=signed_firing)
    assert first.status_code == 202 and first.json()["status"] == "accepted", first.text
    closing = sign_grafana(resolved, GRAFANA_SECRET, int(time.time()))
    assert (
        await api.client.post("/v1/webhooks/grafana", content=resolved, headers=closing)
    ).status_code == 202
    replay = await api.client.post("/v1/webhooks/grafana", content=firing, headers=signed_firing)
    assert replay.status_code == 202 and replay.json()["status"] == "duplicate", replay.text
    incident = api.services.store.get_incident(first.json()["alerts"][0]["incident_id"])
    assert incident.status == "resolved"  # the replayed "firing" did not reopen it
    # Grafana signing the same body again a second later is a new delivery, not a replay.
    again = sign_grafana(firing, GRAFANA_SECRET, int(time.time()) + 1)
    fresh = await api.client.post("/v1/webhooks/grafana", content=firing, headers=again)
    assert fresh.json()["status"] == "accepted", fresh.text


@pytest.mark.parametrize(
    ("sent", "echoed"),
    [
        ("req-0123456789abcdef", True),
        ("01HV6Z3Q7Y9XK2M4N5P6R7S8T9", True),
        ("0f8fad5b-d9cb-469f-a165-70867728950e", True),
        ("x" * 65, False),
        ("x" * 5000, False),
        ("<script>alert(1)</script>", False),
        ("id with spaces", False),
        ("caf\xe9", False),
    ],
)
async def test_request_ids_are_echoed_only_when_short_and_plain(api: Api, sent: str, echoed: bool) -> None:
    response = await api.client.get("/healthz", headers={"X-Request-Id": sent.encode("latin-1")})
    returned = response.headers["x-request-id"]
    assert (returned == sent) is echoed
    assert len(returned) <= 64 and returned.isascii() and returned.isprintable()


# --- 2. slow clients against a real uvicorn on loopback ---------------------------------------------------

HEADER_TIMEOUT = 1.0
BODY_TIMEOUT = 1.5
GIVE_UP = 12.0  # a connection still open after this long was never going to be closed


@contextmanager
def real_server(
    tmp_path: Path, protocol: type | None = None
) -> Iterator[tuple[int, dict[str, str], Services]]:
    """The app on a real uvicorn (the options `opsagent serve` uses) in a thread; (port, tokens)."""
    settings = api_settings(
        tmp_path, api_header_timeout_seconds=HEADER_TIMEOUT, api_body_timeout_seconds=BODY_TIMEOUT, api_port=1
    )
    services = Services.build(settings, diagnoser_factory=FakeDiagnoser)
    tokens = {scope.value: services.tokens.create(scope.value, [scope])[0] for scope in Scope}
    options = uvicorn_options(settings)
    if protocol is not None:
        options["http"] = protocol
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    options.update(port=port, timeout_graceful_shutdown=2)
    server = uvicorn.Server(uvicorn.Config(create_app(settings, services, run_worker=False), **options))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield port, tokens, services
    finally:
        server.should_exit = True
        thread.join(15)


def _dribble(port: int, head: bytes, tail: bytes, interval: float = 0.2) -> tuple[float | None, bytes]:
    """Send `head` at once, then `tail` a byte every `interval` s, until the server closes the connection.

    Returns (seconds until closed or None if still open after GIVE_UP, what the server sent)."""
    started = time.monotonic()
    received = b""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        if head:
            sock.sendall(head)
        index = 0
        while time.monotonic() - started < GIVE_UP:
            readable, _, _ = select.select([sock], [], [], interval)
            if readable:
                try:
                    chunk = sock.recv(65536)
                except ConnectionError:
                    return time.monotonic() - started, received
                if not chunk:
                    return time.monotonic() - started, received
                received += chunk
                continue
            try:
                sock.sendall(tail[index % len(tail) : index % len(tail) + 1] if tail else b"")
            except (BrokenPipeError, ConnectionResetError):
                return time.monotonic() - started, received
            index += 1
    return None, received


def _answers(port: int) -> bool:
    return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200


@pytest.mark.parametrize("protocol", [HttpToolsWithDeadlines, H11WithDeadlines], ids=["httptools", "h11"])
def test_slow_headers_are_cut_off_and_others_are_served(tmp_path: Path, protocol: type) -> None:
    """No header timeout: 400 connections sending a byte a second were held for 90 s and more."""
    with real_server(tmp_path, protocol) as (port, _, _):
        results: dict[str, tuple[float | None, bytes]] = {}

        def run(name: str, head: bytes, tail: bytes) -> None:
            results[name] = _dribble(port, head, tail)

        cases = {
            "idle": (b"", b""),
            "dribbled-headers": (b"GET /healthz HTTP/1.1\r\nHost: x\r\n", b"X-Slow: " + b"a" * 1000),
            "second-request": (
                b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
                b"GET /healthz HTTP/1.1\r\nX-Slow: " + b"a" * 1000,
            ),
        }
        threads = [threading.Thread(target=run, args=(name, *case)) for name, case in cases.items()]
        for thread in threads:
            thread.start()
        time.sleep(HEADER_TIMEOUT / 2)
        assert _answers(port)  # served while the slow ones are open
        for thread in threads:
            thread.join()
        assert _answers(port)
    for name, (closed_after, _received) in results.items():
        assert closed_after is not None, f"{name}: the connection was still open after {GIVE_UP}s"
    assert results["second-request"][1].count(b"HTTP/1.1 200") == 1  # the first request was answered


def test_a_slow_body_gets_408_and_the_connection_is_closed(tmp_path: Path) -> None:
    with real_server(tmp_path) as (port, tokens, _):
        head = (
            b"POST /v1/search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {tokens['read']}\r\nContent-Length: 500\r\n\r\n".encode()
        )
        closed_after, received = _dribble(port, head, b'{"query": "' + b"a" * 480)
        assert closed_after is not None, f"still open after {GIVE_UP}s"
        assert received.startswith(b"HTTP/1.1 408"), received[:200]
        assert b"OPSAGENT_API_BODY_TIMEOUT_SECONDS" in received
        assert _answers(port)


def test_an_unauthenticated_upload_is_refused_at_once_and_closed(tmp_path: Path) -> None:
    """The refused upload's body must not keep the connection: it is closed after the 401."""
    with real_server(tmp_path) as (port, _, services):
        head = (
            b"POST /v1/knowledge HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer opsa_wrong\r\n"
            b"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 1000000\r\n\r\n"
            b'--b\r\nContent-Disposition: form-data; name="files"; filename="a.log"\r\n\r\n'
        )
        closed_after, received = _dribble(port, head, b"x", interval=0.05)
        assert closed_after is not None, f"still open after {GIVE_UP}s"
        assert received.startswith(b"HTTP/1.1 401"), received[:200]
        assert b"connection: close" in received.lower()
        assert not (services.settings.data_dir / "uploads").exists()


def test_oversized_headers_are_431(tmp_path: Path) -> None:
    with real_server(tmp_path) as (port, _, _):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-Big: " + b"a" * 70_000 + b"\r\n\r\n")
            received = b""
            while chunk := sock.recv(65536):
                received += chunk
        assert received.startswith(b"HTTP/1.1 431"), received[:200]
        assert b"OPSAGENT_API_MAX_HEADER_BYTES" in received
        assert _answers(port)
