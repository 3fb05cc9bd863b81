"""The MCP server with the official TypeScript SDK (`@modelcontextprotocol/sdk`, pinned in
tests/tools/mcp_node/package.json, its lock without URLs) against the running service:
list and call tools, another shop's key, a key without a scope."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from bloomer_ai.auth.scopes import ALL_SCOPES
from bloomer_ai.config import DatabaseSettings
from bloomer_ai.db.engine import DatabaseTarget, create_engine
from bloomer_ai.db.session import make_operator_session_factory, unit_of_work
from conftest import TEST_AUTH_SECRET
from factories.core import create_order, create_shop
from support.auth import issue_key
from support.live_service import LiveService, live_service
from support.sessions import APP_ROLE

NODE_DIR = Path(__file__).resolve().parent / "mcp_node"


def npm(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["npm", *args],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **(env or {})},
    )


def test_the_lock_file_names_no_download_address() -> None:
    lock = (NODE_DIR / "package-lock.json").read_text()
    assert "://" not in lock
    assert '"node_modules/@modelcontextprotocol/sdk": {\n      "version": "1.32.2"' in lock


@pytest.fixture(scope="module")
def installed() -> None:
    if not (NODE_DIR / "node_modules" / "@modelcontextprotocol" / "sdk").is_dir():
        done = npm("ci", "--no-audit", "--no-fund")
        assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
async def service(postgres_server: URL, database_target: object) -> LiveService:
    async with live_service(postgres_server, TEST_AUTH_SECRET) as running:
        yield running


async def _more_keys(service: LiveService) -> dict[str, str]:
    """A key of the shop with shop:read only, and another shop with an order and a key."""
    owner_url = service.owner_url
    target = DatabaseTarget(owner_url.set(username=APP_ROLE), embedded=False, owner_url=owner_url)
    engine = create_engine(target, DatabaseSettings(_env_file=None), as_owner=True)
    try:
        async with unit_of_work(make_operator_session_factory(engine)) as db:
            from bloomer_ai.models import Shop

            shop = await db.get(Shop, service.shop_id)
            assert shop is not None
            _, reader = await issue_key(db, shop, ["shop:read"], name="reader")
            other = await create_shop(db, name="Other Flowers")
            order = await create_order(db, other, number="OTHER-1")
            _, other_key = await issue_key(db, other, sorted(ALL_SCOPES), name="other")
            return {
                "BLOOMER_READER_KEY": reader,
                "BLOOMER_OTHER_KEY": other_key,
                "BLOOMER_OTHER_ORDER_NUMBER": order.number,
            }
    finally:
        await engine.dispose()


async def test_the_typescript_sdk_lists_and_calls_tools(installed: None, service: LiveService):
    keys = await _more_keys(service)
    done = npm(
        "test",
        env={
            "BLOOMER_BASE_URL": service.base_url,
            "BLOOMER_API_KEY": service.api_key,
            "BLOOMER_ORDER_NUMBER": service.order_number,
            **keys,
        },
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert "# fail 0" in done.stdout and "# pass 6" in done.stdout, done.stdout
