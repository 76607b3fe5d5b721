"""The conversation under a post: comments and one level of replies, the 3 latest comments in the
list and the whole thread on the post's page, editing (« modifié ») and deleting (« Commentaire
supprimé. » when replies remain), the comment counter; « J'aime » by form and by JSON, once per
person, and who liked; @mentions turned into profile links, e-mail addresses left alone, and the
« Mentions » filter."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import current_app

from intranet.core.audiences import network_audience
from intranet.core.timeutil import utcnow
from intranet.extensions import db
from intranet.feed import services
from intranet.feed.models import Comment, Like, Mention, Post
from tests.conftest import csrf_token
from tests.feed.conftest import action, text


def publish(author, body: str, ago: timedelta | None = None) -> Post:
    with current_app.test_request_context():
        post = services.create_post(author, body, network_audience())
        if ago:
            post.created_at = utcnow() - ago
        db.session.commit()
    return post


def comment_on(c, post, body: str, parent=None):
    """Comment (or reply) through the form under the post."""
    data = {"body": body}
    if parent is not None:
        data["parent_id"] = str(parent.id)
    return action(c, f"/feed/{post.id}/commenter", **data)


def comments_of(post) -> list[Comment]:
    db.session.expire_all()
    return db.session.scalars(sa.select(Comment).where(Comment.post_id == post.id).order_by(Comment.id)).all()


def count_of(post) -> int:
    db.session.expire_all()
    return db.session.get(Post, post.id).comment_count


def block(resp, element_id: str) -> str:
    """The HTML of the ``<li>`` or ``<article>`` with this id, nested elements included."""
    body = resp.get_data(as_text=True)
    start = body.index(f'id="{element_id}"')
    start = max(body.rindex("<li", 0, start), body.rindex("<article", 0, start))
    tag = "li" if body.startswith("<li", start) else "article"
    depth, pos = 0, start
    for m in re.finditer(rf"<(/?){tag}\b", body[start:]):
        depth += -1 if m.group(1) else 1
        if depth == 0:
            pos = start + m.end()
            break
    return body[start:body.index(">", pos) + 1]


def comments_section(resp) -> str:
    """The visible text of the « commentaires » section of a post's page (flash messages left out)."""
    body = resp.get_data(as_text=True)
    start = body.index('<section id="commentaires"')
    return visible(body[start:body.index("</section>", start)])


