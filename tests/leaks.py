"""Finding a share in text: its words are ordinary English, so a leak is three of them in a row.

SLIP-39 words ("clock", "evidence", "step") also occur in a report's prose and among the PGP words
that spell its hashes, and two of them side by side turn up by chance (a test matching pairs
anywhere inside words failed about once in two hundred runs). A share leaks as a whole (20 or 33
words), so any three consecutive words of it, as whole words, are what must never appear.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

RUN = 3


def word_stream(text: str) -> str:
    """The words of ``text`` in lower case, one space apart, with a space at each end.

    JSON's escaped line breaks (a journal line) separate words too.
    """
    unescaped = re.sub(r"\\[nrt]", " ", text)
    return " " + " ".join(re.findall(r"[a-z]+", unescaped.lower())) + " "


def share_run_in(words: Sequence[str], text: str, length: int = RUN) -> str | None:
    """The first run of ``length`` consecutive ``words`` found as whole words in ``text``, or None.

    A short text (one screen) can be held to a stricter ``length`` than a report can.
    """
    stream = word_stream(text)
    lowered = [w.lower() for w in words]
    for i in range(len(lowered) - length + 1):
        run = " ".join(lowered[i : i + length])
        if f" {run} " in stream:
            return run
    return None
