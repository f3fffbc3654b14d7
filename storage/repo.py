"""The queries the core uses: keyword-only functions taking a Session, named for what they do.

Callers own the transaction (``with session_scope(engine) as session``); these functions only
flush, except where a savepoint keeps a race or a duplicate from spoiling the caller's transaction
(claim_purchase, the get-or-create and upsert functions, enqueue_notification, store_button_command).
The code lives in three modules by subject; import from here.
"""

from storage.repo_accounts import (
    access_grants_for_item,
    access_grants_for_place,
    claim_purchase,
    claims_for_user,
    delete_auctionity_session,
    failed_attempts_since,
    find_chat_user,
    get_auctionity_session,
    get_chat_user,
    get_or_create_chat_user,
    record_verify_attempt,
    remove_access_grant,
    revoke_claim,
    save_auctionity_session,
    set_access_grant,
    set_auctionity_user_id,
)
from storage.repo_auctions import (
    active_watches_by_auction,
    active_watches_for_user,
    add_watch,
    auction_key,
    deactivate_watch,
    deactivate_watches_for_auction,
    deactivate_watches_for_chat,
    get_auction_states,
    save_auction_state,
    watched_auction_ids_due,
)
from storage.repo_bot import (
    count_notifications,
    due_notifications,
    enqueue_notification,
    find_notification,
    get_value,
    mark_notification_failed,
    mark_notification_sent,
    resolve_button_token,
    set_value,
    store_button_command,
)

__all__ = [
    "access_grants_for_item",
    "access_grants_for_place",
    "active_watches_by_auction",
    "active_watches_for_user",
    "add_watch",
    "auction_key",
    "claim_purchase",
    "claims_for_user",
    "count_notifications",
    "deactivate_watch",
    "deactivate_watches_for_auction",
    "deactivate_watches_for_chat",
    "delete_auctionity_session",
    "due_notifications",
    "enqueue_notification",
    "failed_attempts_since",
    "find_chat_user",
    "find_notification",
    "get_auction_states",
    "get_auctionity_session",
    "get_chat_user",
    "get_or_create_chat_user",
    "get_value",
    "mark_notification_failed",
    "mark_notification_sent",
    "record_verify_attempt",
    "remove_access_grant",
    "resolve_button_token",
    "revoke_claim",
    "save_auction_state",
    "save_auctionity_session",
    "set_access_grant",
    "set_auctionity_user_id",
    "set_value",
    "store_button_command",
    "watched_auction_ids_due",
]
