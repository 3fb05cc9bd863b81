"""Credentials → Principal. The only code that reads cookies, Authorization and X-API-Key.

Hot-path facts (a key's shop and scopes, a user's memberships, a decoded session token)
are cached per process for ``PRINCIPAL_CACHE_SECONDS``; see docs/auth.md for the staleness
this allows and what is evicted at once. A cache miss is looked up in a short unit of
work of its own, before any shop is known; the request's session is opened afterwards,
bound to the principal's shop.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
import uuid
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Generic, NamedTuple, TypeVar

from cachetools import TLRUCache
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request

from bloomer_ai.auth import repository
from bloomer_ai.auth.errors import (
    ConflictingShopSelectors,
    ForbiddenShop,
    NotAuthenticated,
    ShopRequired,
)
from bloomer_ai.auth.nextauth import (
    InvalidSessionToken,
    NextAuthDecoder,
    extract_session_token,
    looks_like_jwe,
)
from bloomer_ai.auth.principal import Principal, PrincipalKind, Role
from bloomer_ai.auth.scopes import ALL_SCOPES
from bloomer_ai.auth.service import KEY_MARKER, split_key
from bloomer_ai.config import Settings
from bloomer_ai.db.session import unit_of_work
from bloomer_ai.kit.crypto import KeyedHasher, same_secret
from bloomer_ai.kit.time import utcnow
from bloomer_ai.web.routes import header

AUTH_CHANNEL = "auth_changes"
LAST_USED_INTERVAL_SECONDS = 60.0
CACHE_ENTRIES = 10_000

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _Entry(NamedTuple, Generic[V]):
    value: V
    valid_until: float  # time.monotonic()


class FactCache(Generic[K, V]):
    """A bounded cache whose entries live ``ttl_seconds`` at most, or less when the fact
    itself ends sooner (a session's expiry)."""

    def __init__(self, ttl_seconds: float) -> None:
        self.ttl_seconds = ttl_seconds
        self._entries: TLRUCache[K, _Entry[V]] = TLRUCache(
            maxsize=CACHE_ENTRIES,
            ttu=lambda _key, entry, _now: entry.valid_until,
            timer=time.monotonic,
        )

    def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        return entry.value if entry is not None else None

    def put(self, key: K, value: V, ttl_seconds: float | None = None) -> None:
        ttl = self.ttl_seconds if ttl_seconds is None else min(ttl_seconds, self.ttl_seconds)
        if ttl > 0:
            self._entries[key] = _Entry(value, time.monotonic() + ttl)

    def discard(self, key: K) -> None:
        self._entries.pop(key, None)

    def discard_where(self, predicate: Callable[[V], bool]) -> None:
        for key in [key for key, entry in list(self._entries.items()) if predicate(entry.value)]:
            self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()


@dataclass(frozen=True)
class KeyFacts:
    key_id: uuid.UUID
    shop_id: uuid.UUID
    shop_name: str
    scopes: frozenset[str]
    name: str
    expires_at: datetime | None

    @cached_property
    def principal(self) -> Principal:
        """Built once per cached facts (a Principal is immutable)."""
        return Principal(
            kind=PrincipalKind.API_KEY,
            shop_id=self.shop_id,
            shop_name=self.shop_name,
            scopes=self.scopes,
            api_key_id=self.key_id,
            api_key_name=self.name,
        )


@dataclass(frozen=True)
class UserFacts:
    user_id: uuid.UUID
    email: str
    memberships: dict[uuid.UUID, tuple[Role, str]]
    """shop id → (role, shop name)"""


@dataclass(frozen=True)
class Credentials:
    kind: PrincipalKind
    secret: str
    cookie_name: str | None = None
    via_cookie: bool = False


class Authenticator:
    def __init__(self, settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.pepper = settings.auth.pepper()
        self.key_hash = KeyedHasher(self.pepper)
        secrets = settings.auth.session_secrets()
        self.decoder = NextAuthDecoder(secrets) if secrets else None
        self._sessions = sessions
        ttl = settings.auth.principal_cache_seconds
        self.keys: FactCache[bytes, KeyFacts] = FactCache(ttl)
        self.users: FactCache[str, UserFacts] = FactCache(ttl)
        self.session_tokens: FactCache[bytes, str] = FactCache(ttl)
        self.session_claims: FactCache[bytes, str] = FactCache(ttl)
        self._last_used_written: dict[uuid.UUID, float] = {}

    # -- reading credentials -------------------------------------------------------------

    @staticmethod
    def read_credentials(request: Request) -> Credentials | None:
        api_key = header(request, b"x-api-key")
        if api_key:
            return Credentials(PrincipalKind.API_KEY, api_key.strip())
        authorization = header(request, b"authorization")
        if authorization:
            scheme, _, value = authorization.partition(" ")
            value = value.strip()
            if scheme.lower() != "bearer" or not value:
                return Credentials(PrincipalKind.SESSION, "")  # present but unusable: 401
            if value.startswith(KEY_MARKER):
                return Credentials(PrincipalKind.API_KEY, value)
            return Credentials(PrincipalKind.SESSION, value)
        found = extract_session_token(request.cookies)
        if found is not None:
            return Credentials(
                PrincipalKind.SESSION, found.token, cookie_name=found.name, via_cookie=True
            )
        return None

    # -- API keys ------------------------------------------------------------------------

    async def key_facts(self, presented: str) -> KeyFacts:
        digest = self.key_hash(presented)
        facts = self.keys.get(digest)
        now = utcnow()
        if facts is None:
            facts = await self._look_up_key(presented, digest, now)
            self.keys.put(digest, facts)
        elif facts.expires_at is not None and facts.expires_at <= now:
            self.forget_key(facts.key_id)
            raise NotAuthenticated("The API key is invalid, expired or revoked.")
        # At most one write a minute per key and process; the SQL guards across processes.
        clock = time.monotonic()
        last = self._last_used_written.get(facts.key_id)
        if last is None or clock - last >= LAST_USED_INTERVAL_SECONDS:
            self._last_used_written[facts.key_id] = clock
            async with unit_of_work(self._sessions) as session:
                await repository.lookup_touch_key(session, facts.key_id)
        return facts

    async def _look_up_key(self, presented: str, digest: bytes, now: datetime) -> KeyFacts:
        prefix = split_key(presented)
        if prefix is None:
            raise NotAuthenticated("The API key is invalid, expired or revoked.")
        async with unit_of_work(self._sessions) as session:
            key = await repository.lookup_key_by_prefix(session, prefix)
        if (
            key is None
            or not same_secret(key.key_hash, digest)
            or key.revoked_at is not None
            or (key.expires_at is not None and key.expires_at <= now)
        ):
            raise NotAuthenticated("The API key is invalid, expired or revoked.")
        return KeyFacts(
            key.id, key.shop_id, key.shop_name, frozenset(key.scopes), key.name, key.expires_at
        )

    def forget_key(self, key_id: uuid.UUID) -> None:
        """Evict a revoked key from this process at once."""
        self.keys.discard_where(lambda cached: cached.key_id == key_id)

    # -- sessions ------------------------------------------------------------------------

    async def session_user_id(self, credentials: Credentials) -> str:
        token = credentials.secret
        if not token:
            raise NotAuthenticated()
        if looks_like_jwe(token):
            if self.decoder is None:
                raise NotAuthenticated("Session tokens are not accepted: no secret configured.")
            # A decrypted token is remembered (by its hash) until its own exp at the latest.
            digest = hashlib.sha256(f"{credentials.cookie_name}|{token}".encode()).digest()
            subject = self.session_claims.get(digest)
            if subject is not None:
                return subject
            try:
                claims = self.decoder.decode(token, cookie_name=credentials.cookie_name)
            except InvalidSessionToken:
                raise NotAuthenticated("The session token is invalid or expired.") from None
            self.session_claims.put(digest, claims.sub, claims.exp - time.time())
            return claims.sub
        return await self._database_session_user(token)

    async def _database_session_user(self, token: str) -> str:
        if len(token) > 255:
            raise NotAuthenticated()
        digest = hashlib.sha256(token.encode()).digest()
        cached = self.session_tokens.get(digest)
        if cached is not None:
            return cached
        async with unit_of_work(self._sessions) as session:
            found = await repository.lookup_session(session, token)
        now = utcnow()
        if found is None or found[1] < now:
            raise NotAuthenticated("The session is unknown or expired.")
        user_id, expires = str(found[0]), found[1]
        # Never cache past the session's own expiry.
        self.session_tokens.put(digest, user_id, (expires - now).total_seconds())
        return user_id

    async def user_facts(self, subject: str) -> UserFacts:
        cached = self.users.get(subject)
        if cached is not None:
            return cached
        async with unit_of_work(self._sessions) as session:
            user = await repository.lookup_user(session, subject)
            if user is None or user.disabled_at is not None:
                raise NotAuthenticated("The user is unknown or disabled.")
            memberships = await repository.lookup_memberships(session, user.id)
        facts = UserFacts(
            user.id,
            user.email,
            {row.shop_id: (Role(row.role), row.shop_name) for row in memberships},
        )
        self.users.put(subject, facts)
        return facts

    def forget_users(self) -> None:
        self.users.clear()

    # -- the change feed (db.notifications.ChangeFeed, channel AUTH_CHANNEL) -----------------

    def note_change(self, payload: str) -> None:
        """A committed change that cached facts depend on, announced by PostgreSQL."""
        kind, _, subject = payload.partition(":")
        if kind == "key":
            with contextlib.suppress(ValueError):
                self.forget_key(uuid.UUID(subject))
                return
        elif kind == "user":
            with contextlib.suppress(ValueError):
                user_id = uuid.UUID(subject)
                self.users.discard_where(lambda facts: facts.user_id == user_id)
                return
        elif kind == "session":
            with contextlib.suppress(ValueError):
                self.session_tokens.discard(bytes.fromhex(subject))
                return
        # Not ours to interpret: forget everything rather than trust a stale entry.
        self.keys.clear()
        self.users.clear()
        self.session_tokens.clear()

    # -- the principal -------------------------------------------------------------------

    async def authenticate(self, request: Request) -> Principal:
        credentials = self.read_credentials(request)
        if credentials is None:
            raise NotAuthenticated()
        requested_shop = await requested_shop_id(request)
        if credentials.kind is PrincipalKind.API_KEY:
            key = await self.key_facts(credentials.secret)
            if requested_shop is not None and requested_shop != str(key.shop_id):
                raise ForbiddenShop("This API key belongs to another shop.")
            return key.principal
        subject = await self.session_user_id(credentials)
        user = await self.user_facts(subject)
        shop_id = choose_shop(user.memberships, requested_shop)
        role, shop_name = user.memberships[shop_id]
        return Principal(
            kind=PrincipalKind.SESSION,
            shop_id=shop_id,
            shop_name=shop_name,
            scopes=ALL_SCOPES,
            user_id=user.user_id,
            role=role,
            user_email=user.email,
            via_cookie=credentials.via_cookie,
        )


def choose_shop(memberships: dict[uuid.UUID, tuple[Role, str]], requested: str | None) -> uuid.UUID:
    if requested is not None:
        try:
            shop_id = uuid.UUID(requested)
        except ValueError:
            raise ForbiddenShop() from None
        if shop_id not in memberships:
            raise ForbiddenShop()
        return shop_id
    if len(memberships) == 1:
        return next(iter(memberships))
    if not memberships:
        raise ForbiddenShop("You are not a member of any shop.")
    raise ShopRequired()


async def requested_shop_id(request: Request) -> str | None:
    """The shop a request names: ``X-Shop-Id``, ``?shopId=`` or ``"shopId"`` in a JSON
    body (however it is spelt in JSON: the body is decoded, not searched). Several
    different values are ``400 conflicting_shop_selectors``; the same value repeated is
    one."""
    named = {
        value.decode("latin-1").strip()
        for name, value in request.scope["headers"]
        if name == b"x-shop-id" and value.strip()
    }
    if b"shopId" in request.scope.get("query_string", b""):
        named.update(value.strip() for value in request.query_params.getlist("shopId") if value)
    if request.method in {"POST", "PUT", "PATCH"}:
        content_type = header(request, b"content-type") or ""
        if "json" in content_type:
            body = await request.body()
            # Decoded only when it could hold the key: as written, or with escapes.
            if b"shopId" in body or b"\\u" in body:
                try:
                    parsed = json.loads(body)
                except ValueError:
                    parsed = None  # the route's own validation answers 422
                if isinstance(parsed, dict) and isinstance(parsed.get("shopId"), str):
                    named.add(parsed["shopId"].strip())
    if len(named) > 1:
        raise ConflictingShopSelectors()
    return next(iter(named), None)
