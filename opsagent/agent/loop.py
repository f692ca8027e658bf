"""LLM triage: the agent reasons over the evidence pipeline's findings and may call read-only tools.

Built on `langchain.agents.create_agent` with middleware for retries (tenacity), secret redaction,
the step budget and tool timeouts. The answer must validate into our schema; one repair attempt,
then the offline diagnosis, marked as a fallback with the reason.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import openai
from langchain.agents import create_agent
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from pydantic import BaseModel, Field, ValidationError

from opsagent.actions.catalog import ActionCatalog
from opsagent.agent.answer_checks import (
    ActionPolicy,
    RetrievedEvidence,
    checked_next_steps,
    retrieved_citations,
    strip_commands,
)
from opsagent.agent.diagnosis import (
    Confidence,
    Diagnosis,
    DiagnosisMode,
    Evidence,
    ProposedAction,
    TokenUsage,
)
from opsagent.agent.evidence import TriageEvidence
from opsagent.agent.guard import INJECTION_NOTICE, fence_untrusted, redact_messages
from opsagent.agent.models import call_with_retries
from opsagent.agent.prompts import Prompt
from opsagent.agent.tools import ToolContext, agent_middleware, build_tools, recursion_limit
from opsagent.agent.triage import offline_diagnosis
from opsagent.config import Settings
from opsagent.knowledge.base import KnowledgeBase
from opsagent.knowledge.models import Citation

CITATION = re.compile(
    r"^(?P<source>[^#:]+?)(?:#(?P<section>.+?))?(?:\s*\(?:?L(?P<a>\d+)(?:-L(?P<b>\d+))?\)?)?$"
)
LLM_FAILURES = (openai.OpenAIError, ValueError, RuntimeError, TimeoutError)


class AnswerEvidence(BaseModel):
    citation: str
    excerpt: str = ""


class AnswerAction(BaseModel):
    action_id: str
    parameters: dict[str, Any] = Field(default_factory=dict)
    why: str = ""


class LLMAnswer(BaseModel):
    """What the model must answer (the prompt shows the same shape)."""

    summary: str = Field(min_length=1)
    probable_root_cause: str = Field(min_length=1)
    confidence: Confidence
    evidence: list[AnswerEvidence] = Field(default_factory=list)
    next_steps: list[str] = Field(default_factory=list)
    proposed_actions: list[AnswerAction] = Field(default_factory=list)


class LLMTriage:
    """Runs the agent for one alert's evidence."""

    def __init__(
        self,
        settings: Settings,
        kb: KnowledgeBase,
        catalog: ActionCatalog,
        model: BaseChatModel,
        prompt: Prompt,
        *,
        model_name: str | None = None,
    ) -> None:
        self.settings = settings
        self.kb = kb
        self.catalog = catalog
        self.model = model
        self.prompt = prompt
        self.model_name = model_name or str(getattr(model, "model_name", None) or model.__class__.__name__)

    def diagnose(self, found: TriageEvidence) -> Diagnosis:
        """The LLM diagnosis, or the offline one marked as a fallback."""
        draft = offline_diagnosis(found, self.catalog)
        started = time.perf_counter()
        usage = TokenUsage()
        try:
            messages, context = self._run_agent(found, draft)
            usage = _usage(messages)
            answer, problem = _parse_answer(messages[-1])
            if answer is None:
                answer, problem, extra = self._repair(messages, problem)
                usage.prompt_tokens += extra.prompt_tokens
                usage.completion_tokens += extra.completion_tokens
            if answer is None:
                return self._fallback(
                    draft, f"the model's answer did not validate after one repair: {problem}", usage
                )
        except LLM_FAILURES as exc:
            return self._fallback(draft, f"{exc.__class__.__name__}: {str(exc)[:300]}", usage)
        diagnosis = self._merge(answer, draft, found, context.sources)
        diagnosis.token_usage = usage
        diagnosis.tool_calls = [m.name or "?" for m in messages if isinstance(m, ToolMessage)]
        diagnosis.timings = {**draft.timings, "llm_ms": round((time.perf_counter() - started) * 1000, 2)}
        return diagnosis

    def _run_agent(self, found: TriageEvidence, draft: Diagnosis) -> tuple[list[BaseMessage], ToolContext]:
        workloads = found.entities.workload_names
        context = ToolContext(
            self.settings,
            self.kb,
            found.window,
            workloads[0] if workloads else None,
            namespaces=[found.entities.namespace] if found.entities.namespace else [],
        )
        agent = create_agent(
            self.model,
            tools=build_tools(context),
            system_prompt=self.prompt.render(injection_notice=INJECTION_NOTICE),
            middleware=agent_middleware(self.settings),
        )
        result = agent.invoke(
            {"messages": [HumanMessage(render_evidence(found, draft, self.catalog))]},
            config={"recursion_limit": recursion_limit(self.settings)},
        )
        return list(result["messages"]), context

    def _repair(
        self, messages: list[BaseMessage], problem: str | None
    ) -> tuple[LLMAnswer | None, str | None, TokenUsage]:
        request = [
            *messages,
            HumanMessage(
                f"Your answer could not be used: {problem}. Reply again with only the JSON object described "
                "in the instructions, no prose and no code fences."
            ),
        ]
        system = self.prompt.render(injection_notice=INJECTION_NOTICE)
        reply = call_with_retries(
            self.settings, lambda: self.model.invoke(redact_messages([SystemMessage(system), *request]))
        )
        answer, problem = _parse_answer(reply)
        return answer, problem, _usage([reply])

    def _fallback(self, draft: Diagnosis, reason: str, usage: TokenUsage) -> Diagnosis:
        return draft.model_copy(
            update={
                "fallback_reason": reason,
                "model": self.model_name,
                "prompt_version": self.prompt.version,
                "token_usage": usage,
            }
        )

    def _merge(
        self, answer: LLMAnswer, draft: Diagnosis, found: TriageEvidence, tool_sources: list[str]
    ) -> Diagnosis:
        """The model's answer, checked like input (answer_checks), over the pipeline's draft."""
        policy = ActionPolicy.for_incident(found, self.catalog)
        allowed_ids = policy.allowed_ids
        # A citation must name evidence this run retrieved; anything else is dropped, and said so.
        retrieved = RetrievedEvidence.of(
            [
                *retrieved_citations(found),
                *(e.citation for e in draft.evidence),
                *(parse_citation(s) for s in tool_sources),
            ]
        )
        # A citation of something the pipeline found keeps its kind; anything else came from a tool call.
        kinds = {e.citation.source: e.kind for e in draft.evidence}
        evidence: list[Evidence] = []
        dropped: list[str] = []
        for item in answer.evidence:
            citation = parse_citation(item.citation)
            if not retrieved.resolves(citation):
                dropped.append(citation.render()[:120])
                continue
            evidence.append(
                Evidence(
                    kind=kinds.get(citation.source, "tool"), citation=citation, excerpt=item.excerpt[:2000]
                )
            )
        seen = {e.citation.render() for e in evidence}
        evidence += [e for e in draft.evidence if e.citation.render() not in seen]
        actions, notes = self._validated_actions(answer.proposed_actions, policy)
        steps, commands = checked_next_steps(answer.next_steps, allowed_ids)
        if commands:
            notes.append(
                f"(dropped {commands} of the model's next steps that named shell commands: commands come "
                "only from the catalog actions)"
            )
        confidence = bounded_confidence(answer.confidence, draft.confidence)
        reason = confidence.reason
        if dropped:
            reason += (
                f" (dropped {len(dropped)} citation(s) of evidence this run never retrieved: "
                f"{', '.join(dropped[:3])})"
            )
        reason = strip_commands(reason, allowed_ids)
        return Diagnosis(
            alert_name=draft.alert_name,
            summary=strip_commands(answer.summary, allowed_ids),
            probable_root_cause=strip_commands(answer.probable_root_cause, allowed_ids),
            confidence=Confidence(value=confidence.value, reason=reason),
            runbook=draft.runbook,
            runbook_url=draft.runbook_url,
            evidence=evidence,
            next_steps=(steps or draft.next_steps) + notes,
            proposed_actions=actions,
            mode=DiagnosisMode.LLM,
            model=self.model_name,
            prompt_version=self.prompt.version,
        )

    def _validated_actions(
        self, proposed: list[AnswerAction], policy: ActionPolicy
    ) -> tuple[list[ProposedAction], list[str]]:
        """Only actions allowed for this incident: the model cannot improvise remediation or its target."""
        actions: list[ProposedAction] = []
        notes: list[str] = []
        for item in proposed:
            action, note = policy.check(item.action_id, item.parameters, item.why)
            if note:
                notes.append(note)
            if action is not None and all(a.action_id != action.action_id for a in actions):
                actions.append(action)
        return actions, notes


