"""notifications: a type's e-mails can wait for the daily digest

A member may keep one type's e-mails for the daily digest while the rest leave at once
(« Nouvel événement » does so by default for members).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 03:45:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('core_notification_prefs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('digest', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('core_notification_prefs', schema=None) as batch_op:
        batch_op.drop_column('digest')
