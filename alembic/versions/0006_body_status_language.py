"""How each body was extracted, and the language it is written in.

- ``versions.body_status``: ``article`` (an article body told apart from the page),
  ``page-text`` (no article could be told apart: the page's text is kept instead) or
  ``boilerplate-only`` (the page carries nothing but walls, notices, captions or share prompts).
  Only ``article`` bodies are linked; the others are stored so that nothing a user gave is lost.
- ``versions.language``: the ISO 639 code of the body's language as detected (``en``, ``hi``,
  ``zh``...), the table word rarity came from; NULL where it could not be told.

Plain ``ADD COLUMN`` / ``DROP COLUMN`` on both databases (SQLite has both since 3.35): no batch
recreation of ``versions``, so the views and full-text triggers of 0005 stay as they are.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "versions",
        sa.Column("body_status", sa.String(length=16), server_default="article", nullable=False),
    )
    op.add_column("versions", sa.Column("language", sa.String(length=8), nullable=True))


def downgrade() -> None:
    op.drop_column("versions", "language")
    op.drop_column("versions", "body_status")
