"""The evidence pipeline: alert -> runbooks, related logs, failure signatures, candidate actions.

No LLM needed. Everything found is kept with its citation, so the offline diagnosis (and, later, the
LLM) reasons over evidence a human can check.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opsagent.agent.changes import ChangeEvent, ChangePattern, find_changes, load_change_patterns
from opsagent.agent.dependencies import DeclaredDependencies
from opsagent.agent.entities import AlertEntities, alert_entities
from opsagent.agent.linking import PROBLEM_LEVELS, LinkedLogs, Record, Tier, link_templates
from opsagent.agent.signatures import Signature
from opsagent.config import Settings
from opsagent.incidents.models import Alert
from opsagent.knowledge.base import KnowledgeBase
from opsagent.knowledge.links import runbook_links
from opsagent.knowledge.models import Citation, DocumentKind, SearchHit
from opsagent.knowledge.query import AlertQuery, build_alert_query
from opsagent.knowledge.runbooks import split_front_matter
from opsagent.knowledge.search import SearchFilters, json_list

ERROR_LEVELS = {"error", "fatal", "critical"}
# A runbook just under the no-runbook threshold is still accepted when the logs' failure signature
# independently points at the same runbook: two weak signals that agree.
CORROBORATION_MARGIN = 0.15
MAX_TEMPLATES = 5000  # templates in one window: linking needs all of them, not the first few hundred
MAX_ELSEWHERE = 3
NEARBY_CHANGE_SECONDS = 15 * 60
MAX_NEARBY_CHANGES = 3
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
    doc_id: str = ""
    tier: Tier = Tier.NONE
    link: str = ""  # why it is linked to the incident
    root: str = ""
    template_index: int | None = None  # the miner's id: the raw lines in the log store carry it

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
    entities: AlertEntities = field(default_factory=AlertEntities)
    links: LinkedLogs = field(default_factory=LinkedLogs)
    changes: list[ChangeEvent] = field(default_factory=list)
    elsewhere: list[LogFinding] = field(default_factory=list)  # unlinked: never a root cause
    runbook_links: list[str] = field(default_factory=list)  # runbook_url & co. as the alert gave them
    onset: float | None = None  # the first linked problem line (else the alert's start)
    changes_covered: bool = False  # the own logs reach back over the change look-back
    nearby_changes: list[ChangeEvent] = field(default_factory=list)  # unlinked changes just before the onset

    @property
    def linked_lines(self) -> int:
        """Log lines linked to the incident in the window."""
        return sum(int(record[2].get("count", 0)) for record, _ in self.links.linked)

    @property
    def releases(self) -> list[ChangeEvent]:
        """Releases before the onset, newest first."""
        onset = self.onset or self.window[1]
        return sorted((c for c in self.changes if c.is_release and c.ts <= onset), key=lambda c: -c.ts)

    @property
    def cause(self) -> SignatureMatch | None:
        """The strongest linked signature that names a cause (not a symptom); one that only restates the
        alert yields to another cause when there is one."""
        causes = [m for m in self.signatures if not m.signature.symptom]
        return next((m for m in causes if not m.restates_alert), causes[0] if causes else None)


class EvidencePipeline:
    """Gathers evidence for alerts from one knowledge base."""

    def __init__(
        self,
        settings: Settings,
        kb: KnowledgeBase,
        signatures: list[Signature],
        change_patterns: list[ChangePattern] | None = None,
    ) -> None:
        self.settings = settings
        self.kb = kb
        self.signatures = signatures
        self.change_patterns = change_patterns if change_patterns is not None else load_change_patterns()
        self._declared: tuple[tuple[object, object], DeclaredDependencies] | None = None

    def gather(self, alert: Alert, *, now: float | None = None) -> TriageEvidence:
        """Run every stage; timings are in milliseconds."""
        timings: dict[str, float] = {}
        started = time.perf_counter()
        query = build_alert_query(alert.name, alert.labels, alert.annotations)
        entities = alert_entities(alert)
        window = self._window(alert, now)
        links = runbook_links(alert)
        timings["query_ms"] = _ms(started)

        t0 = time.perf_counter()
        hits, linked_runbook, link_reason = self._linked_runbook(query, links)
        timings["runbooks_ms"] = _ms(t0)

        t0 = time.perf_counter()
        # Only a runbook the alert links or clearly matches may declare its dependencies.
        strong = hits[0] if hits and hits[0].score >= self.settings.no_runbook_threshold else None
        candidate = linked_runbook or strong
        declared = self._declared_dependencies()
        extra = self._runbook_dependencies(candidate, entities) if candidate is not None else []
        records = self._templates_in_window(window[0], window[1])
        linked = link_templates(records, entities, declared, extra, self.kb.log_store, window)
        findings, elsewhere = self._log_findings(query, linked, window)
        timings["logs_ms"] = _ms(t0)

        t0 = time.perf_counter()
        matches = self._match_signatures(linked, findings)
        said = f"{alert.name} {_split_camel(alert.name)} {alert.summary}"
        for match in matches:
            match.restates_alert = match.signature.matches(said)
        timings["signatures_ms"] = _ms(t0)

        onset = self._onset(matches, findings, alert, window)
        t0 = time.perf_counter()
        changes, covered = self._changes(linked, window, onset)
        nearby = self._nearby_changes(linked, onset)
        timings["changes_ms"] = _ms(t0)

        t0 = time.perf_counter()
        runbook: SearchHit | None = linked_runbook
        if linked_runbook is not None:
            reason = link_reason
        else:
            runbook, reason = self._choose_runbook(query, hits, matches, changes, onset)
            if links:
                reason += f"; {link_reason}"
        text = self._full_text(runbook.doc_id) if runbook is not None else ""
        timings["runbooks_ms"] += _ms(t0)
        timings["total_ms"] = _ms(started)
        return TriageEvidence(
            alert, query, window, hits, runbook, reason, findings, matches, timings, text,
            entities=entities, links=linked, changes=changes, elsewhere=elsewhere, runbook_links=links,
            onset=onset, changes_covered=covered, nearby_changes=nearby,
        )  # fmt: skip

    def _declared_dependencies(self) -> DeclaredDependencies:
        """services.yaml files of the ingested folders, re-read when an ingest changed the store."""
        key = (self.kb.store.revision(DocumentKind.RUNBOOK), self.kb.store.revision(DocumentKind.LOG))
        if self._declared is None or self._declared[0] != key:
            self._declared = (key, DeclaredDependencies(self.kb.roots()))
        return self._declared[1]

    def _full_text(self, doc_id: str) -> str:
        records = self.kb.store.iter_records(DocumentKind.RUNBOOK, where={"doc_id": doc_id})
        ordered = sorted(records, key=lambda r: int(r[2].get("chunk_index", 0) or 0))
        return "\n\n".join(text for _, text, _ in ordered)

    def _window(self, alert: Alert, now: float | None) -> tuple[float, float]:
        anchor = alert.starts_at.timestamp() if alert.starts_at else (now or datetime.now(UTC).timestamp())
        end = (
            alert.ends_at.timestamp()
            if alert.ends_at
            else anchor + 60 * self.settings.log_window_after_minutes
        )
        return anchor - 60 * self.settings.log_window_before_minutes, end

    # -- runbooks -----------------------------------------------------------------------------------

    def _linked_runbook(
        self, query: AlertQuery, links: list[str]
    ) -> tuple[list[SearchHit], SearchHit | None, str]:
        """The best search hits, and the runbook the alert links to when it resolves to an ingested one."""
        hits = self.kb.search(query.text, 3, SearchFilters(kind=DocumentKind.RUNBOOK))
        for link in links:
            hit = self.kb.runbook_for_link(link)
            if hit is not None:
                return hits, hit, f"linked by the alert ({link})"
        if links:
            return hits, None, f"the alert links {links[0]}, which is not in the knowledge base"
        return hits, None, ""

    def _runbook_dependencies(self, hit: SearchHit, entities: AlertEntities) -> list[str]:
        """`depends_on` from a runbook's front matter (read from its file; gone files give nothing), when
        the runbook is about the alert's workload (its `service`, if it names one)."""
        try:
            text = (Path(hit.root) / hit.source).read_text(encoding="utf-8")
            front, _, _ = split_front_matter(text)
        except (OSError, UnicodeDecodeError, ValueError):
            return []
        service = str(front.get("service") or "").strip().lower()
        if service and service not in entities.workload_names:
            return []
        value = front.get("depends_on") or []
        items = value if isinstance(value, list) else [value]
        return [str(v).strip().lower() for v in items if str(v).strip()]

    def _choose_runbook(
        self,
        query: AlertQuery,
        hits: list[SearchHit],
        matches: list[SignatureMatch],
        changes: list[ChangeEvent],
        onset: float,
    ) -> tuple[SearchHit | None, str]:
        """The alert's best runbook; but a cause found in the own or a dependency's logs brings its own
        runbook when the alert's matches a symptom only, and weak alert matches need corroboration."""
        filters = SearchFilters(kind=DocumentKind.RUNBOOK)
        threshold = self.settings.no_runbook_threshold
        cause = next((m for m in matches if not m.signature.symptom and m.tier >= Tier.DEPENDENCY), None)
        by_cause = (
            self.kb.search(cause.signature.query, 3, filters) if cause and cause.signature.query else []
        )
        if hits and hits[0].score >= threshold:
            chosen = hits[0]
            reason = f"best match for the alert (score {chosen.score:.3f} >= {threshold})"
            if (
                by_cause
                and by_cause[0].score >= threshold
                and chosen.doc_id not in {h.doc_id for h in by_cause}
            ):
                assert cause is not None
                return by_cause[0], (
                    f"the runbook for the cause in the logs ('{cause.signature.title}', "
                    f"{cause.findings[0].link}; score {by_cause[0].score:.3f}); the alert alone matched "
                    f"'{chosen.title}' ({chosen.score:.3f})"
                )
            return chosen, reason
        if by_cause and by_cause[0].score >= threshold:
            assert cause is not None
            return by_cause[0], (
                f"the runbook for the cause in the logs ('{cause.signature.title}', "
                f"{cause.findings[0].link}; score {by_cause[0].score:.3f}); "
                "no runbook matches the alert itself"
            )
        releases = [c for c in changes if c.is_release and c.ts <= onset]
        corroborators = [(m.signature.title, m.signature.query) for m in matches if m.tier > Tier.NONE][:2]
        if releases:
            latest = (releases[-1].describe(), self._change_query(releases[-1]))
            # With no cause signature, a release before the onset is the leading hypothesis: it goes first.
            has_cause = any(not m.signature.symptom for m in matches if m.tier > Tier.NONE)
            corroborators = [*corroborators, latest] if has_cause else [latest, *corroborators]
        for title, words in corroborators:
            via_logs = self.kb.search(f"{query.text} {words}", 1, filters)
            if not via_logs:
                continue
            best = via_logs[0]
            direct = next((h for h in hits if h.doc_id == best.doc_id), None)
            if direct is None:
                continue
            # Either the alert alone nearly clears the bar, or alert + evidence clear it together and
            # agree with the alert alone on the best runbook.
            agrees = hits[0].doc_id == best.doc_id and best.score >= threshold
            if direct.score >= threshold - CORROBORATION_MARGIN or agrees:
                return direct, (
                    f"alert match {direct.score:.3f} corroborated by '{title}' in the linked logs "
                    f"(together {best.score:.3f})"
                )
        best_score = hits[0].score if hits else 0.0
        return None, f"no runbook found (best score {best_score:.3f} < {threshold})"

    def _nearby_changes(self, linked: LinkedLogs, onset: float) -> list[ChangeEvent]:
        """Changes in logs NOT linked to the alert shortly before the onset (a batch job scaled up two
        minutes before the database ran out of connections): context for a human, never the cause."""
        since, until = onset - NEARBY_CHANGE_SECONDS, onset + 60
        records = [(*r, "") for r in linked.elsewhere]
        events = find_changes(self.kb, self.change_patterns, records, since, until)
        # Scaling and config only: image pulls and restarts happen somewhere on a cluster all the time.
        return [e for e in events if e.kind in ("scale", "config")][:MAX_NEARBY_CHANGES]

    def _change_query(self, change: ChangeEvent) -> str:
        pattern = next((p for p in self.change_patterns if p.kind == change.kind), None)
        return pattern.query if pattern is not None and pattern.query else change.title

    # -- logs ---------------------------------------------------------------------------------------

    def _templates_in_window(self, since: float, until: float) -> list[Record]:
        clauses: list[dict[str, Any]] = [{"last_seen": {"$gte": since}}, {"first_seen": {"$lte": until}}]
        records = self.kb.store.iter_records(DocumentKind.LOG, where={"$and": clauses})
        return [r for _, r in zip(range(MAX_TEMPLATES), records, strict=False)]

    def _log_findings(
        self, query: AlertQuery, linked: LinkedLogs, window: tuple[float, float]
    ) -> tuple[list[LogFinding], list[LogFinding]]:
        """Findings among the linked templates, and the unlinked errors ("also happening elsewhere")."""
        since, until = window
        elsewhere: dict[str, LogFinding] = {}
        errors_elsewhere = [r for r in linked.elsewhere if _level(r[2]) in ERROR_LEVELS]
        for record in sorted(errors_elsewhere, key=lambda r: -int(r[2].get("count", 0)))[:MAX_ELSEWHERE]:
            _finding(elsewhere, record, "also happening elsewhere (not linked to the alert)", Tier.NONE)
        if not linked.linked:
            return [], list(elsewhere.values())
        by_id = {_doc(r): (r, link) for r, link in linked.linked}
        findings: dict[str, LogFinding] = {}

        def add(record: Record, reason: str) -> None:
            link = by_id[_doc(record)][1]
            _finding(findings, record, reason, link.tier, link.why)

        # 1. What the alert is about, semantically (among linked templates only).
        filters = SearchFilters(kind=DocumentKind.LOG, since=since, until=until)
        for hit in self.kb.search(query.text, 10, filters):
            if hit.doc_id in by_id:
                add(by_id[hit.doc_id][0], f"matches the alert (score {hit.score:.2f})")
        records = [r for r, _ in linked.linked]
        # 2. Errors, then warnings in the window, most frequent first.
        errors = [r for r in records if _level(r[2]) in ERROR_LEVELS]
        for record in sorted(errors, key=lambda r: -int(r[2].get("count", 0)))[:10]:
            add(record, "error-level lines in the window")
        warnings = [r for r in records if _level(r[2]) == "warn"]
        for record in sorted(warnings, key=lambda r: -int(r[2].get("count", 0)))[:5]:
            add(record, "warnings in the window")
        # 3. Problem shapes that only appeared after the window opened: new behaviour around the alert.
        onset = since + 0.25 * (until - since)
        for record in records:
            first = record[2].get("first_seen")
            if isinstance(first, float | int) and first >= onset and _level(record[2]) in PROBLEM_LEVELS:
                add(record, "new since the incident window opened")
        # 4. Problem shapes whose rate jumped in the run-up to the alert (an info line's rate is traffic).
        problems = [r for r in records if _level(r[2]) in PROBLEM_LEVELS]
        for record, recent, before in self._spikes(problems, since, until):
            add(record, f"spiking: {recent} lines in the last {SPIKE_MINUTES} min vs {before} before")
        ordered = sorted(findings.values(), key=lambda f: (-f.tier, -len(f.reasons), -f.count))
        return ordered, list(elsewhere.values())

    def _spikes(self, templates: list[Record], since: float, until: float) -> list[tuple[Record, int, int]]:
        """Templates at least SPIKE_FACTOR times more frequent just before the alert than earlier."""
        split = until - 60 * (SPIKE_MINUTES + self.settings.log_window_after_minutes)
        if split <= since:
            return []
        by_file: dict[tuple[str, str], list[Record]] = {}
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

    # -- signatures ---------------------------------------------------------------------------------

    def _match_signatures(self, linked: LinkedLogs, findings: list[LogFinding]) -> list[SignatureMatch]:
        """Signatures in linked problem lines (and in the findings): the strongest link first."""
        candidates: dict[str, LogFinding] = {}
        for record, link in linked.linked:
            if _level(record[2]) in PROBLEM_LEVELS:
                _finding(candidates, record, "linked problem lines", link.tier, link.why)
        for finding in findings:
            candidates.setdefault(finding.doc_id, finding)
        matches = []
        for signature in self.signatures:
            hits = [
                f
                for f in candidates.values()
                if signature.matches(f.template) or signature.matches(f.example)
            ]
            if not hits:
                continue
            tier = max(f.tier for f in hits)
            best = [f for f in hits if f.tier == tier]  # weight from the strongest link only
            best.sort(key=lambda f: -f.count)
            errors = sum(f.count for f in best if f.level in ERROR_LEVELS)
            matches.append(SignatureMatch(signature, sum(f.count for f in best), errors, best, tier))
        return sorted(matches, key=lambda m: (m.signature.symptom, -m.tier, -m.weight))

    def _onset(
        self,
        matches: list[SignatureMatch],
        findings: list[LogFinding],
        alert: Alert,
        window: tuple[float, float],
    ) -> float:
        """When the trouble started: the first problem line in the window of the strongest-linked problem
        templates (a template's own first_seen may be a harmless line from hours before), never later
        than the alert itself."""
        starts = alert.starts_at.timestamp() if alert.starts_at else window[1]
        # The strongest link first; within it the cause's lines, then any signature's, then error lines,
        # then warnings: the background of a busy night (retries that worked, old errors, other services'
        # complaints) must not set the onset.
        groups: list[list[LogFinding]] = []
        for tier in (Tier.OWN, Tier.DEPENDENCY, Tier.MENTION):
            groups += [
                [f for m in matches if not m.signature.symptom for f in m.findings[:3] if f.tier == tier][:3],
                [f for m in matches for f in m.findings if f.tier == tier],
                [f for f in findings if f.tier == tier and f.level in ERROR_LEVELS],
                [f for f in findings if f.tier == tier and f.level in PROBLEM_LEVELS],
            ]
        problems = next((g for g in groups if g), [])
        if not problems:
            return starts
        firsts = []
        for finding in unique_findings(problems)[:5]:
            if finding.template_index is None:
                continue
            lines, _ = self.kb.log_store.template_lines(
                finding.root,
                finding.source,
                finding.template_index,
                since=window[0],
                until=window[1],
                limit=1,
            )
            if lines and lines[0].ts is not None:
                firsts.append(lines[0].ts)
        return min([*firsts, starts])

    # -- what changed -------------------------------------------------------------------------------

    def _changes(
        self, linked: LinkedLogs, window: tuple[float, float], onset: float
    ) -> tuple[list[ChangeEvent], bool]:
        """Changes in the linked logs from the look-back to the window's end (in other files' templates
        only the lines that name the workload), and whether the own files reach back far enough for
        "no release" to mean something."""
        files = sorted({_file(r) for r, link in linked.linked if link.tier != Tier.DEPENDENCY})
        if not files:
            return [], False
        start = min(window[0], onset - 3600 * self.settings.change_lookback_hours)
        clauses: list[dict[str, Any]] = [
            {"source": {"$in": sorted({s for _, s in files})}},
            {"last_seen": {"$gte": start}},
            {"first_seen": {"$lte": window[1]}},
        ]
        own = set(linked.own_files)
        names = {_file(r): link.named for r, link in linked.linked if link.tier == Tier.MENTION}
        records = []
        for record in self.kb.store.iter_records(DocumentKind.LOG, where={"$and": clauses}):
            key = _file(record)
            if key in own:
                records.append((*record, ""))
            elif key in names:
                records.append((*record, names[key]))
        firsts = [
            float(r[2]["first_seen"])
            for r in records
            if _file(r[:3]) in own and isinstance(r[2].get("first_seen"), int | float)
        ]
        lookback = 3600 * self.settings.change_lookback_hours
        covered = bool(firsts) and min(firsts) <= onset - 0.5 * lookback
        changes = find_changes(
            self.kb, self.change_patterns, records, start, window[1], linked.workload_names
        )
        return changes, covered


