"""Pages of the groups plugin through the test client: the list, « Mes groupes », creation and
settings, the image, the members tab and invitations, the audience picker's JSON helpers, the
profile section, access ending at once when one leaves or is removed, and bounded SQL."""

from __future__ import annotations

import html
import io
import re

import pytest
import sqlalchemy as sa
from PIL import Image

from intranet.core.models import RolePermission
from intranet.core.permissions import set_grants
from intranet.extensions import db
from intranet.groups import services
from intranet.groups.models import Group, GroupRequest, Membership
from tests.conftest import csrf_token


def text(resp) -> str:
    """The visible text of a page, as a person reads it."""
    body = resp.get_data(as_text=True)
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body))).strip()


def png(size=(60, 40), color=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def post(c, url, data=None, **kwargs):
    data = dict(data or {})
    data.setdefault("csrf_token", csrf_token(c, "/groups/"))
    return c.post(url, data=data, **kwargs)


def role_of(group, user):
    db.session.expire_all()
    return db.session.scalar(sa.select(Membership.role).where(Membership.group_id == group.id,
                                                              Membership.user_id == user.id))


# -- the list -------------------------------------------------------------------------------

@pytest.fixture
def three(make_user, factories):
    owner = make_user(name="Propriétaire")
    secret_member = make_user(name="Membre secret")
    return {
        "public": factories.group(name="Balades nature", visibility="public", owner=owner),
        "private": factories.group(name="Comité de pilotage", visibility="private", owner=owner),
        "secret": factories.group(name="Cercle confidentiel", visibility="secret", owner=owner,
                                  members=[secret_member]),
        "owner": owner, "secret_member": secret_member,
    }


def test_list_hides_secret_groups_from_non_members(three, make_user, as_):
    page = text(as_(make_user()).get("/groups/"))
    assert "Balades nature" in page and "Comité de pilotage" in page
    assert "Cercle confidentiel" not in page
    assert "Publique" in page and "Privée" in page


def test_list_shows_secret_groups_to_their_members(three, as_):
    page = text(as_(three["secret_member"]).get("/groups/"))
    assert "Cercle confidentiel" in page and "Secrète" in page
    assert "vous êtes membre" in page
    assert "Balades nature" in page


@pytest.mark.parametrize("role", ["animateur", "admin"])
def test_list_shows_every_group_to_animateurs_and_admins(three, make_user, as_, role):
    page = text(as_(make_user(role=role)).get("/groups/"))
    for name in ("Balades nature", "Comité de pilotage", "Cercle confidentiel"):
        assert name in page


def test_list_search_by_name(three, make_user, as_):
    page = text(as_(make_user()).get("/groups/?q=comit"))
    assert "Comité de pilotage" in page and "Balades nature" not in page
    page = text(as_(make_user()).get("/groups/?q=cercle"))
    assert "Cercle confidentiel" not in page and "Aucun groupe" in page


# -- « Mes groupes » --------------------------------------------------------------------------

def test_my_groups_lists_memberships_invitations_and_requests(make_user, factories, as_):
    me = make_user()
    host = make_user(name="Paul Hôte")
    factories.group(name="Oenotourisme", members=[me])
    invited_to = factories.group(name="Accueil vélo", join_policy="invitation", owner=host)
    asked = factories.group(name="Pêche à pied", join_policy="request")
    factories.group(name="Pas le mien")
    services.invite(host, invited_to, me)
    services.join(me, asked)
    db.session.commit()
    invitation = services.pending(invited_to, me, "invitation")

    c = as_(me)
    resp = c.get("/groups/mes-groupes")
    page = text(resp)
    assert "Oenotourisme" in page and "Membre · 2 membres" in page
    assert "Pas le mien" not in page
    assert "Paul Hôte vous invite dans « Accueil vélo »" in page
    assert "Vous avez demandé à rejoindre « Pêche à pied »." in page
    body = resp.get_data(as_text=True)
    assert f'action="/groups/invitations/{invitation.id}/accepter"' in body
    assert f'action="/groups/invitations/{invitation.id}/refuser"' in body

    resp = post(c, f"/groups/invitations/{invitation.id}/accepter", follow_redirects=True)
    assert "Bienvenue dans le groupe « Accueil vélo » !" in text(resp)
    assert role_of(invited_to, me) == "member"
    page = text(c.get("/groups/mes-groupes"))
    assert "vous invite" not in page
    assert "Accueil vélo" in page


def test_declining_an_invitation(make_user, factories, as_):
    me, host = make_user(), make_user()
    group = factories.group(name="Accueil vélo", join_policy="invitation", owner=host)
    services.invite(host, group, me)
    db.session.commit()
    invitation = services.pending(group, me, "invitation")
    c = as_(me)
    resp = post(c, f"/groups/invitations/{invitation.id}/refuser", follow_redirects=True)
    assert "Invitation refusée." in text(resp)
    assert role_of(group, me) is None
    assert "vous invite" not in text(c.get("/groups/mes-groupes"))


def test_nobody_else_may_answer_an_invitation(make_user, factories, as_):
    me, host = make_user(), make_user()
    group = factories.group(join_policy="invitation", owner=host)
    services.invite(host, group, me)
    db.session.commit()
    invitation = services.pending(group, me, "invitation")
    assert post(as_(make_user()), f"/groups/invitations/{invitation.id}/accepter").status_code == 404
    assert role_of(group, me) is None


# -- joining from the group page --------------------------------------------------------------

def test_join_open_group_and_ask_to_join_another(make_user, factories, as_):
    me = make_user()
    open_group = factories.group(name="Ouvert à tous", join_policy="open")
    on_request = factories.group(name="Sur demande", join_policy="request")
    c = as_(me)
    assert "Rejoindre le groupe" in text(c.get(f"/groups/{open_group.id}"))
    page = text(post(c, f"/groups/{open_group.id}/rejoindre", follow_redirects=True))
    assert "Vous avez rejoint le groupe « Ouvert à tous »." in page and "Quitter le groupe" in page
    assert role_of(open_group, me) == "member"

    assert "Demander à rejoindre" in text(c.get(f"/groups/{on_request.id}"))
    page = text(post(c, f"/groups/{on_request.id}/rejoindre", follow_redirects=True))
    assert "Votre demande a été envoyée aux administrateurs du groupe." in page
    assert "Demande envoyée" in page
    assert role_of(on_request, me) is None


def test_invitation_only_group_has_no_join_button(make_user, factories, as_):
    group = factories.group(join_policy="invitation")
    c = as_(make_user())
    page = text(c.get(f"/groups/{group.id}"))
    assert "Sur invitation" in page and "Rejoindre" not in page and "Demander à rejoindre" not in page
    page = text(post(c, f"/groups/{group.id}/rejoindre", follow_redirects=True))
    assert "Ce groupe est accessible sur invitation seulement." in page


def test_private_group_page_tells_non_members_content_is_reserved(make_user, factories, as_):
    group = factories.group(name="Comité", visibility="private", description="Le **comité** du réseau")
    resp = as_(make_user()).get(f"/groups/{group.id}")
    page = text(resp)
    assert "Le comité du réseau" in page
    assert "Le contenu de ce groupe est réservé à ses membres." in page
    assert f'href="/groups/{group.id}/membres"' not in resp.get_data(as_text=True)  # no members tab


# -- creation -------------------------------------------------------------------------------

def create_data(**fields):
    data = {"name": "Accueil vélo", "description": "Les **labellisés** Accueil vélo", "visibility": "private",
            "join_policy": "request"}
    data.update(fields)
    return data


def test_animateur_creates_a_group(make_user, as_):
    animateur = make_user(role="animateur")
    c = as_(animateur)
    assert "Créer un groupe" in text(c.get("/groups/"))
    assert c.get("/groups/nouveau").status_code == 200
    resp = post(c, "/groups/nouveau", create_data(), content_type="multipart/form-data")
    group = db.session.scalar(sa.select(Group).where(Group.name == "Accueil vélo"))
    assert resp.status_code == 302 and resp.location == f"/groups/{group.id}/membres"
    assert (group.visibility, group.join_policy, group.image) == ("private", "request", None)
    assert role_of(group, animateur) == "owner"
    page = text(c.get(resp.location))
    assert "Le groupe « Accueil vélo » est créé. Invitez ses membres." in page
    assert "Vous êtes propriétaire" in page


def test_member_cannot_create_a_group_by_default(make_user, as_):
    c = as_(make_user())
    assert "Créer un groupe" not in text(c.get("/groups/"))
    assert c.get("/groups/nouveau").status_code == 403
    assert post(c, "/groups/nouveau", create_data()).status_code == 403
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Group)) == 0


