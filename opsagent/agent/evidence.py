"""The evidence pipeline: alert -> runbooks, related logs, failure signatures, candidate actions.

No LLM needed. Everything found is kept with its citation, so the offline diagnosis (and, later, the
LLM) reasons over evidence a human can check.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from opsagent.agent.changes import ChangeEvent, ChangePattern, find_changes, load_change_patterns
from opsagent.agent.dependencies import DeclaredDependencies
from opsagent.agent.entities import AlertEntities, alert_entities
from opsagent.agent.findings import (
    LogFinding,
    SignatureMatch,
    add_finding,
    record_doc_id,
    record_file,
    record_level,
    unique_findings,
)
from opsagent.agent.leads import (
    NEARBY_CHANGE_SECONDS,
    mark_novel,
    scale_ups_before,
    scalings,
    stopped_counters_in,
)
from opsagent.agent.linking import PROBLEM_LEVELS, LinkedLogs, Record, Tier, link_templates
from opsagent.agent.log_metrics import StoppedCounter
from opsagent.agent.runbook_choice import RunbookChooser
from opsagent.agent.signatures import Signature
from opsagent.config import Settings
from opsagent.incidents.models import Alert
from opsagent.knowledge.base import KnowledgeBase
from opsagent.knowledge.links import runbook_links
from opsagent.knowledge.models import DocumentKind, SearchHit
from opsagent.knowledge.query import AlertQuery, build_alert_query
from opsagent.knowledge.search import SearchFilters

ERROR_LEVELS = {"error", "fatal", "critical"}
MAX_TEMPLATES = 5000  # templates in one window: linking needs all of them, not the first few hundred
MAX_ELSEWHERE = 3
MAX_NEARBY_CHANGES = 3
# "Spiking": at least SPIKE_FACTOR times the earlier rate, over the SPIKE_MINUTES before the alert.
SPIKE_MINUTES = 15
SPIKE_FACTOR = 3.0
SPIKE_MIN_LINES = 5


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
    # Scale-ups just before the onset of a workload the affected logs talk to (ledger-export scaled 2 -> 24
    # and orders-db's log names it on its connections): a change that can explain capacity trouble.
    scale_ups: list[tuple[ChangeEvent, str]] = field(default_factory=list)
    stopped: list[StoppedCounter] = field(default_factory=list)  # logged numbers that fell to zero

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
        self.runbooks = RunbookChooser(settings, kb, self.change_patterns)

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
        hits, linked_runbook, link_reason = self.runbooks.linked(query, links)
        timings["runbooks_ms"] = _ms(t0)

        t0 = time.perf_counter()
        # Only a runbook the alert links or clearly matches may declare its dependencies.
        strong = hits[0] if hits and hits[0].score >= self.settings.no_runbook_threshold else None
        candidate = linked_runbook or strong
        declared = self._declared_dependencies()
        extra = (
            self.runbooks.declared_dependencies(candidate, entities, linked=candidate is linked_runbook)
            if candidate is not None
            else {}
        )
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
        # Leads for a human (agent/leads.py); after signature matching on purpose.
        split = window[1] - 60 * (SPIKE_MINUTES + self.settings.log_window_after_minutes)
        mark_novel(self.kb.log_store, findings, linked, window, split)
        starts = alert.starts_at.timestamp() if alert.starts_at else window[1]
        stopped = stopped_counters_in(self.kb.log_store, linked, window, starts)
        timings["logs_ms"] += _ms(t0)
        t0 = time.perf_counter()
        changes, covered = self._changes(linked, window, onset)
        nearby = self._nearby_changes(linked, onset)
        # Only a shared limit (connection slots, a rate quota) makes a scaled-up client a suspect: an
        # autoscaler reacting to load or lag is an effect, and scaling it back would make things worse.
        limited = any(m.signature.shared_limit and m.tier >= Tier.DEPENDENCY for m in matches)
        scale_ups = (
            scale_ups_before(
                self.kb.log_store,
                linked,
                [*changes, *scalings(self.kb, self.change_patterns, linked, onset)],
                onset,
            )
            if limited
            else []
        )
        timings["changes_ms"] = _ms(t0)

        t0 = time.perf_counter()
        runbook: SearchHit | None = linked_runbook
        if linked_runbook is not None:
            reason = link_reason
        else:
            runbook, reason = self.runbooks.choose(query, hits, matches, changes, onset)
            if links:
                reason += f"; {link_reason}"
        text = self.runbooks.full_text(runbook.doc_id) if runbook is not None else ""
        timings["runbooks_ms"] += _ms(t0)
        timings["total_ms"] = _ms(started)
        return TriageEvidence(
            alert, query, window, hits, runbook, reason, findings, matches, timings, text,
            entities=entities, links=linked, changes=changes, elsewhere=elsewhere, runbook_links=links,
            onset=onset, changes_covered=covered, nearby_changes=nearby, scale_ups=scale_ups,
            stopped=stopped,
        )  # fmt: skip

    def _declared_dependencies(self) -> DeclaredDependencies:
        """services.yaml files of the ingested folders, re-read when an ingest changed the store."""
        key = (self.kb.store.revision(DocumentKind.RUNBOOK), self.kb.store.revision(DocumentKind.LOG))
        if self._declared is None or self._declared[0] != key:
            self._declared = (key, DeclaredDependencies(self.kb.roots()))
        return self._declared[1]

    def _window(self, alert: Alert, now: float | None) -> tuple[float, float]:
        anchor = alert.starts_at.timestamp() if alert.starts_at else (now or datetime.now(UTC).timestamp())
        end = (
            alert.ends_at.timestamp()
            if alert.ends_at
            else anchor + 60 * self.settings.log_window_after_minutes
        )
        return anchor - 60 * self.settings.log_window_before_minutes, end

    # -- runbooks -----------------------------------------------------------------------------------

    def _nearby_changes(self, linked: LinkedLogs, onset: float) -> list[ChangeEvent]:
        """Changes in logs NOT linked to the alert shortly before the onset (a batch job scaled up two
        minutes before the database ran out of connections): context for a human, never the cause."""
        since, until = onset - NEARBY_CHANGE_SECONDS, onset + 60
        records = [(*r, "") for r in linked.elsewhere]
        events = find_changes(self.kb, self.change_patterns, records, since, until)
        # Scaling and config only: image pulls and restarts happen somewhere on a cluster all the time.
        return [e for e in events if e.kind in ("scale", "config")][:MAX_NEARBY_CHANGES]

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
        errors_elsewhere = [r for r in linked.elsewhere if record_level(r[2]) in ERROR_LEVELS]
        for record in sorted(errors_elsewhere, key=lambda r: -int(r[2].get("count", 0)))[:MAX_ELSEWHERE]:
            add_finding(elsewhere, record, "also happening elsewhere (not linked to the alert)", Tier.NONE)
        if not linked.linked:
            return [], list(elsewhere.values())
        by_id = {record_doc_id(r): (r, link) for r, link in linked.linked}
        findings: dict[str, LogFinding] = {}

        def add(record: Record, reason: str) -> None:
            link = by_id[record_doc_id(record)][1]
            add_finding(findings, record, reason, link.tier, link.why)

        # 1. What the alert is about, semantically (among linked templates only).
        filters = SearchFilters(kind=DocumentKind.LOG, since=since, until=until)
        for hit in self.kb.search(query.text, 10, filters):
            if hit.doc_id in by_id:
                add(by_id[hit.doc_id][0], f"matches the alert (score {hit.score:.2f})")
                findings[hit.doc_id].alert_score = hit.score
        records = [r for r, _ in linked.linked]
        # 2. Errors, then warnings in the window, most frequent first.
        errors = [r for r in records if record_level(r[2]) in ERROR_LEVELS]
        for record in sorted(errors, key=lambda r: -int(r[2].get("count", 0)))[:10]:
            add(record, "error-level lines in the window")
        warnings = [r for r in records if record_level(r[2]) == "warn"]
        for record in sorted(warnings, key=lambda r: -int(r[2].get("count", 0)))[:5]:
            add(record, "warnings in the window")
        # 3. Problem shapes that only appeared after the window opened: new behaviour around the alert.
        onset = since + 0.25 * (until - since)
        for record in records:
            first = record[2].get("first_seen")
            if (
                isinstance(first, float | int)
                and first >= onset
                and record_level(record[2]) in PROBLEM_LEVELS
            ):
                add(record, "new since the incident window opened")
        # 4. Problem shapes whose rate jumped in the run-up to the alert (an info line's rate is traffic).
        problems = [r for r in records if record_level(r[2]) in PROBLEM_LEVELS]
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
            level = record_level(record[2])
            # Lines whose format has no level (kernel lines in syslog) count: a signature is specific.
            if level in PROBLEM_LEVELS or level is None:
                add_finding(candidates, record, "linked problem lines", link.tier, link.why)
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
        # A cause signature's own lines first, whatever their link: a cause in a dependency starts the
        # trouble even when the affected service has logged background 5xx all night.
        cause = next((m for m in matches if not m.signature.symptom and m.tier >= Tier.DEPENDENCY), None)
        groups: list[list[LogFinding]] = [cause.findings[:3]] if cause is not None else []
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
        files = sorted({record_file(r) for r, link in linked.linked if link.tier != Tier.DEPENDENCY})
        if not files:
            return [], False
        start = min(window[0], onset - 3600 * self.settings.change_lookback_hours)
        clauses: list[dict[str, Any]] = [
            {"source": {"$in": sorted({s for _, s in files})}},
            {"last_seen": {"$gte": start}},
            {"first_seen": {"$lte": window[1]}},
        ]
        own = set(linked.own_files)
        names = {record_file(r): link.named for r, link in linked.linked if link.tier == Tier.MENTION}
        records = []
        for record in self.kb.store.iter_records(DocumentKind.LOG, where={"$and": clauses}):
            key = record_file(record)
            if key in own:
                records.append((*record, ""))
            elif key in names:
                records.append((*record, names[key]))
        firsts = [
            float(r[2]["first_seen"])
            for r in records
            if record_file(r[:3]) in own and isinstance(r[2].get("first_seen"), int | float)
        ]
        lookback = 3600 * self.settings.change_lookback_hours
        covered = bool(firsts) and min(firsts) <= onset - 0.5 * lookback
        changes = find_changes(
            self.kb, self.change_patterns, records, start, window[1], linked.workload_names
        )
        return changes, covered


def _split_camel(name: str) -> str:
    """`KubeNodeNotReady` -> `Kube Node Not Ready` (alert names are often CamelCase)."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", name)


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def unique(items: Iterable[str]) -> list[str]:
    """Items in first-seen order without repeats."""
    return list(dict.fromkeys(items))
