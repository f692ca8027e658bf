"""`runbook_url` and friends: which links an alert carries, and which ingested runbook each points at."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from opsagent.config import Settings
from opsagent.incidents.models import Alert
from opsagent.integrations.opsgenie import parse_opsgenie
from opsagent.integrations.pagerduty import parse_pagerduty
from opsagent.knowledge.base import KnowledgeBase
from opsagent.knowledge.links import LinkedDocument, is_link_key, resolve_link, runbook_links

ROOT = "/srv/runbooks"
DOCS = [
    LinkedDocument(f"d{i}", ROOT, source)
    for i, source in enumerate(
        [
            "docs/gitaly/README.md",
            "docs/gitaly/gitaly-latency.md",
            "docs/patroni/postgres.md",
            "docs/redis/README.md",
            "docs/redis.md",
            "content/runbooks/kubernetes/KubePodCrashLooping.md",
            "content/runbooks/kubernetes/_index.md",
            "content/runbooks/node/node_filesystem_space_filling_up.md",
            "team-a/disk-full.md",
            "team-b/disk-full.md",
        ]
    )
]
BY_SOURCE = {doc.source: doc for doc in DOCS}


@pytest.mark.parametrize(
    "key",
    ["runbook_url", "runbook", "runbookURL", "Runbook-Link", "runbook_link", "playbook", "playbook_url"],
)
def test_link_keys_in_any_case_or_separator(key: str) -> None:
    assert is_link_key(key)


@pytest.mark.parametrize("key", ["summary", "description", "generatorURL", "dashboard_url", "runbook_owner"])
def test_other_keys_are_not_links(key: str) -> None:
    assert not is_link_key(key)


def test_an_alert_s_links_come_from_annotations_then_labels_each_once() -> None:
    alert = Alert(
        name="GitalyDown",
        fingerprint="f",
        annotations={
            "summary": "down",
            "runbook_url": " https://x/docs/gitaly/README.md ",
            "runbookURL": "b.md",
        },
        labels={"runbook": "https://x/docs/gitaly/README.md", "playbook": "c.md", "job": "gitaly"},
    )
    assert runbook_links(alert) == ["https://x/docs/gitaly/README.md", "b.md", "c.md"]
    assert runbook_links(Alert(name="x", fingerprint="f", annotations={"runbook_url": "  "})) == []


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        ("https://github.com/acme/runbooks/blob/main/docs/gitaly/README.md", "docs/gitaly/README.md"),
        ("https://github.com/acme/runbooks/tree/main/docs/gitaly", "docs/gitaly/README.md"),
        (
            "https://raw.githubusercontent.com/acme/runbooks/main/docs/gitaly/gitaly-latency.md",
            "docs/gitaly/gitaly-latency.md",
        ),
        (
            "https://gitlab.com/gitlab-com/runbooks/-/blob/master/docs/patroni/postgres.md#replication-is-lagging",
            "docs/patroni/postgres.md",
        ),
        (
            "https://gitlab.com/group/sub/runbooks/-/raw/v1.2/docs/gitaly/README.md?inline=false",
            "docs/gitaly/README.md",
        ),
        (
            "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepodcrashlooping",
            "content/runbooks/kubernetes/KubePodCrashLooping.md",
        ),
        (
            "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepodcrashlooping/",
            "content/runbooks/kubernetes/KubePodCrashLooping.md",
        ),
        (
            "https://runbooks.example.com/runbooks/kubernetes/KubePodCrashLooping.html#diagnosis",
            "content/runbooks/kubernetes/KubePodCrashLooping.md",
        ),
        ("https://runbooks.example.com/runbooks/kubernetes/", "content/runbooks/kubernetes/_index.md"),
        (
            "https://runbooks.example.com/node/node-filesystem-space-filling-up",
            "content/runbooks/node/node_filesystem_space_filling_up.md",
        ),
        ("docs/patroni/postgres.md#replication", "docs/patroni/postgres.md"),
        ("./gitaly/gitaly-latency.md", "docs/gitaly/gitaly-latency.md"),
        ("https://github.com/acme/runbooks/blob/main/docs/redis/README.md", "docs/redis/README.md"),
        ("https://github.com/acme/runbooks/blob/main/docs/redis.md", "docs/redis.md"),
        ("https://github.com/acme/runbooks/blob/main/team-a/disk-full.md", "team-a/disk-full.md"),
        ("https://wiki.example.com/pages/docs%2Fgitaly%2Fgitaly-latency.md", "docs/gitaly/gitaly-latency.md"),
    ],
)
def test_links_resolve_by_the_longest_path_suffix(link: str, expected: str) -> None:
    assert resolve_link(link, DOCS) == BY_SOURCE[expected]


@pytest.mark.parametrize(
    "link",
    [
        "https://wiki.example.com/runbooks/disk-full.md",  # team-a and team-b agree equally well
        "https://wiki.example.com/display/OPS/KubePodCrashLooping",  # the name alone, no folder agrees
        "https://github.com/acme/runbooks/blob/main/docs/patroni/README.md",  # names a file not ingested
        "https://runbooks.example.com/redis",  # docs/redis.md and docs/redis/README.md
        "https://wiki.example.com/display/OPS/Elasticsearch",  # nothing of that name
        "https://runbooks.example.com/",
        "",
    ],
)
def test_ambiguous_or_unknown_links_resolve_to_nothing(link: str) -> None:
    assert resolve_link(link, DOCS) is None


def test_opsgenie_details_and_pagerduty_custom_details_keep_their_runbook_link() -> None:
    opsgenie = parse_opsgenie(
        {
            "action": "Create",
            "alert": {
                "alertId": "a1",
                "message": "Gitaly down",
                "details": {"runbook_url": "https://x/docs/gitaly/README.md", "host": "file-01"},
            },
        }
    )[0]
    assert runbook_links(opsgenie) == ["https://x/docs/gitaly/README.md"]
    pagerduty = parse_pagerduty(
        {
            "event": {
                "event_type": "incident.triggered",
                "occurred_at": "2026-11-20T03:00:00Z",
                "data": {
                    "id": "P1",
                    "title": "Gitaly down",
                    "body": {"details": {"Runbook": "https://x/docs/gitaly/README.md", "cpu": 97}},
                },
            }
        }
    )[0]
    assert runbook_links(pagerduty) == ["https://x/docs/gitaly/README.md"]


@pytest.fixture
def linked_kb(settings: Settings, tmp_path: Path) -> Iterator[KnowledgeBase]:
    root = tmp_path / "runbooks"
    files = {
        "docs/gitaly/README.md": "---\nservice: gitaly\nactions: [restart_service]\n---\n# Gitaly\n\n"
        "Gitaly serves git over gRPC.\n\n## Restart\n\nRestart the gitaly process.\n",
        "docs/gitaly/gitaly-latency.md": "# Gitaly latency\n\nSlow RPCs on the file servers.\n",
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    knowledge = KnowledgeBase(settings)
    knowledge.ingest([root])
    yield knowledge
    knowledge.close()


def test_the_knowledge_base_answers_a_link_with_the_document_s_first_chunk(linked_kb: KnowledgeBase) -> None:
    hit = linked_kb.runbook_for_link("https://gitlab.com/acme/runbooks/-/blob/main/docs/gitaly/README.md")
    assert hit is not None
    assert (hit.source, hit.title, hit.score, hit.service) == (
        "docs/gitaly/README.md",
        "Gitaly",
        1.0,
        "gitaly",
    )
    assert hit.actions == ["restart_service"]
    assert "gRPC" in hit.snippet
    assert hit.citation.source == "docs/gitaly/README.md" and hit.citation.line_start == 7
    assert (
        linked_kb.runbook_for_link("https://gitlab.com/acme/runbooks/-/blob/main/docs/redis/README.md")
        is None
    )


def test_a_link_follows_re_ingest(linked_kb: KnowledgeBase, tmp_path: Path) -> None:
    link = "https://runbooks.example.com/gitaly/gitaly-latency/"
    assert linked_kb.runbook_for_link(link) is not None
    (tmp_path / "runbooks" / "docs" / "gitaly" / "gitaly-latency.md").unlink()
    linked_kb.ingest([tmp_path / "runbooks"])
    assert linked_kb.runbook_for_link(link) is None


def test_an_empty_store_resolves_nothing(settings: Settings) -> None:
    knowledge = KnowledgeBase(settings)
    try:
        assert knowledge.runbook_for_link("docs/gitaly/README.md") is None
    finally:
        knowledge.close()
