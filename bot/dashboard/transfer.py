"""Buyers in and out as CSV: the export (codes masked, never whole), and the import of existing buyers, each code
checked with CryptoGig at the paced budget and bound through /verify's own path, with a report page that follows
a long import as it goes.

The CSV's columns are identifiers, not words (the same in every language, so a file goes back in as it came out):
``platform,user_id,code`` first, which is all an import reads; the export adds name, item, state and dates.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime

from aiolimiter import AsyncLimiter
from sqlmodel import Session
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bot.access import notices as buyers
from bot.access.verify import verify_for
from bot.core import formatting as fmt
from bot.core.arguments import convert
from bot.core.common import CODE
from bot.core.config import PLATFORMS
from bot.core.errors import CodeAlreadyClaimed, GavelError, InvalidPurchaseCode
from bot.core.i18n import _
from bot.core.messages import Request as ChatRequest
from bot.core.services import Services
from bot.dashboard.desk import MAX_FORM_BYTES, Desk, not_found, staff_page
from bot.dashboard.pages import USER_ID
from bot.dashboard.signin import Staff
from storage import dashboard, overview, users
from storage.claims import ClaimView
from storage.errors import DatabaseUnavailable

log = logging.getLogger(__name__)

COLUMNS = ("platform", "user_id", "code", "name", "item_id", "state", "verified_at", "revoked_at", "supported_until")
MAX_ROWS = 10_000
REPORT_SHOWN = 1_000
FLUSH_EVERY, FLUSH_SECONDS = 25, 1.0  # progress reaches the report page this often
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    """A cell a spreadsheet shows as text: a name like ``=HYPERLINK(…)`` must not become a formula there."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _when(moment: datetime | None) -> str:
    return fmt.as_utc(moment).isoformat(timespec="seconds") if moment else ""


def export_text(services: Services, views: list[ClaimView]) -> str:
    """Every claim as CSV; the code masked (``abcd…6789``)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for view in views:
        state = "active" if view.active else "revoked"
        writer.writerow(
            _cell(value)
            for value in (
                view.platform, view.platform_user_id, buyers.masked_code(services.box, view.code_encrypted),
                view.display_name, view.item_id, state, _when(view.verified_at), _when(view.revoked_at),
                _when(view.supported_until),
            )
        )  # fmt: skip
    return out.getvalue()


@staff_page()
async def transfer_page(request: Request, desk: Desk, staff: Staff) -> Response:
    """Export and import: one button, one form."""
    return desk.render(request, "transfer.html", problem=request.query_params.get("problem", ""), limit=MAX_ROWS)


@staff_page("POST")
async def export_action(request: Request, desk: Desk, staff: Staff) -> Response:
    services = desk.services
    views = await services.db.read(overview.all_claims)
    text = await asyncio.to_thread(export_text, services, views)  # a decryption per claim: off the event loop
    now = services.now()
    detail = f"{len(views)} claims"
    await services.db.run(
        lambda s: dashboard.record_staff_action(s, staff=staff.who, action="export", now=now, detail=detail)
    )
    name = f"gavel-buyers-{now:%Y%m%d-%H%M}.csv"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(text.encode("utf-8-sig"), media_type="text/csv; charset=utf-8", headers=headers)


@dataclass(frozen=True)
class ImportLine:
    line: int
    platform: str
    user_id: str
    code: str | None  # normalised; None when the line is not usable
    masked: str


def parse_import(text: str, now: datetime) -> list[ImportLine]:
    """The lines of an import file: ``platform,user_id,code`` (a header line and blank lines skipped)."""
    lines: list[ImportLine] = []
    for number, cells in enumerate(csv.reader(io.StringIO(text)), start=1):
        cells = [cell.strip() for cell in cells]
        if not any(cells) or (number == 1 and cells[0].lower() == "platform"):
            continue
        platform, user_id, raw = [*cells, "", "", ""][:3]
        platform = platform.lower()
        try:
            code = convert(CODE, raw, now)
        except GavelError:
            code = None
        usable = platform in PLATFORMS and USER_ID.match(user_id) is not None and code is not None
        lines.append(ImportLine(number, platform[:20], user_id[:64], code if usable else None, fmt.mask(raw)[:20]))
    return lines


@staff_page("POST")
async def import_action(request: Request, desk: Desk, staff: Staff) -> Response:
    upload = request.state.form.get("file")
    if not isinstance(upload, UploadFile):
        return RedirectResponse("/transfer?problem=empty", status_code=303)
    data = await upload.read(MAX_FORM_BYTES + 1)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return RedirectResponse("/transfer?problem=encoding", status_code=303)
    try:
        lines = parse_import(text, desk.services.now())
    except csv.Error:
        return RedirectResponse("/transfer?problem=csv", status_code=303)
    if not lines:
        return RedirectResponse("/transfer?problem=empty", status_code=303)
    if len(lines) > MAX_ROWS or len(data) > MAX_FORM_BYTES:
        return RedirectResponse("/transfer?problem=too_many", status_code=303)
    import_id = await request.app.state.imports.start(staff.who, lines)
    return RedirectResponse(f"/import/{import_id}", status_code=303)


@staff_page()
async def import_page(request: Request, desk: Desk, staff: Staff) -> Response:
    """An import's report, refreshed every two seconds while it runs."""
    text = request.path_params["import_id"]
    if not text.isdigit() or len(text) > 18:
        return not_found()
    found = await desk.services.db.read(lambda s: dashboard.get_import(s, import_id=int(text)))
    if found is None:
        return not_found()
    report = json.loads(found.report)
    words = {
        # Translators: how one line of a CSV import went: the purchase is now bound to that person
        "imported": _("imported"),
        # Translators: how one line of a CSV import went: CryptoGig does not know the code, or the line is malformed
        "invalid": _("invalid"),
        # Translators: how one line of a CSV import went: the code is bound to someone else already
        "claimed": _("already claimed"),
        # Translators: how one line of a CSV import went: no answer could be had (try again later)
        "failed": _("not checked"),
    }
    lines = [(line, platform, user_id, masked, words.get(outcome, outcome)) for line, platform, user_id, masked,
             outcome in report[:REPORT_SHOWN]]  # fmt: skip
    return desk.render(request, "import.html", job=found, lines=lines, more=max(0, len(report) - REPORT_SHOWN))


