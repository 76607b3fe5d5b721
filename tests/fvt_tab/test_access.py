"""Who sees and exports which FVT figures: every FVT route (and the CSV export) × role × own / other /
unlinked / unknown zone × « Partage entre destinations » on / off, checked for the status AND what the
person reads.

The network: the Cantal (a department) with two territories under it, Pays de Salers (A) and
Châtaigneraie (B); an office in each with a member; the departmental agency (territory: the
Cantal) with an animateur and an admin. Zones: SALERS0 linked to A, CHATAIGNERAIE0 linked to B,
ORPHELINE0 linked to no territory, each with one day of known figures (imported from a real ZIP).

The rules (the partnership agreements): admins and animateurs see and export every zone; an
office's members see and export their own territory's zones; the others only in consultation,
while sharing is on; a zone linked to no territory yet only admins and animateurs see; otherwise
403, refused by the server. Every output carries the source.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from tests.conftest import csrf_token
from tests.fvt_tab.conftest import SOURCE, cantal, csv_bytes, daily_rows, import_file, zip_bytes

NNBSP = "\u202f"  # the thousands separator of the figures on the pages

#: zone code → (label, territory key, {provenance: volume of tourist nights on 2024-07-01})
ZONES = {
    "SALERS0": ("Pays de Salers", "A", {"NonLocal": 4000, "Etranger": 321, "Local": 999}),
    "CHATAIGNERAIE0": ("Châtaigneraie", "B", {"NonLocal": 8000, "Etranger": 765, "Local": 555}),
    "ORPHELINE0": ("Zone orpheline", None, {"NonLocal": 2000, "Etranger": 468, "Local": 111}),
}
#: tourist nights as the zone page shows them (Local excluded): "4 321"…
SHOWN = {code: f"{(v['NonLocal'] + v['Etranger']) // 1000}{NNBSP}{(v['NonLocal'] + v['Etranger']) % 1000:03d}"
         for code, (_label, _t, v) in ZONES.items()}
UNKNOWN = "INCONNUE0"

ROLES = ("anonyme", "membre_a", "membre_b", "animateur", "admin")
RELATIONS = ("propre", "autre", "non_rattachee", "inconnue")
SHARING = (True, False)


def zone_for(role: str, relation: str) -> str:
    """The zone a relation names for a role: a member of B's own zone is B's."""
    if relation == "non_rattachee":
        return "ORPHELINE0"
    if relation == "inconnue":
        return UNKNOWN
    own, other = ("CHATAIGNERAIE0", "SALERS0") if role == "membre_b" else ("SALERS0", "CHATAIGNERAIE0")
    return own if relation == "propre" else other


def level(role: str, relation: str, sharing: bool) -> str | None:
    """"export", "view" or None: what the agreements give."""
    if role == "anonyme":
        return None
    if role in ("animateur", "admin") or relation == "propre":
        return "export"
    if relation == "non_rattachee":  # the observatory's until linked: it may be this office's own
        return None
    return "view" if sharing else None


# -- the network --------------------------------------------------------------------------------------

@pytest.fixture
def network(app, factories):
    from intranet.core.settings import set_setting
    from intranet.extensions import db
    from intranet.fvt_tab.models import Zone

    net = cantal(factories)
    ta, tb, agency, office_a, office_b = net["A"], net["B"], net["agency"], net["office_a"], net["office_b"]
    people = {
        "membre_a": factories.user(name="Alice Salers", organization=office_a),
        "membre_b": factories.user(name="Bruno Châtaigneraie", organization=office_b),
        "animateur": factories.user(name="Anne Animatrice", role="animateur", organization=agency),
        "admin": factories.user(name="Adrien Admin", role="admin", organization=agency),
    }
    files = {}
    for code, (label, _t, volumes) in ZONES.items():
        rows = daily_rows(date(2024, 7, 1), zone=label, provenances=list(volumes),
                          volume=lambda r, v=volumes: v[r["Provenance"]])
        files[f"Nuitee_2024B4_{code}.csv"] = csv_bytes(rows)
    imp = import_file("Livraison 2024B4.zip", zip_bytes(files))
    territories = {"A": ta.id, "B": tb.id, None: None}
    for code, (_label, key, _v) in ZONES.items():
        db.session.scalar(sa.select(Zone).where(Zone.code == code)).territory_id = territories[key]
    db.session.commit()
    network = {"people": people, "import_id": imp.id, "territories": territories, "cantal": net["cantal"]}

    def set_sharing(on: bool):
        set_setting("fvt_tab.sharing", on)
        db.session.commit()

    network["set_sharing"] = set_sharing
    return network


def _state() -> dict:
    """Everything a refused request must leave as it was."""
    from flask import current_app

    from intranet.core.models import Setting
    from intranet.extensions import db
    from intranet.fvt_tab.models import DayQuality, Import, MappingProfile, Zone, ZoneAlias

    db.session.expire_all()
    sharing = db.session.get(Setting, "fvt_tab.sharing")
    root = Path(current_app.config["UPLOAD_DIR"])
    return {
        "imports": sorted((i.id, i.status) for i in db.session.scalars(sa.select(Import))),
        "quality": sorted((q.zone_id, q.day, q.flag) for q in db.session.scalars(sa.select(DayQuality))),
        "profiles": sorted(p.name for p in db.session.scalars(sa.select(MappingProfile))),
        "zones": sorted((z.code, z.name, z.territory_id) for z in db.session.scalars(sa.select(Zone))),
        "aliases": sorted(a.alias for a in db.session.scalars(sa.select(ZoneAlias))),
        "sharing": None if sharing is None else sharing.value,
        "stored_files": sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()),
    }


# -- the routes ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Route:
    name: str
    endpoint: str
    method: str = "GET"
    zone: bool = False  # a zone-specific route (parametrized over the zone relation)
    manager: bool = False  # needs fvt_tab.manage / fvt_tab.import (admins and animateurs)


ROUTES = [
    Route("page de zone", "fvt_tab.zone", zone=True),
    Route("export CSV", "fvt_tab.export", zone=True),
    Route("arrivée des livraisons (JSON)", "fvt_tab.zone_arriving", zone=True),
    Route("qualité (POST)", "fvt_tab.quality", "POST", zone=True, manager=True),
    Route("paramètres de zone", "fvt_tab.zone_settings", zone=True, manager=True),
    Route("paramètres de zone (POST)", "fvt_tab.zone_settings", "POST", zone=True, manager=True),
    Route("entrée de l'onglet", "fvt_tab.index"),
    Route("liste des territoires", "fvt_tab.territories"),
    Route("données (JSON)", "fvt_tab.data", zone=True),
    Route("CSV de la sélection", "fvt_tab.export_selection", zone=True),
    Route("rapport PDF", "fvt_tab.export_pdf", zone=True),
    Route("partage (POST)", "fvt_tab.sharing", "POST", manager=True),
    Route("historique des imports", "fvt_tab.imports", manager=True),
    Route("envoi d'une livraison", "fvt_tab.upload", manager=True),
    Route("envoi d'une livraison (POST)", "fvt_tab.upload", "POST", manager=True),
    Route("rapport d'import", "fvt_tab.import_report", manager=True),
    Route("état d'import (JSON)", "fvt_tab.import_state", manager=True),
    Route("profils de lecture", "fvt_tab.profiles", manager=True),
    Route("profils de lecture (POST)", "fvt_tab.profiles", "POST", manager=True),
]


def expected_status(route: Route, role: str, relation: str | None, sharing: bool) -> int:
    if role == "anonyme":
        return 302  # to the login page
    if route.manager and role not in ("animateur", "admin"):
        return 403
    if relation == "inconnue":
        return 404
    if route.endpoint in ("fvt_tab.zone", "fvt_tab.zone_arriving", "fvt_tab.data"):
        return 200 if level(role, relation, sharing) else 403
    if route.endpoint in ("fvt_tab.export", "fvt_tab.export_selection", "fvt_tab.export_pdf"):
        return 200 if level(role, relation, sharing) == "export" else 403
    if route.endpoint == "fvt_tab.index":
        return 302  # to the person's own territory's tab
    return 302 if route.method == "POST" else 200


def _cases():
    for route in ROUTES:
        for role in ROLES:
            for relation in (RELATIONS if route.zone else (None,)):
                for sharing in SHARING:
                    ident = f"{route.name}-{role}-{relation or 'global'}-{'partage' if sharing else 'sans-partage'}"
                    yield pytest.param(route, role, relation, sharing, id=ident)


def _url(app, route: Route, code: str | None, network) -> str:
    from flask import url_for

    values = {}
    if route.zone:
        values["code"] = code
    if route.endpoint in ("fvt_tab.import_report", "fvt_tab.import_state"):
        values["import_id"] = network["import_id"]
    if route.endpoint in ("fvt_tab.export", "fvt_tab.export_selection", "fvt_tab.export_pdf"):
        values["annee"] = 2024
    with app.test_request_context():
        return url_for(route.endpoint, **values)


def _post_data(route: Route, network, sharing: bool) -> dict:
    if route.endpoint == "fvt_tab.quality":
        return {"day": "2024-07-02", "flag": "interpolated", "note": "Réseau rétabli à midi"}
    if route.endpoint == "fvt_tab.zone_settings":
        return {"name": "Nom changé", "territory_id": str(network["territories"]["B"]), "new_alias": "Autre nom"}
    if route.endpoint == "fvt_tab.sharing":
        return {"on": "0" if sharing else "1"}
    if route.endpoint == "fvt_tab.upload":
        rows = daily_rows(date(2024, 9, 1), zone="Pays de Salers", provenances=("NonLocal",), volume=42)
        return {"file": (io.BytesIO(csv_bytes(rows)), "Nuitee_2024B5_SALERS0.csv"), "profile_id": "0"}
    if route.endpoint == "fvt_tab.profiles":
        return {"name": "Tableau de bord mensuel", "sheet": "", "header_row": "3", "date_column": "Jour",
                "zone_column": "", "value_column": "Nuitées", "period_columns": "", "family": "Nuitee",
                "category": "Touriste", "provenance": "NonLocal", "zone_code": "SALERS0"}
    return {}


@pytest.mark.parametrize(("route", "role", "relation", "sharing"), list(_cases()))
def test_fvt_route(route, role, relation, sharing, app, client, login, network):
    network["set_sharing"](sharing)
    code = zone_for(role, relation) if route.zone else None
    expected = expected_status(route, role, relation, sharing)
    if role != "anonyme":
        login(network["people"][role])
    url = _url(app, route, code, network)
    before = _state()
    if route.method == "GET":
        resp = client.get(url)
    else:
        token = csrf_token(client, "/accounts/connexion" if role == "anonyme" else "/accounts/profil")
        resp = client.post(url, data={"csrf_token": token, **_post_data(route, network, sharing)},
                           content_type="multipart/form-data")
    assert resp.status_code == expected, (
        f"{route.method} {url} as {role} (zone: {relation}, sharing {'on' if sharing else 'off'}): "
        f"got {resp.status_code}, expected {expected} (Location: {resp.headers.get('Location')})")
    after = _state()
    body = "" if resp.mimetype == "application/pdf" else resp.get_data(as_text=True)

    if role == "anonyme":
        assert urlsplit(resp.headers["Location"]).path == "/accounts/connexion"
    if expected in (403, 404) or role == "anonyme" or route.method == "GET":
        assert after == before, f"{route.method} {url} as {role} changed something"
    if expected == 403:
        assert "Accès refusé" in body
        for shown in SHOWN.values():  # no figure leaks through the refusal page
            assert shown not in body
    if expected == 404:
        assert "Page introuvable" in body
    if expected in (200, 302) and role != "anonyme":
        CHECKS[route.endpoint, route.method](resp, body, role=role, relation=relation, code=code,
                                             sharing=sharing, before=before, after=after, network=network)


# -- what each allowed answer must hold ----------------------------------------------------------------

def _check_zone(resp, body, *, role, relation, code, sharing, **_):
    assert resp.mimetype == "text/html"
    assert SOURCE in body
    assert ZONES[code][0] in body
    assert SHOWN[code] in body, f"the tourist nights of {code} should be shown"
    for other, shown in SHOWN.items():
        if other != code:
            assert shown not in body
    export_href = f"/fvt_tab/zones/{code}/export.csv"
    if level(role, relation, sharing) == "export":
        assert export_href in body and "Exporter (CSV)" in body
        assert f"/fvt_tab/zones/{code}/selection.csv" in body and f"/fvt_tab/zones/{code}/rapport.pdf" in body
        assert "Consultation seule" not in body
    else:
        assert "Consultation seule" in body
        assert "export.csv" not in body and "Exporter (CSV)" not in body
        assert "selection.csv" not in body and "rapport.pdf" not in body


def _nights(code: str) -> int:
    volumes = ZONES[code][2]
    return volumes["NonLocal"] + volumes["Etranger"]


def _check_data(resp, body, *, code, **_):
    assert resp.mimetype == "application/json"
    data = resp.get_json()
    kpis = {k["cle"]: k for k in data["indicateurs"]}
    assert kpis["nuitees_touristes"]["n"] == _nights(code)
    assert kpis["nuitees_etrangers"]["n"] == ZONES[code][2]["Etranger"]
    assert data["source"] == SOURCE


def _check_selection_csv(resp, body, *, code, **_):
    assert resp.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff")), delimiter=";"))
    assert ["Nuitées touristiques", str(_nights(code)), "", ""] in rows
    assert rows[-1] == [f"Source : {SOURCE}"]


def _check_pdf(resp, body, *, code, **_):
    from pypdf import PdfReader

    assert resp.mimetype == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(resp.get_data())).pages)
    text = " ".join(text.replace("\u00a0", " ").split())
    assert ZONES[code][0] in text and SOURCE in text
    assert f"Nuitées touristiques {_nights(code) // 1000} {_nights(code) % 1000:03d}" in text


def _check_entry(resp, body, *, role, network, **_):
    path = urlsplit(resp.headers["Location"]).path
    if role.startswith("membre"):
        assert path == f"/fvt_tab/zones/{zone_for(role, 'propre')}"
    else:
        assert path in {f"/fvt_tab/zones/{code}" for code in ZONES}


def _check_export(resp, body, *, code, **_):
    assert resp.headers["Content-Type"] == "text/csv; charset=utf-8"  # once (mimetype= doubled it)
    assert f'filename="fvt-{code}-2024.csv"' in resp.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff")), delimiter=";"))
    assert rows[0] == ["Date", "Famille", "Catégorie", "Provenance", "Volume"]
    volumes = ZONES[code][2]
    data = {(r[0], r[1], r[2], r[3]): r[4] for r in rows[1:] if len(r) == 5}
    assert data == {("2024-07-01", "Nuitee", "Touriste", prov): str(v) for prov, v in volumes.items()}
    assert rows[-1] == [f"Source : {SOURCE}"]


def _check_arriving(resp, body, **_):
    assert resp.mimetype == "application/json"
    assert resp.get_json() == {"status": "done", "progress": 100}  # nothing pending: the page reloads


def _check_quality(resp, body, *, code, before, after, **_):
    assert urlsplit(resp.headers["Location"]).path == f"/fvt_tab/zones/{code}"
    added = set(after["quality"]) - set(before["quality"])
    assert [(day, flag) for _zone, day, flag in added] == [(date(2024, 7, 2), "interpolated")]


def _check_settings(resp, body, *, code, **_):
    assert f"Paramètres de la zone {code}" in body
    assert ZONES[code][0] in body  # the name field, and its alias (the ZoneObservation label)


def _check_settings_post(resp, body, *, code, before, after, network, **_):
    assert urlsplit(resp.headers["Location"]).path == f"/fvt_tab/zones/{code}/parametres"
    changed = {z for z in after["zones"]} - set(before["zones"])
    assert changed == {(code, "Nom changé", network["territories"]["B"])}
    assert set(after["aliases"]) - set(before["aliases"]) == {"Autre nom"}


def _relation(role: str, code: str) -> str:
    if code == "ORPHELINE0":
        return "non_rattachee"
    return "propre" if zone_for(role, "propre") == code else "autre"


def _check_index(resp, body, *, role, sharing, **_):
    assert SOURCE in body
    listed = [code for code in ZONES if f'href="/fvt_tab/zones/{code}"' in body]
    expected = {code for code in ZONES if level(role, _relation(role, code), sharing)}
    assert set(listed) == expected, f"{role}, sharing {sharing}: listed {listed}"
    for code in expected:  # by their names
        assert f'href="/fvt_tab/zones/{code}">{ZONES[code][0]}</a>' in body
    if role.startswith("membre"):
        # The member's own territory first; zone codes are the files' business, not shown.
        own = zone_for(role, "propre")
        order = sorted(expected, key=lambda c: body.index(f'href="/fvt_tab/zones/{c}"'))
        assert order[0] == own
        assert not any(code in body.replace(f"/fvt_tab/zones/{code}", "") for code in ZONES)
    assert ("Partage entre destinations" in body) == (role in ("animateur", "admin"))


def _check_sharing(resp, body, *, sharing, after, **_):
    assert urlsplit(resp.headers["Location"]).path == "/fvt_tab/territoires"
    assert after["sharing"] is (not sharing)


def _check_imports(resp, body, **_):
    assert "Imports Flux Vision" in body
    assert "Livraison 2024B4.zip" in body and "ligne de commande" in body


def _check_upload(resp, body, **_):
    assert "Importer une livraison Flux Vision" in body
    assert 'type="file"' in body


def _check_upload_post(resp, body, *, before, after, network, **_):
    new = set(after["imports"]) - set(before["imports"])
    assert len(new) == 1 and next(iter(new))[1] == "queued"
    new_id = next(iter(new))[0]
    assert urlsplit(resp.headers["Location"]).path == f"/fvt_tab/imports/{new_id}"
    assert len(after["stored_files"]) == len(before["stored_files"]) + 1  # kept for the worker


def _check_report(resp, body, **_):
    assert "Import n° " in body and "Livraison 2024B4.zip" in body
    assert "Import terminé." in body


def _check_state(resp, body, **_):
    assert resp.mimetype == "application/json"
    assert resp.get_json() == {"status": "done", "progress": 100, "error": ""}


def _check_profiles(resp, body, **_):
    assert "Profils de lecture" in body and "Nouveau profil" in body


def _check_profiles_post(resp, body, *, before, after, **_):
    assert urlsplit(resp.headers["Location"]).path == "/fvt_tab/profils"
    assert set(after["profiles"]) - set(before["profiles"]) == {"Tableau de bord mensuel"}


CHECKS = {
    ("fvt_tab.zone", "GET"): _check_zone,
    ("fvt_tab.export", "GET"): _check_export,
    ("fvt_tab.zone_arriving", "GET"): _check_arriving,
    ("fvt_tab.quality", "POST"): _check_quality,
    ("fvt_tab.zone_settings", "GET"): _check_settings,
    ("fvt_tab.zone_settings", "POST"): _check_settings_post,
    ("fvt_tab.index", "GET"): _check_entry,
    ("fvt_tab.territories", "GET"): _check_index,
    ("fvt_tab.data", "GET"): _check_data,
    ("fvt_tab.export_selection", "GET"): _check_selection_csv,
    ("fvt_tab.export_pdf", "GET"): _check_pdf,
    ("fvt_tab.sharing", "POST"): _check_sharing,
    ("fvt_tab.imports", "GET"): _check_imports,
    ("fvt_tab.upload", "GET"): _check_upload,
    ("fvt_tab.upload", "POST"): _check_upload_post,
    ("fvt_tab.import_report", "GET"): _check_report,
    ("fvt_tab.import_state", "GET"): _check_state,
    ("fvt_tab.profiles", "GET"): _check_profiles,
    ("fvt_tab.profiles", "POST"): _check_profiles_post,
}


def test_every_fvt_route_is_in_the_matrix(app):
    """A new FVT route without a row here fails: the matrix covers every route and method."""
    covered = {(r.endpoint, r.method) for r in ROUTES}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("fvt_tab."):
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert (rule.endpoint, method) in covered, f"{method} {rule.rule} is not in the FVT matrix"


# -- journeys --------------------------------------------------------------------------------------

def test_other_zone_is_consultation_only_and_its_export_refused(client, login, network):
    """Sharing on: a member of A opens B's zone from the index (figures, « Consultation seule », no
    export link), and typing the export URL anyway is refused by the server."""
    login(network["people"]["membre_a"])
    index = client.get("/fvt_tab/territoires").get_data(as_text=True)
    assert 'href="/fvt_tab/zones/CHATAIGNERAIE0"' in index
    page = client.get("/fvt_tab/zones/CHATAIGNERAIE0").get_data(as_text=True)
    assert SHOWN["CHATAIGNERAIE0"] in page and "Consultation seule" in page and "export.csv" not in page
    for url in ("/fvt_tab/zones/CHATAIGNERAIE0/export.csv", "/fvt_tab/zones/CHATAIGNERAIE0/export.csv?annee=2024"):
        resp = client.get(url)
        assert resp.status_code == 403 and "Accès refusé" in resp.get_data(as_text=True)
    own = client.get("/fvt_tab/zones/SALERS0").get_data(as_text=True)
    link = 'href="/fvt_tab/zones/SALERS0/export.csv?annee=2024"'
    assert link in own
    resp = client.get("/fvt_tab/zones/SALERS0/export.csv?annee=2024")
    assert resp.status_code == 200 and SOURCE in resp.get_data(as_text=True)
    # Without ?annee=, the export is of the year the zone page shows (the latest with data), not an
    # empty file of the current year.
    resp = client.get("/fvt_tab/zones/SALERS0/export.csv")
    assert 'filename="fvt-SALERS0-2024.csv"' in resp.headers["Content-Disposition"]
    assert "2024-07-01;Nuitee;Touriste;NonLocal;4000" in resp.get_data(as_text=True)


def test_an_animateur_turns_sharing_off_then_members_lose_the_other_zones(app, client, login, network, factories):
    """The animateur's button on the index turns sharing off: member B no longer sees A's zone (403,
    absent from the index) nor the unlinked one, keeps their own; turned on again, it comes back. A
    member who posts the same form gets 403 and nothing changes."""
    from tests.conftest import csrf_token as token_of

    animateur, member = network["people"]["animateur"], network["people"]["membre_b"]
    other_client = app.test_client()
    login(member, c=other_client)
    assert other_client.get("/fvt_tab/zones/SALERS0").status_code == 200

    login(animateur)
    index = client.get("/fvt_tab/territoires").get_data(as_text=True)
    assert "Partage entre destinations :" in index and "activé" in index and ">Désactiver<" in index
    resp = client.post("/fvt_tab/partage", data={"csrf_token": token_of(client, "/fvt_tab/territoires"), "on": "0"},
                       follow_redirects=True)
    html = resp.get_data(as_text=True)
    assert "Partage entre destinations désactivé." in html and ">Activer<" in html

    assert other_client.get("/fvt_tab/zones/SALERS0").status_code == 403
    assert other_client.get("/fvt_tab/zones/ORPHELINE0").status_code == 403
    assert other_client.get("/fvt_tab/zones/CHATAIGNERAIE0").status_code == 200
    listing = other_client.get("/fvt_tab/territoires").get_data(as_text=True)
    assert "SALERS0" not in listing and "ORPHELINE0" not in listing and "CHATAIGNERAIE0" in listing
    assert SOURCE in listing

    # A member posting the toggle is refused, and sharing stays off.
    token = token_of(other_client, "/accounts/profil")
    refused = other_client.post("/fvt_tab/partage", data={"csrf_token": token, "on": "1"})
    assert refused.status_code == 403
    assert other_client.get("/fvt_tab/zones/SALERS0").status_code == 403

    resp = client.post("/fvt_tab/partage", data={"csrf_token": token_of(client, "/fvt_tab/territoires"), "on": "1"},
                       follow_redirects=True)
    assert "Partage entre destinations activé." in resp.get_data(as_text=True)
    assert other_client.get("/fvt_tab/zones/SALERS0").status_code == 200


def test_department_office_exports_the_zones_of_the_territories_under_it(client, login, network, factories):
    """An office whose territory is the department exports the zones of A and B (territories under it),
    and does not see the unlinked zone (the observatory's until linked)."""
    office = factories.organization(name="Office départemental", territory=network["cantal"])
    login(factories.user(name="Denise Département", organization=office))
    for code in ("SALERS0", "CHATAIGNERAIE0"):
        assert client.get(f"/fvt_tab/zones/{code}/export.csv?annee=2024").status_code == 200
    assert client.get("/fvt_tab/zones/ORPHELINE0/export.csv?annee=2024").status_code == 403
    assert client.get("/fvt_tab/zones/ORPHELINE0").status_code == 403


def test_a_member_without_territory_only_consults(client, login, network, factories):
    """A member of an office linked to no territory exports nothing; with sharing off sees nothing."""
    login(factories.user(name="Paul Partenaire", organization=factories.organization(kind="partenaire")))
    for code in ZONES:
        assert client.get(f"/fvt_tab/zones/{code}/export.csv?annee=2024").status_code == 403
    network["set_sharing"](False)
    assert client.get("/fvt_tab/zones/SALERS0").status_code == 403
    assert "Aucune zone accessible pour l'instant." in client.get("/fvt_tab/territoires").get_data(as_text=True)


def test_a_deactivated_member_is_refused(client, login, network):
    """A member whose account is deactivated during the session is sent to the login page."""
    from intranet.extensions import db

    member = network["people"]["membre_a"]
    login(member)
    assert client.get("/fvt_tab/zones/SALERS0").status_code == 200
    member.is_active_account = False
    db.session.commit()
    for url in ("/fvt_tab/zones/SALERS0", "/fvt_tab/zones/SALERS0/export.csv?annee=2024", "/fvt_tab/"):
        resp = client.get(url)
        assert resp.status_code == 302, url
        assert urlsplit(resp.headers["Location"]).path == "/accounts/connexion"
