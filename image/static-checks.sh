#!/bin/bash
# Sealroom image: checks made without booting. One line per check ("PASS id: detail" / "FAIL id: detail"),
# then "static: N passed, M failed"; exit 1 if any failed.
#   static-checks.sh rootfs DIR        the root filesystem before it is squashed (run by build.sh)
#   static-checks.sh payload OUT_DIR   the built ISOs: dm-verity verifies, hashes and signature match
set -uo pipefail
PASSED=0
FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "PASS $1: $2"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $1: $2"; }
# is ID DETAIL COMMAND...: PASS when COMMAND exits 0.
is() {
    local id=$1 detail=$2
    shift 2
    if "$@" >/dev/null 2>&1; then pass "$id" "$detail"; else fail "$id" "$detail"; fi
}
masked() { [ "$(readlink "$R/etc/systemd/system/$1")" = /dev/null ]; }

rootfs_checks() {
    R=$1
    local kver m n present u notmasked notenabled
    kver=$(basename "$(ls -d "$R"/lib/modules/*)")
    m=$R/lib/modules/$kver/kernel
    n=$(find "$m" \( -path '*/drivers/net/*' -o -path '*/net/wireless/*' -o -path '*/net/mac80211/*' \
        -o -path '*/net/bluetooth/*' -o -path '*/drivers/bluetooth/*' -o -path '*/drivers/firewire/*' \
        -o -path '*/drivers/thunderbolt/*' \) -name '*.ko*' | wc -l)
    if [ "$n" = 0 ]; then pass modules.no-network "no module under drivers/net, net/wireless, mac80211, bluetooth, firewire, thunderbolt ($kver)"
    else fail modules.no-network "$n network/wireless/bluetooth modules in $kver"; fi
    if grep -qE '(drivers/net|net/wireless|bluetooth)/' "$R/lib/modules/$kver/modules.dep"; then fail modules.dep "modules.dep still names network modules (depmod not rerun)"
    else pass modules.dep "modules.dep names no network module"; fi
    is modules.blocklist "modprobe.d refuses e1000, virtio_net, iwlwifi, btusb" \
        grep -qE '^install (e1000|virtio_net|iwlwifi|btusb) /bin/false' "$R/etc/modprobe.d/sealroom-no-network.conf"
    present=""
    for b in sshd chronyd ntpd ntpdate dhclient dhcpcd wpa_supplicant avahi-daemon cups-browsed NetworkManager systemd-timesyncd; do
        for d in usr/sbin usr/bin sbin bin usr/lib/systemd; do [ -e "$R/$d/$b" ] && present="$present $d/$b"; done
    done
    if [ -z "$present" ]; then pass daemons.absent "no sshd, chrony/ntp, dhclient, wpa_supplicant, avahi, cups-browsed, timesyncd"
    else fail daemons.absent "present:$present"; fi
    notmasked=""
    for u in ctrl-alt-del.target systemd-timesyncd.service swap.target getty-static.service getty@tty2.service \
        getty@tty3.service getty@tty4.service getty@tty5.service getty@tty6.service serial-getty@ttyS0.service \
        dbus.service dbus.socket usbguard-dbus.service; do
        masked "$u" || notmasked="$notmasked $u"
    done
    if [ -z "$notmasked" ]; then pass units.masked "ctrl-alt-del, timesyncd, swap, getty-static, getty@tty2-6, serial-getty, dbus, usbguard-dbus masked"
    else fail units.masked "not masked:$notmasked"; fi
    is units.default "default target multi-user.target" test "$(readlink "$R/etc/systemd/system/default.target")" = /lib/systemd/system/multi-user.target
    notenabled=""
    for u in usbguard.service sealroom-apparmor.service cups.socket getty@tty1.service; do
        compgen -G "$R/etc/systemd/system/*.wants/$u" >/dev/null || notenabled="$notenabled $u"
    done
    if [ -z "$notenabled" ]; then pass units.enabled "usbguard, sealroom-apparmor, cups.socket, getty@tty1 enabled"
    else fail units.enabled "not enabled:$notenabled"; fi
    is kiosk.getty-dropin "getty@tty1 autologin of ceremony, only with the AppArmor profile loaded" grep -q -- '--autologin ceremony ' "$R/etc/systemd/system/getty@tty1.service.d/autologin.conf"
    is kiosk.fail-closed "the kiosk Requires= sealroom-apparmor.service" grep -qx 'Requires=sealroom-apparmor.service' "$R/etc/systemd/system/getty@tty1.service.d/autologin.conf"
    is kiosk.user "ceremony: uid 1000, login shell the kiosk" grep -qx 'ceremony:x:1000:1000::/home/ceremony:/usr/local/bin/sealroom-kiosk' "$R/etc/passwd"
    is kiosk.root-locked "root's password is locked in /etc/shadow" grep -q '^root:!' "$R/etc/shadow"
    is kiosk.no-sudo "no sudo, no su for the kiosk user" test ! -e "$R/usr/bin/sudo" -a -z "$(awk -F: '$1 ~ /^(sudo|wheel|adm)$/ {print $4}' "$R/etc/group")"
    is mem.journal-volatile "journald Storage=volatile" grep -qx 'Storage=volatile' "$R/etc/systemd/journald.conf.d/sealroom.conf"
    is mem.coredump "coredump Storage=none, core limit 0" grep -qx 'Storage=none' "$R/etc/systemd/coredump.conf.d/sealroom.conf"
    is kernel.sysctl "sysrq 0, core_pattern |/bin/false, kptr_restrict 2, ptrace_scope 2" grep -qx 'kernel.yama.ptrace_scope = 2' "$R/etc/sysctl.d/zz-sealroom.conf"
    is cups.local-only "cupsd.conf: Listen /run/cups/cups.sock only, Browsing No, WebInterface No" \
        test "$(grep -E '^\s*(Listen|Port|Browsing|WebInterface|BrowseLocalProtocols)' "$R/etc/cups/cupsd.conf" | tr -s ' ' | paste -sd';')" = 'Listen /run/cups/cups.sock;Browsing No;BrowseLocalProtocols none;WebInterface No'
    is usb.rules "usbguard allow-list by class, file mode 0600" test "$(stat -c %a "$R/etc/usbguard/rules.conf")" = 600 -a "$(grep -c '^allow with-interface match-all' "$R/etc/usbguard/rules.conf")" = 1
    is apparmor.profile "AppArmor profile sealroom denies inet/inet6/packet for /opt/sealroom/venv/bin/sealroom" \
        grep -q '^  deny network inet,' "$R/etc/apparmor.d/sealroom"
    is app.venv "sealroom imports in /opt/sealroom/venv and shows its version" chroot "$R" /opt/sealroom/venv/bin/sealroom --version
    is app.no-pip "no pip in the app venv" test ! -e "$R/opt/sealroom/venv/bin/pip"
    is app.scripts "ceremony scripts shipped (root-key-generation and its answers)" test -f "$R/opt/sealroom/ceremony_scripts/root-key-generation.yaml" -a -f "$R/opt/sealroom/ceremony_scripts/root-key-generation.answers.yaml"
    is app.manifest "software manifest /etc/sealroom/software.json (sealroom-software/1)" grep -q '"format": "sealroom-software/1"' "$R/etc/sealroom/software.json"
    is initrd.verity "the initramfs carries libcryptsetup.so.12 and live-boot" bash -c "chroot '$R' lsinitramfs /boot/initrd.img-$kver | grep -q 'libcryptsetup.so.12' && chroot '$R' lsinitramfs /boot/initrd.img-$kver | grep -q 'lib/live/boot'"
    is initrd.no-network "the initramfs has no network driver module" bash -c "! chroot '$R' lsinitramfs /boot/initrd.img-$kver | grep -qE 'kernel/drivers/net/|kernel/net/wireless/'"
    is selftest.trigger "self-test service and its udev trigger (label SRSELFTEST)" test -x "$R/usr/local/sbin/sealroom-selftest" -a -f "$R/etc/udev/rules.d/90-sealroom-selftest.rules"
    evidence_checks "$R" "$kver"
    is image.no-private-keys "no private key in /etc/ssl/private (no snakeoil)" test -z "$(ls -A "$R/etc/ssl/private" 2>/dev/null)"
    is image.machine-id "empty machine-id (each boot makes its own)" test ! -s "$R/etc/machine-id"
}

