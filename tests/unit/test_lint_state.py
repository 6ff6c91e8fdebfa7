"""State lint and the per-type tables: what a script leaves behind adds up, for every type."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest

from sealroom.ceremony.compliance import RULES as COMPLIANCE_RULES
from sealroom.ceremony.compliance import STEP_NEEDS, witnessed_actions
from sealroom.ceremony.loader import lint_findings
from sealroom.ceremony.script import CeremonyType
from sealroom.ceremony.source import Finding
from sealroom.ceremony.statelint import EVIDENCE_ITEMS, EVIDENCE_NEEDS
from sealroom.ceremony.statelint import RULES as STATE_RULES
from tests.data.broken.regenerate import base_text, insert_before_step

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = sorted(p for p in (REPO / "ceremony_scripts").glob("*.yaml") if "answers" not in p.name)
BASE = base_text()


def _lint(tmp_path: Path, text: str) -> tuple[Path, list[Finding]]:
    path = tmp_path / "script.yaml"
    path.write_text(text)
    _doc, _script, findings = lint_findings(path)
    return path, findings


def _line(path: Path, text: str) -> int:
    lines = path.read_text().splitlines()
    return next(n for n, line in enumerate(lines, 1) if line.startswith(text))


def _replace(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def test_the_corpus_base_is_clean(tmp_path: Path) -> None:
    _path, findings = _lint(tmp_path, BASE)
    assert findings == [], "\n".join(map(str, findings))


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_every_shipped_script_lints_clean(script: Path) -> None:
    _doc, _model, findings = lint_findings(script)
    assert findings == [], "\n".join(map(str, findings))


# ------------------------------------------------------------------------------------- tables


def test_every_ceremony_type_has_its_step_and_evidence_needs() -> None:
    types = set(get_args(CeremonyType))
    assert len(types) == 18  # custodian-change joined the catalogue (13a9a2d)
    assert set(STEP_NEEDS) == types
    assert set(EVIDENCE_NEEDS) == types
    for needs in EVIDENCE_NEEDS.values():
        assert set(needs) <= set(EVIDENCE_ITEMS)
    for needs in STEP_NEEDS.values():
        for need in needs:
            assert need.actions or need.evidence or need.entries, need


def test_independent_witnessing_by_type() -> None:
    assert "generate-key" in witnessed_actions("root-key-generation")
    assert "zeroise-token" in witnessed_actions("key-destruction")
    assert "recover-key" in witnessed_actions("key-migration")
    assert "zeroise-token" not in witnessed_actions("hsm-initialisation")
    assert "destroy-key" in witnessed_actions("key-compromise-response")


def test_rule_ids_are_prefixed_by_their_kind() -> None:
    assert all(rule.startswith("C-") for rule in COMPLIANCE_RULES)
    assert all(rule.startswith("S-") for rule in STATE_RULES)


# ---------------------------------------------------------------------------------- S- rules


def test_parked_key_must_be_marked_as_parked(tmp_path: Path) -> None:
    text = _replace(BASE, "  type: root-key-generation", "  type: parked-key-generation")
    path, findings = _lint(tmp_path, text)
    assert [(f.rule, f.evidence) for f in findings] == [("S-EVIDENCE", "EV-KEY-PARKED")]
    assert findings[0].position.line == _line(path, "steps:")
    assert findings[0].kind == "state"
    assert findings[0].clause == "MRSP 3.1.3"


def test_the_first_act_is_the_opening(tmp_path: Path) -> None:
    text = _replace(
        BASE,
        "  - id: opening\n    title: Opening\n  - id: key-generation\n",
        "  - id: key-generation\n    title: Key generation, certificate and backup\n"
        "  - id: opening\n    title: Opening\n  - id: key-gen-spare\n",
    )
    text = _replace(
        text, "  - id: key-gen-spare\n    title: Key generation, certificate and backup\n", ""
    )
    path, findings = _lint(tmp_path, text)
    acts = [f for f in findings if f.rule == "S-ACTS"]
    assert any(
        "first act must be 'opening'" in f.message
        and f.position.line == _line(path, "  - id: key-generation")
        for f in acts
    ), acts


def test_the_last_act_is_the_closing(tmp_path: Path) -> None:
    text = _replace(
        BASE,
        "  - id: closing\n    title: Closing\n",
        "  - id: closing\n    title: Closing\n  - id: aftermath\n    title: Aftermath\n",
    )
    text = text.rstrip("\n") + (
        "\n  - id: tidy-up\n    act: aftermath\n    kind: acknowledge\n    title: Tidy up\n"
        "    instruction: Tidy the room.\n    performer: administrator\n"
    )
    path, findings = _lint(tmp_path, text)
    assert [f.rule for f in findings] == ["S-ACTS"]
    assert "last act must be 'closing'" in findings[0].message
    assert findings[0].position.line == _line(path, "  - id: aftermath")


def test_sign_off_outside_the_closing(tmp_path: Path) -> None:
    text = _replace(
        BASE,
        "    act: closing\n    kind: sign-off\n",
        "    act: export\n    kind: sign-off\n",
    )
    _path, findings = _lint(tmp_path, text)
    assert any("belongs in the 'closing' act" in f.message for f in findings), findings


def test_a_quorum_of_one_is_not_multi_person_control(tmp_path: Path) -> None:
    text = _replace(
        BASE,
        "\nquorums:\n",
        "\nquorums:\n  - id: activation\n    role: crypto-officer\n    threshold: 1\n"
        "    purpose: Activate the HSM\n",
    )
    path, findings = _lint(tmp_path, text)
    assert [(f.rule, f.position.line) for f in findings] == [
        ("S-QUORUM", _line(path, "    threshold: 1"))
    ]


def test_one_item_in_two_places(tmp_path: Path) -> None:
    text = _replace(
        BASE,
        "\ndeviations:\n",
        "  - item: printer\n    location: Store room\n    holder: alice\n\ndeviations:\n",
    )
    _path, findings = _lint(tmp_path, text)
    assert [f.rule for f in findings] == ["S-CUSTODY"]
    assert "given a place twice" in findings[0].message


def test_destroying_a_key_with_its_label_in_the_words_is_clean(tmp_path: Path) -> None:
    text = _replace(
        BASE,
        "\ncertificates:\n",
        "  - id: test-key\n    label: exr-test-2026\n    algorithm: ec-p256\n"
        "    purpose: [certificate-signing]\n\ncertificates:\n",
    )
    text = insert_before_step(
        text,
        "sign-root-certificate",
        "  - id: generate-test-key\n    act: key-generation\n    kind: action\n"
        "    title: Generate a test key\n    instruction: The HSM makes a test key.\n"
        "    action: generate-key\n    params:\n      key: test-key\n"
        "    performer: crypto-officer\n    witnesses: [auditor]\n"
        "  - id: destroy-test-key\n    act: key-generation\n    kind: action\n"
        "    title: Destroy the test key\n    instruction: The HSM destroys the test key.\n"
        "    action: destroy-key\n    params:\n      key: test-key\n"
        "    confirm: destroy exr-test-2026\n"
        "    performer: crypto-officer\n    witnesses: [internal-witness]\n",
    )
    path, findings = _lint(tmp_path, text)
    # The words are right; only the missing independent witness of the destruction is reported.
    assert [f.rule for f in findings] == ["C-WITNESS"]
    assert findings[0].position.line == _line(path, "    confirm: destroy exr-test-2026") + 2


def test_a_csr_needs_a_certificate_signing_key(tmp_path: Path) -> None:
    text = _replace(BASE, "[certificate-signing, crl-signing]", "[certificate-signing]")
    text = _replace(
        text,
        "  - id: root-key\n",
        "  - id: crl-key\n    label: exr-crl-2026\n    algorithm: ec-p256\n"
        "    purpose: [crl-signing]\n  - id: root-key\n",
    )
    text = _replace(
        text,
        "\nevidence:\n",
        "csrs:\n  - id: cross-csr\n    key: crl-key\n    subject:\n      country: XX\n"
        "      organization: Example Trust Services\n      common_name: Example Root CA R1\n"
        "    output: root.csr.pem\n\nevidence:\n",
    )
    path, findings = _lint(tmp_path, text)
    assert [(f.rule, f.position.line) for f in findings] == [
        ("S-KEY-USE", _line(path, "    key: crl-key"))
    ]


def test_an_ed25519_key_to_back_up_is_refused_before_the_day(tmp_path: Path) -> None:
    """SoftHSM 2.6.1 cannot wrap Ed25519: lint says so, not backup-key in the middle of the room."""
    text = _replace(BASE, "    algorithm: rsa-4096\n", "    algorithm: ed25519\n")
    path, findings = _lint(tmp_path, text)
    refused = [f for f in findings if f.rule == "S-KEY-USE"]
    assert [(f.position.line, f.evidence, f.clause) for f in refused] == [
        (_line(path, "    backup: true"), "EV-BACKUP", "WebTrust 4.2.3")
    ], "\n".join(map(str, findings))
    assert "keys[0] (root-key) is ed25519 with backup: true" in refused[0].message
    assert "cannot wrap an Ed25519 key" in refused[0].message


def test_an_ed25519_key_not_backed_up_is_not_refused_for_wrapping(tmp_path: Path) -> None:
    text = _replace(BASE, "    algorithm: rsa-4096\n", "    algorithm: ed25519\n")
    text = _replace(text, "    backup: true\n", "    backup: false\n")
    _path, findings = _lint(tmp_path, text)
    assert not any("cannot wrap" in f.message for f in findings), findings
