"""The FVT tab's figures for one zone, period and selection: what the data endpoints answer and the
page, the CSV and the PDF show. Computed from the zone's daily series (``series.Store``, the
columnar copy of the daily facts) with the definitions of
``summary`` (``flask fvt summary``): only daily rows (weekly ``Semaine`` files never add to them),
total rows (``CUMUL``) out of sums and rankings, withheld values (NULL) counting as nothing, and
``Local`` provenance out unless asked. Breakdown files are never added to the totals or to one
another (FVT.md: small-number secrecy makes their sums smaller).

The period is clipped to the days the zone's data cover (an incomplete year compares the same
stretch of N-1); N-1 is the aligned period of ``calendar.previous_period``; a whole complete year
is compared with the whole N-1, as ``summary`` does. Days flagged in ``DayQuality`` (outages,
interpolated) are gaps in the daily curve, with their note.

One statement reads the series of N and N-1 whatever the period's length; each section's sums,
daily values and month or weekday folds are numpy over them (the same on SQLite and PostgreSQL).
"""

from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict
from datetime import date, timedelta
from functools import lru_cache

import sqlalchemy as sa

from intranet.core.i18n import gettext as _
from intranet.core.i18n import lazy_gettext as _l
from intranet.extensions import db
from intranet.fvt_tab import calendar
from intranet.fvt_tab.models import DayQuality, Fact, YearTotal, Zone
from intranet.fvt_tab.reference import CATEGORIES, COUNTRY_NUMERIC, GEOLIFE, label_of
from intranet.fvt_tab.selection import Selection
from intranet.fvt_tab.series import Store
from intranet.fvt_tab.summary import OPEN_CLASS_NIGHTS, PERIOD_FAMILIES

WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
CURVE_CATEGORIES = ("Touriste", "Excursionniste", "Resident", "HabituellementPresent")
MOBILITY_FAMILIES = ("LieuNuitee_Soir", "LieuNuitee_Veille", "LieuActivite_Soir", "LieuActivite_Veille")


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _int(value) -> int | None:
    return None if value is None else int(value)


def change(n, n1) -> float | None:
    """The change in per cent, one decimal; None without both figures or from zero."""
    if n is None or n1 is None or n1 == 0:
        return None
    return round(100.0 * (n - n1) / n1, 1)


def data_span(store: Store, lo: date, hi: date) -> tuple[date, date] | None:
    """The first and last day between lo and hi with daily rows of the summary's families."""
    return store.span(lo, hi, family=PERIOD_FAMILIES, breakdown="")


# The families without breakdown the KPI cards and the daily curve read (and ``data_span``).
BASE_FAMILIES = ("Nuitee", "Diurne", "Arrivee", "Depart", "SejourDuree")
BASE_SECTIONS = {"indicateurs", "courbe"}


class _KeptStores:
    """The zones' series a process has read, kept under their zone's ``series_version``: a filter
    change on the same zone and years (the tab's common case: a person tries a period, then a
    visitor type…) reads one short row instead of the series (about 10 ms a year pair). An import
    writes a new version in the transaction that writes the series, so every process sees the new
    figures on its next request; nothing needs invalidating. Bounded by the matrices' bytes (a
    year pair of a zone is about 2 MB), least recently used out first."""

    LIMIT_BYTES = 64 * 1024 * 1024

    def __init__(self):
        self._stores: OrderedDict[tuple, Store] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, zone_id: int, version: str, lo: date, hi: date, families) -> Store | None:
        with self._lock:
            for key, store in reversed(self._stores.items()):
                if key[:2] == (zone_id, version) and store.covers(lo, hi, families):
                    self._stores.move_to_end(key)
                    return store
        return None

    def put(self, zone_id: int, version: str, store: Store) -> None:
        if not version:  # a zone from before versions: never kept
            return
        with self._lock:
            self._stores[(zone_id, version, store.base, store.width, store.families)] = store
            total = sum(s.matrix.nbytes for s in self._stores.values())
            while len(self._stores) > 1 and total > self.LIMIT_BYTES:
                _key, dropped = self._stores.popitem(last=False)
                total -= dropped.matrix.nbytes


