#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# libreswan site-to-site through esp_offload: Debian's libreswan (pluto),
# unpacked by scripts/setup (the package conflicts with strongSwan's, so
# it is not installed), runs in each gateway's network namespace with its
# own configuration, run directory and NSS database. IKEv2 with a PSK
# brings up two tunnel-mode Child SAs, IPv4 subnets with AES-GCM-16-256
# and IPv6 subnets with AES-GCM-16-128; pings and TCP transfers (sha256
# checked) cross them, every SA pluto installed must be one esp_offload
# tracks and counts, both Child SAs are rekeyed with whack and the new
# SAs must carry the traffic again.
#
# First, what `ipsec start` does before pluto (Debian's ipsec.service
# runs it as ExecStartPre): `_stackmanager start` modprobes esp4 and esp6
# with --use-blacklist. With scripts/esp_offload-modprobe.conf in
# /etc/modprobe.d that asks for nothing; without it esp_offload refuses
# esp4/esp6 with its message. Either way esp4/esp6 stay out. With
# "protostack=none" in "config setup" it loads no module at all, and
# pluto (which ignores that value and uses XFRM) runs with it here.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/swan_lib.sh"

LIBRESWAN=${ESPO_LIBRESWAN_DIR:-/var/cache/esp_offload/libreswan}
LS_EXEC=$LIBRESWAN/usr/libexec/ipsec
[ -x "$LS_EXEC/pluto" ] ||
	ksft_skip_all "libreswan not unpacked in $LIBRESWAN (scripts/setup does it; its download failed or it did not run)"
missing=$(ldd "$LS_EXEC/pluto" 2>/dev/null | awk '/not found/ { print $1 }' | tr '\n' ' ')
[ -z "$missing" ] || ksft_skip_all "pluto lacks libraries: $missing(scripts/setup installs them)"
require_cmd certutil socat ping modprobe
test_payload 300000 17
on_exit module_unload

# pluto_env NAME: the environment under which the unpacked `ipsec`
# script finds its helpers, NAME's configuration and NAME's pluto.
pluto_env() {
	local d=$SWAN_DIR/$1
	echo IPSEC_EXECDIR="$LS_EXEC" IPSEC_SBINDIR="$LIBRESWAN/usr/sbin" \
		IPSEC_CONF="$d/ipsec.conf" IPSEC_CONFDDIR="$d/ipsec.d" \
		IPSEC_RUNDIR="$d/run" IPSEC_NSSDIR="$d/nss"
}

# ipsec_on NAME ARGS...: the unpacked `ipsec` command against NAME's
# pluto (bounded: `auto --up` waits for the negotiation).
ipsec_on() {
	local name=$1
	shift
	ip netns exec "$(swan_ns "$name")" timeout "$(scale 180)" \
		env $(pluto_env "$name") "$LIBRESWAN/usr/sbin/ipsec" "$@"
}

# pluto_config NAME LOCAL REMOTE: NAME's ipsec.conf, ipsec.secrets and
# an empty NSS database. Two connections share the IKE SA: site4 (IPv4
# subnets, AES-GCM-16 with a 256-bit key) and site6 (IPv6, 128 bits).
pluto_config() {
	local name=$1 d=$SWAN_DIR/$1 peer lnet=1 rnet=2
	[ "$name" = gw-a ] && peer=gw-b || { peer=gw-a lnet=2 rnet=1; }
	rm -rf "$d"
	mkdir -p "$d/run" "$d/nss" "$d/ipsec.d" || return 1
	certutil -N -d "sql:$d/nss" --empty-password > "$d/certutil.out" 2>&1 ||
		{ ksft_diag "certutil: $(tail -1 "$d/certutil.out")"; return 1; }
	cat > "$d/ipsec.conf" <<-CONF
	config setup
	    # _stackmanager then loads no module; pluto uses XFRM anyway.
	    protostack=none
	    logfile=$d/pluto.log
	    dumpdir=$d/run
	    uniqueids=yes

	conn %default
	    ikev2=yes
	    authby=secret
	    left=$2
	    leftid=@$name
	    right=$3
	    rightid=@$peer
	    ike=aes_gcm256-sha2_256-dh31
	    type=tunnel
	    # The gateways already route the far subnets (gateway_topology).
	    leftupdown=%disabled
	    # Emulated vCPUs reorder packets (see swan_lib.sh).
	    replay-window=1024
	    # pluto_start adds them with ipsec auto --add
	    auto=ignore

	conn site4
	    leftsubnet=10.$lnet.0.0/24
	    rightsubnet=10.$rnet.0.0/24
	    esp=aes_gcm256

	conn site6
	    leftsubnet=fd0$lnet::/64
	    rightsubnet=fd0$rnet::/64
	    esp=aes_gcm128
	CONF
	echo "@$name @$peer : PSK \"$SWAN_PSK\"" > "$d/ipsec.secrets"
	chmod 600 "$d/ipsec.secrets"
}

