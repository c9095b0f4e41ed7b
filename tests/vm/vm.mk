# tests/vm/vm.mk -- kernel test matrix in a QEMU VM (Debian 6.1 and 6.12 guests).
#
# Standalone:   make -f tests/vm/vm.mk vm-selftest        (from the repo root)
# Included:     include tests/vm/vm.mk                     (from the top Makefile)
#
# Targets:
#   vm-deps          install kernels/qemu/busybox/static libs (scripts/install-vm-deps.sh)
#   vm-build         build build/vm/lsm_probe (static, CO-RE BPF LSM self-test)
#   vm-selftest      run lsm_probe on the host (expects skip 77 or pass) and in a VM
#                    on each kernel of VM_KERNELS; prints one result line per kernel
#   vm-clean         remove build/vm/
#
# Variables (override on the command line):
#   VM_KERNELS   kernels to test           (default: 6.1 6.12)
#   VM_TIMEOUT   seconds per VM run         (default: 300)
#   VM_BUILD     build directory            (default: build/vm)
#   VM_BTF       BTF to generate vmlinux.h  (default: /sys/kernel/btf/vmlinux)
#   VM_RUN_FLAGS extra run-vm.sh flags       (default: --quiet --strict; console goes to
#                build/vm/console-<kernel>.log; use VM_RUN_FLAGS=--strict to stream it)
#
# Everything here is prefixed VM_/vm- so it can be included without clashing.

VM_DIR      := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
VM_ROOT     := $(patsubst %/,%,$(dir $(patsubst %/,%,$(dir $(VM_DIR)))))
VM_BUILD    ?= build/vm
VM_KERNELS  ?= 6.1 6.12
VM_TIMEOUT  ?= 300
VM_BTF      ?= /sys/kernel/btf/vmlinux
VM_CLANG    ?= clang
VM_STRIP    ?= llvm-strip
VM_BPFTOOL  ?= bpftool
VM_CC       ?= gcc
VM_CFLAGS   ?= -g -O2 -Wall -Wextra -Wno-unused-parameter
VM_BPF_CFLAGS ?= -g -O2 -Wall -Wno-unused-parameter
# libelf 0.188 (bookworm) is built without zstd: -lbpf -lelf -lz is enough.
VM_LDLIBS   ?= -lbpf -lelf -lz
VM_RUN      := $(VM_DIR)/run-vm.sh
# --strict: inside the VM a skip (77) of the self-test means the harness is broken.
VM_RUN_FLAGS ?= --quiet --strict

.PHONY: vm-deps vm-build vm-selftest vm-selftest-host vm-clean
.SECONDARY: $(VM_BUILD)/lsm_probe.bpf.o $(VM_BUILD)/lsm_probe.skel.h

vm-deps:
	$(VM_ROOT)/scripts/install-vm-deps.sh

# From the host's BTF; without one, the committed third_party copy (CO-RE either way).
$(VM_BUILD)/vmlinux.h: | $(VM_BUILD)/.dir
	@if [ -r $(VM_BTF) ]; then \
		echo "$(VM_BPFTOOL) btf dump file $(VM_BTF) format c > $@"; \
		$(VM_BPFTOOL) btf dump file $(VM_BTF) format c > $@.tmp && mv $@.tmp $@; \
	else \
		echo "no $(VM_BTF): using $(VM_ROOT)/third_party/vmlinux/x86/vmlinux.h"; \
		cp $(VM_ROOT)/third_party/vmlinux/x86/vmlinux.h $@; \
	fi

$(VM_BUILD)/.dir:
	mkdir -p $(VM_BUILD) && touch $@

$(VM_BUILD)/%.bpf.o: $(VM_DIR)/%.bpf.c $(VM_BUILD)/vmlinux.h
	$(VM_CLANG) $(VM_BPF_CFLAGS) -target bpf -D__TARGET_ARCH_x86 -I$(VM_BUILD) -c $< -o $@
	$(VM_STRIP) -g $@

$(VM_BUILD)/%.skel.h: $(VM_BUILD)/%.bpf.o
	$(VM_BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@.tmp && mv $@.tmp $@

$(VM_BUILD)/lsm_probe: $(VM_DIR)/lsm_probe.c $(VM_BUILD)/lsm_probe.skel.h
	$(VM_CC) $(VM_CFLAGS) -static -I$(VM_BUILD) $< -o $@ $(VM_LDLIBS)

vm-build: $(VM_BUILD)/lsm_probe

# Host run: 0 (pass) and 77 (skip: no BPF LSM here) are both fine.
vm-selftest-host: $(VM_BUILD)/lsm_probe
	@echo "== host ($$(uname -r)) =="; \
	rc=0; $(VM_BUILD)/lsm_probe || rc=$$?; \
	case $$rc in 0) echo "vm-selftest: host: PASS";; \
	  77) echo "vm-selftest: host: SKIP (77, expected without BPF LSM)";; \
	  *) echo "vm-selftest: host: FAIL (exit $$rc)"; exit 1;; esac

vm-selftest: $(VM_BUILD)/lsm_probe vm-selftest-host
	@fail=0; summary=""; \
	for k in $(VM_KERNELS); do \
	  echo "== VM kernel $$k =="; \
	  start=$$(date +%s); \
	  if $(VM_RUN) $(VM_RUN_FLAGS) --kernel $$k --timeout $(VM_TIMEOUT) \
	       --log $(VM_BUILD)/console-$$k.log -- $(VM_BUILD)/lsm_probe; then r=PASS; \
	  else r="FAIL(exit $$?)"; fail=1; fi; \
	  summary="$$summary$$(printf '\nvm-selftest: kernel %-5s %s (%ss, console: %s)' \
	            $$k "$$r" $$(( $$(date +%s) - start )) $(VM_BUILD)/console-$$k.log)"; \
	done; \
	echo "== vm-selftest summary =="; printf '%s\n' "$$summary" | sed '/^$$/d'; \
	exit $$fail

vm-clean:
	rm -rf $(VM_BUILD)
