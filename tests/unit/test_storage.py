"""The storage layer against a real database migrated with Alembic: SQLite always, PostgreSQL when configured."""

from __future__ import annotations

import hashlib
import os
import string
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, func
from sqlalchemy.exc import StatementError
from sqlmodel import col, select

from storage import auction_states, buttons, claims, key_values, outbox, places, users, watches
from storage.auction_states import AuctionSnapshot
from storage.crypto import SecretBox, UndecryptableSecret, generate_key, validate_key
from storage.db import create_db_engine, session_scope, upgrade, validate_database_url
from storage.errors import AlreadyClaimed, ClaimRevoked
from storage.models import AuctionState, ChatUser, Notification, VerifyAttempt, split_minutes

POSTGRES_URL = os.environ.get("GAVEL_TEST_POSTGRES_URL")
POSTGRES_SKIP = (
    "set GAVEL_TEST_POSTGRES_URL=postgresql://user:password@127.0.0.1/db to run these against PostgreSQL "
    "(a throw-away database: the tests drop every table in it)"
)
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
AUCTION_A = "0x" + "a" * 64
AUCTION_B = "0x" + "b" * 64
AUCTION_C = "0x" + "c" * 64
AUCTION_A_UPPERCASE = "0x" + "A" * 64

KEY = generate_key()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path, migrated_databases: Any) -> Iterator[Engine]:
    """A freshly migrated database (a copy of one upgraded by Alembic, not create_all)."""
    if request.param == "sqlite":
        url = migrated_databases.sqlite(tmp_path / "gavel.db")
    elif not POSTGRES_URL:
        pytest.skip(POSTGRES_SKIP)
    else:
        url = migrated_databases.postgres(POSTGRES_URL)
    engine = create_db_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_path(tmp_path: Path, migrated_databases: Any) -> Path:
    path = tmp_path / "gavel.db"
    migrated_databases.sqlite(path)
    return path


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(KEY)


def _user(engine: Engine, name: str, platform: str = "telegram") -> int:
    with session_scope(engine) as session:
        user = users.get_or_create_chat_user(
            session, platform=platform, platform_user_id=name, display_name=name, now=NOW
        )
        assert user.id is not None
        return user.id


def _claim(engine: Engine, user_id: int, code_hash: str = "h" * 64, max_claims: int = 1, **changes: object):
    fields: dict[str, object] = {
        "chat_user_id": user_id,
        "code_hash": code_hash,
        "code_encrypted": "encrypted",
        "item_id": 7,
        "license": "regular",
        "supported_until": None,
        "max_claims": max_claims,
        "now": NOW,
    }
    fields.update(changes)
    with session_scope(engine) as session:
        return claims.claim_purchase(session, **fields)  # type: ignore[arg-type]


# --- crypto -----------------------------------------------------------------------------------------


@given(st.text())
def test_secret_box_round_trips_any_text(plain: str) -> None:
    box = SecretBox(KEY)
    token = box.encrypt(plain)
    assert token.isascii()
    assert box.decrypt(token) == plain


def test_secret_box_encrypts_the_same_text_differently_each_time(box: SecretBox) -> None:
    assert box.encrypt("CODE-1") != box.encrypt("CODE-1")


def test_decrypting_with_another_key_raises_undecryptable_secret(box: SecretBox) -> None:
    token = box.encrypt("secret purchase code")
    with pytest.raises(UndecryptableSecret, match="GAVEL_SECRET_KEY"):
        SecretBox(generate_key()).decrypt(token)


@pytest.mark.parametrize("garbage", ["", "not a token", "gAAAAA" + "x" * 40, "é"])
def test_decrypting_garbage_raises_undecryptable_secret(box: SecretBox, garbage: str) -> None:
    with pytest.raises(UndecryptableSecret):
        box.decrypt(garbage)


def test_undecryptable_secret_is_a_value_error() -> None:
    assert issubclass(UndecryptableSecret, ValueError)


def test_keyed_hash_is_stable_for_one_key_and_differs_across_keys(box: SecretBox) -> None:
    digest = box.keyed_hash("PURCHASE-CODE-123")
    assert digest == SecretBox(KEY).keyed_hash("PURCHASE-CODE-123")
    assert len(digest) == 64
    assert set(digest) <= set(string.hexdigits.lower())
    assert digest != box.keyed_hash("PURCHASE-CODE-124")
    assert digest != SecretBox(generate_key()).keyed_hash("PURCHASE-CODE-123")


