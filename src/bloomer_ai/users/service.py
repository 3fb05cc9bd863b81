"""Users of the web app (mirrors of NextAuth users) created by operators and the demo seed."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.errors import Conflict, ValidationFailed
from bloomer_ai.kit.validation import is_valid_email
from bloomer_ai.models import User


class EmailTaken(Conflict):
    code = "email_taken"
    message = "A user with this e-mail address exists."


class InvalidUser(ValidationFailed):
    code = "invalid_user"


async def find_user_by_email(session: AsyncSession, email: str) -> User | None:
    result = await session.scalar(select(User).where(func.lower(User.email) == email.lower()))
    return result


async def create_user(session: AsyncSession, *, email: str, name: str | None = None) -> User:
    email = email.strip()
    if not is_valid_email(email):
        raise InvalidUser("That is not a valid e-mail address.")
    if await find_user_by_email(session, email) is not None:
        raise EmailTaken()
    user = User(email=email, name=(name or "").strip() or None)
    session.add(user)
    await session.flush()
    return user
