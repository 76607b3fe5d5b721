"""Browser journey of the library (issue 13).

An office member drops three files (a PDF, a JPEG and a CSV) into a private group's folder with a
note, through the page's uploader (one request per file, a progress bar each); the group's other
member gets the notification in the bell and, through the worker, the e-mail on a real SMTP server,
and sees the feed item; the PDF and the image preview in the page; a new version downloads byte for
byte; « lu et approuvé » is counted. A non-member sees nothing: not the group's tab, not the folder,
not the document, its file, preview, thumbnail, version or ZIP (404), not the feed item, not the
dashboard widget, not a notification. Screenshots go to /tmp/shots/documents-*.png."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image
from playwright.sync_api import expect

from intranet.core.jobs import run_due_jobs
from intranet.core.mail import deliver_outbox
from intranet.documents import services
from intranet.documents.models import Document
from intranet.extensions import db
from tests.browser.conftest import DESKTOP, PHONE, log_in, url_re
from tests.feed.conftest import pdf_bytes

pytestmark = pytest.mark.browser

NOTE = "Le programme de l'**éductour** de juin et la liste des prestataires."


def _jpeg() -> bytes:
    img = Image.new("RGB", (900, 600), (120, 170, 220))
    img.paste(Image.new("RGB", (900, 300), (70, 140, 60)), (0, 300))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)
    return out.getvalue()


def _new_page(browser):
    context = browser.new_context(locale="fr-FR", timezone_id="Europe/Paris", reduced_motion="reduce")
    context.set_default_timeout(10_000)
    return context, context.new_page()


def test_drop_three_files_in_a_private_groups_folder_preview_version_and_nothing_for_others(
        live_server, page, _browser, make_user, make_org, factories, smtp_server, shot, tmp_path):
    base = live_server.url
    salers = make_org(name="Office de tourisme du Pays de Salers")
    aurillac = make_org(name="Office de tourisme du Pays d'Aurillac")
    a = make_user(name="Anaïs Delmas", email="anais@salers-tourisme.fr", organization=salers)
    b = make_user(name="Hélène Roux", email="helene@salers-tourisme.fr", organization=salers)
    c = make_user(name="Cédric Vidal", email="cedric@aurillac-tourisme.fr", organization=aurillac)
    group = factories.group(name="Club des éductours", visibility="private", join_policy="invitation",
                            owner=a, members=[b])
    folder = services.create_folder(a, "Éductour de juin", group=group)
    db.session.commit()
    pdf, jpeg = pdf_bytes("Programme de l'eductour", padding=20_000), _jpeg()
    files = {"programme-eductour.pdf": pdf, "salers.jpg": jpeg,
             "prestataires.csv": b"Nom;Commune\nFerme des Prades;Salers\n"}
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)

    # 1. A opens her group's « Documents » tab, then the folder, and drops three files with a note.
    page.set_viewport_size(DESKTOP)
    log_in(page, base, a.email)
    page.goto(f"{base}/groups/{group.id}")
    page.get_by_role("link", name="Documents", exact=True).last.click()
    page.wait_for_url(url_re(f"/documents/groupe/{group.id}"))
    page.get_by_role("link", name="Éductour de juin").click()
    page.wait_for_url(url_re(f"/documents/dossiers/{folder.id}"))
    page.get_by_label("Note explicative (markdown)").fill(NOTE)
    page.get_by_label("Fichiers").set_input_files([str(tmp_path / n) for n in files])
    page.get_by_role("button", name="Déposer").click()
    bars = page.locator("[data-upload] [role=progressbar]")
    expect(bars).to_have_count(3)
    expect(page.locator("[data-upload] .text-success")).to_have_count(3)  # « Déposé » under each bar
    page.wait_for_load_state("load")
    expect(page.get_by_role("heading", name="3 documents")).to_be_visible()
    run_due_jobs()  # the worker: text and thumbnails
    page.reload()
    expect(page.locator("img.document-thumb")).to_have_count(2)  # the JPEG and the PDF's first page
    shot(page, "documents-folder-desktop")

    docs = {d.name: d for d in db.session.scalars(sa.select(Document))}
    assert set(docs) == set(files)
    doc_pdf, doc_jpg = docs["programme-eductour.pdf"], docs["salers.jpg"]

    # 2. The PDF previews in the page (PDF.js draws its page), the image too.
    page.goto(f"{base}/documents/{doc_pdf.id}")
    expect(page.locator("canvas.pdf-page")).to_have_count(1)
    expect(page.locator("strong", has_text="éductour")).to_be_visible()  # the note's markdown
    page.goto(f"{base}/documents/{doc_jpg.id}")
    image = page.get_by_role("img", name="salers.jpg")
    expect(image).to_be_visible()
    assert page.evaluate("img => img.naturalWidth", image.element_handle()) == 900

    # 3. A new version of the PDF; the download is byte for byte what was sent.
    # Over 500 KB: the form part is spooled into UPLOAD_DIR and kept by a hard link (core.storage's
    # big-file path), here through a real HTTP server and Chromium's own multipart body.
    v2 = pdf_bytes("Programme corrige", padding=700_000)
    (tmp_path / "programme v2.pdf").write_bytes(v2)
    page.goto(f"{base}/documents/{doc_pdf.id}")
    page.get_by_label("Nouveau fichier").set_input_files(str(tmp_path / "programme v2.pdf"))
    page.get_by_label("Ce qui change").fill("Horaires de la dégustation")
    page.get_by_role("button", name="Nouvelle version").click()
    expect(page.get_by_text("La version 2 est maintenant la version courante.")).to_be_visible()
    with page.expect_download() as info:
        page.get_by_role("link", name="Télécharger", exact=True).click()
    assert Path(info.value.path()).read_bytes() == v2
    assert info.value.suggested_filename == "programme v2.pdf"
    with page.expect_download() as info:
        page.get_by_role("link", name="Version 1").click()
    assert Path(info.value.path()).read_bytes() == pdf
    assert page.console_errors == []
    shot(page, "documents-pdf-desktop")
    page.set_viewport_size(PHONE)
    shot(page, "documents-pdf-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # 4. B: the bell, the feed item, the e-mail through the worker and the SMTP server.
    b_context, bpage = _new_page(_browser)
    c_context, cpage = _new_page(_browser)
    try:
        log_in(bpage, base, b.email)
        expect(bpage.locator('[data-nav-badge="notifications.index"] .nav-badge')).to_have_text(re.compile(r"^3"))
        bpage.goto(f"{base}/feed/")
        expect(bpage.locator("main article", has_text="salers.jpg")).to_be_visible()
        assert deliver_outbox(ignore_backoff=True)["errors"] == 0
        to_b = [m for m in smtp_server.messages if m["To"] == b.email]
        subjects = sorted(m["Subject"] for m in to_b)
        assert subjects == ["Nouveau document : prestataires.csv", "Nouveau document : programme-eductour.pdf",
                            "Nouveau document : salers.jpg"], subjects
        body = to_b[0].get_body(("plain",)).get_content()
        assert "programme de l'éductour" in body.lower() and f"{base}/documents/" in body
        assert not [m for m in smtp_server.messages if m["To"] == c.email]

        # 5. C, not a member, sees nothing of it anywhere.
        log_in(cpage, base, c.email)
        cpage.goto(f"{base}/")
        expect(cpage.get_by_role("heading", name="Derniers documents")).to_be_visible()
        for text in ("salers.jpg", "programme-eductour.pdf", "Éductour de juin"):
            expect(cpage.get_by_text(text)).to_have_count(0)
        cpage.goto(f"{base}/feed/")
        expect(cpage.get_by_text("salers.jpg")).to_have_count(0)
        cpage.goto(f"{base}/notifications/")
        expect(cpage.get_by_text("salers.jpg")).to_have_count(0)
        assert cpage.goto(f"{base}/documents/groupe/{group.id}").status == 403
        for path in (f"/documents/dossiers/{folder.id}", f"/documents/dossiers/{folder.id}/zip",
                     f"/documents/{doc_pdf.id}", f"/documents/{doc_pdf.id}/telecharger",
                     f"/documents/{doc_pdf.id}/telecharger?version=1", f"/documents/{doc_jpg.id}/apercu",
                     f"/documents/{doc_jpg.id}/vignette"):
            resp = cpage.request.get(base + path)
            assert resp.status == 404, (path, resp.status)

        # 6. « Lu et approuvé »: A asks it on a new file, B confirms, A sees who did and who did not.
        (tmp_path / "charte.txt").write_text("Charte d'accueil des éductours.")
        page.set_viewport_size(DESKTOP)
        page.goto(f"{base}/documents/dossiers/{folder.id}")
        page.get_by_label("Demander à chaque lecteur de confirmer « lu et approuvé »").check()
        page.get_by_label("Fichiers").set_input_files(str(tmp_path / "charte.txt"))
        page.get_by_role("button", name="Déposer").click()
        expect(page.get_by_role("heading", name="4 documents")).to_be_visible()
        charte = db.session.scalar(sa.select(Document).where(Document.name == "charte.txt"))
        bpage.goto(f"{base}/documents/{charte.id}")
        bpage.get_by_role("button", name="Lu et approuvé").click()
        expect(bpage.get_by_text("Vous avez confirmé « lu et approuvé »")).to_be_visible()
        page.goto(f"{base}/documents/{charte.id}/lecteurs")
        expect(page.get_by_role("cell", name="Hélène Roux")).to_be_visible()
        expect(page.get_by_role("heading", name="0 personne n'a pas encore confirmé")).to_be_visible()
        shot(page, "documents-readers-desktop")
    finally:
        b_context.close()
        c_context.close()
