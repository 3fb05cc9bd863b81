from __future__ import annotations

from bloomer_ai.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    Unauthorized,
    ValidationFailed,
)


class NotAuthenticated(Unauthorized):
    code = "unauthorized"
    message = "Missing or invalid credentials."


class ShopRequired(BadRequest):
    code = "shop_required"
    message = "You are a member of several shops; name one with X-Shop-Id or shopId."


class ConflictingShopSelectors(BadRequest):
    code = "conflicting_shop_selectors"
    message = "The request names more than one shop (X-Shop-Id, shopId); name one."


class ForbiddenShop(Forbidden):
    code = "forbidden_shop"
    message = "You are not a member of that shop."


class InsufficientScope(Forbidden):
    code = "insufficient_scope"
    message = "The credentials lack a scope this route requires."


class InsufficientRole(Forbidden):
    code = "insufficient_role"
    message = "Your role in this shop does not allow this."


class SessionRequired(Forbidden):
    code = "session_required"
    message = "This route is for signed-in users of the web app, not API keys."


class CsrfRejected(Forbidden):
    code = "csrf_rejected"
    message = "Cross-site request refused: the origin is not allowed."


class ApiKeyNotFound(NotFound):
    code = "api_key_not_found"
    message = "The API key does not exist."


class ApiKeyRequired(Forbidden):
    code = "api_key_required"
    message = "This route is for API keys (servers such as Lilli), not signed-in users."


class EmailTaken(Conflict):
    code = "email_taken"
    message = "A user with this e-mail address exists."


class InvalidUser(ValidationFailed):
    code = "invalid_user"


class UserNotFound(NotFound):
    code = "user_not_found"
    message = "The user does not exist."


class UserDisabled(Conflict):
    code = "user_disabled"
    message = "The user is disabled and cannot sign in."
