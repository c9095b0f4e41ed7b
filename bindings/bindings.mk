# bindings/bindings.mk - `make bindings`: every binding and the two contract
# examples of each language as $(BUILD)/bindings/<lang>/{watch-exec,gate-deny}
# (bindings/README.md). Included from the top Makefile. Nothing is downloaded:
# Go runs with GOPROXY=off and no modules, cargo with --offline and no crates.

BIND       := $(BUILD)/bindings
CXX        ?= g++
GO         ?= go
CARGO      ?= cargo
# Go and Rust come from scripts/install-deps.sh --all (--bindings); without
# their toolchain those two are left out, and tests/bindings/run.sh says so.
BIND_LANGS := c cpp python $(if $(shell command -v $(GO)),go) $(if $(shell command -v $(CARGO)),rust)
BIND_CXXFLAGS := -O2 -g -std=c++17 $(WARN) -Iinclude -Ibindings/cpp $(SAN)
# The Go and Rust toolchains keep their caches in the build tree, never in $HOME.
GO_ENV     := GOCACHE=$(abspath $(BIND))/go/cache GOPATH=$(abspath $(BIND))/go/path GOPROXY=off \
	GOFLAGS=-mod=mod GO111MODULE=on CGO_ENABLED=1 GOTOOLCHAIN=local PROCWARD_LIB_DIR=$(abspath $(BUILD)) \
	CGO_LDFLAGS="-L$(abspath $(BUILD))"
CARGO_ENV  := CARGO_TARGET_DIR=$(abspath $(BIND))/rust/target CARGO_HOME=$(abspath $(BIND))/rust/home \
	PROCWARD_LIB_DIR=$(abspath $(BUILD))
GO_SRCS    := $(wildcard bindings/go/*.go bindings/go/*/*/*.go bindings/go/go.mod)
RUST_SRCS  := $(wildcard bindings/rust/Cargo.toml bindings/rust/build.rs bindings/rust/src/*.rs \
	bindings/rust/examples/*.rs bindings/rust/examples/*/*.rs)

.PHONY: bindings bindings-check bindings-test-go bindings-test-rust
bindings: $(foreach l,$(BIND_LANGS),$(BIND)/$(l)/watch-exec $(BIND)/$(l)/gate-deny) \
	$(BIND)/cpp/test_procward $(BIND)/cpp/readme-example $(if $(filter go,$(BIND_LANGS)),$(BIND)/go/readme-example)

# Each README's example is compiled as it is written there (Rust: a doc test).
# readme_code LANG README: the first ```LANG block of README.
readme_code = awk '/^```$(1)$$/ { on = 1; next } on && /^```/ { exit } on' $(2)

$(BIND)/c/%: bindings/c/%.c include/procward.h $(STLIB)
	@mkdir -p $(dir $@)
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $< $(STLIB) $(LIBS)

$(BIND)/cpp/%: bindings/cpp/examples/%.cpp bindings/cpp/procward.hpp include/procward.h $(STLIB)
	@mkdir -p $(dir $@)
	$(call msg,CXXLD,$@)
	$(Q)$(CXX) $(BIND_CXXFLAGS) -o $@ $< $(STLIB) $(LIBS)

$(BIND)/cpp/test_procward: tests/bindings/test_cpp.cpp bindings/cpp/procward.hpp include/procward.h $(STLIB)
	@mkdir -p $(dir $@)
	$(call msg,CXXLD,$@)
	$(Q)$(CXX) $(BIND_CXXFLAGS) -Wno-unused-parameter -o $@ $< $(STLIB) $(LIBS)

$(BIND)/cpp/readme-example: bindings/cpp/README.md bindings/cpp/procward.hpp include/procward.h $(STLIB)
	@mkdir -p $(dir $@)
	$(call msg,CXXLD,$@)
	$(Q)$(call readme_code,cpp,$<) > $@.cpp && test -s $@.cpp
	$(Q)$(CXX) $(BIND_CXXFLAGS) -o $@ $@.cpp $(STLIB) $(LIBS)

