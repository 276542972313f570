#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of scripts/run-selftests: install the tests the way
# kselftest does (`make -C selftests install`, the kernel's lib.mk, with
# its run_kselftest.sh and runner beside them and a kselftest-list.txt
# from `emit_tests`), run the given tests one after the other with
# `run_kselftest.sh -t esp_offload:NAME.sh`, each with its output
# prefixed, and
# write one result line per test ("<name> pass|fail|skip <seconds>
# [reason]") to $RESULTS/results. The kernel log of each test is saved
# as $RESULTS/<name>.dmesg; a user-space crash in it (the kernel's
# "segfault at" or "traps:" line) or a kernel report (lib.sh's
# KERNEL_BAD) fails the test and is printed. On a kernel with kmemleak
# a scan follows each test (lib.sh's kmemleak_check, the report saved
# as $RESULTS/<name>.kmemleak): a leak of the module or xfrm fails it.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
trap - EXIT
: > "$RESULTS/results"
# Every fatal signal a program gets is logged (not only the first few).
sysctl -qw debug.exception-trace=1 kernel.printk_ratelimit=0 2>/dev/null

# The kselftest install, in the guest's /tmp; the runner's per-test limit
# (settings) scaled like every other bound.
ksft=/tmp/kselftest
ksft_src=$(dirname "$(ls /usr/src/linux-source-*/tools/testing/selftests/lib.mk | head -n 1)")
limit=$(scale 900)
mkdir -p "$ksft/esp_offload" &&
cp "$ksft_src/run_kselftest.sh" "$ksft/" && cp -r "$ksft_src/kselftest" "$ksft/" &&
make -s -C "$here" --no-print-directory install INSTALL_PATH="$ksft/esp_offload" &&
make -s -C "$here" --no-print-directory emit_tests COLLECTION=esp_offload \
	> "$ksft/kselftest-list.txt" &&
sed -i "s/^timeout=.*/timeout=$limit/" "$ksft/esp_offload/settings" || {
	echo "# run-in-guest: cannot install the tests for kselftest"
	exit 1
}

leftovers() {
	grep -oE '^(esp_offload|esp4|esp6|esp4_offload|esp6_offload) ' /proc/modules | tr -d ' '
	ip netns list 2>/dev/null | cut -d' ' -f1
}

for t in "$@"; do
	name=$(basename "$t" .sh)
	echo "# ---- $name"
	start=$(date +%s)
	lines=$(dmesg | wc -l)
	out=$RESULTS/$name.ktap
	# A test may need longer than the default ("# vm: timeout SEC").
	own=$(sed -n 's/^# vm: timeout \([0-9]*\).*/\1/p' "$here/$name.sh" | head -n 1)
	limit=$(scale "${own:-900}")
	sed -i "s/^timeout=.*/timeout=$limit/" "$ksft/esp_offload/settings"
	# The runner enforces the limit; this is a backstop.
	timeout -k 10 $((limit + 60)) "$ksft/run_kselftest.sh" -t "esp_offload:$name.sh" \
		2>&1 | tee "$out" | sed "s/^/[$name] /"
	rc=${PIPESTATUS[0]}
	reason=
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		res=fail reason="time limit of $limit s"
	elif grep -q "^not ok 1 selftests: .*$name.sh" "$out"; then
		res=fail reason=$(grep -o "^not ok 1 selftests: .*$name.sh.*" "$out" | sed 's/.*# //')
	elif grep -q "^ok 1 selftests: .*$name.sh # SKIP" "$out"; then
		res=skip
	elif grep -q "^ok 1 selftests: .*$name.sh" "$out"; then
		res=pass
	else
		res=fail reason="no KTAP result line (make exit $rc)"
	fi
	dmesg | tail -n +$((lines + 1)) > "$RESULTS/$name.dmesg"
	crash=$(grep -E ' segfault at |traps: .* (trap|general protection)' "$RESULTS/$name.dmesg")
	if [ -n "$crash" ]; then
		echo "[$name] # USER-SPACE CRASH during $name:"
		sed "s/^/[$name] #   /" <<< "$crash"
		res=fail reason="a program crashed: $(head -1 <<< "$crash" | sed 's/^\[[^]]*\] //')"
	fi
	kernel=$(grep -E "$KERNEL_BAD" "$RESULTS/$name.dmesg")
	if [ -n "$kernel" ]; then
		echo "[$name] # KERNEL REPORT during $name (all of it in $name.dmesg):"
		sed "s/^/[$name] #   /" <<< "$kernel"
		res=fail reason="kernel: $(head -1 <<< "$kernel" | sed 's/^\[[^]]*\] //')"
	fi
	leaks=$(kmemleak_check "$RESULTS/$name.kmemleak")
	if [ -n "$leaks" ]; then
		echo "[$name] # KMEMLEAK: leaks of the module or xfrm after $name:"
		sed "s/^/[$name] #   /" <<< "$leaks"
		res=fail reason="kmemleak: $(head -1 <<< "$leaks")"
	fi
	left=$(leftovers | tr '\n' ' ')
	if [ -n "$left" ]; then
		echo "[$name] # left behind: $left"
		[ $res = fail ] || res=fail reason="left behind: $left"
		# Clean up so the next test starts fresh.
		for ns in $(ip netns list 2>/dev/null | cut -d' ' -f1); do
			ip -n "$ns" xfrm state flush; ip netns del "$ns"
		done
		ip xfrm state flush
		rmmod esp_offload esp4_offload esp6_offload esp4 esp6 2>/dev/null
	fi
	echo "$name $res $(($(date +%s) - start)) $reason" >> "$RESULTS/results"
done
# What the last test leaked in its last seconds (kmemleak waits until an
# object is 5 s old) fails the boot.
leaks=$(kmemleak_check "$RESULTS/end.kmemleak")
if [ -n "$leaks" ]; then
	echo "# KMEMLEAK: leaks of the module or xfrm after the last test:"
	sed 's/^/#   /' <<< "$leaks"
	exit 1
fi
exit 0
