# tests/tests.mk - test targets, included from the top Makefile.
#   make unit     unit tests (no privileges)
#   make integ    integration tests against the real kernel (root)
#   make check    everything: build, unit, integ, fuzz (short), sanitizers, VM kernel matrix
#   make fuzz-check  each fuzz target for FUZZ_SECONDS (default 5) from its committed seeds
#   make fuzz     long runs (FUZZ_SECONDS, default 600 each), corpus kept in $(BUILD)/fuzz/corpus

UNIT_SRCS    := $(wildcard tests/unit/test_*.c)
UNIT_BINS    := $(patsubst tests/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
INTEG_SRCS   := $(wildcard tests/integ/test_*.c)
INTEG_BINS   := $(patsubst tests/%.c,$(BUILD)/tests/%,$(INTEG_SRCS))
INTEG_COMMON := $(filter-out tests/integ/test_%,$(wildcard tests/integ/*.c))
TEST_HDRS    := $(wildcard tests/integ/*.h tests/unit/*.h)
TEST_CFLAGS   = $(CFLAGS) -Wno-unused-parameter -Itests/integ -DPW_TEST_BUILD_DIR='"$(abspath $(BUILD))"' \
		-DPW_TEST_SRC_DIR='"$(CURDIR)"'
ASAN_FLAGS   := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

# Unit tests reach into the library's modules (spelled from src/: "snapshot/procfs.h");
# integration tests see include/ alone, like any application.
$(BUILD)/tests/unit/%: tests/unit/%.c $(STLIB) $(TEST_HDRS) $(wildcard src/*/*.h src/bpf/abi/*.h)
	@mkdir -p $(dir $@)
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(TEST_CFLAGS) -Isrc -o $@ $< $(STLIB) $(LIBS) -lcmocka

$(BUILD)/tests/integ/%: tests/integ/%.c $(INTEG_COMMON) $(STLIB) $(CLI) $(TEST_HDRS)
	@mkdir -p $(dir $@)
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(TEST_CFLAGS) -o $@ $< $(INTEG_COMMON) $(STLIB) $(LIBS) -lcmocka

.PHONY: unit integ check check-fast asan-check vm-check install-check python-check tests-build
.PHONY: check-deb check-service check-system
.PHONY: fuzz fuzz-check fuzz-build
tests-build: all $(UNIT_BINS) $(INTEG_BINS) $(EXAMPLE_BINS)

unit: all $(UNIT_BINS)
	tests/run-tests.sh unit $(UNIT_BINS)

integ: all $(INTEG_BINS) $(EXAMPLE_BINS)
	tests/run-tests.sh integ $(INTEG_BINS)

# The same tests under AddressSanitizer and UBSan, in a build tree of their own.
asan-check:
	$(MAKE) BUILD=build/asan SAN="$(ASAN_FLAGS)" unit integ

install-check: all
	tests/install/check-install.sh

vm-check: all
	tests/vm/run-matrix.sh

python-check: all
	python3 tests/python/run_counted.py

# The Debian packages: build from the tracked files (outside the tree), lintian,
# contents, install/upgrade/purge in a debootstrap chroot (tests/packaging/check-deb.sh).
check-deb:
	tests/packaging/check-deb.sh

# procward as a service against real engines (root): rotation, logrotate, redaction,
# reload, blocked sinks, the config file, procward -> rsyslog -> PostgreSQL.
check-service: all
	tests/service/check-service.sh

# Debian with systemd in QEMU (TCG): the packages installed, both units enabled; deny,
# audit file and journal, reload, stop leaves nothing attached (tests/system/run-system.sh).
check-system:
	tests/system/run-system.sh

check-fast: unit integ

check: all
	tests/run-all.sh

# Fuzz targets (tests/fuzz/fuzz_*.c): libFuzzer from clang, over the library
# compiled again with coverage, ASan and UBSan in a tree of its own.
FUZZ_BUILD   := $(BUILD)/fuzz
FUZZ_SRCS    := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS    := $(patsubst tests/fuzz/%.c,$(FUZZ_BUILD)/%,$(FUZZ_SRCS))
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS  := -g -O1 $(WARN) -std=gnu11 -D_GNU_SOURCE -Iinclude -Isrc -I$(BUILD) $(FUZZ_SAN)
FUZZ_OBJS    := $(patsubst $(BUILD)/obj/%,$(FUZZ_BUILD)/obj/%,$(LIB_OBJS))
FUZZ_SECONDS ?= 5

define fuzz_obj_rule
$(patsubst $(BUILD)/obj/%,$(FUZZ_BUILD)/obj/%,$(call obj_of,$(1))): $(1) | $(SKELS)
	@mkdir -p $(FUZZ_BUILD)/obj
	$$(call msg,CC,$$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -DPW_VERSION_STRING='"$(VERSION)"' -c $$< -o $$@
endef
$(foreach s,$(LIB_SRCS),$(eval $(call fuzz_obj_rule,$(s))))
-include $(wildcard $(FUZZ_BUILD)/obj/*.d)

$(FUZZ_BUILD)/libprocward.a: $(FUZZ_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_BUILD)/libprocward.a
	$(call msg,CCLD,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_BUILD)/libprocward.a $(LIBS)

fuzz-build: $(FUZZ_BINS)

fuzz-check: $(FUZZ_BINS)
	rm -rf $(FUZZ_BUILD)/check-corpus
	tests/fuzz/run-fuzz.sh $(FUZZ_SECONDS) $(FUZZ_BUILD)/check-corpus $(FUZZ_BINS)

fuzz: FUZZ_SECONDS = 600
fuzz: $(FUZZ_BINS)
	tests/fuzz/run-fuzz.sh $(FUZZ_SECONDS) $(FUZZ_BUILD)/corpus $(FUZZ_BINS)
