"""QR rendering and scanning: alphanumeric mode, terminal half blocks, render → zbar → frames."""

from __future__ import annotations

import io
import os
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import qrcode.util
from PIL import Image, ImageFilter, ImageOps

from sealroom.errors import TransferError
from sealroom.transfer import scan
from sealroom.transfer.frames import decode_frames, encode_frames
from sealroom.transfer.qr import (
    Matrix,
    matrix_image,
    qr_image,
    qr_matrix,
    qr_symbol,
    terminal_lines,
)
from sealroom.transfer.scan import decode_image

SMALL = "SR1 TEST"
LIGHT_CELLS = {"\u2588": (True, True), "\u2580": (True, False), "\u2584": (False, True)}


def lines_to_image(lines: list[str], scale: int = 6) -> Image.Image:
    """Paint terminal lines as a screen would: block halves light, spaces dark."""
    height, width = 2 * len(lines), len(lines[0])
    image = Image.new("L", (width, height), 0)
    for y, line in enumerate(lines):
        for x, char in enumerate(line):
            top, bottom = LIGHT_CELLS.get(char, (False, False))
            image.putpixel((x, 2 * y), 255 if top else 0)
            image.putpixel((x, 2 * y + 1), 255 if bottom else 0)
    return image.resize((width * scale, height * scale), Image.Resampling.NEAREST)


def lines_to_dark_modules(lines: list[str]) -> list[list[bool]]:
    rows: list[list[bool]] = []
    for line in lines:
        cells = [LIGHT_CELLS.get(char, (False, False)) for char in line]
        rows.append([not top for top, _ in cells])
        rows.append([not bottom for _, bottom in cells])
    return rows


# ---------------------------------------------------------------------------------------------
# The symbol


def test_frames_are_encoded_in_one_alphanumeric_segment() -> None:
    frame = encode_frames(os.urandom(600), "CRT")[0]
    symbol = qr_symbol(frame, "M")
    assert [segment.mode for segment in symbol.data_list] == [qrcode.util.MODE_ALPHA_NUM]
    # 600-byte fragments: about 1040 alphanumeric characters fit version 22 at ECC M; byte mode
    # would need version 27.
    assert symbol.version == 22


def test_digit_runs_stay_in_the_alphanumeric_segment() -> None:
    symbol = qr_symbol("SR1/" + "1234567890" * 5, "L")
    assert [segment.mode for segment in symbol.data_list] == [qrcode.util.MODE_ALPHA_NUM]


def test_matrix_is_a_square_grid_without_quiet_zone() -> None:
    matrix = qr_matrix(SMALL)
    size = len(matrix)
    assert size == 21  # version 1
    assert all(len(row) == size for row in matrix)
    # The finder pattern's dark outer ring starts at the very first module: no quiet zone.
    assert all(matrix[0][:7]) and all(row[0] for row in matrix[:7])
    assert not any(matrix[1][1:6])


@pytest.mark.parametrize(("ecc", "bigger"), [("L", "M"), ("M", "Q"), ("Q", "H")])
def test_higher_error_correction_gives_a_larger_symbol(ecc: str, bigger: str) -> None:
    text = encode_frames(bytes(200), "TXT")[0]
    assert len(qr_matrix(text, ecc)) < len(qr_matrix(text, bigger))  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["sr1/txt", "SR1/É", "SR1\n", "SR1=", "SR1_"])
def test_only_alphanumeric_text_is_encoded(text: str) -> None:
    with pytest.raises(TransferError, match="alphanumeric"):
        qr_matrix(text)


def test_unknown_error_correction_level() -> None:
    with pytest.raises(TransferError, match="error correction"):
        qr_matrix(SMALL, "X")  # type: ignore[arg-type]


def test_text_too_long_for_one_symbol() -> None:
    with pytest.raises(TransferError, match="do not fit"):
        qr_matrix("A" * 4297, "L")
    assert len(qr_matrix("A" * 4296, "L")) == 177  # version 40 holds 4296 at ECC L


# ---------------------------------------------------------------------------------------------
# Terminal half blocks


