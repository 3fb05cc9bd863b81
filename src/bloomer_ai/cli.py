"""bloomer-ai: serve | worker | db | shops | users | members | sessions | keys | integrations
| openapi.

Every command reads the same settings as the server, so with no DATABASE_URL it acts on
the embedded PostgreSQL of the data folder (joining it when ``serve`` is already up).
Bad input and unusable configuration end in one clear line on stderr and a non-zero exit.

Only typer is imported up front: the app, SQLAlchemy and the settings are imported by the
command that needs them, so ``--help`` and a mistyped option answer at once.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

if TYPE_CHECKING:
    import socket

    from sqlalchemy.exc import DBAPIError

    from bloomer_ai.config import Settings
    from bloomer_ai.db.engine import DatabaseTarget


def _group(help_text: str, **options: Any) -> typer.Typer:
    # Plain click help: flags listed as flags (rich help marks every option, --help
    # included, with a value type), and rich is never imported.
    return typer.Typer(
        help=help_text,
        no_args_is_help=True,
        rich_markup_mode=None,
        pretty_exceptions_enable=False,
        add_completion=False,
        **options,
    )


app = _group("Bloomer AI backend: the service and its operator commands.")
db_app = _group("Database schema.")
shops_app = _group("Shops.")
users_app = _group("Users of the web app.")
members_app = _group("Who belongs to which shop, in which role.")
sessions_app = _group("Sign-in sessions of the web app (for trying the API).")
keys_app = _group("API keys of a shop (for Lilli and other servers).")
app.add_typer(db_app, name="db")
app.add_typer(shops_app, name="shops")
app.add_typer(users_app, name="users")
app.add_typer(members_app, name="members")
app.add_typer(sessions_app, name="sessions")
app.add_typer(keys_app, name="keys")
integrations_app = _group("Shops' provider integrations.")
app.add_typer(integrations_app, name="integrations")

T = TypeVar("T")


def fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _settings() -> Settings:
    from bloomer_ai.config import ConfigurationError, load_settings
    from bloomer_ai.logging import configure_logging

    try:
        settings = load_settings()
    except ConfigurationError as exc:
        fail(str(exc), 2)
    configure_logging(level=settings.server.log_level, json_output=settings.server.json_logs)
    return settings


def _database(settings: Settings, *, migrate: bool = True) -> DatabaseTarget:
    from bloomer_ai.db.embedded import EmbeddedDatabaseError
    from bloomer_ai.db.engine import DatabaseUnavailable, check_connection, resolve_database

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
    import asyncio

    from sqlalchemy.exc import DBAPIError

    from bloomer_ai.db.engine import create_engine
    from bloomer_ai.db.session import make_operator_session_factory, unit_of_work
    from bloomer_ai.errors import AppError

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
    import psycopg

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
        bool, typer.Option("--demo", help="Seed a demo shop (once) and print credentials.")
    ] = False,
    host: Annotated[str | None, typer.Option(help="Interface to bind (default HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default PORT).")] = None,
) -> None:
    """Run the API server (on the embedded default: migrate first; on a server: check)."""
    import logging
    import signal

    import uvicorn

    from bloomer_ai.main import create_app

    settings = _settings()
    host = host or settings.server.host
    port = port or settings.server.port
    _check_ai_provider(settings)
    target = _database(settings)
    if not target.embedded:
        _require_current_schema(target)
    _check_role(settings, target)
    listener = _listen(host, port)
    if demo:
        _seed_demo(settings, target, host, port)
    application = create_app(settings, database=target)
    # uvicorn re-raises SIGTERM after a graceful shutdown; make that an ordinary exit so the
    # embedded PostgreSQL is stopped by its exit hook.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = uvicorn.Server(
        uvicorn.Config(
            application,
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            proxy_headers=settings.webhooks.trust_forwarded_headers,
            forwarded_allow_ips=settings.webhooks.forwarded_allow_ips,
        )
    )
    # Given a socket, uvicorn does not say where it listens.
    logging.getLogger("uvicorn.error").info(
        "Uvicorn running on http://%s:%d (Press CTRL+C to quit)",
        f"[{host}]" if ":" in host else host,
        port,
    )
    server.run(sockets=[listener])
    if not server.started:
        raise typer.Exit(3)


def _seed_demo(settings: Settings, target: DatabaseTarget, host: str, port: int) -> None:
    """Seed once; print the credentials kept in the data folder (or new ones, kept there
    once committed)."""
    from bloomer_ai.demo import (
        CREDENTIALS_FILE,
        describe_demo,
        read_saved_credentials,
        save_credentials,
        seed_demo,
    )

    path = settings.db.bloomer_data_dir / CREDENTIALS_FILE
    saved = read_saved_credentials(path)
    credentials = _run_in_session(settings, target, lambda s: seed_demo(s, settings, saved))
    if not credentials.reused:
        try:
            save_credentials(path, credentials)
        except OSError as exc:
            typer.echo(f"warning: demo credentials not kept in {path}: {exc.strerror}", err=True)
    typer.echo(describe_demo(credentials, host, port))


def _check_ai_provider(settings: Settings) -> None:
    """The provider the app would open at start: a missing setting is one line now, not a
    traceback from the server's start-up."""
    import asyncio

    from bloomer_ai.agent.providers import ProviderConfigError, provider_from_settings

    try:
        provider = provider_from_settings(settings)
    except ProviderConfigError as exc:
        fail(str(exc), 2)
    asyncio.run(provider.aclose())


