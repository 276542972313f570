#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm: own (installs a package into an overlay root, loads and unloads ESP modules, locks the kernel down)
# check: by name (builds the module under TCG for every kernel: make check T=esp_package)
# vm: timeout 3000
#
# The Debian package as an operator meets it. The guest's root is
# read-only, so the test makes a writable system of it: an overlay
# (tmpfs upper layer) over the read-only root, entered with chroot, with
# /proc, /sys and /dev bound in; the kernel's on-demand module loading
# (request_module) is pointed at modprobe inside that system. There:
#
#   apt-get install ./esp-offload-dkms_<version>_all.deb (offline: dkms
#   and the kernel headers are installed on the host, so in the lower
#   layer), and DKMS builds, signs (its own key, made on first use) and
#   installs the module under updates/dkms for every kernel with headers;
#   the first ESP SA loads esp_offload through the aliases and carries
#   TCP; espo-stats shows the SA; after the documented order (flush the
#   SAs, unload) apt-get remove takes the module and the blacklist away
#   and the next SA goes to the kernel's esp4.
#
# Last, with the kernel locked down (integrity, as Secure Boot does), the
# DKMS-signed module is refused because its key is not enrolled, with the
# message Documentation/esp_offload.rst quotes.
. "$(dirname "$0")/lib.sh"

require_cmd chroot mount dpkg-deb modinfo
KVER=$(uname -r)
VERSION=$(cat "$REPO/VERSION")
DEB=$REPO/.build/deb/esp-offload-dkms_${VERSION}_all.deb
TOP=/tmp/esp_package-system.$SUFFIX
ROOT=$TOP/root
KERNEL_MODPROBE=$(cat /proc/sys/kernel/modprobe)
SA_ARGS=(aead "$GCM" "${KEY256:0:42}" 128)
# apt's output, where the host can follow it during the long install.
LOGS=${RESULTS:-/tmp}

