"""turns.py: background tasks go on one per pass of the loop; other tasks never wait for a turn."""
from __future__ import annotations

import asyncio

from jira_sync import turns


async def _passes(n: int) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


async def test_one_background_task_goes_on_per_pass_of_the_loop() -> None:
    turnstile = turns.Turnstile()
    went_on: list[str] = []

    async def background(name: str) -> None:
        turns.background.set(turnstile)
        await turns.take()
        went_on.append(name)

    tasks = [asyncio.create_task(background(n)) for n in "abcd"]
    await asyncio.sleep(0)  # every task has started and waits for its turn
    seen = []
    for _ in range(6):
        await asyncio.sleep(0)
        seen.append(len(went_on))
    await asyncio.gather(*tasks)
    assert went_on == list("abcd")  # in the order they came
    # never two in one pass: the count grows by at most one between two passes
    assert all(b - a <= 1 for a, b in zip([0, *seen], seen)), seen
    assert seen[-1] == 4


async def test_a_task_that_is_not_background_work_never_waits() -> None:
    turnstile = turns.Turnstile()

    async def background() -> None:
        turns.background.set(turnstile)
        await turns.take()

    crowd = [asyncio.create_task(background()) for _ in range(50)]
    await asyncio.sleep(0)
    foreground = asyncio.create_task(turns.take())  # this task's context has no turnstile
    await asyncio.sleep(0)
    assert foreground.done()
    assert sum(t.done() for t in crowd) < 50  # the crowd is still taking its turns
    await asyncio.gather(*crowd)


async def test_a_cancelled_waiter_gives_its_turn_to_the_next() -> None:
    turnstile = turns.Turnstile()
    waiting = [asyncio.create_task(turnstile.take()) for _ in range(3)]
    await asyncio.sleep(0)
    waiting[0].cancel()
    await _passes(6)
    assert waiting[0].cancelled()
    assert waiting[1].done() and waiting[2].done()
    # and the turnstile is free again: a new waiter goes on within a pass or two
    late = asyncio.create_task(turnstile.take())
    await _passes(3)
    assert late.done()
