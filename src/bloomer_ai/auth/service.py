from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.auth.principal import Principal, PrincipalKind
from bloomer_ai.auth.schemas import MeKey, MeRead, MeShop, MeUser
from bloomer_ai.kit.cache import TTLCache
from bloomer_ai.shops.service import get_shop_name


async def describe_principal(
    session_of: Callable[[], AsyncSession],
    principal: Principal,
    shop_names: TTLCache[uuid.UUID, str],
) -> MeRead:
    shop_name = await get_shop_name(session_of, principal.shop_id, shop_names)
    user = (
        MeUser(id=principal.user_id, email=principal.user_email or "")
        if principal.kind is PrincipalKind.SESSION and principal.user_id
        else None
    )
    key = (
        MeKey(id=principal.api_key_id, name=principal.api_key_name or "")
        if principal.kind is PrincipalKind.API_KEY and principal.api_key_id
        else None
    )
    return MeRead(
        kind=principal.kind.value,
        user=user,
        key=key,
        shop=MeShop(id=principal.shop_id, name=shop_name),
        role=principal.role.value if principal.role else None,
        scopes=sorted(principal.scopes),
    )
