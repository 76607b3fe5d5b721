"""The FVT tab's figures: every number a person reads (cards, curve, months, origins, comparisons,
the CSV and PDF of the selection) equals a sum this test computes itself from the CSV rows that
were imported (csv module, no code of the app), for the periods people choose — a year, a month,
the spring school holidays against those of N-1, Easter against Easter, dates typed by hand —
and for the filters that change what is counted (foreigners, excursionists). Then the bad inputs,
the network overview and the zone's position on the map.

Two years of the demo's realistic deliveries of the Pays de Salers are imported once per test
process through `flask fvt import`, kept as rows, and written back before each test (the import
itself is tested in test_import*.py; here it would cost 15 s a test).
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from tests.conftest import USE_POSTGRES, csrf_token
from tests.fvt_tab.conftest import SOURCE, cantal, daily_rows, import_file, zip_bytes
from tests.fvt_tab.conftest import csv_bytes as orange_csv
from tests.fvt_tab.test_summary import ZONE, demo_files, import_files, read_rows, summary, total, volume

NNBSP = "\u202f"
TOURISTS = {"NonLocal", "Etranger"}  # « nuitées touristiques »: Local left out by default (FVT.md)
OTHER = "CHATAIGNERAIE0"  # a second territory, one day of figures: the zone-against-zone comparison
OTHER_NIGHTS = {"NonLocal": 3000, "Etranger": 456}
OTHER_DAY = "2024-07-01"  # its one day
_ROWS: dict[str, list[dict]] = {}  # the imported FVT tables, kept for the next tests of this process


def _fvt_tables():
    from intranet.extensions import db

    return [t for t in db.metadata.sorted_tables if t.name.startswith("fvt_tab_")]


@pytest.fixture
def salers(app, tmp_path, factories):
    """2023 and 2024 of the Pays de Salers (demo deliveries) plus one day of the Châtaigneraie;
    each zone linked to its territory, an office in each with a member, an animateur."""
    from intranet.extensions import db
    from intranet.fvt_tab.models import Zone

    if not _ROWS:
        import_files(app, tmp_path / "zips", demo_files())
        rows = daily_rows(date(2024, 7, 1), zone="Châtaigneraie", provenances=list(OTHER_NIGHTS),
                          volume=lambda r: OTHER_NIGHTS[r["Provenance"]])
        import_file("Livraison 2024B4.zip", zip_bytes({f"Nuitee_2024B4_{OTHER}.csv": orange_csv(rows)}))
        with db.engine.connect() as conn:
            for table in _fvt_tables():
                _ROWS[table.name] = [dict(r._mapping) for r in conn.execute(sa.select(table))]
    else:
        with db.engine.begin() as conn:
            for table in _fvt_tables():
                if _ROWS[table.name]:
                    conn.execute(table.insert(), _ROWS[table.name])
                    if USE_POSTGRES and "id" in table.c:  # explicit ids: move the sequence past them
                        conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                             f"(SELECT max(id) FROM {table.name}))"))
    net = cantal(factories)
    for code, territory in ((ZONE, net["A"]), (OTHER, net["B"])):
        db.session.scalar(sa.select(Zone).where(Zone.code == code)).territory_id = territory.id
    db.session.commit()
    return {"files": demo_files(),
            "member": factories.user(name="Alice Salers", organization=net["office_a"]),
            "neighbour": factories.user(name="Bruno Châtaigneraie", organization=net["office_b"]),
            "animateur": factories.user(name="Anne Animatrice", role="animateur", organization=net["agency"])}


def get_json(client, query: str, code: str = ZONE) -> dict:
    resp = client.get(f"/fvt_tab/zones/{code}/donnees.json?{query}")
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    return resp.get_json()


def cards(data: dict) -> dict:
    return {k["cle"]: k for k in data["indicateurs"]}


def back_52_weeks(lo: str, hi: str) -> tuple[str, str]:
    """The same weekdays a year before: what « N-1 aligné » means for any period but a holiday."""
    return tuple((date.fromisoformat(d) - timedelta(weeks=52)).isoformat() for d in (lo, hi))


def nights(files, when, provs=frozenset(TOURISTS)):
    return total(read_rows(files, "Nuitee"), when, "Touriste", provs)


def change(n, n1):
    return round(100.0 * (n - n1) / n1, 1)


def per_day(files, family, category, provs, lo, hi) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in read_rows(files, family):
        v = volume(r)
        if lo <= r["Date"] <= hi and r["CategorieVisiteur"] == category and r["Provenance"] in provs and v is not None:
            out[r["Date"]] = out.get(r["Date"], 0) + v
    return out


def visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    # Only ASCII white space collapses: the figures' narrow no-break spaces are kept.
    return re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&nbsp;", " ")


def shown(n: int) -> str:
    """A whole number as the page writes it: « 1 234 567 » with narrow no-break spaces."""
    return f"{n:,}".replace(",", NNBSP)


# -- periods ------------------------------------------------------------------------------------------

def test_the_year_cards_equal_the_source_rows_and_the_summary_command(app, salers, client, login):
    files = salers["files"]
    login(salers["member"])
    data = get_json(client, "annee=2024")
    k = cards(data)
    n, n1 = nights(files, 2024), nights(files, 2023)
    assert (k["nuitees_touristes"]["n"], k["nuitees_touristes"]["n1"]) == (n, n1)
    assert k["nuitees_touristes"]["evolution"] == change(n, n1)
    assert k["nuitees_etrangers"]["n"] == nights(files, 2024, {"Etranger"})
    assert k["part_etrangers"]["n"] == round(100.0 * nights(files, 2024, {"Etranger"}) / n, 1)
    assert k["excursionnistes"]["n"] == total(read_rows(files, "Diurne"), 2024, "Excursionniste", TOURISTS)
    assert data["periode"] == {"debut": "2024-01-01", "fin": "2024-12-31", "libelle": data["periode"]["libelle"],
                               "cle": "annee", "tronquee": False, "donnees": True,
                               "n1": {"debut": "2023-01-01", "fin": "2023-12-31"}, "alignement": "annee"}
    # The tab and `flask fvt summary` never disagree on a figure they both show.
    s = summary(app, 2024)
    for key in ("nuitees_touristes", "nuitees_francais", "nuitees_etrangers", "excursionnistes",
                "duree_moyenne_sejour"):
        assert (k[key]["n"], k[key]["n1"]) == (s[key]["n"], s[key]["n1"]), key
    assert k["pic_excursionnistes"]["n"] == s["pic_excursionnistes"]
    assert data["source"] == SOURCE
    # The month chart adds up to the year, French and foreign apart, N-1 beside.
    months = data["mois"]
    assert len(months["mois"]) == 12 and months["mois"][0] == "janvier 2024"
    assert sum(months["francais"]) == nights(files, 2024, {"NonLocal"})
    assert sum(months["etrangers"]) == nights(files, 2024, {"Etranger"})
    assert months["francais"][6] == nights(files, ("2024-07-01", "2024-07-31"), {"NonLocal"})


def test_the_page_shows_the_cards_in_french(salers, client, login):
    files = salers["files"]
    login(salers["member"])
    html = client.get(f"/fvt_tab/zones/{ZONE}?annee=2024").get_data(as_text=True)
    text = visible_text(html)
    assert "Nuitées touristiques" in text and shown(nights(files, 2024)) in text
    n, n1 = nights(files, 2024), nights(files, 2023)
    assert f"{change(n, n1):+.1f}".replace(".", ",") in text.replace(NNBSP, "")
    assert "Source : " + SOURCE in text


def test_a_month_compares_with_the_same_weekdays_of_the_previous_year(salers, client, login):
    files = salers["files"]
    login(salers["member"])
    data = get_json(client, "annee=2024&periode=mois-07")
    july, before = ("2024-07-01", "2024-07-31"), back_52_weeks("2024-07-01", "2024-07-31")
    assert (data["periode"]["debut"], data["periode"]["fin"]) == july
    assert data["periode"]["n1"] == {"debut": before[0], "fin": before[1]}  # 3 July – 2 August 2023
    assert data["periode"]["alignement"] == "semaines"
    k = cards(data)["nuitees_touristes"]
    assert (k["n"], k["n1"]) == (nights(files, july), nights(files, before))
    # The daily curve: one point a day, each the day's tourist nights; N-1 day by day beside it.
    curve = data["courbe"]
    assert curve["jours"][0] == "2024-07-01" and len(curve["jours"]) == 31
    tourists = next(s for s in curve["series"] if s["cle"] == "Touriste")
    want = per_day(files, "Nuitee", "Touriste", TOURISTS, *july)
    assert tourists["valeurs"] == [want.get(d) for d in curve["jours"]]
    want_n1 = per_day(files, "Nuitee", "Touriste", TOURISTS, *before)
    days_n1 = [(date.fromisoformat(before[0]) + timedelta(days=i)).isoformat() for i in range(31)]
    assert curve["n1"]["valeurs"] == [want_n1.get(d) for d in days_n1]
    # 14 July is a bank holiday: the curve marks it.
    assert ["2024-07-14", "14 juillet"] in curve["feries"]


def test_the_outage_day_is_a_gap_in_the_curve_not_a_zero(salers, client, login):
    login(salers["member"])
    data = get_json(client, "annee=2024&periode=mois-08&sections=courbe")
    curve = data["courbe"]
    i = curve["jours"].index("2024-08-29")
    tourists = next(s for s in curve["series"] if s["cle"] == "Touriste")
    assert tourists["valeurs"][i] is None
    assert tourists["valeurs"][i - 1] and tourists["valeurs"][i + 1]
    assert [t["date"] for t in curve["trous"]] == ["2024-08-29"]


def test_spring_holidays_compare_with_the_spring_holidays_of_the_previous_year(salers, client, login):
    """Zone A (the Cantal): 13–28 April 2024 against 8–23 April 2023 (official calendar), not
    against the same weeks of 2023, which were after the holidays."""
    files = salers["files"]
    login(salers["member"])
    data = get_json(client, "annee=2024&periode=vacances-printemps")
    p = data["periode"]
    assert (p["debut"], p["fin"]) == ("2024-04-13", "2024-04-28")
    assert p["n1"] == {"debut": "2023-04-08", "fin": "2023-04-23"}
    assert p["alignement"] == "vacances" and "zone A" in p["libelle"]
    k = cards(data)
    assert (k["nuitees_touristes"]["n"], k["nuitees_touristes"]["n1"]) == (
        nights(files, ("2024-04-13", "2024-04-28")), nights(files, ("2023-04-08", "2023-04-23")))
    diurne = read_rows(files, "Diurne")
    assert (k["excursionnistes"]["n"], k["excursionnistes"]["n1"]) == (
        total(diurne, ("2024-04-13", "2024-04-28"), "Excursionniste", TOURISTS),
        total(diurne, ("2023-04-08", "2023-04-23"), "Excursionniste", TOURISTS))


def test_easter_weekend_compares_with_easter_weekend(salers, client, login):
    files = salers["files"]
    login(salers["member"])
    data = get_json(client, "annee=2024&periode=pont-paques&sections=indicateurs")
    p = data["periode"]
    # Easter Sunday: 31 March 2024, 9 April 2023; the weekend runs Saturday to Easter Monday.
    assert (p["debut"], p["fin"], p["n1"]) == ("2024-03-30", "2024-04-01", {"debut": "2023-04-08", "fin": "2023-04-10"})
    k = cards(data)["nuitees_touristes"]
    assert (k["n"], k["n1"]) == (nights(files, ("2024-03-30", "2024-04-01")),
                                 nights(files, ("2023-04-08", "2023-04-10")))


def test_dates_typed_by_hand(salers, client, login):
    files = salers["files"]
    login(salers["member"])
    data = get_json(client, "annee=2024&periode=dates&du=2024-02-10&au=2024-02-25")
    before = back_52_weeks("2024-02-10", "2024-02-25")
    assert (data["periode"]["debut"], data["periode"]["fin"]) == ("2024-02-10", "2024-02-25")
    k = cards(data)["nuitees_touristes"]
    assert (k["n"], k["n1"]) == (nights(files, ("2024-02-10", "2024-02-25")), nights(files, before))
    assert data["selection"]["du"] == "2024-02-10"  # the link shares the whole view


def test_a_period_against_another_period(salers, client, login):
    files = salers["files"]
    login(salers["member"])
    data = get_json(client, "annee=2024&periode=mois-07&comparer=periode&du2=2024-08-01&au2=2024-08-31")
    other = data["comparaison"]
    assert other["type"] == "periode"
    assert cards(other)["nuitees_touristes"]["n"] == nights(files, ("2024-08-01", "2024-08-31"))
    assert cards(data)["nuitees_touristes"]["n"] == nights(files, ("2024-07-01", "2024-07-31"))


def test_a_territory_against_another(salers, client, login):
    login(salers["animateur"])
    data = get_json(client, f"annee=2024&periode=mois-07&comparer=zone&autre={OTHER}")
    other = data["comparaison"]
    assert (other["type"], other["code"]) == ("zone", OTHER)
    assert cards(other)["nuitees_touristes"]["n"] == OTHER_NIGHTS["NonLocal"] + OTHER_NIGHTS["Etranger"]


def test_comparing_with_a_territory_one_may_not_see_is_refused(salers, client, login):
    from intranet.core.settings import set_setting
    from intranet.extensions import db

    set_setting("fvt_tab.sharing", False)
    db.session.commit()
    login(salers["member"])
    resp = client.get(f"/fvt_tab/zones/{ZONE}/donnees.json?annee=2024&comparer=zone&autre={OTHER}")
    assert resp.status_code == 403
    assert str(OTHER_NIGHTS["Etranger"]) not in resp.get_data(as_text=True)


# -- filters -------------------------------------------------------------------------------------------

def test_foreigners_turn_the_map_to_the_world(salers, client, login):
    files = salers["files"]
    login(salers["member"])
    france = get_json(client, "annee=2024&sections=origines")["origines"]
    assert france["carte"] == "france"
    world = get_json(client, "annee=2024&provenance=etrangers")
    origins = world["origines"]
    assert origins["carte"] == "monde"
    # Each country's nights: the sum of its rows (the « CUMUL » line is not a country).
    sums: dict[str, int] = {}
    for r in read_rows(files, "Nuitee", "Pays"):
        v = volume(r)
        if r["Date"].startswith("2024-") and r["CategorieVisiteur"] == "Touriste" and r["Pays"] != "CUMUL" and v:
            sums[r["Pays"]] = sums.get(r["Pays"], 0) + v
    got = {c["nom"]: c for c in origins["pays"]}
    assert got["Belgique"]["valeur"] == sums["BELGIQUE"] and got["Belgique"]["iso_num"] == "056"
    assert got["Royaume-Uni"]["valeur"] == sums["ROYAUME-UNI"] and got["Royaume-Uni"]["iso_num"] == "826"
    assert sum(c["valeur"] for c in origins["pays"]) == sum(sums.values())
    # The curve and the cards count the foreigners only.
    tourists = next(s for s in world["courbe"]["series"] if s["cle"] == "Touriste")
    want = per_day(files, "Nuitee", "Touriste", {"Etranger"}, "2024-01-01", "2024-12-31")
    assert sum(v for v in tourists["valeurs"] if v) == sum(v for d, v in want.items() if d != "2024-08-29")
    # « Locaux » cannot be foreigners: greyed out with the reason.
    assert world["desactives"]["visiteurs"]["locaux"] == "Les étrangers ne sont pas des locaux."


def test_excursionists_are_counted_by_day_and_nights_are_greyed_out(salers, client, login):
    files = salers["files"]
    login(salers["member"])
    data = get_json(client, "annee=2024&periode=mois-07&visiteurs=excursionnistes&moment=nuit")
    assert data["selection"]["moment"] == "jour"
    assert any("nuit" in n and "Jour" in n for n in data["remarques"])  # the page says what it changed
    assert "pas de nuitées" in data["desactives"]["moment"]["nuit"]
    series = {s["cle"]: s for s in data["courbe"]["series"]}
    want = per_day(files, "Diurne", "Excursionniste", TOURISTS, "2024-07-01", "2024-07-31")
    assert series["Excursionniste"]["valeurs"] == [want.get(d) for d in data["courbe"]["jours"]]
    html = client.get(f"/fvt_tab/zones/{ZONE}?annee=2024&visiteurs=excursionnistes").get_data(as_text=True)
    radio = re.search(r'<input[^>]*id="f-moment-nuit"[^>]*>', html).group(0)
    assert "disabled" in radio
    assert "Les excursionnistes ne passent pas la nuit sur place" in html


def test_local_tourists_are_added_only_when_asked(salers, client, login):
    files = salers["files"]
    login(salers["member"])
    plain = cards(get_json(client, "annee=2024&sections=indicateurs"))["nuitees_touristes"]["n"]
    local = cards(get_json(client, "annee=2024&sections=indicateurs&local=1"))["nuitees_touristes"]["n"]
    assert plain == nights(files, 2024)
    assert local == nights(files, 2024, {"NonLocal", "Etranger", "Local"}) and local > plain


# -- exports -------------------------------------------------------------------------------------------

def test_the_selection_as_csv_opens_in_a_french_spreadsheet(salers, client, login):
    files = salers["files"]
    login(salers["member"])
    resp = client.get(f"/fvt_tab/zones/{ZONE}/selection.csv?annee=2024&periode=vacances-printemps")
    assert resp.status_code == 200
    assert 'filename="fvt-SALERS0-2024-vacances-printemps.csv"' in resp.headers["Content-Disposition"]
    body = resp.get_data(as_text=True)
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff")), delimiter=";"))
    assert rows[1][:4] == ["Période", "Vacances de printemps 2024 (zone A)", "2024-04-13", "2024-04-28"]
    n, n1 = nights(files, ("2024-04-13", "2024-04-28")), nights(files, ("2023-04-08", "2023-04-23"))
    evolution = f"{change(n, n1):.2f}".rstrip("0").rstrip(".").replace(".", ",")
    assert ["Nuitées touristiques", str(n), str(n1), evolution] in rows
    days = [r for r in rows if r and re.fullmatch(r"2024-04-\d\d", r[0])]
    assert len(days) == 16 and days[0][0] == "2024-04-13"
    assert rows[-1] == [f"Source : {SOURCE}"]


def test_the_pdf_report_holds_the_selection(salers, client, login):
    from pypdf import PdfReader

    files = salers["files"]
    login(salers["member"])
    resp = client.get(f"/fvt_tab/zones/{ZONE}/rapport.pdf?annee=2024&periode=pont-paques")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(resp.get_data()))
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).replace("\u00a0", " ").split())
    n = nights(files, ("2024-03-30", "2024-04-01"))
    assert "Pays de Salers" in text and "Week-end de Pâques 2024" in text
    assert f"Nuitées touristiques {n:,}".replace(",", " ") in text
    assert SOURCE in text and "Méthode" in text


def test_a_neighbour_reads_in_consultation_without_exports(salers, client, login):
    login(salers["neighbour"])
    html = client.get(f"/fvt_tab/zones/{ZONE}?annee=2024").get_data(as_text=True)
    assert "Consultation seule" in html and "data-fvt-export" not in html
    assert shown(nights(salers["files"], 2024)) in html
    for url in (f"/fvt_tab/zones/{ZONE}/selection.csv?annee=2024", f"/fvt_tab/zones/{ZONE}/rapport.pdf?annee=2024"):
        assert client.get(url).status_code == 403


# -- bad inputs ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("query, notice", [
    ("annee=2024&periode=dates&du=2024-02-30&au=2024-03-10", "Période personnalisée invalide"),
    ("annee=2024&periode=dates&du=2024-03-10&au=2024-02-01", "Période personnalisée invalide"),
    ("annee=2024&periode=dates&du=2023-01-01&au=2024-12-31", "au plus 366 jours"),
    ("annee=2024&periode=vacances-de-juin", "Période inconnue pour 2024"),
    ("annee=2024&visiteurs=martiens", "Choix « martiens » inconnu"),
    ("annee=2024&comparer=periode&du2=n'importe&au2=quoi", "Seconde période invalide"),
])
def test_a_bad_choice_falls_back_with_a_french_notice(salers, client, login, query, notice):
    login(salers["member"])
    data = get_json(client, query + "&sections=indicateurs")
    assert any(notice in n for n in data["remarques"]), data["remarques"]
    assert cards(data)["nuitees_touristes"]["n"] is not None  # never an empty chart
    html = client.get(f"/fvt_tab/zones/{ZONE}?{query}")
    assert html.status_code == 200 and notice in html.get_data(as_text=True)


def test_bad_requests_get_french_answers(salers, client, login):
    login(salers["member"])
    resp = client.get(f"/fvt_tab/zones/{ZONE}/donnees.json?annee=2024&sections=courbe,<script>")
    assert resp.status_code == 400 and resp.get_json() == {"erreur": "Section inconnue : <script>."}
    resp = client.get(f"/fvt_tab/zones/{ZONE}/donnees.json?annee=2019")
    assert resp.status_code == 404
    assert resp.get_json() == {"erreur": "Pas de données pour 2019.", "annees": [2024, 2023]}
    page = client.get(f"/fvt_tab/zones/{ZONE}?annee=2019")
    assert page.status_code == 200 and "Pas de données pour 2019." in page.get_data(as_text=True)
    page = client.get(f"/fvt_tab/zones/{ZONE}?annee=deux-mille")  # not a year: the latest with data
    assert page.status_code == 200 and shown(nights(salers["files"], 2024)) in page.get_data(as_text=True)
    assert client.get("/fvt_tab/zones/NULLEPART0").status_code == 404
    assert client.get(f"/fvt_tab/zones/{ZONE}/rapport.pdf?annee=2019").status_code == 404


def test_the_last_choice_is_remembered(salers, client, login):
    login(salers["member"])
    assert client.get("/fvt_tab/").headers["Location"].endswith(f"/fvt_tab/zones/{ZONE}")
    client.get(f"/fvt_tab/zones/{ZONE}?annee=2023&periode=vacances-printemps&provenance=etrangers")
    location = client.get("/fvt_tab/").headers["Location"]
    assert location.startswith(f"/fvt_tab/zones/{ZONE}?")
    assert set(location.split("?")[1].split("&")) == {"annee=2023", "periode=vacances-printemps",
                                                      "provenance=etrangers"}


def test_the_figures_cost_a_bounded_number_of_statements(salers, client, login, count_queries):
    login(salers["member"])
    with count_queries() as month:
        get_json(client, "annee=2024&periode=mois-07")
    with count_queries() as year:
        get_json(client, "annee=2024")
    # Twelve times the days, about the same statements (the whole year's N-1 skips one lookup).
    assert abs(year() - month()) <= 4 and year() <= 50


def test_a_new_delivery_shows_on_the_next_request_although_the_process_keeps_the_series(salers, client, login):
    """figures._store keeps a zone's series in memory under its version: an import writes a new
    version with the series, so the next answer is the new delivery's, never the kept one."""
    from intranet.fvt_tab import figures

    login(salers["member"])
    query = f"annee=2024&periode=dates&du={OTHER_DAY}&au={OTHER_DAY}"
    before = cards(get_json(client, query, OTHER))["nuitees_touristes"]["n"]
    assert before == sum(OTHER_NIGHTS.values())
    assert cards(get_json(client, query, OTHER))["nuitees_touristes"]["n"] == before  # now from what is kept
    assert any(key[0] == _zone_id(OTHER) for key in figures.KEPT._stores)
    corrected = {"NonLocal": 3100, "Etranger": 500}
    rows = daily_rows(date.fromisoformat(OTHER_DAY), zone="Châtaigneraie", provenances=list(corrected),
                      volume=lambda r: corrected[r["Provenance"]])
    import_file("Livraison 2024B4 corrigée.zip", zip_bytes({f"Nuitee_2024B4_{OTHER}.csv": orange_csv(rows)}))
    assert cards(get_json(client, query, OTHER))["nuitees_touristes"]["n"] == 3600


