"""Which logs belong to an incident: linked through the alert's entities and their dependencies.

Evidence counts only when it is linked. Tiers, strongest first:

* `own`: logs of the affected workload (the template's service, the file's service or path, a name the
  alert gives: service, container, deployment), or of the affected node (its name in the file's path,
  or on most of the file's lines in the window, as a syslog host field is);
* `dependency`: logs of a service the affected one depends on — declared (services.yaml, runbook
  `depends_on`) or named by the affected service's own warn-or-worse lines;
* `mention`: another file's template that names the pod, the node or the service.

Everything else is "also happening elsewhere": shown, never a root cause.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import PurePosixPath
from typing import Any

from opsagent.agent.dependencies import DeclaredDependencies, named_dependencies
from opsagent.agent.entities import AlertEntities
from opsagent.knowledge.log_ingest import default_service_from_path
from opsagent.knowledge.logstore import LogLineStore

Record = tuple[str, str, dict[str, Any]]
PROBLEM_LEVELS = frozenset({"warn", "error", "fatal", "critical"})
ERROR_LEVELS = frozenset({"error", "fatal", "critical"})
_CONNECTING = re.compile(
    r"dial|connect|refused|timed? ?out|timeout|unreachable|reset by peer|no route|could not (open|reach)|"
    r"unable to (reach|open)|EOF|too many (clients|connections)|handshake",
    re.IGNORECASE,
)
# An in-cluster service address (`billing-gateway.billing.svc:8080`) in an error line is a call target,
# whatever the wording around it ("billing call failed").
_SERVICE_DNS = re.compile(r"(?<![\w.-])[a-z0-9][a-z0-9-]*\.[a-z0-9][a-z0-9-]*\.svc\b")
MAX_DEPENDENCY_TEXT = 2000
# A node's name on at least this share of a file's lines in the window makes the file that node's log.
NODE_FILE_SHARE = 0.5
MIN_NAME_CHARS = 4  # shorter names (`api`, `db`) would match everywhere
_PODS_DIR = re.compile(r"^([a-z0-9-]+)_([a-z0-9][a-z0-9.-]*)_[0-9a-f-]{8,}$")


class Tier(IntEnum):
    """How a template is linked to the incident."""

    NONE = 0
    MENTION = 1
    DEPENDENCY = 2
    OWN = 3


NAMED_BY_ERRORS = "named by the affected service's errors"


@dataclass
class Link:
    """Why one template is linked."""

    tier: Tier
    why: str
    named: str = ""  # for a mention: the entity name the template's lines contain


@dataclass
class LinkedLogs:
    """Templates in the window, split into linked (with why) and the rest."""

    linked: list[tuple[Record, Link]] = field(default_factory=list)
    elsewhere: list[Record] = field(default_factory=list)
    dependencies: dict[str, str] = field(default_factory=dict)  # service -> why it is one
    dependency_namespaces: dict[str, str] = field(default_factory=dict)  # when its cluster address says
    own_files: list[tuple[str, str]] = field(default_factory=list)  # (root, source)
    workload_names: list[str] = field(default_factory=list)  # the affected workload's names (none: a node)
    node_names: list[str] = field(default_factory=list)  # the node names its own log files go by


def link_templates(
    records: list[Record],
    entities: AlertEntities,
    declared: DeclaredDependencies,
    extra_dependencies: dict[str, str],
    log_store: LogLineStore,
    window: tuple[float, float],
) -> LinkedLogs:
    """Sort the window's templates into tiers for one alert's entities."""
    out = LinkedLogs()
    if not records:
        return out
    files: dict[tuple[str, str], list[Record]] = {}
    for record in records:
        files.setdefault(_file_key(record), []).append(record)
    identity = {key: _file_names(key[1], recs) for key, recs in files.items()}
    known_services = {name for names in identity.values() for name in names}

    workloads = set(entities.workload_names)
    out.workload_names = sorted(workloads)
    own_names = workloads | ({entities.pod} if entities.pod else set())  # a pod's own log folder
    node_files = _node_files(files, entities.nodes, log_store, window)
    out.node_names = sorted(set(node_files.values()))
    own: dict[str, Link] = {}
    for key, recs in files.items():
        node = node_files.get(key)
        for record in recs:
            service = _service(record)
            if service in workloads:
                own[_doc_id(record)] = Link(Tier.OWN, f"logs of {service}")
            elif (service is None or service in identity[key]) and own_names & identity[key]:
                name = sorted(own_names & identity[key])[0]
                own[_doc_id(record)] = Link(Tier.OWN, f"logs of {name}")
            elif node is not None:
                own[_doc_id(record)] = Link(Tier.OWN, f"logs of node {node}")
    out.own_files = sorted({_file_key(r) for r in records if _doc_id(r) in own})

    # Dependencies: declared, then named by the own logs' problem lines.
    own_names |= {n for key in out.own_files for n in identity.get(key, set())}
    declared_deps = {dep: "declared dependency" for dep in declared.of(sorted(workloads))}
    for dep, why in {**declared_deps, **extra_dependencies}.items():
        if dep not in own_names and dep not in out.dependencies:
            out.dependencies[dep] = why
    # Only error lines about connecting, seen more than once: one quoted URL in a warning (user input,
    # a redirect) must not make a dependency.
    problem_texts = [
        text[:MAX_DEPENDENCY_TEXT]
        for record in records
        if _doc_id(record) in own and _level(record) in ERROR_LEVELS and int(record[2].get("count", 0)) >= 2
        for text in (record[1], *_examples(record))
        if _CONNECTING.search(text[:MAX_DEPENDENCY_TEXT]) or _SERVICE_DNS.search(text[:MAX_DEPENDENCY_TEXT])
    ]
    for dep, line in named_dependencies(problem_texts, known_services, own_names).items():
        out.dependencies.setdefault(dep, f"{NAMED_BY_ERRORS}: {line[:160]!r}")
        if (namespace := dependency_namespace(dep, line)) is not None:
            out.dependency_namespaces.setdefault(dep, namespace)

    mention_names = [n for n in [*workloads, entities.pod or "", *entities.nodes] if len(n) >= MIN_NAME_CHARS]
    alternatives = []
    if mention_names:
        # Letters and digits bound a name, not `-`: ingress upstreams read `shop-storefront-web-80`.
        names = "|".join(re.escape(n) for n in mention_names)
        alternatives.append(rf"(?<![A-Za-z0-9])({names})(?![A-Za-z0-9])")
    if entities.pod_uid:
        # cgroup paths glue the UID to `pod`: kubepods-burstable-pod<uid, _ for -> (systemd), pod<uid>.
        uids = "|".join(re.escape(u) for u in (entities.pod_uid, entities.pod_uid.replace("-", "_")))
        alternatives.append(rf"({uids})")
    mention = re.compile("|".join(alternatives), re.IGNORECASE) if alternatives else None
    for key, recs in files.items():
        for record in recs:
            doc_id = _doc_id(record)
            if doc_id in own:
                out.linked.append((record, own[doc_id]))
                continue
            service = _service(record)
            dep_name: str | None = service if service in out.dependencies else None
            if dep_name is None and (service is None or service in identity[key]):
                dep_name = next((d for d in sorted(identity[key]) if d in out.dependencies), None)
            if dep_name is not None:
                out.linked.append(
                    (
                        record,
                        Link(Tier.DEPENDENCY, dependency_link(dep_name, out.dependencies[dep_name])),
                    )
                )
                continue
            hit = mention.search(f"{record[1]}\n" + "\n".join(_examples(record))) if mention else None
            if hit is not None:
                named = next(g for g in hit.groups() if g)
                if entities.pod_uid and named.lower().replace("_", "-") == entities.pod_uid:
                    named = entities.pod or named  # the pod, by its UID
                out.linked.append((record, Link(Tier.MENTION, f"{key[1]} names {named}", named)))
            else:
                out.elsewhere.append(record)
    return out


def dependency_link(name: str, why: str) -> str:
    """How a dependency's template is linked: `dependency orders-db (declared dependency)`."""
    return f"dependency {name} ({_short(why)})"


