"""Issue 7 end to end: an openssl CSR crosses the air gap as QR codes, is signed, and comes back."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from sealroom.ceremony.loader import load_script
from sealroom.ceremony.script import ActionStep
from sealroom.errors import SealroomError
from sealroom.rehearsal import require_given_inputs

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "ceremony_scripts" / "subordinate-ca-signing.yaml"
SEALROOM = Path(sys.executable).with_name("sealroom")
CSR_INPUT = "issuing-ca-csr"
ROOT_INPUT = "root-certificate"
CERTIFICATE = "issuing-ca-g1"
# The sub-CA CSR policy (docs/csr-checks.md): RSA of at least 2048 bits, SHA-256/384/512, and a
# subject with organizationName and commonName (BR 7.1.2.10.2).
SUBJECT = "/C=DE/O=Example Trust Services/CN=Example Issuing CA G1"
BAND = r"CRT ([A-Z0-9]{8})\s+SHA-256"
"""The band above every page of a certificate's QR grid: type, message id, SHA-256."""
TIMEOUT = 300

pytestmark = pytest.mark.e2e


def _run(args: list[str], cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, input=stdin, capture_output=True, text=True, check=False, timeout=TIMEOUT
    )


def _ok(args: list[str], cwd: Path) -> str:
    done = _run(args, cwd)
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _make_csr(online: Path) -> tuple[Path, str]:
    """``openssl req`` on the online machine; the CSR's PEM and the SHA-256 of its DER."""
    online.mkdir()
    _ok(
        ["openssl", "req", "-new", "-newkey", "rsa:3072", "-nodes", "-sha256",
         "-keyout", "subca.key", "-subj", SUBJECT, "-out", "csr.pem"],
        online,
    )  # fmt: skip
    der = subprocess.run(
        ["openssl", "req", "-in", "csr.pem", "-outform", "DER"],
        cwd=online, capture_output=True, check=True, timeout=TIMEOUT,
    ).stdout  # fmt: skip
    return online / "csr.pem", hashlib.sha256(der).hexdigest()


def _print_and_scan(pdf: Path, scan: Path) -> None:
    """The export sheet printed and fed through a scanner: 150 dpi grey, askew, JPEG."""
    scan.mkdir()
    _ok(["pdftoppm", "-r", "150", "-gray", "-png", str(pdf), str(scan / "p")], scan)
    pages = sorted(scan.glob("p*.png"))
    assert pages, f"pdftoppm rendered no page of {pdf}"
    for number, page in enumerate(pages):
        with Image.open(page) as image:
            tilted = image.convert("L").rotate(
                1.5 if number % 2 else -1.0, resample=Image.Resampling.BILINEAR, fillcolor=255
            )
            tilted.save(page.with_suffix(".jpg"), quality=70)
        page.unlink()


def _journal(out: Path) -> list[dict[str, Any]]:
    lines = (out / "journal.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def _entry(entries: list[dict[str, Any]], event: str, **wanted: str) -> dict[str, Any]:
    found = [
        e["data"]
        for e in entries
        if e["event"] == event and all(e["data"].get(k) == v for k, v in wanted.items())
    ]
    assert len(found) == 1, f"expected one {event} {wanted}, found {len(found)}"
    data: dict[str, Any] = found[0]
    return data


def _page_texts(pdf: Path) -> list[str]:
    info = _ok(["pdfinfo", str(pdf)], pdf.parent)
    count = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))  # type: ignore[union-attr]
    return [
        _ok(["pdftotext", "-layout", "-f", str(n), "-l", str(n), str(pdf), "-"], pdf.parent)
        for n in range(1, count + 1)
    ]


def _grid_pages(texts: list[str], heading: str) -> list[int]:
    """The page numbers carrying the band of the QR grid printed under ``heading``."""
    first = next((n for n, text in enumerate(texts) if heading in text), None)
    assert first is not None, f"no report page has the heading {heading!r}"
    band = next((m for text in texts[first:] if (m := re.search(BAND, text))), None)
    assert band is not None, f"no grid band follows the heading {heading!r}"
    return [n + 1 for n, text in enumerate(texts) if band.group(0) in text]


