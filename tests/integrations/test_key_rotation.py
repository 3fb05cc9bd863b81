"""Rotating DATA_ENCRYPTION_KEY without downtime: a new key in front seals what is written
next while the old one still opens what was sealed before; ``bloomer-ai integrations
reseal`` moves every row to the new key; only then may the old key go."""

from __future__ import annotations

import base64
import io
import os
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import select

from bloomer_ai.config import AuthSettings
from bloomer_ai.db.session import make_operator_session_factory, unit_of_work
from bloomer_ai.db.tenancy import bind_shop
from bloomer_ai.integrations.service import open_secrets, operator_reseal_secrets
from bloomer_ai.kit.database_urls import libpq_url
from bloomer_ai.kit.encryption import Keyring
from bloomer_ai.logging import configure_logging
from bloomer_ai.main import create_app
from bloomer_ai.models import Integration, WebhookEndpoint
from bloomer_ai.outbound_webhooks import service as outbound
from bloomer_ai.outbound_webhooks.delivery.secrets import open_secrets as open_endpoint_secrets
from conftest import TEST_AUTH_SECRET, make_settings
from factories.core import create_shop
from factories.integrations import DEFAULT_SECRETS, create_integration
from support import signing
from support.committed import committed_shop
from test_cli import one_json_object, run_cli

OLD = ("k1", os.urandom(32))
NEW = ("k2", os.urandom(32))


def entry(key: tuple[str, bytes]) -> str:
    return f"{key[0]}:{base64.b64encode(key[1]).decode()}"


OLD_ONLY = entry(OLD)
ROTATING = f"{entry(NEW)},{entry(OLD)}"
NEW_ONLY = entry(NEW)


def app_with_keys(database_url, database_target, session_factory, keys: str) -> Any:
    settings = make_settings(
        database_url,
        auth=AuthSettings(
            nextauth_secret=TEST_AUTH_SECRET, data_encryption_key=keys, _env_file=None
        ),
    )
    return create_app(settings, database=database_target, session_factory=session_factory)


async def deliver(app: Any, integration: Integration) -> int:
    body, headers = signing.vapi_secret(
        DEFAULT_SECRETS["vapi"]["serverSecret"], signing.vapi_message()
    )
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as client,
    ):
        answer = await client.post(
            f"/api/ai/voice/webhook/{integration.id}", content=body, headers=headers
        )
    return answer.status_code


async def test_rows_sealed_before_the_rotation_keep_working(
    db, database_url, database_target, session_factory
) -> None:
    shop = await create_shop(db)
    integration = await create_integration(db, shop, "vapi", keyring=Keyring.parse(OLD_ONLY))
    assert integration.secrets_key_id == "k1"
    rotating = app_with_keys(database_url, database_target, session_factory, ROTATING)
    assert await deliver(rotating, integration) == 200

    # What is written under the rotating ring is sealed with the new key.
    newer = await create_integration(db, shop, "vapi", keyring=Keyring.parse(ROTATING))
    assert newer.secrets_key_id == "k2"


@pytest.mark.usefixtures("restore_logging")
async def test_a_key_dropped_too_early_refuses_deliveries_and_says_why(
    db, database_url, database_target, session_factory
) -> None:
    shop = await create_shop(db)
    integration = await create_integration(db, shop, "vapi", keyring=Keyring.parse(OLD_ONLY))
    too_early = app_with_keys(database_url, database_target, session_factory, NEW_ONLY)
    stream = io.StringIO()  # after create_app, which configures logging itself
    configure_logging(level="INFO", json_output=True, stream=stream)
    assert await deliver(too_early, integration) == 401
    output = stream.getvalue()
    assert "integration_secrets_unreadable" in output and '"k1"' in output
    assert DEFAULT_SECRETS["vapi"]["serverSecret"] not in output


async def test_resealing_moves_every_shop_to_the_new_key(db) -> None:
    rows = [
        await create_integration(db, await create_shop(db), "vapi", keyring=Keyring.parse(OLD_ONLY))
        for _ in range(3)
    ]
    ring = Keyring.parse(ROTATING)
    assert await operator_reseal_secrets(db, ring, batch_size=2) == 2
    assert await operator_reseal_secrets(db, ring, batch_size=2) >= 1
    while await operator_reseal_secrets(db, ring):
        pass
    new_only = Keyring.parse(NEW_ONLY)
    for made in rows:
        row = await db.get(Integration, made.id)
        assert row is not None and row.secrets_key_id == "k2"
        assert open_secrets(row, new_only) == DEFAULT_SECRETS["vapi"]


async def test_the_reseal_command(engine, database_url, tmp_path) -> None:
    async with committed_shop(engine, name="Reseal") as (shop, _secret):
        async with unit_of_work(make_operator_session_factory(engine)) as owner:
            integration = await create_integration(
                owner, shop, "vapi", keyring=Keyring.parse(OLD_ONLY)
            )
            bind_shop(owner.sync_session, shop.id)
            endpoint, endpoint_secret = await outbound.create_endpoint(
                owner,
                url="https://hooks.example.com/reseal",
                description=None,
                event_types=[],
                enabled=True,
                private_allowed=False,
                keyring=Keyring.parse(OLD_ONLY),
            )
        result = run_cli(
            "integrations",
            "reseal",
            "--json",
            cwd=tmp_path,
            database=libpq_url(database_url),
            DATA_ENCRYPTION_KEY=ROTATING,
        )
        report = one_json_object(result)
        assert report["keyId"] == "k2" and report["resealed"] >= 2
        assert report["integrations"] >= 1 and report["webhookEndpoints"] >= 1
        assert base64.b64encode(NEW[1]).decode() not in result.stdout + result.stderr
        async with unit_of_work(make_operator_session_factory(engine)) as owner:
            row = await owner.scalar(select(Integration).where(Integration.id == integration.id))
            assert row is not None and row.secrets_key_id == "k2"
            assert open_secrets(row, Keyring.parse(NEW_ONLY)) == DEFAULT_SECRETS["vapi"]
            sealed = await owner.scalar(
                select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint.id)
            )
            assert sealed is not None and sealed.secrets_key_id == "k2"
            assert open_endpoint_secrets(sealed, Keyring.parse(NEW_ONLY)).current == endpoint_secret

        malformed = run_cli(
            "integrations",
            "reseal",
            cwd=tmp_path,
            database=libpq_url(database_url),
            DATA_ENCRYPTION_KEY="k1:c2hvcnQ=",
        )
        assert malformed.returncode != 0
        assert "DATA_ENCRYPTION_KEY" in malformed.stderr and "c2hvcnQ" not in malformed.stderr
