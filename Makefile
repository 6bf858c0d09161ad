# ibkr-broker: every target sets itself up from nothing (a Python 3.11+ on PATH is all it needs).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
NODE_STAMP := tests/interop/node_modules/.installed

.PHONY: run test proto lint bench clean venv gen-ts

run: $(STAMP)                    ## serve the API against the embedded TWS simulator (metrics on :9464)
	$(VENV)/bin/ibkr-broker serve --sim --metrics 127.0.0.1:9464

test: $(STAMP) $(NODE_STAMP)     ## install everything and run every test
	command -v nats-server >/dev/null || test -x /usr/sbin/nats-server || \
		(apt-get update -qq && apt-get install -y -qq nats-server)
	$(PY) -m pytest

proto: $(STAMP)                  ## regenerate the Python code beside protos/
	$(PY) scripts/gen_protos.py

lint: $(STAMP)                   ## ruff, mypy, buf lint and buf breaking against the v1 release
	$(VENV)/bin/ruff check .
	scripts/typecheck.sh
	$(VENV)/bin/buf lint
	$(VENV)/bin/buf breaking --against protos/released/v1-0.1.0.binpb

bench: $(STAMP)                  ## run the benchmarks and print their figures
	$(PY) bench/run_all.py

gen-ts: $(STAMP)                 ## TypeScript client code in gen/ts (needs Node.js and npm)
	npm install --silent --no-save --prefix .tools/ts @bufbuild/protoc-gen-es@2.17.0 @bufbuild/protobuf@2.17.0
	$(VENV)/bin/buf generate --template buf.gen.ts.yaml

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

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis \
		tests/interop/node_modules .tools .lint gen