def test_terminal_lines_shape_and_characters() -> None:
    matrix = qr_matrix(SMALL)
    lines = terminal_lines(matrix, quiet=2)
    assert len(lines) == (21 + 4 + 1) // 2
    assert all(len(line) == 25 for line in lines)
    assert set("".join(lines)) <= {"\u2588", "\u2580", "\u2584", " "}
    assert lines[0] == "\u2588" * 25  # the quiet zone is light, drawn as blocks
    assert all(line.startswith("\u2588\u2588") and line.endswith("\u2588\u2588") for line in lines)


@pytest.mark.parametrize("quiet", [0, 1, 2, 4])
def test_terminal_lines_map_back_to_the_modules(quiet: int) -> None:
    matrix = qr_matrix(SMALL)
    dark = lines_to_dark_modules(terminal_lines(matrix, quiet=quiet))
    size = len(matrix) + 2 * quiet
    assert len(dark) in (size, size + 1)
    if len(dark) == size + 1:
        assert not any(dark[-1])  # the padding row is light
    for y in range(size):
        for x in range(size):
            inside = quiet <= x < quiet + len(matrix) and quiet <= y < quiet + len(matrix)
            expected = matrix[y - quiet][x - quiet] if inside else False
            assert dark[y][x] == expected, (x, y)


def test_terminal_lines_scan_when_shown_light_on_dark() -> None:
    lines = terminal_lines(qr_matrix(SMALL), quiet=2)
    assert decode_image(lines_to_image(lines)) == [SMALL]


def test_terminal_lines_refuse_bad_input() -> None:
    with pytest.raises(TransferError, match="quiet zone"):
        terminal_lines(qr_matrix(SMALL), quiet=-1)
    with pytest.raises(TransferError, match="square"):
        terminal_lines(((True, False),))
    empty: Matrix = ()
    with pytest.raises(TransferError, match="square"):
        terminal_lines(empty)


# ---------------------------------------------------------------------------------------------
# Images and scanning


def test_qr_image_size_colours_and_quiet_zone() -> None:
    matrix = qr_matrix(SMALL)
    image = qr_image(SMALL, "M", scale=3, quiet=4)
    assert image.mode == "L"
    assert image.size == ((21 + 8) * 3, (21 + 8) * 3)
    histogram = image.histogram()
    assert [value for value in range(256) if histogram[value]] == [0, 255]
    assert image.getpixel((0, 0)) == 255
    assert image.getpixel((4 * 3, 4 * 3)) == 0  # first module of the finder pattern
    assert matrix_image(matrix, 3, 4).tobytes() == image.tobytes()
    with pytest.raises(TransferError, match="scale"):
        qr_image(SMALL, scale=0)


def test_render_then_decode_a_1400_byte_payload_in_frames() -> None:
    payload = bytes(range(256)) * 5 + os.urandom(120)
    assert len(payload) == 1400
    frames = encode_frames(payload, "CRT", 600)
    assert len(frames) == 3
    scanned: list[str] = []
    for frame in reversed(frames):
        scanned += decode_image(qr_image(frame, "M", scale=3, quiet=4))
    assert sorted(scanned) == sorted(frames)
    assert decode_frames(scanned, expected_type="CRT") == ("CRT", payload)


