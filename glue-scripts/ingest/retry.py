"""How every DynamoDB writer here waits between the attempts of a request: exponential backoff with full jitter, until a deadline.

After the request has been paused for n times (n from 0), the next pause is drawn uniformly between
0 and min(cap, base * 2**n), AWS's "full jitter": writers throttled together spread out instead of
retrying in step. A pause that would end after the writer's deadline is not taken; the writer then
counts what is left of the request as failed, with the attempts it made. The extract job's item
writer (dynamodb_writer.py) and the lookup loader's batch writer and scans (ingest/lookup/) all
back off through `Backoff`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field

# The first pause is at most this long; each later one may be twice the one before, up to the cap.
BACKOFF_BASE_SECONDS = 0.05
BACKOFF_CAP_SECONDS = 5.0


def full_jitter(pauses: int, base_seconds: float, cap_seconds: float, uniform: Callable[[float, float], float] | None = None) -> float:
    """The pause after `pauses` earlier pauses: uniform between 0 and min(cap, base * 2**pauses).

    `uniform(low, high)` draws it; `random.uniform` (looked up at each call) by default.
    """
    return (uniform or random.uniform)(0, min(cap_seconds, base_seconds * 2**pauses))


@dataclass(slots=True)
class Backoff:
    """The pauses between the attempts of one request, until `deadline()` (read at each pause, so it may move).

    `pauses` counts the pauses taken: the attempts made so far, less the first. `uniform` draws each
    pause (see `full_jitter`).
    """

    base_seconds: float
    cap_seconds: float
    deadline: Callable[[], float]
    _: KW_ONLY
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    uniform: Callable[[float, float], float] | None = None
    pauses: int = field(default=0, init=False)

    def wait(self) -> bool:
        """Sleeps the next pause and returns True; returns False, without sleeping, when the pause would end after the deadline."""
        pause = full_jitter(self.pauses, self.base_seconds, self.cap_seconds, self.uniform)
        if self.clock() + pause > self.deadline():
            return False
        self.pauses += 1
        self.sleep(pause)
        return True
