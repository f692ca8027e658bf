"""The triage worker: claims jobs from the shared queue, diagnoses, stores the result, notifies.

`opsagent serve` runs one in a thread (single-node setups need nothing else); `opsagent worker` runs
one per process for scale-out. While a job runs, a heartbeat renews its lease; a worker that dies simply
stops renewing, and the job is reclaimed by another worker when the lease runs out.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from opsagent.agent.diagnosis import Diagnosis
from opsagent.config import Settings
from opsagent.incidents.models import Alert
from opsagent.incidents.queue import LeaseLost
from opsagent.incidents.records import IncidentDetail, Job
from opsagent.incidents.store import NOTIFY, TRIAGE, IncidentStore
from opsagent.metrics import Metrics

if TYPE_CHECKING:
    from opsagent.incidents.notify import Notifier, TriageNotice

log = logging.getLogger(__name__)


class Diagnoser(Protocol):
    """What the worker needs of triage (`opsagent.agent.triage.Triage` is one)."""

    def diagnose(self, alert: Alert) -> Diagnosis: ...


def default_worker_id() -> str:
    """host:pid:random — unique per worker, readable in timelines."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    """Runs queued jobs until stopped."""

    def __init__(
        self,
        settings: Settings,
        store: IncidentStore,
        diagnoser_factory: Callable[[], Diagnoser],
        *,
        notifier: Notifier | None = None,
        metrics: Metrics | None = None,
        worker_id: str | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self._diagnoser_factory = diagnoser_factory
        self._diagnoser: Diagnoser | None = None
        self.notifier = notifier
        self.metrics = metrics
        self.worker_id = worker_id or default_worker_id()
        self.stop_event = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def diagnoser(self) -> Diagnoser:
        # Built on first use: loading the embedding model takes seconds and an idle worker needs none.
        if self._diagnoser is None:
            self._diagnoser = self._diagnoser_factory()
        return self._diagnoser

    @property
    def alive(self) -> bool:
        """Whether the thread started by `start()` is running."""
        return self._thread is not None and self._thread.is_alive()

    def run_once(self) -> bool:
        """Claim and run one job; False when none was due."""
        job = self.store.queue.claim(self.worker_id)
        if job is None:
            return False
        with _Heartbeat(self.store, job, self.settings.job_lease_seconds / 3):
            try:
                outcome = self._run(job)
            except LeaseLost as exc:
                log.warning("job %s: %s", job.id, exc)
                outcome = "lease_lost"
            except Exception as exc:  # one bad job must not stop the worker; it is retried or given up
                log.exception("job %s (%s) failed", job.id, job.kind)
                retried = self._fail(job, f"{exc.__class__.__name__}: {exc}")
                outcome = "retry" if retried else "failed"
        if self.metrics is not None:
            self.metrics.jobs.labels(job.kind, outcome).inc()
        return True

    def _fail(self, job: Job, error: str) -> bool:
        try:
            return self.store.fail_job(job, error)
        except LeaseLost:
            return True  # someone else owns it now

    def _run(self, job: Job) -> str:
        if job.kind == TRIAGE:
            return self._triage(job)
        if job.kind == NOTIFY:
            return self._notify(job)
        raise ValueError(f"unknown job kind {job.kind!r}")

    def _triage(self, job: Job) -> str:
        alert = self.store.triage_started(job)
        started = time.perf_counter()
        diagnosis = self.diagnoser.diagnose(alert)
        seconds = time.perf_counter() - started
        targets = (
            self.notifier.targets(self._notice(self.store.get_incident(job.incident_id), diagnosis))
            if self.notifier
            else []
        )
        self.store.complete_triage(job, diagnosis, targets)
        if self.metrics is not None:
            self.metrics.record_diagnosis(diagnosis, seconds)
        log.info(
            "triaged incident %s in %.0f ms (%s)",
            job.incident_id,
            seconds * 1000,
            diagnosis.mode.value,
            extra={"incident_id": job.incident_id, "job_id": job.id, "mode": diagnosis.mode.value},
        )
        return "done"

    def _notify(self, job: Job) -> str:
        target = str((job.payload or {}).get("target"))
        incident = self.store.get_incident(job.incident_id)
        if self.notifier is None or incident.diagnosis is None:
            self.store.complete_job(job, "notify_skipped", f"{target}: notifications are not configured here")
            return "skipped"
        result = self.notifier.send_to(target, self._notice(incident, incident.diagnosis))
        if self.metrics is not None:
            self.metrics.notifications.labels(target, "ok" if result.ok else "error").inc()
        if not result.ok:
            raise RuntimeError(f"{target}: {result.detail}")
        self.store.complete_job(
            job, "notified", f"{target}: {result.detail}", {"target": target, "attempts": result.attempts}
        )
        return "done"

    def _notice(self, incident: IncidentDetail, diagnosis: Diagnosis) -> TriageNotice:
        from opsagent.incidents.notify import TriageNotice

        base = (self.settings.public_url or "").rstrip("/")
        return TriageNotice(
            incident_id=incident.id,
            alert_name=incident.alert_name,
            status=incident.status,
            severity=incident.severity,
            service=incident.service,
            source=incident.source,
            # Only an incident PagerDuty itself sent us names a PagerDuty incident: a label on any other
            # alert is sender-controlled and must not steer where our API key writes notes.
            pagerduty_incident_id=incident.alert.labels.get("pagerduty_incident_id")
            if incident.source == "pagerduty"
            else None,
            url=f"{base}/v1/incidents/{incident.id}" if base else None,
            diagnosis=diagnosis,
        )

    def run(self) -> None:
        """Work until `stop()`; sleeps on the store's job-queued signal or the poll interval."""
        if self.metrics is not None:
            self.metrics.workers.inc()
        try:
            while not self.stop_event.is_set():
                try:
                    if self.run_once():
                        continue
                except Exception:  # the database went away: back off and keep trying
                    log.exception("worker %s: cannot claim jobs; retrying", self.worker_id)
                    self.stop_event.wait(min(5.0, self.settings.worker_poll_seconds * 4))
                    continue
                self.store.job_queued.wait(self.settings.worker_poll_seconds)
                self.store.job_queued.clear()
        finally:
            if self.metrics is not None:
                self.metrics.workers.dec()

    def start(self) -> threading.Thread:
        """Run in a daemon thread."""
        self._thread = threading.Thread(
            target=self.run, name=f"opsagent-worker-{self.worker_id}", daemon=True
        )
        self._thread.start()
        return self._thread

    def stop(self, timeout: float = 30) -> None:
        """Ask the loop to stop after the current job, and wait for it."""
        self.stop_event.set()
        self.store.job_queued.set()
        if self._thread is not None:
            self._thread.join(timeout)


class _Heartbeat:
    """Renews a job's lease in the background while the job runs."""

    def __init__(self, store: IncidentStore, job: Job, interval: float) -> None:
        self.store = store
        self.job = job
        self.interval = max(0.2, interval)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"lease-{job.id}", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                if not self.store.queue.renew(self.job):
                    if not self._stop.is_set():  # not just finished in the meantime
                        log.warning("job %s: lease lost; its result will be discarded", self.job.id)
                    return
            except Exception:
                log.exception("job %s: could not renew the lease", self.job.id)