def test_keyed_hash_is_not_a_plain_sha256_of_the_code(box: SecretBox) -> None:
    assert box.keyed_hash("PURCHASE-CODE-123") != hashlib.sha256(b"PURCHASE-CODE-123").hexdigest()


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("", "empty"),
        ("change-me", "placeholder"),
        ("your-secret-key-here", "placeholder"),
        ("not a fernet key", "not a Fernet key"),
        ("c2hvcnQ=", "not a Fernet key"),
        ("A" * 43 + "=", "not random enough"),
    ],
)
def test_validate_key_refuses_placeholders_and_malformed_keys(key: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        validate_key(key)
    with pytest.raises(ValueError, match="gavel keygen"):
        SecretBox(key)


def test_validate_key_accepts_a_generated_key_and_strips_blanks() -> None:
    key = SecretBox.generate_key()
    assert validate_key(f"  {key}\n") == key


def test_secret_box_repr_does_not_show_the_key() -> None:
    assert KEY not in repr(SecretBox(KEY))


# --- engine and sessions ----------------------------------------------------------------------------


def test_validate_database_url_fills_in_the_psycopg_driver_for_postgresql() -> None:
    assert validate_database_url("postgresql://u:p@db/gavel") == "postgresql+psycopg://u:p@db/gavel"
    assert validate_database_url("postgres://u:p@db/gavel") == "postgresql+psycopg://u:p@db/gavel"
    assert validate_database_url("sqlite:///./gavel.db") == "sqlite:///./gavel.db"


@pytest.mark.parametrize("url", ["", "gavel.db", "nosuchdb://x/y", "://"])
def test_validate_database_url_rejects_unusable_urls_with_a_short_message(url: str) -> None:
    with pytest.raises(ValueError, match="DATABASE_URL") as caught:
        validate_database_url(url)
    assert "\n" not in str(caught.value)


def test_creating_an_engine_connects_to_nothing(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'never.db'}")
    assert not (tmp_path / "never.db").exists()
    engine.dispose()


def test_sqlite_file_database_runs_in_wal_mode_with_foreign_keys_and_busy_timeout(sqlite_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{sqlite_path}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    engine.dispose()


def test_in_memory_sqlite_is_one_database_shared_by_every_session() -> None:
    engine = create_db_engine("sqlite://")
    upgrade(engine)
    _user(engine, "alice")
    with session_scope(engine) as session:
        assert users.find_chat_user(session, platform="telegram", platform_user_id="alice") is not None
    engine.dispose()


def test_session_scope_commits_on_success_and_rolls_back_on_error(engine: Engine) -> None:
    _user(engine, "kept")
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        users.get_or_create_chat_user(session, platform="telegram", platform_user_id="dropped", now=NOW)
        raise RuntimeError("boom")
    with session_scope(engine) as session:
        names = set(session.exec(select(ChatUser.platform_user_id)))
    assert names == {"kept"}


def test_objects_stay_readable_after_the_scope_commits(engine: Engine) -> None:
    with session_scope(engine) as session:
        user = users.get_or_create_chat_user(
            session, platform="discord", platform_user_id="42", display_name="Ann", now=NOW
        )
    assert user.display_name == "Ann"


def test_timestamps_come_back_as_aware_utc_whatever_zone_they_went_in(engine: Engine) -> None:
    paris = timezone(timedelta(hours=1))
    with session_scope(engine) as session:
        session.add(
            AuctionState(auction_id=AUCTION_A, end_date=datetime(2026, 3, 1, 13, 0, tzinfo=paris), updated_at=NOW)
        )
    with session_scope(engine) as session:
        state = auction_states.load_snapshots(session, auction_ids=[AUCTION_A])[AUCTION_A]
    assert state.end_date == datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert state.end_date is not None and state.end_date.tzinfo == UTC
    assert state.updated_at is not None and state.updated_at.tzinfo == UTC


def test_naive_datetimes_are_refused(engine: Engine) -> None:
    user_id = _user(engine, "alice")
    with pytest.raises(StatementError, match="naive datetime"), session_scope(engine) as session:
        claims.record_verify_attempt(session, chat_user_id=user_id, ok=False, at=datetime(2026, 1, 1))


# --- chat users -------------------------------------------------------------------------------------


def test_get_or_create_chat_user_returns_the_same_user_and_keeps_the_display_name_current(engine: Engine) -> None:
    with session_scope(engine) as session:
        first = users.get_or_create_chat_user(
            session, platform="telegram", platform_user_id="1", display_name="A", now=NOW
        )
    with session_scope(engine) as session:
        again = users.get_or_create_chat_user(
            session, platform="telegram", platform_user_id="1", display_name="B", now=NOW
        )
        unchanged = users.get_or_create_chat_user(session, platform="telegram", platform_user_id="1", now=NOW)
    assert first.id == again.id == unchanged.id
    assert unchanged.display_name == "B"


def test_the_same_user_id_on_two_platforms_is_two_chat_users(engine: Engine) -> None:
    assert _user(engine, "7", platform="telegram") != _user(engine, "7", platform="discord")


def test_set_auctionity_user_id_is_remembered(engine: Engine) -> None:
    user_id = _user(engine, "alice")
    with session_scope(engine) as session:
        users.set_auctionity_user_id(session, chat_user_id=user_id, auctionity_user_id="16fd2706-8baf")
    with session_scope(engine) as session:
        user = session.get(ChatUser, user_id)
    assert user is not None and user.auctionity_user_id == "16fd2706-8baf"


# --- purchase claims --------------------------------------------------------------------------------


def test_same_user_verifying_again_refreshes_their_claim(engine: Engine) -> None:
    alice = _user(engine, "alice")
    first = _claim(engine, alice)
    later = NOW + timedelta(days=3)
    again = _claim(engine, alice, license="extended", supported_until=later, now=later)
    assert again.id == first.id
    with session_scope(engine) as session:
        (claim,) = claims.claims_for_user(session, chat_user_id=alice)
    assert (claim.license, claim.supported_until, claim.verified_at) == ("extended", later, later)


def test_verify_rejects_code_claimed_by_another_user(engine: Engine) -> None:
    alice, bob = _user(engine, "alice"), _user(engine, "bob")
    _claim(engine, alice)
    with pytest.raises(AlreadyClaimed) as caught:
        _claim(engine, bob)
    assert caught.value.max_claims == 1  # storage says what happened; bot.core.errors.user_message words it
    with session_scope(engine) as session:
        assert claims.claims_for_user(session, chat_user_id=bob) == []


def test_max_claims_two_lets_two_users_claim_a_code_and_refuses_a_third(engine: Engine) -> None:
    alice, bob, carol = (_user(engine, name) for name in ("alice", "bob", "carol"))
    slots = [_claim(engine, alice, max_claims=2).slot, _claim(engine, bob, max_claims=2).slot]
    assert slots == [0, 1]
    with pytest.raises(AlreadyClaimed):
        _claim(engine, carol, max_claims=2)
    assert _claim(engine, alice, max_claims=2).slot == 0  # re-verifying is still fine


def test_a_refused_claim_leaves_the_transaction_usable(engine: Engine) -> None:
    alice, bob = _user(engine, "alice"), _user(engine, "bob")
    _claim(engine, alice)
    with session_scope(engine) as session:
        with pytest.raises(AlreadyClaimed):
            claims.claim_purchase(
                session,
                chat_user_id=bob,
                code_hash="h" * 64,
                code_encrypted="x",
                item_id=7,
                license="regular",
                supported_until=None,
                now=NOW,
            )
        claims.record_verify_attempt(session, chat_user_id=bob, ok=False, at=NOW)
    with session_scope(engine) as session:
        attempts = session.exec(select(VerifyAttempt).where(VerifyAttempt.chat_user_id == bob)).all()
        assert [(a.at, a.ok) for a in attempts] == [(NOW, False)]


def test_a_revoked_claim_frees_its_place_for_another_user(engine: Engine) -> None:
    alice, bob = _user(engine, "alice"), _user(engine, "bob")
    claim = _claim(engine, alice)
    with session_scope(engine) as session:
        assert claims.revoke_claim(session, claim_id=claim.id, at=NOW, reason="unbound")
        assert not claims.revoke_claim(session, claim_id=claim.id, at=NOW, reason="unbound")
    assert _claim(engine, bob).slot == 1
    with pytest.raises(AlreadyClaimed):
        _claim(engine, alice)  # alice's old claim cannot come back while bob holds the only place


def test_a_claim_revoked_by_staff_stays_revoked_when_its_holder_verifies_again(engine: Engine) -> None:
    alice = _user(engine, "alice")
    claim = _claim(engine, alice)
    with session_scope(engine) as session:
        view = claims.revoke_claim(session, claim_id=claim.id, at=NOW, reason="revoked")
    assert view is not None and (view.revoke_reason, view.platform_user_id) == ("revoked", "alice")
    with pytest.raises(ClaimRevoked):
        _claim(engine, alice)


def _race_claims(engine: Engine, user_ids: list[int], code_hash: str, max_claims: int) -> list[str]:
    """Every user claims the same code at once, each in its own thread and session; their outcomes."""
    start = threading.Barrier(len(user_ids))
    outcomes: list[str] = []

    def claim(user_id: int) -> None:
        start.wait()
        try:
            _claim(engine, user_id, code_hash=code_hash, max_claims=max_claims)
            outcomes.append("won")
        except AlreadyClaimed:
            outcomes.append("refused")
        except Exception as exc:  # reported by the assertion rather than lost in the thread
            outcomes.append(repr(exc))

    threads = [threading.Thread(target=claim, args=(user_id,)) for user_id in user_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return sorted(outcomes, reverse=True)


# Several rounds, because any one round may happen not to interleave.
@pytest.mark.parametrize("round_number", range(5))
def test_concurrent_claims_from_two_threads_let_exactly_one_win(engine: Engine, round_number: int) -> None:
    users = [_user(engine, "alice"), _user(engine, "bob")]
    assert _race_claims(engine, users, f"{round_number:064d}", max_claims=1) == ["won", "refused"]
    with session_scope(engine) as session:
        assert sum(len(claims.claims_for_user(session, chat_user_id=u)) for u in users) == 1


@pytest.mark.parametrize("round_number", range(3))
def test_concurrent_claims_with_max_claims_two_let_exactly_two_of_three_win(engine: Engine, round_number: int) -> None:
    users = [_user(engine, name) for name in ("alice", "bob", "carol")]
    assert _race_claims(engine, users, f"{round_number:064d}", max_claims=2) == ["won", "won", "refused"]


def test_no_plaintext_purchase_code_in_the_sqlite_files_after_a_claim(sqlite_path: Path, box: SecretBox) -> None:
    code = "CG-PURCHASE-7f3a9c21-SECRET"
    engine = create_db_engine(f"sqlite:///{sqlite_path}")
    alice = _user(engine, "alice")
    _claim(engine, alice, code_hash=box.keyed_hash(code), code_encrypted=box.encrypt(code))
    with session_scope(engine) as session:
        (claim,) = claims.claims_for_user(session, chat_user_id=alice)
    assert box.decrypt(claim.code_encrypted) == code
    engine.dispose()
    written = b"".join(p.read_bytes() for p in sqlite_path.parent.glob(sqlite_path.name + "*"))
    assert box.keyed_hash(code).encode() in written
    assert code.encode() not in written


# --- access grants and Auctionity logins ------------------------------------------------------------


def test_set_access_grant_replaces_the_target_for_the_same_place_and_item(engine: Engine) -> None:
    with session_scope(engine) as session:
        first = places.set_access_grant(
            session,
            platform="discord",
            place_id="g1",
            item_id=7,
            target_id="role-a",
            created_by="admin",
            now=NOW,
        )
        places.set_access_grant(
            session,
            platform="telegram",
            place_id="-100",
            item_id=7,
            target_id="-100",
            created_by="x",
            now=NOW,
        )
    with session_scope(engine) as session:
        second = places.set_access_grant(
            session,
            platform="discord",
            place_id="g1",
            item_id=7,
            target_id="role-b",
            created_by="admin2",
            now=NOW,
        )
    assert second.id == first.id
    with session_scope(engine) as session:
        grants = places.access_grants_for_item(session, item_id=7)
        discord_only = places.access_grants_for_item(session, item_id=7, platform="discord")
        in_place = places.access_grants_for_place(session, platform="discord", place_id="g1")
    assert [(g.platform, g.target_id) for g in grants] == [("discord", "role-b"), ("telegram", "-100")]
    assert [g.target_id for g in discord_only] == [g.target_id for g in in_place] == ["role-b"]


def test_remove_access_grant_says_whether_there_was_one(engine: Engine) -> None:
    with session_scope(engine) as session:
        places.set_access_grant(
            session, platform="discord", place_id="g1", item_id=7, target_id="r", created_by="a", now=NOW
        )
    with session_scope(engine) as session:
        assert places.remove_access_grant(session, platform="discord", place_id="g1", item_id=7)
        assert not places.remove_access_grant(session, platform="discord", place_id="g1", item_id=7)
        assert places.access_grants_for_item(session, item_id=7) == []


def test_saving_an_auctionity_login_replaces_the_previous_one_and_logout_deletes_it(engine: Engine) -> None:
    alice = _user(engine, "alice")
    expires = NOW + timedelta(hours=1)
    with session_scope(engine) as session:
        users.save_auctionity_session(session, chat_user_id=alice, token_encrypted="t1", expires_at=None, now=NOW)
    with session_scope(engine) as session:
        users.save_auctionity_session(session, chat_user_id=alice, token_encrypted="t2", expires_at=expires, now=NOW)
    with session_scope(engine) as session:
        login = users.get_auctionity_session(session, chat_user_id=alice)
        assert login is not None
        assert (login.token_encrypted, login.expires_at) == ("t2", expires)
        assert users.delete_auctionity_session(session, chat_user_id=alice)
        assert not users.delete_auctionity_session(session, chat_user_id=alice)
        assert users.get_auctionity_session(session, chat_user_id=alice) is None


# --- watches and auction state ----------------------------------------------------------------------


def test_add_watch_lowercases_the_id_and_reactivates_and_retargets_an_old_watch(engine: Engine) -> None:
    alice = _user(engine, "alice")
    with session_scope(engine) as session:
        first = watches.add_watch(
            session,
            chat_user_id=alice,
            auction_id=f"  {AUCTION_A_UPPERCASE} ",
            platform="telegram",
            chat_id="1",
            remind_minutes=[10, 60],
            now=NOW,
        )
        assert first.auction_id == AUCTION_A
        assert first.remind_minutes == "60,10"
        assert watches.deactivate_watch(session, chat_user_id=alice, auction_id=AUCTION_A)
        assert not watches.deactivate_watch(session, chat_user_id=alice, auction_id=AUCTION_A)
        assert watches.active_watches_for_user(session, chat_user_id=alice) == []
    with session_scope(engine) as session:
        again = watches.add_watch(
            session,
            chat_user_id=alice,
            auction_id=AUCTION_A,
            platform="discord",
            chat_id="dm-9",
            remind_minutes="15",
            now=NOW,
        )
    assert again.id == first.id
    assert (again.platform, again.chat_id, again.reminder_minutes, again.active) == ("discord", "dm-9", [15], True)


def test_watcher_rows_group_each_auctions_active_watchers_with_their_users(engine: Engine) -> None:
    alice, bob = _user(engine, "alice"), _user(engine, "bob")
    with session_scope(engine) as session:
        for user_id, auction_id in [(alice, AUCTION_A), (bob, AUCTION_A), (alice, AUCTION_B), (bob, AUCTION_C)]:
            watches.add_watch(
                session,
                chat_user_id=user_id,
                auction_id=auction_id,
                platform="telegram",
                chat_id=str(user_id),
                now=NOW,
            )
        watches.deactivate_watch(session, chat_user_id=bob, auction_id=AUCTION_C)
    with session_scope(engine) as session:
        found = watches.watcher_rows_by_auction(session, auction_ids=[AUCTION_A_UPPERCASE, AUCTION_B, AUCTION_C])
    assert sorted(found) == [AUCTION_A, AUCTION_B]
    assert [(w.chat_user_id, w.platform_user_id) for w in found[AUCTION_A]] == [(alice, "alice"), (bob, "bob")]
    assert [w.platform_user_id for w in found[AUCTION_B]] == ["alice"]


def test_leased_auctions_are_distinct_skip_ended_not_yet_due_and_unwatched_ones_and_stay_leased(engine: Engine) -> None:
    alice, bob = _user(engine, "alice"), _user(engine, "bob")
    auctions = {name: "0x" + name * 64 for name in "defgh"}
    with session_scope(engine) as session:
        for user_id in (alice, bob):
            for auction_id in auctions.values():
                watches.add_watch(
                    session,
                    chat_user_id=user_id,
                    auction_id=auction_id,
                    platform="telegram",
                    chat_id="1",
                    now=NOW,
                )
        watches.add_watch(session, chat_user_id=alice, auction_id=AUCTION_A, platform="telegram", chat_id="1", now=NOW)
        watches.deactivate_watch(session, chat_user_id=alice, auction_id=AUCTION_A)  # nobody watches A any more
        auction_states.save_snapshots(
            session,
            inserts=[
                AuctionSnapshot(auctions["e"], next_poll_at=NOW - timedelta(seconds=5), updated_at=NOW),  # overdue
                AuctionSnapshot(auctions["f"], next_poll_at=NOW + timedelta(seconds=5), updated_at=NOW),  # not yet
                AuctionSnapshot(auctions["g"], next_poll_at=NOW - timedelta(hours=1), ended=True, updated_at=NOW),
                AuctionSnapshot(auctions["h"], next_poll_at=None, updated_at=NOW),  # never scheduled
                AuctionSnapshot(AUCTION_A, next_poll_at=NOW - timedelta(hours=1), updated_at=NOW),
            ],
        )
    lease_until = NOW + timedelta(minutes=2)
    with session_scope(engine) as session:
        due = {
            d.auction_id: d
            for d in auction_states.lease_due_auctions(session, due_by=NOW, lease_until=lease_until, now=NOW, limit=100)
        }
    # "d" has no state yet, "h" no next poll, "e" is overdue; "f" is not due, "g" is over, nobody watches A.
    assert sorted(due) == [auctions["d"], auctions["e"], auctions["h"]]
    assert due[auctions["d"]].snapshot is not None and not due[auctions["d"]].snapshot.seen, "a row, never seen"
    assert due[auctions["e"]].snapshot is not None and due[auctions["e"]].remind_minutes == frozenset({""})
    with session_scope(engine) as session:
        again = auction_states.lease_due_auctions(session, due_by=NOW, lease_until=lease_until, now=NOW, limit=100)
        assert again == [], "leased: not due again until the lease ends"
        expired = auction_states.lease_due_auctions(
            session, due_by=lease_until, lease_until=lease_until + timedelta(minutes=2), now=NOW, limit=100
        )
    assert sorted(d.auction_id for d in expired) == sorted([auctions["d"], auctions["e"], auctions["f"], auctions["h"]])


def test_a_lease_takes_at_most_its_limit_most_overdue_first(engine: Engine) -> None:
    alice = _user(engine, "alice")
    ids = ["0x" + f"{n:064x}" for n in range(1, 6)]
    with session_scope(engine) as session:
        for n, auction_id in enumerate(ids):
            watches.add_watch(
                session, chat_user_id=alice, auction_id=auction_id, platform="telegram", chat_id="1", now=NOW
            )
            auction_states.save_snapshots(
                session, inserts=[AuctionSnapshot(auction_id, next_poll_at=NOW - timedelta(minutes=n), updated_at=NOW)]
            )
    with session_scope(engine) as session:
        first = auction_states.lease_due_auctions(
            session, due_by=NOW, lease_until=NOW + timedelta(minutes=2), now=NOW, limit=2
        )
        rest = auction_states.lease_due_auctions(
            session, due_by=NOW, lease_until=NOW + timedelta(minutes=2), now=NOW, limit=10
        )
    assert [d.auction_id for d in first] == [ids[4], ids[3]]
    assert sorted(d.auction_id for d in rest) == sorted(ids[:3])


def test_deactivate_watches_for_chat_stops_only_that_chats_active_watches(engine: Engine) -> None:
    alice = _user(engine, "alice")
    with session_scope(engine) as session:
        watches.add_watch(session, chat_user_id=alice, auction_id=AUCTION_A, platform="telegram", chat_id="1", now=NOW)
        watches.add_watch(session, chat_user_id=alice, auction_id=AUCTION_B, platform="telegram", chat_id="1", now=NOW)
        watches.add_watch(session, chat_user_id=alice, auction_id=AUCTION_C, platform="discord", chat_id="1", now=NOW)
        watches.deactivate_watch(session, chat_user_id=alice, auction_id=AUCTION_B)
    with session_scope(engine) as session:
        assert watches.deactivate_watches_for_chat(session, platform="telegram", chat_id="1") == 1
    with session_scope(engine) as session:
        assert [w.auction_id for w in watches.active_watches_for_user(session, chat_user_id=alice)] == [AUCTION_C]


def test_save_snapshots_inserts_then_updates_one_row_per_auction(engine: Engine) -> None:
    with session_scope(engine) as session:
        first = AuctionSnapshot(AUCTION_A_UPPERCASE, bid_count=1, updated_at=NOW)
        auction_states.save_snapshots(session, inserts=[first])
    with session_scope(engine) as session:
        state = auction_states.load_snapshots(session, auction_ids=[AUCTION_A])[AUCTION_A]
        changed = replace(state, bid_count=2, top_amount=10**15, last_bid_id="0x" + "d" * 64)
        auction_states.save_snapshots(session, updates=[changed])
    with session_scope(engine) as session:
        states = auction_states.load_snapshots(session, auction_ids=[AUCTION_A, AUCTION_B])
    assert list(states) == [AUCTION_A]
    assert (states[AUCTION_A].bid_count, states[AUCTION_A].top_amount) == (2, 10**15)


# --- outbox -----------------------------------------------------------------------------------------


def _enqueue(session, key: str, *, now: datetime = NOW, chat_user_id: int | None = None) -> bool:
    return outbox.enqueue_notification(
        session,
        dedupe_key=key,
        platform="telegram",
        chat_id="1",
        chat_user_id=chat_user_id,
        kind="outbid",
        payload={"text": f"message {key}"},
        now=now,
    )


PLATFORMS = ("telegram", "discord", "console")


def _due(session, *, now: datetime, limit: int = 100, platforms=PLATFORMS) -> list[Notification]:
    """What a dispatcher would take now, through the query it runs, leased no longer than this instant."""
    return outbox.lease_due_notifications(session, now=now, until=now, platforms=platforms, limit=limit)


def _count(session, *, kind: str | None = None, sent: bool | None = None, gave_up: bool | None = None) -> int:
    query = select(func.count()).select_from(Notification)
    if kind is not None:
        query = query.where(Notification.kind == kind)
    if sent is not None:
        query = query.where(col(Notification.sent_at).is_not(None) if sent else col(Notification.sent_at).is_(None))
    if gave_up is not None:
        query = query.where(col(Notification.gave_up).is_(gave_up))
    return session.exec(query).one()


def _find(session, key: str) -> Notification | None:
    return session.exec(select(Notification).where(Notification.dedupe_key == key)).first()


def test_enqueueing_a_duplicate_dedupe_key_returns_false_and_keeps_the_transaction_usable(engine: Engine) -> None:
    alice = _user(engine, "alice")
    with session_scope(engine) as session:
        assert _enqueue(session, f"outbid:{AUCTION_A}:1:{alice}", chat_user_id=alice)
        assert not _enqueue(session, f"outbid:{AUCTION_A}:1:{alice}", chat_user_id=alice)
        auction_states.save_snapshots(session, inserts=[AuctionSnapshot(AUCTION_A, bid_count=1, updated_at=NOW)])
    with session_scope(engine) as session:
        assert not _enqueue(session, f"outbid:{AUCTION_A}:1:{alice}")
        assert _count(session) == 1
        assert auction_states.load_snapshots(session, auction_ids=[AUCTION_A])[AUCTION_A].bid_count == 1
        stored = _find(session, f"outbid:{AUCTION_A}:1:{alice}")
    assert stored is not None and stored.payload == '{"text": "message outbid:' + AUCTION_A + f':1:{alice}"}}'


def test_enqueue_refuses_a_dedupe_key_longer_than_the_column(engine: Engine) -> None:
    with pytest.raises(ValueError, match="dedupe_key"), session_scope(engine) as session:
        _enqueue(session, "k" * 201)


def test_a_dispatcher_takes_the_unsent_due_ones_oldest_first(engine: Engine) -> None:
    with session_scope(engine) as session:
        _enqueue(session, "later", now=NOW + timedelta(minutes=1))
        _enqueue(session, "second", now=NOW - timedelta(minutes=1))
        _enqueue(session, "first", now=NOW - timedelta(minutes=2))
        _enqueue(session, "sent", now=NOW - timedelta(minutes=3))
        sent = _find(session, "sent")
        assert sent is not None and sent.id is not None
        outbox.mark_notification_sent(session, notification_id=sent.id, at=NOW)
    with session_scope(engine) as session:
        assert [n.dedupe_key for n in _due(session, now=NOW)] == ["first", "second"]
        assert [n.dedupe_key for n in _due(session, now=NOW, limit=1)] == ["first"]


def test_a_failed_send_is_retried_later_and_a_given_up_one_never_again(engine: Engine) -> None:
    with session_scope(engine) as session:
        _enqueue(session, "flaky")
        _enqueue(session, "hopeless")
        ids = {n.dedupe_key: n.id for n in _due(session, now=NOW)}
    retry_at = NOW + timedelta(seconds=30)
    with session_scope(engine) as session:
        assert outbox.mark_notification_failed(
            session, notification_id=ids["flaky"], error="timeout " * 100, next_attempt_at=retry_at, give_up=False
        )
        outbox.mark_notification_failed(
            session, notification_id=ids["hopeless"], error="chat not found", next_attempt_at=retry_at, give_up=True
        )
        assert not outbox.mark_notification_sent(session, notification_id=999_999, at=NOW)
    with session_scope(engine) as session:
        assert _due(session, now=NOW) == []
        (flaky,) = _due(session, now=retry_at)
        assert (flaky.dedupe_key, flaky.attempts, len(flaky.last_error or "")) == ("flaky", 1, 500)
        outbox.mark_notification_sent(session, notification_id=ids["flaky"], at=retry_at)
    with session_scope(engine) as session:
        stored = session.get(Notification, ids["flaky"])
        assert stored is not None and (stored.attempts, stored.sent_at) == (2, retry_at)
        assert _due(session, now=retry_at + timedelta(days=1)) == []
        assert _count(session, sent=True) == 1
        assert _count(session, sent=False, gave_up=True) == 1
        assert _count(session, kind="outbid", gave_up=False) == 1
        assert _count(session, kind="won") == 0


# --- button tokens and key-values -------------------------------------------------------------------


def test_button_tokens_are_short_url_safe_and_reused_for_the_same_action(engine: Engine) -> None:
    command = f"bid {AUCTION_A} 150"
    with session_scope(engine) as session:
        token = buttons.store_button(session, command=command, edits=False, now=NOW)
        other = buttons.store_button(session, command="watch " + AUCTION_A, edits=False, now=NOW)
        editing = buttons.store_button(session, command=command, edits=True, now=NOW)
    with session_scope(engine) as session:
        assert buttons.store_button(session, command=command, edits=False, now=NOW) == token
        assert buttons.find_button(session, token=token) == buttons.StoredButton(command, False, NOW)
        assert buttons.find_button(session, token=editing) == buttons.StoredButton(command, True, NOW)
    assert len({token, other, editing}) == 3, "what a button does, edit in place included, has its own token"
    assert len(token) <= 16 and len(token.encode()) <= 16
    assert set(token) <= set(string.ascii_letters + string.digits + "-_")


def test_a_button_token_is_kept_by_its_last_use_written_at_most_daily(engine: Engine) -> None:
    with session_scope(engine) as session:
        token = buttons.store_button(session, command="items 2", edits=True, now=NOW)
    for hours in (1, 12, 23):  # used again and again within the day: nothing to write
        with session_scope(engine) as session:
            buttons.touch_button(session, token=token, now=NOW + timedelta(hours=hours))
            assert buttons.find_button(session, token=token).last_used_at == NOW
    later = NOW + timedelta(days=1, hours=1)
    with session_scope(engine) as session:
        assert buttons.find_button(session, token=token).stale(later)
        buttons.store_button(session, command="items 2", edits=True, now=later)  # shown again under a new message
        assert buttons.find_button(session, token=token).last_used_at == later
        assert buttons.prune_buttons(session, unused_since=later - timedelta(minutes=1)) == 0
        assert buttons.prune_buttons(session, unused_since=later + timedelta(minutes=1)) == 1


def test_button_tokens_survive_a_restart(sqlite_path: Path) -> None:
    url = f"sqlite:///{sqlite_path}"
    first = create_db_engine(url)
    with session_scope(first) as session:
        token = buttons.store_button(session, command="items", edits=False, now=NOW)
    first.dispose()
    second = create_db_engine(url)
    with session_scope(second) as session:
        assert buttons.find_button(session, token=token).command == "items"
    second.dispose()


@pytest.mark.parametrize("token", ["", "nope", "x" * 17, "e:abc", "a\x00b"])
def test_an_unknown_button_token_resolves_to_none(engine: Engine, token: str) -> None:
    with session_scope(engine) as session:
        assert buttons.find_button(session, token=token) is None


def test_set_value_stores_and_overwrites_small_bot_state(engine: Engine) -> None:
    with session_scope(engine) as session:
        assert key_values.get_value(session, key="discord_tree_hash") is None
        key_values.set_value(session, key="discord_tree_hash", value="abc")
    with session_scope(engine) as session:
        key_values.set_value(session, key="discord_tree_hash", value="def")
    with session_scope(engine) as session:
        assert key_values.get_value(session, key="discord_tree_hash") == "def"


@given(st.lists(st.integers(min_value=-5, max_value=10_000)))
def test_reminder_minutes_parse_to_positive_distinct_minutes_largest_first(minutes: list[int]) -> None:
    parsed = split_minutes(",".join(map(str, minutes)))
    assert parsed == sorted({m for m in minutes if m > 0}, reverse=True)


# --- queries the poller and dispatcher use ----------------------------------------------------------


def test_platform_user_ids_maps_chat_user_ids_and_leaves_out_unknown_ones(engine: Engine) -> None:
    alice, bob = _user(engine, "alice"), _user(engine, "bob", platform="discord")
    with session_scope(engine) as session:
        assert users.platform_user_ids(session, chat_user_ids=[alice, bob, 999_999]) == {alice: "alice", bob: "bob"}
        assert users.platform_user_ids(session, chat_user_ids=[]) == {}


def test_watcher_rows_by_auction_gives_plain_rows_with_each_watchers_ids(engine: Engine) -> None:
    alice = _user(engine, "alice")
    with session_scope(engine) as session:
        users.set_auctionity_user_id(session, chat_user_id=alice, auctionity_user_id="auc-alice")
        watches.add_watch(
            session,
            chat_user_id=alice,
            auction_id=AUCTION_A,
            platform="telegram",
            chat_id="5",
            remind_minutes="10",
            now=NOW,
        )
    with session_scope(engine) as session:
        rows = watches.watcher_rows_by_auction(session, auction_ids=[AUCTION_A_UPPERCASE, AUCTION_B])
    assert list(rows) == [AUCTION_A]
    (row,) = rows[AUCTION_A]
    assert (row.chat_user_id, row.platform, row.chat_id, row.remind_minutes) == (alice, "telegram", "5", "10")
    assert (row.platform_user_id, row.auctionity_user_id) == ("alice", "auc-alice")


def test_ended_auctions_watched_after_their_last_state_are_owed_a_result(engine: Engine) -> None:
    alice = _user(engine, "alice")
    with session_scope(engine) as session:
        for auction_id, watched_at in [(AUCTION_A, NOW), (AUCTION_B, NOW - timedelta(hours=2))]:
            watch = watches.add_watch(
                session,
                chat_user_id=alice,
                auction_id=auction_id,
                platform="telegram",
                chat_id="1",
                now=NOW,
            )
            watch.created_at = watched_at
            snapshot = AuctionSnapshot(
                auction_id, ended=True, end_date=NOW - timedelta(days=1), updated_at=NOW - timedelta(hours=1)
            )
            auction_states.save_snapshots(session, inserts=[snapshot])
    with session_scope(engine) as session:
        assert auction_states.ended_auction_ids_with_new_watches(session) == [AUCTION_A]


def test_due_notifications_can_be_limited_to_the_platforms_that_can_send(engine: Engine) -> None:
    with session_scope(engine) as session:
        _enqueue(session, "tg")
        outbox.enqueue_notification(
            session,
            dedupe_key="dc",
            platform="discord",
            chat_id="9",
            chat_user_id=None,
            kind="won",
            payload="{}",
            now=NOW,
        )
        _enqueue(session, "tg-later", now=NOW + timedelta(hours=1))
    with session_scope(engine) as session:
        assert outbox.platforms_with_due_notifications(session, now=NOW) == {"telegram", "discord"}
        due = _due(session, now=NOW, platforms={"discord"})
        assert [n.dedupe_key for n in due] == ["dc"]
        assert _due(session, now=NOW, platforms=[]) == []


def test_deferring_a_notification_moves_its_retry_without_counting_an_attempt(engine: Engine) -> None:
    later = NOW + timedelta(seconds=30)
    with session_scope(engine) as session:
        _enqueue(session, "slow-down")
        (row,) = _due(session, now=NOW)
        assert outbox.defer_notification(session, notification_id=row.id, until=later, error="retry after 30s")
        assert not outbox.defer_notification(session, notification_id=999_999, until=later, error="x")
    with session_scope(engine) as session:
        assert _due(session, now=NOW) == []
        (row,) = _due(session, now=later)
        assert (row.attempts, row.last_error) == (0, "retry after 30s")


def test_deferring_or_giving_up_a_chat_touches_only_that_chats_pending_notifications(engine: Engine) -> None:
    later = NOW + timedelta(minutes=5)
    with session_scope(engine) as session:
        _enqueue(session, "chat-1-a")
        _enqueue(session, "chat-1-b", now=NOW + timedelta(minutes=10))  # already due after `later`
        outbox.enqueue_notification(
            session,
            dedupe_key="chat-2",
            platform="telegram",
            chat_id="2",
            chat_user_id=None,
            kind="won",
            payload="{}",
            now=NOW,
        )
    with session_scope(engine) as session:
        assert outbox.defer_chat_notifications(session, platform="telegram", chat_id="1", until=later) == 1
    with session_scope(engine) as session:
        assert [n.dedupe_key for n in _due(session, now=NOW)] == ["chat-2"]
        assert outbox.give_up_chat_notifications(session, platform="telegram", chat_id="1", error="bot blocked") == 2
    with session_scope(engine) as session:
        assert _count(session, gave_up=True) == 2
        assert [n.dedupe_key for n in _due(session, now=NOW + timedelta(days=1))] == ["chat-2"]
