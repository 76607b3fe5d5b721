"""XSS (issue 5): every payload of the corpus (tests/feed/xss_corpus.py), written in a post, in a
comment and a reply, or given as the name of an attached PDF and image, is published through HTTP
and then read everywhere it shows: the feed, the post's page, the « Voir plus » fragment, the
dashboard widget, the notification centre of the people told about it, the edit pages and the
e-mails (immediate and daily digest). Each page is parsed as a browser would build it, and must
hold nothing that runs: no script but the page's own files under /static/, no on* attribute, no
javascript:/data:/vbscript: URL, no iframe/object/embed/svg/math/style element. Template syntax is
shown as typed, never evaluated.
"""

from __future__ import annotations

import io
import re
import secrets
from html import unescape
from html.parser import HTMLParser
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from PIL import Image

from intranet.core.digests import send_digest
from intranet.core.mail import deliver_outbox
from intranet.core.notifications import NotificationSettings
from intranet.core.storage import sanitize_filename
from intranet.extensions import db
from intranet.feed.models import Comment, Post
from tests.conftest import csrf_token
from tests.feed.xss_corpus import CORPUS, MENTIONED, Payload, file_stem

SECRET_KEY = "test-secret"  # tests/conftest.py: must never be printed by a template expression

# What a template payload must show as typed, and what would betray that it was evaluated.
LITERALS = {
    "{{7*7}}": "{{49}}",
    "{{ config.SECRET_KEY }}": SECRET_KEY,
    "{% for i in range(3) %}": "012",
    "%(actor)s %(title)s %s": None,
}

# Elements that user content may never bring into a page (the page itself has none of them).
FORBIDDEN_TAGS = {"iframe", "frame", "frameset", "object", "embed", "applet", "svg", "math", "style", "base",
                  "portal", "template"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "poster", "background", "cite",
                  "longdesc", "lowsrc", "dynsrc", "ping", "manifest", "codebase", "srcset", "data-lightbox"}
BAD_SCHEMES = ("javascript:", "data:", "vbscript:", "livescript:")
BAD_STYLE = ("expression(", "javascript:", "vbscript:", "-moz-binding", "behavior:")
_INVISIBLE_RE = re.compile(r"[\x00-\x20\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]+")


def _ids(payloads):
    return [p.label for p in payloads]


# -- what a browser would build --------------------------------------------------------------------

class _Elements(HTMLParser):
    """Every element with its attributes (entities decoded), and the text inside each <script>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.inline_scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag.lower(), {k.lower(): v or "" for k, v in attrs}))
        if tag.lower() == "script":
            self._in_script = True
            self.inline_scripts.append("")

    def handle_startendtag(self, tag, attrs):
        self.elements.append((tag.lower(), {k.lower(): v or "" for k, v in attrs}))

    def handle_endtag(self, tag):
        if tag.lower() == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.inline_scripts[-1] += data


def bad_scheme(url: str) -> bool:
    """Whether a URL would run script or load a document of the attacker's: browsers ignore
    white space and control characters inside the scheme, and its case."""
    compact = _INVISIBLE_RE.sub("", url).lower()
    return compact.startswith(BAD_SCHEMES)


def assert_no_executable_markup(html: str, where: str, payload: str | None = None) -> None:
    parser = _Elements()
    parser.feed(html)
    parser.close()
    for tag, attrs in parser.elements:
        element = f"{where}: <{tag} {attrs}>"
        assert tag not in FORBIDDEN_TAGS, element
        if tag == "script":
            assert attrs.get("src", "").startswith("/static/"), element
        if tag == "meta":
            assert attrs.get("http-equiv", "").lower() != "refresh", element
        for name, value in attrs.items():
            assert not name.startswith("on"), element
            assert name != "srcdoc", element
            if name in URL_ATTRIBUTES:
                for url in value.split(",") if name == "srcset" else [value]:
                    assert not bad_scheme(url), element
            if name == "style":
                style = re.sub(r"/\*.*?\*/|\\|\s", "", value).lower()
                assert not any(bad in style for bad in BAD_STYLE), element
    for script in parser.inline_scripts:
        assert not script.strip(), f"{where}: inline script {script[:200]!r}"
    if payload and "<" in payload:
        assert payload not in html, f"{where}: the payload appears unescaped"


def visible(html: str) -> str:
    """The text a person reads (tags dropped, entities decoded, white space collapsed)."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S | re.I)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def assert_shown_as_typed(html_or_text: str, payload: str, where: str, is_html: bool = True) -> None:
    """Template syntax in ``payload`` shows literally; its evaluation never does."""
    shown = visible(html_or_text) if is_html else html_or_text
    for literal, evaluated in LITERALS.items():
        if literal in payload:
            assert literal in shown, f"{where}: {literal!r} is not shown as typed"
            # Bounded by non-digits: an organisation named « Office de tourisme 4012 » is not an evaluation.
            if evaluated and re.search(rf"(?<!\d){re.escape(evaluated)}(?!\d)", shown):
                raise AssertionError(f"{where}: {literal!r} was evaluated")
    assert SECRET_KEY not in shown, where


