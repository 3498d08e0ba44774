# Two commands matter: `make run` and `make test`. Everything else supports them.
PYTHON_BOOT ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint bench soak check clean browser

$(PY):
	$(PYTHON_BOOT) -m venv $(VENV)

# Reinstall only when a requirements file changes.
$(STAMP): requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

bridge.yml:
	cp bridge.example.yml bridge.yml
	@echo "wrote bridge.yml from bridge.example.yml"

run: $(STAMP) bridge.yml
	$(PY) -m bridge serve --with-devflow

test: $(STAMP) lint browser
	$(PY) -m pytest

# The console's browser tests drive Debian's chromium; Playwright never downloads a browser of its own.
browser:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && DEBIAN_FRONTEND=noninteractive apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; } \
	  || { echo "the browser tests need Debian's chromium; fix: sudo apt-get install chromium" >&2; exit 1; }

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

check: $(STAMP) bridge.yml
	$(PY) -m bridge check

bench: $(STAMP)
	$(PY) -m bench

# 10,000 events against random chat faults, worker kills and a Redis restart; SOAK_ARGS="--events 500" for a short one.
soak: $(STAMP)
	$(PY) -m bench.soak $(SOAK_ARGS)

clean:
	rm -rf $(VENV) .hookdock .pytest_cache
