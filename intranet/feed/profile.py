"""The « Publications » section of a member's page: their latest posts the viewer may see, and, on
one's own page, the posts where one was mentioned (DOMAIN.md: « find everything one has shared and
where one was mentioned »)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import render_template
from flask_login import current_user
from sqlalchemy.orm import selectinload

from intranet.extensions import db
from intranet.feed.models import Mention, Post
from intranet.feed.services import visible_posts


def posts_section(user) -> str:
    newest = (Post.created_at.desc(), Post.id.desc())
    posts = db.session.scalars(visible_posts(current_user).where(Post.author_id == user.id, Post.activity_key.is_(None))
                               .order_by(*newest).limit(5)).all()
    mentions = []
    if user.id == current_user.id:
        mentions = db.session.scalars(visible_posts(current_user).where(
            Post.id.in_(sa.select(Mention.post_id).where(Mention.user_id == user.id)))
            .options(selectinload(Post.author)).order_by(*newest).limit(5)).all()
    return render_template("feed/profile_section.html", posts=posts, mentions=mentions, person=user)
