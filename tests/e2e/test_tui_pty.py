"""A whole rehearsal driven with keys in a real pseudo-terminal, read back through a VT emulator.

``sealroom run --rehearsal`` runs in a pty at 80x24 (pexpect) and its output is fed to pyte, so
the test sees the screen a person would. Typed entries come from the script's answers file. At
the QR step the terminal is enlarged to the size the screen asks for, and the QR codes on screen
are decoded; then the outputs are checked with openssl, the journal verifier, pdftotext and the
report's own QR codes. A second run records a deviation with F2 that aborts the ceremony, and the
journal still verifies. A third runs a variant of the script with a typed confirmation before the
key generation and a break after the reseals, where wrong words and a wrong bag serial are
refused on screen before the right ones are accepted.
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

from sealroom.ceremony.backup import kek_what
from sealroom.ceremony.loader import load_script
from sealroom.rehearsal import RecordingSheets
from sealroom.report.share_sheet import read_share_sheet_words
from sealroom.transfer.frames import decode_frames
from sealroom.transfer.scan import decode_image
from sealroom.ui.widgets import ARMING_SECONDS
from tests.leaks import share_run_in
from tests.ui.helpers import qr_image

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "ceremony_scripts" / "root-key-generation.yaml"
ANSWERS = REPO / "ceremony_scripts" / "root-key-generation.answers.yaml"
SEALROOM = Path(sys.executable).with_name("sealroom")

ENTER, TAB, SPACE = "\r", "\t", " "
DOWN, RIGHT = "\x1b[B", "\x1b[C"
F2 = "\x1bOQ"
STEPS = 28
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


def step_screen(kind: str, number: int, total: int = STEPS) -> str:
    return f"{kind}  ·  step {number} of {total}"


def answer_step(
    term: Terminal,
    kind: str,
    number: int,
    keys: str,
    button: str,
    total: int = STEPS,
    chosen: str | None = None,
) -> None:
    """Wait for step ``number``, press ``keys`` (choices, then Tab to the button) and confirm."""
    term.wait_for(step_screen(kind, number, total))
    # The screen ignores choosing keys for ARMING_SECONDS after it appears (stray-key guard); a
    # loaded machine can deliver keys inside that window, so let it pass first.
    time.sleep(ARMING_SECONDS + 0.2)
    if chosen is not None:
        pick(term, chosen)
    term.send(*keys)
    term.wait_for(f"\u25b8 {button}", *([f"(\u25cf) {chosen}"] if chosen else []))
    term.send(ENTER)


def pick(term: Terminal, name: str) -> None:
    """Move the focused choice's cursor down to ``name`` and choose it, watching each key land.

    Each key waits for its effect on screen, so a loaded machine cannot make the choosing key
    arrive before the cursor has moved.
    """
    for _ in range(8):
        if re.search(rf"\u203a \(.\) {re.escape(name)}", term.text()):
            break
        term.send(DOWN)
        term.pump(0.2)
    term.wait_for(f"\u203a ( ) {name}")
    term.send(SPACE)
    term.wait_for(f"(\u25cf) {name}")


def type_entry(term: Terminal, number: int, label: str, *values: str, total: int = STEPS) -> None:
    """Type ``values`` into the entry screens of step ``number`` (twice-typed entries: two)."""
    for index, value in enumerate(values):
        shown = f"{label} (again):" if index else f"{label}:"
        text = term.wait_for(step_screen("ENTRY", number, total), shown, "Attempt 1 of 3")
        assert "Pasting is switched off" in text
        term.send(*value)
        term.wait_for(value)
        term.send(ENTER)


def call_custodian(term: Terminal, number: int, name: str, bag: str, total: int = STEPS) -> None:
    """``name`` is called to the printer, prints their sheet, and its bag serial is typed twice."""
    text = term.wait_for(
        f"SHARE SHEET  \u00b7  step {number} of {total}", f"{name}, please come to the printer."
    )
    assert f"Print {name}'s share sheet" in text
    time.sleep(ARMING_SECONDS + 0.2)
    term.send(ENTER)
    label = f"Bag serial for {name}'s share sheet"
    for shown in (f"{label}:", f"{label} (again):"):
        term.wait_for(f"SHARE SHEET BAG  \u00b7  step {number} of {total}", shown)
        term.send(*bag)
        term.wait_for(bag)
        term.send(ENTER)


def type_share(
    term: Terminal, number: int, name: str, words: tuple[str, ...], total: int = STEPS
) -> None:
    """``name`` types the first four letters of each word of their sheet; the screen completes
    each word, shows only dots and marks, and Enter hands over the whole share."""
    text = flat(term.wait_for(f"SHARE WORDS  \u00b7  step {number} of {total}", "0 of 33 words"))
    assert f"{name} (Key share custodian) types the words of their share" in text, text
    term.send(*(" ".join(word[:4] for word in words) + " "))
    done = flat(term.wait_for("33 of 33 words typed", "Checksum correct"))
    assert share_run_in(words, done, length=2) is None, "share words are on the screen"
    term.send(ENTER)


def continue_after(
    term: Terminal, number: int, *needles: str, timeout: float = SCREEN_TIMEOUT, total: int = STEPS
) -> str:
    done = step_screen("DONE", number, total)
    text = term.wait_for(done, *needles, "\u25b8 Continue", timeout=timeout)
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
    texts: set[str] = set()
    if total == 1:  # one frame stands still
        term.wait_for("1 frame: the code stands still")
        texts.update(decode_image(qr_image(term.qr_lines())))
    else:
        term.wait_for("Frame ", f" of {total}", "frames/s")
        term.send(SPACE)
        term.wait_for("PAUSED")
    for _ in range(total if total > 1 else 0):
        shown = re.search(r"Frame (\d+) of", term.text())
        assert shown
        texts.update(decode_image(qr_image(term.qr_lines())))
        term.send(RIGHT)
        nxt = int(shown.group(1)) % total + 1
        term.wait_for(f"Frame {nxt} of {total}")
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
    restore_pins = yaml.safe_load(ANSWERS.read_text())["token"]
    pin = restore_pins["user_pin"]  # the rehearsal's tokens, the restore-test one too
    out = tmp_path / "out"
    script = load_script(SCRIPT).script
    backup = script.backups[0]
    # The custodians read the sheets the rehearsal printed (PDFs in DIR/share-sheets/).
    sheets = RecordingSheets(None, read_share_sheet_words, script, out / "share-sheets")  # type: ignore[arg-type]
    term = Terminal([str(SEALROOM), "run", str(SCRIPT), "--rehearsal", "--out", str(out)], REPO)
    try:
        start = term.wait_for("Begin the ceremony", "REHEARSAL", "Script SHA-256")
        assert "Rehearsal token only" in start
        term.send(ENTER)

        # 1. Attendance: tick the ten participants, keep the pre-chosen administrator and auditor.
        term.wait_for(step_screen("ATTENDANCE", 1))
        term.send(SPACE, *[DOWN, SPACE] * 9)
        term.wait_for("[X] Erin Schmidt")
        term.send(TAB, TAB, TAB)
        term.wait_for("\u25b8 Record attendance")
        term.send(ENTER)

        typed = yaml.safe_load(ANSWERS.read_text())["steps"]
        # 2. The clock offset, read against the reference clock shown in the top bar.
        answer_step(term, "ENTRY", 2, TAB * 2, "Next: type the value")
        clock = term.wait_for("Workstation clock now:", "UTC")
        assert "Clock offset in seconds (reference minus workstation):" in clock
        label = "Clock offset in seconds (reference minus workstation)"
        type_entry(term, 2, label, *typed["clock"]["typed"])

        answer_step(term, "CONFIRMATION", 3, TAB * 2, "Confirm: done")
        answer_step(term, "WITNESS CHECK", 4, TAB * 3, "Matches")
        # A crypto officer must be picked (two are present): space picks the first, Bob.
        answer_step(term, "ENTRY", 5, SPACE + TAB * 3, "Next: type the value")
        type_entry(term, 5, "HSM bag serial", *typed["hsm-bag"]["typed"])
        answer_step(term, "ENTRY", 6, SPACE + TAB * 2, "Next: type the value")
        type_entry(term, 6, "HSM serial number", *typed["hsm-serial"]["typed"])
        answer_step(term, "ENTRY", 7, TAB * 3, "Next: type the value")
        label = "Workstation bag serial (on arrival)"
        type_entry(term, 7, label, *typed["workstation-bag"]["typed"])

        answer_step(term, "ENTRY", 8, SPACE + TAB * 3, "Next: type the value")
        type_entry(term, 8, "Backup HSM bag serial", *typed["backup-hsm-bag"]["typed"])
        answer_step(term, "ENTRY", 9, SPACE + TAB * 2, "Next: type the value")
        type_entry(term, 9, "Backup HSM serial number", *typed["backup-hsm-serial"]["typed"])
        answer_step(term, "ENTRY", 10, TAB * 2, "Next: type the value")
        type_entry(term, 10, "Backup medium A serial number", *typed["media-a-serial"]["typed"])
        answer_step(term, "ENTRY", 11, TAB * 2, "Next: type the value")
        type_entry(term, 11, "Backup medium B serial number", *typed["media-b-serial"]["typed"])

        answer_step(term, "ACTION", 12, SPACE + TAB * 2, "Run this step")
        text = term.wait_for("HSM user PIN:", "Attempt 1 of 3")
        assert "Bob Okafor (Crypto officer) types the HSM user PIN" in text
        term.send(*pin, ENTER)
        continue_after(term, 12, "The HSM is activated.")

        answer_step(term, "ACTION", 13, SPACE + TAB * 3, "Run this step")
        generated = continue_after(term, 13, "generated inside the HSM", timeout=HSM_TIMEOUT)
        assert pin not in generated

        answer_step(term, "WITNESS CHECK", 14, TAB * 3, "Matches")
        answer_step(term, "ACTION", 15, TAB * 3, "Run this step", chosen="Carol Nguyen")
        continue_after(term, 15, "Root certificate issued and verified", timeout=HSM_TIMEOUT)

        # 16. The backup: each custodian in turn prints their sheet and seals it in their bag.
        answer_step(term, "ACTION", 16, SPACE + TAB * 3, "Run this step")
        bags = iter(typed["backup-root-key"]["typed"][::2])
        for holder in backup.shares:
            call_custodian(term, 16, script.participant(holder.custodian).name, next(bags))
        term.wait_for("Enlarge the terminal to at least", "\u25b8 Done")  # the wrapped key
        term.send(ENTER)
        continue_after(term, 16, "is backed up", timeout=HSM_TIMEOUT)

        # 17. The restore test: three custodians type their words off the printed sheets.
        answer_step(term, "ACTION", 17, SPACE + TAB * 3, "Run this step")
        for custodian in backup.restore_test_custodians:
            name = script.participant(custodian).name
            type_share(term, 17, name, sheets.words(name, kek_what(backup)))
        term.wait_for("Restore-test HSM user PIN:", "Attempt 1 of 3")
        term.send(*restore_pins["user_pin"], ENTER)
        term.wait_for("Restore-test HSM security officer PIN:", timeout=HSM_TIMEOUT)
        term.send(*restore_pins["so_pin"], ENTER)
        restored = continue_after(term, 17, "restores", timeout=HSM_TIMEOUT)
        assert restore_pins["so_pin"] not in restored

        answer_step(term, "ACTION", 18, TAB * 2, "Run this step")
        screen_frames = scan_screen_qr(term)
        term.send(ENTER)

        answer_step(term, "ACTION", 19, SPACE + TAB * 2, "Run this step")
        continue_after(term, 19, "The HSM is logged out.")
        answer_step(term, "ENTRY", 20, SPACE + TAB * 3, "Next: type the value")
        type_entry(term, 20, "New HSM bag serial", *typed["hsm-reseal"]["typed"])
        answer_step(term, "ENTRY", 21, SPACE + TAB * 3, "Next: type the value")
        type_entry(term, 21, "New backup HSM bag serial", *typed["backup-hsm-reseal"]["typed"])
        answer_step(term, "ENTRY", 22, SPACE + TAB * 3, "Next: type the value")
        type_entry(term, 22, "Medium A bag serial", *typed["media-a-reseal"]["typed"])
        answer_step(term, "ENTRY", 23, SPACE + TAB * 3, "Next: type the value")
        type_entry(term, 23, "Medium B bag serial", *typed["media-b-reseal"]["typed"])
        answer_step(term, "CONFIRMATION", 24, SPACE + TAB * 3, "Confirm: done")

        # 25. Sign-off: each of the ten says "Followed" (space), Tab past the comment.
        answer_step(term, "SIGN-OFF", 25, TAB * 2, "Next: the statements")
        term.wait_for("Each person answers for themselves", "Followed", "Not followed")
        term.send(*[SPACE, TAB, TAB] * 10)
        text = term.wait_for("\u25b8 Record the statements")
        term.send(ENTER)

        answer_step(term, "ACTION", 26, TAB * 2, "Run this step")
        head_frames = scan_screen_qr(term)
        term.send(ENTER)
        answer_step(term, "ACTION", 27, TAB * 3, "Run this step")
        continue_after(term, 27, "Report printed", timeout=HSM_TIMEOUT)
        answer_step(term, "ENTRY", 28, TAB * 3, "Next: type the value")
        type_entry(term, 28, "New workstation bag serial", *typed["workstation-reseal"]["typed"])

        term.wait_for("CEREMONY COMPLETE", "root.crt.pem", "\u25b8 Close Sealroom")
        term.send(ENTER)
        term.child.expect(pexpect.EOF, timeout=SCREEN_TIMEOUT)
        term.transcript.append(str(term.child.before))
    finally:
        term.child.close(force=True)
    transcript = "".join(term.transcript)
    assert term.child.exitstatus == 0, transcript[-2000:]
    assert f"ceremony complete: {STEPS} steps" in transcript
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
        "clock",
        "room-check",
        "software-integrity",
        "hsm-bag",
        "hsm-serial",
        "workstation-bag",
        "backup-hsm-bag",
        "backup-hsm-serial",
        "media-a-serial",
        "media-b-serial",
        "hsm-login",
        "generate-root-key",
        "check-key-fingerprint",
        "sign-root-certificate",
        "backup-root-key",
        "restore-test",
        "show-root-certificate",
        "hsm-logout",
        "hsm-reseal",
        "backup-hsm-reseal",
        "media-a-reseal",
        "media-b-reseal",
        "custody",
        "sign-off",
        "export-journal-head",
        "print-report",
        "workstation-reseal",
    ]
    # The journal head shown on screen is the entry before the one that records the export.
    shown = next(
        e
        for e in entries
        if e["event"] == "qr.shown" and e["data"].get("artifact") == "journal-head"
    )
    kind, head_payload = decode_frames(head_frames, "JNL")
    assert kind == "JNL" and head_payload.decode() == shown["data"]["journal_head"]
    head = json.loads(head_payload)
    assert head["seq"] == shown["seq"] - 1 and head["entry_sha256"] == shown["prev"]
    assert head["ceremony_id"] == script.ceremony.id and head["rehearsal"] is True
    values = [e["data"]["value"] for e in entries if e["event"] == "entry.recorded"]
    assert values == [
        "+2",
        "TEB-100201",
        "HSM-0001",
        "TEB-100202",
        "TEB-100203",
        "HSM-0006",
        "MED-0101",
        "MED-0102",
        "TEB-100301",
        "TEB-100303",
        "TEB-100304",
        "TEB-100305",
        "TEB-100302",
    ]
    assert "entry.rejected" not in [e["event"] for e in entries]
    custodians = ["frank", "hana", "ines", "judit", "kemal"]
    sealed = [e["data"] for e in entries if e["event"] == "share.sealed"]
    assert [(d["custodian"], d["bag"]) for d in sealed] == [
        (person, f"TEB-10031{n}") for n, person in enumerate(custodians, start=1)
    ]
    accepted = [e["data"]["custodian"] for e in entries if e["event"] == "share.accepted"]
    assert accepted == ["frank", "hana", "ines"]
    assert "share.rejected" not in [e["event"] for e in entries]
    tested = next(e for e in entries if e["event"] == "restore.tested")["data"]
    assert tested["passed"] is True and tested["objects_after_zeroise"] == 0
    for person in custodians:  # no run of share words reached the journal (one word is English)
        words = sheets.words(script.participant(person).name, kek_what(backup))
        assert share_run_in(words, journal_text) is None, f"share words of {person} are journaled"
    assert restore_pins["so_pin"] not in journal_text
    signed = next(e for e in entries if e["event"] == "signoff.recorded")["data"]["statements"]
    assert [(s["participant"], s["followed"]) for s in signed] == [
        (person, True) for person in ("alice", "bob", "carol", *custodians, "dan", "erin")
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


def test_a_deviation_recorded_in_a_real_terminal_aborts_and_the_journal_verifies(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    term = Terminal([str(SEALROOM), "run", str(SCRIPT), "--rehearsal", "--out", str(out)], REPO)
    observed = "Door access log offline"
    try:
        term.wait_for("Begin the ceremony")
        term.send(ENTER)
        term.wait_for(step_screen("ATTENDANCE", 1))
        term.send(SPACE, *[DOWN, SPACE] * 9, TAB, TAB, TAB)
        term.wait_for("\u25b8 Record attendance")
        term.send(ENTER)
        clock = yaml.safe_load(ANSWERS.read_text())["steps"]["clock"]["typed"]
        answer_step(term, "ENTRY", 2, TAB * 2, "Next: type the value")
        type_entry(term, 2, "Clock offset in seconds (reference minus workstation)", *clock)

        # 3. The room is not as the script says: F2 records a deviation, decided: abort.
        term.wait_for(step_screen("CONFIRMATION", 3), "F2 Record a deviation")
        term.send(F2)
        form = term.wait_for("RECORD A DEVIATION", "OBSERVED", "WHAT NOW")
        assert "Confirm that the door is closed" in form  # expected, prefilled from the step
        term.send(*observed, TAB)
        term.wait_for(observed, "\u203a ( ) Proceed")
        term.send(DOWN, DOWN, SPACE)
        term.wait_for("(\u25cf) Abort")
        term.send(TAB, TAB, TAB)
        decided = term.wait_for("\u25b8 Record the deviation")
        assert "(\u25cf) Alice Martin" in decided  # the only administrator, chosen already
        term.send(ENTER)

        stopped = term.wait_for("THE CEREMONY HAS STOPPED", "\u25b8 Close Sealroom")
        assert observed in " ".join(stopped.split())
        term.send(ENTER)
        term.child.expect(pexpect.EOF, timeout=SCREEN_TIMEOUT)
        term.transcript.append(str(term.child.before))
    finally:
        term.child.close(force=True)
    transcript = "".join(term.transcript)
    assert term.child.exitstatus != 0
    assert "the ceremony ended early" in transcript
    assert "Traceback" not in transcript

    journal_path = out / "journal.jsonl"
    checked = run(str(SEALROOM), "verify-journal", str(journal_path))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    entries = [json.loads(line) for line in journal_path.read_text().splitlines()]
    # the journal signs its own end: the final checkpoint follows the abort
    assert [e["event"] for e in entries][-3:] == [
        "deviation.recorded",
        "ceremony.aborted",
        "journal.checkpoint",
    ]
    deviation, aborted = entries[-3:-1]
    assert deviation["step"] == aborted["step"] == "room-check"
    assert deviation["data"]["decision"] == "abort"
    assert deviation["data"]["observed"] == observed
    assert deviation["actors"] == [
        {"participant": "alice", "role": "administrator", "capacity": "decider"}
    ]
    assert observed in aborted["data"]["reason"]


CONFIRM_WORDS = "GENERATE exr-root-r1-2026"
CONFIRM_STEP = f"""\
  - id: confirm-generation
    act: key-generation
    kind: confirm
    title: Confirm the root key is to be generated now
    instruction: The crypto officer types the words shown below before the key is generated.
    words: {CONFIRM_WORDS}
    performer: crypto-officer
    witnesses: [auditor]
