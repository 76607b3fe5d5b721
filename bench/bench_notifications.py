"""Issue 4, Performance: notifying 2,000 members of one action returns to the actor in ≤ 150 ms
(rows written in bulk); the worker sends ≥ 50 mails per second to a local SMTP sink.

"notify 2,000": a network of 2,100 people (50 organizations, ``seed_network``) and an animateur
who owns a public group (everyone may see it, but the viewer check still runs: one query per 900
ids). Some members made choices, as in real life: one in ten has a preference row for the type (a
quarter of those with e-mail off), one in ten takes a daily digest, one in fifty muted the group.
The action is ``notify("groups.new_member", ids, actor, group, member=…)``, a type with web and
e-mail on, so most people get an in-app row and an outbox row (immediate). Timed: what the actor
waits for, ``notify()`` and the commit, inside a request context. Baseline: the same call for 20
people (with the same variety of choices), in the same run, interleaved. Printed beside: rows
written and the SQL statements of one call; the statements repeat only per chunk of 900 ids, so
2,000 people take at most 3 times the baseline's statements, whatever the number of rows.

"worker mails/s": an SMTP sink (aiosmtpd on 127.0.0.1, a handler that only counts) and Flask-Mail
pointed at it. Notification mails are queued by one ``notify()``, then ``deliver_outbox()`` sends
them: each mail claimed, rendered at send time (access and preferences checked again, text and
HTML parts, unsubscribe token), sent over SMTP, marked sent. Baseline: as many plain
``queue_mail`` messages (nothing to render). ``small`` sends 200 of each in 4 rounds of 50,
``full`` 1,000 in 5 rounds of 200 (one ``deliver_outbox`` call, one SMTP connection, per round).

Timings are taken in rounds; the figure compared with a target is the best round's (other
processes only ever add time, see ``bench.common.summarize``), every round is printed, and so is
the CPU time, which a busy machine inflates far less than the wall time.
"""

from __future__ import annotations

import math
import random
import socket
import statistics
import time
from contextlib import contextmanager

import sqlalchemy as sa

from bench.common import BenchError, Context, Result, fresh_app, ms, recorded_statements, seed_network

NAME = "notifications"
TARGET_NOTIFY_MS = 150.0
TARGET_MAILS_PER_S = 50.0
TYPE = "groups.new_member"
BIG, SMALL = 2_000, 20
CHUNK = 900  # ids per IN (…) in the bus
NETWORK = (50, 2_100)  # organizations, people: ~96 % active, so 2,000 active besides the actor


# -- data ----------------------------------------------------------------------------------------

def _setup() -> tuple[int, int, list[int]]:
    """The actor (an active animateur), their public group, 2,000 other active people, and the
    choices some of them made (the first three: e-mail off, daily digest, group muted)."""
    from intranet.core import notifications as bus
    from intranet.core.models import User
    from intranet.extensions import db
    from intranet.groups.services import create_group

    seed_network(*NETWORK)
    actor = db.session.scalar(sa.select(User).where(User.role == "animateur", User.is_active_account.is_(True))
                              .order_by(User.id).limit(1))
    group = create_group(actor, "Réseau des offices du Cantal", "Tout le réseau.", visibility="public",
                         join_policy="open")
    ids = db.session.scalars(sa.select(User.id).where(User.is_active_account.is_(True), User.id != actor.id)
                             .order_by(User.id)).all()
    if len(ids) < BIG:
        raise BenchError(f"only {len(ids)} active people besides the actor, {BIG} needed")
    ids = ids[:BIG]
    rng = random.Random(4)
    prefs = [{"user_id": ids[0], "type": TYPE, "web": True, "email": False}]
    settings = [{"user_id": ids[1], "frequency": "daily"}]
    mutes = [{"user_id": ids[2], "group_id": group.id}]
    for uid in ids[3:]:
        if rng.random() < 0.10:
            prefs.append({"user_id": uid, "type": TYPE, "web": True, "email": rng.random() >= 0.25})
        if rng.random() < 0.10:
            settings.append({"user_id": uid, "frequency": "daily"})
        if rng.random() < 0.02:
            mutes.append({"user_id": uid, "group_id": group.id})
    db.session.execute(sa.insert(bus.NotificationPreference), prefs)
    db.session.execute(sa.insert(bus.NotificationSettings), settings)
    db.session.execute(sa.insert(bus.GroupMute), mutes)
    db.session.commit()
    return actor.id, group.id, ids


