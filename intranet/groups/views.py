"""Pages of the groups plugin.

CSRFProtect checks the token of every POST before the view runs (only notifications.unsubscribe
is exempt): views do not check it again. tests/core/test_security_review.py holds that.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from intranet.core.audit import audit
from intranet.core.models import User
from intranet.core.notifications import set_group_muted
from intranet.core.permissions import require
from intranet.core.security import safe_redirect_target
from intranet.core.storage import UploadError, delete_stored, save_image, send_stored
from intranet.core.textfold import contains, french
from intranet.extensions import db
from intranet.groups import services
from intranet.groups.forms import GroupForm, InviteMemberForm
from intranet.groups.models import Group, GroupRequest, Membership
from intranet.groups.services import GroupError, render_group_page

bp = Blueprint("groups", __name__)


def _group_or_404(group_id: int) -> Group:
    group = db.session.get(Group, group_id)
    if group is None or not services.can_see_group(current_user, group):
        abort(404)  # a secret group does not exist for a non-member
    return group


def _member_counts(ids) -> dict[int, int]:
    rows = db.session.execute(sa.select(Membership.group_id, sa.func.count()).where(Membership.group_id.in_(ids))
                              .group_by(Membership.group_id)).all()
    return dict(rows)


@bp.route("/")
@login_required
def index():
    q = (request.args.get("q") or "").strip()[:100]
    query = services.visible_groups(current_user)
    if q:
        query = query.where(contains(Group.name, q))
    page = db.paginate(query.order_by(french(Group.name), Group.id), per_page=current_app.config["PAGE_SIZE"],
                       error_out=False)
    ids = [g.id for g in page.items]
    counts = _member_counts(ids)
    mine = set(db.session.scalars(services.my_group_ids(current_user).where(Membership.group_id.in_(ids))))
    return render_template("groups/index.html", page=page, q=q, counts=counts, mine=mine)


@bp.route("/mes-groupes")
@login_required
def mine():
    memberships = db.session.scalars(sa.select(Membership).where(Membership.user_id == current_user.id)
                                     .join(Group).order_by(french(Group.name))).all()
    counts = _member_counts([m.group_id for m in memberships])
    pending = db.session.scalars(sa.select(GroupRequest).where(GroupRequest.user_id == current_user.id,
                                                               GroupRequest.status == "pending")
                                 .order_by(GroupRequest.created_at.desc())).all()
    return render_template("groups/mine.html", memberships=memberships, counts=counts,
                           invitations=[r for r in pending if r.kind == "invitation"],
                           requests=[r for r in pending if r.kind == "request"], action_form=FlaskForm())


@bp.route("/nouveau", methods=["GET", "POST"])
@require("groups.create")
def create():
    form = GroupForm()
    if form.validate_on_submit():
        image = _save_image(form)
        if not form.image.errors:
            try:
                group = services.create_group(current_user, form.name.data, form.description.data,
                                              form.visibility.data, form.join_policy.data, image)
            except GroupError as exc:
                form.name.errors.append(str(exc))
            else:
                audit("group.create", group, summary=group.name, visibility=group.visibility)
                db.session.commit()
                flash(_("Le groupe « %(name)s » est créé. Invitez ses membres.", name=group.name), "success")
                return redirect(url_for("groups.members", group_id=group.id))
        if image:
            delete_stored(image)
    return render_template("groups/form.html", form=form, group=None)


def _save_image(form) -> str | None:
    if not form.image.data:
        return None
    try:
        return save_image(form.image.data, max_side=800).key
    except UploadError as exc:
        form.image.errors.append(str(exc))
        return None


@bp.route("/<int:group_id>")
@login_required
def show(group_id: int):
    """The group's home: its first tab the person may see (the Fil for those who see the content,
    « À propos » for the others), served at the group's own address."""
    group = _group_or_404(group_id)
    first = services.group_tabs(group)[0]
    if first.key == "groups.about":
        return about(group_id)
    return current_app.view_functions[first.endpoint](group_id=group_id)


@bp.route("/<int:group_id>/a-propos")
@login_required
def about(group_id: int):
    group = _group_or_404(group_id)
    return render_group_page("groups/show.html", group, "groups.about")


