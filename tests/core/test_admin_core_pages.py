"""Core admin pages as an admin uses them: organizations, territories, role permissions, the audit
log, the help page; the demo network loaded by `flask setup`; the dashboard and its widgets.
"""

from __future__ import annotations

import html as html_module
import io
import re

import pytest
import sqlalchemy as sa
from PIL import Image

from intranet.core.audit import audit
from intranet.core.models import AuditEntry, Organization, RolePermission, Territory, User
from intranet.extensions import db
from tests.conftest import csrf_token


def _png(size=(40, 20), color=(0, 110, 180, 255)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGBA", size, color).save(buf, "PNG")
    return buf.getvalue()


def _post(client, url, data, form_url=None, **kwargs):
    """Submit the form of ``form_url`` (default ``url``) with its CSRF token, as a browser would."""
    data = dict(data, csrf_token=csrf_token(client, form_url or url))
    return client.post(url, data=data, **kwargs)


def _text(resp) -> str:
    return resp.get_data(as_text=True)


def _shown(resp) -> str:
    """The text as the reader sees it (entities decoded)."""
    return html_module.unescape(_text(resp))


@pytest.fixture
def admin(make_user, login):
    user = make_user(role="admin", name="Camille Admin")
    login(user)
    return user


def _count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


# -- organizations ------------------------------------------------------------------------------

def test_admin_creates_an_organization_with_a_logo(app, client, admin, factories):
    salers = factories.territory(name="Pays de Salers", code="SALERS")
    resp = _post(client, "/admin/organisations/nouvelle", {
        "name": "Office de tourisme du Pays de Salers", "kind": "office", "territory_id": str(salers.id),
        "address": "Place Tyssandier d'Escous, 15140 Salers", "website": "https://www.salers-tourisme.fr",
        "email": "contact@salers-tourisme.fr", "logo": (io.BytesIO(_png()), "logo salers.png"),
    }, content_type="multipart/form-data")
    assert resp.status_code == 302, _text(resp)
    assert "L'organisation « Office de tourisme du Pays de Salers » a été enregistrée." in \
        _shown(client.get(resp.headers["Location"]))

    org = db.session.scalar(sa.select(Organization).where(Organization.name == "Office de tourisme du Pays de Salers"))
    assert (org.kind, org.territory_id, org.website) == ("office", salers.id, "https://www.salers-tourisme.fr")
    assert org.logo and "salers" not in org.logo  # stored under a random name
    logo = client.get(f"/organisations/{org.id}/logo")
    assert logo.status_code == 200 and logo.mimetype == "image/png"
    assert Image.open(io.BytesIO(logo.get_data())).size == (40, 20)
    logo.close()
    listing = _text(client.get("/admin/organisations"))
    assert "Office de tourisme du Pays de Salers" in listing
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "organization.create"))
    assert entry.actor_id == admin.id and entry.target_id == org.id


def test_a_file_that_is_not_an_image_is_refused_as_logo(app, client, admin):
    resp = _post(client, "/admin/organisations/nouvelle", {
        "name": "Office piégé", "kind": "office", "territory_id": "0",
        "logo": (io.BytesIO(b"<?php echo 'coucou'; ?>"), "logo.png"),
    }, content_type="multipart/form-data")
    assert resp.status_code == 200
    assert db.session.scalar(sa.select(Organization).where(Organization.name == "Office piégé")) is None
    assert "image" in _text(resp).lower()


def test_duplicate_organization_name_is_refused_in_french(app, client, admin, make_org):
    make_org(name="Hautes Terres Tourisme")
    before = _count(Organization)
    resp = _post(client, "/admin/organisations/nouvelle", {"name": "  hautes terres tourisme ", "kind": "office",
                                                          "territory_id": "0"})
    assert resp.status_code == 200
    assert "Une organisation porte déjà ce nom." in _text(resp)
    assert _count(Organization) == before