# -- people and publishing through HTTP ---------------------------------------------------------

@pytest.fixture
def people(make_user, make_org):
    """Alice writes; Bruno (the name the mention tricks use) and Chloé (daily digest) read."""
    org = make_org(name="Office de tourisme de Salers")
    alice = make_user(name="Alice Auteur", organization=org)
    bruno = make_user(name=MENTIONED)
    chloe = make_user(name="Chloé Résumé")
    db.session.add(NotificationSettings(user_id=chloe.id, frequency="daily"))
    db.session.commit()
    return alice, bruno, chloe


@pytest.fixture
def client_of(app, login):
    """``client_of(user)``: a fresh test client logged in as ``user`` through the login form."""

    def _client(user):
        c = app.test_client()
        login(user, c=c)
        return c

    return _client


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (30, 120, 200)).save(out, "PNG")
    return out.getvalue()


PDF = (b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
       b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")


def multipart(fields: dict[str, str], files: list[tuple[str, str, bytes, str]]) -> tuple[bytes, str]:
    """A multipart body as a hand-written request can send it: the file names go in RFC 5987's
    ``filename*`` so that quotes, line breaks and any character arrive exactly as given."""
    boundary = "xss-" + secrets.token_hex(12)
    out = bytearray()
    for name, value in fields.items():
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        out += value.encode() + b"\r\n"
    for field, filename, content, content_type in files:
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; "
                f"filename*=UTF-8''{quote(filename, safe='')}\r\nContent-Type: {content_type}\r\n\r\n").encode()
        out += content + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


def publish(client, body: str = "", files=(), images=()) -> Post:
    """The composer's form, « Tout le réseau »; returns the post."""
    fields = {"csrf_token": csrf_token(client, "/feed/"), "body": body, "audience": "network:0"}
    uploads = [("files", name, PDF, "application/pdf") for name in files]
    uploads += [("images", name, png_bytes(), "image/png") for name in images]
    data, content_type = multipart(fields, uploads)
    resp = client.post("/feed/publier", data=data, content_type=content_type)
    assert resp.status_code == 302, visible(resp.get_data(as_text=True))[:1000]
    db.session.expire_all()
    return db.session.scalar(sa.select(Post).order_by(Post.id.desc()))


def comment(client, post: Post, body: str, parent: Comment | None = None) -> Comment:
    data = {"csrf_token": csrf_token(client, f"/feed/{post.id}"), "body": body}
    if parent is not None:
        data["parent_id"] = str(parent.id)
    resp = client.post(f"/feed/{post.id}/commenter", data=data)
    assert resp.status_code == 302
    assert "#commentaire-" in resp.headers["Location"], "the comment was refused"
    db.session.expire_all()
    return db.session.scalar(sa.select(Comment).order_by(Comment.id.desc()))


def get(client, url: str) -> str:
    resp = client.get(url)
    assert resp.status_code == 200, (url, resp.status_code)
    return resp.get_data(as_text=True)


def reader_pages(client, post: Post, who: str) -> dict[str, str]:
    return {
        f"{who} /feed/": get(client, "/feed/"),
        f"{who} /feed/{post.id}": get(client, f"/feed/{post.id}"),
        f"{who} /feed/?fragment=1": get(client, "/feed/?fragment=1"),
        f"{who} dashboard /": get(client, "/"),
        f"{who} /notifications/": get(client, "/notifications/"),
    }


