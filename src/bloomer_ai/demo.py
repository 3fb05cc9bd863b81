"""Demo data for ``bloomer-ai serve --demo``: one florist, its customers and a year of orders.

Seeded once (found again by name) and deterministic (a fixed random seed), so demos and
screenshots look the same on every machine.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.auth.service import create_user, find_user_by_email
from bloomer_ai.config import Settings
from bloomer_ai.db.tenancy import bind_shop
from bloomer_ai.kit.ids import id_at
from bloomer_ai.kit.time import utcnow
from bloomer_ai.models import ApiKey, AuthSession, Customer, Order, OrderItem, Shop, User
from bloomer_ai.shops.service import add_member, create_shop, find_shop_by_name

DEMO_SHOP_NAME = "Bloom & Co (demo)"
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
STATUSES_PAST = ["delivered"] * 8 + ["picked_up", "cancelled"]
STATUSES_OPEN = ["pending", "confirmed", "in_progress", "ready", "out_for_delivery"]
SOURCES = ["web"] * 5 + ["phone", "phone", "voice", "chat", "walk_in"]


DEMO_AGENT_CONFIG = {
    "greeting": "Hi! I'm Lilli from Bloom & Co. Ask me about opening hours or your order.",
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


@dataclass
class DemoCredentials:
    shop_id: str
    shop_name: str
    user_id: str
    user_email: str
    created: bool
    extras: dict[str, str] = field(default_factory=dict)


async def seed_demo(session: AsyncSession, settings: Settings) -> DemoCredentials:
    shop = await find_shop_by_name(session, DEMO_SHOP_NAME)
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
    credentials = DemoCredentials(
        shop_id=str(shop.id),
        shop_name=shop.name,
        user_id=str(user.id),
        user_email=user.email,
        created=created,
    )
    credentials.extras.update(await _issue_demo_credentials(session, settings, shop, user))
    return credentials


async def _issue_demo_credentials(
    session: AsyncSession, settings: Settings, shop: Shop, user: User
) -> dict[str, str]:
    """A fresh API key (older demo keys revoked) and a database-strategy session token.

    Secrets are shown once, so every start issues new ones.
    """
    from bloomer_ai.auth.scopes import ALL_SCOPES
    from bloomer_ai.auth.service import create_api_key

    bind_shop(session.sync_session, shop.id)
    await session.execute(
        update(ApiKey)
        .where(ApiKey.name == DEMO_KEY_NAME, ApiKey.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    issued = await create_api_key(
        session,
        name=DEMO_KEY_NAME,
        scopes=sorted(ALL_SCOPES),
        pepper=settings.auth.pepper(),
        expires_in_days=30,
    )
    token = f"demo-{secrets.token_urlsafe(32)}"
    session.add(
        AuthSession(session_token=token, user_id=user.id, expires=utcnow() + timedelta(days=7))
    )
    await session.flush()
    return {
        "API key (all scopes)": issued.secret,
        "Try it": f"curl -H 'Authorization: Bearer {issued.secret}' {{base}}/api/ai/me",
        "Sign-in token (NextAuth database session, 7 days)": token,
        "As the web app": f"curl -b 'next-auth.session-token={token}' {{base}}/api/ai/me",
    }


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
    # Oldest first, so order numbers and ids grow with time, as a real shop's do.
    placed_times = sorted(
        now - timedelta(days=rng.randint(0, 364), hours=rng.randint(0, 23)) for _ in range(320)
    )
    for number, placed in enumerate(placed_times, start=1):
        is_open = (now - placed) < timedelta(days=3)
        items = [rng.choice(PRODUCTS) for _ in range(rng.randint(1, 3))]
        order = Order(
            id=id_at(placed),
            shop_id=shop.id,
            number=f"{1000 + number}",
            customer_id=rng.choice(customers).id if rng.random() < 0.9 else None,
            status=rng.choice(STATUSES_OPEN if is_open else STATUSES_PAST),
            source=rng.choice(SOURCES),
            delivery_zone=rng.choice(ZONES),
            delivery_date=(placed + timedelta(days=rng.randint(0, 3))).date(),
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
    lines = [
        "",
        f"Demo shop: {credentials.shop_name} ({credentials.shop_id})"
        + (" — seeded now" if credentials.created else " — already seeded"),
        f"Demo user: {credentials.user_email} (owner)",
        f"API docs:  {base}/docs",
        f"Ready?     curl {base}/readyz",
    ]
    for label, value in credentials.extras.items():
        lines.append(f"{label}:\n    {value.replace('{base}', base)}")
    lines.append("")
    return "\n".join(lines)
