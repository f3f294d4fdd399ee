# Louzhang: `make run` starts everything, `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)

.PHONY: install browser caddy run test unit cluster-test lint bench chaos chaos-cluster clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -e '.[mongo,dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

run: install
	$(VENV)/bin/louzhang run

# The dashboard's browser test drives Debian's Chromium (and needs a CJK font to draw the page);
# installed here when missing and we are root with apt-get, else the test fails saying so
# (LOUZHANG_SKIP_BROWSER=1 skips it instead).
CHROMIUM := /usr/bin/chromium
CJK_FONT := /usr/share/fonts/truetype/wqy/wqy-microhei.ttc
browser:
	@if [ "$$LOUZHANG_SKIP_BROWSER" = 1 ] || { [ -x $(CHROMIUM) ] && [ -e $(CJK_FONT) ]; }; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian's chromium and fonts-wqy-microhei for the browser test"; \
	  log=$$(mktemp); \
	  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-wqy-microhei; } \
	    >"$$log" 2>&1 || { cat "$$log"; rm -f "$$log"; exit 1; }; \
	  rm -f "$$log"; \
	else \
	  echo "warning: no $(CHROMIUM) and cannot install it (needs root and apt-get): the browser test will fail;" \
	       "install chromium and fonts-wqy-microhei, or set LOUZHANG_SKIP_BROWSER=1" >&2; \
	fi

# The TLS proxy's test (tests/integration/test_proxy.py) runs Debian's Caddy, unpacked into the venv
# without installing it (no service started); skipped, saying so, where it cannot be fetched.
CADDY := $(VENV)/caddy/usr/bin/caddy
caddy: install
	@if [ -x $(CADDY) ] || command -v caddy >/dev/null; then :; \
	elif command -v apt-get >/dev/null; then \
	  dir=$$(mktemp -d); \
	  if (cd "$$dir" && apt-get download -q caddy >/dev/null 2>&1) && dpkg-deb -x "$$dir"/caddy_*.deb $(VENV)/caddy; \
	  then echo "unpacked Debian's caddy into $(VENV)/caddy for the proxy test"; \
	  else echo "warning: could not fetch Debian's caddy: the proxy test will be skipped" >&2; fi; \
	  rm -rf "$$dir"; \
	else echo "warning: no caddy and no apt-get: the proxy test will be skipped" >&2; fi

test: install browser caddy
	$(PY) -m pytest -m "not cluster"

# `louzhang cluster up|status|down` on the real engines (three RabbitMQ nodes, three mongod, free ports):
# 55-80 s here, most of it starting the nodes, so not in `make test`. CI runs it after the suite.
cluster-test: install
	$(PY) -m pytest -m cluster tests/integration/test_cluster.py

unit: install
	$(PY) -m pytest tests/unit

lint: install
	$(VENV)/bin/ruff check services tests chaos bench
	$(VENV)/bin/ruff format --check services tests chaos bench
	$(VENV)/bin/mypy

# The whole loop measured on this machine (bench/, docs/bench.md): its own MongoDB, vhost and ports;
# installs Debian's wrk when missing. One table, also in bench/results/latest.json. Not part of `make test`.
# BENCH_ARGS="--quick" for a short development run, "--profile" to py-spy the services too.
bench: install
	$(PY) -m bench $(BENCH_ARGS)

# Fault injection against the real stack (chaos/): single instances, then routing and notify twice.
# It restarts the machine's RabbitMQ; not part of `make test`. CHAOS_ARGS="--issues 200" for a smoke run.
chaos: install
	$(PY) -m chaos $(CHAOS_ARGS)
	$(PY) -m chaos --replicas $(CHAOS_ARGS)

# The same run on a local cluster of its own (3 RabbitMQ nodes, 3-member replica set, free ports; the
# machine's broker is left alone), with node faults: 4-5 minutes here. Not run by `make chaos`, which
# restarts the machine's broker; this one can run beside other work. README "Faults".
chaos-cluster: install
	$(PY) -m chaos --cluster $(CHAOS_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
