"""The broken-script corpus: each file yields exactly the findings its `# expect:` lines name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sealroom.ceremony.loader import lint_findings

CORPUS = Path(__file__).resolve().parents[1] / "data" / "broken"
FILES = sorted(CORPUS.glob("*.yaml"))
EXPECT = re.compile(r"^# expect: (?P<rule>[A-Z][A-Z0-9-]+) line (?P<line>\d+)$")


def expected(path: Path) -> list[tuple[str, int]]:
    """The `# expect:` lines at the top of the file, as (rule, line)."""
    found: list[tuple[str, int]] = []
    for text in path.read_text().splitlines():
        match = EXPECT.match(text)
        if match is None:
            break
        found.append((match["rule"], int(match["line"])))
    return sorted(found)


def test_the_corpus_is_large_and_every_file_states_its_expectation() -> None:
    assert len(FILES) >= 40
    for path in FILES:
        assert path.read_text().startswith("# expect: "), path.name
        assert expected(path), path.name


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_broken_script_yields_exactly_the_expected_findings(path: Path) -> None:
    _doc, _script, findings = lint_findings(path)
    got = sorted((f.rule, f.position.line) for f in findings)
    assert got == expected(path), "\n".join(str(f) for f in findings)


def test_every_rule_family_is_covered_by_the_corpus() -> None:
    rules = {rule for path in FILES for rule, _line in expected(path)}
    wanted = {
        "SR-YAML",
        "SR-SCHEMA",
        "SR-REF-ROLE",
        "SR-REF-MATERIAL",
        "SR-REF-KEY",
        "SR-DUPLICATE",
        "SR-ACTION-PARAM",
        "SR-QUORUM",
        "SR-ORDER",
        "SR-VALIDITY",
        "SR-KEY-PURPOSE",
        "C-ROLES",
        "C-APPROVAL",
        "C-MATERIALS",
        "C-STEPS",
        "C-PHYSICAL",
        "C-CUSTODY",
        "C-SIGNOFF",
        "C-DEVIATIONS",
        "C-WITNESS",
        "C-CPS",
        "C-OBJECTIVES",
        "C-CLOCK",
        "C-INTEGRITY",
        "C-TEB",
        "C-REPORT",
        "S-BAG",
        "S-CUSTODY",
        "S-QUORUM",
        "S-CONFIRM",
        "S-KEY-USE",
        "S-EVIDENCE",
        "S-ACTS",
    }
    assert wanted <= rules, sorted(wanted - rules)
