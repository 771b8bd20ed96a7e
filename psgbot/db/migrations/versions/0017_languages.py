"""languages: each chat's language (chosen, and Telegram's until then), standing texts per
language, a broadcast's language and its translation, the language a feed and its items declare

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def _language(name: str, *, default: bool = False) -> sa.Column[str]:
    # As psgbot.db.types.str_enum stores psgbot.i18n.Language: a VARCHAR, no CHECK.
    if default:
        return sa.Column(name, sa.String(length=8), nullable=False, server_default="en")
    return sa.Column(name, sa.String(length=8), nullable=True)


def upgrade() -> None:
    # Nullable: no chat has chosen yet; each follows its Telegram language from its next update.
    with op.batch_alter_table("chats", schema=None) as batch_op:
        batch_op.add_column(_language("language"))
        batch_op.add_column(_language("telegram_language"))
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.add_column(_language("language"))
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.add_column(_language("language"))
    # Every version stored so far is of the English text.
    with op.batch_alter_table("text_versions", schema=None) as batch_op:
        batch_op.add_column(_language("language", default=True))
        batch_op.drop_index("ix_text_versions_name")
        batch_op.create_index("ix_text_versions_name", ["name", "language", "id"], unique=False)
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.add_column(_language("language", default=True))
        batch_op.add_column(sa.Column("translation", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("translation_entities", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.drop_column("translation_entities")
        batch_op.drop_column("translation")
        batch_op.drop_column("language")
    with op.batch_alter_table("text_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_text_versions_name")
        batch_op.create_index("ix_text_versions_name", ["name", "id"], unique=False)
        batch_op.drop_column("language")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_column("language")
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.drop_column("language")
    with op.batch_alter_table("chats", schema=None) as batch_op:
        batch_op.drop_column("telegram_language")
        batch_op.drop_column("language")
