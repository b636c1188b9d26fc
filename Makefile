# iamgw: `make run` starts the gateway on its embedded default; `make test` runs the whole suite.
# Both create .venv when missing and are idempotent: a second run installs nothing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PEERS  := tests/peers
APT_PKGS := slapd ldap-utils libldap2-dev libsasl2-dev chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint deps test-deps apt-deps npm-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Reinstall only when the project's metadata changed.
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[embedded]'
	@touch $@

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test,ldap,embedded]'
	@touch $@

deps: $(VENV)/.installed-run

run: deps
	$(BIN)/iamgw serve

# Debian packages for the test peers (slapd, LDAP headers for python-ldap, chromium).
apt-deps:
	@missing=""; for p in $(APT_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  echo "slapd slapd/no_configuration boolean true" | $(SUDO) debconf-set-selections; \
	  $(SUDO) apt-get update -qq >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

npm-deps: $(PEERS)/node_modules/.installed

$(PEERS)/node_modules/.installed: $(PEERS)/package.json $(PEERS)/package-lock.json
	cd $(PEERS) && npm ci --silent --no-audit --no-fund
	@touch $@

test-deps: apt-deps $(STAMP) npm-deps

test: test-deps
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check iamgw tests bench
	$(BIN)/ruff format --check iamgw tests bench

clean:
	rm -rf $(VENV) $(PEERS)/node_modules
