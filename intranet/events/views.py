"""Pages of the calendar: month, week and « À venir » views, the event page, proposing and
validating, participation, iCal files and subscriptions, the .ics import, categories.

CSRFProtect checks the token of every POST before the view runs: views do not check it again.
"""

from __future__ import annotations

import calendar as pycalendar
import csv
import io
from datetime import date, datetime, time, timedelta
from typing import NamedTuple
from urllib.parse import urlencode

import sqlalchemy as sa
from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from intranet.core.audiences import describe
from intranet.core.audit import audit
from intranet.core.models import Organization, Territory
from intranet.core.permissions import can, require
from intranet.core.storage import UploadError, delete_stored, save_upload, send_stored
from intranet.core.textfold import french
from intranet.core.timeutil import PARIS, utcnow
from intranet.events import ical, importing, services
from intranet.events.forms import CategoryForm, EventForm, ImportForm, ReviewForm
from intranet.events.models import Category, Event, EventAttachment, Participation
from intranet.events.recurrence import RecurrenceError, build_rule, parse_rule, until_date, zone
from intranet.events.services import EventData, EventError, Filters
from intranet.extensions import db
from intranet.groups.models import Group
from intranet.groups.services import can_see_content, can_see_group, render_group_page, visible_groups

bp = Blueprint("events", __name__)

VIEWS = ("mois", "semaine", "liste")
LIST_SIZE = 25
FEED_DAYS_BACK = 31
FEED_DAYS_AHEAD = 366


# -- helpers --------------------------------------------------------------------------------------

def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and len(value) < 10 else None


def _filters() -> Filters:
    return Filters(category_id=_int_arg("categorie"), organization_id=_int_arg("organisation"),
                   territory_id=_int_arg("territoire"), group_id=_int_arg("groupe"))


def _filter_args(f: Filters) -> dict:
    out = {"categorie": f.category_id, "organisation": f.organization_id, "territoire": f.territory_id,
           "groupe": f.group_id}
    return {k: v for k, v in out.items() if v}


def _anchor_date() -> date:
    try:
        return date.fromisoformat(request.args.get("date", ""))
    except ValueError:
        return services.paris_today()


def _event_or_404(event_id: int) -> Event:
    event = db.session.get(Event, event_id)
    if event is None or not services.can_see(current_user, event):
        abort(404)
    return event


def _paris_midnight(d: date) -> datetime:
    return datetime.combine(d, time(), PARIS)


def _filter_choices() -> dict:
    return {
        "categories": services.categories(active_only=False),
        "organizations": db.session.scalars(sa.select(Organization).order_by(french(Organization.name))).all(),
        "territories": db.session.scalars(sa.select(Territory).order_by(french(Territory.name))).all(),
        "groups": db.session.scalars(visible_groups(current_user).order_by(french(Group.name))).all(),
    }


def _by_day(items) -> dict[date, list]:
    days: dict[date, list] = {}
    for occ, event in items:
        first = occ.start_at.astimezone(PARIS).date()
        last = (occ.end_at - timedelta(seconds=1)).astimezone(PARIS).date()
        day = first
        while day <= last:
            days.setdefault(day, []).append((occ, event))
            day += timedelta(days=1)
    return days


# -- calendar views -------------------------------------------------------------------------------

@bp.route("/")
@login_required
def index():
    view = request.args.get("vue", "mois")
    view = view if view in VIEWS else "mois"
    f = _filters()
    anchor = _anchor_date()
    ctx = {"view": view, "filters": f, "filter_args": _filter_args(f), "anchor": anchor,
           "today": services.paris_today(), **_filter_choices()}
    if view == "mois":
        first = anchor.replace(day=1)
        weeks = pycalendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)
        items = services.occurrences_between(current_user, _paris_midnight(weeks[0][0]),
                                             _paris_midnight(weeks[-1][-1] + timedelta(days=1)), f)
        prev_month = (first - timedelta(days=1)).replace(day=1)
        next_month = (first + timedelta(days=32)).replace(day=1)
        ctx.update(weeks=weeks, days=_by_day(items), month=first, prev=prev_month, next=next_month)
    elif view == "semaine":
        monday = anchor - timedelta(days=anchor.weekday())
        week = [monday + timedelta(days=i) for i in range(7)]
        items = services.occurrences_between(current_user, _paris_midnight(monday),
                                             _paris_midnight(monday + timedelta(days=7)), f)
        ctx.update(week=week, days=_by_day(items), prev=monday - timedelta(days=7), next=monday + timedelta(days=7))
    else:
        page = max(1, _int_arg("page") or 1)
        now = utcnow()
        items = services.occurrences_between(current_user, now, now + timedelta(days=3 * 366), f,
                                             limit=page * LIST_SIZE + 1)
        more = len(items) > page * LIST_SIZE
        ctx.update(items=items[(page - 1) * LIST_SIZE: page * LIST_SIZE], page=page, more=more)
    return render_template("events/index.html", **ctx)


