from __future__ import annotations

import pytest

from opsagent.timeparse import format_time, parse_time

NOW = 1_795_140_000.0  # 2026-11-20T02:00:00Z


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-20T02:00:00Z", NOW),
        ("2026-11-20 02:00:00", NOW),
        ("2026-11-20T03:00:00+01:00", NOW),
        ("1795140000", NOW),
        ("1795140000000", NOW),
        ("2h", NOW - 7200),
        ("2h ago", NOW - 7200),
        ("30M", NOW - 1800),
        ("1d", NOW - 86400),
    ],
)
def test_parse_time(text: str, expected: float) -> None:
    assert parse_time(text, now=NOW) == expected


@pytest.mark.parametrize("text", ["nan", "inf", "-1", "yesterday", "2h from now", ""])
def test_unreadable_times_are_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="ISO-8601"):
        parse_time(text, now=NOW)


def test_format_time() -> None:
    assert format_time(NOW) == "2026-11-20T02:00:00Z"
    assert format_time(None) == "-"
