"""Rate limits with the ``limits`` library: in memory, or in Redis shared by all processes.

When Redis fails the limiter keeps serving on the in-memory storage (fail open), says so
once in the log, and tries Redis again after a pause.
"""

from __future__ import annotations

import math
import time
from enum import StrEnum
from typing import NamedTuple

import structlog
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage

from bloomer_ai.config import RateLimitSettings

log = structlog.get_logger("bloomer_ai.ratelimit")

REDIS_RETRY_SECONDS = 30.0


class RouteGroup(StrEnum):
    """Route groups with their own policy (RATELIMIT_<GROUP> in the settings)."""

    DEFAULT = "default"
    AGENT = "agent"
    READ = "read"
    WRITE = "write"
    WEBHOOKS = "webhooks"
    EVALUATE = "evaluate"
    CAMPAIGNS = "campaigns"
    AUTH_FAILURES = "auth_failures"


class Policy(NamedTuple):
    """A group's parsed policy, with what every hit reads from it computed once."""

    name: str
    limit: int
    window_seconds: int
    headers: tuple[tuple[bytes, bytes], ...]  # those that depend on the policy alone

    @classmethod
    def of(cls, group: RouteGroup, item: RateLimitItem) -> Policy:
        name, limit, window = group.value, item.amount, item.get_expiry()
        headers = (
            (b"ratelimit-policy", f'"{name}";q={limit};w={window}'.encode()),
            (b"ratelimit-limit", str(limit).encode()),
        )
        return cls(name, limit, window, headers)


class Decision(NamedTuple):  # a tuple: built on every request, cheaply
    allowed: bool
    policy: Policy
    remaining: int
    reset_seconds: int

    def headers(self) -> list[tuple[bytes, bytes]]:
        """The IETF draft's RateLimit-Policy/RateLimit and the widely read X-less trio."""
        remaining, reset = self.remaining, self.reset_seconds
        headers = [
            *self.policy.headers,
            (b"ratelimit", f'"{self.policy.name}";r={remaining};t={reset}'.encode()),
            (b"ratelimit-remaining", str(remaining).encode()),
            (b"ratelimit-reset", str(reset).encode()),
        ]
        if not self.allowed:
            headers.append((b"retry-after", str(max(1, reset)).encode()))
        return headers


class RateLimiter:
    """Fixed windows aligned to the clock, counted in a ``limits`` storage.

    One storage call per hit (an atomic increment with expiry: a single round trip on
    Redis); the window's end is known from the clock, so remaining and reset need no
    second call.
    """

    def __init__(self, settings: RateLimitSettings) -> None:
        self._policies: dict[RouteGroup, Policy] = {
            group: Policy.of(group, parse(getattr(settings, f"ratelimit_{group.value}")))
            for group in RouteGroup
        }
        self._memory = MemoryStorage()
        self._redis: RedisStorage | None = None
        self._redis_down_since: float | None = None
        # Addresses whose authentication failed in this process lately, with when.
        self._failed_at: dict[str, float] = {}
        if settings.redis_url:
            self._redis = RedisStorage(
                settings.redis_url,
                implementation="redispy",
                wrap_exceptions=True,
                key_prefix=settings.ratelimit_key_prefix,
            )

    @property
    def backend(self) -> str:
        return "redis" if self._redis is not None else "memory"

    def _live_redis(self) -> RedisStorage | None:
        """Redis, unless there is none or it failed within the retry pause."""
        down_since = self._redis_down_since
        if down_since is not None and time.monotonic() - down_since < REDIS_RETRY_SECONDS:
            return None
        return self._redis

    @staticmethod
    def _window(policy: Policy, identity: str) -> tuple[str, int]:
        """The counter key of the current window and the seconds until it ends."""
        length = policy.window_seconds
        now = time.time()
        index = int(now // length)
        reset = max(1, math.ceil((index + 1) * length - now))
        return f"{policy.name}/{identity}/{length}/{index}", reset

    async def _on_redis_error(self, exc: Exception) -> None:
        if self._redis_down_since is None:
            log.warning(
                "ratelimit_redis_unavailable", error_type=type(exc).__name__, fallback="memory"
            )
        self._redis_down_since = time.monotonic()

    def recently_failed(self, address: str) -> bool:
        """Whether this process saw ``address`` fail to authenticate within the window."""
        seen = self._failed_at.get(address)
        if seen is None:
            return False
        if time.monotonic() - seen > self._policies[RouteGroup.AUTH_FAILURES].window_seconds:
            del self._failed_at[address]
            return False
        return True

    def _note_failure(self, address: str) -> None:
        if len(self._failed_at) >= 100_000:
            self._failed_at.clear()  # bounded memory; the shared counter keeps the truth
        self._failed_at[address] = time.monotonic()

    async def hit(self, group: RouteGroup, identity: str) -> Decision:
        if group is RouteGroup.AUTH_FAILURES:
            self._note_failure(identity)
        policy = self._policies[group]
        key, reset = self._window(policy, identity)
        count = await self._increment(key, policy.window_seconds)
        return Decision(count <= policy.limit, policy, max(0, policy.limit - count), reset)

    async def _increment(self, key: str, length: int) -> int:
        redis = self._live_redis()
        if redis is not None:
            try:
                count = await redis.incr(key, length)
            except Exception as exc:
                await self._on_redis_error(exc)
            else:
                if self._redis_down_since is not None:
                    log.info("ratelimit_redis_recovered")
                    self._redis_down_since = None
                return count
        return await self._memory.incr(key, length)

    async def exceeded(self, group: RouteGroup, identity: str) -> Decision | None:
        """Whether ``identity`` is already over the group's limit, without counting a hit."""
        policy = self._policies[group]
        key, reset = self._window(policy, identity)
        redis = self._live_redis()
        try:
            count = await redis.get(key) if redis is not None else await self._memory.get(key)
        except Exception:
            return None  # failing open: an unavailable store never locks people out
        if count < policy.limit:
            return None
        return Decision(False, policy, 0, reset)

    async def reset(self) -> None:
        """Clear every counter (tests and benchmarks)."""
        await self._memory.reset()
        if self._redis is not None:
            await self._redis.reset()


__all__ = ["Decision", "Policy", "RateLimiter", "RouteGroup"]
