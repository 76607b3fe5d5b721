"""Who sees and who may act on a post of the feed, through HTTP.

A post restricted to a private group (written in its « Fil » tab, or shared with the group from the
network feed), to an organization or to chosen people does not exist for anyone else: not in any
filter of the feed, not at its URL, not at its files' URLs, not in the dashboard widget, not in the
« Voir plus » pages. Its audience, animateurs and admins see it. Only the author edits; the author or
an admin deletes; animateurs, admins and the managers of the post's group pin and hide. A hidden post
is seen by its author (with the reason) and the moderators only, and takes no like nor comment. A
mentioned person who cannot see a post is not notified.
"""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from intranet.core.audiences import get_audience, network_audience
from intranet.core.notifications import Notification
from intranet.extensions import db
from intranet.feed import services
from intranet.feed.models import Comment, Like, Post
from intranet.feed.services import FILTERS, encode_cursor
from tests.conftest import csrf_token
from tests.feed.conftest import action, last_post, pdf_bytes, png_bytes, post_as, post_count, text


@pytest.fixture
def net(factories):
    """Two offices, a private group « Comité des fêtes » and one person per situation."""
    salers = factories.organization(name="Office de tourisme de Salers")
    aurillac = factories.organization(name="Office de tourisme d'Aurillac")
    ns = SimpleNamespace(salers=salers, aurillac=aurillac)
    ns.author = factories.user(name="Alice Auteure", organization=salers)
    ns.member = factories.user(name="Bruno Membre", organization=aurillac)
    # Same office as the author, in no group, never chosen: the one who must see nothing.
    ns.outsider = factories.user(name="Claude Curieux", organization=salers)
    ns.owner = factories.user(name="Odile Propriétaire", organization=aurillac)
    ns.group_admin = factories.user(name="Gaston Gestionnaire", organization=aurillac)
    ns.animateur = factories.user(role="animateur", name="Anna Animatrice", organization=salers)
    ns.admin = factories.user(role="admin", name="Adam Admin", organization=aurillac)
    ns.group = factories.group(name="Comité des fêtes", visibility="private", join_policy="request",
                               owner=ns.owner, members=[ns.author, ns.member], admins=[ns.group_admin])
    return ns


def make_post(author, body, group=None, audience=None) -> Post:
    """A post written through the service (for tests about what happens next)."""
    post = services.create_post(author, body, audience or network_audience(), group)
    db.session.commit()
    return post


def notifications_of(user, post=None, type_=None) -> list[Notification]:
    db.session.expire_all()
    query = sa.select(Notification).where(Notification.user_id == user.id)
    if post is not None:
        query = query.where(Notification.object_kind == "feed.post", Notification.object_id == post.id)
    if type_ is not None:
        query = query.where(Notification.type == type_)
    return db.session.scalars(query).all()


def in_page(resp, post) -> bool:
    return f'id="publication-{post.id}"' in resp.get_data(as_text=True)


def feed_widget(resp) -> str:
    """The HTML of the dashboard's « Derniers messages du fil » widget."""
    match = re.search(r"<section\b(?:(?!</section>).)*?Derniers messages du fil.*?</section>",
                      resp.get_data(as_text=True), flags=re.S)
    assert match, "the feed widget is not on the dashboard"
    return match.group(0)


def reload(post) -> Post:
    db.session.expire_all()
    return db.session.get(Post, post.id)


# -- restricted posts -----------------------------------------------------------------------------

RESTRICTIONS = {
    # written in the group's « Fil » tab
    "fil_du_groupe": lambda net: {"group_id": str(net.group.id)},
    # written in the network feed, « Visible par » the group
    "audience_groupe": lambda net: {"audience": f"group:{net.group.id}"},
    # « Visible par » the members of the other office
    "organisation": lambda net: {"audience": f"org:{net.aurillac.id}"},
    # « Visible par » two chosen people
    "personnes_choisies": lambda net: {"audience": [f"user:{net.member.id}", f"user:{net.owner.id}"]},
}


