#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm: own (boots systemd over an overlay root, points the kernel's modprobe into it, loads and unloads ESP modules)
# vm: timeout 2400
# vm: append nosmp
# check: by name (four systemd boots under TCG, about 10 minutes: make check T=esp_boot_order)
#
# Boot-time ownership of ESP: esp_offload is loaded before strongSwan's
# charon starts, so no SA charon installs goes to the kernel's esp4.
#
# systemd itself boots here, with the unit files and drop-ins as a
# gateway has them: the guest's read-only root becomes a writable system
# (an overlay with a tmpfs upper layer, as in esp_package) that gets the
# package's boot-time files, and /lib/systemd/systemd runs in it as PID 1
# of its own PID and mount namespace (as a container manager starts it;
# the VM's own PID 1 is the test harness), in gateway gw-a's network
# namespace, with a target that wants strongswan.service. So systemd
# orders and runs systemd-modules-load.service (the real modules-load.d)
# and strongswan.service (charon-systemd) with its drop-ins; the kernel's
# on-demand module loading runs modprobe in that system too. gw-a's
# charon is the responder: a charon in gw-b's namespace (started by the
# test) initiates, so the first ESP SA in the kernel is one the unit's
# charon installs. systemd finds the guest's root to be a container's
# (the host is one) and boots as in one; units unrelated to the order
# (udev, sysusers, tmpfiles, utmp) are masked to keep a boot short under
# TCG. Each boot ends with a SIGKILL to its PID 1 (which ends its PID
# namespace). The VM runs on one CPU (nosmp): systemd enabling the
# cgroup controllers flips static keys, and the kernel's patching of the
# code under them raced with the other vCPU under TCG (an "Oops: int3" in
# kmem_cache_alloc, before esp_offload was loaded). Boots:
#
#   package       modprobe.d blacklist, modules-load.d and the drop-in:
#                 the unit is ordered after systemd-modules-load, which
#                 loaded esp_offload before charon started; esp4/esp6 are
#                 not loaded; esp_offload processes the tunnel's SAs.
#   drop-in only  no blacklist, no modules-load.d: the drop-in's
#                 ExecStartPre alone loads esp_offload first.
#   none          negative control: no blacklist, no modules-load.d, no
#                 drop-in: the unit has no such ordering, esp_offload is
#                 not loaded and the kernel gives the SA to esp4.
#   no module     the package's files, but esp_offload cannot be loaded:
#                 strongswan.service fails and no charon runs.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/swan_lib.sh"

require_cmd chroot mount nsenter unshare depmod modprobe swanctl
[ -x /lib/systemd/systemd ] || ksft_skip_all "systemd not installed"
[ -x /usr/sbin/charon-systemd ] || ksft_skip_all "charon-systemd not installed (strongswan.service)"
KVER=$(uname -r)
TOP=/tmp/esp_boot_order.$SUFFIX
ROOT=$TOP/root
KERNEL_MODPROBE=$(cat /proc/sys/kernel/modprobe)
UNIT=strongswan.service
DROPIN_UNITS="strongswan strongswan-starter ipsec"
SYS_PID=
SYS_LOG=${RESULTS:-/tmp}/esp_boot_order-systemd.log

# in_root CMD...: run CMD in the overlay system (not booted).
in_root() {
	chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
		LC_ALL=C "$@"
}

# in_sys CMD...: run CMD in the booted system (its namespaces and root).
in_sys() {
	nsenter -t "$SYS_PID" -m -p -n -r -w /usr/bin/env -i \
		PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C SYSTEMD_COLORS=0 "$@"
}

# esp_modules: the ESP implementations loaded, e.g. "esp_offload ".
esp_modules() {
	grep -oE '^esp[a-z0-9_]* ' /proc/modules | tr -d ' ' | sort | tr '\n' ' '
}

esp_unload_all() {
	ip xfrm state flush
	for ns in $(ip netns list 2>/dev/null | cut -d' ' -f1); do
		ip -n "$ns" xfrm state flush
	done
	busywait 10000 bash -c 'grep -qE "^esp" /proc/modules || exit 0
		rmmod esp_offload esp4_offload esp6_offload esp4 esp6; exit 1' \
		2>/dev/null
}