def test_admin_edits_an_organization_and_keeps_its_logo(app, client, admin, make_org):
    org = make_org(name="Office du Lioran")
    _post(client, f"/admin/organisations/{org.id}/modifier",
          {"name": "Office du Lioran", "kind": "office", "territory_id": "0",
           "logo": (io.BytesIO(_png()), "logo.png")}, content_type="multipart/form-data")
    db.session.expire_all()
    logo = db.session.get(Organization, org.id).logo
    assert logo

    form = _text(client.get(f"/admin/organisations/{org.id}/modifier"))
    assert 'value="Office du Lioran"' in form
    resp = _post(client, f"/admin/organisations/{org.id}/modifier", {
        "name": "Saem Lioran Développement", "kind": "partenaire", "territory_id": "0",
        "website": "https://www.lelioran.com", "email": "", "address": ""})
    assert resp.status_code == 302, _text(resp)
    db.session.expire_all()
    org = db.session.get(Organization, org.id)
    assert (org.name, org.kind, org.website, org.logo) == ("Saem Lioran Développement", "partenaire",
                                                           "https://www.lelioran.com", logo)
    assert db.session.scalar(sa.select(sa.func.count(AuditEntry.id)).where(
        AuditEntry.action == "organization.update")) == 2
    # Renaming an organization to the name of another is refused too.
    other = Organization(name="Office de Mauriac")
    db.session.add(other)
    db.session.commit()
    resp = _post(client, f"/admin/organisations/{other.id}/modifier",
                 {"name": "Saem Lioran Développement", "kind": "office", "territory_id": "0"})
    assert "Une organisation porte déjà ce nom." in _text(resp)


def test_invalid_website_and_email_are_explained_in_french(app, client, admin):
    resp = _post(client, "/admin/organisations/nouvelle", {"name": "Office X", "kind": "office",
                                                          "territory_id": "0", "website": "pas une url",
                                                          "email": "pas-un-email"})
    html = _text(resp)
    assert "Adresse web invalide." in html and "Adresse e-mail invalide." in html
    assert _count(Organization) == 1  # only the admin's own organization


# -- territories --------------------------------------------------------------------------------

def _new_territory(client, name, code, parent_id=0):
    return _post(client, "/admin/territoires/nouveau", {"name": name, "code": code, "parent_id": str(parent_id)})


def test_admin_creates_and_edits_territories(app, client, admin):
    assert _new_territory(client, "Cantal", "15").status_code == 302
    cantal = db.session.scalar(sa.select(Territory).where(Territory.code == "15"))
    resp = _new_territory(client, "Pays de Salers", "salers", cantal.id)
    assert resp.status_code == 302
    assert "Le territoire « Pays de Salers » a été enregistré." in _shown(client.get(resp.headers["Location"]))
    salers = db.session.scalar(sa.select(Territory).where(Territory.name == "Pays de Salers"))
    assert (salers.code, salers.parent_id) == ("SALERS", cantal.id)  # codes are upper case

    resp = _post(client, f"/admin/territoires/{salers.id}/modifier",
                 {"name": "Pays de Salers et Mauriac", "code": "SALERS", "parent_id": str(cantal.id)})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(Territory, salers.id).name == "Pays de Salers et Mauriac"
    listing = _text(client.get("/admin/territoires"))
    assert "Pays de Salers et Mauriac" in listing and "Cantal" in listing
    actions = set(db.session.scalars(sa.select(AuditEntry.action)))
    assert {"territory.create", "territory.update"} <= actions


def test_duplicate_territory_code_is_refused(app, client, admin, factories):
    factories.territory(name="Carladès", code="CARLADES")
    resp = _new_territory(client, "Autre Carladès", "carlades")
    assert resp.status_code == 200
    assert "Un territoire porte déjà ce code." in _text(resp)
    assert _count(Territory) == 1


