"""The Access dependency through /api/ai/me and /api/ai/keys: credentials of every kind,
shops, roles, scopes, CSRF, rate limits. Session tokens come from the real npm packages."""

from __future__ import annotations

import hmac
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from bloomer_ai.config import FeatureSettings, RateLimitSettings
from bloomer_ai.kit.crypto import KeyedHasher, keyed_hash
from bloomer_ai.models import ApiKey, User
from conftest import TEST_AUTH_SECRET, make_settings
from factories.core import add_member, create_shop, create_user
from support.auth import V4_COOKIE, V5_COOKIE, database_session, issue_key, key_headers
from support.nextauth import mint

OWNER_ID = uuid.UUID("01900000-0000-7000-8000-000000000001")
STAFF_ID = uuid.UUID("01900000-0000-7000-8000-000000000002")
MULTI_ID = uuid.UUID("01900000-0000-7000-8000-000000000003")
STRANGER_ID = uuid.UUID("01900000-0000-7000-8000-000000000004")
APP_ORIGIN = "http://localhost:3000"


@pytest.fixture(scope="module")
def tokens() -> dict[str, str]:
    def v4(sub: uuid.UUID, **extra: Any) -> dict[str, Any]:
        return {"lib": "v4", "secret": TEST_AUTH_SECRET, "token": {"sub": str(sub)}, **extra}

    def v5(sub: uuid.UUID, salt: str = V5_COOKIE, **extra: Any) -> dict[str, Any]:
        return {
            "lib": "v5",
            "secret": TEST_AUTH_SECRET,
            "salt": salt,
            "token": {"sub": str(sub)},
            **extra,
        }

    requests = {
        "owner_v4": v4(OWNER_ID),
        "owner_v5": v5(OWNER_ID),
        "owner_v5_secure": v5(OWNER_ID, "__Secure-authjs.session-token"),
        "owner_v5_big": {**v5(OWNER_ID), "token": {"sub": str(OWNER_ID), "pad": "x" * 6000}},
        "owner_expired": v4(OWNER_ID, maxAge=-120),
        "owner_wrong_secret": {**v4(OWNER_ID), "secret": "another-secret-entirely-000000000000"},
        "staff_v4": v4(STAFF_ID),
        "multi_v4": v4(MULTI_ID),
        "stranger_v4": v4(STRANGER_ID),
        "unknown_v4": v4(uuid.UUID(int=42)),
    }
    names = list(requests)
    return dict(zip(names, mint([requests[n] for n in names]), strict=True))


@pytest.fixture
async def world(db) -> dict[str, Any]:
    shop = await create_shop(db, name="Rozenhof")
    other = await create_shop(db, name="Tulpenhuis")
    owner = await create_user(db, id=OWNER_ID)
    staff = await create_user(db, id=STAFF_ID)
    multi = await create_user(db, id=MULTI_ID)
    await create_user(db, id=STRANGER_ID)
    await add_member(db, shop, owner, "owner")
    await add_member(db, shop, staff, "staff")
    await add_member(db, shop, multi, "admin")
    await add_member(db, other, multi, "owner")
    return {"shop": shop, "other": other, "owner": owner, "staff": staff, "multi": multi}


def cookie(name: str, token: str) -> dict[str, str]:
    return {"Cookie": f"{name}={token}"}


# --- who am I ----------------------------------------------------------------------------


async def test_anonymous_is_401_with_www_authenticate(client, world):
    response = await client.get("/api/ai/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("token_name", "cookie_name"),
    [
        ("owner_v4", V4_COOKIE),
        ("owner_v4", "__Secure-next-auth.session-token"),
        ("owner_v5", V5_COOKIE),
        ("owner_v5_secure", "__Secure-authjs.session-token"),
    ],
)
async def test_session_cookie_of_each_library(client, world, tokens, token_name, cookie_name):
    response = await client.get("/api/ai/me", headers=cookie(cookie_name, tokens[token_name]))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["kind"] == "session"
    assert body["user"]["id"] == str(OWNER_ID)
    assert body["shop"] == {"id": str(world["shop"].id), "name": "Rozenhof"}
    assert body["role"] == "owner"
    assert "routing:read" in body["scopes"]


