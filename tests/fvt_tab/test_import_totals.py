"""The year totals an import writes: added up from the zone-year's daily series the import has just
brought up to date (``importer.import_year_totals``, after ``series.import_series``). After every
kind of import they must equal a full rebuild from the facts (``importer.refresh_year_totals``),
which reads every fact of the year again."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from intranet.extensions import db
from intranet.fvt_tab import series
from intranet.fvt_tab.importer import refresh_year_totals
from intranet.fvt_tab.models import Fact, Series, YearTotal
from tests.fvt_tab.conftest import csv_bytes, daily_rows, import_file, zip_bytes

MAY, JULY = date(2024, 5, 1), date(2024, 7, 1)
DEPARTMENTS = ["Cantal", "Puy-de-Dôme", "CUMUL"]


def totals() -> list[tuple]:
    db.session.expire_all()
    return sorted((t.zone_id, t.year, t.family, t.breakdown, t.category, t.provenance, t.origin, t.profile,
                   t.value, t.days) for t in db.session.scalars(sa.select(YearTotal)))


def series_rows() -> list[tuple]:
    db.session.expire_all()
    return sorted((s.zone_id, s.year, s.family, s.breakdown, s.category, s.provenance, s.origin, s.profile,
                   s.other_place, bytes(s.days)) for s in db.session.scalars(sa.select(Series)))


def assert_totals_as_rebuilt() -> list[tuple]:
    """The totals and the daily series the imports wrote, compared with every zone-year rebuilt
    from the facts."""
    written, written_series = totals(), series_rows()
    assert written, "no year totals written"
    assert written_series, "no series written"
    for zone_id, year in db.session.execute(sa.select(YearTotal.zone_id, YearTotal.year).distinct()).all():
        refresh_year_totals(zone_id, year)
        series.rebuild(db.session.connection(), zone_id, year)
    rebuilt, rebuilt_series = totals(), series_rows()
    db.session.rollback()
    assert written == rebuilt
    assert written_series == rebuilt_series
    return written


def vol(row: dict) -> int | str:
    """Varied volumes, some withheld (blank), one whole group withheld (Touriste × Etranger × Puy-de-Dôme)."""
    if row.get("NomDepartement") == "Puy-de-Dôme" and row["Provenance"] == "Etranger":
        return ""
    n = row["day"].toordinal() % 97 + len(row["Provenance"]) * 3
    return "" if n % 11 == 0 else n


def delivery(start: date, days: int, scale: int = 1, **files_extra) -> bytes:
    """A ZIP for SALERS0 of the bimestre starting at ``start``: Nuitee, Nuitee_Departement (with a
    CUMUL row), Diurne."""
    bimestre = (start.month + 1) // 2
    provs = ("NonLocal", "Etranger")

    def volume(row):
        v = vol(row)
        return v * scale if isinstance(v, int) else v
    files = {
        f"Nuitee_2024B{bimestre}_SALERS0.csv": csv_bytes(daily_rows(start, days, provenances=provs, volume=volume)),
        f"Nuitee_Departement_2024B{bimestre}_SALERS0.csv": csv_bytes(daily_rows(
            start, days, provenances=provs, extra={"NomDepartement": DEPARTMENTS}, volume=volume)),
        f"Diurne_2024B{bimestre}_SALERS0.csv": csv_bytes(daily_rows(
            start, days, provenances=provs, categories=("Excursionniste",), volume=volume)),
        **files_extra}
    return zip_bytes(files)


def test_totals_of_successive_imports_equal_a_full_rebuild(app):
    import_file("B4.zip", delivery(JULY, 62))
    first = assert_totals_as_rebuilt()
    # A whole group withheld: a total row with no value, never 0.
    assert any(t[6] == "63" and t[5] == "Etranger" and t[8] is None and t[9] == 0 for t in first)

    # An earlier bimestre arrives: its days added up in memory, July–August read from the facts.
    import_file("B3.zip", delivery(MAY, 61))
    assert_totals_as_rebuilt()

    # A corrected B4 with other values and fewer days: the dropped days leave the totals.
    import_file("B4 corrigé.zip", delivery(JULY, 40, scale=2))
    assert_totals_as_rebuilt()

    # A weekly file adds nothing to the totals.
    weekly = csv_bytes(daily_rows(JULY, provenances=("NonLocal",), volume=50_000))
    import_file("Nuitee_Semaine_2024B4_SALERS0.csv", weekly)
    assert_totals_as_rebuilt()


def test_a_later_file_of_the_same_family_in_one_zip_replaces_the_days_they_share(app):
    early = csv_bytes(daily_rows(JULY, 20, provenances=("NonLocal",), volume=100))
    later = csv_bytes(daily_rows(JULY + timedelta(days=10), 20, provenances=("NonLocal",), volume=7))
    import_file("deux.zip", zip_bytes({"Nuitee_2024B4_SALERS0.csv": early, "Nuitee_2024B4_SALERS0.txt": later}))

    rows = assert_totals_as_rebuilt()
    # 10 days of the first file, 20 of the second.
    assert [(t[8], t[9]) for t in rows if t[2] == "Nuitee"] == [(10 * 100 + 20 * 7, 30)]


def test_a_file_across_two_years_updates_both_years(app):
    import_file("B6.zip", delivery(date(2024, 11, 1), 61))
    across = csv_bytes(daily_rows(date(2024, 12, 28), 8, provenances=("NonLocal", "Etranger"), volume=vol))
    import_file("Nuitee_2024B6_SALERS0.csv", across)

    rows = assert_totals_as_rebuilt()
    assert {t[1] for t in rows if t[2] == "Nuitee" and t[3] == ""} == {2024, 2025}


def test_a_provisional_file_skipped_after_final_data_leaves_the_totals_as_they_were(app):
    import_file("B4.zip", delivery(JULY, 62))
    before = assert_totals_as_rebuilt()
    import_file("B4 provisoire.zip", delivery(JULY, 62, scale=3), provisional=True)

    assert assert_totals_as_rebuilt() == before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Fact).where(Fact.is_provisional)) == 0


def test_totals_add_up_every_other_place_and_leave_out_what_the_series_hold_not(app):
    """A mobility file's key has one series per other place (its department): the year total of
    the key adds them all, the days counted over the places; a place withheld every day still has
    its line. A weekly file of the same family counts for nothing."""
    places = {"ZoneNuiteeSoir": ["Aurillac"], "EPCIZoneNuiteeSoir": [""], "DeptZoneNuiteeSoir": ["63", "19", "15"]}

    def volume(row):
        return "" if row["DeptZoneNuiteeSoir"] == "15" else (14 if row["DeptZoneNuiteeSoir"] == "63" else 3)
    import_file("lieux.zip", zip_bytes({
        "LieuNuitee_Soir_2024B4_SALERS0.csv": csv_bytes(daily_rows(JULY, 31, extra=places, volume=volume)),
        "LieuNuitee_Soir_Semaine_2024B4_SALERS0.csv": csv_bytes(daily_rows(JULY, 5, extra=places, volume=1000))}))

    rows = assert_totals_as_rebuilt()
    # 31 days × (14 + 3), and 31 × 3 lines with a value or withheld: 62 values.
    assert [(t[2], t[8], t[9]) for t in rows] == [("LieuNuitee_Soir", 31 * 17, 62)]
