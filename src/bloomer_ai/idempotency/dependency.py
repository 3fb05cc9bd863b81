"""``Idempotency-Key`` for POST routes: the same key and body get the stored answer, the
same key with another body a 409, concurrent copies one effect.

A route opts in by declaring the dependency **after** its principal (``Access`` binds the
request's session to the shop first; this refuses to run on an unbound session)::

    async def create_thing(body: ThingCreate, principal: Writer, session: ShopSession,
                           idempotent: Idempotent) -> ThingRead: ...

Without the header the route runs as usual. With it, the key is claimed in the request's
own transaction before the endpoint runs; the endpoint's answer is stored in that same
transaction just before it commits (``web.unit_of_work.before_commit``). An answer that
is an error rolls the transaction back, key included: errors are not stored, and a retry
runs again (nothing was done). A repeat is answered with the stored status and body and
``Idempotent-Replayed: true``.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Header, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.config import Settings
from bloomer_ai.db.tenancy import bound_shop_id
from bloomer_ai.errors import Conflict, ValidationFailed
from bloomer_ai.idempotency import store
from bloomer_ai.kit.time import utcnow
from bloomer_ai.web.errors import ReplayedResponse
from bloomer_ai.web.openapi import RouteContract
from bloomer_ai.web.unit_of_work import ShopSession, before_commit

HEADER = "Idempotency-Key"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


class InvalidIdempotencyKey(ValidationFailed):
    code = "invalid_idempotency_key"
    message = "Idempotency-Key must be 1 to 255 visible ASCII characters."


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    message = "This Idempotency-Key was used with another request; use a new key."


class IdempotencyKeyInUse(Conflict):
    code = "idempotency_key_in_use"
    message = "This Idempotency-Key's first request has no answer to repeat; use a new key."


@dataclass(frozen=True, slots=True)
class IdempotentRequest:
    key: str
    record_id: uuid.UUID


class IdempotencyCheck:
    """The route dependency; it also declares the 409 it may answer (``web/openapi.py``
    reads each dependency's contract, so the document says what the route enforces)."""

    def openapi_contract(self) -> RouteContract:
        return RouteContract(
            security=(),
            statuses={
                409: "The Idempotency-Key was used with another request, or its "
                "first request has no answer yet."
            },
        )

    async def __call__(
        self,
        request: Request,
        session: ShopSession,
        idempotency_key: Annotated[
            str | None,
            Header(
                alias=HEADER,
                description="Makes a retry safe: the same key and body get the first answer "
                "again (with `Idempotent-Replayed: true`); the same key with another body is a "
                "409. Keys are per shop and kept for IDEMPOTENCY_KEY_HOURS.",
            ),
        ] = None,
    ) -> IdempotentRequest | None:
        return await _idempotent(request, session, idempotency_key)


async def _idempotent(
    request: Request,
    session: AsyncSession,
    idempotency_key: str | None,
) -> IdempotentRequest | None:
    if idempotency_key is None:
        return None
    if not _KEY.match(idempotency_key):
        raise InvalidIdempotencyKey(
            details=[{"field": HEADER, "message": "1-255 visible ASCII", "type": "header"}]
        )
    shop_id = bound_shop_id(session.sync_session)
    if shop_id is None:
        raise RuntimeError("declare Idempotent after the route's principal (Access binds the shop)")
    settings: Settings = request.app.state.settings
    body = await request.body()
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    fingerprint = store.request_fingerprint(request.method, target, body)
    outcome = await store.claim(
        session,
        shop_id=shop_id,
        key=idempotency_key,
        request_hash=fingerprint,
        method=request.method,
        path=request.url.path,
        expires_at=utcnow() + timedelta(hours=settings.server.idempotency_key_hours),
    )
    if isinstance(outcome, store.Used):
        if outcome.request_hash != fingerprint:
            raise IdempotencyKeyReused()
        if outcome.response is None:
            raise IdempotencyKeyInUse()
        response = outcome.response
        raise ReplayedResponse(response.status, response.body, response.content_type)

    record_id = outcome.record_id

    async def keep_the_answer(answer: Response) -> None:
        await store.record_response(
            session,
            record_id,
            store.StoredResponse(
                answer.status_code,
                bytes(getattr(answer, "body", b"") or b""),
                answer.media_type or answer.headers.get("content-type") or "application/json",
            ),
        )

    before_commit(request, keep_the_answer)
    return IdempotentRequest(idempotency_key, record_id)


Idempotent = Annotated[IdempotentRequest | None, Depends(IdempotencyCheck())]
"""Honour ``Idempotency-Key`` on this route (declare it after the principal)."""
