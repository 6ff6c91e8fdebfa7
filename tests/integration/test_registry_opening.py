"""The registry of a rehearsed root ceremony, compared at the opening of the next ceremony."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ROOT = REPO / "ceremony_scripts" / "root-key-generation.yaml"
SUB = REPO / "ceremony_scripts" / "subordinate-ca-signing.yaml"
SEALROOM = str(Path(sys.executable).with_name("sealroom"))

pytestmark = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="needs poppler-utils (pdftotext)"
)


def sealroom(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SOFTHSM2_CONF"}
    result = subprocess.run(
        [SEALROOM, *args], capture_output=True, text=True, timeout=300, env=env, check=False
    )
    assert "Traceback" not in result.stdout + result.stderr
    return result


def events(journal: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in journal.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("root")
    assert sealroom("rehearse", "--out", str(folder / "out"), str(ROOT)).returncode == 0
    path = folder / "registry.json"
    built = sealroom("registry", "build", str(folder / "out" / "journal.jsonl"), "--out", str(path))
    assert built.returncode == 0, built.stderr
    return path


def test_a_prefilled_script_opens_with_no_registry_mismatch(registry: Path, tmp_path: Path) -> None:
    script = tmp_path / "sub.yaml"
    assert (
        sealroom("registry", "prefill", str(registry), str(SUB), "--out", str(script)).returncode
        == 0
    )
    result = sealroom("registry", "check", str(registry), str(script))
    assert result.returncode == 0, result.stdout + result.stderr


def test_each_mismatch_at_the_opening_is_a_deviation_the_room_decides(
    registry: Path, tmp_path: Path
) -> None:
    # The catalogue's sub-CA script was written with other bag serials than the root rehearsal
    # sealed: two mismatches. The room proceeds, recording each as a deviation.
    script = tmp_path / "sub.yaml"
    shutil.copy(SUB, script)
    answers = SUB.with_name("subordinate-ca-signing.answers.yaml").read_text(encoding="utf-8")
    answers = answers.replace(
        "    witnesses: {auditor: erin}\n  clock:",
        "    witnesses: {auditor: erin}\n"
        "    on_failure: {decision: proceed, decided_by: alice, note: bags checked by hand}\n"
        "  clock:",
        1,
    )
    (tmp_path / "sub.answers.yaml").write_text(answers, encoding="utf-8")
    out = tmp_path / "out"
    result = sealroom("rehearse", "--registry", str(registry), "--out", str(out), str(script))
    assert result.returncode == 0, result.stdout + result.stderr
    journal = events(out / "journal.jsonl")
    compared = next(e for e in journal if e["event"] == "registry.compared")
    data = compared["data"]
    assert isinstance(data, dict)
    assert data["registry_ceremony_id"] == "EXR-RKG-2026-11"
    assert data["token_compared"] is False  # a rehearsal's throwaway token stands in
    subjects = [m["subject"] for m in data["mismatches"]]
    assert len(subjects) == 2
    deviations = [e for e in journal if e["event"] == "deviation.recorded"]
    assert [d["step"] for d in deviations] == ["attendance", "attendance"]
    assert all(d["data"]["decision"] == "proceed" for d in deviations)  # type: ignore[index]
    assert [d["actors"][0]["participant"] for d in deviations] == ["alice", "alice"]  # type: ignore[index]
    assert "TEB-100301" in deviations[0]["data"]["expected"]  # type: ignore[index]
    text = subprocess.run(
        ["pdftotext", "-layout", str(out / "report.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "TEB-100301" in text and "registry" in text.lower()
    raw = subprocess.run(
        ["pdftotext", str(out / "report.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = " ".join(raw.split())
    assert "Registry of the previous ceremony" in flat
    assert "2 mismatch(es), each decided as a deviation" in flat
    # The printer the opening checked is shown as a material (EV-MATERIALS).
    assert "checked at the opening" in flat and "present and accepting jobs" in flat


def test_without_a_decision_a_mismatch_stops_the_ceremony_at_attendance(
    registry: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = sealroom("rehearse", "--registry", str(registry), "--out", str(out), str(SUB))
    assert result.returncode != 0
    assert "Registry of EXR-RKG-2026-11" in result.stdout + result.stderr
    journal = events(out / "journal.jsonl")
    aborted = journal[-2] if journal[-1]["event"] == "journal.checkpoint" else journal[-1]
    assert aborted["event"] == "ceremony.aborted"
    assert aborted["step"] == "attendance"


def test_a_malformed_registry_is_refused_with_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "registry.json"
    bad.write_text('{\n  "sealroom_registry": 1,\n  "ceremony": 7\n}\n', encoding="utf-8")
    result = sealroom("rehearse", "--registry", str(bad), "--out", str(tmp_path / "o"), str(SUB))
    assert result.returncode == 2
    assert str(bad) in result.stderr and "ceremony" in result.stderr