# Launchers: the examples run from the source tree, against this build's library.
$(BIND)/python/watch-exec: bindings/python/examples/watch_exec.py
$(BIND)/python/gate-deny: bindings/python/examples/gate_deny.py
$(BIND)/python/watch-exec $(BIND)/python/gate-deny: $(SHLIB)
	@mkdir -p $(dir $@)
	$(call msg,GEN,$@)
	$(Q)printf '#!/bin/sh\nPROCWARD_LIB=%s exec python3 %s "$$@"\n' \
		'$(abspath $(BUILD))/libprocward.so' '$(abspath $(filter %.py,$^))' > $@.tmp && chmod 0755 $@.tmp && mv $@.tmp $@

$(BIND)/go/%: $(GO_SRCS) $(STLIB)
	@mkdir -p $(dir $@)
	$(call msg,GO,$@)
	$(Q)cd bindings/go && $(GO_ENV) $(GO) build -o $(abspath $@) ./cmd/$*

# A module of its own that requires procward from bindings/go (replace: no download).
$(BIND)/go/readme-example: bindings/go/README.md $(GO_SRCS) $(STLIB)
	@mkdir -p $(BIND)/go/readme
	$(call msg,GO,$@)
	$(Q)$(call readme_code,go,$<) > $(BIND)/go/readme/main.go && test -s $(BIND)/go/readme/main.go
	$(Q)printf 'module readme\n\ngo 1.19\n\nrequire procward v0.0.0\n\nreplace procward => %s\n' \
		'$(abspath bindings/go)' > $(BIND)/go/readme/go.mod
	$(Q)cd $(BIND)/go/readme && $(GO_ENV) $(GO) build -o $(abspath $@) .

$(BIND)/rust/.built: $(RUST_SRCS) $(STLIB)
	@mkdir -p $(dir $@)
	$(call msg,CARGO,$(BIND)/rust)
	$(Q)cd bindings/rust && $(CARGO_ENV) $(CARGO) build --offline --release --quiet --examples
	@touch $@
$(BIND)/rust/%: $(BIND)/rust/.built
	$(Q)cp $(BIND)/rust/target/release/examples/$(subst -,_,$*) $@

# The native test suites of Go and Rust (tests/bindings/run.sh runs these, then the contract).
bindings-test-go: $(BIND)/go/watch-exec
	cd bindings/go && $(GO_ENV) $(GO) test -count=1 -v .

bindings-test-rust: $(BIND)/rust/.built
	cd bindings/rust && $(CARGO_ENV) $(CARGO) test --offline --release -- --test-threads=1

# Every binding's tests and the contract (what `make check` runs, one suite per language).
bindings-check: bindings
	@for l in c cpp python go rust; do BUILD=$(BUILD) tests/bindings/run.sh $$l || exit 1; done

# The overhead benchmark (bindings/bench/overhead.py): an empty-handler monitor per language.
.PHONY: bindings-bench bindings-bench-build
bindings-bench-build: $(foreach l,$(BIND_LANGS),$(BIND)/$(l)/null-monitor)
	$(MAKE) -C bench build/pw-bench-load build/true/pw-bench-load

$(BIND)/c/null-monitor: bindings/bench/null.c include/procward.h $(STLIB)
	@mkdir -p $(dir $@)
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $< $(STLIB) $(LIBS)

$(BIND)/cpp/null-monitor: bindings/bench/null.cpp bindings/cpp/procward.hpp include/procward.h $(STLIB)
	@mkdir -p $(dir $@)
	$(call msg,CXXLD,$@)
	$(Q)$(CXX) $(BIND_CXXFLAGS) -o $@ $< $(STLIB) $(LIBS)

$(BIND)/python/null-monitor: bindings/bench/null.py $(SHLIB)
	@mkdir -p $(dir $@)
	$(Q)printf '#!/bin/sh\nPROCWARD_LIB=%s exec python3 %s "$$@"\n' \
		'$(abspath $(BUILD))/libprocward.so' '$(abspath $<)' > $@.tmp && chmod 0755 $@.tmp && mv $@.tmp $@

bindings-bench: bindings-bench-build
	python3 bindings/bench/overhead.py --build $(BUILD) $(ARGS)
