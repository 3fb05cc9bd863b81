"""Generation by real workers on committed rows (the ``worker_database``): a request made as
the API makes it is completed by a worker with the builtin provider; a worker process
SIGKILLed while Lilli is still writing leaves the job to another, which completes the
request once — one output, one ``campaign.generation.completed`` event."""

from __future__ import annotations

import asyncio
import json
import signal
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import delete, text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bloomer_ai.campaign_generation import service
from bloomer_ai.campaign_generation.schemas import GenerateRequest
from bloomer_ai.config import AISettings
from bloomer_ai.db.session import make_operator_session_factory, unit_of_work
from bloomer_ai.jobs.worker import WorkerOptions, WorkerSupervisor, run_worker
from bloomer_ai.kit.time import utcnow
from bloomer_ai.main import create_app, task_modules
from bloomer_ai.models import Shop
from factories.campaign_generation import create_generation_row
from factories.core import create_shop
from support.auth import issue_key, key_headers
from support.receiver import serving
from support.workers import SUPPORT_WORKER, worker_environment, worker_process


@pytest.fixture
async def shop(worker_owner_engine: AsyncEngine) -> AsyncIterator[Shop]:
    factory = make_operator_session_factory(worker_owner_engine)
    async with unit_of_work(factory) as session:
        shop = await create_shop(session, name="Killed Bloom", country="NL")
    yield shop
    async with unit_of_work(factory) as session:
        await session.execute(delete(Shop).where(Shop.id == shop.id))


async def ask(sessions: Any, shop: Shop, **input: Any) -> str:
    """As ``POST /api/ai/campaigns/generate`` does, committed."""
    body = GenerateRequest.model_validate({"input": {"channel": "email", **input}})
    async with unit_of_work(sessions, shop_id=shop.id) as session:
        row = await service.request_generation(session, body, now=utcnow())
    return str(row.id)


async def fetch(engine: AsyncEngine, sql: str, **values: Any) -> list[Any]:
    async with engine.connect() as connection:
        return list(await connection.execute(text(sql), values))


async def request_row(engine: AsyncEngine, request_id: str) -> Any:
    (row,) = await fetch(
        engine, "SELECT * FROM campaign_generation_requests WHERE id = :id", id=request_id
    )
    return row


async def completed_events(engine: AsyncEngine, request_id: str) -> int:
    rows = await fetch(
        engine,
        "SELECT count(*) AS n FROM webhook_events WHERE type = 'campaign.generation.completed' "
        "AND payload->'generation'->>'id' = :id",
        id=request_id,
    )
    return int(rows[0].n)


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s: {what}")
        await asyncio.sleep(0.1)


async def test_a_worker_completes_a_request(
    worker_settings, worker_database, worker_sessions, worker_owner_engine, shop
) -> None:
    request_id = await ask(worker_sessions, shop, occasion="mothers_day", variants=2)
    await run_worker(
        worker_settings,
        worker_database,
        options=WorkerOptions(concurrency=2, wait=False, periodic=False),
        task_modules=task_modules(),
    )
    row = await request_row(worker_owner_engine, request_id)
    assert row.status == "completed" and row.attempts == 1 and row.completed_by == "worker"
    assert row.output["occasion"]["name"] == "Moederdag" and len(row.output["variants"]) == 2
    assert await completed_events(worker_owner_engine, request_id) == 1


async def test_a_provider_failure_is_retried_by_the_queue_then_fails(
    worker_settings, worker_database, worker_sessions, worker_owner_engine, shop
) -> None:
    calls: list[float] = []

    async def broken(request: Request) -> Response:
        calls.append(time.monotonic())
        return Response("overloaded", status_code=503)

    upstream = Starlette(routes=[Route("/v1/chat/completions", broken, methods=["POST"])])
    async with serving(upstream) as base:
        settings = worker_settings.model_copy(
            update={
                "ai": AISettings(
                    _env_file=None,
                    ai_provider="openai",
                    openai_base_url=f"{base}/v1",
                    campaign_generation_max_attempts=3,
                    campaign_generation_retry_seconds=0.2,
                )
            }
        )
        request_id = await ask(worker_sessions, shop, occasion="christmas")
        worker = WorkerSupervisor(
            settings,
            worker_database,
            options=WorkerOptions(concurrency=2, periodic=False),
            task_modules=task_modules(),
        )
        worker.start()
        try:

            async def failed() -> bool:
                return (await request_row(worker_owner_engine, request_id)).status == "failed"

            await eventually(failed, 30, "three runs fail and the request with them")
        finally:
            await worker.stop()
    row = await request_row(worker_owner_engine, request_id)
    assert row.attempts == 3 and len(calls) == 3
    assert (row.error_code, row.error_message) == ("provider_error", "openai answered HTTP 503")
    assert calls[1] - calls[0] >= 0.15 and calls[2] - calls[1] >= 0.45  # 0.2 s, then ×3
    failed_events = await fetch(
        worker_owner_engine,
        "SELECT count(*) AS n FROM webhook_events WHERE type = 'campaign.generation.failed' "
        "AND payload->'generation'->>'id' = :id",
        id=request_id,
    )
    assert failed_events[0].n == 1


