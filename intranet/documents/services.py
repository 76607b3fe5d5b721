"""The library's rules: which folders and documents a person sees, listing a folder, adding
documents and versions. Services flush, never commit (the view commits once)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask import has_request_context, request
from flask_babel import gettext as _

from intranet.core import signals as core_signals
from intranet.core.audiences import Audience, audience_viewers, can_view, get_audience, sees_everything, visible_to
from intranet.core.markup import excerpt
from intranet.core.models import User
from intranet.core.notifications import notify
from intranet.core.storage import StoredFile
from intranet.core.textfold import french
from intranet.core.timeutil import utcnow
from intranet.documents.models import (
    MAX_DEPTH,
    MAX_NAME,
    MAX_NOTE,
    MAX_TAGS,
    TRASH_DAYS,
    Document,
    DocumentRead,
    Folder,
    FolderFollow,
    Version,
)
from intranet.extensions import db
from intranet.groups.models import Group, Membership
from intranet.groups.services import can_manage, can_see_content, my_group_ids

PAGE_SIZE = 50
EXPIRY_NOTICE_DAYS = 14  # the owner is told this many days before « à jour jusqu'au »
MAX_FILE_SETTING = "documents.max_file_mb"  # the size of one file, in MB (admins change it)
QUOTA_SETTING = "documents.quota_mb"  # the space of one organization, in MB; 0: no limit
#: The sorts of a folder's list: « nom », « date », « taille », « type » (then the name).
SORTS = {
    "nom": lambda: (french(Document.name), Document.id),
    "date": lambda: (Document.updated_at.desc(), Document.id.desc()),
    "taille": lambda: (Document.size.desc(), Document.id),
    "type": lambda: (Document.kind, french(Document.name), Document.id),
}


class DocumentError(ValueError):
    """A refused change; the message is French and shown to the person."""


# -- who sees what ----------------------------------------------------------------------------

def visible_folder_ids(user) -> sa.Select:
    """SELECT of the ids of the folders ``user`` sees: walked down from the top folders, a folder
    is kept when its audience admits the person and its parent was kept (one recursive query).
    Built once per request and person, as ``visible_audience_ids`` (building it costs more than
    running it)."""
    if not has_request_context():
        return _visible_folder_ids(user)
    built = request.__dict__.setdefault("_visible_folder_ids", {})
    if user.id not in built:
        built[user.id] = _visible_folder_ids(user)
    return built[user.id]


def _visible_folder_ids(user) -> sa.Select:
    # A group's folders only for those who see the group's content (its members; everyone for a public one).
    open_groups = sa.union(my_group_ids(user), sa.select(Group.id).where(Group.visibility == "public"))
    top = visible_to(user, sa.select(Folder.id, sa.literal(1).label("depth"))
                     .where(Folder.parent_id.is_(None),
                            sa.or_(Folder.group_id.is_(None), Folder.group_id.in_(open_groups))), Folder)
    tree = top.cte("visible_folders", recursive=True)
    child = sa.orm.aliased(Folder)
    below = visible_to(user, sa.select(child.id, (tree.c.depth + 1).label("depth"))
                       .join(tree, child.parent_id == tree.c.id).where(tree.c.depth < MAX_DEPTH), child)
    tree = tree.union_all(below)
    return sa.select(tree.c.id)


def folder_visible(user, folder: Folder | None) -> bool:
    if folder is None:
        return False
    if folder.group_id is not None and not _group_open(user, folder.group_id):
        return False
    if sees_everything(user):
        return True
    return db.session.scalar(sa.select(sa.literal(True)).where(Folder.id.in_(visible_folder_ids(user)),
                                                               Folder.id == folder.id)) is not None


def _group_open(user, group_id: int) -> bool:
    group = db.session.get(Group, group_id)
    return group is not None and can_see_content(user, group)


def document_visible(user, document: Document | None) -> bool:
    """Whether ``user`` may open the document: not in the trash, its audience, a visible folder."""
    return (document is not None and document.deleted_at is None and can_view(user, document)
            and folder_visible(user, document.folder))


def visible_documents(user, query: sa.Select | None = None) -> sa.Select:
    """Documents ``user`` sees: their audience, and a visible folder."""
    query = query if query is not None else sa.select(Document)
    query = visible_to(user, query.where(Document.deleted_at.is_(None)), Document)
    if not sees_everything(user):
        query = query.where(Document.folder_id.in_(visible_folder_ids(user)))
    return query


def can_create_folder(user, parent: Folder | None, group: Group | None) -> bool:
    """Network folders: animateurs (``documents.folders``); a group's: its managers."""
    from intranet.core.permissions import can

    if group is not None:
        return can_manage(user, group)
    if parent is not None and parent.group_id is not None:
        return can_manage(user, db.session.get(Group, parent.group_id))
    return can(user, "documents.folders")


