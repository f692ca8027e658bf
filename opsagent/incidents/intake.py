"""Receiving alerts: each delivery's alerts are committed and folded into incidents by fingerprint.

The webhook hot path, so its statements are built once (constructing Core statements per call was most
of a delivery's cost on SQLite; see bench/webhooks.py --breakdown) and values bound at execution.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from opsagent.incidents.models import Alert, AlertStatus
from opsagent.incidents.queue import JobQueue, insert_ignoring_conflict
from opsagent.incidents.records import AlertOutcome, DeliveryOutcome, TriageStatus
from opsagent.incidents.tables import alert_events, incident_events, incidents, webhook_deliveries

TRIAGE = "triage"

_LATEST_EPISODE = (
    select(incidents.c.id, incidents.c.episode, incidents.c.starts_at, incidents.c.status)
    .where(incidents.c.source == bindparam("p_source"), incidents.c.fingerprint == bindparam("p_fingerprint"))
    .order_by(incidents.c.episode.desc())
    .limit(1)
    .with_for_update()
)
_REPEAT = (
    update(incidents)
    .where(incidents.c.id == bindparam("p_id"))
    .values(
        deliveries=incidents.c.deliveries + 1,
        updated_at=bindparam("p_now"),
        alert=bindparam("p_alert"),
        summary=bindparam("p_summary"),
    )
)
_RESOLVE = (
    update(incidents)
    .where(incidents.c.id == bindparam("p_id"))
    .values(
        status="resolved",
        ends_at=bindparam("p_ends"),
        resolved_at=bindparam("p_now"),
        updated_at=bindparam("p_now"),
        deliveries=incidents.c.deliveries + 1,
    )
)
_INSERT_INCIDENT = insert(incidents).returning(incidents.c.id)
_INSERT_EVENT = insert(incident_events)
_INSERT_ALERT_EVENT = insert(alert_events)


def add_event(
    connection: Connection,
    incident_id: int,
    kind: str,
    message: str,
    at: float,
    data: dict[str, Any] | None = None,
) -> None:
    """One timeline entry."""
    connection.execute(
        _INSERT_EVENT,
        {"incident_id": incident_id, "at": at, "kind": kind, "message": message[:4000], "data": data},
    )


class AlertIntake:
    """Records deliveries inside the caller's write transaction (the store owns retries)."""

    def __init__(self, queue: JobQueue, clock: Callable[[], float]) -> None:
        self.queue = queue
        self.clock = clock

    def record(
        self, connection: Connection, source: str, alerts: list[Alert], delivery_id: str | None
    ) -> DeliveryOutcome:
        now = self.clock()
        if delivery_id is not None and not insert_ignoring_conflict(
            connection,
            webhook_deliveries,
            {"source": source, "delivery_id": delivery_id, "received_at": now, "alerts": len(alerts)},
        ):
            return DeliveryOutcome(source=source, delivery_id=delivery_id, duplicate=True)
        results = [self._record_alert(connection, source, alert, delivery_id, now) for alert in alerts]
        return DeliveryOutcome(source=source, delivery_id=delivery_id, alerts=results)

    def _record_alert(
        self, connection: Connection, source: str, alert: Alert, delivery_id: str | None, now: float
    ) -> AlertOutcome:
        alert_json = alert.model_dump(mode="json")
        # One statement reads the latest episode and locks it: if it is firing, it is the open incident.
        # (Two reads could disagree under Postgres' READ COMMITTED when another replica commits between.)
        last = connection.execute(
            _LATEST_EPISODE, {"p_source": source, "p_fingerprint": alert.fingerprint}
        ).first()
        queued = False
        if last is not None and last.status == "firing":
            incident_id = int(last.id)
            if alert.status is AlertStatus.FIRING:
                outcome = "repeat"
                connection.execute(
                    _REPEAT,
                    {"p_id": incident_id, "p_now": now, "p_alert": alert_json, "p_summary": alert.summary},
                )
            elif (
                alert.starts_at is not None
                and last.starts_at is not None
                and alert.starts_at.timestamp() < last.starts_at - 1e-3
            ):
                # The resolution of an earlier episode, delivered late: it must not close this one.
                outcome = "stale"
            else:
                outcome = "resolved"
                ends_at = alert.ends_at.timestamp() if alert.ends_at else now
                connection.execute(_RESOLVE, {"p_id": incident_id, "p_now": now, "p_ends": ends_at})
                self._events(
                    connection, incident_id, [("resolved", f"{source} reported {alert.name} resolved")]
                )
        else:
            same_episode = (
                last is not None
                and alert.starts_at is not None
                and last.starts_at is not None
                and abs(last.starts_at - alert.starts_at.timestamp()) < 1e-3
            )
            if last is not None and (same_episode or alert.status is AlertStatus.RESOLVED):
                # A late or re-sent copy of an episode that is already over: keep it, change nothing.
                incident_id = int(last.id)
                # A second resolution is not a re-sent firing alert: say what it is.
                outcome = "stale" if alert.status is AlertStatus.FIRING else "resolved_again"
            elif alert.status is AlertStatus.FIRING:
                incident_id = self._open(connection, source, alert, alert_json, last, now)
                queued = self.queue.enqueue(
                    connection, kind=TRIAGE, incident_id=incident_id, dedup_key=f"triage:{incident_id}:1"
                )
                outcome = "created"
            else:
                incident_id = self._open(connection, source, alert, alert_json, last, now)
                outcome = "resolved_unknown"
        connection.execute(
            _INSERT_ALERT_EVENT,
            {
                "incident_id": incident_id,
                "source": source,
                "delivery_id": delivery_id,
                "status": alert.status.value,
                "outcome": outcome,
                "received_at": now,
                "alert": alert_json,
            },
        )
        return AlertOutcome(
            fingerprint=alert.fingerprint,
            incident_id=incident_id,
            outcome=outcome,
            triage_queued=queued,
        )

    def _open(
        self,
        connection: Connection,
        source: str,
        alert: Alert,
        alert_json: dict[str, Any],
        last: Any,
        now: float,
    ) -> int:
        firing = alert.status is AlertStatus.FIRING
        episode = int(last.episode) + 1 if last is not None else 1
        result = connection.execute(
            _INSERT_INCIDENT,
            {
                "source": source,
                "fingerprint": alert.fingerprint,
                "episode": episode,
                "status": "firing" if firing else "resolved",
                "alert_name": alert.name,
                "severity": alert.severity,
                "service": alert.service,
                "summary": alert.summary,
                "alert": alert_json,
                "starts_at": alert.starts_at.timestamp() if alert.starts_at else now,
                "ends_at": None if firing else (alert.ends_at.timestamp() if alert.ends_at else now),
                "created_at": now,
                "updated_at": now,
                "resolved_at": None if firing else now,
                "deliveries": 1,
                "triage_status": TriageStatus.QUEUED.value if firing else TriageStatus.SKIPPED.value,
            },
        )
        incident_id = int(result.scalar_one())
        if firing:
            again = f" (episode {episode})" if episode > 1 else ""
            opened = ("opened", f"{source}: {alert.name} firing{again}")
            self._events(connection, incident_id, [opened, ("triage_queued", "triage queued")])
        else:
            first = ("resolved", f"{source}: {alert.name} first seen resolved (no triage)")
            self._events(connection, incident_id, [first])
        return incident_id

    def _events(self, connection: Connection, incident_id: int, events: list[tuple[str, str]]) -> None:
        at = self.clock()
        connection.execute(
            _INSERT_EVENT,
            [
                {"incident_id": incident_id, "at": at, "kind": kind, "message": message[:4000], "data": None}
                for kind, message in events
            ],
        )
