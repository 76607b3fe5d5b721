"""Pages of the library: the network's folders, a group's « Documents » tab, a folder, a document
with its versions, uploads and downloads. Anything a person may not see answers 404, whatever
the URL (file, preview, version), so nobody learns it exists."""

from __future__ import annotations

import csv
import io
import zipfile

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from intranet.core.audiences import describe
from intranet.core.i18n import ngettext
from intranet.core.storage import UploadError, delete_stored, open_stored, save_upload, send_stored
from intranet.documents import services
from intranet.documents.forms import EditForm, FolderForm, UploadForm, VersionForm
from intranet.documents.models import TRASH_DAYS, Document, DocumentRead, Folder, Version
from intranet.extensions import db
from intranet.groups.models import Group
from intranet.groups.services import can_see_content, can_see_group, render_group_page

bp = Blueprint("documents", __name__)

KINDS = ["document", "image"]
PREVIEW_TEXT_BYTES = 100_000  # a text or CSV preview shows the start of the file
PREVIEW_CSV_ROWS = 200
IMAGE_KINDS = {"jpg", "jpeg", "png", "gif", "webp"}


def _folder_or_404(folder_id: int) -> Folder:
    folder = db.session.get(Folder, folder_id)
    if not services.folder_visible(current_user, folder):
        abort(404)
    return folder


def _document_or_404(document_id: int) -> Document:
    document = db.session.get(Document, document_id)
    if not services.document_visible(current_user, document):
        abort(404)
    return document


def _group_or_404(group_id: int) -> Group:
    group = db.session.get(Group, group_id)
    if group is None or not can_see_group(current_user, group):
        abort(404)
    if not can_see_content(current_user, group):
        abort(403)
    return group


@bp.route("/")
@login_required
def index():
    folders = services.top_folders(current_user)
    return render_template("documents/index.html", folders=folders,
                           counts=services.document_counts(current_user, folders),
                           can_create=services.can_create_folder(current_user, None, None),
                           used=services.organization_usage(current_user.organization_id),
                           quota=services.organization_quota())


@bp.route("/groupe/<int:group_id>")
@login_required
def group_documents(group_id: int):
    group = _group_or_404(group_id)
    folders = services.top_folders(current_user, group)
    return render_group_page("documents/group.html", group, "documents.group", folders=folders,
                             counts=services.document_counts(current_user, folders),
                             can_create=services.can_create_folder(current_user, None, group))


@bp.route("/dossiers/nouveau", methods=["GET", "POST"])
@login_required
def folder_new():
    parent = _folder_or_404(request.args.get("parent", type=int) or 0) if request.args.get("parent") else None
    group = None
    if request.args.get("groupe") and not parent:
        group = _group_or_404(request.args.get("groupe", type=int) or 0)
    if not services.can_create_folder(current_user, parent, group):
        abort(403)
    form = FolderForm()
    if request.method == "GET":
        form.audience.data = (parent.audience.targets() if parent else
                              {("group", group.id)} if group else set())
    if form.validate_on_submit():
        try:
            folder = services.create_folder(current_user, form.name.data, parent=parent, group=group,
                                            audience=form.audience.audience(), description=form.description.data)
            db.session.commit()
        except services.DocumentError as exc:
            db.session.rollback()
            form.name.errors = [*form.name.errors, str(exc)]
        else:
            flash(_("Le dossier « %(name)s » est créé.", name=folder.name), "success")
            return redirect(url_for("documents.folder", folder_id=folder.id))
    return render_template("documents/folder_form.html", form=form, parent=parent, group=group), \
        400 if form.errors else 200


@bp.route("/dossiers/<int:folder_id>")
@login_required
def folder(folder_id: int):
    folder = _folder_or_404(folder_id)
    return _folder_view(folder, UploadForm())


def _folder_view(folder: Folder, form: UploadForm, status: int = 200):
    page = services.folder_page(current_user, folder, request.args.get("tri", "nom"),
                                request.args.get("page", 1, type=int))
    group = db.session.get(Group, folder.group_id) if folder.group_id else None
    return render_template("documents/folder.html", folder=folder, page=page, form=form, group=group,
                           following=services.is_following(current_user, folder), max_file=services.max_file_bytes(),
                           can_manage=services.can_manage_folder(current_user, folder),
                           path=services.folder_path(folder), audience_text=describe(folder.audience),
                           can_create=services.can_create_folder(current_user, folder, None)), status


