#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# check: all (the shipped example configurations; make check keeps swan_site2site)
#
# The shipped road-warrior samples work as written:
# Documentation/examples/roadwarrior-{server,client}.swanctl.conf are
# loaded with only the server's address and the certificate files filled
# in. gw-b is the VPN server, gw-a the laptop behind the NAT router; the
# client's start_action brings the tunnel up, it gets a virtual IP from
# the server's pool and reaches the server's 10.0.0.0/16 over UDP 4500,
# with esp_offload doing the ESP on both sides.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/swan_lib.sh"

require_cmd socat ping pki swanctl nft
[ -x /usr/lib/ipsec/charon ] || ksft_skip_all "charon not installed"
EXAMPLES=$REPO/Documentation/examples
test_payload 300000 14
on_exit module_unload

# install_example NAME EXAMPLE CERT: the sample as NAME's swanctl.conf,
# with its certificate (CERT.crt, as the sample names it), key and the
# CA, and charon allowed to install the virtual IP's routes as on a real
# machine.
install_example() {
	local d=$SWAN_DIR/$1
	swan_daemon_conf "$1" 20 yes &&
		cp "$EXAMPLES/$2" "$d/swanctl/swanctl.conf" &&
		cp "$SWAN_DIR/pki/ca.pem" "$d/swanctl/x509ca/ca.crt" &&
		cp "$SWAN_DIR/pki/$3.pem" "$d/swanctl/x509/$3.crt" &&
		cp "$SWAN_DIR/pki/$3.key" "$d/swanctl/ecdsa/"
}

ksft_plan 8
dmesg_mark
module_load || ksft_skip_all "cannot load esp_offload"
gateway_topology nat || ksft_skip_all "topology"
swan_ca && swan_cert vpn-server vpn.example.org && swan_cert laptop laptop@example.org ||
	ksft_skip_all "pki"
# The server's network, 10.0.0.0/16, is its own address 10.0.0.1 here.
ip -n "$GB" addr add 10.0.0.1/16 dev lan

install_example gw-b roadwarrior-server.swanctl.conf vpn-server &&
	install_example gw-a roadwarrior-client.swanctl.conf laptop ||
	ksft_skip_all "cannot install the samples"
# The one edit the client sample asks for: the server's address.
sed -i 's/remote_addrs = vpn.example.org/remote_addrs = 192.0.2.2/' \
	"$SWAN_DIR/gw-a/swanctl/swanctl.conf"

if swan_start gw-b && swan_start gw-a &&
   slowwait 60 eval '[ $(swan_spis "$GA" | wc -l) -ge 2 ]'; then
	ksft_pass "client's start_action brings the tunnel up"
else
	ksft_fail "client's start_action brings the tunnel up"
	swan_log_diag gw-a
	swan_log_diag gw-b
fi
ksft_check "client got a virtual IP from the server's pool" \
	eval 'ip -n "$GA" -4 addr | grep -q "inet 10\.8\.0\."'
ksft_check "UDP-encapsulated: the client is behind the NAT" \
	eval 'ip -n "$GA" xfrm state | grep -q "encap type espinudp"'
ksft_check "ping the server's network" ping_ok "$GA" 10.0.0.1 5
ksft_check "TCP client -> server network, sha256 matches" \
	tcp_transfer "$GA" "$GB" 10.0.0.1 "$PAYLOAD" 5010
ksft_check "SAs processed by esp_offload on both sides" \
	eval 'swan_sas_by_module "$GA" && swan_sas_by_module "$GB"'
swan_stop_all
ksft_check "esp4/esp6 never loaded" stock_esp_absent
ksft_check "dmesg clean" dmesg_clean
ksft_exit
