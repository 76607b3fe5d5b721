"""The figures an agency reads first, for one zone and year, with N-1 (``flask fvt summary``).

Read from the pre-aggregated year totals (weekly files never add to them; total rows are out of
them), except the excursionists' peak day, read from the daily rows. Withheld values are NULL and
count as nothing. ``Local`` provenance is out unless ``include_local``.

A year not complete yet (in June a year holds B1–B2 only) says which period it covers
(``periode``: its first and last day of daily rows) and its N-1 figures are computed over the same
days of N-1, not over the whole previous year. « The same days » are the days of N-1 that fall
on the same weekdays: the period moved back 52 weeks (364 days). Flux Vision rows are per day
and tourism follows the week (weekends, Friday arrivals), and FVT.md asks for aligned weekdays,
not calendar dates; a 52-week shift keeps the number of days equal and needs no rule for 29
February (1 January–30 April 2025, Wednesday to Wednesday, is compared with 3 January–1 May 2024,
Wednesday to Wednesday). Only daily rows count (weekly ``Semaine`` files never do), and the
period is the days the data cover, not the bimestre labels, so a delivery ending mid-bimestre is
compared just as far. When the moved period would run past 31 December of N-1 (a zone first
delivered in March, so a period ending 31 December), it stops there. A complete year (1 January
to 31 December) keeps the year totals, for N and for N-1, as before.
"""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from intranet.extensions import db
from intranet.fvt_tab.models import DayQuality, Fact, YearTotal, Zone
from intranet.fvt_tab.reference import label_of

SOURCE = "Données Flux Vision Tourisme Orange"
OPEN_CLASS_NIGHTS = 13
ALIGNMENT = timedelta(weeks=52)  # N-1's same weekdays
PERIOD_FAMILIES = ("Nuitee", "Diurne", "SejourDuree")  # the families the figures read


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def period(zone: Zone, year: int) -> tuple[date, date] | None:
    """The first and last day of the year with daily rows of the summary's families, or None.
    One min and one max per family: each an index lookup on the facts' natural key."""
    first = last = None
    for family in PERIOD_FAMILIES:
        scope = (Fact.zone_id == zone.id, Fact.family == family, Fact.breakdown == "", Fact.is_weekly.is_(False),
                 Fact.day >= date(year, 1, 1), Fact.day <= date(year, 12, 31))
        lo = db.session.scalar(sa.select(sa.func.min(Fact.day)).where(*scope))
        if lo is None:
            continue
        hi = _as_date(db.session.scalar(sa.select(sa.func.max(Fact.day)).where(*scope)))
        lo = _as_date(lo)
        first = lo if first is None else min(first, lo)
        last = hi if last is None else max(last, hi)
    return (first, last) if first is not None else None


def is_complete(year: int, span: tuple[date, date] | None) -> bool:
    return span is not None and span == (date(year, 1, 1), date(year, 12, 31))


def aligned_previous(year: int, span: tuple[date, date]) -> tuple[date, date]:
    """The same weekdays in N-1: the period moved back 52 weeks, kept inside N-1."""
    lo, hi = span[0] - ALIGNMENT, span[1] - ALIGNMENT
    return max(lo, date(year - 1, 1, 1)), min(hi, date(year - 1, 12, 31))


def _sum_days(zone: Zone, days: tuple[date, date], family: str, category: str, provenances) -> int | None:
    """The sum of the daily rows over ``days`` (what ``_sum`` reads from the year totals, for a period)."""
    value = db.session.scalar(sa.select(sa.func.sum(Fact.value)).where(
        Fact.zone_id == zone.id, Fact.family == family, Fact.breakdown == "", Fact.is_weekly.is_(False),
        Fact.day >= days[0], Fact.day <= days[1], Fact.category == category, Fact.provenance.in_(provenances),
        Fact.is_total.is_(False)))
    return int(value) if value is not None else None


def _average_stay(rows) -> float | None:
    nights = volume = 0
    for profile, total in rows:
        if not profile or total is None or not str(profile).isdigit():
            continue
        nights += min(int(profile), OPEN_CLASS_NIGHTS) * int(total)
        volume += int(total)
    return round(nights / volume, 2) if volume else None


def _stay_days(zone: Zone, days: tuple[date, date], provenances) -> float | None:
    return _average_stay(db.session.execute(sa.select(Fact.profile, sa.func.sum(Fact.value)).where(
        Fact.zone_id == zone.id, Fact.family == "SejourDuree", Fact.breakdown == "", Fact.is_weekly.is_(False),
        Fact.day >= days[0], Fact.day <= days[1], Fact.category == "Touriste", Fact.provenance.in_(provenances),
        Fact.value.is_not(None)).group_by(Fact.profile)).all())


def _provenances(include_local: bool) -> tuple[str, ...]:
    return ("NonLocal", "Etranger", "Local") if include_local else ("NonLocal", "Etranger")


