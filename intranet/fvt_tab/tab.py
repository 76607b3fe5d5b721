"""The « Flux Vision » tab: a territory's figures for a year and a period, filtered, compared with N-1,
another territory or another period, exported to CSV and PDF; and the network overview.

Every route checks the zone with ``access.require_zone`` (figures) or ``access.require_export``
(exports), whatever links the page shows; a territory compared with is checked the same way. The
page is rendered whole by the server (it works without JavaScript: the filter panel is a GET form);
``fvt-tab.js`` swaps the page's tab for the one the server renders for the new filters and draws
the charts from the JSON embedded in it. ``donnees.json`` answers the same figures as JSON.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import Response, abort, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from intranet.core.i18n import gettext as _
from intranet.core.i18n import lazy_gettext as _l
from intranet.core.settings import get_setting
from intranet.extensions import db
from intranet.fvt_tab import access, calendar, figures, selection
from intranet.fvt_tab.arriving import arriving_for
from intranet.fvt_tab.models import DayQuality, YearTotal, Zone
from intranet.fvt_tab.summary import SOURCE
from intranet.fvt_tab.views import bp

LAST_CHOICE = "fvt_tab.last"
METHODOLOGY = _l("Estimations de présence établies par Orange à partir des signaux de son réseau mobile, redressées "
               "pour représenter toute la population : des estimations, pas des comptages. Les petites valeurs sont "
               "masquées (secret statistique) : les sommes par origine sont donc inférieures aux totaux. Les nuitées "
               "additionnent les présences de chaque nuit ; les excursionnistes, les présences de chaque jour (des "
               "journées, pas des personnes distinctes). La durée moyenne de séjour est un minimum (la dernière "
               "classe est « 13 nuits et plus »). N-1 est comparé à jours de la semaine alignés (52 semaines plus "
               "tôt) ou à la même période de vacances ou au même pont. Les jours de panne du réseau sont des trous "
               "dans les courbes.")


def school_zone() -> str:
    value = str(get_setting(calendar.SCHOOL_ZONE_SETTING, "A") or "A").upper()
    return value if value in calendar.SCHOOL_ZONES else "A"


def years_of(zone: Zone) -> list[int]:
    return list(db.session.scalars(sa.select(YearTotal.year).where(YearTotal.zone_id == zone.id).distinct()
                                   .order_by(YearTotal.year.desc())))


def methodology() -> str:
    return str(METHODOLOGY)


@bp.route("/")
@login_required
def index():
    """« Flux Vision » opens on a territory: the last one chosen, else the person's own, else the first
    they may see, on the latest year with data (the zone page picks it)."""
    zones = access.visible_zones(current_user)
    if not zones:
        return redirect(url_for("fvt_tab.territories"))
    codes = {z.code for z, _level in zones}
    last = session.get(LAST_CHOICE) or {}
    if last.get("zone") in codes:
        return redirect(url_for("fvt_tab.zone", code=last["zone"], **(last.get("args") or {})))
    return redirect(url_for("fvt_tab.zone", code=zones[0][0].code))


def _selection(zone: Zone, years: list[int]) -> tuple[selection.Selection, calendar.Period]:
    sel = selection.parse(request.args, years)
    return sel, selection.resolve_period(sel, school_zone())


def _comparison(zone: Zone, sel: selection.Selection, period: calendar.Period) -> dict | None:
    """The other territory (checked as any page of it is) or the other period, figures beside N."""
    if sel.compare == "zone" and sel.other_zone:
        other, _level = access.require_zone(current_user, sel.other_zone)
        if other.id == zone.id:
            return None
        data = figures.compute(other, sel, period, school_zone(), sections=("indicateurs", "courbe"))
        return {"type": "zone", "nom": other.name, "code": other.code, **data}
    if sel.compare == "periode" and sel.start2 and sel.end2:
        second = calendar.custom_period(sel.start2, sel.end2)
        data = figures.compute(zone, sel, second, school_zone(), sections=("indicateurs", "courbe"))
        return {"type": "periode", "nom": second.label, **data}
    return None


def panel(zone: Zone, sel: selection.Selection, years: list[int], zones) -> dict:
    """What the filter panel offers: every choice, the ones that cannot go with the others and why."""
    return {"periods": calendar.named_periods(sel.year, school_zone()), "disabled": selection.disabled(sel),
            "visitors": {k: v[0] for k, v in selection.VISITORS.items()}, "provenances": selection.PROVENANCES,
            "moments": selection.MOMENTS, "indicators": selection.INDICATORS, "comparisons": selection.COMPARISONS,
            "years": years, "zones": zones}


@bp.route("/zones/<code>")
@login_required
def zone(code: str):
    other = request.args.get("territoire")
    if other and other != code:
        # The panel's territory choice without JavaScript: the same filters on that territory.
        args = {k: v for k, v in request.args.items() if k not in ("territoire", "fragment")}
        return redirect(url_for("fvt_tab.zone", code=other[:50], **args))
    z, level = access.require_zone(current_user, code)
    years = years_of(z)
    sel, period = _selection(z, years)
    data = figures.compute(z, sel, period, school_zone()) if sel.year in years else None
    comparison = _comparison(z, sel, period) if data else None
    session[LAST_CHOICE] = {"zone": z.code, "args": sel.args()}
    quality = db.session.scalars(sa.select(DayQuality).where(
        DayQuality.zone_id == z.id, DayQuality.day >= date(sel.year, 1, 1), DayQuality.day <= date(sel.year, 12, 31))
        .order_by(DayQuality.day)).all()
    zones = access.visible_zones(current_user)
    fragment = request.args.get("fragment") == "1"
    return render_template("fvt_tab/_tab.html" if fragment else "fvt_tab/zone.html", fragment=fragment,
                           zone=z, level=level, years=years, year=sel.year, sel=sel, data=data,
                           comparison=comparison, panel=panel(z, sel, years, zones), quality=quality,
                           arriving=arriving_for(z.code), action_form=FlaskForm(), source=SOURCE,
                           methodology=methodology(), school_zone=school_zone())


@bp.route("/zones/<code>/donnees.json")
@login_required
def data(code: str):
    """The figures of the page as JSON, for one (zone, period, filters): ``?sections=courbe,mois``
    answers only those (the KPI cards are ``indicateurs``)."""
    z, level = access.require_zone(current_user, code)
    years = years_of(z)
    sel, period = _selection(z, years)
    wanted = [s for s in (request.args.get("sections") or "").split(",") if s]
    unknown = [s for s in wanted if s != "indicateurs" and s not in figures.SECTIONS]
    if unknown:
        return jsonify({"erreur": _("Section inconnue : %(name)s.", name=unknown[0][:40])}), 400
    if sel.year not in years:
        return jsonify({"erreur": _("Pas de données pour %(year)d.", year=sel.year), "annees": years}), 404
    out = figures.compute(z, sel, period, school_zone(), sections=wanted or None)
    comparison = _comparison(z, sel, period) if not wanted else None
    return jsonify({**out, "selection": sel.args(), "remarques": sel.notices, "comparaison": comparison,
                    "desactives": selection.disabled(sel), "niveau": level, "source": SOURCE})


def _export_data(code: str):
    z = access.require_export(current_user, code)
    years = years_of(z)
    sel, period = _selection(z, years)
    if sel.year not in years:
        abort(404)
    return z, sel, period, figures.compute(z, sel, period, school_zone()), _comparison(z, sel, period)


@bp.route("/zones/<code>/selection.csv")
@login_required
def export_selection(code: str):
    from intranet.fvt_tab.exports import selection_csv

    z, sel, period, data, comparison = _export_data(code)
    body = selection_csv(z, sel, data, comparison)
    return Response(body, content_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="fvt-{z.code}-{sel.year}-{period.key}.csv"'})


@bp.route("/zones/<code>/rapport.pdf")
@login_required
def export_pdf(code: str):
    from intranet.fvt_tab.exports import selection_pdf

    z, sel, period, data, comparison = _export_data(code)
    body = selection_pdf(z, sel, data, comparison, methodology())
    return Response(body, content_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="fvt-{z.code}-{sel.year}-{period.key}.pdf"'})


# -- the network ----------------------------------------------------------------------------------------

SORTS = ("nom", "nuitees", "evolution", "excursionnistes", "etrangers")


@bp.route("/territoires")
@login_required
def territories():
    """Every territory the person may read; for animateurs and admins, side by side with their
    figures (sortable) and on a map."""
    from intranet.fvt_tab.arriving import arriving_by_zone

    zones = access.visible_zones(current_user)
    arriving = arriving_by_zone()
    overview = None
    year = None
    sort = request.args.get("tri", "nuitees")
    sort = sort if sort in SORTS else "nuitees"
    if current_user.is_animateur:
        all_years = sorted({y for y in db.session.scalars(sa.select(YearTotal.year).distinct())}, reverse=True)
        year = request.args.get("annee", type=int)
        year = year if year in all_years else (all_years[0] if all_years else None)
        if year is not None:
            overview = figures.network(year, [z for z, _level in zones])
            keys = {"nom": lambda r: (r["nom"].lower(),), "nuitees": lambda r: (-(r["nuitees"] or -1),),
                    "evolution": lambda r: (-(r["evolution"] if r["evolution"] is not None else -1e9),),
                    "excursionnistes": lambda r: (-(r["excursionnistes"] or -1),),
                    "etrangers": lambda r: (-(r["part_etrangers"] if r["part_etrangers"] is not None else -1),)}
            overview["lignes"].sort(key=keys[sort])
            for row in overview["lignes"]:  # the map's bubbles open the territory
                row["url"] = url_for("fvt_tab.zone", code=row["code"], annee=year)
        overview_years = all_years
    else:
        overview_years = []
    return render_template("fvt_tab/index.html", zones=zones, sharing=access.sharing_on(),
                           arriving={z.code: arriving_for(z.code, arriving) for z, _level in zones},
                           action_form=FlaskForm(), source=SOURCE, overview=overview, year=year, sort=sort,
                           overview_years=overview_years)
