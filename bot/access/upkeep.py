"""One-off upkeep the app runs at start, when it needs the secret key (which migrations never see)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlmodel import Session, col, select

from bot.core.arguments import normalise_code
from storage import key_values
from storage.crypto import UndecryptableSecret
from storage.models import PurchaseClaim

if TYPE_CHECKING:
    from bot.core.services import Services

log = logging.getLogger(__name__)

NORMALISED_MARK = "upkeep:claims_normalised:v1"


async def normalise_stored_codes(services: Services) -> int:
    """Re-key claims made before codes were normalised, so ``ABC…`` and ``abc…`` are one claim; how many changed.

    Claims used to be hashed as typed. Each stored code is decrypted, normalised and hashed again; where
    two spellings of one code were claimed by different users, the earlier claim keeps it and the later
    one is revoked, as if the second verification had been refused. Runs once per database.
    """
    changed = await services.db.run(lambda s: _normalise(services, s))
    if changed:
        log.info("normalised %d stored purchase code(s)", changed)
    return changed


def _normalise(services: Services, session: Session) -> int:
    if key_values.get_value(session, key=NORMALISED_MARK):
        return 0
    claims = list(session.exec(select(PurchaseClaim).order_by(col(PurchaseClaim.verified_at), col(PurchaseClaim.id))))
    # Slots are renumbered below; negative ids first, so no two rows share one on the way.
    for claim in claims:
        claim.slot = -(claim.id or 0)
    session.flush()
    changed = 0
    holders: dict[str, list[int]] = {}  # normalised hash -> chat users holding it, earliest first
    active: dict[str, int] = {}  # normalised hash -> its claims still active
    for claim in claims:
        try:
            code = services.box.decrypt(claim.code_encrypted)
        except UndecryptableSecret:
            holders.setdefault(claim.code_hash, []).append(claim.chat_user_id)
            claim.slot = len(holders[claim.code_hash]) - 1
            continue  # written with another key: nothing to compare it with
        normal = normalise_code(code)
        code_hash = services.box.keyed_hash(normal)
        users = holders.setdefault(code_hash, [])
        if claim.chat_user_id in users:  # the same buyer claimed two spellings: their earlier claim stays
            session.delete(claim)
            changed += 1
            continue
        if code_hash != claim.code_hash or normal != code:
            changed += 1
            claim.code_hash = code_hash
            claim.code_encrypted = services.box.encrypt(normal)
        if claim.revoked_at is None:
            if active.get(code_hash, 0) >= services.settings.max_claims_per_code:
                claim.revoked_at = services.now()
                changed += 1
                log.warning("claim %s revoked: another spelling of its code was claimed first", claim.id)
            else:
                active[code_hash] = active.get(code_hash, 0) + 1
        users.append(claim.chat_user_id)
        claim.slot = len(users) - 1
    session.flush()
    key_values.set_value(session, key=NORMALISED_MARK, value="1")
    return changed
