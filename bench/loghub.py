"""Benchmark: timestamps and template grouping accuracy on Loghub's labelled system logs.

    python -m bench.loghub --data DIR [--json-out FILE]

DIR holds Loghub datasets (github.com/logpai/loghub) laid out as Loghub does: ``DIR/<Name>/<Name>_2k.log``
with its ground truth ``DIR/<Name>/<Name>_2k.log_structured.csv`` (columns LineId ... EventId; only
those two are read, rows are aligned to raw lines by LineId). Loghub's licence allows research use only,
so no data is vendored here: pass a path you fetched yourself. A dataset whose CSV covers fewer lines
than its raw file is cut to the labelled lines.

Each raw file goes through the real pipeline (``ingest_log_file``: LineParser + TemplateMiner into a
throwaway LogLineStore) with the miner's one global setting. Per dataset it prints the lines, the
fraction of lines with a timestamp, and Loghub's grouping accuracy (GA: a line counts as right when the
set of lines in its predicted template equals the set of lines of its true event), then the averages.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path

from opsagent.knowledge.log_ingest import ingest_log_file
from opsagent.knowledge.logstore import LogLineStore, LogRow


class _CapturingStore(LogLineStore):
    """A LogLineStore that also keeps (line_no, ts, template_id) of the rows it is given."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.rows: list[tuple[int, float | None, int | None]] = []

    def replace_source(
        self, root: str, source: str, rows: Iterable[LogRow], *, timestamped: Callable[[], int] | None = None
    ) -> int:
        """Record each row, then store it as usual."""

        def tee() -> Iterable[LogRow]:
            for row in rows:
                self.rows.append((row[0], row[1], row[4]))
                yield row

        return super().replace_source(root, source, tee(), timestamped=timestamped)


def grouping_accuracy(predicted: list[object], truth: list[object]) -> float:
    """Loghub's GA: the share of lines whose predicted group has exactly the lines of their true group."""
    if not truth:
        return 0.0
    pred_groups: dict[object, list[int]] = defaultdict(list)
    for i, p in enumerate(predicted):
        pred_groups[p].append(i)
    true_sizes = Counter(truth)
    right = 0
    for members in pred_groups.values():
        events = {truth[i] for i in members}
        if len(events) == 1 and true_sizes[truth[members[0]]] == len(members):
            right += len(members)
    return right / len(truth)


def _truth(csv_path: Path) -> dict[int, str]:
    with csv_path.open(newline="", encoding="utf-8") as fh:
        return {int(row["LineId"]): row["EventId"] for row in csv.DictReader(fh) if row.get("LineId")}


def run_dataset(raw: Path, labels: Path, work: Path) -> dict[str, object]:
    """Ingest one raw file and score it against its labels."""
    truth = _truth(labels)
    store = _CapturingStore(work / f"{raw.stem}.db")
    try:
        ingest_log_file(raw, root=str(raw.parent), source=raw.name, store=store, default_service=None)
    finally:
        store.close()
    by_line = {line_no: (ts, tid) for line_no, ts, tid in store.rows if line_no in truth}
    lines = sorted(by_line)
    stamped = sum(1 for n in lines if by_line[n][0] is not None)
    ga = grouping_accuracy([by_line[n][1] for n in lines], [truth[n] for n in lines])
    return {
        "lines": len(lines),
        "events": len({truth[n] for n in lines}),
        "templates": len({by_line[n][1] for n in lines}),
        "timestamped": round(stamped / len(lines), 4) if lines else 0.0,
        "grouping_accuracy": round(ga, 4),
    }


def main(argv: list[str] | None = None) -> None:
    """Run every dataset under --data and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, required=True, help="folder of Loghub datasets")
    parser.add_argument("--json-out", type=Path, help="also write the JSON here")
    args = parser.parse_args(argv)
    datasets: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for folder in sorted(p for p in args.data.iterdir() if p.is_dir()):
            raws = sorted(folder.glob("*_2k.log"))
            for raw in raws:
                labels = raw.with_name(raw.name + "_structured.csv")
                if labels.is_file():
                    datasets[raw.name.removesuffix("_2k.log")] = run_dataset(raw, labels, Path(tmp))
    if not datasets:
        sys.exit(f"no <Name>/<Name>_2k.log with a _structured.csv found under {args.data}")
    n = len(datasets)
    out = {
        "datasets": datasets,
        "average": {
            "timestamped": round(sum(float(d["timestamped"]) for d in datasets.values()) / n, 4),  # type: ignore[arg-type]
            "grouping_accuracy": round(
                sum(float(d["grouping_accuracy"]) for d in datasets.values()) / n,  # type: ignore[arg-type]
                4,
            ),
            "lines": sum(int(d["lines"]) for d in datasets.values()),  # type: ignore[call-overload]
        },
    }
    text = json.dumps(out, indent=2)
    print(text)
    if args.json_out:
        args.json_out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