KEPT = _KeptStores()
_VERSION = sa.select(Zone.series_version).where(Zone.id == sa.bindparam("zone"))


def _store(zone_id: int, first_year: int, last_year: int, families: tuple[str, ...] | None) -> Store:
    """The zone's series over these years: from what this process keeps when the zone's version is
    the one it was read under, else read (and kept). The version is read from the database, not from
    the ``Zone`` object a caller holds, which may predate a write in the same transaction."""
    conn = db.session.connection()
    version = conn.execute(_VERSION, {"zone": zone_id}).scalar() or ""
    lo, hi = date(first_year, 1, 1), date(last_year, 12, 31)
    store = KEPT.get(zone_id, version, lo, hi, families) if version else None
    if store is None:
        store = Store(conn, zone_id, first_year, last_year, families)
        KEPT.put(zone_id, version, store)
    return store


class Window:
    """The days N and N-1 are read over, and how the page says them."""

    def __init__(self, zone: Zone, period: calendar.Period, year: int, school_zone: str,
                 families: tuple[str, ...] | None = None):
        self.period = period
        # N and N-1 lie within the period's years and the year before: one read of the series.
        self.store = _store(zone.id, period.start.year - 1, period.end.year, families)
        span = data_span(self.store, period.start, period.end)
        self.has_data = span is not None
        self.start, self.end = span if span else (period.start, period.end)
        self.clipped = span is not None and span != (period.start, period.end)
        whole_year = period.key == "annee" and not self.clipped
        self.aligned_on = "annee" if whole_year else "semaines"
        if whole_year:
            prev = calendar.Period("annee", period.label, date(year - 1, 1, 1), date(year - 1, 12, 31))
        elif self.clipped:
            # The stretch the data cover, moved back 52 weeks (the same weekdays), kept inside N-1
            # for a year (as ``summary.aligned_previous``).
            lo, hi = self.start - calendar.ALIGNMENT, self.end - calendar.ALIGNMENT
            if period.key == "annee":
                lo, hi = max(lo, date(year - 1, 1, 1)), min(hi, date(year - 1, 12, 31))
            prev = calendar.Period(period.key, period.label, lo, hi)
        else:
            prev, self.aligned_on = calendar.previous_period(period, year, school_zone)
        if not self.store.covers(prev.start, prev.end, families):
            self.store = _store(zone.id, min(prev.start.year, period.start.year), max(prev.end.year, period.end.year),
                                families)
        prev_span = data_span(self.store, prev.start, prev.end)
        self.prev = prev if prev_span is not None else None

    def as_dict(self) -> dict:
        return {"debut": self.start.isoformat(), "fin": self.end.isoformat(), "libelle": self.period.label,
                "cle": self.period.key, "tronquee": self.clipped, "donnees": self.has_data,
                "n1": None if self.prev is None else {"debut": self.prev.start.isoformat(),
                                                      "fin": self.prev.end.isoformat()},
                "alignement": self.aligned_on}


# -- the KPI cards ----------------------------------------------------------------------------------

def _kpi_sums(store: Store, lo: date, hi: date) -> dict[tuple[str, str, str], int]:
    rows = store.select(lo, hi, ("family", "category", "provenance"), breakdown="",
                 family=("Nuitee", "Diurne", "Arrivee", "Depart"))
    return {(f, c, p): int(v) for f, c, p, v in rows if v is not None}


def _stay_rows(store: Store, lo: date, hi: date, provenances) -> list:
    return store.select(lo, hi, ("provenance", "profile"), family="SejourDuree", breakdown="",
                 category="Touriste", provenance=provenances)


def average_stay(rows) -> float | None:
    nights = volume = 0
    for _prov, profile, total in rows:
        if not profile or total is None or not str(profile).isdigit():
            continue
        nights += min(int(profile), OPEN_CLASS_NIGHTS) * int(total)
        volume += int(total)
    return round(nights / volume, 2) if volume else None


