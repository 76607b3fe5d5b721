"""Permission keys granted to roles, checked with ``can()`` and ``@require()``.

Keys are declared by the core and by plugin manifests with their default roles. The grants live
in ``core_role_permissions`` rows; ``sync_permissions()`` writes the defaults of keys it has never
seen, so an admin who revokes a grant keeps it revoked. Admins can do everything.
"""

from __future__ import annotations

from functools import wraps

from flask import abort, current_app, g
from flask_login import current_user

from intranet.core.models import KnownPermission, RolePermission
from intranet.core.plugins import current_registry
from intranet.extensions import db


def _grants() -> set[tuple[str, str]]:
    # One query per request, whatever the number of checks on the page.
    if "_grants" not in g:
        g._grants = {(r.role, r.permission) for r in db.session.scalars(db.select(RolePermission))}
    return g._grants


def can(user, key: str) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if user.role == "admin":
        return True
    return (user.role, key) in _grants()


def require(key: str):
    """View decorator: 401 (then login) for anonymous users, 403 without the permission."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()
            if not can(current_user, key):
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_permission = key
        return wrapped

    return decorator


def sync_permissions() -> int:
    """Write default grants for keys never seen before. Returns the number of new keys."""
    known = set(db.session.scalars(db.select(KnownPermission.key)))
    added = 0
    for perm in current_registry().permissions:
        if perm.key in known:
            continue
        db.session.add(KnownPermission(key=perm.key))
        for role in perm.roles:
            if role != "admin":
                db.session.merge(RolePermission(role=role, permission=perm.key))
        added += 1
    db.session.flush()
    g.pop("_grants", None)
    return added


def set_grants(grants: set[tuple[str, str]]) -> None:
    """Replace every non-admin grant with ``grants`` (the admin matrix page)."""
    db.session.execute(db.delete(RolePermission))
    for role, key in sorted(grants):
        if role != "admin":
            db.session.add(RolePermission(role=role, permission=key))
    db.session.flush()
    g.pop("_grants", None)
