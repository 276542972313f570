#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The per-namespace metrics: /proc/net/esp_offload/{stats,sas} and what
# scripts/espo-stats --prometheus makes of them.
# - each namespace sees its own SAs only (a container's root sees its own);
# - per-SA packet counts agree with the xfrm core's, drops are counted on
#   the SA and in the namespace's totals, and the totals keep the drops of
#   deleted SAs (they only grow);
# - the Prometheus output is well formed (HELP and TYPE once per family,
#   counters end in _total, no series twice) and carries the same figures;
# - no key material appears anywhere.
. "$(dirname "$0")/lib.sh"

on_exit module_unload
STATS=$REPO/scripts/espo-stats
K1=$KEY256
K_BAD=0xd1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4
W=$(mktemp -d /tmp/metrics.XXXXXX)
on_exit rm -rf "$W"

ksft_plan 15
dmesg_mark
module_load || ksft_skip_all "cannot load esp_offload"
pair_topology || ksft_skip_all "topology"
netns_new NS_C c || ksft_skip_all "third namespace"

# nsx NS CMD...: run in a namespace.
nsx() { ip netns exec "$@"; }
# proc NS FILE: a /proc/net/esp_offload file as the namespace sees it.
proc() { nsx "$1" cat "/proc/net/esp_offload/$2"; }
# nstat NS NAME: a line of the namespace's stats file.
nstat() { proc "$1" stats | awk -v n="$2" '$1 == n { print $2 }'; }
# sa_drop NS SPI REASON: the SA's drop count in the namespace's sas file.
sa_drop() {
	proc "$1" sas | awk -v s="$2" -v r="drop_$3" '
		{ for (i = 1; i < NF; i++) { if ($i == "spi") spi = $(i + 1); if ($i == r) v = $(i + 1) }
		  if (spi == s) print v }'
}
# prom NS FAMILY LABEL_MATCH: the value of a Prometheus series.
prom() {
	nsx "$1" "$STATS" --prometheus | awk -v f="$2" -v m="$3" \
		'index($0, f "{") == 1 && index($0, m) { print $NF }'
}

esp_transport_pair 192.0.2.1 192.0.2.2 0x6001 0x6002 -- aead "$GCM" "$K1" 128 ||
	ksft_skip_all "SAs"

ksft_check "stats (0444) and sas (0400) in every namespace" eval '
	for ns in "$NS_A" "$NS_B" "$NS_C"; do
		[ "$(nsx "$ns" stat -c %a /proc/net/esp_offload/stats)" = 444 ] &&
		[ "$(nsx "$ns" stat -c %a /proc/net/esp_offload/sas)" = 400 ] || exit 1
	done'

ksft_check "each namespace lists only its own SAs" eval '
	[ "$(proc "$NS_A" sas | grep -c " spi 0x0000600[12] ")" = 2 ] &&
	[ "$(proc "$NS_B" sas | grep -c " spi 0x0000600[12] ")" = 2 ] &&
	[ -z "$(proc "$NS_C" sas)" ] && [ "$(nstat "$NS_C" sas)" = 0 ] &&
	[ -z "$(cat /proc/net/esp_offload/sas)" ] && [ "$(nstat "$NS_A" sas)" = 2 ]'

ping_ok "$NS_A" 192.0.2.2 5
sa_pkts() { proc "$1" sas | awk -v s="$2" '{ for (i = 1; i < NF; i++) { if ($i == "spi") spi = $(i + 1); if ($i == "packets") p = $(i + 1) } if (spi == s) print p }'; }
ksft_eq "per-SA packets agree with ip -s xfrm state" \
	"$(sa_field "$NS_B" 0x6001 packets)" "$(sa_pkts "$NS_B" 0x00006001)"

# B's A->B SA gets another key: A's pings fail the ICV check at B.
ip -n "$NS_B" xfrm state delete src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x6001
ip -n "$NS_B" xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x6001 \
	reqid 7 mode transport aead "$GCM" "$K_BAD" 128