async def test_chunked_cookie_and_bearer(client, world, tokens):
    big = tokens["owner_v5_big"]
    assert len(big) > 7000
    parts = [big[i : i + 3936] for i in range(0, len(big), 3936)]
    header = "; ".join(f"{V5_COOKIE}.{i}={part}" for i, part in reversed(list(enumerate(parts))))
    response = await client.get("/api/ai/me", headers={"Cookie": header})
    assert response.status_code == 200, response.text
    response = await client.get(
        "/api/ai/me", headers={"Authorization": f"Bearer {tokens['owner_v4']}"}
    )
    assert response.status_code == 200
    assert response.json()["user"]["id"] == str(OWNER_ID)


@pytest.mark.parametrize("token_name", ["owner_expired", "owner_wrong_secret", "unknown_v4"])
async def test_bad_session_tokens_are_401(client, world, tokens, token_name):
    response = await client.get("/api/ai/me", headers=cookie(V4_COOKIE, tokens[token_name]))
    assert response.status_code == 401


async def test_v5_token_under_another_cookie_name_is_401(client, world, tokens):
    response = await client.get(
        "/api/ai/me", headers=cookie("__Secure-authjs.session-token", tokens["owner_v5"])
    )
    assert response.status_code == 401


async def test_tampered_token_is_401(client, world, tokens):
    token = tokens["owner_v4"]
    head, key, iv, ciphertext, tag = token.split(".")
    flipped = ("A" if ciphertext[5] != "A" else "B").join([ciphertext[:5], ciphertext[6:]])
    tampered = ".".join([head, key, iv, flipped, tag])
    response = await client.get("/api/ai/me", headers=cookie(V4_COOKIE, tampered))
    assert response.status_code == 401


async def test_disabled_user_is_401(client, world, tokens, db):
    await db.execute(update(User).where(User.id == OWNER_ID).values(disabled_at=User.created_at))
    await db.flush()
    response = await client.get("/api/ai/me", headers=cookie(V4_COOKIE, tokens["owner_v4"]))
    assert response.status_code == 401


async def test_database_session_strategy(client, world, db):
    token = await database_session(db, OWNER_ID)
    response = await client.get("/api/ai/me", headers=cookie(V4_COOKIE, token))
    assert response.status_code == 200
    assert response.json()["user"]["id"] == str(OWNER_ID)
    expired = await database_session(db, OWNER_ID, expires_in=timedelta(seconds=-1))
    response = await client.get("/api/ai/me", headers=cookie(V4_COOKIE, expired))
    assert response.status_code == 401
    response = await client.get("/api/ai/me", headers=cookie(V4_COOKIE, "no-such-session"))
    assert response.status_code == 401


async def test_user_of_several_shops_must_name_one(client, world, tokens):
    headers = cookie(V4_COOKIE, tokens["multi_v4"])
    response = await client.get("/api/ai/me", headers=headers)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "shop_required"
    other_id = str(world["other"].id)
    response = await client.get("/api/ai/me", headers={**headers, "X-Shop-Id": other_id})
    assert response.status_code == 200
    assert response.json()["shop"]["id"] == other_id
    assert response.json()["role"] == "owner"
    response = await client.get(f"/api/ai/me?shopId={world['shop'].id}", headers=headers)
    assert response.json()["role"] == "admin"


async def test_shop_the_user_is_not_member_of_is_403(client, world, tokens, db):
    foreign = await create_shop(db)
    headers = {**cookie(V4_COOKIE, tokens["owner_v4"]), "X-Shop-Id": str(foreign.id)}
    response = await client.get("/api/ai/me", headers=headers)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden_shop"
    response = await client.get("/api/ai/me", headers=cookie(V4_COOKIE, tokens["stranger_v4"]))
    assert response.status_code == 403


