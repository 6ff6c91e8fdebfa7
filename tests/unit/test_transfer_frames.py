"""SR1 frames: round trips in any order, the alphabet, and every way a frame or a set is refused."""

from __future__ import annotations

import base64
import hashlib
import random
import re
import zlib

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sealroom.ceremony.ports import QrEncoder
from sealroom.errors import TransferError
from sealroom.transfer.frames import (
    MAX_FRAGMENT_SIZE,
    MAX_FRAMES,
    PAYLOAD_TYPES,
    QR_ALPHANUMERIC,
    FrameAssembler,
    FrameEncoder,
    FrameStatus,
    RejectReason,
    b32_decode,
    b32_encode,
    decode_frames,
    encode_frames,
    frame_crc,
    parse_frame,
)

# The example of docs/qr-frames.md: b"hello world" as TXT in fragments of at most 4 bytes.
HELLO_FRAMES = [
    "SR1/TXT/XFGSPOMTJU7ARJJOKLL5U7NL7LCIJ37DPJJYB3UQRD32ZYXPZXUQ/11/1-3/NBSWY/NVBSRLI",
    "SR1/TXT/XFGSPOMTJU7ARJJOKLL5U7NL7LCIJ37DPJJYB3UQRD32ZYXPZXUQ/11/2-3/NRXSA5Y/UR3I6TI",
    "SR1/TXT/XFGSPOMTJU7ARJJOKLL5U7NL7LCIJ37DPJJYB3UQRD32ZYXPZXUQ/11/3-3/N5ZGYZA/7VLUUNA",
]
EMPTY_CRT_FRAME = "SR1/CRT/4OYMIQUY7QOBJGX36TEJS35ZEQT24QPEMSNZGTFESWMRW6CSXBKQ/0/1-1//ZIVZK6I"


def forge(
    *,
    kind: str = "TXT",
    digest: bytes | None = None,
    length: int = 11,
    index: int = 1,
    total: int = 3,
    data: bytes = b"hel",
    digest_of: bytes = b"hello world",
) -> str:
    """Build a frame by hand with a valid CRC, to test the checks behind the CRC."""
    digest_text = b32_encode(digest if digest is not None else hashlib.sha256(digest_of).digest())
    body = f"SR1/{kind}/{digest_text}/{length}/{index}-{total}/{b32_encode(data)}/"
    return body + frame_crc(body)


def reason_of(text: str, assembler: FrameAssembler | None = None) -> RejectReason | None:
    result = (assembler or FrameAssembler()).add(text)
    assert result.rejected, result
    assert result.message
    return result.reason


# ---------------------------------------------------------------------------------------------
# Encoding


def test_golden_example_matches_the_specification() -> None:
    assert encode_frames(b"hello world", "TXT", 4) == HELLO_FRAMES
    assert encode_frames(b"", "CRT") == [EMPTY_CRT_FRAME]
    assert decode_frames(reversed(HELLO_FRAMES)) == ("TXT", b"hello world")
    assert decode_frames([EMPTY_CRT_FRAME], expected_type="CRT") == ("CRT", b"")


def test_encoding_is_deterministic() -> None:
    payload = bytes(range(256)) * 5
    assert encode_frames(payload, "BLB", 300) == encode_frames(payload, "BLB", 300)


@pytest.mark.parametrize("kind", sorted(PAYLOAD_TYPES))
def test_every_payload_type_round_trips_all_256_byte_values(kind: str) -> None:
    payload = bytes(range(256)) * 3
    frames = encode_frames(payload, kind, 100)
    assert len(frames) == 8
    assert decode_frames(frames, expected_type=kind) == (kind, payload)


def test_payload_types_are_the_documented_six() -> None:
    assert {"CRT", "CSR", "CRL", "JNL", "BLB", "TXT"} == PAYLOAD_TYPES


