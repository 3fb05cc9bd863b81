"""bloomer-ai: serve | worker | db | shops | users | keys | openapi.

Every command reads the same settings as the server, so with no DATABASE_URL it acts on
the embedded PostgreSQL of the data folder (joining it when ``serve`` is already up).
Bad input and unusable configuration end in one clear line on stderr and a non-zero exit.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, NoReturn, TypeVar

import psycopg
import typer
from sqlalchemy.exc import DBAPIError

from bloomer_ai.config import ConfigurationError, Settings, load_settings
from bloomer_ai.db.embedded import EmbeddedDatabaseError
from bloomer_ai.db.engine import (
    DatabaseTarget,
    DatabaseUnavailable,
    check_connection,
    create_engine,
    resolve_database,
)
from bloomer_ai.db.session import make_operator_session_factory, unit_of_work
from bloomer_ai.errors import AppError
from bloomer_ai.logging import configure_logging

app = typer.Typer(
    help="Bloomer AI backend: the service and its operator commands.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
shops_app = typer.Typer(help="Shops.", no_args_is_help=True)
users_app = typer.Typer(help="Users of the web app.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(shops_app, name="shops")
keys_app = typer.Typer(
    help="API keys of a shop (for Lilli and other servers).", no_args_is_help=True
)
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="keys")

T = TypeVar("T")


def fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _settings() -> Settings:
    try:
        settings = load_settings()
    except ConfigurationError as exc:
        fail(str(exc), 2)
    configure_logging(level=settings.server.log_level, json_output=settings.server.json_logs)
    return settings


def _database(settings: Settings, *, migrate: bool = True) -> DatabaseTarget:
    try:
        target = resolve_database(settings.db)
        check_connection(target)
    except (EmbeddedDatabaseError, DatabaseUnavailable, ValueError) as exc:
        fail(str(exc))
    if target.embedded and migrate:
        # The embedded default is ours to keep current: every command works on a fresh folder.
        from bloomer_ai.db.migrate import upgrade

        upgrade(target.operator_url, app_role=settings.db.db_app_role)
    return target


def _run_in_session(
    settings: Settings, target: DatabaseTarget, action: Callable[[Any], Awaitable[T]]
) -> T:
    async def run() -> T:
        # Operator commands act as the tables' owner, across shops.
        engine = create_engine(target, settings.db, as_owner=True)
        try:
            async with unit_of_work(make_operator_session_factory(engine)) as session:
                return await action(session)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except AppError as exc:
        fail(exc.detail_message)
    except DBAPIError as exc:
        fail(_database_error(exc, target))


def _database_error(exc: DBAPIError, target: DatabaseTarget) -> str:
    """One line for a failed statement: never the SQL, its parameters or the password."""
    if isinstance(exc.orig, psycopg.errors.UndefinedTable):
        return f"{target.description} has no schema or an old one; run `bloomer-ai db upgrade`"
    lines = str(exc.orig).strip().splitlines()
    reason = lines[0] if lines else type(exc.orig).__name__
    if target.url.password:
        reason = reason.replace(target.url.password, "***")
    return f"database error on {target.description}: {reason}"


def _print(payload: dict[str, Any], as_json: bool, human: str) -> None:
    typer.echo(json.dumps(payload, default=str) if as_json else human)


def _parse_uuid(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        fail(f"{what} {value!r} is not a valid id")


# --- serve ---------------------------------------------------------------------------------


@app.command()
def serve(
    demo: Annotated[
        bool, typer.Option(help="Seed a demo shop (once) and print credentials.")
    ] = False,
    host: Annotated[str | None, typer.Option(help="Interface to bind (default HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default PORT).")] = None,
) -> None:
    """Run the API server (on the embedded default: migrate first; on a server: check)."""
    import uvicorn

    from bloomer_ai.main import create_app

    settings = _settings()
    target = _database(settings)
    if not target.embedded:
        _require_current_schema(target)
    _check_role(settings, target)
    if demo:
        from bloomer_ai.demo import describe_demo, seed_demo

        credentials = _run_in_session(settings, target, lambda s: seed_demo(s, settings))
        typer.echo(
            describe_demo(credentials, host or settings.server.host, port or settings.server.port)
        )
    application = create_app(settings, database=target)
    # uvicorn re-raises SIGTERM after a graceful shutdown; make that an ordinary exit so the
    # embedded PostgreSQL is stopped by its exit hook.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    uvicorn.run(
        application,
        host=host or settings.server.host,
        port=port or settings.server.port,
        log_config=None,
        access_log=False,
        proxy_headers=settings.webhooks.trust_forwarded_headers,
        forwarded_allow_ips=settings.webhooks.forwarded_allow_ips,
    )


@app.command()
def worker(
    concurrency: Annotated[
        int | None,
        typer.Option(min=1, max=200, help="Jobs run at a time (default JOB_WORKER_CONCURRENCY)."),
    ] = None,
) -> None:
    """Run background jobs until SIGTERM or SIGINT (then finish the running ones)."""
    from bloomer_ai.jobs.worker import serve_worker
    from bloomer_ai.main import task_modules

    settings = _settings()
    target = _database(settings)
    if not target.embedded:
        _require_current_schema(target)
    _check_role(settings, target)
    asyncio.run(
        serve_worker(
            settings,
            target,
            concurrency=concurrency or settings.jobs.job_worker_concurrency,
            task_modules=task_modules(),
        )
    )


def _check_role(settings: Settings, target: DatabaseTarget) -> None:
    """Production refuses a role that row-level security would not hold; elsewhere the
    app says so loudly when it starts."""
    from bloomer_ai.db.roles import describe_unprotected, role_protection

    async def check() -> None:
        engine = create_engine(target, settings.db)
        try:
            protection = await role_protection(engine)
        finally:
            await engine.dispose()
        if not protection.protected and settings.is_production:
            fail(describe_unprotected(protection))

    asyncio.run(check())


def _require_current_schema(target: DatabaseTarget) -> None:
    """A server database is migrated explicitly; refuse to serve an old or empty schema."""
    from bloomer_ai.db.migrate import schema_revisions

    current, head = schema_revisions(target.url)
    if current != head:
        fail(
            f"{target.description} is at schema revision {current or 'none'} but this version "
            f"needs {head}: run `bloomer-ai db upgrade` first"
        )


# --- db -----------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply pending migrations."""
    from bloomer_ai.db.migrate import upgrade

    settings = _settings()
    target = _database(settings, migrate=False)
    upgrade(target.operator_url, revision, app_role=settings.db.db_app_role)
    typer.echo(f"database at {revision} ({target.description})")