def test_setting_lets_members_create_groups(make_user, as_):
    grants = {(p.role, p.permission) for p in db.session.scalars(sa.select(RolePermission))}
    set_grants(grants | {("membre", "groups.create")})
    db.session.commit()
    membre = make_user()
    c = as_(membre)
    assert "Créer un groupe" in text(c.get("/groups/"))
    resp = post(c, "/groups/nouveau", create_data(name="Club des membres"), content_type="multipart/form-data")
    assert resp.status_code == 302
    group = db.session.scalar(sa.select(Group).where(Group.name == "Club des membres"))
    assert role_of(group, membre) == "owner"


def test_creation_errors_in_french(make_user, factories, as_):
    factories.group(name="Accueil vélo")
    c = as_(make_user(role="animateur"))
    page = text(post(c, "/groups/nouveau", create_data(name="ACCUEIL vélo"),
                     content_type="multipart/form-data"))
    assert "Un groupe porte déjà ce nom." in page
    page = text(post(c, "/groups/nouveau", create_data(name=""), content_type="multipart/form-data"))
    assert "Ce champ est obligatoire." in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Group)) == 1


# -- image ----------------------------------------------------------------------------------

def test_image_upload_is_served(make_user, as_):
    c = as_(make_user(role="animateur"))
    resp = post(c, "/groups/nouveau", create_data(image=(io.BytesIO(png()), "logo vélo.png")),
                content_type="multipart/form-data")
    assert resp.status_code == 302
    group = db.session.scalar(sa.select(Group))
    assert group.image
    page = c.get(f"/groups/{group.id}").get_data(as_text=True)
    assert f'src="/groups/{group.id}/image"' in page
    with c.get(f"/groups/{group.id}/image") as img:
        assert img.status_code == 200 and img.mimetype.startswith("image/")
        assert Image.open(io.BytesIO(img.data)).size == (60, 40)


