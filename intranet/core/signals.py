"""Core blinker signals. Receivers accept ``**kwargs`` so new arguments never break them."""

from blinker import Namespace

_signals = Namespace()

#: An admin invited a person. kwargs: user, inviter
user_invited = _signals.signal("core.user-invited")
#: A person chose a password and logged in for the first time. kwargs: user
user_activated = _signals.signal("core.user-activated")
#: An account was deactivated or reactivated. kwargs: user, actor, active
user_status_changed = _signals.signal("core.user-status-changed")

#: Something worth a line in the network's feed happened in a plugin (a document was shared, an
#: event published…). kwargs: key (an ``ActivityType`` key such as "events.published"),
#: object_id, audience_targets (the object's audience entries, e.g. ``audience.targets()``: who
#: sees the item), actor (a User or None), data (a JSON-able dict: title, url, excerpt… what the
#: plugin's template shows), group_id (optional). Sent again when the object changes: the item is
#: updated, not repeated.
activity_published = _signals.signal("core.activity-published")
#: The object behind an activity is gone or no longer shared. kwargs: key, object_id
activity_withdrawn = _signals.signal("core.activity-withdrawn")
