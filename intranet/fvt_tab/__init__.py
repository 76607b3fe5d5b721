"""FVT data: import Flux Vision deliveries, store them faithfully, protect each territory's figures."""

from flask_babel import lazy_gettext as _l

from intranet.core.plugins import Job, NavEntry, Permission, Plugin
from intranet.fvt_tab.access import SHARING_SETTING
from intranet.fvt_tab.cli import fvt
from intranet.fvt_tab.jobs import demo_job, import_job
from intranet.fvt_tab.views import bp


def _queue_demo() -> str:
    """The demo's zones linked and its deliveries queued now, in `flask setup`'s transaction: the
    first page an office opens shows its own territory, marked fictitious, with the import's
    progress, even before the worker has started."""
    from intranet.fvt_tab.demo import queue_demo

    queue_demo()
    return "données Flux Vision fictives en cours d'import par le worker"


plugin = Plugin(
    name="fvt_tab",
    title=_l("Flux Vision"),
    blueprint=bp,
    audit_actions={"fvt.import": _l("Fichier Flux Vision importé"), "fvt.sharing": _l("Partage Flux Vision modifié"),
                   "fvt.quality": _l("Qualité d'un jour Flux Vision signalée"),
                   "fvt.zone_update": _l("Zone Flux Vision modifiée"),
                   "fvt.profile_create": _l("Profil d'import créé")},
    requires=("accounts",),
    models="intranet.fvt_tab.models",
    permissions=(
        Permission("fvt_tab.import", _l("Importer des données Flux Vision"), ("admin", "animateur")),
        Permission("fvt_tab.manage", _l("Gérer les zones et la qualité des données Flux Vision"),
                   ("admin", "animateur")),
    ),
    nav=(
        NavEntry(_l("Flux Vision"), "fvt_tab.index", order=40, icon="bar-chart-line"),
        NavEntry(_l("Imports Flux Vision"), "fvt_tab.imports", area="admin", order=90, permission="fvt_tab.import"),
    ),
    jobs=(Job("fvt_tab.import", import_job), Job("fvt_tab.demo", demo_job)),
    cli=fvt,
    settings={SHARING_SETTING: True},
    demo=_queue_demo,
)
