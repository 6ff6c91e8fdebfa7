"""Script worksheet: the witness's copy names the script on every page, with room to write."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_report_sample import sample_script, sample_script_data

from sealroom.ceremony.fingerprint import pgp_words
from sealroom.ceremony.loader import LoadedScript, load_script
from sealroom.ceremony.script import BreakStep, ConfirmStep, EntryStep, Script
from sealroom.errors import ScriptError
from sealroom.report.layout import MARGIN_X, PAGE_HEIGHT, PAGE_WIDTH
from sealroom.report.worksheet import DEVIATION_SHEETS, render_worksheet

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted(p for p in (ROOT / "ceremony_scripts").glob("*.yaml") if ".answers." not in p.name)

needs_poppler = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) is not installed"
)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> LoadedScript:
    """The sample script: the reference plus a break, a typed confirmation and a photo step."""
    return sample_script(tmp_path_factory.mktemp("worksheet"))


_RENDERED: dict[str, bytes] = {}


def _pdf(loaded: LoadedScript) -> bytes:
    """The worksheet of ``loaded``, rendered once per script hash."""
    if loaded.sha256 not in _RENDERED:
        _RENDERED[loaded.sha256] = render_worksheet(loaded)
    return _RENDERED[loaded.sha256]


def unlinted(data: dict[str, Any], name: str = "variant.yaml") -> LoadedScript:
    """A script value that skips lint, to show the worksheet copes with what lint would refuse."""
    text = yaml.safe_dump(data, sort_keys=False)
    script = Script.model_validate(yaml.safe_load(text))
    return LoadedScript(script, Path(name), text, hashlib.sha256(text.encode()).hexdigest())


def written(pdf: bytes, directory: Path, name: str = "worksheet.pdf") -> Path:
    path = directory / name
    path.write_bytes(pdf)
    return path


def pdf_text(pdf: Path, page: int | None = None) -> str:
    pages = ["-f", str(page), "-l", str(page)] if page else []
    return subprocess.run(
        ["pdftotext", *pages, str(pdf), "-"], capture_output=True, check=True, text=True
    ).stdout


def header_row(pdf: Path, page: int, *cells: str) -> bool:
    """Whether ``cells`` stand side by side, in order, on one line of ``page`` (a table header)."""
    text = subprocess.run(
        ["pdftotext", "-layout", "-f", str(page), "-l", str(page), str(pdf), "-"],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    pattern = r"\s{2,}".join(re.escape(c) for c in cells)
    return re.search(pattern, text) is not None


def pages_of(pdf: bytes) -> int:
    return len(re.findall(rb"/Type /Page\b", pdf))


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


def test_the_same_script_gives_the_same_bytes(loaded: LoadedScript) -> None:
    first = render_worksheet(loaded)
    assert first.startswith(b"%PDF-")
    assert first == render_worksheet(loaded)
    data = sample_script_data()
    data["ceremony"]["title"] += " (second copy)"
    assert render_worksheet(unlinted(data)) != first


@needs_poppler
def test_every_page_names_the_ceremony_the_script_and_its_hash(
    loaded: LoadedScript, tmp_path: Path
) -> None:
    data = _pdf(loaded)
    pdf = written(data, tmp_path)
    total = pages_of(data)
    assert total >= 8
    words = pgp_words(bytes.fromhex(loaded.sha256))
    for number in range(1, total + 1):
        page = pdf_text(pdf, number)
        flat = squeeze(page)
        assert loaded.script.ceremony.id in page, number
        assert squeeze(loaded.path.name) in flat, number
        assert loaded.sha256 in flat, f"page {number} lacks the script's SHA-256"
        assert f"Page {number} of {total}" in page
        assert (squeeze(words) in flat) == (number == 1), "PGP words belong on page 1 only"


@needs_poppler
def test_the_first_page_holds_identity_approval_and_sign_in_the_second_the_materials(
    loaded: LoadedScript, tmp_path: Path
) -> None:
    """Ten people sign in (five of them custodians of the root key's backup): the sign-in fills
    page 1 and the materials table starts whole at the top of page 2, never split over pages."""
    pdf = written(_pdf(loaded), tmp_path)
    first = squeeze(pdf_text(pdf, 1))
    second = squeeze(pdf_text(pdf, 2))
    script = loaded.script
    approval = script.ceremony.approval
    assert approval is not None
    assert len(script.participants) == 10
    for text in (
        "Ceremony script worksheet",
        approval.approved_by,
        approval.reference,
        script.ceremony.location.room,
        "Participant sign-in",
    ):
        assert squeeze(text) in first, text
    assert header_row(pdf, 1, "Name", "Role", "Signature", "Time in", "Time out")
    for participant in script.participants:
        assert squeeze(participant.name) in first, participant.name
    assert squeeze("Materials and tamper-evident bags") not in first
    assert squeeze("Materials and tamper-evident bags") in second
    assert header_row(pdf, 2, "Material", "Serial", "Bag in", "Bag out", "Checked")
    for material in script.materials:
        for value in (material.serial, material.bag_in, material.bag_out):
            if value:
                assert value.lower() in second, value


@needs_poppler
def test_every_step_is_there_with_what_to_compare_type_or_expect(
    loaded: LoadedScript, tmp_path: Path
) -> None:
    pdf = written(_pdf(loaded), tmp_path)
    flat = squeeze(pdf_text(pdf))
    script = loaded.script
    steps_pages = [n for n in range(1, pages_of(_pdf(loaded)) + 1) if "Act " in pdf_text(pdf, n)]
    assert steps_pages
    for number in steps_pages:
        assert header_row(pdf, number, "Step", "Activity", "Initial", "Time")
    for number, act in enumerate(script.acts, start=1):
        assert squeeze(f"Act {number}: {act.title}") in flat
    for step in script.steps:
        assert squeeze(step.title) in flat, step.title
        assert squeeze(step.instruction) in flat, step.id
        if isinstance(step, EntryStep) and step.entry.expect is not None:
            material = script.material(step.entry.expect.material)
            expected = getattr(material, step.entry.expect.field)
            assert squeeze(f"Expected: {expected}") in flat, step.id
        if isinstance(step, ConfirmStep):
            assert squeeze(step.words) in flat
    confirm = [s.confirm for s in script.steps if getattr(s, "confirm", None)]
    assert confirm and all(squeeze(f"types exactly: {w}") in flat for w in confirm)
    for item in script.evidence:
        assert squeeze(f"{item.id} {item.description}") in flat
    roles = {r.id: r.name for r in script.roles}
    assert squeeze(f"Performed by {roles['crypto-officer']}: Bob Okafor or Carol Nguyen") in flat


@needs_poppler
def test_break_log_deviation_sheets_and_sign_off_follow_the_steps(
    loaded: LoadedScript, tmp_path: Path
) -> None:
    data = _pdf(loaded)
    pdf = written(data, tmp_path)
    total = pages_of(data)
    texts = [squeeze(pdf_text(pdf, n)) for n in range(1, total + 1)]
    script = loaded.script
    log = next(i for i, t in enumerate(texts) if squeeze("Break log For every break") in t)
    breaks = [(n, s) for n, s in enumerate(script.steps, start=1) if isinstance(s, BreakStep)]
    assert breaks
    for number, step in breaks:
        assert squeeze(f"Step {number} {step.title}") in texts[log]
        for material_id in step.recheck_bags:
            material = script.material(material_id)
            assert squeeze(f"{material_id} {material.bag_out} yes / no") in texts[log]
    assert texts[log].count("unscheduled") >= 4
    sheets = "".join(texts[log + 1 :])
    for number in range(1, DEVIATION_SHEETS + 1):
        assert squeeze(f"Deviation sheet {number} Step (no. and title) Expected Observed") in sheets
    assert sheets.count(squeeze("proceed / skip / retry / abort (circle one)")) == DEVIATION_SHEETS
    assert DEVIATION_SHEETS >= 2
    last = texts[-1]
    assert squeeze("Sign-off") in last
    assert header_row(pdf, total, "Name", "Role", "Followed", "Signature", "Date")
    for participant in script.participants:
        assert squeeze(participant.name) in last
    assert last.count(squeeze("yes / no")) == len(script.participants)


def _no_overflow(pdf: Path, directory: Path) -> int:
    html = directory / f"{pdf.stem}.html"
    subprocess.run(["pdftotext", "-bbox", str(pdf), str(html)], check=True)
    boxes = re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)"',
        html.read_text(),
    )
    assert boxes
    for x_min, y_min, x_max, y_max in boxes:
        assert float(x_min) >= MARGIN_X - 1, (pdf.name, x_min)
        assert float(x_max) <= PAGE_WIDTH - MARGIN_X + 1, (pdf.name, x_max)
        assert float(y_min) >= 5 and float(y_max) <= PAGE_HEIGHT - 5, (pdf.name, y_min, y_max)
    return len(boxes)


@needs_poppler
def test_no_text_leaves_the_printable_area(loaded: LoadedScript, tmp_path: Path) -> None:
    assert _no_overflow(written(_pdf(loaded), tmp_path), tmp_path) > 500


@needs_poppler
def test_a_step_too_long_for_a_page_runs_over_pages(tmp_path: Path) -> None:
    data = sample_script_data()
    marks = [f"check-{n:03d}" for n in range(400)]  # words: none is cut by a page break
    data["steps"][2]["instruction"] = "Then " + " ".join(marks)
    data["ceremony"]["title"] = "A ceremony title long enough to wrap " * 4
    pdf = written(render_worksheet(unlinted(data)), tmp_path)
    _no_overflow(pdf, tmp_path)
    words = pdf_text(pdf).split()
    assert [w for w in words if w.startswith("check-")] == marks
    assert squeeze(data["steps"][3]["title"]) in squeeze(" ".join(words))


@needs_poppler
def test_a_script_without_acts_approval_or_breaks_still_prints(tmp_path: Path) -> None:
    data = sample_script_data()
    del data["acts"]
    del data["ceremony"]["approval"]
    data["steps"] = [s for s in data["steps"] if s["kind"] != "break"]
    for step in data["steps"]:
        step.pop("act", None)
    pdf = written(render_worksheet(unlinted(data)), tmp_path)
    flat = squeeze(pdf_text(pdf))
    assert squeeze("Management approval NOT STATED in the script") in flat
    assert "act1" not in flat
    log = flat[flat.index(squeeze("Break log For every break")) :]
    log = log[: log.index(squeeze("Deviation sheets"))]
    assert "unscheduled" in log and "step" not in log
    _no_overflow(pdf, tmp_path)


@needs_poppler
@pytest.mark.parametrize("path", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_every_shipped_script_prints_within_the_page(path: Path, tmp_path: Path) -> None:
    try:
        loaded = load_script(path)
    except ScriptError as exc:
        pytest.skip(f"{path.name} does not load ({exc}); lint tests report it")
    pdf = written(render_worksheet(loaded), tmp_path, f"{path.stem}.pdf")
    _no_overflow(pdf, tmp_path)
    flat = squeeze(pdf_text(pdf))
    for step in loaded.script.steps:
        assert squeeze(step.title) in flat, step.id
