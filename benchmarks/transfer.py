"""QR transfer figures: screen throughput with loss and parity, decode rates, payload per A4 page.

The synthetic capture models here are also what the tests decode
(tests/unit/test_transfer_decode.py), so the benchmark and CI measure the same images. Every
model takes a seeded ``random.Random``.
"""

from __future__ import annotations

import io
import random
import statistics
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from statistics import NormalDist

from PIL import Image, ImageChops, ImageFilter

from sealroom.transfer.frames import encode_frames
from sealroom.transfer.qr import qr_image, qr_matrix
from sealroom.transfer.scan import blurred, decode_image, greyscale, zbar_codes, zxing_codes

Degrade = Callable[[Image.Image, random.Random], Image.Image]

FPS = 4
FRAGMENT = 600


# ---------------------------------------------------------------------------------------------
# Synthetic captures


def gauss_noise(image: Image.Image, sigma: float, rng: random.Random) -> Image.Image:
    """Add seeded Gaussian noise of ``sigma`` grey levels to a greyscale image."""
    dist = NormalDist(0, sigma)
    table = bytes(max(0, min(255, 128 + round(dist.inv_cdf((v + 0.5) / 256)))) for v in range(256))
    grey = image.convert("L")
    noise = Image.frombytes("L", grey.size, rng.randbytes(grey.width * grey.height))
    return ImageChops.add(grey, noise.point(list(table)), scale=1.0, offset=-128)


def jpeg(image: Image.Image, quality: int) -> Image.Image:
    """Return ``image`` after a JPEG round trip at ``quality``."""
    buffer = io.BytesIO()
    image.convert("L").save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("L")


def _rotate(image: Image.Image, degrees: float) -> Image.Image:
    return image.rotate(degrees, expand=True, fillcolor=255, resample=Image.Resampling.BILINEAR)


DEGRADATIONS: dict[str, Degrade] = {
    "clean": lambda im, rng: im,
    "2 px/module": lambda im, rng: im.resize(
        (im.width // 2, im.height // 2), Image.Resampling.BILINEAR
    ),
    "rotated 7°": lambda im, rng: _rotate(im, 7),
    "rotated 30°": lambda im, rng: _rotate(im, 30),
    "JPEG q30": lambda im, rng: jpeg(im, 30),
    "heavy noise": lambda im, rng: gauss_noise(im, 60, rng),
}
"""Applied to a code drawn at 4 px/module (2 px/module halves that): QR-TRANSFER.md's 100 % set."""


def clean_capture(text: str) -> Image.Image:
    """The frame drawn at 4 px/module with a 4-module quiet zone, ECC M."""
    return qr_image(text, "M", scale=4, quiet=4)


def good_webcam(text: str, rng: random.Random) -> Image.Image:
    """A good webcam filming a screen: 3 px/module, contrast 40-215, ±3°, blur, noise, JPEG 85.

    The code sits in a 720p frame (luma only, as YUYV gives it) at a random place.
    """
    code = qr_image(text, "M", scale=3, quiet=4)
    code = code.point(lambda v: 40 + v * 175 // 255)
    code = code.rotate(
        rng.uniform(-3, 3), expand=True, fillcolor=215, resample=Image.Resampling.BILINEAR
    )
    frame = Image.new("L", (1280, 720), rng.randint(60, 120))
    frame.paste(
        code, (rng.randint(0, 1280 - code.width), rng.randint(0, max(0, 720 - code.height)))
    )
    frame = frame.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 0.9)))
    frame = gauss_noise(frame, 6, rng)
    return jpeg(frame, 85)


def sample_frames(count: int, seed: int, fragment: int = FRAGMENT) -> list[str]:
    """``count`` distinct full-size frames of random payloads (every byte value occurs)."""
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    frames: list[str] = []
    while len(frames) < count:
        payload = rng.randbytes(fragment * 3)
        frames += encode_frames(payload, rng.choice(["CRT", "CSR", "BLB"]), fragment)
    return frames[:count]


def report_page_pdf(frames: list[str], module_mm: float = 0.5) -> bytes:
    """An A4 page like a report's: title text and a grid of labelled ECC Q codes, vector drawn."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas

    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=1)
    width, height = A4
    canvas.setFont("Helvetica-Bold", 14)
    canvas.drawString(20 * mm, height - 20 * mm, "Certificate export (synthetic report page)")
    x0, y = 20 * mm, height - 30 * mm
    x = x0
    for number, text in enumerate(frames, start=1):
        matrix = qr_matrix(text, "Q")
        side = (len(matrix) + 8) * module_mm * mm
        if x + side > width - 15 * mm:
            x, y = x0, y - side - 8 * mm
        top = y - 4 * module_mm * mm
        for r, row in enumerate(matrix):
            for c, dark in enumerate(row):
                if dark:
                    canvas.rect(
                        x + (c + 4) * module_mm * mm,
                        top - (r + 1) * module_mm * mm,
                        module_mm * mm,
                        module_mm * mm,
                        stroke=0,
                        fill=1,
                    )
        canvas.setFont("Helvetica", 8)
        canvas.drawString(x + 4 * module_mm * mm, y - side - 2 * mm, f"frame {number}")
        x += side + 6 * mm
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def rasterise(pdf: bytes, dpi: int) -> list[Image.Image]:
    """The PDF's pages as greyscale images, rendered by pdftoppm at ``dpi``."""
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "page.pdf"
        source.write_bytes(pdf)
        subprocess.run(
            ["pdftoppm", "-r", str(dpi), "-gray", "-png", str(source), f"{tmp}/p"],
            check=True,
            capture_output=True,
        )
        return [Image.open(p).convert("L") for p in sorted(Path(tmp).glob("p*.png"))]