# The model may find more with its tools than the pipeline did, but not arbitrarily more: its confidence is
# data to check, bounded by the evidence's own.
MODEL_CONFIDENCE_MARGIN = 0.15
MAX_MODEL_CONFIDENCE = 0.95


def bounded_confidence(claimed: Confidence, evidence: Confidence) -> Confidence:
    """The model's confidence, capped at the evidence's confidence plus a small margin."""
    # Thin evidence stays thin: at or under 0.5 the model may not claim more than the evidence shows.
    # Nothing read from logs is certain: the model never claims more than MAX_MODEL_CONFIDENCE.
    bound = (
        evidence.value
        if evidence.value <= 0.5
        else min(MAX_MODEL_CONFIDENCE, evidence.value + MODEL_CONFIDENCE_MARGIN)
    )
    if claimed.value <= bound:
        return claimed
    return Confidence(
        value=round(bound, 3),
        reason=f"{claimed.reason} (the model said {claimed.value:.2f}; capped at {bound:.2f} by the "
        f"evidence's {evidence.value:.2f}: {evidence.reason})",
    )


def render_evidence(found: TriageEvidence, draft: Diagnosis, catalog: ActionCatalog) -> str:
    """The compact, fenced evidence the model starts from (templates with counts, not raw lines)."""
    alert = found.alert
    alert_text = json.dumps(
        {
            "name": alert.name,
            "status": alert.status.value,
            "severity": alert.severity,
            "service": alert.service,
            "labels": alert.labels,
            "annotations": alert.annotations,
            "starts_at": alert.starts_at.isoformat() if alert.starts_at else None,
        },
        indent=None,
        # Real characters, not \u escapes: the fence must see a zero-width or full-width closing tag to
        # neutralise it, and the model would decode the escapes anyway.
        ensure_ascii=False,
    )
    parts = ["## Alert", fence_untrusted("alert", alert_text)]
    parts.append("## Runbooks (best matches)")
    for hit in found.runbook_hits[:2]:
        parts.append(
            fence_untrusted(hit.citation.render(), f"{hit.title} (score {hit.score:.2f})\n{hit.snippet}")
        )
    if found.signatures:
        parts.append("## Failure signatures in the logs")
        parts.extend(
            f"- {m.signature.title}: {m.lines} lines ({m.error_lines} error-level)"
            for m in found.signatures[:4]
        )
    if found.findings:
        parts.append("## Log templates around the alert (count, citation, template)")
        body = "\n".join(
            f"{f.count}x {f.citation.render()} [{f.level or '-'}] ({f.link}) {f.template[:240]}"
            for f in found.findings[:8]
        )
        parts.append(fence_untrusted("log templates", body))
    if found.changes:
        parts.append("## What changed (linked logs, before and around the onset)")
        body = "\n".join(f"{c.citation.render()} {c.describe()}: {c.text[:200]}" for c in found.changes[:5])
        parts.append(fence_untrusted("changes", body))
    if found.elsewhere:
        parts.append("## Also happening elsewhere (NOT linked to this alert: never the root cause)")
        body = "\n".join(f"{f.count}x {f.citation.render()} {f.template[:200]}" for f in found.elsewhere)
        parts.append(fence_untrusted("unlinked log templates", body))
    if draft.proposed_actions or found.runbook:
        parts.append("## Actions you may propose (from the runbook; parameters are JSON schema)")
        ids = [a.action_id for a in draft.proposed_actions] or (
            found.runbook.actions if found.runbook else []
        )
        for action_id in ids:
            spec = catalog.get(action_id)
            if spec:
                props = ", ".join(spec.parameters.get("properties", {}))
                kind = "mutating" if spec.mutating else "read-only"
                parts.append(f"- {spec.id} ({kind}; params: {props}): {spec.description}")
    parts.append("## Draft diagnosis from the evidence alone")
    # The draft quotes the runbook's title, log templates and alert fields: untrusted like their sources.
    draft_text = f"Summary: {draft.summary}\nRoot cause: {draft.probable_root_cause}"
    parts.append(fence_untrusted("draft diagnosis", draft_text))
    parts.append(f"Confidence: {draft.confidence.value}")
    return "\n\n".join(parts)


