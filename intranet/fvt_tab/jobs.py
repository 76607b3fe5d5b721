"""Imports run in the worker: the upload is stored, the job reads it and reports its progress."""

from __future__ import annotations

from flask_babel import force_locale

from intranet.core.jobs import set_progress
from intranet.core.storage import delete_stored, open_stored
from intranet.core.timeutil import utcnow
from intranet.extensions import db
from intranet.fvt_tab.importer import ImportFailed, run_import
from intranet.fvt_tab.models import Import


def _progress(job):
    if job is None:
        return lambda pct: None
    return lambda pct: set_progress(job, max(0, min(99, int(pct))), 100)


def import_job(job=None, import_id: int | None = None, **_):
    """Run one queued import (payload: import_id). All or nothing: on failure, the import is marked
    failed with its French error and nothing else changes."""
    import_id = import_id or (job.payload or {}).get("import_id")
    imp = db.session.get(Import, import_id)
    if imp is None or imp.status not in ("queued", "running"):
        return
    imp.status = "running"
    db.session.commit()
    try:
        with open_stored(imp.stored_key) as f:
            data = f.read()
    except (FileNotFoundError, TypeError):
        _fail(imp.id, "Le fichier envoyé n'est plus disponible ; envoyez-le de nouveau.")
        return
    try:
        with force_locale("fr"):
            run_import(imp, data, progress=_progress(job))
        db.session.commit()
    except ImportFailed as exc:
        db.session.rollback()
        _fail(import_id, str(exc))
    except Exception:
        db.session.rollback()
        _fail(import_id, "Erreur inattendue pendant l'import ; rien n'a été modifié. L'équipe technique est prévenue.")
        raise
    finally:
        key = db.session.get(Import, import_id).stored_key
        if key:
            delete_stored(key)
            db.session.get(Import, import_id).stored_key = None
            db.session.commit()


def _fail(import_id: int, message: str) -> None:
    imp = db.session.get(Import, import_id)
    imp.status, imp.error, imp.finished_at = "failed", message, utcnow()
    db.session.commit()


def demo_job(job=None, years=None, zones=None, **_):
    """The demo's deliveries, imported one by one (each all or nothing, committed, so each zone's
    figures grow delivery by delivery while its pages say how many are in). The zones and the
    queued imports are prepared with the job (``prepare_demo``, at ``flask setup``), so they are
    linked and marked fictitious before the first row; a job run without them prepares them first.
    Run again after a crash, it goes on with the imports still pending."""
    import sqlalchemy as sa

    from intranet.fvt_tab.arriving import PENDING
    from intranet.fvt_tab.demo import DEMO_YEARS, ZONES, plan, prepare_demo

    years = list(years or DEMO_YEARS)
    selected = [z for z in ZONES if not zones or z[0] in zones]
    by_name = {name: (zone, year, b) for zone, year, b, name in plan(years, selected)}
    prepared = job is not None and db.session.scalar(
        sa.select(sa.func.count(Import.id)).where(Import.job_id == job.id))
    if prepared:
        ids = db.session.scalars(sa.select(Import.id).where(Import.job_id == job.id, Import.status.in_(PENDING))
                                 .order_by(Import.id)).all()
    else:
        ids = prepare_demo(years, job.id if job is not None else None, selected)
        db.session.commit()
    for n, import_id in enumerate(ids, 1):
        import_demo_delivery(import_id, by_name)
        if job is not None:
            set_progress(job, n, len(ids))


def import_demo_delivery(import_id: int, by_name: dict | None = None) -> None:
    """One queued demo delivery, written and imported (committed; failed with its French error)."""
    from intranet.fvt_tab.demo import DEMO_YEARS, delivery_zip, plan

    by_name = by_name or {name: (zone, year, b) for zone, year, b, name in plan(list(DEMO_YEARS))}
    imp = db.session.get(Import, import_id)
    spec = by_name.get(imp.filename)
    if spec is None:
        _fail(import_id, "Livraison de démonstration inconnue.")
        return
    data = delivery_zip(*spec)
    imp.status = "running"
    db.session.commit()
    try:
        with force_locale("fr"):
            run_import(imp, data)
        db.session.commit()
    except ImportFailed as exc:
        db.session.rollback()
        _fail(import_id, str(exc))
