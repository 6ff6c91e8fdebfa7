"""A whole rehearsal driven with keys in a real pseudo-terminal, read back through a VT emulator.

``sealroom run --rehearsal`` runs in a pty at 80x24 (pexpect) and its output is fed to pyte, so
the test sees the screen a person would. At the QR step the terminal is enlarged to the size the
screen asks for, and the QR codes on screen are decoded; then the outputs are checked with
openssl, the journal verifier, pdftotext and the report's own QR codes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pexpect
import pyte
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from sealroom.transfer.frames import decode_frames
from sealroom.transfer.scan import decode_image
from tests.ui.helpers import qr_image

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "ceremony_scripts" / "root-key-generation.yaml"
ANSWERS = REPO / "ceremony_scripts" / "root-key-generation.answers.yaml"
SEALROOM = Path(sys.executable).with_name("sealroom")

ENTER, TAB, SPACE = "\r", "\t", " "
DOWN, RIGHT = "\x1b[B", "\x1b[C"
SCREEN_TIMEOUT = 20.0
HSM_TIMEOUT = 90.0  # RSA-4096 generation in SoftHSM has a long tail (9 s seen)
LIGHT = "\u2588\u2580\u2584"
ARMING = 0.4

pytestmark = pytest.mark.e2e


class Terminal:
    """A pty running a program, with a pyte screen holding what it has drawn."""

    def __init__(self, argv: list[str], cwd: Path, rows: int = 24, cols: int = 80) -> None:
        env = {k: v for k, v in os.environ.items() if k not in {"COLUMNS", "LINES"}}
        env["TERM"] = "xterm-256color"
        self.child = pexpect.spawn(
            argv[0],
            argv[1:],
            cwd=str(cwd),
            env=env,
            dimensions=(rows, cols),
            encoding="utf-8",
            codec_errors="replace",
        )
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.Stream(self.screen)
        self.transcript: list[str] = []

    def pump(self, wait: float = 0.05) -> None:
        try:
            while True:
                chunk = self.child.read_nonblocking(65536, timeout=wait)
                self.transcript.append(chunk)
                self.stream.feed(chunk)
                wait = 0.01
        except pexpect.TIMEOUT:
            pass
        except pexpect.EOF:
            pass

    def text(self) -> str:
        return "\n".join(self.screen.display)

    def wait_for(self, *needles: str, timeout: float = SCREEN_TIMEOUT) -> str:
        """Wait until every needle is on screen; return the screen's text."""
        deadline = time.monotonic() + timeout
        while True:
            self.pump()
            text = self.text()
            if all(n in text for n in needles):
                # Keys are accepted once a screen has been shown for a moment (a stray key
                # meant for the previous screen must not answer this one).
                time.sleep(ARMING)
                self.pump(0.01)
                return self.text()
            if time.monotonic() > deadline or not self.child.isalive():
                raise AssertionError(f"{needles} not on screen; it shows:\n{text}")

    def send(self, *keys: str) -> None:
        for key in keys:
            self.child.send(key)
            time.sleep(0.03)
            self.pump(0.01)

    def resize(self, rows: int, cols: int) -> None:
        self.child.setwinsize(rows, cols)
        self.screen.resize(rows, cols)
        self.screen.dirty.update(range(rows))

    def qr_lines(self) -> list[str]:
        """The half-block QR code drawn at the left of the body, as text lines."""
        lines = self.screen.display
        top = next(i for i, line in enumerate(lines) if line[1:9] == LIGHT[0] * 8)
        width = len(lines[top][1:]) - len(lines[top][1:].lstrip(LIGHT[0]))
        block = []
        for line in lines[top:]:
            segment = line[1 : 1 + width]
            if not segment or segment[0] not in LIGHT:
                break
            block.append(segment)
        return block


def step_screen(kind: str, number: int) -> str:
    return f"{kind}  ·  step {number} of 10"


def answer_step(term: Terminal, kind: str, number: int, keys: str, button: str) -> None:
    """Wait for step ``number``, press ``keys`` (choices, then Tab to the button) and confirm."""
    term.wait_for(step_screen(kind, number))
    term.send(*keys)
    term.wait_for(f"\u25b8 {button}")
    term.send(ENTER)


def continue_after(
    term: Terminal, number: int, *needles: str, timeout: float = SCREEN_TIMEOUT
) -> str:
    text = term.wait_for(step_screen("DONE", number), *needles, "\u25b8 Continue", timeout=timeout)
    term.send(ENTER)
    return text


def scan_screen_qr(term: Terminal) -> list[str]:
    """Enlarge the terminal as the screen asks, pause the animation and read every frame."""
    text = term.wait_for("Enlarge the terminal to at least")
    found = re.search(r"at least (\d+) columns and (\d+) rows", " ".join(text.split()))
    assert found, text
    cols, rows = int(found.group(1)), int(found.group(2))
    total = int(re.search(r"is (\d+) QR codes?", " ".join(text.split())).group(1))  # type: ignore[union-attr]
    term.resize(rows, cols)
    term.wait_for("Frame ", "/" + str(total))
    term.send(SPACE)
    term.wait_for("(paused")
    texts: set[str] = set()
    for _ in range(total):
        shown = re.search(r"Frame (\d+)/", term.text())
        assert shown
        texts.update(decode_image(qr_image(term.qr_lines())))
        term.send(RIGHT)
        nxt = int(shown.group(1)) % total + 1
        term.wait_for(f"Frame {nxt}/{total}")
    term.resize(24, 80)
    term.wait_for("Enlarge the terminal to at least", "\u25b8 Done")
    return sorted(texts)


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)


@pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("openssl", "pdftotext", "pdftoppm")),
    reason="needs openssl and poppler-utils",
)
def test_a_whole_rehearsal_driven_with_keys_in_a_real_terminal(tmp_path: Path) -> None:
    pin = yaml.safe_load(ANSWERS.read_text())["token"]["user_pin"]
    out = tmp_path / "out"
    term = Terminal([str(SEALROOM), "run", str(SCRIPT), "--rehearsal", "--out", str(out)], REPO)
    try:
        start = term.wait_for("Begin the ceremony", "REHEARSAL", "Script SHA-256")
        assert "Rehearsal token only" in start
        term.send(ENTER)

        # 1. Attendance: tick the five participants, keep the pre-chosen administrator and auditor.
        term.wait_for(step_screen("ATTENDANCE", 1))
        term.send(SPACE, *[DOWN, SPACE] * 4)
        assert term.wait_for("[X] Erin Schmidt").count("[X]") == 5
        term.send(TAB, TAB, TAB)
        term.wait_for("\u25b8 Record attendance")
        term.send(ENTER)

        answer_step(term, "CONFIRMATION", 2, TAB + TAB, "Confirm: done")
        # A crypto officer must be picked (two are present): space picks the first, Bob.
        answer_step(term, "WITNESS CHECK", 3, SPACE + TAB * 3, "Matches")
        answer_step(term, "ACTION", 4, SPACE + TAB * 2, "Run this step")

        text = term.wait_for("HSM user PIN:", "Attempt 1 of 3")
        assert "Bob Okafor (Crypto officer) types the HSM user PIN" in text
        term.send(*pin, ENTER)
        continue_after(term, 4, "The HSM is activated.")

        answer_step(term, "ACTION", 5, SPACE + TAB * 3, "Run this step")
        generated = continue_after(term, 5, "generated inside the HSM", timeout=HSM_TIMEOUT)
        assert pin not in generated

        answer_step(term, "WITNESS CHECK", 6, TAB * 3, "Matches")
        answer_step(term, "ACTION", 7, DOWN + SPACE + TAB * 3, "Run this step")  # Carol signs
        continue_after(term, 7, "Root certificate issued and verified", timeout=HSM_TIMEOUT)

        answer_step(term, "ACTION", 8, TAB * 2, "Run this step")
        screen_frames = scan_screen_qr(term)
        term.send(ENTER)

        answer_step(term, "ACTION", 9, SPACE + TAB * 2, "Run this step")
        continue_after(term, 9, "The HSM is logged out.")
        answer_step(term, "ACTION", 10, TAB * 3, "Run this step")
        continue_after(term, 10, "Report printed", timeout=HSM_TIMEOUT)

        term.wait_for("CEREMONY COMPLETE", "root.crt.pem", "\u25b8 Close Sealroom")
        term.send(ENTER)
        term.child.expect(pexpect.EOF, timeout=SCREEN_TIMEOUT)
        term.transcript.append(str(term.child.before))
    finally:
        term.child.close(force=True)
    transcript = "".join(term.transcript)
    assert term.child.exitstatus == 0, transcript[-2000:]
    assert "ceremony complete: 10 steps" in transcript
    assert "Traceback" not in transcript

    cert_pem = out / "root.crt.pem"
    der = x509.load_pem_x509_certificate(cert_pem.read_bytes()).public_bytes(Encoding.DER)
    verified = run("openssl", "verify", "-x509_strict", "-CAfile", str(cert_pem), str(cert_pem))
    assert verified.returncode == 0, verified.stdout + verified.stderr

    journal_path = out / "journal.jsonl"
    checked = run(str(SEALROOM), "verify-journal", str(journal_path))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    journal_text = journal_path.read_text()
    assert pin not in journal_text
    entries = [json.loads(line) for line in journal_text.splitlines()]
    steps = [e["step"] for e in entries if e["event"] == "step.completed"]
    assert steps == [
        "attendance",
        "room-check",
        "hsm-bag",
        "hsm-login",
        "generate-root-key",
        "check-key-fingerprint",
        "sign-root-certificate",
        "show-root-certificate",
        "hsm-logout",
        "print-report",
    ]
    signer = next(e for e in entries if e["event"] == "certificate.issued")["actors"][0]
    assert signer == {"participant": "carol", "role": "crypto-officer", "capacity": "performer"}
    key_hex = next(e for e in entries if e["event"] == "key.generated")["data"]["fingerprint"][
        "hex"
    ]

    pdf = out / "report.pdf"
    text = run("pdftotext", str(pdf), "-")
    assert text.returncode == 0, text.stderr
    assert key_hex.lower() in re.sub(r"\s+", "", text.stdout).lower()

    rendered = run("pdftoppm", "-r", "150", "-png", str(pdf), str(tmp_path / "page"))
    assert rendered.returncode == 0, rendered.stderr
    report_texts: list[str] = []
    for page in sorted(tmp_path.glob("page*.png")):
        report_texts += [t for t in decode_image(page) if t.startswith("SR1/CRT/")]
    assert report_texts, "no certificate QR code found in the report"
    assert decode_frames(report_texts, "CRT") == ("CRT", der)

    # The codes shown on screen carry the same certificate.
    assert decode_frames(screen_frames, "CRT") == ("CRT", der)