@bp.route("/groupe/<int:group_id>")
@login_required
def group_agenda(group_id: int):
    group = db.session.get(Group, group_id)
    if group is None or not can_see_group(current_user, group):
        abort(404)
    if not can_see_content(current_user, group):
        abort(403)
    items = services.upcoming(current_user, limit=50, f=Filters(group_id=group.id))
    return render_group_page("events/group.html", group, "events.group", items=items)


# -- one event ------------------------------------------------------------------------------------

def _calendar_links(event: Event) -> dict:
    url = services.event_url(event)
    if event.is_all_day:
        start = f"{event.start_local:%Y%m%d}"
        end = f"{(event.end_local.date() + timedelta(days=1)):%Y%m%d}"
    else:
        start = f"{event.start_at:%Y%m%dT%H%M%SZ}"
        end = f"{event.end_at:%Y%m%dT%H%M%SZ}"
    where = services.where_text(event)
    details = f"{url}"
    google = "https://calendar.google.com/calendar/render?" + urlencode(
        {"action": "TEMPLATE", "text": event.title, "dates": f"{start}/{end}", "details": details,
         "location": where, "ctz": event.tz})
    outlook = "https://outlook.office.com/calendar/0/deeplink/compose?" + urlencode(
        {"subject": event.title, "startdt": event.start_at.isoformat() if not event.is_all_day
         else event.start_local.date().isoformat(),
         "enddt": event.end_at.isoformat() if not event.is_all_day else (event.end_local.date() + timedelta(days=1))
         .isoformat(), "allday": "true" if event.is_all_day else "false", "body": details, "location": where,
         "path": "/calendar/action/compose", "rru": "addevent"})
    return {"google": google, "outlook": outlook}


@bp.route("/<int:event_id>")
@login_required
def show(event_id: int):
    event = _event_or_404(event_id)
    mine = db.session.get(Participation, (event.id, current_user.id))
    upcoming = services.next_occurrences(event, 10) if event.rrule else []
    rule = parse_rule(event.rrule)
    counts = dict(db.session.execute(sa.select(Participation.status, sa.func.count()).where(
        Participation.event_id == event.id, Participation.is_waiting.is_(False)).group_by(Participation.status)).all())
    waiting = db.session.scalar(sa.select(sa.func.count()).where(Participation.event_id == event.id,
                                                                 Participation.is_waiting.is_(True))) or 0
    return render_template("events/show.html", event=event, mine=mine, counts=counts, waiting=waiting,
                           upcoming=upcoming, links=_calendar_links(event), audience_text=describe(event.audience),
                           can_edit=services.can_edit(current_user, event),
                           can_validate=can(current_user, "events.validate"),
                           review_form=ReviewForm(), action_form=FlaskForm(), rule=rule,
                           until=until_date(rule["UNTIL"], event.tz) if "UNTIL" in rule else None)


def _form(event: Event | None = None) -> EventForm:
    form = EventForm(obj=event)
    cats = services.categories(active_only=event is None)
    form.category_id.choices = [(0, _("— Sans catégorie —"))] + [(c.id, c.name) for c in cats]
    if current_user.is_animateur:
        orgs = db.session.scalars(sa.select(Organization).order_by(french(Organization.name))).all()
    else:
        ids = {current_user.organization_id} | ({event.organization_id} if event and event.organization_id else set())
        orgs = db.session.scalars(sa.select(Organization).where(Organization.id.in_(ids))).all()
    form.organization_id.choices = [(o.id, o.name) for o in orgs]
    if request.method == "GET":
        if event is not None:
            form.start_date.data, form.end_date.data = event.start_local.date(), event.end_local.date()
            if not event.is_all_day:
                form.start_time.data, form.end_time.data = event.start_local.time(), event.end_local.time()
            rule = parse_rule(event.rrule)
            form.repeat.data = {"WEEKLY": "weekly", "MONTHLY": "monthly"}.get(rule.get("FREQ", ""), "")
            form.repeat_interval.data = int(rule.get("INTERVAL", "1") or 1)
            form.repeat_days.data = [d for d in rule.get("BYDAY", "").split(",") if len(d) == 2]
            if "UNTIL" in rule:
                form.repeat_until.data = until_date(rule["UNTIL"], event.tz)
            form.exceptions.data = "\n".join(date.fromisoformat(d).strftime("%d/%m/%Y") for d in event.exdates or [])
            form.audience.process_data(event.audience)
        else:
            form.organization_id.data = current_user.organization_id
            group_id = _int_arg("groupe")
            if group_id:
                form.audience.process_data({("group", group_id)})
    return form


