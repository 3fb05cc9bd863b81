"""Outbound webhooks: a shop's endpoints (owners and admins, or keys with the
``webhooks:*`` scopes), the delivery attempts, and redelivery of an event."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, status

from bloomer_ai.auth.dependencies import Access, AuthKind
from bloomer_ai.auth.principal import MANAGERS, Principal
from bloomer_ai.auth.scopes import Scope
from bloomer_ai.config import Settings
from bloomer_ai.kit.pagination import Page
from bloomer_ai.outbound_webhooks import service
from bloomer_ai.outbound_webhooks.schemas import (
    AttemptRead,
    EndpointCreate,
    EndpointRead,
    EndpointUpdate,
    EndpointWithSecret,
    RedeliveryRead,
)
from bloomer_ai.ratelimit.policy import RouteGroup
from bloomer_ai.web.pagination import Paging
from bloomer_ai.web.routes import JsonRoute
from bloomer_ai.web.unit_of_work import ShopSession

router = APIRouter(prefix="/api/ai/webhooks", tags=["webhooks"], route_class=JsonRoute)


def _access(scope: Scope, group: RouteGroup) -> Access:
    return Access(AuthKind.SESSION_OR_KEY, scopes=[scope], roles=MANAGERS, group=group)


Reader = Annotated[Principal, Depends(_access(Scope.WEBHOOKS_READ, RouteGroup.READ))]
Writer = Annotated[Principal, Depends(_access(Scope.WEBHOOKS_WRITE, RouteGroup.WRITE))]


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


AppSettings = Annotated[Settings, Depends(_settings)]

ENDPOINT_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such endpoint in this shop"}
}


def _with_secret(endpoint: Any, secret: str) -> EndpointWithSecret:
    return EndpointWithSecret(**EndpointRead.model_validate(endpoint).model_dump(), secret=secret)


@router.post(
    "/endpoints",
    response_model=EndpointWithSecret,
    status_code=status.HTTP_201_CREATED,
    summary="Add an endpoint (its signing secret is shown once)",
)
async def create_endpoint(
    body: EndpointCreate, principal: Writer, session: ShopSession, settings: AppSettings
) -> EndpointWithSecret:
    endpoint, secret = await service.create_endpoint(
        session,
        url=body.url,
        description=body.description,
        event_types=body.event_types,
        enabled=body.enabled,
        private_allowed=settings.webhook_private_targets_allowed,
        keyring=settings.auth.keyring(),
    )
    return _with_secret(endpoint, secret)


@router.get("/endpoints", response_model=Page[EndpointRead], summary="The shop's endpoints")
async def list_endpoints(
    principal: Reader, session: ShopSession, page: Paging
) -> Page[EndpointRead]:
    rows, next_cursor = await service.list_endpoints(session, page)
    return Page[EndpointRead](
        items=[EndpointRead.model_validate(row) for row in rows], next_cursor=next_cursor
    )


@router.get(
    "/endpoints/{endpoint_id}",
    response_model=EndpointRead,
    responses=ENDPOINT_ERRORS,
    summary="A webhook endpoint (its secret never shown again)",
)
async def get_endpoint(endpoint_id: str, principal: Reader, session: ShopSession) -> EndpointRead:
    return EndpointRead.model_validate(await service.get_endpoint(session, endpoint_id))


@router.patch(
    "/endpoints/{endpoint_id}",
    response_model=EndpointRead,
    responses=ENDPOINT_ERRORS,
    summary="Change a webhook endpoint (URL, event types, enabled)",
)
async def update_endpoint(
    endpoint_id: str,
    body: EndpointUpdate,
    principal: Writer,
    session: ShopSession,
    settings: AppSettings,
) -> EndpointRead:
    endpoint = await service.update_endpoint(
        session,
        endpoint_id,
        body.changes(),
        private_allowed=settings.webhook_private_targets_allowed,
    )
    return EndpointRead.model_validate(endpoint)


@router.delete(
    "/endpoints/{endpoint_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=ENDPOINT_ERRORS,
    summary="Delete a webhook endpoint (no more deliveries to it)",
)
async def delete_endpoint(endpoint_id: str, principal: Writer, session: ShopSession) -> None:
    await service.delete_endpoint(session, endpoint_id)


@router.post(
    "/endpoints/{endpoint_id}/rotate-secret",
    response_model=EndpointWithSecret,
    responses={
        **ENDPOINT_ERRORS,
        409: {"description": "The current secret was sealed with a key this service lacks"},
    },
    summary="A new signing secret (shown once); the old one also signs for an overlap",
)
async def rotate_secret(
    endpoint_id: str, principal: Writer, session: ShopSession, settings: AppSettings
) -> EndpointWithSecret:
    endpoint, secret = await service.rotate_secret(
        session,
        endpoint_id,
        overlap_seconds=settings.outbound.webhook_secret_overlap_seconds,
        keyring=settings.auth.keyring(),
    )
    return _with_secret(endpoint, secret)


@router.get(
    "/attempts", response_model=Page[AttemptRead], summary="Delivery attempts, newest first"
)
async def list_attempts(
    principal: Reader,
    session: ShopSession,
    page: Paging,
    endpoint_id: Annotated[uuid.UUID | None, Query(alias="endpointId")] = None,
    event_id: Annotated[uuid.UUID | None, Query(alias="eventId")] = None,
) -> Page[AttemptRead]:
    rows, next_cursor = await service.list_attempts(
        session, page, endpoint_id=endpoint_id, event_id=event_id
    )
    return Page[AttemptRead](
        items=[AttemptRead.model_validate(row) for row in rows], next_cursor=next_cursor
    )


@router.post(
    "/events/{event_id}/redeliver",
    response_model=RedeliveryRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses={404: {"description": "No such event in this shop"}},
    summary="Send an event again to its endpoints (same webhook-id)",
)
async def redeliver(event_id: str, principal: Writer, session: ShopSession) -> RedeliveryRead:
    event, endpoints = await service.redeliver(session, event_id)
    return RedeliveryRead(event_id=event.id, endpoints=endpoints)
