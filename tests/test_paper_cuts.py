"""Small things a new user trips on: score precision, piped output, chat /help, API times, Opsgenie names,
a second resolution, an empty alert file."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from opsagent.cli import app
from opsagent.cli_output import format_score
from opsagent.integrations.opsgenie import parse_opsgenie
from tests.api_support import Api, alertmanager_body, api_settings, running_api
from tests.conftest import write_runbooks

PAYLOADS = Path(__file__).parent / "fixtures" / "payloads"
runner = CliRunner()
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


@pytest.mark.parametrize(
    ("score", "shown"),
    [(0.6, "0.60"), (0.595, "0.59"), (0.5996, "0.5996"), (0.5951, "0.595"), (0.8, "0.80")],
)
def test_scores_print_precisely_enough_to_tell_the_side_of_the_threshold(score: float, shown: str) -> None:
    printed = format_score(score, 0.6)
    assert printed == shown
    assert (float(printed) >= 0.6) == (score >= 0.6)


def test_scores_without_a_threshold_keep_two_decimals() -> None:
    assert format_score(0.5996) == "0.60"


def test_piped_search_output_keeps_a_long_citation_on_one_line(tmp_path: Path) -> None:
    deep = "platform-team/kubernetes-control-plane/networking-and-ingress/certificate-management"
    root = write_runbooks(
        tmp_path / "runbooks",
        {
            f"{deep}/ingress-serving-certificate-expiry.md": (
                "# Ingress certificate expiry\n\n## Symptoms\n\nx509: certificate has expired for the "
                "ingress controller's serving certificate.\n\n## Fix\n\nRenew it with cert-manager.\n"
            )
        },
    )
    env = {"OPSAGENT_DATA_DIR": str(tmp_path / "data")}
    assert runner.invoke(app, ["ingest", str(root)], env=env).exit_code == 0
    result = runner.invoke(app, ["search", "x509 certificate has expired ingress", "-k", "1"], env=env)
    assert result.exit_code == 0, result.output
    citation = next(line for line in result.output.splitlines() if deep in line)
    assert len(citation) > 80  # wider than Rich's default width for a non-terminal
    assert f"{deep}/ingress-serving-certificate-expiry.md#" in citation


def test_chat_help_lists_the_commands(tmp_path: Path) -> None:
    env = {"OPSAGENT_DATA_DIR": str(tmp_path / "data")}
    result = runner.invoke(app, ["chat"], input="/help\n/exit\n", env=env)
    assert result.exit_code == 0, result.output
    assert "unknown command" not in result.output
    for command in ("/sources", "/reset", "/exit", "/help"):
        assert re.search(rf"^\s+{re.escape(command)}\s+\S", result.output, re.M), command


def test_an_opsgenie_name_keeps_no_stray_spaces() -> None:
    published = json.loads((PAYLOADS / "og_create.json").read_text())
    assert published["alert"]["message"] == " test alert"  # as Opsgenie documents it
    assert parse_opsgenie(published)[0].name == "test alert"
    published["alert"]["message"] = "  disk   full\n on db-1  "
    alert = parse_opsgenie(published)[0]
    assert alert.name == "disk full on db-1" and alert.summary == "disk   full\n on db-1"


def test_an_empty_alert_file_says_empty(tmp_path: Path) -> None:
    empty = tmp_path / "alert.json"
    empty.write_text("\n")
    result = runner.invoke(app, ["triage", str(empty)], env={"OPSAGENT_DATA_DIR": str(tmp_path / "data")})
    assert result.exit_code != 0 and "alert.json is empty" in str(result.exception)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(api_settings(tmp_path)) as running:
        yield running


@pytest.mark.anyio
async def test_a_second_resolution_is_not_a_repeat_and_api_times_are_iso(api: Api) -> None:
    post = api.client.post
    headers = api.auth("webhook")
    outcomes = []
    for status in ("firing", "resolved", "resolved"):
        response = await post(
            "/v1/webhooks/alertmanager", json=alertmanager_body(status=status), headers=headers
        )
        assert response.status_code == 202, response.text
        outcomes.append(response.json()["alerts"][0]["outcome"])
    assert outcomes == ["created", "resolved", "resolved_again"]

    incident_id = (await post("/v1/webhooks/alertmanager", json=alertmanager_body(), headers=headers)).json()[
        "alerts"
    ][0]["incident_id"]
    page = (await api.client.get("/v1/incidents", headers=api.auth("read"))).json()
    detail = (await api.client.get(f"/v1/incidents/{incident_id}", headers=api.auth("read"))).json()
    for record in [*page["items"], detail]:
        for field in ("created_at", "updated_at", "starts_at"):
            assert ISO.match(record[field]), (field, record[field])
    assert all(ISO.match(event["at"]) for event in detail["timeline"])
    assert detail["starts_at"].startswith("2026-11-20T03:15:00")
    resolved = next(item for item in page["items"] if item["status"] == "resolved")
    assert ISO.match(resolved["resolved_at"]) and ISO.match(resolved["ends_at"])
    assert datetime.fromisoformat(resolved["ends_at"].replace("Z", "+00:00")).hour == 4


@pytest.mark.anyio
async def test_the_openapi_schema_says_times_are_date_time_strings(api: Api) -> None:
    schemas = (await api.client.get("/openapi.json")).json()["components"]["schemas"]
    summary = next(schema for name, schema in schemas.items() if name.startswith("IncidentSummary"))
    created = summary["properties"]["created_at"]
    assert created["type"] == "string" and created["format"] == "date-time"
    timeline = next(schema for name, schema in schemas.items() if name.startswith("TimelineEvent"))
    assert timeline["properties"]["at"]["format"] == "date-time"


@pytest.mark.anyio
async def test_api_search_writes_log_times_as_iso(api: Api, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "db.log").write_text(
        "".join(f"2026-11-20T03:0{i}:00Z ERROR too many connections for role app\n" for i in range(5))
    )
    api.services.kb.ingest([logs])
    response = await api.client.post(
        "/v1/search", json={"query": "too many connections", "kind": "log"}, headers=api.auth("read")
    )
    assert response.status_code == 200, response.text
    hit = response.json()["results"][0]
    assert hit["first_seen"] == "2026-11-20T03:00:00.000Z" and hit["last_seen"] == "2026-11-20T03:04:00.000Z"