def _data(form: EventForm) -> EventData:
    """The form as EventData, or EventError with a French message."""
    start_date, end_date = form.start_date.data, form.end_date.data or form.start_date.data
    if form.is_all_day.data:
        start, end = datetime.combine(start_date, time()), datetime.combine(end_date, time())
    else:
        if form.start_time.data is None:
            raise EventError(_("Indiquez l'heure de début, ou cochez « Toute la journée »."))
        start = datetime.combine(start_date, form.start_time.data)
        end_time = form.end_time.data or (start + timedelta(hours=1)).time()
        end = datetime.combine(end_date, end_time)
    exdates = []
    for line in (form.exceptions.data or "").splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            exdates.append(datetime.strptime(line, "%d/%m/%Y").date().isoformat())
        except ValueError as exc:
            raise EventError(_("Date exclue illisible : « %(value)s » (JJ/MM/AAAA).", value=line[:20])) from exc
    tz = (form.tz.data or "Europe/Paris").strip()
    try:
        zone(tz)
    except RecurrenceError as exc:
        raise EventError(_("Fuseau horaire inconnu : %(tz)s.", tz=tz[:64])) from exc
    try:
        rule = build_rule(form.repeat.data or "", start.date(), form.repeat_interval.data or 1,
                          form.repeat_days.data, form.repeat_until.data, tz=tz, all_day=bool(form.is_all_day.data))
    except RecurrenceError as exc:
        raise EventError(_("Répétition invalide.")) from exc
    if rule and form.repeat_until.data and form.repeat_until.data < start.date():
        raise EventError(_("La fin de la répétition est avant le début."))
    targets = form.audience.data or set()
    groups = [t for k, t in targets if k == "group"]
    group_id = groups[0] if len(groups) == 1 and len(targets) == 1 else None
    return EventData(
        title=form.title.data or "", category_id=form.category_id.data or None, description=form.description.data or "",
        tz=tz, is_all_day=bool(form.is_all_day.data), start_local=start, end_local=end, rrule=rule, exdates=exdates,
        place=(form.place.data or "").strip(), commune=(form.commune.data or "").strip(),
        online_url=(form.online_url.data or "").strip(), price_kind=form.price_kind.data or "",
        price_amount=form.price_amount.data if form.price_kind.data == "amount" else None,
        price_text=(form.price_text.data or "").strip() if form.price_kind.data == "text" else "",
        organization_id=form.organization_id.data, contact=(form.contact.data or "").strip(),
        registration_url=(form.registration_url.data or "").strip(), capacity=form.capacity.data,
        group_id=group_id)


def _save_attachment(form: EventForm, event: Event) -> str | None:
    fs = form.attachment.data
    if not fs or not getattr(fs, "filename", ""):
        return None
    stored = save_upload(fs, ["document", "image"])
    event.attachments.append(EventAttachment(key=stored.key, name=stored.original_name,
                                             content_type=stored.content_type, size=stored.size))
    return stored.key


@bp.route("/nouveau", methods=["GET", "POST"])
@login_required
def create():
    form = _form()
    if form.validate_on_submit():
        key = None
        try:
            data = _data(form)
            if data.organization_id not in {c[0] for c in form.organization_id.choices}:
                abort(403)
            event = services.create_event(current_user, data, form.audience.audience())
            key = _save_attachment(form, event)
            db.session.commit()
        except (EventError, UploadError) as exc:
            db.session.rollback()
            if key:
                delete_stored(key)
            form.title.errors = [*form.title.errors, str(exc)]
        else:
            if event.status == "published":
                flash(_("Événement publié dans l'agenda."), "success")
            else:
                flash(_("Merci ! Votre événement attend la validation de l'agence ; vous serez prévenu."), "success")
            return redirect(url_for("events.show", event_id=event.id))
    return render_template("events/form.html", form=form, event=None), 400 if form.errors else 200


