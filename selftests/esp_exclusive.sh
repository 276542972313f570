#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm: own (loads the kernel's esp4/esp6)
#
# One ESP implementation at a time: esp_offload refuses to load next to
# esp4/esp6, stops them loading while it is loaded, cannot be removed
# while it carries SAs, and leaves the stock path working after it goes.
. "$(dirname "$0")/lib.sh"

require_cmd modprobe
on_exit module_unload
on_exit 'ip xfrm state flush; modprobe -r esp4 esp6'
SA="src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x7001 mode transport aead rfc4106(gcm(aes)) ${KEY256:0:42} 128"

since() { dmesg | tail -n +$((DMESG_MARK + 1)); }

# The test-only stand-in for esp4 that holds in its init (espo_rival).
RIVAL_KO=$(pick_ko selftests/espo_rival/esp4.ko rival/esp4.ko)
rival_state() { cat /sys/module/esp4/initstate 2>/dev/null; }

ksft_plan 14
dmesg_mark

# (a) esp4 first: esp_offload refuses with EBUSY and says what to do.
modprobe esp4 || ksft_skip_all "cannot load esp4"
out=$(insmod "$MODULE_KO" 2>&1)
if [ $? != 0 ] && grep -q "Device or resource busy" <<< "$out" &&
   since | grep -q "the kernel's ESP (esp4/esp6) is loaded: remove every ESP SA"; then
	ksft_pass "esp4 loaded: esp_offload refuses, with the message"
else
	ksft_fail "esp4 loaded: esp_offload refuses, with the message" "$out"
fi
modprobe -r esp4
modprobe esp6 && ! insmod "$MODULE_KO" 2>/dev/null
ksft_check "esp6 loaded: esp_offload refuses too" test $? = 0
modprobe -r esp6

# (b) esp_offload first: esp4 and esp6 refuse, each with a message.
dmesg_mark
module_load
for m in esp4 esp6; do
	out=$(modprobe $m 2>&1)
	if [ $? != 0 ] && grep -q "Device or resource busy" <<< "$out" &&
	   since | grep -q "refusing to load $m: esp_offload provides IPsec ESP" &&
	   ! module_loaded $m; then
		ksft_pass "esp_offload loaded: modprobe $m refused, with the message"
	else
		ksft_fail "esp_offload loaded: modprobe $m refused, with the message" "$out"
	fi
done

# (c) An SA pins the module; after a flush it unloads cleanly.
ip xfrm state add $SA
ksft_check "an SA is processed by esp_offload" \
	grep -q ' spi 0x00007001 ' /sys/kernel/debug/esp_offload/sas
if ! rmmod esp_offload 2>/dev/null && module_loaded esp_offload; then
	ksft_pass "rmmod refused while an SA exists"
else
	ksft_fail "rmmod refused while an SA exists"
fi
ip xfrm state flush
dmesg_mark
if busywait 10000 rmmod esp_offload && since | grep -q "esp_offload: unloaded"; then
	ksft_pass "after the flush, rmmod succeeds"
else
	ksft_fail "after the flush, rmmod succeeds"
fi

# (d) Without esp_offload the kernel loads esp4 on demand again.
if ip xfrm state add $SA && module_loaded esp4; then
	ksft_pass "stock path: the first ESP SA loads esp4 by itself"
else
	ksft_fail "stock path: the first ESP SA loads esp4 by itself"
fi
ip xfrm state flush
modprobe -r esp4

# (e) Loaded at the same moment, again and again: never both, and never
# the core's warning about a second ESP type (a rival already past the
# loader's notification is caught by its /sys/module entry).
both=0 neither=0 esp4_won=0 rounds=${EXCLUSIVE_ROUNDS:-12}
for ((i = 0; i < rounds; i++)); do
	modprobe esp4 2>/dev/null &
	p1=$!
	insmod "$MODULE_KO" 2>/dev/null &
	p2=$!
	wait $p1 $p2
	if module_loaded esp4 && module_loaded esp_offload; then
		both=$((both + 1))
	elif module_loaded esp4; then
		esp4_won=$((esp4_won + 1))
	elif ! module_loaded esp_offload; then
		neither=$((neither + 1))
	fi
	busywait 10000 rmmod esp_offload 2>/dev/null
	modprobe -r esp4 2>/dev/null
done
ksft_diag "$rounds concurrent loads: esp4 won $esp4_won, esp_offload won $((rounds - esp4_won - both - neither)), neither $neither, both $both"
ksft_check "concurrent modprobe esp4 / insmod esp_offload: never both loaded" test $both = 0

# (f) The same window held open: a stand-in for esp4 waits in its init,
# past the loader's notification and before its ESP type exists. An
# esp_offload loaded then must refuse, naming it; the stand-in then
# registers its type, and the core has no second ESP type to warn about.
if [ ! -e "$RIVAL_KO" ]; then
	for i in 1 2 3 4; do ksft_skip_case "rival stand-in $i" "esp4.ko stand-in not built (make)"; done
else
	dmesg_mark
	insmod "$RIVAL_KO" hold_ms=$(scale 120000) &
	rival=$!
	if busywait 30000 bash -c '[ "$(cat /sys/module/esp4/initstate 2>/dev/null)" = coming ]'; then
		ksft_pass "the stand-in holds in its init (initstate coming)"
	else
		ksft_fail "the stand-in holds in its init (initstate coming)" "initstate: $(rival_state)"
	fi
	out=$(insmod "$MODULE_KO" 2>&1)
	rc=$? state=$(rival_state)
	echo 1 > /sys/module/esp4/parameters/release
	wait $rival
	rival_rc=$?
	if [ $rc != 0 ] && [ "$state" = coming ] &&
	   since | grep -q "esp4 is loaded or being loaded or unloaded: remove every ESP SA"; then
		ksft_pass "rival mid-load: esp_offload refuses, naming it"
	else
		ksft_fail "rival mid-load: esp_offload refuses, naming it" \
			"insmod rc $rc, stand-in $state at the time: $out"
	fi
	ksft_check "the stand-in then registers its ESP type and stays loaded" \
		bash -c "[ $rival_rc = 0 ] && [ \"\$(cat /sys/module/esp4/initstate)\" = live ] && ! grep -q '^esp_offload ' /proc/modules"
	busywait 10000 rmmod esp4
	ksft_check "the stand-in unloads" bash -c "! grep -q '^esp4 ' /proc/modules"
fi
ksft_check "dmesg clean" dmesg_clean
ksft_exit
