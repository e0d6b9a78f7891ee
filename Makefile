# The course's two commands: `make lab` to learn, `make test` to check everything.
# Plain equivalents (for machines without make) are in README.md.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: lab test lint student grade colab benchmark clean

# Create the virtual environment once, and reinstall when pyproject.toml changes.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10) and "Python >= 3.10 is needed; set PYTHON=python3.x")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e ".[dev]"
	touch $(STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

test: $(STAMP)
	$(BIN)/python -m ruff check cvae_helpers tests benchmarks
	$(BIN)/python -m pytest tests notebooks --nbval-lax --nbval-current-env -v

clean:
	rm -rf $(VENV) build
