# SPDX-License-Identifier: GPL-2.0
#
# Out-of-tree build of esp_offload.ko and the project's everyday targets.
#
#   make                 build against the newest installed Debian kernel
#                        (6.12 before 6.1, the plain flavour before -rt)
#   make KVER=<release>  build against another installed kernel
#   make KDIR=<dir>      build against a kernel build tree
#   make install         install the module and run depmod (never the
#                        test engine selftests/espo_engine/espo_engine.ko
#                        or the test NIC selftests/espo_nic/espo_nic.ko,
#                        which `make` builds in kbuild passes of their own)
#   make check [T=name]  boot the kernel in QEMU and run selftests/
#                        (T="a b" runs several; TIMEOUT=SEC bounds each boot;
#                        TIME_SCALE=N multiplies every time bound)
#   make check KVER=<release>   the same on another installed kernel
#   make check-all       every installed kernel: the full suite on each
#                        plain flavour, the datapath tests on -rt, and the
#                        interop test across kernels
#   make check-debug [T=name]   the datapath, fuzz, churn and strongSwan tests on a
#                        debug 6.1 kernel (KASAN, kmemleak, lockdep,
#                        DEBUG_ATOMIC_SLEEP, DEBUG_LIST) that
#                        scripts/debug-kernel builds once, at nice 10,
#                        into ~/.cache/esp_offload (long on a busy
#                        machine: see Documentation/esp_offload.rst);
#                        any report of those checkers, or a kmemleak
#                        leak of the module or xfrm, fails the test
#                        (TIME_SCALE defaults to 6 there)
#   make demo            the strongSwan gateway demo in a VM
#   make bench           benchmark against the stock esp4/esp6
#                        (BENCH_ARGS="--rounds 8" for more rounds)
#   make bench-scale     10,000 SAs: install rate, memory per SA, views,
#                        traffic spread over 1,000 SAs against one SA
#   make style           checkpatch on every C file
#   make dkms-install    copy the source to /usr/src/esp-offload-<version>,
#                        register it with DKMS and build, sign and
#                        install it for every installed kernel
#                        (DKMS_KERNELS="<release>..." for some only)
#   make dkms-remove     undo dkms-install (every kernel)
#   make deb             build .build/deb/esp-offload-dkms_<version>_all.deb
#                        (dh-dkms; no root needed) and run lintian on it
#                        (any tag, pedantic ones included, fails it)

# The newest kernel that has headers, an image and modules (the host may
# run another kernel, so never ask uname): scripts/kernels.
KVER ?= $(shell $(CURDIR)/scripts/kernels --default)
KDIR ?= /lib/modules/$(KVER)/build
PWD := $(CURDIR)
# The test-only crypto engine (selftests/esp_engine.sh): its own M= pass,
# so that modules_install of the top directory never sees it.
ENGINE := $(PWD)/selftests/espo_engine
# The test-only NIC with ESP crypto offload (selftests/esp_nic.sh), the same way.
NIC := $(PWD)/selftests/espo_nic
# The test-only slow-loading stand-in for esp4 (selftests/esp_exclusive.sh).
RIVAL := $(PWD)/selftests/espo_rival
CHECKPATCH ?= $(firstword $(wildcard /usr/src/linux-source-*/scripts/checkpatch.pl) \
		$(KDIR)/scripts/checkpatch.pl)
# The datapath tests, run on the PREEMPT_RT flavour by check-all.
DATAPATH_TESTS := module_load esp_sa_config esp_algs esp_modes esp_esn esp_tfc \
		  esp_pmtu esp_bad_input esp_xfrm_core esp_async esp_exclusive \
		  esp_offload_type
# The strongSwan tests (swan_lib.sh is their library).
SWAN_TESTS := $(filter-out swan_lib,$(patsubst selftests/%.sh,%,$(wildcard selftests/swan_*.sh)))
# The debug-kernel tier: the tests whose bugs its checkers find (the SA
# view during churn, lifecycle leaks, malformed input) first, then the
# datapath and strongSwan tests.
DEBUG_TESTS := esp_nonce esp_churn esp_fuzz esp_metrics $(DATAPATH_TESTS) $(SWAN_TESTS)

# One version for modinfo, DKMS and the Debian package.
VERSION := $(shell cat $(CURDIR)/VERSION)
DKMS_NAME := esp-offload
DKMS_KERNELS ?= $(shell $(CURDIR)/scripts/kernels)
DEB := .build/deb/$(DKMS_NAME)-dkms_$(VERSION)_all.deb

export KVER TIME_SCALE

all: module