def _peak(store: Store, lo: date, hi: date, provenances) -> dict | None:
    rows = store.select(lo, hi, ("day",), peak=True, family="Diurne", breakdown="", category="Excursionniste",
                   provenance=provenances)
    return {"date": _as_date(rows[0][0]).isoformat(), "valeur": int(rows[0][1])} if rows else None


def _sum(sums, family, category, provenances) -> int | None:
    values = [sums[(family, category, p)] for p in provenances if (family, category, p) in sums]
    return sum(values) if values else None


KPI_LABELS = {
    "nuitees_touristes": _l("Nuitées touristiques"), "nuitees_francais": _l("Nuitées des Français"),
    "nuitees_etrangers": _l("Nuitées des étrangers"), "arrivees": _l("Arrivées de touristes"),
    "excursionnistes": _l("Excursionnistes (journées)"), "pic_excursionnistes": _l("Pic d'excursionnistes"),
    "duree_moyenne_sejour": _l("Durée moyenne de séjour (nuits, au moins)"),
    "part_etrangers": _l("Part des étrangers (nuitées)"),
}


def kpi_label(key: str) -> str:
    return str(KPI_LABELS[key])


def kpis(zone: Zone, window: Window, local: bool) -> list[dict]:
    prov = ("NonLocal", "Etranger", "Local") if local else ("NonLocal", "Etranger")
    french = ("NonLocal", "Local") if local else ("NonLocal",)

    def figures(lo, hi):
        sums = _kpi_sums(window.store, lo, hi)
        total = _sum(sums, "Nuitee", "Touriste", prov)
        foreign = _sum(sums, "Nuitee", "Touriste", ("Etranger",))
        return {
            "nuitees_touristes": total, "nuitees_francais": _sum(sums, "Nuitee", "Touriste", french),
            "nuitees_etrangers": foreign, "arrivees": _sum(sums, "Arrivee", "Touriste", prov),
            "excursionnistes": _sum(sums, "Diurne", "Excursionniste", prov),
            "pic_excursionnistes": _peak(window.store, lo, hi, prov),
            "duree_moyenne_sejour": average_stay(_stay_rows(window.store, lo, hi, prov)),
            "part_etrangers": None if not total or foreign is None else round(100.0 * foreign / total, 1),
        }

    n = figures(window.start, window.end) if window.has_data else dict.fromkeys(KPI_LABELS)
    n1 = figures(window.prev.start, window.prev.end) if window.prev is not None else dict.fromkeys(KPI_LABELS)
    out = []
    for key in KPI_LABELS:
        a, b = n[key], n1[key]
        if key == "pic_excursionnistes":
            out.append({"cle": key, "libelle": kpi_label(key), "n": a, "n1": b,
                        "evolution": change(a and a["valeur"], b and b["valeur"])})
        elif key == "part_etrangers":
            out.append({"cle": key, "libelle": kpi_label(key), "n": a, "n1": b,
                        "evolution": None if a is None or b is None else round(a - b, 1), "unite": "points"})
        else:
            out.append({"cle": key, "libelle": kpi_label(key), "n": a, "n1": b, "evolution": change(a, b)})
    return out


# -- the daily curve ---------------------------------------------------------------------------------

def _per_day(store: Store, lo: date, hi: date, family: str, categories, provenances, by: str = "category"):
    """{category or provenance: {day: sum}} of the chosen categories and provenances."""
    rows = store.select(lo, hi, ("day", by), family=family, breakdown="", category=categories,
                   provenance=provenances)
    out: dict[str, dict[date, int]] = defaultdict(dict)
    days: dict = {}  # each distinct day converted once (SQLite answers text)
    for day, key, value in rows:
        d = days.get(day) or days.setdefault(day, _as_date(day))
        out[key][d] = int(value)
    return out


