"""The one place that words an error: what went wrong and what to do next, from the error's data.

Commands, converters and clients raise errors that carry data (bot/errors.py); ``user_message`` turns
each into the sentence the user reads. Money and times in the data are formatted here, for the reader.
"""

from __future__ import annotations

import math
from typing import Any

from bot import formatting as fmt
from bot.errors import (
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
    RateLimited,
    SessionExpired,
    UpstreamError,
    UpstreamMalformed,
    UpstreamUnavailable,
    UserInputError,
    WrongCredentials,
)

# Input errors: {argument} is the argument's name, {usage} the command's usage line.
INPUT = {
    "message_too_long": "That message is too long (the limit is {limit} characters).",
    "too_many_arguments": "Too many arguments. Usage: {usage}",
    "missing": "Missing <{argument}>: {help}. Usage: {usage}",
    "argument_too_long": "<{argument}> is too long. Usage: {usage}",
    "not_whole_number": "<{argument}> must be a whole number, not {value!r}.",
    "out_of_range": "<{argument}> must be between {low} and {high}.",
    "below_minimum": "<{argument}> must be at least {low}.",
    "not_a_choice": "<{argument}> must be one of: {choices}.",
    "not_an_auction_id": (
        "{value!r} is not an auction id. An auction id is 0x followed by 64 hexadecimal digits (0-9, a-f), "
        "as shown by /myauctions."
    ),
    "too_many_auctions": "Ask for at most {limit} auctions at once.",
    "code_missing": "Please send the purchase code after the command: /verify <purchase code>.",
    "code_too_long": "That is too long for a purchase code (at most {limit} characters).",
    "code_shape": (
        "A purchase code has only letters, digits and dashes, like 1f3a9c2e-7b4d-4e8f-9a61-0c5d7e2b1a90. "
        "Check what you pasted."
    ),
    "not_an_email": "That does not look like an email address (name@example.com).",
    "password_length": "A password needs {low} to {high} characters. Send /{command} to try again.",
    "password_impossible": "That password cannot be right. Send /{command} to try again.",
    "not_a_time": "Give start and end as ISO 8601 (2026-12-01T18:00Z), now, or +2h / +3d / +90m.",
    "end_before_start": "The end must come after the start.",
    "end_in_past": "The end must be in the future.",
    "start_in_past": "The start cannot be in the past; use now.",
    "not_a_currency": "A currency is 2 to 6 letters, like DRT or ETH.",
    "name_missing": "The auction needs a name.",
    "name_too_long": "The name is too long (at most {limit} characters).",
    "reminders_syntax": "Add reminders like this: /watch <auction id> remind 1h,10m",
    "not_a_reminder": "{value!r} is not a reminder time. Use minutes, hours or days: 10m, 1h, 2d (up to 7d).",
    "too_many_reminders": "At most {limit} reminders per auction.",
    "watch_limit": "You already watch {limit} auctions; /unwatch some first.",
    "not_started": "This auction has not started yet: it opens {starts}.",
    "auction_ended": "This auction has ended ({ended}); no more bids.",
    "bid_below_minimum": "Your bid must be at least {minimum} (the current price is {price}).",
    "outbid_meanwhile": "Someone bid higher a moment ago. Check /auctions and bid again.",
    "offer_not_yours": "This button is for the person who asked for it. Send the command yourself to get your own.",
    "offer_used": "That was already done (or cancelled): nothing more was sent.",
    "offer_expired": "That question has expired: nothing was sent. Ask again to get a fresh one.",
    "maximum_too_low": "Your maximum must be at least {minimum}, the least the next bid can be (the price is {price}).",
    "not_auto_bidding": "You have no auto-bid on that auction.",
    "answer_not_right": "That does not look right. {prompt}",
    "pick_a_role": "Pick the role to give from the role option of /verify_setup.",
    "role_is_everyone": "Everyone already has @everyone: pick the role verified buyers should get.",
    "setup_names_nothing": (
        "Here, verified buyers get into this group itself, so name nothing after the item: "
        "send /verify_setup <item> in the group you want to open to buyers."
    ),
    "not_a_user": "Name the user by their numeric id, or send the command as a reply to one of their messages.",
}

