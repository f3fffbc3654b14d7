"""The rules of bidding that commands, auto-bids, alerts and cards all read: the minimum bid, a step, a suggestion."""

from __future__ import annotations

from bot.clients.auctionity import Auction
from bot.core import formatting as fmt
from bot.core.errors import UserInputError


def bid_step(amount: int) -> int:
    """A sensible increment for "Bid +step": about 5 %, at least 1."""
    return max(1, round(amount * 0.05))


def minimum_bid(auction: Auction) -> int:
    return auction.amount + 1 if auction.history else (auction.base_amount or auction.amount)


def suggested_bid(auction: Auction) -> int:
    """What the Bid buttons offer and an auto-bid bids: the price plus a step, or the base price if no bid yet."""
    return minimum_bid(auction) + (bid_step(auction.amount) - 1 if auction.history else 0)


def check_amount(auction: Auction, amount: int) -> None:
    if amount < minimum_bid(auction):
        currency = auction.currency or "DRT"
        minimum, price = fmt.Money(minimum_bid(auction), currency), fmt.Money(auction.amount, currency)
        raise UserInputError("bid_below_minimum", minimum=minimum, price=price)
