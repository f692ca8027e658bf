"""Ingestion against real Chroma, embedded and server: incremental re-ingest and bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsagent.config import Settings
from opsagent.errors import EmbeddingModelError, IngestError
from opsagent.knowledge.base import KnowledgeBase
from opsagent.knowledge.models import DocumentKind
from opsagent.knowledge.search import SearchFilters


def _sources(kb: KnowledgeBase) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for record_id, _, meta in kb.store.iter_records(DocumentKind.RUNBOOK, include_documents=False):
        found.setdefault(str(meta["source"]), set()).add(record_id)
    return found


def test_ingest_then_reingest_skips_unchanged(kb: KnowledgeBase, runbook_dir: Path) -> None:
    first = kb.ingest([runbook_dir])
    assert (first.files_ingested, first.files_skipped, first.warnings) == (3, 0, [])
    assert first.chunks_added == kb.store.count(DocumentKind.RUNBOOK) > 3
    assert set(_sources(kb)) == {
        "kubernetes/pod-oomkilled.md",
        "storage/disk-full.md",
        "security/cert-expiry.md",
    }

    again = kb.ingest([runbook_dir])
    assert (again.files_ingested, again.files_unchanged, again.chunks_added) == (0, 3, 0)


def test_changed_file_is_replaced_and_deleted_file_removed(kb: KnowledgeBase, runbook_dir: Path) -> None:
    kb.ingest([runbook_dir])
    before = _sources(kb)
    disk = runbook_dir / "storage/disk-full.md"
    disk.write_text(disk.read_text().replace("Prune unused container images", "Expand the volume"))
    (runbook_dir / "security/cert-expiry.md").unlink()

    report = kb.ingest([runbook_dir])
    assert (report.files_ingested, report.files_unchanged, report.files_removed) == (1, 1, 1)
    after = _sources(kb)
    assert "security/cert-expiry.md" not in after
    assert after["kubernetes/pod-oomkilled.md"] == before["kubernetes/pod-oomkilled.md"]
    assert after["storage/disk-full.md"] != before["storage/disk-full.md"]  # stale chunks are gone
    texts = [
        doc
        for _, doc, meta in kb.store.iter_records(DocumentKind.RUNBOOK)
        if meta["source"] == "storage/disk-full.md"
    ]
    assert any("Expand the volume" in t for t in texts)
    assert not any("Prune unused" in t for t in texts)
    # search sees the new revision, not a stale keyword index
    hits = kb.search("expand the volume", 1, SearchFilters(kind=DocumentKind.RUNBOOK))
    assert hits[0].source == "storage/disk-full.md"


def test_bad_files_are_skipped_with_warnings_and_the_rest_ingested(
    tmp_path: Path, settings: Settings
) -> None:
    root = tmp_path / "rb"
    root.mkdir()
    (root / "good.md").write_text("# Good\n\n## Meaning\nfine\n")
    (root / "binary.md").write_bytes(b"\x00\x01\x02 binary")
    (root / "latin1.md").write_bytes("# caf\xe9\n".encode("latin-1"))
    (root / "broken.md").write_text("---\ntitle: [oops\n---\n# Broken\n")
    (root / "huge.md").write_text("# Huge\n\n" + "x" * 5000)
    (root / "ignored.png").write_bytes(b"\x89PNG")
    kb = KnowledgeBase(settings.model_copy(update={"max_runbook_bytes": 4000}))
    try:
        report = kb.ingest([root])
    finally:
        kb.close()
    assert report.files_ingested == 1
    assert report.files_skipped == 4
    joined = "\n".join(report.warnings)
    for name, reason in [
        ("binary.md", "binary"),
        ("latin1.md", "UTF-8"),
        ("broken.md", "front matter"),
        ("huge.md", "limit"),
    ]:
        assert f"skipped {name}: " in joined and reason in joined


def test_a_broken_edit_keeps_the_previous_version(kb: KnowledgeBase, runbook_dir: Path) -> None:
    kb.ingest([runbook_dir])
    (runbook_dir / "storage/disk-full.md").write_bytes(b"\xff\xfe broken")
    report = kb.ingest([runbook_dir])
    assert report.files_skipped == 1 and "previously ingested version is kept" in report.warnings[0]
    assert "storage/disk-full.md" in _sources(kb)


def test_single_file_and_missing_path(kb: KnowledgeBase, runbook_dir: Path) -> None:
    report = kb.ingest([runbook_dir / "storage/disk-full.md"])
    assert report.files_ingested == 1
    assert set(_sources(kb)) == {"disk-full.md"}
    with pytest.raises(IngestError, match="does not exist"):
        kb.ingest([runbook_dir / "nope"])


def test_collection_from_another_model_is_refused(settings: Settings, runbook_dir: Path) -> None:
    kb = KnowledgeBase(settings)
    kb.ingest([runbook_dir])
    kb.close()
    other = KnowledgeBase(settings.model_copy(update={"embedding_model": "paraphrase-minilm-l3"}))
    with pytest.raises(EmbeddingModelError, match="minilm-l6-int8"):
        other.store.collection(DocumentKind.RUNBOOK)


def test_a_new_process_reopens_the_collection_with_our_embedding_function(
    settings: Settings, runbook_dir: Path
) -> None:
    KnowledgeBase(settings).ingest([runbook_dir])
    from opsagent.knowledge.store import connect

    collection = connect(settings).get_collection(f"{settings.collection_prefix}_runbook")
    # No embedding function passed: Chroma rebuilds ours from the collection's stored configuration.
    result = collection.query(query_texts=["no space left on device"], n_results=1)
    assert result["metadatas"][0][0]["source"] == "storage/disk-full.md"


class RecordingProgress:
    def __init__(self) -> None:
        self.total = -1
        self.seen: list[int] = []

    def start(self, total_bytes: int) -> None:
        self.total = total_bytes

    def advance(self, done_bytes: int, description: str) -> None:
        self.seen.append(done_bytes)


def test_progress_reaches_the_total_and_never_goes_back(settings: Settings, runbook_dir: Path) -> None:
    log = runbook_dir / "app.log"
    log.write_text("".join(f"2026-11-20T03:00:{i % 60:02d}Z INFO request {i} done\n" for i in range(50_000)))
    progress = RecordingProgress()
    kb = KnowledgeBase(settings)
    try:
        kb.ingest([runbook_dir], progress=progress)
    finally:
        kb.close()
    assert progress.total == sum(p.stat().st_size for p in runbook_dir.rglob("*") if p.is_file())
    assert progress.seen[-1] == progress.total
    assert progress.seen == sorted(progress.seen)
    assert len(set(progress.seen)) > 5  # the big log reports while it streams
