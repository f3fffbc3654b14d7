"""The core's routing: unknown commands, scopes, conversations, limits, and that nothing raises out of it."""

from __future__ import annotations

from datetime import timedelta

from bot.core.messages import Outcome, Request, split_command
from bot.core.registry import Scope
from bot.wiring.commands import build_registry


def test_split_command_strips_bot_suffix_and_honours_quotes():
    assert split_command("/bid@GavelBot 0xab 150") == ("bid", ("0xab", "150"))
    assert split_command('/newauction "Old lamp" 100 now +2h') == ("newauction", ("Old lamp", "100", "now", "+2h"))
    assert split_command('/verify "unbalanced') == ("verify", ('"unbalanced',))
    assert split_command("hello") == (None, ())
    assert split_command("/") == (None, ())


def test_registry_declares_every_architecture_command_once():
    names = {c.name for c in build_registry()}
    expected = {
        "start",
        "help",
        "verify",
        "items",
        "item",
        "account",
        "signup",
        "login",
        "logout",
        "reset_password",
        "auctions",
        "myauctions",
        "newauction",
        "bid",
        "watch",
        "unwatch",
        "watches",
        "winner",
    }
    assert expected <= names
    assert build_registry().find("validate").name == "verify"


async def test_help_lists_every_visible_command_once_with_its_own_help(chat):
    reply = await chat.say("/help")
    # One line per command, each starting with its usage: "/item" must be its own line, not part of "/items".
    listed = {line.split(" — ", 1)[0].split()[0]: line for line in reply.text.splitlines()}
    expected = [c for c in build_registry().visible() if c.scope is not Scope.ADMIN]
    assert sorted(listed) == sorted(f"/{c.name}" for c in expected)
    for command in expected:
        assert listed[f"/{command.name}"].endswith(f" — {command.help}")
    assert "/account" not in listed, "admin commands are listed to admins only"


async def test_help_for_one_command_explains_its_arguments(chat):
    reply = await chat.say("/help bid")
    assert reply.title.startswith("/bid")
    assert any(f.name == "<amount>" for f in reply.fields)


async def test_unknown_command_suggests_the_closest(chat):
    reply = await chat.say("/itme 3")
    assert reply.outcome is Outcome.WARNING
    assert "/item" in reply.text


async def test_plain_text_in_private_points_to_help_and_is_ignored_in_groups(make_chat):
    assert "/help" in (await make_chat().say("hello there")).text
    assert await make_chat(chat_id="group", private=False).say("hello there") is None


async def test_huge_message_is_refused_politely(chat):
    reply = await chat.say("/item", args=("9" * 20_000,))
    assert reply.outcome is Outcome.ERROR and "too long" in reply.text


async def test_too_many_arguments_shows_usage(chat):
    reply = await chat.say("/item 1 2 3")
    assert "Usage: /item <item_id>" in reply.text


async def test_login_in_a_group_is_refused_with_a_private_chat_pointer(make_chat):
    reply = await make_chat(chat_id="group-1", private=False).say("/login")
    assert reply.outcome is Outcome.ERROR
    assert "private chat" in reply.text
    assert reply.open_private_chat


async def test_login_conversation_asks_email_then_secret_password(chat, core):
    first = await chat.say("/login")
    assert "email" in first.text.lower() and first.prompt and not first.prompt.secret
    second = await chat.say("alice@sandbox.test")
    assert second.prompt and second.prompt.secret
    assert (await core.pending_prompt(Request(platform="console", user_id="alice", chat_id="alice"))).secret


async def test_cancel_stops_a_conversation(chat, core):
    await chat.say("/login")
    assert (await chat.say("/cancel")).text == "Cancelled."
    assert await core.pending_prompt(Request(platform="console", user_id="alice", chat_id="alice")) is None


async def test_conversation_times_out(chat, core):
    await chat.say("/login")
    real_clock = core.services.clock
    core.services.clock = lambda: real_clock() + timedelta(minutes=6)
    try:
        reply = await chat.say("alice@sandbox.test")
    finally:
        core.services.clock = real_clock
    assert "took too long" in reply.text


async def test_unexpected_exception_becomes_a_reference_not_a_traceback(chat, core):
    async def boom(request, services):
        raise RuntimeError("secret internals")

    object.__setattr__(core.registry.find("items"), "handler", boom)  # this core's own registry
    reply = await chat.say("/items")
    assert reply.outcome is Outcome.ERROR
    assert "ref" in reply.text and "secret internals" not in reply.text


async def test_start_deep_link_lands_in_the_verify_flow(chat):
    reply = await chat.say("/start verify")
    assert reply.prompt is not None and reply.prompt.field_name == "code"
    assert (await chat.say("/start nonsense-payload")).title == "Welcome to Gavel"  # an unknown payload: hello
