# Two set-up commands (see README): `make demo` and `make test`. Both work on a fresh machine
# with only Python 3.11: they create .venv and install everything the engine needs.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
RUN    ?= runs/demo

.PHONY: install demo place-demo test lint bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

## demo: install, then place and route Kent's pupils on the embedded data
demo: install
	$(BIN)/sen-transport place --policy nearest-with-capacity --data data/kent --out $(RUN)/nearest-with-capacity
	$(BIN)/sen-transport place --policy nearest-suitable --data data/kent --out $(RUN)/nearest-suitable
	$(BIN)/sen-transport place --policy optimal --data data/kent --out $(RUN)/optimal
	@if $(BIN)/sen-transport solve --help >/dev/null 2>&1; then \
		$(BIN)/sen-transport solve --data data/kent --out $(RUN)/solve; fi

## test: install, then run the whole test suite
test: install
	$(BIN)/python -m pytest -q -p no:cacheprovider

lint: install
	$(BIN)/ruff check transport tests benchmarks
	$(BIN)/ruff format --check transport tests benchmarks

bench: install
	$(BIN)/python benchmarks/placement_kent.py

clean:
	rm -rf $(VENV) runs .pytest_cache
