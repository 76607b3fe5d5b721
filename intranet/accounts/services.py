"""Accounts: invitations, passwords, single-use links and login throttling. Services never commit."""

from __future__ import annotations

import csv
import hashlib
import io
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from werkzeug.security import check_password_hash, generate_password_hash

from intranet.core.audit import audit
from intranet.core.i18n import locale_of
from intranet.core.mail import EMAIL_RE, one_line, queue_template_mail
from intranet.core.models import AccountToken, LoginFailure, Organization, User
from intranet.core.plugins import ROLES
from intranet.core.signals import user_invited
from intranet.core.timeutil import utcnow
from intranet.extensions import db

MIN_PASSWORD = 10
RESET_INTERVAL_MINUTES = 5


class AccountError(ValueError):
    """A French message for the person who made the request."""


class ThrottledError(AccountError):
    """Too many failed logins: the page answers 429."""


# -- passwords ------------------------------------------------------------------------------

def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def check_password_policy(password: str, user: User | None = None) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise AccountError(_("Le mot de passe doit contenir au moins %(n)d caractères.", n=MIN_PASSWORD))
    if user is not None and password.strip().lower() == user.email.lower():
        raise AccountError(_("Le mot de passe ne peut pas être votre adresse e-mail."))


def verify_password(user: User, password: str) -> bool:
    """Check the password; re-hash it when the stored hash uses older parameters."""
    if not user.password_hash or not check_password_hash(user.password_hash, password):
        return False
    wanted = current_app.config["PASSWORD_HASH_METHOD"]
    if not user.password_hash.startswith(wanted + "$"):
        user.password_hash = hash_password(password)
    return True


def set_password(user: User, password: str) -> None:
    check_password_policy(password, user)
    user.password_hash = hash_password(password)
    end_sessions(user)


def end_sessions(user: User) -> None:
    """Every existing session of ``user`` is refused on its next request."""
    user.session_version = (user.session_version or 0) + 1


# -- login throttling -----------------------------------------------------------------------

def is_throttled(email: str, ip: str) -> bool:
    cfg = current_app.config
    since = utcnow() - timedelta(minutes=cfg["LOGIN_WINDOW_MINUTES"])
    by_email = db.session.scalar(sa.select(sa.func.count(LoginFailure.id)).where(
        LoginFailure.email == email, LoginFailure.created_at >= since))
    by_ip = db.session.scalar(sa.select(sa.func.count(LoginFailure.id)).where(
        LoginFailure.ip == ip, LoginFailure.created_at >= since))
    # An IP is allowed more failures than one account: a whole office may share one address.
    return by_email >= cfg["LOGIN_MAX_FAILURES"] or by_ip >= 5 * cfg["LOGIN_MAX_FAILURES"]


def record_failure(email: str, ip: str) -> None:
    db.session.add(LoginFailure(email=email[:254], ip=ip[:64]))
    old = utcnow() - timedelta(days=1)
    db.session.execute(sa.delete(LoginFailure).where(LoginFailure.created_at < old))


def clear_failures(email: str) -> None:
    db.session.execute(sa.delete(LoginFailure).where(LoginFailure.email == email))


_dummy_hashes: dict[str, str] = {}


def _spend_one_hash(password: str) -> None:
    """Check ``password`` against a throw-away hash made with the configured method."""
    method = current_app.config["PASSWORD_HASH_METHOD"]
    if method not in _dummy_hashes:
        _dummy_hashes[method] = generate_password_hash(secrets.token_urlsafe(16), method=method)
    check_password_hash(_dummy_hashes[method], password)


def authenticate(email: str, password: str, ip: str) -> User:
    """The user for these credentials, or AccountError with one message for every failure."""
    email = normalize_email(email)
    if is_throttled(email, ip):
        raise ThrottledError(_("Trop de tentatives de connexion. Patientez %(n)d minutes avant de réessayer.",
                               n=current_app.config["LOGIN_WINDOW_MINUTES"]))
    user = db.session.scalar(sa.select(User).where(User.email == email))
    if user is None or not user.is_active_account or not user.password_hash:
        _spend_one_hash(password or "")  # as slow as a wrong password: no account discovery by timing
        ok = False
    else:
        ok = verify_password(user, password or "")
    if not ok:
        record_failure(email, ip)
        raise AccountError(_("Adresse e-mail ou mot de passe incorrect."))
    clear_failures(email)
    user.last_login_at = utcnow()
    return user


