"""fvt_tab: the daily series the tab reads (one row per zone, year and key of the facts), built from the facts

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 13:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('fvt_tab_series',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('zone_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('family', sa.String(length=30), nullable=False),
    sa.Column('breakdown', sa.String(length=15), nullable=False),
    sa.Column('category', sa.String(length=30), nullable=False),
    sa.Column('provenance', sa.String(length=15), nullable=False),
    sa.Column('origin', sa.String(length=10), nullable=False),
    sa.Column('profile', sa.String(length=60), nullable=False),
    sa.Column('other_place', sa.String(length=10), nullable=False),
    sa.Column('days', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['zone_id'], ['fvt_tab_zones.id'], name=op.f('fk_fvt_tab_series_zone_id_fvt_tab_zones'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fvt_tab_series')),
    sa.UniqueConstraint('zone_id', 'year', 'family', 'breakdown', 'category', 'provenance', 'origin', 'profile', 'other_place', name='uq_fvt_series')
    )
    # The facts already stored get their series now (the tab reads nothing else).
    from intranet.fvt_tab.series import rebuild_all
    rebuild_all(op.get_bind())


def downgrade():
    op.drop_table('fvt_tab_series')
