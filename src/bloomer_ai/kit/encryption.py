"""AES-256-GCM for secrets at rest, under a keyring of named keys (rotation without downtime).

A keyring is an ordered list of ``(key id, 32-byte key)``: the first key seals, every key
opens. A sealed value is ``nonce (12 random bytes) || ciphertext || tag`` and is stored
with the id of the key that sealed it, so adding a new key in front changes what is
written next while everything written before still opens; rows are re-sealed under the
new key at leisure, and only then is the old key dropped.

The associated data binds a sealed value to the row it belongs to (its shop and id): a
value copied into another row does not open there.

Errors never carry a key, a plaintext or a ciphertext.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12
_KEY_ID = re.compile(r"^[A-Za-z0-9._-]{1,32}$")

DEVELOPMENT_KEY_ID = "development"
# Used only outside production (production refuses to start without DATA_ENCRYPTION_KEY).
_DEVELOPMENT_KEY = hashlib.sha256(b"bloomer-development-data-key-not-for-production").digest()


class KeyringError(ValueError):
    """A keyring setting that cannot be used. The message names the entry, never a key."""


class DecryptionFailed(Exception):
    """A sealed value did not open: unknown key id, another key, tampered, or another row."""


@dataclass(frozen=True, slots=True)
class Sealed:
    key_id: str
    blob: bytes

    def __repr__(self) -> str:
        return f"Sealed(key_id={self.key_id!r}, {len(self.blob)} bytes)"


class Keyring:
    def __init__(self, keys: Sequence[tuple[str, bytes]]) -> None:
        if not keys:
            raise KeyringError("a keyring needs at least one key")
        seen: dict[str, AESGCM] = {}
        for position, (key_id, key) in enumerate(keys, start=1):
            if not _KEY_ID.match(key_id):
                raise KeyringError(
                    f"entry {position}: the key id must be 1-32 letters, digits, '.', '_' or '-'"
                )
            if key_id in seen:
                raise KeyringError(f"entry {position}: the key id {key_id!r} is used twice")
            if len(key) != KEY_BYTES:
                raise KeyringError(f"entry {position}: the key must be {KEY_BYTES} bytes")
            seen[key_id] = AESGCM(key)
        self._ciphers = seen
        self.current_key_id = keys[0][0]

    @classmethod
    def parse(cls, text: str) -> Keyring:
        """``id:base64key[,id:base64key…]``, newest first (base64 standard or URL-safe)."""
        keys: list[tuple[str, bytes]] = []
        for position, entry in enumerate((part.strip() for part in text.split(",")), start=1):
            if not entry:
                continue
            key_id, separator, encoded = entry.partition(":")
            if not separator:
                raise KeyringError(f"entry {position} is not key-id:base64-key")
            keys.append((key_id.strip(), _decode_key(encoded.strip(), position)))
        return cls(keys)

    @classmethod
    def development(cls) -> Keyring:
        return cls([(DEVELOPMENT_KEY_ID, _DEVELOPMENT_KEY)])

    @property
    def key_ids(self) -> list[str]:
        return list(self._ciphers)

    def seal(self, plaintext: bytes, associated_data: bytes) -> Sealed:
        nonce = os.urandom(NONCE_BYTES)
        cipher = self._ciphers[self.current_key_id]
        ciphertext = cipher.encrypt(nonce, plaintext, associated_data)
        return Sealed(self.current_key_id, nonce + ciphertext)

    def open(self, sealed: Sealed, associated_data: bytes) -> bytes:
        cipher = self._ciphers.get(sealed.key_id)
        if cipher is None or len(sealed.blob) < NONCE_BYTES + 16:
            raise DecryptionFailed()
        nonce, ciphertext = sealed.blob[:NONCE_BYTES], sealed.blob[NONCE_BYTES:]
        try:
            return cipher.decrypt(nonce, ciphertext, associated_data)
        except InvalidTag:
            raise DecryptionFailed() from None

    def is_current(self, key_id: str) -> bool:
        return key_id == self.current_key_id

    def __repr__(self) -> str:
        return f"Keyring(key_ids={self.key_ids!r})"


def _decode_key(encoded: str, position: int) -> bytes:
    padded = encoded + "=" * (-len(encoded) % 4)
    try:
        if "-" in encoded or "_" in encoded:
            return base64.urlsafe_b64decode(padded)
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        raise KeyringError(f"entry {position}: the key is not base64") from None


def new_key_text(key_id: str) -> str:
    """A fresh keyring entry, ``id:base64``, for an operator to put in front of the setting."""
    return f"{key_id}:{base64.b64encode(os.urandom(KEY_BYTES)).decode()}"
