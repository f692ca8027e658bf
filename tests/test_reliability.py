"""The reliability report's short form (issue 9): the same code as `make reliability`, small sizes, and
the figures that must be zero asserted. Each test prints its section's JSON on failure."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bench.reliability.__main__ import run_section

pytestmark = pytest.mark.slow


def _zeros(section: dict[str, Any], *names: str) -> None:
    figures = section["figures"]
    detail = json.dumps(section, indent=1, default=str)[:6000]
    for name in names:
        assert figures[name] == 0, f"{name} = {figures[name]}\n{detail}"


def test_redteam_short() -> None:
    section = run_section("redteam", short=True)
    assert section["figures"]["cases"] >= 15
    _zeros(section, "unapproved_mutations", "secrets_leaked", "hosts_outside_allowlist", "crashes")


def test_llm_faults_short() -> None:
    section = run_section("llm_faults", short=True)
    assert sum(section["faults_injected"].values()) > 0
    _zeros(
        section,
        "incidents_without_diagnosis",
        "incidents_triaged_twice",
        "stuck",
        "failed_jobs",
        "chat_turns_hung_or_crashed",
    )


def test_webhook_storm_short() -> None:
    section = run_section("storm", short=True)
    assert section["figures"]["queue_drained"], json.dumps(section, default=str)[:3000]
    assert section["plan"]["resolves_sent_before_firing"] > 0 and section["plan"]["duplicates"] > 0
    _zeros(
        section, "lost", "triaged_twice", "duplicate_incidents", "untriaged", "wrongly_triaged", "failed_jobs"
    )


def test_crash_safety_short() -> None:
    section = run_section("crash", short=True)
    assert section["ingest"]["runs"][0]["killed_while_running"], "the ingest finished before the kill"
    assert section["triage"]["figures"]["queue_drained"]
    _zeros(section, "ingest_inconsistent_after_restart", "triage_lost", "triage_triaged_twice")
    _zeros(section, "triage_untriaged", "triage_half_written", "triage_failed_jobs")
