"""Schemathesis against the app's own OpenAPI spec: no generated request may get a 5xx.

The app is built once when this module is imported (schemathesis needs the spec to make one test per
operation): a real database, the real routes, a fake diagnoser, no worker. Every generated request carries
an admin token, so the fuzzer gets past auth into validation and the handlers. The same spec is run
against SQLite and against PostgreSQL (NUL characters and column widths only fail there), with a few
incidents and a small knowledge base seeded so lookups, search and chat reach their success paths.

The webhooks take a raw signed body the spec cannot describe, so `test_webhook_bodies_never_5xx` fuzzes
their bodies directly (signed or with a token, so they reach the parsers and the store).

Runs are bounded (MAX_EXAMPLES per operation) and derandomized, so CI is reproducible.
"""

from __future__ import annotations

import atexit
import base64
import itertools
import json
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import positive_data_acceptance

from opsagent.agent.diagnosis import Confidence, Diagnosis
from opsagent.api.app import create_app
from opsagent.api.services import Services
from opsagent.api.tokens import Scope
from opsagent.config import Settings
from opsagent.incidents.models import Alert
from opsagent.integrations.alertmanager import parse_alertmanager
from opsagent.integrations.webhook_signatures import (
    PAGERDUTY_SIGNATURE_HEADER,
    sign_grafana,
    sign_pagerduty,
    sign_standard_webhook,
)

REPO = Path(__file__).resolve().parents[1]
GRAFANA_SECRET = "grafana-hmac-secret"
PAGERDUTY_SECRET = "pd-secret"
GENERIC_SECRET = "whsec_" + base64.b64encode(b"schemathesis-signing-key-0123456").decode()
MAX_EXAMPLES = 30
WEBHOOK_EXAMPLES = 40
FUZZ = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    # conftest's autouse fixtures (no network, clean env) are function-scoped; sharing them is fine.
    suppress_health_check=list(HealthCheck),
)

RUNBOOK = """---
title: Pod OOMKilled
service: payments-api
alerts: [KubePodOOMKilled]
---
# Pod OOMKilled

## Meaning
A container exceeded its memory limit and the kernel killed it (exit code 137).

## Mitigation
Raise the memory limit or restart the deployment.
"""
LOG = "".join(
    f"2026-11-20T03:1{i % 10}:00Z ERROR payments-api container api OOMKilled pod=payments-{i}\n"
    for i in range(40)
)


class FakeDiagnoser:
    """Never called (no worker runs), but the app must not build a real triage."""

    def diagnose(self, alert: Alert) -> Diagnosis:
        return Diagnosis(
            alert_name=alert.name,
            summary="fake",
            probable_root_cause="fake",
            confidence=Confidence(value=0.5, reason="fake"),
        )


@dataclass
class Built:
    """One app on one database, with an admin token."""

    app: FastAPI
    services: Services
    secret: str
    root: Path
    seeded: bool = False

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret}"}

    def client(self) -> TestClient:
        # No `with`: the lifespan would close the services this module shares.
        return TestClient(self.app, raise_server_exceptions=False, base_url="http://testserver")

    async def asgi(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """The app for schemathesis, minus its lifespan.

        Schemathesis ends an app's lifespan after every test, and the app's lifespan closes its Services
        (the knowledge base's log store cannot be reopened); the fixtures own that life cycle here.
        """
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        while (await receive())["type"] != "lifespan.shutdown":  # startup, then shutdown
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})


