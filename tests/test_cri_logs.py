"""Container runtime (CRI) log lines, as kubelet writes /var/log/pods/<ns>_<pod>_<uid>/<container>/0.log."""

from __future__ import annotations

from pathlib import Path

from opsagent.knowledge.log_ingest import default_service_from_path
from opsagent.knowledge.logs import LineParser

CRI = [
    "2026-12-02T01:02:03.123456789Z stderr F Traceback (most recent call last):",
    '2026-12-02T01:02:03.123456789Z stderr F   File "/app/worker.py", line 3, in <module>',
    "2026-12-02T01:02:03.123456789Z stderr F KeyError: 'INVOICE_BUCKET'",
    "2026-12-02T01:02:04.000000000Z stdout F "
    '{"level":"warn","ts":"2026-12-02T01:02:04.5Z","msg":"slow fdatasync"}',
    "2026-12-02T01:02:05Z stdout F ",
    "2026-12-02T01:02:06.1+01:00 stderr F E1202 00:02:06.100000 1 reflector.go:1] watch failed",
]


def test_cri_lines_are_dated_by_the_runtime_and_parsed_inside() -> None:
    parser = LineParser(default_service="worker")
    parsed = [parser.parse(i, line) for i, line in enumerate(CRI, 1)]
    assert parsed[0].ts == parsed[1].ts == parsed[2].ts is not None
    assert parsed[1].continued and parsed[2].continued  # the traceback stays one event
    assert parsed[2].message == "KeyError: 'INVOICE_BUCKET'"
    assert parsed[3].level == "warn" and parsed[3].message == "slow fdatasync"
    assert parsed[3].ts is not None and parsed[3].ts % 60 == 4.5  # the app's own stamp wins
    assert parsed[4].ts is not None and parsed[4].message == ""
    assert parsed[5].level == "error" and parsed[5].message == "watch failed"
    assert parser.stamped_lines == len(CRI)
    assert all(p.text == line for p, line in zip(parsed, CRI, strict=True))  # the raw line is kept


def test_pods_folder_names_the_container() -> None:
    path = Path("/var/log/pods/billing_invoice-worker-7d9f8c6b4-x2k4q_0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b")
    assert default_service_from_path(path / "worker" / "0.log") == "worker"
