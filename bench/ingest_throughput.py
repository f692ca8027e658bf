"""Ingestion throughput vs the embedding model alone, on the same chunks (target ratio >= 0.8).

The model-alone number embeds exactly the texts ingestion embeds, with the same batch size, so the
ratio says how much the rest (reading, chunking, hashing, Chroma writes) costs on top.
Usage: python -m bench.ingest_throughput [--data DIR] [--copies N]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from bench.common import K8S_SET, emit, temp_knowledge_base
from opsagent.knowledge.files import discover, doc_id_for, read_text_file
from opsagent.knowledge.models import DocumentKind
from opsagent.knowledge.runbooks import chunk_runbook, parse_runbook, tags_from_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=K8S_SET / "runbooks")
    parser.add_argument("--copies", type=int, default=3, help="Copies of the corpus, for a longer run.")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="opsagent-corpus-") as corpus_dir:
        corpus = Path(corpus_dir)
        for copy in range(args.copies):
            shutil.copytree(args.data, corpus / f"copy{copy}")
        kb, tmp = temp_knowledge_base()
        try:
            root, files, _ = discover(corpus, DocumentKind.RUNBOOK)
            texts = []
            for found in files:
                runbook = parse_runbook(read_text_file(found.path, 10**7), found.source)
                chunks = chunk_runbook(
                    runbook,
                    root=str(root),
                    doc_id=doc_id_for(root, found.source),
                    file_hash="",
                    chunk_chars=kb.settings.chunk_chars,
                    tags_from_path=tags_from_path(found.source),
                )
                texts.extend(c.embedding_text() for c in chunks)
            kb.embedder.encode(texts[:64])  # load and warm the model for both measurements

            started = time.perf_counter()
            kb.embedder.encode(texts)
            model_seconds = time.perf_counter() - started

            started = time.perf_counter()
            report = kb.ingest([corpus], kind=DocumentKind.RUNBOOK)
            ingest_seconds = time.perf_counter() - started
        finally:
            kb.close()
            tmp.cleanup()
    emit(
        "ingest_throughput",
        {
            "benchmark": "ingest_throughput",
            "files": report.files_ingested,
            "chunks": report.chunks_added,
            "model_alone_chunks_per_s": round(len(texts) / model_seconds, 1),
            "ingest_chunks_per_s": round(report.chunks_added / ingest_seconds, 1),
            "ratio": round((report.chunks_added / ingest_seconds) / (len(texts) / model_seconds), 3),
            "target_ratio": 0.8,
        },
    )


if __name__ == "__main__":
    main()
