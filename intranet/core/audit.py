"""The audit log of admin actions. Call ``audit()`` inside the transaction of the change."""

from __future__ import annotations

from flask import has_request_context, request
from flask_login import current_user

from intranet.core.models import AuditEntry
from intranet.extensions import db


def audit(action: str, target=None, summary: str = "", actor=None, **details) -> AuditEntry:
    if actor is None and has_request_context() and current_user.is_authenticated:
        actor = current_user
    entry = AuditEntry(
        actor_id=getattr(actor, "id", None),
        action=action,
        target_type=type(target).__name__.lower() if target is not None else "",
        target_id=getattr(target, "id", None),
        summary=summary,
        details=details,
        ip=(request.remote_addr or "") if has_request_context() else "",
    )
    db.session.add(entry)
    db.session.flush()
    return entry
