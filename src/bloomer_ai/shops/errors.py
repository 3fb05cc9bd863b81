from __future__ import annotations

from bloomer_ai.errors import NotFound, ValidationFailed


class ShopNotFound(NotFound):
    code = "shop_not_found"
    message = "The shop does not exist."


class InvalidShop(ValidationFailed):
    code = "invalid_shop"
