#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm: own (installs the module and a modprobe.d file, loads esp4)
#
# On-demand loading, as on a gateway after scripts/install-gateway-config:
# the module is installed where modprobe finds it (updates/, depmod) and
# scripts/esp_offload-modprobe.conf is in /etc/modprobe.d. Then the first
# ESP SA of each family makes the kernel load esp_offload through its
# aliases (xfrm-type-2-50, xfrm-type-10-50), never esp4/esp6. Without the
# file the kernel's esp4 wins the alias, which is why the file is shipped.
#
# The guest's root is read-only, so the module tree and /etc/modprobe.d
# are writable copies bind-mounted over the real ones for this test.
. "$(dirname "$0")/lib.sh"

require_cmd depmod modprobe modinfo mount
KVER=$(uname -r)
MODDIR=/lib/modules/$KVER
TREE=/tmp/esp_autoload.$SUFFIX
SA4="src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x7101 mode transport aead $GCM ${KEY256:0:42} 128"
SA6="src 2001:db8::1 dst 2001:db8::2 proto esp spi 0x7102 mode transport aead $GCM ${KEY256:0:42} 128"

# Remove every ESP implementation (and its SAs) before the next case.
esp_unload_all() {
	ip xfrm state flush
	busywait 10000 bash -c 'grep -qE "^esp" /proc/modules || exit 0
		rmmod esp_offload esp4_offload esp6_offload esp4 esp6; exit 1' \
		2>/dev/null
}

# esp_modules: the ESP implementations loaded, e.g. "esp_offload".
esp_modules() {
	grep -oE '^esp[a-z0-9_]* ' /proc/modules | tr -d ' ' | sort | tr '\n' ' '
}

on_exit "rm -rf $TREE"
on_exit "umount -R $MODDIR"
on_exit 'umount /etc/modprobe.d'
on_exit esp_unload_all

ksft_plan 10
dmesg_mark
esp_unload_all
# A device for the offload request, made while modprobe still finds dummy.
ip link add espo0 type dummy || ksft_skip_all "no dummy device"
on_exit 'ip link del espo0'

# The module tree: esp_offload in updates/ next to the distro's modules.
# depmod only indexes the net, crypto, arch and lib modules and what they
# depend on: all 4000 modules take a minute to read under TCG.
mkdir -p "$TREE/mods/kernel" "$TREE/mods/updates" "$TREE/modprobe.d" &&
	cp "$MODDIR"/modules.builtin* "$MODDIR/modules.order" "$TREE/mods/" &&
	mods=$(awk -F'[: ]+' '$1 ~ /^kernel\/(net|crypto|arch|lib)\// {
		for (i = 1; i <= NF; i++) if ($i != "") print dir "/" $i
	}' dir="$MODDIR" "$MODDIR/modules.dep" | sort -u) &&
	cp "$MODULE_KO" "$TREE/mods/updates/" &&
	mount --bind "$MODDIR/kernel" "$TREE/mods/kernel" &&
	mount --rbind "$TREE/mods" "$MODDIR" ||
	ksft_skip_all "cannot set up a writable module tree"
depmod "$KVER" $mods "$MODDIR/updates/esp_offload.ko"
ksft_check "installed: modprobe resolves both aliases to esp_offload among others" \
	eval '[[ "$(modprobe -R xfrm-type-2-50 | tr "\n" " ")" == *esp_offload* ]] &&
		[[ "$(modprobe -R xfrm-type-10-50 | tr "\n" " ")" == *esp_offload* ]]'

# The shipped modprobe.d file, next to whatever the system already has.
cp /etc/modprobe.d/* "$TREE/modprobe.d/" 2>/dev/null
cp "$REPO/scripts/esp_offload-modprobe.conf" "$TREE/modprobe.d/esp_offload.conf" &&
	mount --bind "$TREE/modprobe.d" /etc/modprobe.d ||
	ksft_skip_all "cannot install the modprobe.d file"

# IPv4, then IPv6: the first SA loads esp_offload by itself.
ip xfrm state add $SA4
ksft_eq "first IPv4 ESP SA: the kernel loads esp_offload, not esp4" \
	"esp_offload " "$(esp_modules)"
ksft_check "and esp_offload carries that SA" \
	eval 'module_sa_line 0x00007101 >/dev/null'
# A device-offload request: with the module's ESP offload type (the
# default) the core finds it and keeps the SA in software (dummy has no
# ESP crypto); with offload_type=0 it is refused after the kernel asked
# for esp4_offload, which the file keeps quiet.
dmesg_mark
out=$(ip xfrm state add ${SA4/0x7101/0x7103} offload dev espo0 dir out 2>&1)
if module_offload_type; then
	want='[ -z "$out" ]'
else
	want='grep -q "Type doesn.t support offload" <<< "$out"'
fi
ksft_check "an offload request tries no esp4_offload/esp4" \
	eval "$want"' &&
		! dmesg_since | grep -q "refusing to load esp4" && ! module_loaded esp4'
esp_unload_all
ip xfrm state add $SA6
ksft_eq "first IPv6 ESP SA: the kernel loads esp_offload, not esp6" \
	"esp_offload " "$(esp_modules)"
ksft_check "and esp_offload carries that SA" \
	eval 'module_sa_line 0x00007102 >/dev/null'
esp_unload_all

# A blacklist only covers aliases: an explicit "modprobe esp4" still
# loads it, and the SA then goes to esp4 (esp_offload stays out).
modprobe esp4
ip xfrm state add $SA4
ksft_eq "modprobe esp4 first: esp4 keeps the SA" "esp4 " "$(esp_modules)"
esp_unload_all

# Without the file, esp4 wins the alias: the reason the file exists.
# (modprobe loads every module with the alias; esp_offload comes second
# and refuses to join esp4, with its message.)
umount /etc/modprobe.d
dmesg_mark
ip xfrm state add $SA4
ksft_check "without the modprobe.d file the alias loads the kernel's esp4" \
	module_loaded esp4
ksft_check "and esp_offload, tried next, refuses with its message" \
	eval '! module_loaded esp_offload &&
		dmesg_since | grep -q "esp_offload: the kernel.s ESP (esp4/esp6) is loaded"'
esp_unload_all
ksft_check "dmesg clean" dmesg_clean
ksft_exit
