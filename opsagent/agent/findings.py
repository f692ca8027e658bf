"""What the evidence pipeline finds in the logs: findings (log templates and why they matter) and
signature matches, with the small helpers that read a stored template record."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from opsagent.agent.linking import Record, Tier
from opsagent.agent.signatures import Signature
from opsagent.knowledge.models import Citation
from opsagent.knowledge.search import json_list


@dataclass
class LogFinding:
    """A log template relevant to the incident, and why."""

    template: str
    count: int
    source: str
    line_start: int | None
    line_end: int | None
    first_seen: float | None
    last_seen: float | None
    level: str | None
    service: str | None
    example: str
    reasons: list[str] = field(default_factory=list)
    doc_id: str = ""
    tier: Tier = Tier.NONE
    link: str = ""  # why it is linked to the incident
    root: str = ""
    template_index: int | None = None  # the miner's id: the raw lines in the log store carry it
    # Set for problem lines by the pipeline's novelty pass: none earlier in the window, several in the
    # run-up to the alert (a new kind of trouble), and when its first line in the window was written.
    appeared: bool = False
    alert_score: float | None = None  # how closely it matches what the alert says (semantic search)
    first_in_window: float | None = None

    @property
    def citation(self) -> Citation:
        return Citation(source=self.source, line_start=self.line_start, line_end=self.line_end)


@dataclass
class SignatureMatch:
    """A failure signature seen in the logs, weighted by how many lines show it."""

    signature: Signature
    lines: int
    error_lines: int
    findings: list[LogFinding]
    tier: Tier = Tier.OWN
    restates_alert: bool = False  # the alert itself says this (NodeNotReady + "node not ready"): not a why

    @property
    def weight(self) -> float:
        # Error-level lines count double: "connection refused" at INFO is usually a retry that worked.
        return self.lines + self.error_lines


def add_finding(
    findings: dict[str, LogFinding], record: Record, reason: str, tier: Tier, link: str = ""
) -> None:
    _, template, meta = record
    doc_id = record_doc_id(record)
    if doc_id not in findings:
        examples = json_list(meta.get("examples"))
        findings[doc_id] = LogFinding(
            template=template,
            count=int(meta.get("count", 0)),
            source=str(meta.get("source", "")),
            line_start=meta.get("line_start"),
            line_end=meta.get("line_end"),
            first_seen=meta.get("first_seen"),
            last_seen=meta.get("last_seen"),
            level=record_level(meta),
            service=meta.get("service"),
            example=examples[0] if examples else template,
            doc_id=doc_id,
            tier=tier,
            link=link,
            root=str(meta.get("root", "")),
            template_index=int(meta["template_index"]) if meta.get("template_index") is not None else None,
        )
    if reason not in findings[doc_id].reasons:
        findings[doc_id].reasons.append(reason)


def record_file(record: Record) -> tuple[str, str]:
    """(root, source) of a stored template record."""
    return str(record[2].get("root", "")), str(record[2].get("source", ""))


def record_doc_id(record: Record) -> str:
    """The document id of a stored template record."""
    return str(record[2].get("doc_id", record[0]))


def record_level(meta: dict[str, Any]) -> str | None:
    """The dominant level of a stored template, if any."""
    level = meta.get("level")
    return str(level) if level else None


def strength(lines: int) -> float:
    """How convincing N matching log lines are, in [0, 1): 1 line 0.5, 10 lines 0.75, 100 lines ~0.9."""
    return 1 - 0.5 / (1 + math.log10(max(lines, 1)))


def unique_findings(findings: Iterable[LogFinding]) -> list[LogFinding]:
    """Findings in first-seen order without repeats (by template)."""
    first: dict[str, LogFinding] = {}
    for finding in findings:
        first.setdefault(finding.doc_id, finding)
    return list(first.values())