def publish_restricted(as_, net, kind):
    """The author publishes a restricted post with an image and a PDF, mentioning the outsider: the
    form warns first, and the post is published once the author confirms."""
    c = as_(net.author)
    body = f"Compte rendu confidentiel ({kind}) : @{net.outsider.name} n'est pas concerné."
    fields = RESTRICTIONS[kind](net)

    def send(**extra):
        return post_as(c, body, images=[(png_bytes(), "plan.png")], files=[(pdf_bytes(), "budget.pdf")],
                       **fields, **extra)

    resp = send()
    assert resp.status_code == 200
    assert "ne verront pas ce message" in text(resp)
    assert f"<li>{net.outsider.name}</li>" in resp.get_data(as_text=True)
    assert post_count() == 0
    resp = send(confirm_mentions="y")
    assert resp.status_code == 302, text(resp)[:500]
    post = last_post()
    assert post.body == body and len(post.attachments) == 2
    # A newer post shared with everyone: a « Voir plus » page starts after it.
    newer = make_post(net.admin, "Annonce pour tout le réseau")
    return post, newer


def assert_invisible(c, post, newer):
    """``post`` does not exist for the person of client ``c`` (who does see ``newer``)."""
    for filtre in FILTERS:
        resp = c.get("/feed/", query_string={"filtre": filtre})
        assert resp.status_code == 200
        assert not in_page(resp, post), f"visible in the filter {filtre}"
        assert "confidentiel" not in text(resp), f"its text shows in the filter {filtre}"
    assert in_page(c.get("/feed/"), newer)  # the feed itself works for them
    assert c.get(f"/feed/{post.id}").status_code == 404
    assert "Page introuvable" in text(c.get(f"/feed/{post.id}"))
    assert c.get(f"/feed/{post.id}/jaime").status_code == 404
    for a in post.attachments:
        assert c.get(f"/feed/fichiers/{a.id}").status_code == 404
        assert c.get(f"/feed/fichiers/{a.id}?telecharger=1").status_code == 404
        assert c.get(f"/feed/fichiers/{a.id}/miniature").status_code == 404
    dashboard = c.get("/")
    assert f'href="/feed/{newer.id}"' in feed_widget(dashboard)
    assert f'href="/feed/{post.id}"' not in dashboard.get_data(as_text=True)
    assert "confidentiel" not in text(dashboard)  # nor in any other widget (notifications…)
    for filtre in ("tout", "fichiers", "mentions"):
        more = c.get("/feed/", query_string={"fragment": "1", "apres": encode_cursor(newer), "filtre": filtre})
        assert more.status_code == 200
        assert not in_page(more, post), f"visible in « Voir plus » ({filtre})"
        assert "confidentiel" not in text(more)
    # Acting on it is as impossible as seeing it.
    assert action(c, f"/feed/{post.id}/jaime").status_code == 404
    assert action(c, f"/feed/{post.id}/commenter", body="Je passe par là").status_code == 404
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Like).where(Like.post_id == post.id)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Comment).where(Comment.post_id == post.id)) == 0


def assert_visible(c, post, newer):
    for filtre in ("tout", "fichiers"):
        assert in_page(c.get("/feed/", query_string={"filtre": filtre}), post), f"missing from the filter {filtre}"
    page = c.get(f"/feed/{post.id}")
    assert page.status_code == 200 and "confidentiel" in text(page)
    for a in post.attachments:
        resp = c.get(f"/feed/fichiers/{a.id}")
        assert resp.status_code == 200
        resp.close()
        if a.is_image:
            resp = c.get(f"/feed/fichiers/{a.id}/miniature")
            assert resp.status_code == 200 and resp.mimetype.startswith("image/")
            resp.close()
    assert f'href="/feed/{post.id}"' in feed_widget(c.get("/"))
    assert in_page(c.get("/feed/", query_string={"fragment": "1", "apres": encode_cursor(newer)}), post)


@pytest.mark.parametrize("kind", RESTRICTIONS)
def test_a_restricted_post_is_invisible_to_whoever_is_not_in_its_audience(kind, as_, net):
    post, newer = publish_restricted(as_, net, kind)
    assert_invisible(as_(net.outsider), post, newer)
    # Its audience, animateurs and admins see it, and so does its author.
    for who in (net.member, net.owner, net.animateur, net.admin, net.author):
        assert_visible(as_(who), post, newer)


