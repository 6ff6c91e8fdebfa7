"""Rehearsal stand-ins: the keys and imported objects an earlier ceremony would have made.

A rehearsal of, say, the subordinate CA signing runs on a throwaway token that holds no root key,
and nobody hands it the root certificate or the subordinate's request. Before the ceremony opens,
this module puts on the throwaway token every key the script uses but does not generate, makes a
stand-in for every object the script imports (a root certificate signed by the stand-in key, a
request from a software key, another CA's certificate), and prints each as SR1 QR images, so the
ceremony's import steps read real QR codes. The import journals each as a stand-in: its SHA-256
is not the one the script lists, which in a production ceremony stops the ceremony.

A trainer can hand the rehearsal a real object instead (``sealroom rehearse --input ID=PATH``):
the import of that input then reads the QR codes from PATH (an image, a folder of images or a
PDF), no stand-in is made for it, and the path is recorded beside the stand-ins so that a
``--resume`` must name the same one (docs/transfer.md, "Rehearsing with a real request").
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from sealroom.ceremony.activation import SO_PIN, USER_PIN
from sealroom.ceremony.answers import RehearsalAnswers
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
from sealroom.errors import CeremonyError, SealroomError
from sealroom.report.share_sheet import sheet_file_name
from sealroom.transfer.frames import FrameEncoder
from sealroom.transfer.qr import qr_image
from sealroom.transfer.receive import IMAGE_SUFFIXES

INPUTS_DIR = "rehearsal-inputs"
GIVEN_INPUTS = "given-inputs.json"
"""In INPUTS_DIR: input id -> the absolute path ``--input`` gave for it (read again on resume)."""
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
    *,
    given: Mapping[str, Path] | None = None,
) -> dict[str, list[str]]:
    """Make the stand-in keys and inputs; return input id -> where its QR codes are read from.

    ``given`` (from ``require_given_inputs``) maps input ids to the image, folder or PDF that
    ``--input`` named: no stand-in is made for those, and the paths are recorded in
    INPUTS_DIR/GIVEN_INPUTS for a resume.
    """
    given = dict(given or {})
    stand_in_keys = keys_to_stand_in(script)
    if not stand_in_keys and not script.inputs:
        return {}
    keys: dict[str, SigningKey] = {}
    if stand_in_keys:
        hsm.login(user_pin)
        try:
            for spec in stand_in_keys:
                keys[spec.id] = hsm.generate_key(spec)
            ders = _input_ders(script, hsm, issuer, keys, skip=set(given))
        finally:
            hsm.logout()
    else:
        ders = _input_ders(script, hsm, issuer, keys, skip=set(given))
    prepared: dict[str, list[str]] = {}
    if given:
        _record_given(out_dir, given)
        prepared.update({input_id: [str(path)] for input_id, path in given.items()})
    encoder = FrameEncoder()
    for wanted in script.inputs:
        if wanted.id in given:
            continue
        der, payload_type = ders.get(wanted.id, (None, None))
        if der is None or payload_type is None:
            continue
        folder = out_dir / INPUTS_DIR / wanted.id
        folder.mkdir(parents=True, exist_ok=False)
        for number, frame in enumerate(encoder.frames(der, payload_type), start=1):
            qr_image(frame, ecc="Q", scale=4).save(folder / f"frame-{number:02d}.png")
        prepared[wanted.id] = [str(folder)]
    return prepared


def prepared_inputs(
    script: Script,
    out_dir: Path,
    given: Mapping[str, Path] | None = None,
    journal: Path | None = None,
) -> dict[str, list[str]]:
    """Where an interrupted rehearsal reads each input's QR codes from (to resume it).

    The stand-in folders it prepared, and the paths it was started with ``--input``, which
    ``given`` must name again (``require_resumed_inputs``) unless the input is already journaled.
    """
    recorded = require_resumed_inputs(out_dir, given or {}, journal)
    prepared = {
        wanted.id: [str(out_dir / INPUTS_DIR / wanted.id)]
        for wanted in script.inputs
        if (out_dir / INPUTS_DIR / wanted.id).is_dir()
    }
    prepared.update({input_id: [str(path)] for input_id, path in recorded.items()})
    return prepared


def qr_imports(script: Script) -> dict[str, ActionStep]:
    """Input id -> the import-qr step that reads it."""
    return {
        str(step.params["input"]): step
        for step in script.steps
        if isinstance(step, ActionStep) and step.action == "import-qr"
    }


def require_given_inputs(
    script: Script,
    given: Sequence[tuple[str, Path]],
    answers: RehearsalAnswers | None = None,
) -> dict[str, Path]:
    """Check ``--input ID=PATH`` before anything starts; input id -> PATH made absolute.

    Refused, each with a sentence naming the option: an id given twice, an id that is not one
    of the script's inputs, an input no import-qr step reads, an import whose QR images the
    answers file already names (``scan:``), a PATH that does not exist, a folder without
    images, a file that is neither an image nor a PDF.
    """
    imports = qr_imports(script)
    known = [spec.id for spec in script.inputs]
    checked: dict[str, Path] = {}
    for input_id, path in given:
        option = f"--input {input_id}={path}"
        if input_id in checked:
            raise SealroomError(
                f"{option}: the input {input_id} is given twice; give each input once."
            )
        if input_id not in known:
            listed = ", ".join(known) if known else "none"
            raise SealroomError(
                f"{option}: {input_id} is not an input of this script (its inputs: {listed})."
            )
        step = imports.get(input_id)
        if step is None:
            raise SealroomError(
                f"{option}: the script does not import {input_id} by QR code (no import-qr "
                "step names it), so there are no QR codes to read for it."
            )
        scanned = _answers_scan(answers, step.id)
        if scanned is not None:
            raise SealroomError(
                f"{option}: the answers file already names the QR images of step {step.id} "
                f"({scanned}: scan); give them in one place only."
            )
        _require_readable(option, path)
        checked[input_id] = path.absolute()
    return checked


def require_resumed_inputs(
    out_dir: Path, given: Mapping[str, Path], journal: Path | None
) -> dict[str, Path]:
    """Check a resume's ``--input`` options against the ones the rehearsal was started with.

    The same ``--input ID=PATH`` must be given again for an input the interrupted rehearsal was
    started with and has not journaled yet; once ``input.received`` is journaled its DER is used
    and the option may be left out. An ``--input`` for an input the rehearsal read from its own
    stand-in, or naming another path, is refused. ``journal`` is the interrupted ceremony's
    journal. Returns input id -> recorded path.
    """
    recorded = _read_given(out_dir)
    received = _received_inputs(journal) if recorded and journal is not None else set()
    for input_id, path in given.items():
        started = recorded.get(input_id)
        if started is None:
            raise SealroomError(
                f"--input {input_id}={path}: the interrupted rehearsal was started without "
                f"--input {input_id} (it reads its own stand-in); resume it without this option, "
                "or start a new rehearsal in a new --out folder."
            )
        if path.absolute() != started:
            raise SealroomError(
                f"--input {input_id}={path}: the interrupted rehearsal was started with "
                f"--input {input_id}={started}; resume it with the same path."
            )
    for input_id, started in recorded.items():
        if input_id not in given and input_id not in received:
            raise SealroomError(
                f"The interrupted rehearsal was started with --input {input_id}={started} and "
                f"has not imported {input_id} yet; resume it with the same --input."
            )
        if input_id in given:
            _require_readable(f"--input {input_id}={given[input_id]}", given[input_id])
    return recorded


def _answers_scan(answers: RehearsalAnswers | None, step_id: str) -> str | None:
    """``file:line`` of the answers file's ``scan`` for ``step_id``, None if it has none."""
    if answers is None:
        return None
    answer = answers.model.steps.get(step_id)
    if answer is None or answer.scan is None:
        return None
    position = answers.doc.position(("steps", step_id, "scan"))
    return f"{answers.path}:{position.line}"


