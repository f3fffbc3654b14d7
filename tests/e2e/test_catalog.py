"""/items, /item and /account against the CryptoGig sandbox."""

from __future__ import annotations

import pytest

from bot.core.messages import Outcome


async def test_items_pages_with_next_and_previous_buttons(chat):
    first = await chat.say("/items")
    assert first.title.startswith("Items (page 1 of")
    second = await chat.press(first, "Next")
    assert second.title.startswith("Items (page 2 of")
    assert second.text != first.text
    back = await chat.press(second, "Previous")
    assert back.text == first.text
    next_button = next(b for row in first.buttons for b in row if "Next" in b.label)
    assert next_button.edits, "paging edits the message in place"


async def test_items_page_beyond_the_end_shows_the_last_page(chat):
    reply = await chat.say("/items 999")
    assert "page" in reply.title
    assert reply.outcome is Outcome.INFO


async def test_item_shows_image_description_prices_and_tags(chat):
    listing = await chat.say("/items")
    reply = await chat.press(listing, "#")
    assert reply.title.startswith("#")
    names = [f.name for f in reply.fields]
    assert "Price" in names and "Published" in names
    assert reply.image_url and reply.image_url.startswith("https://")


async def test_item_for_audio_item_has_audio_preview_and_no_crash(chat, cryptogig_sandbox):
    audio = next(i for i in cryptogig_sandbox.data.items.values() if "preview_audio" in i.get("media", {}))
    reply = await chat.say(f"/item {audio['id']}")
    assert any(f.name == "Audio preview" for f in reply.fields)


@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        ("abc", "whole number"),
        ("-3", "between 1"),
        ("0", "between 1"),
        ("99999999999999999999", "between 1 and 2,147,483,647"),
        ("1.5", "whole number"),
    ],
)
async def test_item_rejects_bad_ids_clearly(chat, arg, expected):
    reply = await chat.say(f"/item {arg}")
    assert reply.outcome is Outcome.ERROR
    assert expected in reply.text


async def test_item_unknown_id_says_so(chat):
    reply = await chat.say("/item 424242")
    assert reply.outcome is Outcome.ERROR
    assert "no item with that id" in reply.text


async def test_account_is_for_admins_only(make_chat):
    reply = await make_chat(user_id="stranger").say("/account")
    assert reply.outcome is Outcome.ERROR and "admins" in reply.text
    admin = await make_chat(user_id="admin").say("/account")
    assert admin.title.startswith("Account:")
    assert admin.ephemeral


async def test_account_never_shows_the_api_key(make_chat, settings):
    reply = await make_chat(user_id="admin").say("/account")
    assert settings.cryptogig_api_key.get_secret_value() not in reply.plain_text()


async def test_items_when_upstream_is_down_replies_politely(chat, cryptogig_sandbox):
    cryptogig_sandbox.faults.set(status=503)
    reply = await chat.say("/items")
    assert reply.outcome is Outcome.ERROR and "CryptoGig is not answering" in reply.text
