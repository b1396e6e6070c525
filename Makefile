# WeChat Mini Program login for CloudBase, as SCF custom-runtime bootstraps.
# `make invoke` and `make test` are the two commands a fresh clone needs (see README.md).

SHELL := /bin/bash
FUNCTIONS := getLoginTicket getUserInfo test
MUSL_TARGET := x86_64-unknown-linux-musl
FN ?= getLoginTicket
# getLoginTicket needs a code; the local mock accepts any (see README "Local mock").
ifeq ($(FN),getLoginTicket)
EVENT ?= {"code":"demo-user.1"}
else
EVENT ?= {}
endif
ARGS ?=

.PHONY: soak invoke test fmt-check clippy unit compat deploy-check supply-chain audit build package check-package deploy help

help:
	@echo "make invoke [FN=getLoginTicket|getUserInfo|test] [EVENT='{...}'] [ARGS='--http POST /login']"
	@echo "make test      format check, clippy -D warnings, all tests, Node SDK compatibility check, licenses/bans/sources"
	@echo "make audit     RustSec advisories too (needs github.com for the advisory database; REQUIRE=1 fails if it can't be fetched)"
	@echo "make build     static $(MUSL_TARGET) release binaries (needs musl-tools)"
	@echo "make package   dist/<function>/bootstrap and dist/<function>.zip, with sizes"
	@echo "make check-package   test the zips as shipped (unzip, static, run on the emulator, CloudBase packer)"
	@echo "make deploy ENV_ID=...   deploy with the pinned CloudBase CLI (see README)"
	@echo "make soak [SOAK_N=100000]   every function, SOAK_N mixed good/bad invocations; RSS must stay flat"

invoke:
	@scripts/invoke $(FN) '$(EVENT)' $(ARGS)

test: fmt-check clippy unit compat deploy-check supply-chain

fmt-check:
	cargo fmt --all -- --check

clippy:
	cargo clippy --workspace --all-targets -- -D warnings

unit:
	cargo test --workspace

# Our tickets against the official Node SDKs (npm registry needed once, for npm ci).
compat: scripts/compat/node_modules/.installed
	cargo build --quiet -p wxlogin-devtools --bin ticket
	node scripts/compat/check.js "$${CARGO_TARGET_DIR:-target}/debug/ticket"

scripts/compat/node_modules/.installed: scripts/compat/package.json scripts/compat/package-lock.json
	cd scripts/compat && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# scripts/deploy's decisions, against a stub CLI (no network).
deploy-check:
	scripts/test-deploy

# Licenses, bans, sources against deny.toml (cargo-deny; installed once from crates.io, ~3 min).
supply-chain:
	scripts/supply-chain policy

# The same plus RustSec advisories. The advisory database is a git repository on GitHub:
# where it can't be fetched, this says so and skips advisories (fails with REQUIRE=1).
audit:
	scripts/supply-chain all $(if $(REQUIRE),--require)

build:
	cargo build --release --target $(MUSL_TARGET) $(foreach f,$(FUNCTIONS),--bin $(f))

# KEY=path/to/tcb_custom_login.json ships the key inside getLoginTicket's package (off by default).
package: build
	scripts/package $(if $(KEY),--include-key $(KEY))

check-package: package scripts/compat/node_modules/.installed
	scripts/check-dist
	for f in $(FUNCTIONS); do node scripts/compat/pack-check.js dist/$$f || exit 1; done

deploy: package
	scripts/deploy

# SOAK_N invocations per function (good and bad events mixed) on the musl release binaries:
# exactly one right result per event, RSS growth after warm-up <= 1 MB. Not in CI (about 1 min).
SOAK_N ?= 100000
soak: build
	cargo build --release --quiet -p wxlogin-devtools --bin soak
	for f in $(FUNCTIONS); do "$${CARGO_TARGET_DIR:-target}/release/soak" --bootstrap "$${CARGO_TARGET_DIR:-target}/$(MUSL_TARGET)/release/$$f" --invocations $(SOAK_N) --warmup $$(( $(SOAK_N) / 10 )) || exit 1; done
