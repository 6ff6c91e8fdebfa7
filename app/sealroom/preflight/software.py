"""The software check: Sealroom and its dependencies are byte for byte the ones the image pinned."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from sealroom.ceremony.preflight import CheckResult
from sealroom.preflight.errors import PreflightError
from sealroom.preflight.manifest import (
    distributions,
    file_sha256,
    require_manifest_object,
)
from sealroom.preflight.system import SystemView
from sealroom.software import software_sha256

SHOWN = 3
"""How many differing files the detail names before it says 'and N more'."""


def software_manifest_path(view: SystemView) -> Path:
    return view.etc / "sealroom" / "software.json"


def _names(items: Sequence[str]) -> str:
    shown = ", ".join(items[:SHOWN])
    return shown if len(items) <= SHOWN else f"{shown} and {len(items) - SHOWN} more"


def software_result(
    view: SystemView,
    *,
    paths: Sequence[str] | None = None,
    sealroom_root: Path | None = None,
) -> CheckResult:
    """PASS when the environment is byte for byte the manifest's.

    Every file the manifest lists hashes as listed, no distribution is missing or added, and the
    Sealroom package hashes to the manifest's ``sealroom_sha256``.
    """
    path = software_manifest_path(view)
    running = software_sha256(sealroom_root)
    facts: dict[str, str | tuple[str, ...]] = {"manifest": str(path), "sealroom_sha256": running}
    text = view.read_text(path)
    if text is None:
        return CheckResult(
            "software",
            False,
            f"no software manifest at {path} (not booted from a Sealroom image); "
            f"Sealroom here is SHA-256 {running}",
            facts,
        )
    try:
        manifest = require_manifest_object(json.loads(text), str(path))
    except ValueError as exc:
        return CheckResult("software", False, f"{path} is not JSON ({exc})", facts)
    except PreflightError as exc:
        return CheckResult("software", False, exc.message, facts)
    problems: list[str] = []
    expected_sealroom = str(manifest.get("sealroom_sha256", ""))
    facts["expected_sealroom_sha256"] = expected_sealroom
    if running != expected_sealroom:
        problems.append(
            f"the Sealroom package hashes to {running}, the manifest says {expected_sealroom}"
        )
    listed = manifest["distributions"]
    assert isinstance(listed, dict)  # noqa: S101 - require_manifest_object checked it
    installed = distributions(paths)
    missing = sorted(set(listed) - set(installed))
    added = sorted(set(installed) - set(listed))
    if missing:
        problems.append(f"distribution missing: {_names(missing)}")
    if added:
        problems.append(f"distribution not in the manifest: {_names(added)}")
    changed: list[str] = []
    count = 0
    for name in sorted(set(listed) & set(installed)):
        entry = listed[name]
        files = entry.get("files", {}) if isinstance(entry, dict) else {}
        dist = installed[name]
        if isinstance(entry, dict) and entry.get("version") != dist.version:
            changed.append(f"{name} version {dist.version} (manifest {entry.get('version')})")
        for listed_name, digest in sorted(files.items()):
            count += 1
            where = Path(str(dist.locate_file(listed_name)))
            try:
                actual = file_sha256(where)
            except OSError:
                changed.append(f"{listed_name} (missing)")
                continue
            if actual != digest:
                changed.append(listed_name)
    if changed:
        problems.append(f"{len(changed)} file(s) differ from the manifest: {_names(changed)}")
    facts["files_checked"] = str(count)
    facts["distributions"] = tuple(sorted(listed))
    if problems:
        return CheckResult("software", False, "; ".join(problems), facts)
    return CheckResult(
        "software",
        True,
        f"Sealroom {running} and {len(listed)} distributions ({count} files) match {path}",
        facts,
    )
