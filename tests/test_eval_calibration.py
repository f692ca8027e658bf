"""Scoring of the hard-scenario checks and the calibration math of `opsagent eval`, on hand-made diagnoses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from opsagent.agent.diagnosis import Confidence, Diagnosis, ProposedAction
from opsagent.agent.evaluation import (
    EvalReport,
    Expected,
    Scenario,
    ScenarioResult,
    calibrate,
    load_scenarios,
    log_folders,
    report_of,
    score,
)
from opsagent.knowledge.models import Citation

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "tests" / "scenarios"


def _diagnosis(
    cause: str,
    confidence: float,
    runbook: str | None = "runbooks/storage/node-disk-full.md",
    actions: list[tuple[str, dict[str, Any]]] | None = None,
) -> Diagnosis:
    return Diagnosis(
        alert_name="A",
        summary="s",
        probable_root_cause=cause,
        confidence=Confidence(value=confidence, reason="test"),
        runbook=Citation(source=runbook) if runbook else None,
        proposed_actions=[ProposedAction(action_id=a, parameters=p, why="w") for a, p in (actions or [])],
    )


def _scenario(**expected: Any) -> Scenario:
    return Scenario(name="x", path=Path("/nowhere"), expected=Expected.model_validate(expected))


def _result(name: str, passed: bool, confidence: float, unknowable: bool = False) -> ScenarioResult:
    return ScenarioResult(
        name=name,
        passed=passed,
        runbook_ok=passed,
        root_cause_ok=passed,
        action_ok=passed,
        expected_runbook=None,
        got_runbook=None,
        expected_action=None,
        got_actions=[],
        root_cause="",
        confidence=confidence,
        unknowable=unknowable,
        mode="offline",
        milliseconds=1.0,
    )


DISK = {
    "runbook": "runbooks/storage/node-disk-full.md",
    "root_cause_keywords": ["no space"],
    "action": "cordon_node",
}


def test_old_expectations_score_as_before() -> None:
    cordon: list[tuple[str, dict[str, Any]]] = [("cordon_node", {})]
    got = score(_scenario(**DISK), _diagnosis("no space left on device", 0.9, actions=cordon), 1.0)
    assert got.passed and got.problems == []
    wrong_runbook = score(_scenario(**DISK), _diagnosis("no space left", 0.9, "runbooks/x.md"), 1.0)
    assert not wrong_runbook.passed and not wrong_runbook.runbook_ok and not wrong_runbook.action_ok


def test_forbidden_keyword_fails_the_cause_even_when_a_keyword_matches() -> None:
    expected = DISK | {"forbidden_keywords": ["too many clients"]}
    cause = "no space left on device; also sorry, too many clients already"
    got = score(_scenario(**expected), _diagnosis(cause, 0.8, actions=[("cordon_node", {})]), 1.0)
    assert not got.passed and not got.root_cause_ok and got.runbook_ok and got.action_ok
    assert "too many clients" in got.problems[0]


def test_action_first_and_parameters() -> None:
    expected = {
        "runbook": None,
        "action": "rollback_deployment",
        "action_first": True,
        "action_parameters": {"deployment": "payments-api"},
    }
    second = [("increase_memory_limit", {}), ("rollback_deployment", {"deployment": "payments-api"})]
    assert not score(_scenario(**expected), _diagnosis("bad release", 0.8, None, second), 1.0).action_ok
    wrong_param = [("rollback_deployment", {"deployment": "blackbox"})]
    got = score(_scenario(**expected), _diagnosis("bad release", 0.8, None, wrong_param), 1.0)
    assert not got.action_ok and "blackbox" in got.problems[0]
    right = [("rollback_deployment", {"deployment": "payments-api"}), ("increase_memory_limit", {})]
    assert score(_scenario(**expected), _diagnosis("bad release", 0.8, None, right), 1.0).passed


def test_null_action_means_nothing_proposed() -> None:
    got = score(_scenario(runbook=None, action=None), _diagnosis("x", 0.2, None, [("cordon_node", {})]), 1.0)
    assert not got.action_ok


@pytest.mark.parametrize(
    ("cause", "confidence", "passed"),
    [
        ("Root cause unknown: no logs linked to the alert.", 0.3, True),
        ("Root cause unknown: no logs linked to the alert.", 0.5, True),
        ("Root cause unknown: no logs linked to the alert.", 0.51, False),  # honest words, dishonest number
        ("database connection limit reached", 0.3, False),  # low, but states a cause
    ],
)
def test_unknowable(cause: str, confidence: float, passed: bool) -> None:
    got = score(_scenario(runbook=None, unknowable=True), _diagnosis(cause, confidence, None), 1.0)
    assert got.passed is passed


def test_max_confidence() -> None:
    expected = DISK | {"max_confidence": 0.7}
    ok = _diagnosis("no space", 0.7, actions=[("cordon_node", {})])
    assert score(_scenario(**expected), ok, 1.0).passed
    too_sure = _diagnosis("no space", 0.71, actions=[("cordon_node", {})])
    got = score(_scenario(**expected), too_sure, 1.0)
    assert not got.passed and not got.confidence_ok and got.root_cause_ok


def test_calibration_math() -> None:
    results = [
        _result("right-sure", True, 0.9),  # (0.9 - 1)^2 = 0.01
        _result("right-unsure", True, 0.4),  # 0.36
        _result("wrong-sure", False, 0.8),  # 0.64, overconfident
        _result("wrong-unsure", False, 0.2),  # 0.04
        _result("unknowable-passed", True, 0.5, unknowable=True),  # 0.25, not above 0.5
    ]
    cal = calibrate(results)
    assert cal.mean_confidence_right == pytest.approx((0.9 + 0.4 + 0.5) / 3, abs=1e-3)
    assert cal.mean_confidence_wrong == pytest.approx(0.5)
    assert cal.brier == pytest.approx((0.01 + 0.36 + 0.64 + 0.04 + 0.25) / 5, abs=1e-4)
    assert cal.overconfident == 1 and cal.overconfident_scenarios == ["wrong-sure"]


def test_calibration_edges() -> None:
    all_right = calibrate([_result("a", True, 1.0), _result("b", True, 1.0)])
    assert all_right.brier == 0.0 and all_right.mean_confidence_wrong is None
    always_half = calibrate([_result("a", True, 0.5), _result("b", False, 0.5)])
    assert always_half.brier == pytest.approx(0.25) and always_half.overconfident == 0
    report = report_of([_result("a", True, 0.6), _result("b", False, 0.9), _result("c", False, 0.1)])
    assert report.passed == 1 and report.accuracy == pytest.approx(0.333)
    assert report.calibration.overconfident == 1


def test_shared_cluster_logs_are_ingested_once(tmp_path: Path) -> None:
    for name in ("_cluster/logs", "20-a/logs", "21-b"):
        (tmp_path / name).mkdir(parents=True)
    for name in ("20-a", "21-b"):
        (tmp_path / name / "expected.yaml").write_text("runbook: null\n")
    scenarios = load_scenarios(tmp_path)
    assert [s.name for s in scenarios] == ["20-a", "21-b"]
    assert log_folders(scenarios) == [tmp_path / "_cluster/logs", tmp_path / "20-a/logs"]


def test_every_scenario_expectation_is_consistent() -> None:
    """Every expected runbook exists and lists the expected action (written from the story, checked here)."""
    for scenario in load_scenarios(SCENARIOS):
        expected = scenario.expected
        if expected.unknowable:
            assert expected.action is None, scenario.name
        if expected.runbook is not None:
            text = (REPO / "knowledge" / expected.runbook).read_text()
            assert expected.action is None or expected.action in text, scenario.name


def test_eval_json_prints_the_whole_report(monkeypatch: pytest.MonkeyPatch) -> None:
    from opsagent import cli_triage
    from opsagent.cli import app

    report = report_of([_result("a", True, 0.7), _result("b", False, 0.9)])
    monkeypatch.setattr("opsagent.agent.evaluation.run_eval", lambda *a, **k: report)
    monkeypatch.setattr(cli_triage, "build_chat_model", lambda _s: None)
    out = CliRunner().invoke(app, ["eval", str(SCENARIOS), "--json"])
    assert out.exit_code == 0, out.output
    parsed = EvalReport.model_validate(json.loads(out.output))
    assert parsed.calibration.brier == report.calibration.brier and parsed.calibration.overconfident == 1
    text = CliRunner().invoke(app, ["eval", str(SCENARIOS)])
    assert text.exit_code == 0, text.output
    assert "Brier score 0.450" in text.output and "confidence > 0.5: 1 (b)" in text.output


def test_a_pass_that_says_unknown_is_counted_as_a_lead() -> None:
    from opsagent.agent.diagnosis import DiagnosisMode
    from opsagent.agent.evaluation import Expected, Scenario, report_of, score

    scenario = Scenario(
        name="x", path=Path("."), expected=Expected(runbook=None, root_cause_keywords=["permission denied"])
    )

    def diagnosis(cause: str) -> Diagnosis:
        return Diagnosis(
            alert_name="A", summary="s", probable_root_cause=cause,
            confidence=Confidence(value=0.1, reason="r"), next_steps=["look"], mode=DiagnosisMode.OFFLINE,
        )  # fmt: skip

    lead = score(scenario, diagnosis('Unknown: no signature. Read first: "Permission denied"'), 1.0)
    named = score(scenario, diagnosis("Redis cannot write its RDB file: Permission denied."), 1.0)
    assert lead.passed and lead.cause_as_lead and named.passed and not named.cause_as_lead
    assert report_of([lead, named]).passed_as_lead == 1
