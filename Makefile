# opsagent — the two commands of the README are `make demo` and `make test`; both build what they need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PIP    := $(BIN)/pip --disable-pip-version-check -q

.PHONY: demo test lint bench reliability serve clean install

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing opsagent and its dependencies into $(VENV) (first run takes a few minutes)..."
	$(PIP) install -e '.[dev]'
	@touch $(STAMP)

## Ingest the bundled knowledge base, search it, and triage a sample alert — fully offline.
demo: $(STAMP)
	$(BIN)/opsagent ingest knowledge/
	$(BIN)/opsagent stats
	$(BIN)/opsagent search "x509: certificate has expired or is not yet valid" -k 3
	$(BIN)/opsagent triage knowledge/alerts/payments-oom.json

## The whole test suite (unit; integration against real Chroma, SQLite and PostgreSQL, a real uvicorn).
test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check opsagent tests bench scripts
	$(BIN)/ruff format --check opsagent tests bench scripts
	$(BIN)/mypy

## Benchmarks print JSON; results are also written to bench/results/.
bench: $(STAMP)
	$(BIN)/python -m bench.retrieval
	$(BIN)/python -m bench.embedding_models
	$(BIN)/python -m bench.ingest_throughput
	$(BIN)/python -m bench.search_latency
	$(BIN)/python -m bench.log_ingest
	$(BIN)/python -m bench.webhooks --rate 200

## Red team, LLM faults, a 10,000-alert webhook storm, SIGKILL crash safety: one JSON report
## (bench/results/reliability.json; `make test` runs the short form in tests/test_reliability.py).
reliability: $(STAMP)
	$(BIN)/python -m bench.reliability

clean:
	rm -rf $(VENV) .opsagent .pytest_cache .mypy_cache .ruff_cache
