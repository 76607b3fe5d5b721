"""events: the UID an imported event had in its source calendar

Importing the same .ics file again updates the events it created instead of adding copies; an
occurrence edited in the source (RECURRENCE-ID) is kept as « UID#instant ».

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 16:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('events_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source_uid', sa.String(length=300), nullable=True))
        batch_op.create_index('ix_events_events_source_uid', ['source_uid'], unique=False)


def downgrade():
    with op.batch_alter_table('events_events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_events_source_uid')
        batch_op.drop_column('source_uid')
