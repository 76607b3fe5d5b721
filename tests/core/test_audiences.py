"""The one sharing model (intranet.core.audiences): shared audience rows, the plain-French
description, ``can_view`` rules, ``visible_to`` agreeing with ``can_view`` on a hand-made network,
and ``audience_recipients`` for notifications.

Shared objects live in ``test_shared_things``, a table of this module's own MetaData created for
the test and dropped after (the app's metadata never sees it)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from flask_login import AnonymousUserMixin

from intranet.core.audiences import (
    Audience,
    audience_recipients,
    can_view,
    describe,
    get_audience,
    network_audience,
    visible_to,
)
from intranet.extensions import db
from tests.shared_things import Thing


def shared(targets, author=None):
    """An object as ``can_view`` sees it: ``audience_id``, ``author_id`` and ``audience``."""
    audience = get_audience(targets)
    db.session.commit()
    return SimpleNamespace(audience_id=audience.id, author_id=getattr(author, "id", None),
                           audience=db.session.get(Audience, audience.id))


def audience_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Audience))


# -- shared audience rows -------------------------------------------------------------------

def test_same_entries_share_one_row_whatever_the_order(app):
    a = get_audience([("org", 1), ("user", 2), ("group", 3)])
    b = get_audience([("group", 3), ("user", "2"), ("org", 1), ("org", 1)])
    db.session.commit()
    assert a.id == b.id
    assert a.targets() == {("org", 1), ("user", 2), ("group", 3)}
    assert audience_count() == 1
    c = get_audience([("org", 1), ("user", 2)])
    db.session.commit()
    assert c.id != a.id and audience_count() == 2


def test_empty_or_network_means_the_whole_network(app):
    empty = get_audience([])
    network = network_audience()
    with_network = get_audience([("network", 0), ("org", 4)])
    db.session.commit()
    assert empty.id == network.id == with_network.id
    assert network.targets() == {("network", 0)}
    assert audience_count() == 1


# -- describe(): who will see it, in French ---------------------------------------------------

def test_describe_the_network(app):
    assert describe(network_audience()) == "Tout le réseau"
    assert describe([]) == "Tout le réseau"
    assert describe({("network", 0), ("user", 1)}) == "Tout le réseau"


def test_describe_organizations(make_org):
    vannes = make_org(name="Office de tourisme de Vannes")
    adt = make_org(name="ADT du Morbihan")
    assert describe({("org", vannes.id)}) == "les membres de Office de tourisme de Vannes"
    assert describe(get_audience({("org", vannes.id), ("org", adt.id)})) == \
        "les membres de ADT du Morbihan et les membres de Office de tourisme de Vannes"


def test_describe_groups(factories):
    velo = factories.group(name="Accueil vélo")
    comite = factories.group(name="Comité", visibility="private")
    assert describe({("group", velo.id)}) == "le groupe « Accueil vélo »"
    assert describe({("group", velo.id), ("group", comite.id)}) == \
        "le groupe « Accueil vélo » et le groupe « Comité »"


def test_describe_up_to_three_people_by_name(make_user):
    lea, marc, zoe = make_user(name="Léa"), make_user(name="Marc"), make_user(name="Zoé")
    assert describe({("user", marc.id)}) == "Marc"
    assert describe({("user", zoe.id), ("user", lea.id), ("user", marc.id)}) == "Léa, Marc et Zoé"


def test_describe_many_people_as_a_count(make_user):
    people = [make_user() for _ in range(4)]
    assert describe({("user", p.id) for p in people}) == "4 personnes choisies"


def test_describe_a_mix(make_org, make_user, factories):
    org = make_org(name="Office de Carnac")
    group = factories.group(name="Randonnée")
    lea = make_user(name="Léa Martin")
    assert describe({("user", lea.id), ("group", group.id), ("org", org.id)}) == \
        "les membres de Office de Carnac, le groupe « Randonnée » et Léa Martin"


# -- can_view ---------------------------------------------------------------------------------

@pytest.fixture
def net(make_org, make_user, factories):
    """A small network: two offices, members, a deactivated member, an animateur, an admin and
    one group of each visibility."""
    vannes, auray = make_org(name="Office de Vannes"), make_org(name="Office d'Auray")
    n = SimpleNamespace(vannes=vannes, auray=auray)
    n.alice = make_user(name="Alice", organization=vannes)
    n.bruno = make_user(name="Bruno", organization=vannes)
    n.chloe = make_user(name="Chloé", organization=auray)
    n.denis = make_user(name="Denis", organization=auray)
    n.gone = make_user(name="Ancien", organization=vannes, active=False)
    n.animateur = make_user(name="Anim", role="animateur", organization=auray)
    n.admin = make_user(name="Admin", role="admin", organization=auray)
    n.public = factories.group(name="Public", visibility="public", owner=n.alice)
    n.private = factories.group(name="Privé", visibility="private", owner=n.chloe, members=[n.gone])
    n.secret = factories.group(name="Secret", visibility="secret", owner=n.bruno, members=[n.denis])
    n.people = [n.alice, n.bruno, n.chloe, n.denis, n.gone, n.animateur, n.admin]
    return n


def test_network_is_seen_by_every_active_person(net):
    obj = shared([])
    assert all(can_view(u, obj) for u in net.people if u.is_active)
    assert not can_view(net.gone, obj)
    assert not can_view(AnonymousUserMixin(), obj)


def test_author_always_sees(net):
    obj = shared({("user", net.chloe.id)}, author=net.alice)
    assert can_view(net.alice, obj) and can_view(net.chloe, obj)
    assert not can_view(net.bruno, obj)


def test_admins_and_animateurs_always_see(net):
    obj = shared({("group", net.secret.id)}, author=net.bruno)
    assert can_view(net.admin, obj) and can_view(net.animateur, obj)


def test_organization_entry(net):
    obj = shared({("org", net.vannes.id)})
    assert {u.name for u in net.people if can_view(u, obj)} == {"Alice", "Bruno", "Anim", "Admin"}


def test_person_entry(net):
    obj = shared({("user", net.denis.id)})
    assert {u.name for u in net.people if can_view(u, obj)} == {"Denis", "Anim", "Admin"}


def test_group_entries(net):
    private = shared({("group", net.private.id)})
    assert {u.name for u in net.people if can_view(u, private)} == {"Chloé", "Anim", "Admin"}
    secret = shared({("group", net.secret.id)})
    assert {u.name for u in net.people if can_view(u, secret)} == {"Bruno", "Denis", "Anim", "Admin"}
    # A public group's content is for the whole network, members or not.
    public = shared({("group", net.public.id)})
    assert {u.name for u in net.people if can_view(u, public)} == {"Alice", "Bruno", "Chloé", "Denis", "Anim",
                                                                   "Admin"}


def test_deactivated_people_see_nothing_not_even_their_own(net):
    own = shared({("group", net.private.id)}, author=net.gone)
    assert not can_view(net.gone, own)
    assert not can_view(net.gone, shared({("user", net.gone.id)}))


def test_leaving_a_group_ends_access_at_once(net):
    from intranet.groups import services

    obj = shared({("group", net.secret.id)})
    assert can_view(net.denis, obj)
    services.leave(net.denis, net.secret)
    db.session.commit()
    assert not can_view(net.denis, obj)


# -- visible_to agrees with can_view --------------------------------------------------------

def test_visible_to_returns_exactly_what_can_view_allows(net, things):
    audiences = [
        [], {("org", net.vannes.id)}, {("org", net.auray.id), ("user", net.alice.id)},
        {("user", net.denis.id)}, {("user", net.gone.id)}, {("group", net.public.id)},
        {("group", net.private.id)}, {("group", net.secret.id)},
        {("group", net.private.id), ("group", net.secret.id)}, {("group", net.secret.id), ("org", net.auray.id)},
    ]
    authors = [None, net.alice, net.chloe, net.gone]
    rows = []
    for targets in audiences:
        audience = get_audience(targets)
        for author in authors:
            rows.append(Thing(audience_id=audience.id, author_id=getattr(author, "id", None)))
    db.session.add_all(rows)
    db.session.commit()
    objs = [SimpleNamespace(id=t.id, audience_id=t.audience_id, author_id=t.author_id,
                            audience=db.session.get(Audience, t.audience_id)) for t in rows]
    seen_counts = {}
    for user in [*net.people, AnonymousUserMixin()]:
        in_sql = set(db.session.scalars(visible_to(user, sa.select(Thing.id), Thing)))
        in_python = {o.id for o in objs if can_view(user, o)}
        assert in_sql == in_python, getattr(user, "name", "anonyme")
        seen_counts[getattr(user, "name", "anonyme")] = len(in_sql)
    # The network is not trivial: people see different amounts, managers everything, the
    # deactivated and anonymous nothing.
    assert seen_counts["Admin"] == seen_counts["Anim"] == len(rows)
    assert seen_counts["Ancien"] == seen_counts["anonyme"] == 0
    assert 0 < seen_counts["Bruno"] < len(rows) and seen_counts["Bruno"] != seen_counts["Chloé"]


def test_visible_to_keeps_the_rest_of_the_query(net, things):
    mine = get_audience({("user", net.alice.id)})
    other = get_audience({("user", net.chloe.id)})
    db.session.add_all([Thing(audience_id=mine.id), Thing(audience_id=other.id), Thing(audience_id=mine.id)])
    db.session.commit()
    query = visible_to(net.alice, sa.select(Thing.id).order_by(Thing.id.desc()).limit(1), Thing)
    assert db.session.scalars(query).all() == [3]


# -- notification recipients ----------------------------------------------------------------

@pytest.mark.parametrize("name", ["network", "org", "people", "private", "secret", "public", "mix"])
def test_audience_recipients_are_the_active_people_who_can_view(net, name):
    targets = {
        "network": [],
        "org": {("org", net.vannes.id)},
        "people": {("user", net.denis.id), ("user", net.gone.id)},
        "private": {("group", net.private.id)},
        "secret": {("group", net.secret.id)},
        "public": {("group", net.public.id)},
        "mix": {("group", net.private.id), ("user", net.alice.id), ("org", net.auray.id)},
    }[name]
    obj = shared(targets)
    recipients = set(db.session.scalars(audience_recipients(obj.audience)))
    # Admins and animateurs see everything but are notified only when the audience names them.
    members = [u for u in net.people if u.role == "membre"]
    assert recipients & {u.id for u in members} == {u.id for u in members if u.is_active and can_view(u, obj)}
    assert net.gone.id not in recipients
    assert recipients <= {u.id for u in net.people if can_view(u, obj)}


def test_audience_recipients_includes_managers_the_audience_names(net):
    everyone = set(db.session.scalars(audience_recipients(network_audience())))
    assert everyone == {u.id for u in net.people if u.is_active}
    auray = set(db.session.scalars(audience_recipients(get_audience({("org", net.auray.id)}))))
    assert auray == {net.chloe.id, net.denis.id, net.animateur.id, net.admin.id}
    secret = set(db.session.scalars(audience_recipients(get_audience({("group", net.secret.id)}))))
    assert secret == {net.bruno.id, net.denis.id}
