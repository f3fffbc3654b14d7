"""Retention: every hour, what is past its age goes, and what is still in use stays."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.wiring.retention import prune_once
from storage import auction_states, buttons, outbox, users, watches
from storage.auction_states import AuctionSnapshot
from storage.models import AuctionState, ButtonToken, Notification, Watch

OLD, KEPT = "0x" + "a" * 64, "0x" + "b" * 64


async def test_old_rows_go_and_rows_in_use_stay(services):
    then = services.now() - timedelta(days=120)  # past every age in the settings
    with services.db.session() as session:
        user = users.get_or_create_chat_user(session, platform="console", platform_user_id="u", now=then)
        for n in range(2):
            outbox.enqueue_notification(
                session, dedupe_key=f"k{n}", platform="console", chat_id="u", chat_user_id=user.id, kind="outbid",
                payload="{}", now=then,
            )  # fmt: skip
        first = session.exec(select(Notification).where(Notification.dedupe_key == "k0")).one()
        outbox.mark_notification_sent(session, notification_id=first.id, at=then)
        buttons.store_button(session, command="items 2", edits=True, now=then)  # shown, then never used again
        for auction_id in (OLD, KEPT):
            watches.add_watch(
                session, chat_user_id=user.id, auction_id=auction_id, platform="console", chat_id="u", now=then
            )
        watches.deactivate_watch(session, chat_user_id=user.id, auction_id=OLD)
        auction_states.save_snapshots(
            session,
            inserts=[
                AuctionSnapshot(OLD, ended=True, end_date=then, updated_at=then),
                AuctionSnapshot(KEPT, ended=True, end_date=then, updated_at=then),  # still watched
            ],
        )
        session.commit()
    done = await prune_once(services)
    assert (done["notifications"], done["buttons"], done["watches"], done["auction_states"]) == (1, 1, 1, 1)
    with services.db.session() as session:
        assert [n.dedupe_key for n in session.exec(select(Notification))] == ["k1"], "an unsent alert is never pruned"
        assert session.exec(select(ButtonToken)).all() == []
        assert [w.auction_id for w in session.exec(select(Watch))] == [KEPT]
        assert [s.auction_id for s in session.exec(select(AuctionState))] == [KEPT]
    assert not any((await prune_once(services)).values()), "nothing more to prune"
