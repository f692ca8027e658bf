"""`opsagent serve`, `opsagent worker`, `opsagent token ...` and `opsagent db ...`."""

from __future__ import annotations

import contextlib
import json
import os
import signal
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from opsagent.config import load_settings

token_app = typer.Typer(help="API tokens: create (shown once), list, revoke.", no_args_is_help=True)
db_app = typer.Typer(help="The incident database: migrate, show the schema revision.", no_args_is_help=True)


def serve_command(
    host: Annotated[
        str | None, typer.Option("--host", help="Default: OPSAGENT_API_HOST (127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option("--port", help="Default: OPSAGENT_API_PORT (8080).")] = None,
    worker: Annotated[
        bool | None, typer.Option("--worker/--no-worker", help="Run a triage worker in this process.")
    ] = None,
    processes: Annotated[
        int,
        typer.Option(
            "--processes",
            min=1,
            max=64,
            help="API processes (each with its own worker thread); more than 1 wants PostgreSQL.",
        ),
    ] = 1,
) -> None:
    """Run the HTTP API (OpenAPI docs at /docs, spec at /openapi.json) and, by default, a triage worker."""
    import uvicorn

    from opsagent.api.app import create_app
    from opsagent.api.logs import configure_logging
    from opsagent.api.server import uvicorn_options

    overrides: dict[str, Any] = {}
    if host is not None:
        overrides["api_host"] = host
    if port is not None:
        overrides["api_port"] = port
    if worker is not None:
        overrides["worker_enabled"] = worker
    settings = load_settings(**overrides)
    configure_logging(settings.log_format, settings.log_level)
    # Header and body deadlines, header size, keep-alive and concurrency limits (opsagent/api/server.py).
    options = uvicorn_options(settings)
    if processes > 1:
        # Each process builds its app from the environment: pass the command-line overrides that way.
        for key, value in overrides.items():
            os.environ[f"OPSAGENT_{key.upper()}"] = (
                str(value).lower() if isinstance(value, bool) else str(value)
            )
        # A child answers the supervisor's health ping only once its imports are done, which takes longer
        # than uvicorn's 5 s default on a busy 2-core machine: it was killed and restarted in a loop.
        uvicorn.run(
            "opsagent.api.app:app_from_environment",
            factory=True,
            workers=processes,
            timeout_worker_healthcheck=CHILD_STARTUP_SECONDS,
            **options,
        )
        return
    uvicorn.run(create_app(settings), **options)


CHILD_STARTUP_SECONDS = 60


def worker_command(
    once: Annotated[bool, typer.Option("--once", help="Run the due jobs, then exit.")] = False,
) -> None:
    """Run a triage worker against the shared queue (for scale-out; `serve` runs one by default)."""
    from opsagent.api.logs import configure_logging
    from opsagent.api.services import Services

    settings = load_settings()
    configure_logging(settings.log_format, settings.log_level)
    services = Services.build(settings)
    # Owned by services, so services.close() also closes its notifier.
    worker = services.worker = services.make_worker()
    try:
        if once:
            count = 0
            while worker.run_once():
                count += 1
            Console(stderr=True).print(f"ran {count} job(s)")
            return
        # SIGTERM (Kubernetes, systemd) finishes the current job, then exits.
        signal.signal(signal.SIGTERM, lambda *_: worker.stop_event.set())
        with contextlib.suppress(KeyboardInterrupt):
            worker.run()
    finally:
        services.close()


def _tokens() -> Any:
    from opsagent.api.tokens import TokenStore
    from opsagent.incidents.db import create_db_engine, upgrade

    engine = create_db_engine(load_settings())
    upgrade(engine)
    return TokenStore(engine)


@token_app.command("create")
def token_create(
    scope: Annotated[
        list[str],
        typer.Option("--scope", "-s", help="read, chat, ingest, webhook, approve, admin (repeat or comma)."),
    ],
    name: Annotated[str, typer.Option("--name", help="What the token is for.")] = "token",
    expires_in_days: Annotated[float | None, typer.Option("--expires-in-days", min=0.001)] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Create a token; the secret is printed once (store it: only its hash is kept)."""
    from opsagent.api.tokens import parse_scopes

    scopes = parse_scopes(scope)
    secret, token = _tokens().create(
        name, scopes, expires_in_seconds=expires_in_days * 86400 if expires_in_days else None
    )
    if as_json:
        print(json.dumps({"token": secret, **token.model_dump(mode="json")}))
        return
    print(secret)
    Console(stderr=True).print(
        f"[dim]token {token.id} ({escape(token.name)}), scopes: {', '.join(s.value for s in token.scopes)}. "
        "Shown once: only its hash is stored.[/]",
        highlight=False,
    )


@token_app.command("list")
def token_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every token (never the secrets)."""
    tokens = _tokens().list()
    if as_json:
        print(json.dumps([t.model_dump(mode="json") for t in tokens]))
        return
    table = Table("id", "name", "prefix", "scopes", "created", "last used", "state")
    for t in tokens:
        state = (
            "revoked" if t.revoked_at else ("expired" if t.expires_at and t.expires_at < _now() else "active")
        )
        table.add_row(
            str(t.id),
            escape(t.name),
            t.prefix + "…",
            ", ".join(s.value for s in t.scopes),
            _when(t.created_at),
            _when(t.last_used_at),
            state,
        )
    Console().print(table)


@token_app.command("revoke")
def token_revoke(
    token: Annotated[str, typer.Argument(help="The id or prefix from `opsagent token list`.")],
) -> None:
    """Revoke a token at once."""
    revoked = _tokens().revoke(token)
    Console().print(f"revoked token {revoked.id} ({escape(revoked.name)})", highlight=False)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations (serve and worker also do this at start-up)."""
    from opsagent.incidents.db import create_db_engine, current_revision, upgrade

    settings = load_settings()
    engine = create_db_engine(settings)
    upgrade(engine)
    Console().print(f"database at revision {current_revision(engine)} ({settings.describe()['database']})")


@db_app.command("status")
def db_status() -> None:
    """The schema revision and what the store holds."""
    from opsagent.incidents.db import create_db_engine, current_revision
    from opsagent.incidents.store import IncidentStore

    settings = load_settings()
    engine = create_db_engine(settings)
    revision = current_revision(engine)
    info: dict[str, Any] = {"database": settings.describe()["database"], "revision": revision}
    if revision is not None:
        store = IncidentStore(engine)
        info.update(store.counts())
        info["queue"] = store.queue.depth()
    print(json.dumps(info))


def _now() -> float:
    return datetime.now(UTC).timestamp()


def _when(value: float | None) -> str:
    return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M") if value else "-"
