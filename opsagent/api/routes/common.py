"""Small helpers shared by routes."""

from __future__ import annotations

from fastapi import HTTPException

from opsagent.timeparse import parse_time


def parse_time_param(name: str, value: str | None) -> float | None:
    """A time query parameter (ISO, epoch, `2h ago`) or a 422 naming it."""
    if value is None or value == "":
        return None
    try:
        return parse_time(value)
    except (ValueError, OverflowError) as exc:
        raise HTTPException(422, f"{name}: {exc}") from None
