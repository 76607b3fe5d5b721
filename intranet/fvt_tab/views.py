"""Pages of the FVT data: zones and their figures (by the agreements' access rules), exports, the
upload page and import history with reports, zone settings, day quality, mapping profiles.

CSRFProtect checks the token of every POST before the view runs: views do not check it again.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from functools import lru_cache

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    has_request_context,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from markupsafe import Markup

from intranet.core import jobs
from intranet.core.audit import audit
from intranet.core.i18n import gettext as _
from intranet.core.i18n import ngettext
from intranet.core.models import Job, Territory
from intranet.core.permissions import require
from intranet.core.settings import set_setting
from intranet.core.storage import UploadError, save_upload
from intranet.core.textfold import french
from intranet.extensions import db
from intranet.fvt_tab import access
from intranet.fvt_tab.arriving import arriving_for, guess_zones, set_import_zones
from intranet.fvt_tab.forms import MappingProfileForm, UploadForm, ZoneForm
from intranet.fvt_tab.importer import duplicate_of, sha256
from intranet.fvt_tab.models import DayQuality, Fact, Import, ImportIssue, MappingProfile, Zone, ZoneAlias
from intranet.fvt_tab.reference import DIMENSION_LABELS, fold
from intranet.fvt_tab.summary import SOURCE

bp = Blueprint("fvt_tab", __name__)


@bp.context_processor
def _fictitious():
    """« données fictives » on every FVT page while the store holds the demo's zones: they are
    marked when created, before their first row is imported."""
    return {"fvt_fictitious": db.session.scalar(sa.select(Zone.id).where(Zone.is_fictitious.is_(True)).limit(1))
            is not None}


def _day_text(day: date, with_year: bool) -> str:
    """« 1er janvier », « 30 avril 2025 » (French ordinal for the first of the month)."""
    from flask_babel import format_date, get_locale

    text = format_date(day, "d MMMM y" if with_year else "d MMMM")
    if day.day == 1 and str(get_locale()).startswith("fr"):
        text = "1er" + text[1:]
    return text


@bp.app_template_global("fvt_arriving_text")
def fvt_arriving_text(arriving) -> str:
    """« Import en cours : 4 livraisons sur 12 », « 0 livraison sur 12 »: French takes the singular for
    0 and 1, and the French texts are the msgids (no French catalogue gives its plural rule), so
    0 is asked as 1 in French."""
    from flask_babel import get_locale

    count = 1 if arriving.done == 0 and str(get_locale()).startswith("fr") else arriving.done
    return ngettext("Import en cours : %(done)d livraison sur %(total)d",
                    "Import en cours : %(done)d livraisons sur %(total)d", count, done=arriving.done,
                    total=arriving.total)


@bp.app_template_global("fvt_period")
def fvt_period(start: str, end: str) -> str:
    """« du 1er janvier au 30 avril 2025 » for two ISO days (of the same year)."""
    lo, hi = date.fromisoformat(start), date.fromisoformat(end)
    return _("du %(start)s au %(end)s", start=_day_text(lo, lo.year != hi.year), end=_day_text(hi, True))


def _years(zone: Zone) -> list[int]:
    from intranet.fvt_tab.models import YearTotal

    return list(db.session.scalars(sa.select(YearTotal.year).where(YearTotal.zone_id == zone.id).distinct()
                                   .order_by(YearTotal.year.desc())))


@bp.route("/partage", methods=["POST"])
@login_required
@require("fvt_tab.manage")
def sharing():
    on = request.form.get("on") == "1"
    set_setting(access.SHARING_SETTING, on)
    audit("fvt.sharing", summary=_("Partage entre destinations activé") if on
          else _("Partage entre destinations désactivé"))
    db.session.commit()
    flash(_("Partage entre destinations activé.") if on else _("Partage entre destinations désactivé."), "success")
    return redirect(url_for("fvt_tab.territories"))


@bp.route("/zones/<code>/arrivees")
@login_required
def zone_arriving(code: str):
    """The zone page polls this while deliveries arrive (app.js, as the import report does): the
    batch's progress, and « done » once a delivery more is in (``faites``: how many the page shows)
    or none is pending, so the page reloads with the new figures."""
    z, _level = access.require_zone(current_user, code)
    now = arriving_for(z.code)
    shown = request.args.get("faites", type=int)
    if now is None or (shown is not None and now.done != shown):
        return jsonify({"status": "done", "progress": 100})
    return jsonify({"status": now.status, "progress": now.progress, "done": now.done, "total": now.total})


@bp.route("/zones/<code>/export.csv")
@login_required
def export(code: str):
    z = access.require_export(current_user, code)
    years = _years(z)  # without ?annee=, the year the zone page shows: the latest with data
    year = request.args.get("annee", type=int) or (years[0] if years else date.today().year)
    rows = db.session.execute(
        sa.select(Fact.day, Fact.family, Fact.category, Fact.provenance, sa.func.sum(Fact.value))
        .where(Fact.zone_id == z.id, Fact.breakdown == "", Fact.is_weekly.is_(False),
               Fact.family.in_(("Nuitee", "Diurne", "Arrivee", "Depart")),
               Fact.day >= date(year, 1, 1), Fact.day <= date(year, 12, 31))
        .group_by(Fact.day, Fact.family, Fact.category, Fact.provenance)
        .order_by(Fact.day, Fact.family, Fact.category, Fact.provenance)).all()
    out = io.StringIO()
    w = csv.writer(out, delimiter=";")
    w.writerow([_("Date"), _("Famille"), _("Catégorie"), _("Provenance"), _("Volume")])
    for day, family, category, provenance, value in rows:
        w.writerow([day.isoformat() if hasattr(day, "isoformat") else day, family, category, provenance,
                    "" if value is None else int(value)])
    w.writerow([])
    arriving = arriving_for(z.code)
    if arriving is not None:
        w.writerow([fvt_arriving_text(arriving) + _(" ; ces chiffres sont partiels.")])
    w.writerow([_("Source : %(source)s", source=SOURCE)])
    if z.is_fictitious:
        w.writerow([_("Données fictives de démonstration : ces chiffres ne décrivent aucun territoire réel.")])
    return Response("\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="fvt-{z.code}-{year}.csv"'})


@bp.route("/zones/<code>/qualite", methods=["POST"])
@login_required
@require("fvt_tab.manage")
def quality(code: str):
    z = db.session.scalar(sa.select(Zone).where(Zone.code == code)) or abort(404)
    try:
        day = date.fromisoformat(request.form.get("day", ""))
    except ValueError:
        flash(_("Date invalide (AAAA-MM-JJ)."), "danger")
        return redirect(url_for("fvt_tab.zone", code=z.code))
    flag = request.form.get("flag", "")
    row = db.session.get(DayQuality, (z.id, day))
    if flag == "":
        if row is not None:
            db.session.delete(row)
        message = _("Le %(day)s n'est plus signalé.", day=day.strftime("%d/%m/%Y"))
    elif flag in ("interpolated", "outage"):
        if row is None:
            row = DayQuality(zone_id=z.id, day=day)
            db.session.add(row)
        row.flag, row.source, row.note = flag, "manual", (request.form.get("note") or "")[:300]
        message = _("Le %(day)s est signalé.", day=day.strftime("%d/%m/%Y"))
    else:
        abort(400)
    audit("fvt.quality", z, summary=f"{z.name} : {message}")
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("fvt_tab.zone", code=z.code, annee=day.year))


@bp.route("/zones/<code>/parametres", methods=["GET", "POST"])
@login_required
@require("fvt_tab.manage")
def zone_settings(code: str):
    z = db.session.scalar(sa.select(Zone).where(Zone.code == code)) or abort(404)
    form = ZoneForm(obj=z)
    form.territory_id.choices = [(0, _("— Aucun —"))] + [
        (t.id, t.name) for t in db.session.scalars(sa.select(Territory).order_by(french(Territory.name)))]
    if request.method == "GET":
        form.territory_id.data = z.territory_id or 0
    if form.validate_on_submit():
        z.name = form.name.data.strip()
        z.territory_id = form.territory_id.data or None
        z.latitude, z.longitude = form.latitude.data, form.longitude.data
        alias = (form.new_alias.data or "").strip()
        if alias:
            if db.session.scalar(sa.select(ZoneAlias.id).where(ZoneAlias.folded == fold(alias))):
                form.new_alias.errors = [*form.new_alias.errors, _("Ce nom désigne déjà une zone.")]
                db.session.rollback()
                return render_template("fvt_tab/zone_settings.html", zone=z, form=form), 400
            db.session.add(ZoneAlias(zone_id=z.id, alias=alias[:200], folded=fold(alias)[:200]))
        for alias_id in request.form.getlist("remove_alias"):
            if alias_id.isdigit():
                db.session.execute(sa.delete(ZoneAlias).where(ZoneAlias.id == int(alias_id), ZoneAlias.zone_id == z.id))
        audit("fvt.zone_update", z, summary=z.name)
        db.session.commit()
        flash(_("Zone enregistrée."), "success")
        return redirect(url_for("fvt_tab.zone_settings", code=z.code))
    return render_template("fvt_tab/zone_settings.html", zone=z, form=form), 400 if form.errors else 200


# -- imports --------------------------------------------------------------------------------------

@bp.route("/imports")
@login_required
@require("fvt_tab.import")
def imports():
    page = db.paginate(sa.select(Import).order_by(Import.created_at.desc(), Import.id.desc()),
                       per_page=current_app.config["PAGE_SIZE"], error_out=False)
    return render_template("fvt_tab/imports.html", page=page)


@bp.route("/imports/nouveau", methods=["GET", "POST"])
@login_required
@require("fvt_tab.import")
def upload():
    form = UploadForm()
    form.profile_id.choices = [(0, _("— Aucun (format long d'Orange) —"))] + [
        (p.id, p.name) for p in db.session.scalars(sa.select(MappingProfile).order_by(MappingProfile.name))]
    if form.validate_on_submit():
        fs = form.file.data
        try:
            stored = save_upload(fs, ["zip", "csv", "xlsx"])
        except UploadError as exc:
            form.file.errors = [*form.file.errors, str(exc)]
        else:
            from intranet.core.storage import delete_stored, open_stored

            with open_stored(stored.key) as f:
                data = f.read()
            digest = sha256(data)
            previous = duplicate_of(digest)
            if previous is not None:
                delete_stored(stored.key)
                form.file.errors = [*form.file.errors, _(
                    "Ce fichier a déjà été importé le %(date)s (import n° %(id)d) : rien n'a changé.",
                    date=previous.created_at.strftime("%d/%m/%Y"), id=previous.id)]
            else:
                imp = Import(filename=stored.original_name, sha256=digest, stored_key=stored.key,
                             is_provisional=form.provisional.data, mapping_profile_id=form.profile_id.data or None,
                             user_id=current_user.id)
                db.session.add(imp)
                db.session.flush()
                # The zones' pages say at once that a delivery is arriving.
                set_import_zones(imp.id, guess_zones(stored.original_name, data))
                job = jobs.enqueue("fvt_tab.import", {"import_id": imp.id}, created_by=current_user)
                imp.job_id = job.id
                audit("fvt.import", imp, summary=imp.filename)
                db.session.commit()
                flash(_("Fichier reçu : l'import tourne en arrière-plan."), "success")
                return redirect(url_for("fvt_tab.import_report", import_id=imp.id))
    return render_template("fvt_tab/upload.html", form=form), 400 if form.errors else 200


def _import_or_404(import_id: int) -> Import:
    return db.session.get(Import, import_id) or abort(404)


@bp.route("/imports/<int:import_id>")
@login_required
@require("fvt_tab.import")
def import_report(import_id: int):
    imp = _import_or_404(import_id)
    issues = db.paginate(sa.select(ImportIssue).where(ImportIssue.import_id == imp.id).order_by(ImportIssue.id),
                         per_page=50, error_out=False)
    return render_template("fvt_tab/import.html", imp=imp, issues=issues, state=_state(imp),
                           dimension_labels=DIMENSION_LABELS)


def _state(imp: Import) -> dict:
    job = db.session.get(Job, imp.job_id) if imp.job_id else None
    pct = 0
    if imp.status in ("done", "failed"):
        pct = 100
    elif imp.status == "running" and job is not None and job.key == "fvt_tab.import" and job.progress_total:
        # An upload's job counts its one import from 0 to 100 (the demo's job counts its deliveries).
        pct = min(99, 100 * job.progress // job.progress_total)
    return {"status": imp.status, "progress": int(pct or 0), "error": imp.error}


@bp.route("/imports/<int:import_id>/etat")
@login_required
@require("fvt_tab.import")
def import_state(import_id: int):
    return jsonify(_state(_import_or_404(import_id)))


@bp.route("/profils", methods=["GET", "POST"])
@login_required
@require("fvt_tab.manage")
def profiles():
    form = MappingProfileForm()
    if form.validate_on_submit():
        if db.session.scalar(sa.select(MappingProfile.id).where(MappingProfile.name == form.name.data.strip())):
            form.name.errors = [*form.name.errors, _("Un profil porte déjà ce nom.")]
        else:
            periods = [p.strip() for p in (form.period_columns.data or "").split(";") if p.strip()]
            db.session.add(MappingProfile(
                name=form.name.data.strip(), sheet=(form.sheet.data or "").strip(), header_row=form.header_row.data,
                date_column=(form.date_column.data or "").strip(), zone_column=(form.zone_column.data or "").strip(),
                value_column=(form.value_column.data or "").strip(), period_columns=periods,
                family=form.family.data, category=form.category.data, provenance=form.provenance.data,
                zone_code=(form.zone_code.data or "").strip()))
            audit("fvt.profile_create", summary=form.name.data.strip())
            db.session.commit()
            flash(_("Profil enregistré."), "success")
            return redirect(url_for("fvt_tab.profiles"))
    rows = db.session.scalars(sa.select(MappingProfile).order_by(MappingProfile.name)).all()
    return render_template("fvt_tab/profiles.html", form=form, rows=rows), 400 if form.errors else 200


@lru_cache(maxsize=16)
def _number_symbols(locale: str) -> tuple[str, str, str]:
    from babel.numbers import get_decimal_symbol, get_group_symbol, get_minus_sign_symbol

    return get_group_symbol(locale), get_decimal_symbol(locale), get_minus_sign_symbol(locale)


@bp.app_template_filter("fvt_number")
def fvt_number(value) -> str:
    """« 427 490 », « 3,97 »: figures as French readers write them; « — » when there are no data.

    What ``format_decimal`` writes (grouping, up to three decimals), with the locale's symbols read
    once per request: a year's page shows about 1,300 figures, and Babel's own formatting of each
    took half the page's time."""
    if value is None:
        return "—"
    symbols = getattr(request, "_fvt_number_symbols", None) if has_request_context() else None
    if symbols is None:
        from flask_babel import get_locale

        symbols = _number_symbols(str(get_locale()))
        if has_request_context():  # one request, one locale
            request._fvt_number_symbols = symbols
    group, decimal, minus = symbols
    if isinstance(value, int):
        text = f"{abs(value):,}"
    else:
        text = f"{abs(value):,.3f}".rstrip("0").rstrip(".")
        if text == "0":
            value = 0
    text = text.replace(".", "\x00").replace(",", group).replace("\x00", decimal)
    return minus + text if value < 0 else text


@bp.app_template_global("fvt_daily_rows")
def fvt_daily_rows(curve: dict) -> Markup:
    """The rows of the daily curve's data table (a day, each series, N-1 aligned). Built here, not
    by a Jinja loop: a year is 365 rows of up to eight figures, and the loop's per-cell filter calls
    and escapes were a third of the tab's rendering time. Only figures and dates go in (no text)."""
    columns = [s["valeurs"] for s in curve["series"]]
    if curve.get("n1"):
        columns.append(curve["n1"]["valeurs"])
    rows = []
    for i, iso in enumerate(curve["jours"]):
        cells = "".join(f"<td>{fvt_number(values[i] if i < len(values) else None)}</td>" for values in columns)
        rows.append(f'<tr><th scope="row">{iso[8:10]}/{iso[5:7]}/{iso[0:4]}</th>{cells}</tr>')
    return Markup("".join(rows))  # noqa: S704 — ISO dates and fvt_number's digits and symbols only


# The tab's pages register on the same blueprint (they use the helpers above).
from intranet.fvt_tab import tab as _tab  # noqa: E402, F401
