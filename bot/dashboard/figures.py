"""The Numbers page's figures: events counted day by day, and a bar chart of them drawn as plain SVG shapes."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.core.formatting import as_utc

CHART_WIDTH, CHART_HEIGHT = 640, 200
AXIS_ROOM = 28  # below the bars: the day labels
SIDE_ROOM = 24  # left and right of the bars: half a day label each
TOP_ROOM = 16  # above the tallest bar: its count


def days_back(today: date, count: int) -> list[date]:
    """The last ``count`` days, oldest first, ending with ``today``."""
    return [today - timedelta(days=back) for back in range(count - 1, -1, -1)]


def per_day(moments: Iterable[datetime], days: Sequence[date]) -> list[int]:
    """How many of ``moments`` fall on each of ``days`` (UTC)."""
    counted = Counter(as_utc(moment).date() for moment in moments)
    return [counted.get(day, 0) for day in days]


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    count: int
    label: str  # the day, shown under some bars
    title: str  # the day and its count, for a reader pointing at the bar


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    baseline: float
    bars: list[Bar]
    peak: int


def bar_chart(counts: Sequence[int], labels: Sequence[str], titles: Sequence[str], *, every: int = 5) -> BarChart:
    """Bars scaled to the largest count; every ``every``-th day (and the last) labelled under its bar."""
    peak = max(counts, default=0)
    baseline = CHART_HEIGHT - AXIS_ROOM
    room = baseline - TOP_ROOM
    slot = (CHART_WIDTH - 2 * SIDE_ROOM) / max(len(counts), 1)
    bars = []
    for index, (count, label, title) in enumerate(zip(counts, labels, titles, strict=True)):
        height = room * count / peak if peak else 0.0
        shown = index % every == 0 or index == len(counts) - 1
        bars.append(
            Bar(
                x=round(SIDE_ROOM + index * slot + slot * 0.15, 1),
                y=round(baseline - height, 1),
                width=round(slot * 0.7, 1),
                height=round(height, 1),
                count=count,
                label=label if shown else "",
                title=title,
            )
        )
    return BarChart(CHART_WIDTH, CHART_HEIGHT, baseline, bars, peak)


@dataclass(frozen=True)
class RecheckRun:
    """The last re-check run's tally, as bot/access/rechecks.py records it."""

    at: datetime
    checked: int
    still_valid: int
    refused: int  # CryptoGig said the code is no longer good
    unknown: int  # no usable answer (down, timeout, odd reply): put off, nothing decided


def recheck_run(stored: str | None) -> RecheckRun | None:
    if not stored:
        return None
    try:
        data = json.loads(stored)
        return RecheckRun(
            datetime.fromisoformat(data["at"]), int(data["checked"]), int(data["still_valid"]),
            int(data["revoked"]), int(data["put_off"]),
        )  # fmt: skip
    except (ValueError, KeyError, TypeError):
        return None
