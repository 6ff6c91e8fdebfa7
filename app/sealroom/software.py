"""The identity of the Sealroom software that runs: a SHA-256 over every file of the package."""

from __future__ import annotations

import hashlib
from pathlib import Path

import sealroom


def software_sha256(root: Path | None = None) -> str:
    """SHA-256 over the installed ``sealroom`` package (docs/fingerprints.md, software identity).

    Files are taken in sorted order of their POSIX path relative to the package folder, skipping
    ``__pycache__``; each contributes its path length (4 bytes, big-endian), the path in UTF-8,
    its size (8 bytes, big-endian) and its bytes. Anyone can recompute it from the same files.
    """
    base = root or Path(sealroom.__file__).resolve().parent
    digest = hashlib.sha256()
    files = sorted(
        (p for p in base.rglob("*") if p.is_file() and "__pycache__" not in p.parts),
        key=lambda p: p.relative_to(base).as_posix(),
    )
    for path in files:
        name = path.relative_to(base).as_posix().encode("utf-8")
        data = path.read_bytes()
        digest.update(len(name).to_bytes(4, "big"))
        digest.update(name)
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()
