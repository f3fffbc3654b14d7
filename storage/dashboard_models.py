"""Tables of the staff dashboard: sign-in links, sessions, the staff audit log and buyer imports (registered by
``storage.models``). Links and sessions keep only a keyed hash of their token: a copy of the database signs nobody in.
"""

# No `from __future__ import annotations` here: SQLModel reads the annotations at class creation.

from datetime import datetime

from sqlalchemy import Text
from sqlmodel import Field, SQLModel

from storage.columns import chat_user_column, id_column, when_column


class DashboardLogin(SQLModel, table=True):
    """A one-time sign-in link sent to one staff member; used at most once, before ``expires_at``."""

    __tablename__ = "dashboard_login"

    token_hash: str = Field(primary_key=True, max_length=64)
    staff: str = Field(max_length=100, index=True)  # platform:user id, as GAVEL_ADMINS names them
    language: str | None = Field(default=None, max_length=16)  # the staff member's, when they asked for it
    created_at: datetime = when_column()
    expires_at: datetime = when_column(index=True)
    used_at: datetime | None = when_column(nullable=True)


class DashboardSession(SQLModel, table=True):
    """A signed-in browser: the cookie holds the token, this row its hash."""

    __tablename__ = "dashboard_session"

    token_hash: str = Field(primary_key=True, max_length=64)
    staff: str = Field(max_length=100, index=True)
    language: str | None = Field(default=None, max_length=16)
    via: str = Field(max_length=10)  # link | web_app: how it signed in
    created_at: datetime = when_column()
    expires_at: datetime = when_column(index=True)


class StaffAction(SQLModel, table=True):
    """The staff audit log: who did what, when, and to whom; ``detail`` never holds a full code or token."""

    __tablename__ = "staff_action"

    id: int | None = id_column()
    at: datetime = when_column(index=True)
    staff: str = Field(max_length=100, index=True)
    action: str = Field(max_length=30)  # sign_in, sign_out, remove_grant, export, import, import_bound...
    detail: str = Field(default="", max_length=500)
    chat_user_id: int | None = chat_user_column(nullable=True, index=True)  # the buyer it concerns, if one


class DashboardImport(SQLModel, table=True):
    """A CSV import of buyers: its progress, and the report line by line (codes masked)."""

    __tablename__ = "dashboard_import"

    id: int | None = id_column()
    staff: str = Field(max_length=100)
    created_at: datetime = when_column()
    finished_at: datetime | None = when_column(nullable=True)
    total: int = Field(default=0)
    done: int = Field(default=0)
    imported: int = Field(default=0)
    invalid: int = Field(default=0)
    claimed: int = Field(default=0)
    failed: int = Field(default=0)
    report: str = Field(default="[]", sa_type=Text)  # JSON: [[line, platform, user id, masked code, outcome], ...]