@pytest.mark.parametrize("kind", RESTRICTIONS)
def test_a_mentioned_person_who_cannot_see_the_post_is_not_notified(kind, as_, net):
    post, _newer = publish_restricted(as_, net, kind)
    assert notifications_of(net.outsider, post) == []
    # The audience is told (the control that notifications were sent at all).
    expected = "feed.group_post" if kind == "fil_du_groupe" else "feed.new_post"
    assert [n.type for n in notifications_of(net.member, post)] == [expected]
    # A comment mentioning the outsider does not tell them either; mentioning the member does.
    c = as_(net.owner)
    resp = action(c, f"/feed/{post.id}/commenter", body=f"Merci ! @{net.outsider.name} et @{net.member.name}")
    assert resp.status_code == 302
    assert notifications_of(net.outsider, post) == []
    assert "feed.mention" in [n.type for n in notifications_of(net.member, post)]
    # The outsider's bell page has nothing about it either.
    page = as_(net.outsider).get("/notifications/")
    assert page.status_code == 200 and "confidentiel" not in text(page)


def test_a_post_mentioning_someone_who_sees_it_is_published_without_warning(as_, net):
    c = as_(net.author)
    resp = post_as(c, f"Bienvenue @{net.member.name}", audience=f"group:{net.group.id}")
    assert resp.status_code == 302
    post = last_post()
    assert [n.type for n in notifications_of(net.member, post)] == ["feed.mention"]  # once, of the mention


# -- group tabs -------------------------------------------------------------------------------------

def test_a_groups_feed_tab_is_404_when_secret_403_when_private_to_a_non_member(as_, net, factories):
    secret = factories.group(name="Cellule de crise", visibility="secret", join_policy="invitation",
                             owner=net.owner, members=[net.member])
    public = factories.group(name="Randonneurs", visibility="public", owner=net.owner)
    in_secret = make_post(net.member, "Ordre du jour secret", group=secret)
    outsider = as_(net.outsider)
    assert outsider.get(f"/feed/groupe/{secret.id}").status_code == 404
    assert outsider.get(f"/feed/groupe/{net.group.id}").status_code == 403
    assert "Accès refusé" in text(outsider.get(f"/feed/groupe/{net.group.id}"))
    assert outsider.get(f"/feed/groupe/{public.id}").status_code == 200
    assert outsider.get(f"/feed/groupe/{secret.id}?fragment=1").status_code == 404
    assert outsider.get(f"/feed/groupe/{net.group.id}?fragment=1").status_code == 403
    assert outsider.get(f"/feed/{in_secret.id}").status_code == 404
    member = as_(net.member)
    assert member.get(f"/feed/groupe/{net.group.id}").status_code == 200
    resp = member.get(f"/feed/groupe/{secret.id}")
    assert resp.status_code == 200 and in_page(resp, in_secret)
    # Animateurs see every group's tab.
    assert as_(net.animateur).get(f"/feed/groupe/{secret.id}").status_code == 200


def test_only_members_publish_in_a_groups_feed(as_, net, factories):
    secret = factories.group(name="Cellule de crise", visibility="secret", join_policy="invitation",
                             owner=net.owner)
    public = factories.group(name="Randonneurs", visibility="public", owner=net.owner)
    c = as_(net.outsider)
    resp = post_as(c, "Je m'invite", group_id=str(net.group.id))
    assert resp.status_code == 400
    assert "Seuls les membres du groupe peuvent y publier." in text(resp)
    resp = post_as(c, "Je m'invite", group_id=str(public.id))
    assert resp.status_code == 400
    assert "Seuls les membres du groupe peuvent y publier." in text(resp)
    assert post_as(c, "Je m'invite", group_id=str(secret.id)).status_code == 404
    # Nor share with a group one is not in from the network feed.
    resp = post_as(c, "Je m'invite", audience=f"group:{net.group.id}")
    assert resp.status_code == 400
    assert "Vous ne pouvez pas partager avec un groupe dont vous n'êtes pas membre." in text(resp)
    assert post_count() == 0
    # A member does.
    assert post_as(as_(net.member), "Réunion lundi", group_id=str(net.group.id)).status_code == 302
    assert last_post().group_id == net.group.id


# -- edit, delete ---------------------------------------------------------------------------------------

