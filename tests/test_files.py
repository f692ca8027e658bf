from __future__ import annotations

from pathlib import Path

import pytest

from opsagent.errors import IngestError
from opsagent.knowledge.files import detect_kind, discover
from opsagent.knowledge.models import DocumentKind


def test_detects_runbooks_and_logs(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# A\n")
    (tmp_path / "app.log").write_text("x\n")
    (tmp_path / "app.log.1").write_text("x\n")
    (tmp_path / "events.jsonl").write_text("{}\n")
    (tmp_path / "notes.txt").write_text("How to fix the queue\n\nSteps follow.\n")
    (tmp_path / "dump.txt").write_text("2026-11-20T03:00:00Z ERROR boom\n" * 5)
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    kinds = {p.name: detect_kind(p) for p in tmp_path.iterdir()}
    assert kinds == {
        "a.md": DocumentKind.RUNBOOK,
        "app.log": DocumentKind.LOG,
        "app.log.1": DocumentKind.LOG,
        "events.jsonl": DocumentKind.LOG,
        "notes.txt": DocumentKind.RUNBOOK,
        "dump.txt": DocumentKind.LOG,
        "image.png": None,
    }


def test_discover_skips_hidden_dirs_readmes_and_symlinks(tmp_path: Path) -> None:
    root = tmp_path / "kb"
    (root / "sub").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / ".git" / "x.md").write_text("# hidden\n")
    (root / "README.md").write_text("# About this folder\n")
    (root / "sub" / "real.md").write_text("# Real\n")
    outside = tmp_path / "outside.md"
    outside.write_text("# Outside\n")
    (root / "link.md").symlink_to(outside)
    found_root, files, _ = discover(root)
    assert found_root == root.resolve()
    assert [f.source for f in files] == ["sub/real.md"]


def test_discover_single_file_and_unknown_type(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("# Explicitly asked for\n")
    _, files, _ = discover(tmp_path / "README.md")
    assert [f.source for f in files] == ["README.md"]
    (tmp_path / "x.bin").write_bytes(b"\x00")
    with pytest.raises(IngestError, match="--kind"):
        discover(tmp_path / "x.bin")
