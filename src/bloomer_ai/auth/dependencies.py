"""Route access: one dependency that checks the feature, authenticates, rate-limits,
checks kind, scope and role, and binds the request's session to the principal's shop.

Every route declares its auth kind where it is defined::

    Reader = Annotated[Principal, Depends(Access(AuthKind.SESSION_OR_KEY,
                                                 scopes=[Scope.ROUTING_READ],
                                                 group=RouteGroup.READ, feature="routing"))]

``Access`` is the only way a route gets a principal; its ``auth_kind`` is what the route
table test reads to know what each route must refuse.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Annotated
from urllib.parse import urlsplit

import structlog
from fastapi import Depends, Request

from bloomer_ai.auth.authenticator import Authenticator
from bloomer_ai.auth.errors import (
    ApiKeyRequired,
    CsrfRejected,
    InsufficientRole,
    InsufficientScope,
    NotAuthenticated,
    SessionRequired,
)
from bloomer_ai.auth.principal import MANAGERS, Principal, PrincipalKind, Role
from bloomer_ai.auth.scopes import Scope
from bloomer_ai.config import Settings
from bloomer_ai.errors import FeatureDisabled, RateLimited
from bloomer_ai.ratelimit.policy import RateLimiter, RouteGroup
from bloomer_ai.web.features import Feature, feature_switch
from bloomer_ai.web.middleware import add_response_headers
from bloomer_ai.web.openapi import RouteContract
from bloomer_ai.web.unit_of_work import bind_request_shop

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
WWW_AUTHENTICATE = {"WWW-Authenticate": 'Bearer realm="bloomer-ai"'}


class AuthKind(StrEnum):
    """What a route or mount accepts: the route table test applies what each implies."""

    SESSION = "session"
    API_KEY = "api_key"
    SESSION_OR_KEY = "session_or_key"
    SIGNED_WEBHOOK = "signed_webhook"


_KINDS: dict[AuthKind, frozenset[PrincipalKind]] = {
    AuthKind.SESSION: frozenset({PrincipalKind.SESSION}),
    AuthKind.API_KEY: frozenset({PrincipalKind.API_KEY}),
    AuthKind.SESSION_OR_KEY: frozenset({PrincipalKind.SESSION, PrincipalKind.API_KEY}),
}


# The document's security schemes: what ``Authenticator.read_credentials`` accepts.
SECURITY_SCHEMES: dict[str, dict[str, str]] = {
    "sessionCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": "authjs.session-token",
        "description": "The web app's NextAuth session cookie, passed through by its server: "
        "`authjs.session-token` or `next-auth.session-token` (with the `__Secure-` prefix "
        "on https). Writes with a cookie must come from an allowed origin (CSRF).",
    },
    "sessionToken": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "NextAuth session token",
        "description": "The same session token as `Authorization: Bearer <token>`: a NextAuth "
        "JWT (v4 or Auth.js v5) or a database session token.",
    },
    "apiKey": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "blm_…",
        "description": "An API key of the shop (`Authorization: Bearer blm_…`), for Lilli "
        "and other servers; what it may do is its scopes.",
    },
    "apiKeyHeader": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "The same API key in the `X-API-Key` header.",
    },
}
_SESSION_SCHEMES = ("sessionCookie", "sessionToken")
_KEY_SCHEMES = ("apiKey", "apiKeyHeader")
SECURITY_BY_KIND: dict[AuthKind, tuple[str, ...]] = {
    AuthKind.SESSION: _SESSION_SCHEMES,
    AuthKind.API_KEY: _KEY_SCHEMES,
    AuthKind.SESSION_OR_KEY: _SESSION_SCHEMES + _KEY_SCHEMES,
}


def client_ip(request: Request) -> str:
    client = request.scope.get("client")  # (host, port), without building Starlette's Address
    return str(client[0]) if client else "unknown"


class Access:
    """A route's auth kind, scopes, roles, rate-limit group and feature, as one dependency."""

    def __init__(
        self,
        kind: AuthKind,
        *,
        scopes: Iterable[Scope] = (),
        roles: Iterable[Role] | None = None,
        group: RouteGroup = RouteGroup.DEFAULT,
        feature: Feature | None = None,
    ) -> None:
        if kind not in _KINDS:
            raise ValueError(f"Access does not authenticate {kind} routes")
        self.auth_kind = kind
        self.kinds = _KINDS[kind]
        self.scopes = frozenset(scope.value for scope in scopes)
        self.roles = frozenset(roles) if roles is not None else None
        self.group = group
        self.feature = feature
        self._switch = feature_switch(feature) if feature is not None else None

    def __repr__(self) -> str:
        return (
            f"Access({self.auth_kind.value}, scopes={sorted(self.scopes)}, "
            f"group={self.group.value}, feature={self.feature})"
        )

    def openapi_contract(self) -> RouteContract:
        """What this declaration means in the OpenAPI document (``web.openapi``)."""
        statuses = {401: "", 403: "", 429: "", 503: ""}
        if self.feature is not None:
            statuses[404] = ""
        who = {
            AuthKind.SESSION: "A web-app session (NextAuth cookie or session token).",
            AuthKind.API_KEY: "An API key of the shop.",
            AuthKind.SESSION_OR_KEY: "A web-app session or an API key of the shop.",
        }[self.auth_kind]
        if self.roles is not None:
            who += " Sessions need the role " + " or ".join(sorted(self.roles)) + "."
        return RouteContract(
            security=SECURITY_BY_KIND[self.auth_kind],
            scopes=self.scopes,
            statuses=statuses,
            note=f"**Access:** {who}",
        )

    async def __call__(self, request: Request) -> Principal:
        state = request.app.state
        if self._switch is not None and not getattr(state.settings.features, self._switch):
            raise FeatureDisabled(f"The {self.feature} feature is switched off.")
        authenticator: Authenticator = state.authenticator
        limiter: RateLimiter = state.rate_limiter
        ip = client_ip(request)

        await refuse_repeated_failures(limiter, ip)
        try:
            principal = await authenticator.authenticate(request)
        except NotAuthenticated as exc:
            await count_failed_authentication(limiter, ip)
            exc.headers.update(WWW_AUTHENTICATE)
            raise

        await limit_and_note_shop(request, limiter, self.group, principal)
        self._check(request, principal, state.settings)
        bind_request_shop(request, principal.shop_id)
        return principal

    def _check(self, request: Request, principal: Principal, settings: Settings) -> None:
        if principal.kind not in self.kinds:
            if principal.kind is PrincipalKind.API_KEY:
                raise SessionRequired()
            raise ApiKeyRequired()
        if not self.scopes <= principal.scopes:
            missing = self.scopes - principal.scopes
            raise InsufficientScope(
                details=[
                    {"field": "scopes", "message": f"requires {scope}", "type": "scope"}
                    for scope in sorted(missing)
                ]
            )
        # Roles are a session's (a member of the shop); a key is held to its scopes.
        if (
            self.roles is not None
            and principal.kind is PrincipalKind.SESSION
            and principal.role not in self.roles
        ):
            raise InsufficientRole()
        if principal.via_cookie and request.method in UNSAFE_METHODS:
            check_same_origin(request, settings.auth.allowed_origins)


