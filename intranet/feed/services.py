"""Rules and changes of the feed. Services flush and notify; the view commits.

Who sees a post is the core sharing model (``visible_to`` / ``can_view``) plus one rule of the
feed: a post hidden by the moderation is seen only by its author and by who may moderate it.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from intranet.core.audiences import Audience, AudienceEntry, audience_viewers, can_view, get_audience, visible_to
from intranet.core.markup import RENDERER_VERSION
from intranet.core.models import Organization, User
from intranet.core.notifications import notify
from intranet.core.security import MAX_ID
from intranet.core.storage import StoredFile
from intranet.core.timeutil import utcnow
from intranet.extensions import db
from intranet.feed.mentions import mentioned_users, render_with_mentions
from intranet.feed.models import MAX_BODY, MAX_COMMENT, Attachment, Comment, Like, Mention, Post
from intranet.groups.models import Group, Membership
from intranet.groups.services import can_manage, can_see_content, my_group_ids

PAGE_SIZE = 20
MAX_ATTACHMENTS = 10
LATEST_COMMENTS = 3
FILTERS = ("tout", "organisation", "groupes", "mentions", "fichiers")


class FeedError(ValueError):
    """A French message for the person who asked."""


# -- rules ------------------------------------------------------------------------------------

def _group_of(post: Post) -> Group | None:
    return db.session.get(Group, post.group_id) if post.group_id else None


def can_moderate(user, post: Post) -> bool:
    """Pin, hide: the network's animateurs and admins; a group's managers for the group's posts."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_animateur:
        return True
    group = _group_of(post)
    return group is not None and can_manage(user, group)


def can_see(user, post: Post) -> bool:
    if not can_view(user, post):
        return False
    if post.hidden_at is not None and post.author_id != user.id and not can_moderate(user, post):
        return False
    if post.author_id is not None and post.author_id == user.id:
        return True  # the author always sees their post, as in the lists (core rule)
    group = _group_of(post)
    return group is None or can_see_content(user, group)


def can_edit(user, obj: Post | Comment) -> bool:
    if isinstance(obj, Post) and obj.is_activity:
        return False
    return obj.author_id is not None and obj.author_id == user.id


def can_delete(user, obj: Post | Comment) -> bool:
    if isinstance(obj, Post) and obj.is_activity:
        return user.is_admin
    return (obj.author_id is not None and obj.author_id == user.id) or user.is_admin


def visible_posts(user) -> sa.Select:
    """Every post ``user`` may see, as a SELECT (the lists add their filters and order)."""
    query = visible_to(user, sa.select(Post), Post)
    if user.is_animateur:
        return query
    managed = sa.select(Membership.group_id).where(Membership.user_id == user.id,
                                                   Membership.role.in_(("owner", "admin")))
    return query.where(sa.or_(Post.hidden_at.is_(None), (Post.author_id + 0) == user.id,
                              Post.group_id.in_(managed)))


# -- mentions ---------------------------------------------------------------------------------

def unseen_mentions(author: User, text: str, audience: Audience, group: Group | None = None) -> list[User]:
    """Mentioned people who will not see the post (they would not be notified): the author is told
    before publishing."""
    draft = SimpleNamespace(audience=audience, author_id=author.id)
    out = []
    for user in mentioned_users(text):
        if user.id == author.id:
            continue
        if not can_view(user, draft) or (group is not None and not can_see_content(user, group)):
            out.append(user)
    return out


def _record_mentions(post: Post, users: list[User]) -> None:
    if not users:
        return
    known = set(db.session.scalars(sa.select(Mention.user_id).where(
        Mention.post_id == post.id, Mention.user_id.in_([u.id for u in users]))))
    for user in users:
        if user.id not in known:
            db.session.add(Mention(post_id=post.id, user_id=user.id))
            known.add(user.id)
    db.session.flush()


# -- posts ------------------------------------------------------------------------------------

@dataclass
class Upload:
    """A file already checked and stored by the core storage."""

    stored: StoredFile
    is_image: bool
    thumb: StoredFile | None = None