def test_a_territory_cannot_become_its_own_ancestor(app, client, admin, factories):
    cantal = factories.territory(name="Cantal", code="15")
    aurillac = factories.territory(name="Pays d'Aurillac", code="AURILLAC", parent=cantal)
    centre = factories.territory(name="Aurillac centre", code="AURC", parent=aurillac)
    resp = _post(client, f"/admin/territoires/{cantal.id}/modifier",
                 {"name": "Cantal", "code": "15", "parent_id": str(centre.id)})
    assert resp.status_code == 200
    assert "Un territoire ne peut pas être son propre ancêtre." in _text(resp)
    db.session.expire_all()
    assert db.session.get(Territory, cantal.id).parent_id is None
    # Itself is not even offered as a parent.
    form = _text(client.get(f"/admin/territoires/{cantal.id}/modifier"))
    assert f'value="{cantal.id}"' not in form
    resp = _post(client, f"/admin/territoires/{cantal.id}/modifier",
                 {"name": "Cantal", "code": "15", "parent_id": str(cantal.id)})
    assert resp.status_code == 200
    db.session.expire_all()
    assert db.session.get(Territory, cantal.id).parent_id is None


def test_bad_territory_code_is_explained(app, client, admin):
    resp = _new_territory(client, "Vallée", "vallée de la truyère")
    assert "Lettres, chiffres, tirets et soulignés seulement." in _text(resp)
    assert _count(Territory) == 0


# -- role permissions ---------------------------------------------------------------------------

def test_revoking_directory_from_membres_sticks_after_sync(app, client, admin, make_user, login):
    from intranet.core.permissions import sync_permissions

    member = make_user(role="membre")
    other = app.test_client()
    login(member, c=other)
    assert other.get("/accounts/annuaire").status_code == 200

    page = _text(client.get("/admin/permissions"))
    assert 'name="membre" value="accounts.directory.view"' in page
    grants = set(db.session.execute(sa.select(RolePermission.role, RolePermission.permission)).all())
    keep = grants - {("membre", "accounts.directory.view")}
    data = {"animateur": sorted(k for r, k in keep if r == "animateur"),
            "membre": sorted(k for r, k in keep if r == "membre")}
    resp = _post(client, "/admin/permissions", data)
    assert resp.status_code == 302
    assert "Les permissions ont été enregistrées." in _text(client.get(resp.headers["Location"]))

    db.session.expire_all()
    assert set(db.session.execute(sa.select(RolePermission.role, RolePermission.permission)).all()) == keep
    denied = other.get("/accounts/annuaire")
    assert denied.status_code == 403 and "Accès refusé" in _text(denied)
    # Nor offered anywhere: neither in the menu nor by the welcome widget.
    assert 'href="/accounts/annuaire"' not in _text(other.get("/"))
    assert other.get("/").status_code == 200  # the rest still works

    sync_permissions()  # as `flask setup` does after every upgrade
    db.session.commit()
    assert other.get("/accounts/annuaire").status_code == 403
    assert client.get("/accounts/annuaire").status_code == 200  # admins keep everything
    assert db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "permissions.update")) is not None


def test_granting_a_permission_opens_the_page(app, client, admin, make_user, login):
    member = make_user(role="membre")
    other = app.test_client()
    login(member, c=other)
    assert other.get("/admin/journal").status_code == 403
    grants = set(db.session.execute(sa.select(RolePermission.role, RolePermission.permission)).all())
    data = {"animateur": sorted(k for r, k in grants if r == "animateur"),
            "membre": sorted({k for r, k in grants if r == "membre"} | {"core.audit.view", "clé.inventée"})}
    assert _post(client, "/admin/permissions", data).status_code == 302
    assert other.get("/admin/journal").status_code == 200
    assert db.session.scalar(sa.select(RolePermission).where(RolePermission.permission == "clé.inventée")) is None


# -- audit log ----------------------------------------------------------------------------------