_TOO_MANY_FAILURES = "Too many failed authentications from this address; retry later."


async def refuse_repeated_failures(limiter: RateLimiter, identity: str) -> None:
    """429 for a client (an address, or an address and a webhook source) over the limit of
    failed authentications. Only one this process has seen fail is looked up in the
    (shared) counter: every other request skips that round trip."""
    if limiter.recently_failed(identity):
        blocked = await limiter.exceeded(RouteGroup.AUTH_FAILURES, identity)
        if blocked is not None:
            raise RateLimited(_TOO_MANY_FAILURES, headers=_header_dict(blocked.headers()))


async def count_failed_authentication(limiter: RateLimiter, identity: str) -> None:
    """Count a failed authentication; 429 (instead of the 401) once over the limit."""
    failures = await limiter.hit(RouteGroup.AUTH_FAILURES, identity)
    if not failures.allowed:
        raise RateLimited(_TOO_MANY_FAILURES, headers=_header_dict(failures.headers())) from None


async def limit_and_note_shop(
    request: Request, limiter: RateLimiter, group: RouteGroup, principal: Principal
) -> None:
    """Count the request against the principal's limit (429 over it; the RateLimit headers
    on the response either way) and name its shop in the request's log line."""
    decision = await limiter.hit(group, principal.rate_limit_identity)
    headers = decision.headers()
    shop_id = request.scope.setdefault("state", {})["shop_id"] = principal.shop_id_text
    structlog.contextvars.bind_contextvars(shop_id=shop_id)
    if not decision.allowed:
        raise RateLimited(headers=_header_dict(headers))  # its own headers, once
    add_response_headers(request.scope, headers)  # a 429 above carries its own


def check_same_origin(request: Request, allowed: list[str]) -> None:
    """Cookie-authenticated writes must come from the web app (CSRF)."""
    origin = request.headers.get("origin")
    if origin:
        if _origin_of(origin) in {_origin_of(item) for item in allowed}:
            return
        raise CsrfRejected()
    if request.headers.get("sec-fetch-site") in {"same-origin", "same-site"}:
        return
    raise CsrfRejected()


def _origin_of(url: str) -> str:
    parts = urlsplit(url.strip().rstrip("/"))
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def _header_dict(headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    return {name.decode(): value.decode() for name, value in headers}


def manager_access(group: RouteGroup, *, feature: Feature | None = None) -> Access:
    """An owner or admin signed in to the web app."""
    return Access(AuthKind.SESSION, roles=MANAGERS, group=group, feature=feature)


async def _authenticator(request: Request) -> Authenticator:
    authenticator: Authenticator = request.app.state.authenticator
    return authenticator


AuthenticatorDep = Annotated[Authenticator, Depends(_authenticator)]