def _listen(host: str, port: int) -> socket.socket:
    """The server's socket, bound before anything is seeded or started: a port in use is
    one line (and no other process can take it between the check and the start)."""
    import errno
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
    try:
        listener.bind((host, port))
    except OSError as exc:
        listener.close()
        if exc.errno == errno.EADDRINUSE:
            fail(f"port {port} on {host} is in use")
        fail(f"cannot listen on {host} port {port}: {exc.strerror or exc}")
    return listener


@app.command()
def worker(
    concurrency: Annotated[
        int | None,
        typer.Option(min=1, max=200, help="Jobs run at a time (default JOB_WORKER_CONCURRENCY)."),
    ] = None,
) -> None:
    """Run background jobs until SIGTERM or SIGINT (then finish the running ones)."""
    import asyncio

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
    import asyncio

    from bloomer_ai.db.engine import create_engine
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
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision (never older).")] = "head",
) -> None:
    """Apply pending migrations; say which revision the database is at."""
    from bloomer_ai.db.migrate import MigrationError, upgrade

    settings = _settings()
    target = _database(settings, migrate=False)
    try:
        done = upgrade(target.operator_url, revision, app_role=settings.db.db_app_role)
    except MigrationError as exc:
        fail(str(exc))
    typer.echo(
        f"database at {done.after or 'none'}, {_upgrade_outcome(done, revision)} "
        f"({target.description})"
    )


def _upgrade_outcome(done: Any, requested: str) -> str:
    if done.before != done.after:
        return f"upgraded from {done.before or 'an empty schema'}"
    if requested in ("head", "heads") or requested == done.after:
        return "nothing to do"
    return f"already past {requested} (`db upgrade` never goes back)"


# --- shops, users, members, sessions ---------------------------------------------------------

ROLES = ("owner", "admin", "staff")  # models.shop.SHOP_ROLES, without importing the models


def _check_role_name(role: str) -> None:
    if role not in ROLES:
        fail(f"unknown role {role!r}; use one of {', '.join(ROLES)}", 2)


def _shop_payload(shop: Any) -> dict[str, Any]:
    return {
        "id": str(shop.id),
        "name": shop.name,
        "country": shop.country,
        "timezone": shop.timezone,
        "currency": shop.currency,
        "createdAt": shop.created_at.isoformat() if shop.created_at else None,
    }


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
        return _shop_payload(shop)

    shop = _run_in_session(settings, target, action)
    _print(shop, as_json, f"created shop {shop['id']} ({shop['name']})")


