"""SIGKILL a real `opsagent serve` while its queue is full, restart it: every incident triaged exactly once.

Runs the real CLI (uvicorn, the in-process worker, offline triage) on loopback, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from opsagent.config import Settings
from opsagent.incidents.db import create_db_engine
from opsagent.incidents.store import IncidentStore
from tests.api_support import REPO, alertmanager_body

pytestmark = pytest.mark.slow
OPSAGENT = str(Path(sys.executable).parent / "opsagent")
ALERTS = 60


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(env: dict[str, str], port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out:
        process = subprocess.Popen(
            [OPSAGENT, "serve", "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"opsagent serve exited early:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError("opsagent serve did not come up in 60 s")
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def test_sigkill_mid_queue_then_restart(tmp_path: Path, database_url: str) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("OPSAGENT_")},
        "OPSAGENT_DATA_DIR": str(tmp_path / "data"),
        "OPSAGENT_DATABASE_URL": database_url,
        "OPSAGENT_ACTION_CATALOG": str(REPO / "knowledge/actions/catalog.yaml"),
        "OPSAGENT_JOB_LEASE_SECONDS": "2",  # a killed worker's job is reclaimed two seconds later
        "OPSAGENT_WORKER_POLL_SECONDS": "0.1",
        "OPSAGENT_LOG_LEVEL": "warning",
    }
    token = subprocess.run(
        [OPSAGENT, "token", "create", "--scope", "webhook", "--name", "crash-test"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    engine = create_db_engine(Settings(database_url=database_url))
    store = IncidentStore(engine)
    port = _free_port()
    log = tmp_path / "server.log"
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with server(env, port, log) as process:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=30) as client:
                for i in range(ALERTS):
                    response = client.post("/v1/webhooks/alertmanager", json=alertmanager_body(f"crash-{i}"))
                    assert response.status_code == 202, response.text
            # Kill -9 as soon as the worker is under way, with most of the queue still to do.
            deadline = time.monotonic() + 60
            while store.counts()["diagnoses"] == 0 and time.monotonic() < deadline:
                time.sleep(0.02)
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
        at_kill = store.queue.depth()
        assert at_kill["queued"] + at_kill["running"] > 0, f"the queue was already drained: {at_kill}"
        assert store.counts()["incidents"] == ALERTS  # every acknowledged alert survived the kill

        with server(env, port, log):
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                depth = store.queue.depth()
                if depth["queued"] == depth["running"] == 0:
                    break
                time.sleep(0.2)
        depth = store.queue.depth()
        assert depth == {"queued": 0, "running": 0, "done": ALERTS, "failed": 0}, depth
        per_incident = store.diagnoses_per_episode()
        assert len(per_incident) == ALERTS and set(per_incident.values()) == {1}, per_incident
    finally:
        engine.dispose()


def test_two_worker_processes_share_the_queue(tmp_path: Path, database_url: str) -> None:
    """`opsagent worker` processes claim from one queue: every job runs exactly once across them."""
    engine = create_db_engine(Settings(database_url=database_url))
    store = IncidentStore(engine)
    try:
        from opsagent.integrations.alertmanager import parse_alertmanager

        for i in range(30):
            store.record_delivery("alertmanager", parse_alertmanager(alertmanager_body(f"shared-{i}")))
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("OPSAGENT_")},
            "OPSAGENT_DATA_DIR": str(tmp_path / "data"),
            "OPSAGENT_DATABASE_URL": database_url,
            "OPSAGENT_ACTION_CATALOG": str(REPO / "knowledge/actions/catalog.yaml"),
            "OPSAGENT_LOG_LEVEL": "warning",
        }
        workers = [
            subprocess.Popen([OPSAGENT, "worker", "--once"], env=env, stderr=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        reports = [w.communicate(timeout=180)[1] for w in workers]
        assert all(w.returncode == 0 for w in workers), reports
        ran = [int(r.strip().splitlines()[-1].split()[1]) for r in reports]  # "ran N job(s)"
        assert sum(ran) == 30, ran
        assert store.queue.depth()["done"] == 30
        assert set(store.diagnoses_per_episode().values()) == {1}
    finally:
        engine.dispose()
