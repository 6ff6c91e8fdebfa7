"""The software manifest: SHA-256 of Sealroom and of every RECORD-listed file of its environment.

The image build runs ``python -m sealroom.preflight.manifest --out FILE`` with the image's own
interpreter (format in docs/preflight.md); the ``software`` check recomputes it and compares.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
from collections.abc import Iterable, Sequence
from importlib import metadata
from pathlib import Path

from sealroom import __version__
from sealroom.ceremony.fingerprint import sha256_fingerprint
from sealroom.preflight.errors import PreflightError
from sealroom.software import software_sha256

SOFTWARE_FORMAT = "sealroom-software/1"
CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _listed(dist: metadata.Distribution) -> Iterable[tuple[str, Path]]:
    """RECORD's files of ``dist``: the name as RECORD writes it, and where it is.

    RECORD itself and compiled ``__pycache__`` files are left out: RECORD cannot pin itself, and
    bytecode is compiled from the pinned sources.
    """
    for item in dist.files or ():
        name = str(item)
        if "__pycache__" in item.parts or name.endswith(".dist-info/RECORD"):
            continue
        yield name, Path(str(dist.locate_file(item)))


def distributions(paths: Sequence[str] | None = None) -> dict[str, metadata.Distribution]:
    """The installed distributions by normalised name (the first one found wins, as for import)."""
    found: dict[str, metadata.Distribution] = {}
    for dist in metadata.distributions(path=list(paths) if paths is not None else sys.path):
        name = dist.metadata["Name"]
        if name:
            found.setdefault(name.lower().replace("_", "-"), dist)
    return found


def software_manifest(paths: Sequence[str] | None = None) -> dict[str, object]:
    """The manifest of the environment that runs now (every distribution on ``paths``)."""
    dists: dict[str, object] = {}
    for name, dist in sorted(distributions(paths).items()):
        files: dict[str, str] = {}
        for listed, where in _listed(dist):
            if where.is_file():
                files[listed] = file_sha256(where)
        dists[name] = {"version": dist.version, "files": files}
    return {
        "format": SOFTWARE_FORMAT,
        "sealroom_version": __version__,
        "sealroom_sha256": software_sha256(),
        "python": platform.python_version(),
        "distributions": dists,
    }


def manifest_bytes(manifest: dict[str, object]) -> bytes:
    return (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode("utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sealroom.preflight.manifest",
        description="Write the software manifest of this Python environment (docs/preflight.md).",
    )
    parser.add_argument("--out", required=True, metavar="FILE", help="manifest to write (new)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    data = manifest_bytes(software_manifest())
    try:
        with out.open("xb") as handle:
            handle.write(data)
    except FileExistsError:
        sys.stderr.write(f"sealroom: {out} already exists; a manifest is never overwritten.\n")
        return 2
    except OSError as exc:
        sys.stderr.write(f"sealroom: cannot write {out}: {exc.strerror}.\n")
        return 2
    print_words = sha256_fingerprint(data)
    sys.stdout.write(f"software manifest {out}: SHA-256 {print_words.hex}\n")
    return 0


def require_manifest_object(data: object, path: str) -> dict[str, object]:
    """The manifest's top-level object, or PreflightError naming the field that is wrong."""
    if not isinstance(data, dict) or data.get("format") != SOFTWARE_FORMAT:
        raise PreflightError(f"{path} is not a {SOFTWARE_FORMAT} manifest (its format field).")
    if not isinstance(data.get("distributions"), dict):
        raise PreflightError(f"{path}: the field 'distributions' is not an object.")
    return data


if __name__ == "__main__":
    raise SystemExit(main())
