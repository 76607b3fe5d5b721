"""`flask fvt summary`: every figure equals a sum this test computes itself from the CSV rows it
imported (csv module, no code of the app), on two years of realistic demo deliveries and on small
hand-written files for the edge cases (withheld values, weekly files, the Local provenance).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from datetime import date, timedelta
from functools import lru_cache

import pytest

from tests.conftest import csrf_token
from tests.fvt_tab.conftest import COMMON, DAYS_FR, zip_bytes
from tests.fvt_tab.conftest import csv_bytes as orange_csv

ZONE, LABEL = "SALERS0", "Pays de Salers"
SOURCE = "Données Flux Vision Tourisme Orange"
KEYS = {"zone", "annee", "inclut_local", "periode", "nuitees_touristes", "nuitees_francais", "nuitees_etrangers",
        "excursionnistes", "pic_excursionnistes", "duree_moyenne_sejour", "top_departements", "top_pays",
        "jours_anomalie", "source"}
PAIRS = ("nuitees_touristes", "nuitees_francais", "nuitees_etrangers", "excursionnistes", "duree_moyenne_sejour")
NAME_RE = re.compile(r"^(?P<family>[A-Za-z]+(?:_(?:Soir|Veille))?)(?:_(?P<breakdown>Departement|Pays|Regions|Age|"
                     r"Geolife))?(?P<weekly>_Semaine)?_(?P<year>\d{4})B(?P<b>[1-6])_(?P<zone>[A-Z0-9]+)\.csv$")

# What a user expects to read for the origins of the files below: department names → INSEE code,
# and Orange's country labels → ISO code and French name. Written here, not taken from the app.
DEPARTMENTS = {
    "Puy-de-Dôme": "63", "Cantal": "15", "Paris": "75", "Rhône": "69", "Corrèze": "19", "Aveyron": "12",
    "Haute-Loire": "43", "Haute-Garonne": "31", "Gironde": "33", "Hauts-de-Seine": "92", "Yvelines": "78",
    "Bouches-du-Rhône": "13", "Lot": "46", "Haute-Vienne": "87", "Allier": "03", "Loire": "42",
    "Loire-Atlantique": "44", "Nord": "59", "Hérault": "34", "Essonne": "91", "Val-de-Marne": "94",
    "Seine-Saint-Denis": "93", "Seine-et-Marne": "77", "Val-d'Oise": "95", "Isère": "38", "Bas-Rhin": "67",
    "Alpes-Maritimes": "06", "Ille-et-Vilaine": "35", "Maine-et-Loire": "49", "Indre-et-Loire": "37",
    "Loiret": "45", "Dordogne": "24", "Gard": "30", "Pyrénées-Atlantiques": "64", "Moselle": "57",
    "Seine-Maritime": "76", "Finistère": "29", "Côte-d'Or": "21", "Saône-et-Loire": "71", "Drôme": "26",
}
COUNTRIES = {
    "BELGIQUE": ("BE", "Belgique"), "PAYS-BAS": ("NL", "Pays-Bas"), "ALLEMAGNE": ("DE", "Allemagne"),
    "ROYAUME-UNI": ("GB", "Royaume-Uni"), "ESPAGNE": ("ES", "Espagne"), "SUISSE": ("CH", "Suisse"),
    "ITALIE": ("IT", "Italie"), "ETATS-UNIS": ("US", "États-Unis"), "LUXEMBOURG": ("LU", "Luxembourg"),
    "CANADA": ("CA", "Canada"), "PORTUGAL": ("PT", "Portugal"), "IRLANDE": ("IE", "Irlande"),
    "DANEMARK": ("DK", "Danemark"), "SUEDE": ("SE", "Suède"), "POLOGNE": ("PL", "Pologne"),
    "AUTRICHE": ("AT", "Autriche"), "AUSTRALIE": ("AU", "Australie"), "JAPON": ("JP", "Japon"),
    "CHINE": ("CN", "Chine"), "BRESIL": ("BR", "Brésil"), "NORVEGE": ("NO", "Norvège"),
    "ISRAEL": ("IL", "Israël"), "GUADELOUPE, MARTINIQUE": ("GP+MQ", "Guadeloupe, Martinique"),
    "REPUBLIQUE TCHEQUE": ("CZ", "Tchéquie"), "COREE DU SUD": ("KR", "Corée du Sud"),
}


# -- the source rows, and the figures computed from them here ------------------------------------------

def read_rows(files: dict[str, bytes], family: str, breakdown: str = "") -> list[dict]:
    """The rows of the daily files of one family and breakdown (weekly ``Semaine`` files never count)."""
    rows = []
    for name, data in files.items():
        m = NAME_RE.match(name)
        if not m or m["family"] != family or (m["breakdown"] or "") != breakdown or m["weekly"]:
            continue
        text = data.decode("utf-8-sig")
        rows.extend(csv.DictReader(io.StringIO(text), delimiter=";"))
    return rows


def volume(row: dict) -> int | None:
    raw = row["Volume"].strip()
    return int(raw) if raw else None  # blank: withheld by Orange, counts as nothing


def provenances(include_local: bool) -> set[str]:
    return {"NonLocal", "Etranger", "Local"} if include_local else {"NonLocal", "Etranger"}


def days_of(year: int | tuple[str, str]):
    """Which rows a figure adds up: a whole year, or the days from one ISO date to another."""
    if isinstance(year, int):
        return lambda day: day.startswith(f"{year}-")
    return lambda day: year[0] <= day <= year[1]


def total(rows, year, category, provs) -> int | None:
    when = days_of(year)
    values = [volume(r) for r in rows if when(r["Date"]) and r["CategorieVisiteur"] == category
              and r["Provenance"] in provs]
    values = [v for v in values if v is not None]
    return sum(values) if values else None


def stay_nights(row: dict) -> int:
    raw = (row.get("DureeSejourNum") or "").strip() or row["DureeSejour"].split()[0]
    return min(int(raw), 13)  # « 13 nuits et plus »: the open class counts as 13


def average_stay(rows, year, provs) -> float | None:
    nights = people = 0
    when = days_of(year)
    for r in rows:
        v = volume(r)
        if when(r["Date"]) and r["CategorieVisiteur"] == "Touriste" and r["Provenance"] in provs \
                and v is not None:
            nights += stay_nights(r) * v
            people += v
    return round(nights / people, 2) if people else None


def peak(rows, year, provs) -> dict | None:
    by_day: dict[str, int] = defaultdict(int)
    for r in rows:
        v = volume(r)
        if r["Date"].startswith(f"{year}-") and r["CategorieVisiteur"] == "Excursionniste" \
                and r["Provenance"] in provs and v is not None:
            by_day[r["Date"]] += v
    if not by_day:
        return None
    day = min(by_day, key=lambda d: (-by_day[d], d))
    return {"date": day, "valeur": by_day[day]}


def ranking(rows, year, provs, column, names) -> list[dict]:
    sums: dict[str, int] = defaultdict(int)
    for r in rows:
        v = volume(r)
        label = r[column].replace("\u00a0", " ").strip()
        if r["Date"].startswith(f"{year}-") and r["CategorieVisiteur"] == "Touriste" and r["Provenance"] in provs \
                and v is not None and label != "CUMUL":
            sums[label] += v
    out = []
    for label, value in sums.items():
        code, name = names(label)
        out.append({"code": code, "nom": name, "valeur": value})
    return sorted(out, key=lambda o: (-o["valeur"], o["code"]))[:15]


def expected_summary(files: dict[str, bytes], year: int, include_local: bool = False,
                     flagged_days: tuple[str, ...] = ()) -> dict:
    """The summary as the issue defines it, computed from the CSV text alone."""
    provs = provenances(include_local)
    french = {"NonLocal", "Local"} if include_local else {"NonLocal"}
    nuitee, diurne, stays = read_rows(files, "Nuitee"), read_rows(files, "Diurne"), read_rows(files, "SejourDuree")
    has_previous = any(r["Date"].startswith(f"{year - 1}-") for family in ("Nuitee", "Diurne", "SejourDuree")
                       for r in read_rows(files, family))
    # The period: the first and last day of the year's daily rows. A year from 1 January to 31
    # December compares with the whole of N-1; any other with the same weekdays of N-1: its days
    # moved back 52 weeks (364 days), kept inside N-1.
    days = sorted(r["Date"] for family in ("Nuitee", "Diurne", "SejourDuree") for r in read_rows(files, family)
                  if r["Date"].startswith(f"{year}-"))
    periode, previous = None, year - 1
    if days:
        complete = (days[0], days[-1]) == (f"{year}-01-01", f"{year}-12-31")
        periode = {"debut": days[0], "fin": days[-1], "annee_complete": complete, "n1": None}
        if not complete:
            moved = [(date.fromisoformat(d) - timedelta(days=364)).isoformat() for d in (days[0], days[-1])]
            previous = (max(moved[0], f"{year - 1}-01-01"), min(moved[1], f"{year - 1}-12-31"))
            if has_previous:
                periode["n1"] = {"debut": previous[0], "fin": previous[1]}

    def pair(compute):
        return {"n": compute(year), "n1": compute(previous) if has_previous else None}

    return {
        "zone": ZONE,
        "annee": year,
        "inclut_local": include_local,
        "periode": periode,
        "nuitees_touristes": pair(lambda y: total(nuitee, y, "Touriste", provs)),
        "nuitees_francais": pair(lambda y: total(nuitee, y, "Touriste", french)),
        "nuitees_etrangers": pair(lambda y: total(nuitee, y, "Touriste", {"Etranger"})),
        "excursionnistes": pair(lambda y: total(diurne, y, "Excursionniste", provs)),
        "pic_excursionnistes": peak(diurne, year, provs),
        "duree_moyenne_sejour": pair(lambda y: average_stay(stays, y, provs)),
        "top_departements": ranking(read_rows(files, "Nuitee", "Departement"), year, provs, "NomDepartement",
                                    lambda label: (DEPARTMENTS[label], label)),
        "top_pays": ranking(read_rows(files, "Nuitee", "Pays"), year, provs, "Pays", lambda label: COUNTRIES[label]),
        "jours_anomalie": sorted(flagged_days),
        "source": SOURCE,
    }


# -- files and the CLI ------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def demo_files() -> dict[str, bytes]:
    """Two years of realistic deliveries of the Pays de Salers (the demo's generator), with the
    outage day the demo puts on 29 August every year."""
    from intranet.fvt_tab import demo

    code, label, _territory, size, winter = next(z for z in demo.ZONES if z[0] == ZONE)
    files: dict[str, bytes] = {}
    for year in (2023, 2024):
        for b in range(1, 7):
            files.update(demo.delivery(code, label, size, winter, year, b, date(year, 8, 29) if b == 4 else None))
    return files


def write_zips(folder, files: dict[str, bytes]) -> list[str]:
    """One ZIP per bimestre, as Orange delivers them."""
    by_delivery: dict[str, dict[str, bytes]] = defaultdict(dict)
    for name, data in files.items():
        by_delivery[re.search(r"_(\d{4}B\d)_", name).group(1)][name] = data
    paths = []
    for key, members in sorted(by_delivery.items()):
        path = folder / f"{LABEL} {key}.zip"
        path.write_bytes(zip_bytes(members))
        paths.append(str(path))
    return paths


def line(day: str, provenance: str, category: str, *extra, vol) -> list:
    d = date.fromisoformat(day)
    return [day, DAYS_FR[d.weekday()], 0, 0, 0, 0, LABEL, provenance, category, *extra, vol]


def csv_bytes(rows: list[list], extra: tuple[str, ...] = (), first: str = "Date") -> bytes:
    """A daily (or, with ``first="Semaine"``, weekly) file: the common columns, ``extra``, Volume."""
    return orange_csv(rows, header=[first] + COMMON[1:] + list(extra) + ["Volume"])


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def import_files(app, folder, files: dict[str, bytes]) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    result = run(app, "fvt", "import", *write_zips(folder, files))
    assert result.exit_code == 0, result.output
    return result.output


def summary(app, year: int, *extra: str) -> dict:
    result = run(app, "fvt", "summary", "--zone", ZONE, "--year", str(year), "--json", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # exactly one JSON object: anything else fails here


def assert_same(got: dict, want: dict) -> None:
    """Field by field, so that a failure names the figure."""
    assert set(got) == KEYS
    for key in want:
        assert got[key] == want[key], f"{key}: summary {got[key]!r} != from the rows {want[key]!r}"


# -- realistic deliveries over two years -------------------------------------------------------------------

@pytest.fixture
def two_years(app, tmp_path, make_user, login, client):
    """2023 and 2024 of the Pays de Salers imported through the CLI, and 12 March 2024 marked by
    hand as interpolated through the zone page's form."""
    files = demo_files()
    output = import_files(app, tmp_path, files)
    assert "2024-08-29" in output  # the importer's report names the outage day it detected
    login(make_user(role="animateur"))
    token = csrf_token(client, f"/fvt_tab/zones/{ZONE}")
    resp = client.post(f"/fvt_tab/zones/{ZONE}/qualite", data={
        "csrf_token": token, "day": "2024-03-12", "flag": "interpolated", "note": "valeurs recalculées par Orange"})
    assert resp.status_code == 302
    return files


def test_source_rows_hold_what_the_checks_rely_on():
    """The demo rows have the outage day, withheld values, the open class, a CUMUL row, the
    recurrent excursionists and Local rows: the checks below exercise all of them."""
    files = demo_files()
    nuitee = read_rows(files, "Nuitee")
    outage = [r for r in nuitee if r["Date"] == "2024-08-29" and r["CategorieVisiteur"] == "Touriste"]
    assert outage and all(volume(r) == 0 for r in outage)
    assert any(volume(r) is None for r in read_rows(files, "Nuitee", "Departement"))
    assert any(volume(r) is None for r in read_rows(files, "Nuitee", "Pays"))
    assert any(r["Pays"] == "CUMUL" for r in read_rows(files, "Nuitee", "Pays"))
    assert any(r["DureeSejour"] == "13 nuits et plus" for r in read_rows(files, "SejourDuree"))
    assert any(r["CategorieVisiteur"] == "Excursionniste recurrent" for r in read_rows(files, "Diurne"))
    assert any(r["Provenance"] == "Local" and volume(r) for r in nuitee)


def test_summary_2024_equals_the_sums_of_the_source_rows(app, two_years):
    """One import of two years (the slow part), then both readings of 2024: without and with Local."""
    flagged = ("2024-03-12", "2024-08-29")
    got = summary(app, 2024)
    want = expected_summary(two_years, 2024, flagged_days=flagged)
    assert_same(got, want)
    # What these figures are, read plainly:
    assert got["inclut_local"] is False
    assert got["nuitees_touristes"]["n"] == got["nuitees_francais"]["n"] + got["nuitees_etrangers"]["n"]
    assert all(got[k]["n1"] is not None for k in PAIRS)
    assert len(got["top_departements"]) == 15 and got["top_departements"][0] == {
        "code": "63", "nom": "Puy-de-Dôme", "valeur": want["top_departements"][0]["valeur"]}
    assert len(got["top_pays"]) == 15 and got["top_pays"][0]["code"] == "BE" and got["top_pays"][0]["nom"] == "Belgique"
    assert "TOTAL" not in {p["code"] for p in got["top_pays"]} and "CUMUL" not in {p["nom"] for p in got["top_pays"]}
    assert got["pic_excursionnistes"]["date"][:7] in ("2024-07", "2024-08")  # the summer peak of the demo
    assert got["jours_anomalie"] == ["2024-03-12", "2024-08-29"]
    assert 1 < got["duree_moyenne_sejour"]["n"] < 13

    local = summary(app, 2024, "--include-local")
    assert_same(local, expected_summary(two_years, 2024, include_local=True, flagged_days=flagged))
    assert local["inclut_local"] is True
    assert local["nuitees_touristes"]["n"] > got["nuitees_touristes"]["n"]
    assert local["nuitees_francais"]["n"] > got["nuitees_francais"]["n"]
    assert local["nuitees_etrangers"] == got["nuitees_etrangers"]  # Local tourists are French
    assert local["excursionnistes"]["n"] > got["excursionnistes"]["n"]
    assert local["pic_excursionnistes"]["valeur"] > got["pic_excursionnistes"]["valeur"]


def test_summary_2023_has_no_previous_year(app, two_years):
    got = summary(app, 2023)
    want = expected_summary(two_years, 2023, flagged_days=("2023-08-29",))
    assert_same(got, want)
    assert all(got[k]["n1"] is None for k in PAIRS)
    assert all(got[k]["n"] is not None for k in PAIRS)
    # 2024's N-1 is 2023's N.
    later = summary(app, 2024)
    assert all(later[k]["n1"] == got[k]["n"] for k in PAIRS)


# -- a year not complete yet: June, 2025 holds B1–B2 ---------------------------------------------------------

def whole_year_and_two_bimestres() -> dict[str, bytes]:
    """2024 whole and 2025 B1–B2 of the Pays de Salers (the demo's generator, Orange's layout)."""
    from intranet.fvt_tab import demo

    code, label, _territory, size, winter = next(z for z in demo.ZONES if z[0] == ZONE)
    files: dict[str, bytes] = {}
    for year, bimestres in ((2024, range(1, 7)), (2025, (1, 2))):
        for b in bimestres:
            files.update(demo.delivery(code, label, size, winter, year, b, date(year, 8, 29) if b == 4 else None))
    return files


def test_an_incomplete_year_compares_with_the_same_days_of_the_previous_year(app, tmp_path, client, login,
                                                                            make_user):
    """In June 2025 the store holds 2024 whole and 2025 B1–B2: 2025 says it covers 1 January to 30
    April, and every N-1 figure is 2024 over the same weekdays (3 January–1 May 2024, Wednesday to
    Wednesday, 120 days each), summed here from the CSV rows, not 2024's whole year."""
    files = whole_year_and_two_bimestres()
    import_files(app, tmp_path, files)
    got = summary(app, 2025)
    want = expected_summary(files, 2025)
    assert_same(got, want)
    assert got["periode"] == {"debut": "2025-01-01", "fin": "2025-04-30", "annee_complete": False,
                              "n1": {"debut": "2024-01-03", "fin": "2024-05-01"}}
    assert date(2025, 1, 1).weekday() == date(2024, 1, 3).weekday() == 2  # both Wednesdays

    nuitee = read_rows(files, "Nuitee")
    same_days = total(nuitee, ("2024-01-03", "2024-05-01"), "Touriste", {"NonLocal", "Etranger"})
    assert got["nuitees_touristes"]["n1"] == same_days
    assert got["nuitees_touristes"]["n"] == total(nuitee, 2025, "Touriste", {"NonLocal", "Etranger"})
    # Not the whole of 2024 (three times as much: summer is in it), nor the calendar dates.
    whole = total(nuitee, 2024, "Touriste", {"NonLocal", "Etranger"})
    assert whole > 2 * same_days
    assert same_days != total(nuitee, ("2024-01-01", "2024-04-30"), "Touriste", {"NonLocal", "Etranger"})
    for key in PAIRS:
        assert got[key]["n1"] is not None and got[key]["n"] is not None, key
    diurne = read_rows(files, "Diurne")
    assert got["excursionnistes"]["n1"] == total(diurne, ("2024-01-03", "2024-05-01"), "Excursionniste",
                                                 {"NonLocal", "Etranger"})
    assert got["pic_excursionnistes"]["date"] < "2025-05-01"

    # The complete year keeps its year totals; it has no N-1 here, and says it is complete.
    complete = summary(app, 2024)
    assert_same(complete, expected_summary(files, 2024, flagged_days=("2024-08-29",)))
    assert complete["periode"] == {"debut": "2024-01-01", "fin": "2024-12-31", "annee_complete": True, "n1": None}
    assert complete["nuitees_touristes"]["n"] == whole

    # The zone page says so, in French, with the aligned days.
    login(make_user(role="animateur"))
    page = client.get(f"/fvt_tab/zones/{ZONE}?annee=2025").get_data(as_text=True)
    assert "Année 2025 incomplète : les chiffres couvrent la période du 1er janvier au 30 avril 2025." in page
    assert "mêmes jours de la semaine de 2024, du 3 janvier au 1er mai 2024, et non sur toute l'année" in page
    assert "N-1, mêmes jours : " + f"{same_days:,}".replace(",", "\u202f") in page
    assert f"{whole:,}".replace(",", "\u202f") not in page
    page = client.get(f"/fvt_tab/zones/{ZONE}?annee=2024").get_data(as_text=True)
    assert "Année complète, du 1er janvier au 31 décembre 2024." in page


# -- hand-written edge cases ------------------------------------------------------------------------------

def test_withheld_values_count_as_nothing(app, tmp_path):
    files = {
        "Nuitee_2024B3_SALERS0.csv": csv_bytes([
            line("2024-05-01", "NonLocal", "Touriste", vol=100),
            line("2024-05-01", "Etranger", "Touriste", vol=""),
            line("2024-05-02", "NonLocal", "Touriste", vol=""),
            line("2024-05-02", "Etranger", "Touriste", vol=""),
            line("2024-05-03", "NonLocal", "Touriste", vol=120),
        ]),
        "Diurne_2024B3_SALERS0.csv": csv_bytes([
            line("2024-05-01", "NonLocal", "Excursionniste", vol=40),
            line("2024-05-02", "NonLocal", "Excursionniste", vol=""),
            line("2024-05-02", "Etranger", "Excursionniste", vol=30),
            line("2024-05-02", "NonLocal", "Excursionniste recurrent", vol=500),
            line("2024-05-03", "NonLocal", "Excursionniste", vol=""),
        ]),
        "SejourDuree_2024B3_SALERS0.csv": csv_bytes([
            line("2024-05-01", "NonLocal", "Touriste", "1 nuit", 1, vol=10),
            line("2024-05-01", "NonLocal", "Touriste", "2 nuits", 2, vol=10),
            line("2024-05-01", "NonLocal", "Touriste", "3 nuits", 3, vol=""),
            line("2024-05-01", "NonLocal", "Touriste", "13 nuits et plus", 13, vol=""),
            line("2024-05-02", "NonLocal", "Touriste", "1 nuit", 1, vol=""),
            line("2024-05-02", "NonLocal", "Touriste", "2 nuits", 2, vol=""),
        ], ("DureeSejour", "DureeSejourNum")),
        "Nuitee_Departement_2024B3_SALERS0.csv": csv_bytes([
            line("2024-05-01", "NonLocal", "Touriste", "Puy-de-Dôme", "Auvergne", "Auvergne-Rhône-Alpes", vol=50),
            line("2024-05-02", "NonLocal", "Touriste", "Puy-de-Dôme", "Auvergne", "Auvergne-Rhône-Alpes", vol=""),
            line("2024-05-01", "NonLocal", "Touriste", "Paris", "Ile-de-France", "Île-de-France", vol=""),
            line("2024-05-02", "NonLocal", "Touriste", "Paris", "Ile-de-France", "Île-de-France", vol=""),
        ], ("NomDepartement", "NomRegion", "NomNouvelleRegion")),
    }
    import_files(app, tmp_path, files)
    got = summary(app, 2024)
    assert_same(got, expected_summary(files, 2024))
    assert got["nuitees_touristes"] == {"n": 220, "n1": None}
    assert got["nuitees_francais"] == {"n": 220, "n1": None}
    assert got["nuitees_etrangers"] == {"n": None, "n1": None}  # every value withheld: unknown, not 0
    assert got["excursionnistes"] == {"n": 70, "n1": None}
    assert got["pic_excursionnistes"] == {"date": "2024-05-01", "valeur": 40}
    assert got["duree_moyenne_sejour"] == {"n": 1.5, "n1": None}  # (1×10 + 2×10) / 20, blanks left out
    assert got["top_departements"] == [{"code": "63", "nom": "Puy-de-Dôme", "valeur": 50}]  # Paris: all withheld
    assert got["top_pays"] == []


def test_open_stay_class_counts_as_13_nights(app, tmp_path):
    """An older SejourDuree file with the label only (no DureeSejourNum column)."""
    files = {"SejourDuree_2024B2_SALERS0.csv": csv_bytes([
        line("2024-03-02", "NonLocal", "Touriste", "1 nuit", vol=10),
        line("2024-03-02", "NonLocal", "Touriste", "13 nuits et plus", vol=10),
        line("2024-03-02", "Etranger", "Touriste", "3 nuits", vol=5),
    ], ("DureeSejour",))}
    import_files(app, tmp_path, files)
    got = summary(app, 2024)
    assert_same(got, expected_summary(files, 2024))
    assert got["duree_moyenne_sejour"] == {"n": round((10 + 130 + 15) / 25, 2), "n1": None}


def test_a_stay_file_entirely_withheld_gives_no_average(app, tmp_path):
    files = {
        "Nuitee_2024B3_SALERS0.csv": csv_bytes([line("2024-05-01", "NonLocal", "Touriste", vol=100)]),
        "SejourDuree_2024B3_SALERS0.csv": csv_bytes([
            line("2024-05-01", "NonLocal", "Touriste", "1 nuit", 1, vol=""),
            line("2024-05-01", "NonLocal", "Touriste", "13 nuits et plus", 13, vol=""),
        ], ("DureeSejour", "DureeSejourNum")),
    }
    import_files(app, tmp_path, files)
    got = summary(app, 2024)
    assert_same(got, expected_summary(files, 2024))
    assert got["duree_moyenne_sejour"] == {"n": None, "n1": None}  # not 0
    assert got["excursionnistes"] == {"n": None, "n1": None}
    assert got["pic_excursionnistes"] is None


def _week_of_july():
    days = [f"2024-07-0{d}" for d in range(1, 8)]  # Monday 1 to Sunday 7 July 2024
    daily = {
        "Nuitee_2024B4_SALERS0.csv": csv_bytes(
            [line(d, p, "Touriste", vol=100 + 10 * i + k) for i, d in enumerate(days)
             for k, p in enumerate(("NonLocal", "Etranger", "Local"))]),
        "Diurne_2024B4_SALERS0.csv": csv_bytes(
            [line(d, p, "Excursionniste", vol=200 + 7 * ((i * 3) % 7) + k) for i, d in enumerate(days)
             for k, p in enumerate(("NonLocal", "Etranger", "Local"))]),
        "SejourDuree_2024B4_SALERS0.csv": csv_bytes(
            [line(d, "NonLocal", "Touriste", label, n, vol=vol) for d in days
             for label, n, vol in (("1 nuit", 1, 30), ("4 nuits", 4, 12), ("13 nuits et plus", 13, 3))],
            ("DureeSejour", "DureeSejourNum")),
        "Nuitee_Departement_2024B4_SALERS0.csv": csv_bytes(
            [line(d, "NonLocal", "Touriste", name, "", "Auvergne-Rhône-Alpes", vol=vol) for d in days
             for name, vol in (("Puy-de-Dôme", 40), ("Rhône", 25))],
            ("NomDepartement", "NomRegion", "NomNouvelleRegion")),
        "Nuitee_Pays_2024B4_SALERS0.csv": csv_bytes(
            [line(d, "Etranger", "Touriste", name, vol=vol) for d in days
             for name, vol in (("BELGIQUE", 30), ("PAYS-BAS", 20), ("CUMUL", 50))], ("Pays",)),
    }
    monday = "2024-07-01"
    weekly = {
        "Nuitee_Semaine_2024B4_SALERS0.csv": csv_bytes(
            [line(monday, p, "Touriste", vol=90000) for p in ("NonLocal", "Etranger", "Local")], first="Semaine"),
        "Diurne_Semaine_2024B4_SALERS0.csv": csv_bytes(
            [line(monday, p, "Excursionniste", vol=90000) for p in ("NonLocal", "Etranger", "Local")],
            first="Semaine"),
        "SejourDuree_Semaine_2024B4_SALERS0.csv": csv_bytes(
            [line(monday, "NonLocal", "Touriste", "13 nuits et plus", 13, vol=90000)],
            ("DureeSejour", "DureeSejourNum"), first="Semaine"),
        "Nuitee_Departement_Semaine_2024B4_SALERS0.csv": csv_bytes(
            [line(monday, "NonLocal", "Touriste", "Paris", "", "Île-de-France", vol=90000)],
            ("NomDepartement", "NomRegion", "NomNouvelleRegion"), first="Semaine"),
        "Nuitee_Pays_Semaine_2024B4_SALERS0.csv": csv_bytes(
            [line(monday, "Etranger", "Touriste", "ALLEMAGNE", vol=90000)], ("Pays",), first="Semaine"),
    }
    return daily, weekly


def test_weekly_files_never_add_to_the_daily_sums(app, tmp_path):
    daily, weekly = _week_of_july()
    import_files(app, tmp_path / "daily", daily)
    before = summary(app, 2024)
    output = import_files(app, tmp_path / "weekly", weekly)
    for name in weekly:  # the weekly rows are stored (apart), not refused
        assert re.search(rf"{name} \({ZONE}\) : [1-9]\d*/", output), output
    after = summary(app, 2024)
    assert after == before
    assert_same(after, expected_summary({**daily, **weekly}, 2024))
    assert after["pic_excursionnistes"]["valeur"] < 90000
    assert [d["code"] for d in after["top_departements"]] == ["63", "69"]
    assert [p["code"] for p in after["top_pays"]] == ["BE", "NL"]
    assert after["duree_moyenne_sejour"]["n"] == round((30 + 4 * 12 + 13 * 3) / 45, 2)


def test_local_provenance_is_left_out_unless_asked(app, tmp_path):
    days = ["2024-05-13", "2024-05-14", "2024-05-15"]
    files = {
        "Nuitee_2024B3_SALERS0.csv": csv_bytes(
            [line(d, p, "Touriste", vol=v) for d in days for p, v in (("NonLocal", 300), ("Etranger", 80),
                                                                      ("Local", 150))]),
        "Diurne_2024B3_SALERS0.csv": csv_bytes([
            line("2024-05-13", "NonLocal", "Excursionniste", vol=500),
            line("2024-05-13", "Local", "Excursionniste", vol=10),
            line("2024-05-14", "NonLocal", "Excursionniste", vol=450),
            line("2024-05-14", "Local", "Excursionniste", vol=400),  # the peak only with Local
            line("2024-05-15", "Etranger", "Excursionniste", vol=60),
            line("2024-05-15", "Local", "Excursionniste recurrent", vol=5000),
        ]),
        "SejourDuree_2024B3_SALERS0.csv": csv_bytes([
            line("2024-05-13", "NonLocal", "Touriste", "2 nuits", 2, vol=50),
            line("2024-05-13", "Etranger", "Touriste", "4 nuits", 4, vol=10),
            line("2024-05-13", "Local", "Touriste", "13 nuits et plus", 13, vol=60),
        ], ("DureeSejour", "DureeSejourNum")),
        "Nuitee_Departement_2024B3_SALERS0.csv": csv_bytes(
            [line(d, "NonLocal", "Touriste", name, "", "", vol=v) for d in days
             for name, v in (("Puy-de-Dôme", 90), ("Corrèze", 60))]
            + [line(d, "Local", "Touriste", "Cantal", "", "", vol=150) for d in days],
            ("NomDepartement", "NomRegion", "NomNouvelleRegion")),
    }
    import_files(app, tmp_path, files)
    default = summary(app, 2024)
    assert_same(default, expected_summary(files, 2024))
    assert default["inclut_local"] is False
    assert default["nuitees_touristes"]["n"] == 3 * 380
    assert default["nuitees_francais"]["n"] == 3 * 300
    assert default["excursionnistes"]["n"] == 1010
    assert default["pic_excursionnistes"] == {"date": "2024-05-13", "valeur": 500}
    assert default["duree_moyenne_sejour"]["n"] == round((2 * 50 + 4 * 10) / 60, 2)
    assert [d["code"] for d in default["top_departements"]] == ["63", "19"]

    local = summary(app, 2024, "--include-local")
    assert_same(local, expected_summary(files, 2024, include_local=True))
    assert local["nuitees_touristes"]["n"] == 3 * 530
    assert local["nuitees_francais"]["n"] == 3 * 450
    assert local["nuitees_etrangers"]["n"] == 3 * 80
    assert local["excursionnistes"]["n"] == 1420
    assert local["pic_excursionnistes"] == {"date": "2024-05-14", "valeur": 850}
    assert local["duree_moyenne_sejour"]["n"] == round((2 * 50 + 4 * 10 + 13 * 60) / 120, 2)
    assert local["top_departements"][0] == {"code": "15", "nom": "Cantal", "valeur": 450}


def test_unknown_zone_fails_with_a_french_message(app, tmp_path):
    result = run(app, "fvt", "summary", "--zone", "INCONNUE0", "--year", "2024", "--json")
    assert result.exit_code != 0
    assert "zone inconnue" in result.output.lower() and "INCONNUE0" in result.output
    assert "{" not in result.stdout


def test_output_is_one_json_object_with_the_keys_of_the_issue(app, tmp_path):
    files = {"Nuitee_2024B3_SALERS0.csv": csv_bytes([line("2024-05-01", "Etranger", "Touriste", vol=7)])}
    import_files(app, tmp_path, files)
    result = run(app, "fvt", "summary", "--zone", ZONE, "--year", "2024", "--json")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().count("\n") == 0  # one line
    got = json.loads(result.stdout)
    assert isinstance(got, dict) and set(got) == KEYS
    assert got["source"] == "Données Flux Vision Tourisme Orange"
    assert got["zone"] == ZONE and got["annee"] == 2024 and got["inclut_local"] is False
    assert got["nuitees_etrangers"] == {"n": 7, "n1": None}
    assert isinstance(got["top_departements"], list) and isinstance(got["top_pays"], list)
    assert isinstance(got["jours_anomalie"], list)
    assert "Données Flux Vision Tourisme Orange" in result.stdout  # readable, not \u-escaped
