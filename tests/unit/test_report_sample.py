"""Realistic ceremony journals for the report tests, written by the real JournalWriter.

They follow docs/journal-events.md and the engine's order (an action's own entries, then
step.completed), with real certificates, requests and CRLs made here with ``cryptography``: the
root key generation sample (with an inventory step, a break and deviations), and the shipped
key-compromise response, root CSR and key destruction scripts walked the same way.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import NameOID

from sealroom.ceremony.actions import journal_head_payload
from sealroom.ceremony.fingerprint import fingerprint_from_hex, sha256_fingerprint
from sealroom.ceremony.loader import LoadedScript, load_script
from sealroom.ceremony.ports import Actor
from sealroom.ceremony.preflight import CEREMONY_CHECKS, REHEARSAL_CHECKS
from sealroom.ceremony.script import (
    JOURNAL_HEAD,
    AcknowledgeStep,
    ActionStep,
    AttendanceStep,
    BackupSpec,
    BreakStep,
    ConfirmStep,
    EntryStep,
    Script,
    SignOffStep,
    WitnessCheckStep,
    utc_text,
)
from sealroom.journal.reader import read_entries
from sealroom.journal.store import JournalWriter
from sealroom.journal.verify import verify_journal
from sealroom.transfer.frames import encode_frames

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "ceremony_scripts" / "root-key-generation.yaml"
EVENTS_DOC = ROOT / "docs" / "journal-events.md"


class SampleClock:
    """Starts at 09:00:00 on the ceremony day and moves 37.5 seconds per reading."""

    def __init__(self) -> None:
        self.moment = datetime(2027, 1, 15, 9, 0, 0, tzinfo=UTC)

    def now(self) -> datetime:
        self.moment += timedelta(seconds=37, microseconds=500000)
        return self.moment


@functools.cache
def sample_root_key() -> rsa.RSAPrivateKey:
    """The RSA-4096 key standing in for the HSM's root key in every sample."""
    return rsa.generate_private_key(public_exponent=65537, key_size=4096)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "XX"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example Trust Services"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _spki(key: Any) -> bytes:
    return bytes(key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo))


@functools.cache
def sample_certificate() -> tuple[bytes, bytes, str]:
    """(SPKI DER, certificate DER, PEM) of a self-signed RSA-4096 root made like the script's."""
    key = sample_root_key()
    name = _name("Example Root CA R1")
    spki = key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(0x3A7F15C2D9E04B6681A2C3D4E5F60718)
        .not_valid_before(datetime(2027, 1, 15, tzinfo=UTC))
        .not_valid_after(datetime(2047, 1, 15, tzinfo=UTC))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    der = certificate.public_bytes(Encoding.DER)
    pem = certificate.public_bytes(Encoding.PEM).decode("ascii")
    return spki, der, pem


@functools.cache
def sample_issuing_key() -> ec.EllipticCurvePrivateKey:
    """The P-384 key of the Example Issuing CA G2, made in its own ceremony elsewhere."""
    return ec.generate_private_key(ec.SECP384R1())


@functools.cache
def sample_issuing_request() -> bytes:
    """The DER of the G2 CSR imported by QR codes in the key-compromise sample."""
    key = sample_issuing_key()
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(_name("Example Issuing CA G2"))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA384())
    )
    return request.public_bytes(Encoding.DER)


@functools.cache
def sample_root_request() -> tuple[bytes, str]:
    """(DER, PEM) of the root's own CSR (to be cross-signed), signed with the root key."""
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(_name("Example Root CA R1"))
        .sign(sample_root_key(), hashes.SHA256())
    )
    return request.public_bytes(Encoding.DER), request.public_bytes(Encoding.PEM).decode("ascii")


def sample_subordinate(
    not_before: datetime, not_after: datetime, path_length: int | None
) -> tuple[bytes, str]:
    """(DER, PEM) of the G2 certificate signed by the root key from the G2 request."""
    request = x509.load_der_x509_csr(sample_issuing_request())
    root = sample_root_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(request.subject)
        .issuer_name(_name("Example Root CA R1"))
        .public_key(request.public_key())
        .serial_number(0x01_5E_93_C4_7A_0B_D2_18_6F_E4_21_9C_3D_70_A8_B5_44)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(request.public_key()), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root.public_key()), critical=False
        )
        .sign(root, hashes.SHA256())
    )
    return (
        certificate.public_bytes(Encoding.DER),
        certificate.public_bytes(Encoding.PEM).decode("ascii"),
    )


REASONS = {
    "unspecified": x509.ReasonFlags.unspecified,
    "key-compromise": x509.ReasonFlags.key_compromise,
    "ca-compromise": x509.ReasonFlags.ca_compromise,
    "affiliation-changed": x509.ReasonFlags.affiliation_changed,
    "superseded": x509.ReasonFlags.superseded,
    "cessation-of-operation": x509.ReasonFlags.cessation_of_operation,
}


def sample_crl(
    number: int,
    this_update: datetime,
    next_update: datetime,
    revoked: tuple[tuple[str, datetime, str], ...],
) -> tuple[bytes, str]:
    """(DER, PEM) of a CRL signed by the root key, revoking (serial hex, time, reason) each."""
    root = sample_root_key()
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(_name("Example Root CA R1"))
        .last_update(this_update)
        .next_update(next_update)
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root.public_key()), critical=False
        )
    )
    for serial, revoked_at, reason in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(int(serial, 16))
            .revocation_date(revoked_at)
            .add_extension(x509.CRLReason(REASONS[reason]), critical=False)
            .build()
        )
    crl = builder.sign(root, hashes.SHA256())
    return crl.public_bytes(Encoding.DER), crl.public_bytes(Encoding.PEM).decode("ascii")


SAMPLE_SCRIPT_NAME = "root-key-generation-sample.yaml"
"""The sample's script: the reference script with the extra steps listed in sample_script_data."""

CLOCK_OFFSET = "+2"
"""Typed at the clock step: the reference clock was 2 s ahead, the workstation 2 s behind."""
CCTV_DEVIATION = {
    "expected": "CCTV recording throughout (physical security of room B-104)",
    "observed": "Camera 2 showed no recording light when the room was checked",
    "decision": "proceed",
    "note": "Security restarted camera 2 at 09:06; the auditor noted the gap on her worksheet.",
}
CAMERA_DEVIATION = {
    "expected": "photographs of the sealed bags from the evidence camera",
    "observed": "the evidence camera's battery is flat and no spare is in the room",
    "decision": "skip",
    "note": "The bag serials typed and checked at the next steps stand in for the photographs.",
}
SIGNOFF_COMMENTS = {
    "erin": "Followed; the camera 2 gap and the missing bag photographs are recorded deviations.",
}


@functools.cache
def loaded_script() -> LoadedScript:
    """The reference script as shipped (ceremony_scripts/root-key-generation.yaml)."""
    return load_script(SCRIPT)


def sample_script_data() -> dict[str, Any]:
    """The reference script with what it lacks to produce every journal event, as data.

    The reference root key generation has no break and no typed confirmation. The sample adds,
    derived from the reference (its key label, its acts, its bags):

    - ``confirm`` words on the generate-key step ("GENERATE <key label>");
    - an acknowledge step photographing the bags before the first bag check (the room skips it:
      a deviation decided ``skip``);
    - an ``inventory-token`` step right after the login (EV-DEVICE, EV-SETTINGS);
    - a break before the hand-over, re-checking the bags of every material sealed in the closing.
    """
    script = loaded_script().script
    data: dict[str, Any] = script.model_dump(mode="json", exclude_defaults=True)
    steps: list[dict[str, Any]] = data["steps"]
    for step in steps:
        if step.get("action") == "generate-key":
            step["confirm"] = f"GENERATE {script.key(step['params']['key']).label}"
    first_bag = next(i for i, s in enumerate(steps) if "EV-TEB" in s.get("evidence", ()))
    steps.insert(
        first_bag,
        {
            "id": "photograph-bags",
            "act": steps[first_bag]["act"],
            "kind": "acknowledge",
            "title": "Photograph the sealed bags",
            "instruction": "Before any bag is opened, photograph each bag with its serial "
            "readable, using the evidence camera.",
            "performer": "administrator",
            "witnesses": ["auditor"],
            "evidence": ["EV-TEB"],
        },
    )
    login = next(i for i, s in enumerate(steps) if s.get("action") == "hsm-login")
    steps.insert(
        login + 1,
        {
            "id": "inventory-token",
            "act": steps[login]["act"],
            "kind": "action",
            "title": "Read the HSM's details and objects",
            "instruction": "The workstation reads the token's identity, the settings of the "
            "mechanisms the root key uses and the objects it holds; a new token holds none.",
            "action": "inventory-token",
            "performer": steps[login]["performer"],
            "witnesses": ["internal-witness", "auditor"],
            "evidence": ["EV-DEVICE", "EV-SETTINGS"],
        },
    )
    sealed = [m.id for m in script.materials if m.bag_out is not None]
    custody = next(i for i, s in enumerate(steps) if "EV-CUSTODY" in s.get("evidence", ()))
    steps.insert(
        custody,
        {
            "id": "break-before-hand-over",
            "act": "closing",
            "kind": "break",
            "title": "Break before the hand-over",
            "instruction": "The sealed materials stay on the table in view of the camera. On "
            "return the performer types each bag's serial again.",
            "performer": "administrator",
            "witnesses": ["auditor"],
            "recheck_bags": sealed,
        },
    )
    return data