def _zone_id(code: str) -> int:
    from intranet.extensions import db
    from intranet.fvt_tab.models import Zone

    return db.session.scalar(sa.select(Zone.id).where(Zone.code == code))


# -- the network overview --------------------------------------------------------------------------------

def test_the_network_overview_for_an_animateur(salers, client, login, count_queries):
    files = salers["files"]
    login(salers["animateur"])
    html = client.get("/fvt_tab/territoires?annee=2024&tri=nom").get_data(as_text=True)
    table = re.search(r"<table[^>]*data-fvt-overview.*?</table>", html, re.S).group(0)
    order = re.findall(r'<tr data-zone="([A-Z0-9]+)"', table)
    assert order == [OTHER, ZONE]  # « Châtaigneraie » before « Pays de Salers »
    row = visible_text(re.search(rf'<tr data-zone="{ZONE}".*?</tr>', table, re.S).group(0))
    n, n1 = nights(files, 2024), nights(files, 2023)
    assert shown(n) in row and f"{change(n, n1):+.1f}".replace(".", ",") in row.replace(NNBSP, "")
    by_nights = client.get("/fvt_tab/territoires?annee=2024&tri=nuitees").get_data(as_text=True)
    assert re.findall(r'<tr data-zone="([A-Z0-9]+)"', by_nights)[:2] == [ZONE, OTHER]
    bubbles = json.loads(re.search(r"data-fvt-network-json>(.*?)</script>", html, re.S).group(1))
    assert {b["code"]: b["nuitees"] for b in bubbles} == {ZONE: n, OTHER: sum(OTHER_NIGHTS.values())}
    assert next(b for b in bubbles if b["code"] == ZONE)["url"] == f"/fvt_tab/zones/{ZONE}?annee=2024"
    with count_queries() as statements:
        client.get("/fvt_tab/territoires?annee=2024")
    assert statements() <= 30