def visible(fragment: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", fragment))).strip()


@pytest.fixture
def people(make_user):
    return {
        "author": make_user(name="Anne Auteur"),
        "bob": make_user(name="Bruno Barbier"),
        "chloe": make_user(name="Chloé Carré"),
    }


# -- comments and replies -------------------------------------------------------------------------

def test_comment_and_reply_one_level_deep(people, as_):
    post = publish(people["author"], "Qui vient au salon du tourisme ?")
    bob, chloe = as_(people["bob"]), as_(people["chloe"])
    resp = comment_on(bob, post, "Moi, le samedi.")
    [top] = comments_of(post)
    assert resp.status_code == 302 and resp.location.endswith(f"/feed/{post.id}#commentaire-{top.id}")
    comment_on(chloe, post, "Je t'accompagne !", parent=top)
    reply = comments_of(post)[-1]
    assert reply.parent_id == top.id
    # A reply to the reply joins the same top comment: one level only.
    comment_on(bob, post, "Parfait, rendez-vous à 9 h.", parent=reply)
    deeper = comments_of(post)[-1]
    assert deeper.parent_id == top.id
    assert count_of(post) == 3

    page = as_(people["author"]).get(f"/feed/{post.id}")
    thread = visible(block(page, f"commentaire-{top.id}"))
    assert "Moi, le samedi." in thread and "Je t'accompagne !" in thread and "Parfait, rendez-vous à 9 h." in thread
    assert thread.index("Je t'accompagne !") < thread.index("Parfait, rendez-vous à 9 h.")
    assert "3 commentaires" in text(page)


def test_a_reply_to_a_comment_of_another_post_is_refused(people, as_):
    first, second = publish(people["author"], "Premier"), publish(people["author"], "Second")
    c = as_(people["bob"])
    comment_on(c, first, "Sur le premier")
    [top] = comments_of(first)
    assert comment_on(c, second, "Égaré", parent=top).status_code == 404
    assert comments_of(second) == [] and count_of(second) == 0


def test_an_empty_comment_is_refused_in_french(people, as_):
    post = publish(people["author"], "Bonjour")
    c = as_(people["bob"])
    resp = comment_on(c, post, "   ")
    assert resp.status_code == 302
    assert "Le commentaire est vide." in text(c.get(resp.location))
    assert comments_of(post) == []


def test_the_list_shows_the_three_latest_comments_and_a_link_to_all(people, as_, make_user):
    post = publish(people["author"], "Vos idées pour l'été ?")
    quiet = publish(people["author"], "Une question sans réponse", ago=timedelta(minutes=1))
    c = as_(people["bob"])
    for i in range(1, 6):
        comment_on(c, post, f"Idée numéro {i}")
    tops = comments_of(post)
    comment_on(as_(people["chloe"]), post, "Une réponse à la première idée", parent=tops[0])
    assert count_of(post) == 6

    resp = as_(make_user()).get("/feed/")
    card = visible(block(resp, f"publication-{post.id}"))
    assert "Voir tous les commentaires (6)" in card
    assert "Idée numéro 1" not in card and "Idée numéro 2" not in card
    assert card.index("Idée numéro 3") < card.index("Idée numéro 4") < card.index("Idée numéro 5")
    assert "Une réponse à la première idée" not in card  # replies wait on the post's page
    assert "6 commentaires" in card
    assert f'href="/feed/{post.id}#commentaires"' in block(resp, f"publication-{post.id}")
    # No comment: no list, no link.
    assert "Voir tous les commentaires" not in visible(block(resp, f"publication-{quiet.id}"))

    # The post's page: the whole thread, oldest first.
    page = text(as_(make_user()).get(f"/feed/{post.id}"))
    positions = [page.index(f"Idée numéro {i}") for i in range(1, 6)]
    assert positions == sorted(positions)
    assert "Une réponse à la première idée" in page and "Voir tous les commentaires" not in page


def test_three_comments_or_fewer_need_no_link(people, as_, make_user):
    post = publish(people["author"], "Petit sondage")
    c = as_(people["bob"])
    for i in range(3):
        comment_on(c, post, f"Avis {i}")
    card = visible(block(as_(make_user()).get("/feed/"), f"publication-{post.id}"))
    assert all(f"Avis {i}" in card for i in range(3))
    assert "Voir tous les commentaires" not in card


def test_editing_a_comment_marks_it_modifie(people, as_):
    post = publish(people["author"], "Horaires d'été")
    bob = as_(people["bob"])
    comment_on(bob, post, "Ouvert de 9 h à 18 h")
    [c] = comments_of(post)
    page = bob.get(f"/feed/{post.id}")
    assert "modifié" not in visible(block(page, f"commentaire-{c.id}"))
    assert bob.get(f"/feed/commentaires/{c.id}/modifier").status_code == 200
    resp = action(bob, f"/feed/commentaires/{c.id}/modifier", body="Ouvert de 9 h à 19 h")
    assert resp.status_code == 302 and resp.location == f"/feed/{post.id}#commentaire-{c.id}"
    page = bob.get(resp.location)
    mine = visible(block(page, f"commentaire-{c.id}"))
    assert "Ouvert de 9 h à 19 h" in mine and "modifié" in mine and "18 h" not in mine
    assert "Commentaire modifié." in text(page)
    # Someone else may not edit it.
    chloe = as_(people["chloe"])
    assert chloe.get(f"/feed/commentaires/{c.id}/modifier").status_code == 403
    assert action(chloe, f"/feed/commentaires/{c.id}/modifier", body="Piraté").status_code == 403
    assert comments_of(post)[0].body == "Ouvert de 9 h à 19 h"
    assert count_of(post) == 1


def test_deleting_a_comment_with_replies_keeps_the_replies(people, as_):
    post = publish(people["author"], "Covoiturage pour le salon")
    bob, chloe = as_(people["bob"]), as_(people["chloe"])
    comment_on(bob, post, "Je pars de Quimper")
    [top] = comments_of(post)
    comment_on(chloe, post, "Je monte avec toi", parent=top)
    comment_on(chloe, post, "Un autre avis")
    reply, lone = comments_of(post)[1:]
    assert count_of(post) == 3

    resp = action(bob, f"/feed/commentaires/{top.id}/supprimer")
    assert resp.status_code == 302
    page = bob.get(resp.location)
    assert "Commentaire supprimé." in comments_section(page)
    thread = visible(block(page, f"commentaire-{top.id}"))
    assert "Commentaire supprimé." in thread and "Je pars de Quimper" not in thread
    assert "Je monte avec toi" in thread  # the reply keeps its context
    assert "Bruno Barbier" not in thread
    assert count_of(post) == 2 and "2 commentaires" in text(page)
    # It cannot be deleted or edited again.
    assert action(bob, f"/feed/commentaires/{top.id}/supprimer").status_code == 404
    assert bob.get(f"/feed/commentaires/{top.id}/modifier").status_code == 404

    # A comment without replies goes entirely.
    action(chloe, f"/feed/commentaires/{lone.id}/supprimer")
    assert lone.id not in [c.id for c in comments_of(post)]
    assert "Un autre avis" not in text(chloe.get(f"/feed/{post.id}"))
    assert count_of(post) == 1
    # The last reply of a deleted comment goes, and the « Commentaire supprimé. » with it.
    action(chloe, f"/feed/commentaires/{reply.id}/supprimer")
    assert comments_of(post) == [] and count_of(post) == 0
    section = comments_section(chloe.get(f"/feed/{post.id}"))
    assert "Commentaire supprimé." not in section and "Pas encore de commentaire." in section


def test_only_the_author_or_an_admin_deletes_a_comment(people, as_, make_user):
    post = publish(people["author"], "Bonjour")
    comment_on(as_(people["bob"]), post, "Salut")
    [c] = comments_of(post)
    assert action(as_(people["chloe"]), f"/feed/commentaires/{c.id}/supprimer").status_code == 403
    assert action(as_(people["author"]), f"/feed/commentaires/{c.id}/supprimer").status_code == 403
    assert count_of(post) == 1
    assert action(as_(make_user(role="admin")), f"/feed/commentaires/{c.id}/supprimer").status_code == 302
    assert comments_of(post) == [] and count_of(post) == 0


# -- likes ----------------------------------------------------------------------------------------

def like_count(post) -> int:
    db.session.expire_all()
    return db.session.get(Post, post.id).like_count


def test_like_and_unlike_with_the_form(people, as_):
    post = publish(people["author"], "Nouvelle brochure")
    bob = as_(people["bob"])
    resp = action(bob, f"/feed/{post.id}/jaime", next="/feed/")
    assert resp.status_code == 302 and resp.location == f"/feed/#publication-{post.id}"
    assert like_count(post) == 1
    card = block(bob.get("/feed/"), f"publication-{post.id}")
    assert "Je n'aime plus" in visible(card) and 'aria-pressed="true"' in card and "1 j'aime" in visible(card)
    # Clicking again takes the like back: never two likes from one person.
    action(bob, f"/feed/{post.id}/jaime")
    assert like_count(post) == 0
    card = block(bob.get("/feed/"), f"publication-{post.id}")
    assert 'aria-pressed="false"' in card and "j'aime" not in visible(card).replace("J'aime", "")  # no « 0 j'aime »


def test_like_in_json(people, as_):
    post = publish(people["author"], "Nouvelle brochure")
    bob, chloe = as_(people["bob"]), as_(people["chloe"])
    json_headers = {"Accept": "application/json"}
    token = csrf_token(bob, "/feed/")
    resp = bob.post(f"/feed/{post.id}/jaime", data={"csrf_token": token}, headers=json_headers)
    assert resp.status_code == 200 and resp.is_json
    assert resp.json["liked"] is True and resp.json["count"] == 1
    resp = chloe.post(f"/feed/{post.id}/jaime", data={"csrf_token": csrf_token(chloe, "/feed/")},
                      headers=json_headers)
    assert (resp.json["liked"], resp.json["count"]) == (True, 2)
    resp = bob.post(f"/feed/{post.id}/jaime", data={"csrf_token": token}, headers=json_headers)
    assert (resp.json["liked"], resp.json["count"]) == (False, 1)
    assert like_count(post) == 1
    # Without a CSRF token nothing changes.
    assert bob.post(f"/feed/{post.id}/jaime", headers=json_headers).status_code == 400
    assert like_count(post) == 1


def test_a_double_click_arriving_twice_counts_once(app, people, as_):
    """The second request of a double click finds no like yet, then another request inserts it
    before this one does: the like is counted once and the answer says so."""
    post = publish(people["author"], "Nouvelle brochure")
    bob = as_(people["bob"])
    token = csrf_token(bob, "/feed/")
    user_id = people["bob"].id
    fired = []

    def the_other_click(session, flush_context, instances):
        if fired or not any(isinstance(o, Like) for o in session.new):
            return
        fired.append(True)
        with db.engine.begin() as conn:  # the first click, in its own transaction, wins
            conn.execute(sa.insert(Like).values(post_id=post.id, user_id=user_id, created_at=utcnow()))
            conn.execute(sa.update(Post).where(Post.id == post.id).values(like_count=Post.like_count + 1))

    sa.event.listen(db.session, "before_flush", the_other_click)
    try:
        resp = bob.post(f"/feed/{post.id}/jaime", data={"csrf_token": token}, headers={"Accept": "application/json"})
    finally:
        sa.event.remove(db.session, "before_flush", the_other_click)
    assert fired
    assert resp.status_code == 200
    assert (resp.json["liked"], resp.json["count"]) == (True, 1)
    assert like_count(post) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Like).where(Like.post_id == post.id)) == 1


