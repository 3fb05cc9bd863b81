"""The worker's run with each provider: real HTTP to a Lilli and an OpenAI-compatible
imitation on loopback. Lilli may answer at once or accept for later (then the request
waits for its callback, with a deadline); a provider failure is retried, then fails the
request with a readable error; copy outside the channel's limits is a failure too."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bloomer_ai.config import AISettings, WebhookSettings
from bloomer_ai.jobs.retry import RetryLater
from conftest import make_settings
from factories.core import create_shop
from support.auth import issue_key, key_headers
from support.generation import ROUTE, campaign_events, email_input, run_in_transaction
from support.receiver import serving

LILLI_KEY = "lk_generation_test"
SEEN: dict[str, list[tuple[dict[str, str], Any]]] = defaultdict(list)


def variants_for(body: dict[str, Any], *, subject_length: int = 0) -> list[dict[str, str]]:
    shop = body["shop"]["name"]
    occasion = body["brief"]["occasion"]["name"]
    return [
        {
            "subject": f"{occasion} at {shop} #{n}" + "!" * subject_length,
            "preview": f"Order now at {shop}.",
            "body": f"Hello,\n\nOrder now at {shop}.\n\n{shop}",
            "smsText": f"{shop}: {occasion}. STOP",
        }
        for n in range(body["brief"]["variants"])
    ]


async def lilli(request: Request) -> Response:
    scenario = request.path_params["scenario"]
    body = json.loads(await request.body())
    SEEN[scenario].append((dict(request.headers), body))
    if scenario == "accept":
        return JSONResponse({"status": "accepted"}, status_code=202)
    if scenario == "fail":
        return JSONResponse({"error": "overloaded"}, status_code=503)
    return JSONResponse({"variants": variants_for(body)})


async def openai(request: Request) -> Response:
    scenario = request.path_params["scenario"]
    body = json.loads(await request.body())
    SEEN[scenario].append((dict(request.headers), body))
    if scenario == "fail":
        return Response("boom", status_code=500)
    brief = json.loads(body["messages"][1]["content"])
    long = 60 if scenario == "too-long" else 0
    content = json.dumps({"variants": variants_for(brief, subject_length=long)})
    return JSONResponse({"choices": [{"message": {"role": "assistant", "content": content}}]})


@pytest.fixture
async def upstream() -> AsyncIterator[str]:
    app = Starlette(
        routes=[
            Route("/{scenario}/v1/campaigns/generate", lilli, methods=["POST"]),
            Route("/{scenario}/chat/completions", openai, methods=["POST"]),
        ]
    )
    SEEN.clear()
    async with serving(app) as base:
        yield base


def provider_settings(database_url, base: str, provider: str, scenario: str) -> Any:
    ai: dict[str, Any] = {
        "ai_provider": provider,
        "campaign_generation_max_attempts": 2,
        "campaign_generation_retry_seconds": 1.0,
        "campaign_generation_timeout_seconds": 5.0,
        "campaign_callback_deadline_seconds": 600,
    }
    if provider == "lilli":
        ai |= {"lilli_base_url": f"{base}/{scenario}", "lilli_api_key": SecretStr(LILLI_KEY)}
    else:
        ai |= {"openai_base_url": f"{base}/{scenario}", "openai_model": "test-model"}
    return make_settings(
        database_url,
        ai=AISettings(_env_file=None, **ai),
        webhooks=WebhookSettings(_env_file=None, public_base_url="https://ai.example.com"),
    )


async def ask(client, db, name: str = "Bloom & Co") -> tuple[Any, dict[str, str], str]:
    shop = await create_shop(db, name=name, country="GB")
    _, key = await issue_key(db, shop)
    answer = await client.post(
        ROUTE, json=email_input(notes="Mention the wreath workshop."), headers=key_headers(key)
    )
    return shop, key_headers(key), answer.json()["requestId"]


async def test_lilli_answers_at_once(client, db, database_url, session_factory, upstream):
    shop, headers, request_id = await ask(client, db)
    settings = provider_settings(database_url, upstream, "lilli", "now")
    await run_in_transaction(settings, session_factory, shop.id, request_id)
    read = (await client.get(f"{ROUTE}/{request_id}", headers=headers)).json()
    assert read["status"] == "completed" and read["output"]["provider"] == "lilli"
    subjects = [v["subject"] for v in read["output"]["variants"]]
    assert len(subjects) == 3 and all("Bloom & Co #" in subject for subject in subjects)
    ((sent_headers, sent),) = SEEN["now"]
    assert sent_headers["authorization"] == f"Bearer {LILLI_KEY}"
    assert sent["requestId"] == request_id
    assert sent["callbackUrl"] == f"https://ai.example.com{ROUTE}/{request_id}/result"
    assert sent["brief"]["notes"] == "Mention the wreath workshop."
    assert sent["brief"]["occasion"]["key"] == "christmas"
    assert sent["shop"] == {
        "id": str(shop.id),
        "name": "Bloom & Co",
        "country": "GB",
        "timezone": shop.timezone,
    }


async def test_lilli_accepts_for_later(client, db, database_url, session_factory, upstream):
    shop, headers, request_id = await ask(client, db)
    settings = provider_settings(database_url, upstream, "lilli", "accept")
    await run_in_transaction(settings, session_factory, shop.id, request_id)
    read = (await client.get(f"{ROUTE}/{request_id}", headers=headers)).json()
    assert read["status"] == "awaiting_callback" and read["output"] is None
    assert read["awaitingCallbackAt"] and read["callbackDeadlineAt"]
    from datetime import datetime

    waited = datetime.fromisoformat(read["callbackDeadlineAt"]) - datetime.fromisoformat(
        read["awaitingCallbackAt"]
    )
    assert waited == timedelta(seconds=600)
    # A second run of the job leaves it with Lilli (no second call).
    await run_in_transaction(settings, session_factory, shop.id, request_id)
    assert len(SEEN["accept"]) == 1
    assert await campaign_events(db, shop.id) == []


async def test_a_provider_failure_is_retried_then_fails(
    client, db, database_url, session_factory, upstream
):
    shop, headers, request_id = await ask(client, db)
    settings = provider_settings(database_url, upstream, "openai", "fail")
    with pytest.raises(RetryLater) as retry:
        await run_in_transaction(settings, session_factory, shop.id, request_id)
    assert 0.5 <= retry.value.seconds <= 1.5
    first = (await client.get(f"{ROUTE}/{request_id}", headers=headers)).json()
    assert first["status"] == "processing" and first["attempts"] == 1
    assert first["error"] == {"code": "provider_error", "message": "openai answered HTTP 500"}
    assert await campaign_events(db, shop.id) == []

    await run_in_transaction(settings, session_factory, shop.id, request_id)  # the last run
    read = (await client.get(f"{ROUTE}/{request_id}", headers=headers)).json()
    assert read["status"] == "failed" and read["attempts"] == 2 and read["failedAt"]
    assert read["error"] == {"code": "provider_error", "message": "openai answered HTTP 500"}
    assert len(SEEN["fail"]) == 2
    (event,) = await campaign_events(db, shop.id)
    assert event.type == "campaign.generation.failed"
    assert event.payload["generation"]["error"]["code"] == "provider_error"


async def test_openai_and_another_shops_request(
    client, db, database_url, session_factory, upstream
):
    shop, headers, request_id = await ask(client, db)
    ok = provider_settings(database_url, upstream, "openai", "ok")
    await run_in_transaction(ok, session_factory, shop.id, request_id)
    read = (await client.get(f"{ROUTE}/{request_id}", headers=headers)).json()
    assert read["status"] == "completed" and read["output"]["provider"] == "openai"
    ((_, sent),) = SEEN["ok"]
    assert sent["model"] == "test-model" and sent["response_format"] == {"type": "json_object"}

    _, headers2, second = await ask(client, db, name="Fleur")
    too_long = provider_settings(database_url, upstream, "openai", "too-long")
    # A job for the first shop cannot reach the second shop's request.
    await run_in_transaction(too_long, session_factory, shop.id, second)
    assert SEEN["too-long"] == []
    read2 = (await client.get(f"{ROUTE}/{second}", headers=headers2)).json()
    assert read2["status"] == "pending"


async def test_unusable_copy_is_a_failure(client, db, database_url, session_factory, upstream):
    shop, headers, request_id = await ask(client, db)
    settings = provider_settings(database_url, upstream, "openai", "too-long")
    with pytest.raises(RetryLater):
        await run_in_transaction(settings, session_factory, shop.id, request_id)
    read = (await client.get(f"{ROUTE}/{request_id}", headers=headers)).json()
    assert read["error"]["code"] == "provider_unusable_copy"
    assert read["error"]["message"] == (
        "openai sent copy that cannot be used: variant 1's subject is longer than 60 characters"
    )
