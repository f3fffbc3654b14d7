"""The dependencies commands receive, and the one function that builds them from Settings."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from bot import i18n
from bot.clients.auctionity import AuctionityClient
from bot.clients.cryptogig import CryptoGigClient
from bot.config import Settings
from bot.formatting import utcnow
from bot.logs import add_secret
from bot.registry import Registry

if TYPE_CHECKING:
    from bot.languages import Languages
from storage.crypto import SecretBox
from storage.db import Database, create_db_engine


@dataclass
class Services:
    """Everything a command may use, passed down explicitly (nothing global)."""

    settings: Settings
    cryptogig: CryptoGigClient
    auctionity: AuctionityClient
    db: Database  # ``await services.db.run(work)``: database work never runs on the event loop
    box: SecretBox
    clock: Callable[[], datetime] = utcnow
    registry: Registry | None = None  # set by the Core that serves these services (/help lists it)
    languages: Languages | None = None  # set by that Core too (/language tells it a reader's choice)

    def now(self) -> datetime:
        return self.clock()

    @property
    def engine(self) -> Engine:
        return self.db.engine


@contextlib.asynccontextmanager
async def open_services(
    settings: Settings, *, clock: Callable[[], datetime] = utcnow, engine: Engine | None = None
) -> AsyncIterator[Services]:
    """Build clients, engine and key from settings; close them all on exit."""
    if settings.gavel_secret_key is None:
        raise ValueError("GAVEL_SECRET_KEY is not set")
    for secret in settings.secrets():  # whatever logs or records an error from here on masks them
        add_secret(secret)
    i18n.set_default(settings.default_language)
    i18n.compile_all()
    api_key = settings.cryptogig_api_key.get_secret_value() if settings.cryptogig_api_key else ""
    own_engine = engine is None
    engine = engine or create_db_engine(settings.database_url)
    async with (
        CryptoGigClient(settings.cryptogig_base_url, api_key, timeout=settings.http_timeout_seconds) as cryptogig,
        AuctionityClient(settings.auctionity_base_url, timeout=settings.http_timeout_seconds) as auctionity,
    ):
        db = Database(engine)
        try:
            yield Services(
                settings=settings,
                cryptogig=cryptogig,
                auctionity=auctionity,
                db=db,
                box=SecretBox(settings.gavel_secret_key.get_secret_value()),
                clock=clock,
            )
        finally:
            db.close()
            if own_engine:
                engine.dispose()
