# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# One stamp per install level: the package and what it needs to run (enough for the demo), and
# the dev tools on top (with Ray, so CI tests the Ray sweep backend). Other heavy extras
# (bench, neurogym, digits) only where asked for.
BASE := $(VENV)/.installed
DEV := $(VENV)/.installed-dev

.PHONY: install dev demo test lint format docs bench clean check-report

# torch is pinned and installed first: our machines carry a CPU wheel of exactly this
# version, and an open range would pull a multi-GB CUDA build. The C++ training loop is built
# here (about a minute, into the per-user cache) so the first training does not wait for it;
# where it cannot be built, a warning says why and the Python loops run.
$(BASE): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/python -c 'from neurodyn.models.recurrence import engine; print("training loops:", engine())'
	touch $(BASE)

$(DEV): $(BASE)
	$(BIN)/python -m pip install --quiet -e '.[dev,ray]'
	touch $(DEV)

install: $(BASE)

dev: $(DEV)

demo: $(BASE)
	$(BIN)/neurodyn demo

# Look at the reports as a person would: the demo network trained briefly, its report and a
# comparison report, and screenshots of both (headless Chromium; Debian: apt-get install
# chromium) in check-report/. Open the PNGs before a release.
check-report: $(BASE)
	$(BIN)/python tools/check_report.py --out check-report --steps 300

lint: $(DEV)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy src
	$(BIN)/lint-imports --no-cache

format: $(DEV)
	$(BIN)/ruff check --fix src tests benchmarks
	$(BIN)/ruff format src tests benchmarks

# The user guide and the API reference from the docstrings, in build/site/. --strict: a
# warning (a docstring the numpy parser cannot read, a broken reference) fails the build.
$(VENV)/.installed-docs: $(BASE)
	$(BIN)/python -m pip install --quiet -e '.[docs]'
	touch $@

docs: $(VENV)/.installed-docs
	$(BIN)/mkdocs build --strict --quiet

test: lint docs
	$(BIN)/python -m pytest -q

# The CPU benchmarks, side by side with the JAX reference (installed here, for benchmarks only).
bench: $(BASE)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/train_step.py

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .ruff_cache check-report
