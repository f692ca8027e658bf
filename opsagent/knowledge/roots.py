"""Ingested roots: every stored file belongs to one root directory, and roots never overlap.

Ingesting `knowledge/runbooks` after `knowledge/` must not index the same files twice, so a path inside
a known root is filed under that root; ingesting a folder that contains earlier roots takes their
files over. Roots are absolute resolved paths, so `knowledge/`, `./knowledge` and `/abs/knowledge`
are the same root.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from opsagent.knowledge.logstore import LogLineStore
from opsagent.knowledge.models import DocumentKind
from opsagent.knowledge.store import VectorStore


def stored_roots(store: VectorStore, log_store: LogLineStore) -> set[str]:
    """Every root that has something stored: vectors of either kind, or raw log lines."""
    roots = {root for root, _, _ in log_store.sources()}
    for kind in DocumentKind:
        for _, _, meta in store.iter_records(kind, include_documents=False):
            if meta.get("root"):
                roots.add(str(meta["root"]))
    return roots


def place_under_known_root(walked: Path, roots: set[str]) -> tuple[str, str]:
    """(root to store under, source prefix): an enclosing known root if there is one, else `walked`."""
    for root in sorted(roots, key=len):  # the outermost enclosing root wins
        if root != str(walked) and walked.is_relative_to(root):
            return root, PurePosixPath(walked.relative_to(root).as_posix()).as_posix()
    return str(walked), ""


def nested_roots(walked: Path, roots: set[str]) -> list[str]:
    """Known roots strictly inside `walked` (their files are about to be ingested under it)."""
    return sorted(r for r in roots if r != str(walked) and Path(r).is_relative_to(walked))
