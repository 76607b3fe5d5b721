"""The FVT pages an animateur uses: sending a delivery (stored, queued, run by the worker, with its
progress and report), failures (a truncated ZIP, the same file twice, a program renamed .zip), the
import history, the zone settings (territory, aliases), days marked by hand, mapping profiles.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import csrf_token
from tests.fvt_tab.conftest import SOURCE, csv_bytes, daily_rows, import_file, snapshot, zip_bytes

NNBSP = "\u202f"
UPLOAD = "/fvt_tab/imports/nouveau"


def _fmt(n: int) -> str:
    return f"{n:,}".replace(",", NNBSP)


@pytest.fixture
def people(factories):
    cantal = factories.territory(name="Cantal", code="15")
    salers = factories.territory(name="Pays de Salers", code="SALERS", parent=cantal)
    agency = factories.organization(name="Cantal Destination", kind="agence", territory=cantal)
    office = factories.organization(name="Office de tourisme du Pays de Salers", territory=salers)
    return {
        "animateur": factories.user(name="Anne Animatrice", role="animateur", organization=agency),
        "membre": factories.user(name="Marc Membre", organization=office),
        "salers": salers,
        "cantal": cantal,
    }


@pytest.fixture
def animateur(people, login, client):
    login(people["animateur"])
    return client


def _delivery(b: int = 4) -> dict[str, bytes]:
    """The realistic delivery of Pays de Salers for 2024 B<b>, with an outage on 29 August."""
    from intranet.fvt_tab.demo import delivery

    return delivery("SALERS0", "Pays de Salers", 1.1, 0.3, 2024, b, outage=date(2024, 8, 29))


def _upload(client, data: bytes, name: str, **fields):
    token = csrf_token(client, UPLOAD)
    return client.post(UPLOAD, data={"csrf_token": token, "file": (io.BytesIO(data), name), "profile_id": "0",
                                     **fields}, content_type="multipart/form-data")


def _stored_files(app) -> list[Path]:
    root = Path(app.config["UPLOAD_DIR"])
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _imports():
    from intranet.extensions import db
    from intranet.fvt_tab.models import Import

    db.session.expire_all()
    return db.session.scalars(sa.select(Import).order_by(Import.id)).all()


def _jobs():
    from intranet.core.models import Job
    from intranet.extensions import db

    return db.session.scalars(sa.select(Job).order_by(Job.id)).all()


def _run_worker():
    from intranet.core import jobs

    return jobs.run_once()


def _summary(app, code: str, year: int) -> dict:
    result = app.test_cli_runner().invoke(args=["fvt", "summary", "--zone", code, "--year", str(year), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _tourist_nights(files: dict[str, bytes], name: str) -> int:
    """Σ Volume of the Touriste rows, NonLocal + Etranger, read straight from the CSV."""
    rows = csv.DictReader(io.StringIO(files[name].decode("utf-8")), delimiter=";")
    return sum(int(r["Volume"]) for r in rows if r["CategorieVisiteur"] == "Touriste"
               and r["Provenance"] in ("NonLocal", "Etranger") and r["Volume"])


def _file_rows(html: str) -> dict[str, tuple[str, int, int, int]]:
    """The report's per-file table: name → (zone, read, loaded, rejected)."""
    out = {}
    for m in re.finditer(r'<tr><td class="table-stack-title">([^<]+?)(?: <span[^>]*>[^<]*</span>)?</td>'
                         r'<td data-label="Zone">([^<]*)</td><td data-label="Lues">(\d+)</td>'
                         r'<td data-label="Chargées">(\d+)</td><td data-label="Rejetées">(\d+)</td></tr>', html):
        out[m.group(1)] = (m.group(2), int(m.group(3)), int(m.group(4)), int(m.group(5)))
    return out


# -- sending a delivery ----------------------------------------------------------------------------------

