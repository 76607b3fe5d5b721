"""Uploads are checked by content, stored under random names, and served safely."""

from __future__ import annotations

import io
import os
import re
import zipfile
from pathlib import Path

import flask
import pytest
from flask_babel import Babel
from PIL import ExifTags, Image
from werkzeug.datastructures import FileStorage
from werkzeug.test import stream_encode_multipart

from intranet.core import storage
from intranet.core.storage import (
    StoredFile,
    UploadError,
    delete_stored,
    open_stored,
    path_for,
    sanitize_filename,
    save_image,
    save_upload,
    send_stored,
)

MAX_BYTES = 1024 * 1024  # 1 Mo
KEY_RE = re.compile(r"^([0-9a-f]{2})/\1[0-9a-f]{30}\.[a-z0-9]+$")


@pytest.fixture
def upload_dir(tmp_path: Path) -> Path:
    return tmp_path / "uploads"  # does not exist yet: the storage creates it


@pytest.fixture
def app(upload_dir: Path):
    app = flask.Flask(__name__)
    app.config.update(UPLOAD_DIR=str(upload_dir), MAX_UPLOAD_BYTES=MAX_BYTES, BABEL_DEFAULT_LOCALE="fr")
    Babel(app)

    @app.get("/fichiers/<path:key>")
    def download(key):
        inline = flask.request.args.get("inline") == "1"
        return send_stored(key, flask.request.args.get("nom", "fichier"), as_attachment=not inline)

    with app.app_context():
        yield app


def upload(data: bytes, filename: str | None) -> FileStorage:
    return FileStorage(io.BytesIO(data), filename=filename)


