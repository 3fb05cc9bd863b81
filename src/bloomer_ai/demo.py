"""Demo data for ``bloomer-ai serve --demo``: one florist, its customers and a year of orders.

Seeded once (found again by name) and deterministic (a fixed random seed, dates relative to
today), so demos and screenshots look alike on every machine and day.

The demo's API key and sign-in token are issued once and kept, in plain text, in
``$BLOOMER_DATA_DIR/demo-credentials.json`` (mode 0600): the database holds only the key's
hash, so the file is what lets a later start print them again. When the file is gone, or
what it holds no longer signs in (revoked, expired, another database), new ones are issued
and the older demo keys revoked.
"""

from __future__ import annotations

import json
import os
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.auth.service import (
    create_user,
    database_session_user,
    find_user_by_email,
    issue_database_session,
    revoke_other_api_keys_named,
    usable_api_key,
)
from bloomer_ai.config import Settings
from bloomer_ai.db.tenancy import bind_shop
from bloomer_ai.kit.ids import id_at
from bloomer_ai.kit.pagination import PageParams
from bloomer_ai.kit.time import utcnow
from bloomer_ai.models import Customer, Order, OrderItem, Shop, User
from bloomer_ai.models.order import OPEN_ORDER_STATUSES
from bloomer_ai.orders.repository import OrderFilters
from bloomer_ai.orders.service import list_orders
from bloomer_ai.shops.service import add_member, create_shop, find_shop_by_name
from bloomer_ai.tools.schemas import ProductCreate
from bloomer_ai.tools.service import create_product, list_products

