#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# check: all (1,000 rekeys and load cycles; check-all and check-debug run it)
#
# vm: own (loads and unloads the module a hundred times)
#
# Churn and lifecycle. One SA pair is rekeyed make-before-break (a new
# pair is added with new SPIs and keys, the old pair's limits updated,
# then the old pair deleted) CHURN_CYCLES times while pings run over it
# and a TCP transfer runs over another, steady SA pair. Afterwards the
# churned SAs carry a checked transfer, the module's SA table holds
# exactly the SAs xfrm holds, and after a flush none. Then the module is
# loaded, given SAs and traffic, flushed and unloaded LOAD_CYCLES times.
# Defaults: 1000 rekeys (one `ip -batch` per side, cheap) and 15 load
# cycles (each costs a few seconds under TCG); the long run is
# `make check T=esp_churn LOAD_CYCLES=100`.
# Leaks are the debug tier's business (kmemleak); here the counts must
# agree and the kernel log stay clean.
. "$(dirname "$0")/lib.sh"

require_cmd socat
CYCLES=${CHURN_CYCLES:-1000}
LOADS=${LOAD_CYCLES:-15}
test_payload 2000000 21
on_exit module_unload

# churn_cmds FIRST LAST: `ip -batch` commands that install pair FIRST,
# then rekey make-before-break up to pair LAST: add pair N (new SPIs, a
# key of its own per SA), update pair N-1's limits, delete pair N-1.
churn_cmds() {
	awk -v first="$1" -v last="$2" '
	function key(n) { return sprintf("0x%024x%08x%08x", n * 7919 + 1, n, n + 17) }
	function sa(spi, n, src, dst, extra) {
		printf "xfrm state %s src %s dst %s proto esp spi %d reqid 5 mode transport aead rfc4106(gcm(aes)) %s 128%s\n",
			extra == "" ? "add" : "update", src, dst, spi, key(n), extra
	}
	BEGIN {
		for (n = first; n <= last; n++) {
			sa(65536 + n * 2, n * 2, "192.0.2.1", "192.0.2.2", "")
			sa(65537 + n * 2, n * 2 + 1, "192.0.2.2", "192.0.2.1", "")
			if (n == first)
				continue
			o = n - 1
			sa(65536 + o * 2, o * 2, "192.0.2.1", "192.0.2.2", " limit time-soft 3600")
			printf "xfrm state delete src 192.0.2.1 dst 192.0.2.2 proto esp spi %d\n", 65536 + o * 2
			printf "xfrm state delete src 192.0.2.2 dst 192.0.2.1 proto esp spi %d\n", 65537 + o * 2
		}
	}'
}

steady_v6() {
	local ns
	for ns in "$NS_A" "$NS_B"; do
		ip -n "$ns" xfrm state add src 2001:db8::1 dst 2001:db8::2 proto esp \
			spi 0x2001 reqid 6 mode transport aead "$GCM" "$KEY256" 128 &&
		ip -n "$ns" xfrm state add src 2001:db8::2 dst 2001:db8::1 proto esp \
			spi 0x2002 reqid 6 mode transport aead "$GCM" "${KEY256/0x01/0x61}" 128 ||
			return 1
	done
	ip -n "$NS_A" xfrm policy add src 2001:db8::1 dst 2001:db8::2 proto tcp dir out \
		tmpl proto esp reqid 6 mode transport &&
	ip -n "$NS_A" xfrm policy add src 2001:db8::2 dst 2001:db8::1 proto tcp dir in \
		tmpl proto esp reqid 6 mode transport &&
	ip -n "$NS_B" xfrm policy add src 2001:db8::2 dst 2001:db8::1 proto tcp dir out \
		tmpl proto esp reqid 6 mode transport &&
	ip -n "$NS_B" xfrm policy add src 2001:db8::1 dst 2001:db8::2 proto tcp dir in \
		tmpl proto esp reqid 6 mode transport
}

churned_policies() {
	ip -n "$NS_A" xfrm policy add src 192.0.2.1 dst 192.0.2.2 dir out \
		tmpl proto esp reqid 5 mode transport &&
	ip -n "$NS_A" xfrm policy add src 192.0.2.2 dst 192.0.2.1 dir in \
		tmpl proto esp reqid 5 mode transport &&
	ip -n "$NS_B" xfrm policy add src 192.0.2.2 dst 192.0.2.1 dir out \
		tmpl proto esp reqid 5 mode transport &&
	ip -n "$NS_B" xfrm policy add src 192.0.2.1 dst 192.0.2.2 dir in \
		tmpl proto esp reqid 5 mode transport
}

# sas_agree: the module's table has one line per SA xfrm holds.
sas_agree() {
	local want got
	want=$(( $(ip -n "$NS_A" xfrm state list | grep -c '^src') +
		 $(ip -n "$NS_B" xfrm state list | grep -c '^src') ))
	got=$(grep -c . /sys/kernel/debug/esp_offload/sas)
	[ "$want" = "$got" ] || { ksft_diag "xfrm holds $want SAs, the module's table $got"; return 1; }
}

