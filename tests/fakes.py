"""In-memory fakes of the engine's ports, for unit and UI tests (no SoftHSM, no files)."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, keywrap, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import NameOID

from sealroom.backup.keybackup import MediaError
from sealroom.backup.sharing import Slip39Sharing
from sealroom.ceremony.loader import LoadedScript, load_script
from sealroom.ceremony.ports import (
    Acknowledgement,
    Actor,
    Attendance,
    BackupBlob,
    CheckedInput,
    DestructionRecord,
    Deviation,
    DeviceInventory,
    Fact,
    IssuedCertificate,
    IssuedCrl,
    IssuedRequest,
    JournalHead,
    Json,
    KeyRecord,
    MechanismInfo,
    Outcome,
    PrinterCheck,
    PrintJob,
    QrProgress,
    RevokedCertificate,
    ShareSheet,
    SignOff,
    StepView,
    TokenInfo,
    TokenObjectSummary,
    WrappedKey,
    ZeroiseRecord,
)
from sealroom.ceremony.preflight import CHECK_IDS, CheckResult, MaterialRef
from sealroom.ceremony.runner import Adapters, Runner
from sealroom.ceremony.script import (
    ActionStep,
    BreakStep,
    CertificateSpec,
    ConfirmStep,
    CrlSpec,
    CsrSpec,
    EntryStep,
    KeySpec,
    Script,
)
from sealroom.errors import (
    HsmError,
    OutputExistsError,
    PinError,
    PinLockout,
    PkiError,
    PrinterError,
    TransferError,
)

ROOT_SCRIPT = (
    Path(__file__).resolve().parent.parent / "ceremony_scripts" / "root-key-generation.yaml"
)
HASHES = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(), "sha512": hashes.SHA512()}


class FixedClock:
    """A clock that advances one second per reading, from a fixed start."""

    def __init__(self, start: datetime = datetime(2027, 1, 15, 9, 0, tzinfo=UTC)) -> None:
        self.current = start

    def now(self) -> datetime:
        self.current += timedelta(seconds=1)
        return self.current


@dataclass
class SoftwareKey:
    """A SigningKey backed by an in-memory key (stands in for a key in the token)."""

    record: KeyRecord
    private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey

    def sign(self, message: bytes, hash_name: Literal["sha256", "sha384", "sha512"]) -> bytes:
        if isinstance(self.private, rsa.RSAPrivateKey):
            return self.private.sign(message, padding.PKCS1v15(), HASHES[hash_name])
        if isinstance(self.private, ed25519.Ed25519PrivateKey):
            return self.private.sign(message)  # EdDSA signs the whole message; no hash
        return self.private.sign(message, ec.ECDSA(HASHES[hash_name]))


TOKEN = TokenInfo(
    library="fake",
    library_description="Fake PKCS#11",
    library_version="1.0",
    slot_id=0,
    slot_description="fake slot",
    label="exr-root-r1",
    manufacturer="Sealroom tests",
    model="FakeHSM",
    serial="FAKE0001",
    hardware_version="1.0",
    firmware_version="1.0",
    flags=("LOGIN_REQUIRED", "TOKEN_INITIALIZED"),
)


class FakeHsm:
    """A token with a PIN, a login state and software keys; counts wrong PINs."""

    def __init__(self, pin: str = "4711-2027", max_attempts: int = 3) -> None:
        self.pin = pin
        self.max_attempts = max_attempts
        self.failures = 0
        self.logged_in = False
        self.keys: dict[str, SoftwareKey] = {}
        self.token = TOKEN
        self.seeded: dict[str, SoftwareKey] = {}
        """Keys on the token from earlier ceremonies, by label."""
        self.calls: list[str] = []

    def token_info(self) -> TokenInfo:
        return self.token

    def login(self, pin: str) -> None:
        self.calls.append("login")
        if self.failures >= self.max_attempts:
            raise PinLockout("The HSM PIN is locked after too many wrong attempts.")
        if pin != self.pin:
            self.failures += 1
            if self.failures >= self.max_attempts:
                raise PinLockout("The HSM PIN is locked after too many wrong attempts.")
            raise PinError(f"The HSM refused the PIN (attempt {self.failures}).")
        self.logged_in = True

    def logout(self) -> None:
        self.calls.append("logout")
        self.logged_in = False

    def generate_key(self, spec: KeySpec) -> SoftwareKey:
        self.calls.append(f"generate:{spec.id}")
        if not self.logged_in:
            raise HsmError("Not logged in.")
        private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
        if spec.algorithm.startswith("rsa"):
            # Tests use a small RSA key for speed; the record states what the script asked for.
            private = rsa.generate_private_key(65537, 2048)
            key_type: Literal["RSA", "EC"] = "RSA"
        else:
            curve = ec.SECP384R1() if spec.algorithm == "ec-p384" else ec.SECP256R1()
            private = ec.generate_private_key(curve)
            key_type = "EC"
        spki = private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        record = KeyRecord(
            key_id=spec.id,
            label=spec.label,
            cka_id_hex=hashlib.sha256(spki).hexdigest()[:32],
            algorithm=spec.algorithm,
            key_type=key_type,
            size_bits=int(spec.algorithm.split("-")[1][-4:].lstrip("p"))
            if key_type == "RSA"
            else 384,
            curve=None if key_type == "RSA" else spec.algorithm[3:],
            public_exponent=65537 if key_type == "RSA" else None,
            spki_der=spki,
            attributes={"SENSITIVE": True, "EXTRACTABLE": False, "SIGN": True},
            mechanism="CKM_FAKE_KEY_PAIR_GEN",
        )
        key = SoftwareKey(record, private)
        self.keys[spec.id] = key
        return key

    def random_bytes(self, count: int) -> bytes:
        return bytes(range(1, count + 1))

    # -- keys made in earlier ceremonies, inventory, destruction --------------------------

    def seed_key(self, spec: KeySpec) -> SoftwareKey:
        """Put ``spec`` on the token as an earlier ceremony would have (no login needed)."""
        was, self.logged_in = self.logged_in, True
        try:
            key = self.generate_key(spec)
        finally:
            self.logged_in = was
        self.calls.remove(f"generate:{spec.id}")
        self.seeded[spec.label] = key
        return key

    def supported_algorithms(self) -> tuple[str, ...]:
        return ("rsa-3072", "rsa-4096", "ec-p256", "ec-p384")

    def find_key(self, spec: KeySpec) -> SoftwareKey:
        self.calls.append(f"find:{spec.id}")
        if not self.logged_in:
            raise HsmError("Not logged in.")
        key = self.seeded.get(spec.label) or next(
            (k for k in self.keys.values() if k.record.label == spec.label), None
        )
        if key is None:
            raise HsmError(f"The token holds no key labelled '{spec.label}'.")
        return SoftwareKey(KeyRecord(**{**key.record.__dict__, "key_id": spec.id}), key.private)

    def _objects(self) -> tuple[TokenObjectSummary, ...]:
        found = []
        for key in [*self.seeded.values(), *self.keys.values()]:
            for cls in ("PRIVATE_KEY", "PUBLIC_KEY"):
                found.append(
                    TokenObjectSummary(
                        cls, key.record.label, key.record.cka_id_hex, key.record.key_type
                    )
                )
        return tuple(found)

    def device_inventory(self, mechanisms_used: Iterable[str] | None = None) -> DeviceInventory:
        self.calls.append("inventory")
        names = tuple(mechanisms_used or ("CKM_RSA_PKCS_KEY_PAIR_GEN",))
        return DeviceInventory(
            TOKEN,
            tuple(MechanismInfo(n, 2048, 4096, ("HW", "SIGN")) for n in names),
            self._objects() if self.logged_in else (),
            self.logged_in,
        )

    def destroy_key(self, spec: KeySpec) -> DestructionRecord:
        self.calls.append(f"destroy:{spec.id}")
        if not self.logged_in:
            raise HsmError("Not logged in.")
        before = self._objects()
        self.seeded.pop(spec.label, None)
        for key_id, key in list(self.keys.items()):
            if key.record.label == spec.label:
                del self.keys[key_id]
        after = self._objects()
        gone = tuple(o for o in before if o not in after)
        if not gone:
            raise HsmError(f"The token holds no key labelled '{spec.label}'.")
        return DestructionRecord(spec.id, spec.label, gone, after)

    def zeroise(self, so_pin: str, new_label: str | None = None) -> ZeroiseRecord:
        self.calls.append("zeroise")
        if so_pin != self.so_pin:
            raise PinError("The HSM refused the security officer PIN.")
        before = self._objects()
        self.seeded.clear()
        self.keys.clear()
        self.logged_in = False
        return ZeroiseRecord(before, TOKEN, ())

    so_pin = "so-4711-2027"

    def initialise(self, label: str, so_pin: str, user_pin: str) -> TokenInfo:
        self.calls.append("initialise")
        self.pin, self.so_pin = user_pin, so_pin
        return TOKEN

    # -- backup: software AES key wrap with padding (RFC 5649) of the PKCS#8 ------------------

    def _key_labelled(self, label: str) -> SoftwareKey | None:
        return self.seeded.get(label) or next(
            (k for k in self.keys.values() if k.record.label == label), None
        )

    def wrap_key(self, spec: KeySpec, kek: bytes | bytearray) -> WrappedKey:
        self.calls.append(f"wrap:{spec.id}")
        if not self.logged_in:
            raise HsmError("Not logged in.")
        key = self._key_labelled(spec.label)
        if key is None:
            raise HsmError(f"The token holds no key labelled '{spec.label}'.")
        pkcs8 = key.private.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return WrappedKey(
            key_id=spec.id,
            label=spec.label,
            cka_id_hex=key.record.cka_id_hex,
            key_type=key.record.key_type,
            mechanism="CKM_AES_KEY_WRAP_PAD",
            wrapped=keywrap.aes_key_wrap_with_padding(bytes(kek), pkcs8),
            spki_der=key.record.spki_der,
        )

    def unwrap_key(
        self, spec: KeySpec, wrapped: WrappedKey, kek: bytes | bytearray, *, persist: bool
    ) -> SoftwareKey:
        self.calls.append(f"unwrap:{spec.id}:{'token' if persist else 'session'}")
        if not self.logged_in:
            raise HsmError("Not logged in.")
        if self._key_labelled(spec.label) is not None:
            raise HsmError(f"The token already holds a key labelled '{spec.label}'.")
        try:
            pkcs8 = keywrap.aes_key_unwrap_with_padding(bytes(kek), wrapped.wrapped)
            private = serialization.load_der_private_key(pkcs8, None)
        except (keywrap.InvalidUnwrap, ValueError) as exc:
            raise HsmError(
                f"The wrapped key '{wrapped.label}' does not unwrap with this key-encryption key."
            ) from exc
        if not isinstance(private, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise HsmError(f"The wrapped key '{wrapped.label}' is of an unexpected type.")
        spki = private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        if spki != wrapped.spki_der:
            raise HsmError(
                f"The key unwrapped from '{wrapped.label}' is not the key pair the blob names."
            )
        record = KeyRecord(
            key_id=spec.id,
            label=spec.label,
            cka_id_hex=wrapped.cka_id_hex,
            algorithm=spec.algorithm,
            key_type=wrapped.key_type,
            size_bits=private.key_size,
            curve=None if isinstance(private, rsa.RSAPrivateKey) else spec.algorithm[3:],
            public_exponent=65537 if isinstance(private, rsa.RSAPrivateKey) else None,
            spki_der=spki,
            attributes={"SENSITIVE": True, "EXTRACTABLE": False, "SIGN": True, "LOCAL": False},
            mechanism="CKM_AES_KEY_WRAP_PAD",
        )
        key = SoftwareKey(record, private)
        if persist:
            self.seeded[spec.label] = key
        return key

    def object_count(self) -> int:
        return len(self._objects()) if self.logged_in else 0


class FakeSheetPrinter:
    """'Prints' share sheets by keeping them: (custodian name, title) -> (sheet, words)."""

    def __init__(self) -> None:
        self.sheets: dict[tuple[str, str], tuple[ShareSheet, tuple[str, ...]]] = {}

    def print_share_sheet(self, sheet: ShareSheet, words: Sequence[str]) -> PrintJob:
        key = (sheet.custodian, sheet.title)
        earlier = self.sheets.get(key)
        # The same share set printed twice is an engine bug; a new set (a backup made anew after
        # an abandoned one) replaces the sheet the custodian holds, as new paper does.
        assert earlier is None or earlier[0].check_value != sheet.check_value, (
            f"sheet printed twice: {key}"
        )
        self.sheets[key] = (sheet, tuple(words))
        return PrintJob("fake", f"sheet-{len(self.sheets)}", f"{sheet.custodian}")

    def words(self, custodian_name: str, what: str) -> tuple[str, ...]:
        return self.sheets[(custodian_name, f"{what} share")][1]


class FakeKeyBackup:
    """The KeyBackup port in memory: media are dicts, the blob a small JSON document.

    Its check value is deliberately not the share set's (another tag), so a test sees the engine
    keep the two apart. Every KEK handed out or checked is kept, to prove it was wiped.
    """

    def __init__(self) -> None:
        self.media: dict[str, dict[str, bytes]] = {}
        self.keks: list[bytearray] = []
        self.corrupt_on_read: dict[str, bytes] = {}
        """material -> bytes returned by read_medium instead of what was written."""
        self.signature_checks = 0

    def new_kek(self, hsm_random: Callable[[int], bytes]) -> bytearray:
        kek = bytearray(hashlib.sha256(os.urandom(32) + hsm_random(32)).digest())
        self.keks.append(kek)
        return kek

    def check_value(self, kek: bytes | bytearray) -> str:
        if isinstance(kek, bytearray):
            self.keks.append(kek)
        # Upper-case hex like the real KCV (backup/kek.py) and the journal's form.
        return hashlib.sha256(b"fake-kcv\x00" + bytes(kek)).hexdigest()[:6].upper()

    def encode(self, wrapped: WrappedKey, check_value: str, certificate_der: bytes | None) -> bytes:
        return json.dumps(
            {
                "version": 1,
                "key_id": wrapped.key_id,
                "label": wrapped.label,
                "cka_id": wrapped.cka_id_hex,
                "key_type": wrapped.key_type,
                "mechanism": wrapped.mechanism,
                "wrapped": wrapped.wrapped.hex(),
                "spki": wrapped.spki_der.hex(),
                "kcv": check_value,
                "cert": None
                if certificate_der is None
                else hashlib.sha256(certificate_der).hexdigest(),
            },
            sort_keys=True,
        ).encode()

    def decode(
        self,
        data: bytes,
        where: str,
        *,
        key_id: str,
        certificate_der: bytes | None,
        spki_der: bytes,
    ) -> BackupBlob:
        try:
            doc = json.loads(data)
            wrapped = WrappedKey(
                key_id=doc["key_id"],
                label=doc["label"],
                cka_id_hex=doc["cka_id"],
                key_type=doc["key_type"],
                mechanism=doc["mechanism"],
                wrapped=bytes.fromhex(doc["wrapped"]),
                spki_der=bytes.fromhex(doc["spki"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise HsmError(f"{where}: not a backup blob.") from exc
        if wrapped.spki_der != spki_der or wrapped.key_id != key_id:
            raise HsmError(f"The blob {where} is the backup of another key.")
        return BackupBlob(wrapped, doc["kcv"], doc["cert"], doc["version"])

    def write_medium(self, material: str, name: str, data: bytes) -> str:
        medium = self.media.setdefault(material, {})
        if name in medium:
            raise OutputExistsError(f"{material}/{name} exists.")
        medium[name] = data
        return f"mem://{material}/{name}"

    def read_medium(self, material: str, name: str) -> bytes:
        if material in self.corrupt_on_read:
            return self.corrupt_on_read[material]
        try:
            return self.media[material][name]
        except KeyError:
            # as FolderKeyBackup: a blob not on the medium is a MediaError, never a KeyError
            raise MediaError(f"Cannot read {name} on medium {material!r}: not there.") from None

    def discard_medium(self, material: str, name: str, sha256: str) -> str | None:
        medium = self.media.get(material, {})
        if name not in medium:
            return None
        if hashlib.sha256(medium[name]).hexdigest() != sha256:
            raise MediaError(f"{material}/{name} is not the blob this ceremony wrote.")
        del medium[name]
        return f"mem://{material}/{name}"

    def signature_valid(
        self,
        public_der: bytes,
        message: bytes,
        signature: bytes,
        hash_name: Literal["sha256", "sha384", "sha512"],
    ) -> bool:
        self.signature_checks += 1
        try:
            public = x509.load_der_x509_certificate(public_der).public_key()
        except ValueError:
            public = serialization.load_der_public_key(public_der)
        try:
            if isinstance(public, rsa.RSAPublicKey):
                public.verify(signature, message, padding.PKCS1v15(), HASHES[hash_name])
            elif isinstance(public, ec.EllipticCurvePublicKey):
                public.verify(signature, message, ec.ECDSA(HASHES[hash_name]))
            else:
                return False
        except InvalidSignature:
            return False
        return True


def complete_progress(source: str, payload: bytes, payload_type: str) -> QrProgress:
    """The one update a clean one-frame reception gives: every frame in."""
    return QrProgress(
        source=source,
        payload_type=payload_type,
        digest_hex=hashlib.sha256(payload).hexdigest(),
        total=1,
        received=(1,),
        repaired=(),
        notice=None,
        images=1,
        codes=1,
    )


class FakeReceiver:
    """QR frames 'read' from a source: each source name maps to the payload it holds.

    ``updates`` (source -> QrProgress list) are fed to ``progress`` in order before the payload
    is handed over (default: one update with every frame in). ``endless`` sources behave like a
    camera that never sees the last frame: the last update is repeated until ``progress`` says
    stop. A False from ``progress`` stops the reception with TransferError, as the port says.
    """

    def __init__(self, payloads: Mapping[str, bytes] | None = None) -> None:
        self.payloads = dict(payloads or {})
        self.updates: dict[str, list[QrProgress]] = {}
        self.endless: set[str] = set()
        self.interval = 0.02
        """Seconds between repeated updates of an endless source."""
        self.calls: list[tuple[tuple[str, ...], str]] = []
        self.stopped_at: QrProgress | None = None

    def receive(
        self,
        sources: Sequence[str],
        payload_type: str,
        progress: Callable[[QrProgress], bool] | None = None,
    ) -> bytes:
        self.calls.append((tuple(sources), payload_type))
        source = sources[0] if sources else ""
        payload = self.payloads.get(source)
        if payload is not None and source not in self.updates:
            updates = [complete_progress(source, payload, payload_type)]
        else:
            updates = list(self.updates.get(source, []))
        for update in updates:
            self._report(progress, update)
        while source in self.endless and updates:
            time.sleep(self.interval)
            self._report(progress, updates[-1])
        if payload is None:
            raise TransferError(f"No QR code was found in {', '.join(sources)}.")
        return payload

    def _report(self, progress: Callable[[QrProgress], bool] | None, update: QrProgress) -> None:
        if progress is not None and not progress(update):
            self.stopped_at = update
            raise TransferError(
                f"The QR reception from {update.source} was stopped by the operator with "
                f"{len(update.received)} of {update.total or '?'} frames in; nothing is kept."
            )


class FakeIssuer:
    """Issues real certificates, CSRs and CRLs with the software key (no profile checks)."""

    def _issued(
        self, spec_id: str, cert: x509.Certificate, spki: bytes, checks: str
    ) -> IssuedCertificate:
        return IssuedCertificate(
            certificate_id=spec_id,
            der=cert.public_bytes(serialization.Encoding.DER),
            pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
            subject=cert.subject.rfc4514_string(),
            issuer=cert.issuer.rfc4514_string(),
            serial_hex=_octets_hex(cert.serial_number),
            not_before=cert.not_valid_before_utc,
            not_after=cert.not_valid_after_utc,
            signature_algorithm="sha256",
            spki_sha256_hex=hashlib.sha256(spki).hexdigest(),
            checks=(checks,),
            lint_warnings=("W: fake lint warning",),
        )

    def _certify(
        self,
        spec: CertificateSpec,
        key: SoftwareKey,
        serial: int,
        issuer_der: bytes,
        subject: x509.Name,
        public: object,
    ) -> IssuedCertificate:
        issuer = x509.load_der_x509_certificate(issuer_der)
        if (
            issuer.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            != key.record.spki_der
        ):
            raise PkiError(f"The key '{spec.key}' is not the issuer certificate's key.")
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer.subject)
            .public_key(public)  # type: ignore[arg-type]
            .serial_number(serial)
            .not_valid_before(spec.not_before)
            .not_valid_after(spec.not_after)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(key.private, hashes.SHA256())
        )
        spki = cert.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return self._issued(spec.id, cert, spki, "signature verifies (fake issuer)")

    def issue_from_request(
        self,
        spec: CertificateSpec,
        key: SoftwareKey,
        serial: int,
        issuer_der: bytes,
        request_der: bytes,
    ) -> IssuedCertificate:
        csr = x509.load_der_x509_csr(request_der)
        return self._certify(spec, key, serial, issuer_der, csr.subject, csr.public_key())

    def cross_certify(
        self,
        spec: CertificateSpec,
        key: SoftwareKey,
        serial: int,
        issuer_der: bytes,
        subject_der: bytes,
    ) -> IssuedCertificate:
        other = x509.load_der_x509_certificate(subject_der)
        return self._certify(spec, key, serial, issuer_der, other.subject, other.public_key())

    def make_csr(self, spec: CsrSpec, key: SoftwareKey) -> IssuedRequest:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, spec.subject.common_name)])
        csr = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(name)
            .sign(key.private, hashes.SHA256())
        )
        return IssuedRequest(
            csr_id=spec.id,
            der=csr.public_bytes(serialization.Encoding.DER),
            pem=csr.public_bytes(serialization.Encoding.PEM).decode(),
            subject=csr.subject.rfc4514_string(),
            signature_algorithm="sha256",
            spki_sha256_hex=hashlib.sha256(key.record.spki_der).hexdigest(),
            checks=("self-signature verifies (fake issuer)",),
        )

    def sign_crl(self, spec: CrlSpec, key: SoftwareKey, issuer_der: bytes) -> IssuedCrl:
        issuer = x509.load_der_x509_certificate(issuer_der)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(issuer.subject)
            .last_update(spec.this_update)
            .next_update(spec.next_update)
            .add_extension(x509.CRLNumber(spec.number), critical=False)
        )
        for entry in spec.revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(int(entry.serial, 16))
                .revocation_date(entry.revoked_at)
                .build()
            )
        crl = builder.sign(key.private, hashes.SHA256())
        return IssuedCrl(
            crl_id=spec.id,
            der=crl.public_bytes(serialization.Encoding.DER),
            pem=crl.public_bytes(serialization.Encoding.PEM).decode(),
            issuer=issuer.subject.rfc4514_string(),
            number=spec.number,
            this_update=spec.this_update,
            next_update=spec.next_update,
            revoked=tuple(
                RevokedCertificate(e.serial, e.revoked_at, e.reason) for e in spec.revoked
            ),
            signature_algorithm="sha256",
            checks=("signature verifies (fake issuer)",),
        )

    def check_input(
        self, input_id: str, kind: str, data: bytes, *, allow_ca_request: bool
    ) -> CheckedInput:
        try:
            if kind == "csr":
                subject = x509.load_der_x509_csr(data).subject
            else:
                subject = x509.load_der_x509_certificate(data).subject
        except ValueError as exc:
            raise PkiError(f"{input_id}: not a DER {kind}.") from exc
        text = subject.rfc4514_string()
        return CheckedInput(input_id, kind, data, text, (Fact("Subject", text),))

    def issue_root(self, spec: CertificateSpec, key: SoftwareKey, serial: int) -> IssuedCertificate:
        assert spec.subject is not None
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, spec.subject.common_name)])
        builder = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.private.public_key())
            .serial_number(serial)
            .not_valid_before(spec.not_before)
            .not_valid_after(spec.not_after)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        )
        cert = builder.sign(key.private, hashes.SHA256())
        der = cert.public_bytes(serialization.Encoding.DER)
        return IssuedCertificate(
            certificate_id=spec.id,
            der=der,
            pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
            subject=cert.subject.rfc4514_string(),
            issuer=cert.issuer.rfc4514_string(),
            serial_hex=_octets_hex(serial),
            not_before=spec.not_before,
            not_after=spec.not_after,
            signature_algorithm="sha256",
            spki_sha256_hex=hashlib.sha256(key.record.spki_der).hexdigest(),
            checks=("signature verifies (fake issuer)",),
        )


@dataclass
class MemoryJournal:
    """A journal kept in memory: entries as dicts, chained like the real one."""

    clock: FixedClock
    entries: list[dict[str, Json]] = field(default_factory=list)
    _head: JournalHead = field(default_factory=lambda: JournalHead(0, "0" * 64))

    def append(
        self,
        event: str,
        data: Mapping[str, Json],
        *,
        step: str | None = None,
        actors: Sequence[Actor] = (),
    ) -> JournalHead:
        entry: dict[str, Json] = {
            "seq": self._head.seq + 1,
            "time": self.clock.now().isoformat(),
            "event": event,
            "step": step,
            "data": dict(data),
            "prev": self._head.sha256,
            "actors": [
                {"participant": a.participant, "role": a.role, "capacity": a.capacity}
                for a in actors
            ],
        }
        line = json.dumps(entry, sort_keys=True, separators=(",", ":")).encode()
        self._head = JournalHead(self._head.seq + 1, hashlib.sha256(line).hexdigest())
        self.entries.append(entry)
        return self._head

    @property
    def head(self) -> JournalHead:
        return self._head

    def events(self) -> list[str]:
        return [str(e["event"]) for e in self.entries]

    def checkpoint(self, reason: str) -> JournalHead:
        """A checkpoint entry (unsigned here: the real journal signs it)."""
        head = self.head
        return self.append(
            "journal.checkpoint",
            {"reason": reason, "through_seq": head.seq, "through_sha256": head.sha256},
        )


class MemoryStore:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def require_absent(self, name: str) -> None:
        if name in self.files:
            raise OutputExistsError(f"{name} already exists.")

    def write_once(self, name: str, data: bytes) -> str:
        self.require_absent(name)
        self.files[name] = data
        return f"memory:{name}"

    def set_aside(self, name: str, suffix: str) -> str | None:
        if name not in self.files:
            return None
        self.require_absent(name + suffix)
        self.files[name + suffix] = self.files.pop(name)
        return f"memory:{name}{suffix}"


class FakeReport:
    def render_report(self) -> bytes:
        return b"%PDF-1.4 fake report\n"


class FakePrinter:
    def __init__(self) -> None:
        self.jobs: list[tuple[str, bytes]] = []
        self.checks = 0
        self.refuse_check: str | None = None

    def check(self) -> PrinterCheck:
        self.checks += 1
        if self.refuse_check is not None:
            raise PrinterError(self.refuse_check)
        return PrinterCheck(
            printer="file", make_and_model="Fake PDF printer", destination="memory:report.pdf"
        )

    def print_document(self, title: str, pdf: bytes) -> PrintJob:
        self.jobs.append((title, pdf))
        return PrintJob(
            printer="file", job=f"job-{len(self.jobs)}", destination="memory:report.pdf"
        )


class FakeQr:
    def frames(self, payload: bytes, payload_type: str) -> list[str]:
        return [f"SR1/{payload_type}/FAKE/1-1/{payload.hex().upper()[:40]}"]


@dataclass
class FakeWorld:
    """A runner wired to fakes, and the fakes themselves for assertions."""

    runner: Runner
    hsm: FakeHsm
    journal: MemoryJournal
    store: MemoryStore
    printer: FakePrinter
    receiver: FakeReceiver
    sheets: FakeSheetPrinter


_ROOM_SHEETS: list[FakeSheetPrinter] = []
"""The sheet printer of the last world made: the paper a ScriptedOperator's custodians read."""


