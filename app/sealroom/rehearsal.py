"""Rehearsal stand-ins: the keys and imported objects an earlier ceremony would have made.

A rehearsal of, say, the subordinate CA signing runs on a throwaway token that holds no root key,
and nobody hands it the root certificate or the subordinate's request. Before the ceremony opens,
this module puts on the throwaway token every key the script uses but does not generate, makes a
stand-in for every object the script imports (a root certificate signed by the stand-in key, a
request from a software key, another CA's certificate), and prints each as SR1 QR images, so the
ceremony's import steps read real QR codes. The import journals each as a stand-in: its SHA-256
is not the one the script lists, which in a production ceremony stops the ceremony.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from sealroom.ceremony.activation import SO_PIN, USER_PIN
from sealroom.ceremony.backup import kek_what
from sealroom.ceremony.ports import (
    CertificateIssuer,
    Hsm,
    PrintJob,
    ShareSheet,
    SheetPrinter,
    SigningKey,
)
from sealroom.ceremony.resplit import old_kek_what
from sealroom.ceremony.script import (
    ActionStep,
    CertificateSpec,
    InputSpec,
    KeySpec,
    Script,
    ShareHolder,
    Subject,
)
from sealroom.errors import CeremonyError
from sealroom.report.share_sheet import sheet_file_name
from sealroom.transfer.frames import FrameEncoder
from sealroom.transfer.qr import qr_image

INPUTS_DIR = "rehearsal-inputs"
STAND_IN_ORGANIZATION = "Sealroom rehearsal stand-in"


def generated_keys(script: Script) -> set[str]:
    """Ids of the keys the script's own generate-key steps make."""
    return {
        step.params["key"]
        for step in script.steps
        if isinstance(step, ActionStep) and step.action == "generate-key"
    }


def keys_to_stand_in(script: Script) -> list[KeySpec]:
    """Keys the script uses but does not generate (they exist on the real HSM already)."""
    made = generated_keys(script)
    return [key for key in script.keys if key.id not in made]


def prepare_rehearsal(
    script: Script,
    hsm: Hsm,
    issuer: CertificateIssuer,
    user_pin: str,
    out_dir: Path,
) -> dict[str, list[str]]:
    """Make the stand-in keys and inputs; return input id -> the QR image folder for it."""
    stand_in_keys = keys_to_stand_in(script)
    if not stand_in_keys and not script.inputs:
        return {}
    keys: dict[str, SigningKey] = {}
    if stand_in_keys:
        hsm.login(user_pin)
        try:
            for spec in stand_in_keys:
                keys[spec.id] = hsm.generate_key(spec)
            ders = _input_ders(script, hsm, issuer, keys)
        finally:
            hsm.logout()
    else:
        ders = _input_ders(script, hsm, issuer, keys)
    prepared: dict[str, list[str]] = {}
    encoder = FrameEncoder()
    for wanted in script.inputs:
        der, payload_type = ders.get(wanted.id, (None, None))
        if der is None or payload_type is None:
            continue
        folder = out_dir / INPUTS_DIR / wanted.id
        folder.mkdir(parents=True, exist_ok=False)
        for number, frame in enumerate(encoder.frames(der, payload_type), start=1):
            qr_image(frame, ecc="Q", scale=4).save(folder / f"frame-{number:02d}.png")
        prepared[wanted.id] = [str(folder)]
    return prepared


def prepared_inputs(script: Script, out_dir: Path) -> dict[str, list[str]]:
    """The stand-in QR image folders an interrupted rehearsal prepared (to resume it)."""
    return {
        wanted.id: [str(out_dir / INPUTS_DIR / wanted.id)]
        for wanted in script.inputs
        if (out_dir / INPUTS_DIR / wanted.id).is_dir()
    }


def _input_ders(
    script: Script, hsm: Hsm, issuer: CertificateIssuer, keys: dict[str, SigningKey]
) -> dict[str, tuple[bytes, str]]:
    made: dict[str, tuple[bytes, str]] = {}
    for spec in script.inputs:
        if spec.kind == "csr":
            made[spec.id] = (_software_csr(spec), "CSR")
        elif spec.kind == "certificate":
            signer = _signing_key_of(script, spec)
            if signer is not None and signer in keys:
                made[spec.id] = (_stand_in_root(spec, keys[signer], hsm, issuer), "CRT")
            else:
                made[spec.id] = (_software_ca(spec), "CRT")
        # backup blobs and journal heads come with issues 6 and 5
    return made


def _signing_key_of(script: Script, spec: InputSpec) -> str | None:
    """The key whose certificate ``spec`` is: the issuer certificate of what that key signs."""
    for cert in script.certificates:
        if cert.issuer_certificate == spec.id:
            return cert.key
    for crl in script.crls:
        if crl.issuer_certificate == spec.id:
            return crl.key
    return None


def _stand_in_subject(spec: InputSpec) -> Subject:
    return Subject(
        country="XX",
        organization=STAND_IN_ORGANIZATION,
        common_name=f"Stand-in for {spec.id}"[:64],
    )


