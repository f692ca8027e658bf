"""What changed before the incident: deploys, restarts with a new version, config reloads, scaling.

Patterns are data (`changes.yaml`). They are matched against the templates of the logs linked to the
incident; a matching template's raw lines in the look-back window give the exact times and versions.
A release is a `deploy`, or a restart whose version differs from the one running before it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from opsagent.agent.signatures import PatternSet, load_pattern_file
from opsagent.knowledge.base import KnowledgeBase
from opsagent.knowledge.models import Citation

BUILTIN = Path(__file__).with_name("changes.yaml")
ChangeKind = Literal["deploy", "restart", "stop", "config", "scale"]
# Versions as logs write them: `"version": "3.8.0"`, `version=v2.4.1`, an image tag `app:v3.8.0`.
_V = r"v?(\d+\.\d+(?:\.\d+)?(?:[-+][\w.]+)?)\b"
_VERSION = re.compile(
    rf"\bversion\"?\s*[:=]?\s*\"?{_V}"  # `"version": "3.8.0"`, `version=v2.4.1`, `version 1.2`
    rf"|(?<=[A-Za-z_-]):{_V}"  # an image tag: `payments-api:v3.8.0` (never a clock `00:05:01.9`)
    r"|\bv(\d+\.\d+(?:\.\d+)?(?:[-+][\w.]+)?)\b",  # `v3.8.0` anywhere
    re.IGNORECASE,
)
# Whole words only: the full-text index has `k8sevents` as one token, never `sevents`.
_WORD = re.compile(r"(?<![A-Za-z0-9_])[A-Za-z]{3,}(?![A-Za-z0-9_])")
_MASK = re.compile(r"<[A-Za-z*]+>")
MAX_LINES_PER_TEMPLATE = 200
MAX_TEXT = 2000  # change lines are short; matching untrusted 16 kB lines in full is a denial of service
_PROBLEM_LEVELS = frozenset({"warn", "error", "fatal", "critical"})


class ChangePattern(PatternSet):
    """One kind of change and the log patterns that show it."""

    kind: ChangeKind
    title: str
    query: str = Field(default="", description="Words that find the runbook for this kind of change.")


def load_change_patterns(path: Path | None = None) -> list[ChangePattern]:
    """The built-in change patterns, or those of a file with the same shape."""
    return load_pattern_file(path or BUILTIN, "changes", ChangePattern, "change patterns")


@dataclass(frozen=True)
class Scaling:
    """What a scale event scaled: `Scaled up replica set ledger-export-7c9d8f6b5 to 24 from 2`."""

    workload: str
    namespace: str | None
    from_replicas: int | None
    to_replicas: int | None
    up: bool  # more replicas than before (from the counts, else from the wording)


# The scaled workload and counts, as the controllers write them (deployment-controller, KEDA, HPA events,
# `kubectl scale`). A ReplicaSet's pod-template hash is not part of the Deployment's name.
_SCALED = re.compile(
    r"Scaled (?:up |down )?(?:replica set |deployment |statefulset )?(?P<name>[a-z0-9][a-z0-9.-]*?)"
    r"(?:-[bcdfghjklmnpqrstvwxz2456789]{8,10})?"  # a ReplicaSet's pod-template hash (k8s' alphabet)
    r"(?: to (?P<to>\d+)(?: from (?P<from>\d+))?| from (?P<from2>\d+) to (?P<to2>\d+))\b"
)
_NEW_SIZE = re.compile(r"New size: (?P<to>\d+)")
_INVOLVED = re.compile(
    r'"involvedObject"\s*:\s*\{[^{}]*?"namespace"\s*:\s*"(?P<ns>[a-z0-9-]+)"[^{}]*?"name"\s*:\s*"(?P<name>[a-z0-9.-]+)"'
)
# `Event: HorizontalPodAutoscaler checkout/checkout-web SuccessfulRescale: New size: 16`
_OBJECT_PATH = re.compile(
    r"\b(?:HorizontalPodAutoscaler|Deployment|StatefulSet|ScaledObject) "
    r"(?P<ns>[a-z0-9-]+)/(?P<name>[a-z0-9.-]+)"
)


def scaling_in(text: str) -> Scaling | None:
    """What a scale line scaled, if it says."""
    text = text[:MAX_TEXT]
    involved = _INVOLVED.search(text) or _OBJECT_PATH.search(text)
    namespace = involved.group("ns") if involved else None
    match = _SCALED.search(text)
    if match is not None:
        to = match.group("to") or match.group("to2")
        before = match.group("from") or match.group("from2")
        name = match.group("name")
        if involved is not None and name.startswith(involved.group("name")):
            name = involved.group("name")
        after = int(to) if to else None
        earlier = int(before) if before else None
        up = after > earlier if after is not None and earlier is not None else "Scaled up" in text
        return Scaling(name, namespace, earlier, after, up)
    size = _NEW_SIZE.search(text)
    if size is not None and involved is not None:
        up = bool(re.search(r"above (the )?target", text))
        return Scaling(involved.group("name"), namespace, None, int(size.group("to")), up)
    return None


@dataclass
class ChangeEvent:
    """One change seen in the logs."""

    kind: ChangeKind
    title: str
    ts: float
    source: str
    root: str
    line_no: int
    text: str
    service: str | None
    version: str | None = None
    previous_version: str | None = None
    foreign: bool = False  # names none of the affected workload's names (a node's pod pulling its image)
    scaled: Scaling | None = None  # for a scale event: what was scaled, from how many to how many

    @property
    def is_scale_up(self) -> bool:
        return self.scaled is not None and self.scaled.up

    @property
    def is_release(self) -> bool:
        """A new version went out: a deploy, or a restart into a version other than the one before."""
        if self.foreign:
            return False
        return self.kind == "deploy" or (
            self.kind == "restart"
            and self.version is not None
            and self.previous_version is not None
            and self.version != self.previous_version
        )

    @property
    def citation(self) -> Citation:
        return Citation(source=self.source, line_start=self.line_no, line_end=self.line_no)

    def describe(self) -> str:
        """`release v3.8.0 (was v3.7.4)`, `config reload`, ..."""
        if self.is_release:
            what = f"release v{self.version}" if self.version else "release"
            if self.previous_version and self.previous_version != self.version:
                what += f" (was v{self.previous_version})"
            return what
        return self.title.lower() + (f" v{self.version}" if self.version else "")


def version_in(text: str) -> str | None:
    """The version a log line names, if any."""
    match = _VERSION.search(text)
    if match is None:
        return None
    return next((g for g in match.groups() if g), None)


def find_changes(
    kb: KnowledgeBase,
    patterns: list[ChangePattern],
    templates: list[tuple[str, str, dict[str, Any], str]],
    since: float,
    until: float,
    workload_names: list[str] | None = None,
) -> list[ChangeEvent]:
    """Changes in [since, until] among these (linked) templates, oldest first, one per file and kind
    burst (a rollout of four pods is one release). A template's fourth element, when not empty, is a
    name its lines must contain (cluster-wide event logs: only the affected workload's events count)."""
    events: list[ChangeEvent] = []
    # One pass of all patterns first: most templates show no change, and this runs per template.
    any_change = re.compile("|".join(f"(?:{p.regex.pattern})" for p in patterns), re.IGNORECASE)
    for _, template, meta, must_name in templates:
        if meta.get("level") in _PROBLEM_LEVELS:
            continue  # changes log at info; a warning quoting "release v9" is no release
        examples = meta.get("examples")
        text = f"{template}\n{examples if isinstance(examples, str) else ''}"[:MAX_TEXT]
        if not patterns or any_change.search(text) is None:
            continue
        pattern = next((p for p in patterns if p.regex.search(text)), None)
        if pattern is None:
            continue
        root, source = str(meta.get("root", "")), str(meta.get("source", ""))
        constant = _MASK.sub(" ", template)  # <STR>, <NUM>, <*>: variable parts, not words to search for
        words = " ".join(dict.fromkeys(_WORD.findall(constant)))
        if not words:
            continue
        if must_name:
            words += f" {must_name}"
        lines = kb.log_store.search(
            words, sources=[source], root=root, since=since, until=until, limit=MAX_LINES_PER_TEMPLATE
        )
        for line in lines:
            if (
                line.ts is None
                or line.level in _PROBLEM_LEVELS
                or not pattern.regex.search(line.text[:MAX_TEXT])
            ):
                continue
            events.append(
                ChangeEvent(
                    kind=pattern.kind,
                    title=pattern.title,
                    ts=line.ts,
                    source=source,
                    root=root,
                    line_no=line.line_no,
                    text=line.text[:400],
                    service=must_name or line.service,  # a cluster events file: whose event it is
                    version=version_in(line.text),
                    foreign=_foreign(pattern.kind, line.text, workload_names or []),
                    scaled=scaling_in(line.text) if pattern.kind == "scale" else None,
                )
            )
    events.sort(key=lambda e: (e.ts, e.line_no))
    _previous_versions(events)
    # A stop only tells which version ran before; it is not a change of its own.
    return _collapse([e for e in events if e.kind != "stop"])


def _foreign(kind: str, text: str, names: list[str]) -> bool:
    """A deploy line that names none of the workload's names is another workload's (on a node's log, every
    pod's image pull): a change nearby, not a release of what alerted."""
    if kind != "deploy":
        return False
    lowered = text.lower()
    # Whole names: `shop` is not `shop-admin`, but `payments-api` is in `payments/payments-api:v3.8.0`.
    return not any(re.search(rf"(?<![a-z0-9-]){re.escape(n)}(?![a-z0-9-])", lowered) for n in names)


def _previous_versions(events: list[ChangeEvent]) -> None:
    """Each event's `previous_version`: the version its file ran just before it (a restart into the same
    version has none). A rollout logs the old version's shutdown around the new one's start, so a file's
    first versioned start also looks at stops of another version within minutes of it."""
    current: dict[tuple[str, str], str] = {}
    for event in events:
        key = (event.root, event.source)
        if event.version is None or event.kind == "stop":
            continue
        before = current.get(key)
        if before is not None:
            event.previous_version = before if before != event.version else None
        else:
            later = [
                e.version
                for e in events
                if (e.root, e.source) == key
                and e.kind == "stop"
                and e.version not in (None, event.version)
                and abs(e.ts - event.ts) <= 600
            ]
            event.previous_version = later[0] if later else None
        current[key] = event.version


def _collapse(events: list[ChangeEvent], gap: float = 900.0) -> list[ChangeEvent]:
    """One event per (file, release-or-kind, version) burst: the first line of each rollout."""
    out: list[ChangeEvent] = []
    last: dict[tuple[str, str, str, str | None, str | None], float] = {}
    for event in events:
        # A cluster's event log holds every workload's changes: one burst per workload scaled.
        subject = event.scaled.workload if event.scaled is not None else None
        key = (
            event.root,
            event.source,
            "release" if event.is_release else event.kind,
            event.version,
            subject,
        )
        previous = last.get(key)
        last[key] = event.ts
        if previous is not None and event.ts - previous <= gap:
            continue
        out.append(event)
    return out
