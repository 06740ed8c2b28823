# The two Quickstart commands: `make search` and `make test`.
# Each creates .venv on first use and reinstalls only when pyproject.toml changes.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: search test bench setup browser mutation

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

search: $(STAMP)
	$(BIN)/autogan search $(ARGS)

# The HTML report's browser test needs Chromium; install Debian's where apt can.
browser:
	@command -v chromium >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
	  echo "chromium not installed: the browser tests skip (and fail under CI=true)"; }

# Two workers, then the solo tests alone (tests/conftest.py says which and why); a part with
# nothing selected (pytest's exit 5, say with PYTEST_ARGS naming one file) is not a failure.
test: $(STAMP) browser
	$(BIN)/python -m pytest -n 2 --dist loadgroup -m "not solo" $(PYTEST_ARGS); rc=$$?; [ $$rc -eq 0 ] || [ $$rc -eq 5 ] || exit $$rc
	$(BIN)/python -m pytest -m solo $(PYTEST_ARGS); rc=$$?; [ $$rc -eq 0 ] || [ $$rc -eq 5 ] || exit $$rc

# mutation.py is not a benchmark: hours of CPU, run on its own (`make mutation`).
bench: $(STAMP)
	for b in bench/*.py; do [ "$$b" = bench/mutation.py ] && continue; $(BIN)/python $$b || exit 1; done

# Mutation testing, outside `make test` and CI; stopped, it resumes where it stopped.
# MODULES=search_spaces/_architecture.py limits it to a module; JOBS mutants at once.
JOBS ?= 1
mutation: $(STAMP)
	$(BIN)/python -c 'import mutmut' 2>/dev/null || $(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev,mutation]'
	$(BIN)/python bench/mutation.py $(MODULES) --jobs $(JOBS)
