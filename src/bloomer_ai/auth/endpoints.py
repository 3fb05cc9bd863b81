"""Who am I, and API-key management for owners and admins of a shop."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from bloomer_ai.auth import service
from bloomer_ai.auth.dependencies import Access, AuthenticatorDep, AuthKind, manager_access
from bloomer_ai.auth.principal import Principal
from bloomer_ai.auth.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyRead, MeRead
from bloomer_ai.kit.pagination import Page
from bloomer_ai.ratelimit.policy import RouteGroup
from bloomer_ai.web.pagination import Paging
from bloomer_ai.web.routes import JsonRoute
from bloomer_ai.web.unit_of_work import ShopSession

router = APIRouter(prefix="/api/ai", tags=["auth"], route_class=JsonRoute)

AnyPrincipal = Annotated[Principal, Depends(Access(AuthKind.SESSION_OR_KEY, group=RouteGroup.READ))]
Manager = Annotated[Principal, Depends(manager_access(RouteGroup.WRITE))]
ManagerRead = Annotated[Principal, Depends(manager_access(RouteGroup.READ))]


@router.get("/me", response_model=MeRead, summary="The caller: user or key, shop, role, scopes")
async def who_am_i(principal: AnyPrincipal) -> MeRead:
    """Who the credentials belong to: the user (session) or the key, the shop, the role and
    the scopes."""
    return service.describe_principal(principal)


@router.post(
    "/keys",
    response_model=ApiKeyCreated,
    status_code=status.HTTP_201_CREATED,
    summary="Create an API key for the shop (shown once)",
)
async def create_key(
    body: ApiKeyCreate,
    principal: Manager,
    session: ShopSession,
    authenticator: AuthenticatorDep,
) -> ApiKeyCreated:
    """Creates an API key for the caller's shop with the scopes given. The key (`blm_…`) is
    in this answer only; it is stored as a hash."""
    issued = await service.create_api_key(
        session,
        name=body.name,
        scopes=body.scopes,
        pepper=authenticator.pepper,
        expires_in_days=body.expires_in_days,
        created_by_user_id=principal.user_id,
    )
    return ApiKeyCreated(**ApiKeyRead.model_validate(issued.key).model_dump(), key=issued.secret)


@router.get("/keys", response_model=Page[ApiKeyRead], summary="The shop's API keys (no secrets)")
async def list_keys(principal: ManagerRead, session: ShopSession, page: Paging) -> Page[ApiKeyRead]:
    """The shop's API keys, newest first: name, prefix, scopes, expiry, last use. Never the
    keys themselves."""
    rows, next_cursor = await service.list_api_keys(session, page)
    return Page[ApiKeyRead](
        items=[ApiKeyRead.model_validate(row) for row in rows], next_cursor=next_cursor
    )


@router.delete(
    "/keys/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke an API key at once",
)
async def revoke_key(
    key_id: str, principal: Manager, session: ShopSession, authenticator: AuthenticatorDep
) -> None:
    """Revokes the key at once, in every process of the service."""
    key = await service.revoke_api_key(session, key_id)
    authenticator.forget_key(key.id)
