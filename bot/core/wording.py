"""The one place that words an error: what went wrong and what to do next, from the error's data.

Commands, converters and clients raise errors that carry data (bot/core/errors.py); ``user_message`` turns
each into the sentence the user reads. Money and times in the data are formatted here, for the reader.
"""

from __future__ import annotations

import logging
import math
import secrets
from typing import Any

from bot.core import formatting as fmt
from bot.core import i18n
from bot.core.errors import (
    AuctionClosed,
    AuctionNotFound,
    BadApiKey,
    BadRequest,
    BidTooLow,
    CodeAlreadyClaimed,
    GavelError,
    InvalidPurchaseCode,
    ItemNotFound,
    NotAllowed,
    NotCreator,
    NotLoggedIn,
    PurchaseRefunded,
    RateLimited,
    SessionExpired,
    UpstreamError,
    UpstreamMalformed,
    UpstreamUnavailable,
    UserInputError,
    WrongCredentials,
)
from bot.core.i18n import N_, _, ngettext

# Input errors: {argument} is the argument's name, {usage} the command's usage line.
INPUT = {
    "message_too_long": N_("That message is too long (the limit is {limit} characters)."),
    "too_many_arguments": N_("Too many arguments. Usage: {usage}"),
    # Translators: {argument} is the argument's name as typed in the usage line, {help} its help
    "missing": N_("Missing <{argument}>: {help}. Usage: {usage}"),
    "argument_too_long": N_("<{argument}> is too long. Usage: {usage}"),
    # Translators: {value!r} is what the user typed, quoted: keep the !r
    "not_whole_number": N_("<{argument}> must be a whole number, not {value!r}."),
    "out_of_range": N_("<{argument}> must be between {low} and {high}."),
    "below_minimum": N_("<{argument}> must be at least {low}."),
    "not_a_choice": N_("<{argument}> must be one of: {choices}."),
    "not_an_auction_id": N_(
        "{value!r} is not an auction id. An auction id is 0x followed by 64 hexadecimal digits (0-9, a-f), "
        "as shown by /myauctions."
    ),
    "too_many_auctions": N_("Ask for at most {limit} auctions at once."),
    "code_missing": N_("Please send the purchase code after the command: /verify <purchase code>."),
    "code_too_long": N_("That is too long for a purchase code (at most {limit} characters)."),
    "code_shape": N_(
        "A purchase code has only letters, digits and dashes, like 1f3a9c2e-7b4d-4e8f-9a61-0c5d7e2b1a90. "
        "Check what you pasted."
    ),
    "not_an_email": N_("That does not look like an email address (name@example.com)."),
    "new_password_length": N_("A password needs {low} to {high} characters."),
    "too_big": N_("<{argument}> is far too big a number."),
    "password_impossible": N_("That password cannot be right. Send /{command} to try again."),
    # Translators: "now", "+2h", "+3d", "+90m" are what the user types: keep them as they are
    "not_a_time": N_("Give start and end as ISO 8601 (2026-12-01T18:00Z), now, or +2h / +3d / +90m."),
    "end_before_start": N_("The end must come after the start."),
    "end_in_past": N_("The end must be in the future."),
    # Translators: "now" is what the user types: keep it as it is
    "start_in_past": N_("The start cannot be in the past; use now."),
    "not_a_currency": N_("A currency is three to five capital letters, like DRT, ETH or USDC."),
    "name_missing": N_("The auction needs a name."),
    # Translators: {value!r} is the word typed where a number was expected, quoted (keep the !r)
    "name_needs_quotes": N_(
        '{value!r} is not a whole number: is it part of the name? Put a name with spaces in quotes, like "Old lamp".'
    ),
    "name_too_long": N_("The name is too long (at most {limit} characters)."),
    # Translators: "remind" is what the user types: keep it as it is
    "reminders_syntax": N_("Add reminders like this: /watch <auction id> remind 1h,10m"),
    # Translators: {value!r} is what the user typed, quoted (keep the !r); 10m, 1h, 2d, 7d are typed as they are
    "not_a_reminder": N_("{value!r} is not a reminder time. Use minutes, hours or days: 10m, 1h, 2d (up to 7d)."),
    "too_many_reminders": N_("At most {limit} reminders per auction."),
    "watch_limit": N_("You already watch {limit} auctions; /unwatch some first."),
    "just_refreshed": N_("You just refreshed this auction, so it is up to date. Try again in a few seconds."),
    "card_limit_chat": N_(
        "This chat already has {limit} live cards of running auctions; a place frees up when one of them ends."
    ),
    "card_limit_user": N_(
        "You already have {limit} live cards of running auctions; a place frees up when one of them ends."
    ),
    # Translators: {starts} is a relative time, like "in 2 hours"
    "not_started": N_("This auction has not started yet: it opens {starts}."),
    # Translators: {ended} is a relative time, like "2 hours ago"
    "auction_ended": N_("This auction has ended ({ended}); no more bids."),
    # Translators: {name} is an auction's name, {ends} a relative time like "in 2h 5m"
    "winner_not_yet": N_("{name} is still running, so it has no winner yet: ask again after it ends ({ends})."),
    "winner_no_bids": N_("Nobody bid on {name}, so it has no winner."),
    "bid_below_minimum": N_("Your bid must be at least {minimum} (the current price is {price})."),
    "outbid_meanwhile": N_("Someone bid higher a moment ago. Check /auctions and bid again."),
    "offer_not_yours": N_("This button is for the person who asked for it. Send the command yourself to get your own."),
    "offer_used": N_("That was already done (or cancelled): nothing more was sent."),
    "offer_expired": N_("That question has expired: nothing was sent. Ask again to get a fresh one."),
    "maximum_too_low": N_(
        "Your maximum must be at least {minimum}, the least the next bid can be (the price is {price})."
    ),
    "not_auto_bidding": N_("You have no auto-bid on that auction."),
    # Translators: {prompt} is the question asked again
    "answer_not_right": N_("That does not look right. {prompt}"),
    "pick_a_role": N_("Pick the role to give from the role option of /verify_setup."),
    "role_is_everyone": N_("Everyone already has @everyone: pick the role verified buyers should get."),
    "setup_names_nothing": N_(
        "Here, verified buyers get into this group itself, so name nothing after the item: "
        "send /verify_setup <item> in the group you want to open to buyers."
    ),
    "not_a_user": N_("Name the user by their numeric id, or send the command as a reply to one of their messages."),
}

