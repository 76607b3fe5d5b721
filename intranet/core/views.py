"""Core pages: dashboard, health check, help, and the admin pages of the core tables."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup
from werkzeug.datastructures import FileStorage

from intranet.core.audit import audit
from intranet.core.forms import HelpForm, OrganizationForm, TerritoryForm
from intranet.core.models import AuditEntry, MailMessage, Organization, Territory, User
from intranet.core.permissions import require, set_grants
from intranet.core.security import MAX_ID
from intranet.core.settings import get_setting, set_setting
from intranet.core.storage import UploadError, delete_stored, save_image, send_stored
from intranet.core.textfold import contains, french
from intranet.core.timeutil import utcnow
from intranet.extensions import db

bp = Blueprint("core", __name__)

# Shipped to new installs and the demo; the admin edits it at /admin/aide. Paragraphs are one
# rendered line each (the renderer keeps line breaks) and French punctuation keeps its space unbroken.
DEFAULT_HELP = """## Questions fréquentes

### Compte

**Comment obtenir un compte\u00a0?** Les comptes sont créés par l'administrateur de l'Agence, qui vous \
envoie une invitation par e-mail.

**J'ai oublié mon mot de passe.** Sur la page de connexion, cliquez sur «\u00a0Mot de passe oublié\u00a0».

### Publier et mentionner

**Comment publier un message\u00a0?** Depuis le fil d'actualité, écrivez votre message puis cliquez sur \
«\u00a0Publier\u00a0». Le texte accepte la mise en forme simple\u00a0: **gras**, listes avec «\u00a0-\u00a0», liens.

**Comment mentionner quelqu'un\u00a0?** Tapez «\u00a0@\u00a0» suivi du début de son nom et choisissez la personne \
dans la liste\u00a0: elle reçoit une notification.

**Que veut dire «\u00a0Visible par\u00a0»\u00a0?** C'est le public du message ou de l'événement\u00a0: tout le réseau, \
certaines organisations ou certains groupes. Seules ces personnes le voient\u00a0; le résumé sous le \
champ dit en clair qui le verra.

### Agenda

**Comment proposer un événement\u00a0?** Dans l'Agenda, cliquez sur «\u00a0Proposer un événement\u00a0». Un \
événement proposé par un office attend la validation d'un animateur de l'Agence\u00a0; vous êtes \
prévenu quand il est validé ou refusé.

**Comment voir l'agenda dans Google Agenda, Outlook ou Apple Calendrier\u00a0?** Copiez le lien \
d'abonnement (iCal) de la page Agenda, puis\u00a0:

- Google Agenda\u00a0: «\u00a0Autres agendas\u00a0» → «\u00a0+\u00a0» → «\u00a0À partir de l'URL\u00a0»\u00a0;
- Outlook\u00a0: «\u00a0Ajouter un calendrier\u00a0» → «\u00a0S'abonner à partir du web\u00a0»\u00a0;
- Apple Calendrier\u00a0: «\u00a0Fichier\u00a0» → «\u00a0Nouvel abonnement à un calendrier\u00a0».

L'agenda abonné se met à jour tout seul, avec quelques heures de décalage selon le logiciel.

### Groupes

**À quoi servent les groupes\u00a0?** Un groupe réunit les personnes qui travaillent sur un même sujet \
(accueil, communication…) autour d'une discussion. Les groupes ouverts se rejoignent librement\u00a0; \
les groupes privés sont sur invitation et leurs messages ne sont visibles que de leurs membres.

### Notifications et résumés

**Comment choisir les e-mails que je reçois\u00a0?** Dans «\u00a0Mes préférences de notification\u00a0», choisissez \
pour chaque type\u00a0: e-mail immédiat, résumé quotidien ou aucun e-mail. Le résumé quotidien regroupe \
les nouveautés de la journée en un seul message. Les notifications restent toujours visibles dans \
l'intranet.

### Flux Vision Tourisme

**D'où viennent les chiffres\u00a0?** De Flux Vision Tourisme, les statistiques d'Orange établies à partir \
des données du réseau mobile, livrées par bimestre. Toute publication doit citer la source\u00a0: \
«\u00a0Données Flux Vision Tourisme Orange\u00a0».

**Définitions**

