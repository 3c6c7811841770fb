# Two commands on a fresh machine (Python 3.11, Java 17, Maven): `make demo`, `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: install demo test stack-up stack-down bench-ingest bench-stream bench-billing bench-web clean

install: $(VENV)/.installed web/dist/index.html

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

# The web app (web/): dependencies exactly as package-lock.json says (npm ci), rebuilt when
# the lock, a source or the API contract its types come from changed. Nothing built is committed.
WEB_SOURCES := $(shell find web/src -type f 2>/dev/null) web/index.html web/vite.config.ts web/tsconfig.json \
	tests/contract/admin_openapi.json

web/node_modules/.installed: web/package.json web/package-lock.json
	@echo "==> Installing the web app's pinned dependencies (npm ci in web/, Node $$(node --version))"
	cd web && npm ci --no-audit --no-fund
	touch $@

web/dist/index.html: web/node_modules/.installed $(WEB_SOURCES)
	@echo "==> Building the web app (web/dist, served by the admin API at /)"
	cd web && npm run build --silent
	touch $@

demo: install
	$(BIN)/meterline demo

test: install
	cd web && npm test --silent
	$(BIN)/python -m pytest -q

bench-ingest: install
	$(BIN)/python bench/ingest.py

bench-stream: install
	$(BIN)/python bench/stream.py

bench-billing: install
	$(BIN)/python bench/billing.py

bench-web: install
	$(BIN)/python bench/web.py

stack-up: install
	$(BIN)/meterline stack up

stack-down:
	$(BIN)/meterline stack down

clean: stack-down
	rm -rf .run
