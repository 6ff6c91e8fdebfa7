"""Compliance lint: each WebTrust 4.1.5 (a)-(h) element removed from the root script is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from sealroom.ceremony.loader import lint_findings, load_script
from sealroom.ceremony.source import Finding
from sealroom.errors import ScriptError
from tests.fakes import ROOT_SCRIPT

ORIGINAL = ROOT_SCRIPT.read_text()


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "root.yaml"
    path.write_text(text)
    return path


def _without(text: str, old: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, "")


def _section(text: str, start: str, end: str) -> str:
    """``text`` without the lines from ``start`` up to (not including) ``end``."""
    first = text.index(start)
    return text[:first] + text[text.index(end, first) :]


def _step(text: str, step_id: str) -> str:
    """``text`` without the step ``step_id``."""
    start = text.index(f"  - id: {step_id}\n", text.index("\nsteps:\n"))
    end = text.find("\n  - id: ", start + 1)
    return text[:start] + (text[end + 1 :] if end != -1 else "")


def _line(path: Path, text: str, after: str = "") -> int:
    """The first line starting with ``text`` (after the first line starting with ``after``)."""
    lines = path.read_text().splitlines()
    start = next(n for n, line in enumerate(lines, 1) if line.startswith(after)) if after else 0
    return next(n for n, line in enumerate(lines, 1) if n > start and line.startswith(text))


def _findings(path: Path) -> list[Finding]:
    _doc, _script, findings = lint_findings(path)
    return findings


def _assert_finding(path: Path, rule: str, line_text: str, after: str = "") -> Finding:
    findings = _findings(path)
    line = _line(path, line_text, after)
    matching = [f for f in findings if f.rule == rule and f.position.line == line]
    assert matching, "\n".join(str(f) for f in findings)
    return matching[0]


def test_the_reference_root_script_lints_clean() -> None:
    findings = _findings(ROOT_SCRIPT)
    assert findings == [], "\n".join(str(f) for f in findings)


# --------------------------------------------------------------- WebTrust 4.1.5 (a) to (h)


def test_a_role_without_after_duties(tmp_path: Path) -> None:
    text = _without(ORIGINAL, "    after: Holds the HSM safe key; never alone with the HSM.\n")
    finding = _assert_finding(_write(tmp_path, text), "C-ROLES", "  - id: crypto-officer")
    assert finding.clause == "WebTrust 4.1.5(a)"
    assert finding.evidence == "EV-ROLES"
    assert finding.kind == "compliance"
    assert str(finding).endswith("(WebTrust 4.1.5(a); EV-ROLES)")
    assert "roles[1] (crypto-officer)" in finding.message


def test_a_role_without_duties(tmp_path: Path) -> None:
    text = _without(
        ORIGINAL, "    duties: Observes every step and confirms the values shown on screen.\n"
    )
    finding = _assert_finding(_write(tmp_path, text), "C-ROLES", "  - id: internal-witness")
    assert "roles[3].duties" in finding.message  # administrator, crypto-officer, custodian first
    assert finding.clause == "WebTrust 4.1.5(a)"


def test_a_no_roles_section(tmp_path: Path) -> None:
    text = _section(ORIGINAL, "roles:\n  - id: administrator", "participants:\n")
    _assert_finding(_write(tmp_path, text), "C-ROLES", "ceremony:")


def test_b_no_approval(tmp_path: Path) -> None:
    text = _section(ORIGINAL, "  approval:\n", "\nroles:\n")
    finding = _assert_finding(_write(tmp_path, text), "C-APPROVAL", "ceremony:")
    assert str(finding).endswith("(WebTrust 4.1.5(b); EV-APPROVAL)")
    assert "ceremony.approval" in finding.message


def test_c_no_materials(tmp_path: Path) -> None:
    text = _section(ORIGINAL, "materials:\n", "hsm:\n")
    finding = _assert_finding(_write(tmp_path, text), "C-MATERIALS", "ceremony:")
    assert finding.clause == "WebTrust 4.1.5(c)"


def test_d_no_key_generation_step(tmp_path: Path) -> None:
    text = _step(ORIGINAL, "generate-root-key")
    finding = _assert_finding(_write(tmp_path, text), "C-STEPS", "steps:")
    assert "generate-key" in finding.message
    assert finding.clause == "WebTrust 4.1.5(d)"


def test_d_no_certificate_signing_step(tmp_path: Path) -> None:
    text = _step(_step(ORIGINAL, "sign-root-certificate"), "show-root-certificate")
    finding = _assert_finding(_write(tmp_path, text), "C-STEPS", "steps:")
    assert "sign-root-certificate" in finding.message


def test_e_no_physical_security(tmp_path: Path) -> None:
    text = _section(ORIGINAL, "    physical_security:\n", "  approval:\n")
    finding = _assert_finding(_write(tmp_path, text), "C-PHYSICAL", "  location:")
    assert finding.clause == "WebTrust 4.1.5(e)"


def test_f_no_custody(tmp_path: Path) -> None:
    text = _section(ORIGINAL, "custody:\n  - item: hsm", "deviations:\n")
    finding = _assert_finding(_write(tmp_path, text), "C-CUSTODY", "ceremony:")
    assert finding.clause == "WebTrust 4.1.5(f)"
    # The missing section is reported once, not once per material.
    assert not [f for f in _findings(_write(tmp_path, text)) if f.rule == "S-CUSTODY"]


def test_g_no_sign_off_step(tmp_path: Path) -> None:
    text = _step(ORIGINAL, "sign-off")
    finding = _assert_finding(_write(tmp_path, text), "C-SIGNOFF", "steps:")
    assert finding.clause == "WebTrust 4.1.5(g)"


def test_h_no_deviations_policy(tmp_path: Path) -> None:
    text = _section(ORIGINAL, "deviations:\n", "acts:\n")
    finding = _assert_finding(_write(tmp_path, text), "C-DEVIATIONS", "ceremony:")
    assert finding.clause == "WebTrust 4.1.5(h)"
    assert finding.evidence == "EV-DEVIATION"


# ------------------------------------------------------------------- clauses by ceremony type


@pytest.mark.parametrize(
    ("ceremony_type", "clause"),
    [
        ("key-destruction", "WebTrust 4.6.8(b)"),
        ("key-migration", "WebTrust 4.11.4(b)"),
        ("parked-key-generation", "WebTrust 4.1.5(b)"),
    ],
)
def test_the_clause_follows_the_ceremony_type(
    tmp_path: Path, ceremony_type: str, clause: str
) -> None:
    text = _section(ORIGINAL, "  approval:\n", "\nroles:\n")
    text = text.replace("  type: root-key-generation", f"  type: {ceremony_type}")
    finding = _assert_finding(_write(tmp_path, text), "C-APPROVAL", "ceremony:")
    assert finding.clause == clause


def test_destruction_needs_a_destroying_step_and_cites_4_6_8(tmp_path: Path) -> None:
    text = ORIGINAL.replace("  type: root-key-generation", "  type: key-destruction")
    findings = [f for f in _findings(_write(tmp_path, text)) if f.rule == "C-STEPS"]
    assert any("destroy-key or zeroise-token" in f.message for f in findings), findings
    assert {f.clause for f in findings} == {"WebTrust 4.6.8(d)"}


def test_an_incomplete_approval_is_a_compliance_finding(tmp_path: Path) -> None:
    text = _without(ORIGINAL, "    reference: ETS-MGMT-2026-117\n")
    finding = _assert_finding(_write(tmp_path, text), "C-APPROVAL", "  approval:")
    assert "ceremony.approval.reference: required field is missing" in finding.message


# ------------------------------------------------------------------------ the other C- rules


def test_witness_must_be_independent(tmp_path: Path) -> None:
    old = "    action: generate-key\n    params:\n      key: root-key\n"
    old += "    performer: crypto-officer\n"
    assert old in ORIGINAL
    text = ORIGINAL.replace(
        old + "    witnesses: [internal-witness, auditor]\n",
        old + "    witnesses: [internal-witness]\n",
    )
    path = _write(tmp_path, text)
    finding = _assert_finding(
        path, "C-WITNESS", "    witnesses: [internal-witness]", after="  - id: generate-root-key"
    )
    assert finding.clause == "WebTrust 4.1.4, BR 6.1.1.1(2)"
    assert "auditor" in finding.message


def test_cps_objectives_clock_integrity_report(tmp_path: Path) -> None:
    text = _section(ORIGINAL, "  cps:\n", "  location:\n")
    text = _section(text, "  objectives:\n", "  location:\n")
    text = _step(_step(text, "clock"), "print-report")
    text = _without(text, "    evidence: [EV-INTEGRITY]\n")
    path = _write(tmp_path, text)
    rules = {f.rule: f for f in _findings(path)}
    assert rules["C-CPS"].position.line == _line(path, "ceremony:")
    assert rules["C-OBJECTIVES"].position.line == _line(path, "ceremony:")
    for rule in ("C-CLOCK", "C-INTEGRITY", "C-REPORT"):
        assert rules[rule].position.line == _line(path, "steps:"), rule
    assert rules["C-CLOCK"].evidence == "EV-CLOCK"
    # The evidence those steps would have produced is not reported a second time.
    assert "S-EVIDENCE" not in rules


def test_load_script_refuses_a_script_with_compliance_findings(tmp_path: Path) -> None:
    path = _write(tmp_path, _section(ORIGINAL, "  approval:\n", "\nroles:\n"))
    with pytest.raises(ScriptError) as info:
        load_script(path)
    assert "C-APPROVAL" in str(info.value)
    assert "WebTrust 4.1.5(b)" in str(info.value)
