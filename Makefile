# procward - top-level build. `make` builds the library and the CLI,
# `make check` runs every test, `make install` installs (PREFIX, DESTDIR).

VERSION    := 0.1.0
SOVERSION  := 0
PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR     ?= $(PREFIX)/bin
MANDIR     ?= $(PREFIX)/share/man
DESTDIR    ?=

CC        ?= cc
CLANG     ?= clang
BPFTOOL   ?= bpftool
LLVM_STRIP ?= llvm-strip
BUILD     ?= build
SAN       ?=
# Extra -D flags for the BPF objects only (bench/exitcost.py builds a
# variant without the exit's resource accounting to measure what it adds).
BPF_DEFS  ?=

# `make V=1` shows full commands.
ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

ARCH      := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
WARN      := -Wall -Wextra -Werror
CFLAGS    ?= -O2 -g
CFLAGS    += $(WARN) -std=gnu11 -D_GNU_SOURCE -Iinclude $(SAN)
# The library sees its own tree (includes are spelled from src/: "gate/gate.h")
# and the generated skeletons; the CLI and the bindings see include/ alone.
LIB_CFLAGS := $(CFLAGS) -Isrc -I$(BUILD) -fPIC -fvisibility=hidden -MMD -MP
LIBS      := -lbpf -lelf -lz -lpthread

# One folder per subsystem under src/ (src/bpf is the kernel side). Objects
# are named subsystem-file.o: the archive keys members by base name, and
# gate/rules.c and monitor/rules.c must both be in it.
LIB_SRCS  := $(filter-out src/bpf/%,$(wildcard src/*/*.c))
obj_of     = $(BUILD)/obj/$(subst /,-,$(patsubst src/%.c,%,$(1))).o
LIB_OBJS  := $(foreach s,$(LIB_SRCS),$(call obj_of,$(s)))
BPF_SRCS  := $(wildcard src/bpf/*.bpf.c)
BPF_OBJS  := $(patsubst src/bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS     := $(patsubst src/bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))

SHLIB     := $(BUILD)/libprocward.so.$(VERSION)
STLIB     := $(BUILD)/libprocward.a
CLI       := $(BUILD)/procward
CLI_SRCS  := $(wildcard tools/procward/*.c)

.PHONY: all check unit integ install uninstall clean deps bench bench-smoke vm-check asan-check examples
all: $(SHLIB) $(STLIB) $(CLI) $(BUILD)/procward.pc

deps:
	scripts/install-deps.sh

# vmlinux.h: from the running kernel's BTF when it has one, else the
# committed copy (CO-RE relocates either to the running kernel at load).
$(BUILD)/vmlinux.h:
	@mkdir -p $(BUILD)
	@if [ -r /sys/kernel/btf/vmlinux ]; then \
		$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@; \
	else \
		echo "no /sys/kernel/btf/vmlinux: using third_party/vmlinux/$(ARCH)/vmlinux.h"; \
		cp third_party/vmlinux/$(ARCH)/vmlinux.h $@; \
	fi

$(BUILD)/%.bpf.o: src/bpf/%.bpf.c $(BUILD)/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror -Wno-gnu-variable-sized-type-not-at-end $(BPF_DEFS) -I$(BUILD) -Isrc/bpf -MMD -MP -c $< -o $@
	$(Q)$(LLVM_STRIP) -g $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

# Header dependencies come from -MMD; the skeletons are order-only so that
# a first build has them before any object that includes one.
define lib_obj_rule
$(call obj_of,$(1)): $(1) | $(SKELS)
	@mkdir -p $(BUILD)/obj
	$$(call msg,CC,$$@)
	$(Q)$$(CC) $$(LIB_CFLAGS) -DPW_VERSION_STRING='"$$(VERSION)"' -c $$< -o $$@
endef
$(foreach s,$(LIB_SRCS),$(eval $(call lib_obj_rule,$(s))))

$(SHLIB): $(LIB_OBJS) src/libprocward.map
	$(call msg,LD,$@)
	$(Q)$(CC) $(SAN) $(LDFLAGS) -shared -Wl,-soname,libprocward.so.$(SOVERSION) \
		-Wl,--version-script=src/libprocward.map -Wl,--no-undefined \
		-o $@ $(LIB_OBJS) $(LIBS)
	$(Q)ln -sf libprocward.so.$(VERSION) $(BUILD)/libprocward.so.$(SOVERSION)
	$(Q)ln -sf libprocward.so.$(SOVERSION) $(BUILD)/libprocward.so

$(STLIB): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(CLI): $(CLI_SRCS) $(wildcard tools/procward/*.h) $(STLIB)
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -DPW_VERSION_STRING='"$(VERSION)"' -o $@ $(CLI_SRCS) $(STLIB) $(LIBS)

# examples/*.c: applications of the public API alone (include/), linked like
# any application; tests/integ runs them (test_watchdog), check-install.sh
# builds them against the installed library.
EXAMPLE_BINS := $(patsubst examples/%.c,$(BUILD)/examples/%,$(wildcard examples/*.c))
$(BUILD)/examples/%: examples/%.c include/procward.h $(STLIB)
	@mkdir -p $(dir $@)
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $< $(STLIB) $(LIBS)

examples: $(EXAMPLE_BINS)

$(BUILD)/procward.pc: procward.pc.in Makefile
	@mkdir -p $(BUILD)
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|;s|@LIBDIR@|$(LIBDIR)|;s|@INCLUDEDIR@|$(INCLUDEDIR)|;s|@VERSION@|$(VERSION)|' $< > $@

install: all
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 0755 $(SHLIB) $(DESTDIR)$(LIBDIR)/
	ln -sf libprocward.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libprocward.so.$(SOVERSION)
	ln -sf libprocward.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libprocward.so
	install -m 0644 $(STLIB) $(DESTDIR)$(LIBDIR)/
	install -m 0644 include/procward.h $(DESTDIR)$(INCLUDEDIR)/
	sed -e 's|@PREFIX@|$(PREFIX)|;s|@LIBDIR@|$(LIBDIR)|;s|@INCLUDEDIR@|$(INCLUDEDIR)|;s|@VERSION@|$(VERSION)|' \
		procward.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/procward.pc
	install -m 0755 $(CLI) $(DESTDIR)$(BINDIR)/
	install -m 0644 doc/procward.1 $(DESTDIR)$(MANDIR)/man1/

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libprocward.* $(DESTDIR)$(INCLUDEDIR)/procward.h \
		$(DESTDIR)$(LIBDIR)/pkgconfig/procward.pc $(DESTDIR)$(BINDIR)/procward \
		$(DESTDIR)$(MANDIR)/man1/procward.1

clean:
	rm -rf $(BUILD)

include tests/tests.mk
include bindings/bindings.mk
.SECONDARY:
-include $(wildcard $(BUILD)/obj/*.d $(BUILD)/*.bpf.d)
