"""Retention: what Gavel keeps only for a while, deleted once it is older than its setting says."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, delete, exists, or_
from sqlmodel import Session, col

from storage import attempts, buttons, claims, conversations, dashboard, offers, seen_auctions
from storage.models import AuctionState, AutoBid, AutoBidIntent, LiveCard, Notification, Watch


@dataclass(frozen=True)
class Ages:
    """The oldest moment each kind of row is kept from (anything before it goes)."""

    notifications: datetime  # sent or given up
    buttons: datetime  # button tokens not used since: their buttons answer "expired"
    auctions: datetime  # ended auctions' state, inactive watches, finished auto-bids and their intents
    attempts: datetime  # rate-limit attempts
    audit: datetime  # verification attempts (the audit log)
    now: datetime  # offers that expired before it
    conversations: datetime  # conversations whose grace ended before it (a late password is still recognised)


def prune(session: Session, ages: Ages) -> dict[str, int]:
    """Delete what is past its age; how many rows of each kind went."""
    done: dict[str, int] = {}
    done["notifications"] = session.exec(
        delete(Notification).where(
            or_(col(Notification.sent_at).is_not(None), col(Notification.gave_up).is_(True)),
            col(Notification.created_at) < ages.notifications,
        )
    ).rowcount
    done["buttons"] = buttons.prune_buttons(session, unused_since=ages.buttons)
    done["conversations"] = conversations.prune_conversations(session, expired_before=ages.conversations)
    done["offers"] = offers.prune_offers(session, before=ages.now)
    done["rate_attempts"] = attempts.prune_attempts(session, before=ages.attempts)
    done["verify_attempts"] = claims.prune_verify_attempts(session, before=ages.audit)
    done["dashboard"] = dashboard.prune_dashboard(session, now=ages.now, audit_before=ages.audit)
    done["intents"] = session.exec(
        delete(AutoBidIntent).where(
            col(AutoBidIntent.state).in_(("placed", "superseded", "stopped")),
            col(AutoBidIntent.created_at) < ages.auctions,
        )
    ).rowcount
    finished = and_(col(AutoBid.active).is_(False), col(AutoBid.updated_at) < ages.auctions)
    unfinished_intent = exists().where(col(AutoBidIntent.auto_bid_id) == col(AutoBid.id))
    done["auto_bids"] = session.exec(delete(AutoBid).where(finished, ~unfinished_intent)).rowcount
    done["watches"] = session.exec(
        delete(Watch).where(col(Watch.active).is_(False), col(Watch.created_at) < ages.auctions)
    ).rowcount
    done["cards"] = session.exec(
        delete(LiveCard).where(col(LiveCard.active).is_(False), col(LiveCard.created_at) < ages.auctions)
    ).rowcount
    followed = or_(
        exists().where(col(Watch.auction_id) == col(AuctionState.auction_id), col(Watch.active).is_(True)),
        exists().where(col(LiveCard.auction_id) == col(AuctionState.auction_id), col(LiveCard.active).is_(True)),
    )
    done["auction_states"] = session.exec(
        delete(AuctionState).where(
            col(AuctionState.ended).is_(True), col(AuctionState.updated_at) < ages.auctions, ~followed
        )
    ).rowcount
    done["seen_auctions"] = seen_auctions.prune_seen_auctions(session, ended_before=ages.auctions)
    return done