def sample_script(directory: Path) -> LoadedScript:
    """Write the sample script into ``directory`` and load it as the engine would."""
    return _write_script(
        directory / SAMPLE_SCRIPT_NAME,
        "# Sealroom sample: the reference root key generation with a bag photograph step, an\n"
        "# inventory, a break and a typed confirmation (tests/unit/test_report_sample.py writes\n"
        "# this file).\n",
        sample_script_data(),
    )


def _write_script(path: Path, header: str, data: dict[str, Any]) -> LoadedScript:
    text = header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return load_script(path)


OTHER_SAMPLES = (
    "key-compromise-response",
    "root-csr",
    "key-destruction",
    "hsm-initialisation",
    "key-backup",
    "key-recovery",
    "key-migration",
    "custodian-change",
)
"""Shipped scripts the sample walks as they are (the compromise response with one change)."""
USER_PIN, SO_PIN = "HSM user PIN", "HSM security officer PIN"
SHARE_SETS = {USER_PIN: (21943, "5e0c7a"), SO_PIN: (9382, "c41d07")}
"""The (SLIP-39 set identifier, check value) of each PIN split in the hsm-initialisation sample."""
SHARE_BAGS = {USER_PIN: "TEB-2313{:02d}", SO_PIN: "TEB-2314{:02d}"}
"""The bag each custodian's share sheet is sealed in (member number filled in)."""
REFUSED_SHARES = (
    ("bob", "Share from Bob Okafor: word 7 is not a SLIP-39 word; check it against the sheet."),
    (
        "carol",
        "Share from Carol Nguyen: this share belongs to another share set (set identifier "
        f"{SHARE_SETS[SO_PIN][0]}, expected {SHARE_SETS[USER_PIN][0]}).",
    ),
)
"""Each custodian's first try at the activation, refused as the share collector words it."""


def other_script(directory: Path, name: str) -> LoadedScript:
    """The shipped script ``name``; the compromise response lists the sample root's SHA-256.

    So that one of its two inputs is the object the script lists and the other (the G2 request,
    whose SHA-256 the shipped script makes up) is a rehearsal stand-in.
    """
    loaded = load_script(ROOT / "ceremony_scripts" / f"{name}.yaml")
    if name != "key-compromise-response":
        return loaded
    data: dict[str, Any] = loaded.script.model_dump(mode="json", exclude_defaults=True)
    _, der, _ = sample_certificate()
    for item in data["inputs"]:
        if item["id"] == "root-certificate":
            item["expected_sha256"] = hashlib.sha256(der).hexdigest()
    return _write_script(
        directory / f"{name}-sample.yaml",
        f"# Sealroom sample: ceremony_scripts/{name}.yaml listing the sample root's SHA-256.\n",
        data,
    )


def _fpr(data: bytes) -> dict[str, str]:
    return sha256_fingerprint(data).to_json()


SOFTHSM_MECHANISMS: dict[str, dict[str, Any]] = {
    "CKM_RSA_PKCS_KEY_PAIR_GEN": {"min": 512, "max": 16384, "flags": ["GENERATE_KEY_PAIR"]},
    "CKM_SHA256_RSA_PKCS": {"min": 512, "max": 16384, "flags": ["SIGN", "VERIFY"]},
    "CKM_SHA384_RSA_PKCS": {"min": 512, "max": 16384, "flags": ["SIGN", "VERIFY"]},
    "CKM_EC_KEY_PAIR_GEN": {
        "min": 256,
        "max": 521,
        "flags": ["GENERATE_KEY_PAIR", "EC_F_P", "EC_NAMEDCURVE", "EC_UNCOMPRESS"],
    },
    "CKM_ECDSA": {
        "min": 256,
        "max": 521,
        "flags": ["SIGN", "VERIFY", "EC_F_P", "EC_NAMEDCURVE", "EC_UNCOMPRESS"],
    },
}
KEY_MECHANISMS = {
    "rsa-3072": ("CKM_RSA_PKCS_KEY_PAIR_GEN", "CKM_SHA256_RSA_PKCS", "CKM_SHA384_RSA_PKCS"),
    "rsa-4096": ("CKM_RSA_PKCS_KEY_PAIR_GEN", "CKM_SHA256_RSA_PKCS", "CKM_SHA384_RSA_PKCS"),
    "ec-p256": ("CKM_EC_KEY_PAIR_GEN", "CKM_ECDSA"),
    "ec-p384": ("CKM_EC_KEY_PAIR_GEN", "CKM_ECDSA"),
}
KEY_ATTRIBUTES = {
    "SENSITIVE": True,
    "EXTRACTABLE": False,
    "ALWAYS_SENSITIVE": True,
    "NEVER_EXTRACTABLE": True,
    "PRIVATE": True,
    "TOKEN": True,
    "SIGN": True,
    "DECRYPT": False,
    "UNWRAP": False,
}
CKA_IDS = {
    "exr-root-r1-2026": "5c1e0f9a3b7d2e41",
    "exr-root-r2-2027": "f65ddc7c4a79aa14",
    "exr-legacy-root-2011": "a0d3117c52e9b804",
}
LEGACY_KEK = {
    "class": "SECRET_KEY",
    "label": "exr-legacy-kek-2011",
    "cka_id": "7e21c4d09ab35f66",
    "key_type": "AES",
}
"""The legacy token's backup key-encryption key: an object destroy-key leaves in place."""
BACKUP_KCV = "DCE657"
"""The key check value of the sample backups' key-encryption key (6 upper-case hex digits)."""
BACKUP_SET = (5909, "5b914d")
"""The (SLIP-39 set identifier, set check value) of the sample backups' shares."""
BACKUP_BLOB = b"-----BEGIN SEALROOM KEY BACKUP-----\n(the sample's stand-in for a blob)\n"
"""The bytes standing in for the blob on each medium (the journal holds only its SHA-256)."""
ABANDONED_KCV = "7A41C2"
"""The key check value of the interrupted sample's first backup attempt (abandoned on resume)."""
ABANDONED_BLOB = b"-----BEGIN SEALROOM KEY BACKUP-----\n(the interrupted attempt's blob)\n"
"""The bytes standing in for the abandoned attempt's blob (destroyed on every medium)."""
ABANDONED_BAGS = "TEB-2299{:02d}"
"""The spare bags the abandoned attempt's sheets were sealed in (member number filled in)."""
SOFTWARE_SHA256 = hashlib.sha256(b"sealroom 0.1.0, the sample's installed package").hexdigest()
"""``software_sha256()`` of the sample's Sealroom (ceremony.opened and the software check)."""
IMAGE_ROOT_HASH = hashlib.sha256(b"the sample's Sealroom image 2027.1 squashfs").hexdigest()
"""The dm-verity root hash the sample production workstation booted with."""
IMAGE_COMMIT = "0123456789abcdef0123456789abcdef01234567"
PACKAGES_LOCK = hashlib.sha256(b"the sample image's packages.lock").hexdigest()
SAMPLE_DISTRIBUTIONS = (
    "asn1crypto",
    "cffi",
    "cryptography",
    "linkify-it-py",
    "markdown-it-py",
    "pillow",
    "pkilint",
    "pycparser",
    "pydantic",
    "python-pkcs11",
    "pyzbar",
    "qrcode",
    "reportlab",
    "textual",
)
KEYBOARD = "usb 1-3 046a:0011 Cherry GmbH KC 1000 Keyboard"
"""The workstation's keyboard: no script material names it, so the devices check flags it."""
STRAY_STICK = "usb 1-4 0781:5581 SanDisk Ultra serial 4C530001230811"
"""A USB stick left in the workstation: flagged at the opening, removed before the retry."""
PREFLIGHT_RETRY_NOTE = "The stray USB stick was removed and put in the bin for the auditor."
PREFLIGHT_PROCEED_NOTE = (
    "The keyboard is the workstation's own, sealed with it in TEB-100202; the script will list "
    "it as a material from the next ceremony on."
)


