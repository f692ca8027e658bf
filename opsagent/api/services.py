"""Everything a request handler needs, built once per app from Settings (no module-level state)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from opsagent.api.conversations import ConversationStore
from opsagent.api.tokens import TokenStore
from opsagent.config import Settings
from opsagent.incidents.db import create_db_engine, upgrade
from opsagent.incidents.store import IncidentStore
from opsagent.incidents.worker import Diagnoser, Worker
from opsagent.metrics import Metrics

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from opsagent.knowledge.base import KnowledgeBase
    from opsagent.knowledge.models import DocumentKind, IngestReport


@dataclass
class Services:
    """The app's dependencies. Tests build one with fakes (a scripted chat model, a fast diagnoser)."""

    settings: Settings
    engine: Engine
    store: IncidentStore
    tokens: TokenStore
    conversations: ConversationStore
    metrics: Metrics
    chat_model: BaseChatModel | None = None
    diagnoser_factory: Callable[[], Diagnoser] | None = None
    worker: Worker | None = None
    clock: Callable[[], float] = time.time
    _kb: KnowledgeBase | None = field(default=None, repr=False)
    _kb_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _ingest_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        chat_model: Any = "configured",
        diagnoser_factory: Callable[[], Diagnoser] | None = None,
    ) -> Services:
        """Connect to (and migrate) the database; the chat model defaults to the configured one."""
        from opsagent.agent.models import build_chat_model

        engine = create_db_engine(settings)
        upgrade(engine)
        store = IncidentStore(
            engine, lease_seconds=settings.job_lease_seconds, max_attempts=settings.job_max_attempts
        )
        metrics = Metrics()
        metrics.watch_queue(store.queue.depth)
        return cls(
            settings=settings,
            engine=engine,
            store=store,
            tokens=TokenStore(engine),
            conversations=ConversationStore(engine),
            metrics=metrics,
            chat_model=build_chat_model(settings) if chat_model == "configured" else chat_model,
            diagnoser_factory=diagnoser_factory,
        )

    @property
    def kb(self) -> KnowledgeBase:
        """The knowledge base, opened on first use (loading the embedding model takes seconds)."""
        with self._kb_lock:
            if self._kb is None:
                from opsagent.knowledge.base import KnowledgeBase

                self._kb = KnowledgeBase(self.settings)
            return self._kb

    def ingest(self, paths: list[Path], kind: DocumentKind | None = None) -> IngestReport:
        """Ingest, one run at a time in this process (uploads share one root)."""
        with self._ingest_lock:
            return self.kb.ingest(paths, kind=kind)

    def triage(self) -> Diagnoser:
        """A diagnoser for the worker: the configured one, else triage over this knowledge base."""
        if self.diagnoser_factory is not None:
            return self.diagnoser_factory()
        from opsagent.actions.catalog import load_catalog
        from opsagent.agent.triage import Triage

        return Triage(self.settings, self.kb, load_catalog(self.settings.action_catalog), self.chat_model)

    def make_worker(self) -> Worker:
        """A triage worker over this store, with notifications and these metrics."""
        from opsagent.incidents.notify import Notifier

        return Worker(
            self.settings, self.store, self.triage, notifier=Notifier(self.settings), metrics=self.metrics
        )

    def start_worker(self) -> Worker:
        """Run a triage worker in this process."""
        self.worker = self.make_worker()
        self.worker.start()
        return self.worker

    def close(self) -> None:
        """Stop the worker (after its current job) and release connections."""
        if self.worker is not None:
            self.worker.stop()
            if self.worker.notifier is not None:
                self.worker.notifier.close()
        if self._kb is not None:
            self._kb.close()
        self.engine.dispose()