ksft_plan 10
pair_topology || ksft_skip_all "topology"
module_load || ksft_skip_all "cannot load esp_offload"
dmesg_mark
steady_v6 && churned_policies || ksft_skip_all "SAs and policies"
churn_cmds 0 0 > /tmp/churn.first.$SUFFIX
churn_cmds 0 "$CYCLES" > /tmp/churn.all.$SUFFIX
on_exit "rm -f /tmp/churn.first.$SUFFIX /tmp/churn.all.$SUFFIX"
ip -n "$NS_A" -batch /tmp/churn.first.$SUFFIX && ip -n "$NS_B" -batch /tmp/churn.first.$SUFFIX ||
	ksft_skip_all "first churned pair"

# Traffic on both pairs while the churned one is rekeyed.
ip netns exec "$NS_A" ping -q -i 0.02 192.0.2.2 > /tmp/churn.ping.$SUFFIX 2>&1 &
pinger=$!
on_exit "rm -f /tmp/churn.ping.$SUFFIX"
on_exit "kill $pinger 2>/dev/null"
tcp_transfer "$NS_A" "$NS_B" 2001:db8::2 "$PAYLOAD" 5401 > /tmp/churn.tcp.$SUFFIX 2>&1 &
steady=$!
on_exit "rm -f /tmp/churn.tcp.$SUFFIX"
# Both sides rekey at once, each through one `ip -batch` (the lines
# after the first pair; the pair's first two lines are already in).
tail -n +3 /tmp/churn.all.$SUFFIX > /tmp/churn.first.$SUFFIX
ip -n "$NS_A" -batch /tmp/churn.first.$SUFFIX &
ca=$!
ip -n "$NS_B" -batch /tmp/churn.first.$SUFFIX
rb=$?
wait $ca
ra=$?
ok=$(( ra == 0 && rb == 0 ))
kill -INT $pinger 2>/dev/null
wait $pinger
ksft_diag "pings over the churned SAs: $(grep -o '[0-9]* packets transmitted, [0-9]* received' /tmp/churn.ping.$SUFFIX)"
ksft_check "$CYCLES make-before-break rekeys (add, update, delete) under traffic" test $ok = 1
ksft_check "pings crossed the churned SAs during the rekeys" \
	grep -qE ' [1-9][0-9]* received' /tmp/churn.ping.$SUFFIX
wait $steady
ksft_check "a TCP transfer on a steady SA pair during the churn is intact" test $? = 0
cat /tmp/churn.tcp.$SUFFIX
ksft_check "after the churn the newest pair carries a checked transfer" \
	tcp_transfer "$NS_A" "$NS_B" 192.0.2.2 "$PAYLOAD" 5402
ksft_check "the module's SA table matches xfrm's (4 SAs per side)" sas_agree
if ! rmmod esp_offload 2>/dev/null && module_loaded esp_offload; then
	ksft_pass "rmmod refused while SAs exist"
else
	ksft_fail "rmmod refused while SAs exist"
fi
xfrm_flush "$NS_A" "$NS_B"
ksft_check "after a flush the module's SA table is empty" \
	wait_for "the module's SA table to empty" 30 \
	eval '[ -z "$(cat /sys/kernel/debug/esp_offload/sas)" ]'
ksft_check "and the module unloads" busywait 10000 rmmod esp_offload

# Load, SAs and policies, traffic (every tenth cycle), flush, unload;
# each side's xfrm work in one `ip -batch`.
load_cmds() {
	local k
	k=$(printf '0x%032x%08x' $(($1 + 5000)) "$1")
	cat <<-CMDS
	xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x3101 reqid 7 mode transport aead $GCM $k 128
	xfrm state add src 192.0.2.2 dst 192.0.2.1 proto esp spi 0x3102 reqid 7 mode transport aead $GCM $k 128
	CMDS
}
pol_cmds() {
	cat <<-CMDS
	xfrm policy add src $1 dst $2 dir out tmpl proto esp reqid 7 mode transport
	xfrm policy add src $2 dst $1 dir in tmpl proto esp reqid 7 mode transport
	CMDS
}
ok=1
for ((i = 0; i < LOADS; i++)); do
	module_load &&
	{ load_cmds $i; pol_cmds 192.0.2.1 192.0.2.2; } | ip -n "$NS_A" -batch - &&
	{ load_cmds $i; pol_cmds 192.0.2.2 192.0.2.1; } | ip -n "$NS_B" -batch - &&
	{ [ $((i % 10)) != 0 ] || ping_ok "$NS_A" 192.0.2.2 1; } &&
	printf 'xfrm state flush\nxfrm policy flush\n' | ip -n "$NS_A" -batch - &&
	printf 'xfrm state flush\nxfrm policy flush\n' | ip -n "$NS_B" -batch - &&
	busywait 10000 rmmod esp_offload || {
		ok=0
		ksft_diag "load cycle $i failed"
		break
	}
done
ksft_check "$LOADS load / SAs / traffic / flush / unload cycles" test $ok = 1
ksft_check "dmesg clean" dmesg_clean
ksft_exit