def _check_text(text: str, limit: int, what: str) -> str:
    text = (text or "").strip()
    if len(text) > limit:
        raise FeedError(_("Le %(what)s est trop long (%(limit)s caractères au plus).", what=what,
                          limit=f"{limit:,}".replace(",", "\u202f")))
    return text


def create_post(author: User, body: str, audience: Audience, group: Group | None = None,
                uploads: list[Upload] | None = None) -> Post:
    uploads = uploads or []
    body = _check_text(body, MAX_BODY, _("message"))
    if not body and not uploads:
        raise FeedError(_("Écrivez un message ou joignez un fichier."))
    if len(uploads) > MAX_ATTACHMENTS:
        raise FeedError(_("%(n)s fichiers au plus par publication.", n=MAX_ATTACHMENTS))
    if group is not None:
        if not can_see_content(author, group) or not (author.is_animateur or
                                                        db.session.get(Membership, (group.id, author.id))):
            raise FeedError(_("Seuls les membres du groupe peuvent y publier."))
        audience = get_audience([("group", group.id)])
    post = Post(author_id=author.id, audience_id=audience.id, audience=audience,
                group_id=group.id if group else None, body=body,
                body_html=render_with_mentions(body), has_attachments=bool(uploads))
    post.attachments = [Attachment(is_image=u.is_image, key=u.stored.key, thumb_key=u.thumb.key if u.thumb else None,
                                   name=u.stored.original_name, content_type=u.stored.content_type,
                                   size=u.stored.size, position=i) for i, u in enumerate(uploads)]
    db.session.add(post)
    db.session.flush()
    mentioned = mentioned_users(body)
    _record_mentions(post, mentioned)
    # Mentions first: someone both mentioned and in the audience hears once, of the mention.
    notify("feed.mention", [u.id for u in mentioned], author, post)
    if group is not None:
        members = sa.select(Membership.user_id).where(Membership.group_id == group.id)
        notify("feed.group_post", members, author, post, group=group.name)
    else:
        from intranet.core.audiences import audience_recipients

        notify("feed.new_post", audience_recipients(audience), author, post)
    return post


def update_post(user: User, post: Post, body: str, removed_attachment_ids: set[int] = frozenset()) -> list[str]:
    """Edit the text (and drop attachments). Returns the storage keys to delete after the commit."""
    body = _check_text(body, MAX_BODY, _("message"))
    keep = [a for a in post.attachments if a.id not in removed_attachment_ids]
    if not body and not keep:
        raise FeedError(_("Écrivez un message ou joignez un fichier."))
    gone = [a for a in post.attachments if a.id in removed_attachment_ids]
    keys = [k for a in gone for k in (a.key, a.thumb_key) if k]
    before = {u.id for u in mentioned_users(post.body)}
    post.attachments = keep
    post.has_attachments = bool(keep)
    post.body = body
    post.body_html, post.render_version = render_with_mentions(body), RENDERER_VERSION
    post.edited_at = utcnow()
    db.session.flush()
    mentioned = mentioned_users(body)
    _record_mentions(post, mentioned)
    notify("feed.mention", [u.id for u in mentioned if u.id not in before], user, post)
    return keys


def stored_keys(post: Post) -> list[str]:
    return [k for a in post.attachments for k in (a.key, a.thumb_key) if k]


def delete_post(post: Post) -> list[str]:
    keys = stored_keys(post)
    db.session.delete(post)
    db.session.flush()
    return keys


def set_pinned(post: Post, pinned: bool) -> None:
    post.pinned_at = utcnow() if pinned else None
    db.session.flush()


def hide_post(moderator: User, post: Post, reason: str) -> None:
    reason = (reason or "").strip()
    if not reason:
        raise FeedError(_("Indiquez la raison : l'auteur la recevra."))
    if len(reason) > 500:
        raise FeedError(_("La raison est trop longue (500 caractères au plus)."))
    post.hidden_at = utcnow()
    post.hidden_reason = reason
    post.hidden_by_id = moderator.id
    # What people were told of it goes too (the title and excerpt are kept in the notification);
    # pending e-mails are cancelled at send time, when access is checked again.
    from intranet.core.notifications import Notification

    db.session.execute(sa.delete(Notification).where(
        Notification.object_kind == "feed.post", Notification.object_id == post.id,
        Notification.user_id != (post.author_id or 0)))
    db.session.flush()
    if post.author_id:
        notify("feed.post_hidden", [post.author_id], moderator, post, reason=reason)