def _stand_in_root(spec: InputSpec, key: SigningKey, hsm: Hsm, issuer: CertificateIssuer) -> bytes:
    now = datetime(2020, 1, 1, tzinfo=UTC)
    cert_spec = CertificateSpec(
        id=spec.id,
        profile="root",
        key=key.record.key_id,
        subject=_stand_in_subject(spec),
        not_before=now,
        not_after=now + timedelta(days=365 * 25),
        output=f"{spec.id}.crt.pem",
    )
    serial = int.from_bytes(b"\x01" + hsm.random_bytes(16), "big")
    return issuer.issue_root(cert_spec, key, serial).der


def _name(spec: InputSpec) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "XX"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, STAND_IN_ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, f"Stand-in for {spec.id}"[:64]),
        ]
    )


def _software_csr(spec: InputSpec) -> bytes:
    key = ec.generate_private_key(ec.SECP384R1())
    request = (
        x509.CertificateSigningRequestBuilder().subject_name(_name(spec)).sign(key, hashes.SHA384())
    )
    return request.public_bytes(serialization.Encoding.DER)


def _software_ca(spec: InputSpec) -> bytes:
    """Another CA's self-signed certificate (the subject of a cross-certificate)."""
    key = ec.generate_private_key(ec.SECP384R1())
    name = _name(spec)
    public = key.public_key()
    start = datetime(2020, 1, 1, tzinfo=UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number() | (1 << 152))
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=365 * 25))
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
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
    )
    return builder.sign(key, hashes.SHA384()).public_bytes(serialization.Encoding.DER)


def describe(prepared: dict[str, list[str]]) -> Sequence[str]:
    """Lines telling the operator what was prepared."""
    return [
        f"stand-in QR images for {name}: {', '.join(paths)}" for name, paths in prepared.items()
    ]


class RecordingSheets:
    """A rehearsal's share sheet printer that finds each custodian's printed sheet again.

    An unattended rehearsal plays each custodian reading their own printed sheet: ``words`` reads
    the words back off the PDF (never from the engine), so the sheet itself is what is tested.
    A sheet printed by this process is remembered; one printed by an earlier process of the same
    rehearsal (``sealroom rehearse --resume``) is found in the sheets folder by the name
    ``FileSheetPrinter`` gave it (``sheet_file_name``: the share's title, the custodian's member
    index and the member count, which the script's holder list gives).
    """

    def __init__(
        self,
        inner: SheetPrinter,
        read: Callable[[Path], tuple[str, ...]],
        script: Script | None = None,
        folder: Path | None = None,
    ) -> None:
        self.inner = inner
        self.read = read
        self.script = script
        self.folder = folder if folder is not None else getattr(inner, "folder", None)
        self.paths: dict[tuple[str, str], Path] = {}

    def print_share_sheet(self, sheet: ShareSheet, words: Sequence[str]) -> PrintJob:
        job = self.inner.print_share_sheet(sheet, words)
        self.paths[(sheet.custodian, sheet.title)] = Path(job.destination)
        return job

    def words(self, custodian_name: str, what: str) -> tuple[str, ...]:
        """The words on ``custodian_name``'s printed sheet of ``what`` (e.g. HSM user PIN)."""
        path = self.paths.get((custodian_name, f"{what} share")) or self.sheet_path(
            custodian_name, what
        )
        if path is None or not path.is_file():
            where = f" ({path} does not exist)" if path is not None else ""
            raise CeremonyError(
                f"No share sheet of the {what} was printed for {custodian_name} in this "
                f"rehearsal{where}."
            )
        return self.read(path)

    def sheet_path(self, custodian_name: str, what: str) -> Path | None:
        """Where ``FileSheetPrinter`` put ``custodian_name``'s sheet of ``what``, by its naming.

        None when this printer has no folder or script, or the script splits no ``what`` among
        holders that include ``custodian_name``.
        """
        if self.folder is None or self.script is None:
            return None
        holders = _holders_of(self.script, what)
        names = [self.script.participant(h.custodian).name for h in holders]
        if custodian_name not in names:
            return None
        return self.folder / sheet_file_name(
            ShareSheet(
                ceremony_id=self.script.ceremony.id,
                title=f"{what} share",
                subject="",
                custodian=custodian_name,
                member_index=names.index(custodian_name) + 1,
                member_count=len(names),
                threshold=1,
                set_identifier=0,
                check_value="",
                rehearsal=True,
            )
        )


def _holders_of(script: Script, what: str) -> tuple[ShareHolder, ...]:
    """The script's share holders of ``what``, in member order (the order the engine splits in)."""
    for backup in script.backups:
        if kek_what(backup) == what:
            return backup.shares
        if backup.resplit is not None and old_kek_what(backup) == what:
            return backup.resplit.old_shares  # the set a re-split replaces
    activation = script.hsm.activation if script.hsm is not None else None
    if activation is not None:
        if what == USER_PIN:
            return activation.user_pin.shares
        if what == SO_PIN and activation.so_pin is not None:
            return activation.so_pin.shares
    return ()