REFUSED = {
    "admins_only": "Only the bot's admins can use this command.",
    "needs_place": "This command only works inside a server or group, not in a private chat.",
    "managers_only": "Only an admin of this server or group can use this command.",
    "private_only": "For your safety I only do /{command} in a private chat. Message me directly.",
    "role_managed": "That role is managed by an integration, so nobody can hand it out. Pick another one.",
    "role_privileged": (
        "That role can administer or moderate the server (Administrator, Manage Server, Manage Roles, "
        "Manage Channels, Kick or Ban Members), so I will not give it to whoever verifies a purchase. "
        "Pick a role without those permissions."
    ),
    "role_outranks_you": (
        "That role is not below your own highest role, so you could not hand it out yourself, "
        "and I will not hand it out for you. Pick a lower role, or ask the server owner."
    ),
    "private_chat_only_here": "Send this to me in a private chat: I never ask for it where others can read.",
    "claim_revoked": "The seller revoked this purchase on this account. If you think this is a mistake, contact them.",
}


def _shown(name: str, value: Any) -> Any:
    """A value as the reader should see it: money with its currency, times relative, what they typed clipped."""
    if isinstance(value, fmt.Money):
        return fmt.money(value.amount, value.currency)
    if isinstance(value, fmt.Moment):
        return fmt.relative(value.at, value.now)
    if name == "value" and isinstance(value, str):
        return fmt.clip(value, 30)
    return value


def _fill(template: str, details: dict[str, Any]) -> str:
    return template.format(**{name: _shown(name, value) for name, value in details.items()})


def _waiting(error: RateLimited) -> str:
    minutes = max(1, math.ceil(error.retry_after / 60))
    wait = fmt.plural(minutes, "minute")
    if error.bucket.startswith("verify:code:"):
        return f"This purchase code was tried too many times. Please try again in {wait}, or contact the seller."
    if error.action == "login":
        return f"Too many failed logins. Please wait {wait} before you try again."
    if error.action == "reset":
        return f"I have sent enough reset emails for now. Please wait {wait}, and check your spam folder."
    return f"Too many failed attempts. Please try again in {wait}."


def user_message(error: GavelError) -> str:
    """What the user reads for an error: what went wrong and what to do next. The one place."""
    if isinstance(error, UserInputError):
        return _fill(INPUT.get(error.code, "That did not work: check what you typed."), error.details)
    if isinstance(error, NotAllowed):
        return _fill(REFUSED.get(error.code, "You cannot do that here."), error.details)
    if isinstance(error, RateLimited):
        return _waiting(error)
    if isinstance(error, CodeAlreadyClaimed):
        return "This purchase code is already linked to another account. If it is yours, contact the seller."
    if isinstance(error, NotLoggedIn):
        return "You are not logged in to Auctionity. Send /login to me in a private chat first."
    if isinstance(error, SessionExpired):
        return "Your Auctionity session expired. Please /login again."
    if isinstance(error, WrongCredentials):
        return "Auctionity did not accept that email and password. Check them and /login again."
    if isinstance(error, NotCreator):
        return "Only the creator of this auction can see its winner."
    if isinstance(error, BidTooLow):
        return "Your bid is too low: it must be above the current top bid. Check /auctions and try a higher amount."
    if isinstance(error, AuctionClosed):
        return "This auction is not open for bids (it has ended or not started yet)."
    if isinstance(error, AuctionNotFound):
        return "Auctionity has no auction with that id. Check the id and try again."
    if isinstance(error, InvalidPurchaseCode):
        return "That purchase code is not valid. Check it for typos; you find it in your CryptoGig downloads."
    if isinstance(error, ItemNotFound):
        return "There is no item with that id. Send /items to see what is available."
    if isinstance(error, BadApiKey):
        return "The marketplace refused the bot's credentials. Please tell the bot's admin."
    if isinstance(error, BadRequest):
        return "Auctionity refused that request" + (f": {error.message}" if error.message else ".")
    if isinstance(error, UpstreamMalformed):
        return f"{error.upstream} sent an answer I could not read. Please try again in a minute."
    if isinstance(error, UpstreamUnavailable):
        return f"{error.upstream} is not answering right now. Please try again in a minute."
    if isinstance(error, UpstreamError):
        return f"{error.upstream} could not do that right now. Please try again later."
    return "That did not work. Please try again."


DATABASE_DOWN = "I cannot reach my database right now. Please try again in a minute."
SECRET_UNREADABLE = "I can no longer read your saved Auctionity login (the bot's key changed). Please /login again."
