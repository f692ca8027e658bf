from __future__ import annotations

import pytest

from opsagent.knowledge.runbooks import (
    RunbookError,
    chunk_runbook,
    parse_runbook,
    split_front_matter,
    tags_from_path,
)


def _chunks(text: str, source: str = "area/doc.md", chunk_chars: int = 1000):
    runbook = parse_runbook(text, source)
    return runbook, chunk_runbook(
        runbook,
        root="/r",
        doc_id="d1",
        file_hash="h",
        chunk_chars=chunk_chars,
        tags_from_path=tags_from_path(source),
    )


def test_yaml_front_matter_fields_reach_every_chunk() -> None:
    text = (
        "---\ntitle: Disk full\nservice: [db]\ntags: disk\nalerts: [DiskAlmostFull]\nactions: [prune]\n---\n"
        "# Disk full\n\n## Meaning\nNo space.\n\n## Mitigation\nPrune.\n"
    )
    runbook, chunks = _chunks(text, "storage/disk.md")
    assert runbook.title == "Disk full"
    assert [c.section for c in chunks] == ["Meaning", "Mitigation"]
    for chunk in chunks:
        assert chunk.service == "db"
        assert chunk.actions == ["prune"]
        assert "DiskAlmostFull" in chunk.alerts
        assert chunk.tags == ["disk", "storage"]


def test_hugo_toml_front_matter() -> None:
    front, body, consumed = split_front_matter('+++\ntitle = "Cert expiry"\ntags = ["tls"]\n+++\n# X\n')
    assert front == {"title": "Cert expiry", "tags": ["tls"]}
    assert body == "# X\n"
    assert consumed == 4


@pytest.mark.parametrize(
    "text", ["---\ntitle: [unclosed\n---\nbody", "---\ntitle: x\nno closing marker", "---\n- a\n- b\n---\n"]
)
def test_broken_front_matter_is_an_error(text: str) -> None:
    with pytest.raises(RunbookError, match="front matter"):
        split_front_matter(text)


def test_line_numbers_point_into_the_original_file() -> None:
    text = "---\ntitle: T\n---\n# T\n\n## Diagnosis\n\nstep one\nstep two\n\n### Logs\n\ngrep it\n"
    lines = text.split("\n")
    _, chunks = _chunks(text)
    by_section = {c.section: c for c in chunks}
    diagnosis = by_section["Diagnosis"]
    assert lines[diagnosis.line_start - 1] == "step one"
    assert lines[diagnosis.line_end - 1] == "step two"
    logs = by_section["Diagnosis > Logs"]
    assert lines[logs.line_start - 1] == "grep it"


def test_hash_inside_code_fence_is_not_a_heading() -> None:
    text = "# T\n\n## Fix\n\n```bash\n# not a heading\nkubectl get pods\n```\n"
    _, chunks = _chunks(text)
    assert [c.section for c in chunks] == ["Fix"]
    assert "# not a heading" in chunks[0].body


def test_long_sections_are_split_within_the_size_limit() -> None:
    paragraph = "word " * 150  # ~750 chars
    text = "# T\n\n## Big\n\n" + "\n\n".join([paragraph] * 4) + "\n\n" + ("x" * 2500) + "\n"
    _, chunks = _chunks(text, chunk_chars=1000)
    assert len(chunks) >= 6
    assert all(len(c.body) <= 1000 for c in chunks)
    assert all(c.section == "Big" for c in chunks)


def test_plain_text_runbook_takes_title_from_first_line() -> None:
    runbook, chunks = _chunks("Kafka consumer lag\n\nConsumers fall behind.\n", "kafka-lag.txt")
    assert runbook.title == "Kafka consumer lag"
    assert chunks and chunks[0].title == "Kafka consumer lag"


def test_names_include_h1_and_file_stem() -> None:
    runbook, chunks = _chunks(
        "---\ntitle: Kube Pod Crash Looping\n---\n# KubePodCrashLooping\n\ntext\n", "k/KubePodCrashLooping.md"
    )
    assert runbook.title == "Kube Pod Crash Looping"
    assert "KubePodCrashLooping" in chunks[0].alerts


def test_embedding_text_carries_title_and_section() -> None:
    _, chunks = _chunks("# Disk full\n\n## Meaning\n\nNo space left.\n")
    assert chunks[0].embedding_text().startswith("Disk full > Meaning\n\n")


def test_a_comment_in_a_code_fence_is_never_the_title() -> None:
    runbook, _ = _chunks(
        "## Steps\n\n```bash\n# drain the node first\nkubectl drain x\n```\n", "ops/drain-node.md"
    )
    assert runbook.title == "drain-node"


def test_headings_with_closing_hashes_and_long_padding() -> None:
    text = "# Disk full ##\n\n## Fix" + " " * 3000 + "now\n\nbody\n"
    runbook, chunks = _chunks(text)
    assert runbook.title == "Disk full"
    assert chunks[0].section == "Fix" + " " * 3000 + "now"
