"""Profiles (view, edit, photo) and the people directory (search, filter, pages, query count)."""

from __future__ import annotations

import html as htmllib
import io
import re
from pathlib import Path

import pytest
from PIL import Image

from intranet.core.models import User
from intranet.core.storage import path_for
from intranet.extensions import db
from tests.conftest import csrf_token

EDIT_URL = "/accounts/profil"
DIRECTORY_URL = "/accounts/annuaire"
CARD_RE = re.compile(r'<a class="fw-semibold" href="/accounts/personnes/(\d+)">')


def _text(resp) -> str:
    return htmllib.unescape(resp.get_data(as_text=True))


def _png(width=800, height=600, color=(200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buf, "PNG")
    return buf.getvalue()


def _edit(client, photo=None, **fields):
    data = {"name": "Élodie Martin", "job_title": "Chargée d'accueil", "phone": "04 71 40 58 08",
            "bio": "Je connais chaque sentier du Puy Mary.", "locale": "fr",
            "csrf_token": csrf_token(client, EDIT_URL)}
    data.update(fields)
    if photo is not None:
        data["photo"] = photo
    return client.post(EDIT_URL, data=data, content_type="multipart/form-data")


def _uploaded_files(app) -> list[Path]:
    root = Path(app.config["UPLOAD_DIR"])
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _directory_ids(resp) -> list[int]:
    return [int(x) for x in CARD_RE.findall(resp.get_data(as_text=True))]


# -- profile -----------------------------------------------------------------------------------

def test_edit_own_profile_with_a_real_photo(app, client, make_user, login):
    user = make_user(name="Elodie M")
    other = make_user(organization=user.organization)
    login(user)
    assert client.get(EDIT_URL).status_code == 200

    resp = _edit(client, photo=(io.BytesIO(_png()), "portrait.png"))
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(f"/accounts/personnes/{user.id}")

    page = _text(client.get(f"/accounts/personnes/{user.id}"))
    assert "Votre profil a été enregistré." in page
    assert "Élodie Martin" in page
    assert "Chargée d'accueil" in page
    assert "04 71 40 58 08" in page
    assert "Je connais chaque sentier du Puy Mary." in page
    assert f'src="/accounts/personnes/{user.id}/photo"' in page

    # A colleague sees the same profile and the photo, shrunk to 512 px and served safely.
    colleague = app.test_client()
    _login(colleague, other)
    seen = _text(colleague.get(f"/accounts/personnes/{user.id}"))
    assert "Élodie Martin" in seen and "Chargée d'accueil" in seen
    assert "Modifier mon profil</a>" not in seen.split("</nav>", 1)[1]
    photo = colleague.get(f"/accounts/personnes/{user.id}/photo")
    assert photo.status_code == 200
    assert photo.headers["Content-Type"].startswith("image/")
    assert photo.headers["X-Content-Type-Options"] == "nosniff"
    img = Image.open(io.BytesIO(photo.data))
    photo.close()
    assert max(img.size) == 512
    assert len(_uploaded_files(app)) == 1


def _login(client, user, password="motdepasse-test"):
    resp = client.post("/accounts/connexion", data={"email": user.email, "password": password,
                                                    "csrf_token": csrf_token(client)})
    assert resp.status_code == 302


def test_exe_renamed_png_is_refused_and_changes_nothing(app, client, make_user, login):
    user = make_user(name="Paul Martin", job_title="Directeur")
    login(user)
    exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200 + b"This program cannot be run"
    resp = _edit(client, photo=(io.BytesIO(exe), "vacances.png"), name="Nom piraté", job_title="Autre")
    assert resp.status_code == 200
    assert "Le contenu du fichier ne correspond pas à son extension." in _text(resp)

    db.session.expire_all()
    fresh = db.session.get(User, user.id)
    assert (fresh.name, fresh.job_title, fresh.photo) == ("Paul Martin", "Directeur", None)
    assert _uploaded_files(app) == []
    assert client.get(f"/accounts/personnes/{user.id}/photo").status_code == 404


def test_a_text_file_is_not_a_photo(app, client, make_user, login):
    user = make_user()
    login(user)
    resp = _edit(client, photo=(io.BytesIO(b"bonjour"), "notes.txt"))
    assert resp.status_code == 200
    assert "Ce type de fichier n'est pas accepté" in _text(resp)
    db.session.expire_all()
    assert db.session.get(User, user.id).photo is None


def test_a_new_photo_replaces_and_deletes_the_old_one(app, client, make_user, login):
    user = make_user()
    login(user)
    _edit(client, photo=(io.BytesIO(_png(color=(1, 2, 3))), "a.png"))
    db.session.expire_all()
    first = db.session.get(User, user.id).photo
    _edit(client, photo=(io.BytesIO(_png(color=(250, 250, 0))), "b.png"))
    db.session.expire_all()
    second = db.session.get(User, user.id).photo
    assert second and second != first
    assert not path_for(first).exists()
    assert [p.name for p in _uploaded_files(app)] == [Path(second).name]


def test_editing_without_a_new_photo_keeps_the_old_one(client, make_user, login):
    user = make_user()
    login(user)
    _edit(client, photo=(io.BytesIO(_png()), "a.png"))
    db.session.expire_all()
    photo = db.session.get(User, user.id).photo
    assert _edit(client, job_title="Nouvelle fonction").status_code == 302
    db.session.expire_all()
    fresh = db.session.get(User, user.id)
    assert (fresh.photo, fresh.job_title) == (photo, "Nouvelle fonction")


def test_profile_text_is_escaped(app, client, make_user, login):
    user = make_user()
    login(user)
    _edit(client, name="<b>Zoé</b>", bio='<script>alert("x")</script>\n**gras**')
    page = client.get(f"/accounts/personnes/{user.id}").get_data(as_text=True)
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert" in page
    assert "<b>Zoé</b>" not in page


def test_name_is_required_and_organization_cannot_be_changed_from_the_profile(client, make_user, make_org, login):
    user = make_user(name="Paul Martin")
    other_org = make_org()
    login(user)
    resp = _edit(client, name="  ")
    assert resp.status_code == 200
    assert "Ce champ est obligatoire." in _text(resp)
    assert _edit(client, organization_id=str(other_org.id), role="admin").status_code == 302
    db.session.expire_all()
    fresh = db.session.get(User, user.id)
    assert fresh.organization_id == user.organization_id
    assert fresh.role == "membre"


def test_profile_of_a_deactivated_person_is_hidden_from_members(app, client, make_user, login):
    gone = make_user(active=False, name="Ancien Collègue")
    member = make_user()
    admin = make_user(role="admin")
    login(member)
    assert client.get(f"/accounts/personnes/{gone.id}").status_code == 404
    admin_client = app.test_client()
    _login(admin_client, admin)
    page = admin_client.get(f"/accounts/personnes/{gone.id}")
    assert page.status_code == 200
    assert "désactivé" in _text(page)


def test_unknown_profile_is_a_french_404(client, make_user, login):
    login(make_user())
    resp = client.get("/accounts/personnes/999999")
    assert resp.status_code == 404
    assert "Page introuvable" in _text(resp)


def test_profile_pages_need_login(client, make_user):
    user = make_user()
    for url in (f"/accounts/personnes/{user.id}", EDIT_URL, DIRECTORY_URL, f"/accounts/personnes/{user.id}/photo"):
        resp = client.get(url)
        assert resp.status_code == 302 and "/accounts/connexion" in resp.headers["Location"], url


# -- directory ---------------------------------------------------------------------------------

@pytest.fixture
def network(make_org, make_user):
    salers = make_org(name="Office de tourisme du Pays de Salers")
    flour = make_org(name="Office de tourisme de Saint-Flour")
    people = {
        "elodie": make_user(name="Élodie Martin", organization=salers, job_title="Chargée d'accueil"),
        "paul": make_user(name="Paul Dupont", organization=flour),
        "marie": make_user(name="Marie Dupont", organization=salers),
        "gone": make_user(name="Gérard Dupont", organization=flour, active=False),
    }
    return salers, flour, people


def test_directory_search_by_name(client, network, login):
    _, _, people = network
    login(people["elodie"])
    resp = client.get(DIRECTORY_URL, query_string={"q": "dupont"})
    ids = _directory_ids(resp)
    assert sorted(ids) == sorted([people["paul"].id, people["marie"].id])
    assert "2 personnes" in _text(resp)


def test_directory_hides_people_who_have_not_accepted_their_invitation(client, network, make_user, login):
    _, flour, people = network
    make_user(name="Hugo Dupont", organization=flour, password=None)  # invited, no password yet
    login(people["elodie"])
    resp = client.get(DIRECTORY_URL, query_string={"q": "dupont"})
    assert "Hugo Dupont" not in _text(resp)
    assert sorted(_directory_ids(resp)) == sorted([people["paul"].id, people["marie"].id])


@pytest.mark.parametrize("query", ["Élodie", "élodie", "ÉLODIE", "elodie", "Elodie Martin"])
def test_directory_search_ignores_case_and_accents(client, network, login, query):
    _, _, people = network
    login(people["paul"])
    assert _directory_ids(client.get(DIRECTORY_URL, query_string={"q": query})) == [people["elodie"].id]


def test_directory_search_by_organization_name(client, network, login):
    salers, _, people = network
    login(people["paul"])
    ids = _directory_ids(client.get(DIRECTORY_URL, query_string={"q": "salers"}))
    assert sorted(ids) == sorted([people["elodie"].id, people["marie"].id])


def test_directory_search_by_job_title(client, network, login):
    _, _, people = network
    login(people["paul"])
    assert _directory_ids(client.get(DIRECTORY_URL, query_string={"q": "accueil"})) == [people["elodie"].id]


def test_directory_filter_by_organization(client, network, login):
    salers, flour, people = network
    login(people["elodie"])
    ids = _directory_ids(client.get(DIRECTORY_URL, query_string={"organisation": flour.id}))
    assert ids == [people["paul"].id]
    both = _directory_ids(client.get(DIRECTORY_URL, query_string={"organisation": salers.id, "q": "marie"}))
    assert both == [people["marie"].id]


def test_directory_hides_deactivated_people(client, network, login):
    _, _, people = network
    login(people["paul"])
    resp = client.get(DIRECTORY_URL)
    ids = _directory_ids(resp)
    assert people["gone"].id not in ids
    assert "Gérard Dupont" not in _text(resp)
    assert sorted(ids) == sorted(p.id for k, p in people.items() if k != "gone")


def test_directory_wildcards_are_searched_literally(client, network, login):
    _, _, people = network
    login(people["paul"])
    resp = client.get(DIRECTORY_URL, query_string={"q": "%"})
    assert _directory_ids(resp) == []
    assert "Personne ne correspond à cette recherche." in _text(resp)
    assert _directory_ids(client.get(DIRECTORY_URL, query_string={"q": "_"})) == []


def test_directory_pages(client, make_org, make_user, login):
    org = make_org()
    viewer = make_user(organization=org, name="Aaa Lecteur")
    for i in range(30):
        make_user(organization=org, name=f"Membre {i:02d}")
    login(viewer)
    first = client.get(DIRECTORY_URL)
    assert "31 personnes" in _text(first)
    first_ids = _directory_ids(first)
    assert len(first_ids) == 25
    assert "?page=2" in first.get_data(as_text=True)
    second = client.get(DIRECTORY_URL, query_string={"page": 2})
    second_ids = _directory_ids(second)
    assert len(second_ids) == 6
    assert not set(first_ids) & set(second_ids)
    # Past the end: an empty page, not an error.
    assert _directory_ids(client.get(DIRECTORY_URL, query_string={"page": 9})) == []


def test_directory_runs_the_same_number_of_queries_for_5_and_40_people(client, make_org, make_user, login,
                                                                       count_queries):
    orgs = [make_org() for _ in range(4)]
    viewer = make_user(organization=orgs[0])
    login(viewer)

    def measure():
        client.get(DIRECTORY_URL)  # warm-up (last-seen update, caches)
        with count_queries() as n:
            resp = client.get(DIRECTORY_URL)
        assert resp.status_code == 200
        return n()

    for i in range(4):
        make_user(organization=orgs[i % 4], photo=None)
    small = measure()
    for i in range(36):
        make_user(organization=orgs[i % 4])
    big = measure()
    assert small == big, (small, big)
    assert small <= 8