def fake_restore_token(pin: str) -> FakeHsm:
    """The restore-test token of a backup: its user and security officer PINs are both ``pin``,
    so an operator answering every PIN prompt with ``pin`` logs in and zeroises it."""
    token = FakeHsm(pin)
    token.so_pin = pin
    return token


class PassingPreflight:
    """A Preflight port whose every check passes (production worlds not testing preflight)."""

    def run_checks(
        self, checks: Sequence[str] | None = None, *, materials: Sequence[MaterialRef] = ()
    ) -> tuple[CheckResult, ...]:
        return tuple(CheckResult(c, True, "fake: passes") for c in (checks or CHECK_IDS))


def fake_world(
    loaded: LoadedScript | None = None, *, pin: str = "4711-2027", rehearsal: bool = True
) -> FakeWorld:
    loaded = loaded or load_script(ROOT_SCRIPT)
    clock = FixedClock()
    hsm, journal, store, printer = FakeHsm(pin), MemoryJournal(clock), MemoryStore(), FakePrinter()
    receiver = FakeReceiver()
    sheets = FakeSheetPrinter()
    adapters = Adapters(
        hsm=hsm,
        issuer=FakeIssuer(),
        journal=journal,
        store=store,  # type: ignore[arg-type]
        report=FakeReport(),
        printer=printer,
        qr=FakeQr(),
        clock=clock,
        receiver=receiver,
        sharing=Slip39Sharing(),
        sheets=sheets,
        backup=FakeKeyBackup(),
        restore_hsm=fake_restore_token(pin),
        preflight=None if rehearsal else PassingPreflight(),
    )
    _ROOM_SHEETS[:] = [sheets]
    return FakeWorld(
        Runner(loaded, adapters, rehearsal=rehearsal),
        hsm,
        journal,
        store,
        printer,
        receiver,
        sheets,
    )


