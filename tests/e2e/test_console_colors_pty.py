"""On the Linux console (TERM=linux, the appliance's tty1) the TUI uses only colours it can show.

The console has 16 colours and cannot show bright backgrounds: Sealroom's own colours, rounded to
its palette, put the focused button red on dark red there. With TERM=linux the app switches to
Textual's ANSI theme. The screen is read through a real pty (pyte) at the console's 80x25.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from benchmarks.pty import Terminal

from sealroom.ui.console import CONSOLE_CHARACTERS

REPO = Path(__file__).resolve().parents[2]
SEALROOM = str(Path(sys.executable).with_name("sealroom"))
SCRIPT = REPO / "ceremony_scripts" / "root-key-generation.yaml"
BRIGHT_BACKGROUNDS = {"brightblack", "brightred", "brightgreen", "brightbrown", "brightblue"}
BRIGHT_BACKGROUNDS |= {"brightmagenta", "brightcyan", "brightwhite"}

pytestmark = pytest.mark.e2e


def _cells(term_name: str, out: Path) -> tuple[list[str], dict[str, tuple[str, str]]]:
    """The screen's lines, and (fg, bg) of the focused button's label and of the whole screen."""
    term = Terminal(
        [SEALROOM, "run", str(SCRIPT), "--rehearsal", "--out", str(out)],
        rows=25,
        cols=80,
        env={"TERM": term_name, "COLORTERM": ""},
        cwd=str(REPO),
    )
    try:
        term.wait_for("Begin the ceremony", timeout=120)
        time.sleep(1.0)
        term.pump(0.5)
        lines = term.text().splitlines()
        colours: dict[str, tuple[str, str]] = {}
        for y, line in enumerate(lines):
            x = line.find("Begin the ceremony")
            if x >= 0:
                cell = term.screen.buffer[y][x]
                colours["button"] = (cell.fg, cell.bg)
        backgrounds = {term.screen.buffer[y][x].bg for y in range(25) for x in range(80)}
        colours["backgrounds"] = (",".join(sorted(backgrounds)), "")
        return lines, colours
    finally:
        term.child.terminate(force=True)


def test_on_the_linux_console_the_focused_button_is_plain_and_every_background_shows(
    tmp_path: Path,
) -> None:
    _lines, colours = _cells("linux", tmp_path / "console")
    fg, bg = colours["button"]
    assert bg not in BRIGHT_BACKGROUNDS and bg != "default", (fg, bg)
    assert fg != bg
    backgrounds = set(colours["backgrounds"][0].split(","))
    assert not backgrounds & BRIGHT_BACKGROUNDS, backgrounds


def test_a_colour_terminal_keeps_sealrooms_own_colours(tmp_path: Path) -> None:
    _lines, colours = _cells("xterm-256color", tmp_path / "xterm")
    _fg, bg = colours["button"]
    assert bg not in {"default", "green"}, bg  # not the console theme


def test_on_the_linux_console_every_character_on_screen_is_one_its_font_can_draw(
    tmp_path: Path,
) -> None:
    """The kernel's console font draws code page 437 only; anything else is a square (■)."""
    term = Terminal(
        [SEALROOM, "run", str(SCRIPT), "--rehearsal", "--out", str(tmp_path / "out")],
        rows=25,
        cols=80,
        env={"TERM": "linux", "COLORTERM": ""},
        cwd=str(REPO),
    )
    try:
        term.wait_for("Begin the ceremony", timeout=120)
        time.sleep(1.0)
        term.pump(0.5)
        start = term.text()
        assert "\u25ba Begin the ceremony" in start  # the focus marker, in the font
        assert "Enter Press button" in start  # Textual's ⏎ is a word there
        term.send("\r")
        term.wait_for("Record attendance", timeout=60)
        time.sleep(1.0)
        term.send(" ")  # tick the first person: the chosen mark and the list cursor show
        term.wait_for("\u25ba [X] Alice Martin", timeout=60)
        term.wait_for("(\u2022) Alice Martin", timeout=60)
        attendance = term.text()
    finally:
        term.child.terminate(force=True)
    for name, screen in (("start", start), ("attendance", attendance)):
        strange = sorted({c for c in screen if c not in CONSOLE_CHARACTERS and c != "\n"})
        assert not strange, f"the {name} screen draws {strange} that tty1 shows as squares"
