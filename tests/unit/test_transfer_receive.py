"""ImageQrReceiver on images and PDFs: bad input is a notice or a clear error, never partial."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from benchmarks.transfer import report_page_pdf
from PIL import Image

from sealroom.ceremony.ports import QrProgress, QrReceiver
from sealroom.errors import TransferError
from sealroom.transfer.frames import b32_encode, encode_frames, frame_crc
from sealroom.transfer.qr import qr_image
from sealroom.transfer.receive import ImageQrReceiver

PAYLOAD = bytes(range(256)) * 5  # 1280 bytes: 3 frames of at most 600
FRAMES = encode_frames(PAYLOAD, "CSR", 600)


def save(folder: Path, name: str, text: str) -> str:
    path = folder / name
    qr_image(text, "M", scale=4).save(path)
    return str(path)


class Recorder:
    def __init__(self) -> None:
        self.calls: list[QrProgress] = []

    def __call__(self, p: QrProgress) -> bool:
        self.calls.append(p)
        return True

    @property
    def notices(self) -> list[str]:
        return [p.notice for p in self.calls if p.notice]


def receive(sources: list[str], kind: str = "CSR") -> tuple[bytes, Recorder]:
    recorder = Recorder()
    return ImageQrReceiver().receive(sources, kind, recorder), recorder


def test_the_receiver_implements_the_engine_port() -> None:
    port: QrReceiver = ImageQrReceiver()
    assert callable(port.receive)


def test_frames_in_any_order_from_files_and_a_folder(tmp_path: Path) -> None:
    folder = tmp_path / "scans"
    folder.mkdir()
    save(folder, "a.png", FRAMES[2])
    save(folder, "b.png", FRAMES[0])
    single = save(tmp_path, "one.png", FRAMES[1])
    payload, recorder = receive([str(folder), single])
    assert payload == PAYLOAD
    last = recorder.calls[-1]
    assert (last.received, last.total, last.payload_type) == ((1, 2, 3), 3, "CSR")
    assert last.digest_hex == hashlib.sha256(PAYLOAD).hexdigest()
    assert (last.images, last.codes) == (3, 3)
    assert last.source == single


def test_frames_of_two_messages_keep_the_first_and_name_the_other(tmp_path: Path) -> None:
    other = encode_frames(b"another request" * 50, "CSR", 600)
    sources = [
        save(tmp_path, "1.png", FRAMES[0]),
        save(tmp_path, "2.png", other[1]),
        save(tmp_path, "3.png", FRAMES[1]),
        save(tmp_path, "4.png", FRAMES[2]),
    ]
    payload, recorder = receive(sources)
    assert payload == PAYLOAD
    assert len(recorder.notices) == 1
    assert recorder.notices[0].startswith(f"{sources[1]}: This frame belongs to another message")
    assert recorder.notices[0].endswith("It is ignored.")


def _tampered(text: str) -> str:
    """The frame with one data character changed: its CRC no longer matches."""
    position = text.index("/1-3/") + 6
    return text[:position] + ("B" if text[position] == "A" else "A") + text[position + 1 :]


def test_a_wrong_checksum_and_a_truncated_frame_are_notices(tmp_path: Path) -> None:
    sources = [
        save(tmp_path, "bad.png", _tampered(FRAMES[0])),
        save(tmp_path, "short.png", FRAMES[0][:300]),
        *(save(tmp_path, f"{i}.png", t) for i, t in enumerate(FRAMES)),
    ]
    payload, recorder = receive(sources)
    assert payload == PAYLOAD
    assert [n.split(": ", 1)[1] for n in recorder.notices[:2]] == [
        "This frame fails its checksum (misread or damaged); show it again and rescan. "
        "It is ignored.",
    ] * 2


def test_duplicates_and_an_unexpected_type_are_notices(tmp_path: Path) -> None:
    crt = encode_frames(b"a certificate", "CRT")[0]
    sources = [
        save(tmp_path, "crt.png", crt),
        save(tmp_path, "1.png", FRAMES[0]),
        save(tmp_path, "1-again.png", FRAMES[0]),
        save(tmp_path, "2.png", FRAMES[1]),
        save(tmp_path, "3.png", FRAMES[2]),
    ]
    payload, recorder = receive(sources)
    assert payload == PAYLOAD
    assert recorder.notices == [
        f"{sources[0]}: This frame carries a CRT payload; a CSR payload is expected here. "
        "It is ignored.",
        f"{sources[2]}: Frame 1 of 3 was already scanned.",
    ]


def test_an_image_without_a_qr_code(tmp_path: Path) -> None:
    blank = tmp_path / "blank.png"
    Image.new("L", (300, 300), 255).save(blank)
    with pytest.raises(TransferError, match=r"No QR code was found in .*blank\.png"):
        receive([str(blank)])


def test_a_file_that_is_not_an_image_is_a_notice(tmp_path: Path) -> None:
    notes = tmp_path / "notes.png"
    notes.write_text("not an image")
    sources = [str(notes), *(save(tmp_path, f"{i}.png", t) for i, t in enumerate(FRAMES))]
    payload, recorder = receive(sources)
    assert payload == PAYLOAD
    assert recorder.notices[0].startswith(f"{notes}: The file {notes} is not an image")


def test_an_incomplete_set_names_the_missing_frames(tmp_path: Path) -> None:
    sources = [save(tmp_path, "1.png", FRAMES[0]), save(tmp_path, "3.png", FRAMES[2])]
    with pytest.raises(TransferError, match=r"frame\(s\) 2 of 3 were not found .* nothing was"):
        receive(sources)


def test_a_payload_whose_sha256_fails_is_an_error(tmp_path: Path) -> None:
    """Frames with valid CRCs that announce a digest their data does not have."""
    wrong = b32_encode(hashlib.sha256(b"something else").digest())
    body = f"SR1/CSR/{wrong}/5/1-1/{b32_encode(b'hello')}/"
    source = save(tmp_path, "forged.png", body + frame_crc(body))
    with pytest.raises(TransferError, match="SHA-256 mismatch"):
        receive([source])


def test_a_missing_source_is_refused_before_reading(tmp_path: Path) -> None:
    with pytest.raises(TransferError, match=r"missing\.png does not exist"):
        receive([save(tmp_path, "1.png", FRAMES[0]), str(tmp_path / "missing.png")])
    with pytest.raises(TransferError, match="No camera, image or PDF"):
        receive([])


def test_the_operator_stops_a_reception(tmp_path: Path) -> None:
    sources = [save(tmp_path, f"{i}.png", t) for i, t in enumerate(FRAMES)]

    def stop_after_one(p: QrProgress) -> bool:
        return p.images < 1

    with pytest.raises(TransferError, match=r"stopped by the operator \(1 of 3 frames"):
        ImageQrReceiver().receive(sources, "CSR", stop_after_one)


def test_a_parity_frame_rebuilds_a_missing_frame_and_says_which(tmp_path: Path) -> None:
    frames = encode_frames(PAYLOAD, "CSR", 600, parity=True)
    sources = [save(tmp_path, f"{i}.png", t) for i, t in enumerate(frames) if i != 1]
    payload, recorder = receive(sources)
    assert payload == PAYLOAD
    assert recorder.calls[-1].repaired == (2,)
    assert recorder.notices[-1].endswith("Frame 2 of 3 was rebuilt from the parity frame.")


def test_a_scanned_pdf_page(tmp_path: Path) -> None:
    pdf = tmp_path / "scan.pdf"
    pdf.write_bytes(report_page_pdf(FRAMES))
    payload, recorder = receive([str(pdf)])
    assert payload == PAYLOAD
    assert recorder.calls[-1].source == f"{pdf} page 1"
    assert recorder.calls[-1].codes == 3


def test_a_file_that_is_not_a_pdf(tmp_path: Path) -> None:
    fake = tmp_path / "fake.pdf"
    fake.write_text("not a pdf")
    with pytest.raises(TransferError, match=r"fake\.pdf cannot be read as a PDF"):
        receive([str(fake)])


def test_receive_message_takes_the_type_from_the_first_frame(tmp_path: Path) -> None:
    sources = [save(tmp_path, f"{i}.png", t) for i, t in enumerate(FRAMES)]
    assert ImageQrReceiver().receive_message(sources) == ("CSR", PAYLOAD)
