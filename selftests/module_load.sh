#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# esp_offload.ko loads and unloads cleanly, and says who it is; it is
# built for the kernel that runs; an SA runs on the CPU-accelerated AEAD
# driver (the test VM's named CPU model must keep AES-NI and PCLMULQDQ).
. "$(dirname "$0")/lib.sh"

ksft_plan 11
dmesg_mark

info=$(modinfo "$MODULE_KO")
ksft_check "modinfo: license GPL" grep -qE '^license: +GPL$' <<< "$info"
ksft_check "modinfo: description" grep -qE '^description: +.+' <<< "$info"
ksft_check "modinfo: version" grep -qE '^version: +.+' <<< "$info"
ksft_check "modinfo: supported kernels" grep -qE '^kernels: +6\.1 .*6\.12' <<< "$info"
ksft_check "insmod" module_load
ksft_check "registered: dmesg names the version" \
	bash -c "dmesg | tail -n +$((DMESG_MARK + 1)) | grep -q 'esp_offload: version .* loaded'"
ksft_eq "built for the running kernel" "$(uname -r)" \
	"$(modinfo -F vermagic "$MODULE_KO" | cut -d' ' -f1)"
ksft_check "guest CPU has AES-NI and PCLMULQDQ" \
	eval 'grep -qw aes /proc/cpuinfo && grep -qw pclmulqdq /proc/cpuinfo'
netns_new NS ml
ip -n "$NS" xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x4242 \
	mode transport aead "$GCM" "$KEY256" 128
driver=$(module_sa_line 0x00004242 | grep -o 'driver [^ ]*')
ksft_diag "AEAD: $driver"
case $driver in
*aesni* | *vaes*) ksft_pass "an SA runs on the accelerated AEAD driver ($driver)" ;;
*) ksft_fail "an SA runs on the accelerated AEAD driver" "got '$driver'" ;;
esac
netns_cleanup
ksft_check "rmmod" module_unload
if ! module_loaded esp_offload && dmesg_since | grep -q 'esp_offload: unloaded' && dmesg_clean; then
	ksft_pass "gone, dmesg clean"
else
	ksft_fail "gone, dmesg clean"
fi
ksft_exit