def _counts() -> tuple[int, int]:
    from intranet.core import notifications as bus
    from intranet.core.models import MailMessage
    from intranet.extensions import db

    return (db.session.scalar(sa.select(sa.func.count(bus.Notification.id))),
            db.session.scalar(sa.select(sa.func.count(MailMessage.id))))


# -- notify ----------------------------------------------------------------------------------------

def _notify_once(app, actor_id: int, group_id: int, ids: list[int], member: str) -> dict:
    """One action in the actor's request: notify() + commit, timed (wall and this thread's CPU)."""
    from intranet.core.models import User
    from intranet.core.notifications import notify
    from intranet.extensions import db
    from intranet.groups.models import Group

    with app.test_request_context():  # notify() builds the object's URL with url_for
        actor = db.session.get(User, actor_id)
        group = db.session.get(Group, group_id)
        before = _counts()
        db.session.commit()  # the counts' transaction is not the action's
        db.session.refresh(group)  # loaded, as in the actor's request
        db.session.refresh(actor)
        with recorded_statements(db.engine) as seen:
            c0, t0 = time.thread_time(), time.perf_counter()
            n = notify(TYPE, ids, actor, group, member=member)
            db.session.commit()
            wall, cpu = (time.perf_counter() - t0) * 1000, (time.thread_time() - c0) * 1000
        after = _counts()
        db.session.remove()
    return {"ms": wall, "cpu": cpu, "notified": n, "stmts": seen,
            "web_rows": after[0] - before[0], "mail_rows": after[1] - before[1]}


def _measure_notify(app, ctx: Context) -> dict:
    with app.app_context():
        actor_id, group_id, ids = _setup()
    rounds, per_round = ctx.pick((3, 5), (5, 9))
    _notify_once(app, actor_id, group_id, ids[:SMALL], "Échauffement")  # warm-up: compiled SQL, caches
    out = {size: {"rounds": [], "cpu": [], "last": None} for size in (SMALL, BIG)}
    for r in range(rounds):
        walls = {SMALL: [], BIG: []}
        for i in range(per_round):
            for size in (SMALL, BIG):  # interleaved, so a burst of load spoils both alike
                res = _notify_once(app, actor_id, group_id, ids[:size], f"Nouveau membre {r}.{i}")
                walls[size].append(res["ms"])
                out[size]["cpu"].append(res["cpu"])
                out[size]["last"] = res
        for size in (SMALL, BIG):
            out[size]["rounds"].append(statistics.median(walls[size]))
    out["runs"] = (rounds, per_round)
    return out


# -- the worker ----------------------------------------------------------------------------------

class _CountingHandler:
    def __init__(self):
        self.count = 0
        self.bytes = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        self.bytes += len(envelope.content)
        return "250 OK"


@contextmanager
def smtp_sink(app):
    """aiosmtpd on 127.0.0.1 (a free port found by binding port 0), Flask-Mail pointed at it."""
    from aiosmtpd.controller import Controller

    from intranet.extensions import mail

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    handler = _CountingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    saved = {k: app.config.get(k) for k in ("MAIL_SERVER", "MAIL_PORT")}
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    mail.init_app(app)  # Flask-Mail reads its settings at init
    try:
        yield handler
    finally:
        controller.stop()
        app.config.update(saved)
        mail.init_app(app)