def test_upload_queues_then_the_worker_imports_and_the_report_tells_everything(app, animateur, people):
    files = _delivery()
    data = zip_bytes(files)
    page = animateur.get(UPLOAD)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Importer une livraison Flux Vision" in html and 'enctype="multipart/form-data"' in html

    resp = _upload(animateur, data, "Pays de Salers.zip")
    assert resp.status_code == 302
    (imp,) = _imports()
    assert resp.headers["Location"].endswith(f"/fvt_tab/imports/{imp.id}")
    assert imp.status == "queued" and imp.user_id == people["animateur"].id and imp.filename == "Pays de Salers.zip"
    assert len(_stored_files(app)) == 1, "the upload is kept for the worker"
    (job,) = _jobs()
    assert job.key == "fvt_tab.import" and imp.job_id == job.id

    # Queued: the report shows a progress bar at 0 and nothing else; the history says « en attente ».
    report = animateur.get(f"/fvt_tab/imports/{imp.id}")
    body = report.get_data(as_text=True)
    assert report.status_code == 200
    assert "Fichier reçu : l&#39;import tourne en arrière-plan." in body
    assert 'role="progressbar"' in body and 'aria-valuenow="0"' in body and "progress-w-0" in body
    assert f'data-import-state="/fvt_tab/imports/{imp.id}/etat"' in body
    assert "En attente : l'import démarre dès que le worker est libre… (0 %)" in body
    assert "Import en cours" not in body
    assert "Import terminé" not in body and "Rapport" not in body
    state = animateur.get(f"/fvt_tab/imports/{imp.id}/etat")
    assert state.get_json() == {"status": "queued", "progress": 0, "error": ""}
    history = animateur.get("/fvt_tab/imports").get_data(as_text=True)
    assert "Pays de Salers.zip" in history and "en attente" in history and "Anne Animatrice" in history

    _run_worker()

    state = animateur.get(f"/fvt_tab/imports/{imp.id}/etat")
    assert state.mimetype == "application/json"
    assert state.get_json() == {"status": "done", "progress": 100, "error": ""}
    assert _stored_files(app) == [], "the upload is deleted once read"
    body = animateur.get(f"/fvt_tab/imports/{imp.id}").get_data(as_text=True)
    assert "Import terminé." in body and 'aria-valuenow="100"' in body and "progress-w-100" in body
    assert "Import en cours" not in body

    # The per-file table: every CSV of the delivery but Dispo_, each with its lines read and loaded.
    table = _file_rows(body)
    csv_names = {name for name in files if not name.startswith("Dispo_")}
    assert set(table) == csv_names
    for name in csv_names:
        lines = files[name].decode("utf-8").count("\n") - 1
        assert table[name] == ("SALERS0", lines, lines, 0), name
    imp = _imports()[0]
    read, loaded = (f"{n:,}".replace(",", "\u202f") for n in (imp.rows_read, imp.rows_loaded))  # « 12 958 »
    assert f"Lignes lues : {read}, chargées : {loaded}, rejetées : 0" in body
    assert imp.rows_read == sum(t[1] for t in table.values())
    # Skipped files, new zones (linking to their settings), the outage day detected.
    assert "Fichiers ignorés (famille inconnue) : Dispo_2024B4_SALERS0.csv" in body
    assert "Nouvelles zones à rattacher à un territoire :" in body
    assert 'href="/fvt_tab/zones/SALERS0/parametres">SALERS0</a>' in body
    assert "Jours de panne détectés (SALERS0) : 2024-08-29" in body

    history = animateur.get("/fvt_tab/imports").get_data(as_text=True)
    assert "terminé" in history and "en attente" not in history

    # The figures are there: the zone page shows the tourist nights summed from the file itself.
    zone = animateur.get("/fvt_tab/zones/SALERS0").get_data(as_text=True)
    assert _fmt(_tourist_nights(files, "Nuitee_2024B4_SALERS0.csv")) in zone
    assert "29/08/2024 : panne du réseau (détecté)" in zone
    assert SOURCE in zone
    assert _summary(app, "SALERS0", 2024)["jours_anomalie"] == ["2024-08-29"]


