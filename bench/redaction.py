"""Secret redaction: our rules beside detect-secrets (recall, false positives, speed). Prints JSON.

Recall: every fake secret of tests/fixtures/secrets/corpus.yaml planted in each place the model reads
(tests/test_redaction_corpus.py); a secret counts as caught when it is gone from the redacted text. For
detect-secrets, "redacted" means every value it reports is cut out of the line (what a redactor built on it
would do). False positives: ordinary log lines (the scenario cluster and the demo knowledge base) that
either tool changes or flags; none of them holds a secret. Speed: lines per second over the same lines.

    .venv/bin/python -m bench.redaction [--lines N]

detect-secrets is optional (a dev dependency); without it only our numbers are printed.
"""

from __future__ import annotations

import argparse
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from bench.common import REPO, emit
from opsagent.agent.redaction import redact
from tests.test_redaction_corpus import CORPUS, PLACES, STRUCTURED

LOG_DIRS = [REPO / "tests/scenarios/_cluster/logs", REPO / "knowledge/logs"]


def ordinary_lines(limit: int | None) -> list[str]:
    lines: list[str] = []
    for root in LOG_DIRS:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            lines += path.read_text(errors="replace").splitlines()
    return lines[:limit] if limit else lines


def planted() -> Iterator[tuple[str, str, str, str]]:
    """(kind, place, text, secret) for every corpus entry in every place it is planted."""
    for entry in CORPUS:
        for place, plant in PLACES.items():
            if place == "log_per_line" and entry["kind"].startswith(STRUCTURED):
                continue
            yield entry["kind"], place, plant(entry["text"]), entry["secret"]


class DetectSecrets:
    """detect-secrets 1.5 with its default filters and plugins (less `exclude`), one line at a time."""

    def __init__(self, exclude: frozenset[str] = frozenset()) -> None:
        from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
        from detect_secrets.core.scan import scan_line
        from detect_secrets.settings import transient_settings

        self._scan = scan_line
        plugins = sorted(c.__name__ for c in get_mapping_from_secret_type_to_class().values())
        self.plugins = [p for p in plugins if p not in exclude]
        self._config = {"plugins_used": [{"name": p} for p in self.plugins]}
        self._settings = transient_settings

    def session(self) -> AbstractContextManager[Any]:
        return self._settings(self._config)

    def findings(self, line: str) -> list[tuple[str, str]]:
        return [(s.type, s.secret_value or "") for s in self._scan(line)]

    def redact(self, text: str) -> tuple[str, Counter[str]]:
        kinds: Counter[str] = Counter()
        out = []
        for line in text.split("\n"):
            for kind, value in self.findings(line):
                if value:
                    kinds[kind] += 1
                    line = line.replace(value, "[REDACTED]")
            out.append(line)
        return "\n".join(out), kinds


def ours(text: str) -> tuple[str, Counter[str]]:
    result = redact(text)
    return result.text, Counter(result.counts)


def measure(
    name: str, redactor: Callable[[str], tuple[str, Counter[str]]], lines: list[str]
) -> dict[str, Any]:
    cases = list(planted())
    missed: list[str] = []
    for kind, place, text, secret in cases:
        cleaned, _ = redactor(text)
        if secret in cleaned:
            missed.append(f"{kind}@{place}")
    missed_kinds = sorted({m.split("@")[0] for m in missed})

    started = time.perf_counter()
    flagged = 0
    flagged_kinds: Counter[str] = Counter()
    examples: list[str] = []
    for line in lines:
        cleaned, kinds = redactor(line)
        if kinds:
            flagged += 1
            flagged_kinds.update(kinds)
            if len(examples) < 5:
                examples.append(re.sub(r"\s+", " ", cleaned)[:200])
    seconds = time.perf_counter() - started
    return {
        "tool": name,
        "planted_cases": len(cases),
        "recall": round(1 - len(missed) / len(cases), 4),
        "missed_cases": len(missed),
        "missed_kinds": missed_kinds,
        "ordinary_lines": len(lines),
        "false_positive_lines": flagged,
        "false_positive_rate": round(flagged / len(lines), 5) if lines else 0.0,
        "false_positive_kinds": dict(flagged_kinds.most_common()),
        "false_positive_examples": examples,
        "lines_per_second": round(len(lines) / seconds) if seconds else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=None, help="Only the first N ordinary log lines.")
    parser.add_argument(
        "--ds-lines",
        type=int,
        default=5000,
        help="Ordinary lines for detect-secrets (a spread sample; it is slow).",
    )
    args = parser.parse_args()
    lines = ordinary_lines(args.lines)
    sample = lines[:: max(1, len(lines) // args.ds_lines)][: args.ds_lines]
    results: dict[str, Any] = {
        "corpus_entries": len(CORPUS),
        "ours": measure("opsagent", ours, lines),
        "ours_on_detect_secrets_sample": measure("opsagent", ours, sample)["lines_per_second"],
    }
    configs = {
        "detect_secrets_default": frozenset(),
        # The entropy plugins flag every random-looking word in eager (ad-hoc) mode, IPPublic every address.
        "detect_secrets_no_entropy": frozenset(
            {"Base64HighEntropyString", "HexHighEntropyString", "IPPublicDetector"}
        ),
    }
    for name, exclude in configs.items():
        try:
            detector = DetectSecrets(exclude)
        except ImportError:
            results[name] = "not installed (pip install detect-secrets==1.5.0)"
            continue
        with detector.session() or nullcontext():
            results[name] = measure(
                f"detect-secrets 1.5.0 ({len(detector.plugins)} plugins)", detector.redact, sample
            )

            def both(text: str, detector: DetectSecrets = detector) -> tuple[str, Counter[str]]:
                first, kinds = ours(text)
                second, more = detector.redact(first)
                return second, kinds + more

            combined = measure("opsagent then detect-secrets", both, sample)
            results[f"ours_plus_{name}"] = {
                k: combined[k]
                for k in ("recall", "false_positive_lines", "false_positive_kinds", "lines_per_second")
            }
    emit("redaction", results)


if __name__ == "__main__":
    main()
