"""The French calendar the FVT tab reads periods in: school holidays of the three zones, bank
holidays and their long weekends, seasons and months — and how a period of N finds its match in
N-1.

School holidays come from the official calendar of the Ministry of Education as packaged by
``vacances-scolaires-france`` (data to August 2028), bank holidays from ``jours-feries-france``:
both maintained, no network. The network's own zone (``fvt_tab.school_zone``, « A » for
Clermont-Ferrand's academy, the demo's Cantal) names the holiday periods of the filter; the daily
curve shades the three zones.

N against N-1 is aligned, never on calendar dates (FVT.md): a named holiday or long weekend is
compared with the same one in N-1 (Easter 2025 with Easter 2024, whatever their dates); any other
period with the same weekdays 52 weeks (364 days) earlier, as ``summary`` does for a year.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from intranet.core.i18n import lazy_gettext as _l

ALIGNMENT = timedelta(weeks=52)
SCHOOL_ZONES = ("A", "B", "C")
SCHOOL_ZONE_SETTING = "fvt_tab.school_zone"
MAX_CUSTOM_DAYS = 366

HOLIDAYS = {  # the package's names: key, label
    "Vacances d'hiver": ("hiver", _l("Vacances d'hiver")),
    "Vacances de printemps": ("printemps", _l("Vacances de printemps")),
    "Pont de l'Ascension": ("pont-ascension", _l("Pont de l'Ascension (scolaire)")),
    "Vacances d'été": ("ete", _l("Vacances d'été")),
    "Vacances de la Toussaint": ("toussaint", _l("Vacances de la Toussaint")),
    "Vacances de Noël": ("noel", _l("Vacances de Noël")),
}
BANK_HOLIDAYS = {  # jours-feries-france's names: key, label of the long weekend
    "1er janvier": ("jour-de-l-an", _l("Jour de l'an")),
    "Lundi de Pâques": ("paques", _l("Week-end de Pâques")),
    "1er mai": ("1er-mai", _l("Week-end du 1er mai")),
    "8 mai": ("8-mai", _l("Week-end du 8 mai")),
    "Ascension": ("ascension", _l("Week-end de l'Ascension")),
    "Lundi de Pentecôte": ("pentecote", _l("Week-end de Pentecôte")),
    "14 juillet": ("14-juillet", _l("Week-end du 14 juillet")),
    "Assomption": ("15-aout", _l("Week-end du 15 août")),
    "Toussaint": ("toussaint", _l("Week-end de la Toussaint")),
    "11 novembre": ("11-novembre", _l("Week-end du 11 novembre")),
    "Jour de Noël": ("noel", _l("Week-end de Noël")),
}
SEASONS = {  # tourism seasons inside one year
    "hiver": (_l("Hiver (janvier à mars)"), (1, 1), (3, 31)),
    "printemps": (_l("Printemps (avril à juin)"), (4, 1), (6, 30)),
    "ete": (_l("Été (juillet et août)"), (7, 1), (8, 31)),
    "automne": (_l("Arrière-saison (septembre à décembre)"), (9, 1), (12, 31)),
}
MONTHS = (_l("janvier"), _l("février"), _l("mars"), _l("avril"), _l("mai"), _l("juin"), _l("juillet"), _l("août"),
          _l("septembre"), _l("octobre"), _l("novembre"), _l("décembre"))


@dataclass(frozen=True)
class Period:
    key: str  # annee, saison-ete, mois-07, vacances-printemps, pont-paques, dates
    label: str
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@lru_cache(maxsize=1)
def _school_data():
    from vacances_scolaires_france import SchoolHolidayDates

    return SchoolHolidayDates()


@lru_cache(maxsize=64)
def school_holidays(year: int, zone: str) -> tuple[tuple[str, str, date, date], ...]:
    """The runs of school holidays of a zone that touch the year: (name, key, first, last day),
    unclipped (Christmas runs over New Year)."""
    data = _school_data()
    field = f"vacances_zone_{zone.lower()}"
    days = sorted(d for d, row in data.data.items()
                  if row[field] and date(year - 1, 12, 1) <= d <= date(year + 1, 1, 31))
    runs: list[list] = []
    for d in days:
        name = data.data[d]["nom_vacances"]
        if runs and runs[-1][0] == name and runs[-1][3] == d - timedelta(days=1):
            runs[-1][3] = d
        else:
            runs.append([name, HOLIDAYS.get(name, (name, name))[0], d, d])
    return tuple((r[0], r[1], r[2], r[3]) for r in runs if r[2].year <= year <= r[3].year)


@lru_cache(maxsize=64)
def bank_holidays(year: int) -> tuple[tuple[str, date], ...]:
    from jours_feries_france import JoursFeries

    return tuple(sorted(((name, day) for name, day in JoursFeries.for_year(year).items()), key=lambda x: x[1]))


def long_weekend(day: date) -> tuple[date, date]:
    """The days off around a bank holiday: Saturday to a Monday or a Tuesday, a Thursday or a Friday
    to Sunday; a holiday on a weekend is that weekend; on a Wednesday, the day alone."""
    wd = day.weekday()
    if wd in (0, 1):
        return day - timedelta(days=wd + 2), day
    if wd in (3, 4):
        return day, day + timedelta(days=6 - wd)
    if wd == 5:
        return day, day + timedelta(days=1)
    if wd == 6:
        return day - timedelta(days=1), day
    return day, day


def named_periods(year: int, school_zone: str) -> dict[str, list[Period]]:
    """The filter's periods of a year, by group, each clipped to the year."""
    lo, hi = date(year, 1, 1), date(year, 12, 31)
    out: dict[str, list[Period]] = {"annee": [Period("annee", str(_l("Année %(year)d", year=year)), lo, hi)]}
    out["saisons"] = [Period(f"saison-{k}", str(label), date(year, *a), date(year, *b))
                      for k, (label, a, b) in SEASONS.items()]
    out["mois"] = []
    for m in range(1, 13):
        last = (date(year + (m == 12), m % 12 + 1, 1) - timedelta(days=1))
        out["mois"].append(Period(f"mois-{m:02d}", f"{str(MONTHS[m - 1]).capitalize()} {year}", date(year, m, 1), last))
    out["vacances"] = []
    for name, key, first, last in school_holidays(year, school_zone):
        # A run that began in December of N-1 is N-1's Christmas: it belongs to the year before.
        if first.year < year:
            continue
        label = HOLIDAYS.get(name, (key, name))[1]
        out["vacances"].append(Period(f"vacances-{key}", f"{label} {year} (zone {school_zone})",
                                      max(first, lo), min(last, hi)))
    out["ponts"] = []
    for name, day in bank_holidays(year):
        key, label = BANK_HOLIDAYS.get(name, (None, None))
        if key is None:
            continue
        first, last = long_weekend(day)
        if (last - first).days < 2:  # not a long weekend
            continue
        out["ponts"].append(Period(f"pont-{key}", f"{label} {year}", max(first, lo), min(last, hi)))
    return out