def _require_readable(option: str, path: Path) -> None:
    """PATH is an image, a folder holding images, or a PDF (what ImageQrReceiver reads)."""
    if not path.exists():
        raise SealroomError(f"{option}: {path} does not exist.")
    suffixes = ", ".join(IMAGE_SUFFIXES)
    if path.is_dir():
        if not any(p.suffix.lower() in IMAGE_SUFFIXES for p in path.iterdir()):
            raise SealroomError(f"{option}: the folder {path} holds no image files ({suffixes}).")
        return
    if path.suffix.lower() != ".pdf" and path.suffix.lower() not in IMAGE_SUFFIXES:
        raise SealroomError(
            f"{option}: {path} is neither an image ({suffixes}) nor a PDF, nor a folder of images."
        )
    if not os.access(path, os.R_OK):
        raise SealroomError(f"{option}: {path} cannot be read (permission denied).")


def _record_given(out_dir: Path, given: Mapping[str, Path]) -> None:
    """Write INPUTS_DIR/GIVEN_INPUTS once (never overwritten)."""
    folder = out_dir / INPUTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps({k: str(v) for k, v in sorted(given.items())}, indent=2) + "\n"
    with (folder / GIVEN_INPUTS).open("x", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _read_given(out_dir: Path) -> dict[str, Path]:
    """The ``--input`` paths an interrupted rehearsal was started with ({} if none)."""
    path = out_dir / INPUTS_DIR / GIVEN_INPUTS
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SealroomError(
            f"{path} cannot be read as the record of the rehearsal's --input options; "
            "the rehearsal cannot be resumed."
        ) from exc
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise SealroomError(
            f"{path} is not a record of --input options (an object of input id to path); "
            "the rehearsal cannot be resumed."
        )
    return {str(k): Path(v) for k, v in data.items()}


def _received_inputs(journal: Path) -> set[str]:
    """Input ids with an ``input.received`` entry in ``journal``.

    Read line by line and leniently (a torn or unreadable line is skipped): this only decides
    whether ``--input`` may be left out, and an entry missed here only asks for the option; the
    journal itself is verified when it is reopened.
    """
    received: set[str] = set()
    try:
        lines = journal.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return received
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if not isinstance(entry, dict):
            continue
        data = entry.get("data")
        if entry.get("event") == "input.received" and isinstance(data, dict):
            received.add(str(data.get("input_id")))
    return received


def _input_ders(
    script: Script,
    hsm: Hsm,
    issuer: CertificateIssuer,
    keys: dict[str, SigningKey],
    skip: set[str] | None = None,
) -> dict[str, tuple[bytes, str]]:
    made: dict[str, tuple[bytes, str]] = {}
    for spec in script.inputs:
        if skip and spec.id in skip:
            continue
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
        first = self.folder / sheet_file_name(
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
        # A sheet printed anew (a backup re-made after an abandoned one) is <stem>.2.pdf, …: the
        # newest paper is the one the custodian holds.
        newest, number = first, 2
        while (candidate := first.with_name(f"{first.stem}.{number}{first.suffix}")).exists():
            newest, number = candidate, number + 1
        return newest


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
