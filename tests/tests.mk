# tests/tests.mk - test targets, included from the top Makefile.
#   make unit     unit tests (no privileges)
#   make integ    integration tests against the real kernel (root)
#   make check    everything: build, unit, integ, sanitizers, VM kernel matrix

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
tests-build: all $(UNIT_BINS) $(INTEG_BINS)

unit: all $(UNIT_BINS)
	tests/run-tests.sh unit $(UNIT_BINS)

integ: all $(INTEG_BINS)
	tests/run-tests.sh integ $(INTEG_BINS)

# The same tests under AddressSanitizer and UBSan, in a build tree of their own.
asan-check:
	$(MAKE) BUILD=build/asan SAN="$(ASAN_FLAGS)" unit integ

install-check: all
	tests/install/check-install.sh

vm-check: all
	tests/vm/run-matrix.sh

python-check: all
	python3 -m unittest discover -s tests/python -v

check-fast: unit integ

check: all
	tests/run-all.sh
