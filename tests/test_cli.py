"""The CLI end to end: ingest, search (text, --json, --batch), stats, and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from opsagent.cli import app

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"OPSAGENT_DATA_DIR": str(tmp_path / "data")}


def test_ingest_search_and_stats(env: dict[str, str], runbook_dir: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["ingest", str(runbook_dir)], env=env)
    assert result.exit_code == 0, result.output
    assert "Ingested 3 file(s)" in result.output

    result = runner.invoke(app, ["search", "x509 certificate has expired", "-k", "2", "--json"], env=env)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    top = payload["results"][0]
    assert top["source"] == "security/cert-expiry.md"
    assert set(top) >= {"source", "title", "section", "score", "snippet", "kind"}

    result = runner.invoke(app, ["search", "disk full on node", "-k", "1"], env=env)
    assert result.exit_code == 0 and "storage/disk-full.md" in result.output

    result = runner.invoke(app, ["stats", "--json"], env=env)
    stats = json.loads(result.output)
    assert stats["collections"]["runbook"]["documents"] == 3


def test_batch_search_prints_one_line_per_query(
    env: dict[str, str], runbook_dir: Path, tmp_path: Path
) -> None:
    runner.invoke(app, ["ingest", str(runbook_dir)], env=env)
    batch = tmp_path / "queries.jsonl"
    batch.write_bytes(
        (json.dumps({"id": "q1", "text": "OOMKilled exit code 137"}) + "\n").encode()
        + b"not json\n\n"
        + (json.dumps({"id": "q3", "text": None}) + "\n").encode()
        + b'{"id": "q4", "text": "No space left on device \xff"}\n'
    )
    result = runner.invoke(app, ["search", "--batch", str(batch), "-k", "2", "--json"], env=env)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [line["id"] for line in lines] == ["q1", None, "q3", "q4"]
    assert lines[0]["results"][0]["source"] == "kubernetes/pod-oomkilled.md"
    assert len(lines[0]["results"]) == 2
    assert lines[1]["error"] and lines[1]["results"] == []
    assert "non-empty string" in lines[2]["error"]
    assert lines[3]["results"][0]["source"] == "storage/disk-full.md"


def _run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "opsagent.cli", *args],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", **env},
        timeout=120,
    )


def test_errors_are_one_line_not_a_traceback(env: dict[str, str], tmp_path: Path) -> None:
    missing = _run_cli("ingest", str(tmp_path / "nope"), env=env)
    assert missing.returncode == 1
    assert missing.stderr.strip().count("\n") == 0 and "does not exist" in missing.stderr
    assert "Traceback" not in missing.stderr

    bad_url = _run_cli("stats", env={**env, "OPSAGENT_CHROMA_URL": "ftp://x"})
    assert (
        bad_url.returncode == 1
        and "OPSAGENT_CHROMA_URL" in bad_url.stderr
        and "Traceback" not in bad_url.stderr
    )

    no_server = _run_cli("stats", env={**env, "OPSAGENT_CHROMA_URL": "http://127.0.0.1:9"})
    assert no_server.returncode == 1 and "chroma run" in no_server.stderr

    bad_time = _run_cli("search", "x", "--since", "yesterday-ish", env=env)
    assert bad_time.returncode == 1 and "--since" in bad_time.stderr
