"""Writing in the feed through HTTP: text in markdown, images (upright, without EXIF or GPS), files
to download, the « Avec pièces jointes » filter; bad uploads refused in French with nothing stored;
editing (« modifié ») and deleting (files removed from the disk); the warning about mentioned people
who will not see the post.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import ExifTags, Image
from werkzeug.http import parse_options_header

from intranet.core.notifications import Notification
from intranet.extensions import db
from intranet.feed.models import Attachment
from tests.feed.conftest import action, last_post, pdf_bytes, png_bytes, post_as, post_count, stored_files, text

ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x00" * 200
PE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 44 + b"\x80\x00\x00\x00" + b"\x00" * 200


def jpeg_with_orientation_and_gps() -> bytes:
    """A 80×40 photo, red on the left and blue on the right, taken with the phone turned (EXIF
    orientation 6: to be shown rotated 90° clockwise), with a GPS position and a camera name."""
    img = Image.new("RGB", (80, 40), (0, 0, 255))
    img.paste((255, 0, 0), (0, 0, 40, 40))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "Téléphone de Marie"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (45.0, 8.0, 30.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (2.0, 30.0, 12.0)
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif, quality=95)
    return buf.getvalue()


@pytest.fixture
def alice(factories):
    return factories.user(name="Alice Martin", organization=factories.organization(name="Office de Salers"))


@pytest.fixture
def c(alice, as_):
    return as_(alice)


def attachment_rows() -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(Attachment))


def upload_root(app) -> Path:
    return Path(app.config["UPLOAD_DIR"]).resolve()


# -- text -------------------------------------------------------------------------------------------

def test_markdown_text_is_rendered_bold_lists_and_links(c):
    body = ("Le **salon du tourisme** approche :\n\n- stand à monter jeudi\n- brochures à apporter\n\n"
            "Programme sur [le site du salon](https://salon.exemple.fr/programme) ou https://exemple.fr/infos\n\n"
            "<script>alert(1)</script>")
    resp = post_as(c, body)
    assert resp.status_code == 302
    post = last_post()
    assert resp.headers["Location"].endswith(f"/feed/#publication-{post.id}")
    feed = c.get(resp.headers["Location"])
    assert "Votre message est publié." in text(feed)
    for page in (feed, c.get(f"/feed/{post.id}")):
        html = page.get_data(as_text=True)
        assert "<strong>salon du tourisme</strong>" in html
        assert re.search(r"<ul>\s*<li>stand à monter jeudi</li>\s*<li>brochures à apporter</li>\s*</ul>", html)
        assert re.search(r'<a href="https://salon\.exemple\.fr/programme"[^>]*rel="nofollow noopener noreferrer"'
                         r"[^>]*>le site du salon</a>", html)
        assert re.search(r'<a href="https://exemple\.fr/infos"[^>]*>https://exemple\.fr/infos</a>', html)
        # Typed HTML is shown as text, never run.
        assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert post.body == body  # the text keeps what the author typed


def test_a_post_with_neither_text_nor_file_is_refused_in_french(c, app):
    for body in ("", "   \n  "):
        resp = post_as(c, body, files=[(b"", "")])  # an empty file field, as a browser sends it
        assert resp.status_code == 400
        assert "Écrivez un message ou joignez un fichier." in text(resp)
    assert post_count() == 0 and stored_files() == set()


# -- images and files ---------------------------------------------------------------------------------

def test_an_image_is_stored_upright_without_exif_or_gps(c, app):
    photo = jpeg_with_orientation_and_gps()
    with Image.open(io.BytesIO(photo)) as original:  # the test photo really carries them
        assert original.getexif()[ExifTags.Base.Orientation] == 6
        assert original.getexif().get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitudeRef] == "N"
    assert post_as(c, "Vue depuis le Puy Mary", images=[(photo, "IMG_0042.jpeg")]).status_code == 302
    post = last_post()
    [image] = post.attachments
    assert image.is_image and image.name == "IMG_0042.jpg" and image.thumb_key

    page = c.get(f"/feed/{post.id}").get_data(as_text=True)
    assert f'src="/feed/fichiers/{image.id}/miniature"' in page
    assert f'data-lightbox="/feed/fichiers/{image.id}"' in page

    for url, side in ((f"/feed/fichiers/{image.id}", 80), (f"/feed/fichiers/{image.id}/miniature", 80)):
        resp = c.get(url)
        assert resp.status_code == 200 and resp.mimetype == "image/jpeg"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["Content-Disposition"].startswith("inline")  # shown in the lightbox
        raw = resp.get_data()
        resp.close()
        assert b"Exif" not in raw and b"Marie" not in raw
        with Image.open(io.BytesIO(raw)) as served:
            assert served.size == (40, side)  # portrait, as the phone was held
            assert not served.getexif()
            assert not served.getexif().get_ifd(ExifTags.IFD.GPSInfo)
            assert "exif" not in served.info
            top, bottom = served.getpixel((20, 10)), served.getpixel((20, 70))
        assert top[0] > 200 and top[2] < 60  # the left (red) side is now on top
        assert bottom[2] > 200 and bottom[0] < 60
    # ?telecharger=1 downloads the image instead.
    resp = c.get(f"/feed/fichiers/{image.id}?telecharger=1")
    assert resp.headers["Content-Disposition"].startswith("attachment")
    resp.close()


def test_large_images_are_reduced_and_get_a_small_thumbnail(c):
    assert post_as(c, "", images=[(png_bytes((3000, 1000)), "panorama.png")]).status_code == 302
    [image] = last_post().attachments
    for url, side in ((f"/feed/fichiers/{image.id}", 1600), (f"/feed/fichiers/{image.id}/miniature", 480)):
        resp = c.get(url)
        with Image.open(io.BytesIO(resp.get_data())) as served:
            assert max(served.size) == side
        resp.close()


@pytest.mark.parametrize("name", ["Compte rendu AG 2025.pdf", "Bilan de l'été à Salers.pdf"])
def test_a_pdf_is_downloaded_with_its_name_as_an_attachment_and_nosniff(c, name):
    pdf = pdf_bytes("Assemblée générale")
    assert post_as(c, "Le compte rendu", files=[(pdf, name)]).status_code == 302
    post = last_post()
    [doc] = post.attachments
    assert not doc.is_image and doc.name == name and doc.content_type == "application/pdf"
    page = c.get(f"/feed/{post.id}")
    assert name in text(page) and f'href="/feed/fichiers/{doc.id}"' in page.get_data(as_text=True)

    resp = c.get(f"/feed/fichiers/{doc.id}")
    assert resp.status_code == 200
    assert resp.mimetype == "application/pdf"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    kind, options = parse_options_header(resp.headers["Content-Disposition"])
    assert kind == "attachment" and options["filename"] == name
    assert resp.get_data() == pdf
    resp.close()
    # No thumbnail for a document.
    assert c.get(f"/feed/fichiers/{doc.id}/miniature").status_code == 404


def test_the_files_filter_shows_only_posts_with_attachments(c):
    post_as(c, "Juste du texte")
    only_text = last_post()
    post_as(c, "Avec un PDF", files=[(pdf_bytes(), "programme.pdf")])
    with_pdf = last_post()
    post_as(c, "", images=[(png_bytes(), "affiche.png")])
    with_image = last_post()
    resp = c.get("/feed/", query_string={"filtre": "fichiers"})
    html = resp.get_data(as_text=True)
    assert re.search(r'aria-current="page"[^>]*>Avec pièces jointes<', html)
    assert f'id="publication-{with_pdf.id}"' in html and f'id="publication-{with_image.id}"' in html
    assert f'id="publication-{only_text.id}"' not in html
    assert f'id="publication-{only_text.id}"' in c.get("/feed/").get_data(as_text=True)


# -- bad uploads ----------------------------------------------------------------------------------------

MISMATCH = "Le contenu du fichier ne correspond pas à son extension."

BAD_UPLOADS = {
    "executable_elf_renamed_jpg_as_image": ("images", ELF, "photo.jpg", MISMATCH),
    "executable_pe_renamed_jpg_as_file": ("files", PE, "facture.jpg", MISMATCH),
    "executable_renamed_pdf": ("files", ELF, "rapport.pdf", MISMATCH),
    "executable_as_is": ("files", PE, "installer.exe", "Ce type de fichier n'est pas accepté : .exe."),
    "empty_file": ("files", b"", "vide.pdf", "Le fichier est vide."),
    "empty_image": ("images", b"", "vide.png", "Le fichier est vide."),
    "pdf_given_as_image": ("images", pdf_bytes(), "plan.pdf", "Ce type de fichier n'est pas accepté : .pdf."),
    "broken_image": ("images", png_bytes()[:60], "cassee.png", "L'image est illisible ou endommagée."),
}


@pytest.mark.parametrize("field,content,name,message", BAD_UPLOADS.values(), ids=BAD_UPLOADS)
def test_a_bad_upload_is_refused_in_french_and_nothing_is_stored(field, content, name, message, c):
    # A good image comes first: it must not stay on the disk either.
    fields = {"images": [(png_bytes(), "bonne.png")], "files": []}
    fields[field].append((content, name))
    resp = post_as(c, "Ma publication", **fields)
    assert resp.status_code == 400
    assert f"{name} : {message}" in text(resp)
    assert ">Ma publication</textarea>" in resp.get_data(as_text=True)  # the text is kept
    assert post_count() == 0 and attachment_rows() == 0
    assert stored_files() == set()


@pytest.mark.parametrize("field,content,name", [
    ("files", pdf_bytes(padding=6000), "gros.pdf"),
    ("images", png_bytes((400, 400)) + b"\x00" * 6000, "grosse.png"),
])
def test_an_oversized_file_is_refused_in_french_and_nothing_is_stored(field, content, name, c, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_UPLOAD_BYTES", 4096)  # restored after the test
    assert len(content) > 4096
    fields = {"images": [(png_bytes(), "petite.png")], "files": [(pdf_bytes(), "petit.pdf")]}
    fields[field].append((content, name))
    resp = post_as(c, "Trop lourd", **fields)
    assert resp.status_code == 400
    assert f"{name} : Le fichier dépasse la taille maximale de 4 Ko." in text(resp)
    assert post_count() == 0 and attachment_rows() == 0
    assert stored_files() == set()
    # The same file under the limit is accepted.
    monkeypatch.setitem(app.config, "MAX_UPLOAD_BYTES", 25 * 1024 * 1024)
    assert post_as(c, "Ça passe", **{field: [(content, name)]}).status_code == 302


@pytest.mark.parametrize("field,content,name,shown", [
    ("files", pdf_bytes(), "../../etc/passwd.pdf", "passwd.pdf"),
    ("files", pdf_bytes(), "/etc/cron.d/tache.pdf", "tache.pdf"),
    ("files", pdf_bytes(), "..\\..\\Windows\\win.ini.pdf", "win.ini.pdf"),
    ("images", png_bytes(), "../../../static/logo.png", "logo.jpg"),  # an image without transparency → JPEG
])
def test_a_path_in_the_file_name_never_reaches_the_disk(field, content, name, shown, c, app):
    """The content is valid, so the file is accepted: under a random key inside UPLOAD_DIR, its
    name kept for display without any folder."""
    root = upload_root(app)
    outside_before = {p for p in root.parent.rglob("*") if p.is_file() and not p.is_relative_to(root)}
    resp = post_as(c, "", **{field: [(content, name)]})
    assert resp.status_code == 302
    [a] = last_post().attachments
    # (The test client does not escape backslashes and Werkzeug's parser drops them: the Windows
    # path arrives as « ....Windowswin.ini.pdf », without any separator either.)
    assert a.name.endswith(shown) and "/" not in a.name and "\\" not in a.name and not a.name.startswith(".")
    assert re.fullmatch(r"[0-9a-f]{2}/[0-9a-f]{32}\.(pdf|jpg)", a.key)
    files = stored_files()
    assert files and all(p.resolve().is_relative_to(root) for p in files)
    assert not any(shown.rsplit(".", 1)[0] in p.name for p in files)
    outside_after = {p for p in root.parent.rglob("*") if p.is_file() and not p.is_relative_to(root)}
    assert outside_after == outside_before
    page = c.get("/feed/")
    assert a.name in page.get_data(as_text=True)  # the link's text, or the image's alt text
    assert name not in page.get_data(as_text=True) and name not in text(page)
    resp = c.get(f"/feed/fichiers/{a.id}?telecharger=1")
    kind, options = parse_options_header(resp.headers["Content-Disposition"])
    assert kind == "attachment" and options["filename"] == a.name
    resp.close()


# -- editing and deleting -------------------------------------------------------------------------------

def test_editing_a_post_adds_the_modified_mark(c):
    post_as(c, "Réunion **mardi**")
    post = last_post()
    assert "modifié" not in text(c.get(f"/feed/{post.id}"))
    form = c.get(f"/feed/{post.id}/modifier")
    assert form.status_code == 200 and "Réunion **mardi**" in text(form)
    resp = action(c, f"/feed/{post.id}/modifier", body="Réunion **mercredi**")
    assert resp.status_code == 302
    page = c.get(resp.headers["Location"])
    assert "Publication modifiée." in text(page)
    assert "<strong>mercredi</strong>" in page.get_data(as_text=True) and "mardi" not in text(page)
    assert "modifié" in text(page)
    assert "modifié" in text(c.get("/feed/"))
    # An empty text without files is refused.
    resp = action(c, f"/feed/{post.id}/modifier", body=" ")
    assert resp.status_code == 400 and "Écrivez un message ou joignez un fichier." in text(resp)


def test_removing_an_attachment_while_editing_removes_its_file(c, app):
    post_as(c, "Deux fichiers", files=[(pdf_bytes("un"), "un.pdf"), (pdf_bytes("deux"), "deux.pdf")])
    post = last_post()
    first, second = post.attachments
    assert len(stored_files()) == 2
    assert action(c, f"/feed/{post.id}/modifier", body="Un seul fichier", remove=str(first.id)).status_code == 302
    assert stored_files() == {upload_root(app) / second.key}
    assert c.get(f"/feed/fichiers/{first.id}").status_code == 404
    assert "un.pdf" not in text(c.get(f"/feed/{post.id}"))


def test_deleting_a_post_removes_its_files_from_the_disk(c, app):
    post_as(c, "Photos et programme", images=[(png_bytes(), "photo.png")], files=[(pdf_bytes(), "programme.pdf")])
    post = last_post()
    ids = [a.id for a in post.attachments]
    assert len(stored_files()) == 3  # the image, its thumbnail and the PDF
    resp = action(c, f"/feed/{post.id}/supprimer")
    assert resp.status_code == 302
    assert "Publication supprimée." in text(c.get(resp.headers["Location"]))
    assert stored_files() == set()
    assert post_count() == 0 and attachment_rows() == 0
    assert c.get(f"/feed/{post.id}").status_code == 404
    for ident in ids:
        assert c.get(f"/feed/fichiers/{ident}").status_code == 404


# -- the mentions warning ---------------------------------------------------------------------------------

def test_mentioning_someone_who_will_not_see_the_post_asks_before_publishing(c, alice, factories, as_):
    colleague = factories.user(name="Bruno Collègue", organization=alice.organization)
    stranger = factories.user(name="Zoé Ailleurs", organization=factories.organization(name="Office d'Aurillac"))
    body = f"Point budget avec @{colleague.name} et @{stranger.name}"
    audience = f"org:{alice.organization.id}"

    resp = post_as(c, body, audience=audience, files=[(pdf_bytes(), "budget.pdf")])
    assert resp.status_code == 200
    page = text(resp)
    assert "Ces personnes ne verront pas ce message et ne seront pas prévenues : Zoé Ailleurs" in page
    assert "Bruno Collègue" not in page.split("ne seront pas prévenues :")[1].split("Élargissez")[0]
    assert "Publier quand même" in page
    html = resp.get_data(as_text=True)
    assert f">{body}</textarea>" in html  # the text is kept…
    assert re.search(rf'value="org:{alice.organization.id}"[^>]*selected', html)  # …and the audience
    assert post_count() == 0 and stored_files() == set()

    # Sending again without confirming asks again.
    assert post_as(c, body, audience=audience).status_code == 200
    assert post_count() == 0

    resp = post_as(c, body, audience=audience, confirm_mentions="y")
    assert resp.status_code == 302
    post = last_post()
    assert post.body == body
    db.session.expire_all()
    told = dict(db.session.execute(sa.select(Notification.user_id, Notification.type).where(
        Notification.object_kind == "feed.post", Notification.object_id == post.id)).all())
    assert told.get(colleague.id) == "feed.mention"
    assert stranger.id not in told
    # Seen from the stranger, the post does not exist; the colleague reads it.
    assert as_(stranger).get(f"/feed/{post.id}").status_code == 404
    assert as_(colleague).get(f"/feed/{post.id}").status_code == 200


def test_no_warning_when_every_mentioned_person_sees_the_post(c, factories):
    other = factories.user(name="Zoé Ailleurs", organization=factories.organization(name="Office d'Aurillac"))
    resp = post_as(c, f"Bienvenue à @{other.name} !")  # « Tout le réseau »
    assert resp.status_code == 302
    assert post_count() == 1
