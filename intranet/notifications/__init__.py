"""Notifications: the bell and centre, preferences, one-click unsubscribe, admin defaults."""

from flask_babel import lazy_gettext as _l

from intranet.core.plugins import NavEntry, Permission, Plugin, Widget
from intranet.notifications import widgets
from intranet.notifications.cli import cli
from intranet.notifications.views import bp

plugin = Plugin(
    name="notifications",
    title=_l("Notifications"),
    blueprint=bp,
    audit_actions={"notifications.reset_all": _l("Préférences de notification remises par défaut"),
                   "notifications.defaults": _l("Notifications par défaut modifiées")},
    requires=("accounts",),
    permissions=(
        Permission("notifications.defaults.manage", _l("Choisir les notifications par défaut"), ("admin",)),
    ),
    nav=(
        NavEntry(_l("Notifications"), "notifications.index", area="icons", order=10, icon="bell",
                 badge=widgets.unread_badge),
        NavEntry(_l("Mes notifications par e-mail"), "notifications.preferences", area="user", order=10),
        NavEntry(_l("Notifications par défaut"), "notifications.admin_defaults", area="admin", order=55,
                 permission="notifications.defaults.manage"),
    ),
    widgets=(Widget("notifications.whats_new", _l("Quoi de neuf"), widgets.whats_new, order=5),),
    cli=cli,
)
