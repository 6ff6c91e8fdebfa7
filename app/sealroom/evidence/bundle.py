"""The evidence bundle written at close: journal, script, artefacts, registry and a manifest.

Layout and manifest format: docs/bundle.md. The bundle is built in a hidden folder beside
``bundle/`` and renamed into place only when complete, so a ``bundle/`` folder is always whole. It
is written once: an existing ``bundle/`` is refused, never replaced. Nothing that holds a PIN or
SLIP-39 words (share sheets, rehearsal answers, the token store) is ever copied into it. A
completed ceremony's bundle also holds ``registry.json``, computed from the bundled journal.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from sealroom.ceremony.fingerprint import Fingerprint, sha256_fingerprint
from sealroom.ceremony.ports import Json
from sealroom.errors import SealroomError
from sealroom.evidence.journaled import (
    CeremonyFacts,
    JournaledArtefact,
    JournaledInput,
    ceremony_facts,
    sha256_hex,
)
from sealroom.evidence.registry import registry_bytes, registry_from_journal
from sealroom.journal.canonical import canonical_bytes
from sealroom.journal.entry import JournalEntry
from sealroom.journal.verify import read_verified_entries, verify_journal

BUNDLE_DIR = "bundle"
MANIFEST_NAME = "manifest.json"
SUMS_NAME = "MANIFEST.sha256"
MANIFEST_FORMAT = "sealroom-evidence-bundle"
MANIFEST_VERSION = 1
JOURNAL_PATH = "journal.jsonl"
SCRIPT_DIR = "script"
ARTEFACT_DIR = "artefacts"
INPUT_DIR = "inputs"
DOCUMENT_DIR = "documents"
REPORT_NAME = "report.pdf"
REGISTRY_PATH = "registry.json"
CLOSED_EVENT = "ceremony.closed"
FILE_MODE = 0o444

KINDS = frozenset(
    {
        "journal",
        "script",
        "certificate",
        "csr",
        "crl",
        "input-certificate",
        "input-csr",
        "report",
        "worksheet",
        "document",
        "registry",
    }
)
"""Every ``kind`` a manifest entry may have (docs/bundle.md)."""

# Never in a bundle: what holds PINs or SLIP-39 words, or the token itself.
SECRET_FOLDERS = frozenset({"share-sheets", "softhsm"})
SHARE_SHEET_MARK = b"SLIP-39 share sheet"
"""The PDF /Subject every share sheet carries (report/share_sheet.py)."""


class BundleError(SealroomError):
    """The evidence bundle cannot be written, or the folder given is not a bundle at all."""


@dataclass(frozen=True)
class BundleFile:
    """One file of the bundle as the manifest lists it."""

    path: str
    """Relative to the bundle folder, ``/``-separated."""
    size: int
    sha256: str
    kind: str
    id: str | None = None
    """The script's id of the artefact or input, when the file is one."""
    seq: int | None = None
    """The journal entry that records the file (and its SHA-256), when one does."""

    def to_json(self) -> dict[str, Json]:
        return {
            "path": self.path,
            "size": self.size,
            "sha256": self.sha256,
            "kind": self.kind,
            "id": self.id,
            "seq": self.seq,
        }


@dataclass(frozen=True)
class Bundle:
    """A bundle written at close."""

    path: Path
    manifest_sha256: Fingerprint
    """SHA-256 of ``manifest.json``: the one value that identifies the whole bundle."""
    files: tuple[BundleFile, ...]
    ceremony_id: str
    ceremony_type: str

    @property
    def registry(self) -> BundleFile | None:
        """``registry.json`` for a completed ceremony; None after an abort (there is none)."""
        return next((f for f in self.files if f.kind == "registry"), None)


# ------------------------------------------------------------------------------------ manifest


def manifest_bytes(manifest: Mapping[str, Json]) -> bytes:
    """``manifest.json``: the journal's canonical encoding (sorted keys, no spaces) + newline."""
    return canonical_bytes(manifest) + b"\n"


def sums_text(files: Sequence[BundleFile], manifest_sha256: str) -> str:
    """``MANIFEST.sha256``: ``sha256sum`` lines for every file and manifest.json, sorted by path."""
    lines = [(f.path, f.sha256) for f in files] + [(MANIFEST_NAME, manifest_sha256)]
    return "".join(f"{digest}  {path}\n" for path, digest in sorted(lines))


