"""`Diagnosis`: what triage returns, offline or with an LLM. Its JSON schema is part of the API."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field

from opsagent.knowledge.models import Citation


class DiagnosisMode(StrEnum):
    """Who reasoned: the evidence pipeline alone, or an LLM on top of it."""

    OFFLINE = "offline"
    LLM = "llm"


class Evidence(BaseModel):
    """One piece of evidence with where it came from."""

    kind: Literal["runbook", "log", "signature", "change", "elsewhere", "metric", "tool"] = Field(
        description="`change`: a deploy/restart/config/scale before the onset; `elsewhere`: an error in logs "
        "not linked to the alert (context, never the root cause)."
    )
    citation: Citation
    excerpt: str = Field(max_length=2000)
    score: float | None = Field(default=None, description="Relevance in [0, 1] where it applies.")


class ProposedAction(BaseModel):
    """A remediation from the action catalog, with parameters and the reason to run it."""

    action_id: str
    parameters: dict[str, Any] = Field(default_factory=dict)
    why: str
    mutating: bool = True
    missing_parameters: list[str] = Field(
        default_factory=list, description="Required parameters that could not be filled from the alert."
    )


class Confidence(BaseModel):
    """How sure the diagnosis is, and why."""

    value: float = Field(ge=0.0, le=1.0)
    reason: str


class TokenUsage(BaseModel):
    """Tokens sent to and received from the LLM (zero offline)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class Diagnosis(BaseModel):
    """What is wrong, why we think so, and what to do."""

    alert_name: str
    summary: str
    probable_root_cause: str
    confidence: Confidence
    runbook: Citation | None = Field(default=None, description="None means 'no runbook found'.")
    runbook_url: str | None = Field(
        default=None, description="The runbook link the alert carries (runbook_url & co.), as given."
    )
    evidence: list[Evidence] = Field(default_factory=list)
    next_steps: list[str] = Field(default_factory=list)
    proposed_actions: list[ProposedAction] = Field(default_factory=list)
    mode: DiagnosisMode = DiagnosisMode.OFFLINE
    fallback_reason: str | None = Field(default=None, description="Why an LLM diagnosis fell back offline.")
    model: str | None = None
    prompt_version: str | None = None
    timings: dict[str, float] = Field(default_factory=dict, description="Milliseconds per stage.")
    token_usage: TokenUsage = Field(default_factory=TokenUsage)
    tool_calls: list[str] = Field(
        default_factory=list, description="Names of the tools the agent called, in order (empty offline)."
    )
