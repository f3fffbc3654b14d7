"""Simulated CryptoGig and Auctionity servers for the demo and the tests, and a runner serving both."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass
class RunningSandbox:
    url: str
    app: object
    api_key: str = ""
    sample_codes: dict[str, str] = field(default_factory=dict)
    live_auction_ids: list[str] = field(default_factory=list)


@contextlib.asynccontextmanager
async def sandbox_servers(
    cryptogig_port: int = 0, auctionity_port: int = 0, *, rivals: bool = True, rival_interval: float = 20.0
) -> AsyncIterator[tuple[RunningSandbox, RunningSandbox]]:
    """Both sandboxes on loopback in this event loop (port 0: any free port), rivals bidding if asked."""
    from bot.sandbox.auctionity import create_auctionity_app, run_rival_bidders
    from bot.sandbox.cryptogig import SAMPLE_PURCHASE_CODES, SANDBOX_API_KEY, create_cryptogig_app
    from bot.sandbox.server import serve

    cryptogig_app = create_cryptogig_app()
    auctionity_app = create_auctionity_app()
    data = auctionity_app.state.data
    now = datetime.now(UTC)
    live = [a.id for a in data.auctions.values() if a.start <= now < a.end]
    stop = asyncio.Event()
    async with serve(cryptogig_app, cryptogig_port) as cryptogig, serve(auctionity_app, auctionity_port) as auctionity:
        rival_task = None
        if rivals:
            rival_task = asyncio.create_task(run_rival_bidders(data, interval=rival_interval, stop=stop))
        try:
            yield (
                RunningSandbox(cryptogig.url, cryptogig_app, SANDBOX_API_KEY, dict(SAMPLE_PURCHASE_CODES)),
                RunningSandbox(auctionity.url, auctionity_app, live_auction_ids=live),
            )
        finally:
            stop.set()
            if rival_task is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(rival_task, 2)