def can_manage_folder(user, folder: Folder) -> bool:
    """Rename, re-share or delete a folder: who made it, animateurs, and a group's managers for its folders."""
    if user.is_animateur or folder.author_id == user.id:
        return True
    return folder.group_id is not None and can_manage(user, db.session.get(Group, folder.group_id))


def can_edit(user, document: Document) -> bool:
    return user.is_animateur or document.author_id == user.id


def folder_path(folder: Folder) -> list[Folder]:
    """The folder's ancestors then itself, from the top (for the breadcrumb)."""
    chain = [folder]
    while chain[-1].parent_id is not None and len(chain) <= MAX_DEPTH:
        chain.append(chain[-1].parent)
    return list(reversed(chain))


# -- listing ----------------------------------------------------------------------------------

@dataclass
class FolderPage:
    folders: list[Folder]
    documents: list[Document]
    total: int  # documents visible in the folder
    page: int
    pages: int
    sort: str
    counts: dict[int, int]  # sub-folder id → documents visible directly in it


def document_counts(user, folders: list[Folder]) -> dict[int, int]:
    """For each folder, how many documents directly in it the person sees (the same rule as the
    lists, so a count never gives away a hidden document): one statement for the whole list."""
    if not folders:
        return {}
    query = visible_documents(user, sa.select(Document.folder_id, sa.func.count(Document.id))
                              .where(Document.folder_id.in_([f.id for f in folders])))
    return dict(db.session.execute(query.group_by(Document.folder_id)).all())


def top_folders(user, group: Group | None = None) -> list[Folder]:
    query = sa.select(Folder).where(Folder.parent_id.is_(None),
                                    Folder.group_id == group.id if group is not None else Folder.group_id.is_(None))
    return list(db.session.scalars(visible_to(user, query, Folder).order_by(french(Folder.name), Folder.id)))


def folder_page(user, folder: Folder, sort: str = "nom", page: int = 1) -> FolderPage:
    """The sub-folders (with their counts) and one page of the documents of a folder the person sees
    (checked by the caller): four statements whatever the number of documents."""
    sort = sort if sort in SORTS else "nom"
    subs = list(db.session.scalars(visible_to(user, sa.select(Folder).where(Folder.parent_id == folder.id), Folder)
                                   .order_by(french(Folder.name), Folder.id)))
    base = visible_to(user, sa.select(Document).where(Document.folder_id == folder.id, Document.deleted_at.is_(None)),
                      Document)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(base.subquery()))
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    docs = list(db.session.scalars(base.order_by(*SORTS[sort]()).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)))
    return FolderPage(subs, docs, total, page, pages, sort, document_counts(user, subs))


def move_targets(user, document: Document) -> list[Folder]:
    """The folders a document may move to: those the person sees, in the same library (the
    network's, or the same group's)."""
    query = sa.select(Folder).where(Folder.group_id.is_(None) if document.folder.group_id is None
                                    else Folder.group_id == document.folder.group_id)
    if not sees_everything(user):
        query = query.where(Folder.id.in_(visible_folder_ids(user)))
    return list(db.session.scalars(query.order_by(french(Folder.name), Folder.id)))


MAX_ZIP_FILES = 2000


