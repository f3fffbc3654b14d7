"""Whose update runs when: one user's updates in one chat in order, all users within one shared limit, and
no user holding more than a few places in the queue.

PTB's own limit is taken as an update arrives, so one user's queue (waiting in order for its turn) held
its places and starved everyone else: 40 queued /items from one user made another's /help take 8.6 s.
Here an update takes a place in the shared limit only once its turn in its user's queue has come.
Written by hand: PTB's update processors may not reorder (``process_update`` holds the slot and is final).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import AsyncIterator
from typing import Any

CONCURRENT_UPDATES = 32  # updates handled at once, all users together
QUEUED_PER_USER = 8  # one user's updates waiting or running; more are turned away


class Turns:
    def __init__(self, concurrent: int = CONCURRENT_UPDATES, per_user: int = QUEUED_PER_USER) -> None:
        self.per_user = per_user
        self._order: dict[tuple[int, int], list[Any]] = {}
        self._queued: collections.Counter[int] = collections.Counter()
        self._handling = asyncio.Semaphore(concurrent)
        self._warned: set[int] = set()

    def full(self, user_id: int) -> bool:
        """Whether this user already has as many updates queued as they may."""
        return bool(user_id) and self._queued[user_id] >= self.per_user

    def warn_once(self, user_id: int) -> bool:
        """True the first time a flood of this user's is turned away (until their queue empties)."""
        if user_id in self._warned:
            return False
        self._warned.add(user_id)
        return True

    @contextlib.asynccontextmanager
    async def turn(self, chat_id: int, user_id: int) -> AsyncIterator[None]:
        """Wait for this update's turn: after the user's earlier ones in this chat, then for a shared place."""
        self._queued[user_id] += 1
        key = (chat_id, user_id)
        entry = self._order.setdefault(key, [asyncio.Lock(), 0])
        entry[1] += 1
        try:
            async with entry[0], self._handling:
                yield
        finally:
            entry[1] -= 1
            if entry[1] == 0:
                del self._order[key]
            self._queued[user_id] -= 1
            if self._queued[user_id] <= 0:
                del self._queued[user_id]
                self._warned.discard(user_id)
