"""Who may see and export which zone's figures (the FVT partnership agreements).

Admins and animateurs see and export every zone. An office's members see and export the zones of
their own territory (and of the territories under it). The other zones they may only consult, and
only while the network setting « Partage entre destinations » is on (default on). A zone linked to
no territory yet (created by an import: an unknown code) is the observatory's until it is linked:
members do not see it at all, so nobody reads an office's own figures as another's « consultation »
before the link is made. Everything else is refused by the server: views call ``require_zone`` /
``require_export``, never only hide links.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort

from intranet.core.models import Territory
from intranet.core.settings import get_setting
from intranet.extensions import db
from intranet.fvt_tab.models import Zone
from intranet.fvt_tab.reference import fold

SHARING_SETTING = "fvt_tab.sharing"
EXPORT, VIEW = "export", "view"


def sharing_on() -> bool:
    return bool(get_setting(SHARING_SETTING, True))


def own_territory_ids(user) -> set[int]:
    """The user's organization's territory and every territory under it."""
    org = getattr(user, "organization", None)
    if org is None or org.territory_id is None:
        return set()
    ids, frontier = {org.territory_id}, {org.territory_id}
    while frontier:
        children = set(db.session.scalars(sa.select(Territory.id).where(Territory.parent_id.in_(frontier))))
        frontier = children - ids
        ids |= children
    return ids


def access(user, zone: Zone, own: set[int] | None = None) -> str | None:
    """"export", "view" or None. ``own``: the user's ``own_territory_ids``, when already known."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if user.is_animateur:
        return EXPORT
    if zone.territory_id is None:
        return None
    if zone.territory_id in (own_territory_ids(user) if own is None else own):
        return EXPORT
    return VIEW if sharing_on() else None


def require_zone(user, code: str) -> tuple[Zone, str]:
    zone = db.session.scalar(sa.select(Zone).where(Zone.code == code))
    if zone is None:
        abort(404)
    level = access(user, zone)
    if level is None:
        abort(403)
    return zone, level


def require_export(user, code: str) -> Zone:
    zone, level = require_zone(user, code)
    if level != EXPORT:
        abort(403)
    return zone


def visible_zones(user) -> list[tuple[Zone, str]]:
    """The zones the user may read, with their level: their own territory's zones first (for the
    agency, the department's), then the others by name, in French order (accents and case ignored)."""
    zones = db.session.scalars(sa.select(Zone)).all()
    own = own_territory_ids(user) if getattr(user, "is_authenticated", False) else set()
    org = getattr(user, "organization", None)
    home = getattr(org, "territory_id", None)
    out = []
    for zone in zones:
        level = access(user, zone, own)
        if level:
            out.append((zone, level))
    out.sort(key=lambda zl: (home is None or zl[0].territory_id != home, zl[0].territory_id not in own,
                             fold(zl[0].name), zl[0].code))
    return out
