"""Drain-style template mining: masking, grouping, per-template stats, bounded memory."""

from __future__ import annotations

import pytest

from opsagent.knowledge.models import LogTemplate
from opsagent.knowledge.templates import OVERFLOW_TEMPLATE, TemplateMiner, mask, mask_token


@pytest.mark.parametrize(
    ("token", "masked"),
    [
        ("12345", "<NUM>"),
        ("-7", "<NUM>"),
        ("99%", "<NUM>"),
        ("1.5GiB", "<NUM>"),
        ("250ms", "<DUR>"),
        ("1m30s", "<DUR>"),
        ("10.0.3.17:5432", "<IP>"),
        ("tcp://10.0.3.17:5432", "<URL>"),
        ("https://hooks.example.com/health", "https://hooks.example.com/health"),  # no variable part
        ("[hdfs://msra-sa-41:9000]", "[<URL>]"),
        ("db-1.example.com:5432", "<ADDR>"),
        ("proxy.cse.cuhk.edu.hk:5070", "<ADDR>"),
        ("/etc/httpd/conf/workers2.properties", "<PATH>"),
        ("/var/www/html/", "<PATH>"),
        ("/api/v1/data/7", "/api/v1/data/<NUM>"),  # a URL route, not a file
        ("C:\\Windows\\servicing\\sqm\\*_std.sqm,", "<PATH>,"),
        ("3fa85f64-5717-4562-b3fc-2c963f66afa6", "<UUID>"),
        ("req-3fa85f64-5717-4562-b3fc-2c963f66afa6", "req-<UUID>"),
        ("trace_id=4bf92f3577b34da6a3ce929d0e0e4736", "trace_id=<HEX>"),
        ("0xDEADBEEF", "<HEX>"),
        ("deadbeef", "deadbeef"),  # a word made of hex letters is not an id
        ('"orders"', "<STR>"),
        ('relation="orders"', "relation=<STR>"),
        ("2026-11-20T03:14:07.120Z", "<TS>"),
        ("/api/v1/orders/98123/items", "/api/v1/orders/<NUM>/items"),
        ("/var/lib/postgresql/16384", "<PATH>"),
        ("(Handler.java:42)", "(Handler.java:<NUM>)"),
        ("payments-api-7d9f8b6c5d-x2x7k", "payments-api-<POD>"),
        ("status=503", "status=503"),  # the status code is the point of the line
        ("bytes=5123", "bytes=<NUM>"),
        ("HTTP/1.1", "HTTP/1.1"),
        ("v1.2.3", "v1.2.3"),
        ("user_123", "user_123"),
        ("ipv4", "ipv4"),
    ],
)
def test_mask_token(token: str, masked: str) -> None:
    assert mask_token(token) == masked


def test_mask_keeps_the_status_of_an_access_line() -> None:
    assert mask('"GET /api/v1/orders/42 HTTP/1.1" 503') == '"GET /api/v1/orders/<NUM> HTTP/1.1" 503'
    assert mask("retried 503 times") == "retried <NUM> times"


def mine(
    lines: list[tuple[str, float | None, str | None]], **kwargs: int
) -> tuple[list[int], list[LogTemplate]]:
    """Feed (message, ts, level) lines numbered from 1; return their template ids and the templates."""
    miner = TemplateMiner(**kwargs)
    ids = [
        miner.add(msg, n, ts, level, "svc", f"RAW {n} {msg}") for n, (msg, ts, level) in enumerate(lines, 1)
    ]
    return ids, miner.templates(source="app.log", root="/logs")


