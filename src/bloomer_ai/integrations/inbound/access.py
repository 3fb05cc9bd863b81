"""``SignedWebhook``: the auth kind of the inbound routes, as one dependency.

Like ``Access`` for sessions and keys, it checks the feature, authenticates (here: the
signature over the raw body), rate-limits and binds the request's session to the shop;
the route table test reads its ``auth_kind``. In order:

1. Through an integration (``…/webhook/{integrationId}``): the integration is looked up
   by id before any shop is known (a SECURITY DEFINER function, with its sealed secrets),
   its secrets opened, the signature checked with them. On the platform route
   (``…/webhook``): the provider is recognised by its signature header and checked with
   the platform's secret from the environment (none configured: that provider is off).
   Any failure is the same ``401``; failures count per client address *and* source, so a
   shop's misconfigured provider cannot lock out a provider address every shop shares.
2. The shop: the integration's; a payload that names another (a ``shopId``, or a called
   number that is another shop's) is ``403`` with nothing stored. On the platform route,
   the ``shopId`` the payload names, else the integration of the called number, else of
   the provider account; none is ``404``, two that disagree ``403``.
3. The shop's webhook rate limit (``RATELIMIT_WEBHOOKS``), then the request's session is
   bound to it. What follows (inbox, handler) runs in that shop's transaction.
"""

from __future__ import annotations

import uuid
from typing import Any

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
from bloomer_ai.auth.errors import InsufficientScope, NotAuthenticated
from bloomer_ai.auth.principal import Principal, PrincipalKind
from bloomer_ai.auth.scopes import Scope
from bloomer_ai.config import Settings, WebhookSettings
from bloomer_ai.db.session import unit_of_work
from bloomer_ai.errors import FeatureDisabled
from bloomer_ai.integrations import service
from bloomer_ai.integrations.errors import (
    DeliveryNamesAnotherShop,
    DeliveryShopUnknown,
    SecretsUnreadable,
    WebhookNotAuthenticated,
)
from bloomer_ai.integrations.inbound import providers
from bloomer_ai.integrations.inbound.handlers import (
    TWIML_NOT_IN_SERVICE,
    InboundEvent,
    Kind,
    Provider,
)
from bloomer_ai.integrations.inbound.providers import ParsedBody, RawDelivery
from bloomer_ai.integrations.inbound.receiver import VerifiedDelivery
from bloomer_ai.integrations.repository import IntegrationRef
from bloomer_ai.kit.encryption import Keyring
from bloomer_ai.kit.ids import parse_id
from bloomer_ai.ratelimit.policy import RateLimiter, RouteGroup
from bloomer_ai.shops import service as shops
from bloomer_ai.shops.errors import ShopNotFound
from bloomer_ai.web.errors import ProviderAnswer
from bloomer_ai.web.features import feature_enabled
from bloomer_ai.web.metrics import UNKNOWN_NUMBERS
from bloomer_ai.web.openapi import RouteContract
from bloomer_ai.web.unit_of_work import bind_request_shop, request_session_of
from bloomer_ai.webhooks.verify import WebhookVerificationError, public_url

log = structlog.get_logger("bloomer_ai.integrations.inbound")

PLATFORM = "platform"


def platform_secrets(hooks: WebhookSettings, kind: Kind, provider: Provider) -> list[str]:
    """The platform's secrets for a provider on a kind's route (empty: switched off)."""
    setting = {
        ("voice", "twilio"): hooks.twilio_auth_token,
        ("voice", "vapi"): hooks.vapi_server_secret,
        ("voice", "lilli"): hooks.voice_webhook_secret,
        ("support", "lilli"): hooks.support_webhook_secret,
        ("support", "chatwoot"): hooks.chatwoot_webhook_secret,
        ("support", "zendesk"): hooks.zendesk_webhook_secret,
    }.get((kind, provider))
    return WebhookSettings.accepted(setting)