def zip_entries(user, folder: Folder) -> list[tuple[str, str]]:
    """(path in the archive, storage key) of the current version of every document the person sees in
    the folder and its visible sub-folders; names made unique (« a.pdf », « a (2).pdf »)."""
    visible = None if sees_everything(user) else set(db.session.scalars(visible_folder_ids(user)))
    out: list[tuple[str, str]] = []
    used: set[str] = set()
    level = [(folder, "")]
    while level and len(out) < MAX_ZIP_FILES:
        ids = [f.id for f, _prefix in level]
        prefix_of = {f.id: prefix for f, prefix in level}
        rows = db.session.execute(
            visible_documents(user, sa.select(Document.folder_id, Document.name, Version.key)
                              .join(Version, sa.and_(Version.document_id == Document.id,
                                                     Version.number == Document.current_number)))
            .where(Document.folder_id.in_(ids)).order_by(Document.folder_id, french(Document.name), Document.id)
            .limit(MAX_ZIP_FILES - len(out))).all()
        for folder_id, name, key in rows:
            out.append((_unique(prefix_of[folder_id] + _arc(name), used), key))
        children = db.session.scalars(sa.select(Folder).where(Folder.parent_id.in_(ids)).order_by(Folder.id)).all()
        level = [(f, prefix_of[f.parent_id] + _arc(f.name) + "/") for f in children
                 if visible is None or f.id in visible]
    return out


def _arc(name: str) -> str:
    return name.replace("/", "-").replace("\\", "-").strip(". ") or "document"


def _unique(path: str, used: set[str]) -> str:
    stem, dot, ext = path.rpartition(".")
    candidate, n = path, 1
    while candidate.lower() in used:
        n += 1
        candidate = f"{stem} ({n}).{ext}" if dot else f"{path} ({n})"
    used.add(candidate.lower())
    return candidate


def versions(document: Document) -> list[Version]:
    return list(db.session.scalars(sa.select(Version).where(Version.document_id == document.id)
                                   .options(sa.orm.selectinload(Version.author))
                                   .order_by(Version.number.desc())))


def current_version(document: Document) -> Version:
    return db.session.scalar(sa.select(Version).where(Version.document_id == document.id,
                                                      Version.number == document.current_number))


# -- changes ----------------------------------------------------------------------------------

def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise DocumentError(_("Le nom est obligatoire."))
    if len(name) > MAX_NAME:
        raise DocumentError(_("Le nom est trop long (%(max)s caractères au plus).", max=MAX_NAME))
    return name


def clean_tags(raw: str) -> str:
    tags, seen = [], set()
    for part in (raw or "").split(","):
        tag = " ".join(part.split())[:50]
        if tag and tag.lower() not in seen:
            seen.add(tag.lower())
            tags.append(tag)
    text = ", ".join(tags)
    if len(text) > MAX_TAGS:
        raise DocumentError(_("Trop de mots-clés (%(max)s caractères au plus).", max=MAX_TAGS))
    return text


def create_folder(user: User, name: str, parent: Folder | None = None, group: Group | None = None,
                  audience: Audience | None = None, description: str = "") -> Folder:
    if parent is not None:
        group_id = parent.group_id
        if len(folder_path(parent)) >= MAX_DEPTH:
            raise DocumentError(_("Ce dossier est trop profond (%(max)s niveaux au plus).", max=MAX_DEPTH))
    else:
        group_id = group.id if group is not None else None
    if audience is None:
        audience = parent.audience if parent is not None else (
            get_audience([("group", group_id)]) if group_id else get_audience([]))
    folder = Folder(name=_clean_name(name), description=(description or "")[:MAX_NOTE],
                    parent_id=parent.id if parent else None,
                    group_id=group_id, audience_id=audience.id, author_id=user.id)
    db.session.add(folder)
    db.session.flush()
    return folder


