"""The reliability report (issue 9): red team, LLM faults, a webhook storm and crash safety, measured.

`python -m bench.reliability` (`make reliability`) runs every section at full size and prints one JSON
report (also bench/results/reliability.json); tests/test_reliability*.py run the same code at small
sizes and assert the zeros. Each section returns {"figures": {...}, "passed": bool, ...}.
"""
