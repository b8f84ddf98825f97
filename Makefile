# shippy: `make init` once, `make run` to start everything, `make test` before you push.
CARGO   ?= cargo
PROFILE ?=
BIN     := target/release
K8S_NAMESPACE ?= shippy

.DEFAULT_GOAL := help
.PHONY: help init run test test-deps supply-chain bench flame fmt lint k8s-keys k8s-check

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-9s %s\n", $$1, $$2}'

# What `make run` starts. The embedded default needs none of the real-infrastructure adapters
# (the cargo features kafka, mongodb and consul: librdkafka in C, the MongoDB driver, Consul's
# HTTP client), so a plain `make init` leaves them out (a new clone's cold build: 9 min 50 s
# instead of 13 min 46 s); any PROFILE (or SHIPPY_PROFILE) builds them all. `make test` and
# `make bench` build everything.
RUN_PACKAGES := -p shippy-user -p shippy-vessel -p shippy-consignment -p shippy-log -p shippy-api -p shippy-cli

init: ## build the release binaries (PROFILE=compose: with the Kafka, MongoDB and Consul adapters), create .shippy/ (config, token key pair), start PROFILE=compose's containers; safe to repeat
	$(CARGO) build --release $(RUN_PACKAGES) --bins $(if $(PROFILE)$(SHIPPY_PROFILE),,--no-default-features)
	$(BIN)/shippy init $(if $(PROFILE),--profile $(PROFILE))
	@scripts/infra.sh $(PROFILE)

run: init ## start all five services (PROFILE=name for another profile, VESSELS=2 or SCALE="vessel=2 log=2" for more instances); Ctrl-C stops them
	$(BIN)/shippy run $(if $(PROFILE),--profile $(PROFILE)) $(if $(VESSELS),--scale vessel=$(VESSELS)) $(foreach s,$(SCALE),--scale $(s))

test: test-deps ## the supply-chain check, then unit, contract, repository, system and browser tests and the Kubernetes manifest checks, with the test servers
	scripts/supply-chain.sh
	$(CARGO) build --workspace --bins
	scripts/with-test-servers.sh $(CARGO) test --workspace --no-fail-fast

test-deps: ## install what the tests need when missing (Chromium, chromedriver, axe-core, schemathesis, SecantusDB, kubernetes-validate, yamllint, kubectl, promtool, cargo-deny, the contract linters: openapi-spec-validator, Redocly CLI, Spectral, buf)
	@scripts/test-deps.sh

supply-chain: test-deps ## cargo deny check: RustSec advisories (offline from ../shared/reference when there), licenses, bans, sources (deny.toml)
	scripts/supply-chain.sh

bench: ## measure throughput, latency, CPU and memory of each layer beside grpc-go (release build; table + target/bench/results.json)
	@scripts/bench-deps.sh
	$(CARGO) build --release --workspace --bins
	$(BIN)/shippy-bench $(BENCH_ARGS)

flame: ## a flame graph of a service under a bench case (CASE=hop SERVICE=vessel-service; needs perf): docs/flamegraphs/CASE.svg
	$(CARGO) build --release --workspace --bins
	scripts/flamegraph.sh $(or $(CASE),hop) $(or $(SERVICE),vessel-service)

fmt: ## format the code
	$(CARGO) fmt --all

k8s-keys: ## create the Secret shippy-keys (fresh key pairs) in K8S_NAMESPACE=shippy unless it exists; K8S_KEYS_FILE=f writes it to f instead
	$(CARGO) build --release -p shippy-cli --bin shippy
	K8S_NAMESPACE=$(K8S_NAMESPACE) K8S_KEYS_FILE=$(K8S_KEYS_FILE) SHIPPY_BIN=$(BIN)/shippy deploy/k8s/keys.sh

k8s-check: test-deps ## render every overlay in deploy/k8s, validate it against the Kubernetes schemas and lint it (no cluster needed)
	scripts/k8s-check.sh

lint: ## check formatting and clippy, warnings as errors
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
