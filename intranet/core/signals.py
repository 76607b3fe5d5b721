"""Core blinker signals. Receivers accept ``**kwargs`` so new arguments never break them."""

from blinker import Namespace

_signals = Namespace()

#: An admin invited a person. kwargs: user, inviter
user_invited = _signals.signal("core.user-invited")
#: A person chose a password and logged in for the first time. kwargs: user
user_activated = _signals.signal("core.user-activated")
#: An account was deactivated or reactivated. kwargs: user, actor, active
user_status_changed = _signals.signal("core.user-status-changed")