class Imports:
    """Imports running in this process: each line checked at the shared pace, its outcome written as it goes."""

    def __init__(self, services: Services) -> None:
        self.services = services
        per_second = services.settings.cryptogig_per_second
        self.pace = AsyncLimiter(1, 1 / per_second)  # one at a time, evenly spaced: never a burst
        self.tasks: set[asyncio.Task[None]] = set()

    async def start(self, staff: str, lines: list[ImportLine]) -> int:
        now = self.services.now()

        def begin(session: Session) -> int:
            detail = f"{len(lines)} lines"
            dashboard.record_staff_action(session, staff=staff, action="import", now=now, detail=detail)
            return dashboard.start_import(session, staff=staff, total=len(lines), now=now)

        import_id = await self.services.db.run(begin)
        task = asyncio.create_task(self._run(import_id, staff, lines), name=f"dashboard-import-{import_id}")
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return import_id

    async def close(self) -> None:
        """Stop running imports (at shutdown); each writes what it did, and counts the rest as not checked."""
        for task in list(self.tasks):
            task.cancel()
        for task in list(self.tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _run(self, import_id: int, staff: str, lines: list[ImportLine]) -> None:
        batch: list[tuple[int, str, str, str, str]] = []
        flushed = time.monotonic()
        remaining = list(lines)
        try:
            while remaining:
                line = remaining.pop(0)
                batch.append((line.line, line.platform, line.user_id, line.masked, await self._one(staff, line)))
                if len(batch) >= FLUSH_EVERY or time.monotonic() - flushed > FLUSH_SECONDS:
                    await self._flush(import_id, batch, finished=False)
                    batch, flushed = [], time.monotonic()
        except asyncio.CancelledError:
            batch += [(line.line, line.platform, line.user_id, line.masked, "failed") for line in remaining]
            await self._flush(import_id, batch, finished=True)
            raise
        await self._flush(import_id, batch, finished=True)

    async def _flush(self, import_id: int, batch: list[tuple[int, str, str, str, str]], *, finished: bool) -> None:
        at = self.services.now() if finished else None
        await self.services.db.run(
            lambda s: dashboard.import_progress(s, import_id=import_id, lines=batch, finished_at=at)
        )

    async def _one(self, staff: str, line: ImportLine) -> str:
        """One line: checked with CryptoGig and bound as /verify binds; the outcome's name."""
        if line.code is None:
            return "invalid"
        await self.pace.acquire()
        person = ChatRequest(platform=line.platform, user_id=line.user_id, chat_id=line.user_id)
        try:
            purchase = await verify_for(self.services, person, line.code)
        except InvalidPurchaseCode:
            return "invalid"
        except CodeAlreadyClaimed:
            return "claimed"
        except (GavelError, DatabaseUnavailable) as error:  # upstream trouble, or a code staff revoked from them
            log.info("import line %d not checked: %s", line.line, type(error).__name__)
            return "failed"
        now = self.services.now()
        detail = f"item #{purchase.item.id}, code {line.masked}"

        def record(session: Session) -> None:
            user = users.find_chat_user(session, platform=line.platform, platform_user_id=line.user_id)
            dashboard.record_staff_action(
                session, staff=staff, action="import_bound", now=now, detail=detail,
                chat_user_id=user.id if user else None,
            )  # fmt: skip

        await self.services.db.run(record)
        return "imported"