def test_audit_log_lists_admin_actions_with_pagination(app, client, admin, make_org):
    _post(client, "/admin/organisations/nouvelle", {"name": "Office de la Châtaigneraie", "kind": "office",
                                                   "territory_id": "0"})
    for n in range(60):
        audit("test.action", summary=f"Action numéro {n:02d}", actor=admin)
    db.session.commit()

    page1 = _text(client.get("/admin/journal"))
    assert "Journal d'audit" in page1
    assert "Action numéro 59" in page1  # newest first
    assert "Action numéro 10" in page1 and "Action numéro 09" not in page1
    assert "Camille Admin" in page1
    assert 'href="/admin/journal?page=2"' in page1
    page2 = _text(client.get("/admin/journal?page=2"))
    assert "Action numéro 09" in page2 and "Action numéro 00" in page2
    assert "Office de la Châtaigneraie" in page2 and "organization.create" in page2
    assert "Action numéro 59" not in page2
    assert client.get("/admin/journal?page=9").status_code == 200  # past the end: empty, not an error
    # The action reads in French, its key in small print beside it.
    assert "Organisation créée" in page2 and "<code>organization.create</code>" not in page2


def test_every_audited_action_has_a_french_label(app):
    """A static look at the code: each action key given to audit() is labelled by a manifest."""
    from pathlib import Path

    from intranet.core.plugins import current_registry

    labels = current_registry().audit_actions
    keys = set()
    for path in (Path(app.root_path)).rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        for call in re.finditer(r"(?:audit\(|action = )([^\n]*)", source):
            keys |= set(re.findall(r'"([a-z_]+\.[a-z_]+)"', call.group(1).split("summary")[0]))
    keys.discard("core.audit")  # the module's own name in an import line, if any
    assert len(keys) >= 25, sorted(keys)
    assert not sorted(keys - set(labels)), "audited actions without a French label"
    assert all(str(label)[0].isupper() for label in labels.values())


def test_the_permissions_page_reads_in_french_with_keys_in_small_print(client, admin):
    page = _text(client.get("/admin/permissions"))
    assert "Gérer les organisations et les territoires" in page and "Valider les événements proposés" in page
    assert '<small class="text-body-secondary font-monospace">core.organizations.manage</small>' in page
    assert "<code" not in page
    assert 'aria-label="Consulter l&#39;annuaire — Membre"' in page or "Consulter l'annuaire — Membre" in page


# -- help page --------------------------------------------------------------------------------------

def test_admin_edits_help_and_members_read_it_rendered(app, client, admin, make_user, login):
    body = ("## Horaires de l'accueil\n\n**Samedi** : 9 h – 12 h.\n\n"
            "<script>alert('piège')</script>\n\n[Le site](https://www.cantal-destination.com)")
    resp = _post(client, "/admin/aide", {"body": body})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/aide")

    member = app.test_client()
    login(make_user(role="membre"), c=member)
    html = _text(member.get("/aide"))
    # Headings are shifted down under the page's own <h1> (## becomes <h4>).
    assert re.search(r"<h4>Horaires de l(&#39;|')accueil</h4>", html)
    assert "<strong>Samedi</strong>" in html
    assert 'href="https://www.cantal-destination.com"' in html
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert" in html  # shown as text, harmless
    assert "Modifier" not in re.sub(r"<nav.*?</nav>", "", html, flags=re.S)  # no edit button for members
    assert db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "help.edit")) is not None


def test_default_help_page_is_shown_before_any_edit(app, client, make_user, login):
    login(make_user())
    html = _text(client.get("/aide"))
    assert "Questions fréquentes" in html and "Mot de passe oublié" in html


def test_default_faq_answers_a_new_member_questions_without_logging_in(app, client):
    """A new install ships a real FAQ, readable by someone who cannot log in yet."""
    html = _text(client.get("/aide"))
    for heading in ("Publier et mentionner", "Agenda", "Groupes", "Notifications et résumés",
                    "Flux Vision Tourisme"):
        assert re.search(rf"<h\d>{heading}</h\d>", html), heading
    for words in ("Visible par", "Google Agenda", "Outlook", "Apple Calendrier", "résumé quotidien",
                  "<strong>Touriste</strong>", "<strong>Excursionniste</strong>",
                  "<strong>Nuitée</strong>", "<strong>Provenance</strong>",
                  "Données Flux Vision Tourisme Orange", "consultation seulement"):
        assert words in html, words
    assert html.count("<li>") >= 8  # the subscription steps and definitions render as lists
    assert "sans y passer la nuit" in html  # paragraphs flow: no hard break in mid-sentence


