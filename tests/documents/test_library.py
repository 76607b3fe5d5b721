"""The library (issue 13): folders and their audiences, uploads of several files, versions,
downloads byte for byte, previews, and nothing of a hidden folder shown to those outside it."""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa

from intranet.core.audiences import get_audience
from intranet.documents import services
from intranet.documents.models import Document, Folder, Version
from intranet.extensions import db
from tests.conftest import csrf_token
from tests.feed.conftest import pdf_bytes, png_bytes, stored_files, text
from tests.feed.test_xss import multipart


@pytest.fixture
def people(factories):
    org = factories.organization(name="Office de tourisme de Salers")
    other = factories.organization(name="Office de tourisme d'Aurillac")
    return {
        "animateur": factories.user(role="animateur", name="Anne Animatrice", organization=org),
        "membre": factories.user(name="Marc Membre", organization=org),
        "voisine": factories.user(name="Vera Voisine", organization=other),
    }


def _folder(owner, name="Brochures", audience=None, parent=None, group=None):
    folder = services.create_folder(owner, name, parent=parent, group=group, audience=audience)
    db.session.commit()
    return folder


def _upload(client, folder, files, note="", tags="", valid_until="", **fields):
    """The folder's upload form, every file at once (as without JavaScript). The body is written here
    (tests.feed.test_xss.multipart): the test client spools a big body to a temporary file it leaves open."""
    data = {"csrf_token": csrf_token(client, f"/documents/dossiers/{folder.id}"), "note": note, "tags": tags,
            "valid_until": valid_until, **fields}
    body, content_type = multipart(data, [("files", name, content, "application/octet-stream")
                                          for content, name in files])
    return client.post(f"/documents/dossiers/{folder.id}/deposer", data=body, content_type=content_type)


def _fetch(client, url, **kwargs):
    """GET a file: the response read and closed (a file response keeps its file open until then)."""
    resp = client.get(url, **kwargs)
    resp.get_data()
    resp.close()
    return resp


def _documents():
    db.session.expire_all()
    return db.session.scalars(sa.select(Document).order_by(Document.id)).all()


def test_several_files_at_once_with_note_tags_and_validity(people, as_):
    folder = _folder(people["animateur"])
    c = as_(people["membre"])
    pdf, png = pdf_bytes("Tarifs 2027"), png_bytes()
    resp = _upload(c, folder, [(pdf, "Grille tarifaire 2027.pdf"), (png, "Affiche été.png"),
                               (b"nom;prix\nVisite;5,00\n", "tarifs.csv")],
                   note="Les **tarifs** validés en conseil.", tags="tarifs, 2027, Tarifs", valid_until="2027-12-31")
    assert resp.status_code == 302
    docs = _documents()
    assert [d.name for d in docs] == ["Grille tarifaire 2027.pdf", "Affiche été.png", "tarifs.csv"]
    assert all(d.tags == "tarifs, 2027" for d in docs)  # a tag typed twice (any case) is kept once
    page = c.get(f"/documents/dossiers/{folder.id}")
    body = text(page)
    assert "3 documents" in body and "Grille tarifaire 2027.pdf" in body and "à jour jusqu'au 31 décembre 2027" in body
    shown = c.get(f"/documents/{docs[0].id}")
    assert "<strong>tarifs</strong>" in shown.get_data(as_text=True)  # the note's markdown


def test_a_download_gives_back_the_very_bytes_with_the_original_name(people, as_):
    folder = _folder(people["animateur"])
    c = as_(people["membre"])
    pdf = pdf_bytes("Compte rendu du conseil", padding=5000)
    _upload(c, folder, [(pdf, "Compte rendu — conseil d'administration.pdf")])
    doc = _documents()[0]
    resp = _fetch(c, f"/documents/{doc.id}/telecharger")
    assert resp.status_code == 200 and resp.data == pdf
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith("attachment") and "filename*=UTF-8''Compte%20rendu%20%E2%80%94" in disposition
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    # Never kept by a shared cache (the intranet sends « no-store » for a signed-in person's pages).
    assert resp.headers["Cache-Control"] in ("no-store", "private") or "private" in resp.headers["Cache-Control"]
    ranged = _fetch(c, f"/documents/{doc.id}/telecharger", headers={"Range": "bytes=0-7"})
    assert ranged.status_code == 206 and ranged.data == pdf[:8]
    db.session.expire_all()
    assert db.session.get(Document, doc.id).download_count == 2


