"""`opsagent eval`: run triage over a scenario suite, score it, and measure how honest its confidence is.

A scenario is a folder with `alert.json` (any alert body `opsagent triage` reads), an optional `logs/`
and `expected.yaml`. Folders whose name starts with `_` (e.g. `_cluster/`) are not scenarios: their
`logs/` hold logs shared by several scenarios (one busy night on one cluster) and are ingested with the
scenarios' own logs into the same store. `expected.yaml` fields (all but `runbook` optional):

- `runbook`: path relative to the knowledge base, or null (no runbook applies);
- `root_cause_keywords`: at least one must appear in the root cause (case-insensitive);
- `forbidden_keywords`: none may appear in the root cause (an unrelated incident's cause);
- `action`: an action id that must be proposed, or null (nothing may be proposed);
- `action_first`: the expected action must be the first one proposed;
- `action_parameters`: values the (first) proposal of the expected action must carry;
- `unknowable`: the right answer is "we don't know": confidence <= 0.5 and the root cause says so;
- `max_confidence`: the confidence may not be higher than this;
- `notes`: the story, written before triage ever ran on it.

**Fully right** (`ScenarioResult.passed`) means every check below holds:

1. runbook: the diagnosis' runbook source equals `runbook` (null: no runbook);
2. cause: the root cause contains one of `root_cause_keywords` (none listed: any text) and none of
   `forbidden_keywords`;
3. action: `action` is among the proposed action ids (null: none proposed); with `action_first` it is
   the first; with `action_parameters` its first proposal carries each given parameter value exactly;
4. confidence: at most `max_confidence` when set; when `unknowable`, at most `UNKNOWABLE_MAX_CONFIDENCE`
   and the root cause contains one of `UNSURE_MARKERS`.

Calibration treats the confidence as the predicted probability of being fully right: the Brier score
is the mean of (confidence - right)^2 over the scenarios (right = 1 or 0; 0 is perfect, always saying
0.5 scores 0.25). "Overconfident" counts the worst failure: a wrong answer, or any answer to an
unknowable scenario, given with confidence above 0.5.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

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

UNKNOWABLE_MAX_CONFIDENCE = 0.5
# Above this a wrong answer counts as overconfident: it reads as "probably right" to the on-call.
OVERCONFIDENT_ABOVE = 0.5
# How a root cause says it does not know; matched case-insensitively as substrings.
UNSURE_MARKERS = (
    "unknown",
    "unclear",
    "unsure",
    "not sure",
    "uncertain",
    "undetermined",
    "could not determine",
    "cannot determine",
    "can't determine",
    "no evidence",
    "insufficient evidence",
    "not enough evidence",
)


class Expected(BaseModel):
    """What a correct diagnosis of a scenario contains."""

    runbook: str | None
    root_cause_keywords: list[str] = Field(default_factory=list)
    forbidden_keywords: list[str] = Field(default_factory=list)
    action: str | None = None
    action_first: bool = False
    action_parameters: dict[str, str] = Field(default_factory=dict)
    unknowable: bool = False
    max_confidence: float | None = Field(default=None, ge=0.0, le=1.0)
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
    confidence_ok: bool = True
    expected_runbook: str | None
    got_runbook: str | None
    expected_action: str | None
    got_actions: list[str]
    root_cause: str
    confidence: float = 0.0
    unknowable: bool = False
    cause_as_lead: bool = Field(
        default=False,
        description="Passed, but the root cause says 'Unknown' and names the cause only among the lines to "
        "read: a lead for a human, not a diagnosis.",
    )
    problems: list[str] = Field(default_factory=list, description="What failed, one phrase per check.")
    mode: str
    fallback_reason: str | None = None
    milliseconds: float


class Calibration(BaseModel):
    """How well the confidence predicts being right."""

    mean_confidence_right: float | None = Field(description="None when no scenario was right.")
    mean_confidence_wrong: float | None = Field(description="None when no scenario was wrong.")
    brier: float = Field(description="Mean (confidence - right)^2; 0 is perfect, 0.25 is always 0.5.")
    overconfident: int = Field(description="Wrong or unknowable answers with confidence above 0.5.")
    overconfident_scenarios: list[str] = Field(default_factory=list)


class EvalReport(BaseModel):
    """All results, the accuracy and the calibration."""

    scenarios: int
    passed: int
    accuracy: float
    passed_as_lead: int = Field(
        default=0, description="Passes whose root cause says 'Unknown' (see cause_as_lead)."
    )
    calibration: Calibration
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


def log_folders(scenarios: list[Scenario]) -> list[Path]:
    """The scenarios' own `logs/` and the shared `_*/logs/` folders next to them, each once."""
    shared = []
    for parent in dict.fromkeys(s.path.parent for s in scenarios):
        shared += sorted(
            p / "logs" for p in parent.iterdir() if p.name.startswith("_") and (p / "logs").is_dir()
        )
    own = [s.path / "logs" for s in scenarios if (s.path / "logs").is_dir()]
    return list(dict.fromkeys(shared + own))


