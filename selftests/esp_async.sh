#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# vm: own (pcrypt becomes the default rfc4106 implementation once used)
#
# The asynchronous crypto paths: with crypto_mode=async every request
# goes through cryptd and completes later; with crypto_mode=parallel
# pcrypt spreads one SA's requests over the CPUs. The same traffic must
# pass, the SA table must name the wrapped driver, and the module must
# count asynchronous completions. Bad parameters refuse the load.
#
# Two failure cases of the async path:
# - a driver with no internal SIMD instance for cryptd to run: the SA is
#   refused with a message (a new cryptd instance over an AEAD would
#   fail the 6.1 crypto self-tests with a WARN);
# - a full queue (cryptd with a queue of one request): each packet that
#   does not fit is dropped and counted (drop_busy), and the sending
#   socket sees lost datagrams, never an error such as ENOSPC.
. "$(dirname "$0")/lib.sh"

require_cmd socat
test_payload 200000 4
on_exit module_unload

# one_mode MODE DRIVER_PREFIX
one_mode() {
	local mode=$1 prefix=$2 tx0 rx0
	if ! module_load crypto_mode="$mode"; then
		ksft_fail "$mode: module loads"
		return
	fi
	pair_topology || { ksft_fail "$mode: topology"; return; }
	tx0=$(module_stat tx_async) rx0=$(module_stat rx_async)
	esp_transport_pair 192.0.2.1 192.0.2.2 0x5001 0x5002 -- \
		aead "$GCM" "${KEY256:0:42}" 128
	ksft_check "$mode: transport v4 TCP transfer, sha256 matches" \
		tcp_transfer "$NS_A" "$NS_B" 192.0.2.2 "$PAYLOAD"
	ksft_check "$mode: SA uses a $prefix driver" \
		bash -c "grep ' spi 0x00005001 ' /sys/kernel/debug/esp_offload/sas | grep -q ' driver $prefix('"
	xfrm_flush "$NS_A" "$NS_B"
	if esp_tunnel_v6_pair 0x5011 0x5012 -- aead "$GCM" "$KEY256" 128 flag esn replay-window 64; then
		ksft_check "$mode: tunnel v6 ESN TCP transfer, sha256 matches" \
			tcp_transfer "$NS_A" "$NS_B" fd02::1 "$PAYLOAD"
	else
		ksft_fail "$mode: tunnel v6 SAs installed"
	fi
	if [ "$(module_stat tx_async)" -gt "$tx0" ] && [ "$(module_stat rx_async)" -gt "$rx0" ]; then
		ksft_pass "$mode: completions were asynchronous"
	else
		ksft_fail "$mode: completions were asynchronous" \
			"tx_async $(module_stat tx_async) rx_async $(module_stat rx_async)"
	fi
	netns_cleanup
	module_unload
}

ksft_plan 15
dmesg_mark
one_mode async cryptd
one_mode parallel pcrypt

dmesg_mark
if insmod "$MODULE_KO" crypto_mode=bogus 2>/dev/null; then
	ksft_fail "crypto_mode=bogus is refused"
	module_unload
else
	ksft_check "crypto_mode=bogus is refused with a message" \
		bash -c "dmesg | tail -n +$((DMESG_MARK + 1)) | grep -q 'crypto_mode=bogus is not one of'"
fi
if insmod "$MODULE_KO" crypto_driver=no-such-driver 2>/dev/null; then
	ksft_fail "crypto_driver=no-such-driver is refused"
	module_unload
else
	ksft_check "crypto_driver=no-such-driver is refused with a message" \
		bash -c "dmesg | tail -n +$((DMESG_MARK + 1)) | grep -q 'crypto_driver=no-such-driver: no such AEAD driver'"
fi
# A driver without an internal SIMD instance: the generic GCM.
GENERIC='rfc4106(gcm_base(ctr(aes-generic),ghash-generic))'
if module_load crypto_mode=async crypto_driver="$GENERIC"; then
	netns_new NS_G gen
	out=$(ip -n "$NS_G" xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp \
		spi 0x5101 mode transport aead "$GCM" "${KEY256:0:42}" 128 2>&1)
	if [ $? != 0 ] && grep -q "crypto_mode=async needs a driver with an internal SIMD" <<< "$out" &&
	   [ -z "$(ip -n "$NS_G" xfrm state list)" ]; then
		ksft_pass "async over a driver with no SIMD instance: SA refused, with the message"
	else
		ksft_fail "async over a driver with no SIMD instance: SA refused, with the message" "$out"
	fi
	netns_cleanup
	module_unload
else
	ksft_fail "async over a driver with no SIMD instance: SA refused, with the message" \
		"the module did not load with crypto_driver=$GENERIC"
fi

# blast NS ADDR COUNT: send COUNT 1000-byte UDP datagrams as fast as
# possible; print "sent N errors E first-error".
blast() {
	ip netns exec "$1" /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sent = errs = 0
first = "-"
for i in range(int(sys.argv[2])):
    try:
        s.sendto(b"x" * 1000, (sys.argv[1], 9))
        sent += 1
    except OSError as e:
        errs += 1
        if first == "-":
            first = e.strerror.replace(" ", "_")
print("sent", sent, "errors", errs, first)' "$2" "$3"
}

# cryptd's queue length is a load-time parameter of cryptd, which the
# AES-NI and GHASH drivers hold: reload the three with a queue of one.
crypto_reload() {
	modprobe -r ghash_clmulni_intel aesni_intel crypto_simd cryptd 2>/dev/null
	! module_loaded cryptd &&
	modprobe cryptd "$@" && modprobe aesni_intel && modprobe ghash_clmulni_intel
}
if crypto_reload cryptd_max_cpu_qlen=1 && module_load crypto_mode=async; then
	pair_topology
	esp_transport_pair 192.0.2.1 192.0.2.2 0x5201 0x5202 -- \
		aead "$GCM" "${KEY256:0:42}" 128
	busy0=$(module_stat drop_busy)
	res=$(blast "$NS_A" 192.0.2.2 20000)
	busy=$(( $(module_stat drop_busy) - busy0 ))
	ksft_diag "queue of one: $res, drop_busy +$busy"
	ksft_check "full queue: the socket sees no error (datagrams are dropped)" \
		grep -q "^sent 20000 errors 0 " <<< "$res"
	ksft_check "full queue: drops are counted as drop_busy" test "$busy" -gt 0
	ksft_check "full queue: the SA still carries traffic afterwards" \
		ping_ok "$NS_A" 192.0.2.2
	netns_cleanup
	module_unload
else
	ksft_skip_case "full queue cases" "could not reload cryptd with a queue of one"
	ksft_skip_case "full queue cases"
	ksft_skip_case "full queue cases"
fi
crypto_reload
ksft_check "dmesg clean" dmesg_clean
ksft_exit