def add_document(user: User, folder: Folder, stored: StoredFile, note: str = "", tags: str = "",
                 valid_until: date | None = None, audience: Audience | None = None, announce: bool = True,
                 needs_confirmation: bool = False) -> Document:
    """A new document in ``folder`` (version 1 = ``stored``), told to those who see it."""
    if len(note or "") > MAX_NOTE:
        raise DocumentError(_("La note est trop longue (%(max)s caractères au plus).", max=MAX_NOTE))
    audience = audience or folder.audience
    now = utcnow()
    doc = Document(folder_id=folder.id, name=stored.original_name[:MAX_NAME], note=note or "", tags=clean_tags(tags),
                   valid_until=valid_until, audience_id=audience.id, author_id=user.id, current_number=1,
                   needs_confirmation=needs_confirmation,
                   size=stored.size, kind=_kind(stored.original_name), created_at=now, updated_at=now)
    db.session.add(doc)
    db.session.flush()
    db.session.add(Version(document_id=doc.id, number=1, key=stored.key, original_name=stored.original_name,
                           content_type=stored.content_type, size=stored.size, author_id=user.id, created_at=now))
    db.session.flush()
    _queue_text(doc)
    if announce:
        _announce(user, doc)
    return doc


def _kind(name: str) -> str:
    return name.rpartition(".")[2].lower()[:10] if "." in name else ""


def add_version(user: User, document: Document, stored: StoredFile, note: str = "") -> Version:
    number = (db.session.scalar(sa.select(sa.func.max(Version.number)).where(Version.document_id == document.id))
              or 0) + 1
    version = Version(document_id=document.id, number=number, key=stored.key, original_name=stored.original_name,
                      content_type=stored.content_type, size=stored.size, note=" ".join((note or "").split())[:500],
                      author_id=user.id)
    db.session.add(version)
    _make_current(document, version)
    db.session.flush()
    _queue_text(document)
    return version


def restore_version(document: Document, version: Version) -> None:
    if version.document_id != document.id:
        raise DocumentError(_("Cette version n'appartient pas à ce document."))
    _make_current(document, version)
    db.session.flush()
    _queue_text(document)


def _make_current(document: Document, version: Version) -> None:
    document.current_number = version.number
    document.size = version.size
    document.kind = _kind(version.original_name)
    document.updated_at = utcnow()


def update_document(user: User, document: Document, name: str, note: str, tags: str, valid_until: date | None,
                    audience: Audience, folder: Folder) -> None:
    """Name, note, tags, validity, audience and folder (a move: the caller checked the person sees
    the new folder). A move or an audience change takes effect at once in lists, feed and e-mails."""
    if len(note or "") > MAX_NOTE:
        raise DocumentError(_("La note est trop longue (%(max)s caractères au plus).", max=MAX_NOTE))
    document.name = _clean_name(name)
    document.note = note or ""
    document.tags = clean_tags(tags)
    document.valid_until = valid_until
    moved_or_reshared = document.folder_id != folder.id or document.audience_id != audience.id
    document.folder_id, document.audience_id = folder.id, audience.id
    document.updated_at = utcnow()
    db.session.flush()
    if moved_or_reshared:  # the feed's item follows the new audience (or goes, see _publish)
        db.session.expire(document, ["folder", "audience"])
        _publish(user, document)


def update_folder(user: User, folder: Folder, name: str, description: str, audience: Audience) -> None:
    """A folder's name, description and audience; what is below follows at once (lists by the
    recursive query, feed items re-published or withdrawn here)."""
    folder.name = _clean_name(name)
    folder.description = (description or "")[:MAX_NOTE]
    reshared = folder.audience_id != audience.id
    folder.audience_id = audience.id
    db.session.flush()
    if reshared:
        db.session.expire(folder, ["audience"])
        ids, level = [folder.id], [folder.id]
        for _ in range(MAX_DEPTH):
            level = list(db.session.scalars(sa.select(Folder.id).where(Folder.parent_id.in_(level))))
            if not level:
                break
            ids += level
        for doc in db.session.scalars(sa.select(Document).where(Document.folder_id.in_(ids),
                                                                 Document.deleted_at.is_(None))):
            _publish(user, doc)


