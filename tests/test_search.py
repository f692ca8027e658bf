"""Hybrid search against real Chroma (embedded and server)."""

from __future__ import annotations

from pathlib import Path

from opsagent.knowledge.base import KnowledgeBase
from opsagent.knowledge.models import DocumentKind
from opsagent.knowledge.query import build_alert_query
from opsagent.knowledge.search import SearchFilters, make_snippet

RUNBOOKS = SearchFilters(kind=DocumentKind.RUNBOOK)


def test_finds_the_right_runbook_with_citation(kb: KnowledgeBase, runbook_dir: Path) -> None:
    kb.ingest([runbook_dir])
    hits = kb.search("payments-api container killed, exit code 137", 3, RUNBOOKS)
    assert hits[0].source == "kubernetes/pod-oomkilled.md"
    assert hits[0].citation.section
    assert hits[0].citation.render().startswith("kubernetes/pod-oomkilled.md#")
    assert hits[0].actions == ["restart_deployment", "increase_memory_limit"]
    assert len({h.doc_id for h in hits}) == len(hits)  # one result per document
    assert all(0 <= h.score <= 1 for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_alert_named_in_front_matter_scores_high(kb: KnowledgeBase, runbook_dir: Path) -> None:
    kb.ingest([runbook_dir])
    query = build_alert_query(
        "NodeFilesystemAlmostOutOfSpace", annotations={"summary": "Filesystem has < 5% left"}
    )
    best = kb.search(query.text, 3, RUNBOOKS)[0]
    assert best.source == "storage/disk-full.md"
    assert best.score >= kb.settings.no_runbook_threshold


def test_unrelated_query_scores_below_the_no_runbook_threshold(kb: KnowledgeBase, runbook_dir: Path) -> None:
    kb.ingest([runbook_dir])
    hits = kb.search("GrafanaDashboardProvisioningFailed: dashboards JSON invalid", 3, RUNBOOKS)
    assert hits and hits[0].score < kb.settings.no_runbook_threshold


def test_service_filter(kb: KnowledgeBase, runbook_dir: Path) -> None:
    kb.ingest([runbook_dir])
    hits = kb.search(
        "certificate expired", 5, SearchFilters(kind=DocumentKind.RUNBOOK, service="payments-api")
    )
    assert [h.source for h in hits] == ["kubernetes/pod-oomkilled.md"]


def test_empty_store_and_empty_query(kb: KnowledgeBase) -> None:
    assert kb.search("anything", 5) == []
    assert kb.search("   ", 5) == []


def test_snippet_centres_on_the_query() -> None:
    body = "intro " * 100 + "the x509 certificate expired yesterday " + "outro " * 100
    snippet = make_snippet(body, "x509 certificate")
    assert "x509 certificate expired" in snippet and snippet.startswith("…")


def test_citations_render_section_and_lines() -> None:
    from opsagent.knowledge.models import Citation

    assert Citation(source="a.md", section="Fix", line_start=3, line_end=9).render() == "a.md#Fix (L3-L9)"
    assert Citation(source="app.log", line_start=5, line_end=5).render() == "app.log:L5"
    assert Citation(source="a.md").render() == "a.md"
