"""The SLIP-39 word list as custodians type it: whole words or their first four letters."""

from __future__ import annotations

from collections.abc import Sequence

from shamir_mnemonic import wordlist

WORDS: tuple[str, ...] = tuple(str(word) for word in wordlist.WORDLIST)
"""The 1024 SLIP-39 words, index order."""

PREFIX_LETTERS = 4
"""SLIP-39 words are unique by their first four letters, and none is shorter."""

_INDEX = {word: i for i, word in enumerate(WORDS)}
_BY_PREFIX = {word[:PREFIX_LETTERS]: i for i, word in enumerate(WORDS)}
if len(_INDEX) != 1024 or len(_BY_PREFIX) != 1024 or min(map(len, WORDS)) < PREFIX_LETTERS:
    raise ImportError("the SLIP-39 word list is not the 1024 words unique by 4 letters")


def word_index(token: str) -> int | None:
    """The index of the word ``token`` stands for, or None if it stands for none.

    A token is a whole word, or any start of one that is at least four letters long, in any
    case; four letters are enough because no two words share their first four.
    """
    token = token.lower()
    if token in _INDEX:
        return _INDEX[token]
    if len(token) < PREFIX_LETTERS:
        return None
    index = _BY_PREFIX.get(token[:PREFIX_LETTERS])
    if index is not None and WORDS[index].startswith(token):
        return index
    return None


def parse_typed(typed: str) -> tuple[list[int], list[int]]:
    """Word indices of ``typed`` (words separated by spaces or newlines), and bad positions.

    Positions count from 1, as on the share sheet; the second list names every token that is
    not a SLIP-39 word (nor a four-letter start of one). The tokens themselves are not kept.
    """
    indices: list[int] = []
    bad: list[int] = []
    for position, token in enumerate(typed.split(), start=1):
        index = word_index(token)
        if index is None:
            bad.append(position)
        else:
            indices.append(index)
    return indices, bad


def positions_phrase(positions: Sequence[int]) -> str:
    """'word 7' or 'words 3, 5 and 7'."""
    if len(positions) == 1:
        return f"word {positions[0]}"
    head = ", ".join(str(p) for p in positions[:-1])
    return f"words {head} and {positions[-1]}"