def test_while_the_worker_runs_the_page_and_the_json_show_its_progress(app, animateur):
    """The worker records its progress on the job (as set_progress does): the state JSON and the
    report's bar follow it."""
    from intranet.core.jobs import set_progress
    from intranet.extensions import db

    _upload(animateur, zip_bytes(_delivery()), "Pays de Salers.zip")
    (imp,) = _imports()
    (job,) = _jobs()
    imp.status = "running"
    set_progress(job, 42, 100)
    db.session.commit()
    assert animateur.get(f"/fvt_tab/imports/{imp.id}/etat").get_json() == {
        "status": "running", "progress": 42, "error": ""}
    body = animateur.get(f"/fvt_tab/imports/{imp.id}").get_data(as_text=True)
    assert 'aria-valuenow="42"' in body and "progress-w-40" in body and "Import en cours… (42 %)" in body
    history = animateur.get("/fvt_tab/imports").get_data(as_text=True)
    assert "en cours" in history


def test_a_truncated_zip_fails_in_french_and_changes_nothing(app, animateur):
    good = zip_bytes(_delivery(4))
    _upload(animateur, good, "Pays de Salers 2024B4.zip")
    _run_worker()
    before = snapshot()
    assert before["facts"]

    broken = zip_bytes(_delivery(5))
    resp = _upload(animateur, broken[: len(broken) // 2], "Pays de Salers 2024B5.zip")
    assert resp.status_code == 302, "a ZIP's first bytes are right: the worker finds out"
    _run_worker()
    imp = _imports()[-1]
    assert imp.status == "failed"
    assert "Pays de Salers 2024B5.zip est endommagé ou n'est pas une archive ZIP valide." in imp.error
    body = animateur.get(f"/fvt_tab/imports/{imp.id}").get_data(as_text=True)
    assert "Échec : Pays de Salers 2024B5.zip est endommagé ou n&#39;est pas une archive ZIP valide." in body
    assert "Rien n'a été modifié." in body
    assert "Import terminé" not in body and "Traceback" not in body
    state = animateur.get(f"/fvt_tab/imports/{imp.id}/etat").get_json()
    assert state == {"status": "failed", "progress": 100, "error": imp.error}
    history = animateur.get("/fvt_tab/imports").get_data(as_text=True)
    assert "échec" in history
    after = snapshot()
    assert after == before
    assert _stored_files(app) == []


def test_the_same_file_twice_is_refused_in_french(app, animateur):
    data = zip_bytes(_delivery())
    _upload(animateur, data, "Pays de Salers.zip")
    _run_worker()
    (first,) = _imports()
    before = snapshot()
    jobs_before = len(_jobs())

    resp = _upload(animateur, data, "Copie de Pays de Salers.zip")
    assert resp.status_code == 400
    body = resp.get_data(as_text=True)
    today = first.created_at.strftime("%d/%m/%Y")
    assert f"Ce fichier a déjà été importé le {today} (import n° {first.id}) : rien n&#39;a changé." in body
    assert [i.id for i in _imports()] == [first.id]
    assert len(_jobs()) == jobs_before
    assert _stored_files(app) == []
    assert snapshot() == before


def test_a_program_renamed_zip_is_refused_and_nothing_is_stored(app, animateur):
    exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"PE\x00\x00" + b"\x00" * 200
    resp = _upload(animateur, exe, "livraison.zip")
    assert resp.status_code == 400
    body = resp.get_data(as_text=True)
    assert "Le contenu du fichier ne correspond pas à son extension." in body
    assert _imports() == [] and _jobs() == [] and _stored_files(app) == []

    resp = _upload(animateur, exe, "livraison.exe")
    assert resp.status_code == 400
    assert "Ce type de fichier n&#39;est pas accepté : .exe." in resp.get_data(as_text=True)
    assert _imports() == [] and _stored_files(app) == []

    resp = animateur.post(UPLOAD, data={"csrf_token": csrf_token(animateur, UPLOAD), "profile_id": "0"},
                          content_type="multipart/form-data")
    assert resp.status_code == 400 and "Choisissez un fichier." in resp.get_data(as_text=True)


def test_members_cannot_send_deliveries(app, client, login, people):
    login(people["membre"])
    assert client.get(UPLOAD).status_code == 403
    token = csrf_token(client, "/accounts/profil")
    resp = client.post(UPLOAD, data={"csrf_token": token, "file": (io.BytesIO(zip_bytes(_delivery())), "a.zip")},
                       content_type="multipart/form-data")
    assert resp.status_code == 403
    assert _imports() == [] and _stored_files(app) == []


# -- the history --------------------------------------------------------------------------------------

def test_the_history_lists_who_imported_what_and_when_paginated(app, animateur, people):
    from intranet.extensions import db
    from intranet.fvt_tab.models import Import

    per_page = app.config["PAGE_SIZE"]
    for n in range(per_page + 2):
        db.session.add(Import(filename=f"livraison-{n:02d}.zip", sha256=f"{n:064x}", status="done",
                              user_id=people["animateur"].id if n % 2 else None, rows_loaded=10 * n,
                              created_at=datetime(2025, 1, 1 + n, 9, 30, tzinfo=UTC)))
    db.session.commit()

    first = animateur.get("/fvt_tab/imports").get_data(as_text=True)
    names = re.findall(r"livraison-(\d\d)\.zip</a>", first)
    assert names == [f"{n:02d}" for n in range(per_page + 1, 1, -1)], "newest first, one page"
    newest = per_page + 1
    assert f"{1 + newest} janvier 2025 à 10:30" in first, "when (Paris time)"
    assert "Anne Animatrice" in first, "who"
    # A CLI import has no user: the cell reads as a phrase under « Par », not « Par : ligne de commande ».
    assert '<td data-label="Par">importé en ligne de commande</td>' in first
    assert '<td data-label="Par">ligne de commande</td>' not in first
    assert f"{10 * newest} / 0" in first
    assert 'aria-label="Pagination"' in first and "?page=2" in first

    second = animateur.get("/fvt_tab/imports?page=2").get_data(as_text=True)
    assert re.findall(r"livraison-(\d\d)\.zip</a>", second) == ["01", "00"]
    assert "1 janvier 2025 à 10:30" in second
    for n in ("01", "00"):
        assert f"livraison-{n}.zip" not in first

    resp = animateur.get("/fvt_tab/imports/99999")
    assert resp.status_code == 404 and "Page introuvable" in resp.get_data(as_text=True)
    assert animateur.get("/fvt_tab/imports/99999/etat").status_code == 404


# -- zone settings ---------------------------------------------------------------------------------------

def _zone(code: str):
    from intranet.extensions import db
    from intranet.fvt_tab.models import Zone

    db.session.expire_all()
    return db.session.scalar(sa.select(Zone).where(Zone.code == code))


def _settings_post(client, code: str, **fields):
    url = f"/fvt_tab/zones/{code}/parametres"
    zone = _zone(code)
    data = {"csrf_token": csrf_token(client, url), "name": zone.name, "territory_id": str(zone.territory_id or 0),
            "new_alias": "", **fields}
    return client.post(url, data=data)


def test_zone_settings_link_a_territory_and_edit_aliases(app, client, login, people, factories):
    rows = daily_rows(date(2024, 7, 1), days=2, zone="Pays de Salers", provenances=("NonLocal",), volume=500)
    import_file("Nuitee_2024B4_SALERS0.csv", csv_bytes(rows))
    import_file("Nuitee_2024B4_AURILLAC0.csv", csv_bytes(daily_rows(date(2024, 7, 1), zone="Pays d'Aurillac")))
    assert _zone("SALERS0").territory_id is None

    # Before the link, the zone is the observatory's: the office's member does not see it at all
    # (not as another territory's « consultation »: it may be their own).
    member_client = app.test_client()
    login(people["membre"], c=member_client)
    assert member_client.get("/fvt_tab/zones/SALERS0/export.csv?annee=2024").status_code == 403
    assert member_client.get("/fvt_tab/zones/SALERS0").status_code == 403
    listing = member_client.get("/fvt_tab/territoires").get_data(as_text=True)
    assert "/fvt_tab/zones/SALERS0" not in listing and "Aucune zone accessible pour l'instant." in listing

    login(people["animateur"])
    assert "à rattacher à un territoire" in client.get("/fvt_tab/territoires").get_data(as_text=True)
    page = client.get("/fvt_tab/zones/SALERS0/parametres").get_data(as_text=True)
    assert "Paramètres de la zone SALERS0" in page
    assert "Pays de Salers" in page  # the ZoneObservation label, kept as an alias
    assert f'<option value="{people["salers"].id}">Pays de Salers</option>' in page

    resp = _settings_post(client, "SALERS0", name="Pays de Salers (zone FVT)",
                          territory_id=str(people["salers"].id), new_alias="Salers et ses alentours")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/fvt_tab/zones/SALERS0/parametres")
    page = client.get("/fvt_tab/zones/SALERS0/parametres").get_data(as_text=True)
    assert "Zone enregistrée." in page and "Salers et ses alentours" in page
    zone = _zone("SALERS0")
    assert zone.territory_id == people["salers"].id and zone.name == "Pays de Salers (zone FVT)"
    assert sorted(a.alias for a in zone.aliases) == ["Pays de Salers", "Salers et ses alentours"]

    # Linked: the office's member now exports it, first in the list, as their own.
    assert member_client.get("/fvt_tab/zones/SALERS0/export.csv?annee=2024").status_code == 200
    listing = member_client.get("/fvt_tab/territoires").get_data(as_text=True)
    assert "votre territoire" in listing and "consultation et export" in listing

    # An alias another zone (or this one) already has is refused in French, nothing saved, even the
    # other fields of the same form; spelling differences do not make a new name.
    for taken in ("Pays d'Aurillac", "PAYS D’AURILLAC ", "salers et ses ALENTOURS"):
        before = snapshot()
        resp = _settings_post(client, "SALERS0", name="Autre nom", new_alias=taken)
        assert resp.status_code == 400, taken
        assert "Ce nom désigne déjà une zone." in resp.get_data(as_text=True)
        assert snapshot() == before, taken

    # Removing an alias.
    alias = next(a for a in _zone("SALERS0").aliases if a.alias == "Salers et ses alentours")
    resp = _settings_post(client, "SALERS0", remove_alias=str(alias.id))
    assert resp.status_code == 302
    assert [a.alias for a in _zone("SALERS0").aliases] == ["Pays de Salers"]
    # An alias of another zone cannot be removed through this zone's form.
    other = _zone("AURILLAC0").aliases[0]
    _settings_post(client, "SALERS0", remove_alias=str(other.id))
    assert [a.alias for a in _zone("AURILLAC0").aliases] == ["Pays d'Aurillac"]

    # Unlinking (— Aucun —).
    _settings_post(client, "SALERS0", territory_id="0")
    assert _zone("SALERS0").territory_id is None
    assert member_client.get("/fvt_tab/zones/SALERS0/export.csv?annee=2024").status_code == 403
    assert member_client.get("/fvt_tab/zones/SALERS0").status_code == 403

    # A required name.
    resp = _settings_post(client, "SALERS0", name="")
    assert resp.status_code == 400 and _zone("SALERS0").name == "Pays de Salers (zone FVT)"


# -- days marked by hand ---------------------------------------------------------------------------------

def test_a_day_marked_interpolated_shows_on_the_zone_page_and_in_the_summary(app, animateur):
    rows = daily_rows(date(2024, 7, 1), days=10, zone="Pays de Salers", provenances=("NonLocal", "Etranger"),
                      volume=300)
    import_file("Nuitee_2024B4_SALERS0.csv", csv_bytes(rows))
    page = animateur.get("/fvt_tab/zones/SALERS0").get_data(as_text=True)
    assert "Jours signalés" in page and "Aucun jour signalé cette année." in page
    assert _summary(app, "SALERS0", 2024)["jours_anomalie"] == []

    url = "/fvt_tab/zones/SALERS0/qualite"
    token = csrf_token(animateur, "/fvt_tab/zones/SALERS0")
    resp = animateur.post(url, data={"csrf_token": token, "day": "2024-07-05", "flag": "interpolated",
                                     "note": "Antenne en maintenance"}, follow_redirects=True)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and resp.request.path == "/fvt_tab/zones/SALERS0"
    assert "Le 05/07/2024 est signalé." in html
    assert "05/07/2024 : valeurs interpolées — Antenne en maintenance" in html
    assert "(détecté)" not in html
    assert _summary(app, "SALERS0", 2024)["jours_anomalie"] == ["2024-07-05"]
    assert _summary(app, "SALERS0", 2023)["jours_anomalie"] == []

    # A bad date: a French message, nothing recorded.
    for bad in ("2024-13-45", "05/07/2024", ""):
        resp = animateur.post(url, data={"csrf_token": token, "day": bad, "flag": "outage"}, follow_redirects=True)
        assert resp.status_code == 200
        assert "Date invalide (AAAA-MM-JJ)." in resp.get_data(as_text=True), bad
    assert _summary(app, "SALERS0", 2024)["jours_anomalie"] == ["2024-07-05"]

    # An unknown flag is refused.
    assert animateur.post(url, data={"csrf_token": token, "day": "2024-07-06", "flag": "autre"}).status_code == 400

    # Removing the mark.
    resp = animateur.post(url, data={"csrf_token": token, "day": "2024-07-05", "flag": ""}, follow_redirects=True)
    html = resp.get_data(as_text=True)
    assert "Le 05/07/2024 n&#39;est plus signalé." in html and "Aucun jour signalé cette année." in html
    assert _summary(app, "SALERS0", 2024)["jours_anomalie"] == []


# -- mapping profiles ------------------------------------------------------------------------------------

def test_the_profiles_page_creates_a_profile(app, animateur):
    page = animateur.get("/fvt_tab/profils").get_data(as_text=True)
    assert "Profils de lecture des feuilles Excel" in page and "Aucun profil." in page
    fields = {"name": "Tableau mensuel de l'agence", "sheet": "Nuitées", "header_row": "3", "date_column": "Jour",
              "zone_column": "Territoire", "value_column": "Nuitées touristiques", "period_columns": "",
              "family": "Nuitee", "category": "Touriste", "provenance": "NonLocal", "zone_code": ""}
    token = csrf_token(animateur, "/fvt_tab/profils")
    resp = animateur.post("/fvt_tab/profils", data={"csrf_token": token, **fields}, follow_redirects=True)
    html = resp.get_data(as_text=True)
    assert "Profil enregistré." in html
    assert "<strong>Tableau mensuel de l&#39;agence</strong>" in html
    assert "Nuitee, Touriste, NonLocal, en-tête ligne 3" in html

    from intranet.extensions import db
    from intranet.fvt_tab.models import MappingProfile

    (profile,) = db.session.scalars(sa.select(MappingProfile)).all()
    assert (profile.sheet, profile.header_row, profile.date_column, profile.zone_column, profile.value_column) == (
        "Nuitées", 3, "Jour", "Territoire", "Nuitées touristiques")

    # Period columns, split on « ; ».
    resp = animateur.post("/fvt_tab/profils", data={"csrf_token": token, **fields, "name": "Tableau par mois",
                                                    "period_columns": "2024-07-01; 2024-08-01 ;"})
    assert resp.status_code == 302
    profile = db.session.scalar(sa.select(MappingProfile).where(MappingProfile.name == "Tableau par mois"))
    assert profile.period_columns == ["2024-07-01", "2024-08-01"]

    # The upload page offers them.
    upload = animateur.get(UPLOAD).get_data(as_text=True)
    assert f'<option value="{profile.id}">Tableau par mois</option>' in upload

    # The same name twice, and a missing name: French errors, nothing added.
    resp = animateur.post("/fvt_tab/profils", data={"csrf_token": token, **fields})
    assert resp.status_code == 400 and "Un profil porte déjà ce nom." in resp.get_data(as_text=True)
    resp = animateur.post("/fvt_tab/profils", data={"csrf_token": token, **fields, "name": ""})
    assert resp.status_code == 400
    resp = animateur.post("/fvt_tab/profils", data={"csrf_token": token, **fields, "name": "Ligne zéro",
                                                    "header_row": "0"})
    assert resp.status_code == 400 and "Le nombre doit être compris entre 1 et 1000." in resp.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MappingProfile)) == 2