def test_bad_image_refused_in_french(make_user, as_):
    c = as_(make_user(role="animateur"))
    resp = post(c, "/groups/nouveau", create_data(image=(io.BytesIO(b"ceci n'est pas une image"), "logo.png")),
                content_type="multipart/form-data")
    assert resp.status_code == 200
    assert "Le contenu du fichier ne correspond pas à son extension." in text(resp)
    resp = post(c, "/groups/nouveau", create_data(image=(io.BytesIO(b"MZ\x90\x00"), "logo.exe")),
                content_type="multipart/form-data")
    assert "Ce type de fichier n'est pas accepté : .exe." in text(resp)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Group)) == 0


def test_group_without_image_answers_404(make_user, factories, as_):
    group = factories.group()
    assert as_(make_user()).get(f"/groups/{group.id}/image").status_code == 404


# -- settings -------------------------------------------------------------------------------

def test_owner_edits_settings_and_image(make_user, factories, as_):
    owner = make_user()
    group = factories.group(name="Randonnée", owner=owner)
    c = as_(owner)
    page = text(c.get(f"/groups/{group.id}/parametres"))
    assert "Paramètres" in page and "Randonnée" in c.get(f"/groups/{group.id}/parametres").get_data(as_text=True)
    resp = post(c, f"/groups/{group.id}/parametres",
                create_data(name="Randonnée pédestre", visibility="secret", join_policy="invitation",
                            image=(io.BytesIO(png((30, 30))), "rando.png")),
                content_type="multipart/form-data")
    assert resp.status_code == 302 and resp.location == f"/groups/{group.id}"
    db.session.expire_all()
    group = db.session.get(Group, group.id)
    assert (group.name, group.visibility, group.join_policy) == ("Randonnée pédestre", "secret", "invitation")
    page = text(c.get(resp.location))
    assert "Les paramètres du groupe sont enregistrés." in page and "Secrète" in page
    with c.get(f"/groups/{group.id}/image") as img:
        assert img.status_code == 200 and Image.open(io.BytesIO(img.data)).size == (30, 30)


