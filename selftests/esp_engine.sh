#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm: own (loads a crypto driver that can outrank AES-NI, and unloads it)
# check: all (the test crypto engine; check-all runs it on every kernel)
#
# esp_offload over an asynchronous crypto engine: the test-only
# espo_engine.ko (selftests/espo_engine/, built by `make`, never
# installed) registers rfc4106-gcm-espo-engine and rfc4543-gcm-espo-engine
# on the kernel's crypto_engine, and completes every request from the
# engine's kthread. esp_offload is loaded with crypto_driver= naming
# them. Checked:
#  - TCP transfers in transport and tunnel mode, IPv4 and IPv6, with
#    rfc4106 (all four) and rfc4543 (transport v6, tunnel v4); the SA table names the engine's driver; every
#    completion was asynchronous and the engine's counters agree with
#    esp_offload's;
#  - a full engine queue (qlen=1, a UDP blast): the sender sees no
#    error, esp_offload counts one drop (drop_busy, or drop_crypto where
#    there is no drop_busy) per request the engine refused;
#  - engine errors (fail_every=N): counted as drop_crypto, traffic goes on;
#  - SAs flushed and esp_offload unloaded with requests in flight
#    (delay_us): no crash, a clean kernel log, the engine unloads after.
. "$(dirname "$0")/lib.sh"

require_cmd socat python3

# The engine built for the running kernel.
ENGINE_KO=${ESPO_ENGINE_KO:-$(pick_ko selftests/espo_engine/espo_engine.ko espo_engine.ko)}
ENGINE_STATS=/sys/kernel/debug/espo_engine/stats
ENGINE_PARAMS=/sys/module/espo_engine/parameters

[ -e "$ENGINE_KO" ] || ksft_skip_all "espo_engine.ko not built (make)"
modprobe crypto_engine 2>/dev/null || grep -q '^crypto_engine ' /proc/modules ||
	[ -d /sys/module/crypto_engine ] || ksft_skip_all "the kernel has no crypto_engine"

# Every packet and ACK takes a trip through the engine's one kthread,
# which is slow under TCG: a smaller payload than the other tests.
test_payload 100000 12
on_exit engine_unload
on_exit module_unload

engine_load() {
	module_loaded espo_engine && return 0
	insmod "$ENGINE_KO" "$@"
}

engine_unload() {
	module_loaded espo_engine || return 0
	busywait 10000 rmmod espo_engine 2>/dev/null
}

engine_stat() {
	awk -v n="$1" '$1 == n { print $2; f = 1 } END { if (!f) print 0 }' \
		"$ENGINE_STATS" 2>/dev/null
}

# Requests the engine accepted and has not completed yet.
engine_inflight() {
	echo $(($(engine_stat queued) + $(engine_stat backlog) - $(engine_stat completions)))
}

engine_idle() { [ "$(engine_inflight)" = 0 ]; }

engine_busy() { [ "$(engine_inflight)" -ge "$1" ]; }

# The drop counter of a full queue: drop_busy where esp_offload has it.
busy_counter() {
	if grep -q '^drop_busy ' /sys/kernel/debug/esp_offload/stats 2>/dev/null; then
		echo drop_busy
	else
		echo drop_crypto
	fi
}

# snap NAME...: remember counters (esp_offload's, and the engine's as
# eng_NAME) in SNAP[]; delta NAME: how much one moved since.
declare -A SNAP
snap() {
	local n
	for n in tx_async rx_async tx_packets rx_packets drop_crypto drop_busy; do
		SNAP[$n]=$(module_stat $n)
	done
	for n in requests queued backlog queue_full refused completions \
		 injected_errors failed; do
		SNAP[eng_$n]=$(engine_stat $n)
	done
}
delta() {
	local now
	case $1 in
	eng_*) now=$(engine_stat "${1#eng_}") ;;
	*) now=$(module_stat "$1") ;;
	esac
	echo $((now - ${SNAP[$1]}))
}

# Every request the engine took came back, and each completion went
# through esp_offload's asynchronous path: what the engine completed is
# what esp_offload saw complete, and (with no failure) what it counted
# as packets.
counters_agree() {
	local async comp pkts
	engine_idle || return 1
	async=$(($(delta tx_async) + $(delta rx_async)))
	comp=$(delta eng_completions)
	pkts=$(($(delta tx_packets) + $(delta rx_packets)))
	[ "$comp" -gt 0 ] && [ "$async" = "$comp" ] &&
		[ "$pkts" = $((comp - $(delta eng_injected_errors) - $(delta eng_failed))) ] &&
		[ "$(delta eng_requests)" = $(($(delta eng_queued) + $(delta eng_backlog) + \
			$(delta eng_queue_full) + $(delta eng_refused))) ]
}