def files_on_disk(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


# --- Real files -----------------------------------------------------------------------------


def png_bytes(size=(64, 48), mode="RGB", color=(200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, color).save(buf, "PNG")
    return buf.getvalue()


def jpeg_bytes(size=(64, 48)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (20, 120, 200)).save(buf, "JPEG")
    return buf.getvalue()


def jpeg_with_orientation_and_gps() -> bytes:
    """A 80×40 photo, red on the left and blue on the right, taken with the camera turned
    (EXIF orientation 6: display rotated 90° clockwise), with a GPS position."""
    img = Image.new("RGB", (80, 40), (0, 0, 255))
    img.paste((255, 0, 0), (0, 0, 40, 40))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "Téléphone"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (45.0, 10.0, 30.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (5.0, 43.0, 12.0)
    buf = io.BytesIO()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description>45.17N</rdf:Description></x:xmpmeta>'
    img.save(buf, "JPEG", exif=exif, quality=95, comment="Chez Marie, 12 rue des Lilas", xmp=xmp)
    return buf.getvalue()


PDF = (
    b"%PDF-1.4\n"
    b"1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
    b"3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >> endobj\n"
    b"xref\n0 4\n0000000000 65535 f \n0000000009 00000 n \n0000000058 00000 n \n0000000115 00000 n \n"
    b"trailer << /Size 4 /Root 1 0 R >>\nstartxref\n186\n%%EOF\n"
)

ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x00" * 200
PE = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
    + b"\x00" * 44
    + b"\x80\x00\x00\x00"
    + b"\x00" * 200
)


def docx_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        z.writestr("word/document.xml", '<?xml version="1.0"?><w:document/>')
    return buf.getvalue()


# --- Accepted files -------------------------------------------------------------------------


def test_png_is_stored_under_a_random_name_with_its_content(app, upload_dir):
    data = png_bytes()
    stored = save_upload(upload(data, "Affiche été 2025.png"), {"image"})
    assert isinstance(stored, StoredFile)
    assert KEY_RE.match(stored.key)
    assert "Affiche" not in stored.key
    assert stored.original_name == "Affiche été 2025.png"
    assert stored.content_type == "image/png"
    assert stored.size == len(data)
    assert (upload_dir / stored.key).read_bytes() == data
    with open_stored(stored.key) as fh:
        assert fh.read() == data
    # Nothing else is left behind (no temporary file).
    assert files_on_disk(upload_dir) == [upload_dir / stored.key]


def test_each_upload_gets_a_different_name(app):
    keys = {save_upload(upload(png_bytes(), "a.png"), {"image"}).key for _ in range(5)}
    assert len(keys) == 5


def test_real_pdf_is_accepted_as_a_document(app, upload_dir):
    stored = save_upload(upload(PDF, "Compte-rendu.PDF"), {"document"})
    assert stored.content_type == "application/pdf"
    assert stored.key.endswith(".pdf")
    assert (upload_dir / stored.key).read_bytes() == PDF


def test_docx_which_is_a_zip_is_accepted(app):
    stored = save_upload(upload(docx_bytes(), "note.docx"), {"document"})
    assert stored.content_type == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    # An OpenDocument file is a zip too; its precise type may not be detected from the header.
    plain_zip = io.BytesIO()
    with zipfile.ZipFile(plain_zip, "w") as z:
        z.writestr("content.xml", "<office:document-content/>")
    assert save_upload(upload(plain_zip.getvalue(), "tableau.ods"), {"document"}).key.endswith(".ods")


def test_text_and_csv_in_utf8_or_windows_1252_are_accepted(app, upload_dir):
    utf8 = save_upload(upload("Nuitées;Mois\n1200;juillet\n".encode(), "fvt.csv"), {"document"})
    cp1252 = save_upload(upload("Réservé à l'équipe – 2025\n".encode("cp1252"), "note.txt"), {"document"})
    assert utf8.content_type == "text/csv"
    assert cp1252.content_type == "text/plain"
    assert (upload_dir / cp1252.key).read_bytes().decode("cp1252").startswith("Réservé")


def test_explicit_extensions_are_accepted(app):
    assert save_upload(upload(PDF, "a.pdf"), {"pdf"}).content_type == "application/pdf"
    with pytest.raises(UploadError, match="n'est pas accepté : .png"):
        save_upload(upload(png_bytes(), "a.png"), {"pdf"})


# --- Refused files --------------------------------------------------------------------------


@pytest.mark.parametrize("executable", [ELF, PE], ids=["elf", "exe"])
def test_executable_renamed_jpg_is_refused(app, upload_dir, executable):
    with pytest.raises(UploadError) as err:
        save_upload(upload(executable, "vacances.jpg"), {"image"})
    assert str(err.value) == "Le contenu du fichier ne correspond pas à son extension."
    assert files_on_disk(upload_dir) == []


def test_content_of_another_allowed_type_is_still_refused(app, upload_dir):
    with pytest.raises(UploadError, match="ne correspond pas à son extension"):
        save_upload(upload(png_bytes(), "rapport.pdf"), {"image", "document"})
    with pytest.raises(UploadError, match="ne correspond pas à son extension"):
        save_upload(upload(PDF, "rapport.docx"), {"document"})
    assert files_on_disk(upload_dir) == []


def test_binary_renamed_txt_is_refused(app, upload_dir):
    with pytest.raises(UploadError, match="ne correspond pas à son extension"):
        save_upload(upload(b"texte\x00\x01\x02binaire", "notes.txt"), {"document"})
    with pytest.raises(UploadError, match="ne correspond pas à son extension"):
        save_upload(upload(PE, "liste.csv"), {"document"})
    # Bytes that are neither UTF-8 nor Windows-1252 (0x81 is undefined in cp1252).
    with pytest.raises(UploadError, match="ne correspond pas à son extension"):
        save_upload(upload(b"abc \x81\x8d\xff def", "liste.csv"), {"document"})
    assert files_on_disk(upload_dir) == []


@pytest.mark.parametrize(
    ("filename", "shown"),
    [("setup.exe", ".exe"), ("page.html", ".html"), ("logo.svg", ".svg"), ("LISEZMOI", "sans extension")],
)
def test_refused_extensions_say_which_types_are_accepted(app, upload_dir, filename, shown):
    with pytest.raises(UploadError) as err:
        save_upload(upload(b"<svg onload=alert(1)>", filename), {"image"})
    assert str(err.value) == (
        f"Ce type de fichier n'est pas accepté : {shown}. Types acceptés : gif, jpeg, jpg, png, webp."
    )
    assert files_on_disk(upload_dir) == []


def test_pdf_is_refused_where_only_images_are_expected(app):
    with pytest.raises(UploadError, match="n'est pas accepté : .pdf"):
        save_upload(upload(PDF, "a.pdf"), {"image"})


def test_empty_file_is_refused(app, upload_dir):
    with pytest.raises(UploadError) as err:
        save_upload(upload(b"", "vide.pdf"), {"document"})
    assert str(err.value) == "Le fichier est vide."
    assert files_on_disk(upload_dir) == []


class CountingStream(io.RawIOBase):
    """A large upload that is produced on the fly, and remembers how it was read."""

    def __init__(self, head: bytes, total: int) -> None:
        self.head, self.total, self.position = head, total, 0
        self.largest_read = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        assert size is not None and size > 0, "the whole upload must never be read at once"
        self.largest_read = max(self.largest_read, size)
        size = min(size, self.total - self.position)
        data = bytes(self.head[self.position : self.position + size]).ljust(size, b" ")
        self.position += size
        return data


def test_oversized_file_is_refused_without_being_read_whole(app, upload_dir):
    stream = CountingStream(PDF, total=50 * MAX_BYTES)
    with pytest.raises(UploadError) as err:
        save_upload(FileStorage(stream, filename="enorme.pdf"), {"document"})
    assert str(err.value) == "Le fichier dépasse la taille maximale de 1 Mo."
    assert stream.position <= MAX_BYTES + storage.CHUNK_SIZE  # stopped right after the limit
    assert stream.largest_read <= storage.CHUNK_SIZE
    assert files_on_disk(upload_dir) == []


def test_file_of_exactly_the_maximum_size_is_accepted(app):
    data = PDF.ljust(MAX_BYTES, b" ")
    assert save_upload(upload(data, "limite.pdf"), {"document"}).size == MAX_BYTES


def test_size_limit_message_uses_the_configured_limit(app):
    app.config["MAX_UPLOAD_BYTES"] = 25 * 1024 * 1024
    with pytest.raises(UploadError, match="taille maximale de 25 Mo"):
        save_upload(FileStorage(CountingStream(PDF, total=26 * 1024 * 1024), filename="a.pdf"), {"document"})


# --- Names and paths ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "shown"),
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("..\\..\\x.pdf", "x.pdf"),
        ("C:\\Users\\marie\\Bureau\\Programme.pdf", "Programme.pdf"),
        ("/var/www/../../rapport\x00\x1b[31m.pdf", "rapport[31m.pdf"),
        ("photo\u202egpj.pdf", "photogpj.pdf"),
    ],
)
def test_path_in_the_file_name_never_reaches_the_disk(app, upload_dir, tmp_path, filename, shown):
    data = PDF if filename.endswith(".pdf") else b"root:x:0:0\n"
    stored = save_upload(upload(data, filename), {"document"})
    assert stored.original_name == shown
    assert KEY_RE.match(stored.key)
    assert files_on_disk(upload_dir) == [upload_dir / stored.key]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["uploads"]  # nothing written beside it


