"""Several processes opening a fresh embedded store at once (`serve --processes N`, two workers)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

OPEN_AND_LIST = """
import sys
from pathlib import Path
from opsagent.config import Settings
from opsagent.knowledge.store import VectorStore
from opsagent.knowledge.models import DocumentKind
store = VectorStore(Settings(data_dir=Path(sys.argv[1])))
collections = store.client.list_collections()
print(store.count(DocumentKind.RUNBOOK), store.revision(DocumentKind.LOG), len(collections))
"""


def test_processes_opening_a_fresh_store_together_all_succeed(tmp_path: Path) -> None:
    # Without the open lock, Chroma's first-open schema/tenant creation raced here ("table collections
    # already exists", "Could not connect to tenant") in two runs of this test out of three.
    for round_no in range(4):
        data = tmp_path / f"data{round_no}"
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", OPEN_AND_LIST, str(data)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(6)
        ]
        results = [p.communicate(timeout=120) for p in procs]
        failures = [err[-2000:] for p, (_, err) in zip(procs, results, strict=True) if p.returncode != 0]
        assert not failures, failures
        assert all(out.split()[0] == "0" for out, _ in results)  # an empty store, readable by all
