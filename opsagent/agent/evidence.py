"""The evidence pipeline: alert -> runbooks, related logs, failure signatures, candidate actions.

No LLM needed. Everything found is kept with its citation, so the offline diagnosis (and, later, the
LLM) reasons over evidence a human can check.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from opsagent.agent.signatures import Signature
from opsagent.config import Settings
from opsagent.incidents.models import Alert
from opsagent.knowledge.base import KnowledgeBase
from opsagent.knowledge.models import Citation, DocumentKind, SearchHit
from opsagent.knowledge.query import AlertQuery, build_alert_query
from opsagent.knowledge.search import SearchFilters, json_list

ERROR_LEVELS = {"error", "fatal", "critical"}
# A runbook just under the no-runbook threshold is still accepted when the logs' failure signature
# independently points at the same runbook: two weak signals that agree.
CORROBORATION_MARGIN = 0.15
MAX_TEMPLATES = 400
# "Spiking": at least SPIKE_FACTOR times the earlier rate, over the SPIKE_MINUTES before the alert.
SPIKE_MINUTES = 15
SPIKE_FACTOR = 3.0
SPIKE_MIN_LINES = 5


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

    @property
    def weight(self) -> float:
        # Error-level lines count double: "connection refused" at INFO is usually a retry that worked.
        return self.lines + self.error_lines


@dataclass
class TriageEvidence:
    """Everything the pipeline found for one alert."""

    alert: Alert
    query: AlertQuery
    window: tuple[float, float]
    runbook_hits: list[SearchHit]
    runbook: SearchHit | None
    runbook_reason: str
    findings: list[LogFinding]
    signatures: list[SignatureMatch]
    timings: dict[str, float]
    runbook_text: str = ""  # the chosen runbook in full (its prose may name actions front matter lacks)


class EvidencePipeline:
    """Gathers evidence for alerts from one knowledge base."""

    def __init__(self, settings: Settings, kb: KnowledgeBase, signatures: list[Signature]) -> None:
        self.settings = settings
        self.kb = kb
        self.signatures = signatures

    def gather(self, alert: Alert, *, now: float | None = None) -> TriageEvidence:
        """Run every stage; timings are in milliseconds."""
        timings: dict[str, float] = {}
        started = time.perf_counter()
        query = build_alert_query(alert.name, alert.labels, alert.annotations)
        window = self._window(alert, now)
        timings["query_ms"] = _ms(started)

        t0 = time.perf_counter()
        findings = self._log_findings(query, alert.service, window)
        timings["logs_ms"] = _ms(t0)

        t0 = time.perf_counter()
        matches = self._match_signatures(findings)
        timings["signatures_ms"] = _ms(t0)

        t0 = time.perf_counter()
        hits, runbook, reason = self._runbooks(query, matches)
        text = self._full_text(runbook.doc_id) if runbook is not None else ""
        timings["runbooks_ms"] = _ms(t0)
        timings["total_ms"] = _ms(started)
        return TriageEvidence(alert, query, window, hits, runbook, reason, findings, matches, timings, text)

    def _full_text(self, doc_id: str) -> str:
        records = self.kb.store.iter_records(DocumentKind.RUNBOOK, where={"doc_id": doc_id})
        return "\n\n".join(text for _, text, _ in records)

    def _window(self, alert: Alert, now: float | None) -> tuple[float, float]:
        anchor = alert.starts_at.timestamp() if alert.starts_at else (now or datetime.now(UTC).timestamp())
        end = (
            alert.ends_at.timestamp()
            if alert.ends_at
            else anchor + 60 * self.settings.log_window_after_minutes
        )
        return anchor - 60 * self.settings.log_window_before_minutes, end

    # -- logs ---------------------------------------------------------------------------------------

    def _log_findings(
        self, query: AlertQuery, service: str | None, window: tuple[float, float]
    ) -> list[LogFinding]:
        since, until = window
        templates = self._templates_in_window(service, since, until) if service else []
        if service and not templates:  # the logs may name the service differently: widen, keep the window
            service = None
        if not templates:
            templates = self._templates_in_window(None, since, until)
        if not templates:
            return []
        by_id = {t[0]: t for t in templates}
        findings: dict[str, LogFinding] = {}
        # 1. What the alert is about, semantically.
        filters = SearchFilters(kind=DocumentKind.LOG, service=service, since=since, until=until)
        for hit in self.kb.search(query.text, 8, filters):
            if hit.doc_id in by_id:
                _finding(findings, by_id[hit.doc_id], f"matches the alert (score {hit.score:.2f})")
        # 2. Errors in the window, most frequent first.
        errors = [t for t in templates if _level(t[2]) in ERROR_LEVELS]
        for record in sorted(errors, key=lambda t: -int(t[2].get("count", 0)))[:10]:
            _finding(findings, record, "error-level lines in the window")
        # 3. Shapes that only appeared after the window opened: new behaviour around the alert.
        onset = since + 0.25 * (until - since)
        for record in templates:
            first = record[2].get("first_seen")
            if isinstance(first, float | int) and first >= onset and _level(record[2]) not in (None, "debug"):
                _finding(findings, record, "new since the incident window opened")
        # 4. Shapes whose rate jumped in the run-up to the alert (they existed before, at a lower rate).
        for record, recent, before in self._spikes(templates, since, until):
            _finding(
                findings,
                record,
                f"spiking: {recent} lines in the last {SPIKE_MINUTES} min vs {before} before",
            )
        return sorted(findings.values(), key=lambda f: (-len(f.reasons), -f.count))

    def _spikes(
        self, templates: list[tuple[str, str, dict[str, Any]]], since: float, until: float
    ) -> list[tuple[tuple[str, str, dict[str, Any]], int, int]]:
        """Templates at least SPIKE_FACTOR times more frequent just before the alert than earlier."""
        split = until - 60 * (SPIKE_MINUTES + self.settings.log_window_after_minutes)
        if split <= since:
            return []
        by_file: dict[tuple[str, str], list[tuple[str, str, dict[str, Any]]]] = {}
        for record in templates:
            meta = record[2]
            if meta.get("template_index") is not None:
                by_file.setdefault((str(meta.get("root")), str(meta.get("source"))), []).append(record)
        spikes = []
        for (root, source), records in by_file.items():
            activity = self.kb.log_store.template_activity(root, source, since, split, until)
            for record in records:
                before, recent = activity.get(int(record[2]["template_index"]), (0, 0))
                recent_rate = recent / (until - split)
                before_rate = before / (split - since)
                if before and recent >= SPIKE_MIN_LINES and recent_rate >= SPIKE_FACTOR * before_rate:
                    spikes.append((record, recent, before))
        return sorted(spikes, key=lambda s: -s[1])[:10]

    def _templates_in_window(
        self, service: str | None, since: float, until: float
    ) -> list[tuple[str, str, dict[str, Any]]]:
        clauses: list[dict[str, Any]] = [{"last_seen": {"$gte": since}}, {"first_seen": {"$lte": until}}]
        if service:
            clauses.append({"service": service})
        records = self.kb.store.iter_records(DocumentKind.LOG, where={"$and": clauses})
        return [r for _, r in zip(range(MAX_TEMPLATES), records, strict=False)]

    # -- signatures ---------------------------------------------------------------------------------

    def _match_signatures(self, findings: list[LogFinding]) -> list[SignatureMatch]:
        matches = []
        for signature in self.signatures:
            hits = [f for f in findings if signature.matches(f.template) or signature.matches(f.example)]
            if not hits:
                continue
            errors = sum(f.count for f in hits if f.level in ERROR_LEVELS)
            matches.append(SignatureMatch(signature, sum(f.count for f in hits), errors, hits))
        return sorted(matches, key=lambda m: (m.signature.symptom, -m.weight))

    # -- runbooks -----------------------------------------------------------------------------------

    def _runbooks(
        self, query: AlertQuery, matches: list[SignatureMatch]
    ) -> tuple[list[SearchHit], SearchHit | None, str]:
        filters = SearchFilters(kind=DocumentKind.RUNBOOK)
        hits = self.kb.search(query.text, 3, filters)
        threshold = self.settings.no_runbook_threshold
        if hits and hits[0].score >= threshold:
            return hits, hits[0], f"best match for the alert (score {hits[0].score:.2f} >= {threshold})"
        for match in matches[:2]:
            via_logs = self.kb.search(f"{query.text} {match.signature.query}", 1, filters)
            if not via_logs:
                continue
            best = via_logs[0]
            direct = next((h for h in hits if h.doc_id == best.doc_id), None)
            if direct is None:
                continue
            # Either the alert alone nearly clears the bar, or alert + log signature clear it together
            # and agree with the alert alone on the best runbook.
            agrees = hits[0].doc_id == best.doc_id and best.score >= threshold
            if direct.score >= threshold - CORROBORATION_MARGIN or agrees:
                reason = (
                    f"alert match {direct.score:.2f} corroborated by the '{match.signature.title}' "
                    f"signature in the logs (together {best.score:.2f})"
                )
                return hits, direct, reason
        best_score = hits[0].score if hits else 0.0
        return hits, None, f"no runbook found (best score {best_score:.2f} < {threshold})"


def _finding(findings: dict[str, LogFinding], record: tuple[str, str, dict[str, Any]], reason: str) -> None:
    _, template, meta = record
    doc_id = str(meta.get("doc_id", record[0]))
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
            level=_level(meta),
            service=meta.get("service"),
            example=examples[0] if examples else template,
        )
    if reason not in findings[doc_id].reasons:
        findings[doc_id].reasons.append(reason)


def _level(meta: dict[str, Any]) -> str | None:
    level = meta.get("level")
    return str(level) if level else None


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def strength(lines: int) -> float:
    """How convincing N matching log lines are, in [0, 1): 1 line 0.5, 10 lines 0.75, 100 lines ~0.9."""
    return 1 - 0.5 / (1 + math.log10(max(lines, 1)))


def unique(items: Iterable[str]) -> list[str]:
    """Items in first-seen order without repeats."""
    return list(dict.fromkeys(items))