def delete_folder(folder: Folder) -> None:
    """Only an empty folder (no sub-folder, no document, none in the trash either) is deleted."""
    if db.session.scalar(sa.select(sa.func.count()).select_from(Folder).where(Folder.parent_id == folder.id)) or \
            db.session.scalar(sa.select(sa.func.count()).select_from(Document).where(Document.folder_id == folder.id)):
        raise DocumentError(_("Ce dossier n'est pas vide : déplacez ou supprimez d'abord ses documents et "
                              "sous-dossiers (la corbeille compte aussi, jusqu'à son effacement)."))
    db.session.execute(sa.delete(FolderFollow).where(FolderFollow.folder_id == folder.id))
    db.session.delete(folder)
    db.session.flush()


def trash(document: Document) -> None:
    document.deleted_at = utcnow()
    db.session.flush()
    core_signals.activity_withdrawn.send(None, key="documents.shared", object_id=document.id)


def untrash(user: User, document: Document) -> None:
    document.deleted_at = None
    db.session.flush()
    _publish(user, document)


def trashed(user) -> sa.Select:
    """The trash: one's own deleted documents (every one for animateurs), newest first."""
    query = sa.select(Document).where(Document.deleted_at.is_not(None))
    if not user.is_animateur:
        query = query.where(Document.author_id == user.id)
    return query.order_by(Document.deleted_at.desc(), Document.id.desc())


def purge_trash(now=None) -> int:
    """Remove the documents in the trash for TRASH_DAYS, and every version's file from storage
    (the rows first: a file whose row is gone is never served; then the files)."""
    from intranet.core.storage import delete_stored

    limit = (now or utcnow()) - timedelta(days=TRASH_DAYS)
    ids = list(db.session.scalars(sa.select(Document.id).where(Document.deleted_at < limit)))
    if not ids:
        return 0
    keys = list(db.session.scalars(sa.select(Version.key).where(Version.document_id.in_(ids))))
    for thumb, preview in db.session.execute(sa.select(Document.thumb_key, Document.preview_key)
                                             .where(Document.id.in_(ids))):
        keys += [k for k in (thumb, preview) if k]
    db.session.execute(sa.delete(Version).where(Version.document_id.in_(ids)))
    db.session.execute(sa.delete(Document).where(Document.id.in_(ids)))
    db.session.commit()
    for key in keys:
        delete_stored(key)
    return len(ids)


def purge_job(job=None, **_):
    return purge_trash()


# -- limits ------------------------------------------------------------------------------------

def max_file_bytes() -> int:
    from intranet.core.settings import get_setting

    return int(get_setting(MAX_FILE_SETTING, 50)) * 1024 * 1024


def organization_usage(org_id: int) -> int:
    """Bytes kept for the organization: every version of its people's documents (the trash included,
    until the purge)."""
    return int(db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Version.size), 0))
                                 .join(Document, Document.id == Version.document_id)
                                 .join(User, User.id == Document.author_id)
                                 .where(User.organization_id == org_id)) or 0)


def organization_quota() -> int:
    """The quota in bytes, 0 for none."""
    from intranet.core.settings import get_setting

    return int(get_setting(QUOTA_SETTING, 5000)) * 1024 * 1024


def check_quota(user: User, size: int) -> None:
    from intranet.core.storage import format_size

    quota = organization_quota()
    if quota and organization_usage(user.organization_id) + size > quota:
        raise DocumentError(_("L'espace de votre organisation est plein (%(quota)s) : supprimez d'anciens "
                              "documents ou demandez plus d'espace à l'agence.", quota=format_size(quota)))


# -- following a folder ------------------------------------------------------------------------

def is_following(user: User, folder: Folder) -> bool:
    return db.session.get(FolderFollow, (folder.id, user.id)) is not None


def set_following(user: User, folder: Folder, on: bool) -> None:
    current = db.session.get(FolderFollow, (folder.id, user.id))
    if on and current is None:
        db.session.add(FolderFollow(folder_id=folder.id, user_id=user.id))
    elif not on and current is not None:
        db.session.delete(current)
    db.session.flush()


