"""Small bits of state by key: an adapter's links and hashes, a place's settings, one-off upkeep marks."""

from __future__ import annotations

from sqlalchemy import delete
from sqlmodel import Session, col

from storage.db import insert_or_find
from storage.models import KeyValue


def get_value(session: Session, *, key: str) -> str | None:
    row = session.get(KeyValue, key)
    return row.value if row is not None else None


def delete_value(session: Session, *, key: str) -> bool:
    return session.exec(delete(KeyValue).where(col(KeyValue.key) == key)).rowcount > 0


def set_value(session: Session, *, key: str, value: str) -> None:
    row = session.get(KeyValue, key)
    if row is None:
        row = insert_or_find(session, KeyValue(key=key, value=value), lambda: session.get(KeyValue, key))
    row.value = value
    session.flush()
