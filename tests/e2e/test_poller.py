"""The poller end to end: real HTTP to the Auctionity sandbox, a migrated test database, alerts in the outbox."""

from __future__ import annotations

import asyncio
import math
from datetime import timedelta

import pytest
from sqlmodel import col, select

from bot.alerts.cadence import hot_every
from bot.alerts.poller import MISSING_LIMIT, Poller
from bot.core.payloads import decode
from bot.sandbox.auctionity_data import (
    SANDBOX_ALICE_EMAIL,
    SANDBOX_ALICE_ID,
    SANDBOX_ALICE_PASSWORD,
    SANDBOX_BOB_EMAIL,
    SANDBOX_BOB_PASSWORD,
    SANDBOX_RIVAL_ID,
    SEED_IDS,
)
from bot.wiring.scheduler import start_alerts
from storage import users, watches
from storage.models import AuctionState, Notification

LIVE = SEED_IDS["live_with_bids"]  # alice 100, then rival 120: rival on top


async def login(chat, email=SANDBOX_ALICE_EMAIL, password=SANDBOX_ALICE_PASSWORD):
    await chat.say("/login")
    await chat.say(email)
    return await chat.say(password)


def outbox(services, kind=None):
    with services.db.session() as session:
        query = select(Notification).order_by(col(Notification.id))
        if kind is not None:
            query = query.where(Notification.kind == kind)
        return list(session.exec(query))


def watch_directly(services, auction_ids, *, user="watcher", auctionity_user_id=None):
    """Watches written straight to the database (the watch command would GET each auction first)."""
    with services.db.session() as session:
        chat_user = users.get_or_create_chat_user(
            session, platform="console", platform_user_id=user, now=services.now()
        )
        if auctionity_user_id:
            users.set_auctionity_user_id(session, chat_user_id=chat_user.id, auctionity_user_id=auctionity_user_id)
        for auction_id in auction_ids:
            watches.add_watch(
                session,
                chat_user_id=chat_user.id,
                auction_id=auction_id,
                platform="console",
                chat_id=user,
                now=services.now(),
            )


def later(services, **delta):
    """Move the poller's clock forward (time is injected; nothing sleeps)."""
    start = services.clock()
    services.clock = lambda: start + timedelta(**delta)


async def next_round(poller):
    """Poll one interval after the last poll: every auction polled then is due again."""
    later(poller.services, seconds=poller.services.settings.poll_interval_seconds)
    return await poller.poll_once()


def states(services):
    with services.db.session() as session:
        return {s.auction_id: s for s in session.exec(select(AuctionState))}


async def test_a_rival_bid_gives_the_outbid_watcher_exactly_one_alert(make_chat, services, auctionity_sandbox):
    alice = make_chat(user_id="alice")
    await login(alice)
    await alice.say(f"/watch {LIVE}")
    poller = Poller(services)
    assert (await poller.poll_once()).events == 0  # the first poll only records what is there

    await alice.say(f"/bid {LIVE} 130")  # her own bid: no alert
    assert (await next_round(poller)).events == 0

    auctionity_sandbox.data.place_bid_as(SANDBOX_RIVAL_ID, LIVE, 150)
    stats = await next_round(poller)
    assert stats.events == 1
    [row] = outbox(services)
    assert row.kind == "outbid" and row.platform == "console" and row.chat_id == "alice"
    assert row.dedupe_key.startswith(f"outbid:{LIVE}:")
    reply = decode(row.payload)
    assert "150 DRT" in reply.text and "left" in reply.text
    labels = [b.label for line in reply.buttons for b in line]
    assert labels == ["Bid 158", "Show", "Unwatch"]

    assert (await next_round(poller)).events == 0  # polling again adds nothing
    auctionity_sandbox.data.place_bid_as(SANDBOX_RIVAL_ID, LIVE, 170)  # a later bid: still the same lost spot
    assert (await next_round(poller)).events == 0
    assert len(outbox(services)) == 1


