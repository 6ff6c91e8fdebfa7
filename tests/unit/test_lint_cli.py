"""`sealroom lint`: text and JSON output, and exit codes 0 (clean), 1 (findings), 2 (unusable)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sealroom.cli import main
from tests.data.broken.regenerate import base_text

CORPUS = Path(__file__).resolve().parents[1] / "data" / "broken"
FIELDS = {"file", "line", "column", "rule", "kind", "message", "clause", "evidence"}


@pytest.fixture
def clean(tmp_path: Path) -> Path:
    path = tmp_path / "clean.yaml"
    path.write_text(base_text())
    return path


def test_clean_script_exits_0(clean: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", str(clean)]) == 0
    assert capsys.readouterr().out == f"{clean}: ok\n"


def test_clean_script_as_json_is_an_empty_list(
    clean: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["lint", "--format", "json", str(clean)]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_findings_exit_1_and_print_file_line_col_rule_clause(
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = CORPUS / "c-approval.yaml"
    assert main(["lint", str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"{path}:5:1: C-APPROVAL the script records no management approval for the ceremony; "
        "add ceremony.approval (approved_by, role, date, reference) "
        "(WebTrust 4.1.5(b); EV-APPROVAL)"
    ]


def test_json_output_has_every_field(capsys: pytest.CaptureFixture[str]) -> None:
    paths = [CORPUS / "c-materials-no-hsm.yaml", CORPUS / "s-bag-never-resealed.yaml"]
    assert main(["lint", "--format", "json", *map(str, paths)]) == 1
    findings = json.loads(capsys.readouterr().out)
    # neither HSM is an hsm: the ceremony's token and the backup's restore-test token are named
    assert [f["rule"] for f in findings] == [
        "SR-REF-MATERIAL",
        "SR-REF-MATERIAL",
        "C-MATERIALS",
        "S-BAG",
    ]
    for finding in findings:
        assert set(finding) == FIELDS
        assert isinstance(finding["line"], int)
        assert isinstance(finding["column"], int)
    schema, restore_token, compliance, state = findings
    assert schema["kind"] == restore_token["kind"] == "schema"
    assert schema["clause"] is None
    assert "restore_test_token" in restore_token["message"]
    assert compliance == {
        "file": str(paths[0]),
        "line": 113,
        "column": 1,
        "rule": "C-MATERIALS",
        "kind": "compliance",
        "message": "the ceremony uses an HSM but no material of kind hsm is listed; add the HSM "
        "with its model and serial number",
        "clause": "WebTrust 4.1.5(c)",
        "evidence": "EV-MATERIALS",
    }
    assert state["kind"] == "state"
    assert state["evidence"] == "EV-TEB"
    # The message is the sentence alone; clause and evidence are separate fields.
    assert "WebTrust" not in state["message"]


def test_a_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nothing.yaml"
    assert main(["lint", str(missing)]) == 2
    assert f"{missing}:1:1: SR-READ cannot read the file" in capsys.readouterr().out


def test_broken_yaml_exits_2_even_beside_findings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("ceremony: [\n")
    argv = ["lint", "--format", "json", str(CORPUS / "c-cps.yaml"), str(broken)]
    assert main(argv) == 2
    rules = [f["rule"] for f in json.loads(capsys.readouterr().out)]
    assert rules == ["C-CPS", "SR-YAML"]


def test_unknown_format_is_refused(clean: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["lint", "--format", "xml", str(clean)])
    assert info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