"""
BREAK_STEP = """\
  - id: break
    act: closing
    kind: break
    title: Short break before the hand-over
    instruction: >-
      Participants may leave the room. The sealed HSM stays in view of the internal witness.
    recheck_bags: [hsm]
    performer: administrator
    witnesses: [internal-witness]
"""
VARIANT_ANSWERS = f"""\
  confirm-generation:
    performer: bob
    witnesses: {{auditor: erin}}
    typed: ["{CONFIRM_WORDS}"]
  break:
    performer: alice
    witnesses: {{internal-witness: dan}}
    left: [bob]
    typed: [TEB-100301, TEB-100301]
"""
VARIANT_STEPS = STEPS + 2


def insert_step(text: str, block: str, *, before: str) -> str:
    """``block`` (a YAML list item) inserted right before the step ``before`` of the script."""
    marker = f"  - id: {before}\n"
    assert text.count(marker) == 1, marker
    return text.replace(marker, block + marker)


def flat(text: str) -> str:
    """Screen text with its line wrapping undone, to find sentences the screen wraps."""
    return " ".join(text.split())


def test_a_typed_confirmation_and_a_break_refuse_wrong_input_in_a_real_terminal(
    tmp_path: Path,
) -> None:
    """A confirm step before key generation and a break after the HSM reseal, driven with keys.

    These two steps guard what an auditor checks most: nothing irreversible runs without the
    words typed exactly, and a bag left during a break is the bag found after it. Both refusals
    must be visible to the room, and journaled in order, in the real program.
    """
    text = insert_step(SCRIPT.read_text(), CONFIRM_STEP, before="generate-root-key")
    text = insert_step(text, BREAK_STEP, before="custody")  # after the last reseal
    variant = tmp_path / "variant.yaml"
    variant.write_text(text)
    (tmp_path / "variant.answers.yaml").write_text(ANSWERS.read_text() + VARIANT_ANSWERS)
    linted = run(str(SEALROOM), "lint", str(variant))
    assert linted.returncode == 0, linted.stdout + linted.stderr

    total = VARIANT_STEPS
    typed = yaml.safe_load(ANSWERS.read_text())["steps"]
    pins = yaml.safe_load(ANSWERS.read_text())["token"]
    pin = pins["user_pin"]
    out = tmp_path / "out"
    script = load_script(variant).script
    backup = script.backups[0]
    sheets = RecordingSheets(None, read_share_sheet_words, script, out / "share-sheets")  # type: ignore[arg-type]
    term = Terminal([str(SEALROOM), "run", str(variant), "--rehearsal", "--out", str(out)], REPO)
    try:
        term.wait_for("Begin the ceremony", "REHEARSAL")
        term.send(ENTER)
        term.wait_for(step_screen("ATTENDANCE", 1, total))
        term.send(SPACE, *[DOWN, SPACE] * 9, TAB, TAB, TAB)
        term.wait_for("\u25b8 Record attendance")
        term.send(ENTER)

        answer_step(term, "ENTRY", 2, TAB * 2, "Next: type the value", total)
        label = "Clock offset in seconds (reference minus workstation)"
        type_entry(term, 2, label, *typed["clock"]["typed"], total=total)
        answer_step(term, "CONFIRMATION", 3, TAB * 2, "Confirm: done", total)
        answer_step(term, "WITNESS CHECK", 4, TAB * 3, "Matches", total)
        answer_step(term, "ENTRY", 5, SPACE + TAB * 3, "Next: type the value", total)
        type_entry(term, 5, "HSM bag serial", *typed["hsm-bag"]["typed"], total=total)
        answer_step(term, "ENTRY", 6, SPACE + TAB * 2, "Next: type the value", total)
        type_entry(term, 6, "HSM serial number", *typed["hsm-serial"]["typed"], total=total)
        answer_step(term, "ENTRY", 7, TAB * 3, "Next: type the value", total)
        label = "Workstation bag serial (on arrival)"
        type_entry(term, 7, label, *typed["workstation-bag"]["typed"], total=total)
        answer_step(term, "ENTRY", 8, SPACE + TAB * 3, "Next: type the value", total)
        type_entry(term, 8, "Backup HSM bag serial", *typed["backup-hsm-bag"]["typed"], total=total)
        answer_step(term, "ENTRY", 9, SPACE + TAB * 2, "Next: type the value", total)
        label = "Backup HSM serial number"
        type_entry(term, 9, label, *typed["backup-hsm-serial"]["typed"], total=total)
        answer_step(term, "ENTRY", 10, TAB * 2, "Next: type the value", total)
        label = "Backup medium A serial number"
        type_entry(term, 10, label, *typed["media-a-serial"]["typed"], total=total)
        answer_step(term, "ENTRY", 11, TAB * 2, "Next: type the value", total)
        label = "Backup medium B serial number"
        type_entry(term, 11, label, *typed["media-b-serial"]["typed"], total=total)
        answer_step(term, "ACTION", 12, SPACE + TAB * 2, "Run this step", total)
        term.wait_for("HSM user PIN:", "Attempt 1 of 3")
        term.send(*pin, ENTER)
        continue_after(term, 12, "The HSM is activated.", total=total)

        # 13. The typed confirmation: Bob types the words with the wrong year first.
        shown = term.wait_for(step_screen("TYPED CONFIRMATION", 13, total), CONFIRM_WORDS)
        assert "\u25b8 Next: type the words" not in shown
        term.send(SPACE, TAB * 2)
        term.wait_for("\u25b8 Next: type the words")
        term.send(ENTER)
        first = term.wait_for("capitals and spaces count", "Words typed:", "Attempt 1 of 3")
        assert CONFIRM_WORDS in first and "Refused" not in first
        wrong = CONFIRM_WORDS[:-1] + "5"
        term.send(*wrong)
        term.wait_for(wrong)
        term.send(ENTER)
        refused = flat(term.wait_for("Refused:", "Words typed:"))
        assert "Refused: the words typed differ from the words in the box at character 25" in (
            refused
        ), refused
        assert "('5' typed where '6' is required)" in refused, refused
        assert "2 attempts left" in refused and "nothing irreversible is done" in refused
        term.send(*CONFIRM_WORDS)
        deadline = time.monotonic() + SCREEN_TIMEOUT
        while term.text().count(CONFIRM_WORDS) < 2:  # in the box, and now in the field
            assert time.monotonic() < deadline, term.text()
            term.pump()
        term.send(ENTER)

        answer_step(term, "ACTION", 14, SPACE + TAB * 3, "Run this step", total)
        continue_after(term, 14, "generated inside the HSM", timeout=HSM_TIMEOUT, total=total)
        answer_step(term, "WITNESS CHECK", 15, TAB * 3, "Matches", total)
        answer_step(term, "ACTION", 16, TAB * 3, "Run this step", total, chosen="Carol Nguyen")
        continue_after(term, 16, "Root certificate issued", timeout=HSM_TIMEOUT, total=total)
        answer_step(term, "ACTION", 17, SPACE + TAB * 3, "Run this step", total)
        bags = iter(typed["backup-root-key"]["typed"][::2])
        for holder in backup.shares:
            name = script.participant(holder.custodian).name
            call_custodian(term, 17, name, next(bags), total)
        term.wait_for("Enlarge the terminal to at least", "\u25b8 Done")
        term.send(ENTER)
        continue_after(term, 17, "is backed up", timeout=HSM_TIMEOUT, total=total)
        answer_step(term, "ACTION", 18, SPACE + TAB * 3, "Run this step", total)
        for custodian in backup.restore_test_custodians:
            name = script.participant(custodian).name
            type_share(term, 18, name, sheets.words(name, kek_what(backup)), total)
        term.wait_for("Restore-test HSM user PIN:", "Attempt 1 of 3")
        term.send(*pins["user_pin"], ENTER)
        term.wait_for("Restore-test HSM security officer PIN:", timeout=HSM_TIMEOUT)
        term.send(*pins["so_pin"], ENTER)
        continue_after(term, 18, "restores", timeout=HSM_TIMEOUT, total=total)
        answer_step(term, "ACTION", 19, TAB * 2, "Run this step", total)
        term.wait_for("Enlarge the terminal to at least", "\u25b8 Done")
        term.send(ENTER)
        answer_step(term, "ACTION", 20, SPACE + TAB * 2, "Run this step", total)
        continue_after(term, 20, "The HSM is logged out.", total=total)
        answer_step(term, "ENTRY", 21, SPACE + TAB * 3, "Next: type the value", total)
        type_entry(term, 21, "New HSM bag serial", *typed["hsm-reseal"]["typed"], total=total)
        answer_step(term, "ENTRY", 22, SPACE + TAB * 3, "Next: type the value", total)
        label = "New backup HSM bag serial"
        type_entry(term, 22, label, *typed["backup-hsm-reseal"]["typed"], total=total)
        answer_step(term, "ENTRY", 23, SPACE + TAB * 3, "Next: type the value", total)
        type_entry(term, 23, "Medium A bag serial", *typed["media-a-reseal"]["typed"], total=total)
        answer_step(term, "ENTRY", 24, SPACE + TAB * 3, "Next: type the value", total)
        type_entry(term, 24, "Medium B bag serial", *typed["media-b-reseal"]["typed"], total=total)

        # 25. The break: Bob leaves; the HSM's new bag serial is typed as it stays sealed.
        shown = flat(term.wait_for(step_screen("BREAK", 25, total)))
        assert "Hardware security module" in shown, shown
        term.send(TAB * 2)
        term.wait_for("\u25b8 Next: who leaves the room")
        term.send(ENTER)
        term.wait_for("WHO LEAVES THE ROOM", "Bob Okafor")
        term.send(DOWN, SPACE)
        term.wait_for("[X] Bob Okafor")
        term.send(TAB)
        leaving = term.wait_for("\u25b8 Start the break")
        assert leaving.count("[X]") == 1
        term.send(ENTER)
        term.wait_for("BAG SEALED FOR THE BREAK", "Attempt 1 of 3")
        term.send(*"TEB-100301")
        term.wait_for("TEB-100301")
        term.send(ENTER)

        paused = term.wait_for("BREAK  \u00b7  THE CEREMONY IS PAUSED", "Paused since")
        assert "Bob Okafor" in paused and "WHO HAS RETURNED" in paused, paused
        term.send(SPACE)
        term.wait_for("[X] Bob Okafor")
        term.send(TAB)
        term.wait_for("\u25b8 Resume the ceremony")
        term.send(ENTER)

        # After the break the bag is read again: the old bag's serial first, refused on screen.
        term.wait_for("BAG CHECK AFTER THE BREAK", "Attempt 1 of 3")
        term.send(*"TEB-100201")
        term.wait_for("TEB-100201")
        term.send(ENTER)
        refused = flat(term.wait_for("BAG CHECK AFTER THE BREAK", "Attempt 2 of 3"))
        assert "Refused: 'TEB-100201' is not the serial recorded for this bag" in refused, refused
        assert "after that the ceremony stops" in refused
        term.send(*"TEB-100301")
        term.wait_for("TEB-100301", "Attempt 2 of 3")
        term.send(ENTER)

        answer_step(term, "CONFIRMATION", 26, SPACE + TAB * 3, "Confirm: done", total)
        answer_step(term, "SIGN-OFF", 27, TAB * 2, "Next: the statements", total)
        term.wait_for("Each person answers for themselves", "Followed")
        term.send(*[SPACE, TAB, TAB] * 10)
        term.wait_for("\u25b8 Record the statements")
        term.send(ENTER)
        answer_step(term, "ACTION", 28, TAB * 2, "Run this step", total)
        scan_screen_qr(term)
        term.send(ENTER)
        answer_step(term, "ACTION", 29, TAB * 3, "Run this step", total)
        continue_after(term, 29, "Report printed", timeout=HSM_TIMEOUT, total=total)
        answer_step(term, "ENTRY", 30, TAB * 3, "Next: type the value", total)
        label = "New workstation bag serial"
        type_entry(term, 30, label, *typed["workstation-reseal"]["typed"], total=total)

        term.wait_for("CEREMONY COMPLETE", "\u25b8 Close Sealroom")
        term.send(ENTER)
        term.child.expect(pexpect.EOF, timeout=SCREEN_TIMEOUT)
        term.transcript.append(str(term.child.before))
    finally:
        term.child.close(force=True)
    transcript = "".join(term.transcript)
    assert term.child.exitstatus == 0, transcript[-2000:]
    assert f"ceremony complete: {total} steps" in transcript
    assert "Traceback" not in transcript

    journal_path = out / "journal.jsonl"
    checked = run(str(SEALROOM), "verify-journal", str(journal_path))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    entries = [json.loads(line) for line in journal_path.read_text().splitlines()]
    watched = {
        "confirmation.refused",
        "confirmation.typed",
        "bag.sealed",
        "break.started",
        "break.ended",
        "bag.rechecked",
    }
    seen = [(e["event"], e["data"].get("matches")) for e in entries if e["event"] in watched]
    assert seen == [
        ("confirmation.refused", None),
        ("confirmation.typed", None),
        ("bag.sealed", None),
        ("break.started", None),
        ("break.ended", None),
        ("bag.rechecked", False),
        ("bag.rechecked", True),
    ]
    assert entries[-1]["event"] == "journal.checkpoint"  # the journal signs its own end
    assert entries[-2]["event"] == "ceremony.closed"
    assert entries[-2]["data"]["result"] == "completed"
    by_event = {e["event"]: e for e in entries}
    assert by_event["confirmation.typed"]["data"] == {"words": CONFIRM_WORDS, "attempts": 2}
    assert by_event["confirmation.typed"]["step"] == "confirm-generation"
    assert by_event["bag.sealed"]["data"] == {"material": "hsm", "serial": "TEB-100301"}
    assert by_event["break.started"]["data"] == {"left": ["bob"]}
    assert by_event["break.ended"]["data"] == {"returned": ["bob"], "absent": []}
    # The confirmation came before the key was generated.
    events = [e["event"] for e in entries]
    assert events.index("confirmation.typed") < events.index("key.generated")
