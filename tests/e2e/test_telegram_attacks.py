"""Paid access on Telegram, attacked: the real adapter against the fake Bot API on loopback, and the sandboxes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.sandbox.auctionity_data import SANDBOX_ALICE_EMAIL, SANDBOX_ALICE_PASSWORD
from bot.sandbox.cryptogig import SAMPLE_PURCHASE_CODES
from storage import places, users, watches
from tests.fakes.telegram_api import BOT_ID
from tests.support.telegram import ALICE, BOB, GROUP, button, grant_group, say, settle

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

CODE = SAMPLE_PURCHASE_CODES["regular licence, supported"]  # item 101
MALLORY = 1066  # never verified anything
OTHER_GROUP = -1009876543210  # someone else's private group, where the bot happens to be admin


# --- hole 2: /verify_setup targets only the group it is sent in ---------------------------------------


async def test_group_admin_cannot_point_verify_setup_at_someone_elses_group(adapter, telegram, core):
    telegram.set_member(GROUP, BOB, "administrator")
    telegram.set_member(OTHER_GROUP, BOT_ID, "administrator", can_invite_users=True)
    (sent,) = await say(telegram, f"/verify_setup 101 {OTHER_GROUP}", user=BOB, chat=GROUP)
    assert "this group itself" in sent.text
    with core.services.db.session() as session:
        assert places.access_grants_for_item(session, item_id=101) == []
    probes = [c for c in telegram.calls_to("getChatMember") if c.chat_id == OTHER_GROUP]
    assert probes == [], "the reply must not reveal whether the bot is admin in a guessed chat"


# --- hole 4: join requests, approved only for verified buyers -----------------------------------------


async def test_a_stranger_with_the_join_link_is_declined(adapter, telegram, core):
    grant_group(core)
    telegram.set_member(GROUP, BOT_ID, "administrator", can_invite_users=True)
    (sent,) = await say(telegram, f"/verify {CODE}")
    link = button(sent, "Join")["url"]

    since = telegram.mark()
    telegram.join_request(GROUP, MALLORY, invite_link=link)  # the link was forwarded to someone who never paid
    await telegram.wait_for(lambda: (GROUP, MALLORY) in telegram.declined, what="the decline")
    assert (GROUP, MALLORY) not in telegram.joined
    (told,) = await telegram.next_sent(MALLORY, since=since)
    assert "verified buyers" in told.text and button(told, "Verify")["url"].endswith("?start=verify")

    telegram.join_request(GROUP, ALICE, invite_link=link)  # the buyer herself is let in
    await telegram.wait_for(lambda: (GROUP, ALICE) in telegram.joined, what="the approval")


async def test_a_buyer_of_another_item_is_not_let_into_this_group(adapter, telegram, core):
    grant_group(core, item_id=102)  # the group is for item 102; Alice bought 101
    grant_group(core, group=OTHER_GROUP)  # (her purchase opens another group, whose link she gets)
    telegram.set_member(GROUP, BOT_ID, "administrator", can_invite_users=True)
    await say(telegram, f"/verify {CODE}")
    link = await adapter.access.join_link(GROUP)  # the group's link, forwarded to her by someone
    telegram.join_request(GROUP, ALICE, invite_link=link)
    await telegram.wait_for(lambda: (GROUP, ALICE) in telegram.declined, what="the decline")


async def test_join_requests_through_the_groups_own_links_are_left_to_its_admins(adapter, telegram, core):
    grant_group(core)
    telegram.join_request(GROUP, MALLORY)  # no link of the bot's: the group's own approval flow
    await settle(telegram, user=MALLORY)
    assert (GROUP, MALLORY) not in telegram.declined | telegram.joined


async def test_a_revoked_join_link_is_replaced_once_and_reused_after(adapter, telegram, core):
    grant_group(core)
    telegram.set_member(GROUP, BOT_ID, "administrator", can_invite_users=True)
    (first,) = await say(telegram, f"/verify {CODE}")
    old = button(first, "Join")["url"]
    telegram.revoke_link(old)  # an admin revoked it in Telegram
    (second,) = await say(telegram, f"/verify {CODE}")
    new = button(second, "Join")["url"]
    assert new != old and not telegram.links[new]["is_revoked"]
    (third,) = await say(telegram, f"/verify {CODE}")
    assert button(third, "Join")["url"] == new
    assert len(telegram.calls_to("createChatInviteLink")) == 2


# --- hole 5: private answers asked for in a group go to the private chat ------------------------------


async def test_winner_asked_in_a_group_is_answered_privately(adapter, telegram, core):
    from bot.sandbox.auctionity_data import SEED_IDS

    await say(telegram, "/login")
    await say(telegram, SANDBOX_ALICE_EMAIL)
    await say(telegram, SANDBOX_ALICE_PASSWORD)
    since = telegram.mark()
    (pointer,) = await say(telegram, f"/winner {SEED_IDS['ended']}", chat=GROUP)
    assert "private message" in pointer.text
    assert "@" not in pointer.text, "no email in the group"
    (private,) = await telegram.next_sent(ALICE, since=since)
    assert "winner" in private.text.lower()


async def test_account_asked_in_a_group_never_shows_the_sellers_details_there(adapter, telegram):
    from tests.support.telegram import BOT_ADMIN

    telegram.block(BOT_ADMIN)  # the admin never opened a private chat with the bot
    (pointer,) = await say(telegram, "/account", user=BOT_ADMIN, chat=GROUP)
    assert "private chat" in pointer.text
    assert "Balance" not in pointer.text and "@" not in pointer.text
    assert button(pointer, "private chat")["url"].endswith("?start=account")


# --- hole 6: purchase codes typed in a group -----------------------------------------------------------


async def test_a_code_typed_in_a_group_is_deleted_and_answered_privately(adapter, telegram):
    since = telegram.mark()
    (pointer,) = await say(telegram, f"/verify {CODE}", chat=GROUP)
    typed = telegram.last_user_message(GROUP)
    (deleted,) = telegram.calls_to("deleteMessage", GROUP, since=since)
    assert deleted.params["message_id"] == typed["message_id"]
    assert CODE not in pointer.text and CODE.upper() not in pointer.text
    (private,) = await telegram.next_sent(ALICE, since=since)
    assert "Purchase verified" in private.text


async def test_a_code_the_bot_cannot_delete_in_a_group_is_flagged_to_its_sender(adapter, telegram):
    telegram.cannot_delete_in(GROUP)
    (pointer,) = await say(telegram, f"/verify {CODE}", chat=GROUP)
    assert "could not delete your message with the purchase code" in pointer.text


async def test_verify_without_a_code_in_a_group_asks_for_it_only_in_private(adapter, telegram):
    (sent,) = await say(telegram, "/verify", chat=GROUP)
    assert "private chat" in sent.text
    assert button(sent, "private chat")["url"].endswith("?start=verify")
    # Nothing in the group is waiting for a code: a code typed next is not taken as an answer.
    since = telegram.mark()
    telegram.message(CODE, user_id=ALICE, chat_id=GROUP)
    await settle(telegram, chat=GROUP)
    assert not [c for c in telegram.sent_to(GROUP, since=since) if "Purchase verified" in c.text]


# --- hole 7: every possible password message is deleted ----------------------------------------------


async def test_a_password_that_starts_with_a_slash_is_deleted_and_not_echoed(adapter, telegram):
    await say(telegram, "/login")
    await say(telegram, SANDBOX_ALICE_EMAIL)
    since = telegram.mark()
    (answer,) = await say(telegram, "/hunter2-secret")
    typed = telegram.last_user_message(ALICE)
    assert [c.params["message_id"] for c in telegram.calls_to("deleteMessage", since=since)] == [typed["message_id"]]
    assert "hunter2" not in answer.text and "know the command" not in answer.text
    assert "did not accept" in answer.text  # it was taken as the password, and refused


async def test_a_password_sent_after_the_prompt_timed_out_is_deleted_too(adapter, telegram, core):
    from datetime import timedelta

    await say(telegram, "/login")
    await say(telegram, SANDBOX_ALICE_EMAIL)
    start = core.services.now()
    core.services.clock = lambda: start + timedelta(minutes=7)  # past the five-minute prompt
    since = telegram.mark()
    (answer,) = await say(telegram, SANDBOX_ALICE_PASSWORD)
    assert telegram.calls_to("deleteMessage", ALICE, since=since)
    assert "took too long" in answer.text


async def test_when_a_password_cannot_be_deleted_the_user_is_told_to_change_it(adapter, telegram):
    await say(telegram, "/login")
    await say(telegram, SANDBOX_ALICE_EMAIL)
    telegram.cannot_delete_in(ALICE)
    (answer,) = await say(telegram, SANDBOX_ALICE_PASSWORD)
    assert "Logged in" in answer.text
    assert "could not delete your message with the password" in answer.text
    assert "change your Auctionity password" in answer.text


# --- hole 12: groups upgraded to supergroups ---------------------------------------------------------


async def test_a_group_upgraded_to_a_supergroup_keeps_its_watches_grants_and_settings(adapter, telegram, core):
    from bot.core.messages import Alert, Reply

    new_group = -1005555555555
    grant_group(core)
    with core.services.db.session() as session:
        user = users.get_or_create_chat_user(
            session, platform="telegram", platform_user_id=str(ALICE), now=datetime.now(UTC)
        )
        watches.add_watch(
            session,
            chat_user_id=user.id,
            auction_id="0x" + "a" * 64,
            platform="telegram",
            chat_id=str(GROUP),
            now=datetime.now(UTC),
        )
    telegram.migrate(GROUP, new_group, user_id=BOB)
    await settle(telegram, user=BOB, chat=new_group)  # after the new group's own announcement of the move
    with core.services.db.session() as session:
        (grant,) = places.access_grants_for_item(session, item_id=101)
        (watch,) = watches.active_watches_for_user(session, chat_user_id=user.id)
    assert (grant.place_id, grant.target_id, watch.chat_id) == (str(new_group),) * 3

    # An alert queued for the old id before the update arrived still lands, in the new group.
    telegram.migrate(new_group, -1006666666666, user_id=BOB)  # (its sends now fail as "migrated")
    await adapter.send(Alert("telegram", str(new_group), str(ALICE), Reply("You were outbid")))
    assert [c.text for c in telegram.sent_to(-1006666666666)] == ["You were outbid"]
