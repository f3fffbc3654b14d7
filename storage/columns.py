"""Column helpers every table module shares: aware UTC timestamps, ids, a chat user's foreign key."""

# No `from __future__ import annotations` here: SQLModel reads the annotations at class creation.

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Integer, types
from sqlalchemy.engine import Dialect
from sqlmodel import Field


class TZDateTime(types.TypeDecorator[datetime]):
    """A timestamp that goes in and comes out as an aware UTC datetime, on every database.

    SQLite has no time zones: values are stored there as naive UTC text, which also keeps
    string comparison in SQL (``next_attempt_at <= :now``) chronological. Naive datetimes
    are refused rather than guessed at, so a missing ``tzinfo`` fails loudly in tests.
    """

    impl = types.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.utcoffset() is None:
            raise ValueError("naive datetime: use an aware UTC datetime, e.g. datetime.now(UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.utcoffset() is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def coerce_compared_value(self, op: Any, value: Any) -> types.TypeEngine[Any]:
        # Keep `column + timedelta` an interval expression instead of binding a timedelta as a timestamp.
        if isinstance(value, timedelta):
            return types.Interval()
        return self


# SQLite only auto-numbers a column declared exactly INTEGER PRIMARY KEY, so BIGINT there would
# leave new rows without an id.
BigIntId = BigInteger().with_variant(Integer(), "sqlite")


def id_column() -> Any:
    return Field(default=None, primary_key=True, sa_type=BigIntId)


def when_column(*, nullable: bool = False, index: bool = False) -> Any:
    if nullable:
        return Field(default=None, sa_type=TZDateTime, nullable=True, index=index)
    # No default: every time comes from the caller's (injectable) clock, and a forgotten one fails loudly.
    return Field(sa_type=TZDateTime, nullable=False, index=index)


def chat_user_column(*, nullable: bool = False, index: bool = False) -> Any:
    if nullable:
        kwargs: dict[str, Any] = {"default": None}
    else:
        kwargs = {}
    return Field(
        **kwargs,
        foreign_key="chat_user.id",
        ondelete="SET NULL" if nullable else "CASCADE",
        sa_type=BigInteger,
        nullable=nullable,
        index=index,
    )
