"""POST/GET/list/cancel of campaign generation, and a run of the worker's job in the test's
own transaction (the real worker processes: test_generation_worker.py)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from bloomer_ai.campaigns.rules.sms import fits_one_sms
from bloomer_ai.config import FeatureSettings
from conftest import make_settings
from factories.campaign_generation import OUTPUT, create_generation_row
from factories.core import add_member, create_shop, create_user
from support.auth import bearer, database_session, issue_key, key_headers
from support.generation import (
    ROUTE,
    campaign_events,
    email_input,
    generation_row,
    run_in_transaction,
)


async def test_a_request_is_accepted_queued_and_completed_by_the_worker(
    client, db, settings, session_factory
) -> None:
    shop = await create_shop(db, name="De Tulp", country="NL")
    _, key = await issue_key(db, shop, ["campaigns:generate"])
    body = {
        "campaignId": "cmp_42",
        "input": {"channel": "email", "occasion": "christmas", "tone": "warm", "variants": 3},
    }
    accepted = await client.post(ROUTE, json=body, headers=key_headers(key))
    assert accepted.status_code == 202, accepted.text
    request_id = accepted.json()["requestId"]
    assert accepted.json()["status"] == "pending"

    # The job was written in the request's transaction.
    jobs = await db.execute(
        text("SELECT task_name, args FROM procrastinate_jobs WHERE args->>'request_id' = :id"),
        {"id": request_id},
    )
    ((task_name, args),) = jobs.all()
    assert task_name == "campaigns.generate" and args["shop_id"] == str(shop.id)

    polled = (await client.get(f"{ROUTE}/{request_id}", headers=key_headers(key))).json()
    assert polled["status"] == "pending" and polled["attempts"] == 0
    assert polled["input"] == body["input"] and polled["campaignId"] == "cmp_42"
    assert polled["output"] is None and polled["error"] is None

    await run_in_transaction(settings, session_factory, shop.id, request_id)
    done = (await client.get(f"{ROUTE}/{request_id}", headers=key_headers(key))).json()
    assert done["status"] == "completed" and done["completedBy"] == "worker"
    assert done["attempts"] == 1 and done["startedAt"] and done["completedAt"]
    output = done["output"]
    assert output["provider"] == "builtin" and output["language"] == "nl"
    assert output["occasion"]["key"] == "christmas" and output["occasion"]["name"] == "Kerstmis"
    assert len(output["variants"]) == 3
    assert len({v["subject"] for v in output["variants"]}) == 3  # three angles
    for variant in output["variants"]:
        assert len(variant["subject"]) <= 60 and len(variant["preview"]) <= 140
        assert "De Tulp" in variant["body"] and "Beste klant," in variant["body"]
        assert fits_one_sms(variant["smsText"])

    (event,) = await campaign_events(db, shop.id)
    assert event.type == "campaign.generation.completed"
    assert event.payload["generation"]["id"] == request_id
    assert "input" not in event.payload["generation"]

    # A second run of the same job (at least once) changes nothing.
    await run_in_transaction(settings, session_factory, shop.id, request_id)
    again = (await client.get(f"{ROUTE}/{request_id}", headers=key_headers(key))).json()
    assert again == done
    assert len(await campaign_events(db, shop.id)) == 1


async def test_sms_copy_and_the_next_occasion_by_default(
    client, db, settings, session_factory
) -> None:
    shop = await create_shop(db, name="Rose & Co", country="US")
    _, key = await issue_key(db, shop, ["campaigns:generate"])
    accepted = await client.post(
        ROUTE,
        json={"input": {"channel": "sms", "segment": "lapsed", "variants": 1}},
        headers=key_headers(key),
    )
    request_id = accepted.json()["requestId"]
    await run_in_transaction(settings, session_factory, shop.id, request_id)
    done = (await client.get(f"{ROUTE}/{request_id}", headers=key_headers(key))).json()
    (variant,) = done["output"]["variants"]
    assert done["output"]["channel"] == "sms" and done["output"]["language"] == "en"
    assert fits_one_sms(variant["smsText"]) and "STOP" in variant["smsText"]
    assert "miss you" in variant["subject"].lower()  # the win-back angle of "lapsed"


async def test_a_session_user_may_ask_and_read(client, db) -> None:
    shop = await create_shop(db)
    user = await create_user(db)
    await add_member(db, shop, user, "staff")
    headers = bearer(await database_session(db, user.id))
    accepted = await client.post(ROUTE, json=email_input(), headers=headers)
    assert accepted.status_code == 202
    read = await client.get(f"{ROUTE}/{accepted.json()['requestId']}", headers=headers)
    assert read.status_code == 200


async def test_refusals(client, db) -> None:
    shop, other = await create_shop(db, country="NL"), await create_shop(db)
    _, key = await issue_key(db, shop)
    _, suggest_only = await issue_key(db, shop, ["campaigns:suggest"])
    theirs = await create_generation_row(db, other)

    assert (await client.post(ROUTE, json=email_input())).status_code == 401
    refused = await client.post(ROUTE, json=email_input(), headers=key_headers(suggest_only))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "insufficient_scope"
    for path in (f"{ROUTE}/{theirs.id}", f"{ROUTE}/not-an-id"):
        assert (await client.get(path, headers=key_headers(key))).status_code == 404
    cancel = await client.post(f"{ROUTE}/{theirs.id}/cancel", headers=key_headers(key))
    assert cancel.status_code == 404
    assert cancel.json()["error"]["code"] == "generation_not_found"
    listed = await client.get(ROUTE, headers=key_headers(key))
    assert str(theirs.id) not in json.dumps(listed.json())

    async def fields(body: object) -> list[str]:
        answer = await client.post(ROUTE, json=body, headers=key_headers(key))
        assert answer.status_code == 422, answer.text
        return [d["field"] for d in answer.json()["error"]["details"]]

    assert await fields({"input": {"channel": "email", "occasion": "thanksgiving"}}) == [
        "body.input.occasion"
    ]
    assert await fields({"input": {}}) == ["body.input.channel"]
    assert await fields({"input": {"channel": "fax"}}) == ["body.input.channel"]
    assert await fields(email_input(variants=6)) == ["body.input.variants"]
    assert await fields(email_input(tone="angry")) == ["body.input.tone"]
    assert await fields({"input": {"channel": "email"}, "extra": 1}) == ["body.extra"]
    assert await fields({"campaignId": "", "input": {"channel": "email"}}) == ["body.campaignId"]
    bad_list = await client.get(f"{ROUTE}?status=done", headers=key_headers(key))
    assert bad_list.status_code == 422
    assert bad_list.json()["error"]["details"][0]["field"] == "query.status"


async def test_idempotency_key(client, db) -> None:
    shop = await create_shop(db)
    _, key = await issue_key(db, shop)
    headers = {**key_headers(key), "Idempotency-Key": "gen-1"}
    first = await client.post(ROUTE, json=email_input(), headers=headers)
    second = await client.post(ROUTE, json=email_input(), headers=headers)
    assert first.status_code == second.status_code == 202
    assert first.json() == second.json()
    assert second.headers["idempotent-replayed"] == "true"
    other = await client.post(ROUTE, json=email_input(variants=1), headers=headers)
    assert other.status_code == 409
    listed = (await client.get(ROUTE, headers=key_headers(key))).json()
    assert [item["id"] for item in listed["items"]] == [first.json()["requestId"]]


async def test_cancel(client, db, settings, session_factory) -> None:
    shop = await create_shop(db)
    _, key = await issue_key(db, shop)
    request_id = (await client.post(ROUTE, json=email_input(), headers=key_headers(key))).json()[
        "requestId"
    ]
    cancelled = await client.post(f"{ROUTE}/{request_id}/cancel", headers=key_headers(key))
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["cancelledAt"]
    repeat = await client.post(f"{ROUTE}/{request_id}/cancel", headers=key_headers(key))
    assert repeat.status_code == 200 and repeat.json() == cancelled.json()

    # The queued job finds it cancelled and does nothing.
    await run_in_transaction(settings, session_factory, shop.id, request_id)
    row = await generation_row(db, request_id)
    assert row.status == "cancelled" and row.attempts == 0 and row.output is None
    assert await campaign_events(db, shop.id) == []

    # A completed request cannot be cancelled.
    done_id = (await client.post(ROUTE, json=email_input(), headers=key_headers(key))).json()[
        "requestId"
    ]
    await run_in_transaction(settings, session_factory, shop.id, done_id)
    late = await client.post(f"{ROUTE}/{done_id}/cancel", headers=key_headers(key))
    assert late.status_code == 409 and late.json()["error"]["code"] == "generation_finished"


async def test_list_filters_and_pages(client, db) -> None:
    shop = await create_shop(db)
    _, key = await issue_key(db, shop)
    for status in ("pending", "completed", "failed", "pending"):
        await create_generation_row(
            db,
            shop,
            status=status,
            campaign_id="cmp_a" if status == "pending" else "cmp_b",
            output=OUTPUT if status == "completed" else None,
        )
    headers = key_headers(key)
    pending = (await client.get(f"{ROUTE}?status=pending", headers=headers)).json()
    assert [item["status"] for item in pending["items"]] == ["pending", "pending"]
    by_campaign = (await client.get(f"{ROUTE}?campaignId=cmp_b", headers=headers)).json()
    assert {item["status"] for item in by_campaign["items"]} == {"completed", "failed"}
    first = (await client.get(f"{ROUTE}?limit=3", headers=headers)).json()
    assert len(first["items"]) == 3 and first["nextCursor"]
    rest = (
        await client.get(f"{ROUTE}?limit=3&cursor={first['nextCursor']}", headers=headers)
    ).json()
    assert len(rest["items"]) == 1 and rest["nextCursor"] is None


@pytest.fixture
def switched_off(database_url):
    return make_settings(
        database_url, features=FeatureSettings(_env_file=None, ai_campaigns_enabled=False)
    )


async def test_switched_off(db, switched_off, database_target, session_factory) -> None:
    from httpx import ASGITransport, AsyncClient

    from bloomer_ai.main import create_app

    shop = await create_shop(db)
    _, key = await issue_key(db, shop)
    application = create_app(
        switched_off, database=database_target, session_factory=session_factory
    )
    async with application.router.lifespan_context(application):
        transport = ASGITransport(app=application)
        async with AsyncClient(transport=transport, base_url="http://testserver") as client:
            answer = await client.post(ROUTE, json=email_input(), headers=key_headers(key))
            result = await client.post(f"{ROUTE}/x/result", json={})
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "feature_disabled"
    assert result.status_code == 404
