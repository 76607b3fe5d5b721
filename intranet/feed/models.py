"""The feed: posts (written by members, or activity items contributed by other plugins),
their comments with one level of replies, likes, mentions and attached files.

Reading the feed must stay fast with hundreds of thousands of posts, so what every list shows is
kept on the row: the rendered HTML of the text (``body_html``, rendered once when saved through the
one markdown renderer), the counters of comments and likes, and whether the post has files.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from intranet.core.audiences import Shared
from intranet.core.markup import RENDERER_VERSION
from intranet.core.models import User
from intranet.core.timeutil import UTCDateTime, utcnow
from intranet.extensions import db

#: A post's body may be long (a meeting report), but not a book.
MAX_BODY = 20_000
MAX_COMMENT = 5_000


class Post(Shared, db.Model):
    __tablename__ = "feed_posts"
    __table_args__ = (
        # The feed walks this index newest first and stops at its page size.
        sa.Index("ix_feed_posts_created", "created_at", "id"),
        sa.Index("ix_feed_posts_group_created", "group_id", "created_at", "id"),
        # One feed item per object of another plugin (an event, a document…).
        sa.Index("ux_feed_posts_activity", "activity_key", "object_id", unique=True),
        # The few pinned posts, found at once (without it, a walk over every post outside a group).
        sa.Index("ix_feed_posts_pinned", "group_id", "pinned_at", sqlite_where=sa.text("pinned_at IS NOT NULL"),
                 postgresql_where=sa.text("pinned_at IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The group whose « Fil » the post was written in (its audience is then that group).
    group_id: Mapped[int | None] = mapped_column(sa.ForeignKey("groups_groups.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(sa.Text, default="")
    body_html: Mapped[str] = mapped_column(sa.Text, default="")
    # The renderer version that wrote body_html (core.markup.RENDERER_VERSION): older HTML is
    # rendered again (feed.rerender job; the page renders it meanwhile).
    render_version: Mapped[int] = mapped_column(default=RENDERER_VERSION, server_default="0")
    # Activity items: what another plugin published ("documents.shared"…), which object, and what
    # its renderer needs (title, url, excerpt), captured when it was published.
    activity_key: Mapped[str | None] = mapped_column(sa.String(100))
    object_id: Mapped[int | None] = mapped_column()
    data: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    has_attachments: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    comment_count: Mapped[int] = mapped_column(default=0)
    like_count: Mapped[int] = mapped_column(default=0)
    pinned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hidden_reason: Mapped[str] = mapped_column(sa.String(500), default="")
    hidden_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("core_users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    author: Mapped[User | None] = relationship(foreign_keys="Post.author_id")
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="post", cascade="all, delete-orphan", order_by="Attachment.position")

    @property
    def is_activity(self) -> bool:
        return self.activity_key is not None


class Attachment(db.Model):
    """An image (shown as a thumbnail, opened in a lightbox) or a file to download."""

    __tablename__ = "feed_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(sa.ForeignKey("feed_posts.id", ondelete="CASCADE"), index=True)
    is_image: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    key: Mapped[str] = mapped_column(sa.String(100))  # core storage key
    thumb_key: Mapped[str | None] = mapped_column(sa.String(100))
    name: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(150))
    size: Mapped[int] = mapped_column()
    position: Mapped[int] = mapped_column(default=0)

    post: Mapped[Post] = relationship(back_populates="attachments")


class Comment(db.Model):
    __tablename__ = "feed_comments"
    __table_args__ = (
        # The 3 latest comments of 20 posts, and a post's whole thread, come from this index.
        sa.Index("ix_feed_comments_post_parent_created", "post_id", "parent_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(sa.ForeignKey("feed_posts.id", ondelete="CASCADE"))
    # One level of replies: a reply to a reply is attached to the same top comment.
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("feed_comments.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("core_users.id", ondelete="SET NULL"), index=True)
    body: Mapped[str] = mapped_column(sa.Text, default="")
    body_html: Mapped[str] = mapped_column(sa.Text, default="")
    # The renderer version that wrote body_html (core.markup.RENDERER_VERSION): older HTML is
    # rendered again (feed.rerender job; the page renders it meanwhile).
    render_version: Mapped[int] = mapped_column(default=RENDERER_VERSION, server_default="0")
    # A deleted comment that has replies stays as « Commentaire supprimé » so the replies keep
    # their context.
    is_deleted: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    author: Mapped[User | None] = relationship()
    post: Mapped[Post] = relationship()


class Like(db.Model):
    __tablename__ = "feed_likes"
    __table_args__ = (sa.Index("ix_feed_likes_user_post", "user_id", "post_id"),)

    post_id: Mapped[int] = mapped_column(sa.ForeignKey("feed_posts.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("core_users.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Mention(db.Model):
    """Someone named with @ in a post or in one of its comments (for the « Mentions » filter)."""

    __tablename__ = "feed_mentions"
    __table_args__ = (sa.Index("ix_feed_mentions_user_post", "user_id", "post_id"),)

    post_id: Mapped[int] = mapped_column(sa.ForeignKey("feed_posts.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("core_users.id", ondelete="CASCADE"), primary_key=True)
