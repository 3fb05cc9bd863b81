"""AES-256-GCM under a keyring with key ids (kit/encryption.py)."""

from __future__ import annotations

import base64
import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bloomer_ai.kit.encryption import (
    DecryptionFailed,
    Keyring,
    KeyringError,
    Sealed,
    new_key_text,
)

KEY_1 = os.urandom(32)
KEY_2 = os.urandom(32)
ROW = b"shop-1/integration-1"


def entry(key_id: str, key: bytes) -> str:
    return f"{key_id}:{base64.b64encode(key).decode()}"


def test_seal_and_open_round_trip_with_a_fresh_nonce() -> None:
    ring = Keyring([("k1", KEY_1)])
    first, second = ring.seal(b"token", ROW), ring.seal(b"token", ROW)
    assert first.key_id == "k1"
    assert first.blob != second.blob  # a new nonce every time
    assert b"token" not in first.blob
    assert ring.open(first, ROW) == ring.open(second, ROW) == b"token"


def test_it_is_plain_aes_gcm_nonce_first() -> None:
    """Anyone holding the key can open a value with the library alone (no format of ours)."""
    sealed = Keyring([("k1", KEY_1)]).seal(b"token", ROW)
    assert AESGCM(KEY_1).decrypt(sealed.blob[:12], sealed.blob[12:], ROW) == b"token"


def test_rotation_new_key_seals_old_key_still_opens() -> None:
    old_ring = Keyring.parse(entry("k1", KEY_1))
    written_before = old_ring.seal(b"token", ROW)
    rotated = Keyring.parse(f"{entry('k2', KEY_2)}, {entry('k1', KEY_1)}")
    assert rotated.current_key_id == "k2"
    assert rotated.open(written_before, ROW) == b"token"
    written_after = rotated.seal(b"token", ROW)
    assert written_after.key_id == "k2"
    assert not rotated.is_current(written_before.key_id)
    # Once every row is re-sealed, the old key can go: the new ring alone opens them.
    assert Keyring.parse(entry("k2", KEY_2)).open(written_after, ROW) == b"token"
    with pytest.raises(DecryptionFailed):
        Keyring.parse(entry("k2", KEY_2)).open(written_before, ROW)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda s: Sealed(s.key_id, s.blob[:-1] + bytes([s.blob[-1] ^ 1])),
        lambda s: Sealed(s.key_id, s.blob[:12]),
        lambda s: Sealed("k9", s.blob),
    ],
)
def test_tampered_or_unknown_values_do_not_open(tamper) -> None:
    ring = Keyring([("k1", KEY_1)])
    with pytest.raises(DecryptionFailed):
        ring.open(tamper(ring.seal(b"token", ROW)), ROW)


def test_a_value_moved_to_another_row_does_not_open() -> None:
    ring = Keyring([("k1", KEY_1)])
    with pytest.raises(DecryptionFailed):
        ring.open(ring.seal(b"token", ROW), b"shop-2/integration-9")


def test_the_same_key_id_under_another_key_does_not_open() -> None:
    sealed = Keyring([("k1", KEY_1)]).seal(b"token", ROW)
    with pytest.raises(DecryptionFailed):
        Keyring([("k1", KEY_2)]).open(sealed, ROW)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "at least one key"),
        ("k1", "not key-id:base64-key"),
        ("k1:%%%%", "not base64"),
        (entry("k1", os.urandom(16)), "32 bytes"),
        (f"{entry('k1', KEY_1)},{entry('k1', KEY_2)}", "used twice"),
        (entry("bad id", KEY_1), "key id"),
    ],
)
def test_bad_keyrings_are_refused_without_showing_a_key(text: str, says: str) -> None:
    with pytest.raises(KeyringError) as caught:
        Keyring.parse(text)
    assert says in str(caught.value)
    for key in (KEY_1, KEY_2):
        assert base64.b64encode(key).decode()[:8] not in str(caught.value)


def test_url_safe_base64_and_missing_padding_are_accepted() -> None:
    key = bytes(range(250, 256)) * 5 + b"\xfb\xff"
    urlsafe = base64.urlsafe_b64encode(key).decode().rstrip("=")
    ring = Keyring.parse(f"k1:{urlsafe}")
    assert ring.open(Keyring([("k1", key)]).seal(b"x", ROW), ROW) == b"x"


def test_reprs_show_key_ids_only() -> None:
    ring = Keyring([("k1", KEY_1)])
    sealed = ring.seal(b"token", ROW)
    assert repr(ring) == "Keyring(key_ids=['k1'])"
    assert sealed.blob.hex() not in repr(sealed)


def test_new_key_text_is_a_usable_entry() -> None:
    assert Keyring.parse(new_key_text("2026-12")).key_ids == ["2026-12"]