def build(database_url: str | None = None) -> Built:
    root = Path(tempfile.mkdtemp(prefix="opsagent-schemathesis-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    with pytest.MonkeyPatch.context() as patch:  # at import time conftest's env cleaning has not run
        for key in list(os.environ):
            if key.startswith("OPSAGENT_") or key == "OPENAI_API_KEY":
                patch.delenv(key)
        app_settings = Settings(
            data_dir=root / "data",
            database_url=database_url or f"sqlite:///{root / 'db.sqlite3'}",
            grafana_webhook_secret=GRAFANA_SECRET,
            pagerduty_webhook_secrets=[PAGERDUTY_SECRET],
            generic_webhook_secrets=[GENERIC_SECRET],
            action_catalog=REPO / "knowledge/actions/catalog.yaml",
        )
    services = Services.build(app_settings, chat_model=None, diagnoser_factory=FakeDiagnoser)
    app = create_app(app_settings, services, run_worker=False)
    secret, _ = services.tokens.create("schemathesis", [Scope.ADMIN])
    return Built(app, services, secret, root)


def seed(built: Built) -> Built:
    """A few incidents (ids 1-3) and a tiny knowledge base with a runbook and a log."""
    if built.seeded:
        return built
    body = json.loads((REPO / "knowledge/alerts/payments-oom.json").read_text())
    for index in range(3):
        body["alerts"][0]["fingerprint"] = f"seed-{index}"
        built.services.store.record_delivery("alertmanager", parse_alertmanager(body))
    knowledge = built.root / "knowledge"
    knowledge.mkdir()
    (knowledge / "pod-oomkilled.md").write_text(RUNBOOK)
    (knowledge / "payments.log").write_text(LOG)
    built.services.ingest([knowledge])
    built.seeded = True
    return built


SQLITE = build()
schema = schemathesis.openapi.from_asgi("/openapi.json", SQLITE.asgi, config=schemathesis.Config())


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def target(request: pytest.FixtureRequest) -> Iterator[Built]:
    """The seeded app on SQLite, or on a fresh clone of the migrated Postgres template."""
    if request.param == "sqlite":
        yield seed(SQLITE)
        SQLITE.services.close()
        return
    from sqlalchemy import create_engine, text

    from tests.conftest import POSTGRES_ADMIN_URL

    template = request.getfixturevalue("postgres_template")  # skips without PostgreSQL (fails in CI)
    name = f"opsagent_st_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    built = build(POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
    try:
        yield seed(built)
    finally:
        built.services.close()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# --- every operation of the spec, fuzzed ----------------------------------------------------------------


@schema.parametrize()
@FUZZ
def test_no_server_errors(case: schemathesis.Case, target: Built) -> None:
    """Status < 500, and status code, content type, headers and body as the spec declares.

    positive_data_acceptance is left out: it wants every schema-valid request accepted, but the spec
    cannot express what the handlers rightly refuse with 422 (a `since` that is not a time, an upload
    name with a path, an alert without a name).
    """
    case.call_and_validate(app=target.asgi, headers=target.auth, excluded_checks=[positive_data_acceptance])


PUBLIC = {("GET", "/healthz"), ("GET", "/readyz")}


def _operations() -> list[tuple[str, str]]:
    spec = SQLITE.app.openapi()
    return [(method.upper(), path) for path, item in spec["paths"].items() for method in item]


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer opsa_not-a-token", "Bearer " + "x" * 300, "Basic dXNlcjpwYXNz", "Bearer"],
    ids=["none", "unknown", "long", "basic", "empty"],
)
def test_every_operation_refuses_bad_credentials_with_401(target: Built, authorization: str | None) -> None:
    """No token, or a bad one: 401 on every operation but the probes, never a 5xx."""
    client = target.client()
    headers = {"Authorization": authorization} if authorization else {}
    operations = _operations()
    assert len(operations) >= 16
    for method, path in operations:
        url = path.replace("{incident_id}", "1").replace("{conversation_id}", "c")
        response = client.request(method, url, headers=headers, json={"message": "hi", "query": "hi"})
        expected = 200 if (method, path) in PUBLIC else 401
        assert response.status_code == expected, (method, path, response.status_code, response.text)


# --- webhook bodies: the spec has no schema for them, so they are fuzzed here --------------------------

_ids = itertools.count()
SIGNERS: dict[str, Callable[[Built, bytes], dict[str, str]]] = {
    "alertmanager": lambda built, _: built.auth,
    "opsgenie": lambda built, _: built.auth,
    "grafana": lambda _, body: sign_grafana(body, GRAFANA_SECRET, int(time.time())),
    "pagerduty": lambda _, body: {PAGERDUTY_SIGNATURE_HEADER: sign_pagerduty(body, PAGERDUTY_SECRET)},
    "generic": lambda _, body: sign_standard_webhook(
        body, GENERIC_SECRET, f"msg_{next(_ids)}", int(time.time())
    ),
}

text = st.text(max_size=40)
long_or_short = text | st.text(min_size=190, max_size=700)
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)
labels = st.dictionaries(
    st.sampled_from(["severity", "service", "job", "team"]) | text, long_or_short, max_size=4
)
timestamps = (
    st.none()
    | text
    | st.sampled_from(["2026-11-20T03:15:00Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59-14:00"])
    | st.datetimes().map(lambda d: d.isoformat())
)
epochs = timestamps | st.integers() | st.floats(allow_nan=False)
alert_items = st.fixed_dictionaries(
    {"labels": st.builds(lambda name, rest: {"alertname": name, **rest}, long_or_short, labels)},
    optional={
        "status": st.sampled_from(["firing", "resolved", "unknown"]),
        "annotations": labels,
        "startsAt": timestamps,
        "endsAt": timestamps,
        "fingerprint": long_or_short,
        "values": st.dictionaries(text, json_values, max_size=2),
        "valueString": text,
        "extra": json_values,
    },
)
alert_groups = st.fixed_dictionaries(
    {"groupKey": text, "alerts": st.lists(alert_items, max_size=3)},
    optional={
        "status": st.sampled_from(["firing", "resolved"]),
        "commonLabels": labels,
        "commonAnnotations": labels,
        "truncatedAlerts": st.integers(),
        "version": text,
    },
)
generic_alerts = st.fixed_dictionaries(
    {},
    optional={
        "alertname": long_or_short,
        "name": long_or_short,
        "status": st.sampled_from(["firing", "resolved", "x"]),
        "severity": long_or_short,
        "service": long_or_short,
        "labels": labels,
        "annotations": labels,
        "startsAt": timestamps,
        "endsAt": timestamps,
        "fingerprint": long_or_short,
    },
)
opsgenie_bodies = st.fixed_dictionaries(
    {
        "action": st.sampled_from(["Create", "Close", "Acknowledge"]) | text,
        "alert": st.fixed_dictionaries(
            {"alertId": long_or_short},
            optional={
                "message": long_or_short,
                "tags": st.lists(text, max_size=3),
                "tinyId": text | st.integers(),
                "entity": long_or_short,
                "alias": long_or_short,
                "createdAt": epochs,
                "updatedAt": epochs,
                "priority": st.sampled_from(["P1", "P3", "P5"]) | text,
                "details": st.dictionaries(text, json_values, max_size=3),
                "team": text,
            },
        ),
    },
    optional={"integrationName": text, "source": st.dictionaries(text, json_values, max_size=2)},
)
reference = st.fixed_dictionaries({}, optional={"summary": long_or_short, "id": text})
pagerduty_bodies = st.fixed_dictionaries(
    {
        "event": st.fixed_dictionaries(
            {
                "event_type": st.sampled_from(
                    ["incident.triggered", "incident.resolved", "incident.reopened"]
                )
                | text,
                "data": st.fixed_dictionaries(
                    {"id": long_or_short},
                    optional={
                        "title": long_or_short,
                        "number": st.integers(),
                        "urgency": st.sampled_from(["high", "low"]) | text,
                        "service": reference,
                        "priority": reference,
                        "html_url": text,
                        "created_at": timestamps,
                        "body": st.fixed_dictionaries({}, optional={"details": text | json_values}),
                    },
                )
                | json_values,
            },
            optional={"occurred_at": timestamps, "id": text},
        )
    }
)
BODIES = {
    "alertmanager": alert_groups,
    "grafana": alert_groups,
    "generic": generic_alerts | alert_groups,
    "opsgenie": opsgenie_bodies,
    "pagerduty": pagerduty_bodies,
}


