"""How often an auction is polled: in its last minutes often, within a budget; otherwise once an interval."""

from __future__ import annotations

import math
from datetime import timedelta

HOT_BUDGET = 0.2  # hot polls may add this share to the requests of polling everything once an interval


def hot_every(*, interval: timedelta, tick: timedelta, total: int, hot: int, batch_size: int) -> timedelta:
    """How often an auction in its last HOT_MINUTES is polled: every tick, unless that costs more than
    HOT_BUDGET over polling all ``total`` auctions once an interval; never less than one hot batch a tick.

    The extra requests an interval are (interval / every - 1) * hot batches; solved for ``every``.
    """
    if hot <= 0 or tick >= interval:
        return min(tick, interval)
    regular = math.ceil(total / batch_size)
    hot_batches = math.ceil(hot / batch_size)
    allowed = max(HOT_BUDGET * regular, interval / tick - 1)
    return min(interval, max(tick, interval * hot_batches / (allowed + hot_batches)))