def unhide_post(post: Post) -> None:
    post.hidden_at = None
    post.hidden_reason = ""
    post.hidden_by_id = None
    db.session.flush()


def toggle_like(user: User, post: Post) -> bool:
    """Like or unlike; returns whether ``user`` now likes the post."""
    like = db.session.get(Like, (post.id, user.id))
    if like is not None:
        db.session.delete(like)
        db.session.execute(sa.update(Post).where(Post.id == post.id).values(like_count=Post.like_count - 1))
        db.session.flush()
        db.session.refresh(post, ["like_count"])
        return False
    try:
        with db.session.begin_nested():
            db.session.add(Like(post_id=post.id, user_id=user.id))
    except sa.exc.IntegrityError:  # a double click that arrived twice
        return True
    db.session.execute(sa.update(Post).where(Post.id == post.id).values(like_count=Post.like_count + 1))
    db.session.flush()
    db.session.refresh(post, ["like_count"])
    if post.author_id:
        notify("feed.like", [post.author_id], user, post)
    return True


# -- comments ---------------------------------------------------------------------------------

def add_comment(author: User, post: Post, body: str, parent: Comment | None = None) -> Comment:
    body = _check_text(body, MAX_COMMENT, _("commentaire"))
    if not body:
        raise FeedError(_("Le commentaire est vide."))
    if post.hidden_at is not None:
        raise FeedError(_("Cette publication est masquée : on ne peut plus la commenter."))
    if parent is not None:
        if parent.post_id != post.id:
            raise FeedError(_("Ce commentaire n'existe pas."))
        if parent.parent_id is not None:  # one level of replies
            parent = db.session.get(Comment, parent.parent_id)
    comment = Comment(post_id=post.id, parent_id=parent.id if parent else None, author_id=author.id,
                      body=body, body_html=render_with_mentions(body))
    db.session.add(comment)
    db.session.execute(sa.update(Post).where(Post.id == post.id).values(comment_count=Post.comment_count + 1))
    db.session.flush()
    mentioned = mentioned_users(body)
    _record_mentions(post, mentioned)
    url = _comment_url(post, comment)
    notify("feed.mention", [u.id for u in mentioned], author, post, url=url)
    if parent is not None and parent.author_id and not parent.is_deleted:
        notify("feed.reply", [parent.author_id], author, post, url=url)
    if post.author_id:
        notify("feed.comment", [post.author_id], author, post, url=url)
    return comment


def _comment_url(post: Post, comment: Comment) -> str:
    from flask import current_app, has_request_context

    from intranet.feed.notifications import post_url

    if has_request_context():
        return f"{post_url(post)}#commentaire-{comment.id}"
    with current_app.test_request_context(base_url=current_app.config["BASE_URL"]):  # worker, CLI
        return f"{post_url(post)}#commentaire-{comment.id}"


def update_comment(user: User, comment: Comment, body: str) -> None:
    body = _check_text(body, MAX_COMMENT, _("commentaire"))
    if not body:
        raise FeedError(_("Le commentaire est vide."))
    before = {u.id for u in mentioned_users(comment.body)}
    comment.body = body
    comment.body_html, comment.render_version = render_with_mentions(body), RENDERER_VERSION
    comment.edited_at = utcnow()
    db.session.flush()
    post = db.session.get(Post, comment.post_id)
    mentioned = mentioned_users(body)
    _record_mentions(post, mentioned)
    notify("feed.mention", [u.id for u in mentioned if u.id not in before], user, post,
           url=_comment_url(post, comment))


