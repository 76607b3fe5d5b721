"""fvt_tab: the facts keep one index, their unique natural key

The natural key (zone, family, breakdown, weekly, day, …) starts with the columns of
ix_fvt_facts_zone_family_day and every query on the facts names is_weekly, so that index served
nothing the key does not; each imported row paid for both.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 20:00:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('fvt_tab_facts', schema=None) as batch_op:
        batch_op.drop_index('ix_fvt_facts_zone_family_day')


def downgrade():
    with op.batch_alter_table('fvt_tab_facts', schema=None) as batch_op:
        batch_op.create_index('ix_fvt_facts_zone_family_day', ['zone_id', 'family', 'breakdown', 'day'], unique=False)
