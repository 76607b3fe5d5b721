"""The library's notification type and the object it is about (a document)."""

from __future__ import annotations

from flask import url_for
from flask_babel import lazy_gettext as _l

from intranet.core.markup import excerpt
from intranet.core.notifications import NotifiableKind
from intranet.core.plugins import NotificationType
from intranet.documents.models import Document

CATEGORY = _l("Documents")

TYPES = (
    NotificationType("documents.new", _l("Un nouveau document est partagé avec moi"), CATEGORY,
                     message=_l("%(actor)s a partagé « %(title)s »"),
                     subject=_l("Nouveau document : %(title)s")),
)


def _viewers(document: Document):
    from intranet.documents.services import viewers

    return viewers(document)


KINDS = (
    NotifiableKind("documents.document", Document, viewers=_viewers, title=lambda d: d.name,
                   url=lambda d: url_for("documents.show", document_id=d.id), excerpt=lambda d: excerpt(d.note, 200),
                   group_id=lambda d: d.folder.group_id),
)