@bp.route("/<int:event_id>/modifier", methods=["GET", "POST"])
@login_required
def edit(event_id: int):
    event = _event_or_404(event_id)
    if not services.can_edit(current_user, event) or event.status == "cancelled":
        abort(403)
    form = _form(event)
    if form.validate_on_submit():
        key = None
        try:
            data = _data(form)
            if data.organization_id not in {c[0] for c in form.organization_id.choices}:
                abort(403)
            outcome = services.update_event(current_user, event, data, form.audience.audience())
            key = _save_attachment(form, event)
            db.session.commit()
        except (EventError, UploadError) as exc:
            db.session.rollback()
            if key:
                delete_stored(key)
            form.title.errors = [*form.title.errors, str(exc)]
        else:
            flash(_("Modifications enregistrées ; l'événement repasse en validation.") if outcome == "revalidate"
                  else _("Modifications enregistrées."), "success")
            return redirect(url_for("events.show", event_id=event.id))
    return render_template("events/form.html", form=form, event=event), 400 if form.errors else 200


@bp.route("/<int:event_id>/supprimer", methods=["POST"])
@login_required
def delete(event_id: int):
    event = _event_or_404(event_id)
    if not services.can_edit(current_user, event):
        abort(403)
    keys = services.delete_event(event)
    db.session.commit()
    for key in keys:
        delete_stored(key)
    flash(_("Événement supprimé."), "success")
    return redirect(url_for("events.index"))


@bp.route("/<int:event_id>/annuler", methods=["POST"])
@login_required
def cancel(event_id: int):
    event = _event_or_404(event_id)
    if not services.can_edit(current_user, event):
        abort(403)
    try:
        services.cancel(current_user, event)
        db.session.commit()
    except EventError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
    else:
        flash(_("Événement annulé : il reste affiché « Annulé » et les participants sont prévenus."), "success")
    return redirect(url_for("events.show", event_id=event.id))


# -- validation -----------------------------------------------------------------------------------

@bp.route("/mes-propositions")
@login_required
def mine():
    """The events a person proposed, those waiting first: where each one stands, and the agency's note."""
    waiting = sa.case((Event.status.in_(("pending", "changes_requested")), 0), else_=1)
    query = (sa.select(Event).where(Event.author_id == current_user.id)
             .order_by(waiting, Event.created_at.desc(), Event.id.desc()))
    page = db.paginate(query, per_page=current_app.config["PAGE_SIZE"], error_out=False)
    return render_template("events/mine.html", page=page)


@bp.route("/a-valider")
@login_required
@require("events.validate")
def to_validate():
    page = db.paginate(services.to_validate(), per_page=current_app.config["PAGE_SIZE"], error_out=False)
    return render_template("events/to_validate.html", page=page, review_form=ReviewForm())


@bp.route("/<int:event_id>/<any(valider, modifications, refuser):decision>", methods=["POST"])
@login_required
@require("events.validate")
def review(event_id: int, decision: str):
    event = _event_or_404(event_id)
    form = ReviewForm()
    try:
        if decision == "valider":
            services.validate(current_user, event)
            message = _("Événement validé et publié ; le proposant est prévenu.")
        elif decision == "modifications":
            services.request_changes(current_user, event, form.note.data or "")
            message = _("Demande de modifications envoyée au proposant.")
        else:
            services.refuse(current_user, event, form.note.data or "")
            message = _("Événement refusé ; le proposant reçoit la raison.")
        db.session.commit()
    except EventError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
        return redirect(url_for("events.show", event_id=event.id))
    flash(message, "success")
    return redirect(url_for("events.to_validate"))


# -- participation --------------------------------------------------------------------------------

@bp.route("/<int:event_id>/participation", methods=["POST"])
@login_required
def participate(event_id: int):
    event = _event_or_404(event_id)
    try:
        p = services.set_participation(current_user, event, request.form.get("status", ""))
        db.session.commit()
    except EventError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
    else:
        if p.is_waiting:
            flash(_("L'événement est complet : vous êtes sur la liste d'attente."), "warning")
        else:
            flash(_("Réponse enregistrée."), "success")
    return redirect(url_for("events.show", event_id=event.id))