def delete_comment(comment: Comment) -> None:
    """A comment with replies stays as « Commentaire supprimé »; otherwise it goes."""
    has_replies = db.session.scalar(sa.select(sa.func.count(Comment.id)).where(
        Comment.parent_id == comment.id, Comment.is_deleted.is_(False)))
    if has_replies:
        comment.is_deleted = True
        comment.body = ""
        comment.body_html = ""
    else:
        parent_id = comment.parent_id
        db.session.delete(comment)
        db.session.flush()
        if parent_id:  # a deleted parent whose last reply just went can go too
            parent = db.session.get(Comment, parent_id)
            if parent is not None and parent.is_deleted and not db.session.scalar(
                    sa.select(sa.func.count(Comment.id)).where(Comment.parent_id == parent.id)):
                db.session.delete(parent)
    db.session.flush()
    _recount_comments(comment.post_id)


def _recount_comments(post_id: int) -> None:
    count = sa.select(sa.func.count(Comment.id)).where(Comment.post_id == post_id, Comment.is_deleted.is_(False))
    db.session.execute(sa.update(Post).where(Post.id == post_id).values(comment_count=count.scalar_subquery()))
    db.session.flush()


# -- activity items from other plugins ------------------------------------------------------

def publish_activity(key: str, object_id: int, audience: Audience, actor: User | None, data: dict,
                     group_id: int | None = None) -> Post:
    """Create or update the feed item of another plugin's object (idempotent)."""
    post = db.session.scalar(sa.select(Post).where(Post.activity_key == key, Post.object_id == object_id))
    if post is None:
        post = Post(activity_key=key, object_id=object_id, author_id=getattr(actor, "id", None))
        db.session.add(post)
    post.audience_id = audience.id
    post.audience = audience
    post.group_id = group_id
    post.data = dict(data)
    db.session.flush()
    return post


def withdraw_activity(key: str, object_id: int) -> None:
    db.session.execute(sa.delete(Post).where(Post.activity_key == key, Post.object_id == object_id))


# -- reading ------------------------------------------------------------------------------------

def encode_cursor(post: Post) -> str:
    raw = f"{post.created_at.isoformat()}|{post.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(value: str | None) -> tuple[datetime, int] | None:
    """The position after which a page starts; ``None`` for a missing or unreadable cursor."""
    if not value or len(value) > 100:
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        stamp, _sep, ident = raw.partition("|")
        when, position = datetime.fromisoformat(stamp), int(ident)
        # A naive time or an id beyond a database integer would fail in the query (a 500).
        return (when.astimezone(UTC), position) if when.tzinfo and 0 <= position <= MAX_ID else None
    except (ValueError, UnicodeDecodeError, OverflowError):
        return None


@dataclass(frozen=True, slots=True)
class Person:
    """What a feed item shows of a person (the author of a post or comment): read as plain columns
    for a page's ~100 authors rather than as ``User`` objects with their organization joined."""

    id: int
    name: str
    photo: str | None
    organization_name: str


@dataclass(frozen=True, slots=True)
class CommentRow:
    """A comment as a list item shows it (the 3 latest under each post of a page)."""

    id: int
    post_id: int
    author_id: int | None
    author: Person | None
    body: str
    body_html: str
    render_version: int
    is_deleted: bool
    created_at: datetime
    edited_at: datetime | None


@dataclass
class FeedPage:
    pinned: list[Post] = field(default_factory=list)
    posts: list[Post] = field(default_factory=list)
    next_cursor: str | None = None
    #: Plain rows, by post id or person id: what the items show, loaded once for the page.
    comments: dict[int, list[CommentRow]] = field(default_factory=dict)
    authors: dict[int, Person] = field(default_factory=dict)
    attachments: dict[int, list[sa.Row]] = field(default_factory=dict)
    liked: set[int] = field(default_factory=set)
    groups: dict[int, sa.Row] = field(default_factory=dict)

    @property
    def items(self) -> list[Post]:
        return self.pinned + self.posts


