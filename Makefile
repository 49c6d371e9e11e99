# Heldout: `make demo` to try it, `make test` to check it. Both work from a fresh clone as root.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Reinstall when pyproject.toml or the set of package files changes (strict editable installs
# link files one by one, so a new module needs a new install).
SRC_HASH := $(shell (cat pyproject.toml; find platform graders challenges sandbox -type f \
	-not -path '*/__pycache__/*' | sort) | md5sum | cut -c1-12)
STAMP := $(VENV)/.installed-$(SRC_HASH)

.PHONY: install system services image demo test lint typecheck bench clean

install: $(STAMP)

$(STAMP):
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@# flock: several shells (or helpers) may ask for an install at once
	flock /tmp/heldout-install.lock sh -c "$(BIN)/pip install -q --upgrade pip && \
		$(BIN)/pip install -q -e '.[dev]' --config-settings editable_mode=strict"
	@rm -f $(VENV)/.installed-*; touch $@

system:  ## Debian packages and a running Docker engine (root, idempotent)
	bash tests/setup/system.sh

image: install system  ## the sandbox runtime image, rebuilt only when its content hash changes
	$(BIN)/heldout sandbox build-image

demo: install system image
	$(BIN)/heldout demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy -p heldout.platform -p heldout.graders -p heldout.challenges -p heldout.sandbox -p tests

test: install system image lint typecheck
	$(BIN)/pytest $(PYTEST_ARGS)

bench: install system image
	$(BIN)/python -m tests.bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build instance .pytest_cache .mypy_cache .ruff_cache
