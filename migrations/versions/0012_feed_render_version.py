"""feed: the renderer version of the stored HTML of posts and comments

HTML written by an older renderer (another allow-list, lists after a sentence…) is rendered
again by the feed.rerender job; existing rows start at 0, so all of them are.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 04:35:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

TABLES = ('feed_posts', 'feed_comments')


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('render_version', sa.Integer(), nullable=False, server_default='0'))


def downgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('render_version')