def _sum(zone: Zone, year: int, family: str, breakdown: str, category: str, provenances) -> int | None:
    value = db.session.scalar(sa.select(sa.func.sum(YearTotal.value)).where(
        YearTotal.zone_id == zone.id, YearTotal.year == year, YearTotal.family == family,
        YearTotal.breakdown == breakdown, YearTotal.category == category,
        YearTotal.provenance.in_(provenances)))
    return int(value) if value is not None else None


def _has_data(zone: Zone, year: int) -> bool:
    return db.session.scalar(sa.select(YearTotal.id).where(YearTotal.zone_id == zone.id,
                                                           YearTotal.year == year).limit(1)) is not None


def _stay(zone: Zone, year: int, provenances) -> float | None:
    rows = db.session.execute(sa.select(YearTotal.profile, sa.func.sum(YearTotal.value)).where(
        YearTotal.zone_id == zone.id, YearTotal.year == year, YearTotal.family == "SejourDuree",
        YearTotal.category == "Touriste", YearTotal.provenance.in_(provenances), YearTotal.value.is_not(None))
        .group_by(YearTotal.profile)).all()
    return _average_stay(rows)


def _top(zone: Zone, year: int, breakdown: str, provenances, dimension: str, limit: int = 15) -> list[dict]:
    rows = db.session.execute(
        sa.select(YearTotal.origin, sa.func.sum(YearTotal.value).label("v")).where(
            YearTotal.zone_id == zone.id, YearTotal.year == year, YearTotal.family == "Nuitee",
            YearTotal.breakdown == breakdown, YearTotal.category == "Touriste",
            YearTotal.provenance.in_(provenances), YearTotal.value.is_not(None), YearTotal.origin != "TOTAL")
        .group_by(YearTotal.origin).order_by(sa.desc("v"), YearTotal.origin).limit(limit)).all()
    return [{"code": code, "nom": label_of(dimension, code), "valeur": int(v)} for code, v in rows]


def _peak(zone: Zone, year: int, provenances) -> dict | None:
    row = db.session.execute(
        sa.select(Fact.day, sa.func.sum(Fact.value).label("v")).where(
            Fact.zone_id == zone.id, Fact.family == "Diurne", Fact.breakdown == "", Fact.is_weekly.is_(False),
            Fact.category == "Excursionniste", Fact.provenance.in_(provenances),
            Fact.day >= date(year, 1, 1), Fact.day <= date(year, 12, 31), Fact.value.is_not(None))
        .group_by(Fact.day).order_by(sa.desc("v"), Fact.day).limit(1)).first()
    if row is None:
        return None
    day = row[0] if isinstance(row[0], date) else date.fromisoformat(str(row[0]))
    return {"date": day.isoformat(), "valeur": int(row[1])}


def summary(zone: Zone, year: int, include_local: bool = False) -> dict:
    prov = _provenances(include_local)
    french = ("NonLocal", "Local") if include_local else ("NonLocal",)
    span = period(zone, year)
    complete = is_complete(year, span)
    previous = aligned_previous(year, span) if span is not None and not complete else None
    has_previous = _has_data(zone, year - 1)

    def pair(whole_year, over_days):
        """N from the year totals (a year holds only the days it has); N-1 from N-1's year totals
        for a complete year, else over the same days of N-1."""
        if not has_previous:
            n1 = None
        elif previous is None:
            n1 = whole_year(year - 1)
        else:
            n1 = over_days(previous)
        return {"n": whole_year(year), "n1": n1}

    def nights(provs):
        return pair(lambda y: _sum(zone, y, "Nuitee", "", "Touriste", provs),
                    lambda days: _sum_days(zone, days, "Nuitee", "Touriste", provs))

    return {
        "zone": zone.code,
        "annee": year,
        "inclut_local": include_local,
        "periode": None if span is None else {
            "debut": span[0].isoformat(), "fin": span[1].isoformat(), "annee_complete": complete,
            "n1": None if previous is None or not has_previous else {
                "debut": previous[0].isoformat(), "fin": previous[1].isoformat()}},
        "nuitees_touristes": nights(prov),
        "nuitees_francais": nights(french),
        "nuitees_etrangers": nights(("Etranger",)),
        "excursionnistes": pair(lambda y: _sum(zone, y, "Diurne", "", "Excursionniste", prov),
                                lambda days: _sum_days(zone, days, "Diurne", "Excursionniste", prov)),
        "pic_excursionnistes": _peak(zone, year, prov),
        "duree_moyenne_sejour": pair(lambda y: _stay(zone, y, prov), lambda days: _stay_days(zone, days, prov)),
        "top_departements": _top(zone, year, "Departement", french, "department"),
        "top_pays": _top(zone, year, "Pays", ("Etranger",), "country"),
        "jours_anomalie": [d.isoformat() if isinstance(d, date) else str(d) for d in db.session.scalars(
            sa.select(DayQuality.day).where(DayQuality.zone_id == zone.id, DayQuality.day >= date(year, 1, 1),
                                            DayQuality.day <= date(year, 12, 31)).order_by(DayQuality.day))],
        "source": SOURCE,
    }