# The objects in the tree are for one kernel at a time: switching KVER
# cleans them first. Each build is also kept as .build/ko/<release>/ so
# that tests booting several kernels (interop across them) find theirs.
# The test engine needs the kernel's crypto_engine, which the debug
# kernel of check-debug does not build.
HAVE_ENGINE = $(shell grep -qs '^CONFIG_CRYPTO_ENGINE=[ym]' $(KDIR)/include/config/auto.conf && echo 1)
# The test NIC needs device offload in xfrm (xfrmdev_ops).
HAVE_NIC = $(shell grep -qs '^CONFIG_XFRM_OFFLOAD=y' $(KDIR)/include/config/auto.conf && echo 1)
module:
	@test -n "$(KVER)" || { echo "no kernel with headers and /boot/vmlinuz found: run scripts/setup" >&2; exit 1; }
	@if [ "$$(cat .build/kver 2>/dev/null)" != "$(KVER)" ]; then \
		$(MAKE) -s clean-objects; mkdir -p .build; echo $(KVER) > .build/kver; fi
	$(MAKE) -C $(KDIR) M=$(PWD) modules
	$(if $(HAVE_ENGINE),$(MAKE) -C $(KDIR) M=$(ENGINE) modules)
	$(if $(HAVE_NIC),$(MAKE) -C $(KDIR) M=$(NIC) modules)
	$(MAKE) -C $(KDIR) M=$(RIVAL) modules
	@mkdir -p .build/ko/$(KVER)/rival && cp esp_offload.ko $(if $(HAVE_ENGINE),$(ENGINE)/espo_engine.ko) \
		$(if $(HAVE_NIC),$(NIC)/espo_nic.ko) .build/ko/$(KVER)/ && \
		cp $(RIVAL)/esp4.ko .build/ko/$(KVER)/rival/

module-debug:
	$(MAKE) -C $(KDIR) M=$(PWD) ESPO_DEBUG=1 modules

install: module
	$(MAKE) -C $(KDIR) M=$(PWD) modules_install
	depmod -a $(KVER)

# DKMS from this tree (needs root; the package does the same through
# dh_dkms). A kernel outside dkms.conf's BUILD_EXCLUSIVE_KERNEL is skipped.
dkms-install:
	rm -rf /usr/src/$(DKMS_NAME)-$(VERSION)
	scripts/dkms-source --with-conf /usr/src/$(DKMS_NAME)-$(VERSION)
	dkms status -m $(DKMS_NAME) -v $(VERSION) | grep -q . || dkms add -m $(DKMS_NAME) -v $(VERSION)
	@for k in $(DKMS_KERNELS); do \
		echo "dkms-install: $$k"; rc=0; \
		dkms install -m $(DKMS_NAME) -v $(VERSION) -k $$k --force || rc=$$?; \
		case $$rc in 0) ;; 77) echo "dkms-install: $$k skipped (not supported)" ;; \
		*) exit $$rc ;; esac; done

dkms-remove:
	if dkms status -m $(DKMS_NAME) -v $(VERSION) | grep -q .; then \
		dkms remove -m $(DKMS_NAME) -v $(VERSION) --all; fi
	rm -rf /usr/src/$(DKMS_NAME)-$(VERSION)

# The package is built from a copy of the tree under .build/deb (a
# binary-only build writes its products next to the source directory).
deb:
	rm -rf .build/deb && mkdir -p .build/deb/src
	tar -C $(CURDIR) --exclude=./.git --exclude=./.build -cf - . | tar -C .build/deb/src -xf -
	cd .build/deb/src && dpkg-buildpackage -us -uc -b
	lintian --info --display-info --pedantic --fail-on error,warning,info,pedantic $(DEB)
	@echo "deb: $(DEB)"

# The build's own products, but not the per-kernel copies under .build/
# (kbuild's clean would remove every *.ko below the tree).
clean-objects:
	find . -path ./.build -prune -o -path ./.git -prune -o -type f \( -name '*.o' \
		-o -name '*.ko' -o -name '*.mod' -o -name '*.mod.c' -o -name '.*.cmd' \
		-o -name '*.order' -o -name Module.symvers \) -print | xargs -r rm -f

clean:
	$(MAKE) -C $(KDIR) M=$(PWD) clean
	$(MAKE) -C $(KDIR) M=$(ENGINE) clean
	$(MAKE) -C $(KDIR) M=$(NIC) clean
	$(MAKE) -C $(KDIR) M=$(RIVAL) clean
	rm -rf .build

# esp_package installs the Debian package: `make check T=esp_package`
# builds it first.
check: module style $(if $(filter esp_package,$(T)),deb)
	scripts/run-selftests $(foreach t,$(T),--test $(t)) $(if $(TIMEOUT),--timeout $(TIMEOUT))

check-all: style
	scripts/check-all

check-debug: style
	scripts/check-debug $(foreach t,$(or $(T),$(DEBUG_TESTS)),--test $(t)) \
		$(if $(TIMEOUT),--timeout $(TIMEOUT))

demo: module
	scripts/demo

bench: module
	scripts/bench $(BENCH_ARGS)

bench-scale: module
	scripts/bench-scale

style:
	@test -f "$(CHECKPATCH)" || { echo "checkpatch.pl not found: run scripts/setup" >&2; exit 1; }
	@out=$$(git ls-files '*.c' '*.h' | xargs perl $(CHECKPATCH) --no-tree --terse --file \
		--quiet --show-types | grep -E 'ERROR|WARNING'); \
		echo "$$out" | grep . ; n=$$(echo "$$out" | grep -c .); \
		echo "checkpatch: $$n problems"; test $$n = 0

sparse:
	$(MAKE) -C $(KDIR) M=$(PWD) C=2 modules
	$(MAKE) -C $(KDIR) M=$(ENGINE) C=2 modules
	$(MAKE) -C $(KDIR) M=$(NIC) C=2 modules
	$(MAKE) -C $(KDIR) M=$(RIVAL) C=2 modules

.PHONY: all module module-debug install dkms-install dkms-remove deb clean clean-objects check check-all check-debug demo bench bench-scale style sparse
