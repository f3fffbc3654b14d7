"""The price chart: a small, deterministic PNG, drawn safely from many threads at once."""

from __future__ import annotations

import struct
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from bot.auctions.charts import price_chart

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
START = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
HISTORY = [(START, 100), (START + timedelta(minutes=40), 1_250), (START + timedelta(hours=3), 12_500)]


def _size(png: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which a valid PNG has right after its signature."""
    assert png[:8] == PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", png[8:16])
    assert (length, kind) == (13, b"IHDR")
    return struct.unpack(">II", png[16:24])


def test_chart_is_a_640_by_320_png():
    png = price_chart(HISTORY, currency="DRT", title="Vintage watch")

    assert png.startswith(PNG_SIGNATURE)
    assert _size(png) == (640, 320)


def test_same_history_gives_identical_bytes():
    first = price_chart(HISTORY, currency="DRT", title="Vintage watch")
    second = price_chart(list(HISTORY), currency="DRT", title="Vintage watch")

    assert first == second


def test_different_histories_give_different_images():
    other = [*HISTORY[:-1], (START + timedelta(hours=3), 2_000)]

    assert price_chart(HISTORY, currency="DRT", title="Vintage watch") != price_chart(
        other, currency="DRT", title="Vintage watch"
    )


@pytest.mark.parametrize("points", [[], [(START, 100)]])
def test_fewer_than_two_points_is_refused(points):
    with pytest.raises(ValueError, match="at least two points"):
        price_chart(points, currency="DRT", title="Vintage watch")


def test_eight_threads_drawing_at_once_each_get_a_valid_png():
    histories = [[(at, amount + 1_000 * step) for at, amount in HISTORY] for step in range(8)]

    def draw(points):
        return price_chart(points, currency="DRT", title="Race")

    with ThreadPoolExecutor(max_workers=8) as pool:
        pngs = list(pool.map(draw, histories))

    assert all(_size(png) == (640, 320) for png in pngs)
    assert len(set(pngs)) == 8
    assert pngs == [draw(points) for points in histories]


def test_ended_auction_renders_with_its_end_marked():
    ended_at = START + timedelta(hours=5)

    ended = price_chart(HISTORY, currency="DRT", title="Vintage watch", ended_at=ended_at)

    assert _size(ended) == (640, 320)
    assert ended != price_chart(HISTORY, currency="DRT", title="Vintage watch")


def test_running_auction_holds_the_last_price_until_now():
    now = START + timedelta(hours=5)

    running = price_chart(HISTORY, currency="DRT", title="Vintage watch", now=now)

    assert _size(running) == (640, 320)
    assert running != price_chart(HISTORY, currency="DRT", title="Vintage watch")


def test_end_still_ahead_of_now_is_drawn_as_running():
    now = START + timedelta(hours=5)

    scheduled = price_chart(HISTORY, currency="DRT", title="Watch", now=now, ended_at=now + timedelta(hours=1))

    assert scheduled == price_chart(HISTORY, currency="DRT", title="Watch", now=now)


def test_user_text_with_dollar_signs_and_a_long_title_renders():
    title = "A $5 watch and a $10 strap, " * 5

    png = price_chart(HISTORY, currency="$", title=title)

    assert _size(png) == (640, 320)


def test_bids_at_the_same_moment_still_render():
    png = price_chart([(START, 5), (START, 6)], currency="DRT", title="Snipe")

    assert _size(png) == (640, 320)