counters_diag() {
	ksft_diag "esp_offload: tx_async +$(delta tx_async) rx_async +$(delta rx_async)" \
		"tx_packets +$(delta tx_packets) rx_packets +$(delta rx_packets)" \
		"drop_crypto +$(delta drop_crypto) drop_busy +$(delta drop_busy)"
	ksft_diag "engine: $(tr '\n' ' ' < "$ENGINE_STATS")"
}

# tunnel FAMILY SPI_AB SPI_BA -- STATE_ARGS...: tunnel-mode SAs between
# the veth addresses for traffic between 10.1.0.1/fd01::1 (on A's lo)
# and 10.2.0.1/fd02::1 (on B's lo).
tunnel() {
	local fam=$1 sab=$2 sba=$3 a b ha hb pl ns i
	shift 4
	if [ "$fam" = 4 ]; then
		a=192.0.2.1 b=192.0.2.2 ha=10.1.0.1 hb=10.2.0.1 pl=32
	else
		a=2001:db8::1 b=2001:db8::2 ha=fd01::1 hb=fd02::1 pl=128
	fi
	for ns in "$NS_A" "$NS_B"; do
		ip -n "$ns" xfrm state add src $a dst $b proto esp spi "$sab" \
			reqid 9 mode tunnel "$@" &&
		ip -n "$ns" xfrm state add src $b dst $a proto esp spi "$sba" \
			reqid 9 mode tunnel "$@" || return 1
	done
	ip -n "$NS_A" addr replace $ha/$pl dev lo
	ip -n "$NS_B" addr replace $hb/$pl dev lo
	ip -n "$NS_A" route replace $hb/$pl via $b src $ha
	ip -n "$NS_B" route replace $ha/$pl via $a src $hb
	for i in 1 2; do
		if [ $i = 1 ]; then
			ns=$NS_A
			set -- $ha $hb $a $b
		else
			ns=$NS_B
			set -- $hb $ha $b $a
		fi
		ip -n "$ns" xfrm policy add src "$1/$pl" dst "$2/$pl" dir out tmpl \
			src "$3" dst "$4" proto esp reqid 9 mode tunnel &&
		ip -n "$ns" xfrm policy add src "$2/$pl" dst "$1/$pl" dir in tmpl \
			src "$4" dst "$3" proto esp reqid 9 mode tunnel || return 1
	done
}

# blast NS DST COUNT: COUNT UDP datagrams as fast as python sends them;
# fails (and says why) if any sendto() returned an error.
blast() {
	ip netns exec "$1" python3 -c '
import socket, sys
dst, n = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET6 if ":" in dst else socket.AF_INET,
                  socket.SOCK_DGRAM)
errs = {}
for i in range(n):
    try:
        s.sendto(b"x" * 1000, (dst, 9))
    except OSError as e:
        errs[e.strerror] = errs.get(e.strerror, 0) + 1
if errs:
    print("# sendto() errors:", errs)
    sys.exit(1)' "$2" "$3"
}

