"""Camera capture for QR reception: V4L2 frames (YUYV, MJPEG, grey) through linuxpy, as images.

A real webcam is opened with :class:`V4L2Camera`; anything that yields :class:`CameraFrame`
objects (the tests' fake device) can stand in for it, because the receiver only iterates frames
and turns each into a greyscale image with :func:`frame_image`. Only the luma (Y) plane is kept:
QR decoding needs brightness, not colour.
"""

from __future__ import annotations

import errno
import io
import re
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Protocol

from PIL import Image, UnidentifiedImageError

from sealroom.errors import TransferError

CAMERA_PREFIX: Final = "camera:"
DEFAULT_SIZE: Final = (1280, 720)
"""Asked of the camera; the driver answers with the nearest size it has (QR-TRANSFER.md: 720p)."""
PREFERRED_FORMATS: Final = ("YUYV", "MJPG", "GREY", "UYVY", "NV12", "YU12")
"""Pixel formats read, best first: YUYV is uncompressed (no JPEG artefacts on the modules)."""

_CAMERA_RE: Final = re.compile(r"camera:(0|[1-9][0-9]{0,2})")


@dataclass(frozen=True)
class CameraFrame:
    """One captured frame as the driver gives it: pixel format (V4L2 fourcc), size and bytes."""

    pixel_format: str
    width: int
    height: int
    data: bytes


class FrameSource(Protocol):
    """A camera as the receiver uses it: a context manager that yields frames until closed."""

    label: str

    def __enter__(self) -> Iterator[CameraFrame]: ...

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...


def camera_index(source: str) -> int | None:
    """Return N for a ``camera:N`` source, None for anything else; TransferError if malformed."""
    if not source.startswith(CAMERA_PREFIX):
        return None
    match = _CAMERA_RE.fullmatch(source)
    if match is None:
        raise TransferError(
            f"{source!r} is not a camera: write camera:N with N the number of /dev/videoN "
            "(for example camera:0)."
        )
    return int(match[1])