async def test_an_ended_auction_tells_won_lost_and_ended_then_is_no_longer_polled(
    make_chat, services, auctionity_sandbox
):
    data = auctionity_sandbox.data
    alice, bob, carol = make_chat(user_id="alice"), make_chat(user_id="bob"), make_chat(user_id="carol")
    await login(alice)
    await login(bob, SANDBOX_BOB_EMAIL, SANDBOX_BOB_PASSWORD)
    for chat in (alice, bob, carol):
        await chat.say(f"/watch {LIVE}")
    await bob.say(f"/bid {LIVE} 130")
    await alice.say(f"/bid {LIVE} 140")
    poller = Poller(services)
    await poller.poll_once()

    data.end_now(LIVE)
    later(services, seconds=1)
    await next_round(poller)
    kinds = {row.chat_id: row.kind for row in outbox(services)}
    assert kinds == {"alice": "won", "bob": "lost", "carol": "ended"}
    assert states(services)[LIVE].ended

    before = data.requests["/auction"]
    stats = await next_round(poller)
    assert stats.requests == 0 and data.requests["/auction"] == before


async def test_n_watched_auctions_take_one_request_per_fifty(services, auctionity_sandbox):
    data = auctionity_sandbox.data
    ids = data.bulk_create(120)
    watch_directly(services, ids, user="u1")
    watch_directly(services, ids[:70], user="u2")  # watched twice: still fetched once
    data.requests.clear()
    stats = await Poller(services).poll_once()
    assert data.requests["/auction"] == math.ceil(120 / 50) == stats.requests
    assert stats.auctions == 120 and stats.failures == 0


async def test_a_failing_batch_backs_off_without_stopping_the_others(services, auctionity_sandbox):
    data, faults = auctionity_sandbox.data, auctionity_sandbox.faults
    ids = data.bulk_create(150)
    watch_directly(services, ids, user="bidder", auctionity_user_id=SANDBOX_ALICE_ID)
    poller = Poller(services, concurrency=1)  # one batch at a time, so the faults hit the first batch
    faults.set(status=503, remaining=3)  # every attempt the client makes for that batch
    stats = await poller.poll_once()
    assert (stats.failures, stats.auctions) == (1, 100)

    saved = states(services)
    backed_off = [s for s in saved.values() if s.failures]
    assert len(backed_off) == 50 and all(s.next_poll_at > services.now() for s in backed_off)
    assert all(s.end_date is None for s in backed_off)  # never seen yet

    # While they wait, the healthy auctions are polled as usual and the backed-off ones are not.
    data.requests.clear()
    assert (await next_round(poller)).auctions == 100
    assert data.requests["/auction"] == 2

    # Bids placed meanwhile are old history when an auction is first seen: no alerts for them.
    for state in backed_off[:3]:
        data.place_bid_as(SANDBOX_ALICE_ID, state.auction_id, 20)
        data.place_bid_as(SANDBOX_RIVAL_ID, state.auction_id, 30)
    later(services, minutes=5)
    stats = await next_round(poller)
    assert (stats.auctions, stats.failures, stats.events) == (150, 0, 0)
    assert not any(s.failures for s in states(services).values())


async def test_batch_backoff_grows_with_failures_and_is_capped(services, auctionity_sandbox):
    ids = auctionity_sandbox.data.bulk_create(3)
    watch_directly(services, ids)
    auctionity_sandbox.faults.set(malformed="html")
    poller = Poller(services)
    waits = []
    for _ in range(8):
        start = services.now()
        assert (await poller.poll_once()).failures == 1
        state = states(services)[ids[0]]
        waits.append(state.next_poll_at - start)
        later(services, hours=1)
    interval = timedelta(seconds=services.settings.poll_interval_seconds)
    assert interval <= waits[0] <= 2 * interval
    assert waits[2] > waits[0]
    assert max(waits) <= timedelta(minutes=15)