@shops_app.command("list")
def shops_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """List every shop, oldest first."""
    from bloomer_ai.shops.service import list_shops

    settings = _settings()
    target = _database(settings)

    async def action(session: Any) -> list[dict[str, Any]]:
        return [_shop_payload(shop) for shop in await list_shops(session)]

    shops = _run_in_session(settings, target, action)
    if as_json:
        typer.echo(json.dumps(shops))
        return
    for shop in shops:
        typer.echo(f"{shop['id']}  {shop['country']}  {shop['timezone']:<20} {shop['name']}")


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="E-mail address (unique).")],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    shop: Annotated[
        str | None, typer.Option(help="Make the user a member of this shop (needs --role).")
    ] = None,
    role: Annotated[
        str | None, typer.Option(help="The role in --shop: owner | admin | staff.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Create a user, optionally as a member of a shop (--shop and --role together)."""
    from bloomer_ai.auth.service import create_user
    from bloomer_ai.shops.service import add_member

    if shop is not None and role is None:
        fail(f"--shop needs --role ({' | '.join(ROLES)}): the user's role in that shop", 2)
    if role is not None and shop is None:
        fail("--role needs --shop: the shop the user becomes a member of", 2)
    if role is not None:
        _check_role_name(role)
    shop_id = _parse_uuid(shop, "shop") if shop else None
    settings = _settings()
    target = _database(settings)

    async def action(session: Any) -> dict[str, Any]:
        user = await create_user(session, email=email, name=name)
        payload: dict[str, Any] = {"id": str(user.id), "email": user.email, "name": user.name}
        if shop_id is not None and role is not None:
            await add_member(session, shop_id=shop_id, user_id=user.id, role=role)
            payload.update(shopId=str(shop_id), role=role)
        return payload

    user = _run_in_session(settings, target, action)
    membership = f"; {user['role']} of shop {user['shopId']}" if "role" in user else ""
    _print(user, as_json, f"created user {user['id']} ({user['email']}{membership})")


@members_app.command("add")
def members_add(
    user: Annotated[str, typer.Option(help="The user's id or e-mail address.")],
    shop: Annotated[str, typer.Option(help="Shop id.")],
    role: Annotated[str, typer.Option(help="owner | admin | staff")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Make a user a member of a shop, or change their role there."""
    from bloomer_ai.auth.service import find_user
    from bloomer_ai.shops.service import add_member

    _check_role_name(role)
    shop_id = _parse_uuid(shop, "shop")
    settings = _settings()
    target = _database(settings)

    async def action(session: Any) -> dict[str, Any]:
        found = await find_user(session, user)
        await add_member(session, shop_id=shop_id, user_id=found.id, role=role)
        return {"userId": str(found.id), "email": found.email, "shopId": str(shop_id), "role": role}

    member = _run_in_session(settings, target, action)
    _print(member, as_json, f"{member['email']} is {role} of shop {shop_id}")


@sessions_app.command("create")
def sessions_create(
    user: Annotated[str, typer.Option(help="The user's id or e-mail address.")],
    shop: Annotated[str, typer.Option(help="A shop the user is a member of.")],
    days: Annotated[int, typer.Option(help="Days until it expires (1-365).")] = 7,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Sign a user in without the web app: a NextAuth database-strategy session token."""
    from bloomer_ai.auth.service import find_user, issue_database_session
    from bloomer_ai.shops.service import member_role

    if not 1 <= days <= 365:
        fail("--days must be 1 to 365", 2)
    shop_id = _parse_uuid(shop, "shop")
    settings = _settings()
    target = _database(settings)

    async def action(session: Any) -> dict[str, Any]:
        found = await find_user(session, user)
        role = await member_role(session, shop_id=shop_id, user_id=found.id)
        if role is None:
            return {"email": found.email}
        issued = await issue_database_session(session, found, days=days)
        return {
            "token": issued.token,
            "userId": str(found.id),
            "email": found.email,
            "shopId": str(shop_id),
            "role": role,
            "expires": issued.expires.isoformat(),
        }

    created = _run_in_session(settings, target, action)
    if "token" not in created:
        fail(
            f"{created['email']} is not a member of shop {shop_id}; add them with "
            "`bloomer-ai members add`"
        )
    base = f"http://{settings.server.host}:{settings.server.port}"
    _print(
        created,
        as_json,
        f"created a session for {created['email']} ({created['role']} of shop {shop_id}), "
        f"valid until {created['expires']}\n"
        f"session token (shown once): {created['token']}\n"
        f"try: curl -b 'next-auth.session-token={created['token']}' "
        f"-H 'X-Shop-Id: {shop_id}' {base}/api/ai/me",
    )


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


# --- integrations -----------------------------------------------------------------------------


@integrations_app.command("reseal")
def integrations_reseal(
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON object.")] = False,
) -> None:
    """Re-seal every shop's integration and webhook-endpoint secrets under the first
    DATA_ENCRYPTION_KEY key.

    After putting a new key in front of DATA_ENCRYPTION_KEY (and deploying it everywhere):
    run this, then drop the old key from the setting."""
    from bloomer_ai.integrations.service import operator_reseal_secrets
    from bloomer_ai.kit.encryption import KeyringError
    from bloomer_ai.outbound_webhooks.service import (
        operator_reseal_secrets as operator_reseal_endpoint_secrets,
    )

    settings = _settings()
    try:
        keyring = settings.auth.keyring()
    except KeyringError as exc:
        fail(f"DATA_ENCRYPTION_KEY: {exc}", 2)
    target = _database(settings)

    async def action(session: Any) -> tuple[int, int]:
        integrations = endpoints = 0
        while resealed := await operator_reseal_secrets(session, keyring):
            integrations += resealed
        while resealed := await operator_reseal_endpoint_secrets(session, keyring):
            endpoints += resealed
        return integrations, endpoints

    integrations, endpoints = _run_in_session(settings, target, action)
    _print(
        {
            "resealed": integrations + endpoints,
            "integrations": integrations,
            "webhookEndpoints": endpoints,
            "keyId": keyring.current_key_id,
        },
        as_json,
        f"re-sealed {integrations} integration(s) and {endpoints} webhook endpoint(s) "
        f"under key {keyring.current_key_id}",
    )


# --- openapi --------------------------------------------------------------------------------


@app.command()
def openapi() -> None:
    """Print the OpenAPI document (no database needed)."""
    from bloomer_ai.config import ConfigurationError, load_settings
    from bloomer_ai.main import create_app

    try:
        settings = load_settings()
    except ConfigurationError as exc:
        fail(str(exc), 2)
    document = create_app(settings).openapi()
    sys.stdout.write(json.dumps(document, indent=2) + "\n")


def main() -> None:  # pragma: no cover - console entry point
    app()