def _receive(report: Path, pages: list[int], folder: Path, out: Path) -> str:
    """The online side: rasterise only ``pages`` of the report, ``transfer receive`` them."""
    folder.mkdir()
    for n in pages:
        _ok(
            ["pdftoppm", "-r", "150", "-png", "-f", str(n), "-l", str(n), str(report),
             str(folder / f"page-{n:02d}")],
            folder,
        )  # fmt: skip
    images = sorted(str(p) for p in folder.glob("*.png"))
    assert len(images) == len(pages)
    printed = _ok([str(SEALROOM), "transfer", "receive", *images, "--type", "CRT",
                   "--out", str(out)], folder)  # fmt: skip
    match = re.search(r"^SHA-256:\s+([0-9A-F ]+)$", printed, re.M)
    assert match is not None, printed
    return match.group(1).replace(" ", "").lower()


def _pem(der: Path) -> Path:
    pem = der.with_suffix(".pem")
    _ok(["openssl", "x509", "-inform", "DER", "-in", str(der), "-out", str(pem)], der.parent)
    return pem


@pytest.mark.parametrize("carrier", ["png", "pdf"])
def test_an_openssl_csr_is_signed_in_a_rehearsal_and_verifies_on_the_online_side(
    tmp_path: Path, carrier: str
) -> None:
    online = tmp_path / "online"
    csr, csr_sha256 = _make_csr(online)
    if carrier == "png":
        _ok([str(SEALROOM), "transfer", "send", str(csr), "--png", "frames"], online)
        codes = online / "frames"
    else:
        _ok([str(SEALROOM), "transfer", "send", str(csr), "--pdf", "csr.pdf"], online)
        codes = online / "scan"
        _print_and_scan(online / "csr.pdf", codes)

    room = tmp_path / "room"
    room.mkdir()
    said = _ok(
        [str(SEALROOM), "rehearse", str(SCRIPT), "--out", "out", "--input", f"{CSR_INPUT}={codes}"],
        room,
    )
    out = room / "out"
    assert f"{CSR_INPUT}: its QR codes are read from {codes}" in said
    assert not (out / "rehearsal-inputs" / CSR_INPUT).exists(), "a stand-in CSR was made anyway"

    entries = _journal(out)
    received = _entry(entries, "input.received", input_id=CSR_INPUT)
    assert received["sha256"] == csr_sha256
    assert received["der_sha256"] == csr_sha256
    # Not the request the script lists: journaled as a rehearsal stand-in, as any other.
    assert received["stand_in"] is True
    assert (
        received["expected_sha256"] == load_script(SCRIPT).script.input(CSR_INPUT).expected_sha256
    )
    issued = _entry(entries, "certificate.issued", certificate_id=CERTIFICATE)
    root = _entry(entries, "input.received", input_id=ROOT_INPUT)

    # The online side takes the certificate, and the root it chains to, off the printed report.
    report = out / "report.pdf"
    texts = _page_texts(report)
    cert_pages = _grid_pages(texts, f"Certificate {CERTIFICATE} as QR codes")
    root_pages = _grid_pages(texts, f"Received certificate {ROOT_INPUT} as QR codes")
    assert len(cert_pages) < len(texts) and len(root_pages) < len(texts)
    back = tmp_path / "online-back"
    back.mkdir()
    cert_der = back / "subca.crt.der"
    assert _receive(report, cert_pages, back / "cert-pages", cert_der) == issued["sha256"]
    assert hashlib.sha256(cert_der.read_bytes()).hexdigest() == issued["sha256"]
    root_der = back / "root.crt.der"
    assert _receive(report, root_pages, back / "root-pages", root_der) == root["sha256"]

    # Within the certificate's validity, which the script sets in the future.
    at = datetime.fromisoformat(issued["not_before"]) + timedelta(days=1)
    verified = _run(
        ["openssl", "verify", "-x509_strict", "-attime", str(int(at.timestamp())),
         "-CAfile", str(_pem(root_der)), str(_pem(cert_der))],
        back,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.strip().endswith(": OK")
    requested = _ok(["openssl", "req", "-in", str(csr), "-pubkey", "-noout"], online)
    certified = _ok(
        ["openssl", "x509", "-inform", "DER", "-in", str(cert_der), "-pubkey", "-noout"], back
    )
    assert "BEGIN PUBLIC KEY" in requested
    assert certified == requested


def _stop_before_csr_import(room: Path, codes: Path) -> Path:
    """A paused rehearsal whose standard input ends just before the CSR's import step."""
    before = next(
        n for n, s in enumerate(load_script(SCRIPT).script.steps)
        if isinstance(s, ActionStep) and s.params.get("input") == CSR_INPUT
    )  # fmt: skip
    stopped = _run(
        [str(SEALROOM), "rehearse", str(SCRIPT), "--out", "out", "--pause",
         "--input", f"{CSR_INPUT}={codes}"],
        room,
        stdin="\n" * before,
    )  # fmt: skip
    assert stopped.returncode == 1, stopped.stdout + stopped.stderr
    assert f"stopped before step {before + 1}" in stopped.stderr, stopped.stderr
    return room / "out"


def test_a_resumed_rehearsal_needs_the_same_input(tmp_path: Path) -> None:
    online = tmp_path / "online"
    csr, csr_sha256 = _make_csr(online)
    _ok([str(SEALROOM), "transfer", "send", str(csr), "--png", "frames"], online)
    codes = online / "frames"
    room = tmp_path / "room"
    room.mkdir()
    out = _stop_before_csr_import(room, codes)
    assert not [e for e in _journal(out) if e["data"].get("input_id") == CSR_INPUT]

    resume = [str(SEALROOM), "rehearse", str(SCRIPT), "--out", "out", "--resume"]
    without = _run(resume, room)
    assert without.returncode == 2
    assert (
        f"started with --input {CSR_INPUT}={codes} and has not imported {CSR_INPUT} yet; "
        "resume it with the same --input." in without.stderr
    )
    elsewhere = online / "other"
    elsewhere.mkdir()
    (elsewhere / "frame.png").write_bytes((codes / "sr1-csr-1-of-2.png").read_bytes())
    other = _run([*resume, "--input", f"{CSR_INPUT}={elsewhere}"], room)
    assert other.returncode == 2
    assert f"was started with --input {CSR_INPUT}={codes}; resume it with the same path" in (
        other.stderr
    )
    stand_in = _run([*resume, "--input", f"{ROOT_INPUT}={codes}"], room)
    assert stand_in.returncode == 2
    assert f"started without --input {ROOT_INPUT} (it reads its own stand-in)" in stand_in.stderr
    nothing_new = [e["event"] for e in _journal(out)]

    _ok([*resume, "--input", f"{CSR_INPUT}={codes}"], room)
    entries = _journal(out)
    assert [e["event"] for e in entries[: len(nothing_new)]] == nothing_new
    assert _entry(entries, "input.received", input_id=CSR_INPUT)["sha256"] == csr_sha256
    assert _entry(entries, "ceremony.closed")


def test_an_input_that_cannot_be_read_is_refused_before_anything_starts(tmp_path: Path) -> None:
    frames = tmp_path / "frames"
    frames.mkdir()
    (frames / "notes.txt").write_text("no images here\n", encoding="utf-8")
    (tmp_path / "csr.pem").write_text("-----BEGIN CERTIFICATE REQUEST-----\n", encoding="utf-8")
    refusals = {
        f"nope={frames}": f"nope is not an input of this script (its inputs: {ROOT_INPUT}, "
        f"{CSR_INPUT}).",
        f"{CSR_INPUT}={tmp_path / 'missing'}": f"{tmp_path / 'missing'} does not exist.",
        f"{CSR_INPUT}={frames}": f"the folder {frames} holds no image files",
        f"{CSR_INPUT}={tmp_path / 'csr.pem'}": "is neither an image",
    }
    for option, sentence in refusals.items():
        done = _run(
            [str(SEALROOM), "rehearse", str(SCRIPT), "--out", "out", "--input", option], tmp_path
        )
        assert done.returncode == 2, option
        assert done.stderr.startswith(f"sealroom: --input {option}: "), done.stderr
        assert sentence in done.stderr
        assert "Traceback" not in done.stderr
        assert not (tmp_path / "out").exists(), f"{option}: the rehearsal started anyway"


def test_an_input_no_import_step_reads_is_refused() -> None:
    script = load_script(SCRIPT).script
    no_import = script.model_copy(
        update={
            "steps": tuple(
                s
                for s in script.steps
                if not (isinstance(s, ActionStep) and s.params.get("input") == CSR_INPUT)
            )
        }
    )
    with pytest.raises(SealroomError) as refused:
        require_given_inputs(no_import, [(CSR_INPUT, REPO)])
    assert refused.value.message == (
        f"--input {CSR_INPUT}={REPO}: the script does not import {CSR_INPUT} by QR code (no "
        "import-qr step names it), so there are no QR codes to read for it."
    )
