# Two commands do all set-up on a fresh machine with Python 3.11+ and git:
#   make run    environment + install + sample data + the main job (prints where outputs went)
#   make test   environment + install + the whole test suite, then lint (fails if either fails)
#   make fmt    fixes formatting (ruff, sqlfluff) that `make lint` would report
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# the tests of the parser's C modules fail where they were not built (optional at install: setup.py)
test: export COMMSTATS_REQUIRE_C ?= 1

.PHONY: run test lint fmt sample ui bench fuzz clean

$(STAMP): pyproject.toml setup.py $(wildcard core/*.c extractors/*.c extractors/*/*.c)
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "commstats needs Python 3.11 or newer"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

sample: $(STAMP)
	$(BIN)/commstats sample

run: sample
	$(BIN)/commstats run

SQL_DIRS := dbt_project/models dbt_project/macros

# lint-imports checks the contracts in pyproject.toml [tool.importlinter]: layers only point down,
# no cycles between modules
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sqlfluff lint $(SQL_DIRS)
	$(BIN)/lint-imports --no-logo

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
	$(BIN)/sqlfluff fix $(SQL_DIRS)

# the tests run first, so a formatting nit does not hide their result; lint runs after them
# whatever they gave, and the target fails if either failed (CI runs this target). Whole modules go
# to each of two workers, so a module's fixtures are built once; the slow modules first
# (tests/conftest.py orders them)
test: $(STAMP)
	@tests=0; lint=0; \
	$(BIN)/pytest -n 2 --dist loadscope --no-loadscope-reorder --durations=15 $(PYTEST_ARGS) || tests=$$?; \
	$(MAKE) --no-print-directory lint || lint=$$?; \
	if [ $$tests -ne 0 ] || [ $$lint -ne 0 ]; then \
	  echo "make test: failed (tests exit $$tests, lint exit $$lint)" >&2; exit 1; \
	fi

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