_DEPENDENCY_LINK = re.compile(r"^dependency (?P<name>[\w.-]+) \(")


def dependency_named(link: str) -> str | None:
    """The dependency a `dependency_link` text names."""
    match = _DEPENDENCY_LINK.match(link)
    return match.group("name") if match else None


def dependency_namespace(name: str, why: str) -> str | None:
    """The namespace of a dependency named by its cluster DNS name (`billing-gateway.billing.svc`)."""
    match = re.search(rf"(?<![\w.-]){re.escape(name)}\.([a-z0-9][a-z0-9-]*)\.svc\b", why)
    return match.group(1) if match else None


def _node_files(
    files: dict[tuple[str, str], list[Record]],
    nodes: list[str],
    log_store: LogLineStore,
    window: tuple[float, float],
) -> dict[tuple[str, str], str]:
    """Files that are a node's own log: the node in the path, or on most of the file's lines."""
    out: dict[tuple[str, str], str] = {}
    if not nodes:
        return out
    since, until = window
    for key in files:
        root, source = key
        parts = {p.lower() for p in PurePosixPath(source).parts}
        named = next((n for n in nodes if n in parts or any(p.startswith(n + ".") for p in parts)), None)
        if named is not None:
            out[key] = named
            continue
        total = log_store.count(sources=[source], root=root, since=since, until=until)
        if not total:
            continue
        for node in nodes:
            hits = log_store.count(node, sources=[source], root=root, since=since, until=until)
            if hits >= NODE_FILE_SHARE * total:
                out[key] = node
                break
    return out


def _file_names(source: str, records: list[Record]) -> set[str]:
    """The names a file goes by: its path's service guess, its folders, and the services of its lines
    when it holds one service only."""
    names: set[str] = set()
    guess = default_service_from_path(source)
    if guess:
        names.add(guess.lower())
    for part in PurePosixPath(source).parts[:-1]:
        names.add(part.lower())
        pods_dir = _PODS_DIR.match(part)
        if pods_dir is not None:  # /var/log/pods/<namespace>_<pod>_<uid>/<container>/0.log
            names.add(pods_dir.group(2).lower())
    services = {s for s in (_service(r) for r in records) if s}
    if len(services) == 1:
        names |= services
    return {n for n in names if len(n) >= 2}


def _short(why: str) -> str:
    return why.split(":", 1)[0]


def _file_key(record: Record) -> tuple[str, str]:
    meta = record[2]
    return str(meta.get("root", "")), str(meta.get("source", ""))


def _doc_id(record: Record) -> str:
    return str(record[2].get("doc_id", record[0]))


def _service(record: Record) -> str | None:
    value = record[2].get("service")
    return str(value).lower() if value else None


def _level(record: Record) -> str | None:
    value = record[2].get("level")
    return str(value) if value else None


def _examples(record: Record) -> list[str]:
    from opsagent.knowledge.search import json_list

    return [str(e) for e in json_list(record[2].get("examples"))]