def preflight_data(
    script: Script,
    check: str,
    moment: datetime,
    *,
    rehearsal: bool,
    at: str,
    unexpected: tuple[str, ...] = (),
) -> dict[str, Any]:
    """One ``preflight.checked`` entry's data as the engine journals it (docs/preflight.md).

    The facts and details are those the adapter's checks write for the sample workstation:
    booted from the production image in a production ceremony, a development machine (no image)
    in a rehearsal; ``unexpected`` lists devices no material accounts for.
    """
    facts: dict[str, Any]
    if check == "network":
        passed, detail = True, "only lo is present and up; no wireless or bluetooth device"
        facts = {"interfaces": ["lo (up)"], "wireless": [], "bluetooth": []}
    elif check == "image" and rehearsal:
        passed = False
        detail = "not booted from a Sealroom image: /etc/sealroom/image.json is missing"
        facts = {
            "image_manifest": "/etc/sealroom/image.json",
            "medium_manifest": "/run/live/medium/live/sealroom-medium.json",
            "cmdline_root_hash": "",
        }
    elif check == "image":
        root_words = fingerprint_from_hex(IMAGE_ROOT_HASH).words
        passed = True
        detail = (
            f"Sealroom image 2027.1 (commit {IMAGE_COMMIT[:12]}); dm-verity root hash "
            f"{IMAGE_ROOT_HASH} ({root_words}); compare with the published hash"
        )
        facts = {
            "image_manifest": "/etc/sealroom/image.json",
            "medium_manifest": "/run/live/medium/live/sealroom-medium.json",
            "cmdline_root_hash": IMAGE_ROOT_HASH,
            "image_version": "2027.1",
            "commit": IMAGE_COMMIT,
            "source_date_epoch": "1800000000",
            "packages_lock_sha256": PACKAGES_LOCK,
            "expected_root_hash": IMAGE_ROOT_HASH,
            "iso_sha256": "",
            "verity_devices": ["dm-0"],
            "root_hash_words": root_words,
        }
    elif check == "software":
        passed = True
        detail = (
            f"Sealroom {SOFTWARE_SHA256} and {len(SAMPLE_DISTRIBUTIONS)} distributions (2315 "
            "files) match /etc/sealroom/software.json"
        )
        facts = {
            "manifest": "/etc/sealroom/software.json",
            "sealroom_sha256": SOFTWARE_SHA256,
            "expected_sealroom_sha256": SOFTWARE_SHA256,
            "files_checked": "2315",
            "distributions": list(SAMPLE_DISTRIBUTIONS),
        }
    elif check == "devices":
        hsm = next(m for m in script.materials if m.kind == "hsm")
        printer = next(m for m in script.materials if m.kind == "printer")
        workstation = next(m for m in script.materials if m.kind == "workstation")
        usb = [
            "usb usb1 1d6b:0002 Linux Foundation xHCI Host Controller",
            f"usb 1-1 0a89:0030 Example HSM serial {hsm.serial}",
            f"usb 1-2 03f0:e111 Example LaserJet serial {printer.serial}",
            *unexpected,
        ]
        block = [f"block nvme0n1 nvme0n1 Samsung SSD 980 500GB serial {workstation.serial}"]
        pci = [
            "pci 0000:00:00.0 8086:4641 class 0x060000",
            "pci 0000:00:14.0 8086:51ed class 0x0c0330",
        ]
        matched = [
            f"usb 1-1 is material {hsm.id}",
            f"usb 1-2 is material {printer.id}",
            f"block nvme0n1 is material {workstation.id}",
        ]
        counts = f"{len(usb)} USB, {len(block)} block and {len(pci)} PCI devices"
        passed = not unexpected
        detail = (
            f"{counts}; not among the script's materials: {'; '.join(unexpected)}"
            if unexpected
            else f"{counts}; every one is infrastructure or a scripted material "
            f"({len(matched)} matched)"
        )
        facts = {
            "usb": usb,
            "block": block,
            "pci": pci,
            "matched": matched,
            "unexpected": list(unexpected),
        }
    elif check == "clock":
        system = utc_text(moment)
        rtc = utc_text(moment - timedelta(seconds=3))
        passed = True
        detail = (
            f"system clock {system} UTC, hardware clock rtc0 {rtc} UTC (system minus RTC +3 s); "
            "compare with a reference clock"
        )
        facts = {
            "system_utc": system,
            "rtc": "rtc0",
            "rtc_utc": rtc,
            "system_minus_rtc_seconds": "3",
        }
    elif check == "evidence":
        passed = True
        detail = (
            "/media/evidence/root-key-generation is on /dev/sdb1 (vfat, label SRLEVIDENCE) "
            "mounted at /media/evidence read-write, 7620 MB free"
        )
        facts = {
            "out_dir": "/media/evidence/root-key-generation",
            "measured_at": "/media/evidence",
            "mount_point": "/media/evidence",
            "device": "/dev/sdb1",
            "fstype": "vfat",
            "label": "SRLEVIDENCE",
            "options": ["nodev", "noexec", "nosuid", "rw", "sync"],
            "free_mb": "7620",
            "min_free_mb": "64",
        }
    else:
        raise AssertionError(f"the sample has no preflight check {check}")
    return {
        "check": check,
        "passed": passed,
        "verdict": "PASS" if passed else "FAIL",
        "detail": detail,
        "facts": dict(sorted(facts.items())),
        "rehearsal": rehearsal,
        "blocking": not rehearsal,
        "at": at,
    }


RESTORE_PROBLEM = (
    "Step {number} (Prove the backup restores on the backup HSM): the blob on medium {medium} "
    "has SHA-256 {bad}, not {good} as journaled by backup.made."
)
"""The root sample's first restore test fails at the second medium (then is retried)."""
RECOVERY_PROBLEM = (
    "Step {number} (Recover the R2 key into the replacement HSM): the shares combine to a "
    "key-encryption key with check value 0F3A91, not {good} as recorded for {backup}: they are "
    "shares of another backup. Nothing was unwrapped."
)
"""The key-recovery sample's first try is refused (a custodian brought another backup's sheet)."""
SUB_CA_LINT_WARNINGS = [
    "NOTICE pkix.certificate_policies_extension_absent at certificate.tbsCertificate.extensions "
    "[pkilint RFC 5280]",
]
CRL_LINT_WARNINGS = [
    "WARNING pkix.crl_next_update_more_than_7_days at certificateList.tbsCertList.nextUpdate "
    "[pkilint RFC 5280]",
]


def _key_pair_objects(label: str) -> list[dict[str, Any]]:
    cka_id = CKA_IDS[label]
    return [
        {"class": "PRIVATE_KEY", "label": label, "cka_id": cka_id, "key_type": "RSA"},
        {"class": "PUBLIC_KEY", "label": label, "cka_id": cka_id, "key_type": "RSA"},
    ]


def _token(
    script: Script, *, label: str | None = None, serial: str | None = None
) -> dict[str, Any]:
    hsm = script.hsm
    assert hsm is not None
    return {
        "library": "/usr/lib/softhsm/libsofthsm2.so",
        "library_description": "Implementation of PKCS11",
        "library_version": "2.6",
        "slot_id": 1318359305,
        "slot_description": "SoftHSM slot ID 0x4e9bd509",
        "label": label or hsm.token_label,
        "manufacturer": "SoftHSM project",
        "model": "SoftHSM v2",
        "serial": serial or script.material(hsm.material).serial,
        "hardware_version": "2.6",
        "firmware_version": "2.6",
        "flags": ["RNG", "LOGIN_REQUIRED", "USER_PIN_INITIALIZED", "TOKEN_INITIALIZED"],
    }