@bp.route("/dossiers/<int:folder_id>/deposer", methods=["POST"])
@login_required
def upload(folder_id: int):
    """Several files at once: each accepted file is a document; a refused one is named with its reason
    and leaves nothing behind."""
    folder = _folder_or_404(folder_id)
    form = UploadForm()
    if not form.validate():
        return _folder_view(folder, form, 400)
    files = [fs for fs in (form.files.data or []) if fs and fs.filename]
    if not files:
        form.files.errors = [_("Choisissez au moins un fichier.")]
        return _folder_view(folder, form, 400)
    added, refused = [], []
    for fs in files:
        try:
            stored = save_upload(fs, KINDS, max_bytes=services.max_file_bytes())
        except UploadError as exc:
            refused.append(f"{fs.filename[:100]} : {exc}")
            continue
        try:
            services.check_quota(current_user, stored.size)
            added.append(services.add_document(current_user, folder, stored, note=form.note.data or "",
                                               tags=form.tags.data or "", valid_until=form.valid_until.data,
                                               needs_confirmation=form.needs_confirmation.data))
            db.session.commit()
        except services.DocumentError as exc:
            db.session.rollback()
            delete_stored(stored.key)
            refused.append(f"{stored.original_name} : {exc}")
        except BaseException:
            db.session.rollback()
            delete_stored(stored.key)
            raise
    if request.accept_mimetypes.best == "application/json":  # the page's uploader, one file per request
        return jsonify(added=[d.id for d in added], refused=refused), 200 if added else 400
    if added:
        flash(ngettext("%(num)d document ajouté.", "%(num)d documents ajoutés.", len(added)), "success")
    if refused:
        form.files.errors = refused
        return _folder_view(folder, form, 400)
    return redirect(url_for("documents.folder", folder_id=folder.id))


@bp.route("/<int:document_id>")
@login_required
def show(document_id: int):
    document = _document_or_404(document_id)
    services.record_open(current_user, document)
    db.session.commit()
    version = services.current_version(document)
    preview = _preview(document, version)
    mine = db.session.get(DocumentRead, (document.id, current_user.id))
    group = db.session.get(Group, document.folder.group_id) if document.folder.group_id else None
    return render_template("documents/document.html", document=document, version=version, preview=preview, group=group,
                           versions=services.versions(document), form=VersionForm(),
                           path=services.folder_path(document.folder), audience_text=describe(document.audience),
                           can_edit=services.can_edit(current_user, document),
                           confirmed=mine.confirmed_at if mine else None)


def _preview(document: Document, version: Version | None) -> dict | None:
    """What the page shows of the file: an image, or the start of a text or CSV file (escaped)."""
    if version is None:
        return None
    if document.kind in IMAGE_KINDS:
        return {"kind": "image"}
    if document.kind == "pdf":
        return {"kind": "pdf", "url": url_for("documents.download", document_id=document.id, apercu=1)}
    if document.preview_key:  # an office file, turned into a PDF by the worker
        return {"kind": "pdf", "url": url_for("documents.office_preview", document_id=document.id)}
    if document.kind not in ("txt", "csv"):
        return None
    try:
        with open_stored(version.key) as fh:
            raw = fh.read(PREVIEW_TEXT_BYTES)
    except FileNotFoundError:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    cut = version.size > PREVIEW_TEXT_BYTES
    if document.kind == "csv":
        sample = text[:5000]
        delimiter = ";" if sample.count(";") >= sample.count(",") else ","
        rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))[:PREVIEW_CSV_ROWS]
        return {"kind": "csv", "rows": rows, "cut": cut or len(rows) == PREVIEW_CSV_ROWS}
    return {"kind": "text", "text": text, "cut": cut}


def _version_of(document: Document, number: int | None) -> Version:
    number = number or document.current_number
    version = db.session.scalar(db.select(Version).where(Version.document_id == document.id, Version.number == number))
    if version is None:
        abort(404)
    return version


@bp.route("/<int:document_id>/telecharger")
@login_required
def download(document_id: int):
    document = _document_or_404(document_id)
    version = _version_of(document, request.args.get("version", type=int))
    try:
        response = send_stored(version.key, version.original_name)
    except FileNotFoundError:
        abort(404)
    if not request.args.get("apercu"):  # the page's own PDF preview reads the file too: not a download
        services.record_open(current_user, document, download=True)
        db.session.commit()
    return response


@bp.route("/<int:document_id>/apercu")
@login_required
def preview(document_id: int):
    """The current version's image, inline (``send_stored`` shows only images inline)."""
    document = _document_or_404(document_id)
    if document.kind not in IMAGE_KINDS:
        abort(404)
    version = _version_of(document, None)
    try:
        return send_stored(version.key, version.original_name, as_attachment=False)
    except FileNotFoundError:
        abort(404)


