"""Integrations (owner/admin sessions; ``integrations:read|write`` keys) and the inbound
webhook routes they and the platform receive on."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status

from bloomer_ai.auth.dependencies import Access, AuthKind
from bloomer_ai.auth.principal import MANAGERS, Principal
from bloomer_ai.auth.scopes import Scope
from bloomer_ai.config import Settings
from bloomer_ai.idempotency.dependency import Idempotent
from bloomer_ai.integrations import service
from bloomer_ai.integrations.inbound.access import SignedWebhook
from bloomer_ai.integrations.inbound.handlers import InboundHandlers
from bloomer_ai.integrations.inbound.receiver import VerifiedDelivery, receive_delivery
from bloomer_ai.integrations.schemas import (
    IntegrationCreate,
    IntegrationRead,
    IntegrationUpdate,
    Provider,
)
from bloomer_ai.integrations.schemas import Kind as KindFilter
from bloomer_ai.kit.encryption import Keyring
from bloomer_ai.kit.pagination import Page
from bloomer_ai.models import Integration
from bloomer_ai.ratelimit.policy import RouteGroup
from bloomer_ai.web.pagination import Paging
from bloomer_ai.web.routes import JsonRoute
from bloomer_ai.web.unit_of_work import ShopSession
from bloomer_ai.webhooks.verify import public_url

router = APIRouter(prefix="/api/ai", tags=["integrations"], route_class=JsonRoute)
inbound_router = APIRouter(prefix="/api/ai", tags=["inbound webhooks"], route_class=JsonRoute)


def _access(scope: Scope, group: RouteGroup) -> Access:
    return Access(AuthKind.SESSION_OR_KEY, scopes=[scope], roles=MANAGERS, group=group)


Reader = Annotated[Principal, Depends(_access(Scope.INTEGRATIONS_READ, RouteGroup.READ))]
Writer = Annotated[Principal, Depends(_access(Scope.INTEGRATIONS_WRITE, RouteGroup.WRITE))]


async def _keyring(request: Request) -> Keyring:
    keyring: Keyring = request.app.state.keyring
    return keyring


async def _public_base_url(request: Request) -> str:
    """This service's public origin (PUBLIC_BASE_URL, else as the request reached us)."""
    settings: Settings = request.app.state.settings
    return public_url(
        request.url.scheme,
        request.headers.get("host", request.url.netloc),
        "",
        "",
        configured_base_url=settings.webhooks.public_base_url,
        forwarded_headers=request.headers,
        trust_forwarded=settings.webhooks.trust_forwarded_headers,
    )


async def _handlers(request: Request) -> InboundHandlers:
    handlers: InboundHandlers = request.app.state.inbound_handlers
    return handlers


KeyringDep = Annotated[Keyring, Depends(_keyring)]
PublicBaseUrl = Annotated[str, Depends(_public_base_url)]
Handlers = Annotated[InboundHandlers, Depends(_handlers)]

INTEGRATION_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such integration in this shop"}
}


def _read(integration: Integration, base_url: str) -> IntegrationRead:
    return IntegrationRead(
        id=integration.id,
        provider=integration.provider,
        kind=integration.kind,
        external_account_id=integration.external_account_id,
        phone_number=integration.phone_number,
        settings=integration.settings,
        status=integration.status,
        secrets_set=list(integration.secret_names),
        inbound_url=service.inbound_url(base_url, integration),
        created_at=integration.created_at,
        updated_at=integration.updated_at,
    )


@router.post(
    "/integrations",
    response_model=IntegrationRead,
    status_code=status.HTTP_201_CREATED,
    summary="Connect a provider (secrets are write-only); honours Idempotency-Key",
    responses={409: {"description": "Phone number taken, or Idempotency-Key reused"}},
)
async def create_integration(
    body: IntegrationCreate,
    principal: Writer,
    session: ShopSession,
    idempotent: Idempotent,
    keyring: KeyringDep,
    base_url: PublicBaseUrl,
) -> IntegrationRead:
    return _read(await service.create_integration(session, body, keyring), base_url)


@router.get(
    "/integrations", response_model=Page[IntegrationRead], summary="The shop's integrations"
)
async def list_integrations(
    principal: Reader,
    session: ShopSession,
    page: Paging,
    base_url: PublicBaseUrl,
    kind: Annotated[KindFilter | None, Query()] = None,
    provider: Annotated[Provider | None, Query()] = None,
) -> Page[IntegrationRead]:
    rows, next_cursor = await service.list_integrations(session, page, kind=kind, provider=provider)
    return Page[IntegrationRead](
        items=[_read(row, base_url) for row in rows], next_cursor=next_cursor
    )


