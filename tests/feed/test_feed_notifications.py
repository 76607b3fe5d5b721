"""Notifications of the feed: a new post to its audience (not to its author), a group post to the
group's members only, a comment to the post's author, a reply to the comment's author, a mention
(instead of the new-post notice, never both), a like (in the centre only by default), a hidden post
to its author with the reason; and the e-mail of a comment through a real SMTP server."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app

from intranet.core.audiences import network_audience
from intranet.core.mail import deliver_outbox
from intranet.core.models import MailMessage
from intranet.core.notifications import Notification
from intranet.extensions import db
from intranet.feed import services
from intranet.feed.models import Comment, Post
from tests.feed.conftest import action, last_post, post_as, text
from tests.notifications import plain_and_html

BASE = "http://127.0.0.1"


def notified(type_key: str) -> dict[int, Notification]:
    """Who got a notification of this type: {user id: notification}."""
    db.session.expire_all()
    rows = db.session.scalars(sa.select(Notification).where(Notification.type == type_key)).all()
    out = {}
    for n in rows:
        assert n.user_id not in out, f"{type_key} twice for user {n.user_id}"
        out[n.user_id] = n
    return out


def types_of(user) -> list[str]:
    db.session.expire_all()
    return db.session.scalars(sa.select(Notification.type).where(Notification.user_id == user.id)
                              .order_by(Notification.id)).all()


def mails_to(user) -> list[MailMessage]:
    db.session.expire_all()
    return db.session.scalars(sa.select(MailMessage).where(MailMessage.to_addr == user.email)
                              .order_by(MailMessage.id)).all()


def publish(author, body: str) -> Post:
    with current_app.test_request_context():
        post = services.create_post(author, body, network_audience())
        db.session.commit()
    return post


def clear_notifications() -> None:
    db.session.execute(sa.delete(MailMessage))
    db.session.execute(sa.delete(Notification))
    db.session.commit()


def newest_comment() -> Comment:
    db.session.expire_all()
    return db.session.scalar(sa.select(Comment).order_by(Comment.id.desc()))


# -- new posts --------------------------------------------------------------------------------------

def test_a_network_post_notifies_the_network_but_not_its_author(make_user, make_org, as_):
    author = make_user(name="Anne Auteur")
    readers = [make_user(), make_user(organization=make_org())]
    gone = make_user(active=False)
    resp = post_as(as_(author), "La saison commence **demain** !")
    assert resp.status_code == 302
    post = last_post()
    got = notified("feed.new_post")
    assert set(got) == {r.id for r in readers}
    assert author.id not in got and gone.id not in got
    n = got[readers[0].id]
    assert n.object_id == post.id and n.context["title"] == "La saison commence demain !"
    assert n.context["url"] == f"/feed/{post.id}"
    assert n.context["actor"] == "Anne Auteur"
    # In the bell's centre, in French.
    page = text(as_(readers[0]).get("/notifications/"))
    assert "Anne Auteur a publié dans le fil : « La saison commence demain ! »" in page


def test_a_post_for_one_organization_notifies_that_organization_only(make_user, make_org, as_):
    office = make_org(name="Office de tourisme de Vannes")
    author, colleague = make_user(organization=office), make_user(organization=office)
    outsider = make_user()
    post_as(as_(author), "Réunion d'équipe lundi", audience=f"org:{office.id}")
    assert set(notified("feed.new_post")) == {colleague.id}
    assert types_of(outsider) == []


def test_a_group_post_notifies_the_groups_members_only(make_user, factories, as_):
    owner, member, outsider = make_user(), make_user(), make_user()
    group = factories.group(name="Balades nature", owner=owner, members=[member])  # public: anyone reads it
    resp = post_as(as_(member), "Sortie au marais dimanche", group_id=str(group.id))
    assert resp.status_code == 302
    got = notified("feed.group_post")
    assert set(got) == {owner.id}  # the author is left out
    assert got[owner.id].context["group"] == "Balades nature"
    assert got[owner.id].group_id == group.id
    assert notified("feed.new_post") == {}
    assert types_of(outsider) == []
    page = text(as_(owner).get("/notifications/"))
    assert "a publié dans le groupe « Balades nature » : « Sortie au marais dimanche »" in page


# -- comments and replies ---------------------------------------------------------------------------

def test_a_comment_notifies_the_posts_author(make_user, as_):
    author, bob, chloe = make_user(name="Anne Auteur"), make_user(name="Bruno Barbier"), make_user()
    post = publish(author, "Qui vient au salon ?")
    clear_notifications()
    resp = action(as_(bob), f"/feed/{post.id}/commenter", body="Moi !")
    assert resp.status_code == 302
    c = newest_comment()
    got = notified("feed.comment")
    assert set(got) == {author.id}
    assert got[author.id].context["url"] == f"/feed/{post.id}#commentaire-{c.id}"
    assert types_of(bob) == [] and types_of(chloe) == []
    assert "Bruno Barbier a commenté votre publication « Qui vient au salon ? »" in \
        text(as_(author).get("/notifications/"))
    # The author commenting on their own post hears nothing.
    clear_notifications()
    action(as_(author), f"/feed/{post.id}/commenter", body="Super, merci Bruno")
    assert notified("feed.comment") == {}


def test_a_reply_notifies_the_parent_comments_author(make_user, as_):
    author, bob, chloe = make_user(), make_user(name="Bruno Barbier"), make_user(name="Chloé Carré")
    post = publish(author, "Covoiturage pour le salon")
    action(as_(bob), f"/feed/{post.id}/commenter", body="Je pars de Quimper")
    top = newest_comment()
    clear_notifications()
    action(as_(chloe), f"/feed/{post.id}/commenter", body="Je monte avec toi", parent_id=str(top.id))
    reply = newest_comment()
    got = notified("feed.reply")
    assert set(got) == {bob.id}
    assert got[bob.id].context["url"] == f"/feed/{post.id}#commentaire-{reply.id}"
    assert set(notified("feed.comment")) == {author.id}
    assert types_of(chloe) == []
    assert "Chloé Carré a répondu à votre commentaire sur « Covoiturage pour le salon »" in \
        text(as_(bob).get("/notifications/"))
    # A reply to that reply still notifies the top comment's author (one level of replies).
    clear_notifications()
    action(as_(author), f"/feed/{post.id}/commenter", body="Bonne route", parent_id=str(reply.id))
    assert set(notified("feed.reply")) == {bob.id}


def test_the_post_author_replied_to_hears_once(make_user, as_):
    author, bob = make_user(), make_user()
    post = publish(author, "Bonjour")
    action(as_(author), f"/feed/{post.id}/commenter", body="Précision : c'est lundi")
    top = newest_comment()
    clear_notifications()
    action(as_(bob), f"/feed/{post.id}/commenter", body="Merci", parent_id=str(top.id))
    assert types_of(author) == ["feed.reply"]


# -- mentions ----------------------------------------------------------------------------------------

def test_a_mentioned_person_gets_the_mention_only(make_user, as_):
    author, bob, chloe = make_user(name="Anne Auteur"), make_user(name="Bruno Barbier"), make_user()
    post_as(as_(author), "Merci @Bruno Barbier pour les photos")
    post = last_post()
    got = notified("feed.mention")
    assert set(got) == {bob.id}
    assert got[bob.id].object_id == post.id
    assert types_of(bob) == ["feed.mention"]  # not also « new post »
    assert set(notified("feed.new_post")) == {chloe.id}
    assert "Anne Auteur vous a mentionné : « Merci @Bruno Barbier pour les photos »" in \
        text(as_(bob).get("/notifications/"))


def test_a_mention_in_a_comment_notifies_the_mentioned_person(make_user, as_):
    author, bob, chloe = make_user(), make_user(), make_user(name="Chloé Carré")
    post = publish(author, "Qui connaît un photographe ?")
    clear_notifications()
    action(as_(bob), f"/feed/{post.id}/commenter", body="Demande à @Chloé Carré")
    c = newest_comment()
    got = notified("feed.mention")
    assert set(got) == {chloe.id}
    assert got[chloe.id].context["url"] == f"/feed/{post.id}#commentaire-{c.id}"
    assert types_of(author) == ["feed.comment"]
    # The post's author mentioned in a comment on their post hears once, of the mention.
    clear_notifications()
    action(as_(chloe), f"/feed/{post.id}/commenter", body=f"Avec plaisir, @{author.name}")
    assert types_of(author) == ["feed.mention"]


def test_a_mention_added_by_an_edit_is_notified_once(make_user, as_):
    author, bob = make_user(), make_user(name="Bruno Barbier")
    post = publish(author, "Réunion demain")
    clear_notifications()
    action(as_(author), f"/feed/{post.id}/modifier", body="Réunion demain avec @Bruno Barbier")
    assert set(notified("feed.mention")) == {bob.id}
    clear_notifications()
    action(as_(author), f"/feed/{post.id}/modifier", body="Réunion demain à 10 h avec @Bruno Barbier")
    assert notified("feed.mention") == {}


# -- likes and moderation --------------------------------------------------------------------------

def test_a_like_is_in_the_centre_but_not_e_mailed_by_default(make_user, as_):
    author, bob = make_user(), make_user(name="Bruno Barbier")
    post = publish(author, "Nouvelle brochure")
    clear_notifications()
    action(as_(bob), f"/feed/{post.id}/jaime")
    got = notified("feed.like")
    assert set(got) == {author.id}
    assert got[author.id].is_web is True and got[author.id].email_state == "none"
    assert mails_to(author) == []
    assert "Bruno Barbier aime votre publication « Nouvelle brochure »" in text(as_(author).get("/notifications/"))
    # Unliking tells nobody; liking one's own post neither.
    clear_notifications()
    action(as_(bob), f"/feed/{post.id}/jaime")
    action(as_(author), f"/feed/{post.id}/jaime")
    assert notified("feed.like") == {}


def test_a_hidden_post_tells_its_author_the_reason(make_user, as_):
    author, animateur, bob = make_user(), make_user(role="animateur"), make_user()
    post = publish(author, "Vente de ma voiture")
    clear_notifications()
    c = as_(animateur)
    resp = action(c, f"/feed/{post.id}/masquer", reason="Les petites annonces n'ont pas leur place ici")
    assert resp.status_code == 302
    assert "Publication masquée ; son auteur est prévenu." in text(c.get(resp.location))
    got = notified("feed.post_hidden")
    assert set(got) == {author.id}
    assert got[author.id].context["reason"] == "Les petites annonces n'ont pas leur place ici"
    assert types_of(bob) == []
    assert ("Votre publication « Vente de ma voiture » a été masquée : Les petites annonces n'ont pas leur "
            "place ici") in text(as_(author).get("/notifications/"))
    # The e-mail is on by default for this type.
    [mail] = mails_to(author)
    assert mail.subject == "Votre publication a été masquée"
    # A reason is required.
    other = publish(author, "Autre annonce")
    clear_notifications()
    resp = action(c, f"/feed/{other.id}/masquer", reason="  ")
    assert "Indiquez la raison : l'auteur la recevra." in text(c.get(resp.location))
    assert notified("feed.post_hidden") == {}


# -- the e-mail -------------------------------------------------------------------------------------

def test_the_comment_email_carries_an_excerpt_and_a_link_to_the_post(make_user, as_, smtp_server):
    author = make_user(name="Anne Auteur", email="anne@ot-vannes.fr")
    bob = make_user(name="Bruno Barbier")
    body = ("**Bilan de la saison** : la fréquentation est en hausse de 12 % sur le littoral. "
            + "Merci à toutes les équipes d'accueil pour leur mobilisation. " * 10)
    post = publish(author, body)
    clear_notifications()
    action(as_(bob), f"/feed/{post.id}/commenter", body="Bravo à tous !")
    c = newest_comment()
    assert deliver_outbox() == {"sent": 1, "errors": 0}

    [msg] = smtp_server.messages
    assert msg["To"] == "anne@ot-vannes.fr"
    assert msg["Subject"] == "Bruno Barbier a commenté votre publication"
    plain, html_part = plain_and_html(msg)
    assert "Bonjour Anne Auteur," in plain
    # The headline does not quote the post: the excerpt below does, once (issue 12).
    assert "\nBruno Barbier a commenté votre publication\n" in plain
    assert plain.count("Bilan de la saison") == 1
    # The excerpt of the post: plain text, cut short.
    assert "« Bilan de la saison : la fréquentation est en hausse de 12 % sur le littoral. Merci" in plain
    assert "**" not in plain
    quoted = plain.split("« Bilan de la saison : la fréquentation est en hausse", 1)[-1]
    assert "…" in quoted and len(quoted.split("»")[0]) < 300
    link = f"{BASE}/feed/{post.id}#commentaire-{c.id}"
    assert f"Voir sur l'intranet : {link}" in plain and f'href="{link}"' in html_part
    assert "Un commentaire sur ma publication" in plain  # why this e-mail is sent
    # The link opens the post with its comment once logged in.
    page = as_(author).get(f"/feed/{post.id}")
    assert page.status_code == 200 and f'id="commentaire-{c.id}"' in page.get_data(as_text=True)
    assert "Bravo à tous !" in text(page)
