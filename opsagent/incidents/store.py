"""Incidents: every received alert is committed first, then deduplicated into incidents by fingerprint.

One open (firing) incident per alert identity (`source` + `fingerprint`). Repeat deliveries update it
without a new triage; a resolution closes it; the next firing episode opens a new incident and a new
triage. Sender delivery ids make retried webhooks no-ops. The triage job is queued in the same
transaction that opens the incident, so an acknowledged alert always gets exactly one triage.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from opsagent.agent.diagnosis import Diagnosis
from opsagent.agent.redaction import redact_diagnosis, redact_text
from opsagent.incidents.db import begin_write, read_only
from opsagent.incidents.intake import TRIAGE, AlertIntake, add_event
from opsagent.incidents.models import Alert
from opsagent.incidents.queue import JobQueue
from opsagent.incidents.records import (
    DeliveryOutcome,
    IncidentDetail,
    IncidentPage,
    IncidentSummary,
    Job,
    TimelineEvent,
    TriageStatus,
)
from opsagent.incidents.tables import (
    alert_events,
    diagnoses,
    incident_events,
    incidents,
    jobs,
    webhook_deliveries,
)

NOTIFY = "notify"
_CONFLICT_RETRIES = 5


class IncidentNotFound(LookupError):
    """No incident with that id."""


class IncidentStore:
    """Incidents, their alerts, timelines and diagnoses, over one database shared by all replicas."""

    def __init__(
        self,
        engine: Engine,
        *,
        lease_seconds: float = 120,
        max_attempts: int = 3,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.queue = JobQueue(
            engine,
            lease_seconds=lease_seconds,
            max_attempts=max_attempts,
            clock=clock,
            on_give_up=self._triage_given_up,
        )
        self.intake = AlertIntake(self.queue, clock)
        # Set whenever a job is queued here, so an in-process worker starts at once instead of polling.
        self.job_queued = threading.Event()

    # --- receiving alerts ---------------------------------------------------------------------------

    def record_delivery(
        self, source: str, alerts: list[Alert], *, delivery_id: str | None = None
    ) -> DeliveryOutcome:
        """Commit one webhook delivery's alerts; returns what each did. Committed when this returns."""
        # Rows are locked in fingerprint order, so two deliveries of the same alerts in another order
        # cannot deadlock each other on Postgres; outcomes are returned in the order received.
        order = sorted(range(len(alerts)), key=lambda i: alerts[i].fingerprint)
        for attempt in range(_CONFLICT_RETRIES):
            try:
                with begin_write(self.engine) as connection:
                    outcome = self.intake.record(connection, source, [alerts[i] for i in order], delivery_id)
                break
            except IntegrityError:
                # Another replica opened the same incident concurrently (Postgres): the retry sees it.
                if attempt == _CONFLICT_RETRIES - 1:
                    raise
            except OperationalError as exc:
                # Deadlock or serialization failure: Postgres rolled us back; the delivery is safe to redo.
                if (
                    getattr(exc.orig, "sqlstate", None) not in ("40P01", "40001")
                    or attempt == _CONFLICT_RETRIES - 1
                ):
                    raise
        if not outcome.duplicate:
            by_position = dict(zip(order, outcome.alerts, strict=True))
            outcome.alerts = [by_position[i] for i in range(len(alerts))]
        if any(a.triage_queued for a in outcome.alerts):
            self.job_queued.set()
        return outcome

    # --- triage results -----------------------------------------------------------------------------

    def triage_started(self, job: Job) -> Alert:
        """Mark the incident's triage running; returns the alert to diagnose."""
        with begin_write(self.engine) as connection:
            row = connection.execute(
                select(incidents.c.alert).where(incidents.c.id == job.incident_id)
            ).first()
            if row is None:
                raise IncidentNotFound(job.incident_id)
            connection.execute(
                update(incidents)
                .where(incidents.c.id == job.incident_id)
                .values(triage_status=TriageStatus.RUNNING.value, updated_at=self.clock())
            )
            self._event(
                connection,
                job.incident_id,
                "triage_started",
                f"triage started by {job.lease_owner} (attempt {job.attempts})",
            )
        return Alert.model_validate(row.alert)

    def complete_triage(self, job: Job, diagnosis: Diagnosis, notify_targets: list[str]) -> int:
        """Store the diagnosis and queue notifications, fenced on the job's lease; returns the diagnosis id.

        Raises LeaseLost (and stores nothing) when another worker took the job over.
        """
        now = self.clock()
        # Defence in depth: a diagnosis quotes log lines and model output; no secret is stored or served.
        diagnosis = redact_diagnosis(diagnosis)
        data = diagnosis.model_dump(mode="json")
        with begin_write(self.engine) as connection:
            self.queue.finish(connection, job)
            diagnosis_id = int(
                connection.execute(
                    insert(diagnoses)
                    .values(
                        incident_id=job.incident_id,
                        job_id=job.id,
                        created_at=now,
                        mode=diagnosis.mode.value,
                        model=diagnosis.model,
                        prompt_version=diagnosis.prompt_version,
                        diagnosis=data,
                    )
                    .returning(diagnoses.c.id)
                ).scalar_one()
            )
            connection.execute(
                update(incidents)
                .where(incidents.c.id == job.incident_id)
                .values(
                    diagnosis=data,
                    diagnosed_at=now,
                    triage_status=TriageStatus.DONE.value,
                    updated_at=now,
                )
            )
            self._event(
                connection,
                job.incident_id,
                "triaged",
                f"{diagnosis.mode.value} diagnosis: {diagnosis.summary}",
                {"diagnosis_id": diagnosis_id, "confidence": diagnosis.confidence.value},
            )
            for target in notify_targets:
                self.queue.enqueue(
                    connection,
                    kind=NOTIFY,
                    incident_id=job.incident_id,
                    dedup_key=f"notify:{target}:{diagnosis_id}",
                    payload={"target": target, "diagnosis_id": diagnosis_id},
                )
        if notify_targets:
            self.job_queued.set()
        return diagnosis_id

    def complete_job(self, job: Job, kind: str, message: str, data: dict[str, Any] | None = None) -> None:
        """Finish a job (fenced) and note what it did on the incident's timeline."""
        with begin_write(self.engine) as connection:
            self.queue.finish(connection, job)
            self._event(connection, job.incident_id, kind, message, data)

    def fail_job(self, job: Job, error: str) -> bool:
        """A failed attempt: True when it will be retried."""
        error = redact_text(error)  # exception text can quote alert data or log lines
        retried = self.queue.fail(job, error)  # giving up is recorded by _triage_given_up
        if retried:
            with begin_write(self.engine) as connection:
                message = f"attempt {job.attempts} failed: {error}; will retry"
                self._event(connection, job.incident_id, f"{job.kind}_error", message)
                if job.kind == TRIAGE:
                    connection.execute(
                        update(incidents)
                        .where(incidents.c.id == job.incident_id)
                        .values(triage_status=TriageStatus.QUEUED.value)
                    )
        return retried

    def _triage_given_up(self, connection: Connection, job_id: int, incident_id: int, reason: str) -> None:
        kind = connection.execute(select(jobs.c.kind).where(jobs.c.id == job_id)).scalar_one()
        if kind == TRIAGE:
            connection.execute(
                update(incidents)
                .where(incidents.c.id == incident_id)
                .values(triage_status=TriageStatus.FAILED.value, updated_at=self.clock())
            )
        self._event(connection, incident_id, f"{kind}_failed", reason)

    def request_retriage(self, incident_id: int) -> tuple[int, bool]:
        """Queue a new triage; (job id, created). A triage already queued or running is returned as is."""
        with begin_write(self.engine) as connection:
            exists = connection.execute(select(incidents.c.id).where(incidents.c.id == incident_id)).first()
            if exists is None:
                raise IncidentNotFound(incident_id)
            triage_jobs = connection.execute(
                select(jobs.c.id, jobs.c.status)
                .where(jobs.c.incident_id == incident_id, jobs.c.kind == TRIAGE)
                .order_by(jobs.c.id)
            ).all()
            for job_id, status in triage_jobs:
                if status in ("queued", "running"):
                    return int(job_id), False
            key = f"triage:{incident_id}:{len(triage_jobs) + 1}"
            created = self.queue.enqueue(connection, kind=TRIAGE, incident_id=incident_id, dedup_key=key)
            job_id = connection.execute(select(jobs.c.id).where(jobs.c.dedup_key == key)).scalar_one()
            if not created:  # a concurrent request queued it a moment ago
                return int(job_id), False
            connection.execute(
                update(incidents)
                .where(incidents.c.id == incident_id)
                .values(triage_status=TriageStatus.QUEUED.value, updated_at=self.clock())
            )
            self._event(connection, incident_id, "triage_queued", "re-triage requested")
        self.job_queued.set()
        return int(job_id), True

    # --- reading ------------------------------------------------------------------------------------

    def list_incidents(
        self,
        *,
        status: str | None = None,
        service: str | None = None,
        source: str | None = None,
        severity: str | None = None,
        alert_name: str | None = None,
        triage_status: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 50,
        cursor: int | None = None,
    ) -> IncidentPage:
        """Incidents newest first, filtered; `cursor` is the `next_cursor` of the previous page."""
        conditions: list[Any] = []
        for column, value in (
            (incidents.c.status, status),
            (incidents.c.service, service),
            (incidents.c.source, source),
            (incidents.c.severity, severity),
            (incidents.c.alert_name, alert_name),
            (incidents.c.triage_status, triage_status),
        ):
            if value is not None:
                conditions.append(column == value)
        if since is not None:
            conditions.append(incidents.c.created_at >= since)
        if until is not None:
            conditions.append(incidents.c.created_at <= until)
        where = and_(*conditions) if conditions else None
        with read_only(self.engine) as connection:
            total_query = select(func.count()).select_from(incidents)
            page_query = select(incidents).order_by(incidents.c.id.desc()).limit(limit + 1)
            if where is not None:
                total_query = total_query.where(where)
                page_query = page_query.where(where)
            if cursor is not None:
                page_query = page_query.where(incidents.c.id < cursor)
            total = int(connection.execute(total_query).scalar_one())
            rows = connection.execute(page_query).mappings().all()
        items = [IncidentSummary.model_validate(dict(row)) for row in rows[:limit]]
        next_cursor = items[-1].id if len(rows) > limit else None
        return IncidentPage(items=items, total=total, next_cursor=next_cursor)

    def get_incident(self, incident_id: int) -> IncidentDetail:
        """One incident with its alert, latest diagnosis and timeline."""
        with read_only(self.engine) as connection:
            query = select(incidents).where(incidents.c.id == incident_id)
            row = connection.execute(query).mappings().first()
            if row is None:
                raise IncidentNotFound(incident_id)
            events = connection.execute(
                select(incident_events)
                .where(incident_events.c.incident_id == incident_id)
                .order_by(incident_events.c.id)
            ).mappings()
            timeline = [TimelineEvent.model_validate(dict(e)) for e in events]
            count = connection.execute(
                select(func.count()).select_from(diagnoses).where(diagnoses.c.incident_id == incident_id)
            ).scalar_one()
        return IncidentDetail.model_validate({**row, "timeline": timeline, "diagnoses": count})

    def counts(self) -> dict[str, int]:
        """Totals for benchmarks and checks: incidents, alert events, diagnoses, jobs."""
        with read_only(self.engine) as connection:
            return {
                name: int(connection.execute(select(func.count()).select_from(table)).scalar_one())
                for name, table in (
                    ("incidents", incidents),
                    ("alert_events", alert_events),
                    ("diagnoses", diagnoses),
                    ("jobs", jobs),
                    ("deliveries", webhook_deliveries),
                )
            }

    def diagnoses_per_episode(self) -> dict[int, int]:
        """Incident id -> how many automatic (first) triage results it got; exactly 1 is correct."""
        with read_only(self.engine) as connection:
            rows = connection.execute(
                select(incidents.c.id, func.count(diagnoses.c.id))
                .select_from(incidents.outerjoin(diagnoses, diagnoses.c.incident_id == incidents.c.id))
                .where(incidents.c.triage_status != TriageStatus.SKIPPED.value)
                .group_by(incidents.c.id)
            ).all()
        return {int(i): int(n) for i, n in rows}

    def _event(
        self,
        connection: Connection,
        incident_id: int,
        kind: str,
        message: str,
        data: dict[str, Any] | None = None,
    ) -> None:
        add_event(connection, incident_id, kind, message, self.clock(), data)


__all__ = ["NOTIFY", "TRIAGE", "IncidentNotFound", "IncidentStore"]
