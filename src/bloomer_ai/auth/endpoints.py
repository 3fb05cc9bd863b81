"""Who am I, and API-key management for owners and admins of a shop."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status

from bloomer_ai.auth import api_keys
from bloomer_ai.auth.authenticator import Authenticator
from bloomer_ai.auth.dependencies import Access, ShopSession, manager_access
from bloomer_ai.auth.principal import Principal
from bloomer_ai.auth.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyRead, MeRead
from bloomer_ai.auth.service import describe_principal
from bloomer_ai.db.session import request_session_of
from bloomer_ai.kit.http import JsonRoute
from bloomer_ai.kit.pagination import Page, PageParams, page_params
from bloomer_ai.ratelimit.policy import RouteGroup

router = APIRouter(prefix="/api/ai", tags=["auth"], route_class=JsonRoute)

AnyPrincipal = Annotated[Principal, Depends(Access(group=RouteGroup.READ))]
Manager = Annotated[Principal, Depends(manager_access(RouteGroup.WRITE))]
ManagerRead = Annotated[Principal, Depends(manager_access(RouteGroup.READ))]


@router.get("/me", response_model=MeRead, summary="The caller: user or key, shop, role, scopes")
async def who_am_i(principal: AnyPrincipal, request: Request) -> MeRead:
    # No session parameter: a warm call (cached shop name) never opens one.
    authenticator: Authenticator = request.app.state.authenticator
    return await describe_principal(
        lambda: request_session_of(request), principal, authenticator.shop_names
    )


@router.post(
    "/keys",
    response_model=ApiKeyCreated,
    status_code=status.HTTP_201_CREATED,
    summary="Create an API key for the shop (shown once)",
)
async def create_key(
    body: ApiKeyCreate, principal: Manager, session: ShopSession, request: Request
) -> ApiKeyCreated:
    authenticator: Authenticator = request.app.state.authenticator
    issued = await api_keys.create_api_key(
        session,
        shop_id=principal.shop_id,
        name=body.name,
        scopes=body.scopes,
        pepper=authenticator.pepper,
        expires_in_days=body.expires_in_days,
        created_by_user_id=principal.user_id,
    )
    return ApiKeyCreated(**ApiKeyRead.model_validate(issued.key).model_dump(), key=issued.secret)


@router.get("/keys", response_model=Page[ApiKeyRead], summary="The shop's API keys (no secrets)")
async def list_keys(
    principal: ManagerRead,
    session: ShopSession,
    page: Annotated[PageParams, Depends(page_params)],
) -> Page[ApiKeyRead]:
    rows, next_cursor = await api_keys.list_api_keys(session, page)
    return Page[ApiKeyRead](
        items=[ApiKeyRead.model_validate(row) for row in rows], next_cursor=next_cursor
    )


@router.delete(
    "/keys/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke an API key at once",
)
async def revoke_key(
    key_id: str, principal: Manager, session: ShopSession, request: Request
) -> None:
    key = await api_keys.revoke_api_key(session, key_id)
    authenticator: Authenticator = request.app.state.authenticator
    authenticator.forget_key(key.id)
