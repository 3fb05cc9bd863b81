"""Every domain router, in the order they appear in the OpenAPI document."""

from __future__ import annotations

from fastapi import APIRouter

from bloomer_ai.auth.endpoints import router as auth_router

ROUTERS: list[APIRouter] = [auth_router]
