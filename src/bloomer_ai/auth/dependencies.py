"""Route access: one dependency that authenticates, checks, rate-limits and scopes.

Routes declare what they accept where they are declared::

    @router.get("/rules")
    async def list_rules(principal: Annotated[Principal, Depends(Access(
        scopes=[Scope.ROUTING_READ], group=RouteGroup.READ))], ...)

``Access`` is the only way a route gets a principal, so the route inventory test can find
the auth requirement and the rate-limit policy of every ``/api/ai`` route.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated
from urllib.parse import urlsplit

import structlog
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.auth.authenticator import Authenticator
from bloomer_ai.auth.errors import (
    CsrfRejected,
    InsufficientRole,
    InsufficientScope,
    NotAuthenticated,
    SessionRequired,
)
from bloomer_ai.auth.principal import MANAGERS, Principal, PrincipalKind, Role
from bloomer_ai.auth.scopes import Scope
from bloomer_ai.db.session import DbSession, bind_request_shop, request_session_of
from bloomer_ai.errors import RateLimited
from bloomer_ai.kit.middleware import add_response_headers
from bloomer_ai.ratelimit.policy import RateLimiter, RouteGroup

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
WWW_AUTHENTICATE = {"WWW-Authenticate": 'Bearer realm="bloomer-ai"'}


def client_ip(request: Request) -> str:
    client = request.scope.get("client")  # (host, port), without building Starlette's Address
    return str(client[0]) if client else "unknown"


class Access:
    """A route's auth requirement and rate-limit group, as one FastAPI dependency."""

    def __init__(
        self,
        *,
        kinds: Iterable[PrincipalKind] = (PrincipalKind.SESSION, PrincipalKind.API_KEY),
        scopes: Iterable[Scope] = (),
        roles: Iterable[Role] | None = None,
        group: RouteGroup = RouteGroup.DEFAULT,
    ) -> None:
        self.kinds = frozenset(kinds)
        self.scopes = frozenset(scope.value for scope in scopes)
        self.roles = frozenset(roles) if roles is not None else None
        self.group = group
        if not self.kinds:
            raise ValueError("a route must accept at least one kind of principal")

    def __repr__(self) -> str:
        return (
            f"Access(kinds={sorted(self.kinds)}, scopes={sorted(self.scopes)}, "
            f"group={self.group.value})"
        )

    async def __call__(self, request: Request) -> Principal:
        authenticator: Authenticator = request.app.state.authenticator
        limiter: RateLimiter = request.app.state.rate_limiter
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
            principal = await authenticator.authenticate(
                request, lambda: request_session_of(request)
            )
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
        state = request.scope.setdefault("state", {})
        headers = decision.headers()
        shop_id = state["shop_id"] = principal.shop_id_text
        structlog.contextvars.bind_contextvars(shop_id=shop_id)
        if not decision.allowed:
            raise RateLimited(headers=_header_dict(headers))  # its own headers, once
        add_response_headers(request.scope, headers)  # a 429 above carries its own

        self._check(request, principal)
        bind_request_shop(request, principal.shop_id)
        return principal

    def _check(self, request: Request, principal: Principal) -> None:
        if principal.kind not in self.kinds:
            if principal.kind is PrincipalKind.API_KEY:
                raise SessionRequired()
            raise InsufficientScope("This route is for API keys.")
        if not self.scopes <= principal.scopes:
            missing = self.scopes - principal.scopes
            raise InsufficientScope(
                details=[
                    {"field": "scopes", "message": f"requires {scope}", "type": "scope"}
                    for scope in sorted(missing)
                ]
            )
        if self.roles is not None and principal.role not in self.roles:
            raise InsufficientRole()
        if principal.via_cookie and request.method in UNSAFE_METHODS:
            check_same_origin(request)


def check_same_origin(request: Request) -> None:
    """Cookie-authenticated writes must come from the web app (CSRF)."""
    allowed: list[str] = request.app.state.settings.auth.allowed_origins
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


def manager_access(group: RouteGroup) -> Access:
    """An owner or admin signed in to the web app."""
    return Access(kinds=(PrincipalKind.SESSION,), roles=MANAGERS, group=group)


async def scoped_session(session: DbSession) -> AsyncSession:
    """The request's session, which Access has bound to the principal's shop."""
    return session


ShopSession = Annotated[AsyncSession, Depends(scoped_session)]
