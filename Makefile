# ibkr-broker: every target sets itself up from nothing (a Python 3.11+ on PATH is all it needs).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
NODE_STAMP := tests/interop/node_modules/.installed
GO_STAMP   := build/go/.built
TS_DEPS    := sdk/ts/node_modules/.installed
TS_STAMP   := sdk/ts/dist/.built
IBKR_BROKER_ADDR ?= 127.0.0.1:50051
# Debian's Go toolchain, Go gRPC / protobuf packages (the SDK builds offline against them) and
# the protoc plugins that generated sdk/go (the staleness test regenerates it).
GO_DEBS := golang-go golang-google-grpc-dev golang-google-protobuf-dev \
	golang-github-golang-protobuf-1-5-dev golang-google-genproto-dev protoc-gen-go protoc-gen-go-grpc

.PHONY: run test proto lint bench clean venv gen-go gen-ts examples sdk

run: $(STAMP)                    ## serve the API against the embedded TWS simulator (metrics on :9464)
	$(VENV)/bin/ibkr-broker serve --sim --metrics 127.0.0.1:9464

test: $(STAMP) $(NODE_STAMP) sdk ## install everything and run every test
	command -v nats-server >/dev/null || test -x /usr/sbin/nats-server || \
		(apt-get update -qq && apt-get install -y -qq nats-server)
	$(PY) -m pytest

proto: $(STAMP)                  ## regenerate the Python code beside protos/
	$(PY) scripts/gen_protos.py

lint: $(STAMP) $(GO_STAMP) $(TS_DEPS)  ## ruff, mypy, buf lint and breaking, gofmt and go vet, tsc
	$(VENV)/bin/ruff check .
	scripts/typecheck.sh
	$(VENV)/bin/buf lint
	$(VENV)/bin/buf breaking --against protos/released/v1-0.1.0.binpb
	test -z "$$(gofmt -l sdk/go bench/go)" || \
		(gofmt -l sdk/go bench/go; echo "gofmt: the files above need gofmt -w"; exit 1)
	cd build/go/gopath/src/github.com/ibkr-broker/ibkr-broker/sdk/go && \
		GO111MODULE=off GOPATH=$(CURDIR)/build/go/gopath:/usr/share/gocode go vet ./ibkrbroker ./examples/*
	cd bench/go/quote_readers && \
		GO111MODULE=off GOPATH=$(CURDIR)/build/go/gopath:/usr/share/gocode go vet .
	sdk/ts/node_modules/.bin/tsc -p sdk/ts --noEmit

bench: $(STAMP)                  ## run the benchmarks and print their figures
	$(PY) bench/run_all.py

examples: $(STAMP) sdk            ## every language's examples against IBKR_BROKER_ADDR (make run)
	IBKR_BROKER_ADDR=$(IBKR_BROKER_ADDR) $(PY) scripts/run_examples.py

sdk: $(GO_STAMP) $(TS_STAMP)      ## build the Go and TypeScript SDKs and their examples

gen-go: $(STAMP)                 ## regenerate sdk/go/ibkr_broker/v1 with Debian's Go plugins
	dpkg -s $(GO_DEBS) >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq $(GO_DEBS))
	scripts/gen_sdk.sh go

gen-ts: $(STAMP) $(TS_DEPS)      ## regenerate sdk/ts/src/gen (protos/ and google.rpc.ErrorInfo)
	scripts/gen_sdk.sh ts

venv: $(STAMP)

# Exact versions from constraints.txt (pyproject.toml holds the ranges users get).
$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# The interop test's Node.js gRPC client (Debian's nodejs and npm when the machine has none).
$(NODE_STAMP): tests/interop/package.json tests/interop/package-lock.json
	command -v node >/dev/null && command -v npm >/dev/null || \
		(apt-get update -qq && apt-get install -y -qq nodejs npm)
	cd tests/interop && npm ci --silent --no-audit --no-fund
	touch $(NODE_STAMP)

$(GO_STAMP): $(wildcard sdk/go/*/*.go sdk/go/*/*/*.go sdk/go/*/*/*/*.go) scripts/build_go_examples.sh
	dpkg -s $(GO_DEBS) >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq $(GO_DEBS))
	scripts/build_go_examples.sh build/go
	touch $(GO_STAMP)

$(TS_DEPS): sdk/ts/package.json sdk/ts/package-lock.json
	command -v node >/dev/null && command -v npm >/dev/null || \
		(apt-get update -qq && apt-get install -y -qq nodejs npm)
	cd sdk/ts && npm ci --silent --no-audit --no-fund
	touch $(TS_DEPS)

$(TS_STAMP): $(TS_DEPS) sdk/ts/tsconfig.json $(wildcard sdk/ts/src/*.ts sdk/ts/src/gen/*/*/*.ts sdk/ts/examples/*.ts sdk/ts/test/*.ts)
	sdk/ts/node_modules/.bin/tsc -p sdk/ts
	touch $(TS_STAMP)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis \
		tests/interop/node_modules .tools .lint gen \
		sdk/ts/node_modules sdk/ts/dist
