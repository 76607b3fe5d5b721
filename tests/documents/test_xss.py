"""The feed's XSS corpus (tests/feed/xss_corpus.py) in everything a person types into the library:
folder names and descriptions, file names, notes and tags. Nothing may run in a reader's page."""

from __future__ import annotations

import re

import sqlalchemy as sa

from intranet.documents import services
from intranet.documents.models import Document
from intranet.extensions import db
from tests.conftest import csrf_token
from tests.feed.conftest import pdf_bytes
from tests.feed.test_xss import assert_no_executable_markup, multipart
from tests.feed.xss_corpus import CORPUS, file_stem


def test_the_xss_corpus_in_folders_file_names_notes_and_tags_runs_nowhere(factories, as_):
    org = factories.organization(name="Office de tourisme de Salers")
    author = factories.user(role="animateur", organization=org)
    reader = factories.user(organization=org)
    top = services.create_folder(author, CORPUS[0].text[:200], description="\n\n".join(p.text for p in CORPUS[:20]))
    db.session.commit()
    c = as_(author)
    chunks = [CORPUS[i:i + 10] for i in range(0, len(CORPUS), 10)]
    for k, chunk in enumerate(chunks):
        # The body written by hand (file names in RFC 5987's filename*: quotes and all arrive as typed).
        files = [("files", file_stem(p.text)[:150] + ".pdf", pdf_bytes("x"), "application/pdf") for p in chunk]
        fields = {"csrf_token": csrf_token(c, f"/documents/dossiers/{top.id}"),
                  "note": "\n\n".join(p.text for p in chunk), "tags": ", ".join(p.text[:40] for p in chunk),
                  "needs_confirmation": "y" if k == 0 else ""}
        body, content_type = multipart(fields, files)
        resp = c.post(f"/documents/dossiers/{top.id}/deposer", data=body, content_type=content_type)
        errors = re.findall(r'invalid-feedback d-block">(.*?)</div>', resp.get_data(as_text=True))
        assert resp.status_code == 302, errors
    db.session.expire_all()
    docs = db.session.scalars(sa.select(Document).order_by(Document.id)).all()
    assert len(docs) == len(CORPUS)
    r = as_(reader)
    pages = ["/documents/", f"/documents/dossiers/{top.id}", f"/documents/dossiers/{top.id}?tri=type", "/",
             "/feed/", "/notifications/"] + [f"/documents/{d.id}" for d in docs[:: max(1, len(docs) // 12)]]
    for url in pages:
        html = r.get(url).get_data(as_text=True)
        for p in CORPUS:
            if "<" in p.text:
                assert p.text not in html, (url, p.label)
        assert_no_executable_markup(html, f"reader {url}")
    for url in (f"/documents/{docs[0].id}/lecteurs", f"/documents/{docs[0].id}/modifier"):
        assert_no_executable_markup(c.get(url).get_data(as_text=True), f"author {url}")
