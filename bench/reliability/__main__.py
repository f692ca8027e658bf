"""`python -m bench.reliability [--short] [--only redteam,llm_faults,storm,crash]`: one JSON report.

Full size (`make reliability`): 49 red-team cases, 40 incidents and 10 chat turns under 30% LLM faults,
10,000 alerts in 60 s, three kills of `opsagent ingest` over knowledge/ and four of `opsagent serve`.
Written to bench/results/reliability.json (reliability-short.json with --short). Exit status 1 when
any section misses its promised figures, after printing the report.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from datetime import UTC, datetime
from typing import Any

from bench.common import emit

SECTIONS = ("redteam", "llm_faults", "storm", "crash")


def run_section(name: str, short: bool) -> dict[str, Any]:
    """One section at full or short size (the sizes the tests use are the short ones)."""
    if name == "redteam":
        from bench.reliability.redteam import run_redteam

        return run_redteam(short)
    if name == "llm_faults":
        from bench.reliability.llm_faults import run_llm_faults

        return run_llm_faults(8, 4) if short else run_llm_faults(40, 10)
    if name == "storm":
        from bench.reliability.storm import run_storm

        return run_storm(500, 10, drain_timeout=120) if short else run_storm(10_000, 60, drain_timeout=300)
    if name == "crash":
        from bench.reliability.crash import run_crash

        return run_crash(short)
    raise ValueError(f"unknown section {name!r}; one of {', '.join(SECTIONS)}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--short", action="store_true", help="The small sizes `make test` runs.")
    parser.add_argument("--only", default=",".join(SECTIONS), help="Comma-separated sections.")
    parser.add_argument("--name", default=None, help="Results file bench/results/NAME.json.")
    args = parser.parse_args()
    logging.getLogger("opsagent").setLevel(logging.ERROR)  # retries under injected faults are expected
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    started = datetime.now(UTC)
    load_before = os.getloadavg()
    sections: dict[str, Any] = {}
    seconds: dict[str, float] = {}
    for name in names:
        began = time.perf_counter()
        try:
            sections[name] = run_section(name, args.short)
        except Exception as exc:  # a section that cannot run is a failed section, reported
            sections[name] = {"figures": {}, "passed": False, "error": f"{exc.__class__.__name__}: {exc}"}
        seconds[name] = round(time.perf_counter() - began, 1)
    report = {
        "report": "reliability",
        "command": "python -m bench.reliability" + (" --short" if args.short else ""),
        "started": started.isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "load_avg_before": [round(x, 2) for x in load_before],
        "load_avg_after": [round(x, 2) for x in os.getloadavg()],
        "passed": all(s.get("passed") for s in sections.values()),
        "summary": {
            name: {"passed": s.get("passed"), "seconds": seconds[name], **s.get("figures", {})}
            for name, s in sections.items()
        },
        "sections": sections,
    }
    emit(args.name or ("reliability-short" if args.short else "reliability"), report)
    sys.exit(0 if report["passed"] else 1)


if __name__ == "__main__":
    main()