def _filtered(user: User, query: sa.Select, filter_: str) -> sa.Select:
    if filter_ == "organisation":
        colleagues = sa.select(User.id).where(User.organization_id == user.organization_id)
        # ``+ 0``: walk the feed's date index and stop at the page (as visible_to does), not read
        # every post of the colleagues through the author index and sort them.
        query = query.where((Post.author_id + 0).in_(colleagues))
    elif filter_ == "groupes":
        query = query.where(Post.group_id.in_(my_group_ids(user)))
    elif filter_ == "mentions":
        query = query.where(Post.id.in_(sa.select(Mention.post_id).where(Mention.user_id == user.id)))
    elif filter_ == "fichiers":
        query = query.where(Post.has_attachments.is_(True))
    return query


def _bare(query: sa.Select) -> sa.Select:
    """The posts with their audience row (joined) but nothing loaded after them: ``_load_extras``
    loads what the items show for the whole page at once, so a page runs the same statements
    whether it has pinned posts or not, 5 items or 50."""
    return query.options(joinedload(Post.audience).lazyload(Audience.entries))


def feed_page(user: User, filter_: str = "tout", group: Group | None = None, cursor: str | None = None,
              limit: int = PAGE_SIZE) -> FeedPage:
    """One page of the feed with everything its items show, in a fixed number of queries."""
    page = FeedPage()
    base = _filtered(user, visible_posts(user), filter_)
    pin_scope = None
    if filter_ == "tout":
        pin_scope = Post.group_id == group.id if group is not None else Post.group_id.is_(None)
    if group is not None:
        base = base.where(Post.group_id == group.id)
    position = decode_cursor(cursor)
    if pin_scope is not None:
        if position is None:
            page.pinned = list(db.session.scalars(_bare(base.where(pin_scope, Post.pinned_at.is_not(None)))
                                                  .order_by(Post.pinned_at.desc()).limit(5)))
        # Pinned posts are shown on top, not again in the stream.
        base = base.where(sa.or_(Post.pinned_at.is_(None), sa.not_(pin_scope)))
    if position is not None:
        when, ident = position
        # ``created_at <= when`` first: a range the date index serves (the OR alone is not).
        base = base.where(Post.created_at <= when,
                          sa.or_(Post.created_at < when, sa.and_(Post.created_at == when, Post.id < ident)))
    rows = list(db.session.scalars(_bare(base).order_by(Post.created_at.desc(), Post.id.desc()).limit(limit + 1)))
    if len(rows) > limit:
        rows = rows[:limit]
        page.next_cursor = encode_cursor(rows[-1])
    page.posts = rows
    _load_extras(user, page)
    return page


def _load_extras(user: User, page: FeedPage) -> None:
    """What the items show, one query each for the whole page (run even for an empty page: the
    statements of a page do not depend on what it shows): the audiences' entries (« Tout le réseau »
    or not), the attachments, the 3 latest top-level comments, the authors of the posts and of those
    comments, the person's likes, the groups' names. Apart from the audiences' entries (set on the
    posts' audiences with ``set_committed_value``), these are plain rows, not ORM objects: the
    template only reads them, and building ~200 objects a page cost more than its SQL."""
    items = page.items
    ids = [p.id for p in items]
    audiences = {p.audience.id: p.audience for p in items}
    entries: dict[int, list[AudienceEntry]] = {a: [] for a in audiences}
    for e in db.session.scalars(sa.select(AudienceEntry).where(AudienceEntry.audience_id.in_(audiences))):
        entries[e.audience_id].append(e)
    for audience_id, audience in audiences.items():
        set_committed_value(audience, "entries", entries[audience_id])

    a = Attachment
    page.attachments = {i: [] for i in ids}
    for row in db.session.execute(sa.select(a.id, a.post_id, a.is_image, a.name, a.content_type, a.size)
                                  .where(a.post_id.in_(ids)).order_by(a.post_id, a.position, a.id)):
        page.attachments[row.post_id].append(row)

    c = Comment
    ranked = (sa.select(c.id, sa.func.row_number().over(
        partition_by=c.post_id, order_by=(c.created_at.desc(), c.id.desc())).label("rank"))
        .where(c.post_id.in_(ids), c.parent_id.is_(None)).subquery())
    latest = db.session.execute(
        sa.select(c.id, c.post_id, c.author_id, c.body, c.body_html, c.render_version, c.is_deleted,
                  c.created_at, c.edited_at)
        .join(ranked, ranked.c.id == c.id).where(ranked.c.rank <= LATEST_COMMENTS)
        .order_by(c.post_id, c.created_at, c.id)).all()

    author_ids = {o.author_id for o in (*items, *latest) if o.author_id}
    page.authors = {row.id: Person(*row) for row in db.session.execute(
        sa.select(User.id, User.name, User.photo, Organization.name)
        .join(Organization, Organization.id == User.organization_id).where(User.id.in_(author_ids)))}
    for row in latest:
        page.comments.setdefault(row.post_id, []).append(
            CommentRow(*row[:3], page.authors.get(row.author_id), *row[3:]))

    page.liked = liked_ids(user, ids)
    group_ids = {p.group_id for p in items if p.group_id}
    page.groups = {row.id: row for row in db.session.execute(sa.select(Group.id, Group.name)
                                                               .where(Group.id.in_(group_ids)))}