@bp.route("/<int:group_id>/image")
@login_required
def image(group_id: int):
    group = _group_or_404(group_id)
    if not group.image:
        abort(404)
    return send_stored(group.image, f"groupe-{group.id}", as_attachment=False)


@bp.route("/<int:group_id>/membres")
@login_required
def members(group_id: int):
    group = _group_or_404(group_id)
    if not services.can_see_content(current_user, group):
        abort(403)
    rows = db.paginate(sa.select(Membership).where(Membership.group_id == group.id).join(User)
                       .order_by(sa.case({"owner": 0, "admin": 1}, value=Membership.role, else_=2), french(User.name)),
                       per_page=50, error_out=False)
    requests = invitations = []
    if services.can_manage(current_user, group):
        pending = db.session.scalars(sa.select(GroupRequest).where(GroupRequest.group_id == group.id,
                                                                   GroupRequest.status == "pending")
                                     .order_by(GroupRequest.created_at)).all()
        requests = [r for r in pending if r.kind == "request"]
        invitations = [r for r in pending if r.kind == "invitation"]
    return render_group_page("groups/members.html", group, "groups.members", page=rows, requests=requests,
                             invitations=invitations, invite_form=InviteMemberForm())


@bp.route("/<int:group_id>/parametres", methods=["GET", "POST"])
@login_required
def settings(group_id: int):
    group = _group_or_404(group_id)
    if not services.can_manage(current_user, group):
        abort(403)
    form = GroupForm(obj=group)
    if form.validate_on_submit():
        image = _save_image(form)
        if not form.image.errors:
            try:
                services.update_group(group, form.name.data, form.description.data, form.visibility.data,
                                      form.join_policy.data)
            except GroupError as exc:
                form.name.errors.append(str(exc))
            else:
                if image:
                    old, group.image = group.image, image
                    if old:
                        delete_stored(old)
                audit("group.update", group, summary=group.name, visibility=group.visibility,
                      join_policy=group.join_policy)
                db.session.commit()
                flash(_("Les paramètres du groupe sont enregistrés."), "success")
                return redirect(url_for("groups.show", group_id=group.id))
        if image:
            delete_stored(image)
    return render_group_page("groups/settings.html", group, "groups.settings", form=form)


def _back(group: Group):
    return redirect(safe_redirect_target(request.form.get("next"), url_for("groups.show", group_id=group.id)))


@bp.route("/<int:group_id>/rejoindre", methods=["POST"])
@login_required
def join(group_id: int):
    group = _group_or_404(group_id)
    try:
        outcome = services.join(current_user, group)
    except GroupError as exc:
        flash(str(exc), "warning")
    else:
        db.session.commit()
        if outcome == "joined":
            flash(_("Vous avez rejoint le groupe « %(name)s ».", name=group.name), "success")
        else:
            flash(_("Votre demande a été envoyée aux administrateurs du groupe."), "info")
    return _back(group)


@bp.route("/<int:group_id>/sourdine", methods=["POST"])
@login_required
def mute(group_id: int):
    """Members stop (or resume) receiving e-mails about this group; in-app notifications stay."""
    group = _group_or_404(group_id)
    if not services.is_member(group, current_user):
        abort(403)
    muted = request.form.get("muted") == "1"
    set_group_muted(current_user.id, group.id, muted)
    db.session.commit()
    flash(_("Vous ne recevrez plus d'e-mail à propos de ce groupe.") if muted
          else _("Vous recevez de nouveau les e-mails de ce groupe."), "success")
    return _back(group)


@bp.route("/<int:group_id>/quitter", methods=["POST"])
@login_required
def leave(group_id: int):
    group = _group_or_404(group_id)
    try:
        services.leave(current_user, group)
    except GroupError as exc:
        flash(str(exc), "warning")
        return _back(group)
    db.session.commit()
    flash(_("Vous avez quitté le groupe « %(name)s ».", name=group.name), "success")
    if services.can_see_group(current_user, group):
        return redirect(url_for("groups.show", group_id=group.id))
    return redirect(url_for("groups.mine"))