def test_settings_duplicate_name_in_french(make_user, factories, as_):
    owner = make_user()
    group = factories.group(name="Randonnée", owner=owner)
    factories.group(name="Vélo")
    resp = post(as_(owner), f"/groups/{group.id}/parametres", create_data(name="Vélo"),
                content_type="multipart/form-data")
    assert resp.status_code == 200 and "Un groupe porte déjà ce nom." in text(resp)
    db.session.expire_all()
    assert db.session.get(Group, group.id).name == "Randonnée"


def test_members_do_not_see_the_settings_tab(make_user, factories, as_):
    member = make_user()
    group = factories.group(members=[member])
    c = as_(member)
    assert "Paramètres" not in text(c.get(f"/groups/{group.id}"))
    assert c.get(f"/groups/{group.id}/parametres").status_code == 403


# -- members tab, invitations and requests --------------------------------------------------

def test_members_tab_lists_members_with_roles(make_user, factories, as_):
    owner = make_user(name="Olivia Propriétaire")
    admin = make_user(name="Alain Admin")
    member = make_user(name="Marie Membre")
    group = factories.group(owner=owner, admins=[admin], members=[member])
    page = text(as_(member).get(f"/groups/{group.id}/membres")).split("3 membres", 1)[1]
    assert page.index("Olivia Propriétaire") < page.index("Alain Admin") < page.index("Marie Membre")
    assert "Propriétaire" in page and "Administrateur" in page
    assert "Inviter" not in page and "Retirer" not in page  # a plain member manages nothing
    page = text(as_(admin).get(f"/groups/{group.id}/membres"))
    assert "Personne à inviter (nom ou adresse e-mail)" in page and "Retirer" in page


def test_invite_by_email_through_the_form(make_user, factories, as_):
    owner = make_user()
    guest = make_user(name="Gaëlle Invitée", email="gaelle@otvannes.fr")
    group = factories.group(name="Comité", visibility="private", join_policy="invitation", owner=owner)
    c = as_(owner)
    resp = post(c, f"/groups/{group.id}/inviter", {"person": "Gaelle@OTVannes.fr"}, follow_redirects=True)
    page = text(resp)
    assert "Invitation envoyée à Gaëlle Invitée." in page
    assert "Invitations en attente" in page
    req = services.pending(group, guest, "invitation")
    assert req is not None and req.invited_by_id == owner.id
    # The guest finds it in « Mes groupes » and on the group page.
    g = as_(guest)
    assert "vous invite dans « Comité »" in text(g.get("/groups/mes-groupes"))
    assert "Accepter l’invitation" in text(g.get(f"/groups/{group.id}"))
    # Unknown address: a French explanation, nothing created.
    page = text(post(c, f"/groups/{group.id}/inviter", {"person": "inconnu@exemple.fr"}, follow_redirects=True))
    assert "Personne ne correspond à « inconnu@exemple.fr »" in page
    page = text(post(c, f"/groups/{group.id}/inviter", {"person": ""}, follow_redirects=True))
    assert "Choisissez une personne à inviter." in page
    page = text(post(c, f"/groups/{group.id}/inviter", {"person": "gaelle@otvannes.fr"}, follow_redirects=True))
    assert "Gaëlle Invitée a déjà une invitation en attente." in page


def test_requests_are_accepted_or_refused_from_the_members_tab(make_user, factories, as_):
    owner = make_user()
    yes, no = make_user(name="Yann Accepté"), make_user(name="Nina Refusée")
    group = factories.group(join_policy="request", owner=owner)
    services.join(yes, group)
    services.join(no, group)
    db.session.commit()
    r_yes, r_no = services.pending(group, yes), services.pending(group, no)
    c = as_(owner)
    page = text(c.get(f"/groups/{group.id}/membres"))
    assert "Demandes à traiter" in page and "Yann Accepté" in page and "Nina Refusée" in page
    page = text(post(c, f"/groups/{group.id}/demandes/{r_yes.id}/accepter", follow_redirects=True))
    assert "Yann Accepté fait maintenant partie du groupe." in page
    page = text(post(c, f"/groups/{group.id}/demandes/{r_no.id}/refuser", follow_redirects=True))
    assert "La demande de Nina Refusée est refusée." in page
    assert "Demandes à traiter" not in page
    assert role_of(group, yes) == "member" and role_of(group, no) is None