def build_sample_journal(
    path: Path,
    *,
    rehearsal: bool = True,
    abort_at_key_check: bool = False,
    pin_failures: int = 1,
    absent: tuple[str, ...] | None = None,
    steps_done: int | None = None,
    ceremony: str | None = None,
    interrupt_backup: bool = False,
) -> Path:
    """Write a journal of the sample script to ``path`` and return ``path``.

    The root sample (``ceremony`` None) holds every event of docs/journal-events.md written
    in a root key generation but ``ceremony.aborted``, as the engine writes them: a typing slip
    at the HSM bag (``entry.rejected``), the clock offset, a CCTV deviation that proceeds, bag
    photographs skipped after a deviation, a token inventory, a wrong then right confirmation, a
    break with a bag re-checked after a misread serial, and everyone's sign-off statement.

    ``ceremony`` names one of OTHER_SAMPLES instead: the shipped script walked the same way
    (keys found on the token, inputs received by QR codes, certificates from requests, CRLs,
    requests, exports, destruction and zeroisation), with no deviation.

    ``steps_done`` stops after that many steps (as a report rendered mid-ceremony sees it);
    ``abort_at_key_check`` makes the witnesses see a mismatch at the fingerprint read-back.

    The opening journals the preflight checks after ``printer.checked``: a rehearsal's network,
    image (failed: a development machine) and clock as informational; a production ceremony's
    five, and in the root sample the devices check fails (a stray USB stick and the keyboard),
    is retried at attendance after the stick is removed, still fails and is decided ``proceed``.

    ``interrupt_backup`` (root rehearsal only): the power fails during backup-key after the key
    was wrapped (``backup.wrapped``) and two sheets were sealed, mid-way through the third
    sheet's line; the resumed ceremony repeats the login, abandons the attempt
    (``backup.abandoned``: its blob destroyed on both media, its two sheets to destroy) and
    makes the backup again under a new key-encryption key.
    """
    assert not interrupt_backup or (ceremony is None and rehearsal), "root rehearsal only"
    if ceremony is None:
        loaded = sample_script(path.parent)
    else:
        assert ceremony in OTHER_SAMPLES, ceremony
        loaded = other_script(path.parent, ceremony)
    script = loaded.script
    deviations = ceremony is None
    spki, der, pem = sample_certificate()
    clock = SampleClock()
    if absent is None:
        # Every custodian of the hsm-initialisation sample receives a share sheet.
        absent = () if ceremony == "hsm-initialisation" else ("carol",)
    present = [p.id for p in script.participants if p.id not in absent]

    def holder(role: str) -> str:
        return next(p for p in present if role in script.participant(p).roles)

    def actors(step_id: str) -> list[Actor]:
        step = next(s for s in script.steps if s.id == step_id)
        out = [Actor(holder(step.performer), step.performer, "performer")]
        out += [Actor(holder(r), r, "witness") for r in step.witnesses]
        return out

    def number(step_id: str) -> int:
        return [s.id for s in script.steps].index(step_id) + 1

    generated = {
        step.params["key"]
        for step in script.steps
        if isinstance(step, ActionStep) and step.action == "generate-key"
    }
    # A key recovered from a backup made elsewhere is not on the (replacement) token before.
    made_here = {
        step.params["backup"]
        for step in script.steps
        if isinstance(step, ActionStep) and step.action == "backup-key"
    }
    generated |= {
        b.key
        for b in script.backups
        if b.id not in made_here
        and any(
            isinstance(step, ActionStep)
            and step.action == "recover-key"
            and step.params.get("backup") == b.id
            for step in script.steps
        )
    }
    # A re-split proves the key on the backup HSM as a session object only: never on the token.
    generated |= {
        b.key
        for b in script.backups
        if any(
            isinstance(step, ActionStep)
            and step.action == "resplit-backup"
            and step.params.get("backup") == b.id
            for step in script.steps
        )
    }
    # Keys made in earlier ceremonies are on the token from the start.
    objects: list[dict[str, Any]] = []
    for key in script.keys:
        if key.id not in generated:
            objects += _key_pair_objects(key.label)
    if ceremony == "key-destruction":
        objects.append(LEGACY_KEK)
    found: set[str] = set()
    produced: dict[str, tuple[bytes, str]] = {}  # artefact id -> (DER, SR1 payload type)
    logged_in = False
    hsm = script.hsm
    assert hsm is not None
    hsm_material = script.material(hsm.material)

    login_step: str | None = None
    with contextlib.ExitStack() as writers:
        journal = writers.enter_context(JournalWriter.create(path, clock))

        def add(event: str, step_id: str, data: dict[str, Any]) -> None:
            journal.append(event, data, step=step_id, actors=actors(step_id))

        def custodian_actor(participant: str) -> Actor:
            """A custodian acting in their first role, as the engine names them."""
            return Actor(participant, script.participant(participant).roles[0], "custodian")

        def share_sealed(
            step_id: str, backup: Any, member: Any, index: int, bag: str, what: str, kcv: str
        ) -> None:
            """``share.sealed`` for ``member`` of ``backup``, as backup-key journals it."""
            journal.append(
                "share.sealed",
                {
                    "what": what,
                    "share": member.share,
                    "custodian": member.custodian,
                    "member_index": index,
                    "member_count": len(backup.shares),
                    "bag": bag,
                    "printer": "file",
                    "job": f"share-{backup.id}-{index}-of-{len(backup.shares)}.pdf",
                    "backup_id": backup.id,
                    "check_value": kcv,
                },
                step=step_id,
                actors=[custodian_actor(member.custodian)],
            )

        def completed(step_id: str, extra: dict[str, Any]) -> None:
            step = next(s for s in script.steps if s.id == step_id)
            add("step.completed", step_id, {"kind": step.kind, "title": step.title, **extra})

        def deviation(step_id: str, data: dict[str, Any]) -> None:
            journal.append(
                "deviation.recorded",
                data,
                step=step_id,
                actors=[Actor("alice", "administrator", "decider")],
            )

        def use_key(key_id: str, step_id: str) -> None:
            """``key.found`` the first time a key made in an earlier ceremony is used."""
            if key_id in generated or key_id in found:
                return
            found.add(key_id)
            label = script.key(key_id).label
            add(
                "key.found",
                step_id,
                {
                    "key_id": key_id,
                    "label": label,
                    "cka_id": CKA_IDS[label],
                    "algorithm": "rsa-4096",
                    "key_type": "RSA",
                    "size_bits": 4096,
                    "curve": None,
                    "public_exponent": 65537,
                    "spki_der_b64": base64.b64encode(spki).decode("ascii"),
                    "fingerprint": _fpr(spki),
                    "attributes": KEY_ATTRIBUTES,
                    "token_serial": hsm_material.serial,
                },
            )

        def interrupted_backup(step_id: str, backup: BackupSpec) -> None:
            """The first attempt, cut by a power failure; the resumption abandons it."""
            nonlocal journal
            blob_name = f"{backup.id}.sealroom-backup"
            add(
                "backup.wrapped",
                step_id,
                {
                    "backup_id": backup.id,
                    "check_value": ABANDONED_KCV,
                    "blob_name": blob_name,
                    "blob_sha256": hashlib.sha256(ABANDONED_BLOB).hexdigest(),
                    "blob_length": len(ABANDONED_BLOB),
                    "media": list(backup.media),
                },
            )
            printed = []
            for index, member in enumerate(backup.shares[:2], start=1):
                bag = ABANDONED_BAGS.format(index)
                share_sealed(
                    step_id,
                    backup,
                    member,
                    index,
                    bag,
                    f"Backup {backup.id} key-encryption key",
                    ABANDONED_KCV,
                )
                printed.append({"custodian": member.custodian, "share": member.share, "bag": bag})
            stopped = journal.head.seq
            done = sorted(
                {
                    e.step
                    for e in read_entries(path)
                    if e.event in ("step.completed", "step.skipped") and e.step
                }
            )
            journal.close()
            with path.open("ab") as torn:
                torn.write(b'{"actors":[{"capacity":"custodian"')  # the power went out here
            journal = writers.enter_context(JournalWriter.resume(path, clock))
            journal.append(
                "ceremony.resumed",
                {
                    "after_seq": stopped,
                    "steps_done": done,
                    "next_step": login_step,
                    "login_repeated": login_step,
                    "interrupted_after_effect": {},
                    "set_aside": [],
                    "present": present,
                },
            )
            for check in REHEARSAL_CHECKS:
                journal.append(
                    "preflight.checked",
                    preflight_data(script, check, clock.moment, rehearsal=True, at="resumption"),
                )
            journal.append("printer.checked", printer_data)
            assert login_step is not None
            add("hsm.login", login_step, {"attempts": 1})
            completed(login_step, {"action": "hsm-login"})
            add(
                "backup.abandoned",
                step_id,
                {
                    "backup_id": backup.id,
                    "check_value": ABANDONED_KCV,
                    "blob_sha256": hashlib.sha256(ABANDONED_BLOB).hexdigest(),
                    "blob_removed": [
                        {"material": m, "path": f"out/media/{m}/{blob_name}"} for m in backup.media
                    ],
                    "sheets_to_destroy": printed,
                },
            )

        def backup_journal(step_id: str, backup_id: str) -> None:
            """backup-key: each sheet sealed, ``backup.made``, the blob shown as QR codes."""
            backup = next(b for b in script.backups if b.id == backup_id)
            key = script.key(backup.key)
            use_key(key.id, step_id)
            what = f"Backup {backup.id} key-encryption key"
            if interrupt_backup:
                interrupted_backup(step_id, backup)
            add(
                "backup.wrapped",
                step_id,
                {
                    "backup_id": backup.id,
                    "check_value": BACKUP_KCV,
                    "blob_name": f"{backup.id}.sealroom-backup",
                    "blob_sha256": hashlib.sha256(BACKUP_BLOB).hexdigest(),
                    "blob_length": len(BACKUP_BLOB),
                    "media": list(backup.media),
                },
            )
            sealed = []
            for index, member in enumerate(backup.shares, start=1):
                # the bag the script's custody section names for the share, as typed twice
                bag = next(
                    (c.bag for c in script.custody if c.item == member.share and c.bag),
                    f"TEB-2213{index + 10:02d}",
                )
                journal.append(
                    "share.sealed",
                    {
                        "what": what,
                        "share": member.share,
                        "custodian": member.custodian,
                        "member_index": index,
                        "member_count": len(backup.shares),
                        "bag": bag,
                        "printer": "file",
                        # a rehearsal never overwrites a sheet: a reprint is <name>.2.pdf
                        "job": f"share-{backup.id}-{index}-of-{len(backup.shares)}"
                        + (".2.pdf" if interrupt_backup and index <= 2 else ".pdf"),
                        "backup_id": backup.id,
                        "check_value": BACKUP_KCV,
                    },
                    step=step_id,
                    actors=[custodian_actor(member.custodian)],
                )
                sealed.append({"share": member.share, "custodian": member.custodian, "bag": bag})
            blob_sha = hashlib.sha256(BACKUP_BLOB).hexdigest()
            certified = "root-certificate" in produced
            add(
                "backup.made",
                step_id,
                {
                    "backup_id": backup.id,
                    "key_id": key.id,
                    "label": key.label,
                    "cka_id": CKA_IDS[key.label],
                    "key_type": "RSA",
                    "fingerprint": _fpr(spki),
                    "spki_der_b64": base64.b64encode(spki).decode("ascii"),
                    "ca_subject": "CN=Example Root CA R1,O=Example Trust Services,C=XX"
                    if certified
                    else "none issued in this ceremony",
                    "certificate_id": "root-certificate" if certified else None,
                    "certificate_sha256": hashlib.sha256(der).hexdigest() if certified else None,
                    "check_value": BACKUP_KCV,
                    "mechanism": "CKM_AES_KEY_WRAP_PAD",
                    "wrapped_length": 2392,
                    "blob_name": f"{backup.id}.sealroom-backup",
                    "blob_length": len(BACKUP_BLOB),
                    "blob_sha256": blob_sha,
                    "media": [
                        {
                            "material": m,
                            "path": f"out/media/{m}/{backup.id}.sealroom-backup",
                            "sha256": blob_sha,
                        }
                        for m in backup.media
                    ],
                    "threshold": backup.threshold,
                    "share_count": len(backup.shares),
                    "set_identifier": BACKUP_SET[0],
                    "set_check_value": BACKUP_SET[1],
                    "custodians": [h.custodian for h in backup.shares],
                    "custodian_names": [
                        script.participant(h.custodian).name for h in backup.shares
                    ],
                    "sealed": sealed,
                    "restore_test_token": backup.restore_test_token,
                    "restore_test_custodians": list(backup.restore_test_custodians),
                },
            )
            add(
                "qr.shown",
                step_id,
                {
                    "artifact": backup.id,
                    "backup_id": backup.id,
                    "frames": 2,
                    "payload_sha256": blob_sha,
                },
            )

        def restore_journal(step_id: str, backup_id: str, *, fail_first: bool) -> None:
            """restore-test: the custodians' shares, then ``restore.tested`` (the root sample
            first fails at a medium, ``restore.failed``, and the room retries)."""
            backup = next(b for b in script.backups if b.id == backup_id)
            what = f"Backup {backup.id} key-encryption key"
            holders = [h.custodian for h in backup.shares]
            blob_sha = hashlib.sha256(BACKUP_BLOB).hexdigest()

            def shares() -> None:
                for custodian in backup.restore_test_custodians:
                    journal.append(
                        "share.accepted",
                        {
                            "what": what,
                            "custodian": custodian,
                            "member_index": holders.index(custodian) + 1,
                            "attempt": 1,
                        },
                        step=step_id,
                        actors=[custodian_actor(custodian)],
                    )

            if fail_first:
                shares()
                problem = RESTORE_PROBLEM.format(
                    number=number(step_id),
                    medium=backup.media[-1],
                    bad="00" * 32,
                    good=blob_sha,
                )
                add("restore.failed", step_id, {"backup_id": backup.id, "problem": problem})
                deviation(
                    step_id,
                    {
                        "expected": "the action restore-test completes",
                        "observed": problem,
                        "decision": "retry",
                        "note": "Medium B reseated in the reader; the test is run again.",
                    },
                )
            shares()
            token_material = (
                script.material(backup.restore_test_token)
                if backup.restore_test_token is not None
                else None
            )
            restore_token = _token(script, label="restore-test", serial="7fb8acae0d270743")
            certified = "root-certificate" in produced
            key = script.key(backup.key)
            add(
                "restore.tested",
                step_id,
                {
                    "backup_id": backup.id,
                    "key_id": backup.key,
                    "passed": True,
                    "custodians": list(backup.restore_test_custodians),
                    "check_value": BACKUP_KCV,
                    "check_value_matched": True,
                    "blob_sha256": blob_sha,
                    "blob_sha256_matched": True,
                    "media": [
                        {
                            "material": m,
                            "file": f"{backup.id}.sealroom-backup",
                            "sha256": blob_sha,
                        }
                        for m in backup.media
                    ],
                    "blob_version": 1,
                    "restore_token": {
                        "material": backup.restore_test_token,
                        "declared_serial": token_material.serial if token_material else None,
                        "stand_in": True,
                        "token": restore_token,
                    },
                    "unwrapped_as": "session object",
                    "restored_fingerprint": _fpr(spki),
                    "restored_attributes": {
                        **KEY_ATTRIBUTES,
                        "TOKEN": False,
                        "ALWAYS_SENSITIVE": False,
                        "NEVER_EXTRACTABLE": False,
                    },
                    "signed_message_sha256": hashlib.sha256(
                        f"Sealroom restore test {script.ceremony.id} {backup.id}".encode()
                    ).hexdigest(),
                    "hash": "sha384",
                    "verified_with": "certificate" if certified else "public key",
                    "certificate_id": "root-certificate" if certified else None,
                    "verified": True,
                    "zeroised_before": [
                        {
                            "class": "PRIVATE_KEY",
                            "label": key.label,
                            "cka_id": CKA_IDS[key.label],
                            "key_type": "RSA",
                        }
                    ],
                    "objects_after_zeroise": 0,
                    "token_after": restore_token,
                },
            )

        def recover_journal(step_id: str, backup_id: str) -> None:
            """recover-key: a recovery (a rehearsal stand-in, refused once, then retried) or,
            when this ceremony made the backup, a migration into the target token."""
            nonlocal objects
            backup = next(b for b in script.backups if b.id == backup_id)
            key = script.key(backup.key)
            what = f"Backup {backup.id} key-encryption key"
            holders = [h.custodian for h in backup.shares]
            combined = [c for c in holders if c in present][: backup.threshold]
            blob_sha = hashlib.sha256(BACKUP_BLOB).hexdigest()
            migration = any(
                isinstance(s, ActionStep)
                and s.action == "backup-key"
                and s.params.get("backup") == backup.id
                for s in script.steps
            )

            def shares() -> None:
                for custodian in combined:
                    journal.append(
                        "share.accepted",
                        {
                            "what": what,
                            "custodian": custodian,
                            "member_index": holders.index(custodian) + 1,
                            "attempt": 1,
                        },
                        step=step_id,
                        actors=[custodian_actor(custodian)],
                    )

            before = 0 if migration else len(objects)
            if not migration:
                # the room's first try: another backup's sheet, refused by the KCV
                shares()
                problem = RECOVERY_PROBLEM.format(
                    number=number(step_id), good=BACKUP_KCV, backup=backup.id
                )
                add(
                    "recovery.failed",
                    step_id,
                    {
                        "backup_id": backup.id,
                        "problem": problem,
                        "objects_before": before,
                        "objects_after": before,
                        "target_unchanged": True,
                    },
                )
                deviation(
                    step_id,
                    {
                        "expected": "the action recover-key completes",
                        "observed": problem,
                        "decision": "retry",
                        "note": "Ines Duarte had brought her sheet of another backup; she "
                        "fetched the right one from her safe-deposit box.",
                    },
                )
            shares()
            stated = backup.recovery
            fpr = _fpr(spki)
            if migration:
                expected: dict[str, Any] = {
                    "source": "backup.made",
                    "stand_in": False,
                    "check_value": BACKUP_KCV,
                    "blob_sha256": blob_sha,
                    "fingerprint": fpr["hex"],
                    "set_identifier": BACKUP_SET[0],
                    "made_in": script.ceremony.id,
                    "script_values": None,
                }
                target_material = script.material(backup.restore_test_token or "")
                target = {
                    "material": target_material.id,
                    "declared_serial": target_material.serial,
                    "stand_in": False,
                    "token": _token(script, label="target", serial=target_material.serial),
                }
            else:
                assert stated is not None, "a recovery script states its values"
                expected = {
                    "source": "rehearsal stand-in",
                    "stand_in": True,
                    "check_value": BACKUP_KCV,
                    "blob_sha256": blob_sha,
                    "fingerprint": fpr["hex"],
                    "set_identifier": BACKUP_SET[0],
                    "made_in": "rehearsal stand-in",
                    "script_values": {
                        "check_value": stated.check_value.upper(),
                        "blob_sha256": stated.blob_sha256,
                        "fingerprint": stated.fingerprint,
                        "set_identifier": stated.set_identifier,
                        "made_in": stated.made_in,
                    },
                }
                target = {
                    "material": hsm.material,
                    "declared_serial": hsm_material.serial,
                    "stand_in": False,
                    "token": _token(script),
                }
                objects += _key_pair_objects(key.label)
            data: dict[str, Any] = {
                "key_id": key.id,
                "fingerprint": fpr,
                "fingerprint_matched": True,
                "signed_message_sha256": hashlib.sha256(
                    f"Sealroom recovery {script.ceremony.id} {backup.id}".encode()
                ).hexdigest(),
                "hash": "sha384",
                "verified_with": "public key",
                "verified": True,
                "backup_id": backup.id,
                "migration": migration,
                "check_value": BACKUP_KCV,
                "check_value_matched": True,
                "blob_sha256": blob_sha,
                "blob_sha256_matched": True,
                "medium": {
                    "material": backup.media[0],
                    "file": f"{backup.id}.sealroom-backup",
                    "sha256": blob_sha,
                },
                "custodians": combined,
                "set_identifier": BACKUP_SET[0],
                "key": {
                    "key_id": key.id,
                    "label": key.label,
                    "cka_id": CKA_IDS[key.label],
                    "algorithm": "rsa-4096",
                    "key_type": "RSA",
                    "size_bits": 4096,
                    "curve": None,
                    "public_exponent": 65537,
                    "spki_der_b64": base64.b64encode(spki).decode("ascii"),
                    "fingerprint": fpr,
                    "attributes": {
                        **KEY_ATTRIBUTES,
                        "ALWAYS_SENSITIVE": False,
                        "NEVER_EXTRACTABLE": False,
                        "LOCAL": False,
                    },
                },
                "unwrapped_as": "token object",
                "token_serial": target["token"]["serial"],
                "target_token": target,
                "objects_before": before,
                "objects_after": before + 2,
                "expected": expected,
            }
            if migration:
                data["source_token"] = _token(script)
            add("key.recovered", step_id, data)

        def resplit_journal(step_id: str, backup_id: str) -> None:
            """resplit-backup: old holders' shares, the new sheets sealed, ``shares.voided``
            and ``backup.resplit`` (a rehearsal stand-in backup)."""
            backup = next(b for b in script.backups if b.id == backup_id)
            old = backup.resplit
            assert old is not None, "a re-split script names the set it replaces"
            key = script.key(backup.key)
            old_what = f"Backup {backup.id} key-encryption key (set being replaced)"
            old_holders = [h.custodian for h in old.old_shares]
            for custodian in old.combine:
                journal.append(
                    "share.accepted",
                    {
                        "what": old_what,
                        "custodian": custodian,
                        "member_index": old_holders.index(custodian) + 1,
                        "attempt": 1,
                    },
                    step=step_id,
                    actors=[custodian_actor(custodian)],
                )
            what = f"Backup {backup.id} key-encryption key"
            sealed = []
            for index, member in enumerate(backup.shares, start=1):
                bag = next(
                    (c.bag for c in script.custody if c.item == member.share and c.bag),
                    f"TEB-2213{index + 20:02d}",
                )
                share_sealed(step_id, backup, member, index, bag, what, BACKUP_KCV)
                sealed.append({"share": member.share, "custodian": member.custodian, "bag": bag})
            new_set = BACKUP_SET[0] + 1
            add(
                "shares.voided",
                step_id,
                {
                    "backup_id": backup.id,
                    "what": old_what,
                    "set_identifier": BACKUP_SET[0],
                    "set_check_value": BACKUP_SET[1],
                    "threshold": old.old_threshold,
                    "holders": [
                        {"share": h.share, "custodian": h.custodian, "member_index": i}
                        for i, h in enumerate(old.old_shares, start=1)
                    ],
                    "combined_by": list(old.combine),
                    "reason": old.reason,
                    "replaced_by_set": new_set,
                    "stand_in": True,
                },
            )
            blob_sha = hashlib.sha256(BACKUP_BLOB).hexdigest()
            fpr = _fpr(spki)
            add(
                "backup.resplit",
                step_id,
                {
                    "backup_id": backup.id,
                    "key_id": key.id,
                    "label": key.label,
                    "cka_id": CKA_IDS[key.label],
                    "fingerprint": fpr,
                    "check_value": BACKUP_KCV,
                    "check_value_matched": True,
                    "blob_sha256": blob_sha,
                    "blob_sha256_matched": True,
                    "medium": {
                        "material": backup.media[0],
                        "file": f"{backup.id}.sealroom-backup",
                        "sha256": blob_sha,
                    },
                    "unwrapped_as": "session object",
                    "verified": True,
                    "hash": "sha384",
                    "signed_message_sha256": hashlib.sha256(
                        f"Sealroom re-split {script.ceremony.id} {backup.id}".encode()
                    ).hexdigest(),
                    "objects_before": len(objects),
                    "objects_after": len(objects),
                    "old_set_identifier": BACKUP_SET[0],
                    "old_set_check_value": BACKUP_SET[1],
                    "old_custodians": list(old.combine),
                    "threshold": backup.threshold,
                    "share_count": len(backup.shares),
                    "set_identifier": new_set,
                    "set_check_value": BACKUP_SET[1],
                    "custodians": [h.custodian for h in backup.shares],
                    "custodian_names": [
                        script.participant(h.custodian).name for h in backup.shares
                    ],
                    "sealed": sealed,
                    "expected": {
                        "source": "rehearsal stand-in",
                        "stand_in": True,
                        "check_value": BACKUP_KCV,
                        "blob_sha256": blob_sha,
                        "fingerprint": fpr["hex"],
                        "set_identifier": BACKUP_SET[0],
                        "made_in": "rehearsal stand-in",
                    },
                },
            )

        journal.append(
            "ceremony.opened",
            {
                "ceremony_id": script.ceremony.id,
                "ceremony_type": script.ceremony.type,
                "title": script.ceremony.title,
                "script_name": loaded.path.name,
                "script_sha256": loaded.sha256,
                "script_words": sha256_fingerprint(loaded.text.encode()).words,
                "script_text": loaded.text,
                "script": script.model_dump(mode="json"),
                "rehearsal": rehearsal,
                "software": {"name": "sealroom", "version": "0.1.0", "sha256": SOFTWARE_SHA256},
            },
        )
        journal.append(
            "token.identified",
            {
                "material": hsm.material,
                "declared_serial": hsm_material.serial,
                "stand_in": False,
                # A token to be initialised has no label yet.
                "token": _token(script, label="" if ceremony == "hsm-initialisation" else None),
            },
        )
        printer = next(m for m in script.materials if m.kind == "printer")
        printer_data = {
            "material": printer.id,
            "declared_model": printer.model,
            "declared_serial": printer.serial,
            "printer": "ceremony-laser",
            "make_and_model": printer.model,
            "destination": "ceremony-laser",
        }
        journal.append("printer.checked", printer_data)
        # The opening's preflight (docs/preflight.md): informational in a rehearsal.
        flagged = (STRAY_STICK, KEYBOARD) if deviations and not rehearsal else ()
        failed: dict[str, Any] | None = None
        for check in REHEARSAL_CHECKS if rehearsal else CEREMONY_CHECKS:
            result = preflight_data(
                script,
                check,
                clock.moment,
                rehearsal=rehearsal,
                at="opening",
                unexpected=flagged if check == "devices" else (),
            )
            journal.append("preflight.checked", result)
            if not rehearsal and not result["passed"]:
                failed = result
        plan = list(script.steps)
        if steps_done is not None:
            plan = plan[:steps_done]
        for step in plan:
            step_id = step.id
            if isinstance(step, AttendanceStep):
                roll = [
                    Actor(pid, r, "present")
                    for pid in present
                    for r in script.participant(pid).roles
                ]
                journal.append(
                    "attendance.recorded",
                    {"present": present, "absent": list(absent)},
                    step=step_id,
                    actors=roll + actors(step_id),
                )
                if failed is not None:
                    # The failed devices check, decided at attendance: the stray stick is
                    # removed and the check run again; the keyboard stays, and the room proceeds.
                    for decision, note in (
                        ("retry", PREFLIGHT_RETRY_NOTE),
                        ("proceed", PREFLIGHT_PROCEED_NOTE),
                    ):
                        deviation(
                            step_id,
                            {
                                "expected": f"preflight check {failed['check']} passes",
                                "observed": f"preflight check {failed['check']} failed: "
                                f"{failed['detail']}",
                                "decision": decision,
                                "note": note,
                            },
                        )
                        if decision == "retry":
                            failed = preflight_data(
                                script,
                                failed["check"],
                                clock.moment,
                                rehearsal=False,
                                at="retry",
                                unexpected=(KEYBOARD,),
                            )
                            journal.append("preflight.checked", failed, step=step_id)
                completed(step_id, {})
            elif isinstance(step, AcknowledgeStep):
                if deviations and "EV-PHYSICAL" in step.evidence:
                    deviation(step_id, CCTV_DEVIATION)
                    completed(step_id, {"deviation": True})
                elif step_id == "photograph-bags":
                    deviation(step_id, CAMERA_DEVIATION)
                    add("step.skipped", step_id, {"kind": step.kind, "title": step.title})
                else:
                    completed(step_id, {})
            elif isinstance(step, WitnessCheckStep):
                if abort_at_key_check and step_id == "check-key-fingerprint":
                    observed = "the last four words differ: 'tactics talon tiger tissue'"
                    completed(step_id, {"matches": False, "observed": observed})
                    journal.append(
                        "ceremony.aborted",
                        {
                            "reason": f"Step {number(step_id)} ({step.title}): the witnesses "
                            f"saw a mismatch: observed {observed!r}; expected "
                            f"{step.compare.expected!r}. The ceremony is stopped."
                        },
                        step=step_id,
                    )
                    return path
                completed(step_id, {"matches": True, "observed": None})
            elif isinstance(step, EntryStep):
                spec = step.entry
                expect = spec.expect
                value = (
                    str(getattr(script.material(expect.material), expect.field))
                    if expect is not None
                    else CLOCK_OFFSET
                )
                attempts = 1
                if spec.twice and expect is not None and expect.field == "bag_in":
                    # A typing slip: the second entry differs from the first, both are asked again.
                    add(
                        "entry.rejected",
                        step_id,
                        {"label": spec.label, "attempt": 1, "problem": "the two entries differ"},
                    )
                    attempts = 2
                data: dict[str, Any] = {
                    "label": spec.label,
                    "format": spec.format,
                    "value": value,
                    "expected": value if expect is not None else None,
                    "attempts": attempts,
                }
                if spec.format == "clock-offset":
                    data["offset_seconds"] = int(value)
                add("entry.recorded", step_id, data)
                completed(step_id, {"value": value})
            elif isinstance(step, ConfirmStep):
                add("confirmation.typed", step_id, {"words": step.words, "attempts": 1})
                completed(step_id, {"confirmed": True})
            elif isinstance(step, BreakStep):
                away = [p for p in ("bob", "dan", "erin") if p in present]
                break_bags = {m: f"TEB-1003{n + 4}1" for n, m in enumerate(step.recheck_bags)}
                for material_id, bag in break_bags.items():
                    add("bag.sealed", step_id, {"material": material_id, "serial": bag})
                add("break.started", step_id, {"left": away})
                add("break.ended", step_id, {"returned": away, "absent": []})
                for material_id, bag in break_bags.items():
                    material = script.material(material_id)
                    typed = [bag]
                    if material.kind == "hsm":
                        typed.insert(0, bag[:-2] + bag[-1] + bag[-2])  # two digits swapped
                    for text in typed:
                        add(
                            "bag.rechecked",
                            step_id,
                            {
                                "material": material_id,
                                "expected": bag,
                                "typed": text,
                                "matches": text == bag,
                            },
                        )
                completed(step_id, {"returned": away, "absent": []})
            elif isinstance(step, SignOffStep):
                journal.append(
                    "signoff.recorded",
                    {
                        "statements": [
                            {
                                "participant": pid,
                                "followed": True,
                                "comment": SIGNOFF_COMMENTS.get(pid) if deviations else None,
                            }
                            for pid in present
                        ]
                    },
                    step=step_id,
                    actors=[
                        Actor(pid, script.participant(pid).roles[0], "signatory") for pid in present
                    ],
                )
                completed(step_id, {"followed": True})
            elif isinstance(step, ActionStep):
                action = step.action
                if step.confirm is not None:
                    if deviations:
                        add(
                            "confirmation.refused",
                            step_id,
                            {"words": step.confirm, "attempt": 1},
                        )
                    attempts = 2 if deviations else 1
                    add(
                        "confirmation.typed", step_id, {"words": step.confirm, "attempts": attempts}
                    )
                activation = hsm.activation
                if action == "initialise-token":
                    assert activation is not None, "the sample initialises by m-of-n only"
                    splits = [(USER_PIN, activation.user_pin)]
                    if activation.so_pin is not None:
                        splits.append((SO_PIN, activation.so_pin))
                    sets: dict[str, Any] = {}
                    for what, split in splits:
                        sealed = []
                        for index, member in enumerate(split.shares, start=1):
                            bag = SHARE_BAGS[what].format(index)
                            slug = what.lower().replace(" ", "-")
                            journal.append(
                                "share.sealed",
                                {
                                    "what": what,
                                    "share": member.share,
                                    "custodian": member.custodian,
                                    "member_index": index,
                                    "member_count": len(split.shares),
                                    "bag": bag,
                                    "printer": "file",
                                    "job": f"share-{slug}-share-{index}-of-{len(split.shares)}.pdf",
                                },
                                step=step_id,
                                actors=[custodian_actor(member.custodian)],
                            )
                            sealed.append(
                                {"share": member.share, "custodian": member.custodian, "bag": bag}
                            )
                        identifier, check_value = SHARE_SETS[what]
                        sets[what] = {
                            "threshold": split.threshold,
                            "set_identifier": identifier,
                            "check_value": check_value,
                            "custodians": [h.custodian for h in split.shares],
                            "sealed": sealed,
                        }
                    add(
                        "token.initialised",
                        step_id,
                        {"token": _token(script), "label": hsm.token_label, "activation": sets},
                    )
                elif action == "hsm-login" and activation is not None:
                    split = activation.user_pin
                    combined = []
                    for member in split.shares:
                        if len(combined) == split.threshold:
                            break
                        if member.custodian not in present:
                            continue
                        refused = dict(REFUSED_SHARES).get(member.custodian)
                        attempt = 1
                        if refused is not None:
                            journal.append(
                                "share.rejected",
                                {
                                    "what": USER_PIN,
                                    "custodian": member.custodian,
                                    "attempt": 1,
                                    "problem": refused,
                                },
                                step=step_id,
                                actors=[custodian_actor(member.custodian)],
                            )
                            attempt = 2
                        journal.append(
                            "share.accepted",
                            {
                                "what": USER_PIN,
                                "custodian": member.custodian,
                                "member_index": split.shares.index(member) + 1,
                                "attempt": attempt,
                            },
                            step=step_id,
                            actors=[custodian_actor(member.custodian)],
                        )
                        combined.append(member.custodian)
                    journal.append(
                        "quorum.activated",
                        {
                            "what": USER_PIN,
                            "threshold": split.threshold,
                            "custodians": combined,
                            # as the engine journals it: the accepted shares' set, and the
                            # check value the script lists (none here)
                            "set_identifier": SHARE_SETS[USER_PIN][0],
                            "check_value": split.check_value,
                        },
                        step=step_id,
                        actors=[custodian_actor(c) for c in combined],
                    )
                    add("hsm.login", step_id, {"attempts": 1, "activation": "m-of-n"})
                    logged_in = True
                    login_step = step_id
                elif action == "hsm-login":
                    for attempt in range(1, pin_failures + 1):
                        add(
                            "hsm.login-failed",
                            step_id,
                            {"attempt": attempt, "attempts_left": 3 - attempt},
                        )
                    add("hsm.login", step_id, {"attempts": pin_failures + 1})
                    logged_in = True
                    login_step = step_id
                elif action == "generate-key":
                    key = script.key(step.params["key"])
                    add(
                        "key.generated",
                        step_id,
                        {
                            "key_id": key.id,
                            "label": key.label,
                            "cka_id": CKA_IDS[key.label],
                            "algorithm": "rsa-4096",
                            "key_type": "RSA",
                            "size_bits": 4096,
                            "curve": None,
                            "public_exponent": 65537,
                            "spki_der_b64": base64.b64encode(spki).decode("ascii"),
                            "fingerprint": _fpr(spki),
                            "attributes": KEY_ATTRIBUTES,
                            "mechanism": "CKM_RSA_PKCS_KEY_PAIR_GEN",
                            "token_serial": hsm_material.serial,
                            "generated_at": utc_text(clock.moment),
                        },
                    )
                    objects += _key_pair_objects(key.label)
                elif action == "inventory-token":
                    # A script without keys: the token's signing mechanisms, as listed.
                    names = sorted(
                        {m for k in script.keys for m in KEY_MECHANISMS.get(k.algorithm, ())}
                        or SOFTHSM_MECHANISMS
                    )
                    add(
                        "token.inventory",
                        step_id,
                        {
                            "token": _token(script),
                            "mechanisms": [
                                {
                                    "name": name,
                                    "min_key_bits": SOFTHSM_MECHANISMS[name]["min"],
                                    "max_key_bits": SOFTHSM_MECHANISMS[name]["max"],
                                    "flags": SOFTHSM_MECHANISMS[name]["flags"],
                                }
                                for name in names
                            ],
                            "objects": [
                                o for o in objects if logged_in or o["class"] == "PUBLIC_KEY"
                            ],
                            "logged_in": logged_in,
                        },
                    )
                elif action == "sign-root-certificate":
                    add(
                        "certificate.issued",
                        step_id,
                        {
                            "certificate_id": "root-certificate",
                            "key_id": "root-key",
                            "output": "root.crt.pem",
                            "pem": pem,
                            "sha256": hashlib.sha256(der).hexdigest(),
                            "fingerprint": _fpr(spki),
                            "subject": "CN=Example Root CA R1,O=Example Trust Services,C=XX",
                            "issuer": "CN=Example Root CA R1,O=Example Trust Services,C=XX",
                            "serial": "3a7f15c2d9e04b6681a2c3d4e5f60718",
                            "not_before": "2027-01-15T00:00:00Z",
                            "not_after": "2047-01-15T00:00:00Z",
                            "signature_algorithm": "sha256WithRSAEncryption",
                            "checks": [
                                "signature verifies with the key's public key",
                                "TBS matches the linted twin signed by a throwaway key",
                                "profile lint passed: root (RFC 5280, BR 7.1.2.1)",
                                "public key matches the key generated in this ceremony",
                            ],
                        },
                    )
                    produced["root-certificate"] = (der, "CRT")
                elif action == "show-qr":
                    add(
                        "qr.shown",
                        step_id,
                        {
                            "certificate_id": "root-certificate",
                            "frames": 3,
                            "payload_sha256": hashlib.sha256(der).hexdigest(),
                        },
                    )
                elif action == "import-qr":
                    spec_in = script.input(step.params["input"])
                    payload = der if spec_in.kind == "certificate" else sample_issuing_request()
                    digest = hashlib.sha256(payload).hexdigest()
                    stand_in = (
                        spec_in.expected_sha256 is not None and digest != spec_in.expected_sha256
                    )
                    assert rehearsal or not stand_in, "a production ceremony stops here"
                    if spec_in.kind == "certificate":
                        summary = "CN=Example Root CA R1,O=Example Trust Services,C=XX"
                        facts = [
                            {"label": "Issuer", "value": summary},
                            {"label": "Serial", "value": "3a7f15c2d9e04b6681a2c3d4e5f60718"},
                            {
                                "label": "Valid",
                                "value": "2027-01-15T00:00:00Z to 2047-01-15T00:00:00Z",
                            },
                            {
                                "label": "Public key SHA-256",
                                "value": sha256_fingerprint(spki).grouped(),
                            },
                        ]
                    else:
                        summary = "CN=Example Issuing CA G2,O=Example Trust Services,C=XX"
                        g2_spki = _spki(sample_issuing_key())
                        facts = [
                            {"label": "Public key", "value": "EC P-384"},
                            {
                                "label": "Public key SHA-256",
                                "value": sha256_fingerprint(g2_spki).grouped(),
                            },
                            {
                                "label": "Requested extension",
                                "value": "basicConstraints: CA, path length 0",
                            },
                            {"label": "Signature", "value": "ecdsa-with-SHA384, verified"},
                        ]
                    add(
                        "input.received",
                        step_id,
                        {
                            "input_id": spec_in.id,
                            "kind": spec_in.kind,
                            "sha256": digest,
                            "der_sha256": digest,
                            "expected_sha256": spec_in.expected_sha256,
                            "stand_in": stand_in,
                            "sources": len(encode_frames(payload, "CRT")),
                            "summary": summary,
                            "der_b64": base64.b64encode(payload).decode("ascii"),
                            "facts": facts,
                        },
                    )
                elif action == "sign-certificate":
                    cert = script.certificate(step.params["certificate"])
                    use_key(cert.key, step_id)
                    sub_der, sub_pem = sample_subordinate(
                        cert.not_before, cert.not_after, cert.path_length
                    )
                    add(
                        "certificate.issued",
                        step_id,
                        {
                            "certificate_id": cert.id,
                            "profile": cert.profile,
                            "key_id": cert.key,
                            "output": cert.output,
                            "pem": sub_pem,
                            "sha256": hashlib.sha256(sub_der).hexdigest(),
                            "fingerprint": _fpr(spki),
                            "subject": "CN=Example Issuing CA G2,O=Example Trust Services,C=XX",
                            "issuer": "CN=Example Root CA R1,O=Example Trust Services,C=XX",
                            "serial": "015e93c47a0bd2186fe4219c3d70a8b544",
                            "not_before": utc_text(cert.not_before),
                            "not_after": utc_text(cert.not_after),
                            "signature_algorithm": "sha256WithRSAEncryption",
                            "subject_spki_sha256": hashlib.sha256(
                                _spki(sample_issuing_key())
                            ).hexdigest(),
                            "checks": [
                                "signature verifies with the issuer certificate's public key",
                                "TBS matches the linted twin signed by a throwaway key",
                                "pkilint RFC 5280: no error before and after signing",
                            ],
                            "lint_warnings": SUB_CA_LINT_WARNINGS,
                        },
                    )
                    produced[cert.id] = (sub_der, "CRT")
                elif action == "sign-crl":
                    crl = script.crl(step.params["crl"])
                    use_key(crl.key, step_id)
                    revoked = tuple((r.serial, r.revoked_at, r.reason) for r in crl.revoked)
                    crl_der, crl_pem = sample_crl(
                        crl.number, crl.this_update, crl.next_update, revoked
                    )
                    add(
                        "crl.issued",
                        step_id,
                        {
                            "crl_id": crl.id,
                            "key_id": crl.key,
                            "output": crl.output,
                            "pem": crl_pem,
                            "sha256": hashlib.sha256(crl_der).hexdigest(),
                            "issuer": "CN=Example Root CA R1,O=Example Trust Services,C=XX",
                            "number": crl.number,
                            "this_update": utc_text(crl.this_update),
                            "next_update": utc_text(crl.next_update),
                            "revoked": [
                                {
                                    "serial": r.serial,
                                    "revoked_at": utc_text(r.revoked_at),
                                    "reason": r.reason,
                                }
                                for r in crl.revoked
                            ],
                            "signature_algorithm": "sha256WithRSAEncryption",
                            "checks": [
                                "signature verifies with the issuer certificate's public key",
                                "TBS matches the linted twin signed by a throwaway key",
                                "only CA certificates revoked (root CRL)",
                            ],
                            "lint_warnings": CRL_LINT_WARNINGS,
                        },
                    )
                    produced[crl.id] = (crl_der, "CRL")
                elif action == "make-csr":
                    csr = script.csr(step.params["csr"])
                    use_key(csr.key, step_id)
                    csr_der, csr_pem = sample_root_request()
                    add(
                        "csr.made",
                        step_id,
                        {
                            "csr_id": csr.id,
                            "key_id": csr.key,
                            "output": csr.output,
                            "pem": csr_pem,
                            "sha256": hashlib.sha256(csr_der).hexdigest(),
                            "subject": "CN=Example Root CA R1,O=Example Trust Services,C=XX",
                            "signature_algorithm": "sha256WithRSAEncryption",
                            "spki_sha256": hashlib.sha256(spki).hexdigest(),
                            "checks": [
                                "signature verifies with the key's public key",
                                "public key matches the key on the token",
                            ],
                        },
                    )
                    produced[csr.id] = (csr_der, "CSR")
                elif action == "export-qr":
                    artifact = step.params["artifact"]
                    if artifact == JOURNAL_HEAD:  # the engine shows the latest entry (actions.py)
                        payload, kind = (
                            journal_head_payload(
                                script.ceremony.id, journal.head, loaded.sha256, rehearsal=rehearsal
                            ),
                            "JNL",
                        )
                    else:
                        payload, kind = produced[artifact]
                    add(
                        "qr.shown",
                        step_id,
                        {
                            "artifact": artifact,
                            "frames": len(encode_frames(payload, kind)),
                            "payload_sha256": hashlib.sha256(payload).hexdigest(),
                        },
                    )
                elif action == "destroy-key":
                    key = script.key(step.params["key"])
                    gone = [o for o in objects if o["label"] == key.label]
                    objects = [o for o in objects if o["label"] != key.label]
                    add(
                        "key.destroyed",
                        step_id,
                        {
                            "key_id": key.id,
                            "label": key.label,
                            "destroyed": gone,
                            "remaining": objects,
                            "token_serial": hsm_material.serial,
                        },
                    )
                elif action == "zeroise-token":
                    before, objects = objects, []
                    add(
                        "token.zeroised",
                        step_id,
                        {
                            "before": before,
                            "after": [],
                            "token_after": _token(script, label="zeroised"),
                        },
                    )
                elif action == "backup-key":
                    backup_journal(step_id, step.params["backup"])
                elif action == "restore-test":
                    restore_journal(step_id, step.params["backup"], fail_first=deviations)
                elif action == "recover-key":
                    recover_journal(step_id, step.params["backup"])
                elif action == "resplit-backup":
                    resplit_journal(step_id, step.params["backup"])
                elif action == "hsm-logout":
                    add("hsm.logout", step_id, {})
                    logged_in = False
                    login_step = None
                elif action == "print-report":
                    add(
                        "report.printed",
                        step_id,
                        {
                            "sha256": "ab" * 32,
                            "covers_through": journal.head.seq,
                            "printer": "file",
                            "job": "report.pdf",
                            "destination": "out/report.pdf",
                        },
                    )
                else:
                    raise AssertionError(f"the sample does not know the action {action}")
                completed(step_id, {"action": action})
            else:
                raise AssertionError(f"the sample does not know the step kind of {step_id}")
        if steps_done is None:
            journal.append(
                "ceremony.closed", {"result": "completed", "steps_completed": len(script.steps)}
            )
    return path


