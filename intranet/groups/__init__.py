"""Groups: public, private or secret; open, on request or by invitation; with their own tabs."""

from flask_babel import lazy_gettext as _l

from intranet.core.plugins import ActivityType, GroupTab, NavEntry, Permission, Plugin
from intranet.groups.demo import load_demo
from intranet.groups.notifications import KINDS, TYPES, connect_receivers
from intranet.groups.profile import groups_section
from intranet.groups.services import GROUP_PRINCIPAL
from intranet.groups.views import bp

plugin = Plugin(
    name="groups",
    title=_l("Groupes"),
    blueprint=bp,
    audit_actions={"group.create": _l("Groupe créé"), "group.update": _l("Groupe modifié"),
                   "group.remove_member": _l("Membre retiré d'un groupe")},
    requires=("accounts", "notifications"),
    models="intranet.groups.models",
    permissions=(
        # Grant it to "membre" in Administration → Rôles et permissions to let members create groups.
        Permission("groups.create", _l("Créer des groupes"), ("admin", "animateur")),
    ),
    nav=(NavEntry(_l("Groupes"), "groups.index", order=30, icon="people-fill"),),
    group_tabs=(
        # After the Fil (10) and the Agenda (20): a group opens on its discussion (groups.show).
        GroupTab("groups.about", _l("À propos"), "groups.about", order=50),
        GroupTab("groups.members", _l("Membres"), "groups.members", order=800),
        GroupTab("groups.settings", _l("Paramètres"), "groups.settings", order=900),
    ),
    audience_principals=(GROUP_PRINCIPAL,),
    # Shown in the feed when the feed plugin is enabled (through core.signals.activity_published).
    activity_types=(ActivityType("groups.created", _l("Nouveau groupe"), "groups/_activity.html", icon="people"),),
    notification_types=TYPES,
    notifiable_kinds=KINDS,
    setup=connect_receivers,
    profile_sections=(groups_section,),
    demo=load_demo,
)
