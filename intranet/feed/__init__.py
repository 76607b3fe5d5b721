"""Feed: the network's discussion thread (« fil de discussion »), in each group too."""

from flask_babel import lazy_gettext as _l

from intranet.core.plugins import GroupTab, Job, NavEntry, Plugin, Widget
from intranet.feed import widgets
from intranet.feed.demo import load_demo
from intranet.feed.notifications import KINDS, TYPES, connect_receivers
from intranet.feed.profile import posts_section
from intranet.feed.services import rerender_job
from intranet.feed.views import bp

plugin = Plugin(
    name="feed",
    title=_l("Fil de discussion"),
    blueprint=bp,
    requires=("accounts", "notifications", "groups"),
    models="intranet.feed.models",
    nav=(NavEntry(_l("Fil"), "feed.index", order=10, icon="chat-square-text"),),
    group_tabs=(GroupTab("feed.group", _l("Fil"), "feed.group_feed", order=10),),
    # Posts and comments whose stored HTML an older renderer wrote are rendered again.
    jobs=(Job("feed.rerender", rerender_job, every=300),),
    widgets=(Widget("feed.latest", _l("Derniers messages du fil"), widgets.latest_posts, order=3),),
    profile_sections=(posts_section,),
    notification_types=TYPES,
    notifiable_kinds=KINDS,
    setup=connect_receivers,
    demo=load_demo,
)
