"""Screens for m-of-n shares: a custodian called to the printer, a custodian typing unseen.

The words of a share are secret. They are printed only on the custodian's sheet, never drawn on
the screen (the field shows dots; the checks beside it name positions, never words), never
logged, and the field is emptied as the screen returns.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Final

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, Input, Label, Static

from sealroom.backup.entry import (
    MARK_GLYPHS,
    EntryStatus,
    complete_prefixes,
    entry_status,
    progress_text,
    verdict_text,
)
from sealroom.ceremony.backup import kek_what
from sealroom.ceremony.ports import Fact, StepView
from sealroom.ceremony.resplit import old_kek_what
from sealroom.ceremony.script import Script
from sealroom.errors import SealroomError, TransferError
from sealroom.ui.base import CeremonyScreen
from sealroom.ui.forms import TypedInput
from sealroom.ui.widgets import ActionButton, CeremonyState, FactsView, armed

if TYPE_CHECKING:
    from sealroom.transfer.camera import FrameSource

MAX_SHARE_CHARACTERS = 600
"""Room for 33 whole words with generous spacing; nothing a custodian types is longer."""


@dataclass(frozen=True)
class Custodian:
    """A custodian as the screens name them: name and the names of their roles."""

    name: str
    roles: str

    @property
    def label(self) -> str:
        """``Name (Role, Role)``."""
        return f"{self.name} ({self.roles})" if self.roles else self.name


def custodian_of(script: Script, participant_id: str) -> Custodian:
    """The custodian ``participant_id`` as the room knows them (the id itself if unknown)."""
    for person in script.participants:
        if person.id == participant_id:
            roles = ", ".join(r.name for r in script.roles if r.id in person.roles)
            return Custodian(person.name, roles)
    return Custodian(participant_id, "")


def share_place(script: Script, participant_id: str, what: str) -> str | None:
    """``2 of 5; any 3 of the 5 shares ...`` for ``participant_id``'s share of ``what``, if known.

    The script's activation section says who holds which share of the user PIN (and of the SO
    PIN, if it is split too); ``what`` names the PIN as the engine does (``HSM SO PIN``).
    """
    for backup in script.backups:
        # A backup's key-encryption key: its holders, or the set a re-split replaces.
        if what == kek_what(backup):
            return _place(
                [h.custodian for h in backup.shares], backup.threshold, participant_id, what
            )
        if backup.resplit is not None and what == old_kek_what(backup):
            old = backup.resplit
            return _place(
                [h.custodian for h in old.old_shares], old.old_threshold, participant_id, what
            )
    activation = script.hsm.activation if script.hsm is not None else None
    if activation is None:
        return None
    so = "SO" in what.split() or "security officer" in what.lower()
    split = activation.so_pin if so else activation.user_pin
    if split is None:
        return None
    return _place([h.custodian for h in split.shares], split.threshold, participant_id, what)


def _place(holders: list[str], threshold: int, participant_id: str, what: str) -> str | None:
    if holders.count(participant_id) != 1:
        return None
    total = len(holders)
    said = spoken(what)
    verb = "unlock" if said == what else "rebuild"
    return (
        f"{holders.index(participant_id) + 1} of {total}; "
        f"any {threshold} of the {total} shares together {verb} the {said}"
    )


_KEK_WHAT: Final = re.compile(
    r"Backup (?P<id>\S+) key-encryption key(?P<old> \(set being replaced\))?"
)


def spoken(what: str) -> str:
    """``what`` as a custodian understands it: a backup's KEK is the key that unlocks the backup.

    The engine names a backup's key-encryption key ``Backup <id> key-encryption key`` (the share
    sheet and the report keep that name); on the screens a custodian reads, it is "the key that
    unlocks backup <id>". PINs are named as they are.
    """
    match = _KEK_WHAT.fullmatch(what)
    if match is None:
        return what
    if match["old"]:
        return f"key that unlocks backup {match['id']} (old set, being replaced)"
    return f"key that unlocks backup {match['id']}"


KEK_EXPLAINED: Final = (
    "The backup copy of the CA key is encrypted; this key decrypts it. Nobody ever holds it "
    "whole: it exists only as these shares, and enough of them together rebuild it."
)


def sentence(text: str) -> str:
    """``text`` as a sentence: a capital first letter and a full stop at the end."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else f"{text}."


