"""Runbook links an alert carries (`runbook_url` and friends) and the ingested runbook each points at.

A link resolves to the ingested document whose path agrees with the link's path on the most trailing
segments. Segments are compared as a reader would: case-insensitive, `-`/`_`/spaces/dots ignored, the
last one without its extension, and a README / index page standing for its folder. So a GitHub or
GitLab blob, tree or raw URL, a rendered site's page (`.../runbooks/kubernetes/kubepodcrashlooping/`)
and a relative path all find `kubernetes/KubePodCrashLooping.md`. A link naming a source file (`.md`)
matches only a file of that name; any other link needs its page and folder to agree (a page name alone
is too weak). Two documents that agree equally well are ambiguous: no answer beats a wrong one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

from opsagent.incidents.models import Alert

# runbook, runbook_url, runbookURL (Grafana), runbook-link, playbook_url, ... once separators are removed.
_LINK_KEY = re.compile(r"^(runbook|playbook)s?(url|uri|link|href|path)?$")
_SEPARATORS = re.compile(r"[-_.\s]+")
_SOURCE_SUFFIXES = (".md", ".markdown", ".rst", ".txt", ".adoc")
_PAGE_SUFFIXES = (*_SOURCE_SUFFIXES, ".html", ".htm")
_FOLDER_PAGES = {"readme", "index", "_index"}


def is_link_key(key: str) -> bool:
    """Whether an annotation, label or detail key names a runbook link (any case or separator)."""
    return bool(_LINK_KEY.match(_SEPARATORS.sub("", key.lower())))


def runbook_links(alert: Alert) -> list[str]:
    """The runbook links of an alert, annotations first, each once, in the order they were given."""
    links: list[str] = []
    for mapping in (alert.annotations, alert.labels):
        for key, value in mapping.items():
            link = value.strip() if isinstance(value, str) else ""
            if link and is_link_key(key) and link not in links:
                links.append(link)
    return links


@dataclass(frozen=True)
class LinkedDocument:
    """An ingested runbook a link can resolve to."""

    doc_id: str
    root: str
    source: str


def link_segments(link: str) -> list[str]:
    """The path of a link (URL or relative path) as raw segments, without query, fragment or host."""
    text = link.strip()
    parts = urlsplit(text)
    path = parts.path if parts.scheme in {"http", "https", "file"} or parts.netloc else text
    # Decoded before splitting: some wikis encode a page's folders into one segment (`docs%2Fx.md`).
    path = unquote(path.split("#", 1)[0].split("?", 1)[0])
    return [s for s in path.replace("\\", "/").split("/") if s not in ("", ".", "..")]


def _stem(segment: str) -> str:
    lowered = segment.lower()
    for suffix in _PAGE_SUFFIXES:
        if lowered.endswith(suffix):
            return lowered[: -len(suffix)]
    return lowered


def canonical(segments: list[str]) -> list[str]:
    """Segments as a reader compares them: no case, separators or page extension; README -> its folder."""
    out = list(segments)
    if out:
        last = _stem(out[-1])
        if last in _FOLDER_PAGES:
            out.pop()
        else:
            out[-1] = last
    return [_SEPARATORS.sub("", s.lower()) for s in out if _SEPARATORS.sub("", s.lower())]


def _agreement(a: list[str], b: list[str]) -> int:
    count = 0
    for x, y in zip(reversed(a), reversed(b), strict=False):
        if x != y:
            break
        count += 1
    return count


def resolve_link(link: str, documents: Iterable[LinkedDocument]) -> LinkedDocument | None:
    """The one document a link points at, or None when nothing matches or two match equally well.

    Ranked by how many trailing segments agree after normalising (see `canonical`), then, to tell
    `gitaly/README.md` from `gitaly.md` for a link that names the file exactly, by literal agreement.
    """
    raw = link_segments(link)
    wanted = canonical(raw)
    if not wanted:
        return None
    # A link to a source file (`.../docs/camoproxy/README.md`) names that file: another file of the
    # folder (`camoproxy/camoproxy.md`) is not it. A rendered page (`.../camoproxy/`, `x.html`) may be
    # built from either, so only the normalised path counts there.
    named_file = _SEPARATORS.sub("", _stem(raw[-1])) if raw[-1].lower().endswith(_SOURCE_SUFFIXES) else None
    # Otherwise a page name alone (`.../display/OPS/Database`) is too weak: its folder must agree too.
    required = 1 if named_file is not None else min(2, len(wanted))
    wanted_literal = [s.lower() for s in raw]
    best: tuple[int, int] = (0, 0)
    found: list[LinkedDocument] = []
    for doc in documents:
        path = [*PurePosixPath(doc.root).parts[1:], *PurePosixPath(doc.source).parts]
        if named_file is not None and _SEPARATORS.sub("", _stem(path[-1])) != named_file:
            continue
        score = (_agreement(wanted, canonical(path)), _agreement(wanted_literal, [s.lower() for s in path]))
        if score[0] < required or score < best:
            continue
        if score > best:
            best, found = score, []
        found.append(doc)
    return found[0] if len(found) == 1 else None
