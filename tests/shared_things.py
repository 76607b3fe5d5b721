"""A shareable table as a content plugin would declare it (``audience_id`` + ``author_id``), for
testing the sharing model before any content plugin exists.

It has its own MetaData: it must not join the app's metadata, which the migration test compares
with the database.
"""

from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from intranet.core.timeutil import UTCDateTime, utcnow
from intranet.extensions import db


class _Base(DeclarativeBase):
    metadata = sa.MetaData()


class Thing(_Base):
    __tablename__ = "test_shared_things"

    id: Mapped[int] = mapped_column(primary_key=True)
    audience_id: Mapped[int] = mapped_column(sa.Integer, index=True)
    author_id: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


@pytest.fixture
def things(app):
    """The ``test_shared_things`` table, created for the test and dropped after it."""
    _Base.metadata.create_all(db.engine)
    try:
        yield Thing
    finally:
        db.session.rollback()
        _Base.metadata.drop_all(db.engine)