def test_who_liked(people, as_, make_user, make_org):
    post = publish(people["author"], "Nouvelle brochure")
    assert "Personne pour l'instant." in text(as_(make_user()).get(f"/feed/{post.id}/jaime"))
    bea = make_user(name="Béatrice Lenoir", organization=make_org(name="Office de tourisme de Dinan"))
    for person in (people["bob"], bea):
        action(as_(person), f"/feed/{post.id}/jaime")
    page = text(as_(make_user()).get(f"/feed/{post.id}/jaime"))
    assert "2 personnes aiment cette publication" in page
    assert "Bruno Barbier" in page and "Béatrice Lenoir" in page and "Office de tourisme de Dinan" in page
    assert "Chloé Carré" not in page
    assert f'href="/feed/{post.id}/jaime"' in as_(make_user()).get("/feed/").get_data(as_text=True)


def test_a_hidden_post_cannot_be_liked(people, as_, make_user):
    post = publish(people["author"], "Message douteux")
    with current_app.test_request_context():
        services.hide_post(make_user(role="animateur"), post, "Hors sujet")
        db.session.commit()
    assert action(as_(people["author"]), f"/feed/{post.id}/jaime").status_code == 403
    assert like_count(post) == 0


# -- mentions -----------------------------------------------------------------------------------

