# Two commands on a fresh machine (Python 3.11, Java 17, Maven): `make demo`, `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: install demo test stack-up stack-down bench-ingest bench-stream bench-billing clean

install: $(VENV)/.installed

# constraints.txt pins the whole resolved set so every install is the same.
# It takes about a minute and 1.5 GB (chDB alone is ~530 MB): say so, rather than sit silent.
$(VENV)/.installed: pyproject.toml constraints.txt
	@echo "==> Creating the virtual environment $(VENV) with $(PYTHON)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	@echo "==> Installing Meterline and its pinned dependencies (constraints.txt) into $(VENV):"
	@echo "    about a minute and 1.5 GB (chDB, Kafka/Prefect/Stripe clients, test tools); pip prints only errors"
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	@echo "==> Installed. Next: make demo (the whole pipeline) or make test"
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