async def test_an_auction_upstream_no_longer_returns_is_dropped_after_some_polls(services, auctionity_sandbox):
    data = auctionity_sandbox.data
    gone, kept = data.bulk_create(2)
    data.auctions[kept].end += timedelta(days=30)  # still running however far the clock moves
    watch_directly(services, [gone, kept])
    poller = Poller(services)
    await poller.poll_once()
    del data.auctions[gone]
    for _ in range(MISSING_LIMIT):
        stats = await next_round(poller)
        assert stats.missing == 1 and stats.auctions == 1
        later(services, hours=1)
    assert states(services)[gone].ended
    stats = await next_round(poller)
    assert (stats.auctions, stats.missing) == (1, 0)


async def test_a_watch_made_after_the_end_was_reported_still_gets_the_result(make_chat, services, auctionity_sandbox):
    data = auctionity_sandbox.data
    [auction_id] = data.bulk_create(1)
    watch_directly(services, [auction_id], user="early")
    poller = Poller(services)
    await poller.poll_once()
    data.end_now(auction_id)
    await next_round(poller)
    assert [row.chat_id for row in outbox(services, "ended")] == ["early"]

    later(services, seconds=1)  # the watch is made after the end was recorded
    watch_directly(services, [auction_id], user="late")
    await next_round(poller)
    await next_round(poller)
    assert sorted(row.chat_id for row in outbox(services, "ended")) == ["early", "late"]


class Recorder:
    """An adapter that keeps what it is asked to send; ``delay`` makes each send take that long."""

    platform = "console"

    def __init__(self, delay: float = 0.0) -> None:
        self.sent: list = []
        self.delay = delay
        self.sending = asyncio.Event()

    async def send(self, alert) -> None:
        self.sending.set()
        await asyncio.sleep(self.delay)
        self.sent.append(alert)


