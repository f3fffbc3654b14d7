"""One user flooding the bot cannot delay the others: a queue per user, outside the shared limit."""

from __future__ import annotations

from adapters.telegram.turns import QUEUED_PER_USER
from tests.support.telegram import ALICE, BOB, say


async def test_a_flood_of_slow_commands_from_one_user_does_not_delay_another(adapter, telegram, cryptogig_sandbox):
    cryptogig_sandbox.faults.set(latency=0.2)  # each /items waits on CryptoGig
    since = telegram.mark()
    for _ in range(40):
        telegram.message("/items", user_id=ALICE)
    [help_answer] = await say(telegram, "/help", user=BOB)
    before_bob = [c for c in telegram.sent_to(ALICE, since=since) if c.at <= help_answer.at]
    assert len(before_bob) <= 2, f"{len(before_bob)} of Alice's answers went before Bob's /help"
    answers = await telegram.next_sent(ALICE, since=since, count=QUEUED_PER_USER + 1, timeout=20)
    notes = [c for c in telegram.sent_to(ALICE, since=since) if "faster than I can answer" in c.text]
    assert len(notes) == 1, "told once"
    assert len(answers) < 40, "the flood beyond her queue was turned away"
