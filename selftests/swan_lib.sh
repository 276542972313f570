# SPDX-License-Identifier: GPL-2.0
#
# strongSwan gateways for the selftests: two charon daemons, each in its
# own network and mount namespace, configured by swanctl, with hosts
# behind them. Sourced after lib.sh.
#
# The network is lib.sh's gateway_topology.

SWAN_DIR=$(mktemp -d /tmp/swan.XXXXXX)
on_exit rm -rf "$SWAN_DIR"
on_exit swan_stop_all
SWAN_PSK=esp_offload-selftest-psk

# swan_ca: a CA and a certificate for gw-a and gw-b, made with pki (which
# lists the plugins it lacks on stderr: silenced).
swan_ca() {
	local d=$SWAN_DIR/pki g
	mkdir -p "$d"
	{
		pki --gen --type ecdsa --size 256 --outform pem > "$d/ca.key" &&
		pki --self --ca --lifetime 30 --in "$d/ca.key" --type ecdsa \
			--dn "C=CH, O=esp_offload, CN=esp_offload selftest CA" \
			--outform pem > "$d/ca.pem"
	} 2>/dev/null || return 1
	for g in gw-a gw-b; do
		swan_cert "$g" "$g" || return 1
	done
}

# swan_cert NAME SAN: NAME.key and NAME.pem (subject alternative name SAN)
# issued by swan_ca's CA.
swan_cert() {
	local d=$SWAN_DIR/pki
	{
		pki --gen --type ecdsa --size 256 --outform pem > "$d/$1.key" &&
		pki --pub --in "$d/$1.key" --type ecdsa |
			pki --issue --lifetime 30 --cacert "$d/ca.pem" --cakey "$d/ca.key" \
				--dn "C=CH, O=esp_offload, CN=$2" --san "$2" \
				--outform pem > "$d/$1.pem"
	} 2>/dev/null
}

# swan_daemon_conf NAME KEEPALIVE INSTALL_ROUTES: NAME's swanctl directory
# tree and strongswan.conf (NAT-T keepalive every KEEPALIVE seconds;
# INSTALL_ROUTES yes|no lets charon add routes, e.g. for virtual IPs).
swan_daemon_conf() {
	local d=$SWAN_DIR/$1 sub
	for sub in conf.d x509 x509ca x509ocsp x509aa x509ac x509crl pubkey \
		private rsa ecdsa bliss pkcs8 pkcs12; do
		mkdir -p "$d/swanctl/$sub"
	done
	cat > "$d/strongswan.conf" <<-CONF
	charon {
	    load = random nonce openssl pem pubkey x509 pkcs1 pkcs8 kdf hmac sha2 gcm aes kernel-netlink socket-default vici updown
	    filelog {
	        log {
	            path = $d/charon.log
	            default = 1
	            ike = 2
	            knl = 2
	        }
	    }
	    plugins {
	        vici {
	            socket = unix://$d/vici
	        }
	    }
	    install_routes = $3
	    keep_alive = ${2}s
	    retransmit_timeout = $(scale 2)
	    retransmit_tries = 5
	}
	swanctl {
	    load = random openssl pem pubkey x509 pkcs1 pkcs8
	}
	CONF
}

# swan_config NAME LOCAL_ADDRS REMOTE_ADDRS LOCAL_TS REMOTE_TS [KEY=VALUE...]
# Writes strongswan.conf and swanctl.conf for gateway NAME (gw-a or
# gw-b). Keys: auth=psk|cert, ike=PROPOSAL, esp=PROPOSAL, encap=yes|no,
# start=none|start|trap, dpd=SECONDS, unique=no|replace, keepalive=SECONDS
# (NAT-T keepalive interval), mode=tunnel|transport, hw_offload=no|yes|auto
# (the CHILD_SA's NIC crypto offload; the line is left out unless given).
swan_config() {
	local name=$1 laddr=$2 raddr=$3 lts=$4 rts=$5 kv
	local d=$SWAN_DIR/$name peer
	local auth=psk ike=aes256gcm16-prfsha256-x25519 esp=aes256gcm16-x25519
	local encap=no start=none dpd=0 unique=no keepalive=20 mode=tunnel hw=
	shift 5
	for kv in "$@"; do
		case ${kv%%=*} in
		auth) auth=${kv#*=} ;;
		ike) ike=${kv#*=} ;;
		esp) esp=${kv#*=} ;;
		encap) encap=${kv#*=} ;;
		start) start=${kv#*=} ;;
		dpd) dpd=${kv#*=} ;;
		unique) unique=${kv#*=} ;;
		keepalive) keepalive=${kv#*=} ;;
		mode) mode=${kv#*=} ;;
		hw_offload) hw="hw_offload = ${kv#*=}" ;;
		*) echo "swan_config: unknown key $kv" >&2; return 1 ;;
		esac
	done
	[ "$name" = gw-a ] && peer=gw-b || peer=gw-a
	swan_daemon_conf "$name" "$keepalive" no
	local lauth="auth = psk" rauth="auth = psk"
	if [ "$auth" = cert ]; then
		cp "$SWAN_DIR/pki/ca.pem" "$d/swanctl/x509ca/"
		cp "$SWAN_DIR/pki/$name.pem" "$d/swanctl/x509/"
		cp "$SWAN_DIR/pki/$name.key" "$d/swanctl/ecdsa/"
		lauth="auth = pubkey
	            certs = $name.pem"
		rauth="auth = pubkey"
	fi
	cat > "$d/swanctl/swanctl.conf" <<-CONF
	connections {
	    site {
	        version = 2
	        local_addrs = $laddr
	        remote_addrs = $raddr
	        proposals = $ike
	        encap = $encap
	        unique = $unique
	        dpd_delay = $dpd
	        rekey_time = 0
	        local {
	            $lauth
	            id = $name
	        }
	        remote {
	            $rauth
	            id = $peer
	        }
	        children {
	            net {
	                local_ts = $lts
	                remote_ts = $rts
	                esp_proposals = $esp
	                mode = $mode
	                rekey_time = 0
	                life_time = 0
	                # Emulated vCPUs reorder packets; a 32-packet window
	                # would reject late ones (the stock ESP as well).
	                replay_window = 1024
	                start_action = $start
	                dpd_action = restart
	                $hw
	            }
	        }
	    }
	}
	secrets {
	    ike-selftest {
	        secret = $SWAN_PSK
	    }
	}
	CONF
}