def test_a_page_of_codes_decodes_in_reading_order() -> None:
    frames = encode_frames(os.urandom(300), "BLB", 100)
    tiles = [qr_image(frame, "Q", scale=3) for frame in frames]
    side = tiles[0].size[0]
    page = Image.new("L", (side * 2, side * 2), 255)
    for position, tile in enumerate(tiles):
        page.paste(tile, ((position % 2) * side, (position // 2) * side))
    assert decode_image(page) == frames


def test_decode_image_from_a_png_file(tmp_path: Path) -> None:
    path = tmp_path / "frame.png"
    qr_image(SMALL, scale=4).save(path)
    assert decode_image(path) == [SMALL]


def test_decode_image_of_a_blurred_colour_capture() -> None:
    image = qr_image(SMALL, scale=5).convert("RGB").filter(ImageFilter.GaussianBlur(1))
    assert decode_image(image) == [SMALL]


def test_nothing_to_decode_gives_no_texts() -> None:
    assert decode_image(Image.new("L", (200, 200), 255)) == []


def test_blur_and_retry_when_the_first_pass_finds_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: dict[str, list[Image.Image]] = {"zxing": [], "zbar": []}

    def blind(name: str) -> Callable[[Image.Image], list[scan.Found]]:
        def decoder(image: Image.Image) -> list[scan.Found]:
            seen[name].append(image)
            if name == "zbar" and len(seen[name]) == 2:
                return [scan.Found("SR1 RETRIED", 0, 0, 10)]
            return []

        return decoder

    monkeypatch.setattr(scan, "zxing_codes", blind("zxing"))
    monkeypatch.setattr(scan, "zbar_codes", blind("zbar"))
    original = qr_image(SMALL, scale=4)
    assert decode_image(original) == ["SR1 RETRIED"]
    assert len(seen["zbar"]) == 2
    assert len(seen["zxing"]) == 2  # both decoders had the first pass and the retry
    assert seen["zxing"][0].tobytes() == original.tobytes()
    assert seen["zbar"][1].tobytes() != original.tobytes()  # the retry saw a blurred image


def test_either_decoder_alone_is_enough_and_texts_are_given_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    image = qr_image(SMALL, scale=4)
    assert decode_image(image) == [SMALL]  # both read it: given once
    monkeypatch.setattr(scan, "zbar_codes", lambda image: [])
    assert decode_image(image) == [SMALL]
    monkeypatch.undo()
    monkeypatch.setattr(scan, "zxing_codes", lambda image: [])
    assert decode_image(image) == [SMALL]


def test_unreadable_files_are_a_transfer_error(tmp_path: Path) -> None:
    with pytest.raises(TransferError, match="does not exist"):
        decode_image(tmp_path / "missing.png")
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("not an image")
    with pytest.raises(TransferError, match="not an image"):
        decode_image(not_an_image)
    truncated = tmp_path / "truncated.png"
    qr_image(SMALL).save(truncated)
    truncated.write_bytes(truncated.read_bytes()[:60])
    with pytest.raises(TransferError):
        decode_image(truncated)


# ---------------------------------------------------------------------------------------------
# Degraded captures (the decode targets of QR-TRANSFER.md, one synthetic image each)


def _jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue()))


def _noisy(image: Image.Image, sigma: float, seed: int) -> Image.Image:
    rng = random.Random(seed)  # noqa: S311 - test noise, not secrets
    grey = image.convert("L")
    values = grey.tobytes()
    noisy = bytes(max(0, min(255, value + int(rng.gauss(0, sigma)))) for value in values)
    return Image.frombytes("L", grey.size, noisy)


@pytest.mark.parametrize(
    "degrade",
    [
        pytest.param(lambda im: im.resize((im.width // 2, im.height // 2)), id="2px-per-module"),
        pytest.param(
            lambda im: im.rotate(7, expand=True, fillcolor=255, resample=Image.Resampling.BILINEAR),
            id="rotated-7",
        ),
        pytest.param(
            lambda im: im.rotate(
                30, expand=True, fillcolor=255, resample=Image.Resampling.BILINEAR
            ),
            id="rotated-30",
        ),
        pytest.param(lambda im: _jpeg(im, 30), id="jpeg-30"),
        pytest.param(lambda im: _noisy(im, 60, seed=1), id="heavy-noise"),
    ],
)
def test_a_600_byte_frame_decodes_from_a_degraded_capture(
    degrade: Callable[[Image.Image], Image.Image],
) -> None:
    frame = encode_frames(bytes(range(256)) * 2 + bytes(88), "CRT", 600)[0]
    assert decode_image(degrade(qr_image(frame, "M", scale=4))) == [frame]


def test_transparent_background_reads_as_white() -> None:
    grey = qr_image(SMALL, scale=4)
    # Black everywhere; only the dark modules are opaque (a logo-style PNG with no background).
    transparent = Image.new("RGBA", grey.size, (0, 0, 0, 0))
    transparent.putalpha(ImageOps.invert(grey))
    assert transparent.convert("L").getextrema() == (0, 0)  # without compositing: all black
    assert decode_image(transparent) == [SMALL]


def test_frames_module_loads_no_imaging_library() -> None:
    code = (
        "import sys, sealroom.transfer.frames, sealroom.ceremony.fingerprint; "
        "print(sorted({'qrcode', 'PIL', 'pyzbar'} & {m.split('.')[0] for m in sys.modules}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
