"""Importing Flux Vision deliveries written by the tests in the real Orange layout: encodings,
column order and header aliases, label normalisation, total rows, withheld values, unknown labels,
weekly files, unknown families, separators, breakdowns, Excel workbooks and mapping profiles,
provisional then final deliveries, re-imports, zones and their aliases, outage days, and the CLI.

Every expected figure is computed here from the rows the test wrote.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from intranet.extensions import db
from intranet.fvt_tab.importer import format_report
from intranet.fvt_tab.models import DayQuality, Fact, Import, ImportIssue, LabelAlias, MappingProfile, Zone, ZoneAlias
from intranet.fvt_tab.summary import summary
from tests.fvt_tab.conftest import (
    COMMON,
    csv_bytes,
    daily_rows,
    facts,
    import_fails,
    import_file,
    sheet_rows,
    snapshot,
    xlsx_bytes,
    year_totals,
    zip_bytes,
)

JULY = date(2024, 7, 1)
SALERS = "Pays de Salers"
NAME_B4 = "Nuitee_2024B4_SALERS0.csv"


def zone(code: str) -> Zone:
    return db.session.scalar(sa.select(Zone).where(Zone.code == code))


def values(rows: list[Fact], *keys: str) -> dict:
    """{(key values…): value} of facts, e.g. values(facts(), "day", "origin")."""
    return {tuple(getattr(f, k) for k in keys): f.value for f in rows}


def issues(imp: Import) -> list[tuple[str, int, str]]:
    return [(i.file, i.line, i.message) for i in db.session.scalars(
        sa.select(ImportIssue).where(ImportIssue.import_id == imp.id).order_by(ImportIssue.file, ImportIssue.line))]


def vol(row: dict) -> int:
    """A distinct, known volume per row: day of month, provenance and origin all show in it."""
    prov = {"Local": 1, "NonLocal": 2, "Etranger": 3}[row["Provenance"]]
    origin = sum(ord(c) for c in str(row.get("NomDepartement", row.get("Pays", ""))))
    return row["day"].day * 1000 + prov * 100 + origin % 97


# -- encodings ------------------------------------------------------------------------------------------

DEPARTMENTS = {"Puy-de-Dôme": "63", "Ardèche": "07", "Cantal": "15", "Corrèze": "19", "Lozère": "48"}


@pytest.mark.parametrize("bom", [False, True], ids=["utf8", "utf8-bom"])
def test_utf8_with_or_without_bom(app, bom):
    rows = daily_rows(JULY, days=3, extra={"NomDepartement": list(DEPARTMENTS), "NomRegion": ["Auvergne"],
                                           "NomNouvelleRegion": ["Auvergne-Rhône-Alpes"]}, volume=vol)
    data = csv_bytes(rows, bom=bom)
    assert data.startswith(b"\xef\xbb\xbf") is bom
    imp = import_file("Nuitee_Departement_2024B4_SALERS0.csv", data)

    assert (imp.rows_read, imp.rows_loaded, imp.rows_rejected) == (15, 15, 0)
    expected = {(date.fromisoformat(r["Date"]), DEPARTMENTS[r["NomDepartement"]]): r["Volume"] for r in rows}
    stored = facts(zone="SALERS0", family="Nuitee", breakdown="Departement")
    assert values(stored, "day", "origin") == expected
    assert {(f.category, f.provenance) for f in stored} == {("Touriste", "NonLocal")}
    assert imp.report["unknown_labels"] == {}


def test_cp1252_accented_department_names(app):
    rows = daily_rows(JULY, days=2, extra={"NomDepartement": list(DEPARTMENTS)}, volume=vol)
    data = csv_bytes(rows, encoding="cp1252")
    assert b"Puy-de-D\xf4me" in data and b"Ard\xe8che" in data  # really Windows-1252, not UTF-8
    imp = import_file("Nuitee_Departement_2024B4_SALERS0.csv", data)

    assert imp.rows_rejected == 0 and imp.report["unknown_labels"] == {}
    expected = {(date.fromisoformat(r["Date"]), DEPARTMENTS[r["NomDepartement"]]): r["Volume"] for r in rows}
    assert values(facts(breakdown="Departement"), "day", "origin") == expected
    # The year totals hold the same figures, per department.
    totals = year_totals(zone="SALERS0", breakdown="Departement")
    for name, code in DEPARTMENTS.items():
        assert totals[(2024, "Nuitee", "Departement", "Touriste", "NonLocal", code, "")] == sum(
            r["Volume"] for r in rows if r["NomDepartement"] == name)


def test_department_names_tolerate_case_accents_and_hyphens(app):
    spellings = {"PUY DE DOME": "63", "ardeche": "07", "Cote d'Or": "21", "corse-du-sud": "2A",
                 "Seine Saint Denis ": "93", "LA RÉUNION": "974"}
    rows = daily_rows(JULY, extra={"NomDepartement": list(spellings)}, volume=vol)
    imp = import_file("Nuitee_Departement_2024B4_SALERS0.csv", csv_bytes(rows))
    assert imp.rows_rejected == 0 and imp.report["unknown_labels"] == {}
    assert {f.origin: f.value for f in facts()} == {spellings[r["NomDepartement"]]: r["Volume"] for r in rows}


# -- columns --------------------------------------------------------------------------------------------

def test_columns_in_any_order(app):
    rows = daily_rows(JULY, days=4, provenances=("Local", "NonLocal", "Etranger"),
                      categories=("Touriste", "Excursionniste"), volume=vol)
    header = list(rows[0])
    random.Random(7).shuffle(header)
    assert header[-1] != "Volume" and header[0] != "Date"
    imp = import_file("Diurne_2024B4_SALERS0.csv", csv_bytes(rows, header=header))

    assert imp.rows_loaded == len(rows) == 24
    expected = {(date.fromisoformat(r["Date"]), r["Provenance"], r["CategorieVisiteur"]): r["Volume"] for r in rows}
    assert values(facts(family="Diurne"), "day", "provenance", "category") == expected


def test_old_headers_zone_and_categorievisiteurs(app):
    rows = daily_rows(JULY, days=2, provenances=("NonLocal", "Etranger"), volume=vol)
    data = csv_bytes(rows, rename={"ZoneObservation": "Zone", "CategorieVisiteur": "CategorieVisiteurs"})
    assert data.startswith(b"Date;JourDeLaSemaine;VacancesA;VacancesB;VacancesC;Ferie;Zone;Provenance;"
                           b"CategorieVisiteurs;Volume\n")
    imp = import_file("Nuitee_2024B4_SALERS0.csv", data)

    assert imp.rows_loaded == 4 and imp.rows_rejected == 0
    assert values(facts(zone="SALERS0"), "day", "provenance") == {
        (date.fromisoformat(r["Date"]), r["Provenance"]): r["Volume"] for r in rows}
    # The Zone column is the zone's label, kept as its alias.
    assert [a.alias for a in zone("SALERS0").aliases] == [SALERS]


# -- labels ---------------------------------------------------------------------------------------------

def test_country_names_with_non_breaking_and_trailing_spaces_and_any_case(app):
    spellings = {"BELGIQUE\u00a0": "BE", "Royaume-uni ": "GB", "  pays-bas": "NL", "ALLEMAGNE\u00a0\u00a0": "DE",
                 "ÉTATS-UNIS": "US", "Suisse\u202f": "CH", "GUADELOUPE, MARTINIQUE": "GP+MQ"}
    rows = daily_rows(JULY, days=2, provenances=("Etranger",), extra={"Pays": list(spellings)}, volume=vol)
    imp = import_file("Nuitee_Pays_2024B4_SALERS0.csv", csv_bytes(rows))

    assert imp.rows_rejected == 0 and imp.report["unknown_labels"] == {}
    assert values(facts(breakdown="Pays"), "day", "origin") == {
        (date.fromisoformat(r["Date"]), spellings[r["Pays"]]): r["Volume"] for r in rows}
    assert not db.session.scalar(sa.select(sa.func.count()).select_from(LabelAlias))  # nothing created


def test_cumul_row_is_kept_as_a_total_row_out_of_sums_and_rankings(app):
    countries = ["BELGIQUE", "PAYS-BAS", "ALLEMAGNE"]
    rows = []
    for n in range(3):
        day = JULY + timedelta(days=n)
        day_rows = daily_rows(day, provenances=("Etranger",), extra={"Pays": countries}, volume=vol)
        # Orange's CUMUL counts more than the sum of the listed countries (small ones are withheld).
        total = sum(r["Volume"] for r in day_rows) + 37
        rows += day_rows + daily_rows(day, provenances=("Etranger",), extra={"Pays": ["CUMUL"]}, volume=total)
    imp = import_file("Nuitee_Pays_2024B4_SALERS0.csv", csv_bytes(rows))

    assert imp.rows_loaded == 12 and imp.rows_rejected == 0 and imp.report["unknown_labels"] == {}
    totals = [f for f in facts(breakdown="Pays") if f.is_total]
    assert [(f.day, f.origin, f.value) for f in totals] == [
        (date.fromisoformat(r["Date"]), "TOTAL", r["Volume"]) for r in rows if r["Pays"] == "CUMUL"]
    assert not any(f.is_total for f in facts(breakdown="Pays") if f.origin != "TOTAL")

    # Year totals (what dashboards add up) and the ranking leave the CUMUL row out.
    sums = year_totals(zone="SALERS0", breakdown="Pays")
    assert not any(key[5] == "TOTAL" for key in sums)
    by_code = {"BELGIQUE": "BE", "PAYS-BAS": "NL", "ALLEMAGNE": "DE"}
    expected = {code: sum(r["Volume"] for r in rows if r["Pays"] == name) for name, code in by_code.items()}
    assert {key[5]: v for key, v in sums.items()} == expected
    top = summary(zone("SALERS0"), 2024)["top_pays"]
    assert [(t["code"], t["valeur"]) for t in top] == sorted(expected.items(), key=lambda kv: -kv[1])
    assert "TOTAL" not in [t["code"] for t in top]


def test_blank_volumes_are_stored_as_null_never_zero(app):
    withheld = {(JULY, "Etranger"), (JULY + timedelta(days=2), "Etranger"), (JULY + timedelta(days=1), "NonLocal")}
    rows = daily_rows(JULY, days=3, provenances=("NonLocal", "Etranger"),
                      volume=lambda r: "" if (r["day"], r["Provenance"]) in withheld else vol(r))
    # And a department withheld on every day: its year total is unknown (NULL), not 0.
    dept_rows = daily_rows(JULY, days=3, extra={"NomDepartement": ["Cantal", "Lozère"]},
                           volume=lambda r: "" if r["NomDepartement"] == "Lozère" else 40)
    import_file("Nuitee_2024B4_SALERS0.csv", csv_bytes(rows))
    imp = import_file("Nuitee_Departement_2024B4_SALERS0.csv", csv_bytes(dept_rows))
    assert imp.rows_loaded == 6 and imp.rows_rejected == 0  # withheld is not an error

    stored = values(facts(breakdown=""), "day", "provenance")
    assert len(stored) == 6
    for (day, prov), value in stored.items():
        assert (value is None) is ((day, prov) in withheld)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Fact).where(Fact.value == 0)) == 0

    totals = year_totals(zone="SALERS0")
    for prov in ("NonLocal", "Etranger"):
        kept = [r["Volume"] for r in rows if r["Provenance"] == prov and r["Volume"] != ""]
        assert totals[(2024, "Nuitee", "", "Touriste", prov, "", "")] == sum(kept)
    assert totals[(2024, "Nuitee", "Departement", "Touriste", "NonLocal", "15", "")] == 120
    assert totals[(2024, "Nuitee", "Departement", "Touriste", "NonLocal", "48", "")] is None


def test_unknown_category_rows_are_rejected_with_their_lines_and_listed(app):
    rows = daily_rows(JULY, days=2, provenances=("NonLocal",), categories=("Touriste", "Martien", "Excursionniste"),
                      volume=vol)
    imp = import_file("Diurne_2024B4_SALERS0.csv", csv_bytes(rows))

    assert imp.status == "done"
    # Header = line 1; the Martian rows are the 2nd and 5th data rows: lines 3 and 6.
    assert [n for n, r in enumerate(rows, 2) if r["CategorieVisiteur"] == "Martien"] == [3, 6]
    assert (imp.rows_read, imp.rows_loaded, imp.rows_rejected) == (6, 4, 2)
    assert issues(imp) == [("Diurne_2024B4_SALERS0.csv", 3, "catégorie inconnue"),
                           ("Diurne_2024B4_SALERS0.csv", 6, "catégorie inconnue")]
    assert imp.report["unknown_labels"] == {"category": ["Martien"]}
    assert {f.category for f in facts()} == {"Touriste", "Excursionniste"}  # never created
    text = format_report(imp)
    assert "Libellés inconnus (catégorie) : Martien" in text
    assert "Diurne_2024B4_SALERS0.csv ligne 3 : catégorie inconnue" in text
    assert "rejetées : 2" in text


def test_bad_lines_are_rejected_one_by_one_with_their_reason(app):
    rows = daily_rows(JULY, days=8, volume=vol)
    rows[1]["Date"] = "2024-13-45"
    rows[2]["Volume"] = "beaucoup"
    rows[3]["Volume"] = "-12"
    rows[4]["Provenance"] = "Martienne"
    rows[6] = dict(rows[5], Volume=4242)  # the same key twice: the last line is kept
    rows[7]["Date"] = "08/07/2024"  # a file re-saved by a spreadsheet
    rows[0]["Volume"] = "1\u202f234"  # a thousands separator
    imp = import_file("Nuitee_2024B4_SALERS0.csv", csv_bytes(rows))

    assert issues(imp) == [(NAME_B4, 3, "date illisible"), (NAME_B4, 4, "volume illisible"),
                           (NAME_B4, 5, "volume négatif"), (NAME_B4, 6, "provenance inconnue"),
                           (NAME_B4, 7, "ligne en double (la dernière est gardée)")]
    assert imp.report["unknown_labels"] == {"provenance": ["Martienne"]}
    assert (imp.rows_read, imp.rows_loaded, imp.rows_rejected) == (8, 3, 5)
    assert values(facts(), "day") == {(JULY,): 1234, (date(2024, 7, 6),): 4242, (date(2024, 7, 8),): rows[7]["Volume"]}


def test_the_report_page_names_the_dimensions_in_french(app, client, login, factories):
    rows = daily_rows(JULY, provenances=("Etranger",), categories=("Touriste", "Martien"),
                      extra={"Pays": ["BELGIQUE", "SYLDAVIE"]}, volume=vol)
    imp = import_file("Nuitee_Pays_2024B4_SALERS0.csv", csv_bytes(rows))
    login(factories.user(role="animateur"))
    page = client.get(f"/fvt_tab/imports/{imp.id}").get_data(as_text=True)
    assert "Libellés inconnus (catégorie) : Martien" in page
    assert "Libellés inconnus (pays) : SYLDAVIE" in page
    assert "(category)" not in page and "(country)" not in page


def test_line_numbers_are_the_file_s_own_even_after_blank_lines(app):
    rows = daily_rows(JULY, days=3, categories=("Touriste", "Martien"), volume=vol)
    data = csv_bytes(rows).replace(b"\n2024-07-02", b"\n\n\n2024-07-02", 1)  # two blank lines after line 3
    imp = import_file("Nuitee_2024B4_SALERS0.csv", data)
    # Martian rows: line 3 (day 1), then 2 + 2 blank lines later: lines 7 and 9.
    assert [line for _file, line, _msg in issues(imp)] == [3, 7, 9]
    assert imp.rows_loaded == 3


def test_unknown_department_and_country_labels_are_rejected_and_listed(app):
    dept_rows = daily_rows(JULY, days=2, extra={"NomDepartement": ["Cantal", "Atlantide", "Aveyron"]}, volume=vol)
    pays_rows = daily_rows(JULY, days=2, provenances=("Etranger",), extra={"Pays": ["SYLDAVIE", "BELGIQUE"]},
                           volume=vol)
    data = zip_bytes({"Nuitee_Departement_2024B4_SALERS0.csv": csv_bytes(dept_rows),
                      "Nuitee_Pays_2024B4_SALERS0.csv": csv_bytes(pays_rows)})
    imp = import_file("Pays de Salers.zip", data)

    assert (imp.rows_read, imp.rows_loaded, imp.rows_rejected) == (10, 6, 4)
    assert issues(imp) == [
        ("Nuitee_Departement_2024B4_SALERS0.csv", 3, "libellé inconnu (NomDepartement)"),
        ("Nuitee_Departement_2024B4_SALERS0.csv", 6, "libellé inconnu (NomDepartement)"),
        ("Nuitee_Pays_2024B4_SALERS0.csv", 2, "libellé inconnu (Pays)"),
        ("Nuitee_Pays_2024B4_SALERS0.csv", 4, "libellé inconnu (Pays)")]
    assert imp.report["unknown_labels"] == {"department": ["Atlantide"], "country": ["SYLDAVIE"]}
    assert {f.origin for f in facts(breakdown="Departement")} == {"15", "12"}
    assert {f.origin for f in facts(breakdown="Pays")} == {"BE"}
    assert not db.session.scalar(sa.select(sa.func.count()).select_from(LabelAlias))
    text = format_report(imp)
    assert "Libellés inconnus (département) : Atlantide" in text
    assert "Libellés inconnus (pays) : SYLDAVIE" in text


def test_a_label_alias_saved_by_the_observatory_maps_a_label_found_in_files(app):
    db.session.add(LabelAlias(dimension="country", folded="syldavie", code="ZZ"))
    db.session.commit()
    rows = daily_rows(JULY, provenances=("Etranger",), extra={"Pays": ["SYLDAVIE", "BELGIQUE"]}, volume=vol)
    imp = import_file("Nuitee_Pays_2024B4_SALERS0.csv", csv_bytes(rows))
    assert imp.rows_rejected == 0 and imp.report["unknown_labels"] == {}
    assert {f.origin for f in facts()} == {"ZZ", "BE"}


# -- weekly files, unknown families ----------------------------------------------------------------------

def test_weekly_file_is_kept_apart_from_daily_rows(app):
    daily = daily_rows(JULY, days=14, provenances=("NonLocal", "Etranger"), volume=vol)
    # The weekly file: one row per week (its Monday), far larger values.
    weekly = daily_rows(JULY, provenances=("NonLocal", "Etranger"), volume=50_000) + daily_rows(
        JULY + timedelta(days=7), provenances=("NonLocal", "Etranger"), volume=60_000)
    data = zip_bytes({"Nuitee_2024B4_SALERS0.csv": csv_bytes(daily),
                      "Nuitee_Semaine_2024B4_SALERS0.csv": csv_bytes(weekly)})
    imp = import_file("Pays de Salers.zip", data)

    assert imp.rows_loaded == 32
    assert [(f["name"], f["weekly"]) for f in imp.report["files"]] == [
        ("Nuitee_2024B4_SALERS0.csv", False), ("Nuitee_Semaine_2024B4_SALERS0.csv", True)]
    weekly_facts = facts(is_weekly=True)
    assert sorted(f.value for f in weekly_facts) == [50_000, 50_000, 60_000, 60_000]
    assert all(f.family == "Nuitee" for f in weekly_facts)
    # The daily rows of the same days are all there, unchanged by the weekly ones.
    assert values(facts(is_weekly=False), "day", "provenance") == {
        (date.fromisoformat(r["Date"]), r["Provenance"]): r["Volume"] for r in daily}

    daily_sum = sum(r["Volume"] for r in daily)
    totals = year_totals(zone="SALERS0")
    assert sum(v for v in totals.values()) == daily_sum
    assert summary(zone("SALERS0"), 2024)["nuitees_touristes"]["n"] == daily_sum


def test_unknown_family_is_listed_as_skipped_not_an_error(app):
    rows = daily_rows(JULY, days=2, volume=vol)
    data = zip_bytes({"Dispo_2024B4_SALERS0.csv": b"Date;Disponibilite\n2024-07-01;1\n",
                      "Nuitee_2024B4_SALERS0.csv": csv_bytes(rows),
                      "LisezMoi.txt": "Livraison Orange – zone Pays de Salers".encode()})
    imp = import_file("Pays de Salers.zip", data)

    assert imp.status == "done" and imp.error == ""
    assert imp.report["skipped_files"] == ["Dispo_2024B4_SALERS0.csv", "LisezMoi.txt"]
    assert imp.rows_loaded == 2 and imp.rows_rejected == 0 and issues(imp) == []
    assert "Fichiers ignorés (famille inconnue) : Dispo_2024B4_SALERS0.csv, LisezMoi.txt" in format_report(imp)


# -- separators and breakdowns ---------------------------------------------------------------------------

def test_comma_separated_file_is_read(app):
    rows = daily_rows(JULY, days=3, provenances=("Etranger",), extra={"Pays": ["BELGIQUE", "ITALIE"]}, volume=vol)
    data = csv_bytes(rows, sep=",")
    assert data.startswith(b"Date,JourDeLaSemaine,")
    imp = import_file("Nuitee_Pays_2024B4_SALERS0.csv", data)
    assert imp.rows_loaded == 6 and imp.rows_rejected == 0
    assert values(facts(), "day", "origin") == {
        (date.fromisoformat(r["Date"]), {"BELGIQUE": "BE", "ITALIE": "IT"}[r["Pays"]]): r["Volume"] for r in rows}


def test_comma_separated_file_with_a_quoted_grouped_country(app):
    rows = daily_rows(JULY, provenances=("Etranger",), extra={"Pays": ['"GUADELOUPE, MARTINIQUE"', "ITALIE"]},
                      volume=vol)
    imp = import_file("Nuitee_Pays_2024B4_SALERS0.csv", csv_bytes(rows, sep=","))
    assert imp.rows_rejected == 0
    assert {f.origin for f in facts()} == {"GP+MQ", "IT"}


def test_tab_separated_file_is_read(app):
    rows = daily_rows(JULY, days=2, volume=vol)
    imp = import_file("Nuitee_2024B4_SALERS0.csv", csv_bytes(rows, sep="\t", newline="\r\n"))
    assert imp.rows_loaded == 2
    assert sorted(f.value for f in facts()) == sorted(r["Volume"] for r in rows)


def test_every_breakdown_and_family_lands_in_its_place(app):
    ages = {"18-24 ans": "18-24", "25-34 ans": "25-34", "65 ans et +": "65+"}
    geolife = {"Urbains aisés": "urbain-aise", "Ruraux modestes": "rural-modeste"}
    stays = {("1 nuit", 1): "1", ("2 nuits", 2): "2", ("13 nuits et plus", 13): "13"}
    files = {
        "Nuitee_Regions_2024B4_SALERS0.csv": csv_bytes(daily_rows(
            JULY, extra={"NomRegion": [""], "NomNouvelleRegion": ["Occitanie", "Île-de-France"]}, volume=11)),
        "Nuitee_Age_2024B4_SALERS0.csv": csv_bytes(daily_rows(JULY, extra={"Age": list(ages)}, volume=12)),
        "Nuitee_Geolife_2024B4_SALERS0.csv": csv_bytes(daily_rows(JULY, extra={"Geolife": list(geolife)},
                                                                  volume=13)),
        "SejourDuree_2024B4_SALERS0.csv": csv_bytes(
            [dict(r, DureeSejour=label, DureeSejourNum=n, Volume=100 // n)
             for (label, n) in stays for r in daily_rows(JULY)],
            header=COMMON + ["DureeSejour", "DureeSejourNum", "Volume"]),
        "LieuNuitee_Soir_2024B4_SALERS0.csv": csv_bytes(daily_rows(
            JULY, categories=("Excursionniste",),
            extra={"ZoneNuiteeSoir": ["Clermont-Ferrand"], "CodeInseeNuiteeSoir": ["63113"],
                   "EPCIZoneNuiteeSoir": [""], "DeptZoneNuiteeSoir": ["63", "19"]}, volume=14)),
        "Arrivee_2024B4_SALERS0.csv": csv_bytes(daily_rows(JULY, volume=15)),
        "Depart_2024B4_SALERS0.csv": csv_bytes(daily_rows(JULY, volume=16)),
    }
    imp = import_file("Pays de Salers.zip", zip_bytes(files))
    assert imp.rows_rejected == 0 and imp.report["unknown_labels"] == {} and imp.report["skipped_files"] == []

    got = {(f.family, f.breakdown, f.origin, f.profile, f.other_place, f.value) for f in facts()}
    assert got == {
        ("Nuitee", "Regions", "76", "", "", 11), ("Nuitee", "Regions", "11", "", "", 11),
        *{("Nuitee", "Age", "", code, "", 12) for code in ages.values()},
        *{("Nuitee", "Geolife", "", code, "", 13) for code in geolife.values()},
        *{("SejourDuree", "", "", code, "", 100 // n) for (_label, n), code in stays.items()},
        ("LieuNuitee_Soir", "", "", "", "63", 14), ("LieuNuitee_Soir", "", "", "", "19", 14),
        ("Arrivee", "", "", "", "", 15), ("Depart", "", "", "", "", 16),
    }
    # The stay lengths give the average stay: Σ(nights × volume) / Σ volume, the open class as 13.
    volumes = {n: 100 // n for (_label, n) in stays}
    expected = round(sum(n * v for n, v in volumes.items()) / sum(volumes.values()), 2)
    assert summary(zone("SALERS0"), 2024)["duree_moyenne_sejour"]["n"] == expected


# -- Excel ----------------------------------------------------------------------------------------------

def test_xlsx_workbook_with_one_sheet_per_family(app):
    nuitee = daily_rows(JULY, days=3, zone="Carladès", provenances=("NonLocal", "Etranger"), volume=vol)
    # In Excel the dates are real dates (cells formatted as dates), as an agency's workbook has them.
    for r in nuitee:
        r["Date"] = date.fromisoformat(r["Date"])
    pays = daily_rows(JULY, days=3, zone="Carladès", provenances=("Etranger",),
                      extra={"Pays": ["BELGIQUE\u00a0", "Royaume-Uni", "CUMUL"]}, volume=vol)
    diurne = daily_rows(JULY, days=3, zone="Carladès", categories=("Excursionniste",), volume="")
    data = xlsx_bytes({"Nuitee": sheet_rows(nuitee), "Nuitee_Pays": sheet_rows(pays),
                       "Diurne": sheet_rows(diurne), "Notes": [["Livraison de l'agence, juillet 2024"]]})
    imp = import_file("Livraison_2024B4_CARLADES0.xlsx", data)

    assert imp.status == "done" and imp.rows_rejected == 0
    assert imp.report["skipped_files"] == ["Livraison_2024B4_CARLADES0.xlsx › Notes"]
    # The zone is the one the workbook's name gives, its label an alias.
    assert [z.code for z in db.session.scalars(sa.select(Zone))] == ["CARLADES0"]
    assert [a.alias for a in zone("CARLADES0").aliases] == ["Carladès"]
    assert values(facts(family="Nuitee", breakdown=""), "day", "provenance") == {
        (r["Date"], r["Provenance"]): r["Volume"] for r in nuitee}
    country = {"BELGIQUE\u00a0": "BE", "Royaume-Uni": "GB", "CUMUL": "TOTAL"}
    assert values(facts(breakdown="Pays"), "day", "origin", "is_total") == {
        (date.fromisoformat(r["Date"]), country[r["Pays"]], r["Pays"] == "CUMUL"): r["Volume"] for r in pays}
    assert [f.value for f in facts(family="Diurne")] == [None, None, None]


def test_formatted_sheet_read_through_a_saved_mapping_profile(app):
    """A report sheet as an agency formats it: a title, a blank line, the header on row 3, one row per
    zone and one column per day (some written as text, some as real Excel dates), a total column."""
    profile = MappingProfile(name="Tableau de bord mensuel", header_row=3, zone_column="Territoire",
                             period_columns=["01/07/2024", "02/07/2024", "2024-07-03", "2024-07-04"],
                             family="Nuitee", category="Touriste", provenance="NonLocal")
    db.session.add(profile)
    db.session.commit()
    sheet = [["Nuitées touristiques — Flux Vision Tourisme"], [],
             ["Territoire", "01/07/2024", "02/07/2024", date(2024, 7, 3), date(2024, 7, 4), "Total"],
             ["Carladès", 120, 130, "", 150, 400],
             ["Pays de Salers", 210, 220, 230, 240, 900]]
    imp = import_file("Tableau juillet.xlsx", xlsx_bytes({"Juillet": sheet, "Graphique": [[""]]}),
                      profile_id=profile.id)

    assert imp.status == "done" and imp.rows_rejected == 0, issues(imp)
    assert imp.report["skipped_files"] == ["Tableau juillet.xlsx › Graphique"]  # an empty sheet
    days = [JULY + timedelta(days=n) for n in range(4)]
    by_zone = {}
    for f in facts():
        assert (f.family, f.breakdown, f.category, f.provenance) == ("Nuitee", "", "Touriste", "NonLocal")
        by_zone.setdefault(db.session.get(Zone, f.zone_id).name, {})[f.day] = f.value
    # Each row in its own zone; the total column is not a day; a blank cell is withheld (NULL).
    assert by_zone == {"Carladès": dict(zip(days, [120, 130, None, 150], strict=True)),
                       "Pays de Salers": dict(zip(days, [210, 220, 230, 240], strict=True))}


def test_mapping_profile_with_date_and_value_columns_and_a_fixed_zone(app):
    db.session.add(Zone(code="LIORAN0", name="Le Lioran"))
    profile = MappingProfile(name="Export journalier", header_row=2, date_column="Jour du séjour",
                             value_column="Excursionnistes", zone_code="LIORAN0", family="Diurne",
                             category="Excursionniste", provenance="Etranger")
    db.session.add(profile)
    db.session.commit()
    sheet = [["Export du 5 juillet"], ["Jour du séjour", "Excursionnistes", "Commentaire"],
             [date(2024, 7, 1), 42, "pluie"], [date(2024, 7, 2), 57, ""], ["02/07/2024x", 3, "coquille"]]
    imp = import_file("Export.xlsx", xlsx_bytes({"Feuil1": sheet}), profile_id=profile.id)

    assert imp.rows_loaded == 2
    assert issues(imp) == [("Export.xlsx › Feuil1", 5, "date illisible")]
    assert values(facts(zone="LIORAN0"), "family", "category", "provenance", "day") == {
        ("Diurne", "Excursionniste", "Etranger", date(2024, 7, 1)): 42,
        ("Diurne", "Excursionniste", "Etranger", date(2024, 7, 2)): 57}


# -- provisional, final, re-imports ------------------------------------------------------------------------

def bimestre_rows(volume, first: date = JULY, days: int = 62):
    return daily_rows(first, days=days, provenances=("NonLocal", "Etranger"), volume=volume)


def test_final_delivery_supersedes_the_provisional_one(app):
    # In high season, a provisional file with the first week; then the final bimestre.
    provisional = bimestre_rows(lambda r: 50 + r["day"].day, days=7)
    imp1 = import_file("Nuitee_2024B4_SALERS0.csv", csv_bytes(provisional), provisional=True)
    assert imp1.is_provisional
    assert {f.is_provisional for f in facts()} == {True} and len(facts()) == 14

    final = bimestre_rows(vol)
    imp2 = import_file("Pays de Salers.zip", zip_bytes({"Nuitee_2024B4_SALERS0.csv": csv_bytes(final)}))
    assert imp2.rows_loaded == 124 and "skipped_provisional" not in imp2.report
    stored = facts()
    assert len(stored) == 124
    assert {f.is_provisional for f in stored} == {False}
    assert values(stored, "day", "provenance") == {
        (date.fromisoformat(r["Date"]), r["Provenance"]): r["Volume"] for r in final}
    assert {f.import_id for f in stored} == {imp2.id}
    assert year_totals(zone="SALERS0") == {
        (2024, "Nuitee", "", "Touriste", prov, "", ""): sum(r["Volume"] for r in final if r["Provenance"] == prov)
        for prov in ("NonLocal", "Etranger")}


def test_a_provisional_file_after_the_final_one_is_not_loaded(app):
    final = bimestre_rows(vol)
    import_file("Nuitee_2024B4_SALERS0.csv", csv_bytes(final))
    before = snapshot()

    late = bimestre_rows(7, first=date(2024, 8, 5), days=7)
    imp = import_file("Nuitee_2024B4_SALERS0.csv", csv_bytes(late), provisional=True)
    assert imp.status == "done" and imp.rows_loaded == 0
    assert imp.report["skipped_provisional"] == ["Nuitee_2024B4_SALERS0.csv"]
    assert ("Fichiers provisoires non chargés (données définitives déjà présentes) : Nuitee_2024B4_SALERS0.csv"
            in format_report(imp))
    after = snapshot()
    assert {k: v for k, v in after.items() if k != "imports_done"} == {
        k: v for k, v in before.items() if k != "imports_done"}
    assert {f.is_provisional for f in facts()} == {False}


def test_a_provisional_file_for_new_days_is_loaded_next_to_final_data(app):
    import_file("Nuitee_2024B4_SALERS0.csv", csv_bytes(bimestre_rows(vol)))
    september = bimestre_rows(9, first=date(2024, 9, 1), days=7)
    imp = import_file("Nuitee_2024B5_SALERS0.csv", csv_bytes(september), provisional=True)
    assert imp.rows_loaded == 14 and "skipped_provisional" not in imp.report
    assert {f.is_provisional for f in facts() if f.day.month == 9} == {True}
    assert {f.is_provisional for f in facts() if f.day.month < 9} == {False}


def delivery_zip(order: list[str] | None = None) -> tuple[bytes, dict[str, bytes]]:
    files = {
        "Nuitee_2024B4_SALERS0.csv": csv_bytes(bimestre_rows(vol, days=10)),
        "Nuitee_Pays_2024B4_SALERS0.csv": csv_bytes(daily_rows(
            JULY, days=10, provenances=("Etranger",), extra={"Pays": ["BELGIQUE", "SUISSE", "CUMUL"]}, volume=vol)),
        "Diurne_2024B4_SALERS0.csv": csv_bytes(daily_rows(
            JULY, days=10, categories=("Excursionniste", "Touriste"), provenances=("NonLocal", "Local"), volume=vol)),
        "Dispo_2024B4_SALERS0.csv": b"Date;Disponibilite\n2024-07-01;1\n",
    }
    if order:
        files = {name: files[name] for name in order}
    return zip_bytes(files), files


def test_reimporting_the_same_file_is_refused_by_its_sha256(app):
    data, _files = delivery_zip()
    first = import_file("Pays de Salers.zip", data)
    before = snapshot()

    message = import_fails("Pays de Salers 2024B4 (copie).zip", data)
    day = first.created_at.strftime("%d/%m/%Y")
    assert message == f"Ce fichier a déjà été importé le {day} (import n° {first.id}) : rien n'a changé."
    assert snapshot() == before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Import)) == 1


def test_reimporting_the_same_content_in_other_bytes_changes_nothing(app):
    data, files = delivery_zip()
    import_file("Pays de Salers.zip", data)
    before = snapshot()
    totals_before = year_totals()

    # The same files in another order in the ZIP (other bytes, another sha256)…
    reordered, _files = delivery_zip(order=list(reversed(files)))
    assert reordered != data
    imp = import_file("Pays de Salers.zip", reordered)
    # … and loose, one by one, re-saved with a BOM and Windows line endings.
    for name, content in files.items():
        if name.startswith("Dispo"):
            continue
        import_file(name, b"\xef\xbb\xbf" + content.replace(b"\n", b"\r\n"))

    assert imp.status == "done" and imp.rows_loaded == before_count(before)
    after = snapshot()
    assert {k: v for k, v in after.items() if k != "imports_done"} == {
        k: v for k, v in before.items() if k != "imports_done"}
    assert year_totals() == totals_before
    assert len(after["imports_done"]) == 5


def before_count(snap: dict) -> int:
    return len(snap["facts"])


def test_a_corrected_redelivery_replaces_values_and_drops_rows_it_no_longer_has(app):
    rows = daily_rows(JULY, days=3, provenances=("NonLocal", "Etranger"), extra={"NomDepartement": ["Cantal",
                                                                                                     "Aveyron"]},
                      volume=vol)
    import_file("Nuitee_Departement_2024B4_SALERS0.csv", csv_bytes(rows))
    corrected = [dict(r, Volume=r["Volume"] + 1) for r in rows if r["NomDepartement"] == "Cantal"]
    import_file("Nuitee_Departement_2024B4_SALERS0.csv", csv_bytes(corrected))

    assert values(facts(), "day", "provenance", "origin") == {
        (date.fromisoformat(r["Date"]), r["Provenance"], "15"): r["Volume"] for r in corrected}
    assert {key[5] for key in year_totals()} == {"15"}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Fact)) == 6


# -- zones ------------------------------------------------------------------------------------------------

def test_zone_identified_by_the_code_in_the_file_name_with_its_label_as_alias(app):
    imp = import_file("Nuitee_2024B4_SALERS0.csv", csv_bytes(daily_rows(JULY, volume=vol)))
    z = zone("SALERS0")
    assert (z.name, z.territory_id) == (SALERS, None)
    assert [a.alias for a in z.aliases] == [SALERS]
    assert imp.report["new_zones"] == ["SALERS0"]
    assert "Nouvelles zones à rattacher à un territoire : SALERS0" in format_report(imp)

    # Renamed by Orange: the same code, another label → the same zone, one more alias, nothing new.
    imp2 = import_file("Nuitee_2024B5_SALERS0.csv", csv_bytes(daily_rows(date(2024, 9, 1), zone="Salers",
                                                                         volume=vol)))
    assert imp2.report["new_zones"] == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Zone)) == 1
    assert sorted(a.alias for a in zone("SALERS0").aliases) == [SALERS, "Salers"]
    assert {f.zone_id for f in facts()} == {z.id}


def test_a_known_zone_keeps_its_territory_and_name(app, factories):
    territory = factories.territory(name="Pays de Salers")
    db.session.add(Zone(code="SALERS0", name="Salers (nom de l'observatoire)", territory_id=territory.id))
    db.session.commit()
    imp = import_file("Nuitee_2024B4_SALERS0.csv", csv_bytes(daily_rows(JULY, volume=vol)))
    assert imp.report["new_zones"] == []
    z = zone("SALERS0")
    assert (z.name, z.territory_id) == ("Salers (nom de l'observatoire)", territory.id)
    assert [a.alias for a in z.aliases] == [SALERS]


def test_an_unknown_zone_is_created_and_listed_for_the_observatory(app):
    data = zip_bytes({"Nuitee_2024B4_SALERS0.csv": csv_bytes(daily_rows(JULY, volume=vol)),
                      "Nuitee_2024B4_NOUVELLEZONE1.csv": csv_bytes(daily_rows(JULY, zone="Vallée du Mars",
                                                                              volume=vol))})
    imp = import_file("Livraison.zip", data)
    assert imp.report["new_zones"] == ["SALERS0", "NOUVELLEZONE1"]
    new = zone("NOUVELLEZONE1")
    assert (new.name, new.territory_id) == ("Vallée du Mars", None)
    assert "Nouvelles zones à rattacher à un territoire : SALERS0, NOUVELLEZONE1" in format_report(imp)


def test_an_unknown_code_is_a_new_zone_even_with_another_zone_s_label(app):
    """The code identifies the zone: a new code whose label is another zone's alias gets its own zone
    (for the observatory to link), and the other zone's figures stay as they are."""
    salers = daily_rows(JULY, days=3, volume=100)
    other = daily_rows(JULY, days=3, volume=7)  # same label « Pays de Salers », another code
    imp = import_file("Livraison.zip", zip_bytes({"Nuitee_2024B4_SALERS0.csv": csv_bytes(salers),
                                                  "Nuitee_2024B4_SALERSCOM0.csv": csv_bytes(other)}))
    assert imp.report["new_zones"] == ["SALERS0", "SALERSCOM0"]
    assert [f["zone"] for f in imp.report["files"]] == ["SALERS0", "SALERSCOM0"]
    assert [f.value for f in facts(zone="SALERS0")] == [100, 100, 100]
    assert [f.value for f in facts(zone="SALERSCOM0")] == [7, 7, 7]
    assert [a.alias for a in zone("SALERS0").aliases] == [SALERS] and zone("SALERSCOM0").aliases == []