def test_path_without_extension_is_refused(app, upload_dir):
    with pytest.raises(UploadError, match="sans extension"):
        save_upload(upload(b"root:x:0:0\n", "../../etc/passwd"), {"document"})
    assert files_on_disk(upload_dir) == []


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, "fichier"),
        ("", "fichier"),
        ("..", "fichier"),
        ("../", "fichier"),
        ("  Compte   rendu\tAG.pdf ", "Compte rendu AG.pdf"),
        ('a<b>c:"d|e?*.txt', "a_b_c__d_e__.txt"),
        (".htaccess", "htaccess"),
    ],
)
def test_sanitize_filename(raw, expected):
    assert sanitize_filename(raw) == expected


def test_long_names_are_cut_to_200_characters_keeping_the_extension():
    name = sanitize_filename("é" * 300 + ".pdf")
    assert len(name) == 200
    assert name.endswith("é.pdf")


@pytest.mark.parametrize(
    "key",
    [
        "../secret.txt",
        "ab/../../secret.txt",
        "/etc/passwd",
        "..\\secret.txt",
        "ab/./x",
        "",
        "ab//x",
        "a\x00b",
    ],
)
def test_keys_escaping_the_upload_dir_are_refused(app, upload_dir, tmp_path, key):
    (tmp_path / "secret.txt").write_text("secret")
    with pytest.raises(FileNotFoundError):
        open_stored(key)
    with pytest.raises(FileNotFoundError):
        path_for(key)
    assert delete_stored(key) is False
    assert (tmp_path / "secret.txt").exists()


def test_symbolic_link_leading_out_is_refused(app, upload_dir, tmp_path):
    (tmp_path / "secret.txt").write_text("secret")
    upload_dir.mkdir(parents=True, exist_ok=True)
    os.symlink(tmp_path / "secret.txt", upload_dir / "lien.txt")
    with pytest.raises(FileNotFoundError):
        open_stored("lien.txt")


def test_missing_file_raises_file_not_found(app):
    with pytest.raises(FileNotFoundError):
        open_stored("ab/" + "ab" * 16 + ".pdf")


def test_delete_removes_the_file(app, upload_dir):
    stored = save_upload(upload(PDF, "a.pdf"), {"document"})
    assert delete_stored(stored.key) is True
    assert files_on_disk(upload_dir) == []
    with pytest.raises(FileNotFoundError):
        open_stored(stored.key)
    assert delete_stored(stored.key) is False