def find_period(year: int, key: str, school_zone: str) -> Period | None:
    for group in named_periods(year, school_zone).values():
        for p in group:
            if p.key == key:
                return p
    return None


def custom_period(start: date, end: date) -> Period:
    from intranet.fvt_tab.views import fvt_period

    return Period("dates", fvt_period(start.isoformat(), end.isoformat()), start, end)


def previous_period(period: Period, year: int, school_zone: str) -> tuple[Period, str]:
    """The period of N-1 that N is compared with, and how it was found: the same holiday or long
    weekend (« vacances »), else the same weekdays 52 weeks earlier (« semaines »)."""
    if period.key.startswith(("vacances-", "pont-")):
        match = find_period(year - 1, period.key, school_zone)
        if match is not None:
            return match, "vacances"
    return Period(period.key, period.label, period.start - ALIGNMENT, period.end - ALIGNMENT), "semaines"


def shading(start: date, end: date) -> dict:
    """What the daily curve shades between two days: each zone's school holidays and the bank
    holidays."""
    zones = {}
    for zone in SCHOOL_ZONES:
        runs = []
        for year in range(start.year, end.year + 1):
            for name, _key, first, last in school_holidays(year, zone):
                lo, hi = max(first, start), min(last, end)
                if lo <= hi and [lo, hi] not in [r[:2] for r in runs]:
                    runs.append([lo, hi, name])
        zones[zone] = [[a.isoformat(), b.isoformat(), name] for a, b, name in runs]
    feries = [[day.isoformat(), name] for year in range(start.year, end.year + 1)
              for name, day in bank_holidays(year) if start <= day <= end]
    return {"vacances": zones, "feries": feries}