@pytest.mark.parametrize("header_style", ["bearer", "x-api-key"])
async def test_api_key_principal(client, world, db, header_style):
    key_id, secret = await issue_key(db, world["shop"], ["routing:read"], name="lilli")
    headers = key_headers(secret) if header_style == "bearer" else {"X-API-Key": secret}
    response = await client.get("/api/ai/me", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["kind"] == "api_key"
    assert body["key"] == {"id": str(key_id), "name": "lilli"}
    assert body["user"] is None
    assert body["scopes"] == ["routing:read"]


async def test_api_key_for_another_shop_is_403(client, world, db):
    _, secret = await issue_key(db, world["shop"])
    response = await client.get(
        "/api/ai/me", headers={**key_headers(secret), "X-Shop-Id": str(world["other"].id)}
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden_shop"


@pytest.mark.parametrize(
    "presented",
    ["blm_nope", "blm_abcdefghij_" + "x" * 43, "Basic dXNlcjpwYXNz", "Bearer "],
)
async def test_malformed_or_unknown_keys_are_401(client, world, presented):
    header = presented if presented.startswith(("Basic", "Bearer")) else f"Bearer {presented}"
    response = await client.get("/api/ai/me", headers={"Authorization": header})
    assert response.status_code == 401


async def test_expired_key_is_401(client, world, db):
    key_id, secret = await issue_key(db, world["shop"], expires_in_days=1)
    await db.execute(update(ApiKey).where(ApiKey.id == key_id).values(expires_at=ApiKey.created_at))
    await db.flush()
    response = await client.get("/api/ai/me", headers=key_headers(secret))
    assert response.status_code == 401


async def test_last_used_is_written_once_a_minute(client, world, db):
    key_id, secret = await issue_key(db, world["shop"])
    for _ in range(3):
        assert (await client.get("/api/ai/me", headers=key_headers(secret))).status_code == 200
    key = await db.scalar(
        select(ApiKey).where(ApiKey.id == key_id).execution_options(populate_existing=True)
    )
    assert key is not None and key.last_used_at is not None
    first = key.last_used_at
    assert (await client.get("/api/ai/me", headers=key_headers(secret))).status_code == 200
    key = await db.scalar(
        select(ApiKey).where(ApiKey.id == key_id).execution_options(populate_existing=True)
    )
    assert key is not None and key.last_used_at == first


# --- key management ----------------------------------------------------------------------


def owner_headers(tokens: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['owner_v4']}"}


async def test_create_list_revoke_key(client, world, tokens):
    response = await client.post(
        "/api/ai/keys",
        json={"name": "Lilli prod", "scopes": ["agent:chat", "routing:read"], "expiresInDays": 30},
        headers=owner_headers(tokens),
    )
    assert response.status_code == 201, response.text
    created = response.json()
    secret = created["key"]
    assert secret.startswith(f"blm_{created['prefix']}_")
    assert created["scopes"] == ["agent:chat", "routing:read"]
    assert created["expiresAt"] is not None

    listed = (await client.get("/api/ai/keys", headers=owner_headers(tokens))).json()
    assert [item["id"] for item in listed["items"]] == [created["id"]]
    assert "key" not in listed["items"][0]
    assert secret not in str(listed)

    assert (await client.get("/api/ai/me", headers=key_headers(secret))).status_code == 200
    response = await client.delete(f"/api/ai/keys/{created['id']}", headers=owner_headers(tokens))
    assert response.status_code == 204
    assert (await client.get("/api/ai/me", headers=key_headers(secret))).status_code == 401


async def test_key_secret_is_stored_only_as_hash(client, world, tokens, db):
    response = await client.post(
        "/api/ai/keys", json={"name": "k", "scopes": ["agent:chat"]}, headers=owner_headers(tokens)
    )
    secret = response.json()["key"]
    row = await db.scalar(select(ApiKey).where(ApiKey.id == uuid.UUID(response.json()["id"])))
    assert row is not None
    assert secret.encode() not in row.key_hash
    assert len(row.key_hash) == 32


def test_the_hot_path_hashes_keys_as_they_are_stored() -> None:
    """The authenticator's pre-keyed HMAC equals the one-shot HMAC-SHA256 the stored hash
    was made with, call after call (each call works on its own copy of the keyed state)."""
    hasher = KeyedHasher("pepper-one")
    for secret in ("blm_first", "blm_second", "blm_first", ""):
        expected = hmac.new(b"pepper-one", secret.encode(), "sha256").digest()
        assert hasher(secret) == expected == keyed_hash("pepper-one", secret)
    assert KeyedHasher("pepper-two")("blm_first") != hasher("blm_first")


async def test_key_management_needs_owner_or_admin_session(client, world, tokens, db):
    body = {"name": "k", "scopes": ["agent:chat"]}
    staff = {"Authorization": f"Bearer {tokens['staff_v4']}"}
    response = await client.post("/api/ai/keys", json=body, headers=staff)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "insufficient_role"
    _, secret = await issue_key(db, world["shop"])
    response = await client.post("/api/ai/keys", json=body, headers=key_headers(secret))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "session_required"
    assert (await client.get("/api/ai/keys")).status_code == 401


async def test_revoking_another_shops_key_is_404(client, world, tokens, db):
    other_key_id, other_secret = await issue_key(db, world["other"])
    response = await client.delete(f"/api/ai/keys/{other_key_id}", headers=owner_headers(tokens))
    assert response.status_code == 404
    assert (await client.get("/api/ai/me", headers=key_headers(other_secret))).status_code == 200
    response = await client.delete("/api/ai/keys/not-an-id", headers=owner_headers(tokens))
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "k", "scopes": ["no:such"]}, "scopes"),
        ({"name": "k", "scopes": []}, "scopes"),
        ({"name": "", "scopes": ["agent:chat"]}, "name"),
        ({"name": "k", "scopes": ["agent:chat"], "expiresInDays": 0}, "expiresInDays"),
        ({"name": "k", "scopes": ["agent:chat"], "colour": "red"}, "colour"),
    ],
)
async def test_invalid_key_requests_are_422(client, world, tokens, body, field):
    response = await client.post("/api/ai/keys", json=body, headers=owner_headers(tokens))
    assert response.status_code == 422
    assert any(detail["field"] == f"body.{field}" for detail in response.json()["error"]["details"])


