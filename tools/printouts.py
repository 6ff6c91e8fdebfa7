"""Sample printouts: rehearse catalogue ceremonies and copy their documents, with PNG previews, out.

Run with the venv's python (``make printouts``)::

    .venv/bin/python tools/printouts.py [--out printouts]

Each rehearsal is a real ``sealroom rehearse`` on a throwaway SoftHSM2 token, so every document
here carries the REHEARSAL watermark: the reports, the worksheet (rendered in its rehearsal form)
and the share sheets (which hold the rehearsal's throwaway SLIP-39 words, nothing else).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from PIL import Image  # reportlab's own dependency

from sealroom.ceremony.loader import load_script
from sealroom.report.worksheet import render_worksheet
from sealroom.transfer.paper import render_transfer_pdf

ROOT: Final = Path(__file__).resolve().parents[1]
CATALOGUE: Final = ROOT / "ceremony_scripts"
SEALROOM: Final = Path(sys.executable).with_name("sealroom")
PREVIEW_DIR: Final = "previews"
PREVIEW_DPI: Final = 50
PREVIEW_COLOURS: Final = 64
"""Previews are reduced to a 64-colour palette: a third of the size, and the text stays sharp."""

REHEARSALS: Final = (
    "root-key-generation",
    "hsm-initialisation",
    "key-backup",
    "subordinate-ca-signing",
    "crl-issuance",
)
"""Catalogue scripts rehearsed for a report each."""
SHARE_SHEETS: Final[Mapping[str, str]] = {
    "hsm-initialisation": "share sheet",
    "root-key-generation": "backup share sheet",
}
"""Rehearsed scripts whose first share sheet is sampled, and the kind of sheet it is: one of the
m-of-n PIN split, one of the root key's backup (a share of its key-encryption key)."""
EXPORT_SHEETS: Final[Mapping[str, str]] = {"root-key-generation": "root.crt.pem"}
"""Rehearsed scripts whose certificate (file in the rehearsal folder) is sampled as an export
sheet: QR codes, SHA-256 and base32 listing, as `sealroom transfer send --pdf` prints them."""
WORKSHEETS: Final = ("root-key-generation",)
"""Catalogue scripts whose worksheet (``sealroom print-script``) is sampled."""

KIND_TEXT: Final = {
    "report": "The ceremony report, rendered from the rehearsal's journal alone",
    "worksheet": "The script worksheet the internal witness initials and annotates by hand",
    "share sheet": (
        "One custodian's share sheet from the m-of-n PIN split (SLIP-39 words and QR code); "
        "the words are the rehearsal's throwaway words"
    ),
    "backup share sheet": (
        "One custodian's share sheet of the root key's backup: a 3-of-5 share of the "
        "key-encryption key, with its key check value (SLIP-39 words and QR code); the "
        "rehearsal's throwaway words"
    ),
    "export sheet": (
        "An object carried out of the room on paper: the rehearsal's root certificate as a "
        "labelled grid of QR codes, its SHA-256 and a base32 listing to type by hand"
    ),
}


class PrintoutError(Exception):
    """A rehearsal or a conversion failed; the message names the command and what it said."""


@dataclass(frozen=True)
class Printout:
    """One sample document in the printouts folder."""

    name: str
    """File name in the folder, e.g. ``root-key-generation-report.pdf``."""
    kind: str
    """``report``, ``worksheet``, ``share sheet``, ``backup share sheet`` or ``export sheet``."""
    source: str
    """What made it, as a reader would re-run it."""
    pages: int
    previews: tuple[str, ...]
    """PNG previews, one per page, relative to the folder (empty if previews were not made)."""


