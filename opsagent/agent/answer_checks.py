"""Model output is data: what an LLM answer may carry into a Diagnosis.

The model read untrusted text (logs, runbooks, alert fields, tool output) and may have obeyed it, so its
answer is checked like any other input before it is stored, served or posted:

- a citation must point at evidence this run retrieved (the pipeline's findings or a tool's result);
- a next step may not carry a shell command: commands reach people only as catalog actions;
- a proposed action must be allowed for this incident: in the catalog, listed by the chosen runbook (or
  read-only), schema-valid, aimed at the incident's own entities, never at the control plane, and never
  scaling to zero unless its catalog entry says it may.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from opsagent.actions.catalog import ActionCatalog, ActionSpec
from opsagent.agent.diagnosis import ProposedAction
from opsagent.agent.entities import parameter_values
from opsagent.agent.evidence import TriageEvidence
from opsagent.agent.linking import Tier, dependency_named
from opsagent.agent.proposals import fill_parameters, runbook_action_ids
from opsagent.knowledge.models import Citation

# -- citations ------------------------------------------------------------------------------------------


def _section_key(section: str) -> str:
    return " ".join(section.split()).casefold()


@dataclass
class RetrievedEvidence:
    """Every citation this run retrieved, by source, so a model's citation can be checked against it."""

    sections: dict[str, set[str]] = field(default_factory=dict)
    lines: dict[str, list[tuple[int, int]]] = field(default_factory=dict)

    @classmethod
    def of(cls, citations: Iterable[Citation]) -> RetrievedEvidence:
        """The evidence of these citations (line ranges of one source are merged)."""
        retrieved = cls()
        for citation in citations:
            retrieved.sections.setdefault(citation.source, set())
            if citation.section:
                retrieved.sections[citation.source].add(_section_key(citation.section))
            if citation.line_start is not None:
                end = citation.line_end if citation.line_end is not None else citation.line_start
                retrieved.lines.setdefault(citation.source, []).append((citation.line_start, end))
        for source, spans in retrieved.lines.items():
            retrieved.lines[source] = _merge_spans(spans)
        return retrieved

    def resolves(self, citation: Citation) -> bool:
        """Whether the citation names a retrieved source, and only sections and lines retrieved from it."""
        if citation.source not in self.sections:
            return False
        if citation.section and _section_key(citation.section) not in self.sections[citation.source]:
            return False
        if citation.line_start is None:
            return True
        end = citation.line_end if citation.line_end is not None else citation.line_start
        return any(a <= citation.line_start and end <= b for a, b in self.lines.get(citation.source, []))