@pytest.mark.parametrize("source", sorted(SIGNERS))
def test_webhook_bodies_never_5xx(target: Built, source: str) -> None:
    """Payload-shaped and arbitrary JSON, authenticated: 202 or 422, never a 5xx (nor a 503 'retry')."""
    client = target.client()

    @settings(FUZZ, max_examples=WEBHOOK_EXAMPLES)
    @given(payload=BODIES[source] | json_values)
    def deliver(payload: Any) -> None:
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", **SIGNERS[source](target, body)}
        response = client.post(f"/v1/webhooks/{source}", content=body, headers=headers)
        assert response.status_code in (202, 422), (response.status_code, response.text, payload)

    deliver()


# --- regressions for what the fuzzers found -------------------------------------------------------------


def _deliver(target: Built, source: str, body: bytes) -> httpx.Response:
    headers = {"Content-Type": "application/json", **SIGNERS[source](target, body)}
    return target.client().post(f"/v1/webhooks/{source}", content=body, headers=headers)


@pytest.mark.parametrize("source", sorted(SIGNERS))
@pytest.mark.parametrize("depth", [200, 100_000])
def test_deeply_nested_webhook_json_is_422(target: Built, source: str, depth: int) -> None:
    """A few hundred levels broke pydantic's serialiser, 100k broke json.loads (RecursionError): 500."""
    nested = "[" * depth + "]" * depth
    body = f'{{"groupKey": "g", "alerts": [{{"labels": {{"alertname": "Deep"}}, "x": {nested}}}]}}'.encode()
    response = _deliver(target, source, body)
    assert response.status_code == 422, response.text
    assert "levels deep" in response.json()["detail"]