# --- Serving --------------------------------------------------------------------------------


def test_documents_are_downloaded_as_attachments_with_nosniff(app):
    stored = save_upload(upload(PDF, "Compte-rendu.pdf"), {"document"})
    client = app.test_client()
    with client.get(
        f"/fichiers/{stored.key}", query_string={"nom": "Réunion d'été.pdf", "inline": "1"}
    ) as resp:
        assert resp.status_code == 200
        assert resp.data == PDF
    assert resp.mimetype == "application/pdf"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")  # a PDF is never shown inline, even when asked
    assert "filename*=UTF-8''R%C3%A9union%20d%27%C3%A9t%C3%A9.pdf" in disposition


def test_images_may_be_shown_inline(app):
    png = png_bytes()
    stored = save_upload(upload(png, "logo.png"), {"image"})
    client = app.test_client()
    with client.get(f"/fichiers/{stored.key}", query_string={"nom": "logo.png", "inline": "1"}) as inline:
        assert inline.data == png
    assert inline.headers["Content-Disposition"].startswith("inline;")
    assert inline.mimetype == "image/png"
    assert inline.headers["X-Content-Type-Options"] == "nosniff"
    with client.get(f"/fichiers/{stored.key}", query_string={"nom": "logo.png"}) as download:
        assert download.data == png
    assert download.headers["Content-Disposition"].startswith("attachment;")


def test_download_name_cannot_inject_a_path_or_header(app):
    stored = save_upload(upload(PDF, "a.pdf"), {"document"})
    with app.test_request_context():
        resp = send_stored(stored.key, "../../x\r\nSet-Cookie: a=b.pdf")
        disposition = resp.headers["Content-Disposition"]
        resp.close()
    assert "\n" not in disposition and "\r" not in disposition
    assert "../" not in disposition
    assert "Set-Cookie" not in resp.headers


def test_serving_a_traversal_key_raises_file_not_found(app):
    with app.test_request_context(), pytest.raises(FileNotFoundError):
        send_stored("../../etc/passwd", "passwd")


# --- Images ---------------------------------------------------------------------------------


def test_photo_is_turned_upright_and_loses_gps_and_exif(app, upload_dir):
    data = jpeg_with_orientation_and_gps()
    with Image.open(io.BytesIO(data)) as original:  # the test photo really carries the data
        assert original.getexif()[ExifTags.Base.Orientation] == 6
        assert original.getexif().get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitudeRef] == "N"
        assert original.info["comment"] == b"Chez Marie, 12 rue des Lilas"
        assert b"xmpmeta" in original.info["xmp"]

    stored = save_image(upload(data, "IMG_0042.jpeg"))
    assert stored.content_type == "image/jpeg"
    assert stored.original_name == "IMG_0042.jpg"
    assert files_on_disk(upload_dir) == [upload_dir / stored.key]
    raw = (upload_dir / stored.key).read_bytes()
    assert stored.size == len(raw)
    assert b"Exif" not in raw
    assert b"Marie" not in raw and b"xmpmeta" not in raw  # JPEG comment and XMP are gone too
    with Image.open(upload_dir / stored.key) as saved:
        assert saved.format == "JPEG"
        assert saved.size == (40, 80)  # portrait, as the photographer held the phone
        assert not saved.getexif()
        assert "exif" not in saved.info
        top = saved.getpixel((20, 10))
        bottom = saved.getpixel((20, 70))
    assert top[0] > 200 and top[2] < 60  # the left (red) side is now on top
    assert bottom[2] > 200 and bottom[0] < 60


def test_large_image_is_reduced_to_max_side(app, upload_dir):
    stored = save_image(upload(png_bytes(size=(3000, 1500)), "bandeau.png"), max_side=1024)
    with Image.open(upload_dir / stored.key) as saved:
        assert saved.size == (1024, 512)
        assert saved.format == "JPEG"  # no transparency: stored as JPEG
    assert stored.original_name == "bandeau.jpg"


def test_small_image_is_not_enlarged(app, upload_dir):
    stored = save_image(upload(jpeg_bytes(size=(120, 90)), "petit.jpg"), max_side=1024)
    with Image.open(upload_dir / stored.key) as saved:
        assert saved.size == (120, 90)