def test_role_change_and_removal_from_the_members_tab(make_user, factories, as_):
    owner = make_user()
    member = make_user(name="Marc Membre")
    group = factories.group(owner=owner, members=[member])
    c = as_(owner)
    page = text(post(c, f"/groups/{group.id}/membres/{member.id}/role", {"role": "admin"}, follow_redirects=True))
    assert "Le rôle de Marc Membre est modifié." in page
    assert role_of(group, member) == "admin"
    page = text(post(c, f"/groups/{group.id}/membres/{member.id}/retirer", follow_redirects=True))
    assert "Marc Membre a été retiré(e) du groupe." in page
    assert role_of(group, member) is None


def test_group_admin_cannot_remove_the_owner(make_user, factories, as_):
    owner, admin = make_user(), make_user()
    group = factories.group(owner=owner, admins=[admin])
    page = text(post(as_(admin), f"/groups/{group.id}/membres/{owner.id}/retirer", follow_redirects=True))
    assert "Seul un propriétaire peut retirer un propriétaire." in page
    assert role_of(group, owner) == "owner"


def test_last_owner_is_told_to_name_another_before_leaving(make_user, factories, as_):
    owner, member = make_user(), make_user()
    group = factories.group(owner=owner, members=[member])
    page = text(post(as_(owner), f"/groups/{group.id}/quitter", follow_redirects=True))
    assert "Vous êtes le seul propriétaire : nommez un autre propriétaire avant de partir." in page
    assert role_of(group, owner) == "owner"


# -- the audience picker's JSON helpers -----------------------------------------------------

def test_audience_search_returns_people_organizations_and_groups(make_org, make_user, factories, as_):
    org = make_org(name="Office de Carnac")
    make_user(name="Camille Carnot", organization=org, email="camille@carnac.fr")
    make_user(name="Parti de Carnac", active=False)
    me = make_user()
    factories.group(name="Carnac public")
    factories.group(name="Carnac privé", visibility="private")
    factories.group(name="Carnac secret", visibility="secret")
    mine = factories.group(name="Carnac mon secret", visibility="secret", members=[me])
    resp = as_(me).get("/audiences/recherche?q=carn")
    assert resp.status_code == 200 and resp.is_json
    results = resp.get_json()["results"]
    labels = {(r["value"].split(":")[0], r["label"]) for r in results}
    assert ("user", "Camille Carnot") in labels and ("user", "Parti de Carnac") not in labels
    assert ("org", "Office de Carnac") in labels
    groups = {label for kind, label in labels if kind == "group"}
    assert groups == {"Carnac public", "Carnac mon secret"}
    assert {"value": f"group:{mine.id}", "label": "Carnac mon secret", "detail": "Groupe"} in results
    camille = next(r for r in results if r["label"] == "Camille Carnot")
    assert camille["detail"] == "Office de Carnac" and camille["email"] == "camille@carnac.fr"


def test_audience_search_shows_every_group_to_an_animateur(make_user, factories, as_):
    factories.group(name="Carnac secret", visibility="secret")
    results = as_(make_user(role="animateur")).get("/audiences/recherche?q=carnac").get_json()["results"]
    assert [r["label"] for r in results] == ["Carnac secret"]


def test_audience_search_needs_two_letters_and_can_be_limited_to_people(make_org, make_user, as_):
    make_org(name="Office de Carnac")
    make_user(name="Camille Carnot")
    c = as_(make_user())
    assert c.get("/audiences/recherche?q=c").get_json() == {"results": []}
    results = c.get("/audiences/recherche?q=carn&kind=user").get_json()["results"]
    assert [r["label"] for r in results] == ["Camille Carnot"]