def test_webhook_json_at_a_sane_depth_is_accepted(target: Built) -> None:
    nested = "[" * 50 + "]" * 50
    body = f'{{"groupKey": "g", "alerts": [{{"labels": {{"alertname": "Nested"}}, "x": {nested}}}]}}'.encode()
    assert _deliver(target, "alertmanager", body).status_code == 202


def test_generic_alert_name_over_the_limit_is_422(target: Built) -> None:
    """The generic form does not bound labels.alertname, and Alert() raised outside the parser: a 500."""
    body = json.dumps({"labels": {"alertname": "x" * 600}}).encode()
    response = _deliver(target, "generic", body)
    assert response.status_code == 422, response.text
    assert "at most 500 characters" in response.json()["detail"]


def _alertmanager(**alert: Any) -> bytes:
    return json.dumps({"groupKey": "g", "alerts": [{"labels": {"alertname": "Fits"}, **alert}]}).encode()


@pytest.mark.parametrize(
    ("alert", "problem"),
    [
        ({"labels": {"alertname": "Nul\x00"}}, "NUL"),
        ({"labels": {"alertname": "Fits", "team": "a\x00b"}}, "NUL"),
    ],
    ids=["nul-name", "nul-label"],
)
def test_alert_the_store_cannot_hold_is_422_not_503(
    target: Built, alert: dict[str, Any], problem: str
) -> None:
    """On PostgreSQL these failed the INSERT (NUL in text, varchar widths): a 503 telling senders to retry."""
    response = _deliver(target, "alertmanager", _alertmanager(**alert))
    assert response.status_code == 422, response.text
    assert problem in response.json()["detail"]


def test_an_over_long_severity_or_service_is_cut_not_refused(target: Built) -> None:
    """A label too wide for its column must not cost the alert: the column gets a prefix, labels keep all."""
    body = _alertmanager(labels={"alertname": "Wide", "severity": "s" * 65, "service": "v" * 201})
    response = _deliver(target, "alertmanager", body)
    assert response.status_code == 202, response.text
    incident = target.services.store.get_incident(response.json()["alerts"][0]["incident_id"])
    assert incident.severity == "s" * 64 and incident.service == "v" * 200
    assert incident.alert.labels["service"] == "v" * 201


def test_a_fingerprint_too_long_for_its_column_is_hashed(target: Built) -> None:
    """On PostgreSQL a 201+ character fingerprint failed the INSERT (503); it is hashed, so still stable."""
    first = _deliver(target, "alertmanager", _alertmanager(fingerprint="f" * 300))
    again = _deliver(target, "alertmanager", _alertmanager(fingerprint="f" * 300))
    assert first.status_code == again.status_code == 202, first.text
    fingerprint = first.json()["alerts"][0]["fingerprint"]
    assert fingerprint.startswith("sha256:") and len(fingerprint) <= 200
    assert again.json()["alerts"][0] == {
        **first.json()["alerts"][0],
        "outcome": "repeat",
        "triage_queued": False,
    }


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("GET", "/v1/incidents?service=a%00b", None),
        ("GET", "/v1/incidents?alert_name=a%00b", None),
        ("GET", "/v1/incidents?severity=%00", None),
        ("GET", "/v1/incidents?source=%00", None),
        ("POST", "/v1/chat", {"message": "why \x00?"}),
        ("POST", "/v1/chat", {"message": "hi", "conversation_id": "\x00"}),
        ("POST", "/v1/chat/stream", {"message": "why \x00?"}),
        ("GET", "/v1/chat/a%00b", None),
    ],
)
def test_nul_characters_are_422_not_500(target: Built, method: str, url: str, body: Any) -> None:
    """PostgreSQL refuses NUL in text parameters: these were 500s there."""
    response = target.client().request(method, url, headers=target.auth, json=body)
    assert response.status_code == 422, response.text
    assert "NUL" in response.json()["detail"]


