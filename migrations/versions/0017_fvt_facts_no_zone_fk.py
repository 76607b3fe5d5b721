"""fvt_tab: the facts' zone is checked by the importer, not by a foreign key

On PostgreSQL a foreign key is a trigger run for each row written: about 2 s of the server's time
for a bimestre of 11 zones (225,000 rows), as long as the COPY of those rows itself. The importer
writes facts only for a zone it has just resolved, and zones are never deleted (their facts are
the network's history), so the key checked nothing the importer does not. The facts' import_id has
never had one, for the same reason.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-08 00:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('fvt_tab_facts', schema=None) as batch_op:
        batch_op.drop_constraint('fk_fvt_tab_facts_zone_id_fvt_tab_zones', type_='foreignkey')


def downgrade():
    with op.batch_alter_table('fvt_tab_facts', schema=None) as batch_op:
        batch_op.create_foreign_key('fk_fvt_tab_facts_zone_id_fvt_tab_zones', 'fvt_tab_zones', ['zone_id'], ['id'],
                                    ondelete='CASCADE')