def test_new_version_keeps_the_history_and_the_owner_restores_an_older_one(people, as_):
    folder = _folder(people["animateur"])
    c = as_(people["membre"])
    first, second = pdf_bytes("Version un"), pdf_bytes("Version deux", padding=100)
    _upload(c, folder, [(first, "programme.pdf")])
    doc = _documents()[0]
    token = csrf_token(c, f"/documents/{doc.id}")
    resp = c.post(f"/documents/{doc.id}/nouvelle-version", content_type="multipart/form-data",
                  data={"csrf_token": token, "note": "Horaires corrigés",
                        "file": (io.BytesIO(second), "programme v2.pdf")})
    assert resp.status_code == 302
    assert _fetch(c, f"/documents/{doc.id}/telecharger").data == second  # the current one by default
    assert _fetch(c, f"/documents/{doc.id}/telecharger?version=1").data == first  # every version downloads
    page = text(c.get(f"/documents/{doc.id}"))
    assert "Version 2 courante" in page and "Horaires corrigés" in page and "Marc Membre" in page
    # Someone else may not make a version or restore one.
    other = as_(people["voisine"])
    token = csrf_token(other, f"/documents/{doc.id}")
    assert other.post(f"/documents/{doc.id}/versions/1/restaurer", data={"csrf_token": token}).status_code == 403
    token = csrf_token(c, f"/documents/{doc.id}")
    assert c.post(f"/documents/{doc.id}/versions/1/restaurer", data={"csrf_token": token}).status_code == 302
    assert _fetch(c, f"/documents/{doc.id}/telecharger").data == first
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(Version.id))) == 2  # restoring rewrites no history


def test_refused_files_are_named_with_a_french_reason_and_leave_nothing(people, as_):
    folder = _folder(people["animateur"])
    c = as_(people["membre"])
    before = stored_files()
    resp = _upload(c, folder, [(b"MZ\x90\x00" + b"\x00" * 200, "rapport.pdf"),  # an executable renamed
                               (b"<html><script>alert(1)</script></html>", "page.png"),
                               (b"", "vide.pdf"),
                               (b"#!/bin/sh\nrm -rf /\n", "script.sh")])
    assert resp.status_code == 400
    body = text(resp)
    assert "rapport.pdf :" in body and "page.png :" in body and "vide.pdf :" in body and "script.sh :" in body
    assert "Traceback" not in body
    assert _documents() == [] and stored_files() == before


def test_a_hidden_folder_reveals_nothing_to_those_outside_it(people, as_, factories):
    board = get_audience([("org", people["membre"].organization_id)])
    secret = _folder(people["animateur"], "Conseil d'administration", audience=board)
    inner = _folder(people["animateur"], "Procès-verbaux", parent=secret,
                    audience=get_audience([]))  # « whole network », but inside a restricted folder
    insider = as_(people["membre"])
    _upload(insider, inner, [(pdf_bytes("PV"), "pv-mars.pdf"), (png_bytes(), "photo.png")])
    pdf_doc, image_doc = _documents()
    outsider = as_(people["voisine"])
    library = text(outsider.get("/documents/"))
    assert "Conseil d'administration" not in library
    for url in (f"/documents/dossiers/{secret.id}", f"/documents/dossiers/{inner.id}",
                f"/documents/{pdf_doc.id}", f"/documents/{pdf_doc.id}/telecharger",
                f"/documents/{pdf_doc.id}/telecharger?version=1", f"/documents/{image_doc.id}/apercu",
                f"/documents/dossiers/nouveau?parent={inner.id}"):
        assert outsider.get(url).status_code == 404, url
    # Nor the feed, nor a notification: the network-wide audience of the inner folder is not enough.
    assert "pv-mars.pdf" not in text(outsider.get("/feed/"))
    from intranet.core.notifications import Notification

    told = set(db.session.scalars(sa.select(Notification.user_id).where(Notification.type == "documents.new")))
    assert people["voisine"].id not in told and people["animateur"].id in told
    # The insider sees it all.
    assert "pv-mars.pdf" in text(insider.get(f"/documents/dossiers/{inner.id}"))


