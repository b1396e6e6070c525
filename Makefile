# WeChat Mini Program login for CloudBase, as SCF custom-runtime bootstraps.
# `make invoke` and `make test` are the two commands a fresh clone needs (see README.md).

SHELL := /bin/bash
# The functions, from cloudbaserc.json (scripts/functions; it needs Node.js). Recursive (=), so
# that only the targets that use it run the script, and an empty list stops them here.
FUNCTIONS = $(or $(shell scripts/functions),$(error scripts/functions listed no function: see its message above))
MUSL_TARGET := x86_64-unknown-linux-musl
FN ?= getLoginTicket
# getLoginTicket needs a code; the local mock accepts any (see README "Local mock").
ifeq ($(FN),getLoginTicket)
EVENT ?= {"code":"demo-user.1"}
else
EVENT ?= {}
endif
ARGS ?=

.PHONY: e2e fuzz-smoke layout-check runtime-check scaffold-check package-web check-package-web deploy-web deploy-probe deploy-probe-web bench bench-smoke soak invoke test fmt-check clippy unit compat deploy-check docs-check supply-chain audit build package check-package deploy help fuzz

help:
	@echo "make invoke [FN=$(subst $(eval) ,|,$(strip $(FUNCTIONS)))] [EVENT='{...}'] [ARGS='--http POST /login']"
	@echo "make e2e       the mini program's whole login with the official client SDK (js-sdk 2.x and 3.x), on 127.0.0.1"
	@echo "make test      format check, clippy -D warnings, all tests, Node SDK compatibility check, licenses/bans/sources"
	@echo "make audit     RustSec advisories too (needs github.com for the advisory database; REQUIRE=1 fails if it can't be fetched)"
	@echo "make build     static $(MUSL_TARGET) release binaries (needs musl-tools)"
	@echo "make package   dist/<function>/bootstrap and dist/<function>.zip, with sizes"
	@echo "make check-package   test the zips as shipped (unzip, static, run on the emulator, CloudBase packer)"
	@echo "make deploy ENV_ID=...   deploy with the pinned CloudBase CLI (see README)"
	@echo "make package-web   dist/web/<function>/{scf_bootstrap,<function>} + dist/web/<function>.zip (HTTP functions)"
	@echo "make check-package-web   the web zips as shipped: unzip, 0755, LF, static, start scf_bootstrap, HTTP answers, SIGTERM, CloudBase packer"
	@echo "make deploy-web ENV_ID=...   deploy as CloudBase HTTP functions (cloudbaserc.web.json, tcb fn deploy --httpFn)"
	@echo "make deploy-probe ENV_ID=...   deploy only the probe (event function; docs/probe.md); make deploy leaves it out"
	@echo "make deploy-probe-web ENV_ID=...   deploy only the probe, as an HTTP function"
	@echo "make bench     Rust against Node with the official SDKs: cold start, warm latency, RSS, zip, minting, web mode under load (docs/benchmarks.md)"
	@echo "make fuzz [FUZZ_SECONDS=600]   cargo-fuzz every target (shared/scf-runtime/fuzz, shared/wxlogin/fuzz); make fuzz-smoke: 20 s each (CI)"
	@echo "make soak [SOAK_N=100000]   every function, SOAK_N mixed good/bad invocations; RSS must stay flat"

invoke:
	@scripts/invoke $(FN) '$(EVENT)' $(ARGS)

test: fmt-check clippy layout-check runtime-check unit scaffold-check compat deploy-check docs-check supply-chain

fmt-check:
	cargo fmt --all -- --check

clippy:
	cargo clippy --workspace --all-targets -- -D warnings

unit:
	cargo test --workspace

# The whole login as a mini program runs it (examples/miniprogram), with @cloudbase/js-sdk 2.27.2
# and 3.7.0 against the CloudBase and WeChat mocks and our functions (target/debug/e2e). npm ci once.
# E2E_FUNCTIONS_DIR=target/x86_64-unknown-linux-musl/release runs the shipped binaries (CI does).
export E2E_FUNCTIONS_DIR
E2E_SDK_DIRS := examples/miniprogram examples/miniprogram/e2e/sdk3
e2e: $(addsuffix /node_modules/.installed,$(E2E_SDK_DIRS))
	cargo build --quiet --bins
	node examples/miniprogram/e2e/run.js "$${CARGO_TARGET_DIR:-target}/debug/e2e" $(E2E_SDK_DIRS)

%/node_modules/.installed: %/package.json %/package-lock.json
	cd $* && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The layout's rules: no two source files import each other (scripts/check-imports), and no function
