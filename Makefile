# Two commands do all set-up on a fresh machine with Python 3.11+ and git:
#   make run    environment + install + sample data + the main job (prints where outputs went)
#   make test   environment + install + lint + the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint sample ui bench fuzz clean

$(STAMP): pyproject.toml setup.py $(wildcard extractors/mail/*.c)
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "commstats needs Python 3.11 or newer"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

sample: $(STAMP)
	$(BIN)/commstats sample

run: sample
	$(BIN)/commstats run

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sqlfluff lint dbt_project/models dbt_project/macros

# whole modules to each of two workers, so a module's fixtures are built once; the slow modules
# first (tests/conftest.py orders them)
test: lint
	$(BIN)/pytest -n 2 --dist loadscope --no-loadscope-reorder $(PYTEST_ARGS)

ui: $(STAMP)
	$(BIN)/commstats ui

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_mail.py
	$(BIN)/python benchmarks/bench_git.py

# the C modules built with ASan and UBSan (into build/fuzz) against their Python references;
# FUZZ_SECONDS (default 60) and FUZZ_SEED choose how long and which run
fuzz: $(STAMP)
	$(BIN)/python -m fuzz

clean:
	rm -rf data/output data/warehouse.duckdb dbt_project/target dbt_project/logs
