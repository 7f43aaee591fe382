# Two commands do all the set-up on a fresh Debian/Ubuntu machine with Python 3.11+:
#   make run    installs what the window needs, then opens it
#   make test   installs what the tests need, then runs lint, types, layering and the whole suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# `make run` installs only the runtime dependencies; `make test` adds the test extras on top.
RUN_STAMP := $(VENV)/.installed-run

.PHONY: run test lint venv system-deps-run system-deps-test js-deps ts-deps screenshot bench clean \
	install-desktop uninstall-desktop icons dist

run: system-deps-run $(RUN_STAMP)
	$(BIN)/event-composer

test: system-deps-test $(STAMP) js-deps ts-deps lint
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check composer tests benchmarks scripts packaging
	$(BIN)/ruff format --check composer tests benchmarks scripts packaging
	$(BIN)/mypy
	$(BIN)/lint-imports

venv: $(STAMP)

$(STAMP): pyproject.toml
	PYTHON=$(PYTHON) sh scripts/venv.sh $(VENV) test
	touch $(STAMP) $(RUN_STAMP)

$(RUN_STAMP): pyproject.toml
	PYTHON=$(PYTHON) sh scripts/venv.sh $(VENV) run
	touch $(RUN_STAMP)

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

# The desktop entry, icons and AppStream metadata, for the user by default (no root needed):
#   make install-desktop                     into ~/.local/share
#   make install-desktop PREFIX=/usr/local   system-wide (as root)
# EXEC is the command the menu entry runs; give the venv's when it is not on PATH, e.g.
#   make install-desktop EXEC=$$PWD/.venv/bin/event-composer
APP_ID := io.github.posthog_event_composer
PREFIX ?= $(HOME)/.local
DATADIR ?= $(PREFIX)/share
EXEC ?= event-composer
ICON_SIZES := 16 32 48 64 128 256

install-desktop:
	install -d "$(DATADIR)/applications" "$(DATADIR)/metainfo" \
		"$(DATADIR)/icons/hicolor/scalable/apps"
	sed 's|^Exec=.*|Exec=$(EXEC)|' packaging/linux/$(APP_ID).desktop \
		> "$(DATADIR)/applications/$(APP_ID).desktop"
	chmod 644 "$(DATADIR)/applications/$(APP_ID).desktop"
	install -m 644 packaging/linux/$(APP_ID).metainfo.xml "$(DATADIR)/metainfo/"
	install -m 644 packaging/icons/hicolor/scalable/apps/$(APP_ID).svg \
		"$(DATADIR)/icons/hicolor/scalable/apps/"
	for size in $(ICON_SIZES); do \
		install -D -m 644 packaging/icons/hicolor/$${size}x$${size}/apps/$(APP_ID).png \
			"$(DATADIR)/icons/hicolor/$${size}x$${size}/apps/$(APP_ID).png" || exit 1; \
	done
	# Menus and icon caches pick the files up sooner with these (absent on minimal systems).
	if command -v update-desktop-database >/dev/null; then \
		update-desktop-database -q "$(DATADIR)/applications"; fi
	if command -v gtk-update-icon-cache >/dev/null; then \
		gtk-update-icon-cache -q -t "$(DATADIR)/icons/hicolor"; fi

uninstall-desktop:
	rm -f "$(DATADIR)/applications/$(APP_ID).desktop" "$(DATADIR)/metainfo/$(APP_ID).metainfo.xml" \
		"$(DATADIR)/icons/hicolor/scalable/apps/$(APP_ID).svg"
	for size in $(ICON_SIZES); do \
		rm -f "$(DATADIR)/icons/hicolor/$${size}x$${size}/apps/$(APP_ID).png"; \
	done

# Re-renders packaging/icons/ (hicolor PNGs, .ico, .icns) from resources/icons/app.svg.
icons: $(RUN_STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python scripts/render_icons.py packaging/icons

# Wheel, sdist and the PyInstaller onedir bundle, built in a clean virtualenv under build/
# from packaging/constraints.txt, then smoke-tested (packaging/smoke_test.py). Prints sizes.
dist: system-deps-test
	PYTHON=$(PYTHON) sh scripts/dist.sh

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache .pytest_cache .hypothesis
