"""What a service depends on: declared by teams, or named by its own error lines.

Declared: a `services.yaml` (or `.yml`) at the top of any ingested folder, or one level below it::

    services:
      checkout-api:
        depends_on: [orders-db, payments-api]

and `depends_on` in a runbook's front matter (for the runbook's `service`). Most teams never write a
dependency graph down, so the linked logs' own errors are read too: `dial tcp orders-db:5432: connect:
connection refused` names `orders-db`. A name counts only when it is a service we have logs for; a
host we know nothing about links nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, ValidationError

SERVICES_FILES = ("services.yaml", "services.yml")
MAX_TEXT = 2000
# Host-like names inside error lines: URLs, host:port, `host=`, DSNs, quoted server names.
_HOST_PATTERNS = (
    re.compile(
        r"(?<![A-Za-z0-9+.-])[a-z][a-z0-9+.-]{0,31}://(?:[^@/\s]{1,256}@)?([A-Za-z0-9][A-Za-z0-9.-]{0,252})"
    ),
    re.compile(r"(?<![\w./-])([A-Za-z][A-Za-z0-9-]*(?:\.[A-Za-z0-9-]+)*):\d{2,5}\b"),
    re.compile(r"\b(?:host|hostname|server|upstream|addr|peer|target|dependency)[=:]\s*\"?([A-Za-z][\w.-]*)"),
    re.compile(
        r"\b(?:to|from|at|on|server|host|service|calling)\s+\"?([A-Za-z][A-Za-z0-9-]*(?:\.[\w-]+)*)\"?"
    ),
)
_SVC_SUFFIX = re.compile(r"\.(?:svc(?:\.cluster\.local)?|cluster\.local)$")


class ServiceDeclaration(BaseModel):
    """One service's declared dependencies."""

    depends_on: list[str] = Field(default_factory=list)


class ServicesFile(BaseModel):
    """The shape of a services.yaml."""

    services: dict[str, ServiceDeclaration] = Field(default_factory=dict)


class DeclaredDependencies:
    """Dependencies declared in services.yaml files under the ingested folders (read when asked)."""

    def __init__(self, roots: Iterable[str | Path]) -> None:
        self.graph: dict[str, list[str]] = {}
        self.problems: list[str] = []
        for root in roots:
            for path in _services_files(Path(root)):
                self._load(path)

    def _load(self, path: Path) -> None:
        try:
            data = ServicesFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
        except (OSError, yaml.YAMLError, ValidationError, UnicodeDecodeError) as exc:
            self.problems.append(f"{path}: ignored ({str(exc).splitlines()[0]})")
            return
        for name, declared in data.services.items():
            deps = self.graph.setdefault(name.lower(), [])
            deps.extend(d.lower() for d in declared.depends_on if d.lower() not in deps)

    def of(self, names: Iterable[str]) -> list[str]:
        """Direct dependencies of any of these service names."""
        out: list[str] = []
        for name in names:
            out.extend(d for d in self.graph.get(name.lower(), []) if d not in out)
        return out


def _services_files(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    found = [root / name for name in SERVICES_FILES if (root / name).is_file()]
    try:
        children = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError:
        return found
    for child in children:
        found.extend(child / name for name in SERVICES_FILES if (child / name).is_file())
    return found


def hosts_named(text: str) -> list[str]:
    """Host or service names an error line points at (lower case, cluster DNS suffixes reduced)."""
    names: list[str] = []
    text = text[:MAX_TEXT]  # untrusted and up to 16 kB: the names that matter come early
    for pattern in _HOST_PATTERNS:
        for match in pattern.finditer(text):
            name = _SVC_SUFFIX.sub("", match.group(1).lower().rstrip("."))
            if name and name not in names:
                names.append(name)
                first = name.split(".", 1)[0]  # orders-db.shop -> orders-db (service.namespace)
                if first != name and first not in names:
                    names.append(first)
    return names


def named_dependencies(texts: Iterable[str], known: set[str], exclude: set[str]) -> dict[str, str]:
    """Known services named by these error lines: {service: the first line that named it}."""
    found: dict[str, str] = {}
    for text in texts:
        for name in hosts_named(text):
            if name in known and name not in exclude and name not in found:
                found[name] = text
    return found
