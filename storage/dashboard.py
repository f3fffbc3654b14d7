"""The staff dashboard's own rows: one-time sign-in links, sessions, the staff audit log, and buyer imports."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from storage.models import DashboardImport, DashboardLogin, DashboardSession, StaffAction

DETAIL_MAX = 500


def add_login(
    session: Session, *, token_hash: str, staff: str, language: str | None, now: datetime, expires_at: datetime
) -> None:
    """Keep a sign-in link (its token's hash) for ``staff`` until ``expires_at``."""
    session.add(
        DashboardLogin(token_hash=token_hash, staff=staff, language=language, created_at=now, expires_at=expires_at)
    )
    session.flush()


def use_login(session: Session, *, token_hash: str, now: datetime) -> DashboardLogin | None:
    """Spend a sign-in link: the link as it was, or None when it is unknown, used or expired.

    One conditional UPDATE, so two requests racing with the same link cannot both get in, on any database.
    """
    spent = session.exec(
        update(DashboardLogin)
        .where(
            col(DashboardLogin.token_hash) == token_hash,
            col(DashboardLogin.used_at).is_(None),
            col(DashboardLogin.expires_at) > now,
        )
        .values(used_at=now)
    ).rowcount
    return session.get(DashboardLogin, token_hash) if spent == 1 else None


def add_session(
    session: Session,
    *,
    token_hash: str,
    staff: str,
    language: str | None,
    via: str,
    now: datetime,
    expires_at: datetime,
) -> None:
    session.add(
        DashboardSession(
            token_hash=token_hash, staff=staff, language=language, via=via, created_at=now, expires_at=expires_at
        )
    )
    session.flush()


def find_session(session: Session, *, token_hash: str, now: datetime) -> DashboardSession | None:
    """The session a cookie's token names, if it has not expired."""
    row = session.get(DashboardSession, token_hash)
    return row if row is not None and row.expires_at > now else None


def end_session(session: Session, *, token_hash: str) -> bool:
    return session.exec(delete(DashboardSession).where(col(DashboardSession.token_hash) == token_hash)).rowcount > 0


def end_sessions_of(session: Session, *, staff: str) -> int:
    """Sign ``staff`` out everywhere, and spend their unused links; how many sessions ended."""
    session.exec(delete(DashboardLogin).where(col(DashboardLogin.staff) == staff))
    return session.exec(delete(DashboardSession).where(col(DashboardSession.staff) == staff)).rowcount


def record_staff_action(
    session: Session, *, staff: str, action: str, now: datetime, detail: str = "", chat_user_id: int | None = None
) -> None:
    """One line of the staff audit log. ``detail`` is what a reader needs, never a full code or token."""
    session.add(StaffAction(at=now, staff=staff, action=action, detail=detail[:DETAIL_MAX], chat_user_id=chat_user_id))
    session.flush()


def staff_actions_about(session: Session, *, chat_user_id: int) -> list[StaffAction]:
    """What staff did about one buyer, oldest first."""
    query = select(StaffAction).where(StaffAction.chat_user_id == chat_user_id)
    return list(session.exec(query.order_by(col(StaffAction.at), col(StaffAction.id))))


def recent_staff_actions(session: Session, *, limit: int = 20) -> list[StaffAction]:
    return list(session.exec(select(StaffAction).order_by(col(StaffAction.id).desc()).limit(limit)))


def start_import(session: Session, *, staff: str, total: int, now: datetime) -> int:
    row = DashboardImport(staff=staff, created_at=now, total=total)
    session.add(row)
    session.flush()
    assert row.id is not None
    return row.id


OUTCOMES = ("imported", "invalid", "claimed", "failed")


def import_progress(
    session: Session, *, import_id: int, lines: Sequence[tuple[int, str, str, str, str]], finished_at: datetime | None
) -> None:
    """Add report ``lines`` (line, platform, user id, masked code, outcome) to an import; ``finished_at`` ends it."""
    row = session.get(DashboardImport, import_id)
    if row is None:
        return
    report = json.loads(row.report)
    report.extend(list(line) for line in lines)
    row.report = json.dumps(report, ensure_ascii=False)
    row.done += len(lines)
    for line in lines:
        outcome = line[4]
        setattr(row, outcome, getattr(row, outcome) + 1)
    if finished_at is not None:
        row.finished_at = finished_at
    session.flush()


def get_import(session: Session, *, import_id: int) -> DashboardImport | None:
    return session.get(DashboardImport, import_id)


def prune_dashboard(session: Session, *, now: datetime, audit_before: datetime) -> int:
    """Forget expired links and sessions, and audit lines and imports older than the audit log is kept."""
    gone = session.exec(delete(DashboardLogin).where(col(DashboardLogin.expires_at) < now)).rowcount
    gone += session.exec(delete(DashboardSession).where(col(DashboardSession.expires_at) < now)).rowcount
    gone += session.exec(delete(StaffAction).where(col(StaffAction.at) < audit_before)).rowcount
    gone += session.exec(delete(DashboardImport).where(col(DashboardImport.created_at) < audit_before)).rowcount
    return gone