def test_transparent_image_stays_png_with_its_transparency(app, upload_dir):
    data = png_bytes(size=(200, 100), mode="RGBA", color=(0, 128, 0, 0))
    stored = save_image(upload(data, "logo.png"), max_side=50)
    assert stored.content_type == "image/png"
    assert stored.key.endswith(".png")
    with Image.open(upload_dir / stored.key) as saved:
        assert saved.format == "PNG"
        assert saved.size == (50, 25)
        assert saved.getpixel((10, 10))[3] == 0


def test_image_checks_apply_to_save_image(app, upload_dir):
    with pytest.raises(UploadError, match="ne correspond pas à son extension"):
        save_image(upload(ELF, "avatar.png"))
    with pytest.raises(UploadError, match="n'est pas accepté : .pdf"):
        save_image(upload(PDF, "avatar.pdf"))
    with pytest.raises(UploadError, match="Le fichier est vide."):
        save_image(upload(b"", "avatar.png"))
    assert files_on_disk(upload_dir) == []


def test_damaged_image_is_refused_and_nothing_is_kept(app, upload_dir):
    truncated = png_bytes(size=(300, 300))[:60] + b"\x00" * 100
    with pytest.raises(UploadError) as err:
        save_image(upload(truncated, "photo.png"))
    assert str(err.value) == "L'image est illisible ou endommagée."
    assert files_on_disk(upload_dir) == []


def test_decompression_bomb_is_refused(app, upload_dir, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    for size in [(40, 40), (100, 100)]:  # above the limit (warning), far above it (error)
        with pytest.raises(UploadError) as err:
            save_image(upload(png_bytes(size=size), "bombe.png"))
        assert str(err.value) == "L'image est trop grande."
    assert files_on_disk(upload_dir) == []


# --------------------------------------------------------------------------------------------
# Big files through a real request: spooled into UPLOAD_DIR, checked there, linked, never copied


BIG = 900 * 1024  # above the part size kept in memory, under MAX_BYTES


@pytest.fixture
def request_app(app, upload_dir):
    app.request_class = storage.UploadRequest
    seen: dict = {}

    @app.post("/deposer")
    def deposit():
        part = flask.request.files["fichier"]
        seen["spooled"] = isinstance(part.stream, storage.PartFile) and part.stream.path.parent == upload_dir.resolve()
        try:
            return save_upload(part, ["document"]).key
        except UploadError as exc:
            return str(exc), 400

    app.seen = seen
    return app


def post_file(app, data: bytes, filename: str):
    # Encoded here and closed: the test client's own encoding of a big body leaves its temporary
    # file open (a ResourceWarning), which is the client's, not the app's.
    body, length, boundary = stream_encode_multipart({"fichier": FileStorage(io.BytesIO(data), filename)})
    with body:
        return app.test_client().post("/deposer", input_stream=body, content_length=length,
                                      content_type=f"multipart/form-data; boundary={boundary}")


def test_big_upload_is_spooled_in_the_upload_dir_and_stored_byte_for_byte(request_app, upload_dir):
    data = b"%PDF-1.4\n%" + os.urandom(BIG) + b"\n%%EOF\n"
    resp = post_file(request_app, data, "rapport.pdf")
    assert resp.status_code == 200
    assert request_app.seen["spooled"]
    key = resp.get_data(as_text=True)
    with open_stored(key) as fh:
        assert fh.read() == data
    assert files_on_disk(upload_dir) == [path_for(key)]  # the spooled part went with the request


@pytest.mark.parametrize(("data", "filename", "message"), [
    (b"MZ\x90\x00" + b"\x00" * BIG, "rapport.pdf", "ne correspond pas"),  # an executable renamed .pdf
    ("date;nuitées\n".encode() + b"2026-07-01;12\n" * (BIG // 14) + b"\x00", "nuitees.csv", "ne correspond pas"),
    (b"%PDF-1.4\n%" + b"x" * (MAX_BYTES + 1), "trop-gros.pdf", "taille maximale"),
])
def test_big_refused_upload_leaves_nothing_on_disk(request_app, upload_dir, data, filename, message):
    resp = post_file(request_app, data, filename)
    assert resp.status_code == 400
    assert request_app.seen["spooled"]
    assert message in resp.get_data(as_text=True)
    assert files_on_disk(upload_dir) == []


def test_big_csv_is_read_to_its_end_and_accepted(request_app, upload_dir):
    data = "date;nuitées\n".encode("cp1252") + b"2026-07-01;12\n" * (BIG // 14)
    resp = post_file(request_app, data, "nuitees.csv")
    assert resp.status_code == 200
    with open_stored(resp.get_data(as_text=True)) as fh:
        assert fh.read() == data
