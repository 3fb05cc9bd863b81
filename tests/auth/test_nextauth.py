"""NextAuth v4 / Auth.js v5 session tokens, minted by the real npm packages.

tests/fixtures/nextauth/mint.mjs calls ``encode`` from ``next-auth/jwt`` (v4) and
``@auth/core/jwt`` (v5); every token below is minted in one node call per test module.
Tokens the libraries cannot produce (no exp, other algorithms) are crafted with joserfc.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from joserfc import jwe
from joserfc.jwk import OctKey

from bloomer_ai.auth import nextauth
from bloomer_ai.auth.nextauth import (
    InvalidSessionToken,
    NextAuthDecoder,
    SessionClaims,
    extract_session_token,
    looks_like_jwe,
)
from support.nextauth import mint

FIXTURE_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "nextauth"

NEW_SECRET = "new-secret-0123456789abcdef0123456789abcdef"
OLD_SECRET = "old-secret-fedcba9876543210fedcba9876543210"
WRONG_SECRET = "wrong-secret-not-configured-anywhere-000000"

V4_COOKIE = "next-auth.session-token"
V4_SECURE_COOKIE = "__Secure-next-auth.session-token"
V5_COOKIE = "authjs.session-token"
V5_SECURE_COOKIE = "__Secure-authjs.session-token"

# Auth.js's SessionStore: ALLOWED_COOKIE_SIZE (4096) - ESTIMATED_EMPTY_COOKIE_SIZE (160).
AUTHJS_CHUNK_SIZE = 3936

USER = {"sub": "user-123", "name": "Ada Lovelace", "email": "ada@example.com"}

MINT_REQUESTS: dict[str, dict[str, Any]] = {
    "v4": {"lib": "v4", "secret": NEW_SECRET, "token": USER},
    "v4_old_secret": {"lib": "v4", "secret": OLD_SECRET, "token": USER},
    "v4_expired": {"lib": "v4", "secret": NEW_SECRET, "token": USER, "maxAge": -3600},
    "v5": {"lib": "v5", "secret": NEW_SECRET, "salt": V5_COOKIE, "token": USER},
    "v5_secure": {"lib": "v5", "secret": NEW_SECRET, "salt": V5_SECURE_COOKIE, "token": USER},
    "v5_old_secret": {"lib": "v5", "secret": [OLD_SECRET], "salt": V5_COOKIE, "token": USER},
    "v5_expired": {
        "lib": "v5",
        "secret": NEW_SECRET,
        "salt": V5_COOKIE,
        "token": USER,
        "maxAge": -3600,
    },
    # A v5 app that kept the v4 cookie name: the salt is that name.
    "v5_v4_named": {"lib": "v5", "secret": NEW_SECRET, "salt": V4_COOKIE, "token": USER},
    "v5_no_sub": {"lib": "v5", "secret": NEW_SECRET, "salt": V5_COOKIE, "token": {"name": "x"}},
    "v5_big": {
        "lib": "v5",
        "secret": NEW_SECRET,
        "salt": V5_SECURE_COOKIE,
        "token": {**USER, "blob": "x" * 9000},
    },
}


@pytest.fixture(scope="module")
def minted() -> dict[str, str]:
    names = list(MINT_REQUESTS)
    tokens = mint([MINT_REQUESTS[name] for name in names])
    return dict(zip(names, tokens, strict=True))


def decoder(*secrets: str, now: Callable[[], float] | None = None) -> NextAuthDecoder:
    if now is None:
        return NextAuthDecoder(list(secrets or [NEW_SECRET]))
    return NextAuthDecoder(list(secrets or [NEW_SECRET]), now=now)


def reason_of(token: str, cookie_name: str | None, dec: NextAuthDecoder) -> str:
    with pytest.raises(InvalidSessionToken) as caught:
        dec.decode(token, cookie_name=cookie_name)
    return caught.value.reason


def header_of(token: str) -> dict[str, Any]:
    part = token.split(".")[0]
    header: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return header


# Independent re-implementation of the two derivations, for crafting tokens by hand.
def v4_key(secret: str) -> bytes:
    info = b"NextAuth.js Generated Encryption Key"
    return HKDF(hashes.SHA256(), 32, b"", info).derive(secret.encode())


def v5_key(secret: str, salt: str, length: int = 64) -> bytes:
    info = f"Auth.js Generated Encryption Key ({salt})".encode()
    return HKDF(hashes.SHA256(), length, salt.encode(), info).derive(secret.encode())


def craft(header: dict[str, Any], claims: dict[str, Any], key: bytes) -> str:
    algorithms = [header["alg"], header["enc"]]
    return jwe.encrypt_compact(
        header,
        json.dumps(claims).encode(),
        OctKey.import_key(key),
        registry=jwe.JWERegistry(algorithms=algorithms),
    )


def flip_char(token: str, part_index: int) -> str:
    parts = token.split(".")
    part = parts[part_index]
    # A middle character: the last one of a base64url part may carry only padding bits.
    middle = len(part) // 2
    replacement = "A" if part[middle] != "A" else "B"
    parts[part_index] = part[:middle] + replacement + part[middle + 1 :]
    return ".".join(parts)


# --- what the libraries issue ------------------------------------------------------


def test_library_token_shapes(minted: dict[str, str]) -> None:
    assert header_of(minted["v4"]) == {"alg": "dir", "enc": "A256GCM"}
    v5_header = header_of(minted["v5"])
    assert v5_header["alg"] == "dir"
    assert v5_header["enc"] == "A256CBC-HS512"
    # kid = RFC 7638 thumbprint (SHA-512) of the derived 64-byte key.
    key = v5_key(NEW_SECRET, V5_COOKIE)
    jwk = json.dumps({"k": nextauth._b64url(key), "kty": "oct"}, separators=(",", ":"))
    assert v5_header["kid"] == nextauth._b64url(hashlib.sha512(jwk.encode()).digest())
    for name in ("v4", "v5"):
        assert minted[name].split(".")[1] == ""  # alg=dir: no encrypted key
        assert looks_like_jwe(minted[name])


# --- accepted ------------------------------------------------------------------------


@pytest.mark.parametrize("cookie_name", [V4_COOKIE, V4_SECURE_COOKIE])
def test_v4_token_accepted_under_both_cookie_names(
    minted: dict[str, str], cookie_name: str
) -> None:
    claims = decoder().decode(minted["v4"], cookie_name=cookie_name)
    assert claims.sub == "user-123"
    assert claims.email == "ada@example.com"
    assert claims.name == "Ada Lovelace"
    assert claims.exp == claims.raw["exp"]
    assert {"iat", "exp", "jti"} <= claims.raw.keys()


@pytest.mark.parametrize(
    ("token_name", "cookie_name"), [("v5", V5_COOKIE), ("v5_secure", V5_SECURE_COOKIE)]
)
def test_v5_token_accepted_under_its_cookie_name(
    minted: dict[str, str], token_name: str, cookie_name: str
) -> None:
    claims = decoder().decode(minted[token_name], cookie_name=cookie_name)
    assert claims.sub == "user-123"
    assert claims.email == "ada@example.com"


def test_v5_token_under_a_custom_or_v4_cookie_name(minted: dict[str, str]) -> None:
    claims = decoder().decode(minted["v5_v4_named"], cookie_name=V4_COOKIE)
    assert claims.sub == "user-123"


@pytest.mark.parametrize("token_name", ["v4", "v5", "v5_secure", "v5_v4_named"])
def test_bearer_token_decoded_without_cookie_name(minted: dict[str, str], token_name: str) -> None:
    assert decoder().decode(minted[token_name], cookie_name=None).sub == "user-123"


def test_chunked_cookie_joined_and_decoded(minted: dict[str, str]) -> None:
    token = minted["v5_big"]
    assert len(token) > 2 * AUTHJS_CHUNK_SIZE
    chunks = [token[i : i + AUTHJS_CHUNK_SIZE] for i in range(0, len(token), AUTHJS_CHUNK_SIZE)]
    # Insertion order reversed on purpose: the order must come from the suffixes.
    cookies = {"theme": "dark"}
    for index in reversed(range(len(chunks))):
        cookies[f"{V5_SECURE_COOKIE}.{index}"] = chunks[index]

    found = extract_session_token(cookies)

    assert found == (V5_SECURE_COOKIE, token)
    assert found is not None
    claims = decoder().decode(found.token, cookie_name=found.name)
    assert claims.raw["blob"] == "x" * 9000


def test_rotation_v4_older_secret_accepted(minted: dict[str, str]) -> None:
    dec = decoder(NEW_SECRET, OLD_SECRET)
    assert dec.decode(minted["v4_old_secret"], cookie_name=V4_COOKIE).sub == "user-123"
    assert dec.decode(minted["v4"], cookie_name=V4_COOKIE).sub == "user-123"
    assert reason_of(minted["v4_old_secret"], V4_COOKIE, decoder(NEW_SECRET)) == "bad_key"


def test_rotation_v5_kid_picks_the_secret(
    minted: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    token = minted["v5_old_secret"]
    assert reason_of(token, V5_COOKIE, decoder(NEW_SECRET)) == "bad_key"

    attempts: list[object] = []
    real_decrypt = jwe.decrypt_compact

    def counting_decrypt(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args[1])
        return real_decrypt(*args, **kwargs)

    monkeypatch.setattr(jwe, "decrypt_compact", counting_decrypt)
    claims = decoder(NEW_SECRET, OLD_SECRET).decode(token, cookie_name=None)

    assert claims.sub == "user-123"
    # Bearer, 2 secrets: 8 candidate keys (4 salts each); the kid leaves one to try.
    assert len(attempts) == 1


def test_v5_a256gcm_token_accepted(minted: dict[str, str]) -> None:
    # @auth/core's decode still accepts A256GCM (with a 32-byte key); so do we.
    exp = decoder().decode(minted["v5"], cookie_name=V5_COOKIE).exp
    token = craft(
        {"alg": "dir", "enc": "A256GCM"},
        {**USER, "exp": exp},
        v5_key(NEW_SECRET, V5_COOKIE, 32),
    )
    assert decoder().decode(token, cookie_name=V5_COOKIE).sub == "user-123"


# --- rejected --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token_name", "cookie_name"), [("v4_expired", V4_COOKIE), ("v5_expired", V5_COOKIE)]
)
def test_expired_library_token_rejected(
    minted: dict[str, str], token_name: str, cookie_name: str
) -> None:
    assert reason_of(minted[token_name], cookie_name, decoder()) == "expired"


def test_clock_tolerance_is_15_seconds(minted: dict[str, str]) -> None:
    token = minted["v5"]
    exp = decoder().decode(token, cookie_name=V5_COOKIE).exp

    within = decoder(now=lambda: exp + 14)
    assert within.decode(token, cookie_name=V5_COOKIE).sub == "user-123"
    beyond = decoder(now=lambda: exp + 16)
    assert reason_of(token, V5_COOKIE, beyond) == "expired"


def test_issued_in_the_future_rejected(minted: dict[str, str]) -> None:
    iat = decoder().decode(minted["v4"], cookie_name=V4_COOKIE).raw["iat"]
    assert reason_of(minted["v4"], V4_COOKIE, decoder(now=lambda: iat - 60)) == "not_yet_valid"
    assert decoder(now=lambda: iat - 10).decode(minted["v4"], cookie_name=V4_COOKIE)


def test_not_before_in_the_future_rejected(minted: dict[str, str]) -> None:
    exp = decoder().decode(minted["v4"], cookie_name=V4_COOKIE).exp
    token = craft(
        {"alg": "dir", "enc": "A256GCM"}, {**USER, "exp": exp, "nbf": exp - 10}, v4_key(NEW_SECRET)
    )
    assert reason_of(token, V4_COOKIE, decoder()) == "not_yet_valid"


@pytest.mark.parametrize(
    ("token_name", "cookie_name"), [("v4", V4_COOKIE), ("v5", V5_COOKIE), ("v5", None)]
)
def test_wrong_secret_rejected(
    minted: dict[str, str], token_name: str, cookie_name: str | None
) -> None:
    assert reason_of(minted[token_name], cookie_name, decoder(WRONG_SECRET)) == "bad_key"


@pytest.mark.parametrize("token_name", ["v4", "v5"])
@pytest.mark.parametrize(
    ("part_index", "what"), [(0, "header"), (2, "iv"), (3, "ciphertext"), (4, "tag")]
)
def test_tampered_token_rejected(
    minted: dict[str, str], token_name: str, part_index: int, what: str
) -> None:
    tampered = flip_char(minted[token_name], part_index)
    assert tampered != minted[token_name], what
    with pytest.raises(InvalidSessionToken):
        decoder().decode(tampered, cookie_name=None)


@pytest.mark.parametrize(
    ("token_name", "cookie_name"),
    [
        ("v5", V5_SECURE_COOKIE),
        ("v5_secure", V5_COOKIE),
        ("v5", V4_COOKIE),
        ("v4", V5_COOKIE),  # v4 tokens never live in an Auth.js cookie
    ],
)
def test_token_made_for_another_cookie_name_rejected(
    minted: dict[str, str], token_name: str, cookie_name: str
) -> None:
    assert reason_of(minted[token_name], cookie_name, decoder()) == "bad_key"


def test_missing_exp_rejected() -> None:
    header = {"alg": "dir", "enc": "A256GCM"}
    key = v4_key(NEW_SECRET)
    # Control: the same crafting with an exp is accepted, so only the exp is at fault.
    exp = int(time.time()) + 600
    assert decoder().decode(craft(header, {**USER, "exp": exp}, key), cookie_name=V4_COOKIE)
    assert reason_of(craft(header, USER, key), V4_COOKIE, decoder()) == "missing_exp"


def test_missing_sub_rejected(minted: dict[str, str]) -> None:
    assert reason_of(minted["v5_no_sub"], V5_COOKIE, decoder()) == "missing_sub"


@pytest.mark.parametrize(
    ("header", "key"),
    [
        ({"alg": "A256KW", "enc": "A256GCM"}, v4_key(NEW_SECRET)),
        ({"alg": "dir", "enc": "A128GCM"}, v4_key(NEW_SECRET)[:16]),
        ({"alg": "dir", "enc": "A128CBC-HS256"}, v4_key(NEW_SECRET)),
        ({"alg": "dir", "enc": "A192GCM"}, v4_key(NEW_SECRET)[:24]),
    ],
)
def test_other_algorithms_rejected(header: dict[str, Any], key: bytes) -> None:
    exp = int(time.time()) + 600
    token = craft(header, {**USER, "exp": exp}, key)
    assert reason_of(token, V4_COOKIE, decoder()) == "unsupported_algorithm"


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not-a-token",
        "0f7c1a7e-2b51-4f0e-9a7c-6f2b7d8e9a10",  # database-strategy session token
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln",  # a JWS, not a JWE
        "e30..aXY.Y3Q.dGFn.extra",
        "!!!..aXY.Y3Q.dGFn",
        "bm90IGpzb24..aXY.Y3Q.dGFn",  # header is not JSON
        "W10..aXY.Y3Q.dGFn",  # header is a JSON list
    ],
)
def test_malformed_token_rejected(token: str) -> None:
    assert reason_of(token, None, decoder()) == "malformed"


def test_empty_secret_list_refused() -> None:
    with pytest.raises(ValueError, match="secret"):
        NextAuthDecoder(["", ""])


def test_error_and_repr_carry_no_secret_or_personal_data(minted: dict[str, str]) -> None:
    with pytest.raises(InvalidSessionToken) as caught:
        decoder(WRONG_SECRET).decode(minted["v4"], cookie_name=V4_COOKIE)
    assert str(caught.value) == "bad_key"
    claims = decoder().decode(minted["v4"], cookie_name=V4_COOKIE)
    assert isinstance(claims, SessionClaims)
    assert "ada@example.com" not in repr(claims)
    assert "Ada" not in repr(claims)


# --- finding the token among cookies --------------------------------------------------


def test_extract_unchunked_wins_over_chunks() -> None:
    cookies = {V5_COOKIE: "whole", f"{V5_COOKIE}.0": "chunk0", f"{V5_COOKIE}.1": "chunk1"}
    assert extract_session_token(cookies) == (V5_COOKIE, "whole")


def test_extract_joins_chunks_in_numeric_order() -> None:
    cookies = {f"{V4_COOKIE}.{i}": f"<{i}>" for i in (10, 2, 0, 9, 1, 3, 4, 5, 6, 7, 8)}
    found = extract_session_token(cookies)
    assert found == (V4_COOKIE, "".join(f"<{i}>" for i in range(11)))


def test_extract_ignores_chunk_sets_with_gaps_and_foreign_suffixes() -> None:
    assert extract_session_token({f"{V5_COOKIE}.0": "a", f"{V5_COOKIE}.2": "c"}) is None
    assert extract_session_token({f"{V5_COOKIE}.x": "a", f"{V5_COOKIE}.-1": "b"}) is None
    assert extract_session_token({f"{V5_COOKIE}.1": "b"}) is None


def test_extract_cookie_name_priority() -> None:
    everything = {
        V4_COOKIE: "v4",
        V4_SECURE_COOKIE: "v4-secure",
        V5_COOKIE: "v5",
        V5_SECURE_COOKIE: "v5-secure",
    }
    assert extract_session_token(everything) == (V5_SECURE_COOKIE, "v5-secure")
    del everything[V5_SECURE_COOKIE]
    assert extract_session_token(everything) == (V5_COOKIE, "v5")
    del everything[V5_COOKIE]
    assert extract_session_token(everything) == (V4_SECURE_COOKIE, "v4-secure")
    del everything[V4_SECURE_COOKIE]
    assert extract_session_token(everything) == (V4_COOKIE, "v4")


def test_extract_nothing() -> None:
    assert extract_session_token({}) is None
    assert extract_session_token({V5_COOKIE: "", "authjs.csrf-token": "x"}) is None