def build_manifest(
    facts: CeremonyFacts,
    *,
    entries: int,
    final_seq: int,
    final_sha256: str,
    ended_by: str | None,
    files: Sequence[BundleFile],
) -> dict[str, Json]:
    return {
        "format": MANIFEST_FORMAT,
        "version": MANIFEST_VERSION,
        "ceremony_id": facts.ceremony_id,
        "ceremony_type": facts.ceremony_type,
        "title": facts.title,
        "rehearsal": facts.rehearsal,
        "ended_by": ended_by,
        "journal": {
            "path": JOURNAL_PATH,
            "entries": entries,
            "final_seq": final_seq,
            "final_sha256": final_sha256,
        },
        "script_sha256": facts.script_sha256,
        "files": [f.to_json() for f in sorted(files, key=lambda f: f.path)],
    }


# ------------------------------------------------------------------------------ secret refusal


def secret_reason(path: Path, data: bytes | None = None) -> str | None:
    """Why ``path`` must never enter a bundle (it holds PINs or share words), or None."""
    for part in path.parts:
        if part in SECRET_FOLDERS:
            return f"it is inside a {part}/ folder, which holds PINs, share words or keys"
    if path.name.endswith(".answers.yaml"):
        return "it is a rehearsal answers file, which holds the token PINs"
    if data is not None and path.suffix.lower() == ".pdf" and SHARE_SHEET_MARK in data:
        return (
            "it is a share sheet (its PDF subject is 'SLIP-39 share sheet'): it holds share words"
        )
    return None


def _require_not_secret(path: Path, data: bytes | None = None) -> None:
    reason = secret_reason(path, data)
    if reason is not None:
        raise BundleError(
            f"{path} must never go into the evidence bundle: {reason}. Leave it out of the "
            "files given for the bundle."
        )


# -------------------------------------------------------------------------------- DER of a PEM


def artefact_der(kind: str, data: bytes) -> bytes:
    """The DER of a certificate, CSR or CRL given as PEM or DER; raise ValueError if unreadable."""
    pem = data.lstrip().startswith(b"-----BEGIN")
    obj: x509.Certificate | x509.CertificateSigningRequest | x509.CertificateRevocationList
    if kind == "certificate":
        obj = x509.load_pem_x509_certificate(data) if pem else x509.load_der_x509_certificate(data)
    elif kind == "csr":
        obj = x509.load_pem_x509_csr(data) if pem else x509.load_der_x509_csr(data)
    else:
        obj = x509.load_pem_x509_crl(data) if pem else x509.load_der_x509_crl(data)
    return obj.public_bytes(serialization.Encoding.DER)


# ------------------------------------------------------------------------- what goes in


def collect_files(
    out_dir: Path,
    journal: Path,
    *,
    render_report: Callable[[Sequence[JournalEntry]], bytes] | None = None,
) -> list[Path]:
    """The files of ``out_dir`` a bundle holds, found from the journal rather than the folder.

    Every certificate, CSR and CRL output the journal records (it must exist), and the report PDF.
    A report printed through CUPS left no file: with ``render_report`` it is rendered again from
    the journal entries it covered (reports are byte-identical for the same entries), checked
    against the SHA-256 journaled with the print, and written once to ``out_dir/report.pdf``.
    """
    entries = read_verified_entries(journal)[1]
    facts = ceremony_facts(entries)
    files: list[Path] = []
    for artefact in facts.artefacts:
        path = out_dir / artefact.output
        if not path.is_file():
            raise BundleError(
                f"The journal records the {artefact.kind} {artefact.id} written to {path} "
                f"(seq {artefact.seq}), but there is no such file; the bundle is refused."
            )
        files.append(path)
    report = out_dir / REPORT_NAME
    if not report.exists() and facts.reports and render_report is not None:
        printed = facts.reports[-1]
        pdf = render_report(entries[: printed.covers_through])
        if sha256_hex(pdf) != printed.sha256:
            raise BundleError(
                f"The report printed at seq {printed.seq} (SHA-256 {printed.sha256}) could not "
                f"be rendered again with the same bytes (got {sha256_hex(pdf)}); put the PDF "
                f"that was printed at {report} and write the bundle again."
            )
        _write(out_dir, REPORT_NAME, pdf)
    if report.is_file():
        files.append(report)
    return files


# ------------------------------------------------------------------------------------- writing


