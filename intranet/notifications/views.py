"""The notification centre, preferences, one-click unsubscribe and the admin defaults.

CSRFProtect checks the token of every POST before the view runs (only notifications.unsubscribe
is exempt): views do not check it again. tests/core/test_security_review.py holds that.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from intranet.core import notifications as bus
from intranet.core.audit import audit
from intranet.core.models import User
from intranet.core.permissions import require
from intranet.core.security import MAX_ID, safe_redirect_target
from intranet.core.settings import set_setting
from intranet.core.timeutil import utcnow
from intranet.extensions import csrf, db

bp = Blueprint("notifications", __name__)


def _types_by_category(role: str | None = None):
    """The types by category; with ``role``, only those a person of that role can receive."""
    out: dict[str, list] = {}
    for nt in current_app.extensions["intranet_registry"].notification_types:
        if role is None or nt.reaches(role):
            out.setdefault(str(nt.category or _("Général")), []).append(nt)
    return out


@bp.route("/")
@login_required
def index():
    query = sa.select(bus.Notification).where(bus.Notification.user_id == current_user.id,
                                              bus.Notification.is_web.is_(True))
    if request.args.get("filtre") == "non-lues":
        query = query.where(bus.Notification.read_at.is_(None))
    page = db.paginate(query.order_by(bus.Notification.created_at.desc(), bus.Notification.id.desc()),
                       per_page=30, error_out=False)
    types = {nt.key: nt for nt in current_app.extensions["intranet_registry"].notification_types}
    return render_template("notifications/index.html", page=page, types=types, form=FlaskForm(),
                           only_unread=request.args.get("filtre") == "non-lues")


@bp.route("/<int:notification_id>/ouvrir")
@login_required
def open(notification_id: int):
    n = db.session.get(bus.Notification, notification_id)
    if n is None or n.user_id != current_user.id:
        abort(404)
    if n.read_at is None:
        n.read_at = utcnow()
        db.session.commit()
    return redirect(safe_redirect_target((n.context or {}).get("url"), "/"))


@bp.route("/tout-lire", methods=["POST"])
@login_required
def mark_all_read():
    db.session.execute(sa.update(bus.Notification).where(bus.Notification.user_id == current_user.id,
                                                         bus.Notification.read_at.is_(None))
                       .values(read_at=utcnow()))
    db.session.commit()
    flash(_("Toutes les notifications sont marquées comme lues."), "success")
    return redirect(url_for("notifications.index"))


@bp.route("/compteur")
@login_required
def counter():
    return jsonify(unread=bus.unread_count(current_user))


def _save_choices(user: User | None) -> dict:
    """Read the checkboxes of the preferences table; write them for ``user`` (the types their role
    can receive: the others are not on their page), or return them as the site's defaults."""
    choices = {}
    for nt in current_app.extensions["intranet_registry"].notification_types:
        if user is not None and not nt.reaches(user.role):
            continue
        web = request.form.get(f"web-{nt.key}") == "on"
        email = request.form.get(f"email-{nt.key}") == "on"
        choices[nt.key] = {"web": web, "email": email}
        if user is not None:
            bus.set_preference(user.id, nt.key, web, email, digest=request.form.get(f"digest-{nt.key}") == "on")
    return choices


@bp.route("/preferences", methods=["GET", "POST"])
@login_required
def preferences():
    form = FlaskForm()
    if form.validate_on_submit():
        _save_choices(current_user)
        frequency = request.form.get("frequency", "immediate")
        if frequency in bus.FREQUENCIES:
            bus.set_frequency(current_user.id, frequency)
        for gid in request.form.getlist("unmute"):
            if gid.isdigit() and len(gid) <= 10 and int(gid) <= MAX_ID:
                bus.set_group_muted(current_user.id, int(gid), False)
        db.session.commit()
        flash(_("Vos préférences de notification sont enregistrées."), "success")
        return redirect(url_for("notifications.preferences"))
    types = current_app.extensions["intranet_registry"].notification_types
    prefs = {nt.key: bus.preferences_for([current_user.id], nt.key)[current_user.id] for nt in types}
    muted_ids = db.session.scalars(sa.select(bus.GroupMute.group_id).where(
        bus.GroupMute.user_id == current_user.id)).all()
    muted = {}
    for principal in current_app.extensions["intranet_registry"].audience_principals:
        if principal.kind == "group" and principal.label and muted_ids:
            muted = principal.label(muted_ids)
    return render_template("notifications/preferences.html", form=form,
                           categories=_types_by_category(current_user.role), show_digest=True,
                           prefs=prefs, frequency=bus.frequencies_for([current_user.id])[current_user.id],
                           muted=muted)


@bp.route("/desabonnement/<token>", methods=["GET", "POST"])
@csrf.exempt  # no login and no session: the signed token in the URL is the authorization
def unsubscribe(token: str):
    """The footer link shows a one-button confirmation (GET changes nothing, so the link
    scanners of mail filters cannot unsubscribe anyone); the button, and the RFC 8058 one-click
    POST of mail clients, turn that type's e-mails off."""
    data = bus.read_unsubscribe_token(token)
    if data is None:
        abort(404)
    user_id, type_key = data
    user = db.session.get(User, user_id)
    try:
        nt = bus.notification_type(type_key)
    except KeyError:
        abort(404)
    if user is None:
        abort(404)
    if request.method == "GET":
        return render_template("notifications/unsubscribe_confirm.html", type_label=nt.label, email=user.email,
                               token=token)
    current = bus.preferences_for([user.id], type_key)[user.id]
    bus.set_preference(user.id, type_key, current["web"], False)
    db.session.commit()
    if request.form.get("List-Unsubscribe") == "One-Click":
        return "", 204
    return render_template("notifications/unsubscribed.html", type_label=nt.label, email=user.email)


@bp.route("/admin/defauts", methods=["GET", "POST"])
@require("notifications.defaults.manage")
def admin_defaults():
    form = FlaskForm()
    if form.validate_on_submit():
        if request.form.get("action") == "reset":
            n = bus.reset_everyone_to_defaults()
            audit("notifications.reset_all", summary=_("Préférences de tous les membres remises par défaut"),
                  rows=n)
            db.session.commit()
            flash(_("Les préférences de tous les membres sont revenues aux valeurs par défaut."), "success")
        else:
            set_setting(bus.DEFAULTS_SETTING, _save_choices(None))
            frequency = request.form.get("frequency", "immediate")
            if frequency in bus.FREQUENCIES:
                set_setting(bus.FREQUENCY_SETTING, frequency)
            audit("notifications.defaults", summary=_("Notifications par défaut modifiées"))
            db.session.commit()
            flash(_("Les valeurs par défaut sont enregistrées ; elles s'appliquent aux membres qui n'ont pas "
                    "choisi eux-mêmes."), "success")
        return redirect(url_for("notifications.admin_defaults"))
    types = current_app.extensions["intranet_registry"].notification_types
    prefs = {nt.key: bus.default_channels(nt.key) for nt in types}
    return render_template("notifications/admin_defaults.html", form=form, categories=_types_by_category(),
                           prefs=prefs, frequency=bus.default_frequency())
