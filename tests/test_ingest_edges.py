"""Ingestion edge cases: overlapping roots, kind changes, interrupted runs, replicas, junk files."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsagent.config import Settings
from opsagent.errors import IngestError
from opsagent.knowledge import ingest as ingest_module
from opsagent.knowledge.base import KnowledgeBase
from opsagent.knowledge.models import DocumentKind
from opsagent.knowledge.search import SearchFilters

RUNBOOKS = SearchFilters(kind=DocumentKind.RUNBOOK)


def _stored(kb: KnowledgeBase, kind: DocumentKind = DocumentKind.RUNBOOK) -> list[tuple[str, str]]:
    return sorted(
        {
            (str(m["root"]), str(m["source"]))
            for _, _, m in kb.store.iter_records(kind, include_documents=False)
        }
    )


def test_a_subfolder_of_an_ingested_root_is_not_indexed_twice(kb: KnowledgeBase, runbook_dir: Path) -> None:
    kb.ingest([runbook_dir])
    before = _stored(kb)
    report = kb.ingest([runbook_dir / "storage"])
    assert report.files_unchanged == 1 and report.files_ingested == 0
    assert _stored(kb) == before
    hits = kb.search("no space left on device", 5, RUNBOOKS)
    assert [h.source for h in hits].count("storage/disk-full.md") == 1


def test_ingesting_a_parent_takes_over_earlier_nested_roots(kb: KnowledgeBase, runbook_dir: Path) -> None:
    kb.ingest([runbook_dir / "storage"])
    report = kb.ingest([runbook_dir])
    assert any("now belong to" in w for w in report.warnings)
    assert _stored(kb) == sorted(
        (str(runbook_dir.resolve()), s)
        for s in ["kubernetes/pod-oomkilled.md", "security/cert-expiry.md", "storage/disk-full.md"]
    )


def test_a_file_that_changes_kind_leaves_the_other_collection(settings: Settings, tmp_path: Path) -> None:
    root = tmp_path / "kb"
    root.mkdir()
    notes = root / "notes.txt"
    notes.write_text("".join(f"2026-11-20T03:00:{i:02d}Z ERROR queue stuck {i}\n" for i in range(20)))
    kb = KnowledgeBase(settings)
    try:
        kb.ingest([root])
        assert _stored(kb, DocumentKind.LOG) and not _stored(kb, DocumentKind.RUNBOOK)
        notes.write_text("Queue stuck\n\nRestart the consumer and check the dead-letter queue.\n")
        kb.ingest([root])
        assert _stored(kb, DocumentKind.LOG) == []
        assert [s for _, s in _stored(kb)] == ["notes.txt"]
        assert kb.search_log_lines("stuck") == []
    finally:
        kb.close()


def test_files_ingested_by_name_survive_a_folder_ingest(kb: KnowledgeBase, runbook_dir: Path) -> None:
    readme = runbook_dir / "README.md"
    readme.write_text("# Team conventions\n\nPage the secondary after 15 minutes.\n")
    kb.ingest([readme])
    report = kb.ingest([runbook_dir])
    assert report.files_removed == 0
    assert "README.md" in [s for _, s in _stored(kb)]


def test_pathological_front_matter_and_binary_logs_are_skipped(kb: KnowledgeBase, tmp_path: Path) -> None:
    root = tmp_path / "kb"
    root.mkdir()
    (root / "deep.md").write_text("---\na: " + "[" * 5000 + "]" * 5000 + "\n---\n# T\nx\n")
    (root / "core.log").write_bytes(bytes(range(256)) * 100)
    (root / "ok.md").write_text("# Fine\n\nAll good.\n")
    report = kb.ingest([root])
    assert report.files_ingested == 1
    warnings = "\n".join(report.warnings)
    assert "skipped deep.md" in warnings and "skipped core.log: binary" in warnings


def test_an_interrupted_ingest_still_publishes_what_it_wrote(
    kb: KnowledgeBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "kb"
    root.mkdir()
    (root / "a.md").write_text("# Zebra gateway outage\n\nThe zebra gateway returns 502.\n")
    (root / "z.log").write_text("2026-11-20T03:00:00Z INFO fine\n")
    kb.search("warm the keyword cache", 1)
    monkeypatch.setattr(ingest_module, "FLUSH_CHUNKS", 1)

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(ingest_module, "ingest_log_file", interrupted)
    with pytest.raises(KeyboardInterrupt):
        kb.ingest([root])
    hits = kb.search("zebra gateway outage 502", 1, RUNBOOKS)
    assert hits and hits[0].source == "a.md"


def test_a_node_without_the_raw_lines_reads_them_again(kb: KnowledgeBase, tmp_path: Path) -> None:
    root = tmp_path / "logs"
    root.mkdir()
    (root / "api.log").write_text(
        "".join(f"2026-11-20T03:00:{i:02d}Z ERROR upstream 429 {i}\n" for i in range(30))
    )
    kb.ingest([root])
    kb.log_store.delete_source(str(root.resolve()), "api.log")  # as on a replica with its own data dir
    report = kb.ingest([root])
    assert report.files_ingested == 1
    assert len(kb.search_log_lines("429")) == 30


def test_empty_log_files_do_not_invalidate_the_keyword_index(kb: KnowledgeBase, runbook_dir: Path) -> None:
    (runbook_dir / "empty.log").write_text("")
    kb.ingest([runbook_dir])
    revisions = (kb.store.revision(DocumentKind.RUNBOOK), kb.store.revision(DocumentKind.LOG))
    kb.ingest([runbook_dir])
    assert (kb.store.revision(DocumentKind.RUNBOOK), kb.store.revision(DocumentKind.LOG)) == revisions


def test_read_only_commands_do_not_create_collections(settings: Settings, runbook_dir: Path) -> None:
    other = KnowledgeBase(settings.model_copy(update={"embedding_model": "paraphrase-minilm-l3"}))
    try:
        assert other.store.count(DocumentKind.RUNBOOK) == 0
        assert other.store.existing(DocumentKind.RUNBOOK) is None
    finally:
        other.close()
    kb = KnowledgeBase(settings)
    try:
        assert kb.ingest([runbook_dir]).files_ingested == 3
    finally:
        kb.close()


def test_forget_removes_a_moved_root(kb: KnowledgeBase, runbook_dir: Path, tmp_path: Path) -> None:
    kb.ingest([runbook_dir])
    moved = tmp_path / "moved"
    runbook_dir.rename(moved)
    kb.ingest([moved])
    assert len(kb.roots()) == 2
    kb.forget(runbook_dir)  # the old folder is gone; what was ingested from it can still be removed
    assert kb.roots() == [str(moved.resolve())]
    hits = kb.search("no space left on device", 5, RUNBOOKS)
    assert [h.source for h in hits].count("storage/disk-full.md") == 1
    with pytest.raises(IngestError, match="Nothing is stored"):
        kb.forget(tmp_path / "never")
