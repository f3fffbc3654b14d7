"""Nothing stored for nothing, buttons by last use, cards counted per poster (issue 21).

The Auctionity login email goes: it was stored in plaintext and never read back. A button token keeps what its
button does (its command and whether it edits its message in place) and when it was last used, which retention
goes by. Live cards are counted per poster, so that count has an index.

Revision ID: 0010_private
Revises: 0009_dashboard
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_private"
down_revision: str | None = "0009_dashboard"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("auctionity_session") as batch:
        batch.drop_column("email")
    with op.batch_alter_table("button_token") as batch:
        # Tokens made before this revision stood for a command alone (the edit flag rode in the callback data):
        # they keep working, and never edit in place.
        batch.add_column(sa.Column("edits", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("last_used_at", TIMESTAMP, nullable=True))
        batch.drop_constraint("uq_button_token_command", type_="unique")
        batch.create_unique_constraint("uq_button_token_command_edits", ["command", "edits"])
    op.execute("UPDATE button_token SET last_used_at = created_at")
    with op.batch_alter_table("button_token") as batch:
        batch.alter_column("last_used_at", existing_type=TIMESTAMP, nullable=False)
        batch.alter_column("edits", existing_type=sa.Boolean(), server_default=None)
    op.create_index("ix_button_token_last_used_at", "button_token", ["last_used_at"])
    op.create_index("ix_live_card_created_by_active", "live_card", ["created_by", "active"])


def downgrade() -> None:
    op.drop_index("ix_live_card_created_by_active", table_name="live_card")
    op.drop_index("ix_button_token_last_used_at", table_name="button_token")
    # Two tokens of one command (editing and not) cannot both stay under the old one-per-command rule.
    op.execute("DELETE FROM button_token WHERE edits")
    with op.batch_alter_table("button_token") as batch:
        batch.drop_constraint("uq_button_token_command_edits", type_="unique")
        batch.create_unique_constraint("uq_button_token_command", ["command"])
        batch.drop_column("last_used_at")
        batch.drop_column("edits")
    with op.batch_alter_table("auctionity_session") as batch:
        batch.add_column(sa.Column("email", sa.String(320), nullable=False, server_default=""))
    with op.batch_alter_table("auctionity_session") as batch:
        batch.alter_column("email", existing_type=sa.String(320), server_default=None)
