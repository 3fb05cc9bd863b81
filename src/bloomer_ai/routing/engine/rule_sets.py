"""Compiled rule sets per shop, kept per process and told apart by the shop's version.

Every rule change bumps the shop's row in ``routing_rule_set_versions`` in the same
transaction (a change of the shop's time zone or currency does too, by trigger), and a
trigger announces each new version on the channel ``routing_rule_sets``
(``<shop id>:<version>``), delivered by PostgreSQL at commit to every listening process.

* **Change feed live** (this process listens; ``ChannelListener``): an entry checked
  against the database since the feed last connected is used without any query until an
  announcement names a newer version of its shop, or this process commits a change of it.
  Another process sees a change as soon as PostgreSQL's notification reaches it, normally
  within a millisecond of the commit.
* **Feed not live** (starting, reconnecting), or a cache built not to trust it (sessions
  that do not read committed state: the tests' joined transactions): each evaluation
  reads the version (one query) and rereads the shop and recompiles when it differs.

No timer is involved: staleness is bounded by the notification's delivery, not a TTL.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.models import OrderRoutingRule
from bloomer_ai.routing.engine.rule_index import CompiledRuleSet, RuleSpec
from bloomer_ai.routing.repository import RuleRepository
from bloomer_ai.shops import service as shops

CHANNEL = "routing_rule_sets"
UNVERIFIED = -1


@dataclass(frozen=True)
class ShopFacts:
    timezone: str
    currency: str
    rule_set_version: int


@dataclass(slots=True)
class RuleSet:
    facts: ShopFacts
    rules: CompiledRuleSet
    # The feed generation in which it was checked against the database and may be used
    # without asking again; UNVERIFIED once an announcement names a newer version.
    trusted_in: int


def compile_rules(rows: Iterable[OrderRoutingRule]) -> CompiledRuleSet:
    return CompiledRuleSet(
        RuleSpec(
            id=str(row.id),
            priority=row.priority,
            created_at=row.created_at,
            conditions=row.conditions,
            action=row.action,
            stop_on_match=row.stop_on_match,
            enabled=row.enabled,
        )
        for row in rows
    )


class RuleSetCache:
    def __init__(self, *, trust_feed: bool) -> None:
        # Decided once, where the cache is built: only sessions that read committed state
        # (the engine's own) may skip the version check while the feed is live.
        self.trust_feed = trust_feed
        self._by_shop: dict[uuid.UUID, RuleSet] = {}
        self._known: dict[uuid.UUID, int] = {}  # the newest version heard of, per shop
        self._loading: dict[uuid.UUID, asyncio.Lock] = {}
        self.live = False
        # Bumped whenever the feed connects or is lost: an entry checked in an earlier
        # generation may have missed an announcement and is checked again before use.
        self.generation = 0

    # -- the change feed (ChannelListener callbacks) ----------------------------------------

    def feed_connected(self) -> None:
        self.generation += 1
        self.live = True

    def feed_lost(self) -> None:
        self.generation += 1
        self.live = False

    def note_announcement(self, payload: str) -> None:
        shop, _, version = payload.partition(":")
        try:
            shop_id, number = uuid.UUID(shop), int(version)
        except ValueError:
            # Not ours to interpret: forget everything rather than trust a stale entry.
            self._by_shop.clear()
            return
        self.note_version(shop_id, number)

    def note_version(self, shop_id: uuid.UUID, version: int) -> None:
        """A committed version of the shop's rule set: announced by PostgreSQL, or
        committed by this process (which need not wait for its own announcement)."""
        if version > self._known.get(shop_id, 0):
            self._known[shop_id] = version
        entry = self._by_shop.get(shop_id)
        if entry is not None and entry.facts.rule_set_version < version:
            entry.trusted_in = UNVERIFIED

    def known_version(self, shop_id: uuid.UUID) -> int:
        return self._known.get(shop_id, 0)

    # -- lookups ------------------------------------------------------------------------

    def trusted(self, shop_id: uuid.UUID) -> RuleSet | None:
        """The shop's entry when it may be used without asking the database."""
        entry = self._by_shop.get(shop_id)
        # Entries are trusted only in the generation (of a live feed) they were checked in.
        if not self.trust_feed or entry is None or entry.trusted_in != self.generation:
            return None
        return entry

    async def load(self, session: AsyncSession) -> RuleSet:
        """Check the shop's version in the database; recompile when it changed. ``session``
        is bound to the shop.

        One load per shop at a time: requests arriving together on a cold shop wait for
        the first one's compilation instead of each compiling the same rules.
        """
        repository = RuleRepository(session)
        shop_id = repository.shop_id
        lock = self._loading.get(shop_id)
        if lock is None:
            lock = self._loading[shop_id] = asyncio.Lock()
        async with lock:
            # Captured before reading: an announcement missed before this read began makes
            # the generation differ, and the entry is checked again.
            generation = self.generation if self.live else UNVERIFIED
            version = await repository.version()
            entry = self._by_shop.get(shop_id)
            if entry is not None and entry.facts.rule_set_version == version:
                facts, rules = entry.facts, entry.rules
            else:
                # Read after the version: shop facts and rules are at least as new as it says
                # (a change of the shop's time zone or currency bumps the version too).
                shop = await shops.shop_profile(session)
                facts = ShopFacts(shop.timezone, shop.currency, version)
                rules = compile_rules(await repository.all())
            if self._known.get(shop_id, 0) > facts.rule_set_version:
                generation = UNVERIFIED  # a newer version came while we read: check again
            entry = RuleSet(facts, rules, generation)
            self._by_shop[shop_id] = entry
            return entry
