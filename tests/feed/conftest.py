"""Shared helpers of the feed tests: small real files, a client per person, publishing through
the real form, the visible text of a page and the files on disk.

Plain functions (``png_bytes``, ``post_as``…) can be imported: ``from tests.feed.conftest import …``.
"""

from __future__ import annotations

import html
import io
import re
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from PIL import Image

from intranet.extensions import db
from intranet.feed.models import Post
from tests.conftest import csrf_token


def png_bytes(size=(60, 40), color=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def pdf_bytes(text: str = "Compte rendu", padding: int = 0) -> bytes:
    """A small valid PDF (one page with a line of text); ``padding`` adds bytes in a comment."""
    stream = f"BT /F1 12 Tf 20 50 Td ({text}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    if padding:
        out += b"%" + b"x" * padding + b"\n"
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def text(resp) -> str:
    """The visible text of a page (a response or its HTML), as a person reads it."""
    body = resp if isinstance(resp, str) else resp.get_data(as_text=True)
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body))).strip()


def _as_upload(value):
    """``bytes`` + name → what the test client sends as a file."""
    if isinstance(value, tuple) and isinstance(value[0], bytes):
        return (io.BytesIO(value[0]), value[1])
    return value


def post_as(client, body: str = "", **fields):
    """Publish through the composer's form (POST /feed/publier) as the client's person.

    ``fields``: ``images``/``files`` as lists of ``(bytes, file name)``, ``audience`` as a value
    or a list of values ("network:0", "org:3", "group:5", "user:7"), ``group_id``,
    ``confirm_mentions="y"``. Returns the response (not followed).
    """
    data: dict = {"csrf_token": csrf_token(client, "/feed/"), "body": body}
    for name in ("images", "files"):
        if name in fields:
            data[name] = [_as_upload(v) for v in fields.pop(name)]
    data.update(fields)
    return client.post("/feed/publier", data=data, content_type="multipart/form-data")


def action(client, url: str, **data):
    """POST a form of the feed (like, pin, hide, comment…) with a valid CSRF token."""
    data.setdefault("csrf_token", csrf_token(client, "/feed/"))
    return client.post(url, data=data)


def last_post() -> Post | None:
    """The newest post written by a person (activity items left out)."""
    db.session.expire_all()
    return db.session.scalar(sa.select(Post).where(Post.activity_key.is_(None)).order_by(Post.id.desc()))


def post_count() -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count(Post.id)).where(Post.activity_key.is_(None)))


def stored_files() -> set[Path]:
    """Every file under UPLOAD_DIR (temporary ``.upload-*.part`` files included)."""
    root = Path(current_app.config["UPLOAD_DIR"])
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


