"""The evidence bundle: what goes in (never a share sheet), written once, tampering named."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from sealroom.backup.sharing import Slip39Sharing
from sealroom.ceremony.loader import load_script
from sealroom.ceremony.runner import Adapters, Runner
from sealroom.cli import main
from sealroom.errors import CeremonyAborted
from sealroom.evidence.bundle import (
    MANIFEST_NAME,
    SUMS_NAME,
    BundleError,
    collect_files,
    write_bundle,
)
from sealroom.evidence.registry import registry_bytes, registry_from_journal
from sealroom.evidence.verify import (
    CHECK_ARTEFACTS,
    CHECK_FILES,
    CHECK_JOURNAL,
    CHECK_REGISTRY,
    CHECK_SCRIPT,
    CHECK_SIGNATURES,
    BundleVerification,
    verify_bundle,
)
from sealroom.journal.canonical import canonical_bytes
from sealroom.journal.store import JournalWriter
from sealroom.journal.verify import read_verified_entries
from sealroom.outputs import OutputFolder
from sealroom.report import matrix
from tests.fakes import (
    ROOT_SCRIPT,
    FakeHsm,
    FakeIssuer,
    FakeKeyBackup,
    FakePrinter,
    FakeQr,
    FakeReceiver,
    FakeReport,
    FakeSheetPrinter,
    FixedClock,
    ScriptedOperator,
    fake_restore_token,
)

CERT = "artefacts/root.crt.pem"
REPORT = "documents/report.pdf"
REGISTRY = "registry.json"


@pytest.fixture(scope="module")
def ceremony(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root ceremony run by the engine over fakes, with the real journal and output folder."""
    out = tmp_path_factory.mktemp("ceremony")
    loaded = load_script(ROOT_SCRIPT)
    clock = FixedClock()
    printer = FakePrinter()
    with JournalWriter.create(out / "journal.jsonl", clock) as journal:
        adapters = Adapters(
            hsm=FakeHsm(),
            issuer=FakeIssuer(),
            journal=journal,
            store=OutputFolder(out),
            report=FakeReport(),
            printer=printer,
            qr=FakeQr(),
            clock=clock,
            receiver=FakeReceiver(),
            sharing=Slip39Sharing(),
            sheets=FakeSheetPrinter(),
            backup=FakeKeyBackup(),
            restore_hsm=fake_restore_token(FakeHsm().pin),
        )
        operator = ScriptedOperator(loaded.script)
        operator.sheets = adapters.sheets  # type: ignore[assignment]
        result = Runner(loaded, adapters, rehearsal=True).run(operator)
    assert result.completed
    (_, pdf), *_ = printer.jobs
    (out / "report.pdf").write_bytes(pdf)  # what the printer was given, as FilePrinter keeps it
    return out


