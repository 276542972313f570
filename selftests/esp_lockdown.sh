#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm: own (boots with the kernel locked down)
# vm: append lockdown=integrity
# check: by name (make check T=esp_lockdown; check-all runs it)
#
# What a Secure Boot machine says to esp_offload: Debian's kernel locks
# itself down (integrity) under Secure Boot, and the lockdown refuses any
# module not signed by a key the kernel trusts. Without firmware the VM
# boots with lockdown=integrity, which is the same lockdown, and shows
# the messages Documentation/esp_offload.rst quotes:
#
#   - the tree's unsigned build: insmod "Operation not permitted", dmesg
#     "Lockdown: insmod: unsigned module loading is restricted; see man
#     kernel_lockdown.7";
#   - a build signed the way DKMS signs, by a key not enrolled: the same;
#   - the kernel's own esp4 (signed by Debian) still loads.
. "$(dirname "$0")/lib.sh"

require_cmd insmod openssl modinfo
KVER=$(uname -r)
SIGN_FILE=/lib/modules/$KVER/build/scripts/sign-file
WORK=/tmp/esp_lockdown.$SUFFIX
on_exit "rm -rf $WORK"
on_exit 'rmmod esp4 2>/dev/null'

ksft_plan 6
grep -qw securityfs /proc/mounts || mount -t securityfs securityfs /sys/kernel/security
ksft_diag "active LSMs: $(cat /sys/kernel/security/lsm 2>&1)"
ksft_eq "booted locked down (integrity)" "none [integrity] confidentiality" \
	"$(cat /sys/kernel/security/lockdown 2>&1)"

dmesg_mark
out=$(insmod "$MODULE_KO" 2>&1)
ksft_diag "unsigned build: insmod: $out"
dmesg_since | sed 's/^/# dmesg: /'
ksft_check "the unsigned build is refused: Operation not permitted" \
	eval '! module_loaded esp_offload && [[ $out == *"Operation not permitted"* ]]'
ksft_check "dmesg: Lockdown: insmod: unsigned module loading is restricted" \
	eval 'dmesg_since | grep -q "Lockdown: insmod: unsigned module loading is restricted; see man kernel_lockdown.7"'

# Signed as DKMS signs (a self-made certificate, the kernel's sign-file).
hash=$(sed -n 's/^CONFIG_MODULE_SIG_HASH="\(.*\)"/\1/p' "/lib/modules/$KVER/build/.config")
mkdir -p "$WORK" &&
	openssl req -new -x509 -nodes -days 1 -subj "/CN=esp_offload test signing key" \
		-newkey rsa:2048 -keyout "$WORK/key.pem" -outform DER -out "$WORK/cert.der" \
		>/dev/null 2>&1 &&
	cp "$MODULE_KO" "$WORK/esp_offload.ko" &&
	"$SIGN_FILE" "${hash:-sha256}" "$WORK/key.pem" "$WORK/cert.der" "$WORK/esp_offload.ko"
dmesg_mark
out=$(insmod "$WORK/esp_offload.ko" 2>&1)
ksft_diag "signed by an unenrolled key ($(modinfo -F signer "$WORK/esp_offload.ko")): insmod: $out"
dmesg_since | sed 's/^/# dmesg: /'
ksft_check "signed by an unenrolled key: refused the same way" \
	eval '! module_loaded esp_offload && [[ $out == *"Operation not permitted"* ]] &&
		dmesg_since | grep -q "Lockdown: insmod: unsigned module loading is restricted"'
ksft_check "the kernel's own esp4 (Debian's key) loads" \
	eval 'modprobe esp4 && module_loaded esp4 && rmmod esp4'
ksft_exit
