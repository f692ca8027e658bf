"""`opsagent logs` end to end: template ids, from a cited template to its lines, counts and empty windows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from opsagent.cli import app

runner = CliRunner()
OOM_LINES = 30  # every 4th of 120 requests is followed by an OOM kill
REQUESTS = 120


def write_log(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(REQUESTS):
        minute, second = divmod(i, 60)
        ts = f"2026-11-20T03:{minute:02d}:{second:02d}Z"
        lines.append(
            json.dumps(
                {"ts": ts, "level": "info", "service": "api", "msg": f"GET /v1/charges/{1000 + i} 200"}
            )
        )
        if i % 4 == 0:
            message = f"container exited with code 137 reason=OOMKilled pod=api-{i}"
            lines.append(json.dumps({"ts": ts, "level": "error", "service": "api", "msg": message}))
    (root / "api.log").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    tmp = tmp_path_factory.mktemp("cli-logs")
    env = {"OPSAGENT_DATA_DIR": str(tmp / "data")}
    result = runner.invoke(app, ["ingest", str(write_log(tmp / "logs"))], env=env)
    assert result.exit_code == 0, result.output
    return env


def json_lines(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def oom_template_id(env: dict[str, str]) -> str:
    result = runner.invoke(
        app, ["search", "OOMKilled exit code 137", "--kind", "log", "-k", "1", "--json"], env=env
    )
    assert result.exit_code == 0, result.output
    top = json.loads(result.output)["results"][0]
    assert "OOMKilled" in top["title"]
    return str(top["id"])


def test_search_shows_the_template_id_that_logs_takes(env: dict[str, str]) -> None:
    template_id = oom_template_id(env)
    result = runner.invoke(app, ["search", "OOMKilled exit code 137", "--kind", "log", "-k", "1"], env=env)
    assert f"opsagent logs --template {template_id}" in result.output


def test_logs_json_carries_each_lines_template(env: dict[str, str]) -> None:
    template_id = oom_template_id(env)
    result = runner.invoke(app, ["logs", "OOMKilled", "--json", "--limit", "5"], env=env)
    assert result.exit_code == 0, result.output
    lines = json_lines(result.stdout)
    assert len(lines) == 5
    assert {line["template_id"] for line in lines} == {template_id}
    assert all("OOMKilled" in str(line["template"]) for line in lines)
    requests = json_lines(runner.invoke(app, ["logs", "charges", "--json", "--limit", "3"], env=env).stdout)
    assert requests and all(r["template_id"] not in (None, template_id) for r in requests)


def test_logs_template_lists_exactly_that_templates_lines(env: dict[str, str]) -> None:
    template_id = oom_template_id(env)
    result = runner.invoke(app, ["logs", "--template", template_id, "--json", "--limit", "1000"], env=env)
    assert result.exit_code == 0, result.output
    lines = json_lines(result.stdout)
    assert len(lines) == OOM_LINES
    assert all("OOMKilled" in str(line["text"]) and line["template_id"] == template_id for line in lines)
    numbers = [int(str(line["line_no"])) for line in lines]
    assert numbers == sorted(numbers)  # file order

    text = runner.invoke(app, ["logs", "--template", template_id, "--limit", "2"], env=env)
    assert text.exit_code == 0, text.output
    assert f"template {template_id} in api.log" in text.output
    assert f"showing 2 of {OOM_LINES} lines" in text.output

    window = ["--since", "2026-11-20T03:01:00Z"]
    later = json_lines(
        runner.invoke(app, ["logs", "--template", template_id, "--json", *window], env=env).stdout
    )
    assert len(later) == OOM_LINES // 2


def test_an_unknown_template_id_is_one_clear_error(env: dict[str, str]) -> None:
    result = runner.invoke(app, ["logs", "--template", "0123456789abcdef0123"], env=env)
    assert result.exit_code != 0
    assert "No log template has the id" in str(result.exception)
    assert "search --kind log" in str(result.exception)


def test_template_with_keywords_is_refused(env: dict[str, str]) -> None:
    result = runner.invoke(app, ["logs", "OOMKilled", "--template", "x"], env=env)
    assert result.exit_code != 0 and "drop TEXT" in str(result.exception)


def test_truncated_output_says_how_many_there_are(env: dict[str, str]) -> None:
    result = runner.invoke(app, ["logs", "--limit", "50"], env=env)
    assert result.exit_code == 0, result.output
    assert f"showing 50 of {REQUESTS + OOM_LINES} lines" in result.output
    everything = runner.invoke(app, ["logs", "--limit", "1000"], env=env)
    assert "showing" not in everything.output
    # --json keeps stdout machine-readable: the note goes to stderr.
    as_json = runner.invoke(app, ["logs", "--limit", "3", "--json"], env=env)
    assert len(json_lines(as_json.stdout)) == 3 and "showing" not in as_json.stdout
    assert f"showing 3 of {REQUESTS + OOM_LINES}" in as_json.stderr


def test_an_empty_time_window_says_where_the_data_is(env: dict[str, str]) -> None:
    result = runner.invoke(app, ["logs", "--since", "2026-11-21T00:00:00Z"], env=env)
    assert result.exit_code == 0, result.output
    assert "No log lines after 2026-11-21T00:00:00Z" in result.output
    assert (
        "the newest line is from 2026-11-20T03:01:59Z, the oldest from 2026-11-20T03:00:00Z" in result.output
    )

    window = ["--since", "2026-11-19T00:00:00Z", "--until", "2026-11-19T06:00:00Z", "--service", "api"]
    result = runner.invoke(app, ["logs", *window], env=env)
    assert "between 2026-11-19T00:00:00Z and 2026-11-19T06:00:00Z" in result.output
    assert "the newest line of api is from 2026-11-20T03:01:59Z" in result.output

    # Lines in the window but none matching: the window is not blamed.
    result = runner.invoke(app, ["logs", "nosuchword", "--since", "2026-11-20T00:00:00Z"], env=env)
    assert "matching 'nosuchword'" in result.output and "other lines in that window" in result.output