def test_a_private_groups_folder_is_for_its_members(people, as_, factories):
    group = factories.group(name="Club des éductours", visibility="private", owner=people["membre"])
    folder = _folder(people["membre"], "Éductours 2027", group=group)
    member = as_(people["membre"])
    resp = _upload(member, folder, [(pdf_bytes("Programme"), "programme-eductour.pdf")], note="Le programme")
    assert resp.status_code == 302
    assert "Éductours 2027" in text(member.get(f"/documents/groupe/{group.id}"))
    assert "programme-eductour.pdf" in text(member.get("/feed/"))  # the feed item, for the group
    outsider = as_(people["voisine"])
    assert outsider.get(f"/documents/groupe/{group.id}").status_code == 403  # a private group's content
    doc = _documents()[0]
    assert outsider.get(f"/documents/{doc.id}").status_code == 404
    assert outsider.get(f"/documents/dossiers/{folder.id}").status_code == 404
    assert "programme-eductour.pdf" not in text(outsider.get("/feed/"))
    # A network-wide audience given to a group's folder does not open it to non-members.
    folder.audience_id = get_audience([]).id
    db.session.commit()
    assert outsider.get(f"/documents/{doc.id}").status_code == 404


def test_only_animateurs_make_network_folders_and_only_managers_group_folders(people, as_, factories):
    member = as_(people["membre"])
    assert member.get("/documents/dossiers/nouveau").status_code == 403
    assert "Nouveau dossier" not in text(member.get("/documents/"))
    anim = as_(people["animateur"])
    token = csrf_token(anim, "/documents/dossiers/nouveau")
    resp = anim.post("/documents/dossiers/nouveau", data={"csrf_token": token, "name": "  Modèles   de brochures ",
                                                          "audience": "network:0"})
    assert resp.status_code == 302
    folder = db.session.scalar(sa.select(Folder))
    assert folder.name == "Modèles de brochures" and folder.group_id is None
    resp = anim.post("/documents/dossiers/nouveau", data={"csrf_token": token, "name": ""})
    assert resp.status_code == 400 and "Ce champ est obligatoire." in text(resp)
    group = factories.group(name="Numérique", owner=people["voisine"])
    assert member.get(f"/documents/dossiers/nouveau?groupe={group.id}").status_code == 403
    assert as_(people["voisine"]).get(f"/documents/dossiers/nouveau?groupe={group.id}").status_code == 200


def test_a_folder_paginates_and_sorts_in_a_constant_number_of_statements(people, as_, count_queries, app):
    from intranet.core.storage import StoredFile

    folder = _folder(people["animateur"])
    owner = people["membre"]
    for i in range(55):
        stored = StoredFile(key=f"xx/fichier{i}.pdf", original_name=f"Fichier {i:02d}.pdf",
                            content_type="application/pdf", size=1000 + i)
        services.add_document(owner, folder, stored, announce=False)
    db.session.commit()
    c = as_(owner)
    first = text(c.get(f"/documents/dossiers/{folder.id}?tri=nom"))
    assert "55 documents" in first and "Page 1 sur 2" in first and "Fichier 00.pdf" in first
    assert "Fichier 54.pdf" not in first
    second = text(c.get(f"/documents/dossiers/{folder.id}?tri=nom&page=2"))
    assert "Fichier 54.pdf" in second and "Fichier 00.pdf" not in second
    by_size = c.get(f"/documents/dossiers/{folder.id}?tri=taille").get_data(as_text=True)
    assert by_size.index("Fichier 54.pdf") < by_size.index("Fichier 53.pdf")
    with count_queries() as small:
        c.get(f"/documents/dossiers/{folder.id}?tri=date&page=2")  # 5 documents on the page
    with count_queries() as full:
        c.get(f"/documents/dossiers/{folder.id}?tri=date")  # 50 documents
    assert small() == full()