async def wait_for(condition, timeout=10.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


@pytest.fixture
async def fast_services(settings_factory):
    """Services whose poller runs every second, for the scheduler."""
    from bot.wiring.dependencies import open_services

    async with open_services(settings_factory(poll_interval_seconds=1)) as built:
        yield built


async def test_start_alerts_polls_and_delivers_an_outbid_alert_through_the_adapter(
    make_chat, fast_services, auctionity_sandbox
):
    alice = make_chat(user_id="alice")  # talks to the same database and sandbox as fast_services
    await login(alice)
    await alice.say(f"/watch {LIVE}")
    await alice.say(f"/bid {LIVE} 130")
    adapter = Recorder()
    async with start_alerts(fast_services, {"console": adapter}, dispatch_interval=0.2):
        await wait_for(lambda: LIVE in states(fast_services) and states(fast_services)[LIVE].end_date is not None)
        # (the first poll: silent)
        auctionity_sandbox.data.place_bid_as(SANDBOX_RIVAL_ID, LIVE, 150)
        await wait_for(lambda: adapter.sent)
    [alert] = adapter.sent
    assert (alert.platform, alert.chat_id, alert.kind) == ("console", "alice", "outbid")
    assert "150 DRT" in alert.reply.text
    assert [row.sent_at is not None for row in outbox(fast_services)] == [True]


async def test_stopping_alerts_lets_a_send_in_flight_finish_and_be_marked(fast_services, auctionity_sandbox):
    [auction_id] = auctionity_sandbox.data.bulk_create(1)
    watch_directly(fast_services, [auction_id], user="dora")
    await Poller(fast_services).poll_once()
    auctionity_sandbox.data.end_now(auction_id)
    await Poller(fast_services).poll_once()  # queues the "ended" alert
    adapter = Recorder(delay=0.5)
    async with start_alerts(fast_services, {"console": adapter}, dispatch_interval=0.2):
        await asyncio.wait_for(adapter.sending.wait(), 10)
    # The block ended mid-send: the send finished and was recorded, so a restart will not repeat it.
    assert len(adapter.sent) == 1
    assert [row.sent_at is not None for row in outbox(fast_services)] == [True]


# --- hot auctions ----------------------------------------------------------------------------------------


def test_hot_polls_fit_the_budget_and_always_allow_one_batch_a_tick():
    interval, tick = timedelta(seconds=30), timedelta(seconds=5)
    # A small bot: one hot batch every tick, however small its regular round.
    assert hot_every(interval=interval, tick=tick, total=3, hot=1, batch_size=50) == tick
    # 10,000 auctions (200 batches a round), 40 ending soon: one batch every tick is 5 extra, under 20 % of 200.
    assert hot_every(interval=interval, tick=tick, total=10_000, hot=40, batch_size=50) == tick
    # 10,000 auctions, 5,000 of them ending soon: 100 hot batches a tick would be 500 extra; 40 are allowed.
    every = hot_every(interval=interval, tick=tick, total=10_000, hot=5_000, batch_size=50)
    extra = (interval / every - 1) * 100
    assert every > tick and extra == pytest.approx(40)
    assert hot_every(interval=interval, tick=tick, total=10, hot=0, batch_size=50) == tick


async def test_an_auction_in_its_last_minutes_is_polled_every_hot_tick_and_the_others_each_interval(
    services, auctionity_sandbox
):
    data = auctionity_sandbox.data
    start = services.now()
    services.clock = lambda: start
    hot, cold = data.bulk_create(2)
    data.auctions[hot].end = start + timedelta(minutes=3)
    data.auctions[cold].end = start + timedelta(hours=3)
    watch_directly(services, [hot, cold], user="alice", auctionity_user_id=SANDBOX_ALICE_ID)
    data.place_bid_as(SANDBOX_ALICE_ID, hot, 20)
    poller = Poller(services)
    assert (await poller.poll_once()).auctions == 2
    assert poller.tick == timedelta(seconds=services.settings.hot_poll_seconds) < timedelta(seconds=30)

    data.place_bid_as(SANDBOX_RIVAL_ID, hot, 30)  # a rival, in the last minutes
    later(services, seconds=5)
    stats = await poller.poll_once()
    assert (stats.auctions, stats.requests, stats.events) == (1, 1, 1), "the hot auction alone, 5 s later"
    [row] = outbox(services, "outbid")
    assert row.dedupe_key.startswith(f"outbid:{hot}:")

    later(services, seconds=5)
    assert (await poller.poll_once()).auctions == 1
    later(services, seconds=20)  # one interval after the first poll: everything
    assert (await poller.poll_once()).auctions == 2


async def test_with_hot_minutes_zero_every_auction_waits_its_interval(settings_factory, auctionity_sandbox):
    from bot.wiring.dependencies import open_services

    async with open_services(settings_factory(hot_minutes=0)) as services:
        data = auctionity_sandbox.data
        start = services.now()
        services.clock = lambda: start
        [auction_id] = data.bulk_create(1)
        data.auctions[auction_id].end = start + timedelta(minutes=3)
        watch_directly(services, [auction_id])
        poller = Poller(services)
        assert (await poller.poll_once()).auctions == 1
        later(services, seconds=5)
        assert (await poller.poll_once()).requests == 0
        later(services, seconds=25)
        assert (await poller.poll_once()).auctions == 1


async def test_two_pollers_on_one_database_poll_each_auction_once_a_round(settings_factory, auctionity_sandbox):
    """Two processes' pollers at once: the leases split the round, nothing is fetched twice."""
    from bot.wiring.dependencies import open_services

    data = auctionity_sandbox.data
    ids = data.bulk_create(300)
    settings = settings_factory()
    async with open_services(settings) as first, open_services(settings) as second:
        start = first.now()
        for services in (first, second):
            services.clock = lambda: start
        watch_directly(first, ids)
        data.requests.clear()
        stats = await asyncio.gather(
            Poller(first, batch_size=10).poll_once(), Poller(second, batch_size=10).poll_once()
        )
        assert sum(s.auctions for s in stats) == 300 and data.requests["/auction"] == 30
        again = await asyncio.gather(Poller(first).poll_once(), Poller(second).poll_once())
        assert sum(s.requests for s in again) == 0, "polled this round already"
