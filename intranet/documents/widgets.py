"""Dashboard widget « Derniers documents »."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user

from intranet.documents.models import Document
from intranet.documents.services import visible_documents
from intranet.extensions import db

SHOWN = 5


def latest_documents() -> str:
    """The five newest documents the person sees (their folders' audiences included)."""
    docs = db.session.scalars(visible_documents(current_user).order_by(Document.created_at.desc(), Document.id.desc())
                              .limit(SHOWN)).all()
    return render_template("documents/widget.html", documents=docs)
