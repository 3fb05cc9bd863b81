"""Every domain router, in the order they appear in the OpenAPI document."""

from __future__ import annotations

from fastapi import APIRouter

ROUTERS: list[APIRouter] = []
