"""Which runbook answers an alert: the one it links, else the best match — unless the evidence says
otherwise (a cause found in the logs brings its own runbook; weak matches need corroboration)."""

from __future__ import annotations

from pathlib import Path

from opsagent.agent.changes import ChangeEvent, ChangePattern
from opsagent.agent.entities import AlertEntities
from opsagent.agent.findings import SignatureMatch
from opsagent.agent.linking import Tier
from opsagent.config import Settings
from opsagent.knowledge.base import KnowledgeBase
from opsagent.knowledge.models import DocumentKind, SearchHit
from opsagent.knowledge.query import AlertQuery
from opsagent.knowledge.runbooks import split_front_matter
from opsagent.knowledge.search import SearchFilters

# A runbook just under the no-runbook threshold is still accepted when linked evidence (a failure
# signature, a release) independently points at the same runbook: two weak signals that agree.
CORROBORATION_MARGIN = 0.15
# A release this close before the first linked problem is the likeliest cause when no signature names one.
RELEASE_SUSPECT_SECONDS = 2 * 3600


class RunbookChooser:
    """Runbook selection for the evidence pipeline."""

    def __init__(self, settings: Settings, kb: KnowledgeBase, change_patterns: list[ChangePattern]) -> None:
        self.settings = settings
        self.kb = kb
        self.change_patterns = change_patterns

    def full_text(self, doc_id: str) -> str:
        records = self.kb.store.iter_records(DocumentKind.RUNBOOK, where={"doc_id": doc_id})
        ordered = sorted(records, key=lambda r: int(r[2].get("chunk_index", 0) or 0))
        return "\n\n".join(text for _, text, _ in ordered)

    def linked(self, query: AlertQuery, links: list[str]) -> tuple[list[SearchHit], SearchHit | None, str]:
        """The best search hits, and the runbook the alert links to when it resolves to an ingested one."""
        hits = self.kb.search(query.text, 3, SearchFilters(kind=DocumentKind.RUNBOOK))
        for link in links:
            hit = self.kb.runbook_for_link(link)
            if hit is not None:
                return hits, hit, f"linked by the alert ({link})"
        if links:
            return hits, None, f"the alert links {links[0]}, which is not in the knowledge base"
        return hits, None, ""

    def declared_dependencies(
        self, hit: SearchHit, entities: AlertEntities, *, linked: bool = False
    ) -> dict[str, str]:
        """Dependencies a runbook declares (read from its file; gone files give nothing), with why:
        `depends_on` from its front matter when the runbook is about the alert's workload (its `service`,
        if it names one); and when the alert itself links a runbook about another service (a search-api
        alert linking the database replica-lag runbook), that service: the alert's author says the
        trouble is there."""
        try:
            text = (Path(hit.root) / hit.source).read_text(encoding="utf-8")
            front, _, _ = split_front_matter(text)
        except (OSError, UnicodeDecodeError, ValueError):
            return {}
        service = str(front.get("service") or "").strip().lower()
        if service and service not in entities.workload_names:
            return {service: "the service of the runbook the alert links"} if linked else {}
        value = front.get("depends_on") or []
        items = value if isinstance(value, list) else [value]
        return {str(v).strip().lower(): "declared dependency" for v in items if str(v).strip()}

    def choose(
        self,
        query: AlertQuery,
        hits: list[SearchHit],
        matches: list[SignatureMatch],
        changes: list[ChangeEvent],
        onset: float,
    ) -> tuple[SearchHit | None, str]:
        """The alert's best runbook; but a cause found in the own or a dependency's logs brings its own
        runbook when the alert's matches a symptom only, and weak alert matches need corroboration."""
        filters = SearchFilters(kind=DocumentKind.RUNBOOK)
        threshold = self.settings.no_runbook_threshold
        releases = [c for c in changes if c.is_release and c.ts <= onset]
        # The leading hypothesis from the logs: a cause signature in the own or a dependency's logs, else
        # a release shortly before the first problem. It brings its own runbook.
        cause = next((m for m in matches if not m.signature.symptom and m.tier >= Tier.DEPENDENCY), None)
        suspect: tuple[str, str] | None = None
        if cause is not None and cause.signature.query:
            suspect = (f"the cause in the logs ('{cause.signature.title}', {cause.findings[0].link})",
                       cause.signature.query)  # fmt: skip
        elif cause is None and releases and onset - releases[-1].ts <= RELEASE_SUSPECT_SECONDS:
            suspect = (f"the suspected {releases[-1].describe()}", self._change_query(releases[-1]))
        by_suspect = self.kb.search(suspect[1], 3, filters) if suspect is not None else []
        if hits and hits[0].score >= threshold:
            chosen = hits[0]
            reason = f"best match for the alert (score {chosen.score:.3f} >= {threshold})"
            if (
                by_suspect
                and by_suspect[0].score >= threshold
                and chosen.doc_id not in {h.doc_id for h in by_suspect}
            ):
                assert suspect is not None
                return by_suspect[0], (
                    f"the runbook for {suspect[0]} (score {by_suspect[0].score:.3f}); the alert alone "
                    f"matched '{chosen.title}' ({chosen.score:.3f})"
                )
            return chosen, reason
        if by_suspect and by_suspect[0].score >= threshold:
            assert suspect is not None
            return by_suspect[0], (
                f"the runbook for {suspect[0]} (score {by_suspect[0].score:.3f}); "
                "no runbook matches the alert itself"
            )
        corroborators = [(m.signature.title, m.signature.query) for m in matches if m.tier > Tier.NONE][:2]
        if releases:
            latest = (releases[-1].describe(), self._change_query(releases[-1]))
            # With no cause signature, a release before the onset is the leading hypothesis: it goes first.
            has_cause = any(not m.signature.symptom for m in matches if m.tier > Tier.NONE)
            corroborators = [*corroborators, latest] if has_cause else [latest, *corroborators]
        for title, words in corroborators:
            via_logs = self.kb.search(f"{query.text} {words}", 1, filters)
            if not via_logs:
                continue
            best = via_logs[0]
            direct = next((h for h in hits if h.doc_id == best.doc_id), None)
            if direct is None:
                continue
            # Either the alert alone nearly clears the bar, or alert + evidence clear it together and
            # agree with the alert alone on the best runbook.
            agrees = hits[0].doc_id == best.doc_id and best.score >= threshold
            if direct.score >= threshold - CORROBORATION_MARGIN or agrees:
                return direct, (
                    f"alert match {direct.score:.3f} corroborated by '{title}' in the linked logs "
                    f"(together {best.score:.3f})"
                )
        best_score = hits[0].score if hits else 0.0
        return None, f"no runbook found (best score {best_score:.3f} < {threshold})"

    def _change_query(self, change: ChangeEvent) -> str:
        pattern = next((p for p in self.change_patterns if p.kind == change.kind), None)
        return pattern.query if pattern is not None and pattern.query else change.title

    # -- logs ---------------------------------------------------------------------------------------