# -- single-use links -----------------------------------------------------------------------

def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_token(user: User, kind: str) -> str:
    """A new link for ``user``; older unused links of the same kind stop working."""
    now = utcnow()
    db.session.execute(sa.update(AccountToken).where(
        AccountToken.user_id == user.id, AccountToken.kind == kind, AccountToken.used_at.is_(None)
    ).values(used_at=now))
    lifetime = (timedelta(days=current_app.config["INVITATION_DAYS"]) if kind == "invitation"
                else timedelta(hours=current_app.config["RESET_HOURS"]))
    raw = secrets.token_urlsafe(32)
    db.session.add(AccountToken(kind=kind, user_id=user.id, token_hash=_hash_token(raw),
                                created_at=now, expires_at=now + lifetime))
    db.session.flush()
    return raw


def find_token(raw: str, kind: str) -> tuple[AccountToken | None, str]:
    """The token and its state: "ok", "expired", "used" or "invalid"."""
    token = db.session.scalar(sa.select(AccountToken).where(
        AccountToken.token_hash == _hash_token(raw or ""), AccountToken.kind == kind))
    if token is None:
        return None, "invalid"
    if token.used_at is not None:
        return token, "used"
    if token.expires_at <= utcnow():
        return token, "expired"
    if not token.user.is_active_account:
        return token, "invalid"
    return token, "ok"


def use_token(token: AccountToken, password: str) -> User:
    set_password(token.user, password)
    token.used_at = utcnow()
    return token.user


# -- invitations ----------------------------------------------------------------------------

def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def _link(endpoint: str, **values) -> str:
    base = current_app.config["BASE_URL"].rstrip("/")
    return base + url_for(endpoint, **values)


def send_invitation(user: User, inviter: User | None) -> None:
    raw = issue_token(user, "invitation")
    user.invited_at = utcnow()
    with force_locale(locale_of(user)):  # in the invitee's language, not the inviter's
        queue_template_mail(
            user.email, _("%(site)s : votre invitation", site=current_app.config["SITE_NAME"]), "invitation",
            user=user, inviter=inviter, link=_link("accounts.accept_invitation", token=raw),
            days=current_app.config["INVITATION_DAYS"])


def invite(name: str, email: str, organization: Organization | None, role: str, inviter: User | None) -> User:
    name = " ".join(one_line(name or "").split())  # one line: no CR/LF from a crafted form or CSV
    email = normalize_email(email)
    if not name:
        raise AccountError(_("Le nom est obligatoire."))
    if len(name) > 200:
        raise AccountError(_("Le nom est trop long (200 caractères au plus)."))
    if not EMAIL_RE.match(email) or len(email) > 254:
        raise AccountError(_("L'adresse e-mail « %(email)s » n'est pas valide.", email=email))
    if organization is None:
        raise AccountError(_("L'organisation est obligatoire."))
    if role not in ROLES:
        raise AccountError(_("Le rôle « %(role)s » n'existe pas (admin, animateur ou membre).", role=role))
    if role == "admin" and inviter is not None and inviter.role != "admin":
        # A delegated user manager (an animateur granted accounts.users.manage) never makes admins.
        raise AccountError(_("Seul un administrateur peut nommer un administrateur."))
    if db.session.scalar(sa.select(User.id).where(User.email == email)):
        raise AccountError(_("Un compte existe déjà pour %(email)s.", email=email))
    user = User(name=name, email=email, organization_id=organization.id, role=role, password_hash=None)
    db.session.add(user)
    db.session.flush()
    send_invitation(user, inviter)
    audit("user.invite", user, summary=f"{name} <{email}>", actor=inviter, role=role,
          organization=organization.name)
    user_invited.send(current_app._get_current_object(), user=user, inviter=inviter)
    return user