@pytest.mark.parametrize("kind", ["crt", "XYZ", "", "CERT", None, 3])
def test_encode_refuses_unknown_type(kind: object) -> None:
    with pytest.raises(TransferError, match="Unknown QR payload type"):
        encode_frames(b"x", kind)  # type: ignore[arg-type]


@pytest.mark.parametrize("size", [0, -1, MAX_FRAGMENT_SIZE + 1, True, 1.5, "600"])
def test_encode_refuses_bad_fragment_size(size: object) -> None:
    with pytest.raises(TransferError, match="fragment size"):
        encode_frames(b"x", "TXT", size)  # type: ignore[arg-type]
    with pytest.raises(TransferError, match="fragment size"):
        FrameEncoder(size)  # type: ignore[arg-type]


def test_encode_refuses_more_than_the_maximum_number_of_frames() -> None:
    assert len(encode_frames(bytes(MAX_FRAMES), "TXT", 1)) == MAX_FRAMES
    with pytest.raises(TransferError, match="frames"):
        encode_frames(bytes(MAX_FRAMES + 1), "TXT", 1)


def test_encode_refuses_text_payloads() -> None:
    with pytest.raises(TransferError, match="bytes"):
        encode_frames("hello", "TXT")  # type: ignore[arg-type]


def test_frame_encoder_implements_the_engine_port() -> None:
    encoder: QrEncoder = FrameEncoder(fragment_size=4)
    assert encoder.frames(b"hello world", "TXT") == HELLO_FRAMES
    assert FrameEncoder().frames(bytes(601), "CRT") == encode_frames(bytes(601), "CRT", 600)


def test_split_is_balanced() -> None:
    frames = encode_frames(bytes(1400), "CRT", 600)
    sizes = [len(parse_frame(f).data) for f in frames]
    assert sizes == [466, 467, 467]


def test_b32_decode_accepts_only_canonical_text() -> None:
    assert b32_decode("") == b""
    assert b32_decode("MY") == b"f"
    for bad in ("MZ", "M", "MYA", "MYAAAA", "my", "MY======", "M1"):
        with pytest.raises(ValueError):
            b32_decode(bad)


# ---------------------------------------------------------------------------------------------
# Round trips (hypothesis)


