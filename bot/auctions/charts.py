"""An auction's price history drawn as a small PNG, for a reply to attach."""

from __future__ import annotations

import asyncio
import functools
import io
import logging
import re
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from babel.dates import format_skeleton
from matplotlib import dates as mdates
from matplotlib import ticker

# A Figure on its own Agg canvas, never pyplot: pyplot keeps a global registry of figures and a current
# figure, which threads drawing at once would share and race on; a bare Figure is owned by its caller alone.
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.clients.auctionity_models import Auction
from bot.core import i18n
from bot.core.clock import as_utc
from bot.core.formatting import clip, money
from bot.core.i18n import _, ngettext
from bot.core.messages import Image

log = logging.getLogger(__name__)

WIDTH_INCHES, HEIGHT_INCHES, DPI = 6.4, 3.2, 100  # 640x320: readable in a chat, small to upload
TITLE_LIMIT = 60
CACHED_PICTURES = 256  # about 30 kB each: some 8 MB at most
LINE_COLOUR = "#1f77b4"
END_COLOUR = "#888888"


def price_chart(
    points: Sequence[tuple[datetime, int | float]],
    *,
    currency: str,
    title: str,
    now: datetime | None = None,
    ended_at: datetime | None = None,
) -> bytes:
    """The price after each bid as a step line, held to ``now`` while running or to ``ended_at`` once ended: a PNG."""
    figure = draw_chart(points, currency=currency, title=title, now=now, ended_at=ended_at)
    buffer = io.BytesIO()
    # No "Software" entry: the same history gives the same bytes whatever matplotlib drew it.
    FigureCanvasAgg(figure).print_png(buffer, metadata={"Software": None})
    return buffer.getvalue()


def draw_chart(
    points: Sequence[tuple[datetime, int | float]],
    *,
    currency: str,
    title: str,
    now: datetime | None = None,
    ended_at: datetime | None = None,
) -> Figure:
    """The chart as a Figure on its own Agg canvas (price_chart prints it)."""
    if len(points) < 2:
        raise ValueError(f"a price chart needs at least two points, got {len(points)}")
    times = [as_utc(at) for at, _ in points]
    amounts = [amount for _, amount in points]
    # An ended_at still ahead of now is only the scheduled end: the auction is running, so hold the price to now.
    ended = ended_at is not None and (now is None or as_utc(ended_at) <= as_utc(now))
    hold_until = as_utc(ended_at) if ended else (as_utc(now) if now is not None else None)

    figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI, facecolor="white", layout="tight")
    axes = figure.add_subplot()
    axes.set_facecolor("white")

    line_times, line_amounts = list(times), list(amounts)
    if hold_until is not None and hold_until > times[-1]:
        line_times.append(hold_until)
        line_amounts.append(amounts[-1])
    axes.step(line_times, line_amounts, where="post", color=LINE_COLOUR, linewidth=1.5)
    axes.plot(times, amounts, linestyle="none", marker="o", markersize=4, color=LINE_COLOUR)
    if ended:
        axes.axvline(as_utc(ended_at), color=END_COLOUR, linewidth=0.8, linestyle="--")

    # Titles and currencies are user text: a "$" in them must print as a dollar, not start mathtext.
    axes.set_title(clip(title, TITLE_LIMIT), fontsize=10, parse_math=False)
    axes.set_ylabel(currency, parse_math=False)
    axes.xaxis.set_major_locator(mdates.AutoDateLocator(tz=UTC))
    axes.xaxis.set_major_formatter(_time_ticks(line_times[-1] - line_times[0]))
    # Whole amounts only: a 1.5 tick would print as a second "2".
    axes.yaxis.set_major_locator(ticker.MaxNLocator(nbins=6, integer=True))
    axes.yaxis.set_major_formatter(ticker.FuncFormatter(lambda value, _: money(round(value))))
    axes.grid(axis="y", linewidth=0.4, alpha=0.5)
    return figure


def _draw_in_language(language: str, *args: Any, **kwargs: Any) -> bytes:
    """``price_chart`` in the reader's language (tick labels), from a worker thread."""
    with i18n.speaking(language):
        return price_chart(*args, **kwargs)