# --- CSRF and CORS -----------------------------------------------------------------------


async def test_cookie_writes_need_an_allowed_origin(client, world, tokens):
    body = {"name": "k", "scopes": ["agent:chat"]}
    headers = cookie(V4_COOKIE, tokens["owner_v4"])
    response = await client.post("/api/ai/keys", json=body, headers=headers)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_rejected"
    response = await client.post(
        "/api/ai/keys", json=body, headers={**headers, "Origin": "https://evil.example"}
    )
    assert response.status_code == 403
    response = await client.post(
        "/api/ai/keys", json=body, headers={**headers, "Origin": APP_ORIGIN}
    )
    assert response.status_code == 201
    response = await client.post(
        "/api/ai/keys", json=body, headers={**headers, "Sec-Fetch-Site": "same-origin"}
    )
    assert response.status_code == 201
    # Reads by cookie and writes by bearer are not subject to the origin check.
    assert (await client.get("/api/ai/keys", headers=headers)).status_code == 200


async def test_simple_requests_vary_by_origin_with_or_without_one(client):
    """Requests without Origin skip Starlette's CORS layer but keep what it would add."""
    for extra in ({}, {"Origin": APP_ORIGIN}, {"Origin": "https://evil.example"}):
        response = await client.get("/healthz", headers=extra)
        assert "origin" in response.headers.get("vary", "").lower()
        allowed = response.headers.get("access-control-allow-origin")
        assert allowed == (APP_ORIGIN if extra.get("Origin") == APP_ORIGIN else None)


