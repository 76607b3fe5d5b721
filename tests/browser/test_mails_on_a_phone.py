"""E-mails as a phone shows them (Chromium at 390 px, the HTML part received by a real SMTP
server): nothing wider than the screen, the « copiez ce lien » URL wraps; the mention mail and the
digest give the post's words once."""

from __future__ import annotations

import pytest

from intranet.core import notifications as bus
from intranet.core.digests import send_digests
from intranet.core.mail import deliver_outbox
from intranet.extensions import db
from tests.browser.conftest import PHONE
from tests.feed.conftest import post_as
from tests.notifications import plain_and_html

pytestmark = pytest.mark.browser

BODY = ("Bonjour à toutes et à tous, la réunion du réseau des offices aura lieu jeudi prochain à la "
        "Maison du tourisme de Salers : merci de confirmer votre présence avant lundi midi")


def html_of(msg) -> str:
    return plain_and_html(msg)[1]


def shown(page, html: str, shot=None, name: str = "") -> dict:
    """The mail's HTML in the phone's viewport; its width and visible text."""
    page.set_viewport_size(PHONE)
    page.set_content(html)
    if shot:
        shot(page, name)
    return page.evaluate("() => ({width: document.documentElement.scrollWidth, text: document.body.innerText})")


def test_the_invitation_and_password_reset_mails_fit_a_phone(app, make_user, page, shot, smtp_server):
    from intranet.accounts import services

    admin = make_user(role="admin", name="Alice Admin")
    newcomer = make_user(name="Nina Nouvelle", email="nina@ot-exemple.fr")
    with app.test_request_context():
        services.send_invitation(newcomer, admin)
        services.request_password_reset(admin.email)
        db.session.commit()
    assert deliver_outbox()["sent"] == 2
    for msg in smtp_server.messages:
        html = html_of(msg)
        seen = shown(page, html, shot, f"mail-390-{msg['To'].split('@')[0]}")
        assert seen["width"] <= PHONE["width"], (msg["Subject"], seen["width"])
        # The whole link is still there to copy: wrapped over lines, not cut.
        link = seen["text"].split("copiez ce lien : ", 1)[1].strip()
        assert link.startswith("http://127.0.0.1/accounts/") and len(link) > 60
        assert f'href="{link}"' in html


def test_the_mention_mail_gives_the_post_once_and_fits_a_phone(app, as_, make_user, page, smtp_server):
    author = make_user(name="Odile Martin")
    mentioned = make_user(name="Denise Lecteur", email="denise@ot-exemple.fr")
    assert post_as(as_(author), f"@{mentioned.name} {BODY}").status_code == 302
    deliver_outbox()
    [msg] = [m for m in smtp_server.messages if m["To"] == mentioned.email]
    body, html = plain_and_html(msg)
    seen = shown(page, html)
    assert seen["width"] <= PHONE["width"]
    assert "Odile Martin vous a mentionné dans le fil" in seen["text"]
    assert seen["text"].count("la réunion du réseau des offices") == 1
    assert body.count("la réunion du réseau des offices") == 1
    assert "merci de confirmer" in seen["text"]  # the excerpt, longer than the title, is the one kept


def test_the_digest_gives_each_post_once(app, as_, make_user, page, smtp_server):
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    author = make_user(name="Odile Martin")
    reader = make_user(name="Denise Lecteur", email="denise@ot-exemple.fr")
    bus.set_frequency(reader.id, "daily")
    db.session.commit()
    paris = ZoneInfo("Europe/Paris")
    send_digests(datetime(2026, 12, 1, 6, 0, tzinfo=paris).astimezone(UTC))  # the first look sets the schedule
    assert post_as(as_(author), f"@{reader.name} {BODY}").status_code == 302
    assert send_digests(datetime(2026, 12, 2, 7, 0, tzinfo=paris).astimezone(UTC)) == {"daily": 1}
    deliver_outbox()
    [msg] = [m for m in smtp_server.messages if m["To"] == reader.email]
    body, html = plain_and_html(msg)
    seen = shown(page, html)
    assert seen["width"] <= PHONE["width"]
    assert seen["text"].count("la réunion du réseau des offices") == 1, seen["text"]
    assert body.count("la réunion du réseau des offices") == 1, body
