"""The command table: every command Gavel has, declared once (help, Telegram's list and Discord's tree read it)."""

from __future__ import annotations

from bot.commands import auctions, auth, catalog, general, verify, watch
from bot.registry import ArgKind, Argument, Command, FormField, Registry, Scope

ITEM_ID = Argument(
    "item_id",
    "the item's number, from /items",
    ArgKind.INTEGER,
    min_value=1,
    max_value=catalog.MAX_ITEM_ID,
    autocomplete="items",
)
AUCTION_ID = Argument(
    "auction_id", "the auction's id: 0x and 64 hex digits", ArgKind.AUCTION_ID, autocomplete="watched_auctions"
)
AMOUNT = Argument(
    "amount", "a whole amount, above the current price", ArgKind.INTEGER, min_value=1, max_value=auctions.MAX_AMOUNT
)
EMAIL = FormField("email", "What is your Auctionity email?", "Email", max_length=254)
PASSWORD = FormField("password", "And your password?", "Password", secret=True, max_length=128)
CODE_FIELD = FormField(
    "code", "Send me your purchase code.", "Purchase code", private=True, max_length=verify.MAX_CODE_LENGTH * 2
)


def build_registry() -> Registry:
    """Every command, in the order help lists them."""
    registry = Registry()
    add = registry.add
    add(
        Command(
            "start",
            general.start,
            "Say hello and show what I can do",
            args=(Argument("payload", "where a deep link should take you", required=False),),
        )
    )
    add(
        Command(
            "help",
            general.make_help(registry),
            "List every command, or explain one",
            args=(Argument("command", "a command name", required=False),),
        )
    )
    add(
        Command(
            "verify",
            verify.verify,
            "Verify a CryptoGig purchase code and unlock your access",
            args=(Argument("code", "your purchase code", ArgKind.CODE, required=False),),
            aliases=("validate",),
            form=(CODE_FIELD,),
            private=True,
            slow=True,
        )
    )
    add(
        Command(
            "items",
            catalog.items,
            "Browse the catalogue",
            args=(Argument("page", "page number", ArgKind.INTEGER, required=False, min_value=1, max_value=100_000),),
            slow=True,
        )
    )
    add(Command("item", catalog.item, "Show one item with its image and prices", args=(ITEM_ID,), slow=True))
    add(
        Command(
            "account",
            catalog.account,
            "Show the seller account (admins)",
            scope=Scope.ADMIN,
            private=True,
            slow=True,
        )
    )
    add(
        Command(
            "verify_setup",
            verify.verify_setup,
            "Give verified buyers of an item a role (Discord) or this group (Telegram)",
            args=(
                ITEM_ID,
                Argument("role", "the role verified buyers get (where there are roles)", ArgKind.ROLE, required=False),
            ),
            scope=Scope.MANAGER,
            needs_place=True,
            ephemeral=True,
            slow=True,
        )
    )
    add(
        Command(
            "signup",
            auth.signup,
            "Create an Auctionity account (private chat)",
            scope=Scope.PRIVATE,
            form=(EMAIL, PASSWORD),
            ephemeral=True,
            slow=True,
        )
    )
    add(
        Command(
            "login",
            auth.login,
            "Log in to Auctionity (private chat)",
            scope=Scope.PRIVATE,
            form=(EMAIL, PASSWORD),
            ephemeral=True,
            slow=True,
        )
    )
    add(Command("logout", auth.logout, "Log out of Auctionity", ephemeral=True))
    add(
        Command(
            "reset_password",
            auth.reset_password,
            "Get an Auctionity password-reset email",
            args=(Argument("email", "your Auctionity email", required=False),),
            scope=Scope.PRIVATE,
            form=(EMAIL,),
            ephemeral=True,
            slow=True,
        )
    )
    add(
        Command(
            "auctions",
            auctions.auctions,
            "Show auctions by id: price, bids, time left",
            args=(
                Argument("ids", "one or more auction ids", required=False, rest=True, autocomplete="watched_auctions"),
            ),
            slow=True,
        )
    )
    add(
        Command(
            "myauctions",
            auctions.myauctions,
            "List the auctions you created",
            args=(
                Argument("field", "sort by", required=False, choices=auctions.SORT_FIELDS),
                Argument("order", "asc or desc", required=False, choices=auctions.SORT_ORDERS),
                Argument("page", "page number", ArgKind.INTEGER, required=False, min_value=1, max_value=100_000),
            ),
            slow=True,
        )
    )
    add(
        Command(
            "newauction",
            auctions.newauction,
            'Create an auction: /newauction "Old lamp" 150 now +2h (quote names with spaces)',
            args=(
                Argument("name", "the auction's name (quoted if it has spaces)"),
                Argument(
                    "base_amount", "the starting price", ArgKind.INTEGER, min_value=1, max_value=auctions.MAX_AMOUNT
                ),
                Argument("start", "ISO 8601, or now, or +1h"),
                Argument("end", "ISO 8601, or +2h, +3d, +90m"),
                Argument("currency", "default DRT", required=False),
            ),
            slow=True,
        )
    )
    add(Command("bid", auctions.bid, "Bid on an auction", args=(AUCTION_ID, AMOUNT), slow=True))
    add(
        Command(
            "winner",
            auctions.winner,
            "See who won your auction (creator only)",
            args=(AUCTION_ID,),
            private=True,
            slow=True,
        )
    )
    add(
        Command(
            "watch",
            watch.watch,
            "Get alerts for an auction: /watch <id> [remind 1h,10m]",
            args=(
                AUCTION_ID,
                Argument("options", "remind 1h,10m: when to remind you before the end", required=False, rest=True),
            ),
            slow=True,
        )
    )
    add(Command("unwatch", watch.unwatch, "Stop alerts for an auction", args=(AUCTION_ID,)))
    add(Command("watches", watch.watches, "List the auctions you watch", slow=True))
    # Discord collects forms in modals, so there is nothing to cancel there.
    cancel_platforms = ("telegram", "console")
    add(Command("cancel", general.cancel, "Stop what you were doing (a login, say)", platforms=cancel_platforms))
    return registry