# ---------------------------------------------------------------------------------------------
# Screen throughput: the sender cycles the frames at FPS, the camera misses each showing at random


def frames_until_complete(total: int, parity: bool, loss: float, rng: random.Random) -> int:
    """Frames shown until the receiver has the message, starting at a random point of the cycle."""
    cycle = total + (1 if parity else 0)
    position = rng.randrange(cycle)
    have: set[int] = set()
    shown = 0
    while True:
        shown += 1
        index = position % cycle  # index == total is the parity frame
        position += 1
        if rng.random() >= loss:
            have.add(index)
        data = len(have - {total})
        if data == total or (parity and total in have and data == total - 1):
            return shown


def throughput(total: int, parity: bool, loss: float, trials: int, seed: int) -> float:
    """Median payload bytes per second for ``total`` full 600-byte frames at ``FPS``."""
    rng = random.Random(seed)  # noqa: S311 - simulation, not secrets
    rates = [
        total * FRAGMENT / (frames_until_complete(total, parity, loss, rng) / FPS)
        for _ in range(trials)
    ]
    return statistics.median(rates)


# ---------------------------------------------------------------------------------------------
# Decode rates per decoder


def decoder_rates(images: list[tuple[Image.Image, str]]) -> dict[str, float]:
    """Share of images whose frame each decoder reads: zxing-cpp, zbar, zbar+blur, combined."""
    hits = {"zxing-cpp": 0, "zbar": 0, "zbar + blur retry": 0, "combined": 0}
    for image, text in images:
        grey = greyscale(image)
        hits["zxing-cpp"] += any(f.text == text for f in zxing_codes(grey))
        zbar = any(f.text == text for f in zbar_codes(grey))
        hits["zbar"] += zbar
        hits["zbar + blur retry"] += zbar or any(f.text == text for f in zbar_codes(blurred(grey)))
        hits["combined"] += text in decode_image(image)
    return {name: count / len(images) for name, count in hits.items()}


def decode_sets(per_set: int, seed: int) -> dict[str, list[tuple[Image.Image, str]]]:
    """The synthetic sets: each degradation, the good webcam, report pages at 300 and 100 dpi."""
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    frames = sample_frames(per_set, seed)
    sets: dict[str, list[tuple[Image.Image, str]]] = {}
    for name, degrade in DEGRADATIONS.items():
        sets[name] = [(degrade(clean_capture(t), rng), t) for t in frames]
    sets["good webcam"] = [(good_webcam(t, rng), t) for t in frames]
    paper = sample_frames(6, seed + 1, fragment=595)
    pdf = report_page_pdf(paper)
    for dpi in (300, 100):
        (page,) = rasterise(pdf, dpi)
        sets[f"A4 page {dpi} dpi"] = [(page, t) for t in paper]
    return sets


def payload_per_a4_page() -> tuple[int, int] | None:
    """(payload bytes, pages) of an export sheet for a 16 KiB payload, or None without paper.py."""
    try:
        from sealroom.transfer.paper import render_transfer_pdf
    except ImportError:
        return None
    payload = random.Random(5).randbytes(16 * 1024)  # noqa: S311 - test data
    pdf = render_transfer_pdf(payload, "BLB", title="benchmark")
    info = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True)
    pages = next(
        int(line.split()[-1])
        for line in info.stdout.decode().splitlines()
        if line.startswith("Pages:")
    )
    return len(payload), pages


def rows() -> list[tuple[str, str, str]]:
    """The transfer figures for ``make bench``: (figure, value, how measured)."""
    out: list[tuple[str, str, str]] = [
        (
            "screen raw throughput, 600-byte frames",
            f"{FRAGMENT * FPS} B/s",
            f"{FPS} fps x {FRAGMENT} B, no loss",
        )
    ]
    trials = 2001
    for parity in (False, True):
        per_n = [throughput(n, parity, 0.30, trials, seed=n) for n in range(1, 11)]
        label = "with parity" if parity else "no parity"
        out.append(
            (
                f"median at 30 % loss, 1-10 frames, {label}",
                f"{statistics.median(per_n):.0f} B/s",
                "worst n: "
                f"{min(per_n):.0f} B/s (n={per_n.index(min(per_n)) + 1}); "
                f"n=3: {per_n[2]:.0f}, n=10: {per_n[9]:.0f}",
            )
        )
    for name, images in decode_sets(per_set=40, seed=11).items():
        rates = decoder_rates(images)
        out.append(
            (
                f"decode {name}",
                f"{rates['combined']:.1%}",
                ", ".join(f"{k} {v:.1%}" for k, v in rates.items() if k != "combined")
                + f" ({len(images)} codes)",
            )
        )
    a4 = payload_per_a4_page()
    if a4 is None:
        out.append(("payload per A4 page", "n/a", "transfer.paper not available"))
    else:
        size, pages = a4
        out.append(
            (
                "payload per A4 page",
                f"{size / pages:.0f} B",
                f"{size} B export sheet = {pages} pages",
            )
        )
    return out


if __name__ == "__main__":
    for figure, value, how in rows():
        print(f"{figure:<44} {value:>10}  {how}")  # noqa: T201 - a benchmark prints its figures