def thread(post: Post) -> list[tuple[Comment, list[Comment]]]:
    """A post's comments, each top comment with its replies, oldest first."""
    comments = db.session.scalars(sa.select(Comment).where(Comment.post_id == post.id)
                                  .options(selectinload(Comment.author))
                                  .order_by(Comment.created_at, Comment.id)).all()
    replies: dict[int, list[Comment]] = {}
    for c in comments:
        if c.parent_id:
            replies.setdefault(c.parent_id, []).append(c)
    return [(c, replies.get(c.id, [])) for c in comments if c.parent_id is None]


def liked_ids(user: User, post_ids: list[int]) -> set[int]:
    return set(db.session.scalars(sa.select(Like.post_id).where(Like.user_id == user.id, Like.post_id.in_(post_ids))))


def likers(post: Post) -> sa.Select:
    return (sa.select(User).join(Like, Like.user_id == User.id).where(Like.post_id == post.id)
            .order_by(Like.created_at.desc()))


def latest_for_widget(user: User, limit: int = 5) -> list[tuple[Post, str | None]]:
    """The newest posts ``user`` sees, each with its author's name (None: a former member), in one
    statement: the widget shows the name only, not a ``User`` with its organization."""
    query = visible_posts(user).add_columns(User.name).outerjoin(User, User.id == Post.author_id)
    return [(post, name) for post, name in db.session.execute(
        query.order_by(Post.created_at.desc(), Post.id.desc()).limit(limit))]


def viewers_condition(post: Post) -> sa.ColumnElement:
    """SQL on ``User``: who may see ``post`` (for the notification bus)."""
    cond = audience_viewers(post)
    if post.hidden_at is not None:
        cond = sa.or_(User.id == post.author_id, User.role.in_(("admin", "animateur")))
    return cond


# -- stored HTML of an older renderer -------------------------------------------------------------

RERENDER_BATCH = 500


def rerender_stale(batch: int = RERENDER_BATCH) -> int:
    """Render again, ``batch`` rows at most per table, the posts and comments whose HTML an older
    renderer wrote (core.markup.RENDERER_VERSION changed); returns how many were rendered."""
    done = 0
    for model in (Post, Comment):
        rows = db.session.scalars(sa.select(model).where(model.render_version != RENDERER_VERSION)
                                  .order_by(model.id).limit(batch)).all()
        for row in rows:
            row.body_html = render_with_mentions(row.body) if row.body else ""
            row.render_version = RENDERER_VERSION
        done += len(rows)
    db.session.flush()
    return done


def rerender_job(job=None, **_) -> str:
    """The worker's periodic pass: a few batches, then the next run goes on."""
    total = 0
    for _batch in range(10):
        count = rerender_stale()
        db.session.commit()
        total += count
        if count < RERENDER_BATCH:
            break
    return f"{total} textes rendus à nouveau"


def body_html(row) -> str:
    """The HTML of a post or comment: the stored one when the current renderer wrote it, else
    rendered now (until the job has caught up), so a change of renderer shows at once."""
    if row.render_version == RENDERER_VERSION:
        return row.body_html
    return render_with_mentions(row.body) if row.body else ""