def test_members_cannot_edit_the_help_page(app, client, make_user, login):
    login(make_user(role="membre"))
    assert client.get("/admin/aide").status_code == 403
    token = csrf_token(client, "/accounts/profil")
    resp = client.post("/admin/aide", data={"body": "# Piraté", "csrf_token": token})
    assert resp.status_code == 403
    assert "Piraté" not in _text(client.get("/aide"))


# -- demo network ---------------------------------------------------------------------------------

def _demo_counts():
    db.session.expire_all()
    return (_count(User), _count(Organization), _count(Territory))


def test_flask_setup_loads_the_demo_network_once(app, client, login):
    from intranet.core.demo import DEMO_PASSWORD

    app.config["DEMO"] = True
    assert _count(User) == 0
    result = app.test_cli_runner().invoke(args=["setup"])
    assert result.exit_code == 0, result.output
    assert "admin@demo.local" in result.output and "intranet-demo" in result.output

    agency = db.session.scalar(sa.select(Organization).where(Organization.name == "Cantal Destination"))
    assert agency is not None and agency.kind == "agence"
    department = agency.territory
    offices = db.session.scalars(sa.select(Organization).where(Organization.kind == "office")).all()
    assert len(offices) == 10
    for office in offices:
        assert office.territory is not None, office.name
        assert office.territory.parent_id == department.id, office.name
    assert department.parent_id is None and department.name == "Cantal"
    assert len({o.territory_id for o in offices}) == 10

    for email in ("admin@demo.local", "animateur@demo.local", "salers@demo.local"):
        user = db.session.scalar(sa.select(User).where(User.email == email))
        assert user is not None, email
        c = app.test_client()
        login(user, password=DEMO_PASSWORD, c=c)
        assert c.get("/").status_code == 200
    roles = dict(db.session.execute(sa.select(User.email, User.role)).all())
    assert roles["admin@demo.local"] == "admin" and roles["animateur@demo.local"] == "animateur"
    assert roles["salers@demo.local"] == "membre"
    salers = db.session.scalar(sa.select(User).where(User.email == "salers@demo.local"))
    assert "Salers" in salers.organization.name

    _the_demo_network_looks_lived_in(app, login, DEMO_PASSWORD)

    counts = _demo_counts()
    again = app.test_cli_runner().invoke(args=["setup"])
    assert again.exit_code == 0, again.output
    assert _demo_counts() == counts


def _the_demo_network_looks_lived_in(app, login, password):
    from intranet.events.models import Event
    from intranet.feed.models import Post
    from intranet.groups.models import Group, Membership

    people = {u.email: u for u in db.session.scalars(sa.select(User))}
    # Job titles agree with the people: « Chargé » for Thomas, « Chargée » for Sophie.
    assert people["hautesterres@demo.local"].job_title == "Chargé d'accueil"
    assert people["aurillac@demo.local"].job_title == "Chargée d'accueil"
    # Groups with members and a discussion in their Fil; the directors' one is private.
    groups = {g.name: g for g in db.session.scalars(sa.select(Group))}
    assert {"Accueil et conseil en séjour", "Communication et réseaux sociaux", "Directeurs d'offices"} <= set(groups)
    assert groups["Directeurs d'offices"].visibility == "private"
    for group in groups.values():
        members = db.session.scalar(sa.select(sa.func.count()).where(Membership.group_id == group.id))
        posts = db.session.scalar(sa.select(sa.func.count()).where(Post.group_id == group.id,
                                                                   Post.activity_key.is_(None)))
        assert members >= 3 and posts >= 1, group.name
    c = app.test_client()
    login(people["salers@demo.local"], password=password, c=c)
    listing = _shown(c.get("/groups/"))
    assert "Aucun groupe pour l'instant" not in listing and "Accueil et conseil en séjour" in listing
    # The Fête de la Salers is where its post says: the first weekend of September.
    fete = db.session.scalar(sa.select(Event).where(Event.title == "Fête de la Salers"))
    assert fete.start_local.month == 9 and fete.start_local.day <= 7 and fete.start_local.weekday() == 5
    # The weekly training shows once among the dashboard's next events, with « chaque semaine ».
    dashboard = _shown(c.get("/"))
    widget = dashboard.split("Prochains événements", 1)[1].split("Tout l'agenda", 1)[0]
    assert widget.count("Formation : accueillir la clientèle étrangère") == 1
    assert "chaque semaine" in widget and widget.count("<li") >= 4


