"""Lilli's callback: POST /api/ai/campaigns/generate/{id}/result, signed (the platform's
CAMPAIGN_CALLBACK_SECRET or the shop's Lilli integration secret) or with an API key holding
campaigns:callback. The first valid result wins; a repeat is idempotent; a finished or late
request is 409; the expiry job fails requests past their deadline."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import text

from bloomer_ai.campaign_generation.worker.tasks import defer_expiries
from bloomer_ai.config import WebhookSettings
from bloomer_ai.jobs.queue import JobResources
from bloomer_ai.jobs.tasks import CrossShopJob
from bloomer_ai.kit.time import utcnow
from conftest import make_settings
from factories.campaign_generation import create_generation_row
from factories.core import add_member, create_shop, create_user
from factories.integrations import DEFAULT_SECRETS, create_integration
from support import signing
from support.auth import bearer, database_session, issue_key, key_headers
from support.generation import (
    CALLBACK_SECRET,
    ROUTE,
    campaign_events,
    generation_row,
    run_in_transaction,
)

LILLI_SECRET = DEFAULT_SECRETS["lilli"]["webhookSecret"]


@pytest.fixture
def settings(database_url):
    return make_settings(
        database_url,
        webhooks=WebhookSettings(
            _env_file=None, campaign_callback_secret=SecretStr(CALLBACK_SECRET)
        ),
    )


def completed(shop_name: str, count: int = 1, request_id: Any = None) -> dict[str, Any]:
    return {
        **({"requestId": str(request_id)} if request_id is not None else {}),
        "status": "completed",
        "variants": [
            {
                "subject": f"Kerst bij {shop_name} ({n})",
                "preview": f"Bestel je kerststuk bij {shop_name}.",
                "body": f"Beste klant,\n\nBestel je kerststuk bij {shop_name}.\n\n{shop_name}",
                "smsText": f"{shop_name}: kerst! STOP = afmelden",
            }
            for n in range(count)
        ],
    }


async def waiting(db, shop, **overrides: Any):
    values: dict[str, Any] = {
        "status": "awaiting_callback",
        "provider": "lilli",
        "attempts": 1,
        "started_at": utcnow(),
        "awaiting_callback_at": utcnow(),
        "callback_deadline_at": utcnow() + timedelta(hours=1),
    }
    values.update(overrides)
    return await create_generation_row(db, shop, **values)


async def test_a_platform_signed_result_completes_once(client, db) -> None:
    shop = await create_shop(db, name="De Tulp")
    row = await waiting(db, shop)
    url = f"{ROUTE}/{row.id}/result"
    body, headers = signing.standard(CALLBACK_SECRET, completed("De Tulp", 2, row.id))
    answer = await client.post(url, content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    read = answer.json()
    assert read["status"] == "completed" and read["completedBy"] == "callback"
    assert read["output"]["provider"] == "lilli" and len(read["output"]["variants"]) == 2
    assert read["output"]["variants"][0]["smsText"].startswith("De Tulp")

    # The same delivery again: the same answer, nothing more.
    again = await client.post(url, content=body, headers=headers)
    assert again.status_code == 200 and again.json() == read
    # Another result (a new webhook-id): the first one won.
    body2, headers2 = signing.standard(CALLBACK_SECRET, completed("De Tulp", 1, row.id))
    late = await client.post(url, content=body2, headers=headers2)
    assert late.status_code == 409 and late.json()["error"]["code"] == "generation_finished"

    (event,) = await campaign_events(db, shop.id)
    assert event.type == "campaign.generation.completed"
    assert event.payload["generation"]["completedBy"] == "callback"


async def test_the_shops_lilli_integration_may_sign_and_no_one_else(client, db) -> None:
    shop, other = await create_shop(db, name="Bloemhof"), await create_shop(db)
    await create_integration(db, shop, "lilli", kind="support")
    row = await waiting(db, shop)
    theirs = await waiting(db, other)

    # The integration belongs to `shop`: it cannot sign for another shop's request.
    body, headers = signing.standard(LILLI_SECRET, completed("Bloemhof", 1, theirs.id))
    refused = await client.post(f"{ROUTE}/{theirs.id}/result", content=body, headers=headers)
    assert refused.status_code == 401
    assert "www-authenticate" in refused.headers
    body, headers = signing.standard(LILLI_SECRET, completed("Bloemhof", 1, row.id))
    answer = await client.post(f"{ROUTE}/{row.id}/result", content=body, headers=headers)
    assert answer.status_code == 200, answer.text

    # A signed result names its request: the signature does not cover the URL, so a
    # delivery captured for one request cannot be replayed against another.
    second = await waiting(db, shop)
    replayed = await client.post(f"{ROUTE}/{second.id}/result", content=body, headers=headers)
    assert replayed.status_code == 422
    assert replayed.json()["error"]["details"][0]["field"] == "body.requestId"
    body, headers = signing.standard(LILLI_SECRET, completed("Bloemhof"))
    unnamed = await client.post(f"{ROUTE}/{second.id}/result", content=body, headers=headers)
    assert unnamed.status_code == 422
    assert (await generation_row(db, str(second.id))).status == "awaiting_callback"

    wrong = "whsec_" + "d3JvbmctY2FsbGJhY2stc2VjcmV0LWZvci10ZXN0cw=="
    for secret in (wrong,):
        body, headers = signing.standard(secret, completed("Bloemhof"))
        bad = await client.post(f"{ROUTE}/{theirs.id}/result", content=body, headers=headers)
        assert bad.status_code == 401
    # Tampered body, unknown id, no credentials at all: 401 alike.
    body, headers = signing.standard(CALLBACK_SECRET, completed("Bloemhof", 1, theirs.id))
    tampered = body.replace(b"Bloemhof", b"Bloemhox")
    assert (
        await client.post(f"{ROUTE}/{theirs.id}/result", content=tampered, headers=headers)
    ).status_code == 401
    unsigned = await client.post(f"{ROUTE}/{theirs.id}/result", json=completed("x"))
    assert unsigned.status_code == 401
    # The platform's secret, an id that is no request: 404.
    missing = await client.post(
        f"{ROUTE}/01a24f70-3625-7206-a1c5-240a31af25d1/result", content=body, headers=headers
    )
    assert missing.status_code == 404


async def test_an_api_key_with_campaigns_callback(client, db) -> None:
    shop, other = await create_shop(db, name="Rozenhof"), await create_shop(db)
    _, key = await issue_key(db, shop, ["campaigns:callback"])
    _, no_scope = await issue_key(db, shop, ["campaigns:generate"])
    row = await waiting(db, shop)
    theirs = await waiting(db, other)
    url = f"{ROUTE}/{row.id}/result"

    denied = await client.post(url, json=completed("Rozenhof"), headers=key_headers(no_scope))
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "insufficient_scope"
    cross = await client.post(
        f"{ROUTE}/{theirs.id}/result", json=completed("Rozenhof"), headers=key_headers(key)
    )
    assert cross.status_code == 404

    owner = await create_user(db)
    await add_member(db, shop, owner, "owner")
    session = bearer(await database_session(db, owner.id))
    as_user = await client.post(url, json=completed("Rozenhof"), headers=session)
    assert as_user.status_code == 403
    assert as_user.json()["error"]["code"] == "api_key_required"

    mismatch = await client.post(
        url, json=completed("Rozenhof", 1, theirs.id), headers=key_headers(key)
    )
    assert mismatch.status_code == 422

    answer = await client.post(url, json=completed("Rozenhof"), headers=key_headers(key))
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "completed"
    repeat = await client.post(url, json=completed("Rozenhof"), headers=key_headers(key))
    assert repeat.status_code == 200 and repeat.json() == answer.json()
    other_result = await client.post(url, json=completed("Rozenhof", 2), headers=key_headers(key))
    assert other_result.status_code == 409
    assert len(await campaign_events(db, shop.id)) == 1


async def test_a_failed_result_an_unusable_one_and_a_cancelled_request(client, db) -> None:
    shop = await create_shop(db, name="Tulpenhuis")
    _, key = await issue_key(db, shop, ["campaigns:callback", "campaigns:generate"])
    row = await waiting(db, shop)
    url = f"{ROUTE}/{row.id}/result"

    too_long = completed("Tulpenhuis")
    too_long["variants"][0]["smsText"] = "Tulpenhuis: " + "ş" * 60  # UCS-2 (ş): over 70
    unusable = await client.post(url, json=too_long, headers=key_headers(key))
    assert unusable.status_code == 422
    assert unusable.json()["error"]["details"][0]["field"] == "body.variants[0].smsText"
    nameless = completed("Tulpenhuis")
    nameless["variants"][0] = {k: "Flowers!" for k in ("subject", "preview", "body")} | {
        "smsText": "Flowers! STOP"
    }
    assert (await client.post(url, json=nameless, headers=key_headers(key))).status_code == 422
    inconsistent = await client.post(url, json={"status": "completed"}, headers=key_headers(key))
    assert inconsistent.status_code == 422

    failure = {"status": "failed", "error": {"code": "model_refused", "message": "No copy."}}
    failed = await client.post(url, json=failure, headers=key_headers(key))
    assert failed.status_code == 200
    assert failed.json()["status"] == "failed" and failed.json()["failedAt"]
    assert failed.json()["error"] == {"code": "model_refused", "message": "No copy."}
    assert (await client.post(url, json=failure, headers=key_headers(key))).status_code == 200
    (event,) = await campaign_events(db, shop.id)
    assert event.type == "campaign.generation.failed"

    cancelled = await waiting(db, shop)
    assert (
        await client.post(f"{ROUTE}/{cancelled.id}/cancel", headers=key_headers(key))
    ).status_code == 200
    late = await client.post(
        f"{ROUTE}/{cancelled.id}/result", json=completed("Tulpenhuis"), headers=key_headers(key)
    )
    assert late.status_code == 409 and late.json()["error"]["code"] == "generation_finished"


async def test_a_callback_after_the_deadline_and_the_expiry_job(
    client, db, settings, session_factory
) -> None:
    shop = await create_shop(db, name="Late Bloom")
    _, key = await issue_key(db, shop, ["campaigns:callback", "campaigns:generate"])
    row = await waiting(db, shop, callback_deadline_at=utcnow() - timedelta(seconds=1))
    fresh = await waiting(db, shop)
    url = f"{ROUTE}/{row.id}/result"

    late = await client.post(url, json=completed("Late Bloom"), headers=key_headers(key))
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "callback_deadline_passed"
    assert (await generation_row(db, str(row.id))).status == "awaiting_callback"

    # The periodic tick finds it (and not the fresh one) and defers its shop's job …
    resources = JobResources(settings, session_factory)
    await defer_expiries(CrossShopJob(resources, manager=None))  # type: ignore[arg-type]
    jobs = await db.execute(
        text("SELECT args FROM procrastinate_jobs WHERE task_name = 'campaigns.expire_generation'")
    )
    deferred = [args for (args,) in jobs.all()]
    assert {"request_id": str(row.id), "shop_id": str(shop.id)} in deferred
    assert str(fresh.id) not in json.dumps(deferred)
    # … which fails it, once.
    for _ in range(2):
        await run_in_transaction(settings, session_factory, shop.id, str(row.id), expiry=True)
    await run_in_transaction(settings, session_factory, shop.id, str(fresh.id), expiry=True)
    failed = (await client.get(f"{ROUTE}/{row.id}", headers=key_headers(key))).json()
    assert failed["status"] == "failed"
    assert failed["error"]["code"] == "callback_deadline_passed"
    assert (await generation_row(db, str(fresh.id))).status == "awaiting_callback"
    (event,) = await campaign_events(db, shop.id)
    assert event.type == "campaign.generation.failed"

    again = await client.post(url, json=completed("Late Bloom"), headers=key_headers(key))
    assert again.status_code == 409 and again.json()["error"]["code"] == "generation_finished"


async def test_a_request_whose_job_is_gone_is_failed_not_left_waiting(
    client, db, settings, session_factory
) -> None:
    """A generation job can end without finishing its request (the database away through
    all its retries, a job deleted): the periodic tick finds requests unchanged for
    CAMPAIGN_GENERATION_LOST_SECONDS with no job left, and fails them; a request whose job
    is still queued is left alone, however old."""
    shop = await create_shop(db, name="Lost Bloom")
    _, key = await issue_key(db, shop, ["campaigns:generate"])
    long_ago = utcnow() - timedelta(hours=2)
    lost = await create_generation_row(db, shop, status="processing", updated_at=long_ago)
    queued = await create_generation_row(db, shop, status="pending", updated_at=long_ago)
    recent = await create_generation_row(db, shop, status="processing")
    await db.execute(
        text(
            "INSERT INTO procrastinate_jobs (queue_name, task_name, lock, args, status) "
            "VALUES ('default', 'campaigns.generate', NULL, CAST(:args AS jsonb), 'todo')"
        ),
        {"args": json.dumps({"shop_id": str(shop.id), "request_id": str(queued.id)})},
    )

    resources = JobResources(settings, session_factory)
    await defer_expiries(CrossShopJob(resources, manager=None))  # type: ignore[arg-type]
    jobs = await db.execute(
        text("SELECT args FROM procrastinate_jobs WHERE task_name = 'campaigns.expire_generation'")
    )
    deferred = json.dumps([args for (args,) in jobs.all()])
    assert str(lost.id) in deferred
    assert str(queued.id) not in deferred and str(recent.id) not in deferred
    for row in (lost, queued, recent):
        await run_in_transaction(settings, session_factory, shop.id, str(row.id), expiry=True)

    failed = (await client.get(f"{ROUTE}/{lost.id}", headers=key_headers(key))).json()
    assert failed["status"] == "failed"
    assert failed["error"]["code"] == "generation_lost"
    assert (await generation_row(db, str(queued.id))).status == "pending"
    assert (await generation_row(db, str(recent.id))).status == "processing"
    (event,) = await campaign_events(db, shop.id)
    assert event.type == "campaign.generation.failed"


async def test_the_lost_request_look_up_reads_the_unfinished_requests_index(db) -> None:
    """The periodic look-up runs every minute over every shop: with thousands of finished
    requests it reads the partial index of unfinished ones, not the table."""
    shop = await create_shop(db, name="Busy Bloom")
    await db.execute(
        text(
            "INSERT INTO campaign_generation_requests (id, shop_id, status, input, brief, output)"
            " SELECT gen_random_uuid(), :shop, 'completed', '{}'::jsonb, '{}'::jsonb, '{}'::jsonb"
            " FROM generate_series(1, 5000)"
        ),
        {"shop": shop.id},
    )
    await create_generation_row(db, shop, status="processing")
    await db.execute(text("ANALYZE campaign_generation_requests"))
    plan = (
        await db.execute(
            text(
                "EXPLAIN (FORMAT JSON) SELECT r.shop_id, r.id FROM campaign_generation_requests r"
                " WHERE r.status IN ('pending', 'processing') AND r.updated_at <= now()"
                " ORDER BY r.updated_at LIMIT 500"
            )
        )
    ).scalar_one()
    assert "ix_campaign_generation_requests_unfinished" in json.dumps(plan), plan


async def test_a_callback_with_more_variants_than_asked_keeps_and_checks_only_those(
    client, db
) -> None:
    """The worker and the callback decide alike: variants past the number asked are cut
    first, so an unusable extra one does not refuse the result."""
    shop = await create_shop(db, name="Rozenhof")
    _, key = await issue_key(db, shop, ["campaigns:callback", "campaigns:generate"])
    row = await waiting(db, shop)  # the brief asks for 2
    body = completed("Rozenhof", count=3)
    # Unusable (it does not name the shop), and not asked for.
    body["variants"][2].update(subject="Kerst!", preview="Bestel nu.", body="Bestel nu.")
    answer = await client.post(f"{ROUTE}/{row.id}/result", json=body, headers=key_headers(key))
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["output"]["variants"]) == 2
    broken = await waiting(db, shop)
    body = completed("Rozenhof", count=2)
    body["variants"][1]["subject"] = ""
    refused = await client.post(f"{ROUTE}/{broken.id}/result", json=body, headers=key_headers(key))
    assert refused.status_code == 422
    assert [d["field"] for d in refused.json()["error"]["details"]] == ["body.variants[1].subject"]
