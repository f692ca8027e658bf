"""Building the real app for tests: real database, real routes, a fake diagnoser instead of the models."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from opsagent.agent.diagnosis import Confidence, Diagnosis
from opsagent.api.app import create_app
from opsagent.api.services import Services
from opsagent.api.tokens import Scope
from opsagent.config import Settings
from opsagent.incidents.models import Alert

GRAFANA_SECRET = "grafana-hmac-secret"
PAGERDUTY_SECRETS = ["pd-old-secret", "pd-new-secret"]
GENERIC_SECRET = "whsec_" + base64.b64encode(b"generic-signing-key-0123456789ab").decode()
REPO = Path(__file__).resolve().parents[1]


class FakeDiagnoser:
    """Diagnoses instantly and records what it saw."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def diagnose(self, alert: Alert) -> Diagnosis:
        self.seen.append(alert.fingerprint)
        return Diagnosis(
            alert_name=alert.name,
            summary=f"{alert.name}: pod OOMKilled",
            probable_root_cause="the memory limit is too low for the heap",
            confidence=Confidence(value=0.8, reason="OOMKilled signature in the logs"),
        )


def api_settings(tmp_path: Path, database_url: str | None = None, **overrides: Any) -> Settings:
    """Settings with every webhook scheme enabled."""
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "database_url": database_url or f"sqlite:///{tmp_path / 'api.sqlite3'}",
        "grafana_webhook_secret": GRAFANA_SECRET,
        "pagerduty_webhook_secrets": PAGERDUTY_SECRETS,
        "generic_webhook_secrets": [GENERIC_SECRET],
        "action_catalog": REPO / "knowledge/actions/catalog.yaml",
    }
    return Settings(**{**values, **overrides})


@dataclass
class Api:
    """A client on the real app, its services, and tokens per scope."""

    client: httpx.AsyncClient
    app: FastAPI
    services: Services
    diagnoser: FakeDiagnoser
    tokens: dict[str, str]

    def auth(self, scope: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[scope]}"}


@asynccontextmanager
async def running_api(
    settings: Settings, *, chat_model: Any = None, diagnoser: Callable[[], Any] | None = None
) -> AsyncIterator[Api]:
    """The app over httpx.ASGITransport (no worker thread: tests run jobs with `run_jobs`)."""
    fake = FakeDiagnoser()
    services = Services.build(settings, chat_model=chat_model, diagnoser_factory=diagnoser or (lambda: fake))
    app = create_app(settings, services, run_worker=False)
    tokens = {scope.value: services.tokens.create(f"test-{scope.value}", [scope])[0] for scope in Scope}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://opsagent.test") as client:
        try:
            yield Api(client, app, services, fake, tokens)
        finally:
            services.close()


def alertmanager_body(
    fingerprint: str = "fp-1", status: str = "firing", starts: str = "2026-11-20T03:15:00Z", **labels: str
) -> dict[str, Any]:
    """An Alertmanager v4 webhook body with one alert."""
    base = json.loads((REPO / "knowledge/alerts/payments-oom.json").read_text())
    alert = base["alerts"][0]
    alert.update(status=status, fingerprint=fingerprint, startsAt=starts)
    alert["labels"].update(labels)
    if status == "resolved":
        alert["endsAt"] = "2026-11-20T04:00:00Z"
    base["status"] = status
    return dict(base)


def now() -> float:
    return datetime.now(UTC).timestamp()
