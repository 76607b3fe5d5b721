"""Pages of the accounts plugin.

CSRFProtect checks the token of every POST before the view runs (only notifications.unsubscribe
is exempt): views do not check it again. tests/core/test_security_review.py holds that.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from werkzeug.datastructures import FileStorage

from intranet.accounts import services
from intranet.accounts.forms import (
    ChangePasswordForm,
    ChoosePasswordForm,
    CsvImportForm,
    ForgotForm,
    InviteForm,
    LoginForm,
    ProfileForm,
    UserAdminForm,
)
from intranet.accounts.services import AccountError
from intranet.core.audit import audit
from intranet.core.models import Organization, User
from intranet.core.permissions import require
from intranet.core.security import safe_redirect_target
from intranet.core.signals import user_activated, user_status_changed
from intranet.core.storage import UploadError, delete_stored, save_image, send_stored
from intranet.core.textfold import contains, french
from intranet.extensions import db

bp = Blueprint("accounts", __name__)


def _safe_next(target: str | None) -> str:
    # Only same-site paths: "/x" but never "//evil.example", "/\\evil.example" or "http://…".
    return safe_redirect_target(target, url_for("core.dashboard"))


def _client_ip() -> str:
    return request.remote_addr or "?"


# -- login and logout -----------------------------------------------------------------------

@bp.route("/connexion", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("core.dashboard"))
    form = LoginForm()
    error, status = None, 200
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data, _client_ip())
        except AccountError as exc:
            db.session.commit()  # keep the recorded failure
            error = str(exc)
            status = 429 if isinstance(exc, services.ThrottledError) else 200
        else:
            db.session.commit()
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
    return render_template("accounts/login.html", form=form, error=error), status


@bp.route("/deconnexion", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        services.end_sessions(current_user)
        db.session.commit()
    logout_user()
    flash(_("Vous êtes déconnecté."), "info")
    return redirect(url_for("accounts.login"))


# -- invitation, forgotten password ---------------------------------------------------------

@bp.route("/invitation/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    tok, state = services.find_token(token, "invitation")
    if state != "ok":
        return render_template("accounts/link_invalid.html", state=state, kind="invitation", token=token,
                               form=FlaskForm()), 410 if state in ("expired", "used") else 404
    form = ChoosePasswordForm()
    if form.validate_on_submit():
        try:
            user = services.use_token(tok, form.password.data)
        except AccountError as exc:
            form.password.errors.append(str(exc))
        else:
            db.session.commit()
            user_activated.send(current_app._get_current_object(), user=user)
            logout_user()
            login_user(user)
            user.last_login_at = user.last_login_at or tok.used_at
            db.session.commit()
            flash(_("Bienvenue %(name)s ! Votre mot de passe est enregistré.", name=user.name), "success")
            return redirect(url_for("core.dashboard"))
    return render_template("accounts/choose_password.html", form=form, user=tok.user, kind="invitation")


@bp.route("/invitation/<token>/renouveler", methods=["POST"])
def renew_invitation(token: str):
    """From an expired invitation page: send a fresh invitation to the address on file."""
    tok, state = services.find_token(token, "invitation")
    if tok is not None and state == "expired" and not tok.user.has_password and tok.user.is_active_account:
        services.send_invitation(tok.user, None)
        db.session.commit()
    flash(_("Si ce lien correspondait à une invitation en attente, une nouvelle invitation vient d'être "
            "envoyée par e-mail."), "info")
    return redirect(url_for("accounts.login"))


@bp.route("/mot-de-passe-oublie", methods=["GET", "POST"])
def forgot_password():
    form = ForgotForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data)
        db.session.commit()
        flash(_("Si un compte existe pour cette adresse, un e-mail avec un lien valable une heure vient "
                "d'être envoyé."), "info")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/forgot.html", form=form)


@bp.route("/reinitialiser/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    tok, state = services.find_token(token, "reset")
    if state != "ok":
        return render_template("accounts/link_invalid.html", state=state, kind="reset", token=token,
                               form=FlaskForm()), 410 if state in ("expired", "used") else 404
    form = ChoosePasswordForm()
    if form.validate_on_submit():
        try:
            services.use_token(tok, form.password.data)
        except AccountError as exc:
            form.password.errors.append(str(exc))
        else:
            services.clear_failures(tok.user.email)
            db.session.commit()
            logout_user()
            flash(_("Votre mot de passe a été changé. Connectez-vous avec le nouveau."), "success")
            return redirect(url_for("accounts.login"))
    return render_template("accounts/choose_password.html", form=form, user=tok.user, kind="reset")


@bp.route("/mot-de-passe", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        if not services.verify_password(current_user, form.current.data):
            form.current.errors.append(_("Le mot de passe actuel est incorrect."))
        else:
            try:
                services.set_password(current_user, form.password.data)
            except AccountError as exc:
                form.password.errors.append(str(exc))
            else:
                db.session.commit()
                # This browser keeps its session with the new version; all others end.
                login_user(current_user._get_current_object())
                flash(_("Votre mot de passe a été changé. Vos autres sessions sont fermées."), "success")
                return redirect(url_for("accounts.profile", user_id=current_user.id))
    return render_template("accounts/change_password.html", form=form)


# -- profiles and directory -----------------------------------------------------------------

@bp.route("/personnes/<int:user_id>")
@login_required
def profile(user_id: int):
    user = db.get_or_404(User, user_id)
    if not user.is_active_account and not current_user.is_admin:
        abort(404)
    # Sections are HTML rendered by the plugins' own (autoescaped) templates, as dashboard widgets are.
    sections = [Markup(s(user)) for s in current_app.extensions["intranet_registry"].profile_sections]  # noqa: S704
    return render_template("accounts/profile.html", user=user, sections=sections)


@bp.route("/personnes/<int:user_id>/photo")
@login_required
def photo(user_id: int):
    user = db.get_or_404(User, user_id)
    if not user.photo or (not user.is_active_account and not current_user.is_admin):
        abort(404)  # like the profile: a deactivated person is gone for everyone but admins
    return send_stored(user.photo, f"photo-{user.id}", as_attachment=False)


@bp.route("/profil", methods=["GET", "POST"])
@login_required
def edit_profile():
    user = current_user._get_current_object()
    form = ProfileForm(obj=user)
    if form.validate_on_submit():
        key = None
        # Without a new file the field holds the current photo key (form built from the user).
        if isinstance(form.photo.data, FileStorage) and form.photo.data.filename:
            try:
                key = save_image(form.photo.data, max_side=512).key
            except UploadError as exc:
                form.photo.errors.append(str(exc))
        if not form.photo.errors:
            user.name = " ".join(form.name.data.split())
            user.job_title = (form.job_title.data or "").strip()
            user.phone = (form.phone.data or "").strip()
            user.bio = (form.bio.data or "").strip()
            user.locale = form.locale.data
            if key:
                old, user.photo = user.photo, key
                if old:
                    delete_stored(old)
            db.session.commit()
            flash(_("Votre profil a été enregistré."), "success")
            return redirect(url_for("accounts.profile", user_id=user.id))
    return render_template("accounts/edit_profile.html", form=form)


@bp.route("/annuaire")
@require("accounts.directory.view")
def directory():
    q = (request.args.get("q") or "").strip()[:100]
    org_id = request.args.get("organisation", type=int)
    # Only people who joined: an invitation not yet accepted is not yet a colleague to contact.
    query = sa.select(User).where(User.is_active_account.is_(True), User.password_hash.is_not(None))
    if q:
        query = query.join(Organization, User.organization_id == Organization.id).where(sa.or_(
            contains(User.name, q), contains(Organization.name, q), contains(User.job_title, q)))
    if org_id:
        query = query.where(User.organization_id == org_id)
    page = db.paginate(query.order_by(french(User.name), User.id), per_page=current_app.config["PAGE_SIZE"],
                       error_out=False)
    orgs = db.session.scalars(sa.select(Organization).order_by(french(Organization.name))).all()
    return render_template("accounts/directory.html", page=page, q=q, org_id=org_id, orgs=orgs)


# -- admin ----------------------------------------------------------------------------------

def _org_choices():
    return [(o.id, o.name) for o in db.session.scalars(sa.select(Organization).order_by(french(Organization.name)))]


@bp.route("/admin/utilisateurs")
@require("accounts.users.manage")
def admin_users():
    q = (request.args.get("q") or "").strip()[:100]
    status = request.args.get("statut", "")
    query = sa.select(User)
    if q:
        query = query.where(sa.or_(contains(User.name, q), contains(User.email, q)))
    if status == "invites":
        query = query.where(User.password_hash.is_(None), User.is_active_account.is_(True))
    elif status == "desactives":
        query = query.where(User.is_active_account.is_(False))
    page = db.paginate(query.order_by(french(User.name), User.id), per_page=50, error_out=False)
    return render_template("accounts/admin_users.html", page=page, q=q, status=status, form=FlaskForm())


@bp.route("/admin/utilisateurs/inviter", methods=["GET", "POST"])
@require("accounts.users.manage")
def admin_invite():
    form = InviteForm()
    form.organization_id.choices = _org_choices()
    if form.validate_on_submit():
        try:
            user = services.invite(form.name.data, form.email.data,
                                   db.session.get(Organization, form.organization_id.data),
                                   form.role.data, current_user)
        except AccountError as exc:
            form.email.errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Invitation envoyée à %(email)s.", email=user.email), "success")
            return redirect(url_for("accounts.admin_users"))
    return render_template("accounts/admin_invite.html", form=form)


@bp.route("/admin/utilisateurs/<int:user_id>", methods=["GET", "POST"])
@require("accounts.users.manage")
def admin_user(user_id: int):
    user = _managed_user(user_id)
    form = UserAdminForm(obj=user)
    form.organization_id.choices = _org_choices()
    if form.validate_on_submit():
        if user.id == current_user.id and user.role == "admin" and form.role.data != "admin":
            flash(_("Vous ne pouvez pas retirer votre propre rôle d'administrateur."), "danger")
        elif form.role.data == "admin" and not current_user.is_admin:
            flash(_("Seul un administrateur peut nommer un administrateur."), "danger")
        else:
            before = (user.role, user.organization.name)
            user.role = form.role.data
            user.organization_id = form.organization_id.data
            db.session.flush()
            db.session.refresh(user)
            # The journal shows the summary: say what changed, not only whose account.
            changes = []
            if before[0] != user.role:
                changes.append(_("rôle %(old)s → %(new)s", old=before[0], new=user.role))
            if before[1] != user.organization.name:
                changes.append(_("organisation %(old)s → %(new)s", old=before[1], new=user.organization.name))
            audit("user.update", user, summary=" : ".join([user.email, ", ".join(changes)]) if changes
                  else user.email, role=[before[0], user.role], organization=[before[1], user.organization.name])
            db.session.commit()
            flash(_("Le compte de %(name)s a été modifié.", name=user.name), "success")
            return redirect(url_for("accounts.admin_users"))
    return render_template("accounts/admin_user.html", form=form, user=user, action_form=FlaskForm())


def _managed_user(user_id: int) -> User:
    """The account to manage. The permission may be granted to animateurs: only an admin
    manages an admin account (and names admins), so a delegate never takes over the site."""
    user = db.get_or_404(User, user_id)
    if user.role == "admin" and not current_user.is_admin:
        abort(403)
    return user


@bp.route("/admin/utilisateurs/<int:user_id>/renvoyer", methods=["POST"])
@require("accounts.users.manage")
def admin_resend(user_id: int):
    user = _managed_user(user_id)
    if user.has_password:
        flash(_("%(name)s a déjà choisi un mot de passe : utilisez « Mot de passe oublié ».", name=user.name),
              "warning")
    elif not user.is_active_account:
        flash(_("Ce compte est désactivé."), "warning")
    else:
        services.send_invitation(user, current_user)
        audit("user.resend_invitation", user, summary=user.email)
        db.session.commit()
        flash(_("Nouvelle invitation envoyée à %(email)s.", email=user.email), "success")
    return redirect(url_for("accounts.admin_users"))


@bp.route("/admin/utilisateurs/<int:user_id>/desactiver", methods=["POST"])
@require("accounts.users.manage")
def admin_deactivate(user_id: int):
    user = _managed_user(user_id)
    if user.id == current_user.id:
        flash(_("Vous ne pouvez pas désactiver votre propre compte."), "danger")
        return redirect(url_for("accounts.admin_users"))
    user.is_active_account = False
    services.end_sessions(user)
    audit("user.deactivate", user, summary=user.email)
    user_status_changed.send(current_app._get_current_object(), user=user, actor=current_user, active=False)
    db.session.commit()
    flash(_("Le compte de %(name)s est désactivé.", name=user.name), "success")
    return redirect(url_for("accounts.admin_users"))


@bp.route("/admin/utilisateurs/<int:user_id>/reactiver", methods=["POST"])
@require("accounts.users.manage")
def admin_reactivate(user_id: int):
    user = _managed_user(user_id)
    user.is_active_account = True
    audit("user.reactivate", user, summary=user.email)
    user_status_changed.send(current_app._get_current_object(), user=user, actor=current_user, active=True)
    db.session.commit()
    flash(_("Le compte de %(name)s est réactivé.", name=user.name), "success")
    return redirect(url_for("accounts.admin_users"))


@bp.route("/admin/utilisateurs/import", methods=["GET", "POST"])
@require("accounts.users.manage")
def admin_import():
    form = CsvImportForm()
    report = None
    if form.validate_on_submit():
        upload = form.file.data
        if not upload or not upload.filename:
            form.file.errors.append(_("Choisissez un fichier CSV."))
        else:
            try:
                report = services.bulk_invite(upload.read(), current_user)
            except AccountError as exc:
                db.session.rollback()
                form.file.errors.append(str(exc))
            else:
                db.session.commit()
    return render_template("accounts/admin_import.html", form=form, report=report)
