"""The figures an agency reads first, for one zone and year, with N-1 (``flask fvt summary``).

Read from the pre-aggregated year totals (weekly files never add to them; total rows are out of
them), except the excursionists' peak day, read from the daily rows. Withheld values are NULL and
count as nothing. ``Local`` provenance is out unless ``include_local``.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from intranet.extensions import db
from intranet.fvt_tab.models import DayQuality, Fact, YearTotal, Zone
from intranet.fvt_tab.reference import label_of

SOURCE = "Données Flux Vision Tourisme Orange"
OPEN_CLASS_NIGHTS = 13


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
    nights = volume = 0
    for profile, total in rows:
        if not profile or total is None or not str(profile).isdigit():
            continue
        n = min(int(profile), OPEN_CLASS_NIGHTS)
        nights += n * int(total)
        volume += int(total)
    return round(nights / volume, 2) if volume else None


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

    def pair(func):
        n = func(year)
        n1 = func(year - 1) if _has_data(zone, year - 1) else None
        return {"n": n, "n1": n1}

    return {
        "zone": zone.code,
        "annee": year,
        "inclut_local": include_local,
        "nuitees_touristes": pair(lambda y: _sum(zone, y, "Nuitee", "", "Touriste", prov)),
        "nuitees_francais": pair(lambda y: _sum(zone, y, "Nuitee", "", "Touriste",
                                                ("NonLocal", "Local") if include_local else ("NonLocal",))),
        "nuitees_etrangers": pair(lambda y: _sum(zone, y, "Nuitee", "", "Touriste", ("Etranger",))),
        "excursionnistes": pair(lambda y: _sum(zone, y, "Diurne", "", "Excursionniste", prov)),
        "pic_excursionnistes": _peak(zone, year, prov),
        "duree_moyenne_sejour": pair(lambda y: _stay(zone, y, prov)),
        "top_departements": _top(zone, year, "Departement",
                                 ("NonLocal", "Local") if include_local else ("NonLocal",), "department"),
        "top_pays": _top(zone, year, "Pays", ("Etranger",), "country"),
        "jours_anomalie": [d.isoformat() if isinstance(d, date) else str(d) for d in db.session.scalars(
            sa.select(DayQuality.day).where(DayQuality.zone_id == zone.id, DayQuality.day >= date(year, 1, 1),
                                            DayQuality.day <= date(year, 12, 31)).order_by(DayQuality.day))],
        "source": SOURCE,
    }
