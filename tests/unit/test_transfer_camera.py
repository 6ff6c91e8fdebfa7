"""Camera reception: the capture loop fed by a fake V4L2 device giving YUYV and MJPEG frames."""

from __future__ import annotations

import errno
import io
import random
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import pytest
from PIL import Image, ImageFilter

from sealroom.ceremony.ports import QrProgress
from sealroom.errors import TransferError
from sealroom.transfer.camera import (
    CameraFrame,
    V4L2Camera,
    _open_error,
    camera_index,
    frame_image,
)
from sealroom.transfer.frames import encode_frames
from sealroom.transfer.qr import qr_image
from sealroom.transfer.receive import ImageQrReceiver

WIDTH, HEIGHT = 640, 480


def scene(text: str | None, seed: int) -> Image.Image:
    """A 640x480 grey capture of a screen showing ``text`` as a QR code (or nothing)."""
    rng = random.Random(seed)  # noqa: S311 - test scenes, not secrets
    frame = Image.new("L", (WIDTH, HEIGHT), 90)
    if text is not None:
        code = qr_image(text, "M", scale=4, quiet=4)
        code = code.point(lambda v: 40 + v * 175 // 255)  # a screen's contrast, not paper's
        code = code.rotate(rng.uniform(-3, 3), expand=True, fillcolor=215)
        frame.paste(code, ((WIDTH - code.width) // 2, (HEIGHT - code.height) // 2))
    return frame.filter(ImageFilter.GaussianBlur(0.6))


def yuyv(image: Image.Image) -> CameraFrame:
    """The frame as a YUYV camera gives it: Y0 U Y1 V, neutral chroma."""
    luma = image.convert("L").tobytes()
    data = bytearray(2 * len(luma))
    data[0::2] = luma
    data[1::2] = b"\x80" * len(luma)
    return CameraFrame("YUYV", image.width, image.height, bytes(data))


def strip_huffman_tables(jpeg: bytes) -> bytes:
    """Remove the DHT segments, as many UVC cameras send MJPEG (tables implied by the standard)."""
    out, i = bytearray(jpeg[:2]), 2
    while i < len(jpeg):
        marker = jpeg[i + 1]
        if marker == 0xDA:  # start of scan: the rest is entropy-coded data
            out += jpeg[i:]
            break
        size = int.from_bytes(jpeg[i + 2 : i + 4], "big")
        if marker != 0xC4:
            out += jpeg[i : i + 2 + size]
        i += 2 + size
    return bytes(out)


def mjpeg(image: Image.Image, quality: int = 85) -> CameraFrame:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=quality)
    data = strip_huffman_tables(buffer.getvalue())
    assert b"\xff\xc4" not in data[: data.index(b"\xff\xda")]
    return CameraFrame("MJPG", image.width, image.height, data)


class FakeCamera:
    """Stands in for V4L2Camera: yields the frames given, and records that it was closed."""

    def __init__(self, frames: list[CameraFrame], label: str = "camera 0") -> None:
        self.label = label
        self._frames = frames
        self.delivered = 0
        self.closed = False

    def __enter__(self) -> Iterator[CameraFrame]:
        return self._iterate()

    def _iterate(self) -> Iterator[CameraFrame]:
        for frame in self._frames:
            self.delivered += 1
            yield frame

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.closed = True


def screen_cycle(frames: list[str], captures_per_frame: int, cycles: int) -> list[str | None]:
    """What a camera sees of a screen cycling ``frames``: each for a few captures, with gaps."""
    seen: list[str | None] = [None, None]  # the camera starts pointing elsewhere
    for _ in range(cycles):
        for text in frames:
            seen += [text] * captures_per_frame
    return seen


@pytest.mark.parametrize("layout", ["YUYV", "MJPG"])
def test_a_payload_arrives_through_the_camera(layout: str) -> None:
    payload = bytes(range(256)) * 6
    frames = encode_frames(payload, "CRT", 600)
    shown = screen_cycle(frames, captures_per_frame=2, cycles=2)
    make = yuyv if layout == "YUYV" else mjpeg
    captured = [make(scene(text, seed)) for seed, text in enumerate(shown)]
    camera = FakeCamera(captured)
    opened: list[int] = []

    def factory(index: int) -> FakeCamera:
        opened.append(index)
        return camera

    snapshots: list[QrProgress] = []

    def progress(p: QrProgress) -> bool:
        snapshots.append(p)
        return True

    received = ImageQrReceiver(camera_factory=factory).receive(["camera:0"], "CRT", progress)
    assert received == payload
    assert opened == [0]
    assert camera.closed
    assert camera.delivered < len(captured)  # capture stops as soon as the message is complete
    assert snapshots[0].source == "camera 0"
    assert snapshots[0].notice == "camera 0: no QR code found."
    last = snapshots[-1]
    assert last.received == (1, 2, 3)
    assert last.total == 3
    assert last.payload_type == "CRT"
    assert last.images == camera.delivered
    assert any("already scanned" in (s.notice or "") for s in snapshots)


def test_frame_image_reads_the_luma_of_each_layout() -> None:
    image = Image.effect_noise((64, 48), 60).convert("L")
    assert frame_image(yuyv(image)).tobytes() == image.tobytes()
    uyvy = bytearray(2 * 64 * 48)
    uyvy[1::2] = image.tobytes()
    assert frame_image(CameraFrame("UYVY", 64, 48, bytes(uyvy))).tobytes() == image.tobytes()
    grey = CameraFrame("GREY", 64, 48, image.tobytes())
    assert frame_image(grey).tobytes() == image.tobytes()
    nv12 = CameraFrame("NV12", 64, 48, image.tobytes() + bytes(64 * 24))
    assert frame_image(nv12).tobytes() == image.tobytes()
    decoded = frame_image(mjpeg(image, quality=95))
    assert decoded.size == (64, 48)
    assert decoded.mode == "L"


def test_unsupported_or_damaged_frames_are_named() -> None:
    with pytest.raises(TransferError, match="H264 frames, which this workstation does not read"):
        frame_image(CameraFrame("H264", 640, 480, b"\x00" * 100))
    with pytest.raises(TransferError, match=r"YUYV frame of 100 bytes; 640x480 needs 614400"):
        frame_image(CameraFrame("YUYV", 640, 480, b"\x00" * 100))
    with pytest.raises(TransferError, match="MJPEG frame that is not a readable JPEG"):
        frame_image(CameraFrame("MJPG", 640, 480, b"\xff\xd8garbage"))
    with pytest.raises(TransferError, match="impossible size"):
        frame_image(CameraFrame("GREY", 0, 480, b""))


def test_a_damaged_camera_frame_is_a_notice_and_capture_goes_on() -> None:
    frames = encode_frames(b"a short text", "TXT")
    captured = [CameraFrame("YUYV", 640, 480, b"short"), yuyv(scene(frames[0], 1))]
    notices: list[str] = []

    def progress(p: QrProgress) -> bool:
        if p.notice:
            notices.append(p.notice)
        return True

    receiver = ImageQrReceiver(camera_factory=lambda index: FakeCamera(captured))
    assert receiver.receive(["camera:0"], "TXT", progress) == b"a short text"
    assert notices[0].startswith("camera 0: The camera gave a YUYV frame of 5 bytes")


def test_the_operator_stops_a_camera_reception() -> None:
    frames = encode_frames(bytes(1500), "CRT", 600)
    camera = FakeCamera([yuyv(scene(frames[0], seed)) for seed in range(20)])
    calls: list[QrProgress] = []

    def progress(p: QrProgress) -> bool:
        calls.append(p)
        return len(calls) < 4

    receiver = ImageQrReceiver(camera_factory=lambda index: camera)
    with pytest.raises(TransferError, match=r"stopped by the operator \(1 of 3 frames received\)"):
        receiver.receive(["camera:0"], "CRT", progress)
    assert camera.closed
    assert camera.delivered == 4


def test_a_camera_that_stops_giving_frames() -> None:
    receiver = ImageQrReceiver(camera_factory=lambda index: FakeCamera([]))
    with pytest.raises(TransferError, match="camera 0 stopped giving frames"):
        receiver.receive(["camera:0"], "CRT")


def test_camera_sources_are_parsed_strictly() -> None:
    assert camera_index("camera:0") == 0
    assert camera_index("camera:12") == 12
    assert camera_index("scan.pdf") is None
    for bad in ("camera:", "camera:x", "camera:01", "camera:-1"):
        with pytest.raises(TransferError, match="is not a camera: write camera:N"):
            camera_index(bad)


# ---------------------------------------------------------------------------------------------
# The real V4L2 path without a camera: what the operator is told when it cannot be used


def test_no_such_camera(tmp_path: Path) -> None:
    camera = V4L2Camera(7, device=tmp_path / "video7")
    with pytest.raises(TransferError, match=r"There is no camera .*video7: no such device"):
        camera.__enter__()


def test_a_file_that_is_not_a_camera(tmp_path: Path) -> None:
    fake = tmp_path / "video3"
    fake.write_bytes(b"")
    camera = V4L2Camera(3, device=fake)
    with pytest.raises(TransferError, match="is not a V4L2 video capture device"):
        camera.__enter__()


def test_camera_zero_on_this_machine_is_a_clear_error() -> None:
    if Path("/dev/video0").exists():
        pytest.skip("this machine has a camera 0")
    with pytest.raises(TransferError, match=r"no camera /dev/video0: no such device"):
        ImageQrReceiver().receive(["camera:0"], "CSR")


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (errno.EBUSY, "is busy: another program is using it"),
        (errno.EACCES, "Permission to use the camera /dev/video0 is denied"),
        (errno.ENODEV, "There is no camera /dev/video0"),
        (errno.ENOTTY, "not a V4L2 video capture device"),
        (errno.EIO, "cannot be used"),
    ],
)
def test_device_errors_are_sentences(code: int, expected: str) -> None:
    error = _open_error(Path("/dev/video0"), OSError(code, "x"))
    assert expected in error.message