# Auctionity's known refusals (bot/clients/auctionity.py, KNOWN_REFUSALS), in our words, with the next step.
UPSTREAM_REFUSALS = {
    "email_taken": N_(
        "That email already has an Auctionity account. Send /login to log in with it, "
        "or /reset_password if you forgot its password."
    ),
    "weak_password": N_("Auctionity wants a longer or stronger password. Send /signup to try again with another one."),
    "bad_email": N_("Auctionity does not accept that email address. Check it, then send the command again."),
    "still_running": N_("This auction is still running, so it has no winner yet: ask again after it ends."),
    "no_bids": N_("Nobody bid on this auction, so it has no winner."),
    "bad_base_amount": N_("The starting price must be a whole amount above 0."),
}

REFUSED = {
    "admins_only": N_("Only the bot's admins can use this command."),
    "needs_place": N_("This command only works inside a server or group, not in a private chat."),
    "managers_only": N_("Only an admin of this server or group can use this command."),
    "private_only": N_("For your safety I only do /{command} in a private chat. Message me directly."),
    "role_managed": N_("That role is managed by an integration, so nobody can hand it out. Pick another one."),
    "role_privileged": N_(
        "That role can administer or moderate the server (Administrator, Manage Server, Manage Roles, "
        "Manage Channels, Kick or Ban Members), so I will not give it to whoever verifies a purchase. "
        "Pick a role without those permissions."
    ),
    "role_outranks_you": N_(
        "That role is not below your own highest role, so you could not hand it out yourself, "
        "and I will not hand it out for you. Pick a lower role, or ask the server owner."
    ),
    "private_chat_only_here": N_("Send this to me in a private chat: I never ask for it where others can read."),
    "claim_revoked": N_(
        "The seller revoked this purchase on this account. If you think this is a mistake, contact them."
    ),
}