def test_a_second_setup_keeps_changes_made_since(app, login):
    app.config["DEMO"] = True
    app.test_cli_runner().invoke(args=["setup"])
    salers = db.session.scalar(sa.select(User).where(User.email == "salers@demo.local"))
    salers.name = "Nom changé par la personne"
    db.session.commit()
    app.test_cli_runner().invoke(args=["setup"])
    db.session.expire_all()
    assert db.session.scalar(sa.select(User.name).where(User.email == "salers@demo.local")) == \
        "Nom changé par la personne"


def test_setup_without_demo_loads_nothing(app):
    assert app.config["DEMO"] is False
    result = app.test_cli_runner().invoke(args=["setup"])
    assert result.exit_code == 0, result.output
    assert _demo_counts() == (0, 0, 0)
    assert "demo.local" not in result.output


def test_demo_banner_only_in_demo_mode(app, client, make_user, login):
    login(make_user())
    assert "Données de démonstration" not in _text(client.get("/"))
    assert "Données de démonstration" not in _text(client.get("/accounts/profil"))
    app.config["DEMO"] = True
    assert "Données de démonstration" in _text(client.get("/"))
    assert "Données de démonstration" in _text(client.get("/aide"))
    anonymous = app.test_client()
    assert "Données de démonstration" in _text(anonymous.get("/accounts/connexion"))


# -- dashboard ----------------------------------------------------------------------------------

def test_dashboard_shows_the_three_widgets(app, client, make_user, make_org, factories, login):
    territory = factories.territory(name="Pays de Saint-Flour", code="SAINTFLOUR")
    org = make_org(name="Office de tourisme des Pays de Saint-Flour", territory=territory)
    me = make_user(name="Élodie Martin", organization=org)
    make_user(name="Bruno Vidal", organization=org)
    make_user(name="Jamais Connectée", organization=org, password=None)  # invited, not yet a member
    login(me)
    html = _text(client.get("/"))
    for title in ("Bienvenue", "Mon organisation", "Nouveaux membres"):
        assert re.search(rf"<h2[^>]*>\s*{title}\s*</h2>", html), title
    assert "Bonjour Élodie Martin" in html
    assert "Office de tourisme des Pays de Saint-Flour" in html and "Pays de Saint-Flour" in html
    assert "3 membres" in html  # active accounts of the organization
    assert "Bruno Vidal" in html
    assert "Jamais Connectée" not in html


def test_dashboard_sql_statements_do_not_grow_with_users(app, client, make_user, make_org, login,
                                                         count_queries):
    orgs = [make_org() for _ in range(5)]
    org_ids = [o.id for o in orgs]  # the objects do not outlive the session emptied below
    me = make_user(organization=orgs[0])
    for n in range(4):
        make_user(organization=orgs[n % 5])
    login(me)
    client.get("/")  # first visit of the session writes last_seen_at: not part of the measure

    def measure():
        # A request in production starts with an empty session; here the test shares one with
        # the client's requests, so empty it as a new request would find it.
        db.session.remove()
        with count_queries() as n:
            resp = client.get("/")
        assert resp.status_code == 200
        return n()

    with_5 = measure()
    orgs = [db.session.get(Organization, i) for i in org_ids] + [make_org() for _ in range(5)]
    for n in range(45):
        make_user(organization=orgs[n % 10])
    assert _count(User) == 50
    with_50 = measure()
    assert with_5 == with_50, f"{with_5} SQL statements with 5 users, {with_50} with 50"