# The evidence medium: a FAT32 disk labelled SRLEVIDENCE is mounted at /media/evidence for the kiosk user,
# with these options; nothing else removable is ever mounted.
EVIDENCE_OPTIONS=rw,nosuid,nodev,noexec,sync,uid=1000,gid=1000,fmask=0177,dmask=0077
evidence_checks() {
    local R=$1 kver=$2 unit rules trigger wanting m missing mod
    unit=$R/etc/systemd/system/media-evidence.mount
    is evidence.mount-unit "media-evidence.mount: /dev/disk/by-label/SRLEVIDENCE on /media/evidence, vfat, $EVIDENCE_OPTIONS" \
        test "$(grep -E '^(What|Where|Type|Options)=' "$unit" 2>/dev/null | paste -sd';')" = \
        "What=/dev/disk/by-label/SRLEVIDENCE;Where=/media/evidence;Type=vfat;Options=$EVIDENCE_OPTIONS"
    # Every udev rule that starts the mount unit must match the label SRLEVIDENCE (and vfat).
    rules=$(grep -lsr 'media-evidence.mount' "$R/etc/udev/rules.d" "$R/lib/udev/rules.d" "$R/usr/lib/udev/rules.d")
    trigger=$(cat $rules /dev/null 2>/dev/null | grep -v '^#' | grep 'media-evidence.mount')
    if [ -n "$trigger" ] && ! grep -vq 'ENV{ID_FS_LABEL}=="SRLEVIDENCE"' <<<"$trigger" && ! grep -vq 'ENV{ID_FS_TYPE}=="vfat"' <<<"$trigger"; then
        pass evidence.trigger "udev starts media-evidence.mount only for a vfat disk labelled SRLEVIDENCE ($(basename $rules))"
    else
        fail evidence.trigger "udev rules naming media-evidence.mount: '${trigger:-none}'"
    fi
    wanting=$(find "$R/etc/systemd/system" -maxdepth 1 \( -name '*.mount' ! -name media-evidence.mount -o -name '*.automount' \) 2>/dev/null)
    if [ -z "$wanting" ] && ! compgen -G "$R/usr/lib/udisks2/udisksd" >/dev/null && ! compgen -G "$R/usr/libexec/udisks2/udisksd" >/dev/null \
        && ! grep -qsvE '^\s*(#|$)' "$R/etc/fstab"; then
        pass evidence.nothing-else "no other mount or automount unit, no udisks, no fstab entry"
    else
        fail evidence.nothing-else "other mounts:$(tr '\n' ' ' <<<"$wanting") $(grep -svE '^\s*(#|$)' "$R/etc/fstab" | tr '\n' ';')"
    fi
    m=$R/lib/modules/$kver
    missing=""
    for mod in fat vfat nls_cp437; do
        find "$m/kernel/fs" -name "$mod.ko*" 2>/dev/null | grep -q . || grep -qs "/$mod.ko" "$m/modules.builtin" || missing="$missing $mod"
    done
    if [ -z "$missing" ]; then pass evidence.modules "fat, vfat, nls_cp437 in $kver"; else fail evidence.modules "missing:$missing"; fi
    is evidence.kiosk "the kiosk waits for the medium in production (EVIDENCE=/media/evidence)" \
        bash -c "grep -qx 'EVIDENCE=/media/evidence' '$R/etc/sealroom/kiosk.conf' && grep -q 'wait_for_evidence' '$R/usr/local/bin/sealroom-kiosk'"
}

