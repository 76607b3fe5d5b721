"""The reusable « Visible par » field (intranet.core.audience_field.AudienceField) and its
template macro ``audience_picker``: defaults, submitted choices, French validation errors, the
group rule, the options listed without JavaScript and the plain-French summary."""

from __future__ import annotations

import re
from contextlib import contextmanager
from types import SimpleNamespace

import pytest
from flask import render_template_string
from flask_login import login_user, logout_user
from flask_wtf import FlaskForm

from intranet.core.audience_field import AudienceField
from intranet.core.audiences import get_audience


class ShareForm(FlaskForm):
    audience = AudienceField()


@contextmanager
def as_user(app, user, values=None):
    """A request context with ``user`` logged in; ``values`` (a list) makes it a submitted POST."""
    kwargs = {"method": "POST", "data": {"audience": values}} if values is not None else {}
    with app.test_request_context("/", **kwargs):
        login_user(user)
        try:
            yield
        finally:
            logout_user()


def submit(app, user, values, form_class=ShareForm):
    with as_user(app, user, values):
        form = form_class(meta={"csrf": False})
        ok = form.validate()
        return ok, form.audience.data, list(form.audience.errors)


@pytest.fixture
def world(make_org, make_user, factories):
    w = SimpleNamespace()
    w.org = make_org(name="Office de Quiberon")
    w.other_org = make_org(name="ADT du Morbihan")
    w.membre = make_user(name="Léa Membre", organization=w.org)
    w.animateur = make_user(name="Anim Ateur", role="animateur", organization=w.other_org)
    w.colleague = make_user(name="Marc Collègue", organization=w.other_org)
    w.gone = make_user(name="Parti", active=False)
    owner = make_user()
    w.public = factories.group(name="Accueil vélo", visibility="public", owner=owner)
    w.private = factories.group(name="Comité privé", visibility="private", owner=owner)
    w.mine = factories.group(name="Mon groupe privé", visibility="private", owner=owner, members=[w.membre])
    w.secret = factories.group(name="Cercle secret", visibility="secret", owner=owner)
    return w


def test_default_is_the_whole_network(app, world):
    with as_user(app, world.membre):
        form = ShareForm(meta={"csrf": False})
        assert form.audience.data == {("network", 0)}
        assert form.audience.label.text == "Visible par"
        assert form.audience.summary() == "Tout le réseau"
        assert form.audience.audience().targets() == {("network", 0)}


def test_nothing_chosen_means_the_whole_network(app, world):
    ok, data, errors = submit(app, world.membre, [])
    assert ok and errors == []
    with as_user(app, world.membre, []):
        form = ShareForm(meta={"csrf": False})
        form.validate()
        assert form.audience.audience().targets() == {("network", 0)}


def test_submitted_choices_become_the_audience(app, world):
    values = [f"org:{world.org.id}", f"user:{world.colleague.id}", f"group:{world.public.id}"]
    ok, data, errors = submit(app, world.membre, values)
    assert ok, errors
    assert data == {("org", world.org.id), ("user", world.colleague.id), ("group", world.public.id)}
    with as_user(app, world.membre, values):
        form = ShareForm(meta={"csrf": False})
        assert form.validate()
        assert form.audience.audience().id == get_audience(data).id
        assert form.audience.summary() == \
            "les membres de Office de Quiberon, le groupe « Accueil vélo » et Marc Collègue"


@pytest.mark.parametrize("value", ["planete:1", "org:abc", "org", "user:-3", ""])
def test_malformed_or_unknown_kind_is_refused_in_french(app, world, value):
    ok, _data, errors = submit(app, world.membre, [value])
    assert not ok
    assert "Choix de visibilité invalide." in errors


def test_unknown_organization_is_refused(app, world):
    ok, _data, errors = submit(app, world.membre, [f"org:{world.org.id}", "org:99999"])
    assert not ok and errors == ["Une organisation choisie n'existe plus."]


@pytest.mark.parametrize("who", ["unknown", "deactivated"])
def test_unknown_or_deactivated_person_is_refused(app, world, who):
    ident = 99999 if who == "unknown" else world.gone.id
    ok, _data, errors = submit(app, world.membre, [f"user:{ident}"])
    assert not ok and errors == ["Une personne choisie n'existe pas ou a quitté le réseau."]


