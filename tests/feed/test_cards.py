"""The post cards kept per process (feed.views.CARDS): a page drawn from kept cards is the page
drawn afresh, each reader gets their own CSRF token and their own buttons, and whatever changes on a
post (a like, an edit, a comment, the author's name) shows on the next visit."""

from __future__ import annotations

import re

import pytest

from intranet.extensions import db
from intranet.feed.views import CARDS
from tests.feed.conftest import action, text
from tests.feed.test_reading import comment, publish

TOKEN_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(autouse=True)
def _empty_cards():
    CARDS.clear()
    yield
    CARDS.clear()


def page(client, url: str = "/feed/") -> str:
    resp = client.get(url)
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def test_a_page_from_kept_cards_is_the_page_drawn_afresh(factories, as_):
    org = factories.organization(name="OT Salers")
    author = factories.user(name="Jeanne Vidal", organization=org)
    for k in range(6):
        publish(author, f"Publication numéro {k} : **marché** du jeudi")
    reader = as_(factories.user(name="Louis Rigal"))
    first = page(reader)
    assert CARDS.misses >= 6 and CARDS.hits == 0
    again = page(reader)
    assert CARDS.hits >= 6
    assert again == first  # the same bytes: same token (same session), dates read the same minute
    assert "Publication numéro 5" in text(again) and "Jeanne Vidal" in text(again)


def test_each_reader_gets_their_own_token_and_buttons(factories, as_):
    author = factories.user(name="Jeanne Vidal")
    post = publish(author, "Fermeture exceptionnelle lundi")
    member, other, admin, writer = (as_(factories.user(name="Louis Rigal")), as_(factories.user(name="Rémi Roux")),
                                    as_(factories.user(name="Anne Admin", role="admin")), as_(author))
    pages = {name: page(c) for name, c in (("member", member), ("other", other), ("admin", admin),
                                             ("writer", writer))}
    assert CARDS.hits >= 1  # the second member was served the card kept for the first
    tokens = {name: set(TOKEN_RE.findall(html)) for name, html in pages.items()}
    for name, found in tokens.items():
        assert len(found) == 1, name  # one token on the page: the reader's, in every form of the card
    assert len({next(iter(t)) for t in tokens.values()}) == 4  # four sessions, four tokens
    # The card's buttons are each reader's: « Supprimer » for the admin and the author, « Modifier »
    # for the author alone.
    delete_url, edit_url = f"/feed/{post.id}/supprimer", f"/feed/{post.id}/modifier"
    for name in ("member", "other"):
        assert delete_url not in pages[name] and edit_url not in pages[name]
    assert delete_url in pages["admin"] and edit_url not in pages["admin"]
    assert delete_url in pages["writer"] and edit_url in pages["writer"]
    # A kept card answers a form: the member's like goes through with the token the card carried.
    token = next(iter(tokens["member"]))
    assert member.post(f"/feed/{post.id}/jaime", data={"csrf_token": token}).status_code == 302


def test_what_changes_on_a_post_shows_on_the_next_visit(factories, as_):
    author = factories.user(name="Jeanne Vidal")
    post = publish(author, "Réunion mardi")
    reader_user = factories.user(name="Louis Rigal")
    reader, writer = as_(reader_user), as_(author)
    before = text(page(reader))
    assert "Réunion mardi" in before and "J'aime" in before and "Aucun commentaire" in before

    assert action(reader, f"/feed/{post.id}/jaime").status_code == 302
    liked = text(page(reader))
    assert "Je n'aime plus" in liked and "1 j'aime" in liked

    assert action(writer, f"/feed/{post.id}/modifier", body="Réunion **mercredi**").status_code == 302
    edited = page(reader)
    assert "<strong>mercredi</strong>" in edited and "Réunion mardi" not in edited and "modifié" in text(edited)

    comment(factories.user(name="Promeneur"), post, "J'y serai")
    commented = text(page(reader))
    assert "J'y serai" in commented and "Promeneur" in commented and "1 commentaire" in commented

    author.name = "Jeanne Vidal-Rigal"
    db.session.commit()
    assert "Jeanne Vidal-Rigal" in text(page(reader))

