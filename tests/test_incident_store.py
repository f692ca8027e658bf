"""The incident store and the queue, on SQLite and on a real PostgreSQL (see the database_url fixture)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from opsagent.agent.diagnosis import Confidence, Diagnosis
from opsagent.config import Settings
from opsagent.incidents.db import create_db_engine
from opsagent.incidents.models import Alert, AlertStatus
from opsagent.incidents.queue import LeaseLost
from opsagent.incidents.store import TRIAGE, IncidentNotFound, IncidentStore


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_db_engine(Settings(database_url=database_url))
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(engine: Engine, clock: Clock) -> IncidentStore:
    return IncidentStore(engine, lease_seconds=30, max_attempts=2, clock=clock)


def alert(
    fingerprint: str = "fp1",
    status: AlertStatus = AlertStatus.FIRING,
    starts: str = "2026-11-20T03:00:00+00:00",
    name: str = "KubePodCrashLooping",
) -> Alert:
    return Alert(
        name=name,
        status=status,
        service="payments-api",
        severity="critical",
        labels={"alertname": name, "service": "payments-api"},
        annotations={"summary": f"{name} on payments-api"},
        starts_at=datetime.fromisoformat(starts),
        ends_at=datetime(2026, 11, 20, 4, tzinfo=UTC) if status is AlertStatus.RESOLVED else None,
        fingerprint=fingerprint,
        source="alertmanager",
    )


def diagnosis(summary: str = "pod OOMKilled") -> Diagnosis:
    return Diagnosis(
        alert_name="KubePodCrashLooping",
        summary=summary,
        probable_root_cause="memory limit too low",
        confidence=Confidence(value=0.8, reason="signature"),
    )


def test_repeat_resolve_and_new_episode(store: IncidentStore, clock: Clock) -> None:
    first = store.record_delivery("alertmanager", [alert()])
    assert [a.outcome for a in first.alerts] == ["created"] and first.alerts[0].triage_queued
    incident_id = first.alerts[0].incident_id

    clock.now += 60
    repeat = store.record_delivery("alertmanager", [alert()])
    assert repeat.alerts[0].outcome == "repeat" and not repeat.alerts[0].triage_queued
    assert repeat.alerts[0].incident_id == incident_id

    resolved = store.record_delivery("alertmanager", [alert(status=AlertStatus.RESOLVED)])
    assert resolved.alerts[0].outcome == "resolved"
    detail = store.get_incident(incident_id)
    assert detail.status == "resolved" and detail.deliveries == 3 and detail.resolved_at == clock.now

    # A late copy of the firing notification of the episode that just ended changes nothing...
    stale = store.record_delivery("alertmanager", [alert()])
    assert stale.alerts[0].outcome == "stale" and stale.alerts[0].incident_id == incident_id
    # ...while a new firing episode (new startsAt) is a new incident with its own triage.
    again = store.record_delivery("alertmanager", [alert(starts="2026-11-20T05:00:00+00:00")])
    assert again.alerts[0].outcome == "created" and again.alerts[0].incident_id != incident_id
    second = store.get_incident(again.alerts[0].incident_id)
    assert second.episode == 2 and second.triage_status == "queued"
    assert store.queue.depth()["queued"] == 2
    assert store.counts()["alert_events"] == 5  # every delivery is kept, duplicates included


def test_delivery_ids_make_retries_no_ops(store: IncidentStore) -> None:
    first = store.record_delivery("pagerduty", [alert()], delivery_id="d-1")
    retry = store.record_delivery("pagerduty", [alert()], delivery_id="d-1")
    assert not first.duplicate and retry.duplicate and retry.alerts == []
    assert store.counts()["alert_events"] == 1
    # The same id from another source is another delivery.
    assert not store.record_delivery("generic", [alert()], delivery_id="d-1").duplicate


def test_resolution_of_an_unknown_alert_is_kept_but_not_triaged(store: IncidentStore) -> None:
    outcome = store.record_delivery("alertmanager", [alert(status=AlertStatus.RESOLVED)])
    assert outcome.alerts[0].outcome == "resolved_unknown" and not outcome.alerts[0].triage_queued
    detail = store.get_incident(outcome.alerts[0].incident_id)
    assert detail.status == "resolved" and detail.triage_status == "skipped"
    assert store.queue.claim("w") is None


def test_sources_do_not_share_fingerprints(store: IncidentStore) -> None:
    a = store.record_delivery("alertmanager", [alert()])
    b = store.record_delivery("grafana", [alert()])
    assert a.alerts[0].incident_id != b.alerts[0].incident_id


def test_claim_complete_and_fenced_results(store: IncidentStore, clock: Clock) -> None:
    incident_id = store.record_delivery("alertmanager", [alert()]).alerts[0].incident_id
    job = store.queue.claim("worker-a")
    assert job is not None and job.kind == TRIAGE and job.incident_id == incident_id and job.attempts == 1
    assert store.queue.claim("worker-b") is None  # leased

    # worker-a stops renewing (it died); after the lease, worker-b reclaims the job.
    clock.now += 31
    taken = store.queue.claim("worker-b")
    assert taken is not None and taken.id == job.id and taken.attempts == 2
    assert store.triage_started(taken).name == "KubePodCrashLooping"
    # worker-a comes back to life with a result: it is refused and nothing is stored.
    with pytest.raises(LeaseLost):
        store.complete_triage(job, diagnosis("stale result"), [])
    assert not store.queue.renew(job)
    store.complete_triage(taken, diagnosis(), ["slack"])
    detail = store.get_incident(incident_id)
    assert detail.triage_status == "done" and detail.diagnosis is not None
    assert detail.diagnosis.summary == "pod OOMKilled" and detail.diagnoses == 1
    assert [e.kind for e in detail.timeline][-2:] == ["triage_started", "triaged"]
    assert store.diagnoses_per_episode() == {incident_id: 1}
    notify = store.queue.claim("worker-b")
    assert notify is not None and notify.kind == "notify" and notify.payload is not None
    assert notify.payload["target"] == "slack"


def test_failed_attempts_back_off_then_give_up(store: IncidentStore, clock: Clock) -> None:
    incident_id = store.record_delivery("alertmanager", [alert()]).alerts[0].incident_id
    job = store.queue.claim("w")
    assert job is not None
    assert store.fail_job(job, "RuntimeError: boom") is True
    assert store.queue.claim("w") is None  # backing off
    clock.now += 6
    job = store.queue.claim("w")
    assert job is not None and job.attempts == 2
    assert store.fail_job(job, "RuntimeError: boom again") is False
    detail = store.get_incident(incident_id)
    assert detail.triage_status == "failed"
    kinds = [e.kind for e in detail.timeline]
    assert kinds[-2:] == ["triage_error", "triage_failed"] and "boom again" in detail.timeline[-1].message
    assert store.queue.depth()["failed"] == 1


def test_a_job_whose_workers_keep_dying_is_given_up(store: IncidentStore, clock: Clock) -> None:
    incident_id = store.record_delivery("alertmanager", [alert()]).alerts[0].incident_id
    for _ in range(2):
        assert store.queue.claim("doomed") is not None
        clock.now += 31
    assert store.queue.claim("w") is None
    detail = store.get_incident(incident_id)
    assert detail.triage_status == "failed"
    assert any(e.kind == "triage_failed" and "2 attempts" in e.message for e in detail.timeline)


def test_retriage_is_idempotent_while_pending(store: IncidentStore) -> None:
    incident_id = store.record_delivery("alertmanager", [alert()]).alerts[0].incident_id
    pending, created = store.request_retriage(incident_id)
    assert not created  # the first triage is still queued
    job = store.queue.claim("w")
    assert job is not None and job.id == pending
    store.complete_triage(job, diagnosis(), [])
    again, created = store.request_retriage(incident_id)
    assert created and again != pending
    assert store.request_retriage(incident_id) == (again, False)
    with pytest.raises(IncidentNotFound):
        store.request_retriage(999_999)


def test_listing_filters_and_pagination(store: IncidentStore) -> None:
    for i in range(7):
        store.record_delivery("alertmanager", [alert(fingerprint=f"fp{i}", name=f"Alert{i % 2}")])
    page = store.list_incidents(limit=3)
    assert page.total == 7 and [i.id for i in page.items] == sorted((i.id for i in page.items), reverse=True)
    seen = [i.id for i in page.items]
    while page.next_cursor is not None:
        page = store.list_incidents(limit=3, cursor=page.next_cursor)
        seen += [i.id for i in page.items]
    assert len(seen) == len(set(seen)) == 7
    assert store.list_incidents(alert_name="Alert1").total == 3
    assert store.list_incidents(status="resolved").total == 0
    assert store.list_incidents(service="payments-api", triage_status="queued").total == 7


def test_concurrent_deliveries_of_a_new_alert_open_one_incident(engine: Engine) -> None:
    """Eight replicas' worth of threads deliver the same new alert at once: one incident, one triage.

    Several rounds, because the races (a second reader that misses the first writer's uncommitted row,
    then sees it committed a statement later) only show up some of the time.
    """
    store = IncidentStore(engine)

    def race(fingerprint: str) -> list[str]:
        barrier = threading.Barrier(8)
        outcomes: list[str] = []
        errors: list[BaseException] = []

        def deliver() -> None:
            try:
                barrier.wait()
                outcomes.append(store.record_delivery("alertmanager", [alert(fingerprint)]).alerts[0].outcome)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=deliver) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        return sorted(outcomes)

    for round_ in range(6):
        assert race(f"race-{round_}") == ["created"] + ["repeat"] * 7, round_
    assert store.counts()["incidents"] == 6 and store.counts()["jobs"] == 6


def test_concurrent_workers_claim_each_job_once(engine: Engine) -> None:
    store = IncidentStore(engine)
    for i in range(40):
        store.record_delivery("alertmanager", [alert(fingerprint=f"fp{i}")])
    claimed: list[int] = []
    lock = threading.Lock()

    def work(name: str) -> None:
        while (job := store.queue.claim(name)) is not None:
            store.complete_triage(job, diagnosis(), [])
            with lock:
                claimed.append(job.id)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(claimed) == len(set(claimed)) == 40
    assert set(store.diagnoses_per_episode().values()) == {1}


def test_a_late_resolution_of_an_earlier_episode_does_not_close_the_current_one(store: IncidentStore) -> None:
    store.record_delivery("alertmanager", [alert()])
    store.record_delivery("alertmanager", [alert(status=AlertStatus.RESOLVED)])
    current = store.record_delivery("alertmanager", [alert(starts="2026-11-20T05:00:00+00:00")]).alerts[0]
    late = store.record_delivery("alertmanager", [alert(status=AlertStatus.RESOLVED)]).alerts[0]
    assert late.outcome == "stale" and late.incident_id == current.incident_id
    assert store.get_incident(current.incident_id).status == "firing"
    again = store.record_delivery("alertmanager", [alert(starts="2026-11-20T05:00:00+00:00")]).alerts[0]
    assert again.outcome == "repeat"


def test_outcomes_come_back_in_the_order_sent(store: IncidentStore) -> None:
    """Alerts are locked in fingerprint order (no deadlocks between replicas) but answered as sent."""
    sent = [alert("fp-c"), alert("fp-a"), alert("fp-b")]
    outcome = store.record_delivery("alertmanager", sent)
    assert [a.fingerprint for a in outcome.alerts] == ["fp-c", "fp-a", "fp-b"]