def test_text_and_csv_previews_are_escaped(people, as_):
    folder = _folder(people["animateur"])
    c = as_(people["membre"])
    _upload(c, folder, [(b"Bonjour <script>alert(1)</script>\n", "note.txt"),
                        ("Ville;Nuitées\nSalers;<b>12</b>\n".encode(), "chiffres.csv")])
    txt, csv_doc = _documents()
    page = c.get(f"/documents/{txt.id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    page = c.get(f"/documents/{csv_doc.id}").get_data(as_text=True)
    assert "<td>Salers</td>" in page and "&lt;b&gt;12&lt;/b&gt;" in page


def test_the_dashboard_widget_lists_only_what_the_person_sees(people, as_):
    board = get_audience([("org", people["membre"].organization_id)])
    public = _folder(people["animateur"], "Modèles")
    restricted = _folder(people["animateur"], "Conseil", audience=board)
    inner = _folder(people["animateur"], "PV", parent=restricted, audience=get_audience([]))
    c = as_(people["membre"])
    _upload(c, public, [(pdf_bytes("A"), "modele-affiche.pdf")])
    _upload(c, inner, [(pdf_bytes("B"), "pv-secret.pdf")])
    mine = text(c.get("/"))
    assert "Derniers documents" in mine and "modele-affiche.pdf" in mine and "pv-secret.pdf" in mine
    theirs = text(as_(people["voisine"]).get("/"))
    assert "modele-affiche.pdf" in theirs and "pv-secret.pdf" not in theirs


def test_edit_moves_and_reshares_and_the_feed_follows(people, as_):
    public = _folder(people["animateur"], "Modèles")
    board = _folder(people["animateur"], "Conseil", audience=get_audience([("org", people["membre"].organization_id)]))
    c = as_(people["membre"])
    _upload(c, public, [(pdf_bytes("A"), "charte.pdf")], note="Charte graphique")
    doc = _documents()[0]
    neighbour = as_(people["voisine"])
    assert "charte.pdf" in text(neighbour.get("/feed/"))
    token = csrf_token(c, f"/documents/{doc.id}/modifier")
    resp = c.post(f"/documents/{doc.id}/modifier", data={
        "csrf_token": token, "name": "Charte graphique 2027.pdf", "note": "Nouvelle charte", "tags": "charte",
        "valid_until": "", "folder_id": board.id, "audience": f"org:{people['membre'].organization_id}"})
    assert resp.status_code == 302
    assert "Charte graphique 2027.pdf" in text(c.get(f"/documents/dossiers/{board.id}"))
    assert "Charte graphique 2027.pdf" not in text(c.get(f"/documents/dossiers/{public.id}"))
    assert neighbour.get(f"/documents/{doc.id}").status_code == 404
    assert "charte" not in text(neighbour.get("/feed/")).lower()
    # A folder the person does not see is not a choice.
    hidden = _folder(people["voisine"], "À moi seule", audience=get_audience([("user", people["voisine"].id)]))
    resp = c.post(f"/documents/{doc.id}/modifier", data={"csrf_token": token, "name": "x.pdf", "folder_id": hidden.id})
    assert resp.status_code == 400 and "À moi seule" not in text(resp)


def test_the_trash_restores_then_the_worker_purges_the_files(people, as_, app):
    from datetime import timedelta

    from intranet.core.timeutil import utcnow

    folder = _folder(people["animateur"])
    c = as_(people["membre"])
    before = stored_files()
    _upload(c, folder, [(pdf_bytes("A"), "ancien.pdf")])
    doc = _documents()[0]
    token = csrf_token(c, f"/documents/{doc.id}")
    c.post(f"/documents/{doc.id}/nouvelle-version", content_type="multipart/form-data",
           data={"csrf_token": token, "file": (io.BytesIO(pdf_bytes("B")), "ancien v2.pdf")})
    assert len(stored_files() - before) == 2
    assert c.post(f"/documents/{doc.id}/supprimer", data={"csrf_token": token}).status_code == 302
    listing = text(c.get(f"/documents/dossiers/{folder.id}"))  # the flash names it; the list has nothing
    assert "« ancien.pdf » est dans la corbeille pendant 30 jours" in listing
    assert "Aucun document dans ce dossier" in listing
    assert _fetch(c, f"/documents/{doc.id}/telecharger").status_code == 404
    assert "ancien.pdf" in text(c.get("/documents/corbeille"))
    assert "ancien.pdf" not in text(as_(people["voisine"]).get("/documents/corbeille"))
    token = csrf_token(c, "/documents/corbeille")
    assert c.post(f"/documents/corbeille/{doc.id}/restaurer", data={"csrf_token": token}).status_code == 302
    assert c.get(f"/documents/{doc.id}").status_code == 200
    c.post(f"/documents/{doc.id}/supprimer", data={"csrf_token": token})
    assert services.purge_trash() == 0  # not yet 30 days
    assert services.purge_trash(now=utcnow() + timedelta(days=31)) == 1
    assert _documents() == [] and stored_files() == before


def test_who_opened_it_and_read_and_approved(people, as_, factories, outbox):
    folder = _folder(people["animateur"])
    colleague = factories.user(name="Chloé Collègue", organization=people["membre"].organization)
    c = as_(people["membre"])
    resp = _upload(c, folder, [(pdf_bytes("Procédure"), "procedure-taxe-de-sejour.pdf")], needs_confirmation="y")
    assert resp.status_code == 302
    doc = _documents()[0]
    assert any("À lire et approuver : procedure-taxe-de-sejour.pdf" == m.subject and m.to_addr == colleague.email
               for m in outbox())
    reader = as_(colleague)
    page = text(reader.get(f"/documents/{doc.id}"))
    assert "confirmer qu'il a lu ce document" in page
    _fetch(reader, f"/documents/{doc.id}/telecharger")
    token = csrf_token(reader, f"/documents/{doc.id}")
    assert reader.post(f"/documents/{doc.id}/lu-et-approuve", data={"csrf_token": token}).status_code == 302
    assert "Vous avez confirmé « lu et approuvé »" in text(reader.get(f"/documents/{doc.id}"))
    assert reader.get(f"/documents/{doc.id}/lecteurs").status_code == 403  # for the owner and animateurs
    board = text(c.get(f"/documents/{doc.id}/lecteurs"))
    # Three openings of the page (the CSRF token is read from it too) and one download, all hers.
    assert "Chloé Collègue" in board and "3 consultations" in board and "1 téléchargement" in board
    # Who has not confirmed: the others it is for (Anne, Vera), not Chloé, not the author.
    assert "2 personnes n'ont pas encore confirmé" in board and "Anne Animatrice" in board and "Vera Voisine" in board
    token = csrf_token(c, f"/documents/{doc.id}/lecteurs")
    resp = c.post(f"/documents/{doc.id}/relancer", data={"csrf_token": token}, follow_redirects=True)
    assert "Rappel envoyé à 2 personnes." in text(resp)


def test_the_owner_is_told_fourteen_days_before_the_validity_date(people, as_, outbox):
    from datetime import date, timedelta

    folder = _folder(people["animateur"])
    c = as_(people["membre"])
    today = date(2027, 3, 1)
    _upload(c, folder, [(pdf_bytes("A"), "tarifs-groupes.pdf")], valid_until=(today + timedelta(days=20)).isoformat())
    assert services.remind_expiring(today) == 0  # 20 days before: not yet
    assert services.remind_expiring(today + timedelta(days=6)) == 1
    mails = [m for m in outbox() if m.to_addr == people["membre"].email and "tarifs-groupes.pdf" in m.subject]
    assert [m.subject for m in mails] == ["À mettre à jour avant le 21/03/2027 : tarifs-groupes.pdf"]
    assert services.remind_expiring(today + timedelta(days=7)) == 0  # once per date


def test_a_folder_downloads_as_one_zip_of_what_the_person_sees(people, as_):
    import zipfile

    top = _folder(people["animateur"], "Kit d'accueil")
    sub = _folder(people["animateur"], "Plans", parent=top)
    hidden = _folder(people["animateur"], "Interne", parent=top,
                     audience=get_audience([("org", people["membre"].organization_id)]))
    c = as_(people["membre"])
    a, b, secret = pdf_bytes("A"), png_bytes(), pdf_bytes("S")
    _upload(c, top, [(a, "guide.pdf")])
    _upload(c, sub, [(b, "plan.png"), (pdf_bytes("A2"), "guide.pdf")])
    _upload(c, hidden, [(secret, "budget.pdf")])
    resp = _fetch(as_(people["voisine"]), f"/documents/dossiers/{top.id}/zip")
    assert resp.status_code == 200 and resp.mimetype == "application/zip"
    assert "filename*=UTF-8''Kit%20d%27accueil.zip" in resp.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(resp.data))
    assert sorted(archive.namelist()) == ["Plans/guide.pdf", "Plans/plan.png", "guide.pdf"]
    assert archive.read("guide.pdf") == a and archive.read("Plans/plan.png") == b
    mine = zipfile.ZipFile(io.BytesIO(_fetch(c, f"/documents/dossiers/{top.id}/zip").data))
    assert mine.read("Interne/budget.pdf") == secret
    assert as_(people["voisine"]).get(f"/documents/dossiers/{hidden.id}/zip").status_code == 404