@bp.route("/<int:document_id>/nouvelle-version", methods=["POST"])
@login_required
def new_version(document_id: int):
    document = _document_or_404(document_id)
    if not services.can_edit(current_user, document):
        abort(403)
    form = VersionForm()
    fs = form.file.data if form.validate() else None
    if not fs or not fs.filename:
        flash(form.note.errors[0] if form.note.errors else _("Choisissez le fichier de la nouvelle version."), "danger")
        return redirect(url_for("documents.show", document_id=document.id))
    try:
        stored = save_upload(fs, KINDS, max_bytes=services.max_file_bytes())
    except UploadError as exc:
        flash(f"{fs.filename[:100]} : {exc}", "danger")
        return redirect(url_for("documents.show", document_id=document.id))
    try:
        services.check_quota(current_user, stored.size)
    except services.DocumentError as exc:
        delete_stored(stored.key)
        flash(str(exc), "danger")
        return redirect(url_for("documents.show", document_id=document.id))
    try:
        version = services.add_version(current_user, document, stored, form.note.data or "")
        db.session.commit()
    except BaseException:
        db.session.rollback()
        delete_stored(stored.key)
        raise
    flash(_("La version %(n)s est maintenant la version courante.", n=version.number), "success")
    return redirect(url_for("documents.show", document_id=document.id))


@bp.route("/<int:document_id>/versions/<int:number>/restaurer", methods=["POST"])
@login_required
def restore(document_id: int, number: int):
    document = _document_or_404(document_id)
    if not services.can_edit(current_user, document):
        abort(403)
    version = _version_of(document, number)
    services.restore_version(document, version)
    db.session.commit()
    flash(_("La version %(n)s est de nouveau la version courante.", n=version.number), "success")
    return redirect(url_for("documents.show", document_id=document.id))


@bp.route("/<int:document_id>/modifier", methods=["GET", "POST"])
@login_required
def edit(document_id: int):
    document = _document_or_404(document_id)
    if not services.can_edit(current_user, document):
        abort(403)
    form = EditForm(obj=document)
    targets = services.move_targets(current_user, document)
    form.folder_id.choices = [(f.id, f.name) for f in targets]
    if request.method == "GET":
        form.audience.data = document.audience.targets()
    if form.validate_on_submit():
        folder = next(f for f in targets if f.id == form.folder_id.data)
        try:
            services.update_document(current_user, document, form.name.data, form.note.data, form.tags.data,
                                     form.valid_until.data, form.audience.audience(), folder)
            db.session.commit()
        except services.DocumentError as exc:
            db.session.rollback()
            form.name.errors = [*form.name.errors, str(exc)]
        else:
            flash(_("Le document est enregistré."), "success")
            return redirect(url_for("documents.show", document_id=document.id))
    return render_template("documents/edit.html", form=form, document=document), 400 if form.errors else 200


@bp.route("/<int:document_id>/supprimer", methods=["POST"])
@login_required
def delete(document_id: int):
    document = _document_or_404(document_id)
    if not services.can_edit(current_user, document):
        abort(403)
    folder_id = document.folder_id
    services.trash(document)
    db.session.commit()
    flash(_("« %(name)s » est dans la corbeille pendant %(days)s jours.", name=document.name,
            days=TRASH_DAYS), "success")
    return redirect(url_for("documents.folder", folder_id=folder_id))


@bp.route("/corbeille")
@login_required
def trash():
    docs = db.session.scalars(services.trashed(current_user).limit(200)).all()
    return render_template("documents/trash.html", documents=docs, days=TRASH_DAYS)


@bp.route("/corbeille/<int:document_id>/restaurer", methods=["POST"])
@login_required
def untrash(document_id: int):
    document = db.session.get(Document, document_id)
    if document is None or document.deleted_at is None or not (
            current_user.is_animateur or document.author_id == current_user.id):
        abort(404)
    services.untrash(current_user, document)
    db.session.commit()
    flash(_("« %(name)s » est de retour dans « %(folder)s ».", name=document.name, folder=document.folder.name),
          "success")
    return redirect(url_for("documents.show", document_id=document.id))


@bp.route("/<int:document_id>/lu-et-approuve", methods=["POST"])
@login_required
def confirm(document_id: int):
    document = _document_or_404(document_id)
    if not document.needs_confirmation:
        abort(404)
    if services.confirm_read(current_user, document):
        db.session.commit()
        flash(_("Merci : votre lecture est confirmée."), "success")
    return redirect(url_for("documents.show", document_id=document.id))


@bp.route("/<int:document_id>/lecteurs")
@login_required
def readers(document_id: int):
    """« Qui l'a ouvert » and, when asked, who confirmed « lu et approuvé » and who has not: for
    the owner and animateurs."""
    document = _document_or_404(document_id)
    if not services.can_edit(current_user, document):
        abort(403)
    return render_template("documents/readers.html", document=document, readers=services.readers(document),
                           pending=services.not_confirmed(document) if document.needs_confirmation else [])