def _shown(name: str, value: Any) -> Any:
    """A value as the reader should see it: money with its currency, times relative, what they typed clipped."""
    if isinstance(value, fmt.Money):
        return fmt.money(value.amount, value.currency)
    if isinstance(value, fmt.Moment):
        return fmt.relative(value.at, value.now)
    if name in ("low", "high") and isinstance(value, int) and abs(value) >= 10_000:
        return fmt.money(value)  # 1,000,000,000,000 (1.000.000.000.000 in Spanish): digits grouped to be read
    if name == "value" and isinstance(value, str):
        return fmt.clip(value, 30)
    if name == "argument" and isinstance(value, str):
        return i18n.argument_name(value)
    if name in ("help", "prompt") and isinstance(value, str):
        return _(value)  # an argument's help or prompt: marked where the argument is declared
    return value


def _fill(template: str, details: dict[str, Any]) -> str:
    return template.format(**{name: _shown(name, value) for name, value in details.items()})


def _waiting(error: RateLimited) -> str:
    minutes = max(1, math.ceil(error.retry_after / 60))
    if error.bucket.startswith("verify:code:"):
        text = ngettext(
            "This purchase code was tried too many times. Please try again in {count} minute, or contact the seller.",
            "This purchase code was tried too many times. Please try again in {count} minutes, or contact the seller.",
            minutes,
        )
    elif error.action == "login":
        text = ngettext(
            "Too many failed logins. Please wait {count} minute before you try again.",
            "Too many failed logins. Please wait {count} minutes before you try again.",
            minutes,
        )
    elif error.action == "dashboard":
        text = ngettext(
            "You asked for enough sign-in links for now. Please wait {count} minute, then ask again.",
            "You asked for enough sign-in links for now. Please wait {count} minutes, then ask again.",
            minutes,
        )
    elif error.action == "reset":
        text = ngettext(
            "I have sent enough reset emails for now. Please wait {count} minute, and check your spam folder.",
            "I have sent enough reset emails for now. Please wait {count} minutes, and check your spam folder.",
            minutes,
        )
    else:
        text = ngettext(
            "Too many failed attempts. Please try again in {count} minute.",
            "Too many failed attempts. Please try again in {count} minutes.",
            minutes,
        )
    return text.format(count=minutes)


def _with_tries_left(text: str, error: GavelError) -> str:
    """``text``, and how many tries are left before a pause when the attempt was counted (bot/core/limits.py)."""
    left, pause = error.details.get("tries_left"), error.details.get("pause")
    if not isinstance(left, int) or pause is None:
        return text
    wait = fmt.duration(pause)
    if left == 0:
        more = _("That was your last try for now: the next one has to wait up to {pause}.").format(pause=wait)
    else:
        more = ngettext(
            "You can try {count} more time; after that I ask you to wait {pause}.",
            "You can try {count} more times; after that I ask you to wait {pause}.",
            left,
        ).format(count=left, pause=wait)
    return f"{text} {more}"