def test_following_a_folder_tells_of_each_new_document(people, as_, factories, app):
    from intranet.core.notifications import Notification

    folder = _folder(people["animateur"], "Comptes rendus")
    follower = as_(people["voisine"])
    token = csrf_token(follower, f"/documents/dossiers/{folder.id}")
    follower.post(f"/documents/dossiers/{folder.id}/suivre", data={"csrf_token": token, "on": "1"})
    assert "Suivi" in text(follower.get(f"/documents/dossiers/{folder.id}"))
    # « Nouveau document » switched off: the folder she follows still tells her.
    from intranet.core.notifications import set_preference

    set_preference(people["voisine"].id, "documents.new", web=False, email=False)
    db.session.commit()
    _upload(as_(people["membre"]), folder, [(pdf_bytes("CR"), "cr-conseil.pdf")])
    rows = db.session.scalars(sa.select(Notification).where(Notification.user_id == people["voisine"].id)).all()
    assert [r.type for r in rows] == ["documents.followed"]


def test_size_limit_and_quota_refuse_with_a_french_message_and_keep_nothing(people, as_, app):
    from intranet.core.settings import set_setting

    folder = _folder(people["animateur"])
    c = as_(people["membre"])
    set_setting(services.MAX_FILE_SETTING, 1)  # 1 Mo
    db.session.commit()
    before = stored_files()
    resp = _upload(c, folder, [(pdf_bytes("X", padding=1_200_000), "gros.pdf")])
    assert resp.status_code == 400 and "gros.pdf : Le fichier dépasse la taille maximale de 1 Mo." in text(resp)
    set_setting(services.MAX_FILE_SETTING, 50)
    set_setting(services.QUOTA_SETTING, 1)  # 1 Mo for the whole organization
    db.session.commit()
    assert _upload(c, folder, [(pdf_bytes("Y", padding=600_000), "un.pdf")]).status_code == 302
    resp = _upload(c, folder, [(pdf_bytes("Z", padding=600_000), "deux.pdf")])
    assert resp.status_code == 400 and "L'espace de votre organisation est plein (1 Mo)" in text(resp)
    assert [d.name for d in _documents()] == ["un.pdf"] and len(stored_files() - before) == 1
    assert "Espace utilisé par votre organisation" in text(c.get("/documents/"))


