"""fvt_tab: the zones each import concerns (pages say an import is arriving), fictitious zones

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 16:15:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('fvt_tab_import_zones',
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('zone_code', sa.String(length=50), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['fvt_tab_imports.id'], name=op.f('fk_fvt_tab_import_zones_import_id_fvt_tab_imports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('import_id', 'zone_code', name=op.f('pk_fvt_tab_import_zones'))
    )
    with op.batch_alter_table('fvt_tab_import_zones', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fvt_tab_import_zones_zone_code'), ['zone_code'], unique=False)

    with op.batch_alter_table('fvt_tab_zones', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_fictitious', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('fvt_tab_zones', schema=None) as batch_op:
        batch_op.drop_column('is_fictitious')

    with op.batch_alter_table('fvt_tab_import_zones', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fvt_tab_import_zones_zone_code'))

    op.drop_table('fvt_tab_import_zones')
