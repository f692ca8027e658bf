"""`opsagent eval`: run triage over a scenario suite and score it.

A scenario is a folder with `alert.json` (Alertmanager webhook or generic alert), `logs/` and
`expected.yaml` (`runbook`: path relative to the knowledge base or null, `root_cause_keywords`: any of
them must appear in the root cause, `action`: an action id that must be proposed, or null).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml
from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, Field, ValidationError

from opsagent.actions.catalog import load_catalog
from opsagent.agent.diagnosis import Diagnosis
from opsagent.agent.triage import Triage
from opsagent.config import Settings
from opsagent.errors import ConfigError
from opsagent.integrations.generic import load_alert_file
from opsagent.knowledge.base import KnowledgeBase


class Expected(BaseModel):
    """What a correct diagnosis of a scenario contains."""

    runbook: str | None
    root_cause_keywords: list[str] = Field(default_factory=list)
    action: str | None = None
    notes: str = ""


class Scenario(BaseModel):
    """One incident to triage."""

    name: str
    path: Path
    expected: Expected


class ScenarioResult(BaseModel):
    """How triage did on one scenario."""

    name: str
    passed: bool
    runbook_ok: bool
    root_cause_ok: bool
    action_ok: bool
    expected_runbook: str | None
    got_runbook: str | None
    expected_action: str | None
    got_actions: list[str]
    root_cause: str
    mode: str
    fallback_reason: str | None = None
    milliseconds: float


class EvalReport(BaseModel):
    """All results and the accuracy."""

    scenarios: int
    passed: int
    accuracy: float
    results: list[ScenarioResult]


def load_scenarios(directory: Path) -> list[Scenario]:
    """Every scenario folder under a directory, sorted by name."""
    if not directory.is_dir():
        raise ConfigError(f"{directory} is not a directory of scenarios.")
    scenarios = []
    for folder in sorted(p for p in directory.iterdir() if (p / "expected.yaml").is_file()):
        try:
            expected = Expected.model_validate(yaml.safe_load((folder / "expected.yaml").read_text()) or {})
        except (yaml.YAMLError, ValidationError) as exc:
            raise ConfigError(f"{folder / 'expected.yaml'}: {str(exc).splitlines()[0]}") from exc
        scenarios.append(Scenario(name=folder.name, path=folder, expected=expected))
    if not scenarios:
        raise ConfigError(f"No scenarios (folders with expected.yaml) in {directory}.")
    return scenarios


def score(scenario: Scenario, diagnosis: Diagnosis, milliseconds: float) -> ScenarioResult:
    """Compare a diagnosis with what the scenario expects."""
    expected = scenario.expected
    got_runbook = diagnosis.runbook.source if diagnosis.runbook else None
    got_actions = [a.action_id for a in diagnosis.proposed_actions]
    cause = diagnosis.probable_root_cause.lower()
    runbook_ok = got_runbook == expected.runbook
    root_cause_ok = not expected.root_cause_keywords or any(
        k.lower() in cause for k in expected.root_cause_keywords
    )
    action_ok = expected.action in got_actions if expected.action else not got_actions
    return ScenarioResult(
        name=scenario.name,
        passed=runbook_ok and root_cause_ok and action_ok,
        runbook_ok=runbook_ok,
        root_cause_ok=root_cause_ok,
        action_ok=action_ok,
        expected_runbook=expected.runbook,
        got_runbook=got_runbook,
        expected_action=expected.action,
        got_actions=got_actions,
        root_cause=diagnosis.probable_root_cause,
        mode=diagnosis.mode.value,
        fallback_reason=diagnosis.fallback_reason,
        milliseconds=round(milliseconds, 1),
    )


def run_eval(
    settings: Settings,
    scenarios: list[Scenario],
    knowledge: Path,
    model_for: Callable[[Scenario], BaseChatModel | None] = lambda _: None,
) -> EvalReport:
    """Ingest the knowledge base and every scenario's logs into a throwaway store, then triage each."""
    with tempfile.TemporaryDirectory(prefix="opsagent-eval-") as data_dir:
        eval_settings = settings.model_copy(update={"data_dir": Path(data_dir), "chroma_url": None})
        kb = KnowledgeBase(eval_settings)
        try:
            kb.ingest([knowledge])
            kb.ingest([s.path / "logs" for s in scenarios if (s.path / "logs").is_dir()])
            catalog = load_catalog(eval_settings.action_catalog)
            results = []
            for scenario in scenarios:
                alert = load_alert_file(scenario.path / "alert.json")[0]
                triage = Triage(eval_settings, kb, catalog, model_for(scenario))
                started = time.perf_counter()
                diagnosis = triage.diagnose(alert)
                results.append(score(scenario, diagnosis, (time.perf_counter() - started) * 1000))
        finally:
            kb.close()
    passed = sum(r.passed for r in results)
    return EvalReport(
        scenarios=len(results), passed=passed, accuracy=round(passed / len(results), 3), results=results
    )