# system_files WHAT...: the boot-time files in the overlay system, WHAT
# among blacklist (the modprobe.d file), modules-load (modules-load.d),
# dropin (the drop-in, for each of its units) and broken (modprobe
# cannot load esp_offload); paths as the package installs them.
system_files() {
	local f u
	rm -f "$ROOT/usr/lib/modprobe.d/esp_offload.conf" "$ROOT/etc/modprobe.d/esp_offload.conf" \
		"$ROOT/usr/lib/modules-load.d/esp_offload.conf" \
		"$ROOT/etc/modules-load.d/esp_offload.conf" "$ROOT/etc/modprobe.d/espo-broken.conf"
	for u in $DROPIN_UNITS; do
		rm -f "$ROOT/usr/lib/systemd/system/$u.service.d/esp_offload.conf" \
			"$ROOT/etc/systemd/system/$u.service.d/esp_offload.conf"
	done
	for f in "$@"; do
		case $f in
		blacklist)
			install -D -m 0644 "$REPO/scripts/esp_offload-modprobe.conf" \
				"$ROOT/usr/lib/modprobe.d/esp_offload.conf" ;;
		modules-load)
			install -D -m 0644 "$REPO/debian/modules-load.conf" \
				"$ROOT/usr/lib/modules-load.d/esp_offload.conf" ;;
		dropin)
			for u in $DROPIN_UNITS; do
				install -D -m 0644 "$REPO/scripts/esp_offload-ike.conf" \
					"$ROOT/usr/lib/systemd/system/$u.service.d/esp_offload.conf"
			done ;;
		broken)
			echo "install esp_offload /bin/false" > "$ROOT/etc/modprobe.d/espo-broken.conf" ;;
		esac
	done
}

unit_state() { in_sys systemctl show -P ActiveState "$UNIT" 2>/dev/null; }
unit_settled() { [[ "$(unit_state)" =~ ^(active|failed)$ ]]; }

# sys_boot: start systemd in the overlay system, in gw-a's namespace,
# and wait until strongswan.service is active or has failed.
sys_boot() {
	local upid
	ip netns exec "$GA" unshare -m -p -f --kill-child sh -c '
		mount --make-rprivate / &&
		mount -t proc proc "$1/proc" && mount -t sysfs sysfs "$1/sys" &&
		mount --rbind /dev "$1/dev" && mount -t tmpfs tmpfs "$1/run" &&
		mount -t tmpfs tmpfs "$1/tmp" &&
		exec chroot "$1" /lib/systemd/systemd --unit=espo-boot.target \
			--show-status=false --log-level=info' sh "$ROOT" >> "$SYS_LOG" 2>&1 &
	upid=$!
	SYS_PID=
	busywait 10000 eval "SYS_PID=\$(pgrep -P $upid)" || return 1
	wait_for "systemd to settle $UNIT" 120 unit_settled
}

# sys_stop: end the booted system: a SIGKILL to its PID 1 ends every
# process of its PID namespace, and with them its mounts.
sys_stop() {
	[ -n "$SYS_PID" ] || return 0
	kill -9 "$SYS_PID" 2>/dev/null
	slowwait 30 eval '! kill -0 $SYS_PID 2>/dev/null'
	SYS_PID=
}

# sys_diag: the booted system's view, as TAP diagnostics.
sys_diag() {
	in_sys systemctl cat "$UNIT" 2>&1 | sed 's/^/# systemctl cat: /'
	in_sys systemd-analyze critical-chain "$UNIT" 2>&1 | sed 's/^/# critical-chain: /'
	in_sys journalctl -b --no-pager -o short-monotonic -u systemd-modules-load.service 2>&1 |
		sed 's/^/# journal: /'
	in_sys journalctl -b --no-pager -o short-monotonic -u "$UNIT" 2>&1 | tail -n 25 |
		sed 's/^/# journal: /'
}

# unit_result UNIT: its state, result and main process's exit status.
unit_result() {
	local p
	for p in ActiveState Result ExecMainStatus; do
		in_sys systemctl show -P "$p" "$1"
	done | tr '\n' ' '
}

# after_modules_load: the unit is ordered after systemd-modules-load
# (systemctl show -p After: the unit file, its drop-ins, the defaults).
after_modules_load() {
	[[ " $(in_sys systemctl show -P After "$UNIT") " == *" systemd-modules-load.service "* ]]
}

# mono PROPERTY UNIT: a monotonic timestamp (µs) of the booted system.
mono() { in_sys systemctl show -P "$1" "$2"; }

# tunnel: gw-b (a fresh charon) initiates; gw-a, the unit's charon,
# responds and installs the first SAs.
tunnel() {
	swan_kill gw-b
	xfrm_flush "$GB"
	swan_start gw-b &&
	swanctl_on gw-b --initiate --child net --timeout "$(scale 90)" \
		> "$SWAN_DIR/initiate.log" 2>&1 || {
		ksft_diag "initiate: $(tail -3 "$SWAN_DIR/initiate.log")"
		return 1
	}
}