def _per(key: str, store: Store, lo: date, hi: date, family: str, categories, provenances, by=None) -> list[tuple]:
    """Sums grouped in SQL by ``key`` (``month`` or ``weekday``) and, if given, by a column."""
    return store.select(lo, hi, (key,) + ((by,) if by else ()), family=family, breakdown="",
                   category=categories, provenance=provenances)


@lru_cache(maxsize=1)
def _flagged_statement() -> sa.Select:
    return sa.select(DayQuality.day, DayQuality.flag, DayQuality.note).where(
        DayQuality.zone_id == sa.bindparam("zone"), DayQuality.day >= sa.bindparam("lo"),
        DayQuality.day <= sa.bindparam("hi"))


def _flagged(zone_id: int, lo: date, hi: date) -> dict[date, tuple[str, str]]:
    """The flagged days (outages, interpolated) and their (flag, note)."""
    return {_as_date(day): (flag, note) for day, flag, note in db.session.execute(
        _flagged_statement(), {"zone": zone_id, "lo": lo, "hi": hi})}


def _days(lo: date, hi: date) -> list[date]:
    return [lo + timedelta(days=i) for i in range((hi - lo).days + 1)]


def curve(zone: Zone, window: Window, sel: Selection) -> dict:
    lo, hi = window.start, window.end
    days = _days(lo, hi)
    flagged = _flagged(zone.id, lo, hi)
    provs = sel.provenances()
    if sel.indicator == "volume":
        cats = CURVE_CATEGORIES
        per = _per_day(window.store, lo, hi, sel.family, cats, provs)
        series = [{"cle": c, "nom": CATEGORIES[c], "valeurs": [None if d in flagged else per[c].get(d) for d in days]}
                  for c in cats if per.get(c)]
    else:
        per = _per_day(window.store, lo, hi, sel.family, ("Touriste",), provs)
        series = [{"cle": "Touriste", "nom": _("Arrivées") if sel.indicator == "arrivees" else _("Départs"),
                   "valeurs": [None if d in flagged else per["Touriste"].get(d) for d in days]}] if per else []
    previous = None
    if window.prev is not None:
        p_days = _days(window.prev.start, window.prev.end)
        p_flagged = _flagged(zone.id, window.prev.start, window.prev.end)
        cats = sel.categories if sel.indicator == "volume" else ("Touriste",)
        p = _per_day(window.store, window.prev.start, window.prev.end, sel.family, cats, provs)
        values = []
        for d in p_days:
            parts = [p[c][d] for c in cats if d in p.get(c, {})]
            values.append(None if d in p_flagged or not parts else sum(parts))
        previous = {"nom": _("N-1 : %(who)s", who=", ".join(CATEGORIES[c] for c in cats)),
                    "debut": window.prev.start.isoformat(), "valeurs": values}
    return {"jours": [d.isoformat() for d in days], "series": series, "n1": previous,
            "trous": [{"date": d.isoformat(), "type": flag, "note": note}
                      for d, (flag, note) in sorted(flagged.items())],
            **calendar.shading(lo, hi)}


# -- folds by month and weekday ---------------------------------------------------------------------

def months(zone: Zone, window: Window, sel: Selection) -> dict:
    french = ("NonLocal", "Local") if sel.local else ("NonLocal",)
    keys = sorted({(d.year, d.month) for d in _days(window.start, window.end)})
    by_month = {k: {"francais": None, "etrangers": None} for k in keys}
    for month, prov, v in _per("month", window.store, window.start, window.end, "Nuitee", ("Touriste",),
                               french + ("Etranger",), by="provenance"):
        group = "etrangers" if prov == "Etranger" else "francais"
        cell = by_month[(int(month[:4]), int(month[5:7]))]
        cell[group] = (cell[group] or 0) + int(v)
    n1 = [None] * len(keys)
    if window.prev is not None:
        p = _per_day(window.store, window.prev.start, window.prev.end, "Nuitee", ("Touriste",), french + ("Etranger",),
                     by="provenance")
        # N-1's days counted under the month of the N day they are aligned with.
        shift = window.start - window.prev.start
        index = {k: i for i, k in enumerate(keys)}
        for days in p.values():
            for d, v in days.items():
                m = d + shift
                i = index.get((m.year, m.month))
                if i is not None:
                    n1[i] = (n1[i] or 0) + v
    return {"mois": [f"{calendar.MONTHS[m - 1]} {y}" for y, m in keys],
            "francais": [by_month[k]["francais"] for k in keys], "etrangers": [by_month[k]["etrangers"] for k in keys],
            "n1": n1}