# -- the text for the search -------------------------------------------------------------------

def prepare(document: Document) -> None:
    """What the worker reads from the current version: its text (for the search), an office file's
    PDF preview (LibreOffice, when installed) and the thumbnail (an image, or the first page of the
    PDF or of the office file's PDF)."""
    import io

    from werkzeug.datastructures import FileStorage

    from intranet.core.storage import delete_stored, path_for, save_upload
    from intranet.documents.office import to_pdf
    from intranet.documents.text import extract
    from intranet.documents.thumbnails import make_thumbnail

    version = current_version(document)
    try:
        path = path_for(version.key) if version else None
    except FileNotFoundError:
        path = None
    present = path is not None and path.is_file()
    document.text = extract(path, document.kind) if present else ""
    old = [k for k in (document.thumb_key, document.preview_key) if k]
    pdf = to_pdf(path, document.kind) if present else None
    preview = save_upload(FileStorage(io.BytesIO(pdf), filename="apercu.pdf"), ["pdf"],
                          max_bytes=len(pdf) + 1) if pdf else None
    document.preview_key = preview.key if preview else None
    if preview is not None:
        thumb = make_thumbnail(path_for(preview.key), "pdf")
    else:
        thumb = make_thumbnail(path, document.kind) if present else None
    document.thumb_key = thumb.key if thumb else None
    db.session.flush()
    for key in old:
        delete_stored(key)  # the previous version's (made again if that version comes back)


def text_job(job=None, document_id: int | None = None, **_):
    document = db.session.get(Document, document_id or (job.payload or {}).get("document_id"))
    if document is not None:
        prepare(document)
        db.session.commit()


def _queue_text(document: Document) -> None:
    from intranet.core import jobs

    jobs.enqueue("documents.text", {"document_id": document.id})


# -- who read it ------------------------------------------------------------------------------

def record_open(user: User, document: Document, download: bool = False) -> None:
    """One more opening of the page (or download) by ``user``: the counters and their row of
    « qui l'a ouvert » (first and last time, how many times)."""
    now = utcnow()
    column = Document.download_count if download else Document.view_count
    db.session.execute(sa.update(Document).where(Document.id == document.id).values({column: column + 1}))
    updated = db.session.execute(sa.update(DocumentRead).where(DocumentRead.document_id == document.id,
                                                               DocumentRead.user_id == user.id)
                                 .values(last_at=now, opens=DocumentRead.opens + 1)).rowcount
    if not updated:
        try:
            with db.session.begin_nested():
                db.session.add(DocumentRead(document_id=document.id, user_id=user.id, first_at=now, last_at=now))
        except sa.exc.IntegrityError:  # the same person's other tab, at the same instant
            pass


def confirm_read(user: User, document: Document) -> bool:
    """« Lu et approuvé »; False when it was already confirmed."""
    record = db.session.get(DocumentRead, (document.id, user.id))
    if record is None:
        record = DocumentRead(document_id=document.id, user_id=user.id)
        db.session.add(record)
    if record.confirmed_at is not None:
        return False
    record.confirmed_at = utcnow()
    db.session.flush()
    return True


def readers(document: Document) -> list[DocumentRead]:
    return list(db.session.scalars(sa.select(DocumentRead).where(DocumentRead.document_id == document.id)
                                   .order_by(DocumentRead.last_at.desc())))


def audience_of(document: Document) -> sa.Select:
    """SELECT of the ids of the active people the document is for (who may see it), its author apart."""
    from intranet.core.audiences import audience_recipients

    return sa.select(User.id).where(User.id.in_(audience_recipients(document.audience)), viewers(document),
                                    User.id != (document.author_id or 0))


def not_confirmed(document: Document) -> list[User]:
    """Those the document is for who have not confirmed « lu et approuvé », by name."""
    confirmed = sa.select(DocumentRead.user_id).where(DocumentRead.document_id == document.id,
                                                      DocumentRead.confirmed_at.is_not(None))
    return list(db.session.scalars(sa.select(User).where(User.id.in_(audience_of(document)),
                                                         User.id.not_in(confirmed))
                                   .order_by(french(User.name), User.id).limit(500)))


