"""The Discord adapter end to end: real discord.py and the real core, with Discord faked at its HTTP boundary."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.discord.adapter import STALE_BUTTON, STALE_FORM
from adapters.discord.client import TREE_CHANGED
from adapters.discord.render import COLOURS, custom_id_for
from adapters.discord.sync import sync_commands
from adapters.discord.tree import slash_name, tree_payload
from bot.core import i18n
from bot.core.adapter_port import AdapterPort
from bot.core.arguments import MAX_ITEM_ID
from bot.core.errors import DeliveryFailed, RecipientGone, RetryLater
from bot.core.messages import Alert, Button, Outcome, Reply
from bot.core.port import ButtonAction
from bot.core.registry import Command
from bot.core.routing import Core
from bot.sandbox.auctionity_data import SANDBOX_ALICE_EMAIL, SANDBOX_ALICE_PASSWORD, SANDBOX_RIVAL_ID, SEED_IDS
from bot.sandbox.cryptogig import SAMPLE_PURCHASE_CODES
from bot.wiring.commands import build_registry
from storage import places
from tests.fakes.discord_fakes import (
    ADMIN_ROLE_ID,
    BOT_ID,
    BUYER_ROLE_ID,
    CHANNEL_ID,
    GUILD_ID,
    MANAGE_ROLES,
    DiscordUser,
    FakeDiscord,
    http_error,
    role_payload,
)
from tests.support.discord import ADMIN, ALICE, BOB, DM_CHANNEL, GAVEL_ADMIN, RunningBot, start_bot

REGULAR = SAMPLE_PURCHASE_CODES["regular licence, supported"]  # item 101
LIVE = SEED_IDS["live_with_bids"]
PNG = b"\x89PNG\r\n\x1a\n"
NO_MANAGE_ROLES = MANAGE_ROLES.__class__(send_messages=True, view_channel=True)


def options_of(payload: list[dict[str, Any]], name: str) -> dict[str, dict[str, Any]]:
    command = next(c for c in payload if c["name"] == name)
    return {o["name"]: o for o in command.get("options", [])}


# --- the command tree -----------------------------------------------------------------------------


async def test_every_visible_command_becomes_a_slash_command_with_typed_options(bot: RunningBot):
    payload = await tree_payload(bot.adapter.client.tree, guild_id=None)
    names = {c["name"] for c in payload}
    assert names == {slash_name(c.name) for c in build_registry().visible(conversations=False)}
    assert {"verify-setup", "reset-password", "login", "bid", "watch"} <= names
    assert all(len(c["description"]) <= 100 for c in payload)

    item_id = options_of(payload, "item")["item_id"]
    assert (item_id["type"], item_id["min_value"], item_id["max_value"]) == (4, 1, MAX_ITEM_ID)
    assert item_id["required"] and item_id["autocomplete"]
    assert options_of(payload, "verify")["code"]["type"] == 3
    bid = options_of(payload, "bid")
    assert bid["auction_id"]["type"] == 3 and bid["auction_id"]["autocomplete"]
    assert bid["amount"]["type"] == 4
    assert options_of(payload, "items")["page"]["required"] is False
    sort = options_of(payload, "myauctions")["field"]
    assert {c["value"] for c in sort["choices"]} >= {"name", "end_at"}


async def test_command_and_option_descriptions_are_localised_for_spanish_and_russian_clients(bot: RunningBot):
    payload = await tree_payload(bot.adapter.client.tree, guild_id=None)
    verify = next(c for c in payload if c["name"] == "verify")
    command = build_registry().find("verify")
    assert command is not None
    localised = verify["description_localizations"]
    for locale, language in (("es-ES", "es"), ("es-419", "es"), ("ru", "ru")):
        with i18n.speaking(language):
            expected = i18n._(command.help)
        assert localised[locale] == expected[:100] and expected != command.help
    assert not {"en-US", "en-GB"} & set(localised)  # English is the description itself
    code = next(o for o in verify["options"] if o["name"] == "code")
    assert set(code["description_localizations"]) >= {"es-ES", "ru"}
    # The option's name too, as the usage lines and errors name it in that language.
    bid = next(c for c in payload if c["name"] == "bid")
    auction_id = next(o for o in bid["options"] if o["name"] == "auction_id")
    with i18n.speaking("es"):
        assert auction_id["name_localizations"]["es-ES"] == i18n.argument_name("auction_id") != "auction_id"
    assert all(len(text) <= 100 for c in payload for text in c.get("description_localizations", {}).values())


async def test_manager_commands_need_manage_roles_and_a_server(bot: RunningBot):
    setup = next(c for c in await tree_payload(bot.adapter.client.tree, guild_id=None) if c["name"] == "verify-setup")
    assert int(setup["default_member_permissions"]) == MANAGE_ROLES.value
    assert setup["contexts"] == [0]  # guilds only


async def test_the_tree_is_synced_at_first_start_only(core: AdapterPort, discord_settings: Any):
    first = await start_bot(core, discord_settings)
    await first.adapter.stop()
    synced = first.fake.requests("PUT", rf"/applications/{BOT_ID}/commands")
    assert len(synced) == 1
    assert synced[0].payload == await tree_payload(first.adapter.client.tree, guild_id=None)

    second = await start_bot(core, discord_settings)
    await second.adapter.stop()
    assert second.fake.requests("PUT", r"/applications/.*") == []


async def test_a_changed_tree_is_synced_at_the_next_start(core: AdapterPort, discord_settings: Any, services: Any):
    first = await start_bot(core, discord_settings)
    await first.adapter.stop()

    registry = build_registry()

    async def ping(request: Any, services: Any) -> Reply:
        return Reply("pong")

    registry.add(Command("ping", ping, "Check that I am awake"))
    changed = await start_bot(AdapterPort(Core(replace(services, registry=registry))), discord_settings)
    await changed.adapter.stop()
    synced = changed.fake.requests("PUT", rf"/applications/{BOT_ID}/commands")
    assert len(synced) == 1 and "ping" in {c["name"] for c in synced[0].payload}


async def test_development_guild_gets_the_tree_instead_of_everyone(core: AdapterPort, settings_factory: Any):
    settings = settings_factory(discord_bot_token="fake-discord-token", discord_guild_id=GUILD_ID)
    running = await start_bot(core, settings)
    await running.adapter.stop()
    assert len(running.fake.requests("PUT", rf"/applications/{BOT_ID}/guilds/{GUILD_ID}/commands")) == 1
    assert running.fake.requests("PUT", rf"/applications/{BOT_ID}/commands") == []


async def test_discord_sync_pushes_now_and_the_next_start_does_not_repeat_it(core: AdapterPort, discord_settings: Any):
    fake = FakeDiscord()
    text = await sync_commands(discord_settings, build_registry(), core, http=fake.http)
    assert len(fake.requests("PUT", rf"/applications/{BOT_ID}/commands")) == 1
    assert "/verify-setup" in text and "item_id (integer, required, min 1" in text

    running = await start_bot(core, discord_settings)
    await running.adapter.stop()
    assert running.fake.requests("PUT", r"/applications/.*") == []


# --- verify and roles -----------------------------------------------------------------------------


def grant_buyer_role(services: Any, item_id: int = 101, role_id: int = BUYER_ROLE_ID) -> None:
    with services.db.session() as session:
        places.set_access_grant(
            session,
            platform="discord",
            place_id=str(GUILD_ID),
            item_id=item_id,
            target_id=str(role_id),
            created_by="discord:test",
            now=datetime.now(UTC),
        )


async def test_verify_in_the_server_adds_the_buyer_role(bot: RunningBot, services: Any):
    grant_buyer_role(services)
    shown = await bot.user().slash("verify", code=REGULAR)
    assert shown.ephemeral
    assert shown.title == "Purchase verified"
    assert shown.fields["Role"] == f"You now have <@&{BUYER_ROLE_ID}>."
    assert shown.colour == COLOURS[Outcome.SUCCESS].value
    assert bot.fake.member_roles[ALICE] == {BUYER_ROLE_ID}
    assert REGULAR not in shown.everything


async def test_verify_when_the_bot_lacks_manage_roles_explains_it_politely(
    bot: RunningBot, services: Any, caplog: pytest.LogCaptureFixture
):
    grant_buyer_role(services)
    bot.fake.fail("PUT", r"/guilds/.*/roles/.*", lambda: http_error(403, 50013, "Missing Permissions"))
    user = bot.user(app_permissions=NO_MANAGE_ROLES)
    with caplog.at_level(logging.WARNING, logger="adapters"):
        shown = await user.slash("verify", code=REGULAR)
    assert shown.title == "Purchase verified"  # the purchase itself is fine
    assert "could not give you the" in shown.text and "Manage Roles permission" in shown.text
    assert "tell a server admin" in shown.text
    assert shown.colour == COLOURS[Outcome.WARNING].value
    assert bot.fake.member_roles == {}
    assert any("cannot give role" in r.getMessage() for r in caplog.records)

    bot.fake.failures.clear()  # the admin fixes the bot's permissions; verifying again hands out the role
    shown = await bot.user().slash("verify", code=REGULAR)
    assert shown.fields["Role"] == f"You now have <@&{BUYER_ROLE_ID}>."


async def test_verify_when_the_role_is_above_the_bot_says_how_to_fix_it(bot: RunningBot, services: Any):
    grant_buyer_role(services, role_id=ADMIN_ROLE_ID)
    bot.fake.fail("PUT", r"/guilds/.*/roles/.*", lambda: http_error(403, 50013, "Missing Permissions"))
    shown = await bot.user().slash("verify", code=REGULAR)
    assert "drag my role above it" in shown.text


async def test_verify_setup_maps_an_item_to_a_role_for_server_managers(bot: RunningBot, services: Any):
    admin = bot.user(ADMIN, name="admin", permissions=MANAGE_ROLES)
    bot.fake.member_roles[ADMIN] = {ADMIN_ROLE_ID}  # a moderator whose own role is above the buyer role
    shown = await admin.slash("verify-setup", item_id=101, role=BUYER_ROLE_ID)
    assert shown.title == "Access set up" and shown.ephemeral
    assert "⚠" not in shown.text
    with services.db.session() as session:
        assert [g.target_id for g in places.access_grants_for_item(session, item_id=101)] == [str(BUYER_ROLE_ID)]


async def test_verify_setup_warns_the_admin_when_the_bot_cannot_hand_out_that_role(bot: RunningBot):
    admin = bot.user(ADMIN, name="admin", permissions=MANAGE_ROLES)
    bot.fake.owner_id = ADMIN  # the owner may map any (unprivileged) role, even one above the bot's
    shown = await admin.slash("verify-setup", item_id=101, role=ADMIN_ROLE_ID)
    assert shown.title == "Access set up"
    assert "Buyers will not get the role until this is fixed" in shown.text
    assert "drag my role above it" in shown.text

    bot.fake.roles.append(role_payload(ADMIN_ROLE_ID + 10, "Integration", 1, managed=True))
    shown = await admin.slash("verify-setup", item_id=101, role=ADMIN_ROLE_ID + 10)
    assert "managed by an integration" in shown.text


async def test_verify_setup_is_refused_to_members_without_manage_roles(bot: RunningBot):
    shown = await bot.user().slash("verify-setup", item_id=101, role=BUYER_ROLE_ID)
    assert shown.ephemeral and "Only an admin of this server" in shown.text


async def action_of(bot: RunningBot, button: dict[str, Any]) -> ButtonAction | None:
    """What a button the bot showed does: its custom id is an opaque token, looked up on our side."""
    custom_id = button["custom_id"]
    assert custom_id.startswith("gavel:t:"), custom_id
    return await bot.adapter.port.button_action(custom_id.removeprefix("gavel:t:"))


# --- catalogue, buttons, autocomplete -------------------------------------------------------------


async def test_items_next_button_edits_the_list_in_place(bot: RunningBot):
    user = bot.user()
    first = await user.slash("items")
    assert first.title.startswith("Items (page 1 of")
    assert await action_of(bot, first.button("Next")) == ButtonAction("items 2", edits=True)
    second = await user.press(first, "Next")
    assert second.how == "edit" and second.message["id"] == first.message["id"]
    assert second.title.startswith("Items (page 2 of")
    assert "Previous" in " ".join(second.labels)


async def test_a_command_slower_than_expected_is_deferred_within_discords_window(
    bot: RunningBot, monkeypatch: pytest.MonkeyPatch
):
    core = bot.adapter.port
    answer = core.handle

    async def sluggish(request: Any) -> Any:  # e.g. a slow database: /help is not marked slow
        await asyncio.sleep(0.05)
        return await answer(request)

    monkeypatch.setattr(core, "handle", sluggish)
    monkeypatch.setattr("adapters.discord.adapter.DEFER_AFTER_SECONDS", 0.01)
    shown = await bot.user().slash("help")
    callbacks = bot.fake.requests("POST", r"/interactions/.*/callback")
    assert callbacks[-1].payload["type"] == 5  # "Gavel is thinking…"
    assert shown.how == "edit" and shown.title == "Commands"


async def test_errors_from_slow_public_commands_are_shown_only_to_the_asker(bot: RunningBot):
    shown = await bot.user().slash("item", item_id=999)
    assert bot.fake.requests("DELETE", r"/webhooks/.*/messages/@original")  # the public "thinking…" goes
    assert shown.how == "followup" and shown.ephemeral
    assert shown.colour == COLOURS[Outcome.ERROR].value


async def test_buttons_on_old_messages_still_work_after_a_restart(
    core: AdapterPort, discord_settings: Any, bot: RunningBot
):
    first = await bot.user().slash("items")
    await bot.adapter.stop()

    restarted = await start_bot(core, discord_settings)
    try:
        shown = await restarted.user(BOB, name="bob").press(first, "#101")
        assert shown.title.startswith("#101 Neon Admin Dashboard")
        assert shown.how in ("reply", "edit")
    finally:
        await restarted.adapter.stop()


async def test_long_button_commands_travel_as_stored_tokens(bot: RunningBot):
    line = f"auctions {LIVE} {SEED_IDS['ended']}"
    tokens = await bot.adapter.port.button_tokens([ButtonAction(line)])
    custom_id = custom_id_for(ButtonAction(line), tokens.__getitem__)
    assert custom_id.startswith("gavel:t:") and len(custom_id) <= 100
    button = {"type": 2, "style": 1, "label": "Both", "custom_id": custom_id}
    message = bot.fake.message({"components": [{"type": 1, "components": [button]}]}, CHANNEL_ID)
    shown = await bot.user().press_custom_id(custom_id, message)
    assert shown.title == "Auctions" and len(shown.text.splitlines()) == 2


async def test_unknown_buttons_get_a_polite_private_answer(bot: RunningBot):
    user = bot.user()
    for custom_id in ("shop:buy:42", "gavel:t:no-such-token", "gavel:frobnicate 3"):
        button = {"type": 2, "style": 1, "label": "Old", "custom_id": custom_id}
        message = bot.fake.message({"components": [{"type": 1, "components": [button]}]}, CHANNEL_ID)
        shown = await user.press_custom_id(custom_id, message)
        assert shown.ephemeral and shown.text == STALE_BUTTON


async def test_item_id_autocomplete_offers_catalogue_items(bot: RunningBot, cryptogig_sandbox: Any):
    user = bot.user()
    choices = await user.complete("item", "item_id", "10")
    assert {"name": "#101 Neon Admin Dashboard", "value": 101} in choices
    assert all(str(c["value"]).startswith("10") for c in choices)
    cryptogig_sandbox.faults.set(status=503)  # the catalogue is cached: a flaky upstream does not empty the list
    by_name = await user.complete("item", "item_id", "lo-fi")
    assert [c["value"] for c in by_name] == [102]


# --- credentials, auctions, watches ---------------------------------------------------------------


async def login(user: DiscordUser) -> Any:
    modal = await user.slash_opening_modal("login")
    return modal, await user.submit(modal, email=SANDBOX_ALICE_EMAIL, password=SANDBOX_ALICE_PASSWORD)


async def test_login_opens_a_form_and_answers_privately(bot: RunningBot):
    user = bot.user()
    modal, shown = await login(user)
    fields = [c["components"][0] for c in modal["components"]]
    assert [f["custom_id"] for f in fields] == ["email", "password"]
    assert shown.ephemeral and shown.colour == COLOURS[Outcome.SUCCESS].value
    assert SANDBOX_ALICE_EMAIL in shown.everything
    sent = repr([c.payload for c in bot.fake.calls])
    assert SANDBOX_ALICE_PASSWORD not in sent


async def test_verify_without_a_code_asks_for_it_in_a_form(bot: RunningBot):
    user = bot.user()
    modal = await user.slash_opening_modal("verify")
    shown = await user.submit(modal, code=REGULAR)
    assert shown.title == "Purchase verified" and shown.ephemeral


async def test_a_russian_client_gets_its_form_and_its_answer_in_russian(bot: RunningBot):
    user = bot.user(locale="ru")
    modal = await user.slash_opening_modal("verify")
    with i18n.speaking("ru"):
        label = i18n._("Purchase code")
        title = i18n._("Purchase verified")
    fields = [c["components"][0] for c in modal["components"]]
    assert fields[0]["label"] == label != "Purchase code"
    shown = await user.submit(modal, code=REGULAR)
    assert shown.title == title != "Purchase verified"


async def test_bid_and_watch_from_slash_commands(bot: RunningBot):
    user = bot.user()
    await login(user)
    shown = await user.slash("bid", auction_id=LIVE, amount=150)
    assert shown.title == "Bid placed", shown.everything
    assert "You bid 150" in shown.text and not shown.ephemeral
    refreshed = await user.press(shown, "Refresh")
    assert refreshed.fields["Top bidder"] == "you"

    watched = await user.slash("watch", auction_id=LIVE)
    assert watched.title == "Watching"
    assert "Unwatch" in " ".join(watched.labels)
    suggestions = await user.complete("bid", "auction_id", LIVE[:6])
    assert [c["value"] for c in suggestions] == [LIVE]


async def test_auction_with_bids_attaches_its_price_chart_and_shows_it_in_the_embed(bot: RunningBot):
    shown = await bot.user().slash("auctions", ids=LIVE)
    assert shown.title == "Vintage mechanical keyboard" and shown.fields["Bids"] == "2"
    (name,) = shown.files
    assert name.endswith(".png") and shown.files[name].startswith(PNG)
    assert shown.image == f"attachment://{name}" and shown.attachments == [name]
    (upload,) = [c for c in bot.fake.calls if c.files]
    assert upload.payload["attachments"][0]["description"].startswith("Price of Vintage mechanical keyboard")


async def test_refresh_under_a_chart_edits_in_place_with_a_new_chart(bot: RunningBot, auctionity_sandbox: Any):
    user = bot.user()
    first = await user.slash("auctions", ids=LIVE)
    auctionity_sandbox.data.place_bid_as(SANDBOX_RIVAL_ID, LIVE, 150)
    refreshed = await user.press(first, "Refresh")
    assert refreshed.how == "edit" and refreshed.message["id"] == first.message["id"]
    assert refreshed.fields["Bids"] == "3"
    (name,) = refreshed.files
    assert refreshed.image == f"attachment://{name}" and refreshed.attachments == [name]
    assert refreshed.files[name].startswith(PNG) and refreshed.files[name] != first.files[name]


async def test_a_message_edited_into_a_reply_without_a_chart_loses_its_old_chart(bot: RunningBot):
    user = bot.user()
    first = await user.slash("auctions", ids=LIVE)
    paging = ButtonAction(f"auctions {SEED_IDS['live_single_bid']}", edits=True)  # to an auction with one bid
    custom_id = custom_id_for(paging, (await bot.adapter.port.button_tokens([paging])).__getitem__)
    button = {"type": 2, "style": 2, "label": "Other", "custom_id": custom_id}
    message = {**first.message, "components": [{"type": 1, "components": [button]}]}
    edited = await user.press_custom_id(custom_id, message)
    assert edited.how == "edit" and edited.message["id"] == first.message["id"]
    assert edited.image is None and edited.attachments == []
    assert bot.fake.calls[-1].payload["attachments"] == [], "Discord keeps old attachments unless told otherwise"


@pytest.mark.parametrize("key", ["live_single_bid", "live_no_bids"])
async def test_auction_with_one_bid_or_none_attaches_nothing(bot: RunningBot, key: str):
    shown = await bot.user().slash("auctions", ids=SEED_IDS[key])
    assert shown.fields["Id"] == SEED_IDS[key]
    assert shown.image is None and not shown.files and shown.attachments == []
    assert not [c for c in bot.fake.calls if c.files]


async def test_optional_options_can_be_skipped_in_any_order(bot: RunningBot):
    shown = await bot.user().slash("myauctions", page=2)
    assert "must be one of" not in shown.everything
    assert "not logged in" in shown.everything


# --- alerts ---------------------------------------------------------------------------------------


def alert(user_id: int = ALICE, chat_id: int = CHANNEL_ID) -> Alert:
    reply = Reply(title="You were outbid", text="Someone bid 6,000 DRT.", outcome=Outcome.WARNING)
    return Alert("discord", str(chat_id), str(user_id), reply.with_buttons([Button("Unwatch", f"unwatch {LIVE}")]))


async def test_alerts_go_by_direct_message(bot: RunningBot):
    await bot.adapter.send(alert())
    assert bot.fake.requests("POST", "/users/@me/channels")[0].payload == {"recipient_id": ALICE}
    shown = bot.fake.last()
    assert shown.how == "message" and shown.title == "You were outbid"
    assert shown.message["channel_id"] == str(ALICE + 1)  # the DM channel
    assert await action_of(bot, shown.button("Unwatch")) == ButtonAction(f"unwatch {LIVE}")


async def test_alerts_fall_back_to_the_watch_channel_when_dms_are_closed(bot: RunningBot):
    dm = ALICE + 1
    bot.fake.fail("POST", rf"/channels/{dm}/messages", lambda: http_error(403, 50007, "Cannot send messages"))
    await bot.adapter.send(alert())
    shown = bot.fake.last()
    assert shown.message["channel_id"] == str(CHANNEL_ID)
    assert shown.content == f"<@{ALICE}>" and shown.title == "You were outbid"
    sent = bot.fake.requests("POST", rf"/channels/{CHANNEL_ID}/messages")[0].payload
    assert sent["allowed_mentions"]["users"] == [ALICE] and sent["allowed_mentions"]["parse"] == []


@pytest.mark.parametrize(
    ("method", "path", "error", "expected"),
    [
        ("POST", r"/channels/.*/messages", lambda: http_error(429, retry_after=42.0), RetryLater),
        ("POST", "/users/@me/channels", lambda: http_error(404, 10013, "Unknown User"), RecipientGone),
        ("POST", r"/channels/.*/messages", lambda: http_error(403, 50007, "Cannot send messages"), RecipientGone),
        ("POST", r"/channels/.*/messages", lambda: http_error(500, 0, "boom"), DeliveryFailed),
    ],
)
async def test_alert_failures_map_to_what_the_dispatcher_does_next(bot, method, path, error, expected):
    bot.fake.fail(method, path, error)
    with pytest.raises(expected) as raised:
        await bot.adapter.send(alert())
    assert type(raised.value) is expected
    if expected is RetryLater:
        assert raised.value.retry_after == 42.0


# --- bad input ------------------------------------------------------------------------------------


async def test_an_item_id_below_the_minimum_gets_a_polite_answer(bot: RunningBot):
    shown = await bot.user().slash("item", item_id=0)
    assert shown.ephemeral and shown.colour == COLOURS[Outcome.ERROR].value
    assert "<item_id> must be between 1 and" in shown.text


async def test_server_only_commands_in_a_dm_say_so(bot: RunningBot, services: Any):
    gavel_admin = bot.user(GAVEL_ADMIN, guild_id=None, channel_id=DM_CHANNEL)  # past the admin check
    shown = await gavel_admin.slash("verify-setup", item_id=101, role=BUYER_ROLE_ID)
    assert shown.ephemeral and "only works inside a server" in shown.text

    member = bot.user(guild_id=None, channel_id=DM_CHANNEL)
    shown = await member.slash("verify-setup", item_id=101, role=BUYER_ROLE_ID)
    assert shown.ephemeral and shown.colour == COLOURS[Outcome.ERROR].value and "server" in shown.text
    with services.db.session() as session:
        assert places.access_grants_for_item(session, item_id=101) == []


async def test_a_form_from_before_a_restart_asks_to_start_again(bot: RunningBot):
    shown = await bot.user().submit({"custom_id": "0123456789abcdef"}, email="a@b.c", password="x")
    assert shown.ephemeral and shown.text == STALE_FORM


async def test_a_command_discord_still_lists_but_we_dropped_gets_a_polite_answer(bot: RunningBot):
    shown = await bot.user().slash("frobnicate")
    assert shown.ephemeral and shown.text == TREE_CHANGED
