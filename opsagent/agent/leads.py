"""Leads for a human when no failure signature names the cause, found among the incident's linked logs:
the first new kind of trouble in the run-up to the alert, logged counters that fell to zero, and scale-ups
of the clients of a shared limit just before the onset. Leads point at lines to read; only a scale-up
before a shared limit ran out also reorders the actions.
"""

from __future__ import annotations

import re

from opsagent.agent.changes import ChangeEvent, ChangePattern, find_changes
from opsagent.agent.findings import LogFinding, add_finding, record_doc_id, record_file, record_level
from opsagent.agent.linking import PROBLEM_LEVELS, LinkedLogs, Tier
from opsagent.agent.log_metrics import MAX_LINES as MAX_COUNTER_LINES
from opsagent.agent.log_metrics import (
    MIN_BEFORE,
    MIN_ZEROS,
    StoppedCounter,
    activity_numbers,
    stopped_counters,
)
from opsagent.knowledge.base import KnowledgeBase
from opsagent.knowledge.logstore import LogLineStore
from opsagent.knowledge.search import json_list

NEARBY_CHANGE_SECONDS = 15 * 60
# A problem template absent earlier in the window needs this many lines in the run-up to count as new
# trouble (one stray line is noise).
NOVEL_MIN_LINES = 2
# Words of trouble, for lines whose format carries no level (plain syslog, kernel messages).
TROUBLE_WORDS = re.compile(
    r"\b(error|errors|fail(s|ed|ure)?|timeout|timed out|denied|refused|unable|cannot|can't|panic|fatal|"
    r"abort(ed|ing)?|unreachable|exceeded|corrupt(ed|ion)?|invalid|blocked|hung|stall(ed)?|lost|killed)\b",
    re.IGNORECASE,
)
# A scaled workload counts as talking to the affected one when their logs name it this often.
MIN_NAMING_LINES = 2
MAX_STOPPED = 3
MIN_SCALED_NAME = 4  # shorter names (`api`, `web`) would be found everywhere


def scalings(
    kb: KnowledgeBase, change_patterns: list[ChangePattern], linked: LinkedLogs, onset: float
) -> list[ChangeEvent]:
    """Scale events just before the onset in files other than the affected workload's own (cluster
    event logs, other services' logs): who was scaled is read from the line itself."""
    since, until = onset - NEARBY_CHANGE_SECONDS, onset + 60
    records = [(*r, "") for r in linked.elsewhere]
    records += [(*r, "") for r, link in linked.linked if link.tier == Tier.MENTION]
    patterns = [p for p in change_patterns if p.kind == "scale"]
    return find_changes(kb, patterns, records, since, until) if patterns else []


def scale_ups_before(
    log_store: LogLineStore, linked: LinkedLogs, changes: list[ChangeEvent], onset: float
) -> list[tuple[ChangeEvent, str]]:
    """Scale-ups shortly before the onset of the affected workload, or of a workload named on several
    lines of the affected or dependency logs in the same minutes (a client on the database's
    connection lines), newest first, with why each is linked."""
    since = onset - NEARBY_CHANGE_SECONDS
    files = sorted({record_file(r) for r, link in linked.linked if link.tier in (Tier.OWN, Tier.DEPENDENCY)})
    out: list[tuple[ChangeEvent, str]] = []
    seen: set[str] = set()
    for change in sorted(changes, key=lambda c: -c.ts):
        scaled = change.scaled
        if not change.is_scale_up or scaled is None or not since <= change.ts <= onset + 60:
            continue
        if scaled.workload in seen:
            continue
        if scaled.workload in linked.workload_names:
            out.append((change, "the affected workload itself"))
            seen.add(scaled.workload)
            continue
        if len(scaled.workload) < MIN_SCALED_NAME:
            continue
        for root, source in files:
            if (root, source) == (change.root, change.source):
                continue
            lines = log_store.count(
                scaled.workload, sources=[source], root=root, since=since, until=onset + 60
            )
            if lines >= MIN_NAMING_LINES:
                out.append((change, f"{source} names {scaled.workload} on {lines} lines around the onset"))
                seen.add(scaled.workload)
                break
    return out


def mark_novel(
    log_store: LogLineStore,
    findings: list[LogFinding],
    linked: LinkedLogs,
    window: tuple[float, float],
    split: float,
) -> None:
    """Mark the problem findings that are a new kind of trouble: several lines in the run-up to the
    alert and none earlier in the window, in a file that does have earlier lines (else "new" would
    only mean "the file starts here"). Causes tend to be the first new trouble, so each also gets the
    time of its first line in the window. Lines without a level (a kernel line in a plain syslog
    file) count when their words say trouble; new ones join the findings."""
    since, until = window
    known = {f.doc_id for f in findings}
    unleveled: dict[str, LogFinding] = {}
    for record, link in linked.linked:
        meta = record[2]
        if (
            link.tier >= Tier.DEPENDENCY
            and record_level(meta) is None
            and record_doc_id(record) not in known
            and TROUBLE_WORDS.search(record[1][:2000])
        ):
            add_finding(unleveled, record, "no level; its words say trouble", link.tier, link.why)
    problems = [
        f
        for f in [*findings, *unleveled.values()]
        if f.template_index is not None
        and (f.level in PROBLEM_LEVELS or (f.level is None and TROUBLE_WORDS.search(f.template[:2000])))
    ]
    if split <= since or not problems:
        return
    files = {(f.root, f.source) for f in problems}
    activity = {key: log_store.template_activity(*key, since, split, until) for key in files}
    covered = {
        key for key in files if log_store.count(sources=[key[1]], root=key[0], since=since, until=split)
    }
    for finding in problems:
        key = (finding.root, finding.source)
        assert finding.template_index is not None
        before, recent = activity[key].get(finding.template_index, (0, 0))
        if key not in covered or before or recent < NOVEL_MIN_LINES:
            continue
        lines, _ = log_store.template_lines(
            finding.root, finding.source, finding.template_index, since=since, until=until, limit=1
        )
        finding.appeared = True
        finding.first_in_window = lines[0].ts if lines else None
        reason = f"appeared in the run-up to the alert: {recent} lines, none earlier in the window"
        if reason not in finding.reasons:
            finding.reasons.append(reason)
        if finding.doc_id in unleveled:
            findings.append(finding)


def stopped_counters_in(
    log_store: LogLineStore, linked: LinkedLogs, window: tuple[float, float], starts: float
) -> list[StoppedCounter]:
    """Numbers the affected workload logs on a steady line (throughput, deliveries) that fell to zero
    before the alert and stayed there: work that stopped without an error line."""
    since, until = window
    out: list[StoppedCounter] = []
    for record, link in linked.linked:
        meta = record[2]
        if (
            link.tier != Tier.OWN
            or record_level(meta) in PROBLEM_LEVELS
            or meta.get("template_index") is None
            or int(meta.get("count", 0)) < MIN_BEFORE + MIN_ZEROS
            # Only templates whose lines carry activity numbers are worth reading line by line.
            or not any(activity_numbers(e) for e in json_list(meta.get("examples"))[:3])
        ):
            continue
        lines, _ = log_store.template_lines(
            str(meta.get("root", "")),
            str(meta.get("source", "")),
            int(meta["template_index"]),
            since=since,
            until=until,
            limit=MAX_COUNTER_LINES,
        )
        out += stopped_counters(lines, record[1], until=starts)
    return sorted(out, key=lambda c: c.since)[:MAX_STOPPED]
