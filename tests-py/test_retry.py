"""The backoff every DynamoDB writer shares (ingest/retry.py): full-jitter pauses, never past a deadline.

Deterministic: the clock moves only when slept on, and the draw is injected (or random.uniform patched).
"""

from __future__ import annotations

import random

import pytest

from ingest.dynamodb_writer import WriterSettings
from ingest.lookup.settings import LoaderTuning
from ingest.retry import Backoff, full_jitter


class FakeClock:
    """A clock that moves only when slept on; it keeps the pauses slept."""

    def __init__(self) -> None:
        self.now = 0.0
        self.pauses: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.now += seconds


def _highest(low: float, high: float) -> float:
    return high


def _backoff(clock: FakeClock, deadline, *, base: float = 0.25, cap: float = 5.0, uniform=_highest) -> Backoff:
    return Backoff(base, cap, deadline, clock=clock, sleep=clock.sleep, uniform=uniform)


@pytest.mark.parametrize(
    ("pauses", "bound"),
    [(0, 0.125), (1, 0.25), (3, 1.0), (4, 2.0), (5, 3.0), (60, 3.0)],
)
def test_a_pause_is_drawn_between_zero_and_the_base_doubled_per_earlier_pause_up_to_the_cap(pauses, bound):
    drawn = []

    def uniform(low: float, high: float) -> float:
        drawn.append((low, high))
        return 0.1

    assert full_jitter(pauses, 0.125, 3.0, uniform) == 0.1
    assert drawn == [(0, bound)]


def test_without_a_draw_given_the_pause_is_random_uniform_as_it_stands_at_the_call(monkeypatch):
    # The writers' tests patch random.uniform to take every pause at its bound; that must reach the helper.
    monkeypatch.setattr(random, "uniform", lambda low, high: ("drawn", low, high))
    assert full_jitter(2, 0.125, 3.0) == ("drawn", 0, 0.5)


def test_both_writers_back_off_from_the_same_defaults():
    writer = WriterSettings(table_name="t", partition_key="pk", sort_key=None, snapshot_attribute="s", max_item_bytes=1)
    assert (writer.backoff_base_seconds, writer.backoff_cap_seconds) == (0.05, 5.0)
    assert (LoaderTuning().backoff_base_seconds, LoaderTuning().backoff_cap_seconds) == (0.05, 5.0)


def test_each_pause_is_slept_and_counted_doubling_up_to_the_cap():
    clock = FakeClock()
    backoff = _backoff(clock, lambda: 100.0, base=0.125, cap=1.5)
    assert [backoff.wait() for _ in range(6)] == [True] * 6
    assert clock.pauses == [0.125, 0.25, 0.5, 1.0, 1.5, 1.5]
    assert backoff.pauses == 6


@pytest.mark.parametrize(
    ("deadline", "waits"),
    [
        (0.2, [False]),
        (0.25, [True, False]),  # a pause ending exactly at the deadline is taken
        (0.74, [True, False]),
        (0.75, [True, True, False]),
        (1.74, [True, True, False]),
        (1.75, [True, True, True, False]),
    ],
)
def test_a_pause_that_would_end_after_the_deadline_is_not_taken(deadline, waits):
    clock = FakeClock()
    backoff = _backoff(clock, lambda: deadline)
    assert [backoff.wait() for _ in waits] == waits
    taken = waits.count(True)
    assert clock.pauses == [0.25, 0.5, 1.0][:taken]
    assert backoff.pauses == taken


def test_the_pause_drawn_not_its_bound_is_held_against_the_deadline():
    clock = FakeClock()
    backoff = _backoff(clock, lambda: 1.0, uniform=lambda low, high: high / 4)
    # Bounds 0.25, 0.5, 1, 2, 4: quarters of them end at 0.0625, 0.1875, 0.4375, 0.9375, then 1.9375.
    assert [backoff.wait() for _ in range(5)] == [True, True, True, True, False]
    assert clock.pauses == [0.0625, 0.125, 0.25, 0.5]


def test_the_deadline_is_read_at_each_pause_and_a_pause_refused_does_not_count():
    clock = FakeClock()
    deadline = [0.0]
    backoff = _backoff(clock, lambda: deadline[0])
    assert backoff.wait() is False
    deadline[0] = 10.0  # a writer's deadline grows with the items it takes on
    assert backoff.wait() is True
    assert backoff.wait() is True
    assert clock.pauses == [0.25, 0.5]
    assert backoff.pauses == 2