def write_bundle(out_dir: Path, *, journal: Path, script: Path, files: Sequence[Path]) -> Bundle:
    """Write ``out_dir/bundle/`` once, from a closed journal, its script and the ceremony's files.

    ``files`` are the artefacts (certificates, CSRs, CRLs the journal names, by file name) and the
    documents (PDFs: the report, a worksheet). Every artefact and every printed report the journal
    names must be among them with the SHA-256 journaled; the objects taken in through the air gap
    are written from the journal itself into ``inputs/``. A ceremony that ended with
    ``ceremony.closed`` also gets ``registry.json`` (``registry_bytes`` of the registry computed
    from the bundled journal); an aborted one gets none. Raises BundleError (or JournalError)
    naming the file, and leaves no ``bundle/`` behind, if anything is wrong.
    """
    target = out_dir / BUNDLE_DIR
    if target.exists() or target.is_symlink():
        raise BundleError(
            f"{target} already exists; an evidence bundle is written once and never replaced."
        )
    for path in (journal, script, *files):
        _require_not_secret(path)
    try:
        work = Path(tempfile.mkdtemp(prefix=".bundle-", dir=out_dir))
    except OSError as exc:
        raise BundleError(f"Cannot create the bundle in {out_dir}: {exc.strerror}.") from exc
    try:
        written = _fill(work, journal=journal, script=script, files=files)
        _fsync_dir(work)
        if target.exists() or target.is_symlink():
            raise BundleError(
                f"{target} appeared while the bundle was written; it is never replaced."
            )
        work.chmod(0o755)
        os.rename(work, target)
        _fsync_dir(out_dir)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return Bundle(
        path=target,
        manifest_sha256=written[0],
        files=written[1],
        ceremony_id=written[2].ceremony_id,
        ceremony_type=written[2].ceremony_type,
    )


def _fill(
    work: Path, *, journal: Path, script: Path, files: Sequence[Path]
) -> tuple[Fingerprint, tuple[BundleFile, ...], CeremonyFacts]:
    listed: list[BundleFile] = []
    # The journal is copied first and the copy is what is verified and read.
    journal_data = _read(journal)
    copy = _write(work, JOURNAL_PATH, journal_data)
    listed.append(_listed(JOURNAL_PATH, journal_data, "journal"))
    verdict = verify_journal(copy, require_checkpoints=True)
    if not verdict.ok:
        raise BundleError(
            f"The journal {journal} does not verify, so no bundle is written: "
            f"{verdict.first_problem}"
        )
    if verdict.ended_by is None:
        raise BundleError(
            f"The journal {journal} does not end with ceremony.closed or ceremony.aborted: the "
            "ceremony is still open. The bundle is written when it ends."
        )
    entries = read_verified_entries(copy)[1]
    facts = ceremony_facts(entries)

    script_data = _read(script)
    _require_not_secret(script, script_data)
    actual = sha256_hex(script_data)
    if actual != facts.script_sha256:
        raise BundleError(
            f"The script file {script} has SHA-256 {actual}, but the journal's opening (seq 1) "
            f"records {facts.script_sha256}: it is not the script this ceremony ran."
        )
    listed.append(_put(work, f"{SCRIPT_DIR}/{script.name}", script_data, "script"))

    listed.extend(_put_files(work, files, facts))
    for wanted in facts.inputs:
        listed.append(_put_input(work, wanted))
    if verdict.ended_by == CLOSED_EVENT:
        listed.append(_put(work, REGISTRY_PATH, bundled_registry(entries, journal), "registry"))

    _require_unique(listed)
    manifest = build_manifest(
        facts,
        entries=verdict.entries,
        final_seq=verdict.head_seq,
        final_sha256=verdict.head_sha256,
        ended_by=verdict.ended_by,
        files=listed,
    )
    data = manifest_bytes(manifest)
    _write(work, MANIFEST_NAME, data)
    fingerprint = sha256_fingerprint(data)
    _write(work, SUMS_NAME, sums_text(listed, fingerprint.hex).encode("utf-8"))
    return fingerprint, tuple(sorted(listed, key=lambda f: f.path)), facts


def bundled_registry(entries: Sequence[JournalEntry], journal: Path) -> bytes:
    """The bytes of ``registry.json`` for a completed ceremony's verified journal entries."""
    try:
        return registry_bytes(registry_from_journal(entries))
    except SealroomError as exc:
        raise BundleError(
            f"The registry of the completed ceremony cannot be computed from {journal}, so no "
            f"bundle is written: {exc.message}"
        ) from exc


