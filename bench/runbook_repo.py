"""Alert -> runbook on a runbook repository as it is (READMEs, index pages, templates and all).

Ingests the raw folder into a fresh store with the default ignore rules, then, for each alert:
- search only (the alert's name, title and description, WITHOUT its runbook link, which would make
  the answer trivial): R@1/3/5 and MRR at document level;
- separately, how many of the alerts' runbook links (`runbook_url`, `runbook`, ...) resolve to the
  right ingested document (`KnowledgeBase.runbook_for_link`).

An alert is a JSON line: {"id", "alert", "labels", "annotations", "text", "expected"}, where `expected`
is the runbook's path (matched as a path suffix of root/source, so DIR may be the repo or a sub-folder);
alerts whose `expected` is null are left out.
`--exclude GLOB` (repeatable) is passed to ingestion, e.g. `--exclude 'README.*'` reproduces a walk that
skips READMEs. No data is bundled: point it at a checkout.
Usage: python -m bench.runbook_repo --runbooks DIR --alerts FILE.jsonl [--exclude GLOB ...]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path, PurePosixPath
from typing import Any

from bench.common import emit, percentile, temp_knowledge_base
from opsagent.incidents.models import Alert
from opsagent.knowledge.links import runbook_links
from opsagent.knowledge.models import DocumentKind, SearchHit
from opsagent.knowledge.search import SearchFilters

FOLDER_PAGES = {"readme", "index", "_index"}


def _is(hit: SearchHit, expected: str) -> bool:
    full = PurePosixPath(hit.root, hit.source).as_posix()
    return full == expected or full.endswith("/" + expected.lstrip("./"))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runbooks", type=Path, required=True, help="The runbook folder (a checkout).")
    parser.add_argument("--alerts", type=Path, required=True, help="Alerts as JSON lines (see above).")
    parser.add_argument("--exclude", action="append", default=[], metavar="GLOB", help="Passed to ingest.")
    parser.add_argument("--name", default="runbook_repo", help="Result file name in bench/results/.")
    args = parser.parse_args()

    kb, tmp = temp_knowledge_base()
    try:
        started = time.perf_counter()
        report = kb.ingest([args.runbooks], kind=DocumentKind.RUNBOOK, excludes=args.exclude)
        ingest_seconds = time.perf_counter() - started
        sources = {
            str(meta.get("source", ""))
            for _, _, meta in kb.store.iter_records(DocumentKind.RUNBOOK, include_documents=False)
        }
        rows = [json.loads(line) for line in args.alerts.read_text().splitlines() if line.strip()]
        alerts = [row for row in rows if row.get("expected")]  # alerts with no runbook: not scored here
        filters = SearchFilters(kind=DocumentKind.RUNBOOK)
        ranks: list[int | None] = []
        latencies: list[float] = []
        misses: list[dict[str, Any]] = []
        links = {"alerts_with_link": 0, "resolved_right": 0, "resolved_wrong": 0, "unresolved": 0}
        unresolved: list[dict[str, Any]] = []
        for row in alerts:
            t0 = time.perf_counter()
            hits = kb.search(row["text"], 5, filters)
            latencies.append((time.perf_counter() - t0) * 1000)
            rank = next((i + 1 for i, hit in enumerate(hits) if _is(hit, row["expected"])), None)
            ranks.append(rank)
            if rank != 1:
                got = [h.source for h in hits[:3]]
                misses.append(
                    {"id": row["id"], "alert": row["alert"], "expected": row["expected"], "got": got}
                )
            alert = Alert(
                name=row["alert"],
                fingerprint=row["id"],
                labels=row.get("labels", {}),
                annotations=row.get("annotations", {}),
            )
            alert_links = runbook_links(alert)
            if not alert_links:
                continue
            links["alerts_with_link"] += 1
            linked = next((h for h in map(kb.runbook_for_link, alert_links) if h is not None), None)
            if linked is None:
                links["unresolved"] += 1
                unresolved.append({"id": row["id"], "links": alert_links})
            elif _is(linked, row["expected"]):
                links["resolved_right"] += 1
            else:
                links["resolved_wrong"] += 1
                unresolved.append({"id": row["id"], "links": alert_links, "resolved_to": linked.source})
        n = len(ranks)
        metrics = {
            f"R@{k}": round(sum(1 for r in ranks if r is not None and r <= k) / n, 3) for k in (1, 3, 5)
        }
        metrics["MRR"] = round(sum(1 / r for r in ranks if r) / n, 3)
        with_link = links["alerts_with_link"]
        result = {
            "benchmark": "runbook_repo",
            "runbooks": str(args.runbooks),
            "excludes": args.exclude,
            "files_ingested": report.files_ingested,
            "folder_pages_ingested": sum(PurePosixPath(s).stem.lower() in FOLDER_PAGES for s in sources),
            "chunks": report.chunks_added,
            "alerts": n,
            "alerts_expecting_a_folder_page": sum(
                PurePosixPath(a["expected"]).stem.lower() in FOLDER_PAGES for a in alerts
            ),
            "search_only": metrics,
            "link_resolution": {
                **links,
                "rate": round(links["resolved_right"] / with_link, 3) if with_link else None,
            },
            "ingest_seconds": round(ingest_seconds, 2),
            "search_ms_p50": round(percentile(latencies, 50), 1),
            "misses": misses,
            "links_not_resolved_right": unresolved,
        }
        emit(args.name, result)
    finally:
        kb.close()
        tmp.cleanup()


if __name__ == "__main__":
    main()