def weekdays(zone: Zone, window: Window, sel: Selection) -> dict:
    provs = sel.provenances() if sel.provenance != "locaux" else ("Local",)
    out = {}
    for family, key in (("Arrivee", "arrivees"), ("Depart", "departs")):
        groups = {}
        for dow, prov, v in _per("weekday", window.store, window.start, window.end, family, ("Touriste",),
                                 provs, by="provenance"):
            weekday = (int(dow) + 6) % 7  # Monday first, as the chart
            row = groups.setdefault(prov, [None] * 7)
            row[weekday] = (row[weekday] or 0) + int(v)
        out[key] = [{"provenance": p, "nom": label_of("provenance", p), "valeurs": v}
                    for p, v in sorted(groups.items())]
    return {"jours": list(WEEKDAYS), **out}


# -- stays, profiles, day and night, mobility -----------------------------------------------------------

def stays(zone: Zone, window: Window, sel: Selection) -> dict:
    provs = ("NonLocal", "Etranger", "Local") if sel.local else ("NonLocal", "Etranger")
    rows = _stay_rows(window.store, window.start, window.end, provs)
    classes = [str(n) for n in range(1, OPEN_CLASS_NIGHTS + 1)]
    groups = {}
    for prov, profile, value in rows:
        group = "etrangers" if prov == "Etranger" else "francais"
        groups.setdefault(group, dict.fromkeys(classes))
        if str(profile) in groups[group] and value is not None:
            groups[group][str(profile)] = (groups[group][str(profile)] or 0) + int(value)
    return {"classes": [label_of("stay", c) for c in classes],
            "groupes": [{"cle": g, "nom": _("Français") if g == "francais" else _("Étrangers"),
                         "valeurs": [groups[g][c] for c in classes],
                         "moyenne": average_stay([(None, c, groups[g][c]) for c in classes])}
                        for g in ("francais", "etrangers") if g in groups],
            "moyenne": average_stay(rows)}


def _by_profile(window: Window, breakdown: str, family: str, categories) -> dict[str, int]:
    rows = window.store.select(window.start, window.end, ("profile",), family=family, breakdown=breakdown,
                 category=categories)
    return {p: int(v) for p, v in rows if p}


def profiles(zone: Zone, window: Window, sel: Selection) -> dict:
    ages = _by_profile(window, "Age", "Nuitee", ("Touriste",))
    segments = _by_profile(window, "Geolife", "Nuitee", ("Touriste",))
    groups: dict[str, int] = {}
    for code, value in segments.items():
        group = GEOLIFE.get(code, (code, "autre"))[1]
        groups[group] = groups.get(group, 0) + value
    return {"ages": [{"code": c, "nom": label_of("age", c), "valeur": v} for c, v in sorted(ages.items())],
            "geolife": [{"code": c, "nom": label_of("geolife", c), "groupe": GEOLIFE.get(c, (c, ""))[1], "valeur": v}
                        for c, v in sorted(segments.items(), key=lambda x: -x[1])],
            "csp": [{"nom": g, "valeur": v} for g, v in sorted(groups.items(), key=lambda x: -x[1])]}


def day_night(zone: Zone, window: Window, sel: Selection) -> dict:
    provs = sel.provenances()
    keys = sorted({(d.year, d.month) for d in _days(window.start, window.end)})
    index = {k: i for i, k in enumerate(keys)}
    out = {}
    for family, key in (("Diurne", "jour"), ("Nuitee", "nuit")):
        values = [None] * len(keys)
        for month, v in _per("month", window.store, window.start, window.end, family, sel.categories, provs):
            i = index[(int(month[:4]), int(month[5:7]))]
            values[i] = (values[i] or 0) + int(v)
        out[key] = values
    return {"mois": [f"{calendar.MONTHS[m - 1]} {y}" for y, m in keys], **out}