def _parse_answer(message: BaseMessage) -> tuple[LLMAnswer | None, str | None]:
    if not isinstance(message, AIMessage):
        return None, "the run ended without a final answer"
    text = message.content if isinstance(message.content, str) else json.dumps(message.content)
    match = re.search(r"\{.*\}", text, re.S)
    if not match:
        return None, "no JSON object in the answer"
    try:
        return LLMAnswer.model_validate_json(match.group(0)), None
    except ValidationError as exc:
        first = exc.errors()[0]
        return None, f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"


def _usage(messages: list[BaseMessage]) -> TokenUsage:
    usage = TokenUsage()
    for message in messages:
        meta = getattr(message, "usage_metadata", None)
        if meta:
            usage.prompt_tokens += int(meta.get("input_tokens", 0))
            usage.completion_tokens += int(meta.get("output_tokens", 0))
    return usage


def parse_citation(text: str) -> Citation:
    """`path#Section (L1-L9)` / `path:L10-L20` / `path` back into a Citation."""
    match = CITATION.match(text.strip())
    if not match:
        return Citation(source=text.strip()[:500])
    a, b = match.group("a"), match.group("b")
    return Citation(
        source=match.group("source").strip(),
        section=(match.group("section") or "").strip(),
        line_start=int(a) if a else None,
        line_end=int(b) if b else (int(a) if a else None),
    )