# pluto_start NAME: pluto for NAME in its namespace, with a private /run
# (as swan_lib.sh does for charon), then its connections added. pluto
# runs its helper addconn from the path it was built with,
# /usr/libexec/ipsec: the unpacked tree is bound there, in pluto's mount
# namespace only.
pluto_start() {
	local name=$1 d=$SWAN_DIR/$1
	ip netns exec "$(swan_ns "$name")" unshare -m sh -c \
		"mount -t tmpfs tmpfs /run && mount -t tmpfs tmpfs /var/run 2>/dev/null; \
		mount --bind $LIBRESWAN/usr/libexec /usr/libexec || exit 1; \
		echo \$\$ > $d/pluto.pid; \
		exec $LS_EXEC/pluto --nofork --config $d/ipsec.conf \
			--rundir $d/run --nssdir $d/nss --ipsecdir $d/ipsec.d \
			--secretsfile $d/ipsec.secrets --logfile $d/pluto.log" \
		>> "$d/pluto.out" 2>&1 &
	disown
	slowwait 60 test -S "$d/run/pluto.ctl" || {
		ksft_diag "pluto $name did not start: $(tail -3 "$d/pluto.out" "$d/pluto.log" 2>/dev/null)"
		return 1
	}
	ipsec_on "$name" auto --config "$d/ipsec.conf" --add site4 >> "$d/auto.out" 2>&1 &&
		ipsec_on "$name" auto --config "$d/ipsec.conf" --add site6 >> "$d/auto.out" 2>&1 ||
		{ ksft_diag "ipsec auto --add on $name: $(tail -2 "$d/auto.out")"; return 1; }
}

pluto_stop_all() {
	local g pid
	for g in gw-a gw-b; do
		pid=$(cat "$SWAN_DIR/$g/pluto.pid" 2>/dev/null) || continue
		kill -TERM "$pid" 2>/dev/null
		slowwait 30 bash -c "! kill -0 $pid 2>/dev/null"
		rm -f "$SWAN_DIR/$g/pluto.pid"
	done
	return 0
}
on_exit pluto_stop_all

pluto_log_diag() {
	tail -n 15 "$SWAN_DIR/$1/pluto.log" 2>/dev/null | sed "s/^/# $1: /"
}

# spis_changed OLD: how many of gw-a's ESP SAs are not in OLD, when it
# has exactly four (two per Child SA; the replaced ones deleted).
spis_changed() {
	local s n=0 all
	all=$(swan_spis "$GA")
	[ "$(echo "$all" | grep -c .)" = 4 ] || { echo -1; return; }
	for s in $all; do
		case " $1 " in *" $s "*) ;; *) n=$((n + 1)) ;; esac
	done
	echo $n
}
spis() { swan_spis "$GA" | sort | tr '\n' ' '; }

# The modules _stackmanager loaded (not in MODS_BEFORE) are removed at
# the end, so that the tests after this one in the same boot do not
# see them.
stackmanager_unload() {
	local m pass
	for pass in 1 2 3 4; do
		for m in $(cut -d' ' -f1 /proc/modules | sort | comm -13 <(echo "$MODS_BEFORE") -); do
			rmmod "$m" 2>/dev/null
		done
	done
	return 0
}
on_exit stackmanager_unload

