"""``SignedCallback``: the auth kind of ``POST /api/ai/campaigns/generate/{id}/result``.

Lilli delivers a result it accepted for later either **signed** (Standard Webhooks:
``webhook-id``, ``webhook-timestamp``, ``webhook-signature`` over the exact body) or with
an **API key** of the shop holding ``campaigns:callback``:

1. A request with a ``webhook-signature`` header is checked with the platform's
   ``CAMPAIGN_CALLBACK_SECRET`` first, then with the secrets of the Lilli integrations of
   the shop the request belongs to (found through a SECURITY DEFINER look-up by the id in
   the path). Any failure, an unknown id included, is the same ``401``, counted per
   client address; a platform-signed callback for an unknown id is ``404``.
2. Otherwise an API key (``Authorization: Bearer blm_…`` or ``X-API-Key``) of the shop,
   with ``campaigns:callback``; the request is looked up in that shop only (another
   shop's id is ``404``). A session is not a sender (``403 api_key_required``).
3. The shop's webhook rate limit, then the request's session is bound to the shop.

What makes a repeated delivery a repeat: its ``webhook-id``, or, with a key, the body's
SHA-256 (``CallbackSender.callback_id``).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

import structlog
from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bloomer_ai.auth.authenticator import Authenticator
from bloomer_ai.auth.dependencies import (
    WWW_AUTHENTICATE,
    AuthKind,
    client_ip,
    count_failed_authentication,
    limit_and_note_shop,
    refuse_repeated_failures,
)
from bloomer_ai.auth.errors import ApiKeyRequired, InsufficientScope, NotAuthenticated
from bloomer_ai.auth.principal import Principal, PrincipalKind
from bloomer_ai.auth.scopes import Scope
from bloomer_ai.campaign_generation import service
from bloomer_ai.campaign_generation.errors import GenerationNotFound
from bloomer_ai.config import Settings, WebhookSettings
from bloomer_ai.db.session import unit_of_work
from bloomer_ai.errors import FeatureDisabled
from bloomer_ai.kit.ids import parse_id
from bloomer_ai.ratelimit.policy import RateLimiter, RouteGroup
from bloomer_ai.web.features import feature_enabled
from bloomer_ai.web.openapi import RouteContract
from bloomer_ai.web.unit_of_work import bind_request_shop
from bloomer_ai.webhooks.verify import WebhookVerificationError, verify_standard_webhook

log = structlog.get_logger("bloomer_ai.campaign_generation")

PATH_PARAMETER = "generation_id"


@dataclass(frozen=True, slots=True)
class CallbackSender:
    shop_id: uuid.UUID
    via: str
    """``signature`` or ``api_key``."""
    callback_id: str
    """What makes a repeat a repeat: ``webhook:<webhook-id>`` or ``body:<sha256>``."""


def _not_authenticated() -> NotAuthenticated:
    error = NotAuthenticated()
    error.headers.update(WWW_AUTHENTICATE)
    return error


class SignedCallback:
    """Lilli's generation callback: signed, or an API key with ``campaigns:callback``."""

    auth_kind = AuthKind.SIGNED_WEBHOOK
    feature = "campaigns"
    scopes = frozenset({Scope.CAMPAIGNS_CALLBACK.value})

    def __repr__(self) -> str:
        return "SignedCallback(campaigns)"

    def openapi_contract(self) -> RouteContract:
        """What this declaration means in the OpenAPI document (``web.openapi``)."""
        return RouteContract(
            security=("apiKey", "apiKeyHeader"),
            scopes=self.scopes,
            statuses={401: "", 403: "", 404: "", 409: "", 413: "", 422: "", 429: "", 503: ""},
            note="**Access:** signed by the sender (Lilli) per Standard Webhooks "
            "(`webhook-id`, `webhook-timestamp`, `webhook-signature`) with "
            "`CAMPAIGN_CALLBACK_SECRET` or the shop's Lilli integration secret, or an API key "
            "of the shop holding `campaigns:callback`; no session.",
        )

    async def __call__(self, request: Request) -> CallbackSender:
        state = request.app.state
        settings: Settings = state.settings
        if not feature_enabled(settings, "campaigns"):
            raise FeatureDisabled("The campaigns feature is switched off.")
        limiter: RateLimiter = state.rate_limiter
        failures = f"{client_ip(request)}|webhook:campaign-callback"
        await refuse_repeated_failures(limiter, failures)
        headers = {name.lower(): value for name, value in request.headers.items()}
        body = await request.body()
        try:
            if "webhook-signature" in headers:
                sender = await self._signed(request, settings, headers, body)
            else:
                sender = await self._by_api_key(request, headers, body)
        except NotAuthenticated as exc:
            await count_failed_authentication(limiter, failures)
            exc.headers.update(WWW_AUTHENTICATE)
            raise
        principal = Principal(
            kind=PrincipalKind.WEBHOOK, shop_id=sender.shop_id, scopes=frozenset()
        )
        await limit_and_note_shop(request, limiter, RouteGroup.WEBHOOKS, principal)
        bind_request_shop(request, sender.shop_id)
        return sender

    async def _signed(
        self, request: Request, settings: Settings, headers: dict[str, str], body: bytes
    ) -> CallbackSender:
        lookups: async_sessionmaker[AsyncSession] = request.app.state.session_factory
        tolerance = settings.webhooks.webhook_tolerance_seconds
        request_id = parse_id(str(request.path_params.get(PATH_PARAMETER, "")))
        shop_id: uuid.UUID | None = None
        if request_id is not None:
            async with unit_of_work(lookups) as session:
                shop_id = await service.lookup_request_shop(session, request_id)

        platform = WebhookSettings.accepted(settings.webhooks.campaign_callback_secret)
        webhook_id = _verified(platform, headers, body, tolerance, via="platform")
        if webhook_id is None and shop_id is not None:
            async with unit_of_work(lookups, shop_id=shop_id) as session:
                secrets = await service.callback_secrets(session, request.app.state.keyring)
            webhook_id = _verified(secrets, headers, body, tolerance, via="integration")
        if webhook_id is None:
            raise _not_authenticated()
        if shop_id is None:
            raise GenerationNotFound()
        return CallbackSender(shop_id, "signature", f"webhook:{webhook_id}")

    async def _by_api_key(
        self, request: Request, headers: dict[str, str], body: bytes
    ) -> CallbackSender:
        if "x-api-key" not in headers and "authorization" not in headers:
            raise _not_authenticated()
        authenticator: Authenticator = request.app.state.authenticator
        principal = await authenticator.authenticate(request)
        if principal.kind is not PrincipalKind.API_KEY:
            raise ApiKeyRequired()
        if Scope.CAMPAIGNS_CALLBACK.value not in principal.scopes:
            raise InsufficientScope(
                details=[
                    {"field": "scopes", "message": "requires campaigns:callback", "type": "scope"}
                ]
            )
        digest = hashlib.sha256(body).hexdigest()
        return CallbackSender(principal.shop_id, "api_key", f"body:{digest}")


def _verified(
    secrets: list[str], headers: dict[str, str], body: bytes, tolerance: int, *, via: str
) -> str | None:
    """The ``webhook-id`` when one of ``secrets`` signed the delivery, else None."""
    if not secrets:
        return None
    try:
        return verify_standard_webhook(secrets, headers, body, tolerance_s=tolerance)
    except WebhookVerificationError as exc:
        log.info("campaign_callback_refused", via=via, reason=exc.code)
    except ValueError:
        log.error("campaign_callback_secret_unusable", via=via)
    return None
