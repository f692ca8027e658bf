"""Which catalog actions to propose, in what order, with which parameters.

Order: the runbook's own (the order its text first names them — a runbook's mitigation list is its
preference — else its front matter), adjusted by the evidence: when a release precedes the symptoms,
actions that revert a release rank first; when the linked logs cover the look-back and show no release,
they move behind the runbook's other fixes and say so. A stop-gap never outranks a fix the runbook
prefers, because nothing else reorders them. Parameters come from the alert's entities only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from opsagent.actions.catalog import ActionCatalog, ActionSpec
from opsagent.agent.diagnosis import ProposedAction
from opsagent.agent.entities import parameter_values
from opsagent.agent.evidence import TriageEvidence, unique
from opsagent.agent.linking import Tier, dependency_named

_REVERTS = re.compile(r"\brollback|\broll[_ -]?back|\brevert|\bundo", re.IGNORECASE)


def reverts_release(spec: ActionSpec) -> bool:
    """Whether an action undoes a release (declared `reverts_release`, else named like a rollback)."""
    if spec.reverts_release is not None:
        return spec.reverts_release
    return bool(_REVERTS.search(spec.id))


def runbook_action_ids(found: TriageEvidence, catalog: ActionCatalog) -> list[str]:
    """The runbook's actions in the order its text names them (front matter order for the rest)."""
    if found.runbook is None:
        return []
    declared = list(found.runbook.actions)
    text = found.runbook_text
    named = {
        i: m.start()
        for i in catalog.actions
        if (m := re.search(rf"(?<![\w-]){re.escape(i)}(?![\w-])", text)) is not None
    }
    if not declared:
        return sorted(named, key=named.__getitem__)
    mentioned = sorted((i for i in declared if i in named), key=named.__getitem__)
    return unique([*mentioned, *declared])


def propose_actions(
    action_ids: list[str], found: TriageEvidence, catalog: ActionCatalog
) -> list[ProposedAction]:
    """The runbook's actions in its order, adjusted by what changed, parameters from the entities."""
    specs = [spec for action_id in unique(action_ids) if (spec := catalog.get(action_id)) is not None]
    releases = found.releases
    notes: dict[str, str] = {}
    if releases:
        latest = releases[0]
        reverting = [s for s in specs if reverts_release(s)]
        specs = reverting + [s for s in specs if s not in reverting]
        for spec in reverting:
            notes[spec.id] = f"{latest.describe()} at {_clock(latest.ts)} preceded the symptoms"
    elif found.changes_covered and any(reverts_release(s) for s in specs):
        # The linked logs reach back over the look-back and show no release: a rollback has nothing to undo.
        reverting = [s for s in specs if reverts_release(s)]
        specs = [s for s in specs if s not in reverting] + reverting
        for spec in reverting:
            notes[spec.id] = "no release seen in the linked logs before the onset"
    overrides: dict[str, dict[str, Any]] = {}
    if found.scale_ups:
        # A scale-up just before the onset: scaling it back undoes the change (the runbook's action, aimed
        # at the workload that was scaled, not at whoever alerted).
        change, why = found.scale_ups[0]
        scaled = change.scaled
        scaling = [s for s in specs if _scales_a_deployment(s)]
        if scaled is not None and scaling:
            specs = scaling + [s for s in specs if s not in scaling]
            for spec in scaling:
                notes[spec.id] = (
                    f"{scaled.workload} was scaled up at {_clock(change.ts)} just before the symptoms ({why})"
                )
                override: dict[str, Any] = {"deployment": scaled.workload, "replicas": scaled.from_replicas}
                if scaled.namespace or scaled.workload not in found.links.workload_names:
                    override["namespace"] = scaled.namespace  # another workload: not the alert's namespace
                overrides[spec.id] = override
    values = parameter_values(found.entities, found.alert.labels)
    if found.links.node_names:
        # The name the node's own logs go by (ip-10-20-4-33), not the scrape address (10.20.4.33:9100).
        values["node"] = found.links.node_names[0]
    cause = found.cause
    dependency = dependency_named(cause.findings[0].link) if cause and cause.tier == Tier.DEPENDENCY else None
    if dependency is not None:
        # The cause is in a dependency: the fix acts there (restart the gateway holding stale credentials,
        # expand the database's volume), not on the service that alerted. Its namespace only when the
        # logs name it; else a human fills it in.
        values = {
            **values,
            "deployment": dependency,
            "container": dependency,
            "namespace": found.links.dependency_namespaces.get(dependency),
            "pod": None,
        }
    proposals = []
    for spec in specs:
        given = {**values, **overrides[spec.id]} if spec.id in overrides else values
        parameters, missing = fill_parameters(spec, given)
        why = spec.description + (f" ({notes[spec.id]})" if spec.id in notes else "")
        proposals.append(
            ProposedAction(
                action_id=spec.id,
                parameters=parameters,
                why=why,
                mutating=spec.mutating,
                missing_parameters=missing,
            )
        )
    return proposals


def _scales_a_deployment(spec: ActionSpec) -> bool:
    properties = spec.parameters.get("properties", {})
    return "replicas" in properties and "deployment" in properties


def fill_parameters(spec: ActionSpec, values: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Parameters the entities can supply (each checked against the schema); the rest are missing."""
    properties = spec.parameters.get("properties", {})
    parameters: dict[str, Any] = {}
    for name in properties:
        value = values.get(name)
        if value is not None and value != "" and _valid_alone(spec, name, value):
            parameters[name] = value
    missing = [name for name in spec.required if name not in parameters]
    return parameters, missing


def _valid_alone(spec: ActionSpec, name: str, value: Any) -> bool:
    """Whether one value satisfies the schema (errors about the other, still missing, ones aside)."""
    problems = spec.validate_parameters({name: value})
    return all("is a required property" in p for p in problems)


def _clock(epoch: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