def _merge_spans(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for a, b in sorted((min(a, b), max(a, b)) for a, b in spans):
        if merged and a <= merged[-1][1] + 1:  # adjacent lines read as one range (L10 and L11: L10-L11)
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def retrieved_citations(found: TriageEvidence) -> list[Citation]:
    """What the evidence pipeline retrieved for this alert (tool results are added by the loop)."""
    citations = [hit.citation for hit in found.runbook_hits]
    if found.runbook is not None:
        citations.append(found.runbook.citation)
    citations += [f.citation for f in [*found.findings, *found.elsewhere]]
    citations += [f.citation for match in found.signatures for f in match.findings]
    citations += [c.citation for c in [*found.changes, *found.nearby_changes]]
    return citations


# -- commands in free text ------------------------------------------------------------------------------

# Programs whose name starts a line or fills a code span: a command. Words that are also plain English
# at the start of a sentence ("Set the limit", "Service x is down", "Kill the query") are left out.
COMMAND_WORDS = frozenset(
    {"kubectl", "oc", "helm", "kustomize", "argocd", "flux", "istioctl", "linkerd", "etcdctl", "crictl",
     "ctr", "docker", "podman", "nerdctl", "systemctl", "journalctl", "sudo", "doas", "sh", "bash", "zsh",
     "ksh", "dash", "pwsh", "powershell", "cmd", "rm", "rmdir", "mv", "cp", "dd", "mkfs", "shred", "chmod",
     "chown", "chattr", "pkill", "killall", "curl", "wget", "nc", "ncat", "netcat", "socat", "ssh", "scp",
     "sftp", "rsync", "sshpass", "telnet", "iptables", "nft", "umount", "psql", "mysql", "mysqladmin",
     "mongo", "mongosh", "redis-cli", "cqlsh", "sqlcmd", "aws", "gcloud", "gsutil", "az", "terraform",
     "tofu", "pulumi", "ansible", "ansible-playbook", "python", "python3", "perl", "ruby", "php", "xargs",
     "nohup", "crontab", "git", "apt", "apt-get", "yum", "dnf", "apk", "pip", "npm", "base64", "openssl",
     "nsenter", "chroot", "kafka-topics", "kafka-consumer-groups", "kafka-topics.sh",
     "kafka-consumer-groups.sh"}
)  # fmt: skip
# Anywhere in a sentence: a program that is never an English word, followed by an argument; or a
# program that may be one, followed by a flag, a URL or a destructive sub-command.
_INLINE_COMMAND = re.compile(
    r"(?<![\w./-])(?:"
    r"(?:kubectl|helm|etcdctl|crictl|systemctl|sudo|terraform|nsenter|iptables|istioctl|argocd|redis-cli|"
    r"gcloud|sshpass|mysqladmin|kafka-topics(?:\.sh)?|kafka-consumer-groups(?:\.sh)?)[ \t]++[-\w/.]"
    r"|(?:rm|rmdir|curl|wget|nc|ncat|docker|podman|psql|mysql|ssh|scp|aws|az|vault|oc|python3?|"
    r"(?:ba|z|k)?sh|chmod|chown|dd|pkill|killall)[ \t]++-"
    r"|(?:curl|wget)[ \t]++https?://"
    r"|(?:docker|podman)[ \t]++(?:run|exec|rm|rmi|kill|stop|system)(?!\w)"
    r"|aws[ \t]++(?:s3|ec2|iam|rds|eks|sts|ssm|secretsmanager)(?!\w)"
    r"|oc[ \t]++(?:get|delete|apply|exec|rsh|scale|rollout|adm)(?!\w)"
    r")|\$\(|\|[ \t]*+(?:ba|z)?sh(?!\w)",
    re.IGNORECASE,
)
_CODE = re.compile(r"```.*?(?:```|$)|`[^`\n]*+`", re.DOTALL)
# Shell syntax: chaining, substitution, pipes into a program, redirection to a path.
_SHELL_SYNTAX = re.compile(r";|&&|\|\||\$\(|\|[ \t]*+[a-z]|>>?[ \t]*+[/~]", re.IGNORECASE)
_LINE_START = re.compile(
    r"^[ \t]*+(?:[-*>$#]++[ \t]*+|\d++[.)][ \t]*+)?(?:(?:run|execute|exec|do)[ \t]*+:?[ \t]++)?"
    r"(?P<word>[A-Za-z][\w.-]*+)(?:[ \t]|$)",
    re.MULTILINE | re.IGNORECASE,
)
COMMAND_REMOVED = "[command removed]"


def _code_is_command(code: str, action_ids: set[str]) -> bool:
    """A code span is a command when it names a program, chains or substitutes like a shell does; a name
    (`payments-api`), a PromQL query or a catalog action id is not."""
    body = code.strip("`").strip()
    if body in action_ids:
        return False  # "Run `describe_pod`": a catalog action, rendered the way the offline steps do
    if _SHELL_SYNTAX.search(body) or _INLINE_COMMAND.search(body):
        return True
    return any(m["word"].casefold() in COMMAND_WORDS for m in _LINE_START.finditer(body))


def names_command(text: str, action_ids: Iterable[str] = ()) -> bool:
    """Whether free text carries a shell command: a code span with one, a line that starts with a
    program's name, or a distinctive program followed by arguments anywhere."""
    ids = set(action_ids)
    if any(_code_is_command(m.group(0), ids) for m in _CODE.finditer(text)):
        return True
    if any(m["word"].casefold() in COMMAND_WORDS for m in _LINE_START.finditer(_CODE.sub(" ", text))):
        return True
    return _INLINE_COMMAND.search(text) is not None


def strip_commands(text: str, action_ids: Iterable[str] = ()) -> str:
    """The text with every command replaced by `[command removed]` (for summaries and reasons)."""
    ids = set(action_ids)
    text = _CODE.sub(lambda m: COMMAND_REMOVED if _code_is_command(m.group(0), ids) else m.group(0), text)
    lines = []
    for line in text.split("\n"):
        start = _LINE_START.match(line)
        if start and start["word"].casefold() in COMMAND_WORDS:
            line = line[: start.start("word")] + COMMAND_REMOVED
        elif (inline := _INLINE_COMMAND.search(line)) is not None:
            # The command runs to the end of its sentence: cut there, keep what follows.
            tail = re.search(r"\.(?:\s|$)", line[inline.end() :])
            rest = line[inline.end() + tail.start() :] if tail else ""
            line = line[: inline.start()] + COMMAND_REMOVED + rest
        lines.append(line)
    return "\n".join(lines)


def checked_next_steps(steps: list[str], action_ids: Iterable[str]) -> tuple[list[str], int]:
    """The steps without a shell command, and how many were dropped."""
    ids = set(action_ids)
    kept = [step for step in steps if not names_command(step, ids)]
    return kept, len(steps) - len(kept)


# -- proposed actions -----------------------------------------------------------------------------------

CONTROL_PLANE_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease"})
CONTROL_PLANE_WORKLOADS = re.compile(
    r"^(?:kube-apiserver|etcd|kube-scheduler|kube-controller-manager|cloud-controller-manager|coredns|"
    r"kube-dns|kube-proxy)(?:-|$)"
)
CONTROL_PLANE_NODE = re.compile(r"master|control-?plane", re.IGNORECASE)
# Parameters that name what an action acts on: the model may only repeat the incident's own values.
TARGET_PARAMETERS = ("namespace", "pod", "node", "deployment", "container", "certificate", "pvc", "group",
                     "database", "externalsecret")  # fmt: skip


@dataclass
class ActionPolicy:
    """Which catalog actions a model may propose for one incident, and on what."""

    catalog: ActionCatalog
    runbook_ids: set[str]
    values: dict[str, str | None]
    nodes: set[str]
    # Targets the evidence itself names beyond the alert's entities: the client scaled up just before a
    # shared limit ran out (scale it back) is a legitimate target though the alert is the database's.
    evidence_targets: dict[str, set[str]] = field(default_factory=dict)

    @classmethod
    def for_incident(cls, found: TriageEvidence, catalog: ActionCatalog) -> ActionPolicy:
        """The policy of this alert: its runbook's actions, its entities, the targets its evidence names."""
        targets: dict[str, set[str]] = {}
        cause = found.cause
        dependency = (
            dependency_named(cause.findings[0].link) if cause and cause.tier == Tier.DEPENDENCY else None
        )
        if dependency is not None:  # a cause in a dependency: the fix acts there
            targets["deployment"] = {dependency}
            targets["container"] = {dependency}
            if namespace := found.links.dependency_namespaces.get(dependency):
                targets["namespace"] = {namespace}
        for change, _ in found.scale_ups:
            if change.scaled is not None:
                targets.setdefault("deployment", set()).add(change.scaled.workload)
                if change.scaled.namespace:
                    targets.setdefault("namespace", set()).add(change.scaled.namespace)
        return cls(
            catalog=catalog,
            runbook_ids=set(runbook_action_ids(found, catalog)),
            values=parameter_values(found.entities, found.alert.labels),
            nodes=set(found.entities.nodes) | set(found.links.node_names),
            evidence_targets=targets,
        )

    @property
    def allowed_ids(self) -> set[str]:
        """Every action id a step may name: the runbook's and the read-only ones."""
        return self.runbook_ids | {i for i, spec in self.catalog.actions.items() if not spec.mutating}

    def check(
        self, action_id: str, parameters: dict[str, Any], why: str
    ) -> tuple[ProposedAction | None, str | None]:
        """The action as it may be proposed (None: refused) and a note for the engineer, if any."""
        spec = self.catalog.get(action_id)
        if spec is None:
            return None, f"(ignored the model's proposal '{action_id[:80]}': not in the action catalog)"
        if spec.mutating and spec.id not in self.runbook_ids:
            return None, (
                f"(ignored the model's proposal '{spec.id}': the runbook for this alert does not list it; "
                "only its actions and read-only diagnostics may be proposed)"
            )
        note = None
        problems = [p for p in spec.validate_parameters(parameters) if "is a required property" not in p]
        if problems:
            note = f"(ignored the model's parameters for '{spec.id}': {problems[0][:200]})"
            parameters, _ = fill_parameters(spec, self.values)  # what the alert itself says
        parameters = dict(parameters)
        for name in TARGET_PARAMETERS:
            if name not in parameters:
                continue
            if not self._is_incidents(name, parameters[name]):
                known = self.values.get(name)
                if known is None:
                    # The alert does not name one: a human fills it in at approval, not the model.
                    del parameters[name]
                    continue
                return None, (
                    f"(ignored the model's proposal '{spec.id}': {name} {str(parameters[name])[:80]!r} is "
                    f"not this incident's ({known}))"
                )
        refusal = self.refusal(spec, parameters)
        if refusal:
            return None, f"(ignored the model's proposal '{spec.id}': {refusal})"
        action = ProposedAction(
            action_id=spec.id,
            parameters=parameters,
            why=strip_commands(why, self.allowed_ids)[:500] or spec.description,
            mutating=spec.mutating,
            missing_parameters=[n for n in spec.required if n not in parameters],
        )
        return action, note

    def _is_incidents(self, name: str, value: object) -> bool:
        if not isinstance(value, str):
            return False
        if name == "node":
            return value.lower() in self.nodes
        if value.lower() in self.evidence_targets.get(name, set()):
            return True
        known = self.values.get(name)
        return known is not None and value.lower() == known.lower()

    def refusal(self, spec: ActionSpec, parameters: dict[str, Any]) -> str | None:
        """Why a target is never acceptable, whatever the alert says (None: acceptable)."""
        if not spec.mutating:
            return None
        namespace = str(parameters.get("namespace", "")).lower()
        if namespace in CONTROL_PLANE_NAMESPACES:
            return f"namespace {namespace!r} is the control plane's; change it by hand if you must"
        for name in ("deployment", "pod", "container"):
            if CONTROL_PLANE_WORKLOADS.match(str(parameters.get(name, "")).lower()):
                return f"{parameters[name]!r} is a control-plane component"
        if CONTROL_PLANE_NODE.search(str(parameters.get("node", ""))):
            return f"node {parameters['node']!r} looks like a control-plane node"
        for name, value in parameters.items():
            if "replicas" in name and value == 0 and not isinstance(value, bool) and not spec.scale_to_zero:
                return "scaling to 0 replicas takes the service down and the catalog does not allow it here"
        return None
