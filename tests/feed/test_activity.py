"""Activity items contributed by other plugins through ``core.signals``: one item per object,
updated when sent again, removed when withdrawn, shown only to its audience; the groups plugin's
« Nouveau groupe » item, withdrawn when the group becomes secret."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from intranet.core.signals import activity_published, activity_withdrawn
from intranet.extensions import db
from intranet.feed.models import Post
from intranet.groups.models import Group
from tests.conftest import csrf_token
from tests.feed.conftest import text


def items(key: str | None = None) -> list[Post]:
    db.session.expire_all()
    query = sa.select(Post).where(Post.activity_key.is_not(None))
    if key:
        query = query.where(Post.activity_key == key)
    return db.session.scalars(query.order_by(Post.id)).all()


def shown(resp) -> list[int]:
    return [int(i) for i in re.findall(r'<article[^>]*\bid="publication-(\d+)"', resp.get_data(as_text=True))]


def share_document(actor, object_id=7, title="Guide des randonnées 2026", targets=(("network", 0),), **extra):
    """What a documents plugin sends when a file is shared (then its view commits)."""
    activity_published.send(None, key="documents.shared", object_id=object_id, audience_targets=list(targets),
                            actor=actor, data={"title": title, "url": f"/documents/{object_id}"}, **extra)
    db.session.commit()


@pytest.fixture
def reader(make_user):
    return make_user(name="Lucie Lecteur")


def test_publishing_creates_one_item_sending_again_updates_it_withdrawing_removes_it(reader, make_user, as_):
    actor = make_user(name="Denis Documentaliste")
    share_document(actor)
    [item] = items("documents.shared")
    assert (item.object_id, item.author_id, item.data["title"]) == (7, actor.id, "Guide des randonnées 2026")
    c = as_(reader)
    resp = c.get("/feed/")
    assert shown(resp) == [item.id]
    page = text(resp)
    assert "Guide des randonnées 2026" in page and "Denis Documentaliste" in page
    assert 'href="/documents/7"' in resp.get_data(as_text=True)

    # The document is renamed: the same item now shows the new title.
    share_document(actor, title="Guide des randonnées 2026 (mis à jour)")
    [again] = items("documents.shared")
    assert again.id == item.id and again.data["title"] == "Guide des randonnées 2026 (mis à jour)"
    resp = c.get("/feed/")
    assert shown(resp) == [item.id]
    assert text(resp).count("Guide des randonnées 2026") == 1

    # Another document is another item.
    share_document(actor, object_id=8, title="Tarifs des visites")
    assert len(items("documents.shared")) == 2

    activity_withdrawn.send(None, key="documents.shared", object_id=7)
    db.session.commit()
    assert [i.object_id for i in items("documents.shared")] == [8]
    page = text(c.get("/feed/"))
    assert "Guide des randonnées" not in page and "Tarifs des visites" in page
    assert c.get(f"/feed/{item.id}").status_code == 404
    # Withdrawing what is not there is harmless.
    activity_withdrawn.send(None, key="documents.shared", object_id=7)
    db.session.commit()
    assert len(items("documents.shared")) == 1


def test_an_item_shows_only_to_its_audience(reader, make_user, factories, as_):
    owner, member = make_user(), make_user()
    committee = factories.group(name="Comité de pilotage", visibility="private", owner=owner, members=[member])
    share_document(owner, title="Budget prévisionnel", targets=[("group", committee.id)])
    [item] = items("documents.shared")

    outsider = as_(reader)
    assert "Budget prévisionnel" not in text(outsider.get("/feed/"))
    assert item.id not in shown(outsider.get("/feed/"))
    assert outsider.get(f"/feed/{item.id}").status_code == 404
    assert "Budget prévisionnel" not in text(outsider.get("/"))  # nor in the dashboard widget

    insider = as_(member)
    assert item.id in shown(insider.get("/feed/"))
    assert insider.get(f"/feed/{item.id}").status_code == 200
    assert "Budget prévisionnel" in text(insider.get("/"))

    # Sent again for the whole network (the document is now public): everyone sees it.
    share_document(owner, title="Budget prévisionnel", targets=[("network", 0)])
    assert item.id in shown(outsider.get("/feed/"))


def test_an_item_for_one_organization(reader, make_user, make_org, as_):
    office = make_org(name="Office de tourisme de Vannes")
    colleague = make_user(organization=office)
    share_document(make_user(organization=office), title="Planning de l'accueil", targets=[("org", office.id)])
    assert "Planning de l'accueil" in text(as_(colleague).get("/feed/"))
    assert "Planning de l'accueil" not in text(as_(reader).get("/feed/"))


def test_an_item_of_a_group_shows_in_its_tab(reader, make_user, factories, as_):
    owner = make_user()
    group = factories.group(name="Balades nature", owner=owner, members=[reader])
    share_document(owner, title="Carte des sentiers", targets=[("group", group.id)], group_id=group.id)
    [item] = items("documents.shared")
    assert shown(as_(reader).get(f"/feed/groupe/{group.id}")) == [item.id]
    assert item.id in shown(as_(reader).get("/feed/?filtre=groupes"))


def test_an_item_cannot_be_edited_and_only_an_admin_deletes_it(reader, make_user, as_):
    actor = make_user()
    share_document(actor)
    [item] = items("documents.shared")
    c = as_(actor)
    assert c.get(f"/feed/{item.id}/modifier").status_code == 403
    token = csrf_token(c, "/feed/")
    assert c.post(f"/feed/{item.id}/supprimer", data={"csrf_token": token}).status_code == 403
    assert len(items()) == 1
    admin = as_(make_user(role="admin"))
    resp = admin.post(f"/feed/{item.id}/supprimer", data={"csrf_token": csrf_token(admin, "/feed/")})
    assert resp.status_code == 302 and items() == []


# -- the groups plugin's « Nouveau groupe » -----------------------------------------------------------

def group_form(c, url: str, **fields):
    data = {"name": "Accueil vélo", "description": "Les **labellisés** Accueil vélo", "visibility": "public",
            "join_policy": "open", "csrf_token": csrf_token(c, "/groups/nouveau" if url.endswith("nouveau") else url)}
    data.update(fields)
    return c.post(url, data=data, content_type="multipart/form-data")


def test_a_new_public_group_appears_in_the_feed_and_goes_when_it_becomes_secret(reader, make_user, as_):
    animateur = make_user(role="animateur", name="Julien Animateur")
    c = as_(animateur)
    resp = group_form(c, "/groups/nouveau")
    assert resp.status_code == 302
    group = db.session.scalar(sa.select(Group).where(Group.name == "Accueil vélo"))
    [item] = items("groups.created")
    assert item.object_id == group.id

    feed = as_(reader).get("/feed/")
    page = text(feed)
    assert "Nouveau groupe : Accueil vélo" in page and "Julien Animateur" in page
    assert f'href="/groups/{group.id}"' in feed.get_data(as_text=True)
    assert "Les labellisés Accueil vélo" in page  # the description's excerpt, as plain text

    # Renamed: the same item follows.
    resp = group_form(c, f"/groups/{group.id}/parametres", name="Accueil vélo Bretagne")
    assert resp.status_code == 302
    [same] = items("groups.created")
    assert same.id == item.id
    assert "Nouveau groupe : Accueil vélo Bretagne" in text(as_(reader).get("/feed/"))

    # Made secret: the item is withdrawn, for everyone.
    resp = group_form(c, f"/groups/{group.id}/parametres", name="Accueil vélo Bretagne", visibility="secret",
                      join_policy="invitation")
    assert resp.status_code == 302
    assert items("groups.created") == []
    assert "Accueil vélo" not in text(as_(reader).get("/feed/"))
    assert shown(as_(animateur).get("/feed/")) == []  # (its picker still offers the group)
    assert as_(reader).get(f"/feed/{item.id}").status_code == 404


def test_a_secret_group_never_appears_in_the_feed(reader, make_user, as_):
    c = as_(make_user(role="animateur"))
    resp = group_form(c, "/groups/nouveau", name="Cercle confidentiel", visibility="secret", join_policy="invitation")
    assert resp.status_code == 302
    assert items("groups.created") == []
    assert "Cercle confidentiel" not in text(as_(reader).get("/feed/"))


def test_a_private_group_is_announced_to_everyone(reader, make_user, as_):
    c = as_(make_user(role="animateur"))
    group_form(c, "/groups/nouveau", name="Comité de pilotage", visibility="private", join_policy="request")
    assert "Nouveau groupe : Comité de pilotage" in text(as_(reader).get("/feed/"))