# -- deliveries arriving, years without data ---------------------------------------------------------------

def test_while_a_delivery_is_queued_or_running_the_zone_pages_say_so(app, animateur, people, login):
    from intranet.core.jobs import set_progress
    from intranet.extensions import db

    salers = _zone_linked(people)
    member = app.test_client()
    login(people["membre"], c=member)
    _upload(animateur, zip_bytes(_delivery(4)), "Pays de Salers 2024B4.zip")
    (imp,) = _imports()

    # Queued (the worker is busy elsewhere): the member's page says figures are arriving, at 0 %.
    page = member.get("/fvt_tab/zones/SALERS0").get_data(as_text=True)
    assert "Import en cours : 0 livraison sur 1 (0 %)" in page
    assert 'data-import-state="/fvt_tab/zones/SALERS0/arrivees?faites=0"' in page
    assert 'aria-valuenow="0"' in page
    assert "Pas encore de données pour cette zone" not in page
    listing = member.get("/fvt_tab/territoires").get_data(as_text=True)
    assert "Import en cours : 0 livraison sur 1" in listing
    assert member.get("/fvt_tab/zones/SALERS0/arrivees?faites=0").get_json() == {
        "status": "queued", "progress": 0, "done": 0, "total": 1}

    # Running, halfway through the file: the same progress the import report shows.
    (job,) = _jobs()
    imp.status = "running"
    set_progress(job, 50, 100)
    db.session.commit()
    assert member.get("/fvt_tab/zones/SALERS0/arrivees?faites=0").get_json() == {
        "status": "running", "progress": 50, "done": 0, "total": 1}
    assert "Import en cours : 0 livraison sur 1 (50 %)" in member.get("/fvt_tab/zones/SALERS0").get_data(as_text=True)
    imp.status = "queued"
    db.session.commit()

    _run_worker()
    # Done: the page the member has open reloads (« done »), and then shows the figures, no banner.
    assert member.get("/fvt_tab/zones/SALERS0/arrivees?faites=0").get_json() == {"status": "done", "progress": 100}
    page = member.get("/fvt_tab/zones/SALERS0").get_data(as_text=True)
    assert "Import en cours" not in page and "data-import-state" not in page
    assert "Année 2024 incomplète : les chiffres couvrent la période du 1er juillet au 31 août 2024." in page

    # The next delivery, queued: the figures already there are said to be partial.
    _upload(animateur, zip_bytes(_delivery(5)), "Pays de Salers 2024B5.zip")
    page = member.get("/fvt_tab/zones/SALERS0").get_data(as_text=True)
    assert "Import en cours : 0 livraison sur 1" in page and "Les chiffres ci-dessous sont partiels" in page
    csv_text = member.get("/fvt_tab/zones/SALERS0/export.csv").get_data(as_text=True)
    assert "Import en cours : 0 livraison sur 1 ; ces chiffres sont partiels." in csv_text
    # Another zone's page is not concerned by a Pays de Salers delivery.
    import_file("Nuitee_2024B4_CARLADES0.csv", csv_bytes(daily_rows(date(2024, 7, 1), zone="Carladès")))
    assert "Import en cours" not in animateur.get("/fvt_tab/zones/CARLADES0").get_data(as_text=True)
    assert salers.code == "SALERS0"