def frame_image(frame: CameraFrame) -> Image.Image:
    """Return the greyscale image of one camera frame; TransferError if its bytes do not fit.

    YUYV (Y0 U Y1 V) and UYVY (U Y0 V Y1) keep every other byte; GREY, NV12 and YU12 (planar,
    luma first) keep the first width x height bytes; MJPG frames are decoded as JPEG (libjpeg in
    Pillow supplies the standard Huffman tables that many UVC cameras leave out).
    """
    fmt, width, height, data = frame.pixel_format, frame.width, frame.height, frame.data
    if width <= 0 or height <= 0:
        raise TransferError(f"The camera gave a {fmt} frame of impossible size {width}x{height}.")
    pixels = width * height
    luma: bytes
    if fmt in ("YUYV", "UYVY"):
        _require_size(frame, 2 * pixels)
        luma = data[0 : 2 * pixels : 2] if fmt == "YUYV" else data[1 : 2 * pixels : 2]
    elif fmt == "GREY":
        _require_size(frame, pixels)
        luma = data[:pixels]
    elif fmt in ("NV12", "YU12"):
        _require_size(frame, pixels + pixels // 2)
        luma = data[:pixels]
    elif fmt in ("MJPG", "JPEG"):
        return _jpeg_luma(frame)
    else:
        raise TransferError(
            f"The camera gives {fmt} frames, which this workstation does not read; it reads "
            f"{', '.join(PREFERRED_FORMATS)}."
        )
    return Image.frombytes("L", (width, height), luma)


def _require_size(frame: CameraFrame, needed: int) -> None:
    if len(frame.data) < needed:
        raise TransferError(
            f"The camera gave a {frame.pixel_format} frame of {len(frame.data)} bytes; "
            f"{frame.width}x{frame.height} needs {needed}. The frame is skipped."
        )


def _jpeg_luma(frame: CameraFrame) -> Image.Image:
    try:
        with Image.open(io.BytesIO(frame.data), formats=["JPEG"]) as opened:
            opened.draft("L", (frame.width, frame.height))  # decode the luma only, at full size
            opened.load()
            image = opened.convert("L")
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise TransferError(
            f"The camera gave an MJPEG frame that is not a readable JPEG ({len(frame.data)} "
            "bytes). The frame is skipped."
        ) from exc
    return image


# ---------------------------------------------------------------------------------------------
# The real camera: V4L2 through linuxpy (pure Python ioctls on /dev/videoN)


def _open_error(path: Path, exc: OSError) -> TransferError:
    """The operator's sentence for an OSError while opening or starting a camera."""
    code = exc.errno
    if code in (errno.ENOENT, errno.ENODEV, errno.ENXIO):
        found = sorted(str(p) for p in Path("/dev").glob("video[0-9]*"))
        return TransferError(
            f"There is no camera {path}: no such device (cameras present: "
            f"{', '.join(found) or 'none'}). Plug the camera in or choose another number."
        )
    if code in (errno.EACCES, errno.EPERM):
        return TransferError(
            f"Permission to use the camera {path} is denied: run as a member of the 'video' "
            "group (or as root)."
        )
    if code == errno.EBUSY:
        return TransferError(
            f"The camera {path} is busy: another program is using it. Close that program and "
            "try again."
        )
    if code in (errno.ENOTTY, errno.EINVAL):
        return TransferError(f"{path} is not a V4L2 video capture device.")
    return TransferError(f"The camera {path} cannot be used: {exc.strerror or exc}.")


class V4L2Camera:
    """Camera N (``/dev/videoN``) streaming frames in the best pixel format it offers.

    Use as ``with V4L2Camera(0) as frames: for frame in frames: ...``; leaving the block stops the
    stream and closes the device. Every failure is a TransferError that names the device and
    what to do: no such device, permission denied, busy, not a camera, no readable format.
    """

    def __init__(
        self, index: int, size: tuple[int, int] = DEFAULT_SIZE, device: Path | None = None
    ) -> None:
        self.index = index
        self.size = size
        self.path = device if device is not None else Path(f"/dev/video{index}")
        self.label = f"camera {index}"
        self._stack = ExitStack()

    def __enter__(self) -> Iterator[CameraFrame]:
        try:
            from linuxpy.video.device import BufferType, Device, V4L2Error, VideoCapture
        except ImportError as exc:
            raise TransferError(
                "Camera capture needs the linuxpy package: install the sealroom package again."
            ) from exc
        try:
            device: Any = self._stack.enter_context(Device(str(self.path)))
            offered = [
                fmt.pixel_format.name
                for fmt in device.info.formats
                if fmt.type == BufferType.VIDEO_CAPTURE
            ]
            chosen = next((f for f in PREFERRED_FORMATS if f in offered), None)
            if chosen is None:
                raise TransferError(
                    f"The camera {self.path} offers {', '.join(offered) or 'no'} pixel formats; "
                    f"this workstation reads {', '.join(PREFERRED_FORMATS)}."
                )
            capture: Any = VideoCapture(device)
            capture.set_format(self.size[0], self.size[1], chosen)
            stream = self._stack.enter_context(capture)
        except OSError as exc:
            self._stack.close()
            raise _open_error(self.path, exc) from exc
        except V4L2Error as exc:  # linuxpy's own: no capture or streaming capability
            self._stack.close()
            raise TransferError(f"The camera {self.path} cannot capture video: {exc}.") from exc
        except TransferError:
            self._stack.close()
            raise
        return self._frames(stream, V4L2Error)

    def _frames(self, stream: Any, v4l2_error: type[Exception]) -> Iterator[CameraFrame]:
        try:
            for frame in stream:
                yield CameraFrame(
                    str(frame.pixel_format.name),
                    int(frame.width),
                    int(frame.height),
                    bytes(frame.data),
                )
        except OSError as exc:
            raise _open_error(self.path, exc) from exc
        except v4l2_error as exc:
            raise TransferError(f"The camera {self.path} stopped: {exc}.") from exc

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stack.close()
