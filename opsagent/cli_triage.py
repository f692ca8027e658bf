"""`opsagent triage`: diagnose alerts from a file, offline; and how a Diagnosis looks in a terminal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from opsagent.actions.catalog import load_catalog
from opsagent.agent.diagnosis import Diagnosis
from opsagent.agent.models import build_chat_model
from opsagent.agent.triage import Triage
from opsagent.cli_output import pipe_safe_console
from opsagent.config import load_settings
from opsagent.integrations.generic import load_alert_file
from opsagent.knowledge.base import KnowledgeBase


def triage_command(
    file: Annotated[
        Path,
        typer.Argument(
            help="A webhook body as JSON: Alertmanager, Grafana, PagerDuty V3, Opsgenie, or a generic alert."
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="One Diagnosis JSON object per line.")] = False,
) -> None:
    """Diagnose the alerts in FILE from the ingested runbooks and logs (offline unless an LLM is set)."""
    settings = load_settings()
    alerts = load_alert_file(file)
    kb = KnowledgeBase(settings)
    out = pipe_safe_console()  # piped output never wraps a citation mid-path
    try:
        triage = Triage(settings, kb, load_catalog(settings.action_catalog), build_chat_model(settings))
        for alert in alerts:
            diagnosis = triage.diagnose(alert)
            if as_json:
                print(diagnosis.model_dump_json())
            else:
                render_diagnosis(out, diagnosis)
    finally:
        kb.close()


def render_diagnosis(out: Console, diagnosis: Diagnosis) -> None:
    """The diagnosis as an on-call engineer reads it: what, why, evidence with citations, what to do."""
    mode = diagnosis.mode.value + (f" · {diagnosis.model}" if diagnosis.model else "")
    out.print(f"[bold]{escape(diagnosis.summary)}[/]", highlight=False)
    out.print(
        f"[dim]{mode} · confidence {diagnosis.confidence.value:.2f} · "
        f"{diagnosis.timings.get('total_ms', 0):.0f} ms[/]",
        highlight=False,
    )
    out.print(f"\n[bold]Probable root cause[/]\n  {escape(diagnosis.probable_root_cause)}", highlight=False)
    out.print(f"  [dim]why: {escape(diagnosis.confidence.reason)}[/]", highlight=False)
    runbook = diagnosis.runbook.render() if diagnosis.runbook else "none found"
    out.print(f"\n[bold]Runbook[/]  [cyan]{escape(runbook)}[/]", highlight=False)
    if diagnosis.evidence:
        out.print("\n[bold]Evidence[/]")
        for item in diagnosis.evidence:
            label = escape(f"[{item.kind}]")
            out.print(f"  {label} [cyan]{escape(item.citation.render())}[/]", highlight=False)
            out.print(f"    {escape(item.excerpt[:300])}", highlight=False)
    if diagnosis.proposed_actions:
        out.print("\n[bold]Proposed actions[/] (need approval)")
        for action in diagnosis.proposed_actions:
            params = ", ".join(f"{k}={v}" for k, v in action.parameters.items()) or "-"
            missing = (
                f"  [yellow]missing: {', '.join(action.missing_parameters)}[/]"
                if action.missing_parameters
                else ""
            )
            out.print(f"  • {action.action_id}({escape(params)}){missing}", highlight=False)
            out.print(f"    [dim]{escape(action.why)}[/]", highlight=False)
    if diagnosis.next_steps:
        out.print("\n[bold]Next steps[/]")
        for step in diagnosis.next_steps:
            out.print(f"  - {escape(step)}", highlight=False)
    if diagnosis.fallback_reason:
        out.print(f"\n[yellow]LLM fallback:[/] {escape(diagnosis.fallback_reason)}", highlight=False)
    out.print()


def eval_command(
    directory: Annotated[Path, typer.Argument(help="Scenario suite, e.g. tests/scenarios")],
    knowledge: Annotated[Path, typer.Option("--knowledge", help="Knowledge base to triage with.")] = Path(
        "knowledge"
    ),
    as_json: Annotated[bool, typer.Option("--json", help="The full report as JSON.")] = False,
) -> None:
    """Triage every scenario (offline unless an LLM is configured); report accuracy and calibration."""
    from opsagent.agent.evaluation import load_scenarios, run_eval

    settings = load_settings()
    scenarios = load_scenarios(directory)
    model = build_chat_model(settings)
    report = run_eval(settings, scenarios, knowledge, lambda _: model)
    if as_json:
        print(report.model_dump_json(indent=2))
        return
    out = pipe_safe_console()
    for result in report.results:
        mark = "[green]PASS[/]" if result.passed else "[red]FAIL[/]"
        checks = " ".join(
            f"{name}:{'ok' if ok else 'x'}"
            for name, ok in (
                ("runbook", result.runbook_ok),
                ("cause", result.root_cause_ok),
                ("action", result.action_ok),
                ("conf", result.confidence_ok),
            )
        )
        out.print(
            f"{mark} {escape(result.name):<40} {checks}  conf {result.confidence:.2f}"
            f"  [dim]{result.milliseconds:.0f} ms[/]",
            highlight=False,
        )
        if not result.passed:
            actions = f"actions {', '.join(result.got_actions) or '-'} (expected {result.expected_action})"
            problems = "; ".join(result.problems)
            out.print(f"     [dim]{escape(actions)}; {escape(problems)}[/]", highlight=False)
    cal = report.calibration

    def mean(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    out.print(f"\n{report.passed}/{report.scenarios} passed — accuracy {report.accuracy:.0%}")
    if report.passed_as_lead:
        leads = ", ".join(r.name for r in report.results if r.cause_as_lead)
        out.print(
            f"of these, {report.passed_as_lead} name the cause only as a lead (root cause 'Unknown…', "
            f"the cause among the lines to read): {escape(leads)}",
            highlight=False,
        )
    out.print(
        f"confidence: mean {mean(cal.mean_confidence_right)} when right, {mean(cal.mean_confidence_wrong)} "
        f"when wrong; Brier score {cal.brier:.3f} (0 is perfect, 0.25 is always saying 0.5)",
        highlight=False,
    )
    worst = f" ({escape(', '.join(cal.overconfident_scenarios))})" if cal.overconfident_scenarios else ""
    out.print(f"wrong or unknowable with confidence > 0.5: {cal.overconfident}{worst}", highlight=False)


def schema_command() -> None:
    """Print the JSON schema of a Diagnosis (what `triage --json` and the API return)."""
    print(json.dumps(Diagnosis.model_json_schema(), indent=2))
