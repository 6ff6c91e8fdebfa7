"""The ``sealroom preflight`` command: one line per check (id, PASS/FAIL, detail)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sealroom.ceremony.preflight import CHECK_IDS, material_refs
from sealroom.preflight.checks import SystemPreflight, require_known_checks

EXIT_OK = 0
EXIT_FAILED = 1
SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
"""SoftHSM2's module on Debian (the same path sealroom.hsm.softhsm loads in rehearsals)."""


def add_preflight_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """Add ``preflight`` to the CLI's subparsers; it sets ``func``."""
    parser = subparsers.add_parser(
        "preflight",
        help="check this machine before a ceremony (exit 0 all pass, 1 a check failed, 2 unusable)",
        description="Run the preflight checks and print one line per check: id, PASS or FAIL, "
        f"and what was seen. The checks: {', '.join(CHECK_IDS)} (docs/preflight.md).",
    )
    parser.add_argument(
        "--check",
        action="append",
        metavar="ID",
        help=f"run only this check (repeatable; one of {', '.join(CHECK_IDS)}); default: all",
    )
    parser.add_argument(
        "--script",
        metavar="FILE",
        help="the ceremony script: devices are compared with its materials, and the hsm check "
        "looks for its token label",
    )
    parser.add_argument("--module", metavar="PATH", help="PKCS#11 module for the hsm check")
    parser.add_argument("--token", metavar="LABEL", help="token label for the hsm check")
    parser.add_argument(
        "--rehearsal",
        action="store_true",
        help=f"the hsm check loads SoftHSM2 ({SOFTHSM_MODULE}) when no --module is given",
    )
    parser.add_argument(
        "--printer", metavar="NAME", help="CUPS printer for the printer check (default: CUPS's)"
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        default=".",
        help="the ceremony's output folder for the evidence check (default: the current folder)",
    )
    parser.set_defaults(func=cmd_preflight)
    return parser


def cmd_preflight(args: argparse.Namespace) -> int:
    """Run the asked checks, print their lines, and exit 0 only if every one passed."""
    checks = tuple(args.check or ()) or CHECK_IDS
    require_known_checks(checks)
    materials = None
    token = args.token
    if args.script:
        from sealroom.ceremony.loader import load_script

        script = load_script(Path(args.script)).script
        materials = material_refs(script)
        if token is None and script.hsm is not None and not args.rehearsal:
            token = script.hsm.token_label
    printer = None
    if "printer" in checks:
        from sealroom.report.printing import CupsPrinter

        printer = CupsPrinter(args.printer)
    module = args.module or (SOFTHSM_MODULE if args.rehearsal else None)
    preflight = SystemPreflight(
        printer=printer,
        module=module,
        token=token,
        rehearsal=args.rehearsal,
        out_dir=Path(args.out),
    )
    results = preflight.results(checks, materials=materials)
    for result in results:
        sys.stdout.write(result.line() + "\n")
    sys.stdout.flush()
    return EXIT_OK if all(r.passed for r in results) else EXIT_FAILED