def delivered_mails(outbox) -> list:
    """Every e-mail as it leaves: immediate ones rendered by the worker, then the daily digests."""
    deliver_outbox()
    send_digest("daily")
    db.session.commit()
    rows = [row for row in outbox() if row.status in ("sent", "pending")]
    assert rows, "nobody was e-mailed"
    return rows


def assert_mails_inert(rows, payload: str) -> None:
    for row in rows:
        where = f"e-mail to {row.to_addr} « {row.subject} »"
        assert row.html, where
        assert_no_executable_markup(row.html, where + " (HTML)", payload)
        assert SECRET_KEY not in row.text, where


# -- the tests ------------------------------------------------------------------------------------

@pytest.mark.parametrize("payload", CORPUS, ids=_ids(CORPUS))
def test_xss_in_a_post_body_runs_nowhere(payload: Payload, people, client_of, outbox):
    alice, bruno, chloe = people
    author, reader = client_of(alice), client_of(bruno)
    post = publish(author, body=payload.text)

    pages = reader_pages(reader, post, "Bruno")
    pages["Alice /feed/<id>/modifier"] = get(author, f"/feed/{post.id}/modifier")
    for where, html in pages.items():
        assert_no_executable_markup(html, where, payload.text)
    for where in ("Bruno /feed/", f"Bruno /feed/{post.id}", "Bruno /notifications/"):
        assert_shown_as_typed(pages[where], payload.text, where)

    rows = delivered_mails(outbox)
    assert {row.to_addr for row in rows} >= {bruno.email, chloe.email}
    assert_mails_inert(rows, payload.text)
    for row in rows:
        assert_shown_as_typed(row.html, payload.text, f"e-mail to {row.to_addr}")
        assert_shown_as_typed(row.text, payload.text, f"e-mail to {row.to_addr} (text)", is_html=False)


@pytest.mark.parametrize("payload", CORPUS, ids=_ids(CORPUS))
def test_xss_in_a_comment_and_a_reply_runs_nowhere(payload: Payload, people, client_of, outbox):
    alice, bruno, _chloe = people
    author, reader = client_of(alice), client_of(bruno)
    post = publish(author, body="Compte rendu de la réunion des offices")
    first = comment(reader, post, payload.text)
    reply = comment(author, post, payload.text, parent=first)
    assert reply.parent_id == first.id

    pages = reader_pages(reader, post, "Bruno")
    pages["Alice /feed/?fragment=1"] = get(author, "/feed/?fragment=1")
    pages["Alice /notifications/"] = get(author, "/notifications/")
    pages["Bruno /feed/commentaires/<id>/modifier"] = get(reader, f"/feed/commentaires/{first.id}/modifier")
    pages["Alice /feed/commentaires/<id>/modifier"] = get(author, f"/feed/commentaires/{reply.id}/modifier")
    for where, html in pages.items():
        assert_no_executable_markup(html, where, payload.text)
    for where in ("Bruno /feed/", f"Bruno /feed/{post.id}", "Alice /feed/?fragment=1"):
        assert_shown_as_typed(pages[where], payload.text, where)

    rows = delivered_mails(outbox)
    assert {row.to_addr for row in rows} >= {alice.email, bruno.email}  # the comment, the reply
    assert_mails_inert(rows, payload.text)


@pytest.mark.parametrize("payload", CORPUS, ids=_ids(CORPUS))
def test_xss_in_attachment_file_names_runs_nowhere(payload: Payload, people, client_of, outbox):
    alice, bruno, chloe = people
    author, reader = client_of(alice), client_of(bruno)
    stem = file_stem(payload.text)
    post = publish(author, files=[stem + ".pdf"], images=[stem + ".png"])
    assert len(post.attachments) == 2

    pages = reader_pages(reader, post, "Bruno")
    pages["Bruno /feed/?filtre=fichiers"] = get(reader, "/feed/?filtre=fichiers")
    pages["Alice /feed/<id>/modifier"] = get(author, f"/feed/{post.id}/modifier")
    for where, html in pages.items():
        assert_no_executable_markup(html, where, stem)
    # The names as the storage keeps them (no path, no control character, no <>:"|?*) show as text.
    shown = sanitize_filename(stem + ".pdf")
    for where in (f"Bruno /feed/{post.id}", "Bruno /feed/?filtre=fichiers", "Alice /feed/<id>/modifier"):
        assert shown in visible(pages[where]), f"{where}: {shown!r} is not shown"
        assert_shown_as_typed(pages[where], shown, where)

    for a in post.attachments:
        resp = reader.get(f"/feed/fichiers/{a.id}")
        assert resp.status_code == 200
        disposition = resp.headers["Content-Disposition"]
        assert not re.search(r"[\r\n<>]", disposition), disposition
        assert resp.mimetype in ("application/pdf", "image/jpeg", "image/png"), resp.mimetype
        assert "sandbox" in resp.headers["Content-Security-Policy"]
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        resp.close()

    rows = delivered_mails(outbox)
    assert {row.to_addr for row in rows} >= {bruno.email, chloe.email}
    assert_mails_inert(rows, stem)
    for row in rows:
        assert not re.search(r"[\r\n]", row.subject), row.subject