def test_the_worker_reads_the_text_of_pdf_and_office_files_and_refuses_a_zip_bomb(people, as_, app):
    import zipfile

    from intranet.core.jobs import run_due_jobs

    folder = _folder(people["animateur"])
    c = as_(people["membre"])
    docx = io.BytesIO()
    with zipfile.ZipFile(docx, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document><w:body><w:p><w:r><w:t>Taxe de séjour</w:t></w:r></w:p>"
                                        "<w:p><w:r><w:t>au réel &amp; forfait</w:t></w:r></w:p></w:body></w:document>")
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:t>" + "a" * 30_000_000 + "</w:t>")  # 30 MB from ~30 KB
    _upload(c, folder, [(pdf_bytes("Compte rendu du conseil"), "cr.pdf"), (docx.getvalue(), "taxe.docx"),
                        (bomb.getvalue(), "bombe.docx"), ("Ville;Nuitées\nSalers;12\n".encode(), "n.csv")])
    run_due_jobs()
    db.session.expire_all()
    texts = {d.name: d.text for d in _documents()}
    assert texts["cr.pdf"] == "Compte rendu du conseil"
    assert texts["taxe.docx"] == "Taxe de séjour au réel & forfait"
    assert texts["bombe.docx"] == ""  # not unpacked
    assert texts["n.csv"] == "Ville;Nuitées Salers;12"


def test_images_and_pdfs_get_a_thumbnail_in_the_list(people, as_):
    from PIL import Image

    from intranet.core.jobs import run_due_jobs

    folder = _folder(people["animateur"])
    c = as_(people["membre"])
    _upload(c, folder, [(png_bytes(size=(800, 600)), "photo.png"), (pdf_bytes("Programme"), "programme.pdf"),
                        (b"%PDF-1.4\n%%EOF\n", "abime.pdf")])
    run_due_jobs()
    photo, programme, broken = _documents()
    listing = c.get(f"/documents/dossiers/{folder.id}").get_data(as_text=True)
    for doc in (photo, programme):
        assert f"/documents/{doc.id}/vignette" in listing
        resp = _fetch(c, f"/documents/{doc.id}/vignette")
        assert resp.status_code == 200 and resp.mimetype in ("image/png", "image/jpeg")
        with Image.open(io.BytesIO(resp.data)) as img:
            assert max(img.size) <= 240
    assert broken.thumb_key is None and c.get(f"/documents/{broken.id}/vignette").status_code == 404
    assert _fetch(as_(people["voisine"]), f"/documents/{photo.id}/vignette").status_code == 200  # a network folder


