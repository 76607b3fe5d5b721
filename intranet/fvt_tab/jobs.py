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


def demo_job(job=None, **_):
    """First `make run`: write the fictitious deliveries and import them, zone by zone, showing the
    progress on the job (the imports appear in the history). Links the demo zones to the demo
    territories."""
    import tempfile
    from pathlib import Path

    import sqlalchemy as sa

    from intranet.core.models import Territory
    from intranet.fvt_tab.demo import ZONES, write_deliveries
    from intranet.fvt_tab.models import Zone

    years = [2024, 2025]
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_deliveries(Path(tmp), years)
        for n, path in enumerate(paths, 1):
            data = path.read_bytes()
            imp = Import(filename=path.name, sha256="", status="running")
            db.session.add(imp)
            db.session.flush()
            try:
                with force_locale("fr"):
                    run_import(imp, data)
                db.session.commit()
            except ImportFailed:
                db.session.rollback()
            if job is not None:
                set_progress(job, n, len(paths))
    territories = {t.code: t.id for t in db.session.scalars(sa.select(Territory))}
    for code, label, territory_code, _size, _winter in ZONES:
        zone = db.session.scalar(sa.select(Zone).where(Zone.code == code))
        if zone is not None and zone.territory_id is None:
            zone.territory_id = territories.get(territory_code)
            zone.name = f"{label} (données fictives)"
    db.session.commit()
