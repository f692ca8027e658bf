"""Schemathesis against the app's own OpenAPI spec: no generated request may get a 5xx.

The app is built once, when this module is imported (schemathesis needs the spec to make one test per
operation): a real SQLite database in a temp dir, the real routes, a fake diagnoser, no worker. Every
generated request carries an admin token, so the fuzzer gets past auth into validation and the
handlers. Runs are bounded and derandomized so CI is reproducible.
"""

from __future__ import annotations

import atexit
import base64
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from opsagent.agent.diagnosis import Confidence, Diagnosis
from opsagent.api.app import create_app
from opsagent.api.services import Services
from opsagent.api.tokens import Scope
from opsagent.config import Settings
from opsagent.incidents.models import Alert

REPO = Path(__file__).resolve().parents[1]
GENERIC_SECRET = "whsec_" + base64.b64encode(b"schemathesis-signing-key-0123456").decode()
MAX_EXAMPLES = 40


class FakeDiagnoser:
    """Never called (no worker runs), but the app needs a diagnoser that loads no model."""

    def diagnose(self, alert: Alert) -> Diagnosis:
        return Diagnosis(
            alert_name=alert.name,
            summary="fake",
            probable_root_cause="fake",
            confidence=Confidence(value=0.5, reason="fake"),
        )


@dataclass
class Built:
    app: FastAPI
    services: Services
    secret: str
    root: Path

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret}"}


def build() -> Built:
    root = Path(tempfile.mkdtemp(prefix="opsagent-schemathesis-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    with pytest.MonkeyPatch.context() as patch:  # at import time conftest's env cleaning has not run
        for key in list(os.environ):
            if key.startswith("OPSAGENT_") or key == "OPENAI_API_KEY":
                patch.delenv(key)
        app_settings = Settings(
            data_dir=root / "data",
            database_url=f"sqlite:///{root / 'db.sqlite3'}",
            grafana_webhook_secret="grafana-hmac-secret",
            pagerduty_webhook_secrets=["pd-secret"],
            generic_webhook_secrets=[GENERIC_SECRET],
            action_catalog=REPO / "knowledge/actions/catalog.yaml",
        )
    services = Services.build(app_settings, chat_model=None, diagnoser_factory=FakeDiagnoser)
    app = create_app(app_settings, services, run_worker=False)
    secret, _ = services.tokens.create("schemathesis", [Scope.ADMIN])
    return Built(app, services, secret, root)


BUILT = build()
schema = schemathesis.openapi.from_asgi("/openapi.json", BUILT.app, config=schemathesis.Config())
schema.config.update(headers=BUILT.auth)


@pytest.fixture(scope="module", autouse=True)
def _close_app() -> Iterator[None]:
    yield
    BUILT.services.close()


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors(case: schemathesis.Case) -> None:
    case.call_and_validate(excluded_checks=[positive_data_acceptance])
