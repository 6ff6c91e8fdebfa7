"""`make bench`: measured side by side in one run, printed as ratios (see docs/benchmarks.md)."""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.pty import Terminal

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "ceremony_scripts" / "root-key-generation.yaml"
SEALROOM = str(Path(sys.executable).with_name("sealroom"))
BARE_APP = """
from textual.app import App, ComposeResult
from textual.widgets import Static
class Bare(App[None]):
    def compose(self) -> ComposeResult:
        yield Static("BARE-READY")
Bare().run()
"""
RUNS = 5


def _spawn_seconds(argv: list[str], needle: str) -> float:
    term = Terminal(argv)
    try:
        return term.wait_for(needle, timeout=60)
    finally:
        term.close()


def tui_spawn_ratio() -> tuple[float, float, float]:
    """Median seconds from spawn to first screen: Sealroom's TUI and a bare Textual app."""
    ours: list[float] = []
    bare: list[float] = []
    for _ in range(RUNS):
        with tempfile.TemporaryDirectory() as tmp:
            argv = [SEALROOM, "run", str(SCRIPT), "--rehearsal", "--out", f"{tmp}/out"]
            ours.append(_spawn_seconds(argv, "EXR-RKG-2026-11"))
        bare.append(_spawn_seconds([sys.executable, "-c", BARE_APP], "BARE-READY"))
    o, b = statistics.median(ours), statistics.median(bare)
    return o, b, o / b


def ceremony_ratio() -> tuple[float, float, float]:
    """An unattended root ceremony in this process: wall time and time inside PKCS#11 calls."""
    from sealroom.cli import main
    from sealroom.hsm.lock import pkcs11_seconds

    with tempfile.TemporaryDirectory() as tmp:
        before = pkcs11_seconds()
        start = time.perf_counter()
        code = main(["rehearse", str(SCRIPT), "--out", f"{tmp}/out"])
        wall = time.perf_counter() - start
        inside = pkcs11_seconds() - before
    if code != 0:
        raise SystemExit(f"the rehearsal failed with exit code {code}")
    return wall, inside, wall / inside


def lint_corpus_seconds() -> tuple[float, int]:
    """Median seconds to lint tests/data/broken and the shipped scripts, and how many there are."""
    from sealroom.ceremony.loader import lint_findings

    shipped = (p for p in (ROOT / "ceremony_scripts").glob("*.yaml") if ".answers." not in p.name)
    files = sorted([*(ROOT / "tests" / "data" / "broken").glob("*.yaml"), *shipped])
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        for path in files:
            lint_findings(path)
        times.append(time.perf_counter() - start)
    return statistics.median(times), len(files)


def main() -> int:
    rows: list[tuple[str, str, str]] = []
    lint_seconds, scripts = lint_corpus_seconds()
    rows.append(
        (
            "lint corpus + shipped scripts, seconds (target < 5)",
            f"{lint_seconds:.2f}",
            f"median of {RUNS}: {lint_seconds:.3f} s for {scripts} scripts",
        )
    )
    o, b, ratio = tui_spawn_ratio()
    rows.append(
        (
            "TUI spawn to first screen / bare Textual app",
            f"{ratio:.2f}",
            f"median of {RUNS}: {o:.3f} s / {b:.3f} s",
        )
    )
    import io
    from contextlib import redirect_stdout

    with redirect_stdout(io.StringIO()):
        wall, inside, ratio2 = ceremony_ratio()
    rows.append(
        (
            "root ceremony wall time / time in PKCS#11 calls",
            f"{ratio2:.2f}",
            f"{wall:.3f} s / {inside:.3f} s (rehearse, RSA-4096)",
        )
    )
    width = max(len(r[0]) for r in rows)
    sys.stdout.write(f"{'figure':{width}}  ratio  measured\n")
    for name, value, detail in rows:
        sys.stdout.write(f"{name:{width}}  {value:>5}  {detail}\n")

    from benchmarks.transfer import rows as transfer_rows  # QR transfer: docs/benchmarks.md

    figures = transfer_rows()
    width = max(len(r[0]) for r in figures)
    sys.stdout.write(f"\n{'QR transfer figure':{width}}  {'value':>9}  measured\n")
    for name, value, detail in figures:
        sys.stdout.write(f"{name:{width}}  {value:>9}  {detail}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
