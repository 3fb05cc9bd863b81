"""Operations endpoints: liveness, readiness, metrics, offline docs, the OpenAPI command."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter
from httpx import ASGITransport, AsyncClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import make_url

from bloomer_ai.config import ServerSettings, Settings
from bloomer_ai.db.engine import DatabaseTarget
from bloomer_ai.errors import NotFound
from bloomer_ai.main import create_app
from bloomer_ai.web.routes import JsonRoute
from conftest import make_settings

BLOOMER_AI = Path(sys.executable).parent / "bloomer-ai"


def metrics_router() -> APIRouter:
    router = APIRouter(prefix="/ops-test", route_class=JsonRoute)

    @router.get("/x/{item_id}")
    async def item(item_id: str) -> dict[str, str]:
        if item_id.startswith("missing"):
            raise NotFound()
        return {"id": item_id}

    return router


def request_count(metrics_text: str, **labels: str) -> float:
    for family in text_string_to_metric_families(metrics_text):
        if family.name != "bloomer_http_requests":
            continue
        for sample in family.samples:
            if sample.name == "bloomer_http_requests_total" and sample.labels == labels:
                return sample.value
    return 0.0


async def test_healthz_answers_ok(client: AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_answers_200_when_the_database_is_up(client: AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    # No worker runs on the run's database (a test app never starts one unless asked):
    # said, not a failure.
    assert response.json() == {"status": "ready", "database": "ok", "workerSeenRecently": False}


async def test_readyz_answers_503_in_the_error_shape_when_the_database_is_down(
    settings: Settings,
) -> None:
    down = DatabaseTarget(make_url("postgresql+psycopg://u:sekret@127.0.0.1:1/db"), embedded=False)
    app = create_app(settings, database=down)
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as client,
    ):
        ready = await client.get("/readyz")
        alive = await client.get("/healthz")
    assert ready.status_code == 503
    body = ready.json()
    assert body["error"]["code"] == "service_unavailable"
    assert set(body["error"]) == {"code", "message", "details"}
    assert "sekret" not in ready.text
    assert ready.headers.get("x-request-id")
    # Liveness does not depend on the database.
    assert alive.status_code == 200


def test_fastapis_opentelemetry_bridge_is_off_unless_asked_for(settings: Settings) -> None:
    default = create_app(settings)
    asked = create_app(
        settings.model_copy(
            update={"server": settings.server.model_copy(update={"otel_enabled": True})}
        )
    )
    signals = ("tracing", "metrics", "logs")
    # Off: FastAPI does not ask OpenTelemetry's global providers on every request.
    assert not any(default._telemetry[signal] for signal in signals)  # type: ignore[literal-required]
    assert all(asked._telemetry[signal] for signal in signals)  # type: ignore[literal-required]
    assert ServerSettings(_env_file=None).otel_enabled is False


@pytest.fixture
async def metrics_client(app: Any) -> AsyncIterator[AsyncClient]:
    app.include_router(metrics_router())
    async with AsyncClient(
        transport=ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        yield client


async def test_metrics_count_requests_by_route_template_and_status(
    metrics_client: AsyncClient,
) -> None:
    template = "/ops-test/x/{item_id}"
    before = (await metrics_client.get("/metrics")).text
    ok_before = request_count(before, method="GET", route=template, status="200")
    missing_before = request_count(before, method="GET", route=template, status="404")

    raw_ids = [f"item-{uuid.uuid4().hex}" for _ in range(2)]
    for raw_id in raw_ids:
        assert (await metrics_client.get(f"/ops-test/x/{raw_id}")).status_code == 200
    missing_id = f"missing-{uuid.uuid4().hex}"
    assert (await metrics_client.get(f"/ops-test/x/{missing_id}")).status_code == 404
    unrouted = f"/no-route-{uuid.uuid4().hex}"
    assert (await metrics_client.get(unrouted)).status_code == 404

    response = await metrics_client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    after = response.text
    assert "bloomer_http_requests_total" in after
    assert request_count(after, method="GET", route=template, status="200") == ok_before + 2
    assert request_count(after, method="GET", route=template, status="404") == missing_before + 1
    assert 'route="/ops-test/x/{item_id}"' in after
    # Raw paths never become labels (unbounded cardinality, and ids are data).
    for raw in [*raw_ids, missing_id, unrouted]:
        assert raw not in after
    assert "bloomer_http_request_duration_seconds" in after


async def test_docs_are_served_from_local_assets(client: AsyncClient) -> None:
    for page in ("/docs", "/redoc"):
        response = await client.get(page)
        assert response.status_code == 200
        html = response.text
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html), page
        assets = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
        scripts = [a for a in assets if a.endswith(".js")]
        assert scripts, f"{page} references no script"
        if page == "/docs":
            assert any(a.endswith(".css") for a in assets)
        for asset in assets:
            assert asset.startswith("/"), asset
            fetched = await client.get(asset)
            assert fetched.status_code == 200, asset
            assert len(fetched.content) > 100, asset

    schema = await client.get("/openapi.json")
    assert schema.status_code == 200
    assert "/healthz" in schema.json()["paths"]


def test_openapi_command_prints_the_document(tmp_path: Path) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "BLOOMER_DATA_DIR"}
    }
    env["ENVIRONMENT"] = "test"
    result = subprocess.run(
        [str(BLOOMER_AI), "openapi"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["openapi"].startswith("3.")
    assert {"/healthz", "/readyz"} <= set(document["paths"])
    assert document["info"]["title"]
    # It needs no database: nothing was created in the working folder.
    assert list(tmp_path.iterdir()) == []


def test_the_database_url_in_this_module_is_unreachable() -> None:
    # Guard for the 503 test above: port 1 must really refuse connections here.
    import socket

    with socket.socket() as sock:
        sock.settimeout(2)
        assert sock.connect_ex(("127.0.0.1", 1)) != 0


# --- the database goes away and comes back --------------------------------------------------


async def test_api_routes_answer_503_while_the_database_is_away_and_recover(
    database_target, engine
) -> None:
    from support.committed import committed_shop
    from support.proxy import CuttableProxy

    proxy = CuttableProxy(database_target.url)
    await proxy.open()
    through_proxy = DatabaseTarget(
        proxy.url(database_target.url), embedded=False, owner_url=database_target.owner_url
    )
    async with committed_shop(engine, name="Outage") as (_shop, secret):
        app = create_app(make_settings(database_target.operator_url), database=through_proxy)
        headers = {"Authorization": f"Bearer {secret}"}
        # raise_app_exceptions (the default): a 503 must be an answer, not an escaped error
        # that would make the server drop the client's connection.
        async with (
            app.router.lifespan_context(app),
            AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as client,
        ):
            assert (await client.get("/api/ai/orders", headers=headers)).status_code == 200
            await proxy.cut()
            for path in ("/api/ai/orders", "/api/ai/shop", "/readyz"):
                response = await client.get(path, headers=headers)
                assert response.status_code == 503, (path, response.text)
                body = response.json()
                assert body["error"]["code"] == "service_unavailable"
                assert response.headers.get("x-request-id")
                if path != "/readyz":
                    assert int(response.headers["retry-after"]) > 0
            # An uncached credential needs the database too: 503, not 401 or 500.
            stranger = {"Authorization": "Bearer blm_abcdefghjk_" + "x" * 43}
            assert (await client.get("/api/ai/me", headers=stranger)).status_code == 503
            await proxy.open()
            recovered = [
                (await client.get("/api/ai/orders", headers=headers)).status_code for _ in range(3)
            ]
            assert recovered[-1] == 200, recovered
            assert set(recovered) <= {200, 503}
        await proxy.cut()


async def test_metrics_name_the_document_docs_and_their_files_by_route(
    metrics_client: AsyncClient,
) -> None:
    paths = {
        "/openapi.json": "/openapi.json",
        "/docs": "/docs",
        "/redoc": "/redoc",
    }
    html = (await metrics_client.get("/docs")).text
    asset = re.findall(r"""src\s*=\s*["']([^"']+\.js)["']""", html)[0]
    before = (await metrics_client.get("/metrics")).text
    for path in [*paths, asset]:
        assert (await metrics_client.get(path)).status_code == 200, path
    after = (await metrics_client.get("/metrics")).text
    for path, template in paths.items():
        counted = request_count(after, method="GET", route=template, status="200")
        assert counted == request_count(before, method="GET", route=template, status="200") + 1, (
            path
        )
    mount = asset.rsplit("/", 1)[0] + "/{path}"
    assert request_count(after, method="GET", route=mount, status="200") >= 1
    assert request_count(after, method="GET", route="<unmatched>", status="200") == 0
