from __future__ import annotations

import numpy as np
import pytest
from chromadb.utils.embedding_functions import config_to_embedding_function

from opsagent.errors import EmbeddingModelError
from opsagent.knowledge.embeddings import (
    CHROMA_EF_NAME,
    OpsagentEmbeddingFunction,
    get_model_spec,
    load_embedder,
)


def test_vectors_are_unit_length_and_semantic() -> None:
    embedder = load_embedder("minilm-l6-int8")
    vectors = embedder.encode(
        ["pod OOMKilled, exit code 137", "container killed: out of memory", "TLS certificate expired"]
    )
    assert vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2


def test_length_bucketing_gives_the_same_vectors_as_one_at_a_time() -> None:
    embedder = load_embedder("minilm-l6-int8")
    texts = [
        "short",
        "a much longer text about disks filling up on the database node " * 5,
        "",
        "medium text here",
    ]
    together = embedder.encode(texts)
    alone = np.vstack([embedder.encode([t]) for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-4)


def test_long_text_is_truncated_not_rejected() -> None:
    embedder = load_embedder("minilm-l6-int8")
    assert embedder.token_count("word " * 2000) == 256
    assert embedder.encode(["word " * 2000]).shape == (1, 384)


def test_unknown_model_is_a_clear_error() -> None:
    with pytest.raises(EmbeddingModelError, match="Known models"):
        get_model_spec("bert-huge")


def test_chroma_rebuilds_our_function_from_a_stored_config() -> None:
    function = config_to_embedding_function({"name": CHROMA_EF_NAME, "config": {"model": "minilm-l6-int8"}})
    assert isinstance(function, OpsagentEmbeddingFunction)
    assert function.get_config() == {"model": "minilm-l6-int8"}
    assert len(function(["hello"])[0]) == 384


def test_batches_pad_to_their_own_longest_text_not_to_the_maximum() -> None:
    from opsagent.knowledge.embeddings import OnnxEmbedder, get_model_spec

    embedder = OnnxEmbedder(get_model_spec("minilm-l6-int8"), batch_size=2)
    widths: list[tuple[int, int]] = []
    real_run = embedder._session.run

    def recording_run(outputs, feeds):  # type: ignore[no-untyped-def]
        widths.append(feeds["input_ids"].shape)
        return real_run(outputs, feeds)

    embedder._session = type("Spy", (), {"run": staticmethod(recording_run)})()  # type: ignore[assignment]
    texts = ["tiny", "long text " * 200, "a b", "medium sized text here"]
    embedder.encode(texts)
    # Sorted by length: the two short texts share a narrow batch, the long one is capped at 256 tokens.
    assert widths[0][1] < 10
    assert widths[-1][1] == 256
    assert len(widths) == 2