def test_only_the_author_edits_a_post(as_, net):
    post = make_post(net.author, "Texte d'origine", group=net.group)
    for who in (net.member, net.owner, net.group_admin, net.animateur, net.admin):
        c = as_(who)
        assert c.get(f"/feed/{post.id}").status_code == 200
        assert f"/feed/{post.id}/modifier" not in c.get(f"/feed/{post.id}").get_data(as_text=True)
        assert c.get(f"/feed/{post.id}/modifier").status_code == 403
        resp = action(c, f"/feed/{post.id}/modifier", body="Texte réécrit")
        assert resp.status_code == 403 and "Accès refusé" in text(resp)
    assert reload(post).body == "Texte d'origine" and reload(post).edited_at is None
    c = as_(net.author)
    assert f"/feed/{post.id}/modifier" in c.get(f"/feed/{post.id}").get_data(as_text=True)
    assert c.get(f"/feed/{post.id}/modifier").status_code == 200
    assert action(c, f"/feed/{post.id}/modifier", body="Texte corrigé").status_code == 302
    assert reload(post).body == "Texte corrigé"


def test_the_author_or_an_admin_deletes_a_post(as_, net):
    post = make_post(net.author, "À supprimer", group=net.group)
    for who in (net.member, net.owner, net.group_admin, net.animateur):
        resp = action(as_(who), f"/feed/{post.id}/supprimer")
        assert resp.status_code == 403, who.name
    assert reload(post) is not None
    assert action(as_(net.author), f"/feed/{post.id}/supprimer").status_code == 302
    assert reload(post) is None
    other = make_post(net.author, "Hors charte")
    assert action(as_(net.admin), f"/feed/{other.id}/supprimer").status_code == 302
    assert reload(other) is None


def test_only_the_author_edits_a_comment_and_the_author_or_an_admin_deletes_it(as_, net):
    post = make_post(net.author, "Sujet")
    c = as_(net.member)
    assert action(c, f"/feed/{post.id}/commenter", body="Mon avis").status_code == 302
    comment = db.session.scalar(sa.select(Comment).where(Comment.post_id == post.id))
    for who in (net.author, net.animateur, net.admin):
        assert as_(who).get(f"/feed/commentaires/{comment.id}/modifier").status_code == 403
    for who in (net.author, net.animateur):
        assert action(as_(who), f"/feed/commentaires/{comment.id}/supprimer").status_code == 403
    assert c.get(f"/feed/commentaires/{comment.id}/modifier").status_code == 200
    assert action(as_(net.admin), f"/feed/commentaires/{comment.id}/supprimer").status_code == 302
    db.session.expire_all()
    assert db.session.get(Comment, comment.id) is None


# -- pin, hide, unhide ------------------------------------------------------------------------------

MODERATORS = ("owner", "group_admin", "animateur", "admin")
NOT_MODERATORS = ("member", "author", "outsider")


@pytest.mark.parametrize("role", MODERATORS + NOT_MODERATORS)
def test_pin_hide_and_unhide_a_groups_post(role, as_, net, factories):
    public = factories.group(name="Randonneurs", visibility="public", owner=net.owner, members=[net.author, net.member],
                             admins=[net.group_admin])
    post = make_post(net.author, "Sortie dimanche", group=public)
    c = as_(getattr(net, role))
    allowed = role in MODERATORS
    expected = 302 if allowed else 403
    assert action(c, f"/feed/{post.id}/epingler", pinned="1").status_code == expected
    assert (reload(post).pinned_at is not None) is allowed
    assert action(c, f"/feed/{post.id}/masquer", reason="Hors sujet").status_code == expected
    assert (reload(post).hidden_at is not None) is allowed
    if not allowed:
        services.hide_post(net.animateur, reload(post), "Hors sujet")
        db.session.commit()
        # The author still sees their hidden post, and may not unhide it; others do not see it.
        assert action(c, f"/feed/{post.id}/afficher").status_code == (403 if role == "author" else 404)
    else:
        assert action(c, f"/feed/{post.id}/afficher").status_code == 302
    assert (reload(post).hidden_at is None) is allowed
    # The moderation buttons show to who may use them.
    page = c.get(f"/feed/{post.id}").get_data(as_text=True)
    assert (f"/feed/{post.id}/epingler" in page) is allowed