@pytest.mark.parametrize("group", ["private", "secret"])
def test_member_cannot_share_with_a_closed_group_they_are_not_in(app, world, group):
    ok, _data, errors = submit(app, world.membre, [f"group:{getattr(world, group).id}"])
    assert not ok
    assert errors == ["Vous ne pouvez pas partager avec un groupe dont vous n'êtes pas membre."]


def test_member_shares_with_their_own_private_group_and_public_groups(app, world):
    ok, data, errors = submit(app, world.membre, [f"group:{world.mine.id}", f"group:{world.public.id}"])
    assert ok, errors
    assert data == {("group", world.mine.id), ("group", world.public.id)}


def test_animateur_may_share_with_any_group(app, world):
    ok, data, errors = submit(app, world.animateur, [f"group:{world.private.id}", f"group:{world.secret.id}"])
    assert ok, errors
    assert data == {("group", world.private.id), ("group", world.secret.id)}


def test_default_group_inside_a_group(app, world):
    class GroupShareForm(FlaskForm):
        audience = AudienceField(default_group_id=world.mine.id)

    with as_user(app, world.membre):
        form = GroupShareForm(meta={"csrf": False})
        assert form.audience.data == {("group", world.mine.id)}
        assert form.audience.summary() == "le groupe « Mon groupe privé »"
    # A choice made by the author wins over the default.
    ok, data, _errors = submit(app, world.membre, [f"org:{world.org.id}"], GroupShareForm)
    assert ok and data == {("org", world.org.id)}


def test_editing_shows_the_current_audience(app, world):
    audience = get_audience({("org", world.other_org.id), ("user", world.membre.id)})
    with as_user(app, world.membre):
        form = ShareForm(obj=SimpleNamespace(audience=audience), meta={"csrf": False})
        assert form.audience.data == {("org", world.other_org.id), ("user", world.membre.id)}
        assert form.audience.summary() == "les membres de ADT du Morbihan et Léa Membre"


def test_options_list_organizations_and_the_groups_one_may_use(app, world):
    with as_user(app, world.membre):
        options = ShareForm(meta={"csrf": False}).audience.options()
    labels = [(o["group"], o["label"]) for o in options]
    assert labels[0] == ("", "Tout le réseau") and options[0]["selected"]
    assert ("Organisations", "ADT du Morbihan") in labels and ("Organisations", "Office de Quiberon") in labels
    groups = [label for kind, label in labels if kind == "Groupes"]
    assert groups == ["Accueil vélo", "Mon groupe privé"]

    with as_user(app, world.animateur):
        options = ShareForm(meta={"csrf": False}).audience.options()
    assert [o["label"] for o in options if o["group"] == "Groupes"] == \
        ["Accueil vélo", "Cercle secret", "Comité privé", "Mon groupe privé"]


def test_options_keep_the_people_already_chosen(app, world):
    values = [f"user:{world.colleague.id}", f"group:{world.public.id}"]
    with as_user(app, world.membre, values):
        options = ShareForm(meta={"csrf": False}).audience.options()
    selected = {(o["group"], o["label"]) for o in options if o["selected"]}
    assert selected == {("Personnes", "Marc Collègue"), ("Groupes", "Accueil vélo")}


PICKER = '{% from "macros/audience.html" import audience_picker %}{{ audience_picker(form.audience) }}'


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def test_picker_shows_who_will_see_it(app, world):
    with as_user(app, world.membre):
        html = render_template_string(PICKER, form=ShareForm(meta={"csrf": False}))
    assert "Visible par : Tout le réseau" in _text(html)
    assert '<option value="network:0" selected>Tout le réseau</option>' in html
    assert f'<option value="group:{world.mine.id}" >Mon groupe privé</option>' in html
    assert "Cercle secret" not in html and "Comité privé" not in html
    assert 'data-search-url="/audiences/recherche"' in html


def test_picker_shows_the_choice_and_the_errors(app, world):
    with as_user(app, world.membre, [f"org:{world.org.id}", f"user:{world.colleague.id}"]):
        form = ShareForm(meta={"csrf": False})
        assert form.validate()
        html = render_template_string(PICKER, form=form)
    assert "Visible par : les membres de Office de Quiberon et Marc Collègue" in _text(html)
    assert f'<option value="org:{world.org.id}" selected>Office de Quiberon</option>' in html

    with as_user(app, world.membre, [f"group:{world.secret.id}"]):
        form = ShareForm(meta={"csrf": False})
        assert not form.validate()
        html = render_template_string(PICKER, form=form)
    assert "is-invalid" in html
    assert "Vous ne pouvez pas partager avec un groupe dont vous n" in html