def _put_files(work: Path, files: Sequence[Path], facts: CeremonyFacts) -> list[BundleFile]:
    by_output: dict[str, JournaledArtefact] = {a.output: a for a in facts.artefacts}
    found: set[str] = set()
    report_hashes = {r.sha256: r for r in facts.reports}
    listed: list[BundleFile] = []
    for path in files:
        data = _read(path)
        _require_not_secret(path, data)
        artefact = by_output.get(path.name)
        if artefact is not None:
            _require_journaled_hash(path, data, artefact)
            found.add(artefact.output)
            listed.append(
                _put(
                    work,
                    f"{ARTEFACT_DIR}/{path.name}",
                    data,
                    artefact.kind,
                    id_=artefact.id,
                    seq=artefact.seq,
                )
            )
        elif path.suffix.lower() == ".pdf":
            digest = sha256_hex(data)
            report = report_hashes.get(digest)
            if report is not None:
                kind, seq = "report", report.seq
            elif path.name == REPORT_NAME:
                kind, seq = "report", None  # printed after an abort, once the journal was closed
            else:
                kind, seq = ("worksheet" if "worksheet" in path.name else "document"), None
            listed.append(_put(work, f"{DOCUMENT_DIR}/{path.name}", data, kind, seq=seq))
        else:
            raise BundleError(
                f"{path} is neither an artefact the journal names (a certificate, CSR or CRL "
                "output) nor a document (PDF); it is not put into the evidence bundle."
            )
    for artefact in facts.artefacts:
        if artefact.output not in found:
            raise BundleError(
                f"The journal records the {artefact.kind} {artefact.id} written to "
                f"{artefact.output} (seq {artefact.seq}), but that file is not among the files "
                "given for the bundle; the bundle is refused."
            )
    bundled = {f.sha256 for f in listed if f.kind == "report"}
    for report in facts.reports:
        if report.sha256 not in bundled:
            raise BundleError(
                f"The report printed at seq {report.seq} has SHA-256 {report.sha256}, but no "
                "PDF given for the bundle has that SHA-256; the bundle is refused."
            )
    return listed


def _require_journaled_hash(path: Path, data: bytes, artefact: JournaledArtefact) -> None:
    try:
        der = artefact_der(artefact.kind, data)
    except ValueError as exc:
        raise BundleError(
            f"{path} is not a readable {artefact.kind} (PEM or DER); the journal records it at "
            f"seq {artefact.seq}. The bundle is refused."
        ) from exc
    actual = sha256_hex(der)
    if actual != artefact.der_sha256:
        raise BundleError(
            f"{path}: the SHA-256 of its DER is {actual}, but the journal records "
            f"{artefact.der_sha256} for the {artefact.kind} {artefact.id} at seq {artefact.seq}. "
            "The file was changed or replaced; the bundle is refused."
        )


def _put_input(work: Path, wanted: JournaledInput) -> BundleFile:
    actual = sha256_hex(wanted.der)
    if actual != wanted.der_sha256:
        raise BundleError(
            f"Journal entry seq {wanted.seq}: the DER of input {wanted.id} has SHA-256 {actual}, "
            f"not the der_sha256 {wanted.der_sha256} recorded with it."
        )
    kind = "certificate" if wanted.kind == "certificate" else "csr"
    pem = artefact_pem(kind, wanted.der)
    return _put(
        work,
        f"{INPUT_DIR}/{wanted.file_name}",
        pem,
        f"input-{kind}",
        id_=wanted.id,
        seq=wanted.seq,
    )


def artefact_pem(kind: str, der: bytes) -> bytes:
    """PEM of a certificate or CSR given as DER (what openssl reads by default)."""
    obj: x509.Certificate | x509.CertificateSigningRequest
    if kind == "certificate":
        obj = x509.load_der_x509_certificate(der)
    else:
        obj = x509.load_der_x509_csr(der)
    return obj.public_bytes(serialization.Encoding.PEM)


def _require_unique(listed: Sequence[BundleFile]) -> None:
    seen: set[str] = set()
    for item in listed:
        if item.path in seen:
            raise BundleError(
                f"Two files would both be {item.path} in the bundle; give each file once."
            )
        seen.add(item.path)


def _listed(
    relative: str, data: bytes, kind: str, *, id_: str | None = None, seq: int | None = None
) -> BundleFile:
    return BundleFile(relative, len(data), sha256_hex(data), kind, id_, seq)


def _put(
    work: Path,
    relative: str,
    data: bytes,
    kind: str,
    *,
    id_: str | None = None,
    seq: int | None = None,
) -> BundleFile:
    _write(work, relative, data)
    return _listed(relative, data, kind, id_=id_, seq=seq)


def _read(path: Path) -> bytes:
    if not path.is_file():
        raise BundleError(f"{path} is not a file; it cannot go into the evidence bundle.")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise BundleError(f"Cannot read {path}: {exc.strerror}.") from exc


def _write(work: Path, relative: str, data: bytes) -> Path:
    parts = relative.split("/")
    if "\n" in relative or "\\" in relative or any(p in {"", ".", ".."} for p in parts):
        raise BundleError(f"{relative!r} cannot be a file name in a bundle.")
    path = work / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError as exc:
        raise BundleError(f"Two files would both be {relative} in the bundle.") from exc
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    return path


def _fsync_dir(directory: Path) -> None:
    for folder in (directory, *(p for p in directory.rglob("*") if p.is_dir())):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
