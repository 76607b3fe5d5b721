"""fvt_tab: each zone's series version, a token renewed whenever its series are written (the tab's memory of them)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 21:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('fvt_tab_zones', schema=None) as batch_op:
        batch_op.add_column(sa.Column('series_version', sa.String(length=32), server_default='', nullable=False))


def downgrade():
    with op.batch_alter_table('fvt_tab_zones', schema=None) as batch_op:
        batch_op.drop_column('series_version')
