"""Alembic migrations: they build the schema the models describe, and undo it, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel

from storage import users
from storage.db import create_db_engine, current_revision, downgrade, head_revision, session_scope, upgrade
from storage.models import ChatUser, Watch

POSTGRES_URL = os.environ.get("GAVEL_TEST_POSTGRES_URL")
TABLES = set(SQLModel.metadata.tables)  # every table the models describe, and no other


def _drop_everything(engine: Engine) -> None:
    SQLModel.metadata.drop_all(engine)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on a database with no tables at all."""
    if request.param == "sqlite":
        engine = create_db_engine(f"sqlite:///{tmp_path / 'gavel.db'}")
        yield engine
        engine.dispose()
        return
    if not POSTGRES_URL:
        pytest.skip(
            "set GAVEL_TEST_POSTGRES_URL=postgresql://user:password@127.0.0.1/db to run these against PostgreSQL "
            "(a throw-away database: the tests drop every table in it)"
        )
    engine = create_db_engine(POSTGRES_URL)
    _drop_everything(engine)
    yield engine
    _drop_everything(engine)
    engine.dispose()


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def test_upgrade_from_empty_creates_every_table_and_reaches_head(empty_engine: Engine) -> None:
    assert current_revision(empty_engine) is None
    upgrade(empty_engine)
    assert _tables(empty_engine) == TABLES
    # Revision ids may name their work after the number ("0009_dashboard"): the head is the newest number's.
    newest = max(
        p.name.split("_", 1)[0] for p in (Path(__file__).parents[2] / "storage/migrations/versions").glob("0*.py")
    )
    assert current_revision(empty_engine) == head_revision()
    assert head_revision().split("_", 1)[0] == newest


def test_migrated_schema_matches_the_models_exactly(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    with empty_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []


def test_downgrade_to_base_drops_everything_and_upgrade_builds_it_again(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    downgrade(empty_engine, "base")
    assert _tables(empty_engine) == set()
    assert current_revision(empty_engine) is None
    upgrade(empty_engine)
    assert _tables(empty_engine) == TABLES
    with session_scope(empty_engine) as session:
        users.get_or_create_chat_user(session, platform="console", platform_user_id="me", now=datetime.now(UTC))


def test_upgrading_twice_changes_nothing(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    upgrade(empty_engine)
    assert current_revision(empty_engine) == head_revision()


def test_upgrade_accepts_a_database_url(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'by-url.db'}"
    upgrade(url)
    engine = create_db_engine(url)
    assert _tables(engine) == TABLES
    engine.dispose()


def test_upgrade_migrates_an_in_memory_database_in_place() -> None:
    engine = create_db_engine("sqlite://")
    upgrade(engine)
    with session_scope(engine) as session:
        session.add(ChatUser(platform="console", platform_user_id="me", created_at=datetime.now(UTC)))
    assert _tables(engine) == TABLES
    engine.dispose()


def test_foreign_keys_are_enforced_after_migration(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    with pytest.raises(IntegrityError), session_scope(empty_engine) as session:
        session.add(
            Watch(chat_user_id=12345, auction_id="0x1", platform="telegram", chat_id="1", created_at=datetime.now(UTC))
        )
