"""Decode NextAuth v4 / Auth.js v5 JWT-strategy session tokens.

Both libraries store the session as a compact JWE with ``alg=dir``: the content key is
derived from the app secret with HKDF-SHA256, and nothing is signed separately (the
AEAD tag is the integrity check).

* next-auth v4 (``next-auth/jwt``): salt ``""``, info ``"NextAuth.js Generated
  Encryption Key"``, 32 bytes, ``enc=A256GCM``, no ``kid``.
* Auth.js v5 (``@auth/core/jwt``): salt = the session cookie name, info
  ``"Auth.js Generated Encryption Key (<cookie name>)"``, 64 bytes for
  ``A256CBC-HS512`` (what it issues) or 32 for ``A256GCM`` (which it still accepts).
  The protected header's ``kid`` is the RFC 7638 JWK thumbprint of the derived key
  (SHA-512 for a 64-byte key), which is how Auth.js picks among rotated secrets.

Pure code: no web framework; the auth dependencies turn ``InvalidSessionToken`` into a
401.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from joserfc import jwe
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

__all__ = [
    "SESSION_COOKIE_NAMES",
    "V4_SESSION_COOKIE_NAMES",
    "V5_SESSION_COOKIE_NAMES",
    "InvalidSessionToken",
    "NextAuthDecoder",
    "SessionClaims",
    "SessionCookie",
    "extract_session_token",
    "looks_like_jwe",
]

V4_SESSION_COOKIE_NAMES = ("__Secure-next-auth.session-token", "next-auth.session-token")
V5_SESSION_COOKIE_NAMES = ("__Secure-authjs.session-token", "authjs.session-token")
# Lookup priority: v5 before v4 (a migrated app may leave an old v4 cookie behind), and
# the __Secure- variant first since only an HTTPS response can have set it.
SESSION_COOKIE_NAMES = V5_SESSION_COOKIE_NAMES + V4_SESSION_COOKIE_NAMES

_V4_INFO = "NextAuth.js Generated Encryption Key"
_ENC_GCM = "A256GCM"
_ENC_CBC = "A256CBC-HS512"
_KEY_LENGTH = {_ENC_GCM: 32, _ENC_CBC: 64}
# Only what the two libraries issue; anything else is refused before any key is tried.
_JWE_REGISTRY = jwe.JWERegistry(algorithms=["dir", _ENC_GCM, _ENC_CBC])
# A session is a few KiB; this only stops absurd inputs before any base64 or crypto work.
_MAX_TOKEN_CHARS = 65_536
_B64URL_PART = re.compile(r"[A-Za-z0-9_-]*")

InvalidReason = Literal[
    "malformed",
    "unsupported_algorithm",
    "bad_key",
    "invalid_claims",
    "missing_exp",
    "missing_sub",
    "expired",
    "not_yet_valid",
]


class InvalidSessionToken(Exception):
    """The token is not a usable session. ``reason`` is a short code, safe to log."""

    def __init__(self, reason: InvalidReason) -> None:
        self.reason: InvalidReason = reason
        super().__init__(reason)


@dataclass(frozen=True, slots=True)
class SessionClaims:
    sub: str
    # Personal data stays out of repr() so a logged object does not leak it.
    email: str | None = field(repr=False)
    name: str | None = field(repr=False)
    exp: int
    raw: dict[str, Any] = field(repr=False)


class SessionCookie(NamedTuple):
    name: str
    token: str


@dataclass(frozen=True, slots=True)
class _DerivedKey:
    key: OctKey
    # RFC 7638 thumbprint, as Auth.js v5 puts it in the JWE header's "kid".
    thumbprint: str


@functools.lru_cache(maxsize=256)
def _derive_key(secret: str, salt: str, info: str, length: int) -> _DerivedKey:
    # Cached: HKDF plus a thumbprint on every request is wasted work for a fixed secret.
    raw = HKDF(
        algorithm=hashes.SHA256(),
        length=length,
        salt=salt.encode(),
        info=info.encode(),
    ).derive(secret.encode())
    # jose's calculateJwkThumbprint(…, `sha${bits}`): SHA-512 for 64-byte keys.
    digest = hashlib.sha512 if length == 64 else hashlib.sha256
    members = json.dumps({"k": _b64url(raw), "kty": "oct"}, separators=(",", ":"))
    thumbprint = _b64url(digest(members.encode()).digest())
    return _DerivedKey(key=OctKey.import_key(raw), thumbprint=thumbprint)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def looks_like_jwe(token: str) -> bool:
    """True for a compact JWE (JWT strategy); database-strategy tokens are opaque ids."""
    parts = token.split(".")
    if len(parts) != 5:
        return False
    # With alg=dir the encrypted-key part is empty; the others never are.
    header, _encrypted_key, iv, ciphertext, tag = parts
    return all(part and _B64URL_PART.fullmatch(part) for part in (header, iv, ciphertext, tag))


def extract_session_token(cookies: Mapping[str, str]) -> SessionCookie | None:
    """Find the session token among request cookies, joining chunks as Auth.js does.

    A large session is split into ``NAME.0``, ``NAME.1``, …; the chunks are joined in
    numeric order. An unchunked ``NAME`` wins over chunks, and a set of chunks with a gap
    is treated as absent (it could never decrypt).
    """
    for name in SESSION_COOKIE_NAMES:
        whole = cookies.get(name)
        if whole:
            return SessionCookie(name, whole)
        joined = _join_chunks(cookies, name)
        if joined:
            return SessionCookie(name, joined)
    return None


def _join_chunks(cookies: Mapping[str, str], name: str) -> str | None:
    prefix = f"{name}."
    chunks: dict[int, str] = {}
    for cookie_name, value in cookies.items():
        suffix = cookie_name[len(prefix) :] if cookie_name.startswith(prefix) else ""
        if suffix.isdigit() and suffix.isascii() and value:
            chunks[int(suffix)] = value
    if not chunks or sorted(chunks) != list(range(len(chunks))):
        return None
    return "".join(chunks[index] for index in range(len(chunks)))


class NextAuthDecoder:
    """Decrypts and checks session tokens against a list of secrets, newest first."""

    def __init__(
        self,
        secrets: Sequence[str],
        clock_tolerance_s: int = 15,
        now: Callable[[], float] = time.time,
    ) -> None:
        # Order matters (newest first); duplicates and blanks would only cost time.
        unique = [secret for secret in dict.fromkeys(secrets) if secret]
        if not unique:
            raise ValueError("NextAuthDecoder needs at least one non-empty secret")
        self._secrets: tuple[str, ...] = tuple(unique)
        self._clock_tolerance_s = clock_tolerance_s
        self._now = now

    def decode(self, token: str, *, cookie_name: str | None) -> SessionClaims:
        """Decrypt ``token`` and validate its claims.

        ``cookie_name`` is the cookie the token came from (it is the v5 salt), or
        ``None`` for a bearer token, in which case every known derivation is tried.
        """
        if len(token) > _MAX_TOKEN_CHARS or not looks_like_jwe(token):
            raise InvalidSessionToken("malformed")
        header = _protected_header(token)
        alg, enc, kid = header.get("alg"), header.get("enc"), header.get("kid")
        if alg != "dir" or enc not in _KEY_LENGTH or "zip" in header:
            raise InvalidSessionToken("unsupported_algorithm")
        if kid is not None and not isinstance(kid, str):
            raise InvalidSessionToken("malformed")

        candidates = self._candidate_keys(enc, cookie_name)
        if kid is not None:
            # Only Auth.js v5 sets a kid; it names exactly one (secret, salt) pair.
            candidates = [key for key in candidates if key.thumbprint == kid]
        plaintext = _decrypt_with_any(token, candidates)
        return self._validate_claims(plaintext)

    def _candidate_keys(self, enc: str, cookie_name: str | None) -> list[_DerivedKey]:
        salts: tuple[str, ...]
        if cookie_name is None:
            # Bearer: the cookie name (v5 salt) is unknown, so try each known one.
            v4_possible, salts = True, SESSION_COOKIE_NAMES
        elif cookie_name in V5_SESSION_COOKIE_NAMES:
            v4_possible, salts = False, (cookie_name,)
        else:
            # A v4 cookie name, or a custom one: v4, or a v5 app configured to use it.
            v4_possible, salts = True, (cookie_name,)

        length = _KEY_LENGTH[enc]
        keys: list[_DerivedKey] = []
        for secret in self._secrets:
            if v4_possible and enc == _ENC_GCM:
                keys.append(_derive_key(secret, "", _V4_INFO, 32))
            for salt in salts:
                info = f"Auth.js Generated Encryption Key ({salt})"
                keys.append(_derive_key(secret, salt, info, length))
        return keys

    def _validate_claims(self, plaintext: bytes) -> SessionClaims:
        try:
            claims = json.loads(plaintext)
        except ValueError as exc:
            raise InvalidSessionToken("invalid_claims") from exc
        if not isinstance(claims, dict):
            raise InvalidSessionToken("invalid_claims")

        now = self._now()
        leeway = self._clock_tolerance_s
        exp = claims.get("exp")
        if exp is None:
            # Stricter than the libraries on purpose: a session must end.
            raise InvalidSessionToken("missing_exp")
        if not _is_number(exp):
            raise InvalidSessionToken("invalid_claims")
        if exp + leeway <= now:
            raise InvalidSessionToken("expired")
        for claim in ("nbf", "iat"):
            value = claims.get(claim)
            if value is None:
                continue
            if not _is_number(value):
                raise InvalidSessionToken("invalid_claims")
            # An iat in the future is as suspect as an nbf there.
            if value > now + leeway:
                raise InvalidSessionToken("not_yet_valid")

        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub:
            raise InvalidSessionToken("missing_sub")
        return SessionClaims(
            sub=sub,
            email=_optional_str(claims.get("email")),
            name=_optional_str(claims.get("name")),
            exp=int(exp),
            raw=claims,
        )


def _protected_header(token: str) -> dict[str, Any]:
    try:
        header = json.loads(_b64url_decode(token.split(".", 1)[0]))
    except (binascii.Error, ValueError) as exc:
        raise InvalidSessionToken("malformed") from exc
    if not isinstance(header, dict):
        raise InvalidSessionToken("malformed")
    return header


def _decrypt_with_any(token: str, candidates: Sequence[_DerivedKey]) -> bytes:
    for candidate in candidates:
        try:
            result = jwe.decrypt_compact(token, candidate.key, registry=_JWE_REGISTRY)
        except (JoseError, ValueError):
            # Wrong key and tampered token look the same with AEAD: try the next key.
            continue
        if result.plaintext is None:
            raise InvalidSessionToken("malformed")
        return result.plaintext
    raise InvalidSessionToken("bad_key")


def _is_number(value: object) -> bool:
    # json.loads accepts NaN and Infinity, which would slip past every comparison.
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _optional_str(value: object) -> str | None:
    return value if isinstance(value, str) else None
