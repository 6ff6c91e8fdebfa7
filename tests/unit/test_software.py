"""The software identity shown at integrity checks: reproducible, and sensitive to any byte."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import sealroom
from sealroom.software import software_sha256
from tests.fakes import ScriptedOperator, fake_world

PACKAGE = Path(sealroom.__file__).resolve().parent


def test_digest_follows_the_documented_construction(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "a.py").write_bytes(b"x = 1\n")
    (tmp_path / "b" / "c.txt").write_bytes(b"")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "a.pyc").write_bytes(b"ignored")
    expected = hashlib.sha256()
    for name, data in ((b"a.py", b"x = 1\n"), (b"b/c.txt", b"")):
        expected.update(len(name).to_bytes(4, "big") + name + len(data).to_bytes(8, "big") + data)
    assert software_sha256(tmp_path) == expected.hexdigest()


def test_one_changed_byte_changes_the_digest(tmp_path: Path) -> None:
    copy = tmp_path / "sealroom"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    before = software_sha256(copy)
    assert before == software_sha256(PACKAGE)
    target = copy / "errors.py"
    target.write_bytes(target.read_bytes().replace(b"exit_code = 2", b"exit_code = 3"))
    assert software_sha256(copy) != before


def test_integrity_steps_show_the_software_digest_and_it_is_journaled() -> None:
    world = fake_world()
    world.runner.ports = type(world.runner.ports)(
        **{**world.runner.ports.__dict__, "software_sha256": "ab" * 32}
    )
    seen = []

    class Watching(ScriptedOperator):
        def acknowledge(self, view):  # type: ignore[no-untyped-def]
            if "EV-INTEGRITY" in view.step.evidence:
                seen.extend(view.facts)
            return super().acknowledge(view)

    world.runner.run(Watching(world.runner.script))
    assert [f.label for f in seen] == ["Sealroom 0.1.0 software SHA-256"]
    assert seen[0].value.startswith("ABAB ABAB")
    opened = world.journal.entries[0]
    assert opened["data"]["software"]["sha256"] == "ab" * 32  # type: ignore[index,call-overload]
