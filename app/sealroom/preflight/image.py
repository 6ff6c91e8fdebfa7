"""The image check: booted from a Sealroom live image whose dm-verity root hash is the built one."""

from __future__ import annotations

import json
import re

from sealroom.ceremony.fingerprint import fingerprint_from_hex
from sealroom.ceremony.preflight import CheckResult
from sealroom.preflight.system import SystemView

IMAGE_FORMAT = "sealroom-image/1"
MEDIUM_FORMAT = "sealroom-medium/1"
VERITY_ARGUMENT = "dm-verity-root-hash"
VERITY_TARGET = "filesystem.squashfs"
_HASH = re.compile(r"^[0-9a-f]{64}$")

NOT_AN_IMAGE = "not booted from a Sealroom image"


def image_manifest_path(view: SystemView) -> str:
    return str(view.etc / "sealroom" / "image.json")


def medium_manifest_path(view: SystemView) -> str:
    return str(view.run / "live" / "medium" / "live" / "sealroom-medium.json")


def _load(path: str, view: SystemView, fmt: str) -> tuple[dict[str, object] | None, str | None]:
    """The manifest's object, or None and a sentence saying why it is unusable."""
    from pathlib import Path

    text = view.read_text(Path(path))
    if text is None:
        return None, f"{path} is missing"
    try:
        data = json.loads(text)
    except ValueError as exc:
        return None, f"{path} is not JSON ({exc})"
    if not isinstance(data, dict) or data.get("format") != fmt:
        return None, f"{path} is not a {fmt} manifest (its format field)"
    return data, None


def cmdline_root_hash(view: SystemView) -> str | None:
    """The hash in ``dm-verity-root-hash=filesystem.squashfs:<hash>`` on /proc/cmdline."""
    cmdline = view.read_text(view.proc / "cmdline") or ""
    for word in cmdline.split():
        name, _, value = word.partition("=")
        if name == VERITY_ARGUMENT:
            target, _, digest = value.partition(":")
            if target == VERITY_TARGET:
                return digest.lower()
    return None


def verity_devices(view: SystemView) -> tuple[str, ...]:
    """Device-mapper devices that veritysetup made (uuid ``CRYPT-VERITY-...``)."""
    found = []
    for name in view.entries(view.sys / "block"):
        uuid = view.read_text(view.sys / "block" / name / "dm" / "uuid")
        if uuid and uuid.startswith("CRYPT-VERITY-"):
            found.append(name)
    return tuple(found)


def image_result(view: SystemView) -> CheckResult:
    """PASS when booted from a Sealroom image whose verity root hash is the built one.

    The image manifest is present, the kernel verifies the root with dm-verity, and the root hash
    on the command line is the one the build wrote next to the squashfs.
    """
    image, why = _load(image_manifest_path(view), view, IMAGE_FORMAT)
    root_hash = cmdline_root_hash(view)
    facts: dict[str, str | tuple[str, ...]] = {
        "image_manifest": image_manifest_path(view),
        "medium_manifest": medium_manifest_path(view),
        "cmdline_root_hash": root_hash or "",
    }
    if image is None:
        return CheckResult("image", False, f"{NOT_AN_IMAGE}: {why}", facts)
    for key in ("image_version", "commit", "source_date_epoch", "packages_lock_sha256"):
        facts[key] = str(image.get(key, ""))
    if root_hash is None:
        return CheckResult(
            "image",
            False,
            f"{NOT_AN_IMAGE}: /proc/cmdline has no {VERITY_ARGUMENT}={VERITY_TARGET}:<hash>",
            facts,
        )
    if not _HASH.match(root_hash):
        return CheckResult(
            "image", False, "the dm-verity root hash on /proc/cmdline is not SHA-256 hex", facts
        )
    medium, why = _load(medium_manifest_path(view), view, MEDIUM_FORMAT)
    if medium is None:
        return CheckResult("image", False, f"the boot medium's manifest: {why}", facts)
    expected = str(medium.get("verity_root_hash", "")).lower()
    facts["expected_root_hash"] = expected
    facts["iso_sha256"] = str(medium.get("iso_sha256", ""))
    if root_hash != expected:
        return CheckResult(
            "image",
            False,
            f"the dm-verity root hash on /proc/cmdline ({root_hash}) is not the one in "
            f"{medium_manifest_path(view)} ({expected or 'none'})",
            facts,
        )
    devices = verity_devices(view)
    facts["verity_devices"] = devices
    if not devices:
        return CheckResult(
            "image",
            False,
            f"the command line names root hash {root_hash}, but no dm-verity device is active",
            facts,
        )
    words = fingerprint_from_hex(root_hash).words
    facts["root_hash_words"] = words
    return CheckResult(
        "image",
        True,
        f"Sealroom image {image.get('image_version', '?')} (commit "
        f"{str(image.get('commit', '?'))[:12]}); dm-verity root hash {root_hash} ({words}); "
        "compare with the published hash",
        facts,
    )
