# mmskin: `make demo` (set up + build the sample books) and `make test` (set up + test suite). Both idempotent.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.mmskin-installed
export PREFECT_HOME ?= $(CURDIR)/.prefect
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 120
export PREFECT_LOGGING_LEVEL ?= WARNING
export OMP_THREAD_LIMIT ?= 1

.PHONY: setup demo test samples clean

setup: $(STAMP)

# tesseract-ocr from apt when missing (root, or sudo without a password)
/usr/bin/tesseract:
	@command -v tesseract >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo -n"; fi; \
	  echo "installing tesseract-ocr with apt"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq tesseract-ocr >/dev/null; }

# Debian's chromium for the headless browser test of `mmskin review` (driven by the playwright pip package;
# no browser download), from apt when missing
/usr/bin/chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo -n"; fi; \
	  echo "installing chromium with apt"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

$(STAMP): requirements.txt pyproject.toml | /usr/bin/tesseract /usr/bin/chromium
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) (Python 3.11)"; exit 1; }
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

samples: setup
	$(PY) sample_pdfs/make_samples.py --out sample_pdfs

demo: setup
	$(VENV)/bin/mmskin build sample_pdfs --out out/demo
	$(VENV)/bin/mmskin eval extraction --truth sample_pdfs --records out/demo/records.jsonl

test: setup
	$(PY) -m pytest -q -n 2 --dist loadgroup tests

clean:
	rm -rf out .prefect .pytest_cache