def _run(argv: Sequence[str], what: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("SOFTHSM2_CONF", None)  # each rehearsal makes and points at its own token
    result = subprocess.run(
        list(argv), capture_output=True, text=True, env=env, check=False, timeout=600
    )
    if result.returncode != 0:
        said = (result.stderr or result.stdout).strip()
        raise PrintoutError(f"{what} failed (exit {result.returncode}): {said}")
    return result


def rehearse(script: str, work: Path, sealroom: Path = SEALROOM) -> Path:
    """Rehearse catalogue script ``script`` (its stem) into ``work/script``; the output folder."""
    out = work / script
    _run(
        [str(sealroom), "rehearse", "--out", str(out), str(CATALOGUE / f"{script}.yaml")],
        f"sealroom rehearse {script}",
    )
    return out


def write_worksheet(script: str, pdf: Path) -> Path:
    """Write the rehearsal worksheet of catalogue script ``script`` (its stem) to ``pdf``."""
    pdf.write_bytes(render_worksheet(load_script(CATALOGUE / f"{script}.yaml"), rehearsal=True))
    return pdf


def page_count(pdf: Path) -> int:
    """The number of pages of ``pdf``, as pdfinfo reads it."""
    info = _run(["pdfinfo", str(pdf)], f"pdfinfo {pdf.name}").stdout
    match = re.search(r"^Pages:\s+(\d+)$", info, re.MULTILINE)
    if match is None:
        raise PrintoutError(f"pdfinfo did not report a page count for {pdf}.")
    return int(match.group(1))


def render_previews(pdf: Path, folder: Path) -> tuple[Path, ...]:
    """PNG previews of every page of ``pdf`` in ``folder``: ``<stem>-page-NN.png``."""
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        _run(
            ["pdftoppm", "-r", str(PREVIEW_DPI), "-png", str(pdf), str(Path(tmp) / "p")],
            f"pdftoppm {pdf.name}",
        )
        # pdftoppm pads the page number to the width of the last one: sort numerically.
        pages = sorted(Path(tmp).glob("p-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
        made = []
        for number, png in enumerate(pages, start=1):
            target = folder / f"{pdf.stem}-page-{number:02d}.png"
            with Image.open(png) as page:
                reduced = page.convert("RGB").quantize(
                    colors=PREVIEW_COLOURS, method=Image.Quantize.MEDIANCUT
                )
            reduced.save(target, "PNG", optimize=True)
            made.append(target)
    return tuple(made)


def write_export_sheet(run: Path, script: str, name: str, pdf: Path) -> Path:
    """Write the export sheet of certificate ``name`` of rehearsal ``run`` to ``pdf``."""
    try:
        certificate = x509.load_pem_x509_certificate((run / name).read_bytes())
    except (OSError, ValueError) as exc:
        raise PrintoutError(f"The rehearsal of {script} left no certificate {name}: {exc}") from exc
    der = certificate.public_bytes(serialization.Encoding.DER)
    subject = certificate.subject.rfc4514_string()
    pdf.write_bytes(
        render_transfer_pdf(
            der,
            "CRT",
            title=f"Certificate {name}: {subject}",
            facts=(
                ("Subject", subject),
                ("From", f"the rehearsal of ceremony_scripts/{script}.yaml, file {name}"),
            ),
            rehearsal=True,
        )
    )
    return pdf


def _share_sheet(run: Path) -> Path | None:
    sheets = sorted((run / "share-sheets").glob("*.pdf"))
    return sheets[0] if sheets else None


def build_printouts(
    out: Path,
    *,
    rehearsals: Sequence[str] = REHEARSALS,
    worksheets: Sequence[str] = WORKSHEETS,
    share_sheets: Mapping[str, str] = SHARE_SHEETS,
    export_sheets: Mapping[str, str] = EXPORT_SHEETS,
    previews: bool = True,
    sealroom: Path = SEALROOM,
) -> list[Printout]:
    """Rehearse, copy each document into ``out`` under a stable name, preview it, write README.md.

    Documents, previews and README.md that an earlier run left in ``out`` are replaced.
    """
    out.mkdir(parents=True, exist_ok=True)
    for old in [*out.glob("*.pdf"), *(out / PREVIEW_DIR).glob("*.png")]:
        old.unlink()
    made: list[tuple[Path, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="sealroom-printouts-") as tmp:
        work = Path(tmp)
        with ThreadPoolExecutor(max_workers=max(1, len(rehearsals))) as pool:
            runs = list(pool.map(lambda s: (s, rehearse(s, work, sealroom)), rehearsals))
        for script in worksheets:
            made.append(
                (
                    write_worksheet(script, out / f"{script}-worksheet.pdf"),
                    "worksheet",
                    f"`sealroom print-script ceremony_scripts/{script}.yaml`, "
                    "with the REHEARSAL watermark",
                )
            )
        for script, run in runs:
            source = f"`sealroom rehearse ceremony_scripts/{script}.yaml`"
            report = out / f"{script}-report.pdf"
            shutil.copyfile(run / "report.pdf", report)
            made.append((report, "report", source))
            sheet = _share_sheet(run) if script in share_sheets else None
            if sheet is not None:
                copy = out / f"{script}-share-sheet.pdf"
                shutil.copyfile(sheet, copy)
                made.append((copy, share_sheets[script], f"{source}, `share-sheets/{sheet.name}`"))
            if script in export_sheets:
                name = export_sheets[script]
                sheet_pdf = out / f"{script}-export-sheet.pdf"
                write_export_sheet(run, script, name, sheet_pdf)
                made.append(
                    (
                        sheet_pdf,
                        "export sheet",
                        f"{source}, then its {name} printed as `sealroom transfer send --pdf` does",
                    )
                )
    printouts = []
    for pdf, kind, source in made:
        pngs = render_previews(pdf, out / PREVIEW_DIR) if previews else ()
        printouts.append(
            Printout(
                name=pdf.name,
                kind=kind,
                source=source,
                pages=page_count(pdf),
                previews=tuple(f"{PREVIEW_DIR}/{p.name}" for p in pngs),
            )
        )
    write_readme(out, printouts)
    return printouts


def _listed(names: Iterable[str]) -> str:
    """Names in backticks, joined as a sentence lists them: `a`, `b` and `c`."""
    quoted = [f"`{n}`" for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def write_readme(out: Path, printouts: Sequence[Printout]) -> Path:
    """``out/README.md``: one line per document with its previews linked, and how to regenerate."""
    lines = [
        "# Sample printouts",
        "",
        "What Sealroom prints, made from real rehearsals (throwaway SoftHSM2 tokens) so a reader "
        "sees the paper without running anything. Every page carries the REHEARSAL watermark. "
        f"Previews are PNG at {PREVIEW_DPI} dpi in {PREVIEW_COLOURS} colours, one per page.",
        "",
        "| Document | What it is | Made by | Pages | Previews |",
        "|---|---|---|---|---|",
    ]
    for p in printouts:
        links = " ".join(f"[{n}]({png})" for n, png in enumerate(p.previews, start=1)) or "-"
        lines.append(
            f"| [{p.name}]({p.name}) | {KIND_TEXT[p.kind]} | {p.source} | {p.pages} | {links} |"
        )
    lines += [
        "",
        "The share sheets hold the words of a rehearsal token's PIN share and of a rehearsal "
        "backup's key-encryption key share: they protect nothing (the token and the backup were "
        "thrown away with the rehearsal) and are published here on purpose. A real share sheet "
        "never leaves its custodian.",
        "",
        "## Regenerate",
        "",
        "```",
        "make printouts        # .venv/bin/python tools/printouts.py --out printouts",
        "```",
        "",
        f"This rehearses {_listed(REHEARSALS)}, renders the worksheet of {_listed(WORKSHEETS)}, "
        f"keeps the first share sheet of {_listed(SHARE_SHEETS)}, prints the export sheet of "
        f"{_listed(EXPORT_SHEETS)}'s certificate, replaces the PDFs and "
        "previews here, and rewrites this file. Journal times and keys differ at every run, so "
        "the files change each time; commit them when a document's layout changes.",
        "",
    ]
    readme = out / "README.md"
    readme.write_text("\n".join(lines))
    return readme


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", default=str(ROOT / "printouts"), help="folder to (re)fill")
    args = parser.parse_args(argv)
    try:
        printouts = build_printouts(Path(args.out))
    except PrintoutError as exc:
        sys.stderr.write(f"printouts: {exc}\n")
        return 1
    total = sum(f.stat().st_size for f in Path(args.out).rglob("*") if f.is_file())
    pages = sum(p.pages for p in printouts)
    sys.stdout.write(
        f"{len(printouts)} documents, {pages} pages, {total / 1e6:.1f} MB in {args.out}\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
