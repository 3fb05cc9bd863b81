"""The shop tools over MCP (``/api/ai/mcp``, stateless streamable HTTP, JSON answers) next
to the plain routes that do the same work with the same API-key check.

- ``mcp_tools_list``: a ``tools/list`` call (the key's scopes filter the registry; no
  database round trip once the key is cached), against ``me_api_key`` (``GET /api/ai/me``,
  the same key check and rate limit): the ratio is what the MCP SDK's request handling
  costs on top of a route.
- ``mcp_search_products``: a ``tools/call`` of ``search_products`` (one catalogue query,
  the call recorded in ``tool_calls``, a commit), against ``products_list``
  (``GET /api/ai/products``: one catalogue page, the same key): the ratio is the SDK plus
  the record of the call.
"""

from __future__ import annotations

from bench.database import BENCH_SECRET, BenchContext
from bench.scenarios import Prepared, Scenario, register

_secrets: dict[str, str] = {}

MCP_HEADERS = {"Accept": "application/json, text/event-stream"}


async def _shop_with_catalogue(ctx: BenchContext) -> Prepared:
    key = str(ctx.database.url)
    if key not in _secrets:
        from bloomer_ai.auth.service import create_api_key
        from bloomer_ai.db.tenancy import bind_shop
        from bloomer_ai.models import Product
        from bloomer_ai.shops.service import create_shop

        async def make(session):  # type: ignore[no-untyped-def]
            shop = await create_shop(session, name="Bench florist (tools)")
            for n in range(50):
                session.add(
                    Product(
                        shop_id=shop.id,
                        name=f"{'Red' if n % 2 else 'White'} roses no. {n}",
                        description="Hand-tied",
                        product_type="bouquet",
                        price_minor=2000 + n,
                        currency="EUR",
                    )
                )
            bind_shop(session.sync_session, shop.id)
            issued = await create_api_key(
                session, name="bench", scopes=["shop:read"], pepper=BENCH_SECRET
            )
            return issued.secret

        _secrets[key] = await ctx.run(make)
    return Prepared(headers={"Authorization": f"Bearer {_secrets[key]}"})


register(
    Scenario(
        "mcp_tools_list",
        "POST",
        "/api/ai/mcp",
        headers=MCP_HEADERS,
        body={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
        setup=_shop_with_catalogue,
        description="MCP tools/list (stateless, JSON); the key's scopes filter the tools",
        compare_to="me_api_key",
    )
)
register(
    Scenario(
        "products_list",
        "GET",
        "/api/ai/products?limit=5",
        setup=_shop_with_catalogue,
        description="GET /api/ai/products: one catalogue page with an API key",
    )
)
register(
    Scenario(
        "mcp_search_products",
        "POST",
        "/api/ai/mcp",
        headers=MCP_HEADERS,
        body={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": "search_products", "arguments": {"query": "red", "limit": 5}},
        },
        setup=_shop_with_catalogue,
        description="MCP tools/call search_products: the query, the call recorded, a commit",
        compare_to="products_list",
    )
)
