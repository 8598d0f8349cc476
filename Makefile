# Two commands do everything on a fresh machine with Python 3.11:
#   make repro   create .venv if needed, install requirements.txt, run `dvc repro`
#   make test    create .venv if needed, install requirements.txt, run the test suite (what CI runs)
#   make test-quick   the unit tests only (about 2 minutes), for the edit loop
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
# Stage commands in dvc.yaml call `python`, so the venv's bin must come first on PATH.
RUN := PATH="$(BIN):$$PATH" DVC_NO_ANALYTICS=1

.PHONY: repro test test-quick bench bench-universe measure-intervals clean-venv

$(VENV)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

repro: $(VENV)/.installed
	$(RUN) dvc repro

test: $(VENV)/.installed
	$(RUN) python -m pytest

test-quick: $(VENV)/.installed
	$(RUN) python -m pytest tests/unit

bench: $(VENV)/.installed
	$(RUN) python benchmarks/bench_pipeline.py

# Needs ../shared/data/prices/sp500_5yr (the 505-member S&P 500 set); --universe adds the 505-ticker run.
bench-universe: $(VENV)/.installed
	$(RUN) python benchmarks/bench_universe.py

# Needs ../shared/data/prices: intervals and verdicts on 503 S&P 500 members and three long series.
measure-intervals: $(VENV)/.installed
	$(RUN) python benchmarks/measure_intervals.py --seeds 3

clean-venv:
	rm -rf $(VENV)
