"""docs/lint-rules.md documents every rule, and its tables are the ones the code uses."""

from __future__ import annotations

import re
from pathlib import Path

from sealroom.ceremony.compliance import ACTION_EVIDENCE, STEP_NEEDS, Need, witnessed_actions
from sealroom.ceremony.compliance import RULES as COMPLIANCE_RULES
from sealroom.ceremony.loader import lint_findings
from sealroom.ceremony.statelint import EVIDENCE_NEEDS
from sealroom.ceremony.statelint import RULES as STATE_RULES

DOC = (Path(__file__).resolve().parents[2] / "docs" / "lint-rules.md").read_text()

SCHEMA_RULES = (
    "SR-READ",
    "SR-YAML",
    "SR-SCHEMA",
    "SR-REF-ROLE",
    "SR-REF-MATERIAL",
    "SR-REF-KEY",
    "SR-REF-CERTIFICATE",
    "SR-REF-CSR",
    "SR-REF-CRL",
    "SR-REF-INPUT",
    "SR-REF-BACKUP",
    "SR-DUPLICATE",
    "SR-ACTION-PARAM",
    "SR-QUORUM",
    "SR-ORDER",
    "SR-VALIDITY",
    "SR-KEY-PURPOSE",
)


def _need(need: Need) -> str:
    parts = []
    if need.actions:
        parts.append(" or ".join(f"`{a}`" for a in sorted(need.actions)))
    if need.evidence:
        parts.append("a step tagged " + " or ".join(f"`{e}`" for e in sorted(need.evidence)))
    if need.entries:
        fields = " or ".join(f"`{e}`" for e in sorted(need.entries))
        parts.append(f"an entry expecting a material's {fields}")
    return f"{need.what}: " + "; ".join(parts)


def type_table() -> str:
    """The per-type table as docs/lint-rules.md shows it."""
    rows = [
        "| ceremony type | steps it needs (C-STEPS) | actions witnessed independently "
        "(C-WITNESS) | evidence its report needs besides the shared set (S-EVIDENCE) |",
        "|---|---|---|---|",
    ]
    for kind, needs in STEP_NEEDS.items():
        witnessed = ", ".join(f"`{a}`" for a in sorted(witnessed_actions(kind)))
        rows.append(
            f"| `{kind}` | "
            + "<br>".join(_need(n) for n in needs)
            + f" | {witnessed} | "
            + ", ".join(EVIDENCE_NEEDS[kind])
            + " |"
        )
    return "\n".join(rows)


def test_every_rule_has_a_section_or_row() -> None:
    for rule in (*COMPLIANCE_RULES, *STATE_RULES):
        assert f"\n### {rule} — " in DOC, rule
    for rule in SCHEMA_RULES:
        assert f"`{rule}`" in DOC, rule


def test_every_rule_section_shows_an_example_finding() -> None:
    for rule in (*COMPLIANCE_RULES, *STATE_RULES):
        section = DOC.split(f"\n### {rule} — ", 1)[1].split("\n### ", 1)[0]
        assert f": {rule} " in section, rule


def test_the_type_table_is_the_code_s() -> None:
    assert type_table() in DOC


def test_the_action_evidence_table_is_the_code_s() -> None:
    for action, evidence in ACTION_EVIDENCE.items():
        assert f"| `{action}` | {', '.join(sorted(evidence))} |" in DOC, action


def test_the_examples_are_real_findings_of_the_corpus() -> None:
    corpus = Path(__file__).resolve().parents[1] / "data" / "broken"
    real: set[str] = set()
    for path in corpus.glob("*.yaml"):
        _doc, _script, findings = lint_findings(path)
        real |= {str(f).replace(str(path), "root.yaml", 1) for f in findings}
    examples = set(re.findall(r"root\.yaml:\d+:\d+: (?:SR|C|S)-[^`\n]*", DOC))
    # Two examples come from outside the corpus: an unreadable file and an incomplete approval.
    outside = {e for e in examples if " SR-READ " in e or "approval.reference" in e}
    assert examples - outside <= real, sorted(examples - outside - real)
