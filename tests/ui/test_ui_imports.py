"""The UI depends only on the engine, the error tree and the QR transfer code (never an adapter)."""

from __future__ import annotations

import ast
from pathlib import Path

import sealroom.ui

ALLOWED = (
    "sealroom.ceremony",
    "sealroom.errors",
    "sealroom.transfer",
    "sealroom.ui",
    "sealroom.backup.entry",  # positions, counts and checksum of a share being typed; no word
)


def test_the_ui_imports_only_the_engine_errors_and_transfer() -> None:
    package = Path(sealroom.ui.__file__).parent
    found: dict[str, set[str]] = {}
    for module in sorted(package.glob("*.py")):
        for node in ast.walk(ast.parse(module.read_text(), str(module))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                if name == "sealroom" or name.startswith("sealroom."):
                    found.setdefault(name, set()).add(module.name)
    assert found, "the scan found no sealroom imports at all"
    wrong = {name: files for name, files in found.items() if not name.startswith(ALLOWED)}
    assert not wrong, f"the UI imports outside {ALLOWED}: {wrong}"


def test_every_ui_module_opens_with_a_one_line_docstring() -> None:
    package = Path(sealroom.ui.__file__).parent
    for module in sorted(package.glob("*.py")):
        doc = ast.get_docstring(ast.parse(module.read_text()))
        assert doc, f"{module.name} has no module docstring"
        assert doc.splitlines()[0].strip(), f"{module.name}: the docstring's first line is empty"
