"""Credentials → Principal. The only code that reads cookies, Authorization and X-API-Key.

Hot-path facts (a key's shop and scopes, a user's memberships, a decoded session token)
are cached per process for ``PRINCIPAL_CACHE_SECONDS``; see docs/auth.md for the staleness
this allows and what is evicted at once.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from bloomer_ai.auth.api_keys import (
    KEY_MARKER,
    unscoped_find_usable_key,
    unscoped_touch_last_used,
)
from bloomer_ai.auth.errors import ForbiddenShop, NotAuthenticated, ShopRequired
from bloomer_ai.auth.nextauth import (
    InvalidSessionToken,
    NextAuthDecoder,
    extract_session_token,
    looks_like_jwe,
)
from bloomer_ai.auth.principal import Principal, PrincipalKind, Role
from bloomer_ai.auth.scopes import ALL_SCOPES
from bloomer_ai.config import Settings
from bloomer_ai.kit.cache import TTLCache
from bloomer_ai.kit.crypto import DEVELOPMENT_PEPPER, KeyedHasher
from bloomer_ai.kit.http import header
from bloomer_ai.kit.time import utcnow
from bloomer_ai.models import AuthSession, ShopMember, User

LAST_USED_INTERVAL_SECONDS = 60.0
SessionOf = Callable[[], AsyncSession]


@dataclass(frozen=True)
class KeyFacts:
    key_id: uuid.UUID
    shop_id: uuid.UUID
    scopes: frozenset[str]
    name: str
    expires_at: datetime | None

    @cached_property
    def principal(self) -> Principal:
        """Built once per cached facts (a Principal is immutable)."""
        return Principal(
            kind=PrincipalKind.API_KEY,
            shop_id=self.shop_id,
            scopes=self.scopes,
            api_key_id=self.key_id,
            api_key_name=self.name,
        )


@dataclass(frozen=True)
class UserFacts:
    user_id: uuid.UUID
    email: str
    memberships: dict[uuid.UUID, Role]


@dataclass(frozen=True)
class Credentials:
    kind: PrincipalKind
    secret: str
    cookie_name: str | None = None
    via_cookie: bool = False


class Authenticator:
    def __init__(self, settings: Settings) -> None:
        pepper = settings.auth.api_key_pepper
        self.pepper = pepper.get_secret_value() if pepper else DEVELOPMENT_PEPPER
        self.key_hash = KeyedHasher(self.pepper)
        secrets = settings.auth.session_secrets()
        self.decoder = NextAuthDecoder(secrets) if secrets else None
        ttl = settings.auth.principal_cache_seconds
        self.keys: TTLCache[bytes, KeyFacts] = TTLCache(ttl)
        self.users: TTLCache[str, UserFacts] = TTLCache(ttl)
        self.session_tokens: TTLCache[bytes, str] = TTLCache(ttl)
        self.session_claims: TTLCache[bytes, str] = TTLCache(ttl)
        self.shop_names: TTLCache[uuid.UUID, str] = TTLCache(ttl)
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

    async def key_facts(self, session_of: SessionOf, presented: str) -> KeyFacts:
        digest = self.key_hash(presented)
        facts = self.keys.get(digest)
        if facts is None:
            key = await unscoped_find_usable_key(session_of(), presented, self.pepper, utcnow())
            if key is None:
                raise NotAuthenticated("The API key is invalid, expired or revoked.")
            facts = KeyFacts(key.id, key.shop_id, frozenset(key.scopes), key.name, key.expires_at)
            self.keys.put(digest, facts)
        elif facts.expires_at is not None and facts.expires_at <= utcnow():
            self.keys.discard_where(lambda cached: cached.key_id == facts.key_id)
            raise NotAuthenticated("The API key is invalid, expired or revoked.")
        # At most one write a minute per key and process; the SQL guards across processes.
        now = time.monotonic()
        last = self._last_used_written.get(facts.key_id)
        if last is None or now - last >= LAST_USED_INTERVAL_SECONDS:
            self._last_used_written[facts.key_id] = now
            await unscoped_touch_last_used(session_of(), facts.key_id)
        return facts

    def forget_key(self, key_id: uuid.UUID) -> None:
        """Evict a revoked key from this process at once."""
        self.keys.discard_where(lambda cached: cached.key_id == key_id)

    # -- sessions ------------------------------------------------------------------------

    async def session_user_id(self, session_of: SessionOf, credentials: Credentials) -> str:
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
        return await self._database_session_user(session_of, token)

    async def _database_session_user(self, session_of: SessionOf, token: str) -> str:
        if len(token) > 255:
            raise NotAuthenticated()
        digest = hashlib.sha256(token.encode()).digest()
        cached = self.session_tokens.get(digest)
        if cached is not None:
            return cached
        row = await session_of().scalar(
            select(AuthSession).where(AuthSession.session_token == token)
        )
        now = utcnow()
        if row is None or row.expires < now:
            raise NotAuthenticated("The session is unknown or expired.")
        user_id = str(row.user_id)
        # Never cache past the session's own expiry.
        self.session_tokens.put(digest, user_id, (row.expires - now).total_seconds())
        return user_id

    async def user_facts(self, session_of: SessionOf, subject: str) -> UserFacts:
        cached = self.users.get(subject)
        if cached is not None:
            return cached
        try:
            condition = User.id == uuid.UUID(subject)
        except ValueError:
            condition = User.external_id == subject
        session = session_of()
        user = await session.scalar(select(User).where(condition))
        if user is None or user.disabled_at is not None:
            raise NotAuthenticated("The user is unknown or disabled.")
        rows = await session.execute(
            select(ShopMember.shop_id, ShopMember.role).where(ShopMember.user_id == user.id)
        )
        facts = UserFacts(user.id, user.email, {shop: Role(role) for shop, role in rows.all()})
        self.users.put(subject, facts)
        return facts

    def forget_users(self) -> None:
        self.users.clear()

    # -- the principal -------------------------------------------------------------------

    async def authenticate(self, request: Request, session_of: SessionOf) -> Principal:
        """``session_of()`` opens the request's session: only a cache miss needs it."""
        credentials = self.read_credentials(request)
        if credentials is None:
            raise NotAuthenticated()
        requested_shop = await requested_shop_id(request)
        if credentials.kind is PrincipalKind.API_KEY:
            key = await self.key_facts(session_of, credentials.secret)
            if requested_shop is not None and requested_shop != str(key.shop_id):
                raise ForbiddenShop("This API key belongs to another shop.")
            return key.principal
        subject = await self.session_user_id(session_of, credentials)
        user = await self.user_facts(session_of, subject)
        shop_id = choose_shop(user.memberships, requested_shop)
        return Principal(
            kind=PrincipalKind.SESSION,
            shop_id=shop_id,
            scopes=ALL_SCOPES,
            user_id=user.user_id,
            role=user.memberships[shop_id],
            user_email=user.email,
            via_cookie=credentials.via_cookie,
        )


def choose_shop(memberships: dict[uuid.UUID, Role], requested: str | None) -> uuid.UUID:
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
    """The shop a request names: X-Shop-Id, ?shopId=, or "shopId" in a JSON body."""
    named = header(request, b"x-shop-id")
    if named:
        return named.strip()
    if b"shopId" in request.scope.get("query_string", b""):
        query = request.query_params.get("shopId")
        if query:
            return query.strip()
    if request.method in {"POST", "PUT", "PATCH"}:
        content_type = header(request, b"content-type") or ""
        if "json" in content_type:
            body = await request.body()
            if b'"shopId"' in body:
                try:
                    parsed = json.loads(body)
                except ValueError:
                    return None  # the route's own validation answers 422
                if isinstance(parsed, dict) and isinstance(parsed.get("shopId"), str):
                    return str(parsed["shopId"])
    return None
