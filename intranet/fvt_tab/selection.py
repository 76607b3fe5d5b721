"""What the person chose in the filter panel, read from the URL (so that a link shares the whole
view, and back and forward work), with the choices that cannot go together.

A URL can ask for an impossible mix (typed by hand, or kept from before a rule): it is corrected to
the nearest possible one and the page says what changed, never a 500 nor an empty chart.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

from intranet.core.i18n import gettext as _
from intranet.core.i18n import lazy_gettext as _l
from intranet.fvt_tab import calendar

VISITORS = {  # key: (label, categories)
    "touristes": (_l("Touristes"), ("Touriste",)),
    "excursionnistes": (_l("Excursionnistes"), ("Excursionniste",)),
    "locaux": (_l("Locaux (résidents, habituellement présents)"), ("Resident", "HabituellementPresent")),
    "tous": (_l("Tous"), ("Touriste", "Excursionniste", "Resident", "HabituellementPresent")),
}
PROVENANCES = {
    "tous": _l("Français et étrangers"),
    "francais": _l("Français"),
    "etrangers": _l("Étrangers"),
    "locaux": _l("Locaux (habitants du bassin)"),
}
MOMENTS = {"nuit": _l("Nuit (nuitées)"), "jour": _l("Jour (présences)")}
INDICATORS = {"volume": _l("Volume de présence"), "arrivees": _l("Arrivées"), "departs": _l("Départs")}
COMPARISONS = {"": _l("N-1 (par défaut)"), "zone": _l("Un autre territoire"), "periode": _l("Une autre période")}


@dataclass
class Selection:
    year: int
    period: str = "annee"
    start: date | None = None  # period « dates »
    end: date | None = None
    visitors: str = "touristes"
    provenance: str = "tous"
    moment: str = "nuit"
    indicator: str = "volume"
    local: bool = False  # Local tourists counted in « nuitées touristiques » (FVT.md: off by default)
    compare: str = ""
    other_zone: str = ""
    start2: date | None = None
    end2: date | None = None
    notices: list[str] = field(default_factory=list)

    def args(self, **changes) -> dict:
        """The URL's query of this selection (only what differs from the defaults)."""
        s = replace(self, **changes) if changes else self
        out = {"annee": s.year}
        for key, value, default in (("periode", s.period, "annee"), ("visiteurs", s.visitors, "touristes"),
                                    ("provenance", s.provenance, "tous"), ("moment", s.moment, "nuit"),
                                    ("indicateur", s.indicator, "volume"), ("comparer", s.compare, "")):
            if value != default:
                out[key] = value
        if s.period == "dates" and s.start and s.end:
            out["du"], out["au"] = s.start.isoformat(), s.end.isoformat()
        if s.local:
            out["local"] = "1"
        if s.compare == "zone" and s.other_zone:
            out["autre"] = s.other_zone
        if s.compare == "periode" and s.start2 and s.end2:
            out["du2"], out["au2"] = s.start2.isoformat(), s.end2.isoformat()
        return out

    @property
    def categories(self) -> tuple[str, ...]:
        return VISITORS[self.visitors][1]

    def provenances(self) -> tuple[str, ...]:
        """The provenance codes the charts read; Local only when asked (or chosen)."""
        return {"tous": ("NonLocal", "Etranger") + (("Local",) if self.local else ()),
                "francais": ("NonLocal",) + (("Local",) if self.local else ()),
                "etrangers": ("Etranger",), "locaux": ("Local",)}[self.provenance]

    @property
    def family(self) -> str:
        if self.indicator == "arrivees":
            return "Arrivee"
        if self.indicator == "departs":
            return "Depart"
        return "Nuitee" if self.moment == "nuit" else "Diurne"


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def disabled(sel: Selection) -> dict[str, dict[str, str]]:
    """Each choice that cannot go with the others, with the reason the panel shows."""
    out: dict[str, dict[str, str]] = {"visiteurs": {}, "provenance": {}, "moment": {}, "indicateur": {}}
    only_tourists = _("Arrivées et départs ne concernent que les touristes.")
    if sel.visitors == "excursionnistes":
        out["moment"]["nuit"] = _("Les excursionnistes ne passent pas la nuit sur place : pas de nuitées.")
    if sel.visitors != "touristes":
        out["indicateur"]["arrivees"] = out["indicateur"]["departs"] = only_tourists
    if sel.visitors == "locaux":
        out["provenance"]["etrangers"] = _("Les locaux habitent le territoire : pas d'étrangers.")
    if sel.provenance == "etrangers":
        out["visiteurs"]["locaux"] = _("Les étrangers ne sont pas des locaux.")
    if sel.indicator in ("arrivees", "departs"):
        for key in ("excursionnistes", "locaux", "tous"):
            out["visiteurs"].setdefault(key, only_tourists)
        out["moment"].setdefault("jour", _("Sans objet pour les arrivées et les départs (un par séjour)."))
        out["moment"].setdefault("nuit", _("Sans objet pour les arrivées et les départs (un par séjour)."))
    return out