- **Touriste**\u00a0: personne non résidente qui passe au moins une nuit dans la zone.
- **Excursionniste**\u00a0: personne non résidente présente plus de deux heures dans la journée, sans \
y passer la nuit.
- **Nuitée**\u00a0: une personne qui passe une nuit dans la zone (deux personnes trois nuits font six \
nuitées).
- **Résident**\u00a0: personne qui habite la zone\u00a0; **habituellement présent**\u00a0: non-résident fréquent \
(travail, études), exclu des touristes.
- **Provenance**\u00a0: Local (habite le secteur proche de la zone), Non local (reste de la France), \
Étranger (carte SIM étrangère).

**Quelles sont les règles d'usage\u00a0?** Un office utilise librement les données de son territoire \
pour son travail. Depuis 2025, il peut consulter celles des autres destinations partenaires, en \
consultation seulement\u00a0: ni export ni communication à des tiers sans l'accord de l'office concerné. \
L'Agence peut communiquer sur toutes les destinations. Les jours où le réseau mobile a été en \
panne, l'opérateur livre des chiffres estimés\u00a0: ils ne doivent pas être lus comme réels.
"""


def registry():
    return current_app.extensions["intranet_registry"]


@bp.route("/")
@login_required
def dashboard():
    # Widgets return HTML rendered from their own auto-escaping templates.
    widgets = [(w, Markup(w.render())) for w in registry().widgets]  # noqa: S704
    return render_template("core/dashboard.html", widgets=widgets)


@bp.route("/healthz")
def healthz():
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        return jsonify(status="error", detail="database unavailable"), 503
    return jsonify(status="ok")


@bp.route("/favicon.ico")
def favicon():
    return current_app.send_static_file("img/favicon.ico")


@bp.route("/aide")
def help():
    """The FAQ is public: it is where someone who cannot log in looks for help."""
    return render_template("core/help.html", body=get_setting("core.help", DEFAULT_HELP))


@bp.route("/admin/aide", methods=["GET", "POST"])
@require("core.help.edit")
def help_edit():
    form = HelpForm(body=get_setting("core.help", DEFAULT_HELP))
    if form.validate_on_submit():
        set_setting("core.help", form.body.data)
        audit("help.edit", summary=_("Page d'aide modifiée"))
        db.session.commit()
        flash(_("La page d'aide a été enregistrée."), "success")
        return redirect(url_for("core.help"))
    return render_template("core/help_edit.html", form=form)


# -- organizations ---------------------------------------------------------------------------

@bp.route("/organisations/<int:org_id>")
@login_required
def organization(org_id: int):
    org = db.get_or_404(Organization, org_id)
    members = db.session.scalars(sa.select(User).where(User.organization_id == org.id,
                                                       User.is_active_account.is_(True))
                                 .order_by(french(User.name))).all()
    return render_template("core/organization.html", org=org, members=members)


@bp.route("/organisations/<int:org_id>/logo")
@login_required
def organization_logo(org_id: int):
    org = db.get_or_404(Organization, org_id)
    if not org.logo:
        abort(404)
    return send_stored(org.logo, f"logo-{org.id}", as_attachment=False)


@bp.route("/admin/organisations")
@require("core.organizations.manage")
def organizations():
    orgs = db.session.execute(
        sa.select(Organization, sa.func.count(User.id))
        .outerjoin(User, User.organization_id == Organization.id)
        .group_by(Organization.id).order_by(Organization.kind, french(Organization.name))
    ).all()
    return render_template("core/admin_organizations.html", orgs=orgs)


def _territory_choices(empty_label):
    rows = db.session.scalars(sa.select(Territory).order_by(french(Territory.name))).all()
    return [(0, empty_label)] + [(t.id, f"{t.name} ({t.code})") for t in rows]


@bp.route("/admin/organisations/nouvelle", methods=["GET", "POST"], endpoint="organization_new")
@bp.route("/admin/organisations/<int:org_id>/modifier", methods=["GET", "POST"])
@require("core.organizations.manage")
def organization_edit(org_id: int | None = None):
    org = db.get_or_404(Organization, org_id) if org_id else None
    form = OrganizationForm(obj=org)
    form.territory_id.choices = _territory_choices(_("— Aucun —"))
    if request.method == "GET" and org is not None:
        form.territory_id.data = org.territory_id or 0
    if form.validate_on_submit():
        clash = db.session.scalar(sa.select(Organization.id).where(
            sa.func.lower(Organization.name) == form.name.data.strip().lower(),
            Organization.id != (org.id if org else 0)))
        if clash:
            form.name.errors.append(_("Une organisation porte déjà ce nom."))
        else:
            logo_key = None
            # Without a new file the field holds the current logo key (form built from the org).
            if isinstance(form.logo.data, FileStorage) and form.logo.data.filename:
                try:
                    logo_key = save_image(form.logo.data, max_side=512).key
                except UploadError as exc:
                    form.logo.errors.append(str(exc))
            if not form.logo.errors:
                creating = org is None
                if creating:
                    org = Organization()
                    db.session.add(org)
                org.name = form.name.data.strip()
                org.kind = form.kind.data
                org.territory_id = form.territory_id.data or None
                org.address = form.address.data or ""
                org.website = form.website.data or ""
                org.email = form.email.data or ""
                if logo_key:
                    old, org.logo = org.logo, logo_key
                    if old:
                        delete_stored(old)
                db.session.flush()
                audit("organization.create" if creating else "organization.update", org,
                      summary=org.name)
                db.session.commit()
                flash(_("L'organisation « %(name)s » a été enregistrée.", name=org.name), "success")
                return redirect(url_for("core.organizations"))
    return render_template("core/admin_organization_form.html", form=form, org=org)


# -- territories -----------------------------------------------------------------------------

@bp.route("/admin/territoires")
@require("core.organizations.manage")
def territories():
    rows = db.session.scalars(sa.select(Territory)
                              .order_by(Territory.parent_id.is_not(None), french(Territory.name))).all()
    return render_template("core/admin_territories.html", territories=rows)


@bp.route("/admin/territoires/nouveau", methods=["GET", "POST"], endpoint="territory_new")
@bp.route("/admin/territoires/<int:territory_id>/modifier", methods=["GET", "POST"])
@require("core.organizations.manage")
def territory_edit(territory_id: int | None = None):
    territory = db.get_or_404(Territory, territory_id) if territory_id else None
    form = TerritoryForm(obj=territory)
    form.parent_id.choices = [c for c in _territory_choices(_("— Aucun —"))
                              if territory is None or c[0] != territory.id]
    if request.method == "GET" and territory is not None:
        form.parent_id.data = territory.parent_id or 0
    if form.validate_on_submit():
        code = form.code.data.strip().upper()
        clash = db.session.scalar(sa.select(Territory.id).where(
            Territory.code == code, Territory.id != (territory.id if territory else 0)))
        if clash:
            form.code.errors.append(_("Un territoire porte déjà ce code."))
        elif territory is not None and _would_cycle(territory.id, form.parent_id.data):
            form.parent_id.errors.append(_("Un territoire ne peut pas être son propre ancêtre."))
        else:
            creating = territory is None
            if creating:
                territory = Territory()
                db.session.add(territory)
            territory.name = form.name.data.strip()
            territory.code = code
            territory.parent_id = form.parent_id.data or None
            db.session.flush()
            audit("territory.create" if creating else "territory.update", territory, summary=territory.name)
            db.session.commit()
            flash(_("Le territoire « %(name)s » a été enregistré.", name=territory.name), "success")
            return redirect(url_for("core.territories"))
    return render_template("core/admin_territory_form.html", form=form, territory=territory)


def _would_cycle(territory_id: int, parent_id: int) -> bool:
    seen = set()
    while parent_id and parent_id not in seen:
        if parent_id == territory_id:
            return True
        seen.add(parent_id)
        parent_id = db.session.scalar(sa.select(Territory.parent_id).where(Territory.id == parent_id))
    return False


# -- permissions, audit, outbox --------------------------------------------------------------

@bp.route("/admin/permissions", methods=["GET", "POST"])
@require("core.permissions.manage")
def permissions():
    from flask_wtf import FlaskForm

    from intranet.core.permissions import _grants

    form = FlaskForm()
    perms = registry().permissions
    roles = ("animateur", "membre")
    if form.validate_on_submit():
        keys = {p.key for p in perms}
        grants = {(role, key) for role in roles for key in request.form.getlist(role) if key in keys}
        set_grants(grants)
        audit("permissions.update", summary=_("Permissions des rôles modifiées"),
              grants=sorted(f"{r}:{k}" for r, k in grants))
        db.session.commit()
        flash(_("Les permissions ont été enregistrées."), "success")
        return redirect(url_for("core.permissions"))
    return render_template("core/admin_permissions.html", form=form, perms=perms, roles=roles,
                           grants=_grants())


@bp.route("/admin/journal")
@require("core.audit.view")
def audit_log():
    page = db.paginate(sa.select(AuditEntry).order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc()),
                       per_page=50, error_out=False)
    return render_template("core/admin_audit.html", page=page, labels=registry().audit_actions)


@bp.route("/admin/boite-envoi")
@require("core.mail.view")
def outbox():
    status = request.args.get("statut", "")
    query = sa.select(MailMessage).order_by(MailMessage.id.desc())
    if status in ("pending", "sent", "failed"):
        query = query.where(MailMessage.status == status)
    page = db.paginate(query, per_page=50, error_out=False)
    from flask_wtf import FlaskForm
    return render_template("core/admin_outbox.html", page=page, status=status, form=FlaskForm())


@bp.route("/admin/boite-envoi/<int:mail_id>")
@require("core.mail.view")
def outbox_message(mail_id: int):
    return render_template("core/admin_outbox_message.html", msg=db.get_or_404(MailMessage, mail_id))


@bp.route("/admin/boite-envoi/<int:mail_id>/renvoyer", methods=["POST"])
@require("core.mail.view")
def outbox_resend(mail_id: int):
    msg = db.get_or_404(MailMessage, mail_id)
    msg.status, msg.next_attempt_at, msg.attempts = "pending", utcnow(), 0
    audit("mail.resend", msg, summary=msg.subject, to=msg.to_addr)
    db.session.commit()
    flash(_("Le message sera renvoyé dans quelques secondes."), "success")
    return redirect(url_for("core.outbox"))


@bp.before_app_request
def touch_last_seen():
    # At most one write per person every five minutes.
    if current_user.is_authenticated:
        now = utcnow()
        last = current_user.last_seen_at
        if last is None or (now - last).total_seconds() > 300:
            if last is None or (now - last).total_seconds() > 1800:
                current_user.previous_visit_at = last  # half an hour away: a new visit begins
            current_user.last_seen_at = now
            db.session.commit()


# -- the « Visible par » picker ----------------------------------------------------------------

@bp.route("/audiences/recherche")
@login_required
def audience_search():
    """JSON suggestions for the picker: people, organizations and groups matching ``q``."""
    q = (request.args.get("q") or "").strip()[:100]
    kind = request.args.get("kind", "")
    results: list[dict] = []
    if len(q) >= 2:
        if kind in ("", "user"):
            for u in db.session.scalars(sa.select(User).where(User.is_active_account.is_(True),
                                                              contains(User.name, q))
                                        .order_by(french(User.name)).limit(10)):
                results.append({"value": f"user:{u.id}", "label": u.name, "detail": u.organization.name,
                                "email": u.email})
        if kind in ("", "org"):
            for o in db.session.scalars(sa.select(Organization).where(contains(Organization.name, q))
                                        .order_by(french(Organization.name)).limit(5)):
                results.append({"value": f"org:{o.id}", "label": o.name, "detail": _("Organisation")})
        if kind == "":
            for principal in registry().audience_principals:
                if principal.search is not None:
                    for ident, label in principal.search(current_user, q):
                        results.append({"value": f"{principal.kind}:{ident}", "label": label,
                                        "detail": _("Groupe")})
    return jsonify(results=results)


@bp.route("/audiences/description")
@login_required
def audience_description():
    """The plain-French summary of a choice (« Visible par : … »), for the picker."""
    from intranet.core.audiences import describe

    targets = set()
    for raw in request.args.getlist("e")[:500]:
        kind, _sep, ident = raw.partition(":")
        if ident.isdigit() and len(ident) <= 10 and int(ident) <= MAX_ID:
            targets.add((kind, int(ident)))
    # Like the search, the summary never names people who left the network (the field refuses them).
    user_ids = {t for k, t in targets if k == "user"}
    if user_ids:
        active = set(db.session.scalars(sa.select(User.id).where(User.id.in_(user_ids),
                                                                 User.is_active_account.is_(True))))
        targets -= {("user", t) for t in user_ids - active}
        if not targets:
            targets = {("user", 0)}  # as for an unknown id: « Vous seul », not « Tout le réseau »
    return jsonify(text=describe(targets))