class TimeTicks(ticker.Formatter):
    """Tick labels in the reader's language (matplotlib's own name months in English), as concise as they can be
    while every label on the axis differs: the time of day, the day and month at midnight over several days, and
    seconds or the date beside the time only when the ticks would otherwise repeat a label (ticks 10 s apart,
    or 12:00 on two days)."""

    def __init__(self, span: timedelta) -> None:
        self.span = span
        self.locale = i18n.locale_of(i18n.current())

    LEVELS = (("Hm",), ("Hms",), ("MMMd", "Hm"), ("MMMd", "Hms"))  # each a little longer than the one before

    def _label(self, value: float, level: int) -> str:
        moment = mdates.num2date(value, tz=UTC)
        at_midnight = (moment.hour, moment.minute, moment.second) == (0, 0, 0)
        parts = ("MMMd",) if level == 0 and at_midnight and self.span > timedelta(days=1) else self.LEVELS[level]
        return " ".join(format_skeleton(part, moment, locale=self.locale) for part in parts)

    def format_ticks(self, values: Sequence[float]) -> list[str]:
        labels: list[str] = []
        for level in range(len(self.LEVELS)):  # the most concise labels that tell every tick apart
            labels = [self._label(value, level) for value in values]
            if len(set(labels)) == len(labels):
                break
        return labels

    def __call__(self, value: float, pos: int | None = None) -> str:
        return self._label(value, 0)


def _time_ticks(span: timedelta) -> TimeTicks:
    return TimeTicks(span)


class _Drawn:
    """Pictures drawn lately, per process: one per (auction, last bid, ended, language), the newest ``size`` kept.

    Per process rather than in the database: a picture is derived data, tens of kilobytes, that any process can
    draw again in a tenth of a second; sharing it would cost a blob written and read (and pruned) for every view,
    to save at most one draw per process per bid. No answer depends on it, only how much CPU it costs. Requests
    for a picture being drawn wait for that drawing rather than starting another.
    """

    def __init__(self, size: int = CACHED_PICTURES) -> None:
        self.size = size
        self._pictures: OrderedDict[tuple[object, ...], asyncio.Future[bytes | None]] = OrderedDict()

    async def png(self, key: tuple[object, ...], draw: Callable[[], bytes], *, auction_id: str) -> bytes | None:
        found = self._pictures.get(key)
        if found is None:
            found = asyncio.ensure_future(self._draw(draw, auction_id))
            self._pictures[key] = found
            while len(self._pictures) > self.size:
                self._pictures.popitem(last=False)
        self._pictures.move_to_end(key)
        png = await asyncio.shield(found)
        if png is None:
            self._pictures.pop(key, None)  # a failed drawing is tried again next time
        return png

    @staticmethod
    async def _draw(draw: Callable[[], bytes], auction_id: str) -> bytes | None:
        try:
            return await asyncio.to_thread(draw)
        except Exception:  # the picture only illustrates: the auction's own text still answers the question
            log.exception("could not draw the price chart of auction %s", auction_id)
            return None


_drawn = _Drawn()


async def auction_price_picture(auction: Auction, *, now: datetime) -> Image | None:
    """The auction's price after each bid as a picture for its reply; None below two bids (no line to draw).

    Drawing takes about a tenth of a second of CPU, so it runs in a worker thread, never on the event loop, and
    once per auction and bid (``_Drawn``): a running auction's line is held to when it was drawn.
    """
    if len(auction.history) < 2:
        return None
    currency = auction.currency or "DRT"
    points = [(bid.date, bid.amount) for bid in auction.history]
    # Translators: the chart's title for an auction that has no name
    title = auction.name or _("Auction")
    ended = auction.has_ended(now)
    key = (auction.id, auction.history[-1].id, len(points), ended, i18n.current(), title, currency)  # what it shows
    language = i18n.current()
    draw = functools.partial(
        _draw_in_language, language, points, currency=currency, title=title, now=now, ended_at=auction.end_date
    )
    png = await _drawn.png(key, draw, auction_id=auction.id)
    if png is None:
        return None
    first, last = money(points[0][1], currency), money(points[-1][1], currency)
    count = len(points)
    # Translators: a description of the price chart (alt text); {first} and {last} are amounts with a currency
    alt = ngettext(
        "Price of {title} over {count} bid: from {first} to {last}",
        "Price of {title} over {count} bids: from {first} to {last}",
        count,
    ).format(title=clip(title, TITLE_LIMIT), count=count, first=first, last=last)
    name = re.sub(r"[^0-9A-Za-z]", "", auction.id.removeprefix("0x"))[:12] or "auction"
    return Image(png, filename=f"price-{name}.png", alt=alt)
