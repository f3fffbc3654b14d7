"""Formatting helpers: relative times, money, masks, and the short time forms users type."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bot.core import formatting as fmt
from bot.core.arguments import parse_when

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("delta", "expected"),
    [
        (timedelta(hours=2, minutes=5), "in 2h 5m"),
        (timedelta(days=3, hours=4, minutes=9), "in 3d 4h"),
        (timedelta(seconds=45), "in 45s"),
        (timedelta(minutes=-90), "1h 30m ago"),
        (timedelta(days=2), "in 2d"),
    ],
)
def test_relative_time_reads_like_ends_in_2h_5m(delta, expected):
    assert fmt.relative(NOW + delta, NOW) == expected


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (Decimal("19.99"), "USD", "19.99 USD"),
        (Decimal("129.0"), "USD", "129 USD"),
        (1200, "DRT", "1,200 DRT"),
        (2.5, None, "2.50"),
        (None, "USD", "—"),
    ],
)
def test_money_keeps_cents_only_when_there_are_some(amount, currency, expected):
    assert fmt.money(amount, currency) == expected


def test_mask_shows_enough_to_recognise_not_to_use():
    assert fmt.mask("3f6c2a9e-8b1d-4c7a-9e2f-5a1b7c3d9e01") == "3f6c…9e01"
    assert fmt.mask("short") == "…"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", NOW),
        ("+2h", NOW + timedelta(hours=2)),
        ("+3d", NOW + timedelta(days=3)),
        ("+90m", NOW + timedelta(minutes=90)),
        ("2026-12-01T18:00Z", datetime(2026, 12, 1, 18, 0, tzinfo=UTC)),
        ("tomorrow", None),
        ("+", None),
        ("+99999999h", None),
    ],
)
def test_parse_when_accepts_iso_and_short_forms(text, expected):
    assert parse_when(text, NOW) == expected


def test_clip_cuts_at_a_word_and_marks_it():
    clipped = fmt.clip("word " * 100, 50)
    assert len(clipped) <= 50 and clipped.endswith("…")