def test_audience_description_in_plain_french(make_org, make_user, factories, as_):
    org = make_org(name="Office de Vannes")
    lea = make_user(name="Léa Martin")
    group = factories.group(name="Accueil vélo")
    c = as_(make_user())
    resp = c.get(f"/audiences/description?e=org:{org.id}&e=user:{lea.id}")
    assert resp.get_json() == {"text": "les membres de Office de Vannes et Léa Martin"}
    resp = c.get(f"/audiences/description?e=group:{group.id}&e=org:{org.id}")
    assert resp.get_json()["text"] == "les membres de Office de Vannes et le groupe « Accueil vélo »"
    assert c.get("/audiences/description").get_json() == {"text": "Tout le réseau"}
    assert c.get("/audiences/description?e=network:0&e=bogus").get_json() == {"text": "Tout le réseau"}


def test_audience_description_does_not_name_secret_groups_to_outsiders(make_user, factories, as_):
    member = make_user()
    secret = factories.group(name="Cercle confidentiel", visibility="secret", members=[member])
    url = f"/audiences/description?e=group:{secret.id}"
    assert "Cercle confidentiel" not in as_(make_user()).get(url).get_json()["text"]
    assert as_(member).get(url).get_json()["text"] == "le groupe « Cercle confidentiel »"
    assert as_(make_user(role="animateur")).get(url).get_json()["text"] == "le groupe « Cercle confidentiel »"


# -- the profile section --------------------------------------------------------------------

def test_profile_lists_groups_but_private_and_secret_ones_only_to_who_may_see_their_members(
        make_user, factories, as_):
    person = make_user(name="Paula Profil")
    fellow = make_user()
    factories.group(name="Balades nature", members=[person])
    factories.group(name="Comité de pilotage", visibility="private", members=[person, fellow])
    factories.group(name="Cercle confidentiel", visibility="secret", members=[person, fellow])
    factories.group(name="Pas son groupe")
    url = f"/accounts/personnes/{person.id}"

    page = text(as_(make_user()).get(url))
    assert "Paula Profil" in page and "Groupes" in page
    assert "Balades nature" in page
    # The member list of a private group is for its members: a profile must not reveal it.
    assert "Comité de pilotage" not in page
    assert "Cercle confidentiel" not in page and "Pas son groupe" not in page
    for viewer in (fellow, person, make_user(role="animateur"), make_user(role="admin")):
        page = text(as_(viewer).get(url))
        assert "Cercle confidentiel" in page and "Comité de pilotage" in page


def test_profile_of_someone_without_groups(make_user, as_):
    person = make_user()
    assert "Aucun groupe visible." in text(as_(make_user()).get(f"/accounts/personnes/{person.id}"))


# -- leaving or being removed ends access at once ----------------------------------------------

@pytest.mark.parametrize(("visibility", "after"), [("private", 403), ("secret", 404)])
def test_leaving_ends_access_at_once(make_user, factories, as_, visibility, after):
    member = make_user()
    group = factories.group(name="Le groupe", visibility=visibility, members=[member])
    c = as_(member)
    assert c.get(f"/groups/{group.id}/membres").status_code == 200
    resp = post(c, f"/groups/{group.id}/quitter")
    assert resp.status_code == 302
    assert resp.location == (f"/groups/{group.id}" if visibility == "private" else "/groups/mes-groupes")
    assert "Vous avez quitté le groupe « Le groupe »." in text(c.get(resp.location))
    assert c.get(f"/groups/{group.id}/membres").status_code == after
    if visibility == "secret":
        assert c.get(f"/groups/{group.id}").status_code == 404
        assert "Le groupe" not in text(c.get("/groups/"))


@pytest.mark.parametrize(("visibility", "after"), [("private", 403), ("secret", 404)])
def test_being_removed_ends_access_at_once(make_user, factories, as_, visibility, after):
    owner, member = make_user(), make_user()
    group = factories.group(visibility=visibility, owner=owner, members=[member])
    member_client, owner_client = as_(member), as_(owner)
    assert member_client.get(f"/groups/{group.id}/membres").status_code == 200
    assert post(owner_client, f"/groups/{group.id}/membres/{member.id}/retirer").status_code == 302
    assert member_client.get(f"/groups/{group.id}/membres").status_code == after


