# shippy: `make init` once, `make run` to start everything, `make test` before you push.
CARGO   ?= cargo
PROFILE ?=
BIN     := target/release

.DEFAULT_GOAL := help
.PHONY: help init run test test-deps bench fmt lint

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-9s %s\n", $$1, $$2}'

init: ## build the release binaries, create .shippy/ (config, token key pair), start PROFILE=compose's containers; safe to repeat
	$(CARGO) build --release --workspace --bins
	$(BIN)/shippy init $(if $(PROFILE),--profile $(PROFILE))
	@scripts/infra.sh $(PROFILE)

run: init ## start all five services (PROFILE=name for another profile, VESSELS=2 or SCALE="vessel=2 log=2" for more instances); Ctrl-C stops them
	$(BIN)/shippy run $(if $(PROFILE),--profile $(PROFILE)) $(if $(VESSELS),--scale vessel=$(VESSELS)) $(foreach s,$(SCALE),--scale $(s))

test: test-deps ## unit, contract, repository, system and browser tests, with the test servers
	$(CARGO) build --workspace --bins
	scripts/with-test-servers.sh $(CARGO) test --workspace --no-fail-fast

test-deps: ## install what the tests need when missing (Chromium, chromedriver, schemathesis, SecantusDB)
	@scripts/test-deps.sh

bench: ## measure throughput, latency, CPU and memory of each layer (release build; table + target/bench/results.json)
	$(CARGO) build --release --workspace --bins
	$(BIN)/shippy-bench $(BENCH_ARGS)

fmt: ## format the code
	$(CARGO) fmt --all

lint: ## check formatting and clippy, warnings as errors
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
