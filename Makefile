# The two commands (see README): `make demo` and `make test`. Each sets up .venv first.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)
export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false

.PHONY: demo test install clean system-deps

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@python3 -c 'import sys; assert sys.version_info[:2] == (3, 11), "newsflow needs Python 3.11"'
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.lock
	$(PY) -m pip install --disable-pip-version-check -q --no-deps -e .
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/newsflow ingest --mirror

# Debian's chromium renders `newsflow report` in a test; CJK fonts make the screenshot real.
system-deps:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium and CJK fonts (Debian packages) ..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	  else echo "note: chromium missing and not root: the report rendering test will be skipped"; fi; \
	fi

# Debian's PostgreSQL is the DuckLake catalog in the lake tests (tests/lake_fixtures.py).
	@if ! command -v pg_ctl >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing postgresql (Debian package) ..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	  else echo "note: PostgreSQL missing and not root: the DuckLake tests will be skipped"; fi; \
	fi

test: $(STAMP) system-deps
	$(PY) -m pytest -q -n auto --maxprocesses 4 --dist loadfile

clean:
	rm -rf $(VENV) data .pytest_cache
