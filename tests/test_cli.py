"""The operator commands, run as a user runs them: the installed ``bloomer-ai`` in a subprocess.

These commands commit to the run's database (outside the per-test rollback), so every name
and e-mail address is unique.
"""

from __future__ import annotations

import json
import os
import re
import socket
import stat
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import URL

from bloomer_ai.kit.database_urls import libpq_url

BLOOMER_AI = Path(sys.executable).parent / "bloomer-ai"
UNREACHABLE_URL = "postgresql://u:sekret@127.0.0.1:1/db"

# Variables of the outer environment that would change what the commands do.
_SETTINGS_PREFIXES = (
    "DATABASE_URL",
    "BLOOMER_DATA_DIR",
    "ENVIRONMENT",
    "NEXTAUTH_SECRET",
    "AUTH_SECRET",
    "API_KEY_PEPPER",
    "LOG_",
    "AI_",
)


def cli_env(database: str | None, **env_overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SETTINGS_PREFIXES)}
    env["ENVIRONMENT"] = "test"
    if database is not None:
        env["DATABASE_URL"] = database
    env.update(env_overrides)
    return env


def run_cli(
    *args: str, cwd: Path, database: str | None, **env_overrides: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BLOOMER_AI), *args],
        cwd=cwd,
        env=cli_env(database, **env_overrides),
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


