"""The watcher's diff as a specification: who hears what, once, from (stored state, fetched auction)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.alerts.events import AuctionSnapshot, Event, EventKind, WatcherInfo, dedupe_key, diff_auction
from bot.clients.auctionity import Auction

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
END = T0 + timedelta(hours=3)
AID = "0x" + "ab" * 32

ALICE = WatcherInfo(1, "telegram", "100", "tg-alice", "A", (10,), since=T0 - timedelta(days=1))
BOB = WatcherInfo(2, "discord", "200", "dc-bob", "B", (10,), since=T0 - timedelta(days=1))
CAROL = WatcherInfo(3, "console", "carol", "carol", None, (10,), since=T0 - timedelta(days=1))  # id unknown
DAVE = WatcherInfo(4, "console", "dave", "dave", "D", (10,), since=T0 - timedelta(days=1))  # never bids
EVERYONE = [ALICE, BOB, CAROL, DAVE]


def auction(*bids: tuple[str, str, int], end: datetime = END, name: str = "Old brass lamp") -> Auction:
    """An auction whose bids (id, user, amount) were placed a minute apart, oldest first."""
    history = [
        {"id": bid_id, "user_id": user, "amount": amount, "date": (T0 + timedelta(minutes=i)).isoformat()}
        for i, (bid_id, user, amount) in enumerate(bids)
    ]
    return Auction.model_validate(
        {
            "id": AID,
            "name": name,
            "base_amount": 100,
            "start_date": (T0 - timedelta(days=1)).isoformat(),
            "end_date": end.isoformat(),
            "history": history,
            "currency": "DRT",
        }
    )


def seen(*bids: tuple[str, str, int], at: datetime = T0) -> AuctionSnapshot:
    """The state the poller writes after seeing these bids at ``at``."""
    state, _ = diff_auction(None, auction(*bids), [], at)
    return state


def keyed(events: list[Event]) -> dict[str, Event]:
    return {event.dedupe_key: event for event in events}


def buttons(event: Event) -> dict[str, str]:
    return {button.label: button.command for row in event.reply.buttons for button in row}


A1, B1, B2, A2, R1 = ("a1", "A", 100), ("b1", "B", 110), ("b2", "B", 120), ("a2", "A", 130), ("r1", "R", 140)


def test_first_poll_of_a_newly_watched_auction_only_records_state() -> None:
    state, events = diff_auction(None, auction(A1, B1, B2), EVERYONE, T0 + timedelta(minutes=5))
    assert events == []
    assert (state.last_bid_id, state.bid_count, state.top_bidder, state.top_amount) == ("b2", 3, "B", 120)
    assert state.end_date == END and not state.ended


def test_outbid_alert_goes_to_the_previous_top_bidder_with_price_time_left_and_buttons() -> None:
    now = T0 + timedelta(hours=1)
    state, events = diff_auction(seen(A1), auction(A1, B1), EVERYONE, now)
    [event] = events
    assert event.kind is EventKind.OUTBID
    assert event.dedupe_key == f"outbid:{AID}:b1:1"
    assert (event.platform, event.chat_id, event.user_id, event.chat_user_id) == ("telegram", "100", "tg-alice", 1)
    assert "110 DRT" in event.reply.text and "2h left" in event.reply.text
    assert buttons(event) == {
        "Bid 116": f"bid_ask {AID} 116",  # 110 + the 5 % step, asked before it is sent
        "Show": f"auctions {AID}",
        "Unwatch": f"unwatch {AID}",
    }
    assert (state.top_bidder, state.last_bid_id) == ("B", "b1")


def test_nobody_is_alerted_about_their_own_bid() -> None:
    _, events = diff_auction(seen(A1), auction(A1, ("a1b", "A", 105)), EVERYONE, T0)
    assert events == []
    _, events = diff_auction(seen(A1), auction(A1, ("a1b", "A", 105)), EVERYONE, T0, notify_new_bids=True)
    assert "A" not in {e.user_id for e in events} and {e.chat_user_id for e in events} == {2, 3, 4}


def test_one_outbid_alert_per_lost_top_spot_not_one_per_later_bid() -> None:
    alerts: list[Event] = []
    state = seen(A1)
    for history in [(A1, B1), (A1, B1, B2), (A1, B1, B2, ("b3", "B", 125)), (A1, B1, B2, ("b3", "B", 125), A2)]:
        state, events = diff_auction(state, auction(*history), EVERYONE, T0 + timedelta(minutes=len(history)))
        alerts += events
    # Alice lost the top once (to b1); Bob lost it once (to a2): one alert each.
    assert sorted(e.dedupe_key for e in alerts) == [f"outbid:{AID}:a2:2", f"outbid:{AID}:b1:1"]


def test_losing_the_top_twice_between_polls_gives_one_alert_and_regaining_it_gives_none() -> None:
    _, events = diff_auction(seen(A1), auction(A1, B1, ("a3", "A", 115), B2), EVERYONE, T0)
    assert [e.dedupe_key for e in events] == [f"outbid:{AID}:b2:1"]  # the latest loss, once
    _, events = diff_auction(seen(A1), auction(A1, B1, ("a3", "A", 115)), EVERYONE, T0)
    assert [e.dedupe_key for e in events] == [f"outbid:{AID}:a3:2"]  # Bob lost his short lead; Alice is back on top


def test_a_user_who_took_and_lost_the_top_between_polls_is_outbid_too() -> None:
    _, events = diff_auction(seen(R1), auction(R1, ("a5", "A", 150), ("r2", "R", 160)), EVERYONE, T0)
    assert [e.dedupe_key for e in events] == [f"outbid:{AID}:r2:1"]


def test_a_bid_that_does_not_beat_the_top_changes_nothing() -> None:
    # Equal amounts: the earliest stays on top (as Auction.top_bid has it).
    _, events = diff_auction(seen(A1), auction(A1, ("b0", "B", 100)), EVERYONE, T0)
    assert events == []


def test_watchers_with_an_unknown_auctionity_id_are_pure_watchers() -> None:
    ghost = WatcherInfo(9, "console", "ghost", "ghost", None, (10,), since=T0 - timedelta(days=1))
    _, events = diff_auction(seen(A1), auction(A1, B1), [ghost], T0)
    assert events == []
    _, events = diff_auction(seen(A1, B1), auction(A1, B1, end=T0), [ghost], T0 + timedelta(seconds=1))
    assert [e.kind for e in events] == [EventKind.ENDED]


def test_new_bid_alerts_only_when_enabled_and_never_to_the_outbid_user_twice() -> None:
    _, quiet = diff_auction(seen(A1), auction(A1, B1), EVERYONE, T0)
    assert [e.kind for e in quiet] == [EventKind.OUTBID]
    _, events = diff_auction(seen(A1), auction(A1, B1), EVERYONE, T0, notify_new_bids=True)
    kinds = {e.chat_user_id: e.kind for e in events}
    assert kinds == {1: EventKind.OUTBID, 3: EventKind.NEW_BID, 4: EventKind.NEW_BID}  # Bob bid it himself
    assert f"new_bid:{AID}:b1:3" in keyed(events)


def test_ending_soon_fires_once_per_reminder_time() -> None:
    watcher = WatcherInfo(5, "console", "eve", "eve", "E", (60, 10), since=T0 - timedelta(days=1))
    state = seen(A1, at=END - timedelta(minutes=120))
    fired: list[str] = []
    written_when_60_fired = None
    for minutes_left in (90, 61, 59, 45, 30, 11, 9, 5, 1):
        state, events = diff_auction(state, auction(A1), [watcher], END - timedelta(minutes=minutes_left))
        fired += [e.dedupe_key for e in events]
        if minutes_left == 59:
            written_when_60_fired = state
    assert fired == [f"ending:{AID}:60:5", f"ending:{AID}:10:5"]
    # The poller writes a state only when something changed: an older state must not repeat the alert.
    _, events = diff_auction(written_when_60_fired, auction(A1), [watcher], END - timedelta(minutes=30))
    assert events == []


def test_an_end_moved_earlier_into_a_reminder_window_gives_that_reminder() -> None:
    state = seen(A1, at=T0)  # END is 3 h away
    moved = T0 + timedelta(seconds=30) + timedelta(minutes=5)
    _, events = diff_auction(state, auction(A1, end=moved), [ALICE], T0 + timedelta(seconds=30))
    assert [e.dedupe_key for e in events] == [f"ending:{AID}:10:1"], "10 min were not left then, 5 are now"


def test_an_end_moved_later_out_of_and_back_into_a_window_does_not_remind_twice() -> None:
    state, events = diff_auction(seen(A1, at=T0), auction(A1), [ALICE], END - timedelta(minutes=9))
    assert [e.kind for e in events] == [EventKind.ENDING_SOON]
    # Extended by a late bid to 20 minutes away, then polled 12 minutes later: 8 minutes left again.
    extended = END + timedelta(minutes=11)
    state, events = diff_auction(state, auction(A1, end=extended), [ALICE], END - timedelta(minutes=9, seconds=-5))
    assert events == []
    _, events = diff_auction(state, auction(A1, end=extended), [ALICE], extended - timedelta(minutes=8))
    assert [e.dedupe_key for e in events] == [f"ending:{AID}:10:1"], "the same key: the outbox keeps one"


def test_ending_soon_says_whether_you_are_on_top_and_offers_a_bid_only_if_not() -> None:
    at = END - timedelta(minutes=9)
    _, events = diff_auction(seen(A1, B1, at=END - timedelta(minutes=11)), auction(A1, B1), [ALICE, BOB], at)
    by_user = {e.chat_user_id: e for e in events}
    assert "9m" in by_user[1].reply.text and "Someone else is on top" in by_user[1].reply.text
    assert "Your bid is on top" in by_user[2].reply.text
    assert any(label.startswith("Bid ") for label in buttons(by_user[1]))
    assert not any(label.startswith("Bid ") for label in buttons(by_user[2]))


def test_a_late_watch_gets_one_reminder_for_the_nearest_time_not_a_burst() -> None:
    state = seen(A1, at=END - timedelta(minutes=30))
    late = WatcherInfo(6, "console", "fay", "fay", None, (60, 30, 10), since=END - timedelta(minutes=8))
    _, events = diff_auction(state, auction(A1), [late], END - timedelta(minutes=7))
    assert [e.dedupe_key for e in events] == [f"ending:{AID}:10:6"]


def test_an_ended_auction_tells_winner_won_bidders_lost_and_watchers_ended_once() -> None:
    state = seen(A1, B1, at=END - timedelta(minutes=5))
    after = END + timedelta(seconds=2)
    state, events = diff_auction(state, auction(A1, B1, B2), EVERYONE, after)
    kinds = {e.chat_user_id: e.kind for e in events}
    assert kinds == {1: EventKind.LOST, 2: EventKind.WON, 3: EventKind.ENDED, 4: EventKind.ENDED}
    assert set(keyed(events)) == {f"ended:{AID}:{cu}" for cu in (1, 2, 3, 4)}
    assert "120 DRT" in keyed(events)[f"ended:{AID}:2"].reply.text
    assert state.ended
    _, again = diff_auction(state, auction(A1, B1, B2), EVERYONE, after + timedelta(minutes=1))
    assert again == []


def test_a_watch_made_after_the_end_was_reported_still_gets_the_result() -> None:
    state, _ = diff_auction(seen(A1), auction(A1, end=T0), [ALICE], T0 + timedelta(seconds=1))
    newcomer = WatcherInfo(7, "console", "gil", "gil", None, (10,), since=T0 + timedelta(minutes=5))
    _, events = diff_auction(state, auction(A1, end=T0), [ALICE, newcomer], T0 + timedelta(minutes=6))
    assert [(e.chat_user_id, e.kind) for e in events] == [(7, EventKind.ENDED)]


def test_an_auction_ended_without_bids_says_so() -> None:
    _, events = diff_auction(seen(), auction(end=T0), [DAVE], T0 + timedelta(seconds=1))
    assert [e.kind for e in events] == [EventKind.ENDED] and "without any bid" in events[0].reply.text


def test_every_alert_has_an_unwatch_button() -> None:
    _, outbid = diff_auction(seen(A1), auction(A1, B1), EVERYONE, T0, notify_new_bids=True)
    before = seen(A1, at=END - timedelta(minutes=20))
    _, ending = diff_auction(before, auction(A1), EVERYONE, END - timedelta(minutes=5))
    _, ended = diff_auction(seen(A1), auction(A1, B1, end=T0), EVERYONE, T0 + timedelta(seconds=1))
    events = outbid + ending + ended
    assert {e.kind for e in events} == set(EventKind)
    assert all(buttons(e).get("Unwatch") == f"unwatch {AID}" for e in events)


def test_dedupe_keys_are_stable_when_a_poll_is_repeated() -> None:
    first = diff_auction(seen(A1), auction(A1, B1), EVERYONE, T0 + timedelta(minutes=2))
    again = diff_auction(seen(A1), auction(A1, B1), EVERYONE, T0 + timedelta(minutes=2))
    later = diff_auction(seen(A1), auction(A1, B1), EVERYONE, T0 + timedelta(minutes=3))
    assert first == again
    assert [e.dedupe_key for e in later[1]] == [e.dedupe_key for e in first[1]]


def test_dedupe_keys_fit_the_outbox_column_whatever_upstream_ids_look_like() -> None:
    key = dedupe_key("outbid", "0x" + "f" * 200, "b" * 150, 12)
    assert len(key) <= 200 and key.startswith("outbid:")
    assert key == dedupe_key("outbid", "0x" + "f" * 200, "b" * 150, 12)
