"""Logs end to end through the knowledge base: templates in Chroma, raw lines in SQLite."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from opsagent.cli import app
from opsagent.knowledge.base import KnowledgeBase
from opsagent.knowledge.models import DocumentKind
from opsagent.knowledge.search import SearchFilters
from opsagent.timeparse import parse_time

LOGS = SearchFilters(kind=DocumentKind.LOG)


def write_logs(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(600):
        minute, second = divmod(i, 60)
        ts = f"2026-11-20T03:{minute:02d}:{second:02d}Z"
        lines.append(
            json.dumps(
                {
                    "ts": ts,
                    "level": "info",
                    "service": "payments-api",
                    "msg": f"GET /v1/charges/{1000 + i} 200 in {i % 37}ms",
                }
            )
        )
        if i >= 400 and i % 5 == 0:
            lines.append(
                json.dumps(
                    {
                        "ts": ts,
                        "level": "error",
                        "service": "payments-api",
                        "msg": f"container exited with code 137 reason=OOMKilled pod=api-{i}",
                    }
                )
            )
    (root / "payments-api.log").write_text("\n".join(lines) + "\n")
    db = [
        f"2026-11-20 03:{i // 60:02d}:{i % 60:02d}.000 UTC [{4000 + i}] FATAL:  "
        "sorry, too many clients already"
        for i in range(300, 330)
    ]
    (root / "inventory-db.log").write_text("\n".join(db) + "\n")
    return root


def test_log_templates_are_searchable_with_counts_and_line_ranges(kb: KnowledgeBase, tmp_path: Path) -> None:
    root = write_logs(tmp_path / "logs")
    report = kb.ingest([root])
    assert report.files_ingested == 2 and report.log_lines == 600 + 40 + 30
    hits = kb.search("pods killed with exit code 137", 3, LOGS)
    oom = hits[0]
    assert oom.kind is DocumentKind.LOG and oom.source == "payments-api.log"
    assert "OOMKilled" in oom.title and oom.count == 40
    assert oom.first_seen == parse_time("2026-11-20T03:06:40Z")
    assert oom.citation.line_start is not None and oom.citation.line_end > oom.citation.line_start
    assert oom.service == "payments-api"

    db = kb.search("too many clients", 1, LOGS)[0]
    assert db.source == "inventory-db.log" and db.count == 30


def test_log_filters_service_and_time_window(kb: KnowledgeBase, tmp_path: Path) -> None:
    kb.ingest([write_logs(tmp_path / "logs")])
    only_db = kb.search(
        "exit code 137 error", 5, SearchFilters(kind=DocumentKind.LOG, service="inventory-db")
    )
    assert only_db and all(h.source == "inventory-db.log" and h.service == "inventory-db" for h in only_db)
    early = kb.search(
        "container exited with code 137",
        5,
        SearchFilters(kind=DocumentKind.LOG, until=parse_time("2026-11-20T03:05:00Z")),
    )
    assert all("OOMKilled" not in h.title for h in early)  # the OOM kills start at 03:06:40
    lines = kb.search_log_lines("OOMKilled", since=parse_time("2026-11-20T03:09:00Z"))
    assert lines and all(
        line.ts is not None and line.ts >= parse_time("2026-11-20T03:09:00Z") for line in lines
    )
    assert all("OOMKilled" in line.text for line in lines)


def test_changed_and_deleted_log_files(kb: KnowledgeBase, tmp_path: Path) -> None:
    root = write_logs(tmp_path / "logs")
    kb.ingest([root])
    (root / "inventory-db.log").unlink()
    payments = root / "payments-api.log"
    payments.write_text(
        payments.read_text()
        + json.dumps(
            {
                "ts": "2026-11-20T04:00:00Z",
                "level": "error",
                "service": "payments-api",
                "msg": "disk quota exceeded",
            }
        )
        + "\n"
    )
    report = kb.ingest([root])
    assert (report.files_ingested, report.files_removed) == (1, 1)
    assert kb.search_log_lines("too many clients") == []
    assert {source for _, source, _ in kb.log_store.sources()} == {"payments-api.log"}
    sources = {
        meta["source"] for _, _, meta in kb.store.iter_records(DocumentKind.LOG, include_documents=False)
    }
    assert sources == {"payments-api.log"}
    assert kb.search("disk quota exceeded", 1, LOGS)[0].count == 1


def test_logs_command(tmp_path: Path) -> None:
    env = {"OPSAGENT_DATA_DIR": str(tmp_path / "data")}
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", str(write_logs(tmp_path / "logs"))], env=env).exit_code == 0
    result = runner.invoke(app, ["logs", "too many clients", "--limit", "3", "--json"], env=env)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 3 and all("too many clients" in r["text"] for r in rows)