def _finding(
    findings: dict[str, LogFinding], record: Record, reason: str, tier: Tier, link: str = ""
) -> None:
    _, template, meta = record
    doc_id = _doc(record)
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
            doc_id=doc_id,
            tier=tier,
            link=link,
            root=str(meta.get("root", "")),
            template_index=int(meta["template_index"]) if meta.get("template_index") is not None else None,
        )
    if reason not in findings[doc_id].reasons:
        findings[doc_id].reasons.append(reason)


def _split_camel(name: str) -> str:
    """`KubeNodeNotReady` -> `Kube Node Not Ready` (alert names are often CamelCase)."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", name)


def _file(record: Record) -> tuple[str, str]:
    return str(record[2].get("root", "")), str(record[2].get("source", ""))


def _doc(record: Record) -> str:
    return str(record[2].get("doc_id", record[0]))


def _level(meta: dict[str, Any]) -> str | None:
    level = meta.get("level")
    return str(level) if level else None


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def strength(lines: int) -> float:
    """How convincing N matching log lines are, in [0, 1): 1 line 0.5, 10 lines 0.75, 100 lines ~0.9."""
    return 1 - 0.5 / (1 + math.log10(max(lines, 1)))


def unique_findings(findings: Iterable[LogFinding]) -> list[LogFinding]:
    """Findings in first-seen order without repeats (by template)."""
    first: dict[str, LogFinding] = {}
    for finding in findings:
        first.setdefault(finding.doc_id, finding)
    return list(first.values())


def unique(items: Iterable[str]) -> list[str]:
    """Items in first-seen order without repeats."""
    return list(dict.fromkeys(items))
