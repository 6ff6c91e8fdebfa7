#!/bin/bash
# Sealroom image: configure the freshly bootstrapped root filesystem (an mmdebstrap customize hook).
# Usage: customize.sh ROOTFS. Needs IMAGE_DIR, BUILD_DIR and SOURCE_DATE_EPOCH from build.sh.
set -euo pipefail
R=$1
: "${IMAGE_DIR:?}" "${BUILD_DIR:?}" "${SOURCE_DATE_EPOCH:?}"
in_root() { chroot "$R" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 SOURCE_DATE_EPOCH="$SOURCE_DATE_EPOCH" "$@"; }
step() { printf '[customize] %s\n' "$*"; }

step "hardening overlay ($IMAGE_DIR/overlay)"
cp -a --no-preserve=ownership,timestamps "$IMAGE_DIR/overlay/." "$R/"
chmod 0600 "$R/etc/usbguard/rules.conf" "$R/etc/usbguard/usbguard-daemon.conf"
chmod 0755 "$R/usr/local/bin/sealroom-kiosk" "$R/usr/local/sbin/sealroom-selftest" \
    "$R/etc/initramfs-tools/hooks/sealroom-verity"

step "user ceremony (login shell: the kiosk), root locked"
in_root useradd --create-home --uid 1000 --user-group --shell /usr/local/bin/sealroom-kiosk ceremony
in_root passwd --lock root
echo "Etc/UTC" > "$R/etc/timezone"
ln -sf /usr/share/zoneinfo/Etc/UTC "$R/etc/localtime"
echo sealroom > "$R/etc/hostname"

step "systemd units: masks, default target"
in_root systemctl mask ctrl-alt-del.target systemd-timesyncd.service swap.target \
    getty-static.service getty@tty2.service getty@tty3.service getty@tty4.service \
    getty@tty5.service getty@tty6.service serial-getty@ttyS0.service \
    systemd-networkd.service systemd-resolved.service cups-browsed.service avahi-daemon.service \
    apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer dpkg-db-backup.timer \
    dbus.service dbus.socket usbguard-dbus.service
in_root systemctl enable usbguard.service sealroom-apparmor.service cups.socket getty@tty1.service
in_root systemctl set-default multi-user.target

step "Sealroom into /opt/sealroom/venv from hash-pinned wheels"
mkdir -p "$R/tmp/wheels"
cp "$BUILD_DIR"/wheels/*.whl "$IMAGE_DIR/requirements.lock" "$BUILD_DIR/sealroom-wheel.lock" "$R/tmp/wheels/"
in_root python3 -m venv /opt/sealroom/venv
in_root /opt/sealroom/venv/bin/python -m pip install --quiet --no-index --no-deps --require-hashes \
    --no-cache-dir --find-links /tmp/wheels -r /tmp/wheels/requirements.lock
in_root /opt/sealroom/venv/bin/python -m pip install --quiet --no-index --no-deps --require-hashes \
    --no-cache-dir --find-links /tmp/wheels -r /tmp/wheels/sealroom-wheel.lock
in_root /opt/sealroom/venv/bin/python -m pip uninstall --quiet --yes pip setuptools
rm -rf "$R/tmp/wheels"
# The software manifest (every installed distribution's files by SHA-256, docs/preflight.md), written by
# the image's own interpreter; `sealroom preflight --check software` compares the running system with it.
mkdir -p "$R/etc/sealroom"
in_root /opt/sealroom/venv/bin/python -m sealroom.preflight.manifest --out /etc/sealroom/software.json
mkdir -p "$R/opt/sealroom/ceremony_scripts"
cp -a --no-preserve=ownership,timestamps "$BUILD_DIR/src/ceremony_scripts/." "$R/opt/sealroom/ceremony_scripts/"
chmod -R a+rX,go-w "$R/opt/sealroom"

KVER=$(basename "$(ls -d "$R"/lib/modules/*)")
step "kernel $KVER: delete network, wireless, bluetooth, firewire, thunderbolt modules"
M=$R/lib/modules/$KVER/kernel
before=$(find "$M" -name '*.ko*' | wc -l)
rm -rf "$M/drivers/net" "$M/net/wireless" "$M/net/mac80211" "$M/net/bluetooth" "$M/net/can" \
    "$M/net/sctp" "$M/net/tipc" "$M/net/rds" "$M/net/dccp" "$M/net/nfc" "$M/net/6lowpan" \
    "$M/net/ieee802154" "$M/net/mac802154" "$M/drivers/bluetooth" "$M/drivers/infiniband" \
    "$M/drivers/isdn" "$M/drivers/firewire" "$M/drivers/thunderbolt" "$M/drivers/nfc" \
    "$M/drivers/net/wireless"
after=$(find "$M" -name '*.ko*' | wc -l)
step "modules: $before -> $after"
in_root depmod -a "$KVER"
step "initramfs (live-boot, libcryptsetup hook)"
in_root update-initramfs -u -k "$KVER"

step "AppArmor profile compiles"
in_root apparmor_parser --skip-kernel-load --skip-cache --quiet /etc/apparmor.d/sealroom

step "remove build-time state (reproducible, nothing host-specific)"
# ssl-cert (a dependency of cups-daemon) makes a random "snakeoil" key pair at install: a private key
# nobody needs (CUPS listens on no TCP port) and a different image on every build.
find "$R/etc/ssl/certs" -lname '*ssl-cert-snakeoil.pem' -delete
rm -f "$R/etc/ssl/private/ssl-cert-snakeoil.key" "$R/etc/ssl/certs/ssl-cert-snakeoil.pem"
: > "$R/etc/machine-id"
rm -f "$R/var/lib/dbus/machine-id" "$R/var/cache/ldconfig/aux-cache" \
    "$R/var/lib/systemd/catalog/database" "$R/etc/ssh/ssh_host_"* "$R/etc/usbguard/rules.d/"*
rm -rf "$R/var/lib/apt/lists/"* "$R/var/cache/apt/"*.bin "$R/var/cache/debconf/"*-old \
    "$R/var/log/"*.log "$R/var/log/apt/"* "$R/root/.cache" "$R/tmp/"* "$R/var/tmp/"*
# Debian compiles stdlib .pyc files with the build time inside; the venv's are checked-hash (pip with
# SOURCE_DATE_EPOCH) and stay, so the app starts without compiling.
find "$R/usr" -name "__pycache__" -type d -prune -exec rm -rf {} +
# Clamp every timestamp newer than the commit to the commit time (mksquashfs also sets all of them).
find "$R" \( -path "$R/proc" -o -path "$R/sys" -o -path "$R/dev" -o -path "$R/run" \) -prune -o \
    -newermt "@$SOURCE_DATE_EPOCH" -exec touch --no-dereference --date="@$SOURCE_DATE_EPOCH" {} +
step "done"
