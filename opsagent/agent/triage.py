"""Offline triage: turn the evidence pipeline's findings into a `Diagnosis` (k8sgpt-style analysis).

This is the whole answer when no LLM is configured, the starting point the LLM gets when one is, and
the fallback when the LLM fails.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from opsagent.actions.catalog import ActionCatalog
from opsagent.agent.answer_checks import ActionPolicy
from opsagent.agent.changes import ChangeEvent, load_change_patterns
from opsagent.agent.diagnosis import Confidence, Diagnosis, DiagnosisMode, Evidence, ProposedAction
from opsagent.agent.evidence import EvidencePipeline, TriageEvidence, unique
from opsagent.agent.findings import LogFinding, SignatureMatch, strength
from opsagent.agent.linking import NAMED_BY_ERRORS, PROBLEM_LEVELS, Tier
from opsagent.agent.proposals import propose_actions, runbook_action_ids
from opsagent.agent.redaction import redact_diagnosis
from opsagent.agent.runbook_choice import RELEASE_SUSPECT_SECONDS
from opsagent.agent.signatures import load_signatures
from opsagent.config import Settings
from opsagent.incidents.models import Alert
from opsagent.knowledge.base import KnowledgeBase

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from opsagent.agent.loop import LLMTriage

MAX_PROPOSED = 3
# How much a cause counts by how it is linked: the affected workload's own logs say most.
TIER_WEIGHT = {Tier.OWN: 1.0, Tier.DEPENDENCY: 0.85, Tier.MENTION: 0.6, Tier.NONE: 0.0}


class Triage:
    """Diagnoses alerts: the evidence pipeline always, then the LLM agent when one is configured."""

    def __init__(
        self,
        settings: Settings,
        kb: KnowledgeBase,
        catalog: ActionCatalog,
        model: BaseChatModel | None = None,
    ) -> None:
        self.settings = settings
        self.catalog = catalog
        self.pipeline = EvidencePipeline(
            settings,
            kb,
            load_signatures(settings.signatures_file),
            load_change_patterns(settings.changes_file),
        )
        self.llm: LLMTriage | None = None
        if model is not None:
            from opsagent.agent.loop import LLMTriage  # the LLM stack loads only when used
            from opsagent.agent.prompts import load_prompt

            model_name = settings.llm_model if settings.llm_enabled else None
            self.llm = LLMTriage(settings, kb, catalog, model, load_prompt("triage"), model_name=model_name)

    def diagnose(self, alert: Alert, *, now: float | None = None) -> Diagnosis:
        """Diagnose one alert (offline when no model is configured)."""
        found = self.pipeline.gather(alert, now=now)
        diagnosis = offline_diagnosis(found, self.catalog) if self.llm is None else self.llm.diagnose(found)
        # Everything the diagnosis quotes (log lines, alert fields, the model's words) leaves the process:
        # stored, served, notified. Secrets go first.
        return redact_diagnosis(diagnosis)


def offline_diagnosis(found: TriageEvidence, catalog: ActionCatalog) -> Diagnosis:
    """Build a Diagnosis from evidence alone."""
    alert = found.alert
    cause = found.cause
    top = found.signatures[0] if found.signatures else None
    runbook = found.runbook
    where = f" on {found.entities.describe()}" if not found.entities.empty else ""
    if cause is not None:
        summary = f"{alert.name}{where}: {cause.signature.title.lower()}"
        if cause.tier == Tier.DEPENDENCY:
            summary += f" in a dependency ({_service_of(cause)})"
    elif runbook is not None:
        summary = f"{alert.name}{where}: see '{runbook.title}'; cause not confirmed by the logs"
    else:
        summary = f"{alert.name}{where}: no runbook found" + (
            f"; logs show {top.signature.title.lower()}" if top else "; cause unknown"
        )
    if runbook is not None:
        summary += f" (runbook: {runbook.title})"

    evidence: list[Evidence] = []
    if runbook is not None:
        evidence.append(
            Evidence(kind="runbook", citation=runbook.citation, excerpt=runbook.snippet, score=runbook.score)
        )
    for change in found.releases[:1] + [c for c in found.changes if not c.is_release][:2]:
        evidence.append(
            Evidence(
                kind="change",
                citation=change.citation,
                excerpt=f"{_change_text(change, found)}: {change.text[:300]}",
            )
        )
    for match in found.signatures[:3]:
        finding = match.findings[0]
        evidence.append(
            Evidence(
                kind="signature",
                citation=finding.citation,
                excerpt=f"{match.signature.title} ({finding.link or 'linked'}): {finding.example[:400]}",
                score=round(strength(match.lines), 3),
            )
        )
    for finding in found.findings[:5]:
        evidence.append(
            Evidence(
                kind="log",
                citation=finding.citation,
                excerpt=f"{finding.count}× {finding.template[:300]} "
                f"({'; '.join(finding.reasons)}; {finding.link})",
            )
        )
    # Context, never the cause: changes and errors in logs not linked to the alert.
    elsewhere = [
        (c.citation, f"changed nearby, not linked to this alert: {_change_text(c, found)}: {c.text[:300]}")
        for c in found.nearby_changes
    ] + [
        (f.citation, f"{f.count}× {f.template[:300]} (also happening elsewhere: {f.service or f.source}, "
         "not linked to this alert)")
        for f in found.elsewhere
    ]  # fmt: skip
    evidence += [Evidence(kind="elsewhere", citation=c, excerpt=text) for c, text in elsewhere]

    actions, refused = _allowed(
        propose_actions(runbook_action_ids(found, catalog), found, catalog), found, catalog
    )
    diagnostics = [a for a in actions if not a.mutating]
    remediations = [a for a in actions if a.mutating][:MAX_PROPOSED]
    confidence = assess_confidence(found)
    return Diagnosis(
        alert_name=alert.name,
        summary=summary,
        probable_root_cause=_root_cause(found),
        confidence=confidence,
        runbook=runbook.citation if runbook else None,
        runbook_url=found.runbook_links[0] if found.runbook_links else None,
        evidence=evidence,
        next_steps=next_steps(found, diagnostics) + refused,
        proposed_actions=remediations,
        mode=DiagnosisMode.OFFLINE,
        timings=found.timings,
    )


def _allowed(
    actions: list[ProposedAction], found: TriageEvidence, catalog: ActionCatalog
) -> tuple[list[ProposedAction], list[str]]:
    """The proposals the action policy accepts for any answer (the control plane, scale to zero), and a
    step that says what was held back and why."""
    policy = ActionPolicy.for_incident(found, catalog)
    kept, refused = [], []
    for action in actions:
        spec = catalog.get(action.action_id)
        why = policy.refusal(spec, action.parameters) if spec is not None else None
        if why is None:
            kept.append(action)
        else:
            refused.append(f"Not proposed: {action.action_id} ({why})")
    return kept, refused


def _root_cause(found: TriageEvidence) -> str:
    """A linked cause signature speaks for itself (with what changed before it); otherwise say what is
    known and what is not."""
    cause = found.cause
    change = _change_sentence(found)
    if cause is not None:
        first = min((f.first_seen for f in cause.findings if f.first_seen), default=None)
        since = f", since {_clock(first)}" if first else ""
        whose = cause.findings[0].link or "the linked logs"
        line = cause.findings[0].template[:160]
        text = f'{cause.signature.root_cause} Seen in {cause.lines} log line(s) ({whose}){since}: "{line}".'
        if cause.tier == Tier.MENTION:
            text += " Only other services' logs name it: confirm on the affected service itself."
        if cause.restates_alert:
            # The logs confirm what the alert says, not why: point at what changed or began just before.
            quoted = _lines_to_read(found, skip=cause, novel_only=True)
            text += (
                " That confirms the alert, not why; see what changed just before it"
                if found.scale_ups or found.releases
                else " That confirms the alert but not why; the cause is unknown"
            ) + (". New just before it: " + "; ".join(quoted) + "." if quoted else ".")
        return f"{text} {change}".strip()
    if not found.links.linked:
        what = found.entities.describe()
        return (
            f"Unknown: no logs linked to the alert ({what}) between {_clock(found.window[0])} and "
            f"{_clock(found.window[1])}, so the cause cannot be confirmed from evidence."
            + (f" The alert matches the runbook '{found.runbook.title}'." if found.runbook else "")
            + (f" {change}" if change else "")
        )
    release = _recent_release(found)
    if release is not None:
        return (
            f"Likely the release: {_change_text(release, found)}, and the linked logs show problems only "
            "after it; no known failure signature names another cause. "
            + (f"The alert matches the runbook '{found.runbook.title}'." if found.runbook else "")
        ).strip()
    parts = ["Unknown: no known failure signature names a cause in the linked logs."]
    if found.runbook is not None:
        parts.append(f"The alert matches the runbook '{found.runbook.title}'.")
    top = found.signatures[0] if found.signatures else None
    if top is not None:
        parts.append(
            f"The logs show a symptom: {top.signature.root_cause[0].lower()}{top.signature.root_cause[1:]}"
        )
    parts += _stopped_sentences(found)
    quoted = _lines_to_read(found)
    if quoted:
        parts.append("Read first: " + "; ".join(quoted) + ".")
    if change:
        parts.append(change)
    return " ".join(parts)


def _lines_to_read(
    found: TriageEvidence, skip: SignatureMatch | None = None, *, novel_only: bool = False
) -> list[str]:
    """Without a named cause, the linked problem lines most worth reading (any may name the cause in
    words no signature knows): the earliest new kind of trouble in the run-up to the alert (causes come
    before their symptoms), the line closest to what the alert says, and the most frequent error.
    `skip`: a signature whose lines are already quoted (one that only restates the alert); `novel_only`:
    only new trouble (the old background errors of a service are no lead once a cause is named)."""
    problems = [
        f
        for f in found.findings
        if (f.level in PROBLEM_LEVELS or f.appeared)
        and not (skip and (skip.signature.matches(f.template) or skip.signature.matches(f.example)))
    ]
    picked: list[LogFinding] = []
    novel = sorted(
        (f for f in problems if f.appeared),
        key=lambda f: (f.first_in_window or float("inf"), f.line_start or 0),
    )
    picked += novel[:1]
    if novel_only:
        return [_quote(f, found) for f in novel[:2]]
    scored = [f for f in problems if f.alert_score is not None and f not in picked]
    if scored:
        picked.append(max(scored, key=lambda f: f.alert_score or 0.0))
    errors = [f for f in problems if f.level != "warn" and f not in picked]
    if errors:
        picked.append(max(errors, key=lambda f: f.count))
    return [_quote(f, found) for f in picked[:2]]


def _stopped_sentences(found: TriageEvidence) -> list[str]:
    """Work that stopped: a logged counter at zero since some moment (a stuck consumer logs no error)."""
    return [
        f'Stopped at {_clock(c.since)}: {c.describe()} ({c.citation.render()}, "{c.template[:80]}").'
        for c in found.stopped[:2]
    ]


def _quote(finding: LogFinding, found: TriageEvidence) -> str:
    text = f'{finding.count}x "{finding.template[:200]}" ({finding.citation.render()}'
    if finding.appeared and finding.first_in_window is not None:
        text += f", new at {_clock(finding.first_in_window)}"
        starts = found.alert.starts_at.timestamp() if found.alert.starts_at else None
        if starts is not None and finding.first_in_window <= starts:
            text += f", {_duration(starts - finding.first_in_window)} before the alert"
    return text + ")"


def _recent_release(found: TriageEvidence) -> ChangeEvent | None:
    """A release shortly before the first linked problem: the likeliest cause when no signature names one."""
    releases = found.releases
    if not releases or found.onset is None or not found.findings:
        return None
    latest = releases[0]
    return latest if found.onset - latest.ts <= RELEASE_SUSPECT_SECONDS else None


def _change_sentence(found: TriageEvidence) -> str:
    parts = [f"It follows {_change_text(found.releases[0], found)}."] if found.releases else []
    for change, why in found.scale_ups[:1]:
        parts.append(f"{_scale_text(change, found)} ({why}).")
    return " ".join(parts)


def _scale_text(change: ChangeEvent, found: TriageEvidence) -> str:
    scaled = change.scaled
    assert scaled is not None
    counts = (
        f" from {scaled.from_replicas} to {scaled.to_replicas}"
        if scaled.from_replicas is not None
        else f" to {scaled.to_replicas}"
        if scaled.to_replicas is not None
        else " up"
    )
    text = f"{scaled.workload} was scaled{counts} at {_clock(change.ts)}"
    if found.onset is not None and change.ts <= found.onset:
        text += f", {_duration(found.onset - change.ts)} before the first symptom"
    return text


def _change_text(change: ChangeEvent, found: TriageEvidence) -> str:
    who = change.service or change.source
    text = f"{change.describe()} ({who}) at {_clock(change.ts)}"
    onset = found.onset
    if onset is not None and change.ts <= onset:
        text += f", {_duration(onset - change.ts)} before the first symptom"
    elif onset is not None:
        text += f", {_duration(change.ts - onset)} after the first symptom"
    return text


def assess_confidence(found: TriageEvidence) -> Confidence:
    """Confidence bounded by the evidence linked to the incident: no linked logs, no runbook, or only
    symptoms keep it at or below 0.5; the reason lists what is missing."""
    runbook_score = found.runbook.score if found.runbook else 0.0
    if found.runbook is not None and found.runbook_reason.startswith("linked by the alert"):
        runbook_score = max(runbook_score, 0.9)
    cause = found.cause
    parts = [found.runbook_reason]
    caps: list[tuple[float, str]] = []
    if cause is not None:
        signal = strength(cause.lines) * TIER_WEIGHT[cause.tier]
        parts.append(
            f"'{cause.signature.title}' in {cause.lines} linked log line(s) ({cause.error_lines} at error "
            f"level; {cause.findings[0].link or 'linked'})"
        )
        if cause.tier == Tier.MENTION:
            caps.append((0.6, "the cause is only named in other services' logs"))
        if cause.tier == Tier.DEPENDENCY and NAMED_BY_ERRORS in cause.findings[0].link:
            caps.append((0.5, "the dependency is inferred from error lines, not declared"))
        if cause.restates_alert:
            caps.append((0.5, "the logs confirm what the alert says, not why it happened"))
    elif (release := _recent_release(found)) is not None:
        signal = 0.6
        parts.append(f"{release.describe()} shortly before the first linked problem")
        caps.append((0.5, "a release precedes the problems, but no signature confirms what broke"))
    else:
        symptom = found.signatures[0] if found.signatures else None
        signal = 0.3 * strength(symptom.lines) if symptom else 0.0
        caps.append(
            (
                0.45,
                "only symptoms in the linked logs" if symptom else "no failure signature in the linked logs",
            )
        )
    if not found.links.linked:
        caps.append((0.35, f"no logs linked to {found.entities.describe()}"))
    if found.runbook is None:
        caps.append((0.5, "no runbook"))
    if found.releases:
        parts.append(f"{found.releases[0].describe()} before the onset")
    value = 0.5 * runbook_score + 0.5 * signal
    for cap, why in caps:
        if value > cap:
            value = cap
        parts.append(f"capped at {cap}: {why}" if value == cap else why)
    return Confidence(value=round(min(max(value, 0.0), 1.0), 3), reason="; ".join(parts))


def next_steps(found: TriageEvidence, diagnostics: list[ProposedAction]) -> list[str]:
    """What to do next: never empty; without a runbook, the checks for the alert's entities."""
    steps = [f"Run `{a.action_id}` ({a.why})" for a in diagnostics[:3]]
    if found.runbook is not None:
        steps.append(f"Follow the runbook: {found.runbook.source} (diagnosis and mitigation sections)")
    elif found.runbook_links:
        steps.append(f"Open the runbook the alert links: {found.runbook_links[0]}")
    if found.findings:
        steps.append(f"Read the log lines cited above, starting with {found.findings[0].citation.render()}")
    entities = found.entities
    if not diagnostics and _k8s_names(entities.pod, entities.namespace, *entities.nodes[:1]):
        if entities.pod:
            ns = f" -n {entities.namespace}" if entities.namespace else ""
            steps.append(
                f"Describe the pod: `kubectl describe pod {entities.pod}{ns}` (last state, restarts, events)"
            )
        if entities.nodes:
            node = entities.nodes[0]
            steps.append(
                f"Check the node's conditions and events: `kubectl describe node {node}` "
                "(Ready, DiskPressure, MemoryPressure) and its kubelet/system logs"
            )
        if entities.namespace:
            steps.append(
                f"Recent events: `kubectl get events -n {entities.namespace} --sort-by=.lastTimestamp`"
            )
    for dep, why in list(found.links.dependencies.items())[:3]:
        steps.append(f"Check the health of dependency {dep} ({why[:120]})")
    if not found.links.linked:
        who = ", ".join(entities.workload_names[:2] + entities.nodes[:1]) or "the affected service"
        steps.append(
            f"No logs of {who} were found around the alert: ingest them (`opsagent ingest <dir>`) or check "
            "that log shipping works, then re-run triage"
        )
    for change in found.nearby_changes[:1]:
        steps.append(
            f"Check whether a change elsewhere is related: {_change_text(change, found)} "
            f"({change.citation.render()})"
        )
    if found.releases:
        steps.append(
            f"Check what the release changed: {found.releases[0].describe()} "
            f"({found.releases[0].citation.render()})"
        )
    if not steps:
        steps.append(
            f"Search the logs around {_clock(found.window[1])}: `opsagent logs --since ... --level error`"
        )
    return unique(steps)


# Label values become commands in next steps only when they are Kubernetes names (labels are untrusted).
_K8S_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?$")


def _k8s_names(*values: str | None) -> bool:
    return all(v is None or _K8S_NAME.match(v) is not None for v in values)


def _service_of(match: SignatureMatch) -> str:
    finding = match.findings[0]
    return finding.service or finding.source


def _duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 1:
        return "under 1 min"
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def _clock(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