# ----------------------------------------------------------------------- called to the printer


class CustodianReadyScreen(CeremonyScreen[None]):
    """One custodian is called to the printer; their share sheet prints only on the button."""

    def __init__(
        self,
        state: CeremonyState,
        view: StepView,
        *,
        custodian: Custodian,
        what: str,
        place: str | None,
    ) -> None:
        super().__init__(state)
        self.view = view
        self.custodian = custodian
        self.what = what
        self.said = spoken(what)
        """``what`` as the custodian reads it on this screen."""
        self.kek = self.said != what
        """The shares are of a backup's key-encryption key (not of a PIN)."""
        self.place = place

    def compose_body(self) -> ComposeResult:
        view, name = self.view, self.custodian.name
        yield Label(f"SHARE SHEET  \u00b7  step {view.index + 1} of {view.total}", classes="kind")
        yield Label(Content(view.step.title), classes="title")
        yield Static(Content(f"{name}, please come to the printer."), classes="headline")
        facts = [Fact("Custodian", name)]
        if self.custodian.roles:
            facts.append(Fact("Roles", self.custodian.roles))
        facts.append(Fact("Prints", f"{name}'s share of the {self.said}"))
        if self.place:
            facts.append(Fact("Share", self.place))
        if self.kek:
            facts.append(Fact("What it is", KEK_EXPLAINED))
        yield FactsView(facts, id="custodian-facts")
        yield Static(
            Content(
                f"Your share of the {self.said} prints when you press Enter; only you look at "
                "it, then you fold it and seal it in a tamper-evident bag in view of the "
                "witnesses."
            ),
            id="sheet-instruction",
            classes="instruction",
        )
        yield Static(
            "Everyone else stays back from the printer and does not read the sheet. "
            "The words are never shown on this screen.",
            classes="muted hint",
        )

    def compose_actions(self) -> ComposeResult:
        yield ActionButton(f"Print {self.custodian.name}'s share sheet", "print", "primary")

    def on_mount(self) -> None:
        self.query_one("#print", Button).focus()

    @on(Button.Pressed, "#print")
    def print_sheet(self) -> None:
        self.dismiss(None)


# ------------------------------------------------------------------------ typing a share unseen


SHEET_CAMERA_SECONDS: Final = 30.0
"""How long a camera is watched for a share sheet's QR code before the screen says so."""
PDF_DPI = 200
"""Resolution a sheet's PDF is rendered at for zbar (as the QR receiver renders scanned PDFs)."""

SheetReader = Callable[[str], str]
"""Reads the one QR code of a share sheet from a source the room types (a path); its text."""


def read_sheet_qr(
    source: str,
    camera: Callable[[int], FrameSource] | None = None,
    seconds: float = SHEET_CAMERA_SECONDS,
) -> str:
    """The text of the one QR code of a share sheet: from ``camera:N``, an image or a PDF.

    The text is the share's words: it is handed to the screen's field and never shown or put in
    an error. A camera is watched until one frame shows exactly one QR code that is not an SR1
    transfer frame, for at most ``seconds``; ``camera`` opens camera N (the V4L2 camera unless
    a test gives a fake device).
    """
    from sealroom.transfer.camera import camera_index  # PIL and zbar load only when scanning
    from sealroom.transfer.scan import decode_image

    source = source.strip()
    if not source:
        raise TransferError(
            "Type camera:0 to hold the sheet up to the camera, or the path of an image or a PDF "
            "of the share sheet."
        )
    index = camera_index(source)
    if index is not None:
        return _sheet_from_camera(index, camera, seconds)
    path = Path(source).expanduser()
    if path.is_dir():
        raise TransferError(f"{path} is a folder: type the path of one sheet's image or PDF.")
    if not path.exists():
        raise TransferError(f"{path} does not exist.")
    if path.suffix.lower() == ".pdf":
        texts = _pdf_qr_texts(path, decode_image)
    else:
        texts = decode_image(path)
    if not texts:
        raise TransferError(
            f"No QR code was found in {path}: check the image is sharp and the code whole."
        )
    if len(texts) > 1:
        raise TransferError(
            f"{len(texts)} QR codes were found in {path}; a share sheet has one. Scan one "
            "sheet at a time."
        )
    return texts[0]