def test_a_file_without_code_resolves_its_zone_through_the_alias(app):
    import_file("Nuitee_2024B4_SALERS0.csv", csv_bytes(daily_rows(JULY, volume=vol)))
    # A later file without the code in its name, its label in capitals with a trailing space.
    imp = import_file("Nuitee_2024B5.csv", csv_bytes(daily_rows(date(2024, 9, 1), zone="PAYS DE SALERS ",
                                                                volume=vol)))
    assert imp.report["new_zones"] == []
    assert [f["zone"] for f in imp.report["files"]] == ["SALERS0"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Zone)) == 1
    assert {f.zone_id for f in facts()} == {zone("SALERS0").id}
    # An alias the observatory added (an old name) works the same way.
    db.session.add(ZoneAlias(zone_id=zone("SALERS0").id, alias="Salers – Mauriac", folded="salers mauriac"))
    db.session.commit()
    imp = import_file("Diurne_2024B5.csv", csv_bytes(daily_rows(date(2024, 9, 1), zone="Salers-Mauriac",
                                                                volume=vol)))
    assert [f["zone"] for f in imp.report["files"]] == ["SALERS0"] and imp.report["new_zones"] == []


# -- outage days --------------------------------------------------------------------------------------------

def diurne(volume, days: int = 15) -> bytes:
    return csv_bytes(daily_rows(JULY, days=days, provenances=("Local", "NonLocal", "Etranger"),
                                categories=("Touriste", "Excursionniste", "Resident"), volume=volume))


