"""The companion as a subprocess: an openssl CSR out as PNG frames (or an export PDF), back in."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from sealroom.ceremony.fingerprint import sha256_fingerprint

SEALROOM = str(Path(sys.executable).with_name("sealroom"))
CSR_DATA = Path(__file__).resolve().parent.parent / "data" / "csr"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SEALROOM, "transfer", *args],
        check=False,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture(scope="module")
def openssl_csr(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    """A CSR made by ``openssl req`` as the online side would: PEM file, and its DER bytes."""
    folder = tmp_path_factory.mktemp("online")
    pem = folder / "subca.csr.pem"
    subprocess.run(
        [
            "openssl", "req", "-new", "-newkey", "rsa:3072", "-nodes",
            "-keyout", str(folder / "subca.key"), "-subj", "/CN=Example Sub CA/O=Example",
            "-out", str(pem),
        ],
        check=True, capture_output=True,
    )  # fmt: skip
    der = subprocess.run(
        ["openssl", "req", "-in", str(pem), "-outform", "DER"], check=True, capture_output=True
    ).stdout
    return pem, der


def test_csr_out_as_pngs_and_back_in(tmp_path: Path, openssl_csr: tuple[Path, bytes]) -> None:
    pem, der = openssl_csr
    sent = run("send", str(pem), "--png", "frames", cwd=tmp_path)
    assert sent.returncode == 0, sent.stderr
    assert f"{pem} is PEM; its certificate request (CSR) is sent as DER ({len(der)} bytes)." in (
        sent.stdout
    )
    assert "Type CSR guessed from the content." in sent.stdout
    fpr = sha256_fingerprint(der)
    assert f"SHA-256:   {fpr.grouped()}" in sent.stdout
    names = sorted(p.name for p in (tmp_path / "frames").iterdir())
    assert names == ["sr1-csr-1-of-2.png", "sr1-csr-2-of-2.png", "sr1-csr-3-parity-of-2.png"]

    got = run("receive", "frames", "--out", "subca.csr.der", "--type", "CSR", cwd=tmp_path)
    assert got.returncode == 0, got.stderr
    assert (tmp_path / "subca.csr.der").read_bytes() == der
    assert "CSR for O=Example,CN=Example Sub CA, self-signature valid" in got.stdout
    assert f"SHA-256:   {fpr.grouped()}" in got.stdout
    assert f"PGP words: {fpr.words}" in got.stdout
    assert hashlib.sha256(der).hexdigest().upper() == fpr.grouped().replace(" ", "")
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []

    # The file is there: a second reception refuses before reading anything.
    again = run("receive", "frames", "--out", "subca.csr.der", cwd=tmp_path)
    assert again.returncode == 2
    assert "subca.csr.der already exists; sealroom never overwrites a file." in again.stderr
    assert (tmp_path / "subca.csr.der").read_bytes() == der


def test_one_png_lost_is_rebuilt_from_the_parity_frame(
    tmp_path: Path, openssl_csr: tuple[Path, bytes]
) -> None:
    pem, der = openssl_csr
    assert run("send", str(pem), "--png", "frames", cwd=tmp_path).returncode == 0
    (tmp_path / "frames" / "sr1-csr-1-of-2.png").unlink()
    got = run("receive", "frames", "--out", "req.der", cwd=tmp_path)
    assert got.returncode == 0, got.stderr
    assert "Frame 1 of 2 was rebuilt from the parity frame." in got.stderr
    assert (tmp_path / "req.der").read_bytes() == der


def test_a_missing_frame_without_parity_writes_nothing(
    tmp_path: Path, openssl_csr: tuple[Path, bytes]
) -> None:
    pem, _ = openssl_csr
    assert run("send", str(pem), "--png", "frames", "--no-parity", cwd=tmp_path).returncode == 0
    assert len(list((tmp_path / "frames").iterdir())) == 2
    (tmp_path / "frames" / "sr1-csr-2-of-2.png").unlink()
    got = run("receive", "frames", "--out", "req.der", cwd=tmp_path)
    assert got.returncode == 2
    assert "frame(s) 2 of 2 were not found" in got.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frames"]


def test_a_csr_with_a_bad_signature_is_not_written(tmp_path: Path) -> None:
    bad = CSR_DATA / "bad-signature.pem"
    assert run("send", str(bad), "--png", "frames", cwd=tmp_path).returncode == 0
    got = run("receive", "frames", "--out", "req.der", cwd=tmp_path)
    assert got.returncode == 2
    assert "does not verify with its own public key (bad signature); it was not written" in (
        got.stderr
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frames"]


def test_an_image_with_no_qr_code(tmp_path: Path) -> None:
    Image.new("L", (400, 300), 255).save(tmp_path / "blank.png")
    got = run("receive", "blank.png", "--out", "x.der", cwd=tmp_path)
    assert got.returncode == 2
    assert "No QR code was found in blank.png" in got.stderr
    assert not (tmp_path / "x.der").exists()


def test_send_refuses_what_it_cannot_name(tmp_path: Path, openssl_csr: tuple[Path, bytes]) -> None:
    pem, _ = openssl_csr
    blob = tmp_path / "blob.bin"
    blob.write_bytes(bytes(range(256)))
    guessed = run("send", str(blob), "--png", "out", cwd=tmp_path)
    assert guessed.returncode == 2
    assert "its type cannot be guessed; give --type" in guessed.stderr
    assert run("send", str(blob), "--type", "BLB", "--png", "out", cwd=tmp_path).returncode == 0
    wrong = run("send", str(pem), "--type", "CRT", "--png", "out2", cwd=tmp_path)
    assert wrong.returncode == 2
    assert "holds a certificate request (CSR), not the CRT given with --type" in wrong.stderr
    clash = run("send", str(blob), "--type", "BLB", "--png", "out", cwd=tmp_path)
    assert clash.returncode == 2
    assert "already exists; sealroom never overwrites a file" in clash.stderr
    screen = run("send", str(pem), cwd=tmp_path)  # stdout is a pipe here, not a terminal
    assert screen.returncode == 2
    assert "Standard output is not a terminal" in screen.stderr


def test_no_camera_on_this_machine_is_a_clear_error(tmp_path: Path) -> None:
    if Path("/dev/video5").exists():
        pytest.skip("this machine has a /dev/video5")
    got = run("receive", "--camera", "5", "--out", "x.der", cwd=tmp_path)
    assert got.returncode == 2
    assert "There is no camera /dev/video5: no such device" in got.stderr
    assert not (tmp_path / "x.der").exists()


def test_csr_out_as_an_export_sheet_pdf_and_back_in(
    tmp_path: Path, openssl_csr: tuple[Path, bytes]
) -> None:
    pem, der = openssl_csr
    sent = run("send", str(pem), "--pdf", "csr.pdf", cwd=tmp_path)
    assert sent.returncode == 0, sent.stderr
    got = run("receive", "csr.pdf", "--out", "req.der", cwd=tmp_path)
    assert got.returncode == 0, got.stderr
    assert (tmp_path / "req.der").read_bytes() == der
    assert "page 1" in got.stderr or got.stderr == ""


LISTING_LINE = re.compile(r"^\d{4,} +(?:(?:[A-Z2-7]{1,4} +)+|END \d+ +)[A-Z2-7]{4}$")


def test_the_export_sheet_names_the_object_and_its_typed_listing_is_the_last_resort(
    tmp_path: Path, openssl_csr: tuple[Path, bytes]
) -> None:
    pem, der = openssl_csr
    sent = run("send", str(pem), "--pdf", "csr.pdf", cwd=tmp_path)
    assert sent.returncode == 0, sent.stderr
    text = subprocess.run(
        ["pdftotext", "-raw", str(tmp_path / "csr.pdf"), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    flat = " ".join(text.split())
    assert "subca.csr.pem" in flat
    assert "CSR for O=Example,CN=Example Sub CA, self-signature valid" in flat
    # The typist's copy of the listing (pdftotext stands in for the person typing it).
    lines = [line for line in text.splitlines() if LISTING_LINE.match(line)]
    assert len(lines) > 2 and lines[-1].split()[1] == "END"
    (tmp_path / "typed.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    got = run("receive", "--listing", "typed.txt", "--out", "req.der", cwd=tmp_path)
    assert got.returncode == 0, got.stderr
    assert (tmp_path / "req.der").read_bytes() == der
    assert sha256_fingerprint(der).grouped() in got.stdout
    # One character mistyped on line 2: refused, naming the line; nothing is written.
    first = lines[1].split()
    group = first[1]
    first[1] = ("A" if group[0] != "A" else "B") + group[1:]
    lines[1] = " ".join(first)
    (tmp_path / "typo.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    bad = run("receive", "--listing", "typo.txt", "--out", "bad.der", cwd=tmp_path)
    assert bad.returncode != 0
    assert "typo.txt" in bad.stderr and "line 2" in bad.stderr
    assert "Traceback" not in bad.stderr
    assert not (tmp_path / "bad.der").exists()
