"""XSS in a real browser (issue 5): the whole corpus of tests/feed/xss_corpus.py, in posts, comments,
replies and attachment names, is loaded in Chromium by the member it mentions, who scrolls with
« Voir plus », likes, opens the lightbox, hovers and focuses everything the members wrote, opens each
post, the dashboard, the notification centre and the e-mails they received.

The browser context ignores the Content-Security-Policy (``bypass_csp``): what is checked is that
nothing is injected, not that the CSP would block it. Each payload comes twice: as written (an
``alert`` would open a dialog, recorded) and flagged (it would set ``window.__xss``). A control
proves that this context does run injected markup. A second test checks the CSP on its own: in a
normal context, inline script and event handlers put into the page do not run.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from intranet.core.mail import deliver_outbox
from intranet.core.models import MailMessage
from intranet.extensions import db
from intranet.feed.models import Comment, Post
from tests.browser.conftest import DESKTOP, log_in
from tests.conftest import csrf_token
from tests.feed.test_xss import PDF, multipart, png_bytes
from tests.feed.xss_corpus import CORPUS, MENTIONED, file_stem, flagged

pytestmark = pytest.mark.browser

DIALOG_SET = [p.text for p in CORPUS]
FLAG_SET = [flagged(p.text) for p in CORPUS]
assert sum("window.__xss=1" in t for t in FLAG_SET) >= 60

# Everything the members wrote, on any page of the feed.
USER_CONTENT = ".markdown, .feed-files, .feed-images, [data-feed-stream] article header, .feed-comments"

# Events that injected handlers would listen to, dispatched on every element of the members' content.
POKE = """(selector) => {
  const names = ["mouseover", "mouseenter", "mousemove", "mousedown", "mouseup", "pointerover", "pointerenter",
                 "focus", "focusin", "blur", "animationstart", "transitionend", "toggle", "load", "error"];
  let n = 0;
  for (const root of document.querySelectorAll(selector)) {
    for (const el of [root, ...root.querySelectorAll("*")]) {
      for (const name of names) { el.dispatchEvent(new Event(name, {bubbles: true})); }
      if (el.focus) { el.focus(); }
      n += 1;
    }
  }
  return n;
}"""


def _chunks(items, size):
    return [items[i:i + size] for i in range(0, len(items), size)]


class Writer:
    """A member publishing through the real forms with the test client (faster than typing)."""

    def __init__(self, client):
        self.client = client
        self.token = csrf_token(client, "/notifications/")

    def publish(self, body: str = "", files=(), images=()) -> Post:
        fields = {"csrf_token": self.token, "body": body, "audience": "network:0"}
        uploads = [("files", name, PDF, "application/pdf") for name in files]
        uploads += [("images", name, png_bytes(), "image/png") for name in images]
        data, content_type = multipart(fields, uploads)
        resp = self.client.post("/feed/publier", data=data, content_type=content_type)
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
        db.session.expire_all()
        return db.session.scalar(sa.select(Post).order_by(Post.id.desc()))

    def comment(self, post: Post, body: str, parent: Comment | None = None) -> Comment:
        data = {"csrf_token": self.token, "body": body}
        if parent is not None:
            data["parent_id"] = str(parent.id)
        resp = self.client.post(f"/feed/{post.id}/commenter", data=data)
        assert "#commentaire-" in resp.headers["Location"]
        db.session.expire_all()
        return db.session.scalar(sa.select(Comment).order_by(Comment.id.desc()))


@pytest.fixture
def writers(app, login, make_user, make_org):
    org = make_org(name="Office de tourisme du Pays de Mauriac")
    alice = make_user(name="Alice Auteur", email="alice@mauriac.fr", organization=org)
    bruno = make_user(name=MENTIONED, email="bruno@salers.fr")

    def client_of(user):
        c = app.test_client()
        login(user, c=c)
        return Writer(c)

    return alice, bruno, client_of(alice), client_of(bruno)


def _publish_corpus(alice_w: Writer, bruno_w: Writer) -> list[Post]:
    """Text posts (12 payloads each) with a comment and a reply holding the same payloads, then posts
    whose attachments are named after the payloads. Returns the text posts."""
    text_posts = []
    for texts in _chunks(DIALOG_SET, 12) + _chunks(FLAG_SET, 12):
        body = "\n\n".join(texts)
        post = alice_w.publish(body=body)
        first = bruno_w.comment(post, body)
        alice_w.comment(post, body, parent=first)
        text_posts.append(post)
    for texts in _chunks(DIALOG_SET, 5):
        stems = [file_stem(t) for t in texts]
        alice_w.publish(files=[s + ".pdf" for s in stems], images=[s + ".png" for s in stems])
    for texts in _chunks(FLAG_SET, 10):
        alice_w.publish(files=[file_stem(t) + ".pdf" for t in texts])
    return text_posts


def test_feed_xss_corpus_never_runs_in_the_browser(live_server, _browser, writers):
    alice, bruno, alice_w, bruno_w = writers
    text_posts = _publish_corpus(alice_w, bruno_w)
    assert len(text_posts) == 16

    context = _browser.new_context(locale="fr-FR", timezone_id="Europe/Paris", reduced_motion="reduce",
                                   viewport=DESKTOP, bypass_csp=True)
    context.set_default_timeout(10_000)
    dialogs: list[tuple[str, str, str]] = []
    try:
        page = context.new_page()
        page.on("dialog", lambda d: (dialogs.append((d.type, d.message, page.url)), d.dismiss()))

        def nothing_ran(where: str) -> None:
            assert page.evaluate("typeof window.__xss") == "undefined", f"a payload ran on {where}"
            assert dialogs == [], f"a payload opened a dialog on {where}: {dialogs}"

        log_in(page, live_server.url, bruno.email)

        # The control: in this context, markup that does get injected runs.
        page.evaluate("""() => { const d = document.createElement("div");
                                 d.innerHTML = '<img src="x" onerror="window.__xss_control = 1">';
                                 document.body.appendChild(d); }""")
        page.wait_for_function("window.__xss_control === 1")
        nothing_ran("the dashboard")

        # The feed: every page of it through « Voir plus » (the fragment is inserted as HTML).
        page.goto(live_server.url + "/feed/")
        nothing_ran("/feed/")
        more = page.locator("[data-feed-more]")
        loads = 0
        articles = page.locator("article.feed-post")
        while more.count():
            shown = articles.count()
            more.click()
            loads += 1
            page.wait_for_function("n => document.querySelectorAll('article.feed-post').length > n", arg=shown)
            page.wait_for_load_state("networkidle")  # what the inserted items load (or fail to) is done
            nothing_ran(f"/feed/ after « Voir plus » × {loads}")
        assert loads == 2
        expect(articles).to_have_count(45)

        # Like (fetch, then the label changes), the lightbox through every image, hover and focus.
        first = articles.first
        first.get_by_role("button", name="J'aime").click()
        expect(first.get_by_role("button", name="Je n'aime plus")).to_be_visible()
        image_links = page.locator("[data-feed-stream] a[data-lightbox]")
        assert image_links.count() == len(DIALOG_SET)
        image_links.first.click()
        box = page.locator("[data-lightbox-box]")
        expect(box).to_be_visible()
        for _ in range(6):
            page.keyboard.press("ArrowRight")
        expect(page.locator("[data-lightbox-img]")).to_have_attribute("src", re.compile(r"^/feed/fichiers/\d+$"))
        page.keyboard.press("Escape")
        expect(box).to_be_hidden()
        user_links = page.locator(".markdown a, .feed-files a")
        for i in range(min(user_links.count(), 40)):
            user_links.nth(i).hover()
        assert page.evaluate(POKE, USER_CONTENT) > 500
        page.mouse.wheel(0, 100_000)
        nothing_ran("/feed/")

        # Each text post on its own page: the whole thread with the replies.
        for post in text_posts:
            page.goto(f"{live_server.url}/feed/{post.id}")
            nothing_ran(f"/feed/{post.id}")
            expect(page.locator("#commentaires li[id^=commentaire-]")).to_have_count(2)
            page.evaluate(POKE, ".markdown")
            nothing_ran(f"/feed/{post.id}")

        for path in ("/", "/notifications/", "/feed/?filtre=mentions", "/feed/?filtre=fichiers"):
            page.goto(live_server.url + path)
            nothing_ran(path)
            page.evaluate(POKE, "main")
            nothing_ran(path)
        expect(page.locator("[data-feed-stream] article.feed-post")).to_have_count(20)

        # The e-mails Bruno received (mentions, replies, new posts), as a mail client would show them.
        deliver_outbox()
        db.session.expire_all()
        mails = db.session.scalars(sa.select(MailMessage).where(MailMessage.to_addr == bruno.email)).all()
        assert len(mails) >= 30
        # All of them in one document (the browser merges their bodies): one load instead of sixty.
        page.set_content("".join(mail.html for mail in mails))
        nothing_ran("the e-mails")
        assert page.evaluate(POKE, "body") > 10 * len(mails)
        nothing_ran("the e-mails")
    finally:
        context.close()
    assert dialogs == [], dialogs


def test_xss_csp_blocks_inline_scripts_on_feed_pages(live_server, page, writers):
    """The second line of defence, with the CSP in force: script and handlers put into a feed page
    (as an injection would) do not run, and the browser reports the violation."""
    alice, bruno, alice_w, _bruno_w = writers
    post = alice_w.publish(body="Réunion des offices : le **compte rendu** est en ligne.")
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.set_viewport_size(DESKTOP)
    log_in(page, live_server.url, bruno.email)

    for path in ("/feed/", f"/feed/{post.id}"):
        response = page.goto(live_server.url + path)
        csp = response.headers["content-security-policy"]
        directives = {d.strip().split(" ", 1)[0]: d.strip() for d in csp.split(";")}
        assert directives["script-src"] == "script-src 'self'", csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert directives["object-src"] == "object-src 'none'"
        page.evaluate("""() => {
            window.__violations = [];
            document.addEventListener("securitypolicyviolation", (e) => window.__violations.push(e.violatedDirective));
            const s = document.createElement("script");
            s.textContent = "window.__xss = 1; alert(1)";
            document.body.appendChild(s);
            const d = document.createElement("div");
            d.innerHTML = '<img src="x" onerror="window.__xss = 1">'
                          + '<a href="javascript:window.__xss=1" id="xss-link">x</a>';
            document.body.appendChild(d);
        }""")
        page.locator("#xss-link").click()
        page.wait_for_function("window.__violations.length >= 3")
        assert page.evaluate("typeof window.__xss") == "undefined", path
        violations = page.evaluate("window.__violations")
        assert all(v.startswith("script-src") for v in violations), violations
        # The page's own scripts (under /static/) did run.
        assert page.evaluate("typeof window.bootstrap") == "object"
    assert dialogs == []
