"""Shared fixtures: settings in a temp data dir, a real Chroma server, and no traffic off this machine."""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from opsagent.config import Settings
from opsagent.knowledge.base import KnowledgeBase

_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: object) -> None:
    host = address[0] if isinstance(address, tuple) else None
    if isinstance(host, str) and host not in ("localhost",):
        try:
            allowed = ipaddress.ip_address(host).is_loopback
        except ValueError:
            allowed = False
        if not allowed:
            raise ConnectionRefusedError(f"tests may only connect to loopback, not {host!r}")
    _real_connect(self, address)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection off this machine (a real LLM, a model hub, telemetry) fails the test loudly."""
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("OPSAGENT_") or key == "OPENAI_API_KEY":
            monkeypatch.delenv(key)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Chroma server (`chroma run`) on loopback for the scale-out path."""
    chroma = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    port = _free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    log = (path / "server.log").open("w")
    process = subprocess.Popen(
        [chroma, "run", "--path", str(path / "db"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            raise RuntimeError(f"chroma run exited early; see {path / 'server.log'}")
        time.sleep(0.2)
    else:
        process.kill()
        raise RuntimeError("chroma run did not become ready in 30 s")
    yield url
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Embedded store in a fresh data dir."""
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture(params=["embedded", "server"])
def any_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """The same test against the embedded store and against a Chroma server."""
    if request.param == "server":
        url = request.getfixturevalue("chroma_server")
        # A fresh collection prefix isolates tests sharing the one server.
        return Settings(
            data_dir=tmp_path / "data", chroma_url=url, collection_prefix=f"t{uuid.uuid4().hex[:12]}"
        )
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def kb(any_settings: Settings) -> Iterator[KnowledgeBase]:
    knowledge = KnowledgeBase(any_settings)
    yield knowledge
    knowledge.close()


RUNBOOKS = {
    "kubernetes/pod-oomkilled.md": """---
title: Pod OOMKilled
service: payments-api
tags: [memory]
alerts: [KubePodOOMKilled]
actions: [restart_deployment, increase_memory_limit]
---
# Pod OOMKilled

## Meaning
A container exceeded its memory limit and the kernel OOM killer terminated it (exit code 137).

## Diagnosis
### Check the last state
Run `kubectl describe pod` and look for `Last State: Terminated, Reason: OOMKilled`.

## Mitigation
Raise the memory limit with the `increase_memory_limit` action, or restart the deployment.
""",
    "storage/disk-full.md": """+++
title = "Node disk full"
tags = ["disk"]
alerts = ["NodeFilesystemAlmostOutOfSpace"]
actions = ["clean_docker_images"]
+++
# Node disk full

## Meaning
A filesystem on a node has less than 5% space left; writes fail with `No space left on device`.

## Mitigation
Prune unused container images and rotate logs.
""",
    "security/cert-expiry.md": """# TLS certificate expiry

## Meaning
A serving certificate expires soon or has expired: clients fail with
`x509: certificate has expired or is not yet valid`.

## Mitigation
Renew the certificate with cert-manager and restart the ingress controller.
""",
}


def write_runbooks(root: Path, files: dict[str, str] | None = None) -> Path:
    """Write a small runbook tree and return its root."""
    for rel, text in (files or RUNBOOKS).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.fixture
def runbook_dir(tmp_path: Path) -> Path:
    return write_runbooks(tmp_path / "runbooks")


@pytest.fixture(scope="session")
def demo_kb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KnowledgeBase]:
    """The bundled knowledge/ base, ingested once per test session (read-only for tests)."""
    repo = Path(__file__).resolve().parents[1]
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("demo-kb"), action_catalog=repo / "knowledge/actions/catalog.yaml"
    )
    knowledge = KnowledgeBase(settings)
    knowledge.ingest([repo / "knowledge"])
    yield knowledge
    knowledge.close()


# --- the incident database: every store/queue test runs on SQLite and on a real PostgreSQL ---------

POSTGRES_ADMIN_URL = os.environ.get(
    "OPSAGENT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _postgres_admin() -> object:
    from sqlalchemy import create_engine

    return create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A migrated template database; each test clones it (CREATE DATABASE ... TEMPLATE), which is fast.

    PostgreSQL runs on 127.0.0.1:5432 on our machines and in CI, where its absence fails the run; on a
    machine without it these tests are skipped with the reason.
    """
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    from opsagent.incidents.db import create_db_engine, upgrade

    admin: Any = _postgres_admin()
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as exc:
        admin.dispose()
        if os.environ.get("CI"):
            raise RuntimeError(f"CI needs PostgreSQL at {POSTGRES_ADMIN_URL}: {exc}") from exc
        pytest.skip(f"no PostgreSQL at {POSTGRES_ADMIN_URL} (set OPSAGENT_TEST_POSTGRES_URL)")
    name = f"opsagent_tpl_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    engine = create_db_engine(Settings(database_url=url))
    upgrade(engine)
    engine.dispose()
    yield name
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated incident database: SQLite in a temp dir, or a clone of the Postgres template."""
    if request.param == "sqlite":
        from opsagent.incidents.db import create_db_engine, upgrade

        url = f"sqlite:///{tmp_path / 'incidents.sqlite3'}"
        engine = create_db_engine(Settings(database_url=url))
        upgrade(engine)
        engine.dispose()
        yield url
        return
    from sqlalchemy import text

    template = request.getfixturevalue("postgres_template")
    admin: Any = _postgres_admin()
    name = f"opsagent_t_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