@bp.route("/<int:document_id>/relancer", methods=["POST"])
@login_required
def remind(document_id: int):
    document = _document_or_404(document_id)
    if not services.can_edit(current_user, document) or not document.needs_confirmation:
        abort(403)
    sent = services.remind_unconfirmed(current_user, document)
    db.session.commit()
    flash(ngettext("Rappel envoyé à %(num)d personne.", "Rappel envoyé à %(num)d personnes.", sent), "success")
    return redirect(url_for("documents.readers", document_id=document.id))


@bp.route("/dossiers/<int:folder_id>/suivre", methods=["POST"])
@login_required
def follow(folder_id: int):
    folder = _folder_or_404(folder_id)
    on = request.form.get("on") == "1"
    services.set_following(current_user, folder, on)
    db.session.commit()
    flash(_("Vous suivez ce dossier : chaque nouveau document vous sera signalé.") if on
          else _("Vous ne suivez plus ce dossier."), "success")
    return redirect(url_for("documents.folder", folder_id=folder.id))


class _Sink(io.RawIOBase):
    """Where the ZIP is written: the bytes are taken away after each piece (the archive is never
    whole in memory)."""

    def __init__(self):
        self.chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        self.chunks.append(bytes(b))
        return len(b)

    def take(self) -> bytes:
        out = b"".join(self.chunks)
        self.chunks.clear()
        return out


def _zip_stream(entries: list[tuple[str, str]]):
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as archive:  # unseekable: data descriptors
        for path, key in entries:
            try:
                src = open_stored(key)
            except FileNotFoundError:
                continue
            with src, archive.open(path, "w", force_zip64=True) as dst:
                while chunk := src.read(256 * 1024):
                    dst.write(chunk)
                    yield sink.take()
    yield sink.take()


@bp.route("/dossiers/<int:folder_id>/zip")
@login_required
def folder_zip(folder_id: int):
    """The folder as one ZIP, streamed: what the person sees of it and of its sub-folders."""
    from urllib.parse import quote

    folder = _folder_or_404(folder_id)
    entries = services.zip_entries(current_user, folder)
    name = f"{folder.name}.zip"
    response = Response(stream_with_context(_zip_stream(entries)), mimetype="application/zip")
    ascii_name = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name)
    response.headers["Content-Disposition"] = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route("/<int:document_id>/vignette")
@login_required
def thumbnail(document_id: int):
    document = _document_or_404(document_id)
    if not document.thumb_key:
        abort(404)
    try:
        return send_stored(document.thumb_key, "vignette", as_attachment=False)
    except FileNotFoundError:
        abort(404)


@bp.route("/dossiers/<int:folder_id>/modifier", methods=["GET", "POST"])
@login_required
def folder_edit(folder_id: int):
    folder = _folder_or_404(folder_id)
    if not services.can_manage_folder(current_user, folder):
        abort(403)
    form = FolderForm(obj=folder)
    if request.method == "GET":
        form.audience.data = folder.audience.targets()
    if form.validate_on_submit():
        try:
            services.update_folder(current_user, folder, form.name.data, form.description.data,
                                   form.audience.audience())
            db.session.commit()
        except services.DocumentError as exc:
            db.session.rollback()
            form.name.errors = [*form.name.errors, str(exc)]
        else:
            flash(_("Le dossier est enregistré."), "success")
            return redirect(url_for("documents.folder", folder_id=folder.id))
    return render_template("documents/folder_form.html", form=form, folder=folder, parent=None, group=None), \
        400 if form.errors else 200


@bp.route("/dossiers/<int:folder_id>/supprimer", methods=["POST"])
@login_required
def folder_delete(folder_id: int):
    folder = _folder_or_404(folder_id)
    if not services.can_manage_folder(current_user, folder):
        abort(403)
    parent_id, group_id, name = folder.parent_id, folder.group_id, folder.name
    try:
        services.delete_folder(folder)
        db.session.commit()
    except services.DocumentError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
        return redirect(url_for("documents.folder", folder_id=folder_id))
    flash(_("Le dossier « %(name)s » est supprimé.", name=name), "success")
    if parent_id:
        return redirect(url_for("documents.folder", folder_id=parent_id))
    return redirect(url_for("documents.group_documents", group_id=group_id) if group_id else url_for("documents.index"))


@bp.route("/<int:document_id>/apercu.pdf")
@login_required
def office_preview(document_id: int):
    """An office file's PDF preview (made by the worker with LibreOffice), read by the page's PDF.js."""
    document = _document_or_404(document_id)
    if not document.preview_key:
        abort(404)
    try:
        return send_stored(document.preview_key, f"{document.name}.pdf")
    except FileNotFoundError:
        abort(404)