def test_mentions_become_links_to_the_profile(people, as_, make_user):
    emilie = make_user(name="Émilie Roux")
    c = as_(people["author"])
    action(c, "/feed/publier", body="Merci @Bruno Barbier et @Émilie Roux pour l'accueil !")
    post = db.session.scalar(sa.select(Post).order_by(Post.id.desc()))
    card = block(c.get("/feed/"), f"publication-{post.id}")
    bob_id = people["bob"].id
    assert re.search(rf'<a href="/accounts/personnes/{bob_id}"[^>]*>@Bruno Barbier</a>', card)
    assert re.search(rf'<a href="/accounts/personnes/{emilie.id}"[^>]*>@Émilie Roux</a>', card)
    assert "pour l'accueil !" in visible(card)
    assert post.body == "Merci @Bruno Barbier et @Émilie Roux pour l'accueil !"  # the text as typed
    assert {m.user_id for m in db.session.scalars(sa.select(Mention).where(Mention.post_id == post.id))} == \
        {bob_id, emilie.id}


def test_a_mention_in_a_comment_is_a_link_too(people, as_):
    post = publish(people["author"], "Qui connaît un bon photographe ?")
    comment_on(as_(people["bob"]), post, "Demande à @Chloé Carré, elle en connaît un.")
    [c] = comments_of(post)
    page = as_(people["author"]).get(f"/feed/{post.id}")
    assert re.search(rf'<a href="/accounts/personnes/{people["chloe"].id}"[^>]*>@Chloé Carré</a>',
                     block(page, f"commentaire-{c.id}"))


