"""A share as it is typed: words completed from 4 letters, each position checked, live checksum.

Everything here speaks of positions and counts, never of words: a status or its text can be shown
to the room while a custodian types their share unseen. The engine's own check (another set, a
duplicate, the threshold) still decides once the share is handed over; this only tells the
custodian, as they type, whether they have typed a whole SLIP-39 share.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from shamir_mnemonic import rs1024
from shamir_mnemonic.constants import CUSTOMIZATION_STRING_EXTENDABLE, CUSTOMIZATION_STRING_ORIG

from sealroom.backup.words import WORDS, word_index

SHARE_WORD_COUNTS: tuple[int, ...] = (20, 33)
"""Words in a SLIP-39 share of a 128-bit secret (20) or a 256-bit one (33)."""

Mark = Literal["ok", "bad", "empty"]
"""One position: a SLIP-39 word (``ok``), not one (``bad``), or not typed yet (``empty``)."""

MARK_GLYPHS: dict[Mark, str] = {"ok": "\u2713", "bad": "\u2717", "empty": "\u00b7"}
"""✓ a word, ✗ not a word, · not yet."""

_FINISHED_TOKEN = re.compile(r"\S+(?=\s)")
_STARTS = frozenset(word[:length] for word in WORDS for length in range(1, len(word) + 1))
"""Every start of every word: letters that may still become a word as more are typed."""


def complete_prefixes(text: str) -> str:
    """``text`` with each finished token that stands for a word replaced by the whole word.

    A token is finished when whitespace follows it; the last one, still being typed, is left as
    it is. A token stands for a word if it is the word or a start of it at least four letters
    long, in any case (``ACAD`` and ``acade`` give ``academic``). Whitespace is kept as typed,
    and tokens that stand for no word are left alone for the custodian to correct.
    """

    def whole(match: re.Match[str]) -> str:
        index = word_index(match.group(0))
        return match.group(0) if index is None else WORDS[index]

    return _FINISHED_TOKEN.sub(whole, text)


@dataclass(frozen=True)
class EntryStatus:
    """Where a custodian is in typing a share: counts, a mark per position and the checksum.

    It holds no word, so it can be shown, logged or compared freely.
    """

    words_done: int
    """Positions holding a SLIP-39 word (whole, or by a start of four letters or more)."""
    total: int
    """Words expected: the share's length if known, else 20 until a 21st word is typed, then 33."""
    per_position: tuple[Mark, ...]
    """One mark per position (``total`` of them, more if too many words were typed)."""
    checksum: bool | None
    """The RS1024 checksum over the word indices, once every word is in; None before."""
    first_problem: str | None
    """The first thing wrong, by position and never by word; None if nothing is wrong yet."""
    known_length: bool = True
    """Whether ``total`` is the share's known length (False: 20 or 33, not known yet)."""

    @property
    def complete(self) -> bool:
        """Every word is in and the checksum is correct: a whole SLIP-39 share."""
        return self.checksum is True


def _marks(tokens: Sequence[str], finished: bool) -> list[Mark]:
    marks: list[Mark] = []
    for position, token in enumerate(tokens, start=1):
        if word_index(token) is not None:
            marks.append("ok")
        elif position == len(tokens) and not finished and token.lower() in _STARTS:
            marks.append("empty")  # still being typed: it may yet become a word
        else:
            marks.append("bad")
    return marks


def checksum_result(indices: Sequence[int]) -> bool:
    """Whether the SLIP-39 RS1024 checksum over ``indices`` (word indices) is correct.

    The customisation string depends on the share's extendable flag, bit 4 of the first two
    words' 20 bits (identifier 15, extendable 1, iteration exponent 4).
    """
    if len(indices) < 2:
        return False
    header = indices[0] * 1024 + indices[1]
    extendable = (header >> 4) & 1
    customization = CUSTOMIZATION_STRING_EXTENDABLE if extendable else CUSTOMIZATION_STRING_ORIG
    return bool(rs1024.verify_checksum(list(indices), customization))


def entry_status(text: str, words: int | None = None) -> EntryStatus:
    """The status of ``text`` as typed so far, for a share of ``words`` words (None: 20 or 33).

    Messages name positions only. The checksum is worked out once every position holds a word
    and the count is a share's length; a typed word that is not in the list stops it.
    """
    if words is not None and words not in SHARE_WORD_COUNTS:
        raise ValueError(f"a SLIP-39 share has 20 or 33 words, not {words}")
    tokens = text.split()
    finished = not text or text[-1].isspace()
    marks = _marks(tokens, finished)
    count = len(tokens)
    known = words is not None or count > min(SHARE_WORD_COUNTS)
    total = words if words is not None else (20 if count <= 20 else 33)
    pending: list[Mark] = ["empty"] * max(0, total - count)
    per_position = tuple(marks + pending)
    done = marks.count("ok")
    lengths = (words,) if words is not None else SHARE_WORD_COUNTS

    if "bad" in marks:
        position = marks.index("bad") + 1
        problem: str | None = f"word {position} is not in the SLIP-39 list"
        return EntryStatus(done, total, per_position, None, problem, known)
    if count > max(lengths):
        problem = (
            f"{count} words are typed but a share has {max(lengths)}: "
            "a word is typed twice or one too many"
        )
        return EntryStatus(done, total, per_position, None, problem, known)
    if done != count or count not in lengths:
        return EntryStatus(done, total, per_position, None, None, known)

    indices = [index for index in map(word_index, tokens) if index is not None]
    correct = checksum_result(indices)
    if correct:
        total = count
        per_position = tuple(marks)
        known = True
        problem = None
    elif known:
        problem = "checksum wrong: a word is mistyped"
    else:
        problem = (
            f"checksum wrong for a {count}-word share: if the sheet has {count} words, "
            "a word is mistyped; if it has 33, type on"
        )
    return EntryStatus(done, total, per_position, correct, problem, known)


def marks_text(status: EntryStatus, group: int = 5) -> str:
    """The marks as a row of glyphs in groups of ``group`` (``✓✓✓✓✓ ✓✗··· ·····``)."""
    glyphs = [MARK_GLYPHS[mark] for mark in status.per_position]
    return " ".join("".join(glyphs[i : i + group]) for i in range(0, len(glyphs), group))


def progress_text(status: EntryStatus) -> str:
    """``12 of 33 words typed`` (``12 of 20 or 33 words typed`` while the length is unknown)."""
    total = str(status.total) if status.known_length else "20 or 33"
    return f"{status.words_done} of {total} words typed"


def verdict_text(status: EntryStatus) -> str:
    """One sentence on the share so far, for the line under the marks (positions only)."""
    if status.checksum is True:
        return "Checksum correct: this is a whole share. Press Enter to hand it over."
    if status.checksum is False:
        if status.known_length:
            return "Checksum wrong: a word is mistyped \u2014 compare each word with your sheet."
        return (
            f"Checksum wrong for a {status.total}-word share: if your sheet has "
            f"{status.total} words, one is mistyped \u2014 compare each with your sheet; if it "
            "has 33, type on."
        )
    if status.first_problem is not None:
        text = f"{status.first_problem[0].upper()}{status.first_problem[1:]}"
        if "bad" in status.per_position:
            return f"{text} \u2014 compare it with your sheet."
        return f"{text}; compare the words with your sheet."
    return "The checksum is worked out when every word is in."