def _sheet_from_camera(
    index: int, camera: Callable[[int], FrameSource] | None, seconds: float
) -> str:
    """The first share-sheet QR text camera ``index`` sees within ``seconds``."""
    from sealroom.transfer.camera import V4L2Camera, frame_image
    from sealroom.transfer.scan import decode_image

    device = (camera or V4L2Camera)(index)
    deadline = time.monotonic() + seconds
    seen = 0
    with device as frames:
        for frame in frames:
            texts = [t for t in decode_image(frame_image(frame)) if not t.startswith("SR1/")]
            if len(texts) == 1:
                return texts[0]
            seen += 1 if texts else 0
            if time.monotonic() > deadline:
                break
    more = " (more than one sheet was in view)" if seen else ""
    raise TransferError(
        f"{device.label} saw no share sheet's QR code in {seconds:.0f} s{more}: hold one sheet "
        "flat and still, about 20 cm from the camera, and press Enter again, or type the words."
    )


def _pdf_qr_texts(path: Path, decode: Callable[[Path], list[str]]) -> list[str]:
    """The QR texts of every page of a PDF, rendered by poppler into a private, removed folder."""
    with tempfile.TemporaryDirectory(prefix="sealroom-sheet-") as tmp:
        try:
            subprocess.run(
                ["pdftoppm", "-r", str(PDF_DPI), "-gray", "-png", str(path), f"{tmp}/page"],
                check=True,
                capture_output=True,
                timeout=120,
            )
        except FileNotFoundError as exc:
            raise TransferError("pdftoppm (poppler-utils) is needed to read a PDF.") from exc
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            raise TransferError(f"{path} cannot be read as a PDF.") from exc
        return [text for page in sorted(Path(tmp).glob("page*.png")) for text in decode(page)]


def marks_content(status: EntryStatus) -> Content:
    """Two lines: the first position of each group of five, then a mark per position.

    ✓ a SLIP-39 word, ✗ not one, · not typed yet; coloured as well as shaped.
    """
    styles = {"ok": "$text-success", "bad": "bold $text-error", "empty": "$text-muted"}
    count = len(status.per_position)
    numbers = "".join(f"{start:<6}" for start in range(1, count + 1, 5)).rstrip()
    parts: list[str | tuple[str, str]] = [f"{numbers}\n"]
    for index, mark in enumerate(status.per_position):
        if index and index % 5 == 0:
            parts.append(" ")
        parts.append((MARK_GLYPHS[mark], styles[mark]))
    return Content.assemble(*parts)