# in_root CMD...: run CMD in the overlay system.
in_root() {
	chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
		DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"
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

# The kernels DKMS should build for: those with headers in the overlay
# system, in the series dkms.conf's BUILD_EXCLUSIVE_KERNEL names.
headers_kernels() {
	local b k
	for b in "$ROOT"/lib/modules/*/build; do
		[ -e "$b/include" ] || continue
		k=${b#"$ROOT"/lib/modules/}
		k=${k%/build}
		[[ $k =~ ^6\.(1|12)\. ]] && echo "$k"
	done
}

# dkms_module KERNEL: the module DKMS installed for KERNEL (path in ROOT).
dkms_module() {
	ls "$ROOT/lib/modules/$1/updates/dkms/"esp_offload.ko* 2>/dev/null | head -n 1
}

# traffic SPI_AB SPI_BA: transport SAs between the pair and a TCP transfer.
traffic() {
	esp_transport_pair 192.0.2.1 192.0.2.2 "$1" "$2" -- "${SA_ARGS[@]}" &&
	tcp_transfer "$NS_A" "$NS_B" 192.0.2.2 "$PAYLOAD"
}

[ -e "$DEB" ] || { ksft_plan 1; ksft_fail "package built" "no $DEB: make deb"; ksft_exit; }
ksft_plan 28
START=$(date +%s)

# --- a writable system over the read-only root -----------------------------
on_exit "rm -rf $TOP"
on_exit "umount $TOP"
on_exit "umount $TOP/lower"
on_exit "umount -R $ROOT"
on_exit "echo $KERNEL_MODPROBE > /proc/sys/kernel/modprobe"
on_exit esp_unload_all
esp_unload_all
mkdir -p "$TOP" && mount -t tmpfs -o size=600m tmpfs "$TOP" &&
	mkdir -p "$TOP/lower" "$TOP/upper" "$TOP/work" "$ROOT" &&
	mount --bind / "$TOP/lower" &&
	mount -t overlay overlay \
		-o "lowerdir=$TOP/lower,upperdir=$TOP/upper,workdir=$TOP/work" "$ROOT" &&
	mount --rbind /proc "$ROOT/proc" && mount --rbind /sys "$ROOT/sys" &&
	mount --rbind /dev "$ROOT/dev" && mount -t tmpfs tmpfs "$ROOT/tmp" &&
	mount -t tmpfs tmpfs "$ROOT/run" ||
	ksft_skip_all "cannot make an overlay system over the root"
ksft_check "the overlay system is writable and is the host's Debian 12" \
	eval 'touch "$ROOT/etc/espo-write-test" && grep -q "^12" "$ROOT/etc/debian_version"'
# A gateway with the 6.1 and 6.12 headers: the -rt flavour's headers are
# taken out of the overlay system, because each DKMS build and each
# depmod takes minutes under TCG (the package builds for every kernel
# that has headers; two show it).
rm -f "$ROOT"/lib/modules/*-rt-*/build
mapfile -t KERNELS < <(headers_kernels)
ksft_diag "package $(basename "$DEB"); kernels with headers: ${KERNELS[*]}"
ksft_eq "the overlay system has headers for two kernels (6.1, 6.12)" 2 "${#KERNELS[@]}"
ksft_check "before the package: no esp-offload in dpkg, DKMS or /usr/src" \
	eval '! in_root dpkg-query -W esp-offload-dkms >/dev/null 2>&1 &&
		[ ! -e "$ROOT/var/lib/dkms/esp-offload" ] &&
		[ ! -e "$ROOT/usr/src/esp-offload-$VERSION" ]'
mok_before=no
[ ! -e "$ROOT/var/lib/dkms/mok.key" ] || mok_before=yes
# The kernel's request_module runs this modprobe: the one of the system
# the package is installed in (on a gateway, simply /sbin/modprobe).
printf '#!/bin/sh\nexec /usr/sbin/chroot %s /sbin/modprobe "$@"\n' "$ROOT" > "$TOP/modprobe"
chmod 755 "$TOP/modprobe"
echo "$TOP/modprobe" > /proc/sys/kernel/modprobe

# --- install -------------------------------------------------------------
cp "$DEB" "$ROOT/tmp/"
start=$(date +%s)
in_root apt-get install -y "/tmp/$(basename "$DEB")" > "$LOGS/esp_package-install.log" 2>&1
rc=$?
sed 's/^/# apt: /' "$LOGS/esp_package-install.log" | grep -vE '^# apt: \.+$'
ksft_eq "apt-get install ./$(basename "$DEB") succeeds ($(($(date +%s) - start)) s)" 0 "$rc"
ksft_eq "dpkg: esp-offload-dkms $VERSION installed" "install ok installed $VERSION" \
	"$(in_root dpkg-query -W -f='${Status} ${Version}' esp-offload-dkms 2>&1)"
if [ $mok_before = no ]; then
	ksft_check "DKMS made its signing key on first use (/var/lib/dkms/mok.key, mok.pub)" \
		eval '[ -s "$ROOT/var/lib/dkms/mok.key" ] && [ -s "$ROOT/var/lib/dkms/mok.pub" ]'
else
	ksft_skip_case "DKMS made its signing key" "the host already has /var/lib/dkms/mok.key"
fi
for k in "${KERNELS[@]}"; do
	ko=$(dkms_module "$k")
	ksft_check "$k: dkms status says installed" \
		eval 'in_root dkms status -m esp-offload -v "$VERSION" -k "$k" | grep -q ": installed"'
	ksft_eq "$k: updates/dkms module: vermagic, version" "$k $VERSION" \
		"$(modinfo -F vermagic "$ko" 2>/dev/null | cut -d' ' -f1) $(modinfo -F version "$ko" 2>/dev/null)"
	ksft_eq "$k: signed with DKMS's key" "DKMS module signing key" \
		"$(modinfo -F signer "$ko" 2>/dev/null)"
	ksft_diag "$k: $(modinfo -F filename "$ko" | sed "s|^$ROOT||")," \
		"signer $(modinfo -F signer "$ko"), sig_key $(modinfo -F sig_key "$ko")"
done
ksft_check "the package's files: modprobe.d blacklist, modules-load.d, espo-stats, man page" \
	eval '[ -e "$ROOT/lib/modprobe.d/esp_offload.conf" ] &&
		[ "$(grep -v "^#" "$ROOT/usr/lib/modules-load.d/esp_offload.conf")" = esp_offload ] &&
		[ -x "$ROOT/usr/sbin/espo-stats" ] &&
		[ -e "$ROOT/usr/share/man/man8/espo-stats.8.gz" ]'
ksft_check "no test module in the package" \
	eval '! in_root dpkg -L esp-offload-dkms | grep -qE "espo_engine|selftests"'
ksft_eq "modprobe finds the DKMS build for the running kernel" \
	"/lib/modules/$KVER/updates/dkms/" "$(dirname "$(in_root modinfo -n esp_offload)")/"

# --- the first SA loads esp_offload --------------------------------------
test_payload 1000000 15
pair_topology || ksft_skip_all "cannot build the two namespaces"
dmesg_mark
traffic 0x7201 0x7202
rc=$?
ksft_eq "first ESP SA: the kernel loaded esp_offload through the alias, not esp4" \
	"esp_offload " "$(esp_modules)"
ksft_eq "1 MB over TCP through the transport SAs" 0 "$rc"
ksft_check "esp_offload carried it (its SA counters moved)" \
	eval '[[ "$(module_sa_line 0x00007201)" =~ packets\ [1-9] ]]'
ksft_eq "the loaded module is the DKMS build (srcversion)" \
	"$(modinfo -F srcversion "$(dkms_module "$KVER")")" "$(cat /sys/module/esp_offload/srcversion)"
ksft_check "espo-stats (the installed command) shows the SA in its namespace" \
	eval 'ip netns exec "$NS_A" chroot "$ROOT" /usr/sbin/espo-stats | grep -q "spi 0x00007201"'
dmesg_since | grep -E 'esp_offload|module verification' | sed 's/^/# dmesg: /'

# --- remove: flush, unload, apt-get remove ----------------------------------
# The order the guide gives: stop the IKE daemon (none here), flush the
# SAs, unload the module, then remove the package.
netns_cleanup
esp_unload_all
# The DKMS-signed build, for the lockdown case at the end.
xz -dc "$(dkms_module "$KVER")" > "$TOP/esp_offload-dkms.ko" 2>/dev/null ||
	cp "$(dkms_module "$KVER")" "$TOP/esp_offload-dkms.ko"
start=$(date +%s)
in_root apt-get remove -y esp-offload-dkms > "$LOGS/esp_package-remove.log" 2>&1
rc=$?
sed 's/^/# apt: /' "$LOGS/esp_package-remove.log"
ksft_eq "apt-get remove esp-offload-dkms succeeds ($(($(date +%s) - start)) s)" 0 "$rc"
ksft_check "removed: no module under updates/dkms, no blacklist, no DKMS entry" \
	eval '! ls "$ROOT"/lib/modules/*/updates/dkms/esp_offload.ko* >/dev/null 2>&1 &&
		[ ! -e "$ROOT/lib/modprobe.d/esp_offload.conf" ] &&
		[ -z "$(in_root dkms status -m esp-offload)" ]'
pair_topology || ksft_skip_all "cannot build the two namespaces"
traffic 0x7203 0x7204
rc=$?
ksft_eq "after removal the next SA loads the kernel's esp4" "esp4 " "$(esp_modules)"
ksft_eq "and esp4 carries TCP" 0 "$rc"
netns_cleanup
esp_unload_all

# --- Secure Boot's lockdown refuses a module signed by an unenrolled key ----
ko=$TOP/esp_offload-dkms.ko
ksft_diag "lockdown: $(cat /sys/kernel/security/lockdown 2>&1)"
if [ -w /sys/kernel/security/lockdown ] && echo integrity > /sys/kernel/security/lockdown; then
	dmesg_mark
	out=$(insmod "$ko" 2>&1)
	ksft_diag "insmod (lockdown=integrity, DKMS key not enrolled): $out"
	dmesg_since | sed 's/^/# dmesg: /'
	ksft_check "locked down: the DKMS-signed module is refused (Operation not permitted)" \
		eval '! module_loaded esp_offload && [[ $out == *"Operation not permitted"* ]]'
	ksft_check "with the kernel's lockdown message" \
		eval 'dmesg_since | grep -q "Lockdown: insmod: unsigned module loading is restricted; see man kernel_lockdown.7"'
	dmesg_mark
	out=$(insmod "$MODULE_KO" 2>&1)
	ksft_diag "insmod of the tree's unsigned build (lockdown=integrity): $out"
	dmesg_since | sed 's/^/# dmesg: /'
	ksft_check "locked down: an unsigned build is refused the same way" \
		eval '! module_loaded esp_offload && [[ $out == *"Operation not permitted"* ]] &&
			dmesg_since | grep -q "Lockdown: insmod: unsigned module loading is restricted"'
else
	ksft_skip_case "locked down: refused" "no lockdown LSM"
	ksft_skip_case "with the kernel's lockdown message" "no lockdown LSM"
	ksft_skip_case "locked down: an unsigned build is refused" "no lockdown LSM"
fi
ksft_check "dmesg clean" dmesg_clean
ksft_diag "esp_package took $(($(date +%s) - START)) s"
ksft_exit
