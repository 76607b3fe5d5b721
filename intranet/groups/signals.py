"""Signals of the groups plugin, for the notification bus. Receivers accept ``**kwargs``."""

from blinker import Namespace

_signals = Namespace()

#: Someone asked to join a group with the "sur demande" policy. kwargs: group, user, request
join_requested = _signals.signal("groups.join-requested")
#: A group admin accepted or refused a request. kwargs: group, user, request, actor, accepted
request_decided = _signals.signal("groups.request-decided")
#: A group admin invited someone. kwargs: group, user, request, actor
member_invited = _signals.signal("groups.member-invited")
#: Someone became a member (joined, was accepted, accepted an invitation). kwargs: group, user, actor
member_added = _signals.signal("groups.member-added")
#: Someone left or was removed. kwargs: group, user, actor
member_removed = _signals.signal("groups.member-removed")
