"""The triage queue: jobs live in the database, so every API replica and worker shares one queue.

A worker claims a job with a lease (Postgres: `FOR UPDATE SKIP LOCKED`, so workers never wait on each
other; SQLite: the claim runs under the write lock). It renews the lease while it works; if it dies, the
lease runs out and another worker reclaims the job. Finishing is fenced on the lease: a worker whose
lease was taken over cannot also record a result, so each job's result is written exactly once.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from opsagent.errors import OpsagentError
from opsagent.incidents.db import begin_write, read_only
from opsagent.incidents.records import Job
from opsagent.incidents.tables import jobs

# Called in the claiming transaction when a job has used up its attempts (e.g. its workers kept dying).
GiveUpHook = Callable[[Connection, int, int, str], None]  # (connection, job id, incident id, reason)
MAX_BACKOFF_SECONDS = 300.0


class LeaseLost(OpsagentError):
    """The job's lease expired and another worker took it over; this worker's result is discarded."""


def insert_ignoring_conflict(connection: Connection, table: Any, values: dict[str, Any]) -> bool:
    """INSERT that does nothing on a unique-key conflict; True when the row was inserted."""
    statement = _conflict_free_insert(connection.dialect.name, table)
    return connection.execute(statement, values).first() is not None


@functools.cache
def _conflict_free_insert(dialect: str, table: Any) -> Any:
    """`INSERT ... ON CONFLICT DO NOTHING RETURNING <key>`, built once per dialect and table."""
    if dialect == "postgresql":
        statement: Any = postgresql.insert(table).on_conflict_do_nothing()
    elif dialect == "sqlite":
        statement = sqlite.insert(table).on_conflict_do_nothing()
    else:  # pragma: no cover - only SQLite and Postgres are supported (db.create_db_engine)
        raise NotImplementedError(dialect)
    # RETURNING rather than rowcount: drivers disagree on rowcount for ON CONFLICT DO NOTHING.
    return statement.returning(next(iter(table.primary_key.columns)))


class JobQueue:
    """Enqueue, claim with a lease, renew, finish (fenced), fail with backoff."""

    def __init__(
        self,
        engine: Engine,
        *,
        lease_seconds: float,
        max_attempts: int,
        clock: Callable[[], float] = time.time,
        on_give_up: GiveUpHook | None = None,
    ) -> None:
        self.engine = engine
        self.lease_seconds = lease_seconds
        self.max_attempts = max_attempts
        self.clock = clock
        self.on_give_up = on_give_up

    def enqueue(
        self,
        connection: Connection,
        *,
        kind: str,
        incident_id: int,
        dedup_key: str,
        payload: dict[str, Any] | None = None,
    ) -> bool:
        """Add a job inside the caller's transaction; False when a job with that key already exists."""
        now = self.clock()
        return insert_ignoring_conflict(
            connection,
            jobs,
            {
                "kind": kind,
                "incident_id": incident_id,
                "dedup_key": dedup_key,
                "status": "queued",
                "payload": payload,
                "attempts": 0,
                "max_attempts": self.max_attempts,
                "available_at": now,
                "created_at": now,
            },
        )

    def claim(self, worker_id: str, kinds: tuple[str, ...] | None = None) -> Job | None:
        """The next due job (queued, or running with an expired lease), leased to `worker_id`."""
        with begin_write(self.engine) as connection:
            for _ in range(20):  # skip past jobs that are given up on as they are found
                now = self.clock()
                due = or_(
                    and_(jobs.c.status == "queued", jobs.c.available_at <= now),
                    and_(jobs.c.status == "running", jobs.c.lease_expires_at < now),
                )
                query = select(jobs).where(due)
                if kinds:
                    query = query.where(jobs.c.kind.in_(kinds))
                query = query.order_by(jobs.c.available_at, jobs.c.id).limit(1)
                row = connection.execute(query.with_for_update(skip_locked=True)).mappings().first()
                if row is None:
                    return None
                if row["attempts"] >= row["max_attempts"]:
                    self._give_up(
                        connection,
                        row["id"],
                        row["incident_id"],
                        f"gave up after {row['attempts']} attempts; the last worker "
                        f"({row['lease_owner']}) stopped renewing its lease",
                    )
                    continue
                connection.execute(
                    update(jobs)
                    .where(jobs.c.id == row["id"])
                    .values(
                        status="running",
                        lease_owner=worker_id,
                        lease_expires_at=now + self.lease_seconds,
                        attempts=row["attempts"] + 1,
                        started_at=now,
                    )
                )
                return Job(
                    id=row["id"],
                    kind=row["kind"],
                    incident_id=row["incident_id"],
                    attempts=row["attempts"] + 1,
                    max_attempts=row["max_attempts"],
                    payload=row["payload"],
                    lease_owner=worker_id,
                )
        return None

    def renew(self, job: Job) -> bool:
        """Extend the lease; False when it was lost (the worker should stop and discard its result)."""
        with begin_write(self.engine) as connection:
            return self._owned(connection, job, lease_expires_at=self.clock() + self.lease_seconds)

    def finish(self, connection: Connection, job: Job) -> None:
        """Mark the job done in the caller's transaction (with its result); LeaseLost if not ours."""
        if not self._owned(connection, job, status="done", finished_at=self.clock(), lease_expires_at=None):
            raise LeaseLost(f"job {job.id} was taken over by another worker; its result is discarded")

    def fail(self, job: Job, error: str) -> bool:
        """Record a failed attempt: retry later with backoff (True), or give up after max attempts (False)."""
        with begin_write(self.engine) as connection:
            now = self.clock()
            if job.attempts < job.max_attempts:
                delay = min(MAX_BACKOFF_SECONDS, 2.0 ** (job.attempts - 1) * 5)
                if not self._owned(
                    connection,
                    job,
                    status="queued",
                    available_at=now + delay,
                    lease_owner=None,
                    lease_expires_at=None,
                    last_error=error[:2000],
                ):
                    raise LeaseLost(f"job {job.id} was taken over by another worker")
                return True
            if not self._owned(connection, job, status="failed", finished_at=now, last_error=error[:2000]):
                raise LeaseLost(f"job {job.id} was taken over by another worker")
            if self.on_give_up is not None:
                self.on_give_up(connection, job.id, job.incident_id, error)
            return False

    def depth(self) -> dict[str, int]:
        """Jobs per status (for /metrics and readiness)."""
        with read_only(self.engine) as connection:
            rows = connection.execute(select(jobs.c.status, func.count()).group_by(jobs.c.status)).all()
        counts = {"queued": 0, "running": 0, "done": 0, "failed": 0}
        counts.update({status: int(count) for status, count in rows})
        return counts

    def _owned(self, connection: Connection, job: Job, **values: Any) -> bool:
        result = connection.execute(
            update(jobs)
            .where(jobs.c.id == job.id, jobs.c.status == "running", jobs.c.lease_owner == job.lease_owner)
            .values(**values)
        )
        return bool(result.rowcount)

    def _give_up(self, connection: Connection, job_id: int, incident_id: int, reason: str) -> None:
        connection.execute(
            update(jobs)
            .where(jobs.c.id == job_id)
            .values(status="failed", finished_at=self.clock(), lease_expires_at=None, last_error=reason)
        )
        if self.on_give_up is not None:
            self.on_give_up(connection, job_id, incident_id, reason)
