"""Who reads which language: a reader's /language choice, else what their platform says, else DEFAULT_LANGUAGE."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlmodel import Session

from bot.core import i18n
from bot.core.messages import Request
from storage import users

if TYPE_CHECKING:
    from storage.db import Database

CACHE_SECONDS = 60.0  # another process's /language reaches this one's replies within this long


@dataclass(frozen=True)
class _Known:
    chosen: str | None
    platform_language: str | None
    at: float


class Languages:
    """The language each request is answered in, read from the database at most once a minute per reader."""

    def __init__(self, db: Database, *, default_language: str) -> None:
        self.db = db
        self.default_language = default_language
        self._known: dict[tuple[str, str], _Known] = {}

    def pick(self, *candidates: str | None) -> str:
        return i18n.pick(*candidates, default=self.default_language)

    async def for_request(self, request: Request) -> str:
        """The reader's language; their platform's, noted for later alerts, when it changed."""
        key = (request.platform, request.user_id)
        known = self._known.get(key)
        fresh = known is not None and time.monotonic() - known.at < CACHE_SECONDS
        if not (fresh and known and known.platform_language == request.language):

            def note(session: Session) -> str | None:
                return users.chosen_language(
                    session, platform=request.platform, platform_user_id=request.user_id,
                    platform_language=request.language,
                )  # fmt: skip

            known = _Known(await self.db.run(note), request.language, time.monotonic())
            self._remember(key, known)
        return self.pick(known.chosen, request.language)

    def chose(self, request: Request, language: str | None) -> None:
        """The reader just chose (None: follow the platform again): answer in it from the next request on."""
        self._remember((request.platform, request.user_id), _Known(language, request.language, time.monotonic()))

    def _remember(self, key: tuple[str, str], known: _Known) -> None:
        if len(self._known) >= 100_000:  # a bound, not a policy: the oldest half goes
            for old in list(self._known)[:50_000]:
                del self._known[old]
        self._known[key] = known
