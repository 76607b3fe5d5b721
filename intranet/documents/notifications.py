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
    NotificationType("documents.followed", _l("Un document arrive dans un dossier que je suis"), CATEGORY,
                     message=_l("%(actor)s a déposé « %(title)s » dans « %(folder)s »"),
                     subject=_l("Nouveau dans « %(folder)s » : %(title)s")),
    NotificationType("documents.confirm", _l("On me demande de confirmer la lecture d'un document"), CATEGORY,
                     message=_l("%(actor)s vous demande de lire et d'approuver « %(title)s »"),
                     subject=_l("À lire et approuver : %(title)s")),
    NotificationType("documents.expiring", _l("Un de mes documents arrive à sa date de validité"), CATEGORY,
                     message=_l("« %(title)s » est à jour jusqu'au %(date)s : pensez à le remplacer"),
                     subject=_l("À mettre à jour avant le %(date)s : %(title)s")),
)


def _viewers(document: Document):
    from intranet.documents.services import viewers

    return viewers(document)


KINDS = (
    NotifiableKind("documents.document", Document, viewers=_viewers, title=lambda d: d.name,
                   url=lambda d: url_for("documents.show", document_id=d.id), excerpt=lambda d: excerpt(d.note, 200),
                   group_id=lambda d: d.folder.group_id),
)