def request_password_reset(email: str) -> None:
    """Send a reset link when the address belongs to an active account; say nothing otherwise."""
    user = db.session.scalar(sa.select(User).where(User.email == normalize_email(email)))
    if user is None or not user.is_active_account:
        return
    recent = db.session.scalar(sa.select(AccountToken.id).where(
        AccountToken.user_id == user.id, AccountToken.kind == "reset", AccountToken.used_at.is_(None),
        AccountToken.created_at > utcnow() - timedelta(minutes=RESET_INTERVAL_MINUTES)))
    if recent is not None:
        return  # a link left minutes ago is still valid: no flood of reset e-mails to one address
    raw = issue_token(user, "reset")
    with force_locale(locale_of(user)):
        queue_template_mail(user.email, _("Réinitialisation de votre mot de passe"), "password_reset",
                            user=user, link=_link("accounts.reset_password", token=raw),
                            hours=current_app.config["RESET_HOURS"])


# -- bulk invitation ------------------------------------------------------------------------

@dataclass
class ImportLine:
    number: int
    raw: str
    ok: bool
    message: str


@dataclass
class ImportReport:
    lines: list[ImportLine] = field(default_factory=list)

    @property
    def created(self) -> int:
        return sum(1 for line in self.lines if line.ok)

    @property
    def rejected(self) -> int:
        return sum(1 for line in self.lines if not line.ok)


ROLE_ALIASES = {"admin": "admin", "administrateur": "admin", "administratrice": "admin",
                "animateur": "animateur", "animatrice": "animateur", "membre": "membre"}


def decode_csv(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise AccountError(_("Le fichier n'est pas un texte lisible (UTF-8 ou Windows-1252)."))


def bulk_invite(data: bytes, inviter: User, max_lines: int = 2000) -> ImportReport:
    """Invite one person per line ``nom;email;organisation;role``.

    Each line runs in its own savepoint: a bad line is reported and leaves nothing behind,
    the good lines are invited.
    """
    if not data.strip():
        raise AccountError(_("Le fichier est vide."))
    if b"\x00" in data:
        raise AccountError(_("Ce fichier n'est pas un fichier CSV."))
    text = decode_csv(data)
    orgs = {o.name.strip().lower(): o for o in db.session.scalars(sa.select(Organization))}
    report = ImportReport()
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    if len(rows) > max_lines + 1:
        raise AccountError(_("Le fichier compte plus de %(n)d lignes : découpez-le.", n=max_lines))
    seen: set[str] = set()
    for number, row in enumerate(rows, start=1):
        raw = ";".join(row)
        if not any(cell.strip() for cell in row):
            continue
        cells = [c.strip() for c in row]
        if number == 1 and cells and cells[0].lower() == "nom":
            continue  # header line
        if len(cells) != 4:
            report.lines.append(ImportLine(number, raw, False, _(
                "%(n)d colonne(s) au lieu de 4 (nom;email;organisation;role).", n=len(cells))))
            continue
        name, email, org_name, role = cells
        email = normalize_email(email)
        org = orgs.get(org_name.lower())
        if org is None:
            report.lines.append(ImportLine(number, raw, False, _(
                "Organisation inconnue : « %(org)s ».", org=org_name)))
            continue
        if email in seen:
            report.lines.append(ImportLine(number, raw, False, _(
                "L'adresse %(email)s apparaît plus haut dans le fichier.", email=email)))
            continue
        try:
            with db.session.begin_nested():
                invite(name, email, org, ROLE_ALIASES.get(role.lower(), role.lower()), inviter)
        except AccountError as exc:
            report.lines.append(ImportLine(number, raw, False, str(exc)))
            continue
        seen.add(email)
        report.lines.append(ImportLine(number, raw, True, _("Invitation envoyée à %(email)s.", email=email)))
    if not report.lines:
        raise AccountError(_("Le fichier ne contient aucune ligne à importer."))
    audit("user.bulk_invite", summary=_("Import CSV : %(ok)d invitation(s), %(ko)d ligne(s) rejetée(s)",
                                        ok=report.created, ko=report.rejected), actor=inviter)
    return report
