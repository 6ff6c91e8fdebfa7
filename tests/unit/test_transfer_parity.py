"""SR1 parity frames: the byte-exact example, round trips with one frame dropped, and refusals."""

from __future__ import annotations

import hashlib
import random

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sealroom.errors import TransferError
from sealroom.transfer.frames import (
    MAX_FRAMES,
    FrameAssembler,
    FrameEncoder,
    FrameStatus,
    RejectReason,
    b32_encode,
    decode_frames,
    encode_frames,
    frame_crc,
    parse_frame,
    xor_fragments,
)

HELLO_FRAMES = [
    "SR1/TXT/XFGSPOMTJU7ARJJOKLL5U7NL7LCIJ37DPJJYB3UQRD32ZYXPZXUQ/11/1-3/NBSWY/NVBSRLI",
    "SR1/TXT/XFGSPOMTJU7ARJJOKLL5U7NL7LCIJ37DPJJYB3UQRD32ZYXPZXUQ/11/2-3/NRXSA5Y/UR3I6TI",
    "SR1/TXT/XFGSPOMTJU7ARJJOKLL5U7NL7LCIJ37DPJJYB3UQRD32ZYXPZXUQ/11/3-3/N5ZGYZA/7VLUUNA",
]
# docs/qr-frames.md, "Parity frame": "hel" ^ "lo w" ^ "orld" padded to 4 bytes = 6B 78 20 13.
HELLO_PARITY = "SR1/TXT/XFGSPOMTJU7ARJJOKLL5U7NL7LCIJ37DPJJYB3UQRD32ZYXPZXUQ/11/0-3/NN4CAEY/UMKNPGY"


def test_parity_example_matches_the_specification() -> None:
    frames = encode_frames(b"hello world", "TXT", 4, parity=True)
    assert frames == [*HELLO_FRAMES, HELLO_PARITY]
    assert parse_frame(HELLO_PARITY).data == bytes.fromhex("6B782013")
    assert xor_fragments([b"hel", b"lo w", b"orld"], 4) == bytes.fromhex("6B782013")


def test_frames_without_parity_are_unchanged() -> None:
    assert encode_frames(b"hello world", "TXT", 4) == HELLO_FRAMES
    assert FrameEncoder(4).frames(b"hello world", "TXT") == HELLO_FRAMES
    assert FrameEncoder(4, parity=True).frames(b"hello world", "TXT")[:3] == HELLO_FRAMES


@pytest.mark.parametrize("dropped", [1, 2, 3])
def test_one_missing_frame_is_rebuilt_and_named(dropped: int) -> None:
    assembler = FrameAssembler("TXT")
    results = [assembler.add(t) for i, t in enumerate(HELLO_FRAMES, 1) if i != dropped]
    assert not assembler.complete
    last = assembler.add(HELLO_PARITY)
    assert last.status is FrameStatus.ACCEPTED
    assert last.repaired == dropped
    assert f"Frame {dropped} of 3 was rebuilt from the parity frame" in last.message
    assert all(r.repaired is None for r in results)
    assert assembler.complete
    assert assembler.repaired == (dropped,)
    assert assembler.received == (1, 2, 3)
    assert assembler.payload() == b"hello world"


def test_two_missing_frames_are_not_rebuilt() -> None:
    assembler = FrameAssembler("TXT")
    assembler.add(HELLO_FRAMES[0])
    assembler.add(HELLO_PARITY)
    assert not assembler.complete
    assert assembler.missing == (2, 3)
    assert assembler.repaired == ()
    with pytest.raises(TransferError, match="frames 2, 3 still missing"):
        assembler.payload()


def test_parity_frame_first_fixes_the_message() -> None:
    assembler = FrameAssembler()
    assert assembler.add(HELLO_PARITY).accepted
    assert assembler.total == 3
    assert assembler.parity_received
    assert assembler.received == ()
    other = encode_frames(b"another message", "TXT", 4)[0]
    assert assembler.add(other).reason is RejectReason.DIFFERENT_MESSAGE


def test_duplicate_and_conflicting_parity() -> None:
    assembler = FrameAssembler("TXT")
    assembler.add(HELLO_PARITY)
    assert assembler.add(HELLO_PARITY).status is FrameStatus.DUPLICATE
    forged = _forge_parity(b"\x00\x00\x00\x00")
    result = assembler.add(forged)
    assert result.reason is RejectReason.CONFLICTING_DUPLICATE
    assert "parity frame" in result.message


def _forge_parity(data: bytes, length: int = 11, total: int = 3) -> str:
    digest = b32_encode(hashlib.sha256(b"hello world").digest())
    body = f"SR1/TXT/{digest}/{length}/0-{total}/{b32_encode(data)}/"
    return body + frame_crc(body)