def test_an_email_address_is_not_a_mention(people, as_, make_user):
    # A member whose name is what follows the @ of the address: still no mention.
    ot = make_user(name="ot.fr")
    c = as_(people["author"])
    action(c, "/feed/publier", body="Écrivez à contact@ot.fr pour les brochures.")
    post = db.session.scalar(sa.select(Post).order_by(Post.id.desc()))
    card = block(c.get("/feed/"), f"publication-{post.id}")
    assert f"/accounts/personnes/{ot.id}" not in card
    assert "contact@ot.fr" in visible(card)
    assert db.session.scalars(sa.select(Mention).where(Mention.post_id == post.id)).all() == []
    # …whereas the same name after a space is one.
    action(c, "/feed/publier", body="Merci @ot.fr")
    post = db.session.scalar(sa.select(Post).order_by(Post.id.desc()))
    assert f"/accounts/personnes/{ot.id}" in block(c.get("/feed/"), f"publication-{post.id}")


def test_an_unknown_name_stays_plain_text(people, as_):
    c = as_(people["author"])
    action(c, "/feed/publier", body="Bonjour @Personne Inconnue !")
    post = db.session.scalar(sa.select(Post).order_by(Post.id.desc()))
    card = block(c.get("/feed/"), f"publication-{post.id}")
    assert "@Personne Inconnue" in visible(card) and "/accounts/personnes/" not in card.split("markdown", 1)[1]


def test_the_mentions_filter_lists_posts_and_comments_that_name_me(people, as_):
    chloe = people["chloe"]
    named_in_post = publish(people["author"], "Bienvenue à @Chloé Carré dans le réseau", ago=timedelta(hours=3))
    named_in_comment = publish(people["author"], "Qui tient le stand ?", ago=timedelta(hours=2))
    publish(people["author"], "Rien à voir", ago=timedelta(hours=1))
    comment_on(as_(people["bob"]), named_in_comment, "Je propose @Chloé Carré !")
    # Edited later to name her: listed too.
    edited = publish(people["bob"], "Réunion demain", ago=timedelta(minutes=30))
    action(as_(people["bob"]), f"/feed/{edited.id}/modifier", body="Réunion demain avec @Chloé Carré")

    page = as_(chloe).get("/feed/?filtre=mentions")
    ids = [int(i) for i in re.findall(r'<article[^>]*\bid="publication-(\d+)"', page.get_data(as_text=True))]
    assert ids == [edited.id, named_in_comment.id, named_in_post.id]
    assert "Rien à voir" not in text(page)
    # Someone else's mentions are theirs.
    assert re.findall(r'<article[^>]*\bid="publication-(\d+)"',
                      as_(people["bob"]).get("/feed/?filtre=mentions").get_data(as_text=True)) == []
