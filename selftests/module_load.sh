#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# esp_offload.ko loads and unloads cleanly, and says who it is.
. "$(dirname "$0")/lib.sh"

ksft_plan 7
dmesg_mark

info=$(modinfo "$MODULE_KO")
ksft_check "modinfo: license GPL" grep -qE '^license: +GPL$' <<< "$info"
ksft_check "modinfo: description" grep -qE '^description: +.+' <<< "$info"
ksft_check "modinfo: version" grep -qE '^version: +.+' <<< "$info"
ksft_check "insmod" module_load
ksft_check "registered: dmesg names the version" \
	bash -c "dmesg | tail -n +$((DMESG_MARK + 1)) | grep -q 'esp_offload: version .* loaded'"
ksft_check "rmmod" module_unload
if ! module_loaded esp_offload && dmesg_since | grep -q 'esp_offload: unloaded' && dmesg_clean; then
	ksft_pass "gone, dmesg clean"
else
	ksft_fail "gone, dmesg clean"
fi
ksft_exit
