# Two commands do all the set-up on a fresh Debian/Ubuntu machine with Python 3.11+:
#   make run    installs what the window needs, then opens it
#   make test   installs what the tests need, then runs lint, types, layering and the whole suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint venv system-deps-run system-deps-test js-deps ts-deps screenshot bench clean

run: system-deps-run $(STAMP)
	$(BIN)/event-composer

test: system-deps-test $(STAMP) js-deps ts-deps lint
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check composer tests benchmarks scripts
	$(BIN)/ruff format --check composer tests benchmarks scripts
	$(BIN)/mypy
	$(BIN)/lint-imports

venv: $(STAMP)

$(STAMP): pyproject.toml
	PYTHON=$(PYTHON) sh scripts/venv.sh $(VENV)
	touch $(STAMP)

system-deps-run:
	PYTHON=$(PYTHON) sh scripts/system-deps.sh run

system-deps-test:
	PYTHON=$(PYTHON) sh scripts/system-deps.sh test

# posthog-node, posthog-js and playwright-core for the real-SDK tests (skipped without Node).
js-deps:
	sh scripts/js-deps.sh

# typescript, for the tests that run `tsc --strict` on generated tracking code (skipped without Node).
ts-deps:
	sh scripts/ts-deps.sh

bench: $(STAMP)
	$(BIN)/python benchmarks/preflight.py
	$(BIN)/python benchmarks/window.py
	$(BIN)/python benchmarks/batch_send.py
	$(BIN)/python benchmarks/plan_check.py

# Real framebuffer grabs of the window (light and dark) under Xvfb, for the README.
screenshot: system-deps-test $(STAMP)
	xvfb-run -a -s "-screen 0 1480x900x24" env QT_QPA_PLATFORM=xcb \
		$(BIN)/python scripts/screenshot.py packaging/screenshots

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache .pytest_cache .hypothesis
