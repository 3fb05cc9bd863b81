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

    async def __call__(self, request: Request) -> Principal:
        state = request.app.state
        if self._switch is not None and not getattr(state.settings.features, self._switch):
            raise FeatureDisabled(f"The {self.feature} feature is switched off.")
        authenticator: Authenticator = state.authenticator
        limiter: RateLimiter = state.rate_limiter
        ip = client_ip(request)

        # Only an address this process has seen fail is looked up in the (shared) counter:
        # every other request skips that round trip.
        if limiter.recently_failed(ip):
            blocked = await limiter.exceeded(RouteGroup.AUTH_FAILURES, ip)
            if blocked is not None:
                raise RateLimited(
                    "Too many failed authentications from this address; retry later.",
                    headers=_header_dict(blocked.headers()),
                )
        try:
            principal = await authenticator.authenticate(request)
        except NotAuthenticated as exc:
            failures = await limiter.hit(RouteGroup.AUTH_FAILURES, ip)
            if not failures.allowed:
                raise RateLimited(
                    "Too many failed authentications from this address; retry later.",
                    headers=_header_dict(failures.headers()),
                ) from None
            exc.headers.update(WWW_AUTHENTICATE)
            raise

        decision = await limiter.hit(self.group, principal.rate_limit_identity)
        headers = decision.headers()
        shop_id = request.scope.setdefault("state", {})["shop_id"] = principal.shop_id_text
        structlog.contextvars.bind_contextvars(shop_id=shop_id)
        if not decision.allowed:
            raise RateLimited(headers=_header_dict(headers))  # its own headers, once
        add_response_headers(request.scope, headers)  # a 429 above carries its own

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
