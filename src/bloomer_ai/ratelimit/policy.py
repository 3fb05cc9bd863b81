"""Rate limits with the ``limits`` library: in memory, or in Redis shared by all processes.

When Redis fails the limiter keeps serving on the in-memory storage (fail open), says so
once in the log, and tries Redis again after a pause.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from enum import StrEnum

import structlog
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter

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
    AUTH_FAILURES = "auth_failures"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    policy_name: str
    limit: int
    remaining: int
    reset_seconds: int
    window_seconds: int

    def headers(self) -> list[tuple[bytes, bytes]]:
        """The IETF draft's RateLimit-Policy/RateLimit and the widely read X-less trio."""
        name = self.policy_name
        values = {
            "RateLimit-Policy": f'"{name}";q={self.limit};w={self.window_seconds}',
            "RateLimit": f'"{name}";r={self.remaining};t={self.reset_seconds}',
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_seconds),
        }
        if not self.allowed:
            values["Retry-After"] = str(max(1, self.reset_seconds))
        return [(key.lower().encode(), value.encode()) for key, value in values.items()]


class RateLimiter:
    def __init__(self, settings: RateLimitSettings) -> None:
        self._policies: dict[RouteGroup, RateLimitItem] = {
            group: parse(getattr(settings, f"ratelimit_{group.value}")) for group in RouteGroup
        }
        self._memory = FixedWindowRateLimiter(MemoryStorage())
        self._redis_url = settings.redis_url
        self._redis: FixedWindowRateLimiter | None = None
        self._redis_down_since: float | None = None
        if settings.redis_url:
            self._redis = FixedWindowRateLimiter(
                RedisStorage(
                    settings.redis_url,
                    implementation="redispy",
                    wrap_exceptions=True,
                    key_prefix=settings.ratelimit_key_prefix,
                )
            )

    @property
    def backend(self) -> str:
        return "redis" if self._redis is not None else "memory"

    def policy(self, group: RouteGroup) -> RateLimitItem:
        return self._policies[group]

    def _limiter(self) -> FixedWindowRateLimiter:
        if self._redis is None:
            return self._memory
        down_since = self._redis_down_since
        if down_since is not None and time.monotonic() - down_since < REDIS_RETRY_SECONDS:
            return self._memory
        return self._redis

    async def hit(self, group: RouteGroup, identity: str) -> Decision:
        item = self._policies[group]
        limiter = self._limiter()
        try:
            allowed = await limiter.hit(item, group.value, identity)
            stats = await limiter.get_window_stats(item, group.value, identity)
        except Exception as exc:
            if limiter is self._memory:
                raise
            if self._redis_down_since is None:
                log.warning(
                    "ratelimit_redis_unavailable",
                    error_type=type(exc).__name__,
                    fallback="memory",
                )
            self._redis_down_since = time.monotonic()
            limiter = self._memory
            allowed = await limiter.hit(item, group.value, identity)
            stats = await limiter.get_window_stats(item, group.value, identity)
        else:
            if limiter is self._redis and self._redis_down_since is not None:
                log.info("ratelimit_redis_recovered")
                self._redis_down_since = None
        reset = max(0, math.ceil(stats.reset_time - time.time()))
        return Decision(
            allowed=allowed,
            policy_name=group.value,
            limit=item.amount,
            remaining=max(0, stats.remaining),
            reset_seconds=reset,
            window_seconds=item.get_expiry(),
        )

    async def exceeded(self, group: RouteGroup, identity: str) -> Decision | None:
        """Whether ``identity`` is already over the group's limit, without counting a hit."""
        item = self._policies[group]
        limiter = self._limiter()
        try:
            ok = await limiter.test(item, group.value, identity)
            if ok:
                return None
            stats = await limiter.get_window_stats(item, group.value, identity)
        except Exception:
            return None  # failing open: an unavailable store never locks people out
        reset = max(0, math.ceil(stats.reset_time - time.time()))
        return Decision(False, group.value, item.amount, 0, reset, item.get_expiry())

    async def reset(self) -> None:
        """Clear every counter (tests and benchmarks)."""
        await self._memory.storage.reset()
        if self._redis is not None:
            await self._redis.storage.reset()


def build_rate_limiter(settings: RateLimitSettings) -> RateLimiter:
    for group in RouteGroup:
        value = getattr(settings, f"ratelimit_{group.value}")
        try:
            parse(value)
        except ValueError:
            raise ValueError(
                f"RATELIMIT_{group.value.upper()} is not a rate limit (e.g. 60/minute)"
            ) from None
    return RateLimiter(settings)


__all__ = ["Decision", "RateLimiter", "RouteGroup", "Storage", "build_rate_limiter"]
