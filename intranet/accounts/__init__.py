"""Accounts: invitations, login, passwords, profiles, the people directory, user admin."""

from flask_babel import lazy_gettext as _l

from intranet.accounts import widgets
from intranet.accounts.views import bp
from intranet.core.plugins import NavEntry, Permission, Plugin, Widget

plugin = Plugin(
    name="accounts",
    title=_l("Comptes"),
    blueprint=bp,
    audit_actions={"user.invite": _l("Invitation envoyée"), "user.bulk_invite": _l("Invitations en nombre"),
                   "user.update": _l("Compte modifié"), "user.resend_invitation": _l("Invitation renvoyée"),
                   "user.deactivate": _l("Compte désactivé"), "user.reactivate": _l("Compte réactivé")},
    permissions=(
        Permission("accounts.users.manage", _l("Inviter et gérer les utilisateurs"), ("admin",)),
        Permission("accounts.directory.view", _l("Consulter l'annuaire"), ("admin", "animateur", "membre")),
    ),
    nav=(
        NavEntry(_l("Annuaire"), "accounts.directory", order=80, permission="accounts.directory.view",
                 icon="people"),
        NavEntry(_l("Utilisateurs"), "accounts.admin_users", area="admin", order=10,
                 permission="accounts.users.manage"),
    ),
    widgets=(
        Widget("accounts.welcome", _l("Bienvenue"), widgets.welcome, order=0),
        Widget("accounts.organization", _l("Mon organisation"), widgets.my_organization, order=10),
        Widget("accounts.newest", _l("Nouveaux membres"), widgets.newest_members, order=20),
    ),
)
