"""A real `opsagent serve` (or `opsagent ingest`, `token create`) in a subprocess on loopback."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.common import REPO
from bench.http_load import free_port, wait_healthy
from bench.webhooks import Server as WebhookBenchServer
from opsagent.config import Settings
from opsagent.incidents.db import create_db_engine
from opsagent.incidents.store import IncidentStore

OPSAGENT = Path(sys.executable).parent / "opsagent"


def server_env(data_dir: Path, **settings: str) -> dict[str, str]:
    """The environment for opsagent subprocesses: no inherited OPSAGENT_* or LLM key, offline."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSAGENT_") and k != "OPENAI_API_KEY"}
    env.update(
        {
            "OPSAGENT_DATA_DIR": str(data_dir),
            "OPSAGENT_LOG_LEVEL": "warning",
            "OPSAGENT_ACTION_CATALOG": str(REPO / "knowledge" / "actions" / "catalog.yaml"),
            "PYTHONPATH": str(REPO),
        }
    )
    env.update({f"OPSAGENT_{k.upper()}": v for k, v in settings.items()})
    return env


def opsagent(env: dict[str, str], *arguments: str, timeout: float = 300) -> str:
    """Run one opsagent command to completion; its stdout."""
    done = subprocess.run(
        [str(OPSAGENT), *arguments], env=env, capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        raise RuntimeError(f"opsagent {' '.join(arguments[:2])} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def create_token(env: dict[str, str], scope: str) -> str:
    out = opsagent(env, "token", "create", "--scope", scope, "--name", f"reliability-{scope}", "--json")
    return str(json.loads(out)["token"])


@dataclass
class Server(WebhookBenchServer):
    """A running `opsagent serve` (stop/cpu from the webhook benchmark's) with memory readings."""

    def peak_rss_mib(self) -> float:
        """The peak resident set (VmHWM) of the server process, MiB; read it before stopping."""
        return status_kib(self.process.pid, "VmHWM") / 1024

    def rss_mib(self) -> float:
        return status_kib(self.process.pid, "VmRSS") / 1024

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)


def status_kib(pid: int, field: str) -> float:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return float(line.split()[1])
    return float("nan")


def start_server(env: dict[str, str], log_path: Path, port: int | None = None) -> Server:
    """Start `opsagent serve` and wait until /healthz answers (raises with the log's tail if not)."""
    port = port or free_port()
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [str(OPSAGENT), "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    server = Server(process, f"http://127.0.0.1:{port}", log_path)
    if not wait_healthy(server.url, process, 90):
        server.stop()
        raise RuntimeError(f"opsagent serve did not come up:\n{log_path.read_text()[-3000:]}")
    return server


def open_store(data_dir: Path) -> IncidentStore:
    """The incident store of a data dir (SQLite, WAL: reading it never blocks the server's writes)."""
    return IncidentStore(create_db_engine(Settings(data_dir=data_dir)))


def wait_drained(store: IncidentStore, seconds: float) -> tuple[bool, float]:
    """Poll the queue until nothing is queued or running; (drained, seconds waited)."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        depth = store.queue.depth()
        if depth["queued"] == 0 and depth["running"] == 0:
            return True, time.monotonic() - started
        time.sleep(0.25)
    return False, time.monotonic() - started
