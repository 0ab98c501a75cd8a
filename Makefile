# Gatehouse. `make run` serves the demo; `make test` runs every test.
GO       ?= go
BIN      := bin
WASMENV  := GOOS=wasip1 GOARCH=wasm CGO_ENABLED=0
BUILTIN  := plugins/embedded/wasm/builtin.wasm
# The built-in module precompiled (a compilation-cache seed; cmd/builtinseed).
SEED     := plugins/embedded/wasm/builtin.seed
EXAMPLES := $(BIN)/examples/ua-filter.wasm
# The second guest language: Debian's rustc (not rustup's: CI has only apt).
RUSTC    ?= /usr/bin/rustc
RUST_EX  := $(BIN)/examples/header-guard-rust.wasm
DATA     ?= ./data
GO_SRC   := $(shell find . -name '*.go' -not -path './data/*' 2>/dev/null) go.mod go.sum
# Modules of their own inside the repository (RATIONALE.md "The SDK and abi
# as their own modules"): `go ... ./...` at the root does not reach them.
MODULES  := abi sdk examples/ua-filter

.PHONY: all build examples rust-example wasm run test vet-modules test-race bench bench-go bench-load bench-scale check fmt fuzz clean chromium screenshots

all: build

build: $(BIN)/gatehouse $(EXAMPLES)

examples: $(EXAMPLES) rust-example

# The Rust example policy (examples/header-guard-rust), on the raw ABI. The
# toolchain comes from apt when missing; without it the build and its tests
# are SKIPPED, loudly.
rust-example:
	@[ -x $(RUSTC) ] && [ -d /usr/lib/rustlib/wasm32-unknown-unknown ] && command -v rust-lld >/dev/null 2>&1 || { \
	  echo "installing Debian's rustc for wasm32 (apt-get: rustc libstd-rust-dev-wasm32 lld-14)"; \
	  $(SUDO) apt-get install -y --no-install-recommends rustc libstd-rust-dev-wasm32 lld-14 || \
	  { $(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends rustc libstd-rust-dev-wasm32 lld-14; } || \
	  echo "*** could not install rustc for wasm32: the Rust example and its tests will be SKIPPED ***"; }
	@if [ -x $(RUSTC) ]; then mkdir -p $(BIN)/examples && \
	  $(RUSTC) --edition 2021 --target wasm32-unknown-unknown --crate-type cdylib -C opt-level=s -C panic=abort -C strip=symbols -C link-arg=-zstack-size=65536 \
	    -o $(RUST_EX) examples/header-guard-rust/lib.rs && echo "built $(RUST_EX)"; fi

wasm: $(BUILTIN) $(SEED) $(EXAMPLES)

# The built-in policy module, embedded into the binary (never committed),
# its data segments packed and its custom sections dropped (cmd/wasmpack:
# 51,034 segments become 19, and the engine compiles it as it is, no copy).
$(BUILTIN): $(GO_SRC)
	$(WASMENV) $(GO) build -buildmode=c-shared -trimpath -o $@.unpacked ./plugins/builtin
	$(GO) run ./cmd/wasmpack -strip -o $@ $@.unpacked
	@rm -f $@.unpacked

# The built-in module compiled by the engine's own code for this machine,
# embedded so that a first start reads compiled code instead of compiling
# (RATIONALE.md "A precompiled built-in module"). A build output, never
# committed; a binary built without it compiles at the first start.
$(SEED): $(BUILTIN) $(GO_SRC)
	$(GO) run ./cmd/builtinseed -o $@ $(BUILTIN)

$(BIN)/examples/%.wasm: $(GO_SRC)
	@mkdir -p $(BIN)/examples
	cd examples/$* && $(WASMENV) $(GO) build -buildmode=c-shared -trimpath -o $(CURDIR)/$@ .

$(BIN)/gatehouse: $(BUILTIN) $(SEED) $(GO_SRC)
	@mkdir -p $(BIN)
	$(GO) build -trimpath -o $@ ./cmd/gatehouse

run: build
	$(BIN)/gatehouse serve --data $(DATA) --demo

# The request path's concurrent parts run under the race detector in every
# `make test` too (`make test-race` runs everything): a race there can hand
# one client another's answer. portal/web: pages parsed on first visit.
RACE_PKGS := ./host/h1client ./host/gateway ./catalog/analytics ./portal/web

test: wasm chromium rust-example
	$(GO) vet ./...
	$(WASMENV) $(GO) vet ./plugins/...
	$(MAKE) vet-modules
	$(GO) test -count=1 -timeout 20m ./...
	$(GO) test -race -count=1 -timeout 20m $(RACE_PKGS)
	@for m in $(MODULES); do echo "== module $$m"; (cd $$m && $(GO) test -count=1 -timeout 10m ./...) || exit 1; done

# vet of every module of its own, natively and (guest code) for wasip1.
vet-modules:
	@for m in $(MODULES); do (cd $$m && $(GO) vet ./... && $(WASMENV) $(GO) vet ./...) || exit 1; done

# Headless Chromium (Debian) for the developer portal's browser tests
# (portal/browser_test.go); they skip loudly where it cannot be installed.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing chromium for the portal's browser tests (apt-get)"; \
	  $(SUDO) apt-get install -y chromium || { $(SUDO) apt-get update && $(SUDO) apt-get install -y chromium; } || \
	  echo "*** could not install chromium: the portal's browser tests will be SKIPPED ***"; }

# PNGs of each main portal page, from the browser test's walk through the
# demo, into docs/screenshots.
screenshots: wasm chromium
	GATEHOUSE_SCREENSHOTS=$(CURDIR)/docs/screenshots $(GO) test -count=1 -run '^TestBrowserFlow$$' -v ./portal/
	GATEHOUSE_SCREENSHOTS=$(CURDIR)/docs/screenshots $(GO) test -count=1 -run '^TestPolicyEditorBrowser$$' -v ./portal/admin/
	GATEHOUSE_SCREENSHOTS=$(CURDIR)/docs/screenshots $(GO) test -count=1 -run '^TestAdminBrowserFlow$$' -v ./portal/admin/

test-race: wasm
	$(GO) test -race -count=1 -timeout 30m ./...

# Go micro-benchmarks (one per ABI function, one per chain length) and the
# loopback load harness (wrk; installed when missing).
bench: bench-go bench-load

bench-go: wasm
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./host/engine ./host/gateway ./host/h1client

bench-load: build
	./scripts/bench.sh

# HTTP/2 over TLS and the TLS handshake rate next to the bare proxy
# (h2load from nghttp2-client, installed when missing); docs/benchmarks.md.
.PHONY: bench-tls
bench-tls: build
	./scripts/bench.sh tls $(BENCH_ARGS)

# The catalog at scale (issue 15): 10, 1,000 and 10,000 APIs; bounded.
bench-scale: wasm
	./scripts/bench-scale.sh

check: wasm
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(WASMENV) $(GO) vet ./plugins/...
	$(MAKE) vet-modules
	$(GO) mod tidy
	@for m in $(MODULES); do (cd $$m && $(GO) mod tidy) || exit 1; done
	@git diff --exit-code -- go.mod go.sum '*/go.mod' '*/go.sum' || { echo "go.mod/go.sum not tidy"; exit 1; }

fmt:
	gofmt -w $$(git ls-files '*.go')

# Short fuzz runs of every fuzz target (seed corpora run in `make test`).
fuzz: wasm
	./scripts/fuzz.sh

clean:
	rm -rf $(BIN) $(BUILTIN) $(SEED)