def test_a_day_at_zero_for_the_whole_zone_between_large_days_is_an_outage(app):
    outage = date(2024, 7, 8)
    imp = import_file("Diurne_2024B4_SALERS0.csv", diurne(lambda r: 0 if r["day"] == outage else vol(r)))

    assert imp.report["outage_days"] == {"SALERS0": ["2024-07-08"]}
    assert "Jours de panne détectés (SALERS0) : 2024-07-08" in format_report(imp)
    assert [(q.day, q.flag, q.source) for q in db.session.scalars(sa.select(DayQuality))] == [
        (outage, "outage", "auto")]
    assert summary(zone("SALERS0"), 2024)["jours_anomalie"] == ["2024-07-08"]
    # The zeros are kept as delivered (0, not NULL): the flag says what they are.
    assert {f.value for f in facts(day=outage)} == {0}


def test_no_outage_for_a_small_zone_or_a_partial_zero(app):
    quiet = date(2024, 7, 8)
    # Tiny figures around the zero day: a quiet day, not an outage.
    import_file("Diurne_2024B4_PETIT0.csv", diurne(lambda r: 0 if r["day"] == quiet else 2))
    # Only the foreigners at zero on that day: not the whole zone.
    imp = import_file("Diurne_2024B4_SALERS0.csv", diurne(
        lambda r: 0 if r["day"] == quiet and r["Provenance"] == "Etranger" else vol(r)))
    assert imp.report["outage_days"] == {}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DayQuality)) == 0