# trickle NS DST SECONDS: a datagram every millisecond, errors ignored
# (in the background, while SAs go away under it).
trickle() {
	ip netns exec "$1" python3 -c '
import socket, sys, time
dst, end = sys.argv[1], time.time() + float(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
while time.time() < end:
    try:
        s.sendto(b"y" * 200, (dst, 9))
    except OSError:
        pass
    time.sleep(0.001)' "$2" "$3"
}

# Both drivers in /proc/crypto: self-tests passed, priority 50, async.
engine_algs_ok() {
	awk '/^driver/ { d = $3 } /^selftest/ { s[d] = $3 } /^priority/ { p[d] = $3 }
	     /^async/ { a[d] = $3 }
	     END { exit !(s["rfc4106-gcm-espo-engine"] == "passed" &&
			  s["rfc4543-gcm-espo-engine"] == "passed" &&
			  p["rfc4106-gcm-espo-engine"] == 50 &&
			  a["rfc4543-gcm-espo-engine"] == "yes") }' /proc/crypto
}

# --- traffic through the engine, both algorithms ---------------------------

# traffic ALG DRIVER all|some: transport and tunnel, IPv4 and IPv6
# (all), or transport v6 and tunnel v4 only (some).
traffic() {
	local alg=$1 drv=$2 key=${KEY256:0:42} what=${2%%-*} all=$3
	if ! module_load crypto_driver="$drv"; then
		ksft_fail "$what: esp_offload loads with crypto_driver=$drv"
		return
	fi
	ksft_pass "$what: esp_offload loads with crypto_driver=$drv"
	pair_topology || { ksft_fail "$what: topology"; return; }
	snap
	esp_transport_pair 2001:db8::1 2001:db8::2 0x6001 0x6002 -- aead "$alg" "$key" 128
	ksft_check "$what: transport v6 TCP transfer, sha256 matches" \
		tcp_transfer "$NS_A" "$NS_B" 2001:db8::2 "$PAYLOAD"
	ksft_check "$what: the SA table names $drv" \
		bash -c "grep ' spi 0x00006001 ' /sys/kernel/debug/esp_offload/sas | grep -q ' driver $drv '"
	xfrm_flush "$NS_A" "$NS_B"
	if tunnel 4 0x6005 0x6006 -- aead "$alg" "$key" 128; then
		ksft_check "$what: tunnel v4 TCP transfer, sha256 matches" \
			tcp_transfer "$NS_A" "$NS_B" 10.2.0.1 "$PAYLOAD"
	else
		ksft_fail "$what: tunnel v4 SAs installed"
	fi
	xfrm_flush "$NS_A" "$NS_B"
	if [ "$all" = all ]; then
		esp_transport_pair 192.0.2.1 192.0.2.2 0x6003 0x6004 -- aead "$alg" "$key" 128
		ksft_check "$what: transport v4 TCP transfer, sha256 matches" \
			tcp_transfer "$NS_A" "$NS_B" 192.0.2.2 "$PAYLOAD"
		xfrm_flush "$NS_A" "$NS_B"
		if tunnel 6 0x6007 0x6008 -- aead "$alg" "$key" 128 flag esn replay-window 64; then
			ksft_check "$what: tunnel v6 ESN TCP transfer, sha256 matches" \
				tcp_transfer "$NS_A" "$NS_B" fd02::1 "$PAYLOAD"
		else
			ksft_fail "$what: tunnel v6 SAs installed"
		fi
	fi
	if [ "$(delta tx_async)" -gt 0 ] && [ "$(delta rx_async)" -gt 0 ]; then
		ksft_pass "$what: completions were asynchronous"
	else
		ksft_fail "$what: completions were asynchronous" \
			"tx_async +$(delta tx_async) rx_async +$(delta rx_async)"
	fi
	if wait_for "engine idle, counters agreeing" 20 counters_agree; then
		ksft_pass "$what: engine and esp_offload counters agree"
	else
		ksft_fail "$what: engine and esp_offload counters agree"
	fi
	counters_diag
	netns_cleanup
	module_unload
}

# --- a full queue -----------------------------------------------------------

queue_full() {
	local cnt sent=2000 drops full
	engine_unload && engine_load qlen=1 delay_us=500 &&
	module_load crypto_driver=rfc4106-gcm-espo-engine && pair_topology &&
	esp_transport_pair 192.0.2.1 192.0.2.2 0x6101 0x6102 -- \
		aead "$GCM" "${KEY256:0:42}" 128 &&
	ping_ok "$NS_A" 192.0.2.2 1 || {
		ksft_fail "queue full: setup (qlen=1)"
		return
	}
	cnt=$(busy_counter)
	snap
	ksft_check "queue full: $sent UDP datagrams sent without a sendto() error" \
		blast "$NS_A" 192.0.2.2 $sent
	wait_for "engine idle after the blast" 30 engine_idle
	drops=$(delta "$cnt") full=$(delta eng_queue_full)
	if [ "$full" -gt 0 ] && [ "$drops" = "$full" ]; then
		ksft_pass "queue full: each refused request is one $cnt drop ($full)"
	else
		ksft_fail "queue full: each refused request is one $cnt drop" \
			"engine queue_full +$full, esp_offload $cnt +$drops"
	fi
	counters_diag
	ksft_check "queue full: traffic goes on afterwards (ping)" \
		ping_ok "$NS_A" 192.0.2.2 3
	netns_cleanup
	module_unload
}

# --- engine errors ----------------------------------------------------------

engine_errors() {
	local every=40 inj drops
	engine_unload && engine_load qlen=512 fail_every=$every &&
	module_load crypto_driver=rfc4106-gcm-espo-engine && pair_topology &&
	esp_transport_pair 192.0.2.1 192.0.2.2 0x6201 0x6202 -- \
		aead "$GCM" "${KEY256:0:42}" 128 || {
		ksft_fail "fail_every=$every: setup"
		return
	}
	snap
	ksft_check "fail_every=$every: TCP transfer, sha256 matches" \
		tcp_transfer "$NS_A" "$NS_B" 192.0.2.2 "$PAYLOAD"
	wait_for "engine idle after the transfer" 30 engine_idle
	inj=$(delta eng_injected_errors) drops=$(delta drop_crypto)
	if [ "$inj" -gt 0 ] && [ "$drops" = "$inj" ] && counters_agree; then
		ksft_pass "fail_every=$every: each -EIO is one drop_crypto ($inj)"
	else
		ksft_fail "fail_every=$every: each -EIO is one drop_crypto" \
			"engine injected_errors +$inj, esp_offload drop_crypto +$drops"
	fi
	counters_diag
	netns_cleanup
	# Every failed request gave its SA reference back: the module goes.
	ksft_check "fail_every=$every: esp_offload unloads (no SA kept by a failed request)" \
		module_unload
}

# --- teardown with requests in flight ----------------------------------------

inflight_setup() {
	module_load crypto_driver=rfc4106-gcm-espo-engine && pair_topology &&
	esp_transport_pair 192.0.2.1 192.0.2.2 0x6301 0x6302 -- \
		aead "$GCM" "${KEY256:0:42}" 128
}

teardown_inflight() {
	local pid first=refused
	# The delay after the load: the self-tests would run slowly too.
	engine_unload && engine_load qlen=64 && echo 20000 > $ENGINE_PARAMS/delay_us &&
	inflight_setup || {
		ksft_fail "in flight: setup (delay_us=20000)"
		return
	}
	trickle "$NS_A" 192.0.2.2 "$(scale 60)" &
	pid=$!
	if wait_for "requests in flight in the engine" 30 engine_busy 8; then
		ksft_diag "flushing the SAs with $(engine_inflight) requests in flight"
		xfrm_flush "$NS_A" "$NS_B"
		ksft_check "in flight: SAs flushed, the engine drains" \
			wait_for "engine idle after the flush" 30 engine_idle
	else
		ksft_fail "in flight: SAs flushed, the engine drains" "never busy"
	fi
	kill $pid 2>/dev/null
	wait $pid 2>/dev/null
	netns_cleanup

	inflight_setup || { ksft_fail "in flight: second setup"; return; }
	trickle "$NS_A" 192.0.2.2 "$(scale 60)" &
	pid=$!
	if wait_for "requests in flight in the engine" 30 engine_busy 8; then
		ksft_diag "unloading esp_offload with $(engine_inflight) requests in flight"
		xfrm_flush "$NS_A" "$NS_B"
		rmmod esp_offload 2>/dev/null && first="accepted at once"
		ksft_diag "the first rmmod esp_offload was $first ($(engine_inflight) in flight)"
		ksft_check "in flight: esp_offload unloads" \
			busywait 20000 bash -c '! grep -q "^esp_offload " /proc/modules || rmmod esp_offload'
		ksft_check "in flight: the engine drains" \
			wait_for "engine idle after the unload" 30 engine_idle
	else
		ksft_fail "in flight: esp_offload unloads" "never busy"
		ksft_fail "in flight: the engine drains" "never busy"
	fi
	kill $pid 2>/dev/null
	wait $pid 2>/dev/null
	netns_cleanup
	module_unload
	ksft_check "in flight: espo_engine unloads afterwards" engine_unload
}

ksft_plan 28
dmesg_mark
if ! engine_load qlen=256; then
	ksft_fail "espo_engine loads"
	ksft_exit
fi
ksft_pass "espo_engine loads"
if wait_for "the engine's drivers tested" 30 engine_algs_ok; then
	ksft_pass "its drivers passed the crypto self-tests, priority 50, async"
else
	ksft_fail "its drivers passed the crypto self-tests, priority 50, async"
	grep -B2 -A8 'espo-engine' /proc/crypto | sed 's/^/# /'
fi

traffic "$GCM" rfc4106-gcm-espo-engine all
traffic "$GMAC" rfc4543-gcm-espo-engine some
queue_full
engine_errors
teardown_inflight

# A high priority makes the engine the algorithm's default.
if engine_load priority=4000 && module_load && pair_topology &&
   esp_transport_pair 192.0.2.1 192.0.2.2 0x6401 0x6402 -- \
	aead "$GCM" "${KEY256:0:42}" 128; then
	ksft_check "priority=4000: new SAs pick the engine without crypto_driver" \
		bash -c "grep ' spi 0x00006401 ' /sys/kernel/debug/esp_offload/sas | grep -q ' driver rfc4106-gcm-espo-engine '"
else
	ksft_fail "priority=4000: new SAs pick the engine without crypto_driver" "setup"
fi
netns_cleanup
module_unload
engine_unload

ksft_check "dmesg clean" dmesg_clean
ksft_exit
