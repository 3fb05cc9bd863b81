from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from bloomer_ai.models.base import Base, IdMixin, TimestampMixin


class User(IdMixin, TimestampMixin, Base):
    """A person who signs in to the web app with NextAuth."""

    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(320), nullable=False)
    name: Mapped[str | None] = mapped_column(String(200))
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    """NextAuth's own user id when it is not one of ours (the JWT ``sub``)."""
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


Index("uq_users_email_lower", func.lower(User.email), unique=True)


class AuthSession(IdMixin, Base):
    """A NextAuth database-strategy session, written by the web app's adapter."""

    __tablename__ = "sessions"

    session_token: Mapped[str] = mapped_column(String(255), nullable=False, unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    expires: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