class ShareInput(TypedInput):
    """The share field: a dot per character, never the words; pasting is refused."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "submit", "Submit the words")]


class ShareWordsScreen(CeremonyScreen[str]):
    """A custodian types (or scans) their share; the screen shows dots, marks and the checksum.

    Each finished word typed by its first four letters (or more) is completed in the field. The
    screen shows how many words are in, a mark per position, the first position that is not a
    word and, once all are in, whether the checksum is correct; Enter hands over only a whole
    share with a correct checksum, and the engine's own check still decides.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close_scan", "Back to typing", show=False),
    ]

    def __init__(
        self,
        state: CeremonyState,
        view: StepView,
        *,
        custodian: Custodian,
        what: str,
        attempt: int,
        attempts_left: int,
        refused: str | None,
        words: int | None = None,
        reader: SheetReader | None = read_sheet_qr,
    ) -> None:
        super().__init__(state)
        self.view = view
        self.custodian = custodian
        self.what = what
        self.said = spoken(what)
        """``what`` as the custodian reads it on this screen."""
        self.attempt = attempt
        self.attempts_left = attempts_left
        self.refused = refused
        self.words = words
        """The share's length if the caller knows it (20 or 33); None: either."""
        self.reader = reader
        """Reads a sheet's QR code from a typed source; None: no scanning on this workstation."""
        self.scanning = False
        """The scan row is open."""
        self.reading = False
        """A sheet's QR code is being read (off the UI thread)."""

    @property
    def attempts(self) -> int:
        """All attempts: those used before this one, this one and those after it."""
        return self.attempt + self.attempts_left - 1

    def compose_body(self) -> ComposeResult:
        view = self.view
        yield Label(f"SHARE WORDS  \u00b7  step {view.index + 1} of {view.total}", classes="kind")
        yield Label(Content(view.step.title), classes="title")
        yield Static(
            Content(
                f"{self.custodian.label} types the words of their share of the {self.said}. "
                f"Only {self.custodian.name} reads the sheet; everyone else looks away from it "
                "and from the keyboard."
            ),
            classes="who",
        )
        if self.refused:
            yield Static(Content(self.refusal()), id="refused", classes="warning")
        with Horizontal(id="share-row"):
            yield Label("Share words:", classes="fact-label")
            yield ShareInput(
                password=True,
                id="share",
                compact=True,
                max_length=MAX_SHARE_CHARACTERS,
                select_on_focus=False,  # a key after coming back must not replace the share
            )
        with Vertical(id="scan-row"):
            with Horizontal(id="scan-line"):
                yield Label("Camera, image or PDF:", classes="fact-label")
                yield TypedInput(id="scan-path", compact=True, max_length=500)
            yield Static(
                "Type camera:0 and hold the sheet up to the camera, or type the path of an image "
                "or PDF, then Enter; the QR code's words go into the share field unseen and are "
                "checked as if typed. Esc goes back to typing.",
                classes="muted hint",
            )
        status = entry_status("", self.words)
        yield Static(Content(progress_text(status)), id="word-count", classes="clock-line")
        yield Static(marks_content(status), id="share-marks")
        yield Static(Content(verdict_text(status)), id="share-check", classes="muted")
        yield Static(
            "Type the words in the order printed, a space after each; four letters and a space "
            "complete a word. The field shows a dot for each letter, never a word.",
            classes="muted hint",
        )
        yield Static(
            f"Attempt {self.attempt} of {self.attempts}. Enter hands over a whole share "
            "(checksum correct). Pasting is switched off; Ctrl+U clears left of the cursor.",
            id="attempt",
            classes="muted hint",
        )

    def compose_actions(self) -> ComposeResult:
        if self.reader is not None:
            yield ActionButton("Scan the sheet's QR code instead", "scan", "default")

    def refusal(self) -> str:
        left = self.attempts_left
        left_text = (
            f"this is the last attempt for {self.custodian.name}"
            if left == 1
            else f"{left} attempts left"
        )
        return (
            f"Attempt {self.attempt - 1} was refused. {sentence(self.refused or '')} "
            f"Type all the words again: {left_text}."
        )

    def on_mount(self) -> None:
        self.query_one("#scan-row").display = False
        self.query_one("#share", Input).focus()

    def on_unmount(self) -> None:
        self.clear()

    def clear(self) -> None:
        """Empty the field, so the words do not outlive the screen."""
        for field in self.query("#share").results(Input):
            field.value = ""

    def status(self) -> EntryStatus:
        """The share field's status: counts, marks and checksum (no word)."""
        return entry_status(self.query_one("#share", Input).value, self.words)

    @on(Input.Changed, "#share")
    def typing(self, event: Input.Changed) -> None:
        field = event.input
        value, cursor = field.value, field.cursor_position
        before = complete_prefixes(value[:cursor])
        if before != value[:cursor]:
            # A word typed by its first letters, then a space: the field holds the whole word.
            field.value = before + value[cursor:]
            field.cursor_position = len(before)
            return  # the change just made is checked as it arrives
        self.show_status(entry_status(value, self.words))
        self.show_problem(None)

    def show_status(self, status: EntryStatus) -> None:
        self.query_one("#word-count", Static).update(Content(progress_text(status)))
        self.query_one("#share-marks", Static).update(marks_content(status))
        check = self.query_one("#share-check", Static)
        check.update(Content(verdict_text(status)))
        check.set_class(status.checksum is True, "share-good")
        check.set_class(status.first_problem is not None, "share-bad")

    @on(Input.Submitted, "#share")
    def submit(self) -> None:
        if not armed(self):
            return
        field = self.query_one("#share", Input)
        typed = complete_prefixes(field.value + " ").strip()
        status = entry_status(typed, self.words)
        if not typed:
            self.show_problem("nothing was typed; type the words of your share sheet, then Enter")
            return
        if not status.complete:
            self.show_problem(f"{self.not_whole(status)} (no attempt is used)")
            return
        field.value = ""
        self.dismiss(typed)

    def not_whole(self, status: EntryStatus) -> str:
        """Why the field does not hold a whole share yet, by position and count only."""
        if status.first_problem is not None:
            return f"{status.first_problem}; correct it and press Enter"
        return (
            f"{progress_text(status)}: type every word of the sheet; the checksum is checked "
            "when all are in"
        )

    # Scanning --------------------------------------------------------------------------

    @on(Button.Pressed, "#scan")
    def open_scan(self) -> None:
        self.scanning = True
        self.query_one("#scan-row").display = True
        self.query_one("#scan-path", Input).focus()
        self.show_problem(None)

    def action_close_scan(self) -> None:
        if self.scanning:
            self.scanning = False
            self.query_one("#scan-row").display = False
            self.query_one("#share", Input).focus()

    @on(Input.Submitted, "#scan-path")
    def scan(self, event: Input.Submitted) -> None:
        if self.reader is None:
            return
        self.reading = True
        self.query_one("#share-check", Static).update("Reading the sheet's QR code\u2026")
        self.read_sheet(self.reader, event.value)

    @work(thread=True, exclusive=True, group="sheet-scan")
    def read_sheet(self, reader: SheetReader, source: str) -> None:
        """Read the sheet off the UI thread (a PDF page is rendered first)."""
        try:
            text, problem = reader(source), None
        except SealroomError as exc:
            text, problem = "", str(exc)
        self.app.call_from_thread(self.scanned, text, problem)

    def scanned(self, text: str, problem: str | None) -> None:
        """Put the scanned words into the field (as dots) and check them, or say what failed."""
        self.reading = False
        field = self.query_one("#share", Input)
        if problem is not None:
            self.show_status(self.status())
            self.show_problem(problem)
            return
        words = " ".join(text.split())
        del text
        status = entry_status(words, self.words)
        if not status.complete:
            self.show_status(self.status())
            reason = status.first_problem or f"{progress_text(status)}, not a whole share"
            self.show_problem(
                f"the QR code read is not a share sheet's words ({reason}); scan the sheet "
                "again or type the words"
            )
            return
        field.value = words
        field.cursor_position = len(words)
        self.action_close_scan()
        self.show_status(status)
        self.show_problem(None)
        self.notify("The sheet's QR code was read; press Enter to hand the share over.")
