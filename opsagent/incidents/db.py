"""The database behind incidents, the triage queue, tokens and conversations.

SQLite in the data dir by default (WAL, so readers never block the webhook writer), Postgres by URL for
several replicas. Schema changes are Alembic migrations, applied forward-only at start-up.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError

from opsagent.config import Settings, hide_password
from opsagent.errors import OpsagentError

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
# Any constant works: it only has to be the same for every replica that migrates the same database.
_MIGRATION_LOCK_ID = 0x6F707361
READ_ONLY_OPTION = "opsagent_read_only"
# One lock per SQLite engine (see begin_write); weak keys, so a disposed engine takes its lock with it.
_WRITE_LOCKS: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()


class DatabaseError(OpsagentError):
    """The incident database cannot be reached or used."""


def normalise_url(url: str) -> str:
    """`postgres://` and `postgresql://` mean psycopg 3 here (psycopg2 is not a dependency)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def is_sqlite(engine: Engine) -> bool:
    """Whether the engine is SQLite (single writer: transactions take the write lock up front)."""
    return engine.dialect.name == "sqlite"


def create_db_engine(settings: Settings) -> Engine:
    """An engine for the configured database, SQLite tuned for one writer and many readers."""
    url = normalise_url(settings.database)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseError(
            f"OPSAGENT_DATABASE_URL is not a database URL: {hide_password(url)!r} (expected e.g. "
            "postgresql://user:pass@host:5432/opsagent or sqlite:////path/opsagent.sqlite3)."
        ) from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"timeout": 30, "check_same_thread": False}, hide_parameters=True
        )
        _tune_sqlite(engine)
        _WRITE_LOCKS[engine] = threading.Lock()
        return engine
    if parsed.get_backend_name() != "postgresql":
        raise DatabaseError(f"Unsupported database {parsed.get_backend_name()!r}: use SQLite or PostgreSQL.")
    # hide_parameters: errors would otherwise quote alert contents (and any secret in them) into logs.
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, hide_parameters=True)


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling would defer BEGIN; we issue BEGIN IMMEDIATE ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit survives power loss too, not only a process crash; the 202 promises that.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Writers take the write lock when the transaction starts: a read-then-write transaction (dedup,
        # claim) then never fails half-way with "database is locked"; writers queue in busy_timeout.
        # Readers (READ_ONLY) begin deferred and, with WAL, never wait for a writer.
        readonly = connection.get_execution_options().get(READ_ONLY_OPTION)
        connection.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


def begin_write(engine: Engine) -> AbstractContextManager[Connection]:
    """A write transaction. On SQLite, writers of this process queue on a lock first.

    SQLite has one writer at a time; without this, concurrent writers wait in SQLite's busy handler,
    which sleeps in growing steps (up to 100 ms) and adds those sleeps to webhook latency. With the
    lock they are served in turn the moment the previous commit ends; other processes still meet the
    busy timeout as before.
    """
    lock = _WRITE_LOCKS.get(engine)
    if lock is None:
        return engine.begin()
    return _locked_begin(engine, lock)


@contextmanager
def _locked_begin(engine: Engine, lock: threading.Lock) -> Iterator[Connection]:
    with lock, engine.begin() as connection:
        yield connection


def read_only(engine: Engine) -> Connection:
    """A connection for reads only: on SQLite it does not take the write lock."""
    return engine.connect().execution_options(**{READ_ONLY_OPTION: True})


def upgrade(engine: Engine) -> None:
    """Apply pending migrations (forward-only); safe to run from several replicas at once."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except OperationalError as exc:
        raise DatabaseError(f"Cannot reach the database ({_first_line(exc)}). {_hint(engine)}") from None
    except SQLAlchemyError as exc:
        raise DatabaseError(f"Migrating the database failed: {_first_line(exc)}") from None


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at (None before the first migration)."""
    from alembic.runtime.migration import MigrationContext

    with read_only(engine) as connection:
        return MigrationContext.configure(connection).get_current_revision()


def ping(engine: Engine) -> None:
    """Raise DatabaseError unless a trivial query succeeds."""
    try:
        with read_only(engine) as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        raise DatabaseError(f"Cannot reach the database ({_first_line(exc)}). {_hint(engine)}") from None


def _first_line(exc: BaseException) -> str:
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:300]


def _hint(engine: Engine) -> str:
    if is_sqlite(engine):
        return "Check that the data dir (OPSAGENT_DATA_DIR) is writable."
    return "Check OPSAGENT_DATABASE_URL and that the server is running and accepts the credentials."
