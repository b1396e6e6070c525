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

.PHONY: invoke test fmt-check clippy unit compat build help

help:
	@echo "make invoke [FN=getLoginTicket|getUserInfo|test] [EVENT='{...}'] [ARGS='--http POST /login']"
	@echo "make test      format check, clippy -D warnings, all tests, Node SDK compatibility check"
	@echo "make build     static $(MUSL_TARGET) release binaries (needs musl-tools)"

invoke:
	@scripts/invoke $(FN) '$(EVENT)' $(ARGS)

test: fmt-check clippy unit compat

fmt-check:
	cargo fmt --all -- --check

clippy:
	cargo clippy --workspace --all-targets -- -D warnings

unit:
	cargo test --workspace

# Our tickets against the official Node SDKs (npm registry needed once, for npm ci).
compat:
	cargo build --quiet -p wxlogin-devtools --bin ticket
	cd scripts/compat && npm ci --no-audit --no-fund --loglevel=error
	node scripts/compat/check.js "$${CARGO_TARGET_DIR:-target}/debug/ticket"

build:
	cargo build --release --target $(MUSL_TARGET) $(foreach f,$(FUNCTIONS),--bin $(f))