def user_message(error: GavelError) -> str:
    """What the user reads for an error: what went wrong and what to do next. The one place."""
    if isinstance(error, UserInputError):
        template = _(INPUT[error.code]) if error.code in INPUT else _("That did not work: check what you typed.")
        return _fill(template, error.details)
    if isinstance(error, NotAllowed):
        template = _(REFUSED[error.code]) if error.code in REFUSED else _("You cannot do that here.")
        return _fill(template, error.details)
    if isinstance(error, RateLimited):
        return _waiting(error)
    if isinstance(error, CodeAlreadyClaimed):
        return _("This purchase code is already linked to another account. If it is yours, contact the seller.")
    if isinstance(error, NotLoggedIn):
        return _("You are not logged in to Auctionity. Send /login to me in a private chat first.")
    if isinstance(error, SessionExpired):
        return _("Your Auctionity session expired. Please /login again.")
    if isinstance(error, WrongCredentials):
        text = _(
            "Auctionity did not accept that email and password. Check them and /login again, "
            "or /reset_password if you forgot it."
        )
        return _with_tries_left(text, error)
    if isinstance(error, NotCreator):
        return _("Only the creator of this auction can see its winner.")
    if isinstance(error, BidTooLow):
        return _("Your bid is too low: it must be above the current top bid. Check /auctions and try a higher amount.")
    if isinstance(error, AuctionClosed):
        return _("This auction is not open for bids (it has ended or not started yet).")
    if isinstance(error, AuctionNotFound):
        return _("Auctionity has no auction with that id. Check the id and try again.")
    if isinstance(error, PurchaseRefunded):
        return _(
            "That purchase was refunded, so its code no longer unlocks anything. "
            "If you think this is a mistake, contact the seller."
        )
    if isinstance(error, InvalidPurchaseCode):
        text = _(
            "That purchase code is not valid. Check it for typos: it is in your CryptoGig account, under Downloads."
        )
        return _with_tries_left(text, error)
    if isinstance(error, ItemNotFound):
        return _("There is no item with that id. Send /items to see what is available.")
    if isinstance(error, BadApiKey):
        return _("The marketplace refused the bot's credentials. Please tell the bot's admin.")
    if isinstance(error, BadRequest):
        if error.reason in UPSTREAM_REFUSALS:
            return _(UPSTREAM_REFUSALS[error.reason])
        if error.reason in INPUT:  # the same mistake our own checks catch: the same words
            return _fill(_(INPUT[error.reason]), {})
        return _("Auctionity refused that request. Check what you sent and try again; if it keeps happening, "
                 "tell the bot's admin.")  # fmt: skip
    if isinstance(error, UpstreamError):
        upstream = _(error.upstream)  # a service's name, or "the service" (bot/core/errors.py)
        if isinstance(error, UpstreamMalformed):
            # Translators: {upstream} is a service's name (CryptoGig, Auctionity) or "the service"
            text = _("{upstream} sent an answer I could not read. Please try again in a minute.")
        elif isinstance(error, UpstreamUnavailable):
            # Translators: {upstream} is a service's name (CryptoGig, Auctionity) or "the service"
            text = _("{upstream} is not answering right now. Please try again in a minute.")
        else:
            # Translators: {upstream} is a service's name (CryptoGig, Auctionity) or "the service"
            text = _("{upstream} could not do that right now. Please try again later.")
        return text.format(upstream=upstream)
    return _("That did not work. Please try again.")


DATABASE_DOWN = N_("I cannot reach my database right now. Please try again in a minute.")
SECRET_UNREADABLE = N_("I can no longer read your saved Auctionity login (the bot's key changed). Please /login again.")

# Translators: {reference} is a short code the user can quote to the bot's admin
INTERNAL_ERROR = N_("Something went wrong on my side. Please try again later (ref {reference}).")


def internal_error(log: logging.Logger, what: str, error: BaseException | None = None) -> str:
    """Log ``error`` (default: the one being handled) under a fresh reference, and word it for the user.

    The one text for "something broke on our side", wherever it is said (the core, an adapter's own handler).
    """
    reference = secrets.token_hex(3)
    log.error("%s failed (ref %s)", what, reference, exc_info=error or True)
    return _(INTERNAL_ERROR).format(reference=reference)