async def test_the_periodic_expiry_fails_a_request_past_its_deadline(
    worker_settings, worker_database, worker_owner_engine, shop
) -> None:
    async with unit_of_work(make_operator_session_factory(worker_owner_engine)) as session:
        late = await create_generation_row(
            session,
            shop,
            status="awaiting_callback",
            callback_deadline_at=utcnow() - timedelta(seconds=1),
        )
        waiting = await create_generation_row(
            session,
            shop,
            status="awaiting_callback",
            callback_deadline_at=utcnow() + timedelta(hours=1),
        )
    settings = worker_settings.model_copy(
        update={"ai": AISettings(_env_file=None, campaign_generation_expiry_check_seconds=1)}
    )
    worker = WorkerSupervisor(
        settings, worker_database, options=WorkerOptions(concurrency=2), task_modules=task_modules()
    )
    worker.start()
    try:

        async def expired() -> bool:
            return (await request_row(worker_owner_engine, str(late.id))).status == "failed"

        await eventually(expired, 30, "the periodic job fails the late request")
    finally:
        await worker.stop()
    row = await request_row(worker_owner_engine, str(late.id))
    assert row.error_code == "callback_deadline_passed" and row.failed_at is not None
    assert (await request_row(worker_owner_engine, str(waiting.id))).status == "awaiting_callback"


async def test_serve_with_its_worker_completes_a_request_over_http(
    worker_settings, worker_database, worker_owner_engine, shop
) -> None:
    """What `make run` gives: the API and its in-process worker, the builtin provider."""
    async with unit_of_work(make_operator_session_factory(worker_owner_engine)) as session:
        _, key = await issue_key(session, shop, ["campaigns:generate"])
    app = create_app(worker_settings, database=worker_database, run_worker=True)
    async with app.router.lifespan_context(app):
        transport = ASGITransport(app=app)
        async with AsyncClient(transport=transport, base_url="http://testserver") as client:
            accepted = await client.post(
                "/api/ai/campaigns/generate",
                json={"input": {"channel": "sms", "variants": 2}},
                headers=key_headers(key),
            )
            assert accepted.status_code == 202
            url = f"/api/ai/campaigns/generate/{accepted.json()['requestId']}"

            async def done() -> bool:
                read = (await client.get(url, headers=key_headers(key))).json()
                return bool(read["status"] == "completed")

            await eventually(done, 20, "the in-process worker completes the request")
            read = (await client.get(url, headers=key_headers(key))).json()
    assert len(read["output"]["variants"]) == 2 and read["output"]["channel"] == "sms"


async def test_a_worker_killed_mid_generation_is_replaced_and_the_output_written_once(
    worker_database, worker_sessions, worker_owner_engine, shop
) -> None:
    calls: list[float] = []

    async def generate(request: Request) -> Response:
        body = json.loads(await request.body())
        calls.append(time.monotonic())
        if len(calls) == 1:
            await asyncio.sleep(60)  # the first worker dies while Lilli is still writing
        variants = [
            {
                "subject": f"Kerst bij {body['shop']['name']}",
                "preview": "Bestel op tijd.",
                "body": f"Hallo,\n\nBestel op tijd.\n\n{body['shop']['name']}",
                "smsText": "Kerst! STOP",
            }
        ]
        return JSONResponse({"variants": variants})

    upstream = Starlette(routes=[Route("/v1/campaigns/generate", generate, methods=["POST"])])
    async with serving(upstream) as base:
        env = worker_environment(
            worker_database,
            AI_PROVIDER="lilli",
            LILLI_BASE_URL=base,
            LILLI_API_KEY="lk_" + uuid.uuid4().hex,
            CAMPAIGN_GENERATION_TIMEOUT_SECONDS="120",
        )
        request_id = await ask(worker_sessions, shop, occasion="christmas", variants=1)

        async def lilli_called(times: int) -> Callable[[], Awaitable[bool]]:
            async def check() -> bool:
                return len(calls) >= times

            return check

        with worker_process(SUPPORT_WORKER, env) as first:
            await eventually(await lilli_called(1), 60, "the first worker calls Lilli")
            row = await request_row(worker_owner_engine, request_id)
            assert row.status == "processing" and row.attempts == 1
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)

        with worker_process(SUPPORT_WORKER, env) as second:

            async def completed() -> bool:
                assert second.poll() is None, second.stdout.read() if second.stdout else ""
                return (await request_row(worker_owner_engine, request_id)).status == "completed"

            await eventually(completed, 60, "another worker runs the stalled job to the end")
            await asyncio.sleep(1.0)  # room for a (wrong) second write to show
            second.send_signal(signal.SIGTERM)
            await asyncio.to_thread(second.wait, 15)

    row = await request_row(worker_owner_engine, request_id)
    assert row.status == "completed" and row.completed_by == "worker"
    assert row.attempts == 2  # the killed run counts
    assert len(row.output["variants"]) == 1 and row.output["provider"] == "lilli"
    assert len(calls) == 2
    assert await completed_events(worker_owner_engine, request_id) == 1
    jobs = await fetch(
        worker_owner_engine,
        "SELECT status FROM procrastinate_jobs WHERE task_name = 'campaigns.generate' "
        "AND args->>'request_id' = :id",
        id=request_id,
    )
    assert [str(job.status) for job in jobs] == ["succeeded"]