def documented_events() -> set[str]:
    """The event names in the table of docs/journal-events.md."""
    return set(re.findall(r"^\| `([a-z.-]+)` \|", EVENTS_DOC.read_text(encoding="utf-8"), re.M))


def test_the_sample_journals_verify_and_hold_every_documented_event(tmp_path: Path) -> None:
    path = build_sample_journal(tmp_path / "journal.jsonl")
    verdict = verify_journal(path)
    assert verdict.ok, verdict.first_problem
    assert verdict.ended_by == "ceremony.closed"
    events = {entry.event for entry in read_entries(path)}
    aborted = build_sample_journal(tmp_path / "aborted.jsonl", abort_at_key_check=True)
    events |= {entry.event for entry in read_entries(aborted)}
    for name in OTHER_SAMPLES:
        other = build_sample_journal(tmp_path / f"{name}.jsonl", ceremony=name)
        verdict = verify_journal(other)
        assert verdict.ok, verdict.first_problem
        assert verdict.ended_by == "ceremony.closed"
        events |= {entry.event for entry in read_entries(other)}
    events |= {entry.event for entry in read_entries(_torn_and_resumed(path, tmp_path))}
    production = build_sample_journal(tmp_path / "production.jsonl", rehearsal=False)
    interrupted = build_sample_journal(tmp_path / "interrupted.jsonl", interrupt_backup=True)
    for journal in (production, interrupted):
        verdict = verify_journal(journal)
        assert verdict.ok, verdict.first_problem
        assert verdict.ended_by == "ceremony.closed"
        events |= {entry.event for entry in read_entries(journal)}
    assert len(documented_events()) >= 20
    assert events == documented_events()


