"""Customers of a shop: found by id, phone, e-mail or name, with what their orders say."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.customers.errors import CustomerNotFound
from bloomer_ai.customers.repository import CustomerHistory, CustomerRepository
from bloomer_ai.errors import ValidationFailed
from bloomer_ai.kit.ids import parse_id
from bloomer_ai.kit.pagination import PageParams
from bloomer_ai.kit.validation import normalise_phone
from bloomer_ai.models import Customer


async def get_customer(session: AsyncSession, customer_id: str | uuid.UUID) -> Customer:
    """A customer of the session's shop; another shop's, or none: 404."""
    customer = await CustomerRepository(session).get(customer_id)
    if customer is None:
        raise CustomerNotFound()
    return customer


async def existing_customer_id(session: AsyncSession, raw_id: str | None) -> uuid.UUID | None:
    """The id of a customer of this shop, or None when none was named; 404 otherwise."""
    if raw_id is None:
        return None
    parsed = parse_id(raw_id)
    if parsed is None or not await CustomerRepository(session).exists(parsed):
        raise CustomerNotFound()
    return parsed


async def customer_history(
    session: AsyncSession, customer_id: uuid.UUID, before: datetime | None = None
) -> CustomerHistory:
    """The customer's order count (before ``before``) and their last order."""
    return await CustomerRepository(session).history(customer_id, before)


async def find_customer(
    session: AsyncSession, *, phone: str | None, email: str | None, country: str
) -> Customer | None:
    """The shop's customer with this phone (any common spelling, ``country`` as the default
    region) or, failing that, this e-mail address (any case); None when neither matches
    or neither is a phone number or an address. One query per key tried."""
    customers = CustomerRepository(session)
    if phone:
        normalised = normalise_phone(phone, country)
        if normalised is not None:
            found = await customers.find_by_phone(normalised)
            if found is not None:
                return found
    if email and "@" in email:
        return await customers.find_by_email(email.strip())
    return None


async def find_customer_id(
    session: AsyncSession, *, phone: str | None, email: str | None, country: str
) -> uuid.UUID | None:
    """:func:`find_customer`'s id."""
    found = await find_customer(session, phone=phone, email=email, country=country)
    return found.id if found is not None else None


async def find_or_create_by_phone(
    session: AsyncSession, *, phone: str, country: str, name: str | None = None
) -> uuid.UUID:
    """The shop's customer with this phone (any common spelling, ``country`` as the default
    region), created with ``name`` when there is none; the id. A new customer created by
    a concurrent call wins, and this call finds it."""
    normalised = _phone_or_error(phone, country, field="phone")
    customers = CustomerRepository(session)
    found = await customers.find_id_by_phone(normalised)
    if found is not None:
        return found
    created = await customers.insert_unless_phone_known(name=(name or "").strip(), phone=normalised)
    if created is not None:
        return created
    found = await customers.find_id_by_phone(normalised)  # inserted by a call beside this one
    assert found is not None
    return found


def _phone_or_error(phone: str, country: str, *, field: str) -> str:
    normalised = normalise_phone(phone, country)
    if normalised is None:
        raise ValidationFailed(
            "That is not a phone number.",
            details=[
                {
                    "field": field,
                    "message": "a phone number, e.g. +31 6 1234 5678 or 06 12345678",
                    "type": "phone",
                }
            ],
        )
    return normalised


async def search_customers(
    session: AsyncSession,
    params: PageParams,
    *,
    country: str,
    phone: str | None = None,
    email: str | None = None,
    name_prefix: str | None = None,
) -> tuple[Sequence[Customer], str | None]:
    """Customers by phone (any common spelling, the shop's country as default region),
    e-mail (any case) or name prefix."""
    normalised = _phone_or_error(phone, country, field="query.phone") if phone is not None else None
    return await CustomerRepository(session).search(
        params, phone=normalised, email=email, name_prefix=name_prefix
    )
