"""Offline triage: turn the evidence pipeline's findings into a `Diagnosis` (k8sgpt-style analysis).

This is the whole answer when no LLM is configured, the starting point the LLM gets when one is, and
the fallback when the LLM fails.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from opsagent.actions.catalog import ActionCatalog, ActionSpec
from opsagent.agent.diagnosis import Confidence, Diagnosis, DiagnosisMode, Evidence, ProposedAction
from opsagent.agent.evidence import EvidencePipeline, TriageEvidence, strength, unique
from opsagent.agent.signatures import load_signatures
from opsagent.config import Settings
from opsagent.incidents.models import Alert
from opsagent.knowledge.base import KnowledgeBase
from opsagent.knowledge.lexical import tokenize

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from opsagent.agent.loop import LLMTriage

MAX_PROPOSED = 3
# Kubernetes pod names: <deployment>-<replicaset hash>-<pod suffix>, both from a vowel-free alphabet.
POD_NAME = re.compile(
    r"^(?P<deployment>[a-z0-9-]+?)-[bcdfghjklmnpqrstvwxz2-9]{6,10}-[bcdfghjklmnpqrstvwxz2-9]{5}$"
)


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
        self.pipeline = EvidencePipeline(settings, kb, load_signatures(settings.signatures_file))
        self.llm: LLMTriage | None = None
        if model is not None:
            from opsagent.agent.loop import LLMTriage  # the LLM stack loads only when used
            from opsagent.agent.prompts import load_prompt

            model_name = settings.llm_model if settings.llm_enabled else None
            self.llm = LLMTriage(settings, kb, catalog, model, load_prompt("triage"), model_name=model_name)

    def diagnose(self, alert: Alert, *, now: float | None = None) -> Diagnosis:
        """Diagnose one alert (offline when no model is configured)."""
        found = self.pipeline.gather(alert, now=now)
        if self.llm is None:
            return offline_diagnosis(found, self.catalog)
        return self.llm.diagnose(found)


def offline_diagnosis(found: TriageEvidence, catalog: ActionCatalog) -> Diagnosis:
    """Build a Diagnosis from evidence alone."""
    alert = found.alert
    top = found.signatures[0] if found.signatures else None
    runbook = found.runbook
    where = f" on {alert.service}" if alert.service else ""
    root_cause = _root_cause(found)
    if top is not None and not top.signature.symptom:
        summary = f"{alert.name}{where}: {top.signature.title.lower()}"
    elif runbook is not None:
        summary = f"{alert.name}{where}: see '{runbook.title}'"
    else:
        summary = f"{alert.name}{where}: no runbook found" + (
            f"; logs show {top.signature.title.lower()}" if top else " and no known failure signature"
        )
    if runbook is not None:
        summary += f" (runbook: {runbook.title})"

    evidence: list[Evidence] = []
    if runbook is not None:
        evidence.append(
            Evidence(kind="runbook", citation=runbook.citation, excerpt=runbook.snippet, score=runbook.score)
        )
    for match in found.signatures[:3]:
        finding = match.findings[0]
        evidence.append(
            Evidence(
                kind="signature",
                citation=finding.citation,
                excerpt=f"{match.signature.title}: {finding.example[:400]}",
                score=round(strength(match.lines), 3),
            )
        )
    for finding in found.findings[:5]:
        evidence.append(
            Evidence(
                kind="log",
                citation=finding.citation,
                excerpt=f"{finding.count}× {finding.template[:300]} ({'; '.join(finding.reasons)})",
            )
        )

    actions = propose_actions(runbook_action_ids(found, catalog), alert, catalog, found)
    diagnostics = [a for a in actions if not a.mutating]
    remediations = [a for a in actions if a.mutating][:MAX_PROPOSED]
    next_steps = [f"Run `{a.action_id}` ({a.why})" for a in diagnostics[:3]]
    if runbook is not None:
        next_steps.append(f"Follow the runbook: {runbook.source} (diagnosis and mitigation sections)")
    if found.findings:
        next_steps.append(
            f"Read the log lines cited above, starting with {found.findings[0].citation.render()}"
        )

    return Diagnosis(
        alert_name=alert.name,
        summary=summary,
        probable_root_cause=root_cause,
        confidence=_confidence(found),
        runbook=runbook.citation if runbook else None,
        evidence=evidence,
        next_steps=next_steps,
        proposed_actions=remediations,
        mode=DiagnosisMode.OFFLINE,
        timings=found.timings,
    )


def _root_cause(found: TriageEvidence) -> str:
    """A cause signature speaks for itself; otherwise combine the runbook that matches the alert, the
    symptom the logs show, and the most frequent error-level line, quoted (it may name the cause)."""
    top = found.signatures[0] if found.signatures else None
    if top is not None and not top.signature.symptom:
        first = min((f.first_seen for f in top.findings if f.first_seen), default=None)
        since = f", since {_clock(first)}" if first else ""
        return f"{top.signature.root_cause} Seen in {top.lines} log line(s){since}."
    parts = ["No specific failure signature in the logs."]
    if found.runbook is not None:
        parts.append(f"The alert matches the runbook '{found.runbook.title}'.")
    if top is not None:
        parts.append(
            f"The logs show a symptom: {top.signature.root_cause[0].lower()}{top.signature.root_cause[1:]}"
        )
    errors = [f for f in found.findings if f.level in ("error", "fatal", "critical")]
    if errors:
        worst = max(errors, key=lambda f: f.count)
        parts.append(f'Most frequent error in the window ({worst.count}x): "{worst.template[:200]}".')
    if len(parts) == 1:
        return "Unknown: no matching runbook and no known failure signature in the logs around the alert."
    return " ".join(parts)


def _confidence(found: TriageEvidence) -> Confidence:
    runbook_score = found.runbook.score if found.runbook else 0.0
    signal = strength(found.signatures[0].lines) if found.signatures else 0.0
    value = round(0.5 * runbook_score + 0.5 * signal, 3)
    parts = [found.runbook_reason]
    if found.signatures:
        top = found.signatures[0]
        parts.append(f"'{top.signature.title}' in {top.lines} log line(s) ({top.error_lines} at error level)")
    else:
        parts.append("no known failure signature in the logs")
    return Confidence(value=value, reason="; ".join(parts))


def runbook_action_ids(found: TriageEvidence, catalog: ActionCatalog) -> list[str]:
    """The runbook's declared actions; for a runbook without front matter, catalog ids its text names."""
    if found.runbook is None:
        return []
    if found.runbook.actions:
        return found.runbook.actions
    return [
        i for i in catalog.actions if re.search(rf"(?<![\w-]){re.escape(i)}(?![\w-])", found.runbook_text)
    ]