def test_parity_of_the_wrong_length_is_refused() -> None:
    result = FrameAssembler().add(_forge_parity(b"abc"))
    assert result.reason is RejectReason.BAD_LENGTH
    assert "parity frame" in result.message


def test_a_wrong_parity_frame_never_releases_a_payload() -> None:
    """A parity frame with a valid CRC but wrong data: the SHA-256 refuses the rebuild."""
    assembler = FrameAssembler("TXT")
    assembler.add(HELLO_FRAMES[0])
    assembler.add(HELLO_FRAMES[2])
    assembler.add(_forge_parity(b"\x01\x02\x03\x00"))
    assert assembler.complete
    with pytest.raises(TransferError, match=r"rebuilt from the parity frame .* scan frame 2"):
        assembler.payload()
    # The rebuild was set aside: the real frame 2 still completes the message.
    assert assembler.missing == (2,)
    assert assembler.add(HELLO_FRAMES[1]).accepted
    assert assembler.payload() == b"hello world"


def test_a_rebuild_whose_padding_is_not_zero_is_not_made() -> None:
    # Frame 1 ("hel", 3 bytes) is the short one; a parity whose last byte does not cancel to
    # zero against frames 2 and 3 cannot rebuild it.
    assembler = FrameAssembler("TXT")
    assembler.add(HELLO_FRAMES[1])
    assembler.add(HELLO_FRAMES[2])
    assembler.add(_forge_parity(b"\x6b\x78\x20\x14"))
    assert not assembler.complete
    assert assembler.missing == (1,)


def test_real_frame_disagreeing_with_a_rebuild_sets_the_parity_aside() -> None:
    assembler = FrameAssembler("TXT")
    assembler.add(HELLO_FRAMES[0])
    assembler.add(HELLO_FRAMES[2])
    assembler.add(_forge_parity(b"\x01\x02\x03\x00"))
    result = assembler.add(HELLO_FRAMES[1])
    assert result.accepted
    assert "set aside" in result.message
    assert assembler.repaired == ()
    assert not assembler.parity_received
    assert assembler.payload() == b"hello world"


def test_decode_frames_accepts_a_set_with_parity() -> None:
    frames = encode_frames(bytes(range(256)), "BLB", 50, parity=True)
    assert decode_frames(frames) == ("BLB", bytes(range(256)))
    assert decode_frames(frames[1:]) == ("BLB", bytes(range(256)))


def test_empty_payload_with_parity() -> None:
    frames = encode_frames(b"", "CRT", parity=True)
    assert len(frames) == 2
    assert parse_frame(frames[1]).data == b""
    assert decode_frames(frames[1:]) == ("CRT", b"")


def test_parity_must_be_a_boolean() -> None:
    with pytest.raises(TransferError, match="parity"):
        encode_frames(b"x", "TXT", parity="yes")  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    payload=st.binary(max_size=4096)
    | st.builds(lambda n: bytes(range(256)) * n, st.integers(0, 8)),
    fragment_size=st.integers(1, 2000),
    seed=st.integers(0, 2**32 - 1),
    drop=st.booleans(),
)
@example(payload=bytes(range(256)) * 256, fragment_size=600, seed=7, drop=True).via("64 KiB")
@example(payload=bytes(range(256)), fragment_size=1, seed=3, drop=True).via("one byte a frame")
def test_round_trip_with_parity_any_order_one_dropped(
    payload: bytes, fragment_size: int, seed: int, drop: bool
) -> None:
    fragment_size = max(fragment_size, -(-len(payload) // MAX_FRAMES))
    frames = encode_frames(payload, "BLB", fragment_size, parity=True)
    assert frames[:-1] == encode_frames(payload, "BLB", fragment_size)
    rng = random.Random(seed)  # noqa: S311 - frame order, not secrets
    dropped = rng.randrange(len(frames) - 1) + 1 if drop else None
    shown = [t for i, t in enumerate(frames, 1) if i != dropped]
    rng.shuffle(shown)
    assembler = FrameAssembler("BLB")
    for text in shown:
        result = assembler.add(text)
        # A data frame shown after the parity frame already rebuilt it is a duplicate.
        assert result.accepted or (
            result.status is FrameStatus.DUPLICATE and assembler.repaired == (result.index,)
        )
    assert assembler.complete
    assert assembler.payload() == payload
    if dropped is not None:
        assert assembler.repaired == (dropped,)
    else:  # rebuilt only if the parity frame came before the last data frame
        parity_at = shown.index(frames[-1])
        later = [parse_frame(t).index for t in shown[parity_at + 1 :]]
        assert assembler.repaired == ((later[-1],) if later else ())