def _deliver_rounds(app, handler, total: int, per_round: int) -> dict:
    """deliver_outbox(limit=per_round) until ``total`` mails went out: one round per call.
    Returns each round's mails/s, the overall rate, CPU per mail, what the sink received."""
    from intranet.core.mail import deliver_outbox
    from intranet.extensions import db

    before = handler.count
    rates, sent, errors, wall, cpu = [], 0, 0, 0.0, 0.0
    with app.app_context():
        while sent < total:
            p0, t0 = time.process_time(), time.perf_counter()  # process: the sink's thread included
            res = deliver_outbox(ignore_backoff=True, limit=per_round)
            w, c = time.perf_counter() - t0, time.process_time() - p0
            if res["sent"] == 0:
                break
            rates.append(res["sent"] / w)
            sent, errors, wall, cpu = sent + res["sent"], errors + res["errors"], wall + w, cpu + c
            if errors > 10:
                break
        db.session.remove()
    end = time.monotonic() + 10
    while handler.count < before + sent and time.monotonic() < end:
        time.sleep(0.01)
    return {"rates": rates, "overall": sent / wall if wall else 0.0, "cpu_ms": cpu * 1000 / max(sent, 1),
            "sent": sent, "errors": errors, "received": handler.count - before}


def _measure_worker(app, ctx: Context) -> dict:
    from intranet.core import notifications as bus
    from intranet.core.mail import queue_mail
    from intranet.core.models import MailMessage, User
    from intranet.extensions import db
    from intranet.groups.models import Group

    total, per_round = ctx.pick((200, 50), (1_000, 200))
    with app.app_context():
        # What the notify benchmark left in the outbox is not part of this figure.
        db.session.execute(sa.update(MailMessage).where(MailMessage.status == "pending").values(status="cancelled"))
        actor_id = db.session.scalar(sa.select(User.id).where(User.role == "animateur").order_by(User.id).limit(1))
        group_id = db.session.scalar(sa.select(Group.id).order_by(Group.id).limit(1))
        # People who take this type's e-mails at once (no opt-out, digest or mute).
        opted_out = sa.select(bus.NotificationPreference.user_id).where(
            bus.NotificationPreference.type == TYPE, bus.NotificationPreference.email.is_(False))
        digest = sa.select(bus.NotificationSettings.user_id).where(bus.NotificationSettings.frequency != "immediate")
        ids = db.session.scalars(sa.select(User.id).where(
            User.is_active_account.is_(True), User.id != actor_id, User.id.not_in(opted_out),
            User.id.not_in(digest), User.id.not_in(sa.select(bus.GroupMute.user_id)))
            .order_by(User.id).limit(total)).all()
        if len(ids) < total:
            raise BenchError(f"only {len(ids)} people take immediate e-mails, {total} needed")
        emails = db.session.scalars(sa.select(User.email).where(User.id.in_(ids)).order_by(User.id)).all()
        db.session.commit()

    out = {"total": total, "per_round": per_round}
    with smtp_sink(app) as handler:
        with app.app_context():
            for i, email in enumerate(emails):
                queue_mail(email, f"Message de test {i}", "Bonjour,\n\nUn message simple.\n",
                           "<p>Bonjour,</p><p>Un message simple.</p>")
            db.session.commit()
            db.session.remove()
        out["plain"] = _deliver_rounds(app, handler, total, per_round)

        with app.test_request_context():  # one action, as in the actor's request
            queued = bus.notify(TYPE, ids, db.session.get(User, actor_id), db.session.get(Group, group_id),
                                member="Lucie Nouvelle")
            db.session.commit()
            pending = db.session.scalar(sa.select(sa.func.count(MailMessage.id))
                                        .where(MailMessage.status == "pending"))
            db.session.remove()
        if pending != total:
            raise BenchError(f"notify queued {pending} mails for {queued} people, {total} expected")
        size_before = handler.bytes
        out["notification"] = _deliver_rounds(app, handler, total, per_round)
        out["mail_kb"] = (handler.bytes - size_before) / max(1, out["notification"]["received"]) / 1024
    return out


# -- report --------------------------------------------------------------------------------------

def _census(statements: list[str]) -> str:
    """How many statements of each kind: "3× SELECT core_users, 2× INSERT core_notifications…"."""
    counts: dict[str, int] = {}
    for s in statements:
        words = " ".join(s.split()).split(" ")
        upper = [w.upper() for w in words]
        verb = upper[0]
        key = {"INSERT": "INTO", "UPDATE": "UPDATE", "DELETE": "FROM"}.get(verb, "FROM")
        table = words[upper.index(key) + 1] if key in upper and upper.index(key) + 1 < len(words) else "?"
        label = f"{verb} {table}"
        counts[label] = counts.get(label, 0) + 1
    return ", ".join(f"{v}× {k}" for k, v in counts.items())


