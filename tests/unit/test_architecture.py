"""The engine runs without the UI or any adapter library loaded (the rules of the house)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import sealroom

APP = Path(sealroom.__file__).resolve().parent


def test_engine_imports_no_ui_hsm_pdf_or_qr_library() -> None:
    code = (
        "import sys\n"
        "import sealroom.ceremony.runner, sealroom.ceremony.loader, sealroom.ceremony.answers\n"
        "libs = ('textual', 'pkcs11', 'reportlab', 'qrcode', 'pyzbar')\n"
        "bad = [m for m in libs if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_every_module_has_a_one_line_docstring() -> None:
    missing = []
    for path in sorted(APP.rglob("*.py")):
        text = path.read_text().lstrip()
        if not text.startswith('"""'):
            missing.append(str(path.relative_to(APP)))
            continue
        first = text[3:].split("\n", 1)[0]
        if not first.strip() or (
            not first.rstrip().endswith('"""') and not first.rstrip().endswith(".")
        ):
            missing.append(str(path.relative_to(APP)))
    assert missing == []