def _find_person(text: str) -> User | None:
    text = (text or "").strip()
    if text.isdigit():
        return db.session.get(User, int(text))
    if "@" in text:
        return db.session.scalar(sa.select(User).where(User.email == text.lower()))
    matches = db.session.scalars(sa.select(User).where(sa.func.lower(User.name) == text.lower()).limit(2)).all()
    return matches[0] if len(matches) == 1 else None


@bp.route("/<int:group_id>/inviter", methods=["POST"])
@login_required
def invite(group_id: int):
    group = _group_or_404(group_id)
    if not services.can_manage(current_user, group):
        abort(403)
    form = InviteMemberForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        flash(_("Choisissez une personne à inviter."), "warning")
        return redirect(url_for("groups.members", group_id=group.id))
    person = _find_person(form.person.data)
    if person is None:
        flash(_("Personne ne correspond à « %(text)s » : indiquez son adresse e-mail ou choisissez-la dans la "
                "liste.", text=form.person.data), "warning")
    else:
        try:
            outcome = services.invite(current_user, group, person)
        except GroupError as exc:
            flash(str(exc), "warning")
        else:
            db.session.commit()
            flash(_("%(name)s a été ajouté(e) au groupe.", name=person.name) if outcome == "added"
                  else _("Invitation envoyée à %(name)s.", name=person.name), "success")
    return redirect(url_for("groups.members", group_id=group.id))


def _request_or_404(group: Group, request_id: int) -> GroupRequest:
    req = db.session.get(GroupRequest, request_id)
    if req is None or req.group_id != group.id:
        abort(404)
    return req


@bp.route("/<int:group_id>/demandes/<int:request_id>/<any(accepter, refuser):decision>", methods=["POST"])
@login_required
def decide(group_id: int, request_id: int, decision: str):
    group = _group_or_404(group_id)
    if not services.can_manage(current_user, group):
        abort(403)
    req = _request_or_404(group, request_id)
    try:
        services.decide(current_user, req, decision == "accepter")
    except GroupError as exc:
        flash(str(exc), "warning")
    else:
        db.session.commit()
        flash(_("%(name)s fait maintenant partie du groupe.", name=req.user.name) if decision == "accepter"
              else _("La demande de %(name)s est refusée.", name=req.user.name), "success")
    return redirect(url_for("groups.members", group_id=group.id))


@bp.route("/invitations/<int:request_id>/<any(accepter, refuser):decision>", methods=["POST"])
@login_required
def respond(request_id: int, decision: str):
    req = db.session.get(GroupRequest, request_id)
    if req is None or req.user_id != current_user.id:
        abort(404)
    try:
        services.respond(current_user, req, decision == "accepter")
    except GroupError as exc:
        flash(str(exc), "warning")
        return redirect(url_for("groups.mine"))
    db.session.commit()
    if decision == "accepter":
        flash(_("Bienvenue dans le groupe « %(name)s » !", name=req.group.name), "success")
        return redirect(url_for("groups.show", group_id=req.group_id))
    flash(_("Invitation refusée."), "info")
    return redirect(url_for("groups.mine"))


@bp.route("/<int:group_id>/membres/<int:user_id>/retirer", methods=["POST"])
@login_required
def remove(group_id: int, user_id: int):
    group = _group_or_404(group_id)
    if not services.can_manage(current_user, group):
        abort(403)
    person = db.get_or_404(User, user_id)
    try:
        services.remove_member(current_user, group, person)
    except GroupError as exc:
        flash(str(exc), "warning")
    else:
        audit("group.remove_member", group, summary=f"{group.name} : {person.name}", user_id=person.id)
        db.session.commit()
        flash(_("%(name)s a été retiré(e) du groupe.", name=person.name), "success")
    return redirect(url_for("groups.members", group_id=group.id))


@bp.route("/<int:group_id>/membres/<int:user_id>/role", methods=["POST"])
@login_required
def role(group_id: int, user_id: int):
    group = _group_or_404(group_id)
    if not services.can_manage(current_user, group):
        abort(403)
    person = db.get_or_404(User, user_id)
    try:
        services.set_role(current_user, group, person, request.form.get("role", ""))
    except GroupError as exc:
        flash(str(exc), "warning")
    else:
        db.session.commit()
        flash(_("Le rôle de %(name)s est modifié.", name=person.name), "success")
    return redirect(url_for("groups.members", group_id=group.id))
