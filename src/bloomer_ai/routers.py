"""Every domain router, in the order they appear in the OpenAPI document."""

from __future__ import annotations

from fastapi import APIRouter

from bloomer_ai.agent.endpoints import lilli_router as agent_lilli_router
from bloomer_ai.agent.endpoints import router as agent_router
from bloomer_ai.auth.endpoints import router as auth_router
from bloomer_ai.routing.endpoints import router as routing_router

ROUTERS: list[APIRouter] = [auth_router, routing_router]
ROUTERS.extend([agent_router, agent_lilli_router])