# stackmanager_start PROTOSTACK(none|xfrm) WITH_BLACKLIST(yes|no):
# Debian's ExecStartPre `_stackmanager start` from the unpacked tree,
# with that protostack in its ipsec.conf, in a private mount namespace
# where /etc/modprobe.d has (or has not) the shipped blacklist and where
# `ipsec` (it calls it by PATH, /usr/sbin first) is libreswan's.
stackmanager_start() {
	local d=$SWAN_DIR/stackmanager-$1-$2 mp=
	mkdir -p "$d/modprobe.d"
	printf 'config setup\n    protostack=%s\n' "$1" > "$d/ipsec.conf"
	cp /etc/modprobe.d/* "$d/modprobe.d/" 2>/dev/null
	rm -f "$d/modprobe.d/esp_offload.conf"
	[ "$2" = no ] || cp "$REPO/scripts/esp_offload-modprobe.conf" "$d/modprobe.d/esp_offload.conf"
	[ -e /usr/sbin/ipsec ] && mp="mount --bind $LIBRESWAN/usr/sbin/ipsec /usr/sbin/ipsec &&"
	env $(pluto_env gw-a) IPSEC_CONF="$d/ipsec.conf" unshare -m sh -c \
		"mount --bind $d/modprobe.d /etc/modprobe.d && $mp \
		exec $LS_EXEC/_stackmanager start" > "$d/out" 2>&1
}

ksft_plan 23
dmesg_mark
module_load || ksft_skip_all "cannot load esp_offload"
gateway_topology || ksft_skip_all "topology"
pluto_config gw-a 192.0.2.1 192.0.2.2 && pluto_config gw-b 192.0.2.2 192.0.2.1 ||
	ksft_skip_all "cannot write the pluto configuration"

# --- what `ipsec start` loads ---------------------------------------------
MODS_BEFORE=$(cut -d' ' -f1 /proc/modules | sort)
ksft_check "_stackmanager start, protostack=none, no blacklist: succeeds" \
	stackmanager_start none no
ksft_eq "... and loads no module" "$MODS_BEFORE" "$(cut -d' ' -f1 /proc/modules | sort)"
ksft_check "_stackmanager start with the modprobe.d blacklist succeeds" \
	stackmanager_start xfrm yes
grep -q 'modprobe.*esp4' "$LS_EXEC/_stackmanager" &&
	ksft_diag "_stackmanager asks for esp4/esp6: $(grep -o 'MODPROBE=.*' "$LS_EXEC/_stackmanager")"
ksft_check "... and loads neither esp4 nor esp6, nothing refused" \
	eval 'stock_esp_absent && ! dmesg_since | grep -q "refusing to load esp"'
ksft_check "_stackmanager start without the blacklist succeeds" \
	stackmanager_start xfrm no
ksft_check "... esp_offload refuses esp4 and esp6 with its message" \
	eval 'stock_esp_absent && dmesg_since | grep -q "refusing to load esp4" &&
		dmesg_since | grep -q "refusing to load esp6"'
dmesg_since | grep 'esp_offload: refusing' | sort -u | sed 's/^/# /'

# --- the tunnel -------------------------------------------------------------
tx0=$(module_stat tx_packets) rx0=$(module_stat rx_packets)
if ! pluto_start gw-a || ! pluto_start gw-b; then
	ksft_fail "pluto started in both gateways"
	pluto_log_diag gw-a
	pluto_log_diag gw-b
	ksft_exit
fi
ksft_pass "pluto started in both gateways"
ksft_check "pluto: protostack=none ignored, XFRM used" \
	grep -q "protostack=none ignored, using protostack=xfrm" \
		"$SWAN_DIR/gw-a/pluto.out" "$SWAN_DIR/gw-a/pluto.log"
ksft_diag "$("$LS_EXEC/pluto" --version 2>&1 | head -1)"
if ! ipsec_on gw-a auto --up site4 > "$SWAN_DIR/up4.log" 2>&1 ||
	! ipsec_on gw-a auto --up site6 > "$SWAN_DIR/up6.log" 2>&1; then
	ksft_fail "IKE SA and both Child SAs established"
	tail -3 "$SWAN_DIR/up4.log" "$SWAN_DIR/up6.log" | sed 's/^/# /'
	pluto_log_diag gw-a
	pluto_log_diag gw-b
	ksft_exit
fi
ksft_check "IKE SA and both Child SAs established" \
	slowwait 30 eval '[ "$(swan_spis "$GA" | wc -l)" = 4 ] && [ "$(swan_spis "$GB" | wc -l)" = 4 ]'
ksft_diag "$(ipsec_on gw-a trafficstatus 2>&1 | tr '\n' ' ')"
ksft_eq "AEAD keys of 160 and 288 bits (128/256 + salt)" "160 288 " "$(swan_key_bits "$GA")"
swan_traffic "libreswan"
ksft_check "all SAs are processed by esp_offload, its counters moved (tx +$(($(module_stat tx_packets) - tx0)), rx +$(($(module_stat rx_packets) - rx0)))" \
	eval 'swan_sas_by_module "$GA" && swan_sas_by_module "$GB" &&
		[ $(($(module_stat rx_packets) - rx0)) -gt 200 ] &&
		[ $(($(module_stat tx_packets) - tx0)) -gt 200 ]'

# --- rekeying ---------------------------------------------------------------
s0=$(spis)
ipsec_on gw-a whack --rekey-ipsec --name site4 > "$SWAN_DIR/rekey4.log" 2>&1
ksft_check "site4 Child SA rekeyed by gw-a (whack --rekey-ipsec)" \
	slowwait 60 eval '[ "$(spis_changed "$s0")" = 2 ]'
s1=$(spis)
ipsec_on gw-b whack --rekey-ipsec --name site6 > "$SWAN_DIR/rekey6.log" 2>&1
ksft_check "site6 Child SA rekeyed by gw-b" \
	slowwait 60 eval '[ "$(spis_changed "$s1")" = 2 ]'
ksft_check "no SA of before the rekeyings is left" \
	eval '[ "$(spis_changed "$s0")" = 4 ]'
tx1=$(module_stat tx_packets) rx1=$(module_stat rx_packets)
ksft_check "after the rekeyings: ping IPv4 A->B" ping_ok "$HA" 10.2.0.2 5
ksft_check "after the rekeyings: TCP IPv6 B->A, sha256 matches" \
	tcp_transfer "$HB" "$HA" fd01::2 "$PAYLOAD" 5003
ksft_check "the new SAs are esp_offload's and its counters moved (rx +$(($(module_stat rx_packets) - rx1)))" \
	eval 'swan_sas_by_module "$GA" && swan_sas_by_module "$GB" &&
		[ $(($(module_stat rx_packets) - rx1)) -gt 100 ] &&
		[ $(($(module_stat tx_packets) - tx1)) -gt 100 ]'
pluto_stop_all

ksft_check "esp4/esp6 never loaded" stock_esp_absent
ksft_check "dmesg clean" dmesg_clean
ksft_exit