def raw_delivery(request: Request, body: bytes, settings: Settings) -> RawDelivery:
    headers = {name.lower(): value for name, value in request.headers.items()}
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    url = public_url(
        request.url.scheme,
        headers.get("host", request.url.netloc),
        raw_path.decode("latin-1"),
        request.scope.get("query_string", b"").decode("latin-1"),
        configured_base_url=settings.webhooks.public_base_url,
        forwarded_headers=headers,
        trust_forwarded=settings.webhooks.trust_forwarded_headers,
    )
    return RawDelivery(headers, body, url, headers.get("content-type", ""))


class SignedWebhook:
    """A signed inbound route of ``kind``: through an integration, or the platform's."""

    auth_kind = AuthKind.SIGNED_WEBHOOK

    def __init__(self, kind: Kind, *, through_integration: bool) -> None:
        self.kind: Kind = kind
        self.through_integration = through_integration
        self.feature = kind

    def __repr__(self) -> str:
        where = "integration" if self.through_integration else PLATFORM
        return f"SignedWebhook({self.kind}, {where})"

    def openapi_contract(self) -> RouteContract:
        """What this declaration means in the OpenAPI document (``web.openapi``)."""
        where = "the integration's secret" if self.through_integration else "the platform's secret"
        return RouteContract(
            security=(),
            statuses={401: "", 403: "", 404: "", 409: "", 413: "", 422: "", 429: "", 503: ""},
            note=f"**Access:** signed by the sender with {where} (`X-Twilio-Signature`, "
            "`webhook-signature`, `X-Vapi-Signature`/`X-Vapi-Secret`, `X-Chatwoot-Signature` or "
            "`X-Zendesk-Webhook-Signature`; docs/integrations.md); no session. "
            + (
                "Support events in our contract may come with an API key holding "
                "`support:events` instead of a signature (docs/support.md). "
                if self.kind == "support" and not self.through_integration
                else ""
            )
            + "A repeated delivery gets the first answer.",
        )

    async def __call__(self, request: Request) -> VerifiedDelivery:
        state = request.app.state
        settings: Settings = state.settings
        if not feature_enabled(settings, self.kind):
            raise FeatureDisabled(f"The {self.kind} feature is switched off.")
        limiter: RateLimiter = state.rate_limiter
        lookups: async_sessionmaker[AsyncSession] = state.session_factory
        integration_id = (
            parse_id(str(request.path_params.get("integration_id", "")))
            if self.through_integration
            else None
        )
        source = str(integration_id) if self.through_integration else f"{PLATFORM}-{self.kind}"
        failures = f"{client_ip(request)}|webhook:{source}"

        await refuse_repeated_failures(limiter, failures)
        raw = raw_delivery(request, await request.body(), settings)
        if self._by_api_key(raw):
            return await self._api_key_delivery(request, raw, limiter, failures)
        try:
            if self.through_integration:
                provider, ref, delivery_id, parsed = await self._through_integration(
                    lookups, state.keyring, settings, raw, integration_id
                )
            else:
                provider, delivery_id, parsed = self._on_the_platform(settings, raw)
                ref = None
        except WebhookNotAuthenticated as exc:
            await count_failed_authentication(limiter, failures)
            exc.headers.update(WWW_AUTHENTICATE)
            raise

        found_id: uuid.UUID | None
        if ref is not None:
            await self._refuse_another_shop(lookups, provider, parsed, ref.shop_id)
            shop_id, found_id = ref.shop_id, ref.id
        else:
            shop_id, found_id = await self._find_the_shop(request, lookups, provider, raw, parsed)

        principal = Principal(kind=PrincipalKind.WEBHOOK, shop_id=shop_id, scopes=frozenset())
        await limit_and_note_shop(request, limiter, RouteGroup.WEBHOOKS, principal)
        bind_request_shop(request, shop_id)
        event = InboundEvent(
            kind=self.kind,
            provider=provider,
            shop_id=shop_id,
            integration_id=found_id,
            delivery_id=delivery_id,
            content_type=raw.content_type,
            body=raw.body,
            payload=parsed.payload,
            form=parsed.form,
            called_number=providers.called_number(provider, parsed),
            integration_settings=ref.settings if ref is not None else None,
        )
        return VerifiedDelivery(event, source=source)

    # -- 1b. an API key instead of a signature (support, platform route) -------------------

    def _by_api_key(self, raw: RawDelivery) -> bool:
        """Lilli may send support events with an API key (``support:events``) instead of
        signing them: on the platform route, a delivery with no signature header and a key."""
        if self.kind != "support" or self.through_integration:
            return False
        if providers.recognise(raw.headers, self.kind) is not None:
            return False
        authorization = raw.headers.get("authorization", "")
        return "x-api-key" in raw.headers or authorization.lower().startswith("bearer blm_")

    async def _api_key_delivery(
        self, request: Request, raw: RawDelivery, limiter: RateLimiter, failures: str
    ) -> VerifiedDelivery:
        authenticator: Authenticator = request.app.state.authenticator
        try:
            principal = await authenticator.authenticate(request)
            if principal.kind is not PrincipalKind.API_KEY:
                raise NotAuthenticated()
        except NotAuthenticated as exc:
            await count_failed_authentication(limiter, failures)
            exc.headers.update(WWW_AUTHENTICATE)
            raise
        if Scope.SUPPORT_EVENTS.value not in principal.scopes:
            raise InsufficientScope(
                details=[{"field": "scopes", "message": "requires support:events", "type": "scope"}]
            )
        parsed = providers.parse_body(raw)
        if any(named != str(principal.shop_id) for named in providers.named_shops(parsed)):
            raise DeliveryNamesAnotherShop()
        await limit_and_note_shop(request, limiter, RouteGroup.WEBHOOKS, principal)
        bind_request_shop(request, principal.shop_id)
        event = InboundEvent(
            kind=self.kind,
            provider="lilli",
            shop_id=principal.shop_id,
            integration_id=None,
            delivery_id=providers.delivery_id("lilli", raw.headers, raw.body),
            content_type=raw.content_type,
            body=raw.body,
            payload=parsed.payload,
        )
        return VerifiedDelivery(event, source=f"key-{principal.api_key_id}")

    # -- 1. the signature -------------------------------------------------------------------

    async def _through_integration(
        self,
        lookups: async_sessionmaker[AsyncSession],
        keyring: Keyring,
        settings: Settings,
        raw: RawDelivery,
        integration_id: uuid.UUID | None,
    ) -> tuple[Provider, IntegrationRef, str, ParsedBody]:
        if integration_id is None:
            raise WebhookNotAuthenticated()
        async with unit_of_work(lookups) as session:
            ref = await service.find_integration_ref(session, integration_id)
        if ref is None or ref.kind != self.kind or ref.status != "active":
            raise WebhookNotAuthenticated()
        provider: Provider = ref.provider  # type: ignore[assignment]
        try:
            secrets = service.signing_secrets(ref, keyring)
        except SecretsUnreadable:
            raise WebhookNotAuthenticated() from None  # logged, with the key's id
        if not secrets:
            raise WebhookNotAuthenticated()
        parsed = providers.parse_body(raw)
        delivery_id = self._verify(
            provider, secrets, raw, parsed, settings, source="integration", vapi_auth=ref.vapi_auth
        )
        return provider, ref, delivery_id, parsed

    def _on_the_platform(
        self, settings: Settings, raw: RawDelivery
    ) -> tuple[Provider, str, ParsedBody]:
        provider = providers.recognise(raw.headers, self.kind)
        if provider is None:
            raise WebhookNotAuthenticated()
        secrets = platform_secrets(settings.webhooks, self.kind, provider)
        if not secrets:
            log.info("webhook_provider_off", provider=provider, kind=self.kind)
            raise WebhookNotAuthenticated()
        parsed = providers.parse_body(raw)
        delivery_id = self._verify(provider, secrets, raw, parsed, settings, source=PLATFORM)
        return provider, delivery_id, parsed

    def _verify(
        self,
        provider: Provider,
        secrets: list[str],
        raw: RawDelivery,
        parsed: ParsedBody,
        settings: Settings,
        *,
        source: str,
        vapi_auth: Any = None,
    ) -> str:
        try:
            return providers.verify(
                provider,
                secrets,
                raw,
                parsed,
                tolerance_s=settings.webhooks.webhook_tolerance_seconds,
                vapi_auth=vapi_auth,
            )
        except WebhookVerificationError as exc:
            log.info(
                "webhook_refused", provider=provider, kind=self.kind, via=source, reason=exc.code
            )
            raise WebhookNotAuthenticated() from None

    # -- 2. the shop -------------------------------------------------------------------------

    async def _refuse_another_shop(
        self,
        lookups: async_sessionmaker[AsyncSession],
        provider: Provider,
        parsed: ParsedBody,
        shop_id: uuid.UUID,
    ) -> None:
        if any(named != str(shop_id) for named in providers.named_shops(parsed)):
            raise DeliveryNamesAnotherShop()
        number = providers.called_number(provider, parsed)
        if number is not None:
            async with unit_of_work(lookups) as session:
                owner = await service.find_integration_by_number(session, number)
            if owner is not None and owner.shop_id != shop_id:
                raise DeliveryNamesAnotherShop()

    async def _find_the_shop(
        self,
        request: Request,
        lookups: async_sessionmaker[AsyncSession],
        provider: Provider,
        raw: RawDelivery,
        parsed: ParsedBody,
    ) -> tuple[uuid.UUID, uuid.UUID | None]:
        named = providers.named_shops(parsed)
        if len(named) > 1:
            raise DeliveryNamesAnotherShop()
        named_shop: uuid.UUID | None = None
        if named:
            named_shop = parse_id(next(iter(named)))
            if named_shop is None:
                raise DeliveryShopUnknown()

        found: IntegrationRef | None = None
        number = providers.called_number(provider, parsed)
        account = providers.account_id(provider, parsed, raw.headers)
        async with unit_of_work(lookups) as session:
            if number is not None:
                found = _active(await service.find_integration_by_number(session, number))
            if found is None and named_shop is None and account is not None:
                found = _active(
                    await service.find_integration_by_account(session, provider, account)
                )
        if named_shop is not None and found is not None and found.shop_id != named_shop:
            raise DeliveryNamesAnotherShop()

        if named_shop is not None:
            await _require_shop(request, named_shop)
            return named_shop, found.id if found is not None else None
        if found is None:
            self._refuse_unknown_number(provider)
        assert found is not None
        return found.shop_id, found.id

    def _refuse_unknown_number(self, provider: Provider) -> None:
        """No shop has the number the delivery is about: counted, nothing stored, and the
        provider's own refusal (Twilio: TwiML saying the number is not in service; JSON
        senders: ``404 shop_not_found``)."""
        UNKNOWN_NUMBERS.labels(self.kind, provider).inc()
        log.info("webhook_unknown_number", provider=provider, kind=self.kind)
        if provider == "twilio":
            raise ProviderAnswer(200, TWIML_NOT_IN_SERVICE, "text/xml")
        raise DeliveryShopUnknown()


def _active(ref: IntegrationRef | None) -> IntegrationRef | None:
    return ref if ref is not None and ref.status == "active" else None


async def _require_shop(request: Request, shop_id: uuid.UUID) -> None:
    """The named shop exists (read under its own row-level security: another shop's row,
    or none, reads as nothing)."""
    bind_request_shop(request, shop_id)
    session = request_session_of(request)
    try:
        await shops.shop_profile(session)
    except ShopNotFound:
        raise DeliveryShopUnknown() from None