def _check_action(expected: Expected, diagnosis: Diagnosis) -> list[str]:
    got = [a.action_id for a in diagnosis.proposed_actions]
    if expected.action is None:
        return [f"proposed {', '.join(got)} where no action applies"] if got else []
    if expected.action not in got:
        return [f"{expected.action} not proposed"]
    problems = []
    if expected.action_first and got[0] != expected.action:
        problems.append(f"{expected.action} proposed after {got[0]}")
    proposal = next(a for a in diagnosis.proposed_actions if a.action_id == expected.action)
    for name, want in expected.action_parameters.items():
        value: Any = proposal.parameters.get(name)
        if value is None or str(value) != want:
            problems.append(f"{expected.action} {name}={value!r}, expected {want!r}")
    return problems


def _check_cause(expected: Expected, cause: str) -> list[str]:
    lowered = cause.lower()
    problems = []
    if expected.root_cause_keywords and not any(k.lower() in lowered for k in expected.root_cause_keywords):
        problems.append(f"root cause names none of {expected.root_cause_keywords}")
    if forbidden := [k for k in expected.forbidden_keywords if k.lower() in lowered]:
        problems.append(f"root cause names an unrelated cause ({', '.join(forbidden)})")
    if expected.unknowable and not any(m in lowered for m in UNSURE_MARKERS):
        problems.append("root cause does not say it is unknown")
    return problems


def _says_unknown(cause: str) -> bool:
    return any(cause.lower().startswith(m) for m in UNSURE_MARKERS)


def _check_confidence(expected: Expected, confidence: float) -> list[str]:
    limits = [expected.max_confidence] if expected.max_confidence is not None else []
    if expected.unknowable:
        limits.append(UNKNOWABLE_MAX_CONFIDENCE)
    limit = min(limits, default=None)
    return (
        [f"confidence {confidence:.2f} above {limit:.2f}"] if limit is not None and confidence > limit else []
    )


def score(scenario: Scenario, diagnosis: Diagnosis, milliseconds: float) -> ScenarioResult:
    """Compare a diagnosis with what the scenario expects (see the module docstring for 'fully right')."""
    expected = scenario.expected
    got_runbook = diagnosis.runbook.source if diagnosis.runbook else None
    confidence = diagnosis.confidence.value
    runbook_problems = (
        [] if got_runbook == expected.runbook else [f"runbook {got_runbook}, expected {expected.runbook}"]
    )
    cause_problems = _check_cause(expected, diagnosis.probable_root_cause)
    action_problems = _check_action(expected, diagnosis)
    confidence_problems = _check_confidence(expected, confidence)
    problems = runbook_problems + cause_problems + action_problems + confidence_problems
    return ScenarioResult(
        name=scenario.name,
        passed=not problems,
        runbook_ok=not runbook_problems,
        root_cause_ok=not cause_problems,
        action_ok=not action_problems,
        confidence_ok=not confidence_problems,
        expected_runbook=expected.runbook,
        got_runbook=got_runbook,
        expected_action=expected.action,
        got_actions=[a.action_id for a in diagnosis.proposed_actions],
        root_cause=diagnosis.probable_root_cause,
        confidence=confidence,
        unknowable=expected.unknowable,
        cause_as_lead=not problems
        and not expected.unknowable
        and _says_unknown(diagnosis.probable_root_cause),
        problems=problems,
        mode=diagnosis.mode.value,
        fallback_reason=diagnosis.fallback_reason,
        milliseconds=round(milliseconds, 1),
    )


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 3) if values else None


def calibrate(results: list[ScenarioResult]) -> Calibration:
    """Mean confidence on right and wrong answers, Brier score and overconfident failures."""
    right = [r.confidence for r in results if r.passed]
    wrong = [r.confidence for r in results if not r.passed]
    brier = sum((r.confidence - (1.0 if r.passed else 0.0)) ** 2 for r in results) / max(len(results), 1)
    worst = [r.name for r in results if (not r.passed or r.unknowable) and r.confidence > OVERCONFIDENT_ABOVE]
    return Calibration(
        mean_confidence_right=_mean(right),
        mean_confidence_wrong=_mean(wrong),
        brier=round(brier, 4),
        overconfident=len(worst),
        overconfident_scenarios=worst,
    )


def report_of(results: list[ScenarioResult]) -> EvalReport:
    """Accuracy and calibration of a list of results."""
    passed = sum(r.passed for r in results)
    return EvalReport(
        scenarios=len(results),
        passed=passed,
        accuracy=round(passed / len(results), 3) if results else 0.0,
        passed_as_lead=sum(r.cause_as_lead for r in results),
        calibration=calibrate(results),
        results=results,
    )


def run_eval(
    settings: Settings,
    scenarios: list[Scenario],
    knowledge: Path,
    model_for: Callable[[Scenario], BaseChatModel | None] = lambda _: None,
) -> EvalReport:
    """Ingest the knowledge base and the scenarios' (and shared) logs into a throwaway store; triage each."""
    with tempfile.TemporaryDirectory(prefix="opsagent-eval-") as data_dir:
        eval_settings = settings.model_copy(update={"data_dir": Path(data_dir), "chroma_url": None})
        kb = KnowledgeBase(eval_settings)
        try:
            kb.ingest([knowledge])
            if folders := log_folders(scenarios):
                kb.ingest(folders)
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
    return report_of(results)