async def test_cors_allows_only_configured_origins(client, world):
    preflight = {"Access-Control-Request-Method": "POST"}
    response = await client.options("/api/ai/keys", headers={**preflight, "Origin": APP_ORIGIN})
    assert response.headers.get("access-control-allow-origin") == APP_ORIGIN
    assert response.headers.get("access-control-allow-credentials") == "true"
    response = await client.options(
        "/api/ai/keys", headers={**preflight, "Origin": "https://evil.example"}
    )
    assert response.headers.get("access-control-allow-origin") is None


# --- rate limits -------------------------------------------------------------------------


@pytest.fixture
def limited_settings(database_url):
    return make_settings(
        database_url,
        ratelimit=RateLimitSettings(
            ratelimit_read="3/minute", ratelimit_auth_failures="4/minute", _env_file=None
        ),
        features=FeatureSettings(_env_file=None),
    )


@pytest.fixture
async def limited_client(limited_settings, database_url, session_factory):
    from httpx import ASGITransport, AsyncClient

    from bloomer_ai.db.engine import DatabaseTarget
    from bloomer_ai.main import create_app

    application = create_app(
        limited_settings,
        database=DatabaseTarget(database_url, False),
        session_factory=session_factory,
    )
    async with (
        application.router.lifespan_context(application),
        AsyncClient(transport=ASGITransport(app=application), base_url="http://testserver") as c,
    ):
        yield c


async def test_rate_limit_headers_and_429(limited_client, world, db):
    _, secret = await issue_key(db, world["shop"])
    _, other_secret = await issue_key(db, world["shop"])
    statuses = []
    for expected_remaining in (2, 1, 0):
        response = await limited_client.get("/api/ai/me", headers=key_headers(secret))
        statuses.append(response.status_code)
        assert response.headers["ratelimit-limit"] == "3"
        assert response.headers["ratelimit-remaining"] == str(expected_remaining)
        assert response.headers["ratelimit-policy"] == '"read";q=3;w=60'
        assert response.headers["ratelimit"].startswith(f'"read";r={expected_remaining};t=')
        assert 0 <= int(response.headers["ratelimit-reset"]) <= 60
    assert statuses == [200, 200, 200]
    response = await limited_client.get("/api/ai/me", headers=key_headers(secret))
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(response.headers["retry-after"]) <= 60
    # Limits are per principal: another key of the same shop is not affected.
    response = await limited_client.get("/api/ai/me", headers=key_headers(other_secret))
    assert response.status_code == 200


async def test_failed_authentications_are_limited_per_ip(limited_client, world, db):
    _, secret = await issue_key(db, world["shop"])
    for _ in range(4):
        response = await limited_client.get("/api/ai/me", headers=key_headers("blm_wrong"))
        assert response.status_code == 401
    response = await limited_client.get("/api/ai/me", headers=key_headers("blm_wrong"))
    assert response.status_code == 429
    assert "retry-after" in response.headers
    # Even good credentials wait: the address is cooling down.
    response = await limited_client.get("/api/ai/me", headers=key_headers(secret))
    assert response.status_code == 429


async def test_warm_requests_make_no_database_round_trip(client, world, tokens, db, connection):
    """Once the caches are warm, /api/ai/me authenticates and answers from memory."""
    from sqlalchemy import event

    _, secret = await issue_key(db, world["shop"])
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    sync_connection = connection.sync_connection
    for headers in (key_headers(secret), cookie(V4_COOKIE, tokens["owner_v4"])):
        assert (await client.get("/api/ai/me", headers=headers)).status_code == 200  # warm-up
        event.listen(sync_connection, "before_cursor_execute", record)
        try:
            for _ in range(3):
                assert (await client.get("/api/ai/me", headers=headers)).status_code == 200
        finally:
            event.remove(sync_connection, "before_cursor_execute", record)
    assert statements == []


