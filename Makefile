# SPDX-License-Identifier: GPL-2.0
#
# Out-of-tree build of esp_offload.ko and the project's everyday targets.
#
#   make                 build against the newest installed Debian kernel
#   make KVER=<release>  build against another installed kernel
#   make KDIR=<dir>      build against a kernel build tree
#   make install         install the module and run depmod
#   make check [T=name]  boot the kernel in QEMU and run selftests/
#                        (T="a b" runs several; TIMEOUT=SEC bounds each boot)
#   make demo            the strongSwan gateway demo in a VM
#   make bench           benchmark against the stock esp4/esp6
#   make style           checkpatch on every C file

# The newest kernel that has both headers and an image (the host may run
# another kernel, so never ask uname).
KVER ?= $(shell ls -d /lib/modules/*/build 2>/dev/null | sed 's|^/lib/modules/||; s|/build$$||' | \
		sort -V -r | while read v; do [ -e /boot/vmlinuz-$$v ] && echo $$v && break; done)
KDIR ?= /lib/modules/$(KVER)/build
PWD := $(CURDIR)
CHECKPATCH ?= $(firstword $(wildcard /usr/src/linux-source-*/scripts/checkpatch.pl) \
		$(KDIR)/scripts/checkpatch.pl)

export KVER KDIR

all: module

module:
	@test -n "$(KVER)" || { echo "no kernel with headers and /boot/vmlinuz found: run scripts/setup" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(PWD) modules

module-debug:
	$(MAKE) -C $(KDIR) M=$(PWD) ESPO_DEBUG=1 modules

install: module
	$(MAKE) -C $(KDIR) M=$(PWD) modules_install
	depmod -a $(KVER)

clean:
	$(MAKE) -C $(KDIR) M=$(PWD) clean
	rm -rf .build

check: module style
	scripts/run-selftests $(foreach t,$(T),--test $(t)) $(if $(TIMEOUT),--timeout $(TIMEOUT))

demo: module
	scripts/demo

bench: module
	scripts/bench

style:
	@test -f "$(CHECKPATCH)" || { echo "checkpatch.pl not found: run scripts/setup" >&2; exit 1; }
	@out=$$(git ls-files '*.c' '*.h' | xargs perl $(CHECKPATCH) --no-tree --terse --file \
		--quiet --show-types | grep -E 'ERROR|WARNING'); \
		echo "$$out" | grep . ; n=$$(echo "$$out" | grep -c .); \
		echo "checkpatch: $$n problems"; test $$n = 0

sparse:
	$(MAKE) -C $(KDIR) M=$(PWD) C=2 modules

.PHONY: all module module-debug install clean check demo bench style sparse
