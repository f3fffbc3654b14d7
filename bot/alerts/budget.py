"""A platform's sending budget, shared by alerts and live-card edits so that an alert never waits for an edit.

Alerts take the platform's bucket as they come. A card edit first takes a token of its own, smaller bucket (a
``CARD_SHARE`` of the platform's rate, so edits can never use up the budget), then waits until no alert is waiting
for the platform's bucket, and only then takes one of its tokens: an alert that comes due meanwhile waits for at
most the one edit already on its way.
"""

from __future__ import annotations

import asyncio

from aiolimiter import AsyncLimiter

from bot.core.pacing import Pacing

CARD_SHARE = 0.25  # of a platform's rate, at most, for live-card edits


class Budget:
    """One platform's bucket (None: unpaced) and the card edits' share of it."""

    def __init__(self, pacing: Pacing | None) -> None:
        self.bucket: AsyncLimiter | None = pacing.budget() if pacing else None
        self.cards: AsyncLimiter | None = pacing.budget(share=CARD_SHARE) if pacing else None
        self._alerts_waiting = 0
        self._no_alert_waiting = asyncio.Event()
        self._no_alert_waiting.set()

    async def for_alert(self) -> None:
        if self.bucket is None:
            return
        self._alerts_waiting += 1
        self._no_alert_waiting.clear()
        try:
            await self.bucket.acquire()
        finally:
            self._alerts_waiting -= 1
            if not self._alerts_waiting:
                self._no_alert_waiting.set()

    async def for_card(self) -> None:
        if self.cards is not None:
            await self.cards.acquire()
        if self.bucket is None:
            return
        await self._no_alert_waiting.wait()
        await self.bucket.acquire()
