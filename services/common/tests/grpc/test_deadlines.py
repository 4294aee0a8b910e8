"""Outgoing calls never get more time than the request being handled has left."""

from __future__ import annotations

import asyncio

from voiceassist_common.grpc.deadlines import (
    deadline_scope,
    remaining_time,
    start_deadline,
    timeout_for_call,
)


def test_without_a_budget_a_call_keeps_its_own_timeout() -> None:
    assert remaining_time() is None
    assert timeout_for_call(3.0) == 3.0
    assert timeout_for_call(None) is None


def test_a_budget_shortens_longer_timeouts_and_keeps_shorter_ones() -> None:
    with deadline_scope(2.0):
        shortened = timeout_for_call(30.0)
        kept = timeout_for_call(0.5)
        unbounded = timeout_for_call(None)

    assert shortened is not None
    assert 1.5 < shortened <= 2.0
    assert kept == 0.5
    assert unbounded is not None
    assert unbounded <= 2.0
    assert remaining_time() is None


def test_a_nested_budget_never_extends_the_outer_one() -> None:
    with deadline_scope(1.0), deadline_scope(60.0):
        remaining = remaining_time()

    assert remaining is not None
    assert remaining <= 1.0


def test_a_spent_budget_leaves_zero_not_a_negative_timeout() -> None:
    with deadline_scope(0.0):
        assert timeout_for_call(5.0) == 0.0


async def test_a_task_budget_stays_in_its_task() -> None:
    async def handle() -> float | None:
        start_deadline(4.0)
        return remaining_time()

    inside = await asyncio.create_task(handle())

    assert inside is not None
    assert inside <= 4.0
    assert remaining_time() is None
