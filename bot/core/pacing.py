"""How fast a platform takes messages the bot starts: each adapter declares it, the dispatcher alone applies it.

One pacing layer: the dispatcher waits for the platform's budget before each alert and keeps a chat's
alerts at least its interval apart; adapters send at once and only report what the platform says
(RetryLater). Replies to commands are not paced here: the user is waiting, and they are few.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from aiolimiter import AsyncLimiter


def _no_interval(chat_id: str) -> float:
    return 0.0


@dataclass(frozen=True)
class Pacing:
    """``per_second`` messages across all chats, ``burst`` of them at once; ``interval_for(chat_id)`` seconds
    between two messages to one chat (None / 0: no limit)."""

    per_second: float | None = None
    burst: int = 1
    interval_for: Callable[[str], float] = field(default=_no_interval)

    def budget(self, *, share: float = 1.0) -> AsyncLimiter | None:
        """A bucket of ``burst`` tokens refilled at ``per_second`` (or ``share`` of both: a part of the budget).

        An aiolimiter bucket admits its whole capacity at once and then refills, so in one period it
        lets through capacity + rate: a platform that counts "30 a second" over any second needs a
        bucket of one token, refilled evenly.
        """
        if not self.per_second:
            return None
        burst = max(1, round(self.burst * share))
        return AsyncLimiter(burst, burst / (self.per_second * share))
