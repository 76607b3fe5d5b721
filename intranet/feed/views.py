"""Pages of the feed: the network's thread, a group's « Fil » tab, a post with its comments.

CSRFProtect checks the token of every POST before the view runs: views do not check it again.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import get_timezone
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from intranet.core.audiences import describe, get_audience
from intranet.core.fragments import FragmentCache
from intranet.core.i18n import current_locale, ngettext
from intranet.core.plugins import current_registry
from intranet.core.security import safe_redirect_target
from intranet.core.storage import UploadError, delete_stored, save_image, save_thumbnail, save_upload, send_stored
from intranet.core.urls import IdUrl
from intranet.extensions import db
from intranet.feed import services
from intranet.feed.forms import CommentForm, EditPostForm, HideForm, PostForm
from intranet.feed.models import Attachment, Comment, Post
from intranet.feed.services import FILTERS, FeedError, Upload
from intranet.groups.models import Group
from intranet.groups.services import can_see_content, can_see_group, is_member, render_group_page

bp = Blueprint("feed", __name__)

IMAGE_SIDE = 1600
THUMB_SIDE = 480


def _post_or_404(post_id: int) -> Post:
    post = db.session.get(Post, post_id)
    if post is None or not services.can_see(current_user, post):
        abort(404)  # a post one may not see does not exist for them
    return post


def _filter() -> str:
    value = request.args.get("filtre", "tout")
    return value if value in FILTERS else "tout"


def _since():
    """Posts newer than this are marked « Nouveau depuis votre dernière visite »."""
    return current_user.previous_visit_at


def _wants_fragment() -> bool:
    return request.args.get("fragment") == "1"


def _render_stream(page, filter_: str, group: Group | None):
    """The items of a page and the « Voir plus » link, as the JS fetches them."""
    more_url = None
    if page.next_cursor:
        args = {"filtre": filter_, "apres": page.next_cursor}
        more_url = (url_for("feed.group_feed", group_id=group.id, **args) if group
                    else url_for("feed.index", **args))
    # Markup: the fragment comes out of an autoescaped template, ready to be embedded as is.
    return Markup(render_template("feed/_stream.html", page=page, more_url=more_url, since=_since(),  # noqa: S704
                                  in_group=group))


@bp.route("/")
@login_required
def index():
    filter_ = _filter()
    page = services.feed_page(current_user, filter_, cursor=request.args.get("apres"))
    if _wants_fragment():
        return _render_stream(page, filter_, None)
    return render_template("feed/index.html", page=page, filter_=filter_, form=PostForm(),
                           stream=_render_stream(page, filter_, None), group=None)


@bp.route("/groupe/<int:group_id>")
@login_required
def group_feed(group_id: int):
    group = db.session.get(Group, group_id)
    if group is None or not can_see_group(current_user, group):
        abort(404)
    if not can_see_content(current_user, group):
        abort(403)
    filter_ = "tout"
    page = services.feed_page(current_user, filter_, group=group, cursor=request.args.get("apres"))
    if _wants_fragment():
        return _render_stream(page, filter_, group)
    can_post = current_user.is_animateur or is_member(group, current_user)
    return render_group_page("feed/group.html", group, "feed.group", page=page, form=PostForm(),
                             stream=_render_stream(page, filter_, group), can_post=can_post)


# -- publishing ---------------------------------------------------------------------------------

def _store_uploads(form: PostForm) -> list[Upload]:
    """Check and store every file of the form; on the first refused one, remove what was stored."""
    uploads: list[Upload] = []
    fs = None
    try:
        for fs in form.images.data or []:
            if fs and fs.filename:
                stored = save_image(fs, max_side=IMAGE_SIDE)
                uploads.append(Upload(stored, True))
                uploads[-1].thumb = save_thumbnail(stored.key, THUMB_SIDE)
        for fs in form.files.data or []:
            if fs and fs.filename:
                uploads.append(Upload(save_upload(fs, ["document", "image"]), False))
        if len(uploads) > services.MAX_ATTACHMENTS:
            fs = None  # the message is about the post, not one file
            raise UploadError(_("%(n)s fichiers au plus par publication.", n=services.MAX_ATTACHMENTS))
    except UploadError as exc:
        name = getattr(fs, "filename", "") or ""
        _discard(uploads)
        raise FeedError(f"{name[:100]} : {exc}" if name else str(exc)) from exc
    except BaseException:
        _discard(uploads)
        raise
    return uploads


def _discard(uploads: list[Upload]) -> None:
    for u in uploads:
        delete_stored(u.stored.key)
        if u.thumb:
            delete_stored(u.thumb.key)


@bp.route("/publier", methods=["POST"])
@login_required
def create():
    group = None
    group_id = request.form.get("group_id", type=int)
    if group_id:
        group = db.session.get(Group, group_id)
        if group is None or not can_see_group(current_user, group):
            abort(404)
    form = PostForm()
    back = url_for("feed.group_feed", group_id=group.id) if group else url_for("feed.index")
    if form.validate():
        audience = form.audience.audience() if group is None else None
        try:
            if group is not None:
                audience = get_audience([("group", group.id)])
            unseen = services.unseen_mentions(current_user, form.body.data or "", audience, group)
            if unseen and not form.confirm_mentions.data:
                return _compose_again(form, group, unseen=unseen)
            uploads = _store_uploads(form)
            try:
                post = services.create_post(current_user, form.body.data or "", audience, group, uploads)
                db.session.commit()
            except BaseException:
                db.session.rollback()
                _discard(uploads)
                raise
        except FeedError as exc:
            db.session.rollback()
            return _compose_again(form, group, error=str(exc))
        flash(_("Votre message est publié."), "success")
        return redirect(f"{back}#publication-{post.id}")
    return _compose_again(form, group)


def _compose_again(form: PostForm, group: Group | None, error: str | None = None, unseen=None):
    """The feed with the composer still filled in, its error shown; files must be chosen again."""
    if error:
        form.body.errors = [*form.body.errors, error]
    page = services.feed_page(current_user, "tout", group=group)
    status = 200 if unseen else 400
    if group is not None:
        return render_group_page("feed/group.html", group, "feed.group", page=page, form=form, unseen=unseen,
                                 stream=_render_stream(page, "tout", group), can_post=True), status
    return render_template("feed/index.html", page=page, filter_="tout", form=form, unseen=unseen,
                           stream=_render_stream(page, "tout", None), group=None), status


# -- one post -----------------------------------------------------------------------------------

@bp.route("/<int:post_id>")
@login_required
def show(post_id: int):
    post = _post_or_404(post_id)
    group = db.session.get(Group, post.group_id) if post.group_id else None
    return render_template("feed/show.html", post=post, thread=services.thread(post), group=group,
                           liked=bool(post.id in services.liked_ids(current_user, [post.id])),
                           audience_text=describe(post.audience), form=CommentForm(), hide_form=HideForm(),
                           action_form=FlaskForm(), since=_since())


@bp.route("/<int:post_id>/modifier", methods=["GET", "POST"])
@login_required
def edit(post_id: int):
    post = _post_or_404(post_id)
    if not services.can_edit(current_user, post):
        abort(403)
    form = EditPostForm(obj=post)
    if form.validate_on_submit():
        removed = {int(v) for v in request.form.getlist("remove") if v.isdigit()}
        try:
            keys = services.update_post(current_user, post, form.body.data or "", removed)
            db.session.commit()
        except FeedError as exc:
            db.session.rollback()
            form.body.errors = [*form.body.errors, str(exc)]
        else:
            for key in keys:
                delete_stored(key)
            flash(_("Publication modifiée."), "success")
            return redirect(url_for("feed.show", post_id=post.id))
    return render_template("feed/edit.html", post=post, form=form), 400 if form.errors else 200


@bp.route("/<int:post_id>/supprimer", methods=["POST"])
@login_required
def delete(post_id: int):
    post = _post_or_404(post_id)
    if not services.can_delete(current_user, post):
        abort(403)
    group_id = post.group_id
    keys = services.delete_post(post)
    db.session.commit()
    for key in keys:
        delete_stored(key)
    flash(_("Publication supprimée."), "success")
    return redirect(url_for("feed.group_feed", group_id=group_id) if group_id else url_for("feed.index"))


def _back_to(post: Post) -> str:
    default = url_for("feed.show", post_id=post.id)
    return safe_redirect_target(request.form.get("next"), default)


@bp.route("/<int:post_id>/jaime", methods=["POST"])
@login_required
def like(post_id: int):
    post = _post_or_404(post_id)
    if post.hidden_at is not None:
        abort(403)
    liked = services.toggle_like(current_user, post)
    db.session.commit()
    if request.accept_mimetypes.best == "application/json":
        return jsonify(liked=liked, count=post.like_count, count_text=like_count_text(post.like_count),
                       label=_("Je n'aime plus") if liked else _("J'aime"))
    return redirect(f"{_back_to(post)}#publication-{post.id}")


@bp.route("/<int:post_id>/jaime")
@login_required
def likers(post_id: int):
    post = _post_or_404(post_id)
    page = db.paginate(services.likers(post), per_page=current_app.config["PAGE_SIZE"], error_out=False)
    return render_template("feed/likers.html", post=post, page=page)


@bp.route("/<int:post_id>/epingler", methods=["POST"])
@login_required
def pin(post_id: int):
    post = _post_or_404(post_id)
    if not services.can_moderate(current_user, post):
        abort(403)
    pinned = request.form.get("pinned") == "1"
    services.set_pinned(post, pinned)
    db.session.commit()
    flash(_("Publication épinglée en haut du fil.") if pinned else _("Publication désépinglée."), "success")
    return redirect(_back_to(post))


@bp.route("/<int:post_id>/masquer", methods=["POST"])
@login_required
def hide(post_id: int):
    post = _post_or_404(post_id)
    if not services.can_moderate(current_user, post):
        abort(403)
    form = HideForm()
    try:
        services.hide_post(current_user, post, form.reason.data or "")
        db.session.commit()
    except FeedError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
    else:
        flash(_("Publication masquée ; son auteur est prévenu."), "success")
    return redirect(url_for("feed.show", post_id=post.id))


@bp.route("/<int:post_id>/afficher", methods=["POST"])
@login_required
def unhide(post_id: int):
    post = _post_or_404(post_id)
    if not services.can_moderate(current_user, post):
        abort(403)
    services.unhide_post(post)
    db.session.commit()
    flash(_("La publication est de nouveau visible."), "success")
    return redirect(url_for("feed.show", post_id=post.id))


# -- comments -----------------------------------------------------------------------------------

@bp.route("/<int:post_id>/commenter", methods=["POST"])
@login_required
def comment(post_id: int):
    post = _post_or_404(post_id)
    form = CommentForm()
    parent = None
    if form.parent_id.data:
        if not str(form.parent_id.data).isdigit():
            abort(400)
        parent = db.session.get(Comment, int(form.parent_id.data))
        if parent is None or parent.post_id != post.id:
            abort(404)
    if form.validate():
        try:
            c = services.add_comment(current_user, post, form.body.data or "", parent)
            db.session.commit()
        except FeedError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
        else:
            return redirect(f"{_back_to(post)}#commentaire-{c.id}")
    else:
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "danger")
    return redirect(f"{_back_to(post)}#publication-{post.id}")


def _comment_or_404(comment_id: int) -> tuple[Comment, Post]:
    c = db.session.get(Comment, comment_id)
    if c is None or c.is_deleted:
        abort(404)
    return c, _post_or_404(c.post_id)


@bp.route("/commentaires/<int:comment_id>/modifier", methods=["GET", "POST"])
@login_required
def edit_comment(comment_id: int):
    c, post = _comment_or_404(comment_id)
    if not services.can_edit(current_user, c):
        abort(403)
    form = CommentForm(obj=c)
    if form.validate_on_submit():
        try:
            services.update_comment(current_user, c, form.body.data or "")
            db.session.commit()
        except FeedError as exc:
            db.session.rollback()
            form.body.errors = [*form.body.errors, str(exc)]
        else:
            flash(_("Commentaire modifié."), "success")
            return redirect(url_for("feed.show", post_id=post.id, _anchor=f"commentaire-{c.id}"))
    return render_template("feed/edit_comment.html", comment=c, post=post, form=form), 400 if form.errors else 200


@bp.route("/commentaires/<int:comment_id>/supprimer", methods=["POST"])
@login_required
def delete_comment(comment_id: int):
    c, post = _comment_or_404(comment_id)
    if not services.can_delete(current_user, c):
        abort(403)
    services.delete_comment(c)
    db.session.commit()
    flash(_("Commentaire supprimé."), "success")
    return redirect(url_for("feed.show", post_id=post.id))


# -- files ----------------------------------------------------------------------------------------

def _attachment_or_404(attachment_id: int) -> Attachment:
    a = db.session.get(Attachment, attachment_id)
    if a is None:
        abort(404)
    _post_or_404(a.post_id)
    return a


@bp.route("/fichiers/<int:attachment_id>")
@login_required
def attachment(attachment_id: int):
    a = _attachment_or_404(attachment_id)
    try:
        return send_stored(a.key, a.name, as_attachment=not a.is_image or request.args.get("telecharger") == "1")
    except FileNotFoundError:
        abort(404)


@bp.route("/fichiers/<int:attachment_id>/miniature")
@login_required
def thumbnail(attachment_id: int):
    a = _attachment_or_404(attachment_id)
    if not a.is_image:
        abort(404)
    try:
        return send_stored(a.thumb_key or a.key, a.name, as_attachment=False)
    except FileNotFoundError:
        abort(404)


@bp.app_template_global()
def feed_activity_label(key: str) -> str:
    activity = current_registry().activity_types.get(key)
    return str(activity.label) if activity else ""


@bp.app_template_global()
def feed_activity_template(key: str) -> str | None:
    activity = current_registry().activity_types.get(key)
    return activity.template if activity else None


#: Name in templates → (endpoint, argument) of the links a feed item repeats.
_ITEM_URLS = {
    "show": ("feed.show", "post_id"), "edit": ("feed.edit", "post_id"), "delete": ("feed.delete", "post_id"),
    "like": ("feed.like", "post_id"), "likers": ("feed.likers", "post_id"), "comment": ("feed.comment", "post_id"),
    "group": ("feed.group_feed", "group_id"), "attachment": ("feed.attachment", "attachment_id"),
    "thumbnail": ("feed.thumbnail", "attachment_id"), "edit_comment": ("feed.edit_comment", "comment_id"),
    "delete_comment": ("feed.delete_comment", "comment_id"), "profile": ("accounts.profile", "user_id"),
}


@bp.app_template_global()
def feed_urls() -> dict[str, IdUrl]:
    """The builders of the links of feed items (templates/feed/_post.html builds them once per page)."""
    return {name: IdUrl(endpoint, arg) for name, (endpoint, arg) in _ITEM_URLS.items()}


#: The post cards of the feed's lists, drawn once per process for what they show (see
#: core.fragments). ~4 KB a card: 2,048 cards are about 8 MB per process, the first pages of the
#: network's and the groups' feeds for the readers' usual combinations of flags.
CARDS = FragmentCache(max_entries=2048)


@bp.app_template_global()
def feed_card(post_card, post: Post, comments, liked: bool, group, since, next, in_group, author,
              attachments):
    """``post_card(…)`` of a list (templates/feed/_stream.html), kept in ``CARDS`` under every value
    the macro reads: the post's fields, its author, files and latest comments (the page's rows),
    the viewer's flags (their own post, admin, « j'aime », new since their last visit), the page's
    link back, the locale and time zone, and the relative dates as they read now."""
    args = (post, comments, liked, group)
    kwargs = {"since": since, "next": next, "in_group": in_group, "author": author, "attachments": attachments}
    if any(o.render_version != services.RENDERER_VERSION for o in (post, *comments)):
        return post_card(*args, **kwargs)  # drawn by the renderer of the day until the job has stored it
    me, is_admin, token, tz, root = _card_reader()
    ago = current_app.jinja_env.filters["ago"]
    inputs = (
        post.id, post.author_id, post.created_at, post.edited_at, post.pinned_at, post.hidden_at,
        post.hidden_reason, post.activity_key, post.object_id, repr(post.data),
        post.body_html, post.audience.is_network, post.like_count, post.comment_count, ago(post.created_at),
        tuple(comments), tuple(ago(c.created_at) for c in comments), author, tuple(attachments),
        (group.id, group.name) if group else None, in_group.id if in_group else None, next, liked,
        bool(since and post.created_at > since and post.author_id != me), post.author_id == me, is_admin,
        str(current_locale()), tz, root,
    )
    return CARDS.get(inputs, lambda: post_card(*args, **kwargs), secret=token)


def _card_reader() -> tuple:
    """What the cards' keys take from the reader and the request, read once per request (kept on
    the request, not on ``g``, which a test's app context shares between its requests)."""
    found = getattr(request, "_feed_card_reader", None)
    if found is None:
        found = request._feed_card_reader = (current_user.id, current_user.is_admin, generate_csrf(),
                                             str(get_timezone()), request.script_root)
    return found


@bp.app_template_global()
def feed_can_moderate(post: Post) -> bool:
    return services.can_moderate(current_user, post)


@bp.app_template_global()
def feed_body_html(row) -> str:
    return services.body_html(row)


@bp.app_template_global()
def like_count_text(count: int) -> str:
    """« 3 j'aime » under a post (the link is hidden at 0); the same text after a click (JSON)."""
    return ngettext("%(num)d j'aime", "%(num)d j'aime", count) if count else ""