def test_names_are_cleaned_path_separators_bidi_overrides_and_length(people, as_):
    folder = _folder(people["animateur"])
    c = as_(people["membre"])
    long_name = "compte-rendu-" + "tres-" * 60 + "long.pdf"  # 313 characters
    resp = _upload(c, folder, [(pdf_bytes("A"), "../../etc/passwd.pdf"), (pdf_bytes("B"), "facture\u202egnp.pdf"),
                               (pdf_bytes("C"), long_name)])
    assert resp.status_code == 302
    names = [d.name for d in _documents()]
    assert names[0] == "passwd.pdf" and names[1] == "facturegnp.pdf"  # no folder, no hidden reversal
    assert len(names[2]) == 200 and names[2].endswith(".pdf")
    # A folder's name: one line, and the storage never sees it (keys are random).
    anim = as_(people["animateur"])
    token = csrf_token(anim, "/documents/dossiers/nouveau")
    anim.post("/documents/dossiers/nouveau",
              data={"csrf_token": token, "name": "../Budget\n2027", "audience": "network:0"})
    assert db.session.scalar(sa.select(Folder.name).where(Folder.name.like("%Budget%"))) == "../Budget 2027"


def test_a_folder_is_renamed_reshared_and_deleted_only_when_empty(people, as_):
    folder = _folder(people["animateur"], "Brouillons")
    c = as_(people["membre"])
    _upload(c, folder, [(pdf_bytes("A"), "plan.pdf")])
    neighbour = as_(people["voisine"])
    assert "plan.pdf" in text(neighbour.get("/feed/"))
    assert c.get(f"/documents/dossiers/{folder.id}/modifier").status_code == 403  # not hers
    anim = as_(people["animateur"])
    token = csrf_token(anim, f"/documents/dossiers/{folder.id}/modifier")
    resp = anim.post(f"/documents/dossiers/{folder.id}/modifier", data={
        "csrf_token": token, "name": "Plans 2027", "description": "",
        "audience": f"org:{people['membre'].organization_id}"})
    assert resp.status_code == 302
    assert neighbour.get(f"/documents/dossiers/{folder.id}").status_code == 404
    assert neighbour.get(f"/documents/{_documents()[0].id}").status_code == 404
    assert "plan.pdf" not in text(neighbour.get("/feed/"))  # its feed item withdrawn
    resp = anim.post(f"/documents/dossiers/{folder.id}/supprimer", data={"csrf_token": token}, follow_redirects=True)
    assert "Ce dossier n'est pas vide" in text(resp)
    doc = _documents()[0]
    anim.post(f"/documents/{doc.id}/supprimer", data={"csrf_token": token})
    services.purge_trash(now=doc.created_at.replace(year=doc.created_at.year + 1))
    resp = anim.post(f"/documents/dossiers/{folder.id}/supprimer", data={"csrf_token": token}, follow_redirects=True)
    assert "Le dossier « Plans 2027 » est supprimé." in text(resp)
    assert db.session.get(Folder, folder.id) is None


def test_downloads_can_be_handed_to_nginx(people, as_, app):
    folder = _folder(people["animateur"])
    c = as_(people["membre"])
    _upload(c, folder, [(pdf_bytes("A"), "guide pratique.pdf")])
    doc = _documents()[0]
    version = services.current_version(doc)
    app.config["X_ACCEL_PREFIX"] = "/_fichiers/"
    try:
        resp = _fetch(c, f"/documents/{doc.id}/telecharger")
        assert resp.status_code == 200 and resp.data == b""
        assert resp.headers["X-Accel-Redirect"] == f"/_fichiers/{version.key}"
        disposition = resp.headers["Content-Disposition"]
        assert disposition.startswith("attachment") and "guide" in disposition
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        outsider = _fetch(as_(people["voisine"]), f"/documents/{doc.id}/telecharger")
        assert outsider.status_code == 200  # a network folder: she may; a hidden one answers 404 as always
    finally:
        app.config["X_ACCEL_PREFIX"] = ""


