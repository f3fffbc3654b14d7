"""What a button does lives with its stored token, server side, and a token lives as long as it is used: a forged
press cannot overwrite a bot message, and a button in daily use never expires. The real Telegram adapter against
the fake Bot API on loopback, the real retention run."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.wiring.retention import prune_once
from tests.fakes.telegram_api import BOT_ID
from tests.support.telegram import ALICE, BOT_ADMIN, GROUP, say

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

MALLORY = 1066  # a member of the buyers' group with a modified client


def callback_token(call, label: str) -> str:
    """The stored token behind a button the bot sent (whatever else its callback data carries)."""
    data = next(b["callback_data"] for b in call.buttons if label in b["text"])
    return data.rsplit(":", 1)[-1]


async def test_a_forged_edit_flag_cannot_overwrite_the_staff_panel(adapter, telegram):
    telegram.set_member(GROUP, BOT_ID, "administrator", can_delete_messages=True)
    (panel,) = await say(telegram, "/verify_panel", user=BOT_ADMIN, chat=GROUP)
    shown = telegram.sent_message(panel)
    assert "Verify my purchase" in str(shown["reply_markup"])

    (hint,) = await say(telegram, "/helpp", user=MALLORY, chat=GROUP)  # any message with a /help button
    help_token = callback_token(hint, "/help")
    (page,) = await say(telegram, "/items", user=MALLORY, chat=GROUP)  # a paging button: it edits in place
    next_token = callback_token(page, "Next")

    since = telegram.mark()
    for forged in (f"e:{help_token}", help_token, f"e:{next_token}", next_token):
        telegram.callback(forged, message=shown, user_id=MALLORY)
    await telegram.wait_for(lambda: len(telegram.calls_to("answerCallbackQuery", since=since)) == 4)
    await say(telegram, "/help", user=MALLORY, chat=GROUP)  # everything pressed before it has been handled
    edits = telegram.calls_to(("editMessageText", "editMessageCaption", "editMessageMedia"), GROUP, since=since)
    assert [e for e in edits if e.params.get("message_id") == panel.message_id] == [], "the panel stays"
    assert telegram.sent_message(panel)["text"] == shown["text"]


async def test_a_paging_button_still_edits_its_own_message(adapter, telegram):
    (page,) = await say(telegram, "/items", user=ALICE)
    since = telegram.mark()
    telegram.press(page, "Next", user_id=ALICE)
    (edit,) = await telegram.wait_for(lambda: telegram.calls_to("editMessageText", ALICE, since=since))
    assert edit.params["message_id"] == page.message_id and "page 2" in edit.text


async def test_a_button_used_daily_never_expires(adapter, telegram, core):
    services = core.services
    (hint,) = await say(telegram, "/helpp")  # its /help button is pressed every day from now on
    message = telegram.sent_message(hint)
    start = services.now()
    days = services.settings.button_retention_days + 30
    for day in range(1, days + 1):
        services.clock = lambda day=day: start + timedelta(days=day)
        await prune_once(services)  # the hourly run, once a day here
        since = telegram.mark()
        telegram.press(message, "/help", user_id=ALICE)
        answered = await telegram.wait_for(
            lambda since=since: (
                telegram.sent_to(ALICE, since=since)
                or [c for c in telegram.calls_to("answerCallbackQuery", since=since) if c.params.get("text")]
            )
        )
        assert answered[0].method == "sendMessage", f"the button expired on day {day}: {answered[0].params}"


async def test_on_discord_a_press_runs_only_a_button_of_its_message_and_an_old_edit_flag_edits_nothing(bot):
    from adapters.discord.adapter import STALE_BUTTON
    from tests.fakes.discord_fakes import MANAGE_ROLES
    from tests.support.discord import GAVEL_ADMIN

    panel = await bot.user(GAVEL_ADMIN, name="owner", permissions=MANAGE_ROLES).slash("verify-panel")
    page = await bot.user().slash("items")
    paging = page.button("Next")["custom_id"]  # a real token, of a button that edits its own message

    before = len(bot.fake.shown)
    user = bot.user()
    forged = {**user._base(3, {"custom_id": paging, "component_type": 2}, "token-forged"), "message": panel.message}
    await user.dispatch(forged)  # not a button of the panel: it runs nothing
    assert all(s.ephemeral and s.text == STALE_BUTTON for s in bot.fake.shown[before:])
    legacy = {"type": 2, "style": 2, "label": "Help", "custom_id": "gavel:e:help"}  # an older message's button
    older = bot.fake.message({"components": [{"type": 1, "components": [legacy]}]}, panel.message["channel_id"])
    shown = await bot.user().press_custom_id("gavel:e:help", older)
    assert shown.how != "edit" and shown.title == "Commands", "it still runs, and replaces nothing"
    edited = {m.message["id"] for m in bot.fake.shown[before:] if m.how == "edit"}
    assert not edited & {panel.message["id"], older["id"]}, "neither the panel nor the old message was overwritten"
