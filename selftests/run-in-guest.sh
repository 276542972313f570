#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of scripts/run-selftests: run the given tests one after the
# other, each with its output prefixed, and write one result line per test
# ("<name> pass|fail|skip <seconds>") to $RESULTS/results.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
here=$(cd "$(dirname "$0")" && pwd)
: > "$RESULTS/results"

leftovers() {
	grep -oE '^(esp_offload|esp4|esp6|esp4_offload|esp6_offload) ' /proc/modules | tr -d ' '
	ip netns list 2>/dev/null | cut -d' ' -f1
}

for t in "$@"; do
	name=$(basename "$t" .sh)
	echo "# ---- $name"
	start=$(date +%s)
	(cd "$here/.." && timeout 600 bash "$here/$name.sh") 2>&1 | sed "s/^/[$name] /"
	rc=${PIPESTATUS[0]}
	case $rc in
	0) res=pass ;;
	4) res=skip ;;
	*) res=fail ;;
	esac
	left=$(leftovers | tr '\n' ' ')
	if [ -n "$left" ]; then
		echo "[$name] # left behind: $left"
		[ $res = fail ] || res=fail
		# Clean up so the next test starts fresh.
		for ns in $(ip netns list 2>/dev/null | cut -d' ' -f1); do
			ip -n "$ns" xfrm state flush; ip netns del "$ns"
		done
		ip xfrm state flush
		rmmod esp_offload esp4_offload esp6_offload esp4 esp6 2>/dev/null
	fi
	echo "$name $res $(($(date +%s) - start))" >> "$RESULTS/results"
done
exit 0
