# The two commands a newcomer needs: `make serve` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve test system bench mutate clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

## Start the knowledge base on http://127.0.0.1:8000 (embedded store, loads the shipped model).
serve: $(STAMP)
	$(BIN)/ekb serve

## Debian packages the tests start: Chromium (the console's browser tests) and Virtuoso (a remote engine).
SYSTEM_TOOLS := chromium:chromium virtuoso-t:virtuoso-opensource
system:
	@missing=$$(for tool in $(SYSTEM_TOOLS); do command -v $${tool%%:*} >/dev/null || echo $${tool#*:}; done); \
	if [ -n "$$missing" ]; then echo "installing" $$missing; apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; fi

## Run the whole test suite (and the linter).
test: $(STAMP) system
	$(BIN)/ruff check src tests bench
	$(BIN)/pytest -q

## Run the benchmarks (prints a table, writes bench/results/latest.json). SCALES=1e4,1e5,1e6 for more.
bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,bench]'
	$(BIN)/python -m bench.run $(if $(SCALES),--scales $(SCALES))

## Mutation testing (mutmut) of authentication, the gate and findings, parameter binding, graph names and limits:
## see [tool.mutmut] in pyproject.toml and "Mutation testing" in the README. MUTANTS='ekb.findings*' for one module.
MUTANTS ?= 'ekb.api.protocol.x_require_write_token*' 'ekb.api.protocol.x_parse_iri*' 'ekb.api.protocol.x_parse_int*' 'ekb.findings*' 'ekb.config*' \
	'ekb.library*' 'ekb.limits*' 'ekb.gate*'
mutate: $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,dev]'
	$(BIN)/mutmut run $(MUTANTS)
	$(BIN)/mutmut results

clean:
	rm -rf $(VENV) build dist src/*.egg-info mutants
