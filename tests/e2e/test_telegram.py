"""Telegram end to end: the real PTB Application against a fake Bot API on loopback, the sandboxes and the database.

Each test acts as a Telegram user would (messages, button presses) and asserts what the fake Bot API
recorded the bot sending. Run with ``-s`` to print each test's transcript.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime

import httpx
import pytest
from sqlmodel import select

from adapters.telegram.access import INVITE_FAILED, JOIN_LABEL
from adapters.telegram.adapter import EDITED_NOTE, EXPIRED_BUTTON, TelegramAdapter
from bot.auctions.charts import price_chart
from bot.core import i18n
from bot.core.adapter_port import AdapterPort
from bot.core.errors import RecipientGone, RetryLater
from bot.core.messages import Alert, Button, Image, Outcome, Reply
from bot.core.payloads import encode_reply
from bot.core.registry import Scope
from bot.core.routing import Core
from bot.sandbox.auctionity_data import SANDBOX_ALICE_EMAIL, SANDBOX_ALICE_PASSWORD, SANDBOX_RIVAL_ID, SEED_IDS
from bot.sandbox.cryptogig import SAMPLE_PURCHASE_CODES
from bot.wiring.commands import build_registry
from bot.wiring.dependencies import open_services
from storage import users, watches
from storage.models import Watch
from tests.fakes.telegram_api import BOT_ID, BOT_USERNAME, TOKEN
from tests.support.telegram import ALICE, BOB, BOT_ADMIN, GROUP, button, grant_group, say, settle

CODE = SAMPLE_PURCHASE_CODES["regular licence, supported"]  # item 101
INVALID_CODE = "00000000-0000-4000-8000-000000000000"
LIVE = SEED_IDS["live_with_bids"]
PNG = b"\x89PNG\r\n\x1a\n"
# PTB's own RetryAfter constructor warns that retry_after will become a timedelta; the adapter handles both.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


# --- start, help and the command menu ----------------------------------------------------------------


async def test_start_greets_in_html_with_buttons_whose_callback_data_fits_64_bytes(adapter, telegram):
    (sent,) = await say(telegram, "/start")
    assert sent.method == "sendMessage"
    assert sent.params["parse_mode"] == "HTML"
    assert sent.text.startswith("<b>Welcome to Gavel</b>")
    assert [b["text"] for b in sent.buttons] == ["Browse items", "Live auctions", "Help"]
    assert all(len(b["callback_data"].encode()) <= 64 for b in sent.buttons)


async def test_start_deep_link_payload_lands_in_the_verify_flow(adapter, telegram):
    (sent,) = await say(telegram, "/start verify")
    assert sent.text.startswith("Send me your purchase code.")  # the flow itself, not a hint about it
    (verified,) = await say(telegram, "3f6c2a9e-8b1d-4c7a-9e2f-5a1b7c3d9e01")
    assert "Purchase verified" in verified.text


async def test_help_lists_every_visible_command_with_escaped_usage(adapter, telegram):
    (sent,) = await say(telegram, "/help", user=BOT_ADMIN)
    for command in build_registry().visible():
        assert f"/{command.name}" in sent.text
    assert "/item &lt;item_id&gt;" in sent.text  # usage placeholders are escaped, not eaten as HTML tags


async def test_a_user_whose_app_speaks_spanish_is_answered_in_spanish(adapter, telegram):
    since = telegram.mark()
    telegram.message("/help", user_id=ALICE, language_code="es")
    (sent,) = await telegram.next_sent(ALICE, since=since)
    with i18n.speaking("es"):
        title, verify_help = i18n._("Commands"), i18n._(build_registry().find("verify").help)
    assert title != "Commands" and f"<b>{html.escape(title)}</b>" in sent.text
    assert html.escape(verify_help) in sent.text


async def test_help_hides_admin_commands_from_other_users(adapter, telegram):
    (sent,) = await say(telegram, "/help")
    admin_only = [c.name for c in build_registry().visible() if c.scope is Scope.ADMIN]
    assert admin_only and all(f"/{name} " not in sent.text for name in admin_only)


async def test_start_publishes_every_visible_command_with_its_description_in_each_language(adapter, telegram):
    calls = {call.params.get("language_code"): call.params["commands"] for call in telegram.calls_to("setMyCommands")}
    assert set(calls) == {None, *i18n.LANGUAGES}  # None: users whose app speaks none of them get the default's
    for language, commands in calls.items():
        with i18n.speaking(language or "en"):
            expected = {c.name: i18n._(c.help) for c in build_registry().visible()}
        assert {c["command"]: c["description"] for c in commands} == expected
    spanish = {c["command"]: c["description"] for c in calls["es"]}
    english = {c["command"]: c["description"] for c in calls["en"]}
    assert spanish["verify"] != english["verify"] and spanish["help"] != english["help"]


# --- verify, items, item --------------------------------------------------------------------------------


async def test_verify_valid_code_confirms_the_purchase_without_echoing_the_code(adapter, telegram):
    since = telegram.mark()
    (sent,) = await say(telegram, f"/verify {CODE}")
    assert "<b>✅ Purchase verified</b>" in sent.text
    assert "<b>Licence:</b> Regular" in sent.text
    assert CODE not in sent.text
    actions = telegram.calls_to("sendChatAction", ALICE, since=since)
    assert actions and actions[0].params["action"] == "typing"  # verify is slow: the user sees progress


async def test_verify_invalid_code_says_what_went_wrong(adapter, telegram):
    (sent,) = await say(telegram, f"/verify {INVALID_CODE}")
    assert sent.text.startswith("❌")
    assert "purchase code" in sent.text.lower()


async def test_items_next_button_edits_the_same_message_in_place(adapter, telegram):
    (listing,) = await say(telegram, "/items")
    assert "Items (page 1 of 2)" in listing.text
    since = telegram.mark()
    telegram.press(listing, "Next", user_id=ALICE)
    edit = (await telegram.wait_for(lambda: telegram.calls_to("editMessageText", ALICE, since=since)))[0]
    assert edit.params["message_id"] == listing.message_id
    assert "Items (page 2 of 2)" in edit.text
    assert [b["text"] for b in edit.buttons][-1] == "◀ Previous"
    assert telegram.calls_to("answerCallbackQuery", since=since)
    assert not telegram.sent_to(ALICE, since=since), "paging must not post a new message"


async def test_item_sends_photo_with_html_escaped_caption_and_buttons(adapter, telegram, cryptogig_sandbox):
    cryptogig_sandbox.data.items[101]["name"] = "Neon <Admin> & Dashboard"
    (sent,) = await say(telegram, "/item 101")
    assert sent.method == "sendPhoto"
    assert sent.params["photo"] == cryptogig_sandbox.data.items[101]["media"]["preview_image"]
    assert "<b>#101 Neon &lt;Admin&gt; &amp; Dashboard</b>" in sent.text
    assert len(sent.text) <= 1024
    assert button(sent, "Live demo")["url"].startswith("https://demo.sandbox.cryptogig.test/")
    assert "callback_data" in button(sent, "Back to items")


async def test_item_photo_telegram_cannot_fetch_falls_back_to_text(adapter, telegram, cryptogig_sandbox):
    telegram.break_photo(cryptogig_sandbox.data.items[101]["media"]["preview_image"])
    since = telegram.mark()
    telegram.message("/item 101", user_id=ALICE)
    text = (await telegram.wait_for(lambda: telegram.calls_to("sendMessage", ALICE, since=since)))[0]
    assert [c.method for c in telegram.sent_to(ALICE, since=since)] == ["sendPhoto", "sendMessage"]
    assert "<b>#101 Neon Admin Dashboard</b>" in text.text
    assert button(text, "Live demo")


# --- auction price charts ----------------------------------------------------------------------------


async def test_auction_with_bids_is_sent_as_an_uploaded_png_chart_captioned_with_its_details(adapter, telegram):
    (sent,) = await say(telegram, f"/auctions {LIVE}")
    assert sent.method == "sendPhoto" and "photo" not in sent.params, "uploaded, not a URL"
    upload = sent.files["photo"]
    assert upload.data.startswith(PNG) and upload.filename.endswith(".png")
    assert "<b>Vintage mechanical keyboard</b>" in sent.text and "<b>Bids:</b> 2" in sent.text
    assert len(sent.text) <= 1024
    assert button(sent, "Watch") and button(sent, "Refresh")


@pytest.mark.parametrize("key", ["live_single_bid", "live_no_bids"])
async def test_auction_with_one_bid_or_none_is_sent_as_text_without_a_picture(adapter, telegram, key):
    (sent,) = await say(telegram, f"/auctions {SEED_IDS[key]}")
    assert sent.method == "sendMessage" and not sent.files
    assert "<b>Bids:</b>" in sent.text


async def test_refresh_under_a_chart_replaces_picture_and_caption_in_place(adapter, telegram, auctionity_sandbox):
    (shown,) = await say(telegram, f"/auctions {LIVE}")
    auctionity_sandbox.data.place_bid_as(SANDBOX_RIVAL_ID, LIVE, 150)
    since = telegram.mark()
    telegram.press(shown, "Refresh", user_id=ALICE)
    (edit,) = await telegram.wait_for(lambda: telegram.calls_to("editMessageMedia", ALICE, since=since))
    media = edit.params["media"]
    assert edit.params["message_id"] == shown.message_id and media["type"] == "photo"
    assert media["parse_mode"] == "HTML" and "<b>Bids:</b> 3" in media["caption"]
    new_chart = edit.files[media["media"].removeprefix("attach://")].data
    assert new_chart.startswith(PNG) and new_chart != shown.files["photo"].data
    assert button(edit, "Refresh")
    assert not telegram.sent_to(ALICE, since=since), "refreshing must not post a new message"


async def test_picture_with_text_too_long_for_a_caption_is_followed_by_the_rest(adapter, telegram):
    start = datetime(2026, 1, 1, tzinfo=UTC)
    chart = price_chart([(start, 100), (start.replace(hour=2), 120)], currency="DRT", title="Lamp")
    lines = [f"line {n}: " + "x" * 60 for n in range(40)]
    reply = Reply(title="Old lamp — “rare”", text="\n".join(lines), image=Image(chart, filename="price-lamp.png"))
    await adapter.send(Alert("telegram", str(ALICE), str(ALICE), reply.with_buttons([Button("Watch", "watch 0x1")])))
    photo, *rest = telegram.sent_to(ALICE)
    assert photo.method == "sendPhoto" and photo.files["photo"].data == chart
    assert photo.text.startswith("<b>Old lamp — “rare”</b>") and len(photo.text) <= 1024 and not photo.buttons
    assert rest and all(c.method == "sendMessage" for c in rest) and button(rest[-1], "Watch")
    received = "\n".join(c.text for c in (photo, *rest)).split("\n")
    assert [line for line in received if line.startswith("line ")] == lines


# --- credentials --------------------------------------------------------------------------------------


async def test_login_deletes_the_password_message_as_soon_as_it_is_read(adapter, telegram):
    (ask_email,) = await say(telegram, "/login")
    assert "email" in ask_email.text.lower()
    (ask_password,) = await say(telegram, SANDBOX_ALICE_EMAIL)
    assert "password" in ask_password.text.lower()
    since = telegram.mark()
    password = telegram.message(SANDBOX_ALICE_PASSWORD, user_id=ALICE)
    (done,) = await telegram.next_sent(ALICE, since=since)
    deleted = telegram.calls_to("deleteMessage", ALICE, since=since)
    assert [c.params["message_id"] for c in deleted] == [password["message_id"]]
    assert deleted[0].at <= done.at, "the password is deleted before the bot answers"
    assert "logged in" in done.text.lower()
    assert all(SANDBOX_ALICE_PASSWORD not in c.text for c in telegram.calls)


async def test_login_with_the_password_typed_inline_still_deletes_the_message(adapter, telegram):
    since = telegram.mark()
    typed = telegram.message(f"/login {SANDBOX_ALICE_EMAIL} {SANDBOX_ALICE_PASSWORD}", user_id=ALICE)
    await telegram.next_sent(ALICE, since=since)
    assert [c.params["message_id"] for c in telegram.calls_to("deleteMessage", ALICE)] == [typed["message_id"]]


async def test_login_in_a_group_is_refused_with_a_button_opening_the_private_chat(adapter, telegram):
    (sent,) = await say(telegram, "/login", chat=GROUP)
    assert "private chat" in sent.text
    assert button(sent, "private chat")["url"] == f"https://t.me/{BOT_USERNAME}?start=login"
    assert not telegram.sent_to(ALICE)


# --- grants -------------------------------------------------------------------------------------------


async def test_verify_replies_with_the_groups_join_request_link(adapter, telegram, core):
    grant_group(core)
    telegram.set_member(GROUP, BOT_ID, "administrator", can_invite_users=True)
    (sent,) = await say(telegram, f"/verify {CODE}")
    (invite,) = telegram.calls_to("createChatInviteLink")
    assert invite.params["chat_id"] == GROUP
    assert invite.params["creates_join_request"] is True, "a link that lets anyone in by itself is a public group"
    assert "member_limit" not in invite.params and "expire_date" not in invite.params
    link = button(sent, JOIN_LABEL)["url"]
    assert telegram.links[link]["creates_join_request"]

    # Verifying again hands out the same link: one purchase does not mint links.
    (again,) = await say(telegram, f"/verify {CODE}")
    assert button(again, JOIN_LABEL)["url"] == link
    assert len(telegram.calls_to("createChatInviteLink")) == 1


async def test_verify_when_the_bot_cannot_invite_says_to_contact_the_seller(adapter, telegram, core):
    grant_group(core)
    (sent,) = await say(telegram, f"/verify {CODE}")
    assert telegram.calls_to("createChatInviteLink")
    assert html.escape(INVITE_FAILED) in sent.text
    assert "Purchase verified" in sent.text
    assert not [b for b in sent.buttons if b["text"] == JOIN_LABEL]


async def test_verify_in_a_group_sends_the_invite_link_privately(adapter, telegram, core):
    grant_group(core)
    telegram.set_member(GROUP, BOT_ID, "administrator", can_invite_users=True)
    since = telegram.mark()
    (note,) = await say(telegram, f"/verify {CODE}", chat=GROUP)
    assert "private message" in note.text
    assert not [b for b in note.buttons if b["text"] == JOIN_LABEL]
    (private,) = telegram.sent_to(ALICE, since=since)
    assert button(private, JOIN_LABEL)["url"].startswith("https://t.me/+fakeInvite")


async def test_verify_setup_by_a_group_admin_warns_when_the_bot_may_not_invite(adapter, telegram):
    telegram.set_member(GROUP, BOB, "administrator")
    (sent,) = await say(telegram, "/verify_setup 101", user=BOB, chat=GROUP)
    assert "Access set up" in sent.text
    assert "I am not an admin of this group" in sent.text
    checked = {c.params["user_id"] for c in telegram.calls_to("getChatMember")}
    assert checked == {BOB, BOT_ID}


async def test_verify_setup_by_a_group_admin_is_clean_when_the_bot_may_invite(adapter, telegram):
    telegram.set_member(GROUP, BOB, "creator")
    telegram.set_member(GROUP, BOT_ID, "administrator", can_invite_users=True)
    (sent,) = await say(telegram, "/verify_setup 101", user=BOB, chat=GROUP)
    assert "Access set up" in sent.text
    assert "Warning" not in sent.text


async def test_verify_setup_by_an_ordinary_member_is_refused(adapter, telegram):
    (sent,) = await say(telegram, "/verify_setup 101", chat=GROUP)
    assert "Only an admin" in sent.text


async def test_ordinary_commands_in_a_group_cost_no_admin_lookup(adapter, telegram):
    await say(telegram, "/items", chat=GROUP)
    assert not telegram.calls_to("getChatMember")


# --- alerts -------------------------------------------------------------------------------------------


def outbid_alert(chat_id: int, text: str = "Someone bid 150 on Old <lamp>.") -> Alert:
    reply = Reply(title="You were outbid", text=text, outcome=Outcome.WARNING)
    return Alert("telegram", str(chat_id), str(chat_id), reply.with_buttons([Button("Bid again", "bid 0xab 160")]))


async def test_outbid_alert_reaches_the_right_chat(adapter, telegram):
    await adapter.send(outbid_alert(ALICE))
    (sent,) = telegram.sent_to(ALICE)
    assert "<b>⚠️ You were outbid</b>" in sent.text
    assert "Old &lt;lamp&gt;." in sent.text
    assert button(sent, "Bid again")
    assert not telegram.sent_to(BOB)


async def test_alert_hit_by_429_raises_retry_later_with_telegrams_wait(adapter, telegram):
    telegram.fail_next("sendMessage", status=429, retry_after=7)
    with pytest.raises(RetryLater) as raised:
        await adapter.send(outbid_alert(ALICE))
    assert raised.value.retry_after == 7
    await adapter.send(outbid_alert(ALICE))
    assert len(telegram.sent_to(ALICE)) == 2  # the refused call and the delivered one


async def test_reply_hit_by_a_short_429_is_sent_after_the_wait(adapter, telegram):
    telegram.fail_next("sendMessage", status=429, retry_after=1)
    sent = await say(telegram, "/start", count=2)
    assert "Welcome to Gavel" in sent[1].text
    assert sent[1].at - sent[0].at >= 0.95


async def test_alert_to_a_user_who_blocked_the_bot_raises_recipient_gone(adapter, telegram):
    telegram.block(ALICE)
    with pytest.raises(RecipientGone):
        await adapter.send(outbid_alert(ALICE))


async def test_alerts_to_one_chat_are_spaced_by_telegrams_limits_through_the_dispatcher(adapter, telegram, core):
    from bot.alerts.dispatch import Dispatcher
    from storage import outbox

    with core.services.db.session() as session:
        for n, chat in enumerate((ALICE, ALICE, BOB, GROUP, GROUP)):
            outbox.enqueue_notification(
                session, dedupe_key=f"pace:{n}", platform="telegram", chat_id=str(chat), chat_user_id=None,
                kind="outbid", payload=encode_reply(Reply(f"alert {n}")), now=core.services.now(),
            )  # fmt: skip
    assert (await Dispatcher(core.services, {"telegram": adapter}).run_once()).sent == 5
    alice, bob, group = ([c.at for c in telegram.sent_to(chat)] for chat in (ALICE, BOB, GROUP))
    assert alice[1] - alice[0] >= 1.0, "one a second per private chat"
    assert group[1] - group[0] >= 3.0, "twenty a minute per group"
    assert bob[0] - alice[0] < 0.5, "another chat does not wait behind Alice's"


async def test_long_alert_is_split_on_line_boundaries_within_4096_characters(adapter, telegram):
    lines = [f"line {n}: " + "x" * 60 for n in range(200)]
    await adapter.send(outbid_alert(ALICE, "\n".join(lines)))
    sent = telegram.sent_to(ALICE)
    assert len(sent) >= 3
    assert all(len(c.text) <= 4096 for c in sent)
    received = "\n".join(c.text for c in sent).split("\n")
    assert [line for line in received if line.startswith("line ")] == lines
    assert not any(c.buttons for c in sent[:-1]) and button(sent[-1], "Bid again")


async def test_overlong_line_of_escaped_characters_is_split_without_breaking_an_entity(adapter, telegram):
    await adapter.send(Alert("telegram", str(ALICE), str(ALICE), Reply(text="&" * 5000)))
    sent = telegram.sent_to(ALICE)
    assert len(sent) >= 2 and all(len(c.text) <= 4096 for c in sent)
    assert all(html.escape(html.unescape(c.text)) == c.text for c in sent), "no entity may be cut in half"
    assert "".join(html.unescape(c.text).replace("\n", "") for c in sent) == "&" * 5000


async def test_user_blocking_the_bot_stops_their_watches(adapter, telegram, core):
    with core.services.db.session() as session:
        user = users.get_or_create_chat_user(
            session, platform="telegram", platform_user_id=str(ALICE), now=datetime.now(UTC)
        )
        watches.add_watch(
            session,
            chat_user_id=user.id,
            auction_id="0x" + "a" * 64,
            platform="telegram",
            chat_id=str(ALICE),
            now=datetime.now(UTC),
        )
    telegram.user_blocks_bot(ALICE)

    def watch_stopped() -> bool:
        with core.services.db.session() as session:
            return not session.exec(select(Watch).where(Watch.active)).all()

    await telegram.wait_for(watch_stopped, what="the watch to stop")


# --- bad input ----------------------------------------------------------------------------------------


async def test_command_addressed_to_this_bot_by_name_is_answered(adapter, telegram):
    (sent,) = await say(telegram, f"/help@{BOT_USERNAME}", chat=GROUP)
    assert "<b>Commands</b>" in sent.text


async def test_command_addressed_to_another_bot_is_ignored(adapter, telegram):
    since = telegram.mark()
    telegram.message("/help@some_other_bot", user_id=ALICE, chat_id=GROUP)
    await settle(telegram, chat=GROUP)
    assert len(telegram.sent_to(GROUP, since=since)) == 1  # only the /help sent by settle


async def test_edited_command_is_not_run_again(adapter, telegram, cryptogig_sandbox):
    before = sum(cryptogig_sandbox.data.requests.values())
    since = telegram.mark()
    telegram.message(f"/verify {CODE}", user_id=ALICE, edited=True)
    (sent,) = await telegram.next_sent(ALICE, since=since)
    assert sent.text == html.escape(EDITED_NOTE)
    assert sum(cryptogig_sandbox.data.requests.values()) == before


async def test_edited_message_in_a_group_is_ignored(adapter, telegram):
    since = telegram.mark()
    telegram.message("/items", user_id=ALICE, chat_id=GROUP, edited=True)
    await settle(telegram, chat=GROUP)
    assert len(telegram.sent_to(GROUP, since=since)) == 1


async def test_sticker_in_a_private_chat_gets_a_short_hint(adapter, telegram):
    since = telegram.mark()
    telegram.sticker(user_id=ALICE)
    (sent,) = await telegram.next_sent(ALICE, since=since)
    assert "/help" in sent.text


async def test_sticker_in_a_group_gets_no_answer(adapter, telegram):
    since = telegram.mark()
    telegram.sticker(user_id=ALICE, chat_id=GROUP)
    await settle(telegram, chat=GROUP)
    assert len(telegram.sent_to(GROUP, since=since)) == 1


async def test_ten_thousand_character_message_gets_a_polite_refusal(adapter, telegram):
    (sent,) = await say(telegram, "a" * 10_000)
    assert "too long" in sent.text
    (sent,) = await say(telegram, "/verify " + "b" * 10_000)
    assert "too long" in sent.text


async def test_unknown_callback_data_says_the_button_expired(adapter, telegram):
    (listing,) = await say(telegram, "/start")
    since = telegram.mark()
    telegram.callback("e:not-a-token", message=telegram.sent_message(listing), user_id=ALICE)
    telegram.callback("something else entirely", message=None, user_id=ALICE)
    answers = await telegram.wait_for(
        lambda: len(found := telegram.calls_to("answerCallbackQuery", since=since)) == 2 and found
    )
    assert [a.params.get("text") for a in answers] == [EXPIRED_BUTTON, EXPIRED_BUTTON]
    assert not telegram.sent_to(ALICE, since=since)


async def test_button_from_before_a_restart_still_works(adapter, telegram, telegram_settings):
    (listing,) = await say(telegram, "/items")
    old_message = telegram.sent_message(listing)
    await adapter.stop()
    async with open_services(telegram_settings) as services:  # a new process over the same database
        restarted = TelegramAdapter(AdapterPort(Core(services)), telegram_settings, poll_timeout=1)
        await restarted.start()
        try:
            since = telegram.mark()
            telegram.press(old_message, "Next", user_id=ALICE)
            edits = await telegram.wait_for(lambda: telegram.calls_to("editMessageText", ALICE, since=since))
            assert "Items (page 2 of 2)" in edits[0].text
        finally:
            await restarted.stop()


# --- webhook mode -------------------------------------------------------------------------------------


async def test_webhook_mode_registers_the_hook_and_checks_the_secret_on_every_request(
    core, telegram, settings_factory, _telegram_server
):
    _, url = _telegram_server
    settings = settings_factory(
        telegram_bot_token=TOKEN,
        telegram_api_base_url=f"{url}/bot",
        telegram_webhook_url="https://bot.example.test/telegram/hook",
        telegram_webhook_secret="hook-secret-123",
        telegram_webhook_port=0,
    )
    hooked = TelegramAdapter(core, settings)
    await hooked.start()
    try:
        (registered,) = telegram.calls_to("setWebhook")
        assert registered.params["url"] == "https://bot.example.test/telegram/hook"
        assert registered.params["secret_token"] == "hook-secret-123"
        update = {
            "update_id": 1,
            "message": {
                "message_id": 1, "date": int(datetime.now(UTC).timestamp()), "text": "/start",
                "chat": telegram.chat(ALICE), "from": {"id": ALICE, "is_bot": False, "first_name": "Alice"},
                "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
            },
        }  # fmt: skip
        endpoint = f"http://127.0.0.1:{hooked.webhook_port}/telegram/hook"
        async with httpx.AsyncClient() as client:
            forged = await client.post(endpoint, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"})
            assert forged.status_code == 403
            genuine = await client.post(
                endpoint, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "hook-secret-123"}
            )
            assert genuine.status_code == 200
        (sent,) = await telegram.next_sent(ALICE, since=0)
        assert "Welcome to Gavel" in sent.text
    finally:
        await hooked.stop()
    assert telegram.polls == 0, "webhook mode never polls"