def _docx(text_: str) -> bytes:
    """A minimal real Word document (what LibreOffice and Word open)."""
    import zipfile

    out = io.BytesIO()
    ns = "http://schemas.openxmlformats.org"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml",
                   f'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="{ns}/package/2006/content-types">'
                   f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                   '<Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" '
                   'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
                   '</Types>')
        rel = f"{ns}/officeDocument/2006/relationships/officeDocument"
        z.writestr("_rels/.rels", f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{ns}/package/2006/'
                                  f'relationships"><Relationship Id="rId1" Type="{rel}" Target="word/document.xml"/>'
                                  '</Relationships>')
        z.writestr("word/document.xml", f'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="{ns}/'
                                        f'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>{text_}</w:t></w:r></w:p>'
                                        '</w:body></w:document>')
    return out.getvalue()


def test_office_files_preview_as_a_pdf_made_by_libreoffice_in_the_worker(people, as_, app):
    import zipfile

    from pypdf import PdfReader

    from intranet.core.jobs import run_due_jobs

    folder = _folder(people["animateur"])
    c = as_(people["membre"])
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:t>" + "a" * 30_000_000 + "</w:t>")
    _upload(c, folder, [(_docx("Procedure taxe de sejour"), "procedure.docx"), (bomb.getvalue(), "bombe.docx")])
    run_due_jobs()
    doc, bomb_doc = _documents()
    assert doc.preview_key and doc.thumb_key  # the PDF, and its first page as the thumbnail
    page = c.get(f"/documents/{doc.id}").get_data(as_text=True)
    assert f'data-pdf-preview="/documents/{doc.id}/apercu.pdf"' in page
    resp = _fetch(c, f"/documents/{doc.id}/apercu.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert "Procedure taxe de sejour" in PdfReader(io.BytesIO(resp.data)).pages[0].extract_text()
    assert bomb_doc.preview_key is None  # never unpacked
    assert "Aperçu indisponible pour ce type de fichier" in text(c.get(f"/documents/{bomb_doc.id}"))
    assert _fetch(as_(people["voisine"]), f"/documents/{bomb_doc.id}/apercu.pdf").status_code == 404
    # Without LibreOffice: no preview, the page says so and offers the download.
    app.config["SOFFICE"] = "/nonexistent/soffice"
    try:
        _upload(c, folder, [(_docx("Sans LibreOffice"), "sans.docx")])
        run_due_jobs()
        plain = _documents()[-1]
        # The job ran (its text is read), without a preview.
        assert plain.preview_key is None and plain.text == "Sans LibreOffice"
        assert "Aperçu indisponible pour ce type de fichier" in text(c.get(f"/documents/{plain.id}"))
    finally:
        app.config["SOFFICE"] = ""


def _row_count(page, name: str) -> str:
    """The count shown on the folder row named ``name``."""
    found = re.search(r">" + re.escape(name) + r"</a>.*?data-folder-count>([^<]*)<", page.get_data(as_text=True), re.S)
    assert found, name
    return found.group(1).strip()


def test_folder_rows_count_only_the_documents_the_reader_sees(people, as_):
    top = _folder(people["animateur"], "Brochures")
    sub = _folder(people["animateur"], "Tarifs", parent=top)
    c = as_(people["animateur"])
    _upload(c, top, [(pdf_bytes("Guide"), "guide.pdf")])
    _upload(c, sub, [(pdf_bytes(name), f"{name}.pdf") for name in ("hiver", "printemps", "conseil")])
    board = _documents()[-1]
    board.audience_id = get_audience([("org", people["membre"].organization_id)]).id  # « conseil »: Salers only
    db.session.commit()
    assert _row_count(as_(people["voisine"]).get("/documents/"), "Brochures") == "1 document"
    assert _row_count(as_(people["voisine"]).get(f"/documents/dossiers/{top.id}"), "Tarifs") == "2 documents"
    assert _row_count(as_(people["membre"]).get(f"/documents/dossiers/{top.id}"), "Tarifs") == "3 documents"
    services.trash(_documents()[-2])  # « printemps » in the trash: no longer counted
    db.session.commit()
    assert _row_count(as_(people["voisine"]).get(f"/documents/dossiers/{top.id}"), "Tarifs") == "1 document"