def test_a_corrected_delivery_clears_the_detected_outage_but_not_a_manual_flag(app):
    outage, manual = date(2024, 7, 8), date(2024, 7, 3)
    import_file("Diurne_2024B4_SALERS0.csv", diurne(lambda r: 0 if r["day"] == outage else vol(r)))
    z = zone("SALERS0")
    db.session.add(DayQuality(zone_id=z.id, day=manual, flag="interpolated", source="manual", note="à la main"))
    db.session.commit()

    imp = import_file("Diurne_2024B4_SALERS0.csv", diurne(vol))  # Orange re-delivered the day
    assert imp.report["outage_days"] == {}
    assert [(q.day, q.flag, q.source) for q in db.session.scalars(sa.select(DayQuality))] == [
        (manual, "interpolated", "manual")]


# -- CLI ----------------------------------------------------------------------------------------------------

def test_cli_import_prints_the_report_and_exits_0(app, tmp_path):
    rows = daily_rows(JULY, days=2, categories=("Touriste", "Martien"), volume=vol)
    path = tmp_path / "Pays de Salers.zip"
    path.write_bytes(zip_bytes({"Nuitee_2024B4_SALERS0.csv": csv_bytes(rows), "Dispo_2024B4_SALERS0.csv": b"x\n"}))
    result = app.test_cli_runner().invoke(args=["fvt", "import", str(path)])

    assert result.exit_code == 0, result.output
    imp = db.session.scalar(sa.select(Import))
    assert (imp.filename, imp.status, imp.is_provisional) == ("Pays de Salers.zip", "done", False)
    assert result.stdout.splitlines() == [
        f"Import n° {imp.id} : Pays de Salers.zip",
        "Lignes lues : 4, chargées : 2, rejetées : 2",
        "  Nuitee_2024B4_SALERS0.csv (SALERS0) : 2/4",
        "Fichiers ignorés (famille inconnue) : Dispo_2024B4_SALERS0.csv",
        "Libellés inconnus (catégorie) : Martien",
        "Nouvelles zones à rattacher à un territoire : SALERS0",
        "  rejet : Nuitee_2024B4_SALERS0.csv ligne 3 : catégorie inconnue",
        "  rejet : Nuitee_2024B4_SALERS0.csv ligne 5 : catégorie inconnue",
    ]
    assert len(facts()) == 2


