"""The extension point: with AI_PROVIDER lilli or openai the provider may rewrite the copy
(``source: "provider"``); the rules' suggestion stands when it fails, is late, or sends
copy that breaks the rules (too long, not naming the shop).

A small Starlette app served by uvicorn in a thread plays Lilli and an OpenAI-compatible
server on loopback; the path picks its behaviour: ``{base}/{scenario}/v1/campaigns/copy``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import uvicorn
from httpx import ASGITransport, AsyncClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bloomer_ai.config import AISettings
from bloomer_ai.db.engine import DatabaseTarget
from conftest import make_settings
from factories.campaigns import consent, create_orders_at
from factories.core import create_customer, create_shop
from support.auth import issue_key, key_headers

LILLI_KEY = "lk_campaign_copy_test"
OPENAI_KEY = "sk-campaign-copy-test"
ROUTE = "/api/ai/campaigns/suggest"
SHOP_NAME = "Rozenhof"
SLOW_S = 2.0

RECEIVED: dict[str, list[tuple[dict[str, str], Any]]] = defaultdict(list)


def rewrite(draft: dict[str, Any], shop: str, index: int) -> dict[str, str]:
    return {
        "subject": f"{shop}: {draft['occasion']['name']} ({index})",
        "bodyPreview": f"Nieuw van {shop} voor {draft['occasion']['name']}.",
    }


def copies_for(scenario: str, body: dict[str, Any]) -> list[Any]:
    shop = body["shop"]["name"]
    copies: list[Any] = [rewrite(d, shop, i) for i, d in enumerate(body["drafts"])]
    if scenario == "mixed":
        copies[1] = {"subject": "x" * 61, "bodyPreview": f"{shop} is too long above"}
        copies[2] = {"subject": "Moederdag", "bodyPreview": "Without the shop's name"}
        copies[3] = None
        copies = copies[:5]  # and one missing at the end
    return copies


async def fake_lilli(request: Request) -> Response:
    scenario = request.path_params["scenario"]
    body = json.loads(await request.body())
    RECEIVED[scenario].append((dict(request.headers), body))
    kind = scenario.split("~")[0]
    if kind == "slow":
        await asyncio.sleep(SLOW_S)
    if kind == "fail":
        return JSONResponse({"error": "exploded"}, status_code=500)
    if kind == "nolist":
        return JSONResponse({"copy": "one"})
    return JSONResponse({"copies": copies_for(kind, body)})


async def fake_openai(request: Request) -> Response:
    scenario = request.path_params["scenario"]
    body = json.loads(await request.body())
    RECEIVED[scenario].append((dict(request.headers), body))
    kind = scenario.split("~")[0]
    drafts = json.loads(body["messages"][1]["content"])
    content = json.dumps({"copies": copies_for(kind, drafts)})
    if kind == "fenced":
        content = f"```json\n{content}\n```"
    if kind == "prose":
        content = "Here are some ideas!"
    return JSONResponse({"choices": [{"index": 0, "message": {"content": content}}]})


@pytest.fixture(scope="module")
def upstream_url() -> Iterator[str]:
    app = Starlette(
        routes=[
            Route("/{scenario}/v1/campaigns/copy", fake_lilli, methods=["POST"]),
            Route("/{scenario}/chat/completions", fake_openai, methods=["POST"]),
        ]
    )
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", lifespan="off", log_config=None,
        timeout_graceful_shutdown=1,
    )  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the imitation did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    server.should_exit = True
    thread.join(5)


@contextlib.asynccontextmanager
async def app_client(database_url, session_factory, ai: AISettings) -> AsyncIterator[Any]:
    from bloomer_ai.main import create_app

    application = create_app(
        make_settings(database_url, ai=ai),
        database=DatabaseTarget(database_url, embedded=False),
        session_factory=session_factory,
    )
    async with application.router.lifespan_context(application):
        transport = ASGITransport(app=application)
        async with AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


def scenario(kind: str) -> str:
    return f"{kind}~{uuid.uuid4().hex[:8]}"


def lilli(base: str, name: str, **extra: Any) -> AISettings:
    values = {
        "ai_provider": "lilli",
        "lilli_base_url": f"{base}/{name}",
        "lilli_api_key": LILLI_KEY,
        "campaign_copy_timeout_seconds": 0.5,
    }
    return AISettings(_env_file=None, **{**values, **extra})


def openai(base: str, name: str) -> AISettings:
    return AISettings(
        _env_file=None,
        ai_provider="openai",
        openai_base_url=f"{base}/{name}",
        openai_api_key=OPENAI_KEY,
        openai_model="copy-model",
        campaign_copy_timeout_seconds=0.5,
    )


@pytest.fixture
async def florist(db):
    shop = await create_shop(db, country="NL", timezone="Europe/Amsterdam", name=SHOP_NAME)
    recent = datetime.now(UTC) - timedelta(days=5)
    for index in range(6):
        customer = await create_customer(db, shop, **consent(email=index % 2 == 0))
        await create_orders_at(db, shop, [recent - timedelta(days=40 * k) for k in range(index)],
                               customer=customer)  # fmt: skip
    # At risk (two orders, 200 and 240 days ago) and lapsed (400 days ago).
    for ages in ((200, 240), (400,)):
        customer = await create_customer(db, shop, **consent(email=True))
        await create_orders_at(db, shop, [recent - timedelta(days=age) for age in ages],
                               customer=customer)  # fmt: skip
    _, secret = await issue_key(db, shop, ["campaigns:suggest"])
    return key_headers(secret)


BODY = {"occasion": "mothers_day", "limit": 7}


async def suggestions(client: AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = await client.post(ROUTE, json=BODY, headers=headers)
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()["suggestions"]
    return result


def without_copy(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {k: v for k, v in item.items() if k not in ("subject", "bodyPreview", "source")}
        for item in items
    ]


async def rules_answer(client: AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    return await suggestions(client, headers)


async def test_lilli_rewrites_the_copy_and_nothing_else(
    client, database_url, session_factory, florist, upstream_url
):
    by_rules = await rules_answer(client, florist)
    assert len(by_rules) >= 6 and {s["source"] for s in by_rules} == {"rules"}
    name = scenario("ok")
    async with app_client(database_url, session_factory, lilli(upstream_url, name)) as app:
        rewritten = await suggestions(app, florist)
    assert {s["source"] for s in rewritten} == {"provider"}
    assert [s["subject"] for s in rewritten] == [
        f"{SHOP_NAME}: Moederdag ({index})" for index in range(len(rewritten))
    ]
    # Occasion, audience, send time and rationale are the shop's data, never the provider's.
    assert without_copy(rewritten) == without_copy(by_rules)

    ((headers, body),) = RECEIVED[name]
    assert headers["authorization"] == f"Bearer {LILLI_KEY}"
    assert body["shop"]["name"] == SHOP_NAME and body["shop"]["country"] == "NL"
    assert body["shop"]["timezone"] == "Europe/Amsterdam"
    assert (body["channel"], body["language"]) == ("email", "nl")
    assert body["limits"] == {
        "subjectMaxChars": 60,
        "bodyMaxChars": 140,
        "bodyMaxSmsSegments": None,
    }
    assert [d["subject"] for d in body["drafts"]] == [s["subject"] for s in by_rules]
    first = body["drafts"][0]
    assert first["occasion"]["key"] == "mothers_day"
    assert first["audience"]["segment"] == by_rules[0]["suggestedAudience"]["segment"]
    assert first["sendAt"] == by_rules[0]["suggestedTime"].replace("Z", "+00:00")


async def test_copy_breaking_the_rules_is_not_used(
    client, database_url, session_factory, florist, upstream_url
):
    by_rules = await rules_answer(client, florist)
    async with app_client(
        database_url, session_factory, lilli(upstream_url, scenario("mixed"))
    ) as app:
        mixed = await suggestions(app, florist)
    # 0 fine, 1 too long, 2 without the shop's name, 3 null, 5+ missing: rules stand there.
    assert [s["source"] for s in mixed] == ["provider", "rules", "rules", "rules", "provider"] + [
        "rules"
    ] * (len(mixed) - 5)
    for index in (1, 2, 3):
        assert mixed[index]["subject"] == by_rules[index]["subject"]


@pytest.mark.parametrize("kind", ["fail", "nolist", "slow"])
async def test_rules_stand_when_the_provider_fails_or_is_late(
    client, database_url, session_factory, florist, upstream_url, kind
):
    by_rules = await rules_answer(client, florist)
    async with app_client(
        database_url, session_factory, lilli(upstream_url, scenario(kind))
    ) as app:
        started = time.monotonic()
        answer = await suggestions(app, florist)
        took = time.monotonic() - started
    assert answer == by_rules
    if kind == "slow":
        assert took < SLOW_S - 0.5  # the timeout (0.5 s), not the provider, ended the wait


async def test_an_unreachable_provider_is_a_failure_like_any(
    client, database_url, session_factory, florist
):
    by_rules = await rules_answer(client, florist)
    ai = lilli("http://127.0.0.1:9", "nobody")  # the discard port: connection refused
    async with app_client(database_url, session_factory, ai) as app:
        assert await suggestions(app, florist) == by_rules


@pytest.mark.parametrize("kind", ["ok", "fenced"])
async def test_openai_compatible_servers_rewrite_too(
    database_url, session_factory, florist, upstream_url, kind
):
    name = scenario(kind)
    async with app_client(database_url, session_factory, openai(upstream_url, name)) as app:
        answer = await suggestions(app, florist)
    assert {s["source"] for s in answer} == {"provider"}
    ((headers, body),) = RECEIVED[name]
    assert headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert body["model"] == "copy-model"
    assert body["response_format"] == {"type": "json_object"}
    system = body["messages"][0]["content"]
    assert SHOP_NAME in system and "Dutch" in system and "at most 60 characters" in system
    assert (
        json.loads(body["messages"][1]["content"])["drafts"][0]["occasion"]["name"] == "Moederdag"
    )


async def test_openai_prose_instead_of_json_leaves_the_rules(
    client, database_url, session_factory, florist, upstream_url
):
    by_rules = await rules_answer(client, florist)
    async with app_client(
        database_url, session_factory, openai(upstream_url, scenario("prose"))
    ) as app:
        assert await suggestions(app, florist) == by_rules