def mobility(zone: Zone, window: Window, sel: Selection) -> dict:
    rows = window.store.select(window.start, window.end, ("family", "other_place"), family=MOBILITY_FAMILIES,
                   other_place_not=("",))
    families: dict[str, list] = defaultdict(list)
    for family, place, value in rows:
        families[family].append({"code": place, "nom": label_of("department", place), "valeur": int(value)})
    names = {"LieuNuitee_Soir": _("Où dorment-ils le soir ?"), "LieuNuitee_Veille": _("Où ont-ils dormi la veille ?"),
             "LieuActivite_Soir": _("Où vont-ils en soirée ?"),
             "LieuActivite_Veille": _("D'où venaient-ils la veille ?")}
    return {"familles": [{"cle": f, "nom": names.get(f, f),
                          "lieux": sorted(families[f], key=lambda x: (-x["valeur"], x["code"]))[:15]}
                         for f in MOBILITY_FAMILIES if f in families]}


# -- origins -------------------------------------------------------------------------------------------

def _origins(window: Window, family: str, breakdown: str, categories, provenances) -> list[dict]:
    rows = window.store.select(window.start, window.end, ("origin",), family=family, breakdown=breakdown,
                 category=categories, provenance=provenances, origin_not=("", "TOTAL"))
    return [{"code": c, "valeur": int(v)} for c, v in sorted(rows, key=lambda r: (-r[1], r[0]))]


def origins(zone: Zone, window: Window, sel: Selection) -> dict:
    family = "Diurne" if sel.family == "Diurne" else "Nuitee"
    cats = sel.categories if sel.indicator == "volume" else ("Touriste",)
    french = ("NonLocal", "Local") if (sel.local or sel.provenance == "locaux") else ("NonLocal",)
    if sel.provenance == "locaux":
        french = ("Local",)
    departments = _origins(window, family, "Departement", cats, french)
    regions = _origins(window, family, "Regions", cats, french)
    countries = _origins(window, family, "Pays", cats, ("Etranger",))
    for row in departments:
        row["nom"] = label_of("department", row["code"])
    for row in regions:
        row["nom"] = label_of("region", row["code"])
    for row in countries:
        row["nom"] = label_of("country", row["code"])
        row["iso_num"] = COUNTRY_NUMERIC.get(row["code"])
    return {"carte": "monde" if sel.provenance == "etrangers" else "france",
            "famille": family, "departements": departments, "regions": regions, "pays": countries}


SECTIONS = {"courbe": curve, "mois": months, "semaine": weekdays, "sejours": stays, "profils": profiles,
            "jour_nuit": day_night, "mobilite": mobility, "origines": origins}


def compute(zone: Zone, sel: Selection, period: calendar.Period, school_zone: str,
            sections=None) -> dict:

    """Everything the tab shows for a zone and selection: the window, the KPIs and each section."""
    wanted = sections or ("indicateurs", *SECTIONS)
    window = Window(zone, period, sel.year, school_zone, BASE_FAMILIES if set(wanted) <= BASE_SECTIONS else None)
    out = {"zone": {"code": zone.code, "nom": zone.name, "fictive": zone.is_fictitious},
           "periode": window.as_dict()}
    if "indicateurs" in wanted:
        out["indicateurs"] = kpis(zone, window, sel.local)
    if window.has_data:
        for name in wanted:
            if name in SECTIONS:
                out[name] = SECTIONS[name](zone, window, sel)
        if "origines" in out:  # the stays by origin: the « séjours » section's, computed once
            out["origines"]["sejour_par_origine"] = (out.get("sejours") or stays(zone, window, sel))["groupes"]
    return out


# -- the network overview ----------------------------------------------------------------------------

