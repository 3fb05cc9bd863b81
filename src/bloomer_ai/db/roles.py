"""The service's role: created on the embedded default, granted by migrations, checked at
start.

Roles are cluster-wide, so migrations never create one; on a managed server an operator
creates it (docs/database.md). Migrations grant it exactly what the service needs, with
default privileges so later tables are covered too.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import psycopg
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.engine import URL, Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bloomer_ai.kit.database_urls import connect_arguments

# Tables the service never reads or writes directly: NextAuth sessions and users are
# looked up through the auth_… functions. The schema's version it may only read (`serve`
# checks it); Alembic writes it as the owner.
NOT_GRANTED = ("sessions", "users")
READ_ONLY = ("alembic_version",)


def ensure_login_role(superuser: URL, role: str) -> None:
    """Create ``role`` (LOGIN, not superuser, no BYPASSRLS) when it does not exist.

    For the embedded default, whose superuser we hold; concurrent starts are harmless.
    """
    with psycopg.connect(**connect_arguments(superuser), autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
        if exists:
            return
        # Another process may create it first: that is as good.
        with contextlib.suppress(psycopg.errors.DuplicateObject):
            connection.execute(
                sql.SQL(
                    "CREATE ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"
                ).format(sql.Identifier(role))
            )


CURRENT_SHOP = "nullif(current_setting('app.shop_id', true), '')::uuid"
"""The transaction's shop (``SET LOCAL app.shop_id``, db/session.py); NULL when unset."""


def shop_isolation(table: str, column: str = "shop_id") -> list[str]:
    """The statements that keep ``table``'s rows to the transaction's shop: row-level
    security enabled and forced (the owner too), policy ``shop_isolation`` on ``column``;
    and ``operator_access`` for the owner itself (migrations, operator commands), which
    the service's role is not. Every shop-owned table's migration runs them
    (``tests/test_row_level_security.py`` checks that every such table has them)."""
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY shop_isolation ON {table} "
        f"USING ({column} = {CURRENT_SHOP}) WITH CHECK ({column} = {CURRENT_SHOP})",
        f"CREATE POLICY operator_access ON {table} TO CURRENT_USER USING (true) WITH CHECK (true)",
    ]


def shop_isolation_removed(table: str) -> list[str]:
    """:func:`shop_isolation` undone (a downgrade that keeps the table)."""
    return [
        f"DROP POLICY operator_access ON {table}",
        f"DROP POLICY shop_isolation ON {table}",
        f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY",
    ]


def grant_app_role(connection: Connection, role: str) -> bool:
    """Grant ``role`` the service's rights on the schema; False when it does not exist
    (a single-role set-up). Idempotent: run by the migration and after every upgrade."""
    exists = connection.execute(
        text("SELECT 1 FROM pg_roles WHERE rolname = :role"), {"role": role}
    ).scalar()
    if not exists:
        return False
    quoted = connection.dialect.identifier_preparer.quote(role)
    statements = [
        f"GRANT USAGE ON SCHEMA public TO {quoted}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {quoted}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}",
        f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {quoted}",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {quoted}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {quoted}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT EXECUTE ON FUNCTIONS TO {quoted}",
        *(f"REVOKE ALL ON TABLE {table} FROM {quoted}" for table in NOT_GRANTED),
        *(f"REVOKE INSERT, UPDATE, DELETE ON TABLE {table} FROM {quoted}" for table in READ_ONLY),
    ]
    for statement in statements:
        connection.exec_driver_sql(statement)
    return True


@dataclass(frozen=True)
class RoleProtection:
    """What the service's role can do that row-level security would not stop."""

    role: str
    superuser: bool
    bypasses_rls: bool
    owns_tables: bool

    @property
    def protected(self) -> bool:
        return not (self.superuser or self.bypasses_rls or self.owns_tables)

    def reasons(self) -> list[str]:
        return [
            reason
            for reason, applies in (
                ("is a superuser", self.superuser),
                ("has BYPASSRLS", self.bypasses_rls),
                ("owns the tables", self.owns_tables),
            )
            if applies
        ]


PROTECTION_QUERY = text(
    """
    SELECT current_user AS role, r.rolsuper AS superuser, r.rolbypassrls AS bypasses_rls,
           EXISTS (SELECT 1 FROM pg_tables
                   WHERE schemaname = 'public' AND tableowner = current_user) AS owns_tables
    FROM pg_roles r WHERE r.rolname = current_user
    """
)


class UnprotectedRole(RuntimeError):
    """The service's role would not be held back by row-level security (production)."""


async def role_protection(engine: AsyncEngine) -> RoleProtection:
    async with engine.connect() as connection:
        row = (await connection.execute(PROTECTION_QUERY)).one()
    return RoleProtection(row.role, row.superuser, row.bypasses_rls, row.owns_tables)


def describe_unprotected(protection: RoleProtection) -> str:
    return (
        f"the service connects as {protection.role!r}, which "
        + " and ".join(protection.reasons())
        + ": row-level security does not hold it to one shop; connect as a role of its own "
        "(DATABASE_URL) and migrate as the owner (MIGRATION_DATABASE_URL), see docs/database.md"
    )
