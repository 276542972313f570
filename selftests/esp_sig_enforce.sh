#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm: own (boots with module signature enforcement)
# vm: append module.sig_enforce=1
# check: by name (make check T=esp_sig_enforce; check-all runs it)
#
# What a kernel that enforces module signatures says to esp_offload, as
# Documentation/esp_offload.rst quotes it. The VM boots with
# module.sig_enforce=1 (what lockdown does on a Secure Boot machine in
# effect, without firmware). The kernel trusts only its built-in keys
# and the enrolled (MOK/secondary) ones, so:
#
#   - the tree's unsigned build is refused: insmod "Key was rejected by
#     service", dmesg "Loading of unsigned module is rejected";
#   - a build signed the way DKMS signs (a self-made key and certificate,
#     the kernel's scripts/sign-file) is refused too while that key is
#     not enrolled: "Loading of module with unavailable key is rejected";
#   - the kernel's own esp4 (signed by Debian) still loads.
. "$(dirname "$0")/lib.sh"

require_cmd insmod openssl modinfo
KVER=$(uname -r)
SIGN_FILE=/lib/modules/$KVER/build/scripts/sign-file
WORK=/tmp/esp_sig_enforce.$SUFFIX
on_exit "rm -rf $WORK"
on_exit 'rmmod esp4 2>/dev/null'

ksft_plan 7
ksft_eq "booted with module.sig_enforce=1" Y "$(cat /sys/module/module/parameters/sig_enforce)"

dmesg_mark
out=$(insmod "$MODULE_KO" 2>&1)
ksft_diag "unsigned build ($(modinfo -F signer "$MODULE_KO" | grep -q . && echo signed || echo unsigned)): insmod: $out"
dmesg_since | sed 's/^/# dmesg: /'
ksft_check "the unsigned build is refused: Key was rejected by service" \
	eval '! module_loaded esp_offload && [[ $out == *"Key was rejected by service"* ]]'
ksft_check "dmesg: Loading of unsigned module is rejected" \
	eval 'dmesg_since | grep -q "Loading of unsigned module is rejected"'

# Signed as DKMS signs: a self-signed certificate made with openssl and
# the kernel's sign-file, with the kernel's hash.
hash=$(sed -n 's/^CONFIG_MODULE_SIG_HASH="\(.*\)"/\1/p' "/lib/modules/$KVER/build/.config")
mkdir -p "$WORK" &&
	openssl req -new -x509 -nodes -days 1 -subj "/CN=esp_offload test signing key" \
		-newkey rsa:2048 -keyout "$WORK/key.pem" -outform DER -out "$WORK/cert.der" \
		>/dev/null 2>&1 &&
	cp "$MODULE_KO" "$WORK/esp_offload.ko" &&
	"$SIGN_FILE" "${hash:-sha256}" "$WORK/key.pem" "$WORK/cert.der" "$WORK/esp_offload.ko"
ksft_eq "a copy signed with an unenrolled key (modinfo signer)" "esp_offload test signing key" \
	"$(modinfo -F signer "$WORK/esp_offload.ko" 2>/dev/null)"
dmesg_mark
out=$(insmod "$WORK/esp_offload.ko" 2>&1)
ksft_diag "signed with an unenrolled key: insmod: $out"
dmesg_since | sed 's/^/# dmesg: /'
ksft_check "refused as well: Key was rejected by service" \
	eval '! module_loaded esp_offload && [[ $out == *"Key was rejected by service"* ]]'
ksft_check "dmesg: Loading of module with unavailable key is rejected" \
	eval 'dmesg_since | grep -q "Loading of module with unavailable key is rejected"'
ksft_check "the kernel's own esp4 (Debian's key) loads" \
	eval 'modprobe esp4 && module_loaded esp4 && rmmod esp4'
ksft_exit