def network(year: int, zones: list[Zone]) -> dict:
    """Every zone of the list side by side for a year: tourist nights (N, N-1 and change), excursionist
    days, share of foreigners. Three statements whatever the number of zones: the year totals of N
    and N-1, each zone's span of daily rows in N, and — for the zones whose year is not complete —
    N-1 over the same weekdays (as ``summary`` compares an incomplete year)."""
    ids = [z.id for z in zones]
    if not ids:
        return {"annee": year, "lignes": []}
    totals: dict[tuple[int, int, str, str, str], int] = {}
    for zone_id, y, family, category, provenance, value in db.session.execute(
            sa.select(YearTotal.zone_id, YearTotal.year, YearTotal.family, YearTotal.category, YearTotal.provenance,
                      sa.func.sum(YearTotal.value)).where(
                YearTotal.zone_id.in_(ids), YearTotal.year.in_((year, year - 1)), YearTotal.breakdown == "",
                YearTotal.family.in_(("Nuitee", "Diurne")), YearTotal.category.in_(("Touriste", "Excursionniste")))
            .group_by(YearTotal.zone_id, YearTotal.year, YearTotal.family, YearTotal.category, YearTotal.provenance)):
        if value is not None:
            totals[(zone_id, y, family, category, provenance)] = int(value)
    spans = {zone_id: (_as_date(lo), _as_date(hi)) for zone_id, lo, hi in db.session.execute(
        sa.select(Fact.zone_id, sa.func.min(Fact.day), sa.func.max(Fact.day)).where(
            Fact.zone_id.in_(ids), Fact.family == "Nuitee", Fact.breakdown == "", Fact.is_weekly.is_(False),
            Fact.day >= date(year, 1, 1), Fact.day <= date(year, 12, 31)).group_by(Fact.zone_id))}
    partial = {zid: (max(lo - calendar.ALIGNMENT, date(year - 1, 1, 1)), min(hi - calendar.ALIGNMENT,
                                                                            date(year - 1, 12, 31)))
               for zid, (lo, hi) in spans.items() if (lo, hi) != (date(year, 1, 1), date(year, 12, 31))}
    aligned: dict[int, int] = {}
    if partial:
        windows = sa.or_(*(sa.and_(Fact.zone_id == zid, Fact.day >= lo, Fact.day <= hi)
                           for zid, (lo, hi) in partial.items()))
        for zid, value in db.session.execute(sa.select(Fact.zone_id, sa.func.sum(Fact.value)).where(
                windows, Fact.family == "Nuitee", Fact.breakdown == "", Fact.is_weekly.is_(False),
                Fact.is_total.is_(False), Fact.category == "Touriste", Fact.provenance.in_(("NonLocal", "Etranger")))
                .group_by(Fact.zone_id)):
            if value is not None:
                aligned[zid] = int(value)
    rows = []
    for z in zones:
        def get(y, family, category, provenances, zid=z.id):
            values = [totals[(zid, y, family, category, p)] for p in provenances
                      if (zid, y, family, category, p) in totals]
            return sum(values) if values else None

        nights = get(year, "Nuitee", "Touriste", ("NonLocal", "Etranger"))
        has_previous = any(k[0] == z.id and k[1] == year - 1 for k in totals)
        if not has_previous:
            previous = None
        elif z.id in partial:
            previous = aligned.get(z.id)
        else:
            previous = get(year - 1, "Nuitee", "Touriste", ("NonLocal", "Etranger"))
        foreign = get(year, "Nuitee", "Touriste", ("Etranger",))
        rows.append({"code": z.code, "nom": z.name, "nuitees": nights, "nuitees_n1": previous,
                     "evolution": change(nights, previous),
                     "excursionnistes": get(year, "Diurne", "Excursionniste", ("NonLocal", "Etranger")),
                     "part_etrangers": None if not nights or foreign is None else round(100.0 * foreign / nights, 1),
                     "latitude": z.latitude, "longitude": z.longitude, "fictive": z.is_fictitious,
                     "partielle": z.id in partial})
    return {"annee": year, "lignes": rows}