def test_a_workbook_naming_no_zone_concerns_every_zone_until_read(app, animateur, people):
    from intranet.fvt_tab.arriving import guess_zones

    import_file("Nuitee_2024B4_CARLADES0.csv", csv_bytes(daily_rows(date(2024, 7, 1), zone="Carladès")))
    assert guess_zones("Livraison_2024B4_CARLADES0.xlsx", b"") == {"CARLADES0"}
    assert guess_zones("Nuitee_2024B4_SALERS0.csv", b"") == {"SALERS0"}
    assert guess_zones("Pays de Salers.zip", zip_bytes(_delivery(4))) == {"SALERS0"}
    assert guess_zones("tableau.xlsx", b"") == {""}
    from tests.fvt_tab.conftest import sheet_rows, xlsx_bytes

    book = xlsx_bytes({"Nuitee": sheet_rows(daily_rows(date(2024, 7, 1), zone="Carladès"))})
    _upload(animateur, book, "tableau de bord.xlsx")
    assert "Import en cours : 0 livraison sur 1" in animateur.get("/fvt_tab/zones/CARLADES0").get_data(as_text=True)
    _run_worker()
    assert _imports()[-1].status == "done"
    assert "Import en cours" not in animateur.get("/fvt_tab/zones/CARLADES0").get_data(as_text=True)


