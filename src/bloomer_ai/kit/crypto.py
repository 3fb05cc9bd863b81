"""Keyed hashing and constant-time comparison for secrets we store or check."""

from __future__ import annotations

import hmac
import secrets

# Used only outside production (production refuses to start without API_KEY_PEPPER).
DEVELOPMENT_PEPPER = "bloomer-development-pepper-not-for-production"


def keyed_hash(pepper: str, secret: str) -> bytes:
    """HMAC-SHA256 of ``secret`` under ``pepper`` (OpenSSL's one-shot HMAC)."""
    return hmac.digest(pepper.encode(), secret.encode(), "sha256")


class KeyedHasher:
    """``keyed_hash`` under one pepper, for the hot path: the pepper's HMAC key schedule is
    computed once and copied per secret (OpenSSL's one-shot HMAC sets up the key and looks
    up SHA-256 by name on every call)."""

    def __init__(self, pepper: str) -> None:
        self._keyed = hmac.new(pepper.encode(), digestmod="sha256")

    def __call__(self, secret: str) -> bytes:
        mac = self._keyed.copy()
        mac.update(secret.encode())
        return mac.digest()


def same_secret(a: bytes | str, b: bytes | str) -> bool:
    left = a.encode() if isinstance(a, str) else a
    right = b.encode() if isinstance(b, str) else b
    return hmac.compare_digest(left, right)


def random_token(nbytes: int) -> str:
    return secrets.token_urlsafe(nbytes)


def secret_list(text: str) -> list[str]:
    """The secrets a setting holds while it rotates: comma-separated, newest first."""
    return [part.strip() for part in text.split(",") if part.strip()]