def propose_actions(
    action_ids: list[str], alert: Alert, catalog: ActionCatalog, found: TriageEvidence
) -> list[ProposedAction]:
    """The runbook's declared actions, most relevant to the evidence first, parameters filled from the
    alert; actions not in the catalog are never proposed."""
    context = set(
        tokenize(
            " ".join(
                [
                    alert.name,
                    alert.summary,
                    *(m.signature.root_cause for m in found.signatures[:2]),
                    *(m.signature.query for m in found.signatures[:2]),
                ]
            )
        )
    )
    specs = [spec for action_id in unique(action_ids) if (spec := catalog.get(action_id)) is not None]
    # Stable sort: relevance to what the evidence says, then the runbook's own order.
    ranked = sorted(specs, key=lambda s: -len(context & set(tokenize(f"{s.id} {s.description}"))))
    proposals = []
    for spec in ranked:
        parameters, missing = fill_parameters(spec, alert)
        proposals.append(
            ProposedAction(
                action_id=spec.id,
                parameters=parameters,
                why=spec.description,
                mutating=spec.mutating,
                missing_parameters=missing,
            )
        )
    return proposals


def fill_parameters(spec: ActionSpec, alert: Alert) -> tuple[dict[str, Any], list[str]]:
    """Parameters the alert's labels can supply (each checked against the schema); the rest are missing."""
    labels = alert.labels
    known: dict[str, str | None] = {
        "namespace": labels.get("namespace"),
        "pod": labels.get("pod"),
        "node": labels.get("node") or _host(labels.get("instance")),
        "container": labels.get("container") or alert.service,
        "deployment": labels.get("deployment") or _deployment_of(labels.get("pod")) or alert.service,
        "certificate": labels.get("certificate"),
        "pvc": labels.get("persistentvolumeclaim") or labels.get("pvc"),
        "group": labels.get("consumergroup") or labels.get("group"),
        "database": labels.get("datname") or labels.get("database"),
        "externalsecret": labels.get("externalsecret"),
    }
    properties = spec.parameters.get("properties", {})
    parameters: dict[str, Any] = {}
    for name in properties:
        value = known.get(name)
        if value and _valid_alone(spec, name, value):
            parameters[name] = value
    missing = [name for name in spec.required if name not in parameters]
    return parameters, missing


def _valid_alone(spec: ActionSpec, name: str, value: str) -> bool:
    """Whether one value satisfies the schema (errors about the other, still missing, ones aside)."""
    problems = spec.validate_parameters({name: value})
    return all("is a required property" in p for p in problems)


def _deployment_of(pod: str | None) -> str | None:
    match = POD_NAME.match(pod or "")
    return match.group("deployment") if match else None


def _host(instance: str | None) -> str | None:
    return instance.rsplit(":", 1)[0] if instance else None


def _clock(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
