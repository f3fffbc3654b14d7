"""Arguments several commands share, and the one lookup of "who is asking" in the database."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlmodel import Session

from bot.core import arguments
from bot.core.i18n import N_
from bot.core.messages import Request
from bot.core.registry import ArgKind, Argument
from storage import users

if TYPE_CHECKING:
    from bot.core.services import Services

ITEM_ID = Argument("item_id", "the item's number, from /items", ArgKind.ITEM_ID, autocomplete="items")
AUCTION_ID = Argument(
    "auction_id", "the auction's id: 0x and 64 hex digits", ArgKind.AUCTION_ID, autocomplete="watched_auctions"
)
AMOUNT = Argument("amount", "a whole amount, above the current price", ArgKind.AMOUNT)
PAGE = Argument("page", "page number", ArgKind.INTEGER, required=False, min_value=1, max_value=100_000)
EMAIL = Argument(
    "email", "your Auctionity email", ArgKind.EMAIL, prompt=N_("What is your Auctionity email?"),
    # Translators: a form field's label (the login and signup forms)
    label=N_("Email"), max_length=254,
)  # fmt: skip
PASSWORD = Argument(
    "password", "your Auctionity password", ArgKind.PASSWORD, prompt=N_("And your password?"),
    # Translators: a form field's label (the login and signup forms)
    label=N_("Password"), secret=True, max_length=arguments.MAX_PASSWORD_LENGTH,
)  # fmt: skip
NEW_PASSWORD = Argument(
    "password", "the password you choose", ArgKind.NEW_PASSWORD,
    prompt=N_("And the password you want (at least 8 characters)?"),
    # Translators: a form field's label (the login and signup forms)
    label=N_("Password"), secret=True, max_length=arguments.MAX_PASSWORD_LENGTH,
)  # fmt: skip
CODE = Argument(
    "code", "your purchase code", ArgKind.CODE, prompt=N_("Send me your purchase code."),
    # Translators: a form field's label (the /verify form)
    label=N_("Purchase code"), private=True, max_length=arguments.MAX_CODE_LENGTH * 2,
)  # fmt: skip


async def chat_user_id(services: Services, request: Request) -> int:
    """The asker's chat user id, created on first contact (their display name kept current)."""
    now = services.now()

    def get(session: Session) -> int:
        user = users.get_or_create_chat_user(
            session,
            platform=request.platform,
            platform_user_id=request.user_id,
            display_name=request.display_name,
            platform_language=request.language,
            now=now,
        )
        assert user.id is not None
        return user.id

    return await services.db.run(get)


async def known_user(services: Services, request: Request) -> tuple[int, str | None] | None:
    """(chat user id, Auctionity user id) of the asker if they were ever seen; None otherwise."""

    def find(session: Session) -> tuple[int, str | None] | None:
        user = users.find_chat_user(session, platform=request.platform, platform_user_id=request.user_id)
        return (user.id, user.auctionity_user_id) if user is not None and user.id is not None else None

    return await services.db.read(find)
