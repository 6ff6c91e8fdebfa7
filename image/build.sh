#!/bin/bash
# Sealroom image: build the verified live appliance (make image). Plain steps, each one printed:
#   wheels -> mmdebstrap rootfs (+ customize.sh) -> static checks + package lock -> squashfs -> dm-verity
#   -> GRUB ISO (BIOS + UEFI) -> UKI (stub + kernel + initrd + cmdline with the root hash) -> signed UKI ISO
#   -> SHA256SUMS.
# Environment: UPDATE_LOCK=1 rewrites image/packages.lock instead of failing on a difference;
# SB_KEY/SB_CERT/SB_PASS sign the UKI with the CA's own db key instead of the OVMF test key;
# SQUASHFS_COMP (default "zstd -Xcompression-level 3"; release builds may use "xz -Xbcj x86").
set -euo pipefail
IMAGE_DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$IMAGE_DIR")
BUILD_DIR=${BUILD_DIR:-$IMAGE_DIR/build}
OUT_DIR=${OUT_DIR:-$IMAGE_DIR/out}
SB_KEY=${SB_KEY:-/usr/share/ovmf/PkKek-1-snakeoil.key}
SB_CERT=${SB_CERT:-/usr/share/ovmf/PkKek-1-snakeoil.pem}
SB_PASS=${SB_PASS:-snakeoil}
SQUASHFS_COMP=${SQUASHFS_COMP:-zstd -Xcompression-level 3}
SUITE=bookworm
export IMAGE_DIR BUILD_DIR

T0=$(date +%s)
step() { printf '\n[image %4ds] %s\n' "$(( $(date +%s) - T0 ))" "$*"; }
die() { printf 'image build: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (mmdebstrap --mode=root, chroot): sudo make image"
for tool in mmdebstrap mksquashfs veritysetup xorriso grub-mkimage mformat mcopy mkfs.vfat objcopy sbsign sbverify openssl git; do
    command -v "$tool" >/dev/null || die "missing tool $tool: 'make image' installs the build tools"
done
STUB=/usr/lib/systemd/boot/efi/linuxx64.efi.stub
[ -e "$STUB" ] || die "missing $STUB (package systemd-boot-efi)"

SOURCE_DATE_EPOCH=$(git -C "$ROOT" log -1 --format=%ct)
COMMIT=$(git -C "$ROOT" rev-parse HEAD)
export SOURCE_DATE_EPOCH
dirty=$(git -C "$ROOT" status --porcelain -- app ceremony_scripts pyproject.toml image | grep -v '^??' || true)
[ -z "$dirty" ] || printf 'image build: WARNING: uncommitted changes go into this image:\n%s\n' "$dirty" >&2

# The mirrors are the ones this machine's apt uses (apt-get indextargets), so the build needs no other host.
debian_sources() {
    apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT) $(TARGET_OF)' \
        | awk -v s="$SUITE" '$4 == "deb" && ($2 == s || $2 == s "-updates" || $2 == s "-security") && $3 == "main" {print "deb " $1 " " $2 " main"}' \
        | sort -u
}
mapfile -t SOURCES < <(debian_sources)
if [ "${#SOURCES[@]}" = 0 ]; then
    # indextargets lists only sources whose package lists are present.
    apt-get update -q >/dev/null
    mapfile -t SOURCES < <(debian_sources)
fi
[ "${#SOURCES[@]}" -gt 0 ] || die "no Debian $SUITE source in this machine's apt configuration (/etc/apt/sources.list*)"

# RESUME_ROOTFS=1 (debugging the later steps only, never for an image you publish): keep the root
# filesystem of the last failed build and start again after it.
if [ "${RESUME_ROOTFS:-0}" = 1 ] && [ -e "$BUILD_DIR/rootfs/etc/os-release" ]; then
    RESUME=1
    echo "image build: WARNING: RESUME_ROOTFS=1 reuses $BUILD_DIR/rootfs; do not publish this image" >&2
else
    RESUME=0