@pytest.mark.parametrize("role", ("owner", "group_admin", "member"))
def test_group_managers_do_not_moderate_posts_outside_their_group(role, as_, net):
    post = make_post(net.author, "Dans le fil du réseau")
    c = as_(getattr(net, role))
    assert action(c, f"/feed/{post.id}/epingler", pinned="1").status_code == 403
    assert action(c, f"/feed/{post.id}/masquer", reason="Hors sujet").status_code == 403
    assert action(c, f"/feed/{post.id}/afficher").status_code == 403
    assert reload(post).pinned_at is None and reload(post).hidden_at is None
    # Even a post only shared with their group (from the network feed) is not « in » their group.
    shared = make_post(net.author, "Pour le comité", audience=get_audience([("group", net.group.id)]))
    assert action(c, f"/feed/{shared.id}/epingler", pinned="1").status_code == 403


def test_hiding_needs_a_reason(as_, net):
    post = make_post(net.author, "Sujet")
    c = as_(net.animateur)
    resp = action(c, f"/feed/{post.id}/masquer", reason="  ")
    assert resp.status_code == 302
    assert "Indiquez la raison : l'auteur la recevra." in text(c.get(resp.headers["Location"]))
    assert reload(post).hidden_at is None
    assert notifications_of(net.author, post, "feed.post_hidden") == []


# -- hidden posts ---------------------------------------------------------------------------------------

def test_a_hidden_post_is_seen_only_by_its_author_with_the_reason_and_by_moderators(as_, net):
    post = make_post(net.author, "Vente de billets au marché noir", group=net.group)
    newer = make_post(net.admin, "Annonce pour tout le réseau")
    member = as_(net.member)
    assert member.get(f"/feed/{post.id}").status_code == 200
    assert action(as_(net.animateur), f"/feed/{post.id}/masquer", reason="Contraire à la charte").status_code == 302

    assert member.get(f"/feed/{post.id}").status_code == 404
    assert not in_page(member.get("/feed/"), post)
    assert not in_page(member.get(f"/feed/groupe/{net.group.id}"), post)
    assert not in_page(member.get("/feed/", query_string={"fragment": "1", "apres": encode_cursor(newer)}), post)
    widget = feed_widget(member.get("/"))
    assert f'href="/feed/{newer.id}"' in widget and "marché noir" not in widget

    author = as_(net.author)
    page = author.get(f"/feed/{post.id}")
    assert page.status_code == 200
    assert "Masquée par la modération : Contraire à la charte" in text(page)
    assert "Masquée par la modération : Contraire à la charte" in text(author.get("/feed/"))
    [told] = notifications_of(net.author, post, "feed.post_hidden")
    assert "Contraire à la charte" in told.context["reason"]

    # The group's managers, animateurs and admins still see it, to unhide it.
    for who in (net.owner, net.group_admin, net.animateur, net.admin):
        c = as_(who)
        page = c.get(f"/feed/{post.id}")
        assert page.status_code == 200 and "Rendre de nouveau visible" in text(page)
        assert in_page(c.get(f"/feed/groupe/{net.group.id}"), post)

    assert action(as_(net.owner), f"/feed/{post.id}/afficher").status_code == 302
    assert member.get(f"/feed/{post.id}").status_code == 200
    assert "Masquée" not in text(member.get(f"/feed/{post.id}"))


def test_a_hidden_post_takes_no_like_and_no_comment(as_, net):
    post = make_post(net.author, "Sujet sensible")
    services.hide_post(net.animateur, post, "Hors sujet")
    db.session.commit()
    for who in (net.author, net.admin):
        c = as_(who)
        assert action(c, f"/feed/{post.id}/jaime").status_code == 403
        resp = c.post(f"/feed/{post.id}/jaime", headers={"Accept": "application/json"},
                      data={"csrf_token": csrf_token(c, "/feed/")})
        assert resp.status_code == 403
        resp = action(c, f"/feed/{post.id}/commenter", body="Pourtant…")
        assert resp.status_code == 302
        assert "Cette publication est masquée : on ne peut plus la commenter." in text(c.get(resp.headers["Location"]))
        page = c.get(f"/feed/{post.id}")
        assert "J'aime" not in text(page).replace("0 j'aime", "")  # no like button
        assert 'name="body"' not in page.get_data(as_text=True)  # no comment form
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Like).where(Like.post_id == post.id)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Comment).where(Comment.post_id == post.id)) == 0
    assert reload(post).like_count == 0 and reload(post).comment_count == 0