def test_xss_whole_corpus_in_a_group_feed_runs_nowhere(people, client_of, factories):
    """The group's « Fil » tab renders the same items: every payload at once, in one post and its
    comments, read by a member."""
    alice, bruno, _chloe = people
    group = factories.group(name="Groupe <img src=x onerror=alert(1)>", owner=alice, members=[bruno])
    author, reader = client_of(alice), client_of(bruno)
    body = "\n\n".join(p.text for p in CORPUS[:40])
    fields = {"csrf_token": csrf_token(author, f"/feed/groupe/{group.id}"), "body": body, "group_id": str(group.id)}
    data, content_type = multipart(fields, [])
    resp = author.post("/feed/publier", data=data, content_type=content_type)
    assert resp.status_code == 302, visible(resp.get_data(as_text=True))[:1000]
    db.session.expire_all()
    post = db.session.scalar(sa.select(Post).where(Post.group_id == group.id))
    for p in CORPUS[40:]:
        comment(reader, post, p.text)

    for url in (f"/feed/groupe/{group.id}", f"/feed/groupe/{group.id}?fragment=1", f"/feed/{post.id}",
                "/feed/?filtre=groupes", "/"):
        html = get(reader, url)
        for p in CORPUS:
            if "<" in p.text:
                assert p.text not in html, (url, p.label)
        assert_no_executable_markup(html, f"Bruno {url}")


# -- the check itself catches what it looks for -----------------------------------------------------

@pytest.mark.parametrize("html", [
    "<script>alert(1)</script>",
    '<script src="/static/js/app.js">alert(1)</script>',
    '<script src="https://evil.example/x.js"></script>',
    "<img src=x onerror=alert(1)>",
    "<p><svg/onload=alert(1)></p>",
    "<math><mi>x</mi></math>",
    '<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<a href=" &#14; JaVaScRiPt:alert(1)">x</a>',
    '<a href="data:text/html,&lt;script&gt;alert(1)&lt;/script&gt;">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a data-lightbox="javascript:alert(1)">x</a>',
    '<button formaction="javascript:alert(1)">x</button>',
    '<div style="width: ex/**/pression(alert(1))">x</div>',
    "<style>body{}</style>",
    '<meta http-equiv="Refresh" content="0;url=javascript:alert(1)">',
    "<details open ontoggle=alert(1)>",
], ids=lambda html: html[:40])
def test_xss_check_catches_executable_markup(html):
    with pytest.raises(AssertionError):
        assert_no_executable_markup(f"<!doctype html><html><body>{html}</body></html>", "a made-up page")


def test_xss_check_accepts_the_pages_own_markup_and_escaped_text():
    page = ('<!doctype html><html><head><script src="/static/js/app.js" defer></script>'
            '<link rel="stylesheet" href="/static/css/app.css"></head><body>'
            '<a href="/feed/1" rel="nofollow">lien</a> <img src="/feed/fichiers/1/miniature" alt="&quot;&gt;x">'
            "<p>&lt;script&gt;alert(1)&lt;/script&gt; javascript:alert(1)</p></body></html>")
    assert_no_executable_markup(page, "a page", "<script>alert(1)</script>")
    with pytest.raises(AssertionError, match="unescaped"):
        assert_no_executable_markup("<p>x <b>y</b></p>", "a page", "x <b>y</b>")