def assert_one_line_failure(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout.strip() == ""
    return lines[0]


def one_json_object(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    payload = json.loads(lines[0])
    assert isinstance(payload, dict)
    return payload


@pytest.fixture(scope="module")
def db_url(database_url: URL) -> str:
    return libpq_url(database_url)


@pytest.fixture
def cli_dir(tmp_path: Path) -> Path:
    # An empty folder: no .env file to read, nothing embedded to find.
    return tmp_path


def query(db_url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(db_url) as connection:
        return connection.execute(sql, params).fetchall()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def create_shop(db_url: str, cli_dir: Path) -> str:
    result = run_cli(
        "shops", "create", "--name", unique("Shop"), "--json", cwd=cli_dir, database=db_url
    )
    return str(one_json_object(result)["id"])


# --- help -----------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [(), ("serve",), ("users", "create"), ("keys", "list")])
def test_help_lists_flags_as_plain_flags(cli_dir: Path, command: tuple[str, ...]) -> None:
    result = run_cli(*command, "--help", cwd=cli_dir, database=None)
    assert result.returncode == 0, result.stderr
    assert "<bool>" not in result.stdout
    assert "--no-" not in result.stdout  # no negative twin of an on/off flag
    help_line = next(line for line in result.stdout.splitlines() if "--help" in line)
    assert help_line.split() == ["--help", "Show", "this", "message", "and", "exit."]


def test_the_command_line_module_imports_no_framework_up_front() -> None:
    """``--help`` answers at once: the app, SQLAlchemy and the settings are imported by the
    command that needs them."""
    heavy = ["sqlalchemy", "fastapi", "psycopg", "alembic", "uvicorn", "structlog",
             "pydantic_settings", "rich", "bloomer_ai.config", "bloomer_ai.models"]  # fmt: skip
    probe = f"import sys, bloomer_ai.cli; print(','.join(m for m in {heavy!r} if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == ""


# --- shops --------------------------------------------------------------------------------


def test_shops_create_prints_one_json_object(db_url: str, cli_dir: Path) -> None:
    name = unique("Bloemen CLI")
    result = run_cli(
        "shops",
        "create",
        "--name",
        name,
        "--country",
        "NL",
        "--timezone",
        "Europe/Amsterdam",
        "--json",
        cwd=cli_dir,
        database=db_url,
    )
    shop = one_json_object(result)
    shop_id = uuid.UUID(shop["id"])
    assert shop["name"] == name
    assert shop["country"] == "NL"
    assert shop["timezone"] == "Europe/Amsterdam"
    rows = query(db_url, "select name, country, timezone from shops where id = %s", shop_id)
    assert rows == [(name, "NL", "Europe/Amsterdam")]


def test_shops_create_without_json_prints_a_sentence(db_url: str, cli_dir: Path) -> None:
    name = unique("Plain")
    result = run_cli("shops", "create", "--name", name, cwd=cli_dir, database=db_url)
    assert result.returncode == 0, result.stderr
    assert name in result.stdout
    assert result.stdout.startswith("created shop ")


@pytest.mark.parametrize(
    ("option", "value", "mention"),
    [
        ("--timezone", "Europe/Atlantis", "time zone"),
        ("--timezone", "../../etc/passwd", "time zone"),
        ("--country", "XX", "country"),
        ("--country", "Netherlands", "country"),
    ],
)
def test_shops_create_refuses_bad_input_in_one_line(
    db_url: str, cli_dir: Path, option: str, value: str, mention: str
) -> None:
    name = unique("Refused")
    result = run_cli("shops", "create", "--name", name, option, value, cwd=cli_dir, database=db_url)
    line = assert_one_line_failure(result)
    assert mention in line.lower()
    assert query(db_url, "select count(*) from shops where name = %s", name) == [(0,)]


# --- users --------------------------------------------------------------------------------


def test_users_create_as_owner_of_a_shop(db_url: str, cli_dir: Path) -> None:
    shop_id = create_shop(db_url, cli_dir)
    email = f"{unique('owner')}@example.test"
    result = run_cli(
        "users",
        "create",
        "--email",
        email,
        "--name",
        "Olga Owner",
        "--shop",
        shop_id,
        "--role",
        "owner",
        "--json",
        cwd=cli_dir,
        database=db_url,
    )
    user = one_json_object(result)
    user_id = uuid.UUID(user["id"])
    assert user["email"] == email
    assert user["shopId"] == shop_id
    assert user["role"] == "owner"
    members = query(
        db_url, "select shop_id::text, role from shop_members where user_id = %s", user_id
    )
    assert members == [(shop_id, "owner")]


def test_users_create_refuses_a_duplicate_email(db_url: str, cli_dir: Path) -> None:
    email = f"{unique('dup')}@example.test"
    first = run_cli("users", "create", "--email", email, "--json", cwd=cli_dir, database=db_url)
    one_json_object(first)
    again = run_cli(
        "users", "create", "--email", email.upper(), "--json", cwd=cli_dir, database=db_url
    )
    line = assert_one_line_failure(again)
    assert "e-mail" in line or "email" in line
    assert query(db_url, "select count(*) from users where lower(email) = %s", email) == [(1,)]


def test_users_create_refuses_an_unknown_shop_and_keeps_nothing(db_url: str, cli_dir: Path) -> None:
    email = f"{unique('orphan')}@example.test"
    result = run_cli(
        "users",
        "create",
        "--email",
        email,
        "--shop",
        str(uuid.uuid4()),
        "--role",
        "owner",
        cwd=cli_dir,
        database=db_url,
    )
    line = assert_one_line_failure(result)
    assert "shop" in line.lower()
    # One transaction: the user created before the shop check was rolled back.
    assert query(db_url, "select count(*) from users where email = %s", email) == [(0,)]


def test_users_create_refuses_a_malformed_shop_id(db_url: str, cli_dir: Path) -> None:
    email = f"{unique('badid')}@example.test"
    result = run_cli(
        "users", "create", "--email", email, "--shop", "not-an-id", "--role", "staff",
        cwd=cli_dir, database=db_url,
    )  # fmt: skip
    assert "shop" in assert_one_line_failure(result)
    assert query(db_url, "select count(*) from users where email = %s", email) == [(0,)]


def test_users_create_refuses_an_unknown_role(db_url: str, cli_dir: Path) -> None:
    shop_id = create_shop(db_url, cli_dir)
    email = f"{unique('role')}@example.test"
    result = run_cli(
        "users",
        "create",
        "--email",
        email,
        "--shop",
        shop_id,
        "--role",
        "emperor",
        cwd=cli_dir,
        database=db_url,
    )
    assert "role" in assert_one_line_failure(result).lower()
    assert query(db_url, "select count(*) from users where email = %s", email) == [(0,)]


def test_users_create_refuses_an_invalid_email(db_url: str, cli_dir: Path) -> None:
    result = run_cli("users", "create", "--email", "not-an-address", cwd=cli_dir, database=db_url)
    assert "e-mail" in assert_one_line_failure(result)


@pytest.mark.parametrize(
    ("flags", "line"),
    [
        (
            ["--shop", "01a24f54-d3fa-79e3-84aa-bf74f3f99149"],
            "error: --shop needs --role (owner | admin | staff): the user's role in that shop",
        ),
        (
            ["--role", "owner"],
            "error: --role needs --shop: the shop the user becomes a member of",
        ),
    ],
)
def test_users_create_refuses_half_a_membership(cli_dir: Path, flags: list[str], line: str) -> None:
    # Refused before the database is reached (it is not reachable here).
    result = run_cli(
        "users", "create", "--email", "half@example.test", *flags,
        cwd=cli_dir, database=UNREACHABLE_URL,
    )  # fmt: skip
    assert assert_one_line_failure(result) == line


def test_the_command_line_knows_the_models_roles() -> None:
    from bloomer_ai.cli import ROLES
    from bloomer_ai.models.shop import SHOP_ROLES

    assert ROLES == SHOP_ROLES


def test_shops_list(db_url: str, cli_dir: Path) -> None:
    shop_id = create_shop(db_url, cli_dir)
    listed = run_cli("shops", "list", "--json", cwd=cli_dir, database=db_url)
    assert listed.returncode == 0, listed.stderr
    shops = {shop["id"]: shop for shop in json.loads(listed.stdout)}
    assert shops[shop_id]["country"] == "NL" and shops[shop_id]["timezone"] == "Europe/Amsterdam"
    plain = run_cli("shops", "list", cwd=cli_dir, database=db_url)
    (line,) = [line for line in plain.stdout.splitlines() if line.startswith(shop_id)]
    assert shops[shop_id]["name"] in line


async def test_members_add_then_a_session_token_that_signs_in(
    db_url: str, cli_dir: Path, client: Any
) -> None:
    shop_id = create_shop(db_url, cli_dir)
    email = f"{unique('member')}@example.test"
    user = one_json_object(
        run_cli("users", "create", "--email", email, "--json", cwd=cli_dir, database=db_url)
    )

    not_yet = run_cli(
        "sessions", "create", "--user", email, "--shop", shop_id, cwd=cli_dir, database=db_url
    )
    assert "not a member" in assert_one_line_failure(not_yet)

    added = one_json_object(
        run_cli(
            "members", "add", "--user", email.upper(), "--shop", shop_id, "--role", "admin",
            "--json", cwd=cli_dir, database=db_url,
        )
    )  # fmt: skip
    assert added == {"userId": user["id"], "email": email, "shopId": shop_id, "role": "admin"}
    members = query(
        db_url, "select shop_id::text, role from shop_members where user_id = %s", user["id"]
    )
    assert members == [(shop_id, "admin")]

    created = one_json_object(
        run_cli(
            "sessions", "create", "--user", user["id"], "--shop", shop_id, "--json",
            cwd=cli_dir, database=db_url,
        )
    )  # fmt: skip
    me = await client.get(
        "/api/ai/me", headers={"Cookie": f"next-auth.session-token={created['token']}"}
    )
    assert me.status_code == 200, me.text
    body = me.json()
    assert body["kind"] == "session" and body["role"] == "admin"
    assert body["shop"]["id"] == shop_id and body["user"]["email"] == email

    plain = run_cli(
        "sessions", "create", "--user", email, "--shop", shop_id, cwd=cli_dir, database=db_url
    )
    token = plain.stdout.split("session token (shown once): ")[1].split()[0]
    assert f"next-auth.session-token={token}' -H 'X-Shop-Id: {shop_id}'" in plain.stdout

    unknown = run_cli(
        "members", "add", "--user", "nobody@example.test", "--shop", shop_id, "--role", "staff",
        cwd=cli_dir, database=db_url,
    )  # fmt: skip
    assert "nobody@example.test" in assert_one_line_failure(unknown)


# --- configuration and database failures --------------------------------------------------


def test_unreachable_database_is_one_line_without_the_password(cli_dir: Path) -> None:
    result = run_cli("shops", "create", "--name", "Nowhere", cwd=cli_dir, database=UNREACHABLE_URL)
    line = assert_one_line_failure(result)
    assert "127.0.0.1:1" in line
    assert "sekret" not in result.stderr
    assert "sekret" not in result.stdout


def test_db_upgrade_on_an_unreachable_database_is_one_line(cli_dir: Path) -> None:
    result = run_cli("db", "upgrade", cwd=cli_dir, database=UNREACHABLE_URL)
    line = assert_one_line_failure(result)
    assert "127.0.0.1:1" in line
    assert "sekret" not in result.stderr


@pytest.mark.parametrize(
    "url",
    ["mysql://root:sekret@db.internal/bloomer", "not a url", "postgresql://u:sekret@h:5432"],
)
def test_malformed_database_url_is_one_line(cli_dir: Path, url: str) -> None:
    result = run_cli("shops", "create", "--name", "Nowhere", cwd=cli_dir, database=url)
    line = assert_one_line_failure(result)
    assert "DATABASE_URL" in line
    assert "sekret" not in result.stderr


@pytest.fixture
def empty_db_url(empty_database: URL) -> str:
    return libpq_url(empty_database)


def test_a_database_without_the_schema_is_one_line(empty_db_url: str, cli_dir: Path) -> None:
    email = f"{unique('noschema')}@example.test"
    result = run_cli("users", "create", "--email", email, cwd=cli_dir, database=empty_db_url)
    line = assert_one_line_failure(result)
    assert "db upgrade" in line
    # Neither the SQL nor its parameters reach the terminal.
    assert email not in result.stderr
    assert "SELECT" not in result.stderr


def test_production_with_a_placeholder_secret_is_one_line(db_url: str, cli_dir: Path) -> None:
    result = run_cli(
        "shops",
        "create",
        "--name",
        unique("Prod"),
        cwd=cli_dir,
        database=db_url,
        ENVIRONMENT="production",
        NEXTAUTH_SECRET="nx-9f2c41d7a8e3b6c5d4e1f0a9b8c7d6e5",
        API_KEY_PEPPER="change-me-4711",
        VOICE_WEBHOOK_SECRET="whsec_dm9pY2Utd2ViaG9vay1zZWNyZXQtcHJvZA==",
        SUPPORT_WEBHOOK_SECRET="whsec_c3VwcG9ydC13ZWJob29rLXNlY3JldC1wcm9k",
        CAMPAIGN_CALLBACK_SECRET="whsec_Y2FtcGFpZ24tY2FsbGJhY2stc2VjcmV0LXBy",
    )
    line = assert_one_line_failure(result)
    assert "API_KEY_PEPPER" in line
    assert "4711" not in result.stderr
    assert "nx-9f2c41d7" not in result.stderr


def test_a_cli_error_never_prints_a_traceback_for_a_missing_option(cli_dir: Path) -> None:
    result = run_cli("shops", "create", cwd=cli_dir, database=UNREACHABLE_URL)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "--name" in result.stderr


def test_serve_refuses_a_server_database_that_is_not_migrated(
    empty_db_url: str, cli_dir: Path
) -> None:
    result = run_cli("serve", "--port", "1", cwd=cli_dir, database=empty_db_url)
    line = assert_one_line_failure(result)
    assert "schema revision none" in line and "bloomer-ai db upgrade" in line
    # After the upgrade the same check passes: serve gets as far as binding its port.
    assert run_cli("db", "upgrade", cwd=cli_dir, database=empty_db_url).returncode == 0
    from bloomer_ai.db.migrate import schema_revisions
    from bloomer_ai.kit.database_urls import normalise_database_url

    current, head = schema_revisions(normalise_database_url(empty_db_url))
    assert current == head


def test_db_upgrade_names_the_revision_the_database_is_at(empty_db_url: str, cli_dir: Path) -> None:
    from bloomer_ai.db.migrate import known_revisions

    head = known_revisions()[-1]
    unknown = run_cli("db", "upgrade", "9999", cwd=cli_dir, database=empty_db_url)
    line = assert_one_line_failure(unknown)
    assert line == f"error: unknown revision 9999 (known: 0001…{head}, head)"
    assert query(empty_db_url, "select to_regclass('alembic_version')") == [(None,)]

    to_0005 = run_cli("db", "upgrade", "0005", cwd=cli_dir, database=empty_db_url)
    assert to_0005.returncode == 0, to_0005.stderr
    assert to_0005.stdout.startswith("database at 0005, upgraded from an empty schema (")
    # What was migrated is logged; Alembic's dialect chatter is not.
    assert "Running upgrade 0004 -> 0005" in to_0005.stderr
    assert "Context impl" not in to_0005.stderr and "Will assume" not in to_0005.stderr

    # Asking for an older revision leaves the database where it is, and says where.
    older = run_cli("db", "upgrade", "0003", cwd=cli_dir, database=empty_db_url)
    assert older.returncode == 0, older.stderr
    assert older.stdout.startswith("database at 0005, already past 0003 ")
    assert older.stderr == ""  # nothing migrated, nothing logged
    assert query(empty_db_url, "select version_num from alembic_version") == [("0005",)]

    to_head = run_cli("db", "upgrade", cwd=cli_dir, database=empty_db_url)
    assert to_head.stdout.startswith(f"database at {head}, upgraded from 0005 (")
    again = run_cli("db", "upgrade", cwd=cli_dir, database=empty_db_url)
    assert again.stdout.startswith(f"database at {head}, nothing to do (")
    assert again.stderr == ""


def test_serve_with_an_incomplete_ai_provider_is_one_line(cli_dir: Path) -> None:
    # Checked before the database is even reached.
    result = run_cli(
        "serve", "--port", "1", cwd=cli_dir, database=UNREACHABLE_URL, AI_PROVIDER="lilli"
    )
    assert assert_one_line_failure(result) == (
        "error: LILLI_BASE_URL is required for AI_PROVIDER=lilli"
    )


def test_serve_on_a_port_in_use_is_one_line(db_url: str, cli_dir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("serve", "--port", str(port), cwd=cli_dir, database=db_url)
    assert assert_one_line_failure(result) == f"error: port {port} on 127.0.0.1 is in use"


def start_demo(database: str, cli_dir: Path, data_dir: Path) -> str:
    """Run ``serve --demo`` until it has printed the demo's credentials, then stop it;
    what it printed."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [str(BLOOMER_AI), "serve", "--demo", "--port", str(port)],
        cwd=cli_dir,
        env=cli_env(database, BLOOMER_DATA_DIR=str(data_dir)),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    watchdog = threading.Timer(120, process.kill)
    watchdog.start()
    printed: list[str] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            printed.append(line)
            if "/api/ai/customers/" in line:  # the last line of the demo's block
                break
    finally:
        process.terminate()
        process.wait(timeout=60)
        watchdog.cancel()
    return "".join(printed)


def test_serve_demo_keeps_its_credentials_across_starts(
    empty_db_url: str, cli_dir: Path, tmp_path: Path
) -> None:
    assert run_cli("db", "upgrade", cwd=cli_dir, database=empty_db_url).returncode == 0
    data_dir = tmp_path / "data"
    credentials_file = data_dir / "demo-credentials.json"

    def printed_key(printed: str) -> str:
        return printed.split("API key (all scopes): ")[1].split()[0]

    first = start_demo(empty_db_url, cli_dir, data_dir)
    assert "seeded now" in first and "new; saved to demo-credentials.json" in first
    key = printed_key(first)
    assert stat.S_IMODE(credentials_file.stat().st_mode) == 0o600
    assert json.loads(credentials_file.read_text())["apiKey"] == key
    sample = re.search(r"Sample order (\d+) \((\w+), delivery [\d-]+\), customer ([\w-]+):", first)
    assert sample is not None, first
    number, status, customer_id = sample.groups()
    assert status in ("pending", "confirmed", "in_progress", "ready", "out_for_delivery")
    assert f"/api/ai/orders?number={number}'" in first
    assert f"/api/ai/customers/{customer_id}" in first

    second = start_demo(empty_db_url, cli_dir, data_dir)
    assert "already seeded" in second and "kept in demo-credentials.json" in second
    assert printed_key(second) == key

    credentials_file.unlink()
    third = start_demo(empty_db_url, cli_dir, data_dir)
    assert printed_key(third) != key
    assert json.loads(credentials_file.read_text())["apiKey"] == printed_key(third)
    assert stat.S_IMODE(credentials_file.stat().st_mode) == 0o600


def test_keys_create_list_and_revoke(db_url: str, cli_dir: Path) -> None:
    shop_id = create_shop(db_url, cli_dir)
    created = one_json_object(
        run_cli(
            "keys", "create", "--shop", shop_id, "--name", "Lilli", "--scopes",
            "agent:chat,routing:read", "--expires-in-days", "30", "--json",
            cwd=cli_dir, database=db_url,
        )
    )  # fmt: skip
    assert created["key"].startswith(f"blm_{created['prefix']}_")
    assert created["scopes"] == ["agent:chat", "routing:read"]

    listed = run_cli("keys", "list", "--shop", shop_id, "--json", cwd=cli_dir, database=db_url)
    (row,) = json.loads(listed.stdout)
    assert row["id"] == created["id"] and row["revokedAt"] is None
    assert created["key"] not in listed.stdout  # the secret is shown once, at creation

    revoked = run_cli("keys", "revoke", created["id"], cwd=cli_dir, database=db_url)
    assert revoked.returncode == 0 and created["id"] in revoked.stdout
    listed = run_cli("keys", "list", "--shop", shop_id, "--json", cwd=cli_dir, database=db_url)
    assert json.loads(listed.stdout)[0]["revokedAt"] is not None

    unknown = run_cli("keys", "revoke", str(uuid.uuid4()), cwd=cli_dir, database=db_url)
    assert "does not exist" in assert_one_line_failure(unknown)
    bad_scope = run_cli(
        "keys", "create", "--shop", shop_id, "--name", "x", "--scopes", "no:such",
        cwd=cli_dir, database=db_url,
    )  # fmt: skip
    assert "no:such" in assert_one_line_failure(bad_scope)