@router.get(
    "/integrations/{integration_id}",
    response_model=IntegrationRead,
    responses=INTEGRATION_ERRORS,
    summary="An integration (secrets never shown)",
)
async def get_integration(
    integration_id: str, principal: Reader, session: ShopSession, base_url: PublicBaseUrl
) -> IntegrationRead:
    return _read(await service.get_integration(session, integration_id), base_url)


@router.patch(
    "/integrations/{integration_id}",
    response_model=IntegrationRead,
    responses=INTEGRATION_ERRORS,
    summary="Change an integration (settings, status, secrets)",
)
async def update_integration(
    integration_id: str,
    body: IntegrationUpdate,
    principal: Writer,
    session: ShopSession,
    keyring: KeyringDep,
    base_url: PublicBaseUrl,
) -> IntegrationRead:
    integration = await service.update_integration(session, integration_id, body, keyring)
    return _read(integration, base_url)


@router.delete(
    "/integrations/{integration_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=INTEGRATION_ERRORS,
    summary="Delete an integration (its inbound URL stops working)",
)
async def delete_integration(integration_id: str, principal: Writer, session: ShopSession) -> None:
    await service.delete_integration(session, integration_id)


# --- inbound webhooks -----------------------------------------------------------------------

INBOUND_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The provider's delivery, as sent (the signature covers these bytes).",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "application/x-www-form-urlencoded": {"schema": {"type": "object"}},
        },
    }
}
INBOUND_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Received (a repeat gets the first answer again): JSON, or TwiML for Twilio",
        "content": {"application/json": {}, "text/xml": {}},
    },
    401: {"description": "No signature, or one that does not verify"},
    403: {"description": "The delivery names another shop than its integration's"},
    404: {"description": "The platform route found no shop for the delivery"},
    409: {"description": "The delivery id was received for another shop"},
}

Receiver = Callable[..., Awaitable[Response]]

VoiceViaIntegration = Annotated[
    VerifiedDelivery, Depends(SignedWebhook("voice", through_integration=True))
]
VoiceOnThePlatform = Annotated[
    VerifiedDelivery, Depends(SignedWebhook("voice", through_integration=False))
]
SupportViaIntegration = Annotated[
    VerifiedDelivery, Depends(SignedWebhook("support", through_integration=True))
]
SupportOnThePlatform = Annotated[
    VerifiedDelivery, Depends(SignedWebhook("support", through_integration=False))
]
IntegrationId = Annotated[str, Path(description="The integration's id (its inbound URL).")]


async def _answer(
    session: ShopSession, delivery: VerifiedDelivery, handlers: InboundHandlers
) -> Response:
    reply = await receive_delivery(session, delivery, handlers)
    return Response(reply.body, status_code=reply.status, media_type=reply.media_type)


def _inbound(path: str, summary: str) -> Callable[[Receiver], Receiver]:
    return inbound_router.post(
        path,
        summary=summary,
        response_class=Response,
        responses=INBOUND_RESPONSES,
        openapi_extra=INBOUND_OPENAPI,
    )


@_inbound("/voice/webhook/{integration_id}", "A voice provider's webhook, via the integration")
async def voice_webhook_via_integration(
    integration_id: IntegrationId,
    delivery: VoiceViaIntegration,
    session: ShopSession,
    handlers: Handlers,
) -> Response:
    return await _answer(session, delivery, handlers)


@_inbound("/voice/webhook", "A voice provider's webhook on the platform's own account")
async def voice_webhook(
    delivery: VoiceOnThePlatform, session: ShopSession, handlers: Handlers
) -> Response:
    return await _answer(session, delivery, handlers)


@_inbound("/support/webhook/{integration_id}", "A support provider's webhook, via the integration")
async def support_webhook_via_integration(
    integration_id: IntegrationId,
    delivery: SupportViaIntegration,
    session: ShopSession,
    handlers: Handlers,
) -> Response:
    return await _answer(session, delivery, handlers)


@_inbound("/support/webhook", "A support provider's webhook on the platform's own account")
async def support_webhook(
    delivery: SupportOnThePlatform, session: ShopSession, handlers: Handlers
) -> Response:
    return await _answer(session, delivery, handlers)
