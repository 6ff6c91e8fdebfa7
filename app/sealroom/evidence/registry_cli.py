"""The ``sealroom registry`` commands: build a registry from a journal, pre-fill, check a script."""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

from sealroom.ceremony.loader import lint_findings, load_script
from sealroom.ceremony.registry import Registry, RegistryError, compare_registry, load_registry
from sealroom.ceremony.source import SourceFormatError, read_source
from sealroom.evidence.registry import (
    prefill_script,
    registry_bytes,
    registry_from_journal,
    write_registry,
)
from sealroom.journal.verify import read_verified_entries
from sealroom.outputs import OutputFolder

EXIT_OK = 0
EXIT_MISMATCH = 1
EXIT_UNUSABLE = 2


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _rehearsal_warning(registry: Registry) -> None:
    if registry.ceremony.rehearsal:
        _out(
            f"REHEARSAL: the registry comes from the rehearsal of {registry.ceremony.id}; "
            "never prepare a real ceremony from it."
        )


def add_registry_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """Add ``registry build|prefill|check`` to the CLI's subparsers; each sets ``func``."""
    registry = subparsers.add_parser(
        "registry",
        help="the registry carried from one ceremony to the next (bags, devices, keys, custodians)",
        description="Build the registry a completed ceremony leaves (from its verified "
        "journal), pre-fill the next ceremony's script from it, and check a script against it.",
    )
    commands = registry.add_subparsers(dest="registry_command", required=True, metavar="ACTION")

    build = commands.add_parser(
        "build", help="compute the registry from a verified journal and write it once"
    )
    build.add_argument("journal", metavar="JOURNAL")
    build.add_argument("--out", required=True, metavar="FILE", help="registry to write (new)")
    build.set_defaults(func=cmd_registry_build)

    prefill = commands.add_parser(
        "prefill",
        help="write the next ceremony's script with the materials' bag_in from the registry",
    )
    prefill.add_argument("registry", metavar="REGISTRY")
    prefill.add_argument("script", metavar="SCRIPT")
    prefill.add_argument("--out", required=True, metavar="FILE", help="script to write (new)")
    prefill.set_defaults(func=cmd_registry_prefill)

    check = commands.add_parser(
        "check",
        help="compare a script with the registry (exit 0 matches, 1 mismatches, 2 unusable)",
    )
    check.add_argument("registry", metavar="REGISTRY")
    check.add_argument("script", metavar="SCRIPT")
    check.set_defaults(func=cmd_registry_check)
    return registry


def cmd_registry_build(args: argparse.Namespace) -> int:
    """``sealroom registry build JOURNAL --out FILE``: only a journal that verifies is used."""
    journal = Path(args.journal)
    if not journal.is_file():
        raise RegistryError(f"{journal}: no such journal file.")
    verdict, entries = read_verified_entries(journal)
    registry = registry_from_journal(entries)
    path = write_registry(Path(args.out), registry)
    digest = hashlib.sha256(registry_bytes(registry)).hexdigest()
    present = sum(1 for k in registry.keys if k.state == "present")
    _out(
        f"registry of ceremony {registry.ceremony.id} written to {path}: "
        f"{len(registry.devices)} device(s), {len(registry.bags)} sealed bag(s), "
        f"{present} key(s) present and {len(registry.keys) - present} destroyed, "
        f"{len(registry.custodians)} share set(s)"
    )
    _out(
        f"  from journal {journal} ({verdict.entries} entries, final entry SHA-256 "
        f"{registry.ceremony.journal_final_sha256})"
    )
    _out(f"  registry SHA-256 {digest}")
    if registry.ceremony.rehearsal:
        _out("  REHEARSAL: this registry comes from a rehearsal; never use it for a ceremony.")
    return EXIT_OK


def cmd_registry_prefill(args: argparse.Namespace) -> int:
    """``sealroom registry prefill REGISTRY SCRIPT --out FILE``; SCRIPT itself is not touched."""
    registry = load_registry(Path(args.registry))
    script = Path(args.script)
    try:
        text = script.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RegistryError(f"{script}: cannot read the script as UTF-8 text.") from exc
    result = prefill_script(registry, text)
    _rehearsal_warning(registry)
    out = Path(args.out)
    folder = out.parent if str(out.parent) else Path()
    path = OutputFolder(folder).write_once(out.name, result.text.encode("utf-8"))
    _out(f"{path}: {script} pre-filled from the registry of ceremony {registry.ceremony.id}")
    for change in result.changes:
        _out(f"  changed: {change}")
    for note in result.notes:
        _out(f"  note: {note}")
    if not result.changes:
        _out("  nothing to change: the script already expects what the registry records")
    findings = lint_findings(Path(path))[2]
    if findings:
        _out(
            f"  the written script has {len(findings)} lint finding(s); run 'sealroom lint {path}'"
        )
    else:
        _out("  the written script lints clean")
    return EXIT_OK


def cmd_registry_check(args: argparse.Namespace) -> int:
    """``sealroom registry check REGISTRY SCRIPT``: ``SCRIPT:line: registry: ...`` per mismatch."""
    registry = load_registry(Path(args.registry))
    script_path = Path(args.script)
    loaded = load_script(script_path)
    try:
        doc = read_source(script_path)
    except SourceFormatError:  # load_script read it a moment ago; keep line 1 if not now
        doc = None
    mismatches = compare_registry(registry, loaded.script, token_serial=None, token_keys=None)
    _rehearsal_warning(registry)
    for mismatch in mismatches:
        line = doc.position(mismatch.path).line if doc is not None else 1
        _out(f"{script_path}:{line}: registry: {mismatch.sentence}")
    if mismatches:
        _out(
            f"{script_path}: {len(mismatches)} mismatch(es) with the registry of ceremony "
            f"{registry.ceremony.id}; at the opening each becomes a deviation the room decides"
        )
        return EXIT_MISMATCH
    _out(
        f"{script_path}: matches the registry of ceremony {registry.ceremony.id} "
        f"({len(loaded.script.materials)} material(s) compared; the token is compared at the "
        "opening)"
    )
    return EXIT_OK
