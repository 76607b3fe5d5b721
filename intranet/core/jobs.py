"""Background work run by ``flask worker``: queued jobs and periodic jobs.

Claims are atomic ``UPDATE … WHERE`` statements checked by their row count, so several workers on
PostgreSQL never run the same job twice, and one worker beside the web server on SQLite is safe.
Each job runs in its own transaction: it commits when it succeeds, rolls back when it fails.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import traceback
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from intranet.core.models import Job, PeriodicRun
from intranet.core.plugins import current_registry
from intranet.core.timeutil import utcnow
from intranet.extensions import db

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 3


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def enqueue(key: str, payload: dict | None = None, run_at=None, created_by=None) -> Job:
    """Queue ``key`` to run in the worker. Call inside the transaction of the change."""
    if current_registry().job(key) is None:
        raise KeyError(f"unknown job {key!r}")
    job = Job(key=key, payload=payload or {}, run_at=run_at or utcnow(),
              created_by_id=getattr(created_by, "id", None))
    db.session.add(job)
    db.session.flush()
    return job


def set_progress(job: Job, done: int, total: int) -> None:
    """Record progress in its own short transaction so the page polling it sees it at once.

    SQLite has a single writer: once the job has written rows, its own open transaction holds the
    lock and another connection would wait for it (then fail the job). Then the progress goes
    through the job's session and shows at its next commit.
    """
    stmt = sa.update(Job).where(Job.id == job.id).values(progress=done, progress_total=total)
    if _holds_sqlite_write_lock():
        db.session.execute(stmt)
        return
    with db.engine.begin() as conn:
        conn.execute(stmt)


def _holds_sqlite_write_lock() -> bool:
    session = db.session()
    if db.engine.dialect.name != "sqlite" or not session.in_transaction():
        return False
    # pysqlite opens a transaction only before a write (INSERT, UPDATE, DELETE).
    return bool(getattr(session.connection().connection.dbapi_connection, "in_transaction", False))


def _claim_job(job_id: int, me: str) -> bool:
    res = db.session.execute(
        sa.update(Job).where(Job.id == job_id, Job.status == "pending")
        .values(status="running", locked_by=me, locked_at=utcnow(), attempts=Job.attempts + 1)
    )
    db.session.commit()
    return res.rowcount == 1


def run_job(job: Job) -> None:
    spec = current_registry().job(job.key)
    try:
        if spec is None:
            raise KeyError(f"unknown job {job.key!r}")
        result = spec.func(job=job, **(job.payload or {}))
        job.status = "done"
        job.result = result if isinstance(result, dict) else {}
        job.finished_at = utcnow()
        db.session.commit()
    except Exception:  # a failing job must never stop the worker
        db.session.rollback()
        err = traceback.format_exc(limit=5)
        log.exception("job %s #%s failed", job.key, job.id)
        job = db.session.get(Job, job.id)
        job.last_error = err[-4000:]
        if job.attempts >= MAX_ATTEMPTS:
            job.status = "failed"
            job.finished_at = utcnow()
        else:
            job.status = "pending"
            job.run_at = utcnow() + timedelta(seconds=30 * 2 ** job.attempts)
        job.locked_by = None
        db.session.commit()


def run_due_jobs(limit: int = 20) -> int:
    me = worker_id()
    ids = db.session.scalars(
        sa.select(Job.id).where(Job.status == "pending", Job.run_at <= utcnow()).order_by(Job.run_at).limit(limit)
    ).all()
    db.session.commit()
    ran = 0
    for job_id in ids:
        if _claim_job(job_id, me):
            run_job(db.session.get(Job, job_id))
            ran += 1
    return ran


def claim_periodic(key: str, now: datetime, next_run_at: datetime, first_run_at: datetime | None = None,
                   force: bool = False) -> bool:
    """Whether this worker runs ``key`` now. Its row (created due at ``first_run_at``, else ``now``)
    is moved to ``next_run_at`` by one UPDATE that only succeeds while it is due (always with
    ``force``): of several workers asking at once, exactly one gets True."""
    if db.session.get(PeriodicRun, key) is None:
        try:
            db.session.add(PeriodicRun(key=key, next_run_at=first_run_at or now))
            db.session.commit()
        except IntegrityError:  # another worker inserted it first
            db.session.rollback()
    cond = [PeriodicRun.key == key]
    if not force:
        cond.append(PeriodicRun.next_run_at <= now)
    res = db.session.execute(sa.update(PeriodicRun).where(*cond).values(next_run_at=next_run_at, last_run_at=now))
    db.session.commit()
    return res.rowcount == 1


def run_due_periodic(force: bool = False) -> list[str]:
    """Run each periodic job whose time has come (all of them with ``force``)."""
    ran = []
    now = utcnow()
    for spec in current_registry().jobs:
        if not spec.every:
            continue
        if not claim_periodic(spec.key, now, now + timedelta(seconds=spec.every), force=force):
            continue
        try:
            spec.func(job=None)
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("periodic job %s failed", spec.key)
            db.session.execute(sa.update(PeriodicRun).where(PeriodicRun.key == spec.key)
                               .values(last_error=traceback.format_exc(limit=5)[-4000:]))
            db.session.commit()
        ran.append(spec.key)
    return ran


def run_once(force_periodic: bool = False) -> dict:
    periodic = run_due_periodic(force=force_periodic)
    jobs = run_due_jobs()
    return {"periodic": periodic, "jobs": jobs}


def run_forever(poll: float | None = None, stop=lambda: False) -> None:
    poll = poll or current_app.config["WORKER_POLL_SECONDS"]
    log.info("worker %s started", worker_id())
    app = current_app._get_current_object()
    while not stop():
        # A fresh app context each pass: settings cached in ``g`` (notification defaults…) are
        # read again, so an admin's change reaches a long-running worker.
        with app.app_context():
            try:
                run_once()
            except Exception:  # database briefly unavailable: wait and try again
                db.session.rollback()
                log.exception("worker loop error")
            finally:
                db.session.remove()
        time.sleep(poll)