icv0=$(nstat "$NS_B" drop_icv)
nsx "$NS_A" ping -q -c 4 -i 0.2 -W 1 192.0.2.2 >/dev/null 2>&1
icv1=$(nstat "$NS_B" drop_icv)
ksft_eq "ICV failures: the SA's drop_icv counts each" 4 "$(sa_drop "$NS_B" 0x00006001 icv)"
ksft_eq "ICV failures: the namespace's drop_icv counts each" 4 $((icv1 - icv0))
ksft_eq "ICV failures: not counted in another namespace" 0 "$(nstat "$NS_A" drop_icv)"
ksft_eq "Prometheus: per-SA drops" 4 \
	"$(prom "$NS_B" esp_offload_sa_drops_total 'spi="0x00006001",src="192.0.2.1",dst="192.0.2.2",reason="icv"')"
ksft_eq "Prometheus: namespace drops" "$icv1" \
	"$(prom "$NS_B" esp_offload_drops_total 'reason="icv"')"
ksft_eq "Prometheus: per-SA packets" "$(sa_field "$NS_A" 0x6001 packets)" \
	"$(prom "$NS_A" esp_offload_sa_packets_total 'spi="0x00006001"')"

ip -n "$NS_B" xfrm state delete src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x6001
ksft_check "a deleted SA's drops stay in the namespace's totals" \
	wait_for "SA 0x6001 gone from B's list" 30 eval \
	'[ "$(nstat "$NS_B" sas)" = 1 ] && [ "$(nstat "$NS_B" drop_icv)" = "$icv1" ]'

# The whole output, as an operator writes it for node_exporter (every
# namespace in one file), checked line by line.
"$STATS" --all-netns --prometheus --output "$W/prom" 2> "$W/prom.err"
grep -E 'reason="icv"' "$W/prom" | grep -v ' 0$' | sed 's/^/# sample: /'
nsx "$NS_B" "$STATS" | sed 's/^/# espo-stats in B: /'
ksft_check "Prometheus output is well formed" /usr/bin/python3 - "$W/prom" <<'PY'
import re, sys
fams, seen, typ = {}, set(), {}
sample = re.compile(r'^([a-z_:][a-z0-9_:]*)\{((?:[a-z_]+="(?:[^"\\]|\\.)*",?)*)\} (\d+)$')
lines = open(sys.argv[1]).read().splitlines()
ok = bool(lines)
for n, l in enumerate(lines, 1):
    if l.startswith("# HELP ") or l.startswith("# TYPE "):
        kind, fam = l.split()[1:3]
        if (kind, fam) in fams:
            print("# %s for %s twice" % (kind, fam)); ok = False
        fams[(kind, fam)] = n
        if kind == "TYPE":
            typ[fam] = l.split()[3]
        continue
    m = sample.match(l)
    if not m:
        print("# bad line %d: %s" % (n, l)); ok = False; continue
    fam = m.group(1)
    if fam not in typ:
        print("# no TYPE before %s" % fam); ok = False
    if typ.get(fam) == "counter" and not fam.endswith("_total"):
        print("# counter %s does not end in _total" % fam); ok = False
    if l.rsplit(" ", 1)[0] in seen:
        print("# series twice: %s" % l); ok = False
    seen.add(l.rsplit(" ", 1)[0])
sys.exit(0 if ok else 1)
PY

ksft_check "espo-stats --all-netns names the namespaces" \
	grep -q "^esp_offload_sas{netns=\"$NS_A\"} 2$" "$W/prom"

# No key material: the keys' bytes, in any 8-byte window, nowhere.
{
	for ns in "$NS_A" "$NS_B" "$NS_C"; do
		proc "$ns" stats
		proc "$ns" sas
		nsx "$ns" "$STATS"
		nsx "$ns" "$STATS" --raw
	done
	cat "$W/prom"
	"$STATS" --all-netns
	cat /sys/kernel/debug/esp_offload/sas
	dmesg
} > "$W/all" 2>&1
leaks=0
for k in "$K1" "$K_BAD"; do
	hex=${k#0x}
	for ((i = 0; i + 16 <= ${#hex}; i += 8)); do
		grep -qi "${hex:i:16}" "$W/all" && leaks=$((leaks + 1))
	done
done
ksft_eq "no key bytes in any view, the Prometheus output or dmesg" 0 $leaks

xfrm_flush "$NS_A" "$NS_B"
module_unload
ksft_check "rmmod removes /proc/net/esp_offload from every namespace" eval \
	'! nsx "$NS_A" test -e /proc/net/esp_offload && ! test -e /proc/net/esp_offload'

ksft_check "dmesg clean" dmesg_clean
ksft_exit