# --- shops / users --------------------------------------------------------------------------


@shops_app.command("create")
def shops_create(
    name: Annotated[str, typer.Option(help="Shop name.")],
    country: Annotated[str, typer.Option(help="ISO 3166 alpha-2 country.")] = "NL",
    timezone: Annotated[str, typer.Option(help="IANA time zone.")] = "Europe/Amsterdam",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Create a shop."""
    from bloomer_ai.shops.service import create_shop

    settings = _settings()
    target = _database(settings)

    async def action(session: Any) -> dict[str, Any]:
        shop = await create_shop(session, name=name, country=country, timezone=timezone)
        return {
            "id": str(shop.id),
            "name": shop.name,
            "country": shop.country,
            "timezone": shop.timezone,
        }

    shop = _run_in_session(settings, target, action)
    _print(shop, as_json, f"created shop {shop['id']} ({shop['name']})")


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="E-mail address (unique).")],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    shop: Annotated[str | None, typer.Option(help="Make the user a member of this shop.")] = None,
    role: Annotated[str, typer.Option(help="owner | admin | staff")] = "staff",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Create a user, optionally as a member of a shop."""
    from bloomer_ai.auth.service import create_user
    from bloomer_ai.shops.service import add_member

    shop_id = _parse_uuid(shop, "shop") if shop else None
    settings = _settings()
    target = _database(settings)

    async def action(session: Any) -> dict[str, Any]:
        user = await create_user(session, email=email, name=name)
        payload: dict[str, Any] = {"id": str(user.id), "email": user.email, "name": user.name}
        if shop_id is not None:
            await add_member(session, shop_id=shop_id, user_id=user.id, role=role)
            payload.update(shopId=str(shop_id), role=role)
        return payload

    user = _run_in_session(settings, target, action)
    _print(user, as_json, f"created user {user['id']} ({user['email']})")


# --- keys ---------------------------------------------------------------------------------


def _key_payload(key: Any) -> dict[str, Any]:
    return {
        "id": str(key.id),
        "name": key.name,
        "prefix": key.prefix,
        "scopes": list(key.scopes),
        "createdAt": key.created_at.isoformat() if key.created_at else None,
        "lastUsedAt": key.last_used_at.isoformat() if key.last_used_at else None,
        "expiresAt": key.expires_at.isoformat() if key.expires_at else None,
        "revokedAt": key.revoked_at.isoformat() if key.revoked_at else None,
    }


@keys_app.command("create")
def keys_create(
    shop: Annotated[str, typer.Option(help="Shop id.")],
    name: Annotated[str, typer.Option(help="What the key is for, e.g. 'Lilli production'.")],
    scopes: Annotated[
        str, typer.Option(help="Comma-separated scopes, e.g. agent:chat,routing:read.")
    ],
    expires_in_days: Annotated[int | None, typer.Option(help="Expire after N days.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Create an API key; the secret is printed once."""
    from bloomer_ai.auth.service import create_api_key
    from bloomer_ai.db.tenancy import bind_shop
    from bloomer_ai.shops.service import get_shop

    shop_id = _parse_uuid(shop, "shop")
    settings = _settings()
    target = _database(settings)
    pepper = settings.auth.pepper()

    async def action(session: Any) -> dict[str, Any]:
        await get_shop(session, shop_id)
        bind_shop(session.sync_session, shop_id)
        issued = await create_api_key(
            session,
            name=name,
            scopes=scopes.split(","),
            pepper=pepper,
            expires_in_days=expires_in_days,
        )
        return {**_key_payload(issued.key), "key": issued.secret, "shopId": str(shop_id)}

    created = _run_in_session(settings, target, action)
    _print(
        created,
        as_json,
        f"created key {created['id']} ({created['name']}; {', '.join(created['scopes'])})\n"
        f"key (shown once): {created['key']}",
    )


@keys_app.command("list")
def keys_list(
    shop: Annotated[str, typer.Option(help="Shop id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """List a shop's keys (never their secrets)."""
    from bloomer_ai.auth.service import all_api_keys
    from bloomer_ai.db.tenancy import bind_shop
    from bloomer_ai.shops.service import get_shop

    shop_id = _parse_uuid(shop, "shop")
    settings = _settings()
    target = _database(settings)

    async def action(session: Any) -> list[dict[str, Any]]:
        await get_shop(session, shop_id)
        bind_shop(session.sync_session, shop_id)
        return [_key_payload(key) for key in await all_api_keys(session)]

    keys = _run_in_session(settings, target, action)
    if as_json:
        typer.echo(json.dumps(keys))
        return
    for key in keys:
        state = "revoked" if key["revokedAt"] else "active"
        typer.echo(
            f"{key['id']}  blm_{key['prefix']}_…  {state:<8} {key['name']}  "
            f"[{', '.join(key['scopes'])}]  last used {key['lastUsedAt'] or 'never'}"
        )


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key's id.")]) -> None:
    """Revoke a key at once."""
    from bloomer_ai.auth.service import operator_revoke_api_key

    parsed = _parse_uuid(key_id, "key")
    settings = _settings()
    target = _database(settings)

    async def action(session: Any) -> str:
        return (await operator_revoke_api_key(session, parsed)).name

    name = _run_in_session(settings, target, action)
    typer.echo(f"revoked key {parsed} ({name})")


# --- openapi --------------------------------------------------------------------------------


@app.command()
def openapi() -> None:
    """Print the OpenAPI document (no database needed)."""
    from bloomer_ai.main import create_app

    try:
        settings = load_settings()
    except ConfigurationError as exc:
        fail(str(exc), 2)
    document = create_app(settings).openapi()
    sys.stdout.write(json.dumps(document, indent=2) + "\n")


def main() -> None:  # pragma: no cover - console entry point
    app()