@st.composite
def payloads(draw: st.DrawFn) -> bytes:
    size = draw(st.one_of(st.integers(0, 1024), st.integers(0, 64 * 1024)))
    seed = draw(st.integers(0, 2**32 - 1))
    return random.Random(seed).randbytes(size)  # noqa: S311 - test data, not secrets


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    payload=payloads(),
    fragment_size=st.integers(1, MAX_FRAGMENT_SIZE),
    kind=st.sampled_from(sorted(PAYLOAD_TYPES)),
    order_seed=st.integers(0, 2**32 - 1),
    duplicates=st.integers(0, 5),
)
@example(
    payload=bytes(range(256)) * 256,  # 64 KiB, every byte value
    fragment_size=600,
    kind="BLB",
    order_seed=1,
    duplicates=5,
).via("the largest payload in the brief")
@example(payload=b"", fragment_size=1, kind="TXT", order_seed=0, duplicates=2).via("empty")
def test_round_trip_in_any_order_with_duplicates(
    payload: bytes, fragment_size: int, kind: str, order_seed: int, duplicates: int
) -> None:
    fragment_size = max(fragment_size, -(-len(payload) // MAX_FRAMES))
    frames = encode_frames(payload, kind, fragment_size)
    assert len(frames) == max(1, -(-len(payload) // fragment_size))
    rng = random.Random(order_seed)  # noqa: S311 - frame order, not secrets
    shown = frames + [rng.choice(frames) for _ in range(duplicates)]
    rng.shuffle(shown)

    assembler = FrameAssembler(expected_type=kind)
    seen: set[int] = set()
    for text in shown:
        assert assembler.complete == (len(seen) == len(frames))
        result = assembler.add(text)
        assert result.index is not None
        if result.index in seen:
            assert result.status is FrameStatus.DUPLICATE
        else:
            assert result.status is FrameStatus.ACCEPTED
        seen.add(result.index)
        assert assembler.total == len(frames)
        if len(frames) <= 64:  # the full grid each time; only its size for long messages
            assert assembler.received == tuple(sorted(seen))
            assert set(assembler.missing) == set(range(1, len(frames) + 1)) - seen
        if not assembler.complete and len(seen) % 97 == 1:
            with pytest.raises(TransferError, match="missing"):
                assembler.payload()
    assert assembler.complete
    assert assembler.missing == ()
    assert assembler.payload() == payload
    assert assembler.payload_type == kind
    assert assembler.length == len(payload)
    assert assembler.digest_hex == hashlib.sha256(payload).hexdigest()


@settings(max_examples=60, deadline=None)
@given(payload=st.binary(max_size=700), fragment_size=st.integers(1, 64))
def test_frames_use_only_qr_alphanumeric_characters(payload: bytes, fragment_size: int) -> None:
    frames = encode_frames(payload, "TXT", fragment_size)
    for text in frames:
        assert set(text) <= QR_ALPHANUMERIC
        frame = parse_frame(text)
        assert len(frame.data) <= fragment_size
    sizes = [len(parse_frame(text).data) for text in frames]
    assert max(sizes) - min(sizes) <= 1
    assert decode_frames(frames) == ("TXT", payload)


# ---------------------------------------------------------------------------------------------
# Refusals of a single frame


@pytest.mark.parametrize(
    "text",
    ["", "hello", "https://example.org/", "SR1", "sr1/TXT/", "SR1:TXT", "\x00SR1/"],
)
def test_not_a_sealroom_frame(text: str) -> None:
    assert reason_of(text) is RejectReason.NOT_A_FRAME


def test_other_version_is_named() -> None:
    assert reason_of("SR2" + HELLO_FRAMES[0][3:]) is RejectReason.UNSUPPORTED_VERSION


def test_every_single_character_change_is_refused() -> None:
    frame = HELLO_FRAMES[1]
    alphabet = sorted(QR_ALPHANUMERIC | {"a", "=", "\n"})
    for position in range(len(frame)):
        for replacement in alphabet[:: 1 + position % 7]:
            if replacement == frame[position]:
                continue
            changed = frame[:position] + replacement + frame[position + 1 :]
            assert FrameAssembler().add(changed).rejected, changed


def test_flipped_character_in_data_is_a_bad_checksum() -> None:
    frame = HELLO_FRAMES[0]
    position = frame.index("/NBSWY/") + 2
    changed = frame[:position] + ("A" if frame[position] != "A" else "B") + frame[position + 1 :]
    assert reason_of(changed) is RejectReason.BAD_CHECKSUM


def test_truncated_frames_are_refused() -> None:
    frame = HELLO_FRAMES[2]
    for cut in range(1, len(frame)):
        assert FrameAssembler().add(frame[:cut]).rejected
    assert reason_of(frame[:-1]) is RejectReason.BAD_CHECKSUM
    assert reason_of(frame[: frame.rindex("/")]) is RejectReason.BAD_CHECKSUM


def test_trailing_or_surrounding_whitespace_is_refused() -> None:
    assert reason_of(HELLO_FRAMES[0] + "\n") is RejectReason.BAD_CHECKSUM
    assert reason_of(" " + HELLO_FRAMES[0]) is RejectReason.NOT_A_FRAME


def test_unexpected_type() -> None:
    assembler = FrameAssembler(expected_type="CRT")
    assert reason_of(HELLO_FRAMES[0], assembler) is RejectReason.UNEXPECTED_TYPE
    assert assembler.total is None
    with pytest.raises(TransferError, match="CRT"):
        decode_frames(HELLO_FRAMES, expected_type="CRT")


def test_unknown_type_behind_a_valid_crc() -> None:
    assert reason_of(forge(kind="XYZ")) is RejectReason.UNKNOWN_TYPE


def test_index_out_of_range() -> None:
    assert reason_of(forge(index=4, total=3, data=b"")) is RejectReason.INDEX_OUT_OF_RANGE


def test_frame_data_of_the_wrong_length() -> None:
    assert reason_of(forge(index=1, data=b"hell")) is RejectReason.BAD_LENGTH
    assert reason_of(forge(index=3, data=b"orld!")) is RejectReason.BAD_LENGTH


def test_inconsistent_envelope() -> None:
    assert reason_of(forge(length=2, total=3, index=1, data=b"")) is RejectReason.MALFORMED
    assert reason_of(forge(length=0, total=2, index=1, data=b"")) is RejectReason.MALFORMED


@pytest.mark.parametrize(
    "body",
    [
        "SR1/TXT/{d}/011/1-3/NBSWY/",  # leading zero
        "SR1/TXT/{d}/11/01-3/NBSWY/",
        "SR1/TXT/{d}/11/00-3/NBSWY/",  # the parity index is a single 0
        "SR1/TXT/{d}/11/1-3/NBSWY=/",  # padding
        "SR1/TXT/{d}/11/1-3/nbswy/",
        "SR1/TXT/{d}/11/1-3/NBSWZ/",  # non-canonical trailing bits
        "SR1/TXT/{d}/11/1-3/NBSWY/EXTRA/",
        "SR1/TXT/{d}A/11/1-3/NBSWY/",
        "SR1/TXT/{d}/11/1/NBSWY/",
        "SR1/TXT/{d}/11/1-10000/NBSWY/",
    ],
)
def test_malformed_frames_behind_a_valid_crc(body: str) -> None:
    text = body.format(d=b32_encode(hashlib.sha256(b"hello world").digest()))
    assert reason_of(text + frame_crc(text)) is RejectReason.MALFORMED


def test_parse_frame_raises_transfer_error() -> None:
    with pytest.raises(TransferError, match="not a Sealroom frame"):
        parse_frame("hello")
    frame = parse_frame(HELLO_FRAMES[1])
    assert (frame.payload_type, frame.index, frame.total, frame.length) == ("TXT", 2, 3, 11)
    assert frame.data == b"lo w"
    assert frame.digest == hashlib.sha256(b"hello world").digest()


# ---------------------------------------------------------------------------------------------
# Refusals of a set of frames


def test_two_messages_mixed_are_refused_and_do_not_disturb_the_first() -> None:
    first = encode_frames(b"first message, long enough", "CRT", 8)
    second = encode_frames(b"second message, long enough", "CRT", 8)
    assembler = FrameAssembler()
    assert assembler.add(first[0]).accepted
    for text in second:
        assert reason_of(text, assembler) is RejectReason.DIFFERENT_MESSAGE
    assert assembler.received == (1,)
    for text in first[1:]:
        assert assembler.add(text).accepted
    assert assembler.payload() == b"first message, long enough"
    with pytest.raises(TransferError, match="refused"):
        decode_frames(first[:2] + second[2:3] + first[2:])


def test_same_payload_with_another_type_or_split_is_another_message() -> None:
    payload = bytes(100)
    assembler = FrameAssembler()
    assert assembler.add(encode_frames(payload, "CRT", 50)[0]).accepted
    assert reason_of(encode_frames(payload, "CSR", 50)[1], assembler) is (
        RejectReason.DIFFERENT_MESSAGE
    )
    assert reason_of(encode_frames(payload, "CRT", 40)[1], assembler) is (
        RejectReason.DIFFERENT_MESSAGE
    )
    # A different fragment size giving the same frame count gives the very same frames.
    assert encode_frames(payload, "CRT", 50) == encode_frames(payload, "CRT", 60)


def test_conflicting_duplicate() -> None:
    assembler = FrameAssembler()
    assert assembler.add(HELLO_FRAMES[0]).accepted
    assert assembler.add(HELLO_FRAMES[0]).status is FrameStatus.DUPLICATE
    assert reason_of(forge(index=1, data=b"HEL"), assembler) is (RejectReason.CONFLICTING_DUPLICATE)


def test_payload_hash_mismatch() -> None:
    wrong = hashlib.sha256(b"hello there").digest()
    forged = [
        forge(digest=wrong, index=1, data=b"hel"),
        forge(digest=wrong, index=2, data=b"lo w"),
        forge(digest=wrong, index=3, data=b"orld"),
    ]
    assembler = FrameAssembler()
    for text in forged:
        assert assembler.add(text).accepted
    assert assembler.complete
    with pytest.raises(TransferError, match="SHA-256"):
        assembler.payload()
    with pytest.raises(TransferError, match="SHA-256"):
        decode_frames(forged)


def test_incomplete_and_empty_sets() -> None:
    assembler = FrameAssembler()
    assert assembler.total is None
    assert assembler.missing == ()
    assert not assembler.complete
    with pytest.raises(TransferError, match="No Sealroom frame"):
        assembler.payload()
    with pytest.raises(TransferError, match="No Sealroom frame"):
        decode_frames([])
    with pytest.raises(TransferError, match="frames 1, 3 still missing"):
        decode_frames([HELLO_FRAMES[1]])


def test_reset_starts_over() -> None:
    assembler = FrameAssembler()
    assembler.add(encode_frames(b"stale", "TXT", 2)[0])
    assert reason_of(HELLO_FRAMES[0], assembler) is RejectReason.DIFFERENT_MESSAGE
    assembler.reset()
    for text in HELLO_FRAMES:
        assert assembler.add(text).accepted
    assert assembler.payload() == b"hello world"


def test_assembler_refuses_unknown_expected_type() -> None:
    with pytest.raises(TransferError, match="Unknown QR payload type"):
        FrameAssembler(expected_type="PEM")


# ---------------------------------------------------------------------------------------------
# The specification alone is enough: a receiver written from docs/qr-frames.md with stdlib only


def spec_receiver(frames: list[str]) -> tuple[str, bytes]:
    def unb32(text: str) -> bytes:
        return base64.b32decode(text + "=" * (-len(text) % 8))

    parts: dict[int, bytes] = {}
    envelope = None
    for text in frames:
        body, crc = text[: text.rindex("/") + 1], text[text.rindex("/") + 1 :]
        assert crc == base64.b32encode(zlib.crc32(body.encode()).to_bytes(4, "big")).decode()[:7]
        match = re.fullmatch(r"SR1/([A-Z]{3})/([A-Z2-7]{52})/(\d+)/(\d+)-(\d+)/([A-Z2-7]*)/", body)
        assert match is not None
        kind, digest, length, index, total, data = match.groups()
        assert envelope in (None, (kind, digest, length, total))
        envelope = (kind, digest, length, total)
        length_n, index_n, total_n = int(length), int(index), int(total)
        chunk = unb32(data)
        assert len(chunk) == index_n * length_n // total_n - (index_n - 1) * length_n // total_n
        parts[index_n] = chunk
    assert envelope is not None
    payload = b"".join(parts[i] for i in range(1, int(envelope[3]) + 1))
    assert hashlib.sha256(payload).digest() == unb32(envelope[1])
    assert len(payload) == int(envelope[2])
    return envelope[0], payload


@settings(max_examples=30, deadline=None)
@given(payload=st.binary(max_size=3000), fragment_size=st.integers(1, 700))
def test_a_receiver_written_from_the_specification_agrees(
    payload: bytes, fragment_size: int
) -> None:
    frames = encode_frames(payload, "CSR", fragment_size)
    assert spec_receiver(list(reversed(frames))) == ("CSR", payload)
