"""The dependencies commands receive: settings, clients, the database, the key, the command table, languages.

They are built once, by ``open_services`` (bot/wiring/dependencies.py), and passed down; nothing here is global.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bot.core.clock import utcnow

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from bot.clients.auctionity import AuctionityClient
    from bot.clients.cryptogig import CryptoGigClient
    from bot.core.config import Settings
    from bot.core.languages import Languages
    from bot.core.registry import Registry
    from storage.crypto import SecretBox
    from storage.db import Database


@dataclass
class Services:
    """Everything a command may use, passed down explicitly (nothing global)."""

    settings: Settings
    cryptogig: CryptoGigClient
    auctionity: AuctionityClient
    db: Database  # ``await services.db.run(work)``: database work never runs on the event loop
    box: SecretBox
    registry: Registry  # the command table (/help lists it)
    languages: Languages  # whose language a reply speaks (/language tells it a reader's choice)
    clock: Callable[[], datetime] = utcnow

    def now(self) -> datetime:
        return self.clock()

    @property
    def engine(self) -> Engine:
        return self.db.engine
