"""Runbook repositories as they are: READMEs and index pages are runbooks, repo files and templates are
not, and `.opsagentignore` / `--exclude` say more (gitignore syntax), also on re-ingest."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from opsagent.config import Settings
from opsagent.knowledge.base import KnowledgeBase
from opsagent.knowledge.files import discover
from opsagent.knowledge.ignore import IgnoreRules
from opsagent.knowledge.models import DocumentKind
from opsagent.knowledge.runbooks import parse_runbook
from opsagent.knowledge.search import SearchFilters

RUNBOOKS = SearchFilters(kind=DocumentKind.RUNBOOK)


def _tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _sources(root: Path, excludes: tuple[str, ...] = ()) -> list[str]:
    return [f.source for f in discover(root, excludes=excludes)[1]]


REPO = {
    "README.md": "# Our runbooks\n\nHow this repository is organised.\n",
    "LICENSE": "MIT\n",
    "LICENSE.md": "MIT\n",
    "CHANGELOG.md": "## 1.0\n",
    "CONTRIBUTING.md": "# Contributing\n",
    "CODE_OF_CONDUCT.md": "# Be nice\n",
    "SECURITY.md": "# Reporting vulnerabilities\n",
    "template.md": "# <Service name>\n",
    ".github/PULL_REQUEST_TEMPLATE.md": "## What\n",
    "docs/_template.md": "# <Alert>\n",
    "docs/runbook-template.md": "# <Alert>\n",
    "docs/ISSUE_TEMPLATE/bug.md": "# Bug\n",
    "docs/templates/service.md": "# Service\n",
    "docs/gitaly/README.md": "# Gitaly\n\nGit RPC service. When gitaly is down, check the gitaly process.\n",
    "docs/gitaly/gitaly-latency.md": "# Gitaly latency\n\nSlow RPCs.\n",
    "docs/patroni/readme.md": "Postgres HA with Patroni.\n",
    "docs/security.md": "# Security incidents\n\nWho to page for a breach.\n",
    "content/runbooks/kubernetes/_index.md": '---\ntitle: "Kubernetes"\n---\n',
    "content/runbooks/kubernetes/KubePodCrashLooping.md": "# KubePodCrashLooping\n\nA pod restarts.\n",
    "site/node/index.md": "# Node runbooks\n\nDisk, memory.\n",
}


def test_readmes_and_index_pages_in_subfolders_are_runbooks_repo_files_and_templates_are_not(
    tmp_path: Path,
) -> None:
    root = _tree(tmp_path / "repo", REPO)
    assert _sources(root) == [
        "content/runbooks/kubernetes/KubePodCrashLooping.md",
        "content/runbooks/kubernetes/_index.md",
        "docs/gitaly/README.md",
        "docs/gitaly/gitaly-latency.md",
        "docs/patroni/readme.md",
        "docs/security.md",  # lower-case: a team's runbook, not GitHub's SECURITY.md policy
        "site/node/index.md",
    ]


def test_the_readme_of_a_leaf_folder_is_its_runbook(tmp_path: Path) -> None:
    # `opsagent ingest docs/gitaly/`: the folder has no sub-folders, so its README is the runbook itself.
    root = _tree(tmp_path / "gitaly", {"README.md": "# Gitaly\n", "latency.md": "# Latency\n"})
    assert _sources(root) == ["README.md", "latency.md"]


@pytest.mark.parametrize(
    ("source", "text", "title", "name"),
    [
        ("docs/gitaly/README.md", "Git RPC service.\n", "gitaly", "gitaly"),
        ("docs/gitaly/README.md", "# Gitaly Service\n\nGit RPC.\n", "Gitaly Service", "gitaly"),
        (
            "content/kubernetes/_index.md",
            '---\ntitle: "Kubernetes alerts"\n---\n',
            "Kubernetes alerts",
            "kubernetes",
        ),
        ("site/node/index.md", "Disk and memory.\n", "node", "node"),
        ("docs/redis/readme.markdown", "## Fix\n\nRestart it.\n", "redis", "redis"),
    ],
)
def test_a_folder_page_is_titled_and_named_after_its_folder(
    source: str, text: str, title: str, name: str
) -> None:
    runbook = parse_runbook(text, source)
    assert runbook.title == title
    names = [runbook.title, *runbook.aliases]
    assert name in names
    assert not any(n.lower() in {"readme", "index", "_index"} for n in names)


def test_a_readme_at_the_top_takes_the_root_folder_name(tmp_path: Path) -> None:
    assert parse_runbook("No heading here.\n", "README.md", folder="gitaly").title == "gitaly"


def test_opsagentignore_uses_gitignore_syntax_and_nests_like_git(tmp_path: Path) -> None:
    root = _tree(
        tmp_path / "repo",
        {
            ".opsagentignore": "# drafts and archives\ndrafts/\n*.draft.md\n!keep.draft.md\n!/README.md\n",
            "README.md": "# Everything about our services\n",
            "a/one.md": "# One\n",
            "a/two.draft.md": "# Two\n",
            "a/keep.draft.md": "# Keep\n",
            "drafts/x.md": "# X\n",
            "b/.opsagentignore": "/local.md\nsub/\n",
            "b/local.md": "# Local\n",
            "b/c/local.md": "# Deeper local\n",  # `/local.md` is anchored to b/, so this one stays
            "b/sub/y.md": "# Y\n",
            "c/README.md": "# C\n",
        },
    )
    assert _sources(root) == ["README.md", "a/keep.draft.md", "a/one.md", "b/c/local.md", "c/README.md"]


def test_exclude_patterns_apply_last_and_are_relative_to_the_folder(tmp_path: Path) -> None:
    root = _tree(
        tmp_path / "repo",
        {
            ".opsagentignore": "!/a/old.md\n",
            "a/old.md": "# Old\n",
            "a/new.md": "# New\n",
            "b/README.md": "# B\n",
            "b/notes.log": "2026-11-20T03:00:00Z INFO x\n",
        },
    )
    assert _sources(root, ("old.md", "*.log")) == ["a/new.md", "b/README.md"]
    assert _sources(root, ("/a/",)) == ["b/README.md", "b/notes.log"]
    rules = IgnoreRules(root, ("old.md",))
    assert rules.ignored("a/old.md").by_user and not rules.ignored("a/new.md").ignored
    assert rules.ignored("LICENSE").ignored and not rules.ignored("LICENSE").by_user


@pytest.fixture
def embedded_kb(settings: Settings) -> Iterator[KnowledgeBase]:
    knowledge = KnowledgeBase(settings)
    yield knowledge
    knowledge.close()


def _stored(kb: KnowledgeBase) -> list[str]:
    return sorted(
        {str(m["source"]) for _, _, m in kb.store.iter_records(DocumentKind.RUNBOOK, include_documents=False)}
    )


def test_re_ingest_follows_the_ignore_rules_both_ways(embedded_kb: KnowledgeBase, tmp_path: Path) -> None:
    root = _tree(
        tmp_path / "repo",
        {
            "docs/gitaly/README.md": "# Gitaly\n\nGit RPC service.\n",
            "docs/redis/README.md": "# Redis\n\nCache.\n",
            "docs/redis/old.md": "# Old redis notes\n\nObsolete.\n",
        },
    )
    embedded_kb.ingest([root])
    assert _stored(embedded_kb) == ["docs/gitaly/README.md", "docs/redis/README.md", "docs/redis/old.md"]

    (root / "docs" / "redis" / ".opsagentignore").write_text("old.md\n")
    report = embedded_kb.ingest([root])
    assert report.files_removed == 1
    assert _stored(embedded_kb) == ["docs/gitaly/README.md", "docs/redis/README.md"]

    report = embedded_kb.ingest([root], excludes=["gitaly/"])
    assert report.files_removed == 1
    assert _stored(embedded_kb) == ["docs/redis/README.md"]

    (root / "docs" / "redis" / ".opsagentignore").unlink()
    report = embedded_kb.ingest([root])
    assert report.files_ingested == 2 and report.files_removed == 0
    assert _stored(embedded_kb) == ["docs/gitaly/README.md", "docs/redis/README.md", "docs/redis/old.md"]


def test_a_store_built_before_readmes_counted_picks_them_up(
    embedded_kb: KnowledgeBase, tmp_path: Path
) -> None:
    # What an upgrade looks like: the store holds the files the old walk kept, the READMEs are new to it.
    root = _tree(tmp_path / "repo", {"docs/gitaly/gitaly-latency.md": "# Gitaly latency\n\nSlow RPCs.\n"})
    embedded_kb.ingest([root])
    (root / "docs" / "gitaly" / "README.md").write_text("# Gitaly\n\nGit RPC service.\n")
    report = embedded_kb.ingest([root])
    assert report.files_ingested == 1 and report.files_unchanged == 1
    assert "docs/gitaly/README.md" in _stored(embedded_kb)


def test_a_readme_runbook_is_found_by_its_folder_name(embedded_kb: KnowledgeBase, tmp_path: Path) -> None:
    root = _tree(
        tmp_path / "repo",
        {
            "docs/camoproxy/README.md": "<!-- generated -->\n\n**Contents**\n\nSee the dashboards.\n",
            "docs/pgbouncer/README.md": "# PgBouncer\n\nConnection pooler in front of Postgres.\n",
            "docs/frontend/haproxy.md": "# HAProxy\n\nLoad balancer.\n",
        },
    )
    embedded_kb.ingest([root])
    hits = embedded_kb.search(
        "CamoproxyServiceServerErrorSLOViolation camoproxy service error rate", 3, RUNBOOKS
    )
    assert hits[0].source == "docs/camoproxy/README.md"
    assert hits[0].title == "camoproxy"


def test_the_demo_knowledge_base_keeps_its_logs_readme_out(tmp_path: Path) -> None:
    knowledge = Path(__file__).resolve().parents[1] / "knowledge"
    sources = _sources(knowledge)
    assert "logs/README.md" not in sources and "README.md" not in sources
    assert sum(s.startswith("runbooks/") for s in sources) >= 18