# -- bounded SQL ----------------------------------------------------------------------------

def _statements(count_queries, c, url) -> int:
    db.session.expire_all()  # as a fresh session per request in production: nothing cached
    with count_queries() as n:
        assert c.get(url).status_code == 200
    return n()


def test_groups_list_runs_the_same_statements_for_5_or_40_groups(app, make_user, factories, as_, count_queries):
    app.config["PAGE_SIZE"] = 50  # all 40 on one page (and the same pagination statements both times)
    me = make_user()
    for i in range(5):
        factories.group(visibility=("public", "private", "secret")[i % 3], members=[me] if i % 2 else [])
    c = as_(me)
    c.get("/groups/")  # warm-up (last-seen update, caches)
    few = _statements(count_queries, c, "/groups/")
    for i in range(35):
        factories.group(visibility=("public", "private", "secret")[i % 3], members=[me] if i % 2 else [])
    many = _statements(count_queries, c, "/groups/")
    assert few == many
    assert few <= 12


def test_members_tab_runs_the_same_statements_for_5_or_40_members(make_user, make_org, factories, as_,
                                                                 count_queries):
    owner = make_user()
    group = factories.group(join_policy="request", owner=owner)
    orgs = [make_org() for _ in range(3)]

    def add(n):
        for i in range(n):
            u = make_user(organization=orgs[i % 3])
            db.session.add(Membership(group_id=group.id, user_id=u.id, role="admin" if i % 7 == 0 else "member"))
            services.join(make_user(), group) if i % 10 == 0 else None
        db.session.commit()

    add(4)
    c = as_(owner)
    c.get(f"/groups/{group.id}/membres")
    few = _statements(count_queries, c, f"/groups/{group.id}/membres")
    add(35)
    many = _statements(count_queries, c, f"/groups/{group.id}/membres")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Membership)) == 40
    assert db.session.scalar(sa.select(sa.func.count()).select_from(GroupRequest)) > 1
    assert few == many
    assert few <= 15


def test_audience_search_and_group_list_ignore_accents_and_case(make_org, make_user, factories, as_):
    make_org(name="Office de la Châtaigneraie")
    make_user(name="Élodie Fabre")
    factories.group(name="Référents numériques")
    c = as_(make_user())
    labels = {r["label"] for r in c.get("/audiences/recherche?q=chataigneraie").get_json()["results"]}
    assert labels == {"Office de la Châtaigneraie"}
    labels = {r["label"] for r in c.get("/audiences/recherche?q=ELODIE").get_json()["results"]}
    assert labels == {"Élodie Fabre"}
    assert "Référents numériques" in text(c.get("/groups/?q=referents"))
    assert "Référents numériques" not in text(c.get("/groups/?q=%25"))  # a typed % is not a wildcard


def test_a_group_opens_on_its_fil_for_those_who_see_it_and_on_about_for_the_others(factories, as_, make_user):
    owner = make_user(name="Olga Propriétaire")
    group = factories.group(name="Directeurs d'offices", visibility="private", join_policy="invitation",
                            owner=owner, description="L'espace des directrices et directeurs.")
    member_page = as_(owner).get(f"/groups/{group.id}").get_data(as_text=True)
    active = re.search(r'class="nav-link active" aria-current="page" href="([^"]+)">([^<]+)<', member_page)
    assert active and active.group(2) == "Fil" and active.group(1) == f"/feed/groupe/{group.id}"
    assert f'href="/groups/{group.id}/a-propos">À propos<' in member_page
    about = as_(owner).get(f"/groups/{group.id}/a-propos").get_data(as_text=True)
    assert "L'espace des directrices et directeurs." in html.unescape(about)
    # Someone outside a private group sees what it is about, and no Fil.
    outsider = as_(make_user()).get(f"/groups/{group.id}").get_data(as_text=True)
    assert f'aria-current="page" href="/groups/{group.id}/a-propos">À propos<' in outsider
    assert f"/feed/groupe/{group.id}" not in outsider
