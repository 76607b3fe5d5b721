"""Events: one network calendar that offices fill themselves, validated by the agency, in
everyone's calendar app (iCal)."""

from flask_babel import lazy_gettext as _l

from intranet.core.plugins import ActivityType, GroupTab, Job, NavEntry, Permission, Plugin, Widget
from intranet.events import widgets
from intranet.events.demo import load_demo
from intranet.events.notifications import KINDS, TYPES, reminder_job
from intranet.events.services import ORG_EDIT_SETTING, REVALIDATE_SETTING
from intranet.events.views import bp

plugin = Plugin(
    name="events",
    title=_l("Agenda"),
    blueprint=bp,
    audit_actions={"event.validate": _l("Événement validé"),
                   "event.request_changes": _l("Modifications demandées sur un événement"),
                   "event.refuse": _l("Événement refusé"), "event.import": _l("Événements importés (.ics)"),
                   "event.category_create": _l("Catégorie d'événements créée"),
                   "event.category_update": _l("Catégorie d'événements modifiée")},
    requires=("accounts", "notifications", "groups"),
    models="intranet.events.models",
    permissions=(
        Permission("events.validate", _l("Valider les événements proposés"), ("admin", "animateur")),
        Permission("events.import", _l("Importer des événements (.ics)"), ("admin", "animateur")),
        Permission("events.categories", _l("Gérer les catégories d'événements"), ("admin",)),
    ),
    nav=(
        NavEntry(_l("Agenda"), "events.index", order=20, icon="calendar3"),
        NavEntry(_l("Événements à valider"), "events.to_validate", area="admin", order=80,
                 permission="events.validate"),
        NavEntry(_l("Mes propositions d'événements"), "events.mine", area="user", order=45),
        NavEntry(_l("Mon agenda dans mon calendrier (iCal)"), "events.subscription", area="user", order=50),
        NavEntry(_l("Catégories d'événements"), "events.categories", area="admin", order=85,
                 permission="events.categories"),
    ),
    group_tabs=(GroupTab("events.group", _l("Agenda"), "events.group_agenda", order=20),),
    widgets=(Widget("events.next", _l("Prochains événements"), widgets.next_events, order=4),),
    jobs=(Job("events.reminders", reminder_job, every=900),),
    activity_types=(ActivityType("events.published", _l("Événement publié"), "events/_activity.html",
                                 icon="calendar-event"),),
    notification_types=TYPES,
    notifiable_kinds=KINDS,
    settings={REVALIDATE_SETTING: True, ORG_EDIT_SETTING: True},
    demo=load_demo,
)