def run(ctx: Context) -> list[Result]:
    results: list[Result] = []
    with fresh_app(ctx) as app:
        notify_runs = _measure_notify(app, ctx)
        worker = _measure_worker(app, ctx)
        with app.app_context():
            from intranet.extensions import db

            db_name = db.engine.dialect.name

    rounds, per_round = notify_runs.pop("runs")
    print(f"[{NAME}] {db_name}: {NETWORK[1]} people / {NETWORK[0]} orgs; notify('{TYPE}', ids, actor, public group) "
          f"+ commit; {rounds} rounds × {per_round} calls of each size, interleaved, after a warm-up; "
          f"figure = best round's median")
    summary = {}
    for size in (BIG, SMALL):
        data = notify_runs[size]
        last = data["last"]
        best = min(data["rounds"])
        summary[size] = (best, statistics.median(data["cpu"]), len(last["stmts"]))
        each = "/".join(f"{v:.0f}" for v in data["rounds"])
        print(f"[{NAME}] notify {size:>5}: median {ms(best)} (rounds {each} ms), CPU median "
              f"{ms(statistics.median(data['cpu']))}; {last['notified']} notified: {last['web_rows']} in-app rows "
              f"+ {last['mail_rows']} outbox rows in {len(last['stmts'])} SQL statements")
        print(f"    {_census(last['stmts'])}")
    (big_ms, big_cpu, big_sql), (small_ms, _small_cpu, small_sql) = summary[BIG], summary[SMALL]
    last = notify_runs[BIG]["last"]
    results.append(Result(
        f"{NAME}: notify {BIG:,} + commit",
        f"{ms(big_ms)} (CPU {ms(big_cpu)}; baseline {SMALL}: {ms(small_ms)})",
        f"≤ {TARGET_NOTIFY_MS:.0f} ms", big_ms <= TARGET_NOTIFY_MS, timing=True))
    chunks = math.ceil(BIG / CHUNK)
    rows = last["web_rows"] + last["mail_rows"]
    results.append(Result(
        f"{NAME}: SQL per notify {BIG:,}",
        f"{big_sql} for {rows:,} rows (baseline {SMALL}: {small_sql})",
        f"≤ {chunks} × baseline ({chunks * small_sql})", big_sql <= chunks * small_sql))

    total, per_round = worker["total"], worker["per_round"]
    print(f"[{NAME}] worker: {total} mails of each kind in rounds of {per_round} (one deliver_outbox call each); "
          f"figure = best round; CPU of the process (sink included)")
    for label in ("notification", "plain"):
        w = worker[label]
        print(f"[{NAME}] {label:<12}: best {max(w['rates'], default=0):.0f}/s (rounds "
              f"{'/'.join(f'{v:.0f}' for v in w['rates'])}), overall {w['overall']:.0f}/s, "
              f"CPU {w['cpu_ms']:.1f} ms per mail (= {1000 / w['cpu_ms']:.0f}/s on an idle core); "
              f"{w['sent']} sent, {w['errors']} errors, {w['received']} received by the sink")
    print(f"[{NAME}] a notification mail is about {worker['mail_kb']:.1f} KB (text + HTML parts)")
    w, p = worker["notification"], worker["plain"]
    rate = max(w["rates"], default=0.0)
    ok = w["sent"] == total and w["received"] == total and w["errors"] == 0 and rate >= TARGET_MAILS_PER_S
    results.append(Result(
        f"{NAME}: worker notification mails/s",
        f"{rate:.0f}/s (overall {w['overall']:.0f}/s, CPU {w['cpu_ms']:.1f} ms/mail; {w['received']}/{total} "
        f"received; baseline plain {max(p['rates'], default=0):.0f}/s)",
        f"≥ {TARGET_MAILS_PER_S:.0f}/s", ok, timing=True))
    return results