# swan_ns NAME: the namespace of gateway NAME.
swan_ns() { [ "$1" = gw-a ] && echo "$GA" || echo "$GB"; }

# swanctl_on NAME ARGS...: swanctl against gateway NAME's daemon.
swanctl_on() {
	local name=$1 d=$SWAN_DIR/$1
	shift
	STRONGSWAN_CONF=$d/strongswan.conf SWANCTL_DIR=$d/swanctl \
		ip netns exec "$(swan_ns "$name")" swanctl "$@" --uri "unix://$d/vici"
}

# swan_start NAME: start charon for NAME and load its configuration.
swan_start() {
	local name=$1 d=$SWAN_DIR/$1
	rm -f "$d/vici"
	# A private /run per daemon, or the two pid files clash.
	ip netns exec "$(swan_ns "$name")" unshare -m sh -c \
		"mount -t tmpfs tmpfs /run && mount -t tmpfs tmpfs /var/run 2>/dev/null; \
		echo \$\$ > $d/charon.pid; \
		STRONGSWAN_CONF=$d/strongswan.conf exec /usr/lib/ipsec/charon" \
		>> "$d/charon.out" 2>&1 &
	disown
	slowwait 60 test -S "$d/vici" || {
		ksft_diag "charon $name did not start: $(tail -3 "$d/charon.out")"
		return 1
	}
	swanctl_on "$name" --load-all >> "$d/swanctl.out" 2>&1 ||
		{ ksft_diag "swanctl --load-all on $name failed"; return 1; }
}

# swan_kill NAME [SIGNAL]: stop NAME's charon and wait until it is gone.
swan_kill() {
	local d=$SWAN_DIR/$1 pid
	pid=$(cat "$d/charon.pid" 2>/dev/null) || return 0
	kill -"${2:-TERM}" "$pid" 2>/dev/null
	slowwait 30 bash -c "! kill -0 $pid 2>/dev/null"
	rm -f "$d/charon.pid"
}

swan_stop_all() {
	local g
	for g in gw-a gw-b; do
		[ -e "$SWAN_DIR/$g/charon.pid" ] && swan_kill "$g" TERM
	done
	return 0
}

# swan_initiate: gw-a brings up the CHILD_SA "net".
swan_initiate() {
	swanctl_on gw-a --initiate --child net --timeout "$(scale 90)" > "$SWAN_DIR/initiate.log" 2>&1 ||
		{ ksft_diag "initiate: $(tail -3 "$SWAN_DIR/initiate.log")"; return 1; }
}

# swan_spis NS: the SPIs of the ESP SAs in a namespace.
swan_spis() {
	ip -n "$1" xfrm state | awk '$1 == "proto" && $2 == "esp" { print $4 }'
}

# swan_sas_by_module NS: every ESP SA in NS is one esp_offload tracks, in
# that namespace.
swan_sas_by_module() {
	local spi n=0 inum

	inum=$(stat -L -c %i "/run/netns/$1") || return 1
	for spi in $(swan_spis "$1"); do
		module_sa_line "$(printf '0x%08x' "$spi")" |
			grep -q "^netns $inum " || return 1
		n=$((n + 1))
	done
	[ $n -gt 0 ]
}

# swan_key_bits NS: the AEAD key sizes (bits, salt included) of the SAs.
swan_key_bits() {
	ip -n "$1" xfrm state | awk '$1 == "aead" { print (length($3) - 2) * 4 }' |
		sort -u | tr '\n' ' '
}

# swan_traffic NAME: through the tunnel between the subnets, ping IPv4
# A->B and IPv6 B->A, then TCP the same ways with the payload's sha256
# compared (needs $PAYLOAD).
swan_traffic() {
	ksft_check "$1: ping IPv4 A->B" ping_ok "$HA" 10.2.0.2 5
	ksft_check "$1: ping IPv6 B->A" ping_ok "$HB" fd01::2 5
	ksft_check "$1: TCP IPv4 A->B, sha256 matches" \
		tcp_transfer "$HA" "$HB" 10.2.0.2 "$PAYLOAD" 5001
	ksft_check "$1: TCP IPv6 B->A, sha256 matches" \
		tcp_transfer "$HB" "$HA" fd01::2 "$PAYLOAD" 5002
}

# swan_log_diag NAME: the end of NAME's charon log, as TAP diagnostics.
swan_log_diag() {
	tail -n "${2:-15}" "$SWAN_DIR/$1/charon.log" 2>/dev/null | sed 's/^/# /'
}
