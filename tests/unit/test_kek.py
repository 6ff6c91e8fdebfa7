"""The key-encryption key: made from mixed randomness, identified by its AES check value, wiped."""

from __future__ import annotations

import subprocess

import pytest
from cryptography.hazmat.primitives import keywrap

from sealroom.backup.errors import BackupError
from sealroom.backup.kek import KEK_BYTES, kek_check_value, new_kek, wipe


def hsm_random(count: int) -> bytes:
    return bytes((7 * i + 3) % 256 for i in range(count))


def test_a_new_kek_is_32_fresh_bytes_in_a_bytearray() -> None:
    first, second = new_kek(hsm_random), new_kek(hsm_random)
    assert isinstance(first, bytearray)
    assert len(first) == KEK_BYTES
    assert first != second, "host randomness is mixed in: the same HSM answer gives another KEK"


def test_a_broken_hsm_rng_is_refused() -> None:
    with pytest.raises(BackupError, match="identical bytes"):
        new_kek(bytes)  # count zero bytes


def test_the_check_value_is_aes_256_ecb_of_a_zero_block_as_openssl_computes_it() -> None:
    kek = bytes(range(32))
    by_openssl = subprocess.run(
        ["openssl", "enc", "-aes-256-ecb", "-nopad", "-K", kek.hex()],
        input=bytes(16),
        capture_output=True,
        check=True,
    ).stdout
    assert kek_check_value(kek) == by_openssl[:3].hex().upper() == "F29000"
    assert kek_check_value(bytearray(kek)) == "F29000"


def test_the_check_value_tells_keys_apart_and_is_six_upper_case_hex_digits() -> None:
    values = {kek_check_value(bytes([i]) * 32) for i in range(64)}
    assert len(values) == 64
    assert all(len(v) == 6 and v == v.upper() for v in values)


def test_the_check_value_is_not_a_block_the_key_wrap_makes() -> None:
    kek = bytes(range(32))
    wrapped = keywrap.aes_key_wrap_with_padding(kek, bytes(16))
    assert bytes.fromhex(kek_check_value(kek)) not in wrapped


def test_a_key_of_another_size_has_no_check_value() -> None:
    with pytest.raises(BackupError, match="32 bytes, not 16"):
        kek_check_value(bytes(16))


def test_wipe_zeroes_the_buffer_in_place() -> None:
    kek = new_kek(hsm_random)
    view = kek
    wipe(kek)
    assert view == bytearray(KEK_BYTES)