@pytest.mark.parametrize(
    "url",
    ["/v1/incidents/2147483648", "/v1/incidents?cursor=2147483648", "/v1/incidents/4611686018427387904"],
)
def test_ids_beyond_the_integer_column_are_422(target: Built, url: str) -> None:
    """incidents.id is a 32-bit INTEGER on PostgreSQL; the API allowed up to 2**62, the query failed: 500."""
    response = target.client().get(url, headers=target.auth)
    assert response.status_code == 422, response.text


def test_the_largest_id_is_a_plain_404(target: Built) -> None:
    client = target.client()
    assert client.get("/v1/incidents/2147483647", headers=target.auth).status_code == 404
    assert client.post("/v1/incidents/2147483647/retriage", headers=target.auth).status_code == 404
    assert client.get("/v1/incidents?cursor=2147483647", headers=target.auth).status_code == 200


# --- uploads: schemathesis names every file part after its field ("files"), so none gets ingested -------

upload_names = (
    st.text(max_size=24).map(lambda stem: stem + ".md")
    | st.sampled_from(
        ["ok.md", "notes.txt", "app.log", "events.jsonl", "old.log.gz", "guide.rst", "x.exe", "../up.md"]
        + [".hidden.md", "a/b.md", "a\\b.md", "..", "", " .md", "nul\x00.md", "CON.md", "é.md"]
    )
    | st.text(max_size=24)
)
upload_bodies = st.binary(max_size=1500) | st.text(max_size=1500).map(str.encode) | st.just(LOG.encode())
folders = st.none() | st.text(max_size=24) | st.sampled_from(["runbooks/db", "../x", "a//b", "/abs", "a/./b"])


@pytest.mark.parametrize("target", ["sqlite"], indirect=True)  # uploads do not touch the incident database
def test_uploads_never_5xx(target: Built) -> None:
    """Any names, folders, kinds and bytes (gzip or not): 200, 413 or 422."""
    client = target.client()

    @settings(FUZZ, max_examples=25)
    @given(
        files=st.lists(st.tuples(upload_names, upload_bodies), min_size=1, max_size=3),
        folder=folders,
        kind=st.none() | st.sampled_from(["runbook", "log", "other"]),
    )
    def upload(files: list[tuple[str, bytes]], folder: str | None, kind: str | None) -> None:
        form = {key: value for key, value in {"folder": folder, "kind": kind}.items() if value is not None}
        parts = [("files", (name, content)) for name, content in files]
        response = client.post("/v1/knowledge", files=parts, data=form, headers=target.auth)
        assert response.status_code in (200, 413, 422), (response.status_code, response.text, files)

    upload()


def test_every_route_is_in_the_spec() -> None:
    """Schemathesis fuzzes what the spec lists: a route left out of it (include_in_schema=False, or a
    body the spec cannot see) would never be fuzzed. Only the docs pages are exempt."""
    from fastapi.routing import APIRoute, iter_route_contexts

    spec = SQLITE.app.openapi()["paths"]
    documented = {(method.upper(), path) for path, item in spec.items() for method in item}
    routes = {
        (method, context.path)
        for context in iter_route_contexts(SQLITE.app.routes)
        if isinstance(context.original_route, APIRoute) and context.path
        for method in context.original_route.methods
    }
    missing = {(m, p) for m, p in routes - documented if m != "HEAD" and not p.startswith("/docs")}
    assert missing == set()
    upload = spec["/v1/knowledge"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert upload["required"] == ["files"]  # the handler parses the form itself: the spec must still say so
