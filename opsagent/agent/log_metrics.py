"""Numbers in log lines that stopped: a throughput counter a service logs every minute falls to zero.

Services log their own metrics (`delivered_last_min=250`, `"processed": 500`, `rps=40`). When such a
number, steady and non-zero for a while, reads 0 on every line from some moment to the end of the
window, the work it counts has stopped — a stuck consumer, a dead scheduler — even though no line says
"error". That is a lead for a human when no failure signature names a cause, never a cause on its own.
"""

from __future__ import annotations

import json
import re
import statistics
from collections.abc import Iterable
from dataclasses import dataclass

from opsagent.knowledge.models import Citation, LogLine

# `key=12`, `key: 12`, `"key": 12` — keys as logfmt, JSON and key-value text write them.
_NUMBER = re.compile(r"(?<![\w.-])\"?([A-Za-z_][\w.]{1,40})\"?\s?[=:]\s?(-?\d+(?:\.\d+)?)(?![\w.])")
# Fields that are not activity: times, ids, configuration, positions (the whole key, or its last dotted
# part: `delivered_last_min` is activity, `pool.max` is not).
_NOT_ACTIVITY = re.compile(
    r"(^|\.)(ts|time|timestamp|pid|tid|port|line|id|uid|gid|version|prefetch|limit|max|min|size|"
    r"capacity|threshold|shard|partition|offset|epoch|year|code|status|level|attempt|retries|replicas)$",
    re.IGNORECASE,
)
MIN_BEFORE = 5  # non-zero readings needed before the drop: the number must have been alive
MIN_ZEROS = 3  # zero readings needed after it: one zero minute is a lull
MAX_LINES = 2000  # raw lines read per template


@dataclass(frozen=True)
class StoppedCounter:
    """A logged number that fell to zero and stayed there."""

    field: str
    typical: float  # median of the non-zero readings before the drop
    since: float  # the first zero reading of the final run
    zeros: int
    source: str
    line_no: int
    template: str

    @property
    def citation(self) -> Citation:
        return Citation(source=self.source, line_start=self.line_no, line_end=self.line_no)

    def describe(self) -> str:
        typical = f"{self.typical:g}"
        return f"{self.field}=0 on every line since then (it was typically {typical}), {self.zeros} readings"


def numbers_in(text: str) -> dict[str, float]:
    """Numeric fields of one line: a JSON object's top-level numbers, else key=value pairs."""
    start = text.find("{")
    if start != -1:
        try:
            value = json.loads(text[start:])
        except ValueError:
            value = None
        if isinstance(value, dict):
            return {
                str(k): float(v)
                for k, v in value.items()
                if isinstance(v, int | float) and not isinstance(v, bool)
            }
    return {key: float(number) for key, number in _NUMBER.findall(text[:4000])}


def activity_numbers(text: str) -> dict[str, float]:
    """The numeric fields of a line that may count activity (not times, ids or configuration)."""
    return {k: v for k, v in numbers_in(text).items() if not _NOT_ACTIVITY.search(k)}


def stopped_counters(lines: Iterable[LogLine], template: str, *, until: float) -> list[StoppedCounter]:
    """Fields of one template's lines (oldest first) that read 0 on every line from some moment to the end,
    after at least MIN_BEFORE non-zero readings; only drops that started before `until`."""
    series: dict[str, list[tuple[float, float, LogLine]]] = {}
    for line in lines:
        if line.ts is None:
            continue
        for key, value in activity_numbers(line.text).items():
            series.setdefault(key, []).append((line.ts, value, line))
    out = []
    for key, readings in series.items():
        zeros = 0
        for _, value, _ in reversed(readings):
            if value != 0:
                break
            zeros += 1
        before = [v for _, v, _ in readings[: len(readings) - zeros]]
        if zeros < MIN_ZEROS or len(before) < MIN_BEFORE:
            continue
        alive = [v for v in before if v > 0]
        if len(alive) < 0.8 * len(before):  # a number that is often 0 anyway says nothing by being 0
            continue
        ts, _, first = readings[len(readings) - zeros]
        if ts > until:
            continue
        out.append(
            StoppedCounter(
                field=key,
                typical=statistics.median(alive),
                since=ts,
                zeros=zeros,
                source=first.source,
                line_no=first.line_no,
                template=template,
            )
        )
    return out