payload_checks() {
    local out=$1 tmp roothash
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' RETURN
    roothash=$(cat "$out/roothash")
    is payload.sha256sums "SHA256SUMS matches the ISOs and UKIs" bash -c "cd '$out' && sha256sum --quiet -c SHA256SUMS"
    if xorriso -osirrox on -indev "$out/sealroom.iso" -extract /live "$tmp/live" -extract /boot/grub/grub.cfg "$tmp/grub.cfg" >/dev/null 2>&1; then
        if veritysetup verify "$tmp/live/filesystem.squashfs" "$tmp/live/filesystem.squashfs.verity" "$roothash" >/dev/null 2>&1; then
            pass payload.verity "veritysetup verify: every block of the squashfs in sealroom.iso matches root hash $roothash"
        else
            fail payload.verity "veritysetup verify failed for the squashfs in sealroom.iso against $roothash"
        fi
        is payload.grub-cmdline "grub.cfg boots with that root hash and panics on corruption" \
            grep -q "dm-verity-root-hash=filesystem.squashfs:$roothash dm-verity-oncorruption=panic" "$tmp/grub.cfg"
    else
        fail payload.verity "cannot read /live from $out/sealroom.iso"
    fi
    if xorriso -osirrox on -indev "$out/sealroom-sb.iso" -extract /live/sealroom-medium.json "$tmp/medium-sb.json" >/dev/null 2>&1 \
        && grep -q "\"verity_root_hash\": \"$roothash\"" "$tmp/live/sealroom-medium.json" "$tmp/medium-sb.json"; then
        pass payload.medium-manifest "live/sealroom-medium.json on both ISOs names root hash $roothash"
    else
        fail payload.medium-manifest "live/sealroom-medium.json missing or without root hash $roothash"
    fi
    objcopy -O binary --only-section=.cmdline "$out/sealroom-uki.efi" "$tmp/cmdline" 2>/dev/null
    is payload.uki-cmdline "the UKI's .cmdline carries root hash $roothash" grep -q "dm-verity-root-hash=filesystem.squashfs:$roothash" "$tmp/cmdline"
    is payload.uki-signed "the signed UKI verifies against ${SB_CERT:=/usr/share/ovmf/PkKek-1-snakeoil.pem}" sbverify --cert "$SB_CERT" "$out/sealroom-uki.signed.efi"
    if xorriso -osirrox on -indev "$out/sealroom-sb.iso" -extract /boot/esp.img "$tmp/esp.img" >/dev/null 2>&1 \
        && mcopy -n -i "$tmp/esp.img" ::/EFI/BOOT/BOOTX64.EFI "$tmp/bootx64.efi" 2>/dev/null \
        && cmp -s "$tmp/bootx64.efi" "$out/sealroom-uki.signed.efi"; then
        pass payload.sb-iso "sealroom-sb.iso boots exactly sealroom-uki.signed.efi"
    else
        fail payload.sb-iso "sealroom-sb.iso's EFI/BOOT/BOOTX64.EFI is not sealroom-uki.signed.efi"
    fi
}

case "${1:-}" in
    rootfs) rootfs_checks "$2"; label=static ;;
    payload) payload_checks "$2"; label=payload ;;
    *) echo "usage: $0 rootfs DIR | payload OUT_DIR" >&2; exit 2 ;;
esac
echo "$label: $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