# depends on the benchmark code or criterion, not even for its tests.
layout-check:
	scripts/check-imports
	@for d in functions/*/; do \
		bad=$$(cargo tree --offline --manifest-path $$d/Cargo.toml -e normal,dev --prefix none 2>/dev/null | grep -E '^(criterion|wxlogin-bench) ' | sort -u); \
		if [ -n "$$bad" ]; then echo "layout-check: $$d depends on $$bad (the benchmark stays in shared/bench)"; exit 1; fi; \
	done; echo "layout-check: no function depends on criterion or shared/bench"

# scf-runtime as a crate of its own: without features it carries no TLS and no JWT code (cargo
# tree), its examples build that way, and it packages for crates.io (cargo publish --dry-run).
runtime-check:
	@bad=$$(cargo tree --offline -p scf-runtime -e normal --prefix none | grep -E '^(rustls|aws-lc-rs|aws-lc-sys|jsonwebtoken|reqwest) ' | sort -u); \
	if [ -n "$$bad" ]; then echo "runtime-check: scf-runtime without features depends on $$bad"; exit 1; fi; \
	echo "runtime-check: scf-runtime without features: no rustls, aws-lc or jsonwebtoken"
	cargo check --quiet -p scf-runtime --examples
	cargo publish --dry-run --quiet --allow-dirty -p scf-runtime
	RUSTDOCFLAGS="-D warnings" cargo doc --quiet --no-deps -p scf-runtime --features access-token,outbound
	RUSTDOCFLAGS="-D warnings" cargo doc --quiet --no-deps -p wxlogin

# scripts/new-function end to end in a copy of the repository, built in its own target folder
# (target/scaffold: one cold build of the dependencies, then kept; see shared/devtools/tests/scaffold.rs).
scaffold-check:
	cargo test -p wxlogin-devtools --test scaffold -- --ignored

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

# The docs' own check: links resolve, nothing points outside the repository, README length.
docs-check:
	scripts/check-docs

# Licenses, bans, sources against deny.toml (cargo-deny; installed once from crates.io, ~3 min).
supply-chain:
	scripts/supply-chain policy

# The same plus RustSec advisories. The advisory database is a git repository on GitHub:
# where it can't be fetched, this says so and skips advisories (fails with REQUIRE=1).
audit:
	scripts/supply-chain all $(if $(REQUIRE),--require)

# FAST_RSA=1 compiles aws-lc at -O2 instead of the profile's -Os: 2048-bit tickets sign about
# 2.5x faster (0.25 ms instead of 0.62 ms), and getLoginTicket's zip grows by about 400 KB.
# 1024-bit keys (the console's) sign at the same speed either way. See docs/benchmarks.md.
FAST_RSA_CONFIG = --config 'profile.release.package."aws-lc-sys".opt-level=2'
build:
	cargo build --release --target $(MUSL_TARGET) $(if $(FAST_RSA),$(FAST_RSA_CONFIG)) $(foreach f,$(FUNCTIONS),--bin $(f))

# KEY=path/to/tcb_custom_login.json ships the key inside getLoginTicket's package (off by default).
package: build
	scripts/package $(if $(KEY),--include-key $(KEY))

check-package: package scripts/compat/node_modules/.installed
	scripts/check-dist
	for f in $(FUNCTIONS); do node scripts/compat/pack-check.js dist/$$f || exit 1; done

deploy: package
	scripts/deploy

# The same binaries as CloudBase HTTP functions: scf_bootstrap runs `<function> --web`.
# KEY=path/to/tcb_custom_login.json ships the key beside getLoginTicket's binary (off by default).
package-web: build
	scripts/package --web $(if $(KEY),--include-key $(KEY))

check-package-web: package-web scripts/compat/node_modules/.installed
	scripts/check-dist --web
	for f in $(FUNCTIONS); do node scripts/compat/pack-check.js --web dist/web/$$f || exit 1; done

deploy-web: package-web
	scripts/deploy --web

# The probe (functions/probe, docs/probe.md) is in cloudbaserc.json's "deployOnRequest": packaged
# and tested with the others, left out by make deploy, deployed alone by these two.
deploy-probe: package
	scripts/deploy --only probe

deploy-probe-web: package-web
	scripts/deploy --web --only probe

# SOAK_N invocations per function (good and bad events mixed) on the musl release binaries:
# exactly one right result per event, RSS growth after warm-up <= 1 MB. Not in CI (about 1 min).
SOAK_N ?= 100000
soak: build
	cargo build --release --quiet -p wxlogin-bench --bin soak
	for f in $(FUNCTIONS); do "$${CARGO_TARGET_DIR:-target}/release/soak" --bootstrap "$${CARGO_TARGET_DIR:-target}/$(MUSL_TARGET)/release/$$f" --invocations $(SOAK_N) --warmup $$(( $(SOAK_N) / 10 )) || exit 1; done

# cargo-fuzz targets (libFuzzer; cargo-fuzz is installed if missing): the runtime's in
# shared/scf-runtime/fuzz (events, HTTP events, identity channels, /next headers, access tokens),
# wxlogin's in shared/wxlogin/fuzz (key files and tickets). cargo-fuzz passes nightly -Z flags;
# RUSTC_BOOTSTRAP=1 lets the machine's one (stable) toolchain take them, as no other toolchain can
# be installed here. Each target runs its seeds, then FUZZ_SECONDS, one after another; its corpus,
# fuzz/corpus/<target> (git-ignored), grows from the committed fuzz/seeds/<target>. Crashes land in
# fuzz/artifacts/<target>/. make fuzz-smoke is CI's run.
# No key is committed: key_file's key seeds (1024/2048-bit key files, a bare PEM, a ticket) are
# generated into its corpus with scripts/ticket, and its ticket inputs are checked against the
# 1024-bit one (WXLOGIN_FUZZ_KEY).
FUZZ_SECONDS ?= 600
RUNTIME_FUZZ_TARGETS ?= access_token event http_event identity next_headers
WXLOGIN_FUZZ_TARGETS ?= key_file
FUZZ_KEY_DIR = shared/wxlogin/fuzz/corpus/key_file
FUZZ_RUN = RUSTC_BOOTSTRAP=1 cargo fuzz run --debug-assertions $$t fuzz/corpus/$$t fuzz/seeds/$$t -- -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -print_final_stats=1 || exit 1
fuzz:
	@cargo fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --locked
	mkdir -p $(FUZZ_KEY_DIR)
	test -f $(FUZZ_KEY_DIR)/gen_key_1024.json || scripts/ticket keygen --out $(FUZZ_KEY_DIR)/gen_key_1024.json --bits 1024 --env test-env-1a2b
	test -f $(FUZZ_KEY_DIR)/gen_key_2048.json || scripts/ticket keygen --out $(FUZZ_KEY_DIR)/gen_key_2048.json --bits 2048 --env test-env-1a2b
	node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(process.argv[1])).private_key)' $(FUZZ_KEY_DIR)/gen_key_1024.json > $(FUZZ_KEY_DIR)/gen_pkcs1.txt
	scripts/ticket mint --key $(FUZZ_KEY_DIR)/gen_key_1024.json --uid user_0001 --now-ms 1763700000000 > $(FUZZ_KEY_DIR)/gen_ticket.txt
	cd shared/scf-runtime && for t in $(RUNTIME_FUZZ_TARGETS); do mkdir -p fuzz/corpus/$$t && $(FUZZ_RUN); done
	cd shared/wxlogin && for t in $(WXLOGIN_FUZZ_TARGETS); do mkdir -p fuzz/corpus/$$t && \
		WXLOGIN_FUZZ_KEY=$(CURDIR)/$(FUZZ_KEY_DIR)/gen_key_1024.json $(FUZZ_RUN); done

fuzz-smoke:
	$(MAKE) fuzz FUZZ_SECONDS=20

# Rust against the Node reference (scripts/bench/node), same machine, same run; about 5 minutes
# once built, 2 of them the load section (getLoginTicket --web against the Node HTTP function
# under wrk, which scripts/bench/ensure-wrk installs from Debian when missing). Writes
# docs/benchmarks.md. bench-smoke is CI's reduced run (nothing written).
BENCH_BIN = "$${CARGO_TARGET_DIR:-target}/release/bench" --rust-dir "$${CARGO_TARGET_DIR:-target}/$(MUSL_TARGET)/release" --node-dir scripts/bench/node --dist dist --criterion "$${CARGO_TARGET_DIR:-target}/criterion" --wrk-script scripts/bench/wrk/login.lua
bench: package scripts/bench/node/node_modules/.installed
	scripts/bench/ensure-wrk
	cargo bench -p wxlogin --bench mint -- mint_
	CARGO_TARGET_DIR="$${CARGO_TARGET_DIR:-$(CURDIR)/target}/fast-rsa" cargo bench -p wxlogin --bench mint $(FAST_RSA_CONFIG) -- mint_
	cargo build --release --quiet -p wxlogin-bench --bin bench
	$(BENCH_BIN) --criterion-fast-rsa "$${CARGO_TARGET_DIR:-$(CURDIR)/target}/fast-rsa/criterion" --out docs/benchmarks.md

bench-smoke: package scripts/bench/node/node_modules/.installed
	scripts/bench/ensure-wrk
	cargo bench -p wxlogin --bench mint -- --quick mint_
	cargo build --release --quiet -p wxlogin-bench --bin bench
	$(BENCH_BIN) --quick

scripts/bench/node/node_modules/.installed: scripts/bench/node/package.json scripts/bench/node/package-lock.json
	cd scripts/bench/node && npm ci --no-audit --no-fund --loglevel=error
	touch $@
