"""Browser journey of the feed (issue 5).

Member A posts to « Tout le réseau », from /feed/, an image (a real JPEG) and a PDF, mentioning B
through the @ autocomplete; the post shows the thumbnail, the lightbox and the PDF link. B, in their
own browser context, sees the bell, opens the notification, lands on the post and comments; the
worker delivers the outbox to a real SMTP server and A's e-mail carries an excerpt of the post and
its link. A post in a private group's « Fil » tab stays out of a non-member's sight: not in their
feed, not at its URL, not at its attachment's URL, not in the dashboard widget.

A second journey: « Voir plus » appends the next page and « J'aime » toggles, both without reloading.
Screenshots go to /tmp/shots/feed-*.png (not committed)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect

from intranet.core.audiences import get_audience
from intranet.core.mail import deliver_outbox
from intranet.extensions import db
from intranet.feed import services
from tests.browser.conftest import DESKTOP, PHONE, log_in, url_re

pytestmark = pytest.mark.browser

BELL = '[data-nav-badge="notifications.index"]'
EXPECTED_ERROR_RE = re.compile(r"status of (403|404)")  # Chromium logs the error pages opened on purpose

POST_TEXT = "Programme de l'éductour du 12 juin : **visite de Salers** puis dégustation de cantal."
POST_SEEN = "Programme de l'éductour du 12 juin : visite de Salers puis dégustation de cantal."
COMMENT = "Avec plaisir, je confirme pour deux conseillères de Mauriac."
GROUP = "Comité qualité accueil"
GROUP_POST = "Ordre du jour confidentiel : révision des tarifs du label Qualité Tourisme."
GROUP_FILE = "compte-rendu-comite.pdf"
PROFILE = "/accounts/personnes/{}"

PDF = (
    b"%PDF-1.4\n"
    b"1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
    b"3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >> endobj\n"
    b"xref\n0 4\n0000000000 65535 f \n0000000009 00000 n \n0000000058 00000 n \n0000000115 00000 n \n"
    b"trailer << /Size 4 /Root 1 0 R >>\nstartxref\n186\n%%EOF\n"
)


def _jpeg(width: int = 1200, height: int = 800) -> bytes:
    """A real JPEG: a sky over green hills, so a broken thumbnail would be obvious on the screenshot."""
    img = Image.new("RGB", (width, height), (120, 170, 220))
    hills = Image.new("RGB", (width, height // 2), (70, 140, 60))
    img.paste(hills, (0, height // 2))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=85)
    return buf.getvalue()


def _new_page(context):
    """A page of ``context`` that records its console errors in ``page.console_errors``."""
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda m: page.console_errors.append(m.text) if m.type == "error" else None)
    return page


def _new_context(browser):
    context = browser.new_context(locale="fr-FR", timezone_id="Europe/Paris", reduced_motion="reduce",
                                  viewport=DESKTOP)
    context.set_default_timeout(10_000)
    return context


def _no_console_errors(page, allow_error_pages: bool = False) -> None:
    errors = [e for e in page.console_errors if not (allow_error_pages and EXPECTED_ERROR_RE.search(e))]
    assert errors == [], errors
    page.console_errors.clear()


def _url_with_anchor(path: str) -> re.Pattern:
    """``path`` (a regex) with or without a query string and an anchor."""
    return re.compile(rf"^https?://[^/]+{path}(\?[^#]*)?(#.*)?$")


def _shot(shot, page, name: str, size: dict = DESKTOP) -> None:
    """A full-page screenshot at ``size``; the page must not scroll sideways."""
    page.set_viewport_size(size)
    shot(page, f"feed-{name}")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {size['width']}px"


def _image_loaded(locator) -> bool:
    return locator.evaluate("img => img.complete && img.naturalWidth > 0")


def _unread(page, count: int) -> None:
    badge = page.locator(f"{BELL} .nav-badge")
    expect(badge).to_be_visible()
    expect(badge).to_have_attribute("data-count", str(count))
    expect(badge).to_contain_text(str(count))


def test_post_with_image_pdf_and_mention_then_comment_email_and_private_group_post(
        live_server, page, _browser, make_user, make_org, factories, smtp_server, shot):
    base = live_server.url
    salers = make_org(name="Office de tourisme du Pays de Salers")
    mauriac = make_org(name="Office de tourisme de Mauriac")
    aurillac = make_org(name="Office de tourisme du Pays d'Aurillac")
    a = make_user(name="Anaïs Delmas", email="anais@salers-tourisme.fr", organization=salers)
    b = make_user(name="Hélène Roux", email="helene@mauriac-tourisme.fr", organization=mauriac)
    make_user(name="Hélène Bastide", email="hbastide@aurillac-tourisme.fr", organization=aurillac)  # a namesake
    c = make_user(name="Cédric Vidal", email="cedric@aurillac-tourisme.fr", organization=aurillac)
    group = factories.group(name=GROUP, visibility="private", join_policy="invitation", owner=a, members=[b])
    page.set_viewport_size(DESKTOP)

    # 1. A opens the feed from the main navigation.
    log_in(page, base, a.email)
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Fil", exact=True).click()
    page.wait_for_url(url_re("/feed/"))
    expect(page.get_by_role("heading", name="Fil de discussion", level=1)).to_be_visible()
    # Only the « new group » item of the groups plugin (a private group's existence is public).
    expect(page.locator("main article")).to_have_count(1)
    expect(page.locator("main article")).to_contain_text(GROUP)

    # 2. She writes, mentioning B through the autocomplete: « @Hélène » lists both Hélène, she picks B.
    body = page.get_by_label("Partager avec le réseau")
    body.fill(POST_TEXT + " ")
    body.press_sequentially("@Hélène")
    menu = page.get_by_role("listbox")
    options = menu.get_by_role("option")
    expect(options).to_have_count(2)
    expect(options).to_have_text(["Hélène Bastide — Office de tourisme du Pays d'Aurillac",
                                  "Hélène Roux — Office de tourisme de Mauriac"])
    # The list opens under the textarea, not over the text being typed.
    area_box, menu_box = body.bounding_box(), menu.bounding_box()
    assert menu_box["y"] >= area_box["y"] + area_box["height"] - 1, (area_box, menu_box)
    assert abs(menu_box["x"] - area_box["x"]) <= 1, (area_box, menu_box)
    shot(page, "feed-mention-autocomplete")
    options.filter(has_text="Hélène Roux").click()
    expect(menu).to_have_count(0)
    expect(body).to_be_focused()
    body.press_sequentially("pouvez-vous confirmer ?")
    expect(body).to_have_value(POST_TEXT + " @Hélène Roux pouvez-vous confirmer ?")

    # … attaches a photo and the programme, keeps « Tout le réseau », publishes.
    page.get_by_label("Images").set_input_files(
        {"name": "salers-panorama.jpg", "mimeType": "image/jpeg", "buffer": _jpeg()})
    page.get_by_label("Fichiers (PDF, Word, Excel…)").set_input_files(
        {"name": "programme-eductour.pdf", "mimeType": "application/pdf", "buffer": PDF})
    expect(page.locator("#publier summary")).to_have_text("Visible par : Tout le réseau")
    page.locator("#publier").get_by_role("button", name="Publier").click()
    page.wait_for_url(_url_with_anchor(r"/feed/"))
    expect(page.get_by_role("alert")).to_contain_text("Votre message est publié.")
    post_id = int(re.search(r"#publication-(\d+)$", page.url).group(1))
    post_url = f"{base}/feed/{post_id}"

    # 3. The post: text with the mention as a link, the thumbnail (loaded), the PDF link.
    article = page.locator(f"#publication-{post_id}")
    expect(page.locator("main article")).to_have_count(2)
    expect(page.locator("main article").first).to_have_id(f"publication-{post_id}")  # newest first
    expect(article).to_contain_text("Anaïs Delmas")
    expect(article).to_contain_text("Tout le réseau")
    expect(article.locator(".markdown")).to_have_text(POST_SEEN + " @Hélène Roux pouvez-vous confirmer ?")
    expect(article.locator(".markdown strong")).to_have_text("visite de Salers")
    expect(article.get_by_role("link", name="@Hélène Roux")).to_have_attribute("href", PROFILE.format(b.id))
    thumb = article.get_by_role("img", name="salers-panorama.jpg")
    expect(thumb).to_be_visible()
    expect(thumb).to_have_attribute("src", re.compile(r"^/feed/fichiers/\d+/miniature$"))
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
    assert thumb.evaluate("img => img.naturalWidth") <= 480  # a thumbnail, not the 1200 px original
    pdf_link = article.get_by_role("link", name="programme-eductour.pdf")
    expect(pdf_link).to_be_visible()
    expect(pdf_link).to_have_attribute("href", re.compile(r"^/feed/fichiers/\d+$"))
    expect(article.locator(".feed-files")).to_contain_text(re.compile(r"programme-eductour\.pdf\s*\(\d+ octets\)"))
    with page.expect_download() as download_info:
        pdf_link.click()
    download = download_info.value
    assert download.suggested_filename == "programme-eductour.pdf"
    assert Path(download.path()).read_bytes() == PDF
    _no_console_errors(page)

    # 4. The thumbnail opens the lightbox on the full image; Escape closes it.
    lightbox = page.get_by_role("dialog", name="Image")
    expect(lightbox).to_be_hidden()
    thumb.click()
    expect(lightbox).to_be_visible()
    expect(page).to_have_url(_url_with_anchor(r"/feed/"))  # the link did not navigate
    big = lightbox.locator("img")
    expect(big).to_have_attribute("src", re.compile(r"^/feed/fichiers/\d+$"))
    expect(big).to_have_attribute("alt", "salers-panorama.jpg")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=big.element_handle())
    assert big.evaluate("img => img.naturalWidth") == 1200
    expect(lightbox.get_by_role("button", name="Fermer")).to_be_visible()
    shot(page, "feed-lightbox")
    page.keyboard.press("Escape")
    expect(lightbox).to_be_hidden()
    expect(thumb.locator("xpath=..")).to_be_focused()  # focus back on the link that opened it
    _no_console_errors(page)

    _shot(shot, page, "index-desktop")
    _shot(shot, page, "index-phone", PHONE)
    page.set_viewport_size(DESKTOP)

    b_context = _new_context(_browser)
    c_context = _new_context(_browser)
    try:
        # 5. B logs in: the bell counts the mention (once, not also as a new post of the network).
        bpage = _new_page(b_context)
        log_in(bpage, base, b.email)
        _unread(bpage, 1)
        bpage.locator(BELL).click()
        bpage.wait_for_url(url_re("/notifications/"))
        item = bpage.locator("main .list-group-item").filter(has_text="Anaïs Delmas vous a mentionné")
        expect(item).to_have_count(1)
        expect(item).to_contain_text("Nouveau")
        expect(item).to_contain_text("Programme de l'éductour du 12 juin")

        # … opens it and lands on the post, where she comments.
        item.click()
        bpage.wait_for_url(_url_with_anchor(rf"/feed/{post_id}"))
        expect(bpage.locator(f"#publication-{post_id}")).to_contain_text("Programme de l'éductour du 12 juin")
        expect(bpage.get_by_role("img", name="salers-panorama.jpg")).to_be_visible()
        expect(bpage.get_by_role("heading", name="Commentaires", exact=True)).to_be_visible()
        bpage.get_by_label("Votre commentaire").fill(COMMENT)
        bpage.locator("#commentaires").get_by_role("button", name="Envoyer").last.click()
        bpage.wait_for_url(_url_with_anchor(rf"/feed/{post_id}"))
        expect(bpage.get_by_role("heading", name="1 commentaire")).to_be_visible()
        comment = bpage.locator("#commentaires li[id^=commentaire-]")
        expect(comment).to_have_count(1)
        expect(comment).to_contain_text("Hélène Roux")
        expect(comment).to_contain_text(COMMENT)
        comment_id = int((comment.get_attribute("id") or "").removeprefix("commentaire-"))
        assert bpage.url.endswith(f"#commentaire-{comment_id}")
        expect(bpage.locator(f"{BELL} .nav-badge")).to_be_hidden()  # the notification was read on opening
        expect(bpage.locator(f"{BELL} .nav-badge")).to_have_attribute("data-count", "0")
        _shot(shot, bpage, "show-commented")
        bpage.set_viewport_size(DESKTOP)
        _no_console_errors(bpage)

        # 6. The worker delivers the outbox to the SMTP server: A's e-mail quotes the post, links to the comment.
        assert deliver_outbox(ignore_backoff=True)["errors"] == 0
        to_a = [m for m in smtp_server.messages if m["To"] == a.email]
        assert [m["Subject"] for m in to_a] == ["Hélène Roux a commenté votre publication"]
        text = to_a[0].get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")
        html = to_a[0].get_body(preferencelist=("html",)).get_content()
        # The headline, then the post's excerpt once (it is not quoted in the headline too).
        excerpt = f"« {POST_SEEN} @Hélène Roux pouvez-vous confirmer ? »"
        assert f"Hélène Roux a commenté votre publication\n\n{excerpt}" in text
        assert text.count("Programme de l'éductour du 12 juin") == 1
        link = f"{post_url}#commentaire-{comment_id}"
        assert f"Voir sur l'intranet : {link}" in text
        assert f'href="{link}"' in html
        assert "**" not in text  # the excerpt is plain text, not markdown
        # B was mentioned: her e-mail says so.
        to_b = [m for m in smtp_server.messages if m["To"] == b.email]
        assert [m["Subject"] for m in to_b] == ["Anaïs Delmas vous a mentionné dans le fil"]

        # The link of the e-mail, opened by A, shows the comment.
        page.goto(link)
        expect(page.locator(f"#commentaire-{comment_id}")).to_contain_text(COMMENT)

        # 7. A posts a file in the private group's « Fil » tab.
        page.goto(f"{base}/groups/{group.id}")
        page.locator("main").get_by_role("link", name="Fil", exact=True).click()
        page.wait_for_url(url_re(f"/feed/groupe/{group.id}"))
        expect(page.get_by_role("heading", name=GROUP, level=1)).to_be_visible()
        expect(page.get_by_text("Visible par les personnes qui voient le contenu du groupe.")).to_be_visible()
        page.get_by_label("Publier dans le groupe").fill(GROUP_POST)
        page.get_by_label("Fichiers (PDF, Word, Excel…)").set_input_files(
            {"name": GROUP_FILE, "mimeType": "application/pdf", "buffer": PDF})
        page.locator("#publier").get_by_role("button", name="Publier").click()
        page.wait_for_url(_url_with_anchor(rf"/feed/groupe/{group.id}"))
        expect(page.get_by_role("alert")).to_contain_text("Votre message est publié.")
        group_post_id = int(re.search(r"#publication-(\d+)$", page.url).group(1))
        group_article = page.locator(f"#publication-{group_post_id}")
        expect(group_article).to_contain_text(GROUP_POST)
        expect(group_article).to_contain_text("Diffusion restreinte")
        file_href = group_article.get_by_role("link", name=GROUP_FILE).get_attribute("href")
        assert re.fullmatch(r"/feed/fichiers/\d+", file_href)
        _shot(shot, page, "group-tab")
        page.set_viewport_size(DESKTOP)
        _no_console_errors(page)

        # B, a member, sees it in her feed and in her dashboard widget.
        bpage.goto(base + "/feed/")
        expect(bpage.locator(f"#publication-{group_post_id}")).to_contain_text(GROUP_POST)
        expect(bpage.locator(f"#publication-{group_post_id}")).to_contain_text(f"dans {GROUP}")
        bpage.goto(base + "/")
        b_widget = bpage.locator("section").filter(
            has=bpage.get_by_role("heading", name="Derniers messages du fil"))
        expect(b_widget.get_by_role("link", name=re.compile("^Ordre du jour confidentiel"))).to_be_visible()
        _no_console_errors(bpage)

        # 8. C, not a member, sees the network post but nothing of the group's.
        cpage = _new_page(c_context)
        log_in(cpage, base, c.email)
        c_widget = cpage.locator("section").filter(
            has=cpage.get_by_role("heading", name="Derniers messages du fil"))
        expect(c_widget.get_by_role("link", name=re.compile("^Programme de l'éductour"))).to_be_visible()
        expect(c_widget).not_to_contain_text("Ordre du jour")
        expect(c_widget.get_by_role("listitem")).to_have_count(2)  # the post and the « new group » item
        _shot(shot, cpage, "dashboard-nonmember")
        cpage.set_viewport_size(DESKTOP)

        cpage.goto(base + "/feed/")
        expect(cpage.locator(f"#publication-{post_id}")).to_be_visible()
        expect(cpage.locator("main article")).to_have_count(2)  # the post and the « new group » item
        expect(cpage.locator("main")).not_to_contain_text("Ordre du jour")
        assert "Ordre du jour" not in cpage.content() and GROUP_FILE not in cpage.content()
        for filtre in ("groupes", "fichiers"):
            cpage.goto(f"{base}/feed/?filtre={filtre}")
            expect(cpage.get_by_role("heading", name="Fil de discussion", level=1)).to_be_visible()
            assert "Ordre du jour" not in cpage.content()

        response = cpage.goto(f"{base}/feed/{group_post_id}")
        assert response.status == 404
        expect(cpage.get_by_role("heading", name="Page introuvable", level=1)).to_be_visible()
        assert "Ordre du jour" not in cpage.content() and GROUP not in cpage.content()

        response = cpage.goto(base + file_href)
        assert response.status == 404
        expect(cpage.get_by_role("heading", name="Page introuvable", level=1)).to_be_visible()
        assert GROUP_FILE not in cpage.content()

        response = cpage.goto(f"{base}/feed/groupe/{group.id}")
        assert response.status == 403
        assert "Ordre du jour" not in cpage.content()
        _no_console_errors(cpage, allow_error_pages=True)
    finally:
        b_context.close()
        c_context.close()


def _make_posts(author, count: int) -> None:
    """``count`` posts of ``author`` to the whole network, numbered oldest first."""
    from flask import current_app

    network = get_audience([("network", 0)])
    with current_app.test_request_context():
        for n in range(1, count + 1):
            services.create_post(author, f"Annonce numéro {n} : les horaires d'été des bureaux.", network)
        db.session.commit()


def test_voir_plus_and_like_without_reloading(live_server, page, make_user, make_org, shot):
    base = live_server.url
    org = make_org(name="Office de tourisme de Hautes Terres")
    reader = make_user(name="Lucie Chassang", email="lucie@hautes-terres.fr", organization=org)
    author = make_user(name="Paul Rigal", email="paul@hautes-terres.fr", organization=org)
    _make_posts(author, 25)
    page.set_viewport_size(DESKTOP)

    log_in(page, base, reader.email)
    page.goto(base + "/feed/")
    articles = page.locator("main article")
    expect(articles).to_have_count(20)
    expect(articles.first).to_contain_text("Annonce numéro 25 :")
    expect(articles.last).to_contain_text("Annonce numéro 6 :")
    url_before = page.url
    page.evaluate("window.__notReloaded = true")

    # « Voir plus »: the 5 older posts are appended in place; the page is not reloaded.
    more = page.get_by_role("link", name="Voir plus")
    expect(more).to_have_count(1)
    more.click()
    expect(articles).to_have_count(25)
    expect(articles.last).to_contain_text("Annonce numéro 1 :")
    expect(page.get_by_role("link", name="Voir plus")).to_have_count(0)
    assert page.url == url_before
    assert page.evaluate("window.__notReloaded === true")
    texts = [articles.nth(i).locator(".markdown").inner_text() for i in range(25)]
    assert texts == [f"Annonce numéro {n} : les horaires d'été des bureaux." for n in range(25, 0, -1)]
    expect(articles.nth(20)).to_be_focused()  # focus moves to the first new post, for keyboard users
    _no_console_errors(page)

    # « J'aime » on the newest post: 0 → 1, the button says it, still no reload.
    first = articles.first
    like = first.get_by_role("button", name="J'aime")
    expect(first.locator("[data-like-count]")).to_be_hidden()  # no « 0 j'aime »
    expect(like).to_have_attribute("aria-pressed", "false")
    like.click()
    expect(first.get_by_role("link", name="1 j'aime")).to_be_visible()
    unlike = first.get_by_role("button", name="Je n'aime plus")
    expect(unlike).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("window.__notReloaded === true")
    assert page.url == url_before

    # On a post loaded by « Voir plus » too (the handler is delegated).
    last = articles.last
    last.get_by_role("button", name="J'aime").click()
    expect(last.get_by_role("link", name="1 j'aime")).to_be_visible()
    expect(last.get_by_role("button", name="Je n'aime plus")).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("window.__notReloaded === true")
    _shot(shot, page, "index-more-liked")
    page.set_viewport_size(DESKTOP)

    # Saved: after a reload the like is still there, and the liker list names the reader.
    page.reload()
    first = page.locator("main article").first
    expect(first.get_by_role("link", name="1 j'aime")).to_be_visible()
    expect(first.get_by_role("button", name="Je n'aime plus")).to_be_visible()
    first.get_by_role("link", name="1 j'aime").click()
    page.wait_for_url(re.compile(r"/feed/\d+/jaime$"))
    expect(page.get_by_role("heading", name="1 personne aime cette publication", level=1)).to_be_visible()
    expect(page.locator("main .list-group-item")).to_contain_text("Lucie Chassang")

    # And back: a second click takes the like away (1 → 0).
    page.go_back()
    first = page.locator("main article").first
    first.get_by_role("button", name="Je n'aime plus").click()
    expect(first.locator("[data-like-count]")).to_be_hidden()  # back to no count, not « 0 j'aime »
    expect(first.get_by_role("button", name="J'aime")).to_have_attribute("aria-pressed", "false")
    _no_console_errors(page)