# --- shop selectors: X-Shop-Id, ?shopId=, "shopId" in a body ---------------------------------


async def _key_of(db, shop) -> dict[str, str]:
    _, secret = await issue_key(db, shop)
    return key_headers(secret)


@pytest.mark.parametrize("which", ["existing other shop", "no such shop", "not an id"])
@pytest.mark.parametrize("where", ["header", "query", "body"])
async def test_a_selector_naming_another_shop_is_403_whether_or_not_it_exists(
    client, world, db, which, where
):
    value = {
        "existing other shop": str(world["other"].id),
        "no such shop": str(uuid.uuid4()),
        "not an id": "tulpenhuis",
    }[which]
    headers = await _key_of(db, world["shop"])
    if where == "header":
        response = await client.post(
            "/api/ai/conversations", json={}, headers={**headers, "X-Shop-Id": value}
        )
    elif where == "query":
        response = await client.post(
            f"/api/ai/conversations?shopId={value}", json={}, headers=headers
        )
    else:
        response = await client.post(
            "/api/ai/conversations", json={"shopId": value}, headers=headers
        )
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "forbidden_shop"


async def test_a_session_naming_a_shop_it_is_no_member_of_is_403_whether_or_not_it_exists(
    client, world, tokens
):
    headers = cookie(V4_COOKIE, tokens["owner_v4"])
    for value in (str(world["other"].id), str(uuid.uuid4())):
        response = await client.get("/api/ai/me", headers={**headers, "X-Shop-Id": value})
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden_shop"


async def test_two_different_selectors_are_400(client, world, db):
    headers = await _key_of(db, world["shop"])
    mine, theirs = str(world["shop"].id), str(world["other"].id)
    attempts = [
        ("/api/ai/conversations", [("X-Shop-Id", mine), ("X-Shop-Id", theirs)], {}),
        (f"/api/ai/conversations?shopId={theirs}&shopId={mine}", [], {}),
        ("/api/ai/conversations", [("X-Shop-Id", mine)], {"shopId": theirs}),
        (f"/api/ai/conversations?shopId={mine}", [], {"shopId": theirs}),
    ]
    for path, extra, body in attempts:
        response = await client.post(path, json=body, headers=[*headers.items(), *extra])
        assert response.status_code == 400, (path, extra, body, response.text)
        assert response.json()["error"]["code"] == "conflicting_shop_selectors"


async def test_the_same_selector_twice_is_one(client, world, db):
    headers = await _key_of(db, world["shop"])
    mine = str(world["shop"].id)
    response = await client.post(
        f"/api/ai/conversations?shopId={mine}",
        json={"shopId": mine},
        headers=[*headers.items(), ("X-Shop-Id", mine), ("X-Shop-Id", mine)],
    )
    assert response.status_code == 201, response.text


async def test_a_selector_is_read_however_it_is_spelt_in_json(client, world, db):
    headers = {**await _key_of(db, world["shop"]), "Content-Type": "application/json"}
    escaped = b'{"sh\\u006fpId": "' + str(world["other"].id).encode() + b'"}'
    response = await client.post("/api/ai/conversations", content=escaped, headers=headers)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden_shop"


@pytest.mark.parametrize("raw_key", [b'"shop_id"', b'"shop\\u005fid"', b'"ShopId"'])
async def test_other_spellings_of_the_selector_are_unknown_fields(client, world, db, raw_key):
    headers = {**await _key_of(db, world["shop"]), "Content-Type": "application/json"}
    body = b"{" + raw_key + b': "' + str(world["shop"].id).encode() + b'"}'
    response = await client.post("/api/ai/conversations", content=body, headers=headers)
    assert response.status_code == 422, response.text
    details = response.json()["error"]["details"]
    assert details[0]["type"] == "extra_forbidden"