CREDENTIALS_FILE = "demo-credentials.json"
DEMO_SHOP_NAME = "Bloom & Co"
# The demo shop's name before the assistant said it to customers: found and renamed.
EARLIER_DEMO_SHOP_NAME = "Bloom & Co (demo)"
DEMO_USER_EMAIL = "owner@demo.bloomer.test"
DEMO_KEY_NAME = "demo (serve --demo)"
FIRST_NAMES = [
    "Anna",
    "Bram",
    "Chloé",
    "Daan",
    "Eva",
    "Finn",
    "Greta",
    "Hugo",
    "Isa",
    "Jasper",
    "Lotte",
    "Milan",
    "Noor",
    "Otto",
    "Pien",
    "Ruben",
    "Sara",
    "Teun",
    "Vera",
    "Wout",
]
LAST_NAMES = ["de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "Mulder", "Bos"]
ZONES = ["centrum", "noord", "oost", "zuid", "west"]
PRODUCTS = [
    ("bouquet", "BQ-ROSE-12", "Twelve red roses", 3995),
    ("bouquet", "BQ-SEASON", "Seasonal bouquet", 2950),
    ("plant", "PL-ORCHID", "White orchid", 2495),
    ("funeral", "FN-WREATH", "Mourning wreath", 8950),
    ("wedding", "WD-BRIDAL", "Bridal bouquet", 12500),
    ("gift", "GF-CHOC", "Chocolates", 895),
]
# The catalogue the assistant answers from (GET /api/ai/products): the same products.
PRODUCT_DESCRIPTIONS = {
    "BQ-ROSE-12": "A dozen long-stemmed red roses, hand-tied",
    "BQ-SEASON": "Whatever is freshest today, arranged by our florists",
    "PL-ORCHID": "A white orchid (Phalaenopsis) in a ceramic pot",
    "FN-WREATH": "A wreath of white roses and lilies",
    "WD-BRIDAL": "A bridal bouquet made to your wishes",
    "GF-CHOC": "A box of Belgian chocolates",
}
SOLD_OUT = {"PL-ORCHID"}
# An order's status agrees with its delivery date: nothing open is due before today.
STATUSES_PAST = ["delivered"] * 8 + ["picked_up", "cancelled"]
STATUSES_TODAY = ["confirmed", "in_progress", "ready", "out_for_delivery", "delivered"]
STATUSES_UPCOMING = ["pending", "confirmed", "confirmed", "in_progress"]
LEAD_DAYS = (0, 0, 1, 1, 1, 2, 3)  # days from order to delivery
SOURCES = ["web"] * 5 + ["phone", "phone", "voice", "chat", "walk_in"]


DEMO_AGENT_CONFIG = {
    "greeting": "Hi! I'm Lilli from Bloom & Co. Ask me about our opening hours, delivery, "
    "flowers or your order.",
    "businessHours": {
        "timezone": "Europe/Amsterdam",
        "weekly": {
            "mon": [["09:00", "18:00"]],
            "tue": [["09:00", "18:00"]],
            "wed": [["09:00", "18:00"]],
            "thu": [["09:00", "21:00"]],
            "fri": [["09:00", "18:00"]],
            "sat": [["09:00", "17:00"]],
        },
        "closedDates": [],
        "closesOnPublicHolidays": True,
    },
    "delivery": {
        "zones": [
            {
                "name": "Centrum",
                "fee": 495,
                "postalCodes": ["1011", "1012", "1015", "1016", "1017"],
            },
            {"name": "Noord", "postalCodes": ["1021", "1022", "1023", "1024", "1025"]},
            {"name": "Oost", "postalCodes": ["1091", "1092", "1093", "1094", "1095"]},
            {"name": "Zuid", "postalCodes": ["1071", "1072", "1073", "1074", "1075"]},
            {"name": "West", "postalCodes": ["1051", "1052", "1053", "1054", "1055"]},
        ],
        "days": ["mon", "tue", "wed", "thu", "fri", "sat"],
        "cutoffTime": "14:00",
        "fee": 695,
    },
    "language": "en",
    "handoff": {"enabled": True, "keywords": ["complaint", "refund"]},
}
DEMO_RULES = [
    (
        "Funeral flowers first",
        10,
        {"some": [{"var": "items"}, {"==": [{"var": "productType"}, "funeral"]}]},
        {"type": "prioritize", "level": "urgent"},
    ),
    (
        "Centrum by bike courier",
        20,
        {"==": [{"var": "deliveryZone"}, "centrum"]},
        {"type": "assign", "target": {"kind": "courier", "id": "bike-1"}},
    ),
    (
        "Big wedding orders to the workshop",
        30,
        {"and": [{">=": [{"var": "total"}, 10000]}, {"in": ["wedding", {"var": "tags"}]}]},
        {"type": "assign", "target": {"kind": "team", "id": "workshop"}},
    ),
]


@dataclass(frozen=True)
class SavedCredentials:
    """What ``demo-credentials.json`` holds."""

    api_key: str
    session_token: str


@dataclass(frozen=True)
class SampleOrder:
    number: str
    status: str
    delivery_date: date | None
    customer_id: str


@dataclass(frozen=True)
class DemoCredentials:
    shop_id: str
    shop_name: str
    user_id: str
    user_email: str
    created: bool
    """The shop was seeded by this call."""
    api_key: str
    session_token: str
    reused: bool
    """Key and token are the ones of the credentials file (nothing new was issued)."""
    sample: SampleOrder | None


def read_saved_credentials(path: Path) -> SavedCredentials | None:
    """The credentials file's contents; None when it is missing or not ours."""
    try:
        data = json.loads(path.read_text())
        return SavedCredentials(api_key=data["apiKey"], session_token=data["sessionToken"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save_credentials(path: Path, credentials: DemoCredentials) -> None:
    """Write the credentials file, readable by its owner only (written whole, then renamed
    into place, so a reader never sees half of it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.unlink(missing_ok=True)
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(
            {
                "shopId": credentials.shop_id,
                "userEmail": credentials.user_email,
                "apiKey": credentials.api_key,
                "sessionToken": credentials.session_token,
            },
            file,
            indent=2,
        )
        file.write("\n")
    os.replace(partial, path)


async def seed_demo(
    session: AsyncSession, settings: Settings, saved: SavedCredentials | None = None
) -> DemoCredentials:
    """The demo shop (seeded on the first call), its owner, and their credentials: those
    ``saved`` while they still sign in, else new ones (the caller saves them)."""
    shop = await find_shop_by_name(session, DEMO_SHOP_NAME)
    if shop is None:
        shop = await find_shop_by_name(session, EARLIER_DEMO_SHOP_NAME)
        if shop is not None:
            shop.name = DEMO_SHOP_NAME
            if "delivery" not in (shop.lilli_config or {}):
                shop.lilli_config = DEMO_AGENT_CONFIG
    created = shop is None
    if shop is None:
        shop = await create_shop(
            session, name=DEMO_SHOP_NAME, country="NL", timezone="Europe/Amsterdam"
        )
    user = await find_user_by_email(session, DEMO_USER_EMAIL)
    if user is None:
        user = await create_user(session, email=DEMO_USER_EMAIL, name="Demo Owner")
    await add_member(session, shop_id=shop.id, user_id=user.id, role="owner")
    if created:
        shop.lilli_config = DEMO_AGENT_CONFIG
        await _seed_customers_and_orders(session, shop)
        await _seed_routing_rules(session, shop)
    bind_shop(session.sync_session, shop.id)
    await _seed_catalogue(session)
    api_key = await _demo_key(session, settings, shop, saved)
    token = await _demo_session(session, user, saved)
    return DemoCredentials(
        shop_id=str(shop.id),
        shop_name=shop.name,
        user_id=str(user.id),
        user_email=user.email,
        created=created,
        api_key=api_key,
        session_token=token,
        reused=saved is not None and (api_key, token) == (saved.api_key, saved.session_token),
        sample=await _sample_order(session, shop),
    )


async def _seed_catalogue(session: AsyncSession) -> None:
    """The products (once: a shop with a catalogue keeps its own)."""
    if (await list_products(session, PageParams(limit=1)))[0]:
        return
    for product_type, sku, name, price in PRODUCTS:
        await create_product(
            session,
            ProductCreate.model_validate(
                {
                    "name": name,
                    "description": PRODUCT_DESCRIPTIONS[sku],
                    "productType": product_type,
                    "sku": sku,
                    "price": price,
                    "available": sku not in SOLD_OUT,
                }
            ),
        )


# A kept credential must still work for a while: not one that expires during the demo.
_STILL_VALID_FOR = timedelta(days=1)


async def _demo_key(
    session: AsyncSession, settings: Settings, shop: Shop, saved: SavedCredentials | None
) -> str:
    """The saved key while it signs in to the demo shop; else a new one (30 days), the
    older demo keys revoked (their text is in no file any more)."""
    from bloomer_ai.auth.scopes import ALL_SCOPES
    from bloomer_ai.auth.service import create_api_key

    pepper = settings.auth.pepper()
    if saved is not None:
        key = await usable_api_key(
            session, saved.api_key, pepper=pepper, valid_for=_STILL_VALID_FOR
        )
        if key is not None and key.shop_id == shop.id and key.name == DEMO_KEY_NAME:
            return saved.api_key
    issued = await create_api_key(
        session, name=DEMO_KEY_NAME, scopes=sorted(ALL_SCOPES), pepper=pepper, expires_in_days=30
    )
    await revoke_other_api_keys_named(session, DEMO_KEY_NAME, keep=issued.key.id)
    return issued.secret


async def _demo_session(session: AsyncSession, user: User, saved: SavedCredentials | None) -> str:
    """The saved sign-in token while it is the demo owner's and valid; else a new one."""
    if saved is not None:
        holder = await database_session_user(
            session, saved.session_token, valid_for=_STILL_VALID_FOR
        )
        if holder == user.id:
            return saved.session_token
    return (await issue_database_session(session, user, days=7, prefix="demo-")).token


async def _sample_order(session: AsyncSession, shop: Shop) -> SampleOrder | None:
    """An open order with a customer, due today or later (else the newest with a
    customer): something to look up."""
    today = datetime.now(ZoneInfo(shop.timezone)).date()
    for filters in (OrderFilters(delivery_from=today), OrderFilters()):
        orders, _ = await list_orders(session, PageParams(limit=50), filters)
        for order in orders:
            if order.customer_id is None:
                continue
            if filters.delivery_from is not None and order.status not in OPEN_ORDER_STATUSES:
                continue
            return SampleOrder(
                number=order.number,
                status=order.status,
                delivery_date=order.delivery_date,
                customer_id=str(order.customer_id),
            )
    return None


def _status_for(rng: random.Random, delivery: date, today: date) -> str:
    if delivery < today:
        return rng.choice(STATUSES_PAST)
    if delivery == today:
        return rng.choice(STATUSES_TODAY)
    return rng.choice(STATUSES_UPCOMING)


async def _seed_customers_and_orders(session: AsyncSession, shop: Shop) -> None:
    rng = random.Random(20261128)  # noqa: S311 - demo data, not security
    bind_shop(session.sync_session, shop.id)
    customers = []
    for index in range(40):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        # Marketing consent as a shop has it: most said yes, some no, some were never asked.
        email_consent = rng.choice([True, True, True, False, None])
        sms_consent = rng.choice([True, False, None])
        customer = Customer(
            shop_id=shop.id,
            name=f"{first} {last}",
            phone=f"+316{20000000 + index * 7919:08d}",
            email=f"{first.lower()}.{index}@example.test",
            email_consent=email_consent,
            email_consent_at=utcnow() if email_consent is not None else None,
            sms_consent=sms_consent,
            sms_consent_at=utcnow() if sms_consent is not None else None,
        )
        customers.append(customer)
    session.add_all(customers)
    await session.flush()
    now = datetime.now(UTC)
    zone = ZoneInfo(shop.timezone)
    today = now.astimezone(zone).date()
    # A year of orders and a busy last three days (so some are still to be delivered),
    # oldest first, so order numbers and ids grow with time, as a real shop's do.
    placed_times = sorted(
        [now - timedelta(days=rng.randint(0, 364), hours=rng.randint(0, 23)) for _ in range(296)]
        + [now - timedelta(hours=rng.randint(0, 71)) for _ in range(24)]
    )
    for number, placed in enumerate(placed_times, start=1):
        items = [rng.choice(PRODUCTS) for _ in range(rng.randint(1, 3))]
        delivery = placed.astimezone(zone).date() + timedelta(days=rng.choice(LEAD_DAYS))
        order = Order(
            id=id_at(placed),
            shop_id=shop.id,
            number=f"{1000 + number}",
            customer_id=rng.choice(customers).id if rng.random() < 0.9 else None,
            status=_status_for(rng, delivery, today),
            source=rng.choice(SOURCES),
            delivery_zone=rng.choice(ZONES),
            delivery_date=delivery,
            delivery_time=f"{rng.randint(9, 17):02d}:00",
            total_minor=sum(price for *_rest, price in items),
            currency="EUR",
            placed_at=placed,
            created_at=placed,
        )
        session.add(order)
        await session.flush()
        session.add_all(
            OrderItem(
                shop_id=shop.id,
                order_id=order.id,
                product_type=product_type,
                sku=sku,
                name=name,
                quantity=1,
                unit_price_minor=price,
            )
            for product_type, sku, name, price in items
        )
    await session.flush()


async def _seed_routing_rules(session: AsyncSession, shop: Shop) -> None:
    from bloomer_ai.routing.schemas import RuleCreate
    from bloomer_ai.routing.service import create_rule

    bind_shop(session.sync_session, shop.id)
    for name, priority, conditions, action in DEMO_RULES:
        await create_rule(
            session,
            RuleCreate(name=name, priority=priority, conditions=conditions, action=action),
        )


def describe_demo(credentials: DemoCredentials, host: str, port: int) -> str:
    base = f"http://{host}:{port}"
    key, token = credentials.api_key, credentials.session_token
    as_key = f"curl -H 'Authorization: Bearer {key}'"
    lines = [
        "",
        f"Demo shop: {credentials.shop_name} ({credentials.shop_id})"
        + (" — seeded now" if credentials.created else " — already seeded"),
        f"Demo user: {credentials.user_email} (owner)",
        f"API docs:  {base}/docs",
        f"Ready?     curl {base}/readyz",
        "Credentials ("
        + ("kept in " if credentials.reused else "new; saved to ")
        + f"{CREDENTIALS_FILE} of the data folder):",
        f"  API key (all scopes): {key}",
        f"  Sign-in token (NextAuth database session): {token}",
        "Try it:",
        f"  {as_key} {base}/api/ai/me",
        f"  curl -b 'next-auth.session-token={token}' {base}/api/ai/me",
    ]
    sample = credentials.sample
    if sample is not None:
        due = f", delivery {sample.delivery_date.isoformat()}" if sample.delivery_date else ""
        lines += [
            f"Sample order {sample.number} ({sample.status}{due}), customer {sample.customer_id}:",
            f"  {as_key} '{base}/api/ai/orders?number={sample.number}'",
            f"  {as_key} {base}/api/ai/customers/{sample.customer_id}",
        ]
    lines.append("")
    return "\n".join(lines)
