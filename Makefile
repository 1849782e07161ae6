# bcbridge: `make demo` (see it work), `make test` (the whole suite, SQLite then PostgreSQL).
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: venv chromium peers test test-sqlite test-postgres soak lint demo bench clean screenshots

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

venv: $(BIN)/.installed

# Browser tests drive Debian's Chromium (never `playwright install`).
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

# The independent peers the suite runs against (oidc-provider, SAP CAP): Node 20 projects in
# peers/, installed from the lockfile only when node_modules is missing or older than it.
peers: peers/node_modules/.package-lock.json

peers/node_modules/.package-lock.json: peers/package-lock.json peers/package.json
	cd peers && npm ci --no-audit --no-fund
	touch $@

test: venv chromium peers
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-postgres

test-sqlite: venv
	BCBRIDGE_HOME=$(CURDIR)/var/test-sqlite DATABASE_URL= $(BIN)/pytest

# The emulator's own tests, the contract tests and the third-party clients touch no database:
# they run once, in the SQLite half; everything that stores data runs again on PostgreSQL.
test-postgres: venv
	BCBRIDGE_HOME=$(CURDIR)/var/test-postgres DATABASE_URL=$(PG_URL) $(BIN)/pytest -m "not browser" \
		--ignore=tests/emulator --ignore=tests/contract --ignore=tests/third_party

# The fault suite at full size (tests/soak: faults, kills, hostile requests, several
# workers, a secrets scan), about twelve minutes; one figure per probe, SQLite then PostgreSQL.
soak: venv
	BCBRIDGE_SOAK=1 BCBRIDGE_HOME=$(CURDIR)/var/soak-sqlite DATABASE_URL= $(BIN)/pytest -m soak tests/soak
	BCBRIDGE_SOAK=1 BCBRIDGE_HOME=$(CURDIR)/var/soak-postgres DATABASE_URL=$(PG_URL) $(BIN)/pytest -m soak tests/soak

# Refresh the README's screenshot (docs/dashboard.png) from the browser test; tests alone
# write screenshots only under test-artifacts/.
screenshots: venv chromium
	BCBRIDGE_HOME=$(CURDIR)/var/test-sqlite DATABASE_URL= BCBRIDGE_REFRESH_DOCS=1 $(BIN)/pytest -q tests/test_browser_main_job.py

lint: venv
	$(BIN)/ruff check src tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy src/bcbridge/auth src/bcbridge/http src/bcbridge/odata src/bcbridge/push src/bcbridge/conf.py src/bcbridge/crypto.py src/bcbridge/exceptions.py

demo: venv
	$(BIN)/bcbridge demo

bench: venv
	@for script in bench/bench_*.py; do echo "== $$script"; BCBRIDGE_HOME=$(CURDIR)/var/bench $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) var