def _participants_or_403(event_id: int) -> Event:
    event = _event_or_404(event_id)
    if not services.can_see_participants(current_user, event):
        abort(403)
    return event


@bp.route("/<int:event_id>/participants")
@login_required
def participants(event_id: int):
    event = _participants_or_403(event_id)
    return render_template("events/participants.html", event=event, rows=services.participants(event))


@bp.route("/<int:event_id>/participants.csv")
@login_required
def participants_csv(event_id: int):
    event = _participants_or_403(event_id)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow([_("Nom"), _("Organisation"), _("E-mail"), _("Réponse"), _("Liste d'attente"), _("Répondu le")])
    labels = {"yes": _("Je participe"), "maybe": _("Peut-être"), "no": _("Je ne participe pas")}
    for p in services.participants(event):
        writer.writerow([_csv_safe(p.user.name), _csv_safe(p.user.organization.name), p.user.email,
                         labels[p.status], _("oui") if p.is_waiting else _("non"),
                         p.created_at.astimezone(PARIS).strftime("%d/%m/%Y %H:%M")])
    # A BOM so that Excel opens the accents right.
    return Response("\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="participants-{event.id}.csv"'})


def _csv_safe(value: str) -> str:
    """A cell a spreadsheet will not run as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


# -- files and iCal -------------------------------------------------------------------------------

@bp.route("/<int:event_id>/fichiers/<int:attachment_id>")
@login_required
def attachment(event_id: int, attachment_id: int):
    event = _event_or_404(event_id)
    a = db.session.get(EventAttachment, attachment_id)
    if a is None or a.event_id != event.id:
        abort(404)
    try:
        return send_stored(a.key, a.name)
    except FileNotFoundError:
        abort(404)


def _ics_response(body: str, filename: str) -> Response:
    return Response(body, content_type="text/calendar; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def build_calendar(items: list[tuple], name: str) -> str:
    """A VCALENDAR of ``items``: (event, category name, organizer name) each; the event is an
    ``Event`` or a row of ``services.feed_events`` (whose texts are kept, see ``ical.vevent_of_row``)."""
    url_of = services.event_url_maker()
    texts = [(ical.vevent_of_row if isinstance(e, sa.Row) else ical.vevent)(e, url_of(e.id), category or "",
                                                                             organizer or "")
             for e, category, organizer in items]
    zones = {e.tz for e, _c, _o in items if not e.is_all_day}
    return ical.calendar(name, f"-//{current_app.config['SITE_NAME']}//Agenda//FR", texts, zones, utcnow())


#: Part of every calendar ETag: raised when what is written for the same rows changes (the
#: RRULE-style VTIMEZONE of Europe/Paris was "2"), so clients fetch the new text once.
ICS_FORMAT = "2"
#: Calendar apps may keep a file this long without asking; then they revalidate (a 304 is cheap).
ICS_MAX_AGE = 300


class _EventVersion(NamedTuple):
    """One event as ``services.feed_version`` reads a feed row."""

    id: int
    updated_at: datetime
    sequence: int
    status: str
    category_name: str
    organizer: str


def _not_modified(etag: str, last_modified: datetime | None) -> bool:
    """RFC 9110 §13.2.2: If-None-Match decides when sent (If-Modified-Since is then ignored);
    else If-Modified-Since, compared with Last-Modified at the second."""
    if request.if_none_match:
        return request.if_none_match.contains_weak(etag)  # GET: the weak comparison applies
    since = request.if_modified_since
    return since is not None and last_modified is not None and last_modified.replace(microsecond=0) <= since


def _validated(response: Response, etag: str, last_modified: datetime | None) -> Response:
    response.set_etag(etag)
    if last_modified is not None:
        response.last_modified = last_modified.replace(microsecond=0)
    response.cache_control.private = True
    response.cache_control.max_age = ICS_MAX_AGE
    response.cache_control.must_revalidate = True
    return response


def _not_modified_response(etag: str, last_modified: datetime | None) -> Response:
    return _validated(Response(status=304), etag, last_modified)


@bp.route("/<int:event_id>/evenement.ics")
@login_required
def event_ics(event_id: int):
    event = _event_or_404(event_id)
    if not event.is_listed:
        abort(404)
    category, organizer = (event.category.name if event.category else "",
                           event.organization.name if event.organization else "")
    etag, last_modified = services.feed_version(
        [_EventVersion(event.id, event.updated_at, event.sequence, event.status, category, organizer)],
        "event", ICS_FORMAT, current_app.config["SITE_NAME"], request.host_url)
    if _not_modified(etag, last_modified):
        return _not_modified_response(etag, last_modified)
    response = _ics_response(build_calendar([(event, category, organizer)], event.title), f"evenement-{event.id}.ics")
    return _validated(response, etag, last_modified)


@bp.route("/abonnement")
@login_required
def subscription():
    token = services.calendar_token(current_user)
    f = _filters()
    filtered = url_for("events.feed", token=token.token, _external=True, **_filter_args(f)) \
        if token and _filter_args(f) else None
    return render_template("events/subscription.html", token=token, action_form=FlaskForm(), filters=f,
                           filtered=filtered, **_filter_choices())


@bp.route("/abonnement/<any(renouveler, revoquer):action>", methods=["POST"])
@login_required
def subscription_action(action: str):
    if action == "renouveler":
        had_one = services.calendar_token(current_user) is not None
        services.renew_token(current_user)
        flash(_("Nouvelle adresse d'abonnement créée ; l'ancienne ne fonctionne plus.") if had_one
              else _("Adresse d'abonnement créée."), "success")
    else:
        services.revoke_token(current_user)
        flash(_("Adresse d'abonnement révoquée."), "success")
    db.session.commit()
    return redirect(url_for("events.subscription"))


@bp.route("/ical/<token>.ics")
def feed(token: str):
    """A member's personal feed: no session (calendar apps have none); the secret token is the key."""
    user = services.user_for_token(token)
    if user is None:
        abort(404)
    now, f = utcnow(), _filters()
    window = (now - timedelta(days=FEED_DAYS_BACK), now + timedelta(days=FEED_DAYS_AHEAD))
    # The person and the parameters are in the ETag: two filtered feeds never share one.
    salt = ("feed", ICS_FORMAT, user.id, tuple(sorted(_filter_args(f).items())), current_app.config["SITE_NAME"],
            request.host_url)
    if request.if_none_match or request.if_modified_since:
        # A poll: the validator from a few narrow columns; the body is built only if it changed.
        etag, last_modified = services.feed_version(services.feed_events(user, f, *window, version_only=True),
                                                    *salt)
        if _not_modified(etag, last_modified):
            return _not_modified_response(etag, last_modified)
    events = services.feed_events(user, f, *window)
    etag, last_modified = services.feed_version(events, *salt)
    items = [(row, row.category_name, row.organizer) for row in events]
    response = _ics_response(build_calendar(items, current_app.config["SITE_NAME"]), "agenda.ics")
    response.headers["Content-Disposition"] = 'inline; filename="agenda.ics"'
    return _validated(response, etag, last_modified)


# -- import ---------------------------------------------------------------------------------------

MAX_ICS_BYTES = 2 * 1024 * 1024


@bp.route("/importer", methods=["GET", "POST"])
@login_required
@require("events.import")
def import_ics():
    form = ImportForm()
    form.category_id.choices = [(c.id, c.name) for c in services.categories()]
    items, planned, content, error = None, None, "", None
    if form.validate_on_submit():
        confirm = request.form.get("confirm") == "1"
        if confirm:
            content = form.content.data or ""
        else:
            fs = form.file.data
            raw = fs.read(MAX_ICS_BYTES + 1) if fs and getattr(fs, "filename", "") else b""
            if not raw:
                error = _("Choisissez un fichier .ics.")
            elif len(raw) > MAX_ICS_BYTES:
                error = _("Le fichier dépasse 2 Mo.")
            else:
                content = raw.decode("utf-8-sig", errors="replace")
        if content and not error:
            try:
                items = ical.read_events(content.encode("utf-8"))
            except ical.ImportError_ as exc:
                error, items = str(exc), None
            if items is not None and not items:
                error = _("Le fichier ne contient aucun événement.")
        planned = importing.plan(items, form.category_id.data) if items else None
        if items and not error and confirm:
            bad = [p for p in planned if p.state == importing.INVALID]
            if bad:
                error = _("Corrigez le fichier : %(n)d événement(s) ne peuvent pas être importés.", n=len(bad))
            else:
                try:
                    importing.apply(current_user, planned, form.category_id.data)
                    audit("event.import", summary=importing.summary(planned), count=len(planned))
                    db.session.commit()
                except EventError as exc:
                    db.session.rollback()
                    error = _("Rien n'a été importé : %(detail)s", detail=str(exc))
                else:
                    flash(_("Import terminé : %(summary)s.", summary=importing.summary(planned)), "success")
                    return redirect(url_for("events.index", vue="liste"))
    return render_template("events/import.html", form=form, items=items, planned=planned, content=content,
                           error=error, summary=importing.summary(planned) if planned else ""), \
        400 if error else 200


# -- categories (admins) --------------------------------------------------------------------------

@bp.route("/admin/categories", methods=["GET", "POST"])
@login_required
@require("events.categories")
def categories():
    form = CategoryForm()
    if form.validate_on_submit():
        if db.session.scalar(sa.select(Category.id).where(Category.name == form.name.data.strip())):
            form.name.errors = [*form.name.errors, _("Cette catégorie existe déjà.")]
        else:
            category = Category(name=form.name.data.strip(), color=form.color.data.lower(),
                                position=form.position.data or 0, is_active=form.is_active.data)
            db.session.add(category)
            db.session.flush()
            audit("event.category_create", category, summary=category.name)
            db.session.commit()
            flash(_("Catégorie ajoutée."), "success")
            return redirect(url_for("events.categories"))
    return render_template("events/categories.html", form=form, rows=services.categories(active_only=False)), \
        400 if form.errors else 200


@bp.route("/admin/categories/<int:category_id>", methods=["GET", "POST"])
@login_required
@require("events.categories")
def category_edit(category_id: int):
    category = db.get_or_404(Category, category_id)
    form = CategoryForm(obj=category)
    if form.validate_on_submit():
        clash = db.session.scalar(sa.select(Category.id).where(Category.name == form.name.data.strip(),
                                                               Category.id != category.id))
        if clash:
            form.name.errors = [*form.name.errors, _("Cette catégorie existe déjà.")]
        else:
            category.name, category.color = form.name.data.strip(), form.color.data.lower()
            category.position, category.is_active = form.position.data or 0, form.is_active.data
            audit("event.category_update", category, summary=category.name)
            db.session.commit()
            flash(_("Catégorie enregistrée."), "success")
            return redirect(url_for("events.categories"))
    return render_template("events/category_form.html", form=form, category=category), 400 if form.errors else 200


@bp.app_template_global()
def events_repeat(event: Event) -> str:
    """« chaque semaine »: how a series repeats, in a list where it shows once."""
    freq = parse_rule(event.rrule).get("FREQ")
    return {"DAILY": _("chaque jour"), "WEEKLY": _("chaque semaine"), "MONTHLY": _("chaque mois"),
            "YEARLY": _("chaque année")}.get(freq, "")


@bp.app_template_global()
def events_when(event: Event, start_at=None, end_at=None) -> str:
    return services.when_text(event, start_at, end_at)


@bp.app_template_global()
def events_show_url(event_id: int) -> str:
    """The event page's path, ``url_for`` run once per request (a month draws hundreds of chips)."""
    from flask import g

    url_of = g.get("_events_url_of")
    if url_of is None:
        url_of = g._events_url_of = services.event_url_maker(external=False)
    return url_of(event_id)


@bp.app_template_global()
def events_paris_time(dt) -> str:
    return services.paris_time(dt)


@bp.app_template_global()
def events_where(event: Event) -> str:
    return services.where_text(event)


@bp.app_template_global()
def events_price(event: Event) -> str:
    return services.price_text(event)



@bp.route("/categories.css")
def category_css():
    """The categories' colours (admins choose them; the CSP forbids inline styles)."""
    colors = sorted({c.color.lower() for c in services.categories(active_only=False)
                     if len(c.color) == 7 and all(ch in "0123456789abcdef" for ch in c.color[1:].lower())})
    body = "".join(f".event-color-{c[1:]}{{background-color:{c};}}\n.event-border-{c[1:]}{{border-left-color:{c};}}\n"
                   for c in colors)
    response = Response(body, mimetype="text/css")
    response.cache_control.max_age = 300
    return response


@bp.app_template_global()
def today_year() -> str:
    return str(services.paris_today().year)


@bp.app_template_global()
def events_audience(event: Event) -> str:
    """« Visible par » in plain French; one description per audience and request (lists share them)."""
    from flask import g

    cache = g.setdefault("_events_audiences", {})
    if event.audience_id not in cache:
        cache[event.audience_id] = describe(event.audience)
    return cache[event.audience_id]
