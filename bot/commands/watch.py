"""watch, unwatch, watches: follow auctions and get alerts when outbid, ending soon, or ended."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot import formatting as fmt
from bot.commands.auctions import clean_auction_id, describe_auction
from bot.errors import AuctionNotFound, UserInputError
from bot.messages import Button, Outcome, Reply, Request
from storage import repo

if TYPE_CHECKING:
    from bot.services import Services

MAX_REMINDERS = 5
MAX_REMINDER_MINUTES = 7 * 24 * 60
MAX_WATCHES_PER_USER = 200


def parse_reminders(options: str, default_minutes: int) -> list[int]:
    """``remind 1h,10m`` -> [60, 10]; nothing -> [default]."""
    words = options.split()
    if not words:
        return [default_minutes]
    if words[0].lower() != "remind" or len(words) < 2:
        raise UserInputError("Add reminders like this: /watch <auction id> remind 1h,10m")
    minutes: set[int] = set()
    for token in " ".join(words[1:]).replace(" ", ",").split(","):
        if not token:
            continue
        value = fmt.parse_minutes(token)
        if value is None or not 1 <= value <= MAX_REMINDER_MINUTES:
            raise UserInputError(
                f"{fmt.clip(token, 20)!r} is not a reminder time. Use minutes, hours or days: 10m, 1h, 2d (up to 7d)."
            )
        minutes.add(value)
    if len(minutes) > MAX_REMINDERS:
        raise UserInputError(f"At most {MAX_REMINDERS} reminders per auction.")
    return sorted(minutes, reverse=True)


def _reminder_text(minutes: list[int]) -> str:
    from datetime import timedelta

    return ", ".join(fmt.duration(timedelta(minutes=m)) for m in minutes)


async def watch(request: Request, services: Services) -> Reply:
    """Get alerts for an auction: outbid, ending soon (at times you pick), won or lost."""
    auction_id = clean_auction_id(str(request.values.get("auction_id", "")))
    reminders = parse_reminders(str(request.values.get("options", "")), services.settings.ending_soon_minutes)
    found = await services.auctionity.auctions([auction_id])
    if not found:
        raise AuctionNotFound()
    auction, now = found[0], services.now()
    with services.db() as session:
        user = repo.get_or_create_chat_user(
            session, platform=request.platform, platform_user_id=request.user_id, display_name=request.display_name
        )
        if len(repo.active_watches_for_user(session, chat_user_id=user.id)) >= MAX_WATCHES_PER_USER:
            raise UserInputError(f"You already watch {MAX_WATCHES_PER_USER} auctions; /unwatch some first.")
        repo.add_watch(
            session,
            chat_user_id=user.id,
            auction_id=auction_id,
            platform=request.platform,
            chat_id=request.chat_id,
            remind_minutes=",".join(str(m) for m in reminders),
        )
    status, _ = describe_auction(auction, now, None)
    ended = auction.has_ended(now)
    text = (
        f"Watching {fmt.clip(auction.name, 100)} ({status}). I will tell you when you are outbid, "
        f"{_reminder_text(reminders)} before the end, and when it ends."
    )
    if ended:
        text = f"{fmt.clip(auction.name, 100)} has already ended; I will tell you the result."
    return Reply(title="Watching", text=text, outcome=Outcome.SUCCESS).with_buttons(
        [Button("Unwatch", f"unwatch {auction_id}"), Button("Show", f"auctions {auction_id}")]
    )


async def unwatch(request: Request, services: Services) -> Reply:
    """Stop the alerts for an auction."""
    auction_id = clean_auction_id(str(request.values.get("auction_id", "")))
    with services.db() as session:
        user = repo.find_chat_user(session, platform=request.platform, platform_user_id=request.user_id)
        removed = bool(user) and repo.deactivate_watch(session, chat_user_id=user.id, auction_id=auction_id)
    if not removed:
        return Reply(f"You were not watching {fmt.short_id(auction_id)}.")
    return Reply(f"No more alerts for {fmt.short_id(auction_id)}.", outcome=Outcome.SUCCESS).with_buttons(
        [Button("Watch again", f"watch {auction_id}")]
    )


async def watches(request: Request, services: Services) -> Reply:
    """The auctions you watch, with time left, price, and whether you are on top."""
    with services.db() as session:
        user = repo.find_chat_user(session, platform=request.platform, platform_user_id=request.user_id)
        watched = repo.active_watches_for_user(session, chat_user_id=user.id) if user else []
        me = user.auctionity_user_id if user else None
    if not watched:
        return Reply("You are not watching any auction. Send /watch <auction id>, or press Watch under an auction.")
    found = {a.id.lower(): a for a in await services.auctionity.auctions([w.auction_id for w in watched])}
    now = services.now()
    lines, buttons = [], []
    for item in watched:
        auction = found.get(item.auction_id)
        if auction is None:
            lines.append(f"{fmt.short_id(item.auction_id)} — not found upstream")
            continue
        status, fields = describe_auction(auction, now, me)
        lines.append(f"{fmt.clip(auction.name, 50)} — {fields[0].value}, {fields[2].value}, {status}")
        buttons.append(Button(f"Unwatch {fmt.clip(auction.name, 15)}", f"unwatch {item.auction_id}"))
    return Reply(title=f"Watching {len(watched)}", text="\n".join(lines)).with_buttons(*[[b] for b in buttons[:5]])