# boot NAME [diag]: boot, bring the tunnel up (if charon runs), print
# the state (with "diag", also the unit, its critical chain and journal).
boot() {
	local t0=$SECONDS
	ksft_diag "---- boot '$1': $(find "$ROOT/usr/lib" "$ROOT/etc" -path '*esp_offload.conf' \
		-o -name espo-broken.conf | sed "s|^$ROOT||" | sort | tr '\n' ' ')"
	echo "==== boot $1" >> "$SYS_LOG"
	BOOTED=no TUNNEL=no
	sys_boot && BOOTED=yes
	ksft_diag "$UNIT: $(unit_state); ESP modules: $(esp_modules)"
	if [ "$(unit_state)" = active ] && tunnel; then
		TUNNEL=yes
		ping_ok "$HA" 10.2.0.2 5 || ksft_diag "ping through the tunnel failed"
	fi
	[ "${2:-}" != diag ] || sys_diag
	ksft_diag "boot '$1': booted $BOOTED, tunnel $TUNNEL, $((SECONDS - t0)) s"
}

# unboot: stop the system and everything it loaded (after its view, if
# a case of this boot failed).
unboot() {
	[ "$KSFT_FAIL" = "$FAILS" ] || sys_diag
	FAILS=$KSFT_FAIL
	sys_stop
	swan_kill gw-b
	xfrm_flush "$GA" "$GB"
	esp_unload_all
}

# The first SA in gw-a's namespace (the responder's inbound one).
ga_sa_ok() { swan_sas_by_module "$GA"; }
ga_sa_counted() {
	local spi
	spi=$(printf '0x%08x' "$(swan_spis "$GA" | head -n 1)")
	[[ "$(module_sa_line "$spi")" =~ packets\ [1-9] ]]
}

ksft_plan 21
START=$(date +%s)
FAILS=0
dmesg_mark

# --- a writable system over the read-only root -----------------------------
on_exit "rm -rf $TOP"
on_exit "umount $TOP"
on_exit "umount $TOP/lower"
on_exit "umount -R $ROOT"
on_exit "echo $KERNEL_MODPROBE > /proc/sys/kernel/modprobe"
on_exit esp_unload_all
on_exit sys_stop
esp_unload_all
# What the topology and the charons need, loaded before modprobe points
# into the overlay system (whose module index is partial, below).
modprobe -a veth xfrm_user
mkdir -p "$TOP" && mount -t tmpfs -o size=400m tmpfs "$TOP" &&
	mkdir -p "$TOP/lower" "$TOP/upper" "$TOP/work" "$ROOT" &&
	mount --bind / "$TOP/lower" &&
	mount -t overlay overlay \
		-o "lowerdir=$TOP/lower,upperdir=$TOP/upper,workdir=$TOP/work" "$ROOT" ||
	ksft_skip_all "cannot make an overlay system over the root"

# esp_offload where modprobe finds it. depmod indexes only the IP, xfrm,
# qdisc and crypto modules and what they depend on (all 4000 take minutes
# to read under TCG), so the system's modprobe knows only those.
moddir=/lib/modules/$KVER
mkdir -p "$ROOT$moddir/updates" && cp "$MODULE_KO" "$ROOT$moddir/updates/" &&
	mods=$(awk -F'[: ]+' '$1 ~ /^kernel\/(net\/(ipv4|ipv6|xfrm|core|sched)|crypto|arch\/x86\/crypto)\// {
		for (i = 1; i <= NF; i++) if ($i != "") print dir "/" $i
	}' dir="$moddir" "$moddir/modules.dep" | sort -u) &&
	in_root depmod "$KVER" $mods "$moddir/updates/esp_offload.ko" ||
	ksft_skip_all "cannot index the module in the overlay system"
printf '#!/bin/sh\nexec /usr/sbin/chroot %s /sbin/modprobe "$@"\n' "$ROOT" > "$TOP/modprobe"
chmod 755 "$TOP/modprobe"
echo "$TOP/modprobe" > /proc/sys/kernel/modprobe
ksft_diag "the overlay system is ready ($(($(date +%s) - START)) s)"

# The boot: a target that wants the IKE daemon's unit; the device
# manager stays off (nothing to manage, and coldplug takes minutes under
# TCG), and so do the other units of the critical chain that take
# seconds there and have nothing to do with the order.
for u in systemd-udevd.service systemd-udev-trigger.service systemd-udev-settle.service \
	systemd-udevd-control.socket systemd-udevd-kernel.socket systemd-sysusers.service \
	systemd-tmpfiles-setup.service systemd-tmpfiles-setup-dev.service \
	systemd-update-utmp.service; do
	ln -sfn /dev/null "$ROOT/etc/systemd/system/$u"
