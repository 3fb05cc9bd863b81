"""The service running as deployed, for tests that drive it from outside (schemathesis, the
TypeScript client): a database of its own, migrated and seeded with committed rows, and
``uvicorn`` in a subprocess serving the app factory as the service's own role.

Rate limits are raised so that thousands of generated requests measure the API, not the
limiter (whose own tests are in tests/ratelimit).
"""

from __future__ import annotations

import secrets
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL

from bloomer_ai.auth.scopes import ALL_SCOPES
from bloomer_ai.config import DatabaseSettings
from bloomer_ai.db import migrate
from bloomer_ai.db.engine import DatabaseTarget, create_engine
from bloomer_ai.db.session import make_operator_session_factory, unit_of_work
from bloomer_ai.kit.database_urls import libpq_url
from bloomer_ai.models import AuthSession
from factories.core import add_member, create_customer, create_order, create_shop, create_user
from factories.routing import create_rule_row
from support.auth import issue_key
from support.processes import api_server
from support.sessions import APP_ROLE, OWNER_ROLE

GENEROUS = "100000/minute"


@dataclass(frozen=True)
class LiveService:
    base_url: str
    shop_id: uuid.UUID
    owner_id: uuid.UUID
    owner_session_token: str  # a database-strategy session of the shop's owner
    api_key: str  # every scope
    order_id: uuid.UUID
    order_number: str
    customer_id: uuid.UUID
    rule_id: uuid.UUID
    owner_url: URL  # the database's owner, for a test that seeds more of its own


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _seed(owner_url: URL) -> dict[str, object]:
    target = DatabaseTarget(owner_url.set(username=APP_ROLE), embedded=False, owner_url=owner_url)
    engine = create_engine(target, DatabaseSettings(_env_file=None), as_owner=True)
    try:
        async with unit_of_work(make_operator_session_factory(engine)) as db:
            shop = await create_shop(db, name="Live Flowers")
            owner = await create_user(db, name="Live Owner")
            await add_member(db, shop, owner, "owner")
            customer = await create_customer(db, shop, name="Anna Jansen")
            order = await create_order(
                db, shop, customer_id=customer.id, delivery_date=date.today() + timedelta(days=3)
            )
            rule = await create_rule_row(db, shop)
            token = f"live-{secrets.token_hex(16)}"
            db.add(
                AuthSession(
                    session_token=token,
                    user_id=owner.id,
                    expires=datetime.now(UTC) + timedelta(days=1),
                )
            )
            _, api_key = await issue_key(db, shop, sorted(ALL_SCOPES), name="live service")
            return {
                "shop_id": shop.id,
                "owner_id": owner.id,
                "owner_session_token": token,
                "api_key": api_key,
                "order_id": order.id,
                "order_number": order.number,
                "customer_id": customer.id,
                "rule_id": rule.id,
            }
    finally:
        await engine.dispose()


def _environment(owner_url: URL, auth_secret: str) -> dict[str, str]:
    return {
        "DATABASE_URL": libpq_url(owner_url.set(username=APP_ROLE)),
        "MIGRATION_DATABASE_URL": libpq_url(owner_url),
        "DB_APP_ROLE": APP_ROLE,
        "NEXTAUTH_SECRET": auth_secret,
        "ALLOWED_ORIGINS": "http://localhost:3000",
        **{
            f"RATELIMIT_{group}": GENEROUS
            for group in ("DEFAULT", "AGENT", "READ", "WRITE", "EVALUATE", "AUTH_FAILURES")
        },
    }


@asynccontextmanager
async def live_service(postgres_server: URL, auth_secret: str) -> AsyncIterator[LiveService]:
    name = f"bloomer_live_{secrets.token_hex(6)}"
    admin_url = libpq_url(postgres_server)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(name), sql.Identifier(OWNER_ROLE)
            )
        )
    owner_url = postgres_server.set(database=name, username=OWNER_ROLE, password=None)
    try:
        migrate.upgrade(owner_url, app_role=APP_ROLE)
        seeded = await _seed(owner_url)
        with api_server(_environment(owner_url, auth_secret)) as base_url:
            yield LiveService(base_url=base_url, owner_url=owner_url, **seeded)  # type: ignore[arg-type]
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