def remind_unconfirmed(actor: User, document: Document) -> int:
    """The « lu et approuvé » reminder to those who have not confirmed (through the bus and its preferences)."""
    return notify("documents.confirm", [u.id for u in not_confirmed(document)], actor, document,
                  title=document.name, excerpt=excerpt(document.note, 200))


def remind_expiring(today: date | None = None) -> int:
    """The owner's e-mail 14 days before « à jour jusqu'au » (once per date; a later date set by an edit
    is reminded again)."""
    from intranet.core.timeutil import PARIS

    today = today or utcnow().astimezone(PARIS).date()
    due = db.session.scalars(sa.select(Document).where(
        Document.deleted_at.is_(None), Document.valid_until.is_not(None), Document.author_id.is_not(None),
        Document.valid_until <= today + timedelta(days=EXPIRY_NOTICE_DAYS), Document.valid_until >= today,
        sa.or_(Document.expiry_reminded_for.is_(None), Document.expiry_reminded_for != Document.valid_until))).all()
    for doc in due:
        notify("documents.expiring", [doc.author_id], None, doc, title=doc.name,
               date=doc.valid_until.strftime("%d/%m/%Y"))
        doc.expiry_reminded_for = doc.valid_until
    db.session.commit()
    return len(due)


def expiry_job(job=None, **_):
    return remind_expiring()


# -- telling people -------------------------------------------------------------------------

def viewers(document: Document) -> sa.ColumnElement:
    """SQL on ``User``: who may see the document (its audience and every folder above it)."""
    conds = [audience_viewers(document)]
    for folder in folder_path(document.folder):
        conds.append(audience_viewers(folder))
    group_id = document.folder.group_id
    if group_id is not None:  # a group's document: its members (everyone for a public group), and managers
        conds.append(sa.or_(
            User.role.in_(("admin", "animateur")),
            sa.exists().where(Group.id == group_id, Group.visibility == "public"),
            sa.exists().where(Membership.group_id == group_id, Membership.user_id == User.id)))
    return sa.and_(*conds)


def _announce(user: User, doc: Document) -> None:
    """Tell those who may see it. notify() tells each person once per object and only those who may
    see it, so the order says which message a person gets: a request to confirm « lu et approuvé »
    first (it asks something of them), then « dans un dossier que vous suivez » (they asked for this
    folder, even with « Nouveau document » switched off), then « Nouveau document » to the audience."""
    from intranet.core.audiences import audience_recipients

    audience = sa.select(User.id).where(User.id.in_(audience_recipients(doc.audience)), viewers(doc))
    context = {"title": doc.name, "excerpt": excerpt(doc.note, 200)}
    if doc.needs_confirmation:
        notify("documents.confirm", audience, user, doc, **context)
    chain = [f.id for f in folder_path(doc.folder)]
    notify("documents.followed", sa.select(FolderFollow.user_id).where(FolderFollow.folder_id.in_(chain)), user, doc,
           folder=doc.folder.name, **context)
    if not doc.needs_confirmation:
        notify("documents.new", audience, user, doc, **context)
    _publish(user, doc)


def _publish(user: User | None, doc: Document) -> None:
    """The feed's item reaches the document's audience: only when no folder above is narrower
    (same audience or the whole network), so the feed never shows a document hidden by its folder;
    otherwise an item it had is withdrawn."""
    chain = folder_path(doc.folder)
    if not all(f.audience_id == doc.audience_id or f.audience.is_network for f in chain):
        core_signals.activity_withdrawn.send(None, key="documents.shared", object_id=doc.id)
    else:
        core_signals.activity_published.send(
            None, key="documents.shared", object_id=doc.id, audience_targets=doc.audience.targets(), actor=user,
            group_id=doc.folder.group_id,
            data={"title": doc.name, "folder": doc.folder.name, "excerpt": excerpt(doc.note, 200),
                  "size": doc.size, "kind": doc.kind})
