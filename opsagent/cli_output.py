"""How the CLI prints: consoles that never wrap piped output, and scores as precise as the threshold."""

from __future__ import annotations

import sys

from rich.console import Console

from opsagent.errors import OpsagentError
from opsagent.timeparse import parse_time

# Scores are stored rounded to 4 decimals (knowledge/search.py), so 4 always shows the exact value.
_MAX_SCORE_DECIMALS = 4


def pipe_safe_console(*, stderr: bool = False) -> Console:
    """A console on stdout (or stderr) that wraps long lines only on a terminal.

    Piped output (grep, less, a file) must keep a citation such as `path/to/runbook.md#Section (L3-L9)`
    on one line, or it can neither be searched for nor pasted. Built per command, because the test
    runner and shells swap sys.stdout after import.
    """
    stream = sys.stderr if stderr else sys.stdout
    return Console(file=stream, soft_wrap=not stream.isatty())


def format_score(score: float, threshold: float | None = None) -> str:
    """`score` with two decimals, or as many more as it takes to show which side of `threshold` it is on.

    0.595 and 0.60 would both print as 0.60 with a fixed two decimals, although triage treats one as "no
    runbook found" and the other as a match against a threshold of 0.6.
    """
    for decimals in range(2, _MAX_SCORE_DECIMALS + 1):
        shown = float(f"{score:.{decimals}f}")
        if threshold is None or (shown >= threshold) == (score >= threshold):
            return f"{score:.{decimals}f}"
    return f"{score:.{_MAX_SCORE_DECIMALS}f}"


class UsageProblem(OpsagentError):
    """A command-line argument that cannot be used."""


def time_option(name: str, value: str | None) -> float | None:
    """A --since/--until value as epoch seconds (ISO-8601, epoch, `2h ago`), or a one-line usage error."""
    if value is None:
        return None
    try:
        return parse_time(value)
    except ValueError as exc:
        raise UsageProblem(f"{name}: {exc}") from None