def _torn_and_resumed(sample: Path, tmp_path: Path) -> Path:
    """A journal cut by a power cut in the middle of a line, resumed, then closed."""
    path = tmp_path / "resumed.jsonl"
    opened = read_entries(sample)[0]
    with JournalWriter.create(path, SampleClock()) as journal:
        journal.append("ceremony.opened", dict(opened.data))
        journal.append(
            "registry.compared",
            {
                "registry_ceremony_id": "EXR-HSM-2026-10",
                "registry_journal_sha256": "ab" * 32,
                "registry_sha256": "cd" * 32,
                "registry_rehearsal": False,
                "token_compared": True,
                "mismatches": [],
            },
        )
    with path.open("ab") as torn:
        torn.write(b'{"actors":[],"data":{"pres')  # the power went out here
    with JournalWriter.resume(path, SampleClock()) as journal:
        journal.append(
            "ceremony.resumed",
            {
                "after_seq": 4,
                "steps_done": [],
                "next_step": "attendance",
                "login_repeated": None,
                "interrupted_after_effect": {},
                "set_aside": [],
                "present": [],
            },
        )
        journal.append("ceremony.closed", {"result": "completed", "steps_completed": 0})
    verdict = verify_journal(path)
    assert verdict.ok, verdict.first_problem
    return path
