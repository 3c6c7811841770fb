# Two commands on a fresh machine (Python 3.11, Java 17, Maven): `make demo`, `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: install demo test stack-up stack-down bench-ingest bench-stream bench-billing clean

install: $(VENV)/.installed

# constraints.txt pins the whole resolved set so every install is the same.
$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

demo: install
	$(BIN)/meterline demo

test: install
	$(BIN)/python -m pytest -q

bench-ingest: install
	$(BIN)/python bench/ingest.py

bench-stream: install
	$(BIN)/python bench/stream.py

bench-billing: install
	$(BIN)/python bench/billing.py

stack-up: install
	$(BIN)/meterline stack up

stack-down:
	$(BIN)/meterline stack down

clean: stack-down
	rm -rf .run
