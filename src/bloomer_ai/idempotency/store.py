"""The idempotency store's SQL: claim a key, record the answer, purge expired keys.

One row per (shop, key), made by ``INSERT … ON CONFLICT``: the unique constraint, not a
read before the write, decides who is first. The first request holds the row (its lock)
until its transaction ends, so a concurrent copy waits on the index and then sees the
committed answer (or, if the first rolled back, claims the key itself). An answer is
written in the same transaction as the effect it reports, so a key is either unused, or
used with its answer: never half.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.kit.ids import new_id
from bloomer_ai.models import IdempotencyKey


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status: int
    body: bytes
    content_type: str


@dataclass(frozen=True, slots=True)
class Claimed:
    """The key is ours: act, then ``record_response`` in the same transaction."""

    record_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class Used:
    """The key was used before (and has not expired)."""

    request_hash: bytes
    response: StoredResponse | None


def request_fingerprint(method: str, target: str, body: bytes) -> bytes:
    """SHA-256 of the method, the path with its query, and the body; a JSON body in a
    canonical form (key order and spacing do not make another request)."""
    canonical = body
    if body:
        try:
            canonical = json.dumps(
                json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False
            ).encode()
        except (ValueError, UnicodeDecodeError):
            canonical = body
    digest = hashlib.sha256()
    for part in (method.upper().encode(), target.encode(), canonical):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.digest()


async def claim(
    session: AsyncSession,
    *,
    shop_id: uuid.UUID,
    key: str,
    request_hash: bytes,
    method: str,
    path: str,
    expires_at: datetime,
) -> Claimed | Used:
    """Take ``key`` for this request, or say how it was used. An expired key is taken over
    in the same statement."""
    values = {
        "id": new_id(),
        "shop_id": shop_id,
        "key": key,
        "request_hash": request_hash,
        "method": method[:8],
        "path": path[:500],
        "expires_at": expires_at,
    }
    inserting = insert(IdempotencyKey).values(**values)
    statement = inserting.on_conflict_do_update(
        index_elements=["shop_id", "key"],
        set_={
            **{name: inserting.excluded[name] for name in values if name != "shop_id"},
            "response_status": None,
            "response_body": None,
            "response_content_type": None,
            "created_at": func.now(),
        },
        where=IdempotencyKey.expires_at <= func.now(),
    ).returning(IdempotencyKey.id)
    record_id = await session.scalar(statement)
    if record_id is not None:
        return Claimed(record_id)
    row = (
        await session.execute(
            select(
                IdempotencyKey.request_hash,
                IdempotencyKey.response_status,
                IdempotencyKey.response_body,
                IdempotencyKey.response_content_type,
            ).where(IdempotencyKey.shop_id == shop_id, IdempotencyKey.key == key)
        )
    ).one()
    stored_hash, status, body, content_type = row
    response = (
        StoredResponse(status, body or b"", content_type or "application/json")
        if status is not None
        else None
    )
    return Used(stored_hash, response)


async def record_response(
    session: AsyncSession, record_id: uuid.UUID, response: StoredResponse
) -> None:
    await session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.id == record_id)
        .values(
            response_status=response.status,
            response_body=response.body,
            response_content_type=response.content_type[:100],
        )
    )


_PURGE = text("SELECT purge_idempotency_keys(:now)")


async def purge_expired_keys(session: AsyncSession, *, now: datetime) -> int:
    """Delete the expired keys of every shop (a SECURITY DEFINER function: the one
    cross-shop path)."""
    return int(await session.scalar(_PURGE, {"now": now}) or 0)