done
cat > "$ROOT/etc/systemd/system/espo-boot.target" <<-EOF
[Unit]
Description=esp_boot_order: boot up to the IKE daemon
Wants=$UNIT
After=$UNIT
EOF

# The tunnel: gw-a is the booted system's charon (its swanctl.conf in
# /etc/swanctl/conf.d, loaded by the unit's ExecStartPost), gw-b the
# test's.
gateway_topology || ksft_skip_all "cannot build the topology"
swan_config gw-a 192.0.2.1 192.0.2.2 10.1.0.0/24,fd01::/64 10.2.0.0/24,fd02::/64
swan_config gw-b 192.0.2.2 192.0.2.1 10.2.0.0/24,fd02::/64 10.1.0.0/24,fd01::/64
mkdir -p "$ROOT/etc/swanctl/conf.d" &&
	cp "$SWAN_DIR/gw-a/swanctl/swanctl.conf" "$ROOT/etc/swanctl/conf.d/espo-boot.conf" ||
	ksft_skip_all "cannot configure gw-a"
: > "$SYS_LOG"

# --- the package's files ------------------------------------------------------
system_files blacklist modules-load dropin
boot package diag
ksft_eq "package: $UNIT active" "yes active" "$BOOTED $(unit_state)"
ksft_check "package: $UNIT is ordered after systemd-modules-load.service (drop-in)" \
	after_modules_load
ksft_check "package: $UNIT runs 'modprobe esp_offload' before charon (ExecStartPre)" \
	eval 'in_sys systemctl show -P ExecStartPre "$UNIT" | grep -q "modprobe esp_offload"'
ksft_eq "package: the drop-in counts once for the alias ipsec.service (strongswan-starter)" 1 \
	"$(in_sys systemctl show -P ExecStartPre strongswan-starter.service | grep -c 'modprobe esp_offload')"
# Its one module (Debian's /etc/modules-load.d/modules.conf names none)
# is esp_offload, which nothing loads before it: no SA exists yet.
ksft_eq "package: systemd-modules-load ran and succeeded (it loads esp_offload)" \
	"active success 0 " "$(unit_result systemd-modules-load.service)"
ml_end=$(mono ExecMainExitTimestampMonotonic systemd-modules-load.service)
ch_start=$(mono ExecMainStartTimestampMonotonic "$UNIT")
ksft_check "package: systemd-modules-load ended (${ml_end:-?} us) before charon started (${ch_start:-?} us)" \
	eval '[ "${ml_end:-0}" -gt 0 ] && [ "${ch_start:-0}" -gt "$ml_end" ]'
ksft_eq "package: IKE and CHILD_SA up, gw-a's charon responding" yes "$TUNNEL"
ksft_eq "package: ESP modules: esp_offload only" "esp_offload " "$(esp_modules)"
ksft_check "package: every SA gw-a's charon installed is esp_offload's (debugfs sas)" ga_sa_ok
ksft_check "package: and esp_offload carried the tunnel's ping" ga_sa_counted
unboot

# --- the drop-in alone ----------------------------------------------------------
system_files dropin
boot "drop-in only"
ksft_eq "drop-in only: $UNIT active, tunnel up" "yes active yes" "$BOOTED $(unit_state) $TUNNEL"
ksft_eq "drop-in only: ESP modules: esp_offload only" "esp_offload " "$(esp_modules)"
ksft_check "drop-in only: every SA gw-a's charon installed is esp_offload's" ga_sa_ok
unboot

# --- negative control: none of the files ----------------------------------------
system_files
boot none
ksft_check "none: $UNIT has no ordering after systemd-modules-load and no modprobe" \
	eval '! after_modules_load &&
		! in_sys systemctl show -P ExecStartPre "$UNIT" | grep -q esp_offload'
ksft_eq "none: $UNIT active, tunnel up" "yes active yes" "$BOOTED $(unit_state) $TUNNEL"
ksft_eq "none: the kernel gave the SAs to esp4 (the failure the files prevent)" "esp4 " "$(esp_modules)"
ksft_check "none: esp_offload has none of them" eval '! ga_sa_ok'
unboot

# --- the module cannot be loaded -------------------------------------------------
system_files blacklist modules-load dropin broken
boot "no module"
ksft_eq "no module: $UNIT failed (ExecStartPre)" "yes failed" "$BOOTED $(unit_state)"
ksft_check "no module: no charon runs" eval '! pgrep -x charon-systemd >/dev/null'
ksft_eq "no module: no ESP module loaded, no SA" " 0" \
	"$(esp_modules) $(ip -n "$GA" xfrm state | grep -c '^src')"
unboot

ksft_check "dmesg clean" dmesg_clean
ksft_diag "esp_boot_order took $(($(date +%s) - START)) s"
ksft_exit