def test_members_get_the_list_without_the_overview(salers, client, login):
    login(salers["member"])
    html = client.get("/fvt_tab/territoires").get_data(as_text=True)
    assert "data-fvt-zones" in html and "data-fvt-overview" not in html and "data-fvt-network-json" not in html


# -- the zone's place on the map ------------------------------------------------------------------------------

def _settings(client, **fields):
    token = csrf_token(client, f"/fvt_tab/zones/{ZONE}/parametres")
    return client.post(f"/fvt_tab/zones/{ZONE}/parametres", data={
        "csrf_token": token, "name": "Pays de Salers", "territory_id": "0", "new_alias": "", **fields})


def test_the_zone_position_accepts_a_french_decimal_comma(app, salers, client, login):
    from intranet.extensions import db
    from intranet.fvt_tab.models import Zone

    login(salers["animateur"])
    assert _settings(client, latitude="45,139", longitude="2.4958").status_code == 302
    db.session.expire_all()
    zone = db.session.scalar(sa.select(Zone).where(Zone.code == ZONE))
    assert (zone.latitude, zone.longitude) == (45.139, 2.4958)


@pytest.mark.parametrize("fields, error", [
    ({"latitude": "95", "longitude": "2.5"}, "Entre -90 et 90."),
    ({"latitude": "45", "longitude": "-200"}, "Entre -180 et 180."),
    ({"latitude": "quarante-cinq", "longitude": "2.5"}, "Nombre décimal attendu"),
])
def test_a_bad_position_is_refused_in_french(app, salers, client, login, fields, error):
    from intranet.extensions import db
    from intranet.fvt_tab.models import Zone

    login(salers["animateur"])
    resp = _settings(client, **fields)
    assert resp.status_code == 400 and error in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(sa.select(Zone.latitude).where(Zone.code == ZONE)) is None
