"""The bench's own task: a shop's job that does nothing (the queue's own cost)."""

from __future__ import annotations

from bloomer_ai.jobs.tasks import ShopJob, shop_task


@shop_task("bench.noop")
async def noop(job: ShopJob) -> None:
    """Nothing: running it twice is as harmless as once."""
