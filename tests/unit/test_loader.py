"""Script loading: every error names file:line and the field path; the shipped script is clean."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sealroom.ceremony.loader import lint_findings, load_script
from sealroom.errors import ScriptError
from tests.fakes import ROOT_SCRIPT

ORIGINAL = ROOT_SCRIPT.read_text()


def _variant(tmp_path: Path, old: str, new: str, count: int = 1) -> Path:
    assert old in ORIGINAL, old
    path = tmp_path / "script.yaml"
    path.write_text(ORIGINAL.replace(old, new, count))
    return path


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_shipped_root_script_is_clean() -> None:
    _doc, script, findings = lint_findings(ROOT_SCRIPT)
    assert findings == []
    assert script is not None
    assert script.ceremony.type == "root-key-generation"
    loaded = load_script(ROOT_SCRIPT)
    assert len(loaded.sha256) == 64


def test_typo_key_is_rejected_with_line_and_path(tmp_path: Path) -> None:
    path = _variant(tmp_path, "  token_label: exr-root-r1", "  token_lable: exr-root-r1")
    _doc, _script, findings = lint_findings(path)
    typo = [f for f in findings if "token_lable" in f.message]
    assert typo, findings
    assert typo[0].position.line == _line_of(path, "token_lable")
    assert "hsm.token_lable: unknown field" in typo[0].message
    assert str(typo[0]).startswith(f"{path}:{typo[0].position.line}:")


def test_missing_role_is_named(tmp_path: Path) -> None:
    path = _variant(tmp_path, "    roles: [internal-witness]", "    roles: [internal-witnes]")
    _doc, _script, findings = lint_findings(path)
    assert [f.rule for f in findings].count("SR-REF-ROLE") == 1
    bad = next(f for f in findings if f.rule == "SR-REF-ROLE")
    # Dan, the internal witness, follows Alice, Bob, Carol and the five backup custodians
    assert "participants[8].roles[0]" in bad.message
    assert "'internal-witnes'" in bad.message
    assert bad.position.line == _line_of(path, "[internal-witnes]")
    # The witness steps now have nobody holding the internal-witness role.
    assert any(f.rule == "SR-QUORUM" for f in findings)


def test_unknown_action(tmp_path: Path) -> None:
    path = _variant(tmp_path, "action: generate-key", "action: make-key")
    _doc, _script, findings = lint_findings(path)
    assert len(findings) == 1
    assert findings[0].position.line == _line_of(path, "make-key")
    assert "'make-key' is not allowed" in findings[0].message
    assert "generate-key" in findings[0].message


def test_impossible_key_size(tmp_path: Path) -> None:
    path = _variant(tmp_path, "algorithm: rsa-4096", "algorithm: rsa-1000")
    _doc, _script, findings = lint_findings(path)
    assert len(findings) == 1
    assert "keys[0].algorithm" in findings[0].message
    assert "rsa-1000" in findings[0].message


def test_references_and_order(tmp_path: Path) -> None:
    path = _variant(
        tmp_path,
        "      key: root-key\n    performer: crypto-officer",
        "      key: other-key\n    performer: crypto-officer",
    )
    _doc, _script, findings = lint_findings(path)
    assert any(f.rule == "SR-REF-KEY" and "other-key" in f.message for f in findings)


def test_sign_before_generate_is_an_order_finding(tmp_path: Path) -> None:
    text = ORIGINAL
    gen_start = text.index("  - id: generate-root-key")
    gen_end = text.index("  - id: check-key-fingerprint")
    sign_start = text.index("  - id: sign-root-certificate")
    sign_end = text.index("  - id: show-root-certificate")
    gen, sign = text[gen_start:gen_end], text[sign_start:sign_end]
    swapped = text[:gen_start] + sign + text[gen_end:sign_start] + gen + text[sign_end:]
    path = tmp_path / "swapped.yaml"
    path.write_text(swapped)
    _doc, _script, findings = lint_findings(path)
    assert any(f.rule == "SR-ORDER" and "not generated" in f.message for f in findings)


def test_duplicate_yaml_key_and_broken_yaml(tmp_path: Path) -> None:
    path = _variant(
        tmp_path, "  token_label: exr-root-r1\n", "  token_label: exr-root-r1\n  token_label: x\n"
    )
    _doc, _script, findings = lint_findings(path)
    assert findings[0].rule == "SR-YAML"
    assert "given twice" in findings[0].message
    broken = tmp_path / "broken.yaml"
    broken.write_text("ceremony: [\n")
    _doc, _script, findings = lint_findings(broken)
    assert findings[0].rule == "SR-YAML"


def test_norway_is_not_false(tmp_path: Path) -> None:
    path = _variant(tmp_path, "country: XX", "country: NO")
    loaded = load_script(path)
    assert loaded.script.certificate("root-certificate").subject.country == "NO"


def test_load_script_raises_one_clear_sentence(tmp_path: Path) -> None:
    path = _variant(tmp_path, "algorithm: rsa-4096", "algorithm: rsa-1000")
    with pytest.raises(ScriptError) as info:
        load_script(path)
    assert str(path) in str(info.value)
    assert "rsa-1000" in str(info.value)


def test_models_are_frozen() -> None:
    script = load_script(ROOT_SCRIPT).script
    with pytest.raises(Exception, match="frozen"):
        script.hsm.token_label = "x"  # type: ignore[misc]


SUB_CA = ROOT_SCRIPT.with_name("subordinate-ca-signing.yaml")
CRL = ROOT_SCRIPT.with_name("crl-issuance.yaml")


def _sub_variant(tmp_path: Path, source: Path, old: str, new: str) -> list[str]:
    text = source.read_text()
    assert old in text, old
    path = tmp_path / source.name
    path.write_text(text.replace(old, new, 1))
    _, _, findings = lint_findings(path)
    # "RULE message" without the field path, which each message starts with
    return [f"{f.rule} {f.message.split(': ', 1)[-1]}" for f in findings]


def test_a_subordinate_certificate_needs_its_request_and_issuer(tmp_path: Path) -> None:
    found = _sub_variant(tmp_path, SUB_CA, "    subject_from: issuing-ca-csr\n", "")
    assert "SR-PROFILE a subordinate-ca certificate needs subject_from (an input of kind csr)" in (
        found
    )


def test_a_subordinate_certificate_never_takes_its_subject_from_the_script(
    tmp_path: Path,
) -> None:
    found = _sub_variant(
        tmp_path,
        SUB_CA,
        "    subject_from: issuing-ca-csr\n",
        "    subject_from: issuing-ca-csr\n    subject: {country: XX, organization: O, "
        "common_name: C}\n",
    )
    assert any(
        f.startswith("SR-PROFILE a subordinate-ca certificate takes its subject") for f in found
    )


def test_a_subordinate_certificate_certifies_a_csr_not_a_certificate(tmp_path: Path) -> None:
    found = _sub_variant(
        tmp_path,
        SUB_CA,
        "    subject_from: issuing-ca-csr\n",
        "    subject_from: root-certificate\n",
    )
    assert (
        "SR-PROFILE a subordinate-ca certificate certifies a csr, but the input "
        "'root-certificate' is a certificate" in found
    )


def test_signing_before_the_request_is_imported_is_an_order_finding(tmp_path: Path) -> None:
    found = _sub_variant(
        tmp_path, SUB_CA, "      input: issuing-ca-csr\n", "      input: root-certificate\n"
    )
    assert "SR-ORDER 'issuing-ca-csr' is neither imported nor issued before this step" in found


def test_exporting_what_was_never_signed_is_an_order_finding(tmp_path: Path) -> None:
    found = _sub_variant(
        tmp_path, SUB_CA, "      artifact: issuing-ca-g1\n", "      artifact: issuing-ca-g2\n"
    )
    assert "SR-ORDER 'issuing-ca-g2' is not produced before this step (export-qr)" in found


def test_a_crl_valid_longer_than_the_profile_allows(tmp_path: Path) -> None:
    found = _sub_variant(
        tmp_path,
        CRL,
        "    next_update: 2028-05-09T09:00:00Z\n",
        "    next_update: 2028-06-09T09:00:00Z\n",
    )
    assert (
        "SR-VALIDITY is 396 days after this_update; the profile allows at most 365 "
        "(max_validity_days)" in found
    )


def test_an_ed25519_key_cannot_sign_under_the_tls_baseline_requirements(tmp_path: Path) -> None:
    text = SUB_CA.read_text().replace("algorithm: rsa-4096", "algorithm: ed25519", 1)
    source = tmp_path / "base.yaml"
    source.write_text(text)
    _, _, findings = lint_findings(source)
    messages = [f"{f.rule} {f.message.split(': ', 1)[-1]}" for f in findings]
    assert (
        "SR-PROFILE the key 'root-key' is Ed25519, which the CA/B Forum TLS Baseline Requirements "
        "do not allow (7.1.3): drop cabf-serverauth or use another key" in messages
    ), messages


def test_a_value_read_as_a_number_is_asked_to_be_quoted(tmp_path: Path) -> None:
    # An all-digit key check value, unquoted, is a YAML integer: the finding says to quote it.
    recovery = ROOT_SCRIPT.with_name("key-recovery.yaml")
    text = recovery.read_text(encoding="utf-8")
    assert 'check_value: "5C1E9B"' in text
    path = tmp_path / "key-recovery.yaml"
    path.write_text(text.replace('check_value: "5C1E9B"', "check_value: 771851"))
    _doc, _script, findings = lint_findings(path)
    bad = [f for f in findings if "check_value" in f.message]
    assert len(bad) == 1 and bad[0].rule == "SR-SCHEMA"
    assert 'was read as a number; write it in quotes, e.g. check_value: "771851"' in bad[0].message
    assert bad[0].position.line == _line_of(path, "check_value: 771851")


def test_a_certificate_may_not_be_called_journal_head(tmp_path: Path) -> None:
    # export-qr's artifact "journal-head" is the journal head, never a certificate of that id.
    path = tmp_path / "script.yaml"
    path.write_text(re.sub(r"(?<!sign-)root-certificate", "journal-head", ORIGINAL))
    _doc, _script, findings = lint_findings(path)
    named = [f for f in findings if "names the journal head" in f.message]
    assert len(named) == 1
    assert named[0].rule == "SR-DUPLICATE"
    assert "certificates[0].id" in str(named[0])
