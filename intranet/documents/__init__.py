"""Documents: the network's shared library — folders with an audience, several files at once,
versions, previews and downloads."""

from flask_babel import lazy_gettext as _l

from intranet.core.plugins import ActivityType, GroupTab, Job, NavEntry, Permission, Plugin, Widget
from intranet.documents import widgets
from intranet.documents.demo import load_demo
from intranet.documents.notifications import KINDS, TYPES
from intranet.documents.services import MAX_FILE_SETTING, QUOTA_SETTING, expiry_job, purge_job, text_job
from intranet.documents.views import bp

plugin = Plugin(
    name="documents",
    title=_l("Documents"),
    blueprint=bp,
    requires=("accounts", "notifications", "groups", "feed"),
    models="intranet.documents.models",
    permissions=(Permission("documents.folders", _l("Créer des dossiers dans la bibliothèque du réseau"),
                            ("admin", "animateur")),),
    nav=(NavEntry(_l("Documents"), "documents.index", order=25, icon="folder2-open"),
         NavEntry(_l("Corbeille des documents"), "documents.trash", area="user", order=48)),
    jobs=(Job("documents.purge", purge_job, every=3600), Job("documents.expiry", expiry_job, every=3600),
          Job("documents.text", text_job)),
    settings={MAX_FILE_SETTING: 50, QUOTA_SETTING: 5000},
    group_tabs=(GroupTab("documents.group", _l("Documents"), "documents.group_documents", order=30),),
    activity_types=(ActivityType("documents.shared", _l("Document partagé"), "documents/_activity.html",
                                 icon="file-earmark-text"),),
    widgets=(Widget("documents.latest", _l("Derniers documents"), widgets.latest_documents, order=5),),
    notification_types=TYPES,
    notifiable_kinds=KINDS,
    demo=load_demo,
)
