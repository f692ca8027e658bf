"""A triage over a small knowledge base written by a test: `<root>/runbooks` and `<root>/logs`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from opsagent.actions.catalog import load_catalog
from opsagent.agent.triage import Triage
from opsagent.config import Settings
from opsagent.knowledge.base import KnowledgeBase

REPO = Path(__file__).resolve().parents[1]


@contextmanager
def triage_over(root: Path) -> Iterator[Triage]:
    """Offline triage over `root`'s runbooks and logs (store in `root/data`), with the repo's catalog."""
    settings = Settings(data_dir=root / "data", action_catalog=REPO / "knowledge/actions/catalog.yaml")
    kb = KnowledgeBase(settings)
    try:
        kb.ingest([root / "runbooks"])
        kb.ingest([root / "logs"])
        yield Triage(settings, kb, load_catalog(settings.action_catalog))
    finally:
        kb.close()
