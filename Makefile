# harmnet: `make run` serves the demo, `make test` runs the suite.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
PORT ?= 5000
export PORT

.PHONY: run test install translations translations-extract translations-update lint bench \
	bench-lighthouse screenshots bench-data bench-load bench-soak requirements clean db-upgrade \
	seed serve

$(BIN)/activate: requirements.txt requirements-dev.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(BIN)/activate

install: $(BIN)/activate

# Compile the catalogues (the .mo files are build output, not committed).
translations: install
	$(BIN)/pybabel compile --statistics -d harmnet/translations -f

translations-extract: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output \
	  -o harmnet/translations/messages.pot .

translations-update: translations-extract
	$(BIN)/pybabel update -i harmnet/translations/messages.pot -d harmnet/translations \
	  --no-fuzzy-matching --ignore-obsolete

db-upgrade: install translations
	$(FLASK) db upgrade

seed: db-upgrade
	@if $(FLASK) is-empty; then $(FLASK) seed-demo; fi

run: seed
	@echo ""
	@echo "  harmnet is starting on http://127.0.0.1:$(PORT)/"
	@echo "  Demo logins (password demo-pass-2024):"
	@echo "    coord-hoasen, peer-hoasen     (CLB Hoa Sen: coordinator, peer educator)"
	@echo "    coord-songhong, peer-songhong (Sông Hồng: coordinator, peer educator)"
	@echo "    dept-hn (department viewer, Hà Nội), admin (platform admin)"
	@echo "  Ctrl-C stops the web server and the worker."
	@echo ""
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start

test: install translations
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

# The figures people feel (docs/performance.md): page weight in Chromium, then p95 by role
# under load on the 10M database. Needs PostgreSQL, Redis, wrk, Chromium and `make bench-data`.
bench: install translations
	$(BIN)/python bench/page_weight.py
	$(BIN)/python bench/load.py --database-url $(BENCH_DB) --users 10,50 --duration 60 $(BENCH_ARGS)
	$(BIN)/python bench/dispatch_sweep.py
	$(BIN)/python bench/history.py
	$(BIN)/python bench/reminders_throughput.py -n 5000

# Mobile Lighthouse scores of the key pages (npx lighthouse, Debian's Chromium).
bench-lighthouse: install translations
	$(BIN)/python bench/lighthouse.py

screenshots: install translations
	$(BIN)/python bench/screenshots.py

# Scale and load (docs/performance.md): PostgreSQL, Redis and wrk on this machine.
BENCH_DB ?= postgresql://postgres@127.0.0.1:5432/harmnet_bench
GROUPS ?= 1000
CONTACTS ?= 10000000

bench-data: install
	$(BIN)/python bench/generate.py --groups $(GROUPS) --contacts $(CONTACTS) --database-url $(BENCH_DB)

bench-load: install translations
	$(BIN)/python bench/load.py --database-url $(BENCH_DB) $(BENCH_ARGS)

bench-soak: install translations
	$(BIN)/python bench/soak.py --database-url $(BENCH_DB) $(BENCH_ARGS)

requirements:
	$(BIN)/pip freeze --exclude-editable > /tmp/harmnet-freeze.txt
	@echo "Review /tmp/harmnet-freeze.txt and split it into requirements*.txt"

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache .hypothesis