def parse(args, years: list[int]) -> Selection:
    """The selection a request asks for, corrected to a possible one (``notices`` says how)."""
    year = args.get("annee", type=int)
    if year is None or not 1990 <= year <= 2100:  # a year without data is said so by the page
        year = years[0] if years else date.today().year
    sel = Selection(year=year)
    pick = {"visiteurs": VISITORS, "provenance": PROVENANCES, "moment": MOMENTS, "indicateur": INDICATORS,
            "comparer": COMPARISONS}
    attr = {"visiteurs": "visitors", "provenance": "provenance", "moment": "moment", "indicateur": "indicator",
            "comparer": "compare"}
    for key, choices in pick.items():
        value = args.get(key)
        if value is not None and value in choices:
            setattr(sel, attr[key], value)
        elif value:
            sel.notices.append(_("Choix « %(value)s » inconnu : valeur par défaut.", value=value[:40]))
    sel.local = args.get("local") == "1"
    period = args.get("periode", "annee")
    if period == "dates":
        start, end = _date(args.get("du")), _date(args.get("au"))
        if start is None or end is None or end < start or (end - start).days >= calendar.MAX_CUSTOM_DAYS:
            sel.notices.append(_("Période personnalisée invalide (du … au …, au plus 366 jours) : année entière."))
            period = "annee"
        else:
            sel.start, sel.end = start, end
    sel.period = period
    if sel.compare == "zone":
        sel.other_zone = (args.get("autre") or "")[:50]
    if sel.compare == "periode":
        sel.start2, sel.end2 = _date(args.get("du2")), _date(args.get("au2"))
        if (sel.start2 is None or sel.end2 is None or sel.end2 < sel.start2
                or (sel.end2 - sel.start2).days >= calendar.MAX_CUSTOM_DAYS):
            sel.notices.append(_("Seconde période invalide (du … au …, au plus 366 jours) : comparaison avec N-1."))
            sel.compare, sel.start2, sel.end2 = "", None, None
    # Impossible mixes: the later choice in the panel's order gives way.
    for _round in range(3):
        off = disabled(sel)
        changed = False
        for key, name, fallback in (("visiteurs", "visitors", "touristes"), ("provenance", "provenance", "tous"),
                                    ("moment", "moment", "jour"), ("indicateur", "indicator", "volume")):
            value = getattr(sel, name)
            if value in off[key] and not (key == "moment" and sel.indicator != "volume"):
                setattr(sel, name, fallback if fallback not in off[key] else next(
                    k for k in pick[key] if k not in off[key]))
                sel.notices.append(_("« %(old)s » ne va pas avec vos autres choix (%(why)s) : « %(new)s » à la place.",
                                     old=_label(key, value), why=off[key][value].rstrip("."),
                                     new=_label(key, getattr(sel, name))))
                changed = True
        if not changed:
            break
    return sel


def _label(key: str, value: str) -> str:
    table = {"visiteurs": {k: v[0] for k, v in VISITORS.items()}, "provenance": PROVENANCES, "moment": MOMENTS,
             "indicateur": INDICATORS}[key]
    return str(table.get(value, value))


def resolve_period(sel: Selection, school_zone: str) -> calendar.Period:
    if sel.period == "dates" and sel.start and sel.end:
        return calendar.custom_period(sel.start, sel.end)
    found = calendar.find_period(sel.year, sel.period, school_zone)
    if found is None:
        if sel.period != "annee":
            sel.notices.append(_("Période inconnue pour %(year)d : année entière.", year=sel.year))
        sel.period = "annee"
        found = calendar.find_period(sel.year, "annee", school_zone)
    return found