def test_a_year_without_data_says_so_with_the_years_that_have_some(app, client, login, people):
    _zone_linked(people)
    import_file("Nuitee_2024B4_SALERS0.csv", csv_bytes(daily_rows(date(2024, 7, 1), days=3, volume=500)))
    import_file("Nuitee_2025B4_SALERS0.csv", csv_bytes(daily_rows(date(2025, 7, 1), days=3, volume=600)))
    login(people["membre"])
    page = client.get("/fvt_tab/zones/SALERS0?annee=2023").get_data(as_text=True)
    assert "Pas de données pour 2023." in page
    assert ('Années avec des données : <a href="/fvt_tab/zones/SALERS0?annee=2025">2025</a>, '
            '<a href="/fvt_tab/zones/SALERS0?annee=2024">2024</a>.') in page
    assert "Nuitées touristiques" not in page and "Exporter (CSV)" not in page
    assert "SALERS0</code>" not in page and "<code" not in page  # the name, not the files' code
    page = client.get("/fvt_tab/zones/SALERS0").get_data(as_text=True)  # the latest year by default
    assert "Pas de données" not in page and _fmt(1800) in page
    # 1–3 July 2025 (Tuesday to Thursday) against the same weekdays of 2024, 2–4 July: 2024 holds
    # 1–3 July, so two days of 500.
    assert "N-1, mêmes jours : " + _fmt(1000) in page


def _zone_linked(people):
    """SALERS0 created by a first (empty of figures) step and linked to the member's territory, as
    the observatory does once."""
    from intranet.extensions import db
    from intranet.fvt_tab.models import Zone

    zone = Zone(code="SALERS0", name="Pays de Salers", territory_id=people["salers"].id)
    db.session.add(zone)
    db.session.commit()
    return zone