class ScriptedOperator:
    """An Operator that answers from Python values (the unit-test twin of the answers file)."""

    def __init__(
        self,
        script: Script,
        pins: Sequence[str] = ("4711-2027",),
        mismatch_at: str | None = None,
        typed: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.script = script
        self.pins = list(pins)
        self.mismatch_at = mismatch_at
        self.typed = {k: list(v) for k, v in (typed or {}).items()}
        self.counts: dict[str, int] = {}
        self.shown: list[str] = []
        self.outcomes: list[Outcome] = []
        self.finished: Outcome | None = None
        self.failed: str | None = None
        self.sheets: FakeSheetPrinter | None = _ROOM_SHEETS[-1] if _ROOM_SHEETS else None
        """Where share sheets were 'printed' (custodians read their words from it): by default
        the printer of the last ``fake_world`` made, the room this operator stands in."""
        self.share_plan: dict[str, list[str | None]] = {}
        """Custodian id -> what they type at each attempt (None: the words off their sheet)."""
        self.refusals: list[str | None] = []
        self.bags: list[str] = []
        self.so_pin: str | None = None
        """Typed at a security officer PIN prompt, when set (else ``pins`` answer every PIN)."""
        self.secrets_asked: list[str] = []
        self.problems: list[str] = []
        """Every problem the room was asked to decide about (action_failed), in order."""
        self.progress: list[QrProgress] = []
        """Every QR reception update the engine passed on (qr_progress), in order."""
        self.stop_reception: Callable[[QrProgress], bool] | None = None
        """Says when the operator stops a reception (None: never)."""
        self.witnessed: list[tuple[str, tuple[Fact, ...]]] = []
        """What the witnesses were shown of each object taken in (witness_input)."""
        self.refuse_input: str | None = None
        """When set, the witnesses refuse every object taken in, saying this."""

    def _ack(self, view: StepView) -> Acknowledgement:
        performer = view.performer_candidates[0]
        used = {performer}
        witnesses = {}
        for role, people in view.witness_candidates.items():
            choice = next(p for p in people if p not in used)
            witnesses[role] = choice
            used.add(choice)
        matches = view.step.id != self.mismatch_at
        return Acknowledgement(performer, witnesses, matches, None if matches else "seal broken")

    def ceremony_started(self, script: Script, script_sha256: str, rehearsal: bool) -> None:
        self.shown.append("started")

    def attendance(self, view: StepView, script: Script) -> Attendance:
        ack = self._ack(view)
        return Attendance(tuple(p.id for p in script.participants), ack.performer, ack.witnesses)

    def acknowledge(self, view: StepView) -> Acknowledgement:
        self.shown.append(view.step.id)
        return self._ack(view)

    def secret(self, view: StepView, prompt: str, attempt: int, attempts_left: int) -> str:
        self.secrets_asked.append(prompt)
        if self.so_pin is not None and "security officer" in prompt:
            return self.so_pin
        return self.pins[min(attempt, len(self.pins)) - 1]

    def working(self, view: StepView, message: str) -> AbstractContextManager[None]:
        return nullcontext()

    def qr_sources(self, view: StepView, input_id: str, description: str) -> Sequence[str]:
        self.shown.append(f"scan:{input_id}")
        return (input_id,)

    def qr_progress(self, view: StepView, progress: QrProgress) -> bool:
        """Keep every update; stop once ``stop_reception`` says so."""
        self.progress.append(progress)
        return not (self.stop_reception is not None and self.stop_reception(progress))

    def witness_input(self, view: StepView, title: str, facts: Sequence[Fact]) -> Acknowledgement:
        """Show the received object to the witnesses; refuse it if ``refuse_input`` is set."""
        self.witnessed.append((title, tuple(facts)))
        ack = self._ack(view)
        if self.refuse_input is not None:
            return Acknowledgement(ack.performer, ack.witnesses, False, self.refuse_input)
        return ack

    def custodian_ready(self, view: StepView, custodian: str, what: str) -> None:
        self.shown.append(f"ready:{custodian}:{what}")

    def share_words(
        self,
        view: StepView,
        custodian: str,
        what: str,
        attempt: int,
        attempts_left: int,
        refused: str | None,
    ) -> str:
        """What the custodian types: a planned entry, else the words off their sheet."""
        self.refusals.append(refused)
        planned = self.share_plan.get(custodian, [])
        if planned:
            typed = planned.pop(0)
            if typed is not None:
                return typed
        assert self.sheets is not None, "no sheet printer to read the words from"
        return " ".join(self.sheets.words(self.script.participant(custodian).name, what))

    def outcome(self, view: StepView, outcome: Outcome) -> None:
        self.outcomes.append(outcome)

    def show_qr(
        self, view: StepView, title: str, frames: Sequence[str], facts: Sequence[Fact]
    ) -> None:
        self.shown.append(f"qr:{len(frames)}")

    def ceremony_finished(self, summary: Outcome) -> None:
        self.finished = summary

    def ceremony_failed(self, reason: str) -> None:
        self.failed = reason

    def text(self, view: StepView, prompt: str, attempt: int) -> str:
        step = view.step
        if prompt.startswith("Bag serial for "):
            # a share sheet's bag: one serial per sheet, typed the same way twice
            base = prompt.removesuffix(" (again)")
            if not prompt.endswith(" (again)"):
                self.bags.append(f"TEB-{900001 + len(self.bags)}")
            assert base.startswith("Bag serial for ")
            return self.bags[-1]
        if self.typed.get(step.id):
            return self.typed[step.id].pop(0)
        if isinstance(step, EntryStep):
            if step.entry.expect is not None:
                material = self.script.material(step.entry.expect.material)
                return str(getattr(material, step.entry.expect.field))
            return {"clock-offset": "+1", "time": "10:00"}.get(step.entry.format, "X-1")
        if isinstance(step, ConfirmStep):
            return step.words
        if isinstance(step, ActionStep) and step.confirm is not None:
            return step.confirm
        if isinstance(step, BreakStep):
            done = self.counts.get(step.id, 0)
            self.counts[step.id] = done + 1
            material = self.script.material(step.recheck_bags[done])
            return material.bag_out or material.bag_in or ""
        raise AssertionError(f"no typed value for step {step.id}")

    def break_started(self, view: StepView) -> Sequence[str]:
        return ()

    def break_ended(self, view: StepView, away: Sequence[str]) -> Sequence[str]:
        return away

    def sign_off(self, view: StepView, participants: Sequence[str]) -> Sequence[SignOff]:
        return [SignOff(p, True) for p in participants]

    def action_failed(self, view: StepView, problem: str) -> Deviation:
        self.failed = problem
        self.problems.append(problem)
        return Deviation("", problem, "abort", view.performer_candidates[0])


def _octets_hex(serial: int) -> str:
    """A serial as the hex of its big-endian octets, as the real issuer gives it."""
    return serial.to_bytes((serial.bit_length() + 7) // 8, "big").hex()
