"""Decoding the synthetic captures of QR-TRANSFER.md: 100 % on each degraded set, 99 % on a webcam.

The image models are benchmarks/transfer.py's, so CI decodes exactly what ``make bench`` counts.
"""

from __future__ import annotations

import random

import pytest
from benchmarks.transfer import (
    DEGRADATIONS,
    clean_capture,
    good_webcam,
    rasterise,
    report_page_pdf,
    sample_frames,
)

from sealroom.transfer.frames import FrameAssembler, encode_frames
from sealroom.transfer.scan import decode_image

FRAMES_PER_SET = 12


@pytest.mark.parametrize("name", sorted(DEGRADATIONS))
def test_every_frame_decodes_from_each_degraded_set(name: str) -> None:
    rng = random.Random(21)  # noqa: S311 - test images, not secrets
    degrade = DEGRADATIONS[name]
    frames = sample_frames(FRAMES_PER_SET, seed=len(name))
    failed = [
        i for i, t in enumerate(frames) if decode_image(degrade(clean_capture(t), rng)) != [t]
    ]
    assert failed == [], f"{name}: frames {failed} of {len(frames)} not decoded"


def test_good_webcam_model_decodes_at_least_99_percent() -> None:
    rng = random.Random(99)  # noqa: S311 - test images, not secrets
    frames = sample_frames(150, seed=7)
    decoded = sum(decode_image(good_webcam(text, rng)) == [text] for text in frames)
    assert decoded / len(frames) >= 0.99, f"{decoded} of {len(frames)} webcam frames decoded"


@pytest.mark.parametrize("dpi", [300, 100])
def test_report_like_page_decodes_every_code_in_reading_order(dpi: int) -> None:
    payload = random.Random(3).randbytes(6 * 595)  # noqa: S311 - test data
    frames = encode_frames(payload, "CRT", 595)
    assert len(frames) == 6
    (page,) = rasterise(report_page_pdf(frames), dpi)
    texts = decode_image(page)
    assert texts == frames
    assembler = FrameAssembler("CRT")
    for text in texts:
        assert assembler.add(text).accepted
    assert assembler.payload() == payload


def test_all_256_byte_values_survive_render_and_decode() -> None:
    payload = bytes(range(256)) * 3
    frames = encode_frames(payload, "BLB", 600, parity=True)
    rng = random.Random(5)  # noqa: S311 - test images, not secrets
    assembler = FrameAssembler("BLB")
    for text in frames:
        for texts in (decode_image(clean_capture(text)), decode_image(good_webcam(text, rng))):
            assert texts == [text]
        assembler.add(text)
    assert assembler.payload() == payload