def test_lines_differing_in_ids_share_a_template_with_correct_stats() -> None:
    ids, templates = mine(
        [
            ("user 42 logged in from 10.0.0.1 in 12ms", 100.0, "info"),
            ("disk /dev/sda1 is 91% full", 101.0, "warn"),
            ("user 7 logged in from 10.0.0.2 in 3ms", 99.0, "info"),  # earlier ts than line 1
            ("user 9000 logged in from 192.168.1.1 in 1ms", 105.0, "debug"),
            ("user 8 logged in from 10.0.0.3 in 2ms", None, "info"),
            ("disk /dev/sdb1 is 95% full", 107.0, "warn"),
        ]
    )
    assert ids == [0, 1, 0, 0, 0, 1]
    login, disk = templates
    assert login.template == "user <NUM> logged in from <IP> in <DUR>"
    assert (login.count, login.first_line, login.last_line) == (4, 1, 5)
    assert (login.first_seen, login.last_seen) == (99.0, 105.0)
    assert login.levels == {"info": 3, "debug": 1}
    assert login.examples == [
        "RAW 1 user 42 logged in from 10.0.0.1 in 12ms",
        "RAW 3 user 7 logged in from 10.0.0.2 in 3ms",
        "RAW 4 user 9000 logged in from 192.168.1.1 in 1ms",
    ]
    assert login.example_lines == [1, 3, 4]
    # /dev/sda1 vs /dev/sdb1: a file-system path is a typed variable.
    assert disk.template == "disk <PATH> is <NUM> full"
    assert (disk.count, disk.first_line, disk.last_line, disk.levels) == (2, 2, 6, {"warn": 2})
    assert (disk.source, disk.root, disk.service) == ("app.log", "/logs", "svc")


def test_distinct_shapes_stay_apart() -> None:
    _, templates = mine(
        [
            ("connection refused to 10.0.0.1:5432", 1.0, "error"),
            ("connection reset by peer", 2.0, "error"),
            ("cache miss for key 17", 3.0, "info"),
            ("cache hit for key 18", 4.0, "info"),
            ("payment 55 captured", 5.0, "info"),
        ]
    )
    assert [(t.template, t.count) for t in templates] == [
        ("connection refused to <IP>", 1),
        ("connection reset by peer", 1),
        ("cache miss for key <NUM>", 1),
        ("cache hit for key <NUM>", 1),
        ("payment <NUM> captured", 1),
    ]


def test_drain_generalises_variable_words_after_the_prefix() -> None:
    _, templates = mine(
        [(f"session opened for user {name} by root", 1.0, "info") for name in ("alice", "bob")]
    )
    assert [(t.template, t.count) for t in templates] == [("session opened for user <*> by root", 2)]


def test_errors_get_their_own_template_apart_from_the_same_shape_at_info() -> None:
    _, templates = mine(
        [
            ('"GET /api/orders/1 HTTP/1.1" 200', 1.0, "info"),
            ('"GET /api/orders/2 HTTP/1.1" 503', 2.0, "error"),
            ('"GET /api/orders/3 HTTP/1.1" 200', 3.0, "info"),
        ]
    )
    assert [(t.template, t.count, t.levels) for t in templates] == [
        ('"GET /api/orders/<NUM> HTTP/1.1" 200', 2, {"info": 2}),
        ('"GET /api/orders/<NUM> HTTP/1.1" 503', 1, {"error": 1}),
    ]


def test_template_cap_counts_the_rest_as_overflow() -> None:
    ids, templates = mine(
        [
            ("alpha one", 1.0, "info"),
            ("beta two three", 2.0, "info"),
            ("gamma", 3.0, None),
            ("delta x y z", 4.0, None),
        ],
        max_templates=2,
    )
    assert ids == [0, 1, 2, 2]
    assert [t.template for t in templates] == ["alpha one", "beta two three", OVERFLOW_TEMPLATE]
    overflow = templates[2]
    assert (overflow.count, overflow.first_line, overflow.last_line) == (2, 3, 4)


def test_free_text_behind_a_constant_prefix_stays_bounded() -> None:
    words = [f"w{chr(97 + i % 26)}{chr(97 + i // 26 % 26)}" for i in range(600)]  # no digits: not masked
    miner = TemplateMiner(max_leaf=8)
    for n in range(2000):
        text = " ".join(words[(n * k * 7919) % 600] for k in range(1, 6))
        miner.add(f"note from {text}", n + 1, None, "info", "svc", "raw")
    templates = miner.templates(source="a", root="/")
    assert miner.template_count <= 8
    assert sum(t.count for t in templates) == 2000


def test_caches_stay_bounded() -> None:
    miner = TemplateMiner(cache_size=100)
    for i in range(1000):
        miner.add(f"job {i} handled by worker-{i}-x{i} path=/a/b{i}/c", i + 1, None, None, "svc", "raw")
    assert len(miner._token_cache) <= 100
    assert len(miner._shape_cache) <= 100
    assert miner.template_count == 1
