"""The one function that builds what commands receive (Services) from Settings, and closes it all again."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime

from sqlalchemy import Engine

from bot.clients.auctionity import AuctionityClient
from bot.clients.cryptogig import CryptoGigClient
from bot.core import i18n
from bot.core.clock import utcnow
from bot.core.config import Settings
from bot.core.languages import Languages
from bot.core.logs import add_secret
from bot.core.registry import Registry
from bot.core.services import Services
from bot.wiring.commands import build_registry
from storage.crypto import SecretBox
from storage.db import Database, create_db_engine


@contextlib.asynccontextmanager
async def open_services(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = utcnow,
    engine: Engine | None = None,
    registry: Registry | None = None,
) -> AsyncIterator[Services]:
    """Build clients, engine, key, command table and languages from settings; close them all on exit."""
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
                registry=registry or build_registry(),
                languages=Languages(db, default_language=settings.default_language),
                clock=clock,
            )
        finally:
            db.close()
            if own_engine:
                engine.dispose()
