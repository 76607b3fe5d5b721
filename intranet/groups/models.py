"""Groups, their members and the pending requests and invitations."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from intranet.core.models import User
from intranet.core.timeutil import UTCDateTime, utcnow
from intranet.extensions import db

VISIBILITIES = ("public", "private", "secret")
JOIN_POLICIES = ("open", "request", "invitation")
GROUP_ROLES = ("owner", "admin", "member")


class Group(db.Model):
    __tablename__ = "groups_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(150), unique=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    image: Mapped[str | None] = mapped_column(sa.String(100))
    visibility: Mapped[str] = mapped_column(sa.String(10), default="public", index=True)
    join_policy: Mapped[str] = mapped_column(sa.String(12), default="open")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("core_users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __str__(self) -> str:
        return self.name


class Membership(db.Model):
    __tablename__ = "groups_memberships"
    __table_args__ = (sa.Index("ix_groups_memberships_user_group", "user_id", "group_id"),)

    group_id: Mapped[int] = mapped_column(sa.ForeignKey("groups_groups.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("core_users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(sa.String(10), default="member")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(lazy="joined")
    group: Mapped[Group] = relationship(lazy="joined")


class GroupRequest(db.Model):
    """A request to join (from the person) or an invitation (from a group admin)."""

    __tablename__ = "groups_requests"
    __table_args__ = (sa.Index("ix_groups_requests_group_status", "group_id", "status"),
                      sa.Index("ix_groups_requests_user_status", "user_id", "status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(sa.ForeignKey("groups_groups.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("core_users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(12))  # "request" | "invitation"
    status: Mapped[str] = mapped_column(sa.String(10), default="pending")  # pending accepted refused cancelled
    invited_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("core_users.id", ondelete="SET NULL"))
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("core_users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")
    group: Mapped[Group] = relationship(lazy="joined")
    invited_by: Mapped[User | None] = relationship(foreign_keys=[invited_by_id], lazy="joined")
