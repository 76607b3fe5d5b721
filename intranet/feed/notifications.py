"""Notification types of the feed, the object they are about (a post), and the receivers that
turn other plugins' activity signals into feed items."""

from __future__ import annotations

from flask import url_for
from flask_babel import lazy_gettext as _l

from intranet.core import signals as core_signals
from intranet.core.audiences import get_audience
from intranet.core.markup import excerpt
from intranet.core.notifications import NotifiableKind
from intranet.core.plugins import NotificationType, current_registry
from intranet.feed.models import Post

CATEGORY = _l("Fil de discussion")

TYPES = (
    NotificationType("feed.new_post", _l("Nouvelle publication dans le fil du réseau"), CATEGORY,
                     message=_l("%(actor)s a publié dans le fil : « %(title)s »"),
                     subject=_l("%(actor)s a publié dans le fil du réseau")),
    NotificationType("feed.group_post", _l("Nouvelle publication dans un de mes groupes"), CATEGORY,
                     message=_l("%(actor)s a publié dans le groupe « %(group)s » : « %(title)s »"),
                     subject=_l("Nouvelle publication dans le groupe « %(group)s »")),
    NotificationType("feed.comment", _l("Un commentaire sur ma publication"), CATEGORY,
                     message=_l("%(actor)s a commenté votre publication « %(title)s »"),
                     subject=_l("%(actor)s a commenté votre publication")),
    NotificationType("feed.reply", _l("Une réponse à mon commentaire"), CATEGORY,
                     message=_l("%(actor)s a répondu à votre commentaire sur « %(title)s »"),
                     subject=_l("%(actor)s a répondu à votre commentaire")),
    NotificationType("feed.mention", _l("On me mentionne avec @"), CATEGORY,
                     message=_l("%(actor)s vous a mentionné : « %(title)s »"),
                     subject=_l("%(actor)s vous a mentionné dans le fil")),
    NotificationType("feed.like", _l("Quelqu'un aime ma publication"), CATEGORY,
                     message=_l("%(actor)s aime votre publication « %(title)s »"),
                     subject=_l("%(actor)s aime votre publication"), channels=("web",)),
    NotificationType("feed.post_hidden", _l("Ma publication est masquée par la modération"), CATEGORY,
                     message=_l("Votre publication « %(title)s » a été masquée : %(reason)s"),
                     subject=_l("Votre publication a été masquée")),
)


def post_url(post: Post) -> str:
    return url_for("feed.show", post_id=post.id)


def _title(post: Post) -> str:
    if post.is_activity:
        return str(post.data.get("title", ""))
    if post.body:
        return excerpt(post.body, 80)
    return ", ".join(a.name for a in post.attachments)[:80]


def _viewers(post: Post):
    from intranet.feed.services import viewers_condition

    return viewers_condition(post)


KINDS = (
    NotifiableKind("feed.post", Post, viewers=_viewers, title=_title, url=post_url,
                   excerpt=lambda p: excerpt(p.body, 300), group_id=lambda p: p.group_id),
)


# -- activity items contributed by other plugins -----------------------------------------------

def on_activity_published(sender, key, object_id, audience_targets, actor=None, data=None, group_id=None,
                          **kwargs):
    if "feed" not in current_registry().plugins:
        return
    from intranet.feed.services import publish_activity

    publish_activity(key, object_id, get_audience(audience_targets), actor, data or {}, group_id)


def on_activity_withdrawn(sender, key, object_id, **kwargs):
    if "feed" not in current_registry().plugins:
        return
    from intranet.feed.services import withdraw_activity

    withdraw_activity(key, object_id)


def connect_receivers(app) -> None:
    core_signals.activity_published.connect(on_activity_published)
    core_signals.activity_withdrawn.connect(on_activity_withdrawn)
