"""Parsing user-given times: ISO-8601 (`2026-11-20T03:00:00Z`), epoch s or ms, or `30m` / `2h ago` / `1d`."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])(?:\s+ago)?$", re.IGNORECASE)
# Epoch values above this are milliseconds (this many seconds is the year 5138).
EPOCH_MS_THRESHOLD = 1e11
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_time(value: str, *, now: float | None = None) -> float:
    """Epoch seconds for a user-supplied time; raises ValueError with an example of what works."""
    text = value.strip()
    match = RELATIVE.match(text)
    if match:
        unit = UNIT_SECONDS[match.group(2).lower()]
        return (now if now is not None else time.time()) - float(match.group(1)) * unit
    if re.fullmatch(r"\d+(\.\d+)?", text):  # epoch seconds or milliseconds; never nan/inf/negative
        number = float(text)
        return number / 1000 if number > EPOCH_MS_THRESHOLD else number
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"cannot read time {value!r}: use ISO-8601 (2026-11-20T03:00:00Z), epoch seconds, or 2h / 30m ago"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def format_time(epoch: float | None) -> str:
    """ISO-8601 UTC, or '-' for unknown."""
    if epoch is None:
        return "-"
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