fi
# Never rm -rf a tree with /proc, /sys or /dev still mounted in it (a killed earlier build).
! grep -q " $BUILD_DIR/" /proc/mounts || die "file systems are still mounted under $BUILD_DIR (an interrupted build): umount them first (grep $BUILD_DIR /proc/mounts)"
[ "$RESUME" = 1 ] || rm -rf "$BUILD_DIR"
rm -rf "$BUILD_DIR/iso" "$BUILD_DIR/iso-sb" "$BUILD_DIR/uki"
mkdir -p "$BUILD_DIR"/{wheels,src} "$OUT_DIR"
rm -f "$OUT_DIR"/*.iso "$OUT_DIR"/*.efi "$OUT_DIR"/SHA256SUMS "$OUT_DIR"/roothash "$OUT_DIR"/build-info.txt
step "commit $COMMIT, SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH ($(date -u -d "@$SOURCE_DATE_EPOCH" +%FT%TZ))"
printf '  %s\n' "${SOURCES[@]}"

if [ "$RESUME" = 0 ]; then
step "wheels: the locked dependencies (by hash) and the sealroom wheel built from the checkout"
# Every pin in pyproject.toml must be in requirements.lock at the same version (a new or changed pin
# needs image/lock-requirements.sh), or the image would lack what the app imports.
stale=$(python3 - "$ROOT/pyproject.toml" "$IMAGE_DIR/requirements.lock" <<'PY'
import re, sys, tomllib
pins = tomllib.load(open(sys.argv[1], "rb"))["project"]["dependencies"]
locked = set(re.findall(r"^([a-z0-9-]+==\S+)", open(sys.argv[2]).read(), re.M))
norm = lambda pin: re.sub(r"[-_.]+", "-", pin.split("==")[0]).lower() + "==" + pin.split("==")[1]
print(" ".join(pin for pin in pins if "==" not in pin or norm(pin) not in locked))
PY
)
[ -z "$stale" ] || die "image/requirements.lock does not pin $stale as pyproject.toml does: run image/lock-requirements.sh, review the diff and commit it"
PIP=${PIP:-$ROOT/.venv/bin/pip}
[ -x "${PIP%% *}" ] || PIP="python3 -m pip"
$PIP download --quiet --disable-pip-version-check --no-deps --only-binary=:all: --require-hashes \
    --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_34_x86_64 --python-version 3.11 \
    --implementation cp --abi cp311 --abi abi3 --abi none \
    --dest "$BUILD_DIR/wheels" -r "$IMAGE_DIR/requirements.lock" 2> >(grep -v '^WARNING: Location' >&2)
cp -a "$ROOT/pyproject.toml" "$ROOT/README.md" "$BUILD_DIR/src/"
(cd "$ROOT" && tar --exclude='__pycache__' --exclude='*.egg-info' -cf - app ceremony_scripts) | tar -xf - -C "$BUILD_DIR/src"
$PIP wheel --quiet --disable-pip-version-check --no-deps --wheel-dir "$BUILD_DIR/wheels" "$BUILD_DIR/src" \
    > "$BUILD_DIR/wheel.log" 2>&1 || { cat "$BUILD_DIR/wheel.log" >&2; die "building the sealroom wheel failed"; }
wheel=$(ls "$BUILD_DIR"/wheels/sealroom-*.whl)
printf 'sealroom==%s --hash=sha256:%s\n' "$(basename "$wheel" | cut -d- -f2)" "$(sha256sum "$wheel" | cut -d' ' -f1)" \
    > "$BUILD_DIR/sealroom-wheel.lock"
echo "  $(ls "$BUILD_DIR"/wheels | wc -l) wheels; $(cat "$BUILD_DIR/sealroom-wheel.lock")"

step "root filesystem: mmdebstrap $SUITE minbase + image/packages.include, then customize.sh"
mkdir -p "$BUILD_DIR/rootfs"
INCLUDE=$(grep -v '^\s*#' "$IMAGE_DIR/packages.include" | grep . | paste -sd, -)
mmdebstrap --mode=root --variant=minbase --include="$INCLUDE" \
    --aptopt='APT::Install-Recommends "false"' --aptopt='APT::Install-Suggests "false"' \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    --customize-hook='"$IMAGE_DIR/customize.sh" "$1"' \
    "$SUITE" "$BUILD_DIR/rootfs/" "${SOURCES[@]}"
fi
R=$BUILD_DIR/rootfs
KVER=$(basename "$(ls -d "$R"/lib/modules/*)")

step "static checks of the root filesystem (image/static-checks.sh)"
"$IMAGE_DIR/static-checks.sh" rootfs "$R"

step "package lock: image/packages.lock against the packages in the image"
chroot "$R" dpkg-query -W -f '${Package} ${Version} ${Architecture}\n' | LC_ALL=C sort > "$BUILD_DIR/packages.now"
if [ "${UPDATE_LOCK:-0}" = 1 ]; then
    { echo "# Sealroom image: every Debian package in the image (package version architecture)."
      echo "# The build fails when this differs from the image; update with: make image UPDATE_LOCK=1"
      cat "$BUILD_DIR/packages.now"; } > "$IMAGE_DIR/packages.lock"
    echo "  wrote image/packages.lock ($(wc -l < "$BUILD_DIR/packages.now") packages); review and commit it"
elif ! diff -u <(grep -v '^#' "$IMAGE_DIR/packages.lock" 2>/dev/null) "$BUILD_DIR/packages.now" > "$BUILD_DIR/packages.diff"; then
    cat "$BUILD_DIR/packages.diff" >&2
    die "the image's packages differ from image/packages.lock (diff above: - locked, + in this image).
A package was added, removed or updated on the mirror. Review the change, then run
'make image UPDATE_LOCK=1' and commit image/packages.lock."
else
    echo "  $(wc -l < "$BUILD_DIR/packages.now") packages, as locked"
fi

# What `sealroom preflight --check image` reads inside the squashfs (docs/preflight.md).
printf '{"format": "sealroom-image/1", "image_version": "%s", "commit": "%s", "source_date_epoch": %s, "packages_lock_sha256": "%s"}\n' \
    "${IMAGE_VERSION:-$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y.%m.%d)}" "$COMMIT" "$SOURCE_DATE_EPOCH" \
    "$(sha256sum "$IMAGE_DIR/packages.lock" | cut -d' ' -f1)" > "$R/etc/sealroom/image.json"
touch --date="@$SOURCE_DATE_EPOCH" "$R/etc/sealroom/image.json"
cat "$R/etc/sealroom/image.json"

step "squashfs ($SQUASHFS_COMP) and dm-verity"
ISO=$BUILD_DIR/iso
mkdir -p "$ISO/live" "$ISO/boot/grub" "$ISO/EFI/BOOT"
cp "$R/boot/vmlinuz-$KVER" "$ISO/live/vmlinuz"
cp "$R/boot/initrd.img-$KVER" "$ISO/live/initrd.img"
# mksquashfs takes SOURCE_DATE_EPOCH from the environment for the filesystem and every file's time.
# shellcheck disable=SC2086
mksquashfs "$R" "$ISO/live/filesystem.squashfs" -noappend -quiet -no-progress -comp $SQUASHFS_COMP -b 1M \
    -no-exports -no-xattrs -e boot
ROOTHASH=$(veritysetup format "$ISO/live/filesystem.squashfs" "$ISO/live/filesystem.squashfs.verity" \
    --salt="$(printf '%064d' 0)" --uuid=00000000-0000-0000-0000-000000000000 | awk '/^Root hash:/ {print $3}')
[ -n "$ROOTHASH" ] || die "veritysetup format printed no root hash"
veritysetup verify "$ISO/live/filesystem.squashfs" "$ISO/live/filesystem.squashfs.verity" "$ROOTHASH"
echo "$ROOTHASH" > "$OUT_DIR/roothash"
# Next to the squashfs on the medium (the squashfs cannot hold its own root hash); the ISO's own SHA-256
# cannot be inside the ISO either, so it is published beside it (SHA256SUMS).
printf '{"format": "sealroom-medium/1", "verity_root_hash": "%s", "iso_sha256": ""}\n' "$ROOTHASH" \
    > "$ISO/live/sealroom-medium.json"
echo "  squashfs $(du -m "$ISO/live/filesystem.squashfs" | cut -f1) MB, verity root hash $ROOTHASH"

LIVE="boot=live nopersistence noeject dm-verity-root-hash=filesystem.squashfs:$ROOTHASH dm-verity-oncorruption=panic"
HARDEN="ipv6.disable=1 lockdown=integrity slab_nomerge init_on_alloc=1 init_on_free=1 page_alloc.shuffle=1 randomize_kstack_offset=on vsyscall=none debugfs=off"
# Kernel messages go to the serial port and tty1; tty1 (last) is the console the kiosk lives on.
CMDLINE="$LIVE $HARDEN quiet console=ttyS0,115200 console=tty1"
echo "$CMDLINE" > "$OUT_DIR/cmdline"

step "GRUB ISO: BIOS (El Torito) + UEFI (unsigned GRUB, for machines without Secure Boot)"
G=/usr/lib/grub
MARK=".sealroom-${ROOTHASH:0:16}"
: > "$ISO/$MARK"
cat > "$BUILD_DIR/grub-early.cfg" <<CFG
search --no-floppy --file /$MARK --set=root
set prefix=(\$root)/boot/grub
configfile \$prefix/grub.cfg
CFG
cat > "$ISO/boot/grub/grub.cfg" <<CFG
# Sealroom $COMMIT. The entry cannot be edited at the menu (superusers set, no password exists).
set superusers="sealroom-nobody"
serial --unit=0 --speed=115200
terminal_input console serial
terminal_output console serial
set timeout=3
set default=0
menuentry "Sealroom (verified image ${ROOTHASH:0:16})" --unrestricted {
    linux /live/vmlinuz $CMDLINE
    initrd /live/initrd.img
}
CFG
MODS="linux normal search search_fs_file serial terminal configfile test echo iso9660 part_msdos part_gpt fat"
# shellcheck disable=SC2086
grub-mkimage -d "$G/i386-pc" -O i386-pc-eltorito -c "$BUILD_DIR/grub-early.cfg" -p /boot/grub \
    -o "$ISO/boot/grub/eltorito.img" biosdisk $MODS
# shellcheck disable=SC2086
grub-mkimage -d "$G/x86_64-efi" -O x86_64-efi -c "$BUILD_DIR/grub-early.cfg" -p /boot/grub \
    -o "$ISO/EFI/BOOT/BOOTX64.EFI" $MODS efi_gop all_video
touch --date="@$SOURCE_DATE_EPOCH" "$ISO/EFI/BOOT/BOOTX64.EFI"
mformat -C -f 2880 -L 16 -N 0 -i "$ISO/boot/grub/efi.img" ::.
mmd -i "$ISO/boot/grub/efi.img" ::/EFI ::/EFI/BOOT
mcopy -m -i "$ISO/boot/grub/efi.img" "$ISO/EFI/BOOT/BOOTX64.EFI" ::/EFI/BOOT/
find "$ISO" -exec touch --no-dereference --date="@$SOURCE_DATE_EPOCH" {} +
xorriso -as mkisofs -quiet -R -V SEALROOM -o "$OUT_DIR/sealroom.iso" \
    -b boot/grub/eltorito.img -no-emul-boot -boot-load-size 4 -boot-info-table --grub2-boot-info \
    --grub2-mbr "$G/i386-pc/boot_hybrid.img" \
    -eltorito-alt-boot -e boot/grub/efi.img -no-emul-boot -isohybrid-gpt-basdat "$ISO"

step "UKI: systemd stub + kernel + initramfs + command line (root hash), signed for Secure Boot"
UKI=$BUILD_DIR/uki
mkdir -p "$UKI"
printf '%s' "$CMDLINE" > "$UKI/cmdline"
cp "$R/etc/os-release" "$UKI/osrel"
objcopy --add-section .osrel="$UKI/osrel" --change-section-vma .osrel=0x20000 \
    --add-section .cmdline="$UKI/cmdline" --change-section-vma .cmdline=0x30000 \
    --add-section .linux="$ISO/live/vmlinuz" --change-section-vma .linux=0x2000000 \
    --add-section .initrd="$ISO/live/initrd.img" --change-section-vma .initrd=0x3000000 \
    "$STUB" "$OUT_DIR/sealroom-uki.efi"
# objcopy stamps the PE header with the current time: put the commit time there instead and recompute the
# PE checksum, so that a rebuild of the same commit gives the same unsigned UKI byte for byte.
python3 - "$OUT_DIR/sealroom-uki.efi" "$SOURCE_DATE_EPOCH" <<'PY'
import struct, sys
from array import array

path, stamp = sys.argv[1], int(sys.argv[2])
with open(path, "rb") as handle:
    data = bytearray(handle.read())
pe = struct.unpack_from("<I", data, 0x3C)[0]          # e_lfanew: where the PE signature is
struct.pack_into("<I", data, pe + 8, stamp)            # COFF header TimeDateStamp
checksum_at = pe + 24 + 64                             # optional header CheckSum (PE32 and PE32+)
struct.pack_into("<I", data, checksum_at, 0)
total = sum(array("H", bytes(data[: len(data) & ~1]))) + (data[-1] if len(data) % 2 else 0)
while total >> 16:
    total = (total & 0xFFFF) + (total >> 16)
struct.pack_into("<I", data, checksum_at, (total + len(data)) & 0xFFFFFFFF)
with open(path, "wb") as handle:
    handle.write(data)
PY
openssl pkey -in "$SB_KEY" -passin "pass:$SB_PASS" -out "$UKI/db.key"
sbsign --key "$UKI/db.key" --cert "$SB_CERT" --output "$OUT_DIR/sealroom-uki.signed.efi" "$OUT_DIR/sealroom-uki.efi" 2>&1 | grep -v '^Signing' || true
rm -f "$UKI/db.key"
sbverify --cert "$SB_CERT" "$OUT_DIR/sealroom-uki.signed.efi"
SBISO=$BUILD_DIR/iso-sb
mkdir -p "$SBISO/live" "$SBISO/boot"
ln "$ISO/live/filesystem.squashfs" "$ISO/live/filesystem.squashfs.verity" "$ISO/live/sealroom-medium.json" "$SBISO/live/"
size_mb=$(( $(stat -c %s "$OUT_DIR/sealroom-uki.signed.efi") / 1048576 + 4 ))
truncate -s "${size_mb}M" "$SBISO/boot/esp.img"
mkfs.vfat -i 00000000 -n ESP "$SBISO/boot/esp.img" >/dev/null
mmd -i "$SBISO/boot/esp.img" ::/EFI ::/EFI/BOOT
mcopy -m -i "$SBISO/boot/esp.img" "$OUT_DIR/sealroom-uki.signed.efi" ::/EFI/BOOT/BOOTX64.EFI
find "$SBISO" -exec touch --no-dereference --date="@$SOURCE_DATE_EPOCH" {} +
xorriso -as mkisofs -quiet -R -V SEALROOM -o "$OUT_DIR/sealroom-sb.iso" \
    -e boot/esp.img -no-emul-boot -isohybrid-gpt-basdat "$SBISO"

step "hashes (publish the ISO and the UNSIGNED UKI: a signature is not byte-reproducible)"
(cd "$OUT_DIR" && sha256sum sealroom.iso sealroom-sb.iso sealroom-uki.efi sealroom-uki.signed.efi > SHA256SUMS)
{
    echo "commit $COMMIT"
    echo "source_date_epoch $SOURCE_DATE_EPOCH"
    echo "kernel $KVER"
    echo "verity_root_hash $ROOTHASH"
    echo "cmdline $CMDLINE"
    echo "sb_cert $(openssl x509 -in "$SB_CERT" -noout -subject -fingerprint -sha256 | tr '\n' ' ')"
    printf 'mirror %s\n' "${SOURCES[@]}"
    echo "build_seconds $(( $(date +%s) - T0 ))"
} > "$OUT_DIR/build-info.txt"
cp "$BUILD_DIR/packages.now" "$OUT_DIR/packages.manifest"
cat "$OUT_DIR/SHA256SUMS"
ls -l "$OUT_DIR"
rm -rf "$BUILD_DIR"
step "image built in $(( $(date +%s) - T0 )) s; outputs in $OUT_DIR"