def test_cli_import_provisional_flag(app, tmp_path):
    path = tmp_path / "Nuitee_2024B4_SALERS0.csv"
    path.write_bytes(csv_bytes(daily_rows(JULY, days=2, volume=vol)))
    result = app.test_cli_runner().invoke(args=["fvt", "import", "--provisional", str(path)])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(sa.select(Import)).is_provisional
    assert {f.is_provisional for f in facts()} == {True}


def test_cli_import_of_a_bad_file_exits_non_zero_with_the_french_error_and_changes_nothing(app, tmp_path):
    good = tmp_path / "Nuitee_2024B4_SALERS0.csv"
    good.write_bytes(csv_bytes(daily_rows(JULY, days=3, volume=vol)))
    assert app.test_cli_runner().invoke(args=["fvt", "import", str(good)]).exit_code == 0
    before = snapshot()

    # A delivery whose second file was cut in the middle of a line: the whole ZIP is refused.
    cut = csv_bytes(daily_rows(JULY, days=3, volume=999))[:-12]
    bad = tmp_path / "Pays de Salers.zip"
    bad.write_bytes(zip_bytes({"Diurne_2024B4_SALERS0.csv": csv_bytes(daily_rows(JULY, volume=5)),
                               "Nuitee_2024B4_SALERS0.csv": cut}))
    result = app.test_cli_runner().invoke(args=["fvt", "import", str(bad)])
    assert result.exit_code != 0
    assert result.stderr == ("Erreur : Pays de Salers.zip : Nuitee_2024B4_SALERS0.csv est tronqué ou mal formé : "
                             "la ligne 4 est incomplète.\n")
    assert result.stdout == ""  # no report
    assert snapshot() == before

    # The same file again: refused by its sha256, in French, non-zero.
    again = app.test_cli_runner().invoke(args=["fvt", "import", str(good)])
    assert again.exit_code != 0 and "a déjà été importé" in again.stderr
    assert snapshot() == before

    missing = app.test_cli_runner().invoke(args=["fvt", "import", str(tmp_path / "absent.zip")])
    assert missing.exit_code != 0 and missing.stderr.startswith("Erreur : impossible de lire ")
    assert "No such file" not in missing.stderr
    assert snapshot() == before


def test_cli_imports_several_files_each_all_or_nothing(app, tmp_path):
    good = tmp_path / "Nuitee_2024B4_SALERS0.csv"
    good.write_bytes(csv_bytes(daily_rows(JULY, days=3, volume=vol)))
    bad = tmp_path / "Nuitee_Pays_2024B4_SALERS0.csv"
    bad.write_bytes(csv_bytes(daily_rows(JULY, days=3, volume=vol)))  # no Pays column
    result = app.test_cli_runner().invoke(args=["fvt", "import", str(bad), str(good)])
    assert result.exit_code != 0
    assert ("Erreur : Nuitee_Pays_2024B4_SALERS0.csv : Nuitee_Pays_2024B4_SALERS0.csv : le nom annonce la "
            "ventilation « Pays » mais l'en-tête n'a pas la colonne Pays.") in result.stderr
    assert "Import n° " in result.stdout and "Nuitee_2024B4_SALERS0.csv (SALERS0) : 3/3" in result.stdout
    assert [i.filename for i in db.session.scalars(sa.select(Import))] == ["Nuitee_2024B4_SALERS0.csv"]
    assert len(facts()) == 3 and not facts(breakdown="Pays")