@pytest.fixture(scope="module")
def sealed(ceremony: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ceremony's bundle, written once for the module (tests tamper with copies)."""
    out = tmp_path_factory.mktemp("sealed")
    for name in ("journal.jsonl", "root.crt.pem", "report.pdf"):
        shutil.copy(ceremony / name, out / name)
    files = collect_files(out, out / "journal.jsonl")
    return write_bundle(out, journal=out / "journal.jsonl", script=ROOT_SCRIPT, files=files).path


@pytest.fixture
def bundle(sealed: Path, tmp_path: Path) -> Path:
    """A writable copy of the bundle to tamper with."""
    copy = tmp_path / "bundle"
    shutil.copytree(sealed, copy)
    for path in copy.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return copy


def reseal(bundle: Path) -> None:
    """What a careful forger does: rebuild manifest.json and MANIFEST.sha256 from the files."""
    manifest = json.loads((bundle / MANIFEST_NAME).read_bytes())
    for item in manifest["files"]:
        data = (bundle / item["path"]).read_bytes()
        item["sha256"], item["size"] = hashlib.sha256(data).hexdigest(), len(data)
    data = canonical_bytes(manifest) + b"\n"
    (bundle / MANIFEST_NAME).write_bytes(data)
    lines = [(i["path"], i["sha256"]) for i in manifest["files"]]
    lines.append((MANIFEST_NAME, hashlib.sha256(data).hexdigest()))
    (bundle / SUMS_NAME).write_text("".join(f"{h}  {p}\n" for p, h in sorted(lines)))


def problems_of(result: BundleVerification, check: str) -> list[str]:
    return [p.message for p in result.problems if p.check == check]


# --------------------------------------------------------------------------------- the bundle


def test_the_bundle_holds_the_journal_script_artefacts_and_report(sealed: Path) -> None:
    files = sorted(p.relative_to(sealed).as_posix() for p in sealed.rglob("*") if p.is_file())
    assert files == [
        SUMS_NAME,
        CERT,
        REPORT,
        "journal.jsonl",
        MANIFEST_NAME,
        REGISTRY,
        "script/root-key-generation.yaml",
    ]
    raw = (sealed / MANIFEST_NAME).read_bytes()
    manifest = json.loads(raw)
    assert raw == canonical_bytes(manifest) + b"\n"  # canonical, one line
    assert manifest["format"] == "sealroom-evidence-bundle" and manifest["version"] == 1
    assert manifest["ceremony_id"] == "EXR-RKG-2026-11"
    assert manifest["ceremony_type"] == "root-key-generation"
    assert manifest["ended_by"] == "ceremony.closed"
    journal = (sealed / "journal.jsonl").read_bytes().splitlines()
    assert manifest["journal"]["final_sha256"] == hashlib.sha256(journal[-1]).hexdigest()
    assert manifest["journal"]["final_seq"] == len(journal)
    kinds = {item["path"]: item["kind"] for item in manifest["files"]}
    assert kinds == {
        CERT: "certificate",
        REPORT: "report",
        "journal.jsonl": "journal",
        REGISTRY: "registry",
        "script/root-key-generation.yaml": "script",
    }
    cert = next(i for i in manifest["files"] if i["path"] == CERT)
    issued = next(json.loads(line) for line in journal if b'"event":"certificate.issued"' in line)
    assert (cert["id"], cert["seq"]) == ("root-certificate", issued["seq"])
    for item in manifest["files"]:
        data = (sealed / item["path"]).read_bytes()
        assert item["sha256"] == hashlib.sha256(data).hexdigest()
        assert item["size"] == len(data)


def test_a_completed_ceremony_bundle_holds_the_registry_its_journal_gives(sealed: Path) -> None:
    entries = read_verified_entries(sealed / "journal.jsonl")[1]
    registry = registry_from_journal(entries)
    assert (sealed / REGISTRY).read_bytes() == registry_bytes(registry)
    assert registry.ceremony.id == "EXR-RKG-2026-11" and registry.ceremony.rehearsal
    assert registry.ceremony.journal_final_sha256 == entries[-1].sha256
    item = next(
        i
        for i in json.loads((sealed / MANIFEST_NAME).read_bytes())["files"]
        if i["path"] == REGISTRY
    )
    assert (item["kind"], item["id"], item["seq"]) == ("registry", None, None)
    sums = (sealed / SUMS_NAME).read_text()
    assert f"{hashlib.sha256((sealed / REGISTRY).read_bytes()).hexdigest()}  {REGISTRY}\n" in sums
    check = next(c for c in verify_bundle(sealed).checks if c.name == CHECK_REGISTRY)
    assert check.ok and check.detail.startswith(f"{REGISTRY} is the registry computed")


def test_manifest_sha256_file_checks_with_sha256sum_alone(sealed: Path) -> None:
    result = subprocess.run(
        ["sha256sum", "--strict", "-c", SUMS_NAME],
        cwd=sealed,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{MANIFEST_NAME}: OK" in result.stdout
    assert f"{CERT}: OK" in result.stdout


def test_an_untouched_bundle_verifies(sealed: Path) -> None:
    result = verify_bundle(sealed)
    assert [c.name for c in result.checks if not c.ok] == []
    assert result.problems == () and result.missing_evidence == ()
    assert result.ok
    assert (
        result.manifest_sha256 == hashlib.sha256((sealed / MANIFEST_NAME).read_bytes()).hexdigest()
    )


def test_the_bundle_is_written_once(sealed: Path) -> None:
    before = {p: p.read_bytes() for p in sealed.rglob("*") if p.is_file()}
    out = sealed.parent
    with pytest.raises(BundleError, match="already exists; an evidence bundle is written once"):
        write_bundle(
            out, journal=out / "journal.jsonl", script=ROOT_SCRIPT, files=[out / "root.crt.pem"]
        )
    assert {p: p.read_bytes() for p in sealed.rglob("*") if p.is_file()} == before
    assert [p.name for p in out.iterdir() if p.name.startswith(".bundle")] == []


# ------------------------------------------------------------------------------------ refusals


def _copy_outputs(ceremony: Path, to: Path) -> Path:
    to.mkdir()
    for name in ("journal.jsonl", "root.crt.pem", "report.pdf"):
        shutil.copy(ceremony / name, to / name)
    return to


def _refused(out: Path, files: list[Path], script: Path = ROOT_SCRIPT) -> str:
    with pytest.raises(BundleError) as caught:
        write_bundle(out, journal=out / "journal.jsonl", script=script, files=files)
    assert not (out / "bundle").exists()
    assert [p.name for p in out.iterdir() if p.name.startswith(".bundle")] == []
    return caught.value.message


def test_share_sheets_and_pin_files_never_go_into_a_bundle(ceremony: Path, tmp_path: Path) -> None:
    out = _copy_outputs(ceremony, tmp_path / "out")
    base = [out / "root.crt.pem", out / "report.pdf"]
    sheets = out / "share-sheets"
    sheets.mkdir()
    sheet = sheets / "share-hsm-user-pin-share-1-of-3.pdf"
    sheet.write_bytes(b"%PDF-1.4 anything\n")
    message = _refused(out, [*base, sheet])
    assert str(sheet) in message and "share-sheets/ folder" in message
    # A share sheet under an innocent name is known by its PDF subject.
    disguised = out / "notes.pdf"
    disguised.write_bytes(b"%PDF-1.4\n<< /Subject (SLIP-39 share sheet) >>\n")
    message = _refused(out, [*base, disguised])
    assert str(disguised) in message and "share words" in message
    answers = out / "root-key-generation.answers.yaml"
    answers.write_text("token: {}\n")
    assert "token PINs" in _refused(out, [*base, answers])
    token = out / "softhsm" / "softhsm2.conf"
    token.parent.mkdir()
    token.write_text("directories.tokendir = x\n")
    assert "softhsm/ folder" in _refused(out, [*base, token])


def test_an_artefact_not_as_journaled_refuses_the_bundle(ceremony: Path, tmp_path: Path) -> None:
    out = _copy_outputs(ceremony, tmp_path / "out")
    (out / "root.crt.pem").write_bytes(_other_root_pem())
    message = _refused(out, [out / "root.crt.pem", out / "report.pdf"])
    assert f"{out / 'root.crt.pem'}: the SHA-256 of its DER is" in message
    assert "certificate root-certificate at seq" in message


def test_a_journaled_artefact_left_out_refuses_the_bundle(ceremony: Path, tmp_path: Path) -> None:
    out = _copy_outputs(ceremony, tmp_path / "out")
    message = _refused(out, [out / "report.pdf"])
    assert "certificate root-certificate written to root.crt.pem" in message
    (out / "root.crt.pem").unlink()
    with pytest.raises(BundleError, match=r"root\.crt\.pem .*there is no such file"):
        collect_files(out, out / "journal.jsonl")


def test_a_report_other_than_the_printed_one_refuses_the_bundle(
    ceremony: Path, tmp_path: Path
) -> None:
    out = _copy_outputs(ceremony, tmp_path / "out")
    (out / "report.pdf").write_bytes(b"%PDF-1.4 another report\n")
    message = _refused(out, [out / "root.crt.pem", out / "report.pdf"])
    assert "The report printed at seq" in message and "no PDF given" in message


def test_a_script_other_than_the_journaled_one_refuses_the_bundle(
    ceremony: Path, tmp_path: Path
) -> None:
    out = _copy_outputs(ceremony, tmp_path / "out")
    script = tmp_path / "root-key-generation.yaml"
    script.write_text(ROOT_SCRIPT.read_text() + "# edited afterwards\n")
    message = _refused(out, [out / "root.crt.pem", out / "report.pdf"], script=script)
    assert f"The script file {script} has SHA-256" in message
    assert "journal's opening (seq 1)" in message


def test_a_tampered_journal_refuses_the_bundle(ceremony: Path, tmp_path: Path) -> None:
    out = _copy_outputs(ceremony, tmp_path / "out")
    journal = out / "journal.jsonl"
    journal.write_bytes(journal.read_bytes().replace(b"alice", b"mallory", 1))
    assert "does not verify" in _refused(out, [out / "root.crt.pem", out / "report.pdf"])


# ------------------------------------------------------------------------------------ tampering


def _flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def test_an_edited_byte_in_an_artefact_is_named(bundle: Path) -> None:
    _flip(bundle / CERT, 200)  # inside the base64 of the certificate
    result = verify_bundle(bundle)
    assert not result.ok
    assert [m for m in problems_of(result, CHECK_FILES) if m.startswith(f"{CERT}: SHA-256")]
    assert any(CERT in m for m in problems_of(result, CHECK_ARTEFACTS))
    # A forger who rebuilds the manifest is still caught by the journal's record.
    reseal(bundle)
    result = verify_bundle(bundle)
    assert problems_of(result, CHECK_FILES) == []
    assert problems_of(result, CHECK_ARTEFACTS)
    assert {p.file for p in result.problems} == {CERT}


def test_an_edited_byte_in_the_journal_names_the_first_bad_entry(bundle: Path) -> None:
    journal = bundle / "journal.jsonl"
    lines = journal.read_bytes().splitlines(keepends=True)
    lines[5] = lines[5].replace(b"alice", b"alicf", 1)
    assert b"alicf" in lines[5]
    journal.write_bytes(b"".join(lines))
    result = verify_bundle(bundle)
    (problem,) = problems_of(result, CHECK_JOURNAL)
    assert "line 7 (seq 7)" in problem  # the entry after the edited one no longer chains
    assert next(p.seq for p in result.problems if p.check == CHECK_JOURNAL) == 7
    assert any(m.startswith("journal.jsonl: SHA-256") for m in problems_of(result, CHECK_FILES))


def test_a_deleted_file_is_named(bundle: Path) -> None:
    (bundle / REPORT).unlink()
    result = verify_bundle(bundle)
    assert f"{REPORT}: missing (manifest.json lists it as report)" in problems_of(
        result, CHECK_FILES
    )
    assert any("the report printed at seq" in m for m in problems_of(result, CHECK_ARTEFACTS))


def test_an_added_file_is_named(bundle: Path) -> None:
    (bundle / "documents" / "extra.pdf").write_bytes(b"%PDF-1.4 slipped in\n")
    result = verify_bundle(bundle)
    assert problems_of(result, CHECK_FILES) == [
        "documents/extra.pdf: a file the manifest does not list (added to the bundle)"
    ]
    assert not result.ok


def test_a_swapped_script_is_named_even_with_a_rebuilt_manifest(bundle: Path) -> None:
    script = bundle / "script" / "root-key-generation.yaml"
    script.write_text(script.read_text().replace("Example Root CA R1", "Example Root CA R9"))
    reseal(bundle)
    result = verify_bundle(bundle)
    (problem,) = result.problems
    assert problem.check == CHECK_SCRIPT and problem.seq == 1
    assert problem.file == "script/root-key-generation.yaml"
    assert "not the script the ceremony ran" in problem.message


def test_a_tampered_registry_is_named_even_with_a_rebuilt_manifest(bundle: Path) -> None:
    registry = bundle / REGISTRY
    text = registry.read_text()
    sealed_in = json.loads(text)["bags"][0]["serial"]
    assert text.count(f'"{sealed_in}"') == 1
    registry.write_text(text.replace(f'"{sealed_in}"', '"TEB-999999"'))
    reseal(bundle)
    result = verify_bundle(bundle)
    (problem,) = result.problems
    line = text.splitlines().index(next(x for x in text.splitlines() if sealed_in in x)) + 1
    assert (problem.check, problem.file) == (CHECK_REGISTRY, REGISTRY)
    assert problem.message == (
        f"{REGISTRY} does not match the registry computed from the journal (first difference at "
        f'line {line}: the file has \'"serial": "TEB-999999"\', the journal gives '
        f'\'"serial": "{sealed_in}"\')'
    )
    assert not next(c for c in result.checks if c.name == CHECK_REGISTRY).ok


def test_a_registry_cut_short_is_named_at_its_end(bundle: Path) -> None:
    registry = bundle / REGISTRY
    lines = registry.read_text().splitlines(keepends=True)
    registry.write_text("".join(lines[:10]))
    reseal(bundle)
    (problem,) = verify_bundle(bundle).problems
    assert problem.check == CHECK_REGISTRY
    assert "(first difference at line 11: the file ends where the journal gives" in problem.message


def test_a_missing_registry_of_a_completed_ceremony_is_named(bundle: Path) -> None:
    (bundle / REGISTRY).unlink()
    result = verify_bundle(bundle)
    assert f"{REGISTRY}: missing (manifest.json lists it as registry)" in problems_of(
        result, CHECK_FILES
    )
    assert problems_of(result, CHECK_REGISTRY)
    # A forger who also takes it out of the manifest and the sums file is still caught.
    manifest = json.loads((bundle / MANIFEST_NAME).read_bytes())
    manifest["files"] = [i for i in manifest["files"] if i["path"] != REGISTRY]
    (bundle / MANIFEST_NAME).write_bytes(canonical_bytes(manifest) + b"\n")
    reseal(bundle)
    result = verify_bundle(bundle)
    closed = len((bundle / "journal.jsonl").read_bytes().splitlines()) - 1  # then the checkpoint
    (problem,) = result.problems
    assert (problem.check, problem.file, problem.seq) == (CHECK_REGISTRY, REGISTRY, closed)
    assert problem.message.startswith(
        f"{REGISTRY}: missing; the ceremony completed (ceremony.closed at seq {closed})"
    )


def test_an_aborted_ceremony_bundle_has_no_registry_and_one_added_is_named(
    sealed: Path, tmp_path: Path
) -> None:
    out = tmp_path / "aborted"
    out.mkdir()
    loaded = load_script(ROOT_SCRIPT)
    clock = FixedClock()
    with JournalWriter.create(out / "journal.jsonl", clock) as journal:
        adapters = Adapters(
            hsm=FakeHsm(),
            issuer=FakeIssuer(),
            journal=journal,
            store=OutputFolder(out),
            report=FakeReport(),
            printer=FakePrinter(),
            qr=FakeQr(),
            clock=clock,
            receiver=FakeReceiver(),
            sharing=Slip39Sharing(),
            sheets=FakeSheetPrinter(),
            backup=FakeKeyBackup(),
            restore_hsm=fake_restore_token(FakeHsm().pin),
        )
        operator = ScriptedOperator(loaded.script, mismatch_at="software-integrity")
        with pytest.raises(CeremonyAborted):
            Runner(loaded, adapters, rehearsal=True).run(operator)
    files = collect_files(out, out / "journal.jsonl")
    written = write_bundle(out, journal=out / "journal.jsonl", script=ROOT_SCRIPT, files=files)
    assert written.registry is None
    assert not (written.path / REGISTRY).exists()
    manifest = json.loads((written.path / MANIFEST_NAME).read_bytes())
    assert manifest["ended_by"] == "ceremony.aborted"
    assert "registry" not in {i["kind"] for i in manifest["files"]}
    check = next(c for c in verify_bundle(written.path).checks if c.name == CHECK_REGISTRY)
    assert check.ok and check.detail.startswith(f"no {REGISTRY}, as it should be")
    assert problems_of(verify_bundle(written.path), CHECK_REGISTRY) == []

    # The completed ceremony's registry slipped into the aborted one's bundle, manifest rebuilt.
    copy = tmp_path / "bundle"
    shutil.copytree(written.path, copy)
    for path in copy.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    shutil.copy(sealed / REGISTRY, copy / REGISTRY)
    manifest["files"] = sorted(
        [
            *manifest["files"],
            {
                "path": REGISTRY,
                "size": 0,
                "sha256": "0" * 64,
                "kind": "registry",
                "id": None,
                "seq": None,
            },
        ],
        key=lambda i: i["path"],
    )
    (copy / MANIFEST_NAME).write_bytes(canonical_bytes(manifest) + b"\n")
    reseal(copy)
    result = verify_bundle(copy)
    assert problems_of(result, CHECK_FILES) == []
    (problem,) = [p for p in result.problems if p.check == CHECK_REGISTRY]
    aborted = next(
        json.loads(line)["seq"]
        for line in (copy / "journal.jsonl").read_text().splitlines()
        if '"event":"ceremony.aborted"' in line
    )
    assert (problem.file, problem.seq) == (REGISTRY, aborted)
    assert problem.message == (
        f"{REGISTRY}: the ceremony was aborted (ceremony.aborted at seq {aborted}), so its bundle "
        "holds no registry; the registry of the previous completed ceremony stays the one to use"
    )


def test_a_certificate_replaced_by_another_validly_signed_one_is_named(bundle: Path) -> None:
    other = _other_root_pem()
    assert (
        x509.load_pem_x509_certificate(other).verify_directly_issued_by(
            x509.load_pem_x509_certificate(other)
        )
        is None
    )  # itself a good self-signed certificate
    (bundle / CERT).write_bytes(other)
    reseal(bundle)
    result = verify_bundle(bundle)
    issued = next(
        json.loads(line)
        for line in (bundle / "journal.jsonl").read_text().splitlines()
        if '"event":"certificate.issued"' in line
    )
    (problem,) = [p for p in result.problems if p.check == CHECK_ARTEFACTS]
    assert (problem.file, problem.seq) == (CERT, issued["seq"])
    assert f"the journal records {issued['data']['sha256']}" in problem.message
    # Its signature is good, but not by the key the journal says signed at that entry.
    (signature,) = [p for p in result.problems if p.check == CHECK_SIGNATURES]
    assert signature.file == CERT
    assert f"the signing key {issued['data']['fingerprint']['hex']}" in signature.message
    assert {p.file for p in result.problems} == {CERT}


def test_missing_evidence_items_are_listed(bundle: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = matrix.evidence_matrix

    def without_clock(entries: object) -> matrix.EvidenceMatrix:
        computed = real(entries)  # type: ignore[arg-type]
        rows = tuple(row if row.item_id != "EV-CLOCK" else _absent(row) for row in computed.rows)
        return matrix.EvidenceMatrix(computed.ceremony_type, rows)

    monkeypatch.setattr(matrix, "evidence_matrix", without_clock)
    result = verify_bundle(bundle)
    assert [(m.item_id, m.title) for m in result.missing_evidence] == [
        ("EV-CLOCK", next(r.title for r in real(_entries(bundle)).rows if r.item_id == "EV-CLOCK"))
    ]
    assert not result.ok


# ---------------------------------------------------------------------------------------- CLI


def test_cli_verify_exit_codes(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", str(bundle)]) == 0
    out = capsys.readouterr().out
    assert "bundle verified; manifest.json SHA-256" in out
    assert "ok: certificate, CRL and CSR signatures: artefacts/root.crt.pem: verifies" in out
    (bundle / "extra.txt").write_text("x")
    assert main(["verify", str(bundle)]) == 1
    out = capsys.readouterr().out
    assert "FAILED: file hashes" in out and "extra.txt: a file the manifest does not list" in out
    assert "NOT VALID: 1 problem(s)" in out
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["verify", str(empty)]) == 2
    assert "it is not an evidence bundle" in capsys.readouterr().err
    assert main(["verify", str(tmp_path / "nowhere")]) == 2


def test_cli_verify_prints_missing_items(
    bundle: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = matrix.evidence_matrix

    def without_witness(entries: object) -> matrix.EvidenceMatrix:
        computed = real(entries)  # type: ignore[arg-type]
        rows = tuple(row if row.item_id != "EV-WITNESS" else _absent(row) for row in computed.rows)
        return matrix.EvidenceMatrix(computed.ceremony_type, rows)

    monkeypatch.setattr(matrix, "evidence_matrix", without_witness)
    assert main(["verify", str(bundle)]) == 1
    out = capsys.readouterr().out
    title = next(r.title for r in real(_entries(bundle)).rows if r.item_id == "EV-WITNESS")
    assert f"  EV-WITNESS {title}: missing" in out


# -------------------------------------------------------------------------------------- helpers


def _absent(row: matrix.EvidenceRow) -> matrix.EvidenceRow:
    return matrix.EvidenceRow(
        item_id=row.item_id,
        title=row.title,
        required=True,
        present=False,
        entries=(),
        digests=(),
        note="not in the journal",
    )


def _entries(bundle: Path) -> list[object]:
    from sealroom.journal.reader import read_entries

    return list(read_entries(bundle / "journal.jsonl"))


def _other_root_pem() -> bytes:
    key = ec.generate_private_key(ec.SECP384R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Example Root CA R1")])
    start = datetime(2026, 11, 1, tzinfo=UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA384())
    )
    return cert.public_bytes(serialization.Encoding.PEM)
