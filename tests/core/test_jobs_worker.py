"""The worker: `flask worker --once`, queued jobs with retries, exclusive claims (also between
concurrent workers, on PostgreSQL too), progress visible to others, periodic jobs run once per period.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from intranet.core import jobs
from intranet.core.models import Job, Organization, PeriodicRun
from intranet.core.plugins import Job as JobSpec
from intranet.core.timeutil import utcnow
from intranet.extensions import db


@pytest.fixture
def register_job(app):
    """``register_job(key, func, every=None)``: a job known to the registry for this test only."""
    registry = app.extensions["intranet_registry"]
    added = []

    def _register(key, func, every=None):
        spec = JobSpec(key, func, every=every)
        registry.core_jobs.append(spec)
        added.append(spec)
        return spec

    yield _register
    for spec in added:
        registry.core_jobs.remove(spec)


def _job(job_id: int) -> Job:
    db.session.expire_all()
    return db.session.get(Job, job_id)


def _in_threads(app, n, target):
    """Run ``target()`` in ``n`` threads, each with its own app context (its own session and
    connection, like separate worker processes), started together. Returns their results."""
    barrier = threading.Barrier(n)
    results, errors = [None] * n, []

    def run(i):
        with app.app_context():
            try:
                barrier.wait(10)
                results[i] = target()
            except Exception as exc:  # reported by the test below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    return results


# -- flask worker --once ----------------------------------------------------------------------

def test_worker_once_runs_due_periodic_and_queued_jobs(app, register_job, outbox):
    from intranet.core.mail import queue_mail

    calls = []
    register_job("core.test_periodique", lambda job=None, **_: calls.append("periodique"), every=3600)
    register_job("core.test_import", lambda job=None, office="", **_: calls.append(office) or {"lignes": 3})
    queued = jobs.enqueue("core.test_import", {"office": "Salers"})
    later = jobs.enqueue("core.test_import", {"office": "plus tard"}, run_at=utcnow() + timedelta(hours=1))
    queue_mail("accueil@salers.example", "Bienvenue", "Bonjour")
    db.session.commit()

    result = app.test_cli_runner().invoke(args=["worker", "--once"])

    assert result.exit_code == 0, result.output
    assert "core.test_periodique" in result.output
    assert sorted(calls) == ["Salers", "periodique"]
    done = _job(queued.id)
    assert (done.status, done.result, done.attempts) == ("done", {"lignes": 3}, 1)
    assert done.finished_at is not None and done.locked_by
    assert _job(later.id).status == "pending"  # not due yet
    # The core's periodic mail job ran too: the message was delivered (as a .eml without MAIL_SERVER).
    assert [m.status for m in outbox()] == ["sent"]


def test_enqueue_refuses_an_unknown_job(app):
    with pytest.raises(KeyError, match="core.inconnu"):
        jobs.enqueue("core.inconnu")


# -- failures, retries, back-off -----------------------------------------------------------------

def test_a_failing_job_is_retried_with_back_off_then_failed(app, register_job):
    calls = []

    def fails(job=None, **_):
        calls.append(job.id)
        db.session.add(Organization(name=f"Écrite puis annulée {len(calls)}"))
        db.session.flush()
        raise RuntimeError("le fichier FVT est illisible")

    register_job("core.test_echec", fails)
    job = jobs.enqueue("core.test_echec")
    db.session.commit()

    delays = []
    for attempt in range(1, jobs.MAX_ATTEMPTS + 1):
        before = utcnow()
        assert jobs.run_due_jobs() == 1
        row = _job(job.id)
        assert row.attempts == attempt
        assert "le fichier FVT est illisible" in row.last_error
        assert row.locked_by is None
        if attempt < jobs.MAX_ATTEMPTS:
            assert row.status == "pending"
            assert row.run_at > before, "a failed job must wait before its next attempt"
            delays.append((row.run_at - before).total_seconds())
            assert jobs.run_due_jobs() == 0  # not due again yet
            row.run_at = utcnow() - timedelta(seconds=1)  # time passes
            db.session.commit()
    row = _job(job.id)
    assert row.status == "failed"
    assert row.finished_at is not None
    assert len(calls) == jobs.MAX_ATTEMPTS
    assert delays == sorted(delays) and delays[0] < delays[-1], f"back-off must grow: {delays}"
    # Each failed attempt rolled back what the job had written.
    assert db.session.scalar(sa.select(sa.func.count(Organization.id))) == 0
    assert jobs.run_due_jobs() == 0  # a failed job is never picked up again


def test_a_failing_job_does_not_stop_the_others(app, register_job):
    register_job("core.test_echec", lambda **_: 1 / 0)
    register_job("core.test_ok", lambda **_: {"ok": True})
    bad = jobs.enqueue("core.test_echec")
    good = jobs.enqueue("core.test_ok")
    db.session.commit()
    assert jobs.run_due_jobs() == 2
    assert _job(bad.id).status == "pending" and "ZeroDivisionError" in _job(bad.id).last_error
    assert _job(good.id).status == "done"


# -- exclusive claims ---------------------------------------------------------------------------

def test_two_workers_claiming_the_same_job_run_it_once(app, register_job):
    runs = []
    lock = threading.Lock()

    def slow(job=None, **_):
        with lock:
            runs.append(job.id)
        time.sleep(0.2)  # long enough for the other worker to try too
        return {}

    register_job("core.test_lent", slow)
    job = jobs.enqueue("core.test_lent")
    db.session.commit()

    results = _in_threads(app, 2, jobs.run_due_jobs)

    assert runs == [job.id]
    assert sorted(results) == [0, 1]
    assert _job(job.id).status == "done" and _job(job.id).attempts == 1


def test_the_claim_itself_is_atomic(app, register_job):
    # Both workers have already read the job as pending; only one UPDATE … WHERE status='pending' wins.
    register_job("core.test_ok", lambda **_: {})
    job = jobs.enqueue("core.test_ok")
    db.session.commit()
    won = _in_threads(app, 4, lambda: jobs._claim_job(job.id, jobs.worker_id()))
    assert sorted(won) == [False, False, False, True]
    assert _job(job.id).status == "running"


def test_several_workers_share_a_queue_without_running_anything_twice(app, register_job):
    runs = []
    lock = threading.Lock()

    def record(job=None, **_):
        with lock:
            runs.append(job.id)
        time.sleep(0.01)
        return {}

    register_job("core.test_file", record)
    ids = [jobs.enqueue("core.test_file", {"n": i}).id for i in range(12)]
    db.session.commit()

    results = _in_threads(app, 3, jobs.run_due_jobs)

    assert sorted(runs) == sorted(ids), "every job runs exactly once"
    assert sum(results) == len(ids)
    db.session.expire_all()
    assert set(db.session.scalars(sa.select(Job.status))) == {"done"}


# -- progress ---------------------------------------------------------------------------------

def _progress_seen_elsewhere(job_id: int) -> tuple[int, int]:
    """What a page polling the job would read: another connection, another transaction."""
    with db.engine.connect() as conn:
        return tuple(conn.execute(sa.select(Job.progress, Job.progress_total).where(Job.id == job_id)).one())


def test_progress_is_visible_from_another_session_while_the_job_runs(app, register_job):
    seen = []

    def importer(job=None, **_):
        for done in (1, 2):
            jobs.set_progress(job, done, 2)
            seen.append(_progress_seen_elsewhere(job.id))
        return {}

    register_job("core.test_import", importer)
    job = jobs.enqueue("core.test_import")
    db.session.commit()
    assert jobs.run_due_jobs() == 1
    assert seen == [(1, 2), (2, 2)]
    assert _job(job.id).status == "done"


def test_progress_after_the_job_wrote_rows(app, register_job):
    # A bulk import writes rows and reports progress as it goes: reporting must neither block
    # on the job's own open transaction nor lose the rows.
    seen = []

    def importer(job=None, **_):
        for n in (1, 2):
            db.session.add(Organization(name=f"Office importé {n}"))
            db.session.flush()
            jobs.set_progress(job, n, 2)
            seen.append(_progress_seen_elsewhere(job.id))
        return {}

    register_job("core.test_import", importer)
    job = jobs.enqueue("core.test_import")
    db.session.commit()
    started = time.monotonic()
    assert jobs.run_due_jobs() == 1
    assert time.monotonic() - started < 5, "set_progress waited for the job's own transaction"
    row = _job(job.id)
    assert row.status == "done", row.last_error
    assert (row.progress, row.progress_total) == (2, 2)
    if db.engine.dialect.name == "postgresql":
        assert seen == [(1, 2), (2, 2)]  # seen at once by the page polling it
    else:
        # SQLite has one writer, the job's own open transaction: the progress shows at its commit.
        assert seen == [(0, 0), (0, 0)]
    assert db.session.scalar(sa.select(sa.func.count(Organization.id))) == 2


# -- periodic jobs ------------------------------------------------------------------------------

def test_a_periodic_job_runs_once_per_period(app, register_job):
    calls = []
    register_job("core.test_resume", lambda job=None, **_: calls.append(1), every=3600)

    assert "core.test_resume" in jobs.run_due_periodic()
    assert "core.test_resume" not in jobs.run_due_periodic()
    assert len(calls) == 1
    run = db.session.get(PeriodicRun, "core.test_resume")
    assert run.last_run_at is not None
    assert run.next_run_at - run.last_run_at == timedelta(seconds=3600)

    # When its time comes, it runs again; --force-like runs ignore the schedule.
    run.next_run_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert "core.test_resume" in jobs.run_due_periodic()
    assert "core.test_resume" in jobs.run_due_periodic(force=True)
    assert len(calls) == 3


def test_concurrent_workers_run_a_periodic_job_once(app, register_job):
    calls = []
    lock = threading.Lock()

    def digest(job=None, **_):
        with lock:
            calls.append(1)
        time.sleep(0.1)

    register_job("core.test_resume", digest, every=3600)
    results = _in_threads(app, 3, jobs.run_due_periodic)
    assert len(calls) == 1
    assert sum("core.test_resume" in r for r in results) == 1


def test_a_failing_periodic_job_records_its_error_and_others_still_run(app, register_job):
    calls = []
    register_job("core.test_casse", lambda **_: 1 / 0, every=60)
    register_job("core.test_ok", lambda **_: calls.append(1), every=60)
    ran = jobs.run_due_periodic()
    assert {"core.test_casse", "core.test_ok"} <= set(ran)
    assert calls == [1]
    db.session.expire_all()
    assert "ZeroDivisionError" in db.session.get(PeriodicRun, "core.test_casse").last_error
