from __future__ import annotations

from pathlib import Path

import numpy as np

from opsagent.knowledge.lexical import BM25Index, tokenize
from opsagent.knowledge.snapshot import identifier_forms, joined_name


def test_tokenize_splits_identifiers_and_keeps_them_whole() -> None:
    terms = tokenize("KubePodCrashLooping on payments-api: HTTPServerErrors")
    assert "kubepodcrashlooping" in terms
    assert {"kube", "pod", "crash", "loop"} <= set(terms)
    assert {"payment", "api", "http", "server", "error"} <= set(terms)
    assert "on" not in terms


def test_bm25_prefers_the_document_about_the_query() -> None:
    index = BM25Index.build(
        ["oom", "disk", "cert"],
        [
            "container OOMKilled exit code 137 memory limit",
            "no space left on device disk full",
            "x509 certificate expired renew",
        ],
    )
    assert index.top("pod killed: memory limit exceeded", 3)[0][0] == 0
    assert index.top("certificate has expired", 1)[0][0] == 2
    assert index.top("nothing in common", 3) == []


def test_bm25_mask_and_ceiling() -> None:
    index = BM25Index.build(["a", "b"], ["disk full", "disk full disk"])
    scores, ceiling = index.scores("disk full", mask=np.array([True, False]))
    assert scores[1] == 0 and scores[0] > 0
    assert ceiling >= scores.max()


def test_bm25_round_trips_through_disk(tmp_path: Path) -> None:
    index = BM25Index.build(["a", "b"], ["alpha beta", "gamma delta"])
    index.save(tmp_path / "idx")
    loaded = BM25Index.load(tmp_path / "idx")
    assert loaded.ids == ["a", "b"]
    np.testing.assert_allclose(loaded.scores("gamma")[0], index.scores("gamma")[0])


def test_names_match_across_spellings() -> None:
    assert (
        joined_name("Kube Pod Crash Looping") == joined_name("KubePodCrashLooping") == "kubepodcrashlooping"
    )
    assert joined_name("database") is None  # one-word names would match too much
    assert "kubepodcrashlooping" in identifier_forms("KubePodCrashLooping — pod is restarting")
