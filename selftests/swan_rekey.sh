#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# strongSwan rekeying through esp_offload under continuous traffic: a
# paced TCP transfer and a steady ping run while the CHILD_SA is rekeyed
# from each side and the IKE_SA once; the file must arrive intact and the
# ping must have no gap. Then one daemon restarts (SIGTERM, start again,
# it initiates on its own) and the tunnel must come back.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/swan_lib.sh"

require_cmd socat ping swanctl
[ -x /usr/lib/ipsec/charon ] || ksft_skip_all "charon not installed"
PAYLOAD=/tmp/swan_rekey.$SUFFIX RECV=/tmp/swan_rekey_recv.$SUFFIX
PINGLOG=/tmp/swan_rekey_ping.$SUFFIX
make_payload "$PAYLOAD" 3000000 13
on_exit rm -f "$PAYLOAD" "$RECV" "$PINGLOG"
on_exit module_unload
ESP=aes256gcm16-x25519-esn

# paced_send NS ADDR PORT FILE SECONDS: send FILE over TCP spread evenly
# over SECONDS, so that the transfer spans the rekeyings.
paced_send() {
	ip netns exec "$1" /usr/bin/python3 -c '
import socket, sys, time
addr, port, path, secs = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
data = open(path, "rb").read()
s = socket.create_connection((addr, port))
n = 300
step = (len(data) + n - 1) // n
for i in range(n):
    s.sendall(data[i * step:(i + 1) * step])
    time.sleep(secs / n)
s.close()' "$2" "$3" "$4" "$5"
}

# ping_gaps FILE: the icmp_seq numbers missing between 1 and the highest
# one answered (the last request may still be in flight when ping stops).
ping_gaps() {
	grep -o 'icmp_seq=[0-9]*' "$1" | cut -d= -f2 | sort -n | awk '
		{ seen[$1] = 1; if ($1 > max) max = $1 }
		END {
			if (max < 10) { print "only " max " replies"; exit }
			for (i = 1; i <= max; i++) if (!seen[i]) printf "%d ", i
		}'
}

# traffic_flows: the module decrypts at least 10 more packets (the ping
# and the paced transfer keep the tunnel busy).
traffic_flows() {
	local r0
	r0=$(module_stat rx_packets)
	wait_for "traffic through the tunnel" 30 \
		eval '[ $(($(module_stat rx_packets) - r0)) -ge 10 ]'
}

spis() { swan_spis "$GA" | sort | tr '\n' ' '; }
ike_id() { swanctl_on gw-a --list-sas 2>/dev/null | grep -o 'site: #[0-9]*' | head -1; }
ike_count() { swanctl_on gw-a --list-sas 2>/dev/null | grep -c 'site: #'; }

# new_spis OLD: both SAs are now ones not in OLD.
new_spis() {
	local s n=0
	for s in $(swan_spis "$GA"); do
		case " $1 " in *" $s "*) return 1 ;; esac
		n=$((n + 1))
	done
	[ $n = 2 ]
}

ksft_plan 15
dmesg_mark
module_load || ksft_skip_all "cannot load esp_offload"
gateway_topology || ksft_skip_all "topology"
swan_config gw-a 192.0.2.1 192.0.2.2 10.1.0.0/24,fd01::/64 10.2.0.0/24,fd02::/64 \
	esp=$ESP unique=replace
swan_config gw-b 192.0.2.2 192.0.2.1 10.2.0.0/24,fd02::/64 10.1.0.0/24,fd01::/64 \
	esp=$ESP
if ! swan_start gw-a || ! swan_start gw-b || ! swan_initiate; then
	ksft_fail "IKE_SA and CHILD_SA established"
	swan_log_diag gw-a
	swan_log_diag gw-b
	ksft_exit
fi
ksft_pass "IKE_SA and CHILD_SA established"
icv0=$(module_stat drop_icv) rx0=$(module_stat rx_packets)

# --- rekeying under traffic ----------------------------------------------
ip netns exec "$HB" socat -u TCP-LISTEN:5001,reuseaddr "OPEN:$RECV,creat,trunc" &
recv_pid=$!
wait_for "TCP listener in $HB" 30 port_listening "$HB" 5001
ip netns exec "$HA" ping -i 0.2 10.2.0.2 > "$PINGLOG" 2>&1 &
ping_pid=$!
paced_send "$HA" 10.2.0.2 5001 "$PAYLOAD" 20 &
send_pid=$!

traffic_flows
s0=$(spis)
swanctl_on gw-a --rekey --child net >/dev/null 2>&1
ksft_check "CHILD_SA rekeyed by gw-a" slowwait 30 new_spis "$s0"
traffic_flows
id0=$(ike_id)
swanctl_on gw-b --rekey --ike site >/dev/null 2>&1
ksft_check "IKE_SA rekeyed by gw-b ($id0 -> new)" \
	slowwait 30 eval '[ -n "$(ike_id)" ] && [ "$(ike_id)" != "$id0" ]'
traffic_flows
s1=$(spis)
swanctl_on gw-b --rekey --child net >/dev/null 2>&1
ksft_check "CHILD_SA rekeyed by gw-b" slowwait 30 new_spis "$s1"

wait $send_pid
wait_for "the receiver to finish" 60 eval "! kill -0 $recv_pid 2>/dev/null"
kill -INT $ping_pid
wait $ping_pid
ksft_check "old SAs removed after the rekeyings" \
	eval '[ "$(swan_spis "$GA" | wc -l)" = 2 ] && ! grep -qw -f <(echo "$s0" | tr " " "\n" | grep .) <(swan_spis "$GA")'
ksft_eq "TCP transfer across three rekeyings, sha256 matches" \
	"$(sha256sum < "$PAYLOAD")" "$(sha256sum < "$RECV")"
gaps=$(ping_gaps "$PINGLOG")
ksft_eq "steady ping across the rekeyings has no gap ($(grep -c icmp_seq "$PINGLOG") replies)" "" "$gaps"
ksft_check "the new SAs are processed by esp_offload" \
	eval 'swan_sas_by_module "$GA" && swan_sas_by_module "$GB" &&
		[ $(($(module_stat rx_packets) - rx0)) -gt 1000 ]'
ksft_eq "no ICV failure during the rekeyings" "$icv0" "$(module_stat drop_icv)"

# --- one daemon restarts ---------------------------------------------------
swan_config gw-b 192.0.2.2 192.0.2.1 10.2.0.0/24,fd02::/64 10.1.0.0/24,fd01::/64 \
	esp=$ESP start=start
swan_kill gw-b TERM
swan_start gw-b
ksft_check "gw-b restarted: tunnel back up" slowwait 60 ping_ok "$HA" 10.2.0.2 2
ksft_check "gw-a replaced the old IKE_SA (one left)" slowwait 30 eval '[ "$(ike_count)" = 1 ]'
ksft_check "TCP after the restart, sha256 matches" \
	tcp_transfer "$HB" "$HA" fd01::2 "$PAYLOAD" 5002
ksft_check "the SAs after the restart are processed by esp_offload" \
	eval 'swan_sas_by_module "$GA" && swan_sas_by_module "$GB"'

ksft_check "esp4/esp6 never loaded" stock_esp_absent
ksft_check "dmesg clean" dmesg_clean
ksft_exit
