"""Property: over random networks (organizations, people with random roles and active flags,
groups of every visibility with random members, shared objects with random audiences and
authors), ``visible_to`` returns exactly the objects for which ``can_view`` is true, and
``audience_recipients`` exactly the active people an audience lets in.

Runs on SQLite, and on PostgreSQL with INTRANET_TEST_DB=postgres (CI's second pass).

The shared objects live in ``test_shared_things``, a table of this module's own MetaData,
created for the test and dropped after: the app's metadata (compared with the migrated
database by the migration test) never sees it.
"""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intranet.core.audiences import (
    NETWORK,
    ORG,
    USER,
    Audience,
    audience_recipients,
    can_view,
    get_audience,
    sees_everything,
    user_matches,
    visible_to,
)
from intranet.core.models import Organization, User
from intranet.core.timeutil import utcnow
from intranet.extensions import db
from intranet.groups.models import Group, Membership
from tests.conftest import USE_POSTGRES
from tests.shared_things import Thing

# Children first: emptied inside each example (the ``app`` fixture empties the database once per
# test, Hypothesis runs many examples in one test).
_TABLES = ("test_shared_things", "core_audience_entries", "core_audiences", "groups_requests",
           "groups_memberships", "groups_groups", "core_users", "core_organizations")

ROLES = ("membre",) * 6 + ("animateur", "admin")


@st.composite
def networks(draw):
    n_orgs = draw(st.integers(1, 3))
    users = draw(st.lists(st.tuples(st.integers(0, n_orgs - 1), st.sampled_from(ROLES),
                                    st.sampled_from((True,) * 4 + (False,))),
                          min_size=1, max_size=7))
    people = st.integers(0, len(users) - 1)
    groups = draw(st.lists(st.tuples(st.sampled_from(("public", "private", "secret")),
                                     st.sets(people, max_size=len(users))), max_size=4))
    audience = st.tuples(
        st.sampled_from((True, False, False)),  # "Tout le réseau" about 1 in 3
        st.sets(st.integers(0, n_orgs - 1), max_size=2),
        st.sets(st.integers(0, max(len(groups) - 1, 0)), max_size=min(len(groups), 3)),
        st.sets(people, max_size=3),
    )
    things = draw(st.lists(st.tuples(audience, st.none() | people), min_size=1, max_size=8))
    return SimpleNamespace(n_orgs=n_orgs, users=users, groups=groups, things=things)


def _build(net):
    """Insert the network; returns the people (User rows) and the things (Thing rows)."""
    with db.engine.begin() as conn:
        for name in _TABLES:
            conn.execute(sa.text(f"DELETE FROM {name}"))
    db.session.expire_all()
    now = utcnow()
    org_ids = [db.session.execute(sa.insert(Organization).values(name=f"Office {i}", kind="office", created_at=now)
                                  .returning(Organization.id)).scalar_one() for i in range(net.n_orgs)]
    user_ids = [db.session.execute(sa.insert(User).values(
        name=f"Personne {i}", email=f"p{i}@exemple.fr", role=role, organization_id=org_ids[org],
        is_active_account=active, session_version=1, created_at=now).returning(User.id)).scalar_one()
        for i, (org, role, active) in enumerate(net.users)]
    group_ids = []
    for i, (visibility, members) in enumerate(net.groups):
        gid = db.session.execute(sa.insert(Group).values(name=f"Groupe {i}", visibility=visibility,
                                                         join_policy="open", created_at=now)
                                 .returning(Group.id)).scalar_one()
        group_ids.append(gid)
        if members:
            db.session.execute(sa.insert(Membership), [
                {"group_id": gid, "user_id": user_ids[m], "role": "member", "created_at": now} for m in members])
    rows = []
    for k, ((network, orgs, groups, chosen), author) in enumerate(net.things):
        targets = [(NETWORK, 0)] if network else []
        targets += [(ORG, org_ids[o]) for o in orgs]
        targets += [("group", group_ids[g]) for g in groups if g < len(group_ids)]
        targets += [(USER, user_ids[u]) for u in chosen]
        audience = get_audience(targets)
        rows.append({"audience_id": audience.id, "author_id": None if author is None else user_ids[author],
                     "created_at": now - timedelta(minutes=k)})
    db.session.execute(sa.insert(Thing), rows)
    db.session.commit()
    people = db.session.scalars(sa.select(User).order_by(User.id)).all()
    things = db.session.scalars(sa.select(Thing).order_by(Thing.id)).all()
    for t in things:  # what a Shared model's ``audience`` relationship gives
        t.audience = db.session.get(Audience, t.audience_id)
    return people, things


@settings(max_examples=30 if USE_POSTGRES else 60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(net=networks())
@pytest.mark.usefixtures("things")
def test_visible_to_agrees_with_can_view(net):
    people, things = _build(net)
    assert len(things) == len(net.things)

    for user in people:
        in_sql = set(db.session.scalars(visible_to(user, sa.select(Thing.id), Thing)))
        in_python = {t.id for t in things if can_view(user, t)}
        assert in_sql == in_python, (user.id, user.role, user.is_active, user_matches(user))

        # The same through the query shape plugins use for lists: newest first, limited.
        newest = db.session.scalars(visible_to(user, sa.select(Thing).order_by(Thing.created_at.desc(),
                                                                               Thing.id.desc()).limit(3), Thing)).all()
        expected = sorted((t for t in things if t.id in in_python), key=lambda t: (t.created_at, t.id), reverse=True)
        assert [t.id for t in newest] == [t.id for t in expected[:3]]

    # Notification recipients: the active people the audience's entries let in. Anyone who may
    # see an author-less object of that audience, except that admins and animateurs see
    # everything without being in every audience (they are recipients only when an entry
    # names them, like anyone else).
    for audience in {t.audience_id: t.audience for t in things}.values():
        obj = SimpleNamespace(audience_id=audience.id, author_id=None, audience=audience)
        recipients = set(db.session.scalars(audience_recipients(audience)))
        viewers = {u.id for u in people if u.is_active and can_view(u, obj)}
        in_audience = {u.id for u in people if u.is_active and audience.targets() & user_matches(u)}
        assert recipients == in_audience, audience.targets()
        assert recipients <= viewers
        assert {u.id for u in people if not sees_everything(u)} & viewers <= recipients
