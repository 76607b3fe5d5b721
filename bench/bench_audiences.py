"""Issue 3, Performance: with 2,000 people (50 organizations), 200 groups and 100,000 shared
objects, listing the 20 newest objects one person may see takes ≤ 5 ms of SQL, with a plan that
uses indexes, on SQLite and on PostgreSQL (``--db postgres``: run both and print both).

The objects live in ``bench_shared_things`` (id, audience_id, author_id, created_at; indexes on
created_at, audience_id and author_id), a table of this module's own MetaData created in the
bench database, shared as a plugin would: about half with "Tout le réseau", a fifth with one
organization, a quarter with one group (private and secret ones included), the rest with a few
chosen people, every audience made by ``get_audience`` (so audiences are shared by content).

The query is ``visible_to(user, select(Thing).order_by(Thing.created_at.desc()).limit(20), Thing)``
for several kinds of members (in 30 groups, in 2, in none and in the smallest organization: the
one who sees the least, though every member sees the network's half), plus "the 20 newest by one
author that the viewer may see" (a profile page: few matching rows, read through author_id).
Only SQL is timed: the statement is compiled once (values inlined) and executed on a raw DBAPI
cursor, rows fetched, many times in five interleaved
rounds; p95 = best round (see ``bench.common.summarize``). Beside each figure: the same query
without the visibility filter (the baseline), and whether the plan (printed) avoids a full scan
of the objects table. ``small`` is a smaller network (500 people, 50 groups, 20,000 objects).
"""

from __future__ import annotations

import random
import re
import time
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bench.common import Context, Result, Timings, fresh_app, ms, seed_network, summarize

NAME = "audiences"
TARGET_MS = 5.0
TABLE = "bench_shared_things"


class _Base(DeclarativeBase):
    metadata = sa.MetaData()


class Thing(_Base):
    __tablename__ = TABLE
    __table_args__ = (sa.Index(f"ix_{TABLE}_created_at", "created_at"),
                      sa.Index(f"ix_{TABLE}_audience_id", "audience_id"),
                      sa.Index(f"ix_{TABLE}_author_id", "author_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    audience_id: Mapped[int] = mapped_column(sa.Integer)
    author_id: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime)


def _scale(ctx: Context) -> dict:
    return ctx.pick(dict(orgs=50, users=500, groups=50, things=20_000, per_round=200),
                    dict(orgs=50, users=2_000, groups=200, things=100_000, per_round=500))


# -- data ------------------------------------------------------------------------------------

def _seed(n: dict, rng: random.Random) -> dict:
    """Groups, memberships and the shared objects; returns the viewers to measure."""
    from intranet.core.audiences import NETWORK, ORG, USER, get_audience
    from intranet.core.models import User
    from intranet.core.timeutil import utcnow
    from intranet.extensions import db
    from intranet.groups.models import Group, Membership

    now = utcnow()
    users = db.session.execute(sa.select(User.id, User.organization_id, User.role, User.is_active_account)
                               .order_by(User.id)).all()
    active = [u for u in users if u.is_active_account]
    members = [u for u in active if u.role == "membre"]

    # The viewers, chosen before the groups so their memberships are known: one in many groups,
    # one in two, one in none (in the smallest organization, never chosen by name).
    by_org: dict[int, list] = {}
    for u in users:
        by_org.setdefault(u.organization_id, []).append(u.id)
    smallest_org = min(by_org, key=lambda o: len(by_org[o]))
    loner = next(u.id for u in members if u.organization_id == smallest_org)
    many, few = members[len(members) // 3].id, members[2 * len(members) // 3].id

    visibilities = ["public"] * 4 + ["private"] * 4 + ["secret"] * 2
    groups = [{"name": f"Groupe de travail {i}", "description": "", "visibility": visibilities[i % 10],
               "join_policy": "open", "created_at": now} for i in range(n["groups"])]
    db.session.execute(sa.insert(Group), groups)
    group_ids = db.session.scalars(sa.select(Group.id).order_by(Group.id)).all()
    pool = [u.id for u in active if u.id not in (many, few, loner)]
    memberships, group_members = [], {}
    for k, gid in enumerate(group_ids):
        chosen = set(rng.sample(pool, rng.randint(10, 40)))
        if k < 30:
            chosen.add(many)
        if k in (40 % len(group_ids), 41 % len(group_ids)):
            chosen.add(few)
        group_members[gid] = sorted(chosen)
        memberships += [{"group_id": gid, "user_id": uid, "role": "owner" if i == 0 else "member",
                         "created_at": now} for i, uid in enumerate(group_members[gid])]
    for start in range(0, len(memberships), 5000):
        db.session.execute(sa.insert(Membership), memberships[start:start + 5000])

    cache: dict[frozenset, int] = {}

    def audience_id(targets) -> int:
        key = frozenset(targets)
        if key not in cache:
            cache[key] = get_audience(key).id
            if len(cache) % 250 == 0:  # keep the session small: flushes stay cheap
                db.session.commit()
                db.session.expunge_all()
        return cache[key]

    never_chosen = {loner}
    choosable = [u.id for u in active if u.id not in never_chosen]
    org_members = {o: [u for u in ids if u in set(choosable)] for o, ids in by_org.items()}
    # People share again and again with the same few colleagues: one distinct list of chosen
    # people for about four objects shared that way.
    chosen_sets = [rng.sample(choosable, rng.randint(1, 4)) for _ in range(max(n["things"] // 80, 1))]
    start_at = now - timedelta(days=730)
    step = timedelta(days=730) / n["things"]
    rows = []
    for i in range(n["things"]):
        r = rng.random()
        if r < 0.50:
            aid, author = audience_id([(NETWORK, 0)]), rng.choice(choosable)
        elif r < 0.70:
            org = rng.choice([o for o in org_members if org_members[o]])
            aid, author = audience_id([(ORG, org)]), rng.choice(org_members[org])
        elif r < 0.95:
            gid = rng.choice(group_ids)
            author = rng.choice(group_members[gid])
            aid = audience_id([("group", gid)])
        else:
            author = rng.choice(choosable)
            aid = audience_id([(USER, u) for u in rng.choice(chosen_sets)])
        rows.append({"audience_id": aid, "author_id": author,
                     "created_at": (start_at + i * step + timedelta(seconds=rng.randint(0, 59))).replace(tzinfo=None)})
    db.session.commit()
    for start in range(0, len(rows), 10_000):
        db.session.execute(sa.insert(Thing), rows[start:start + 10_000])
    db.session.commit()

    prolific = db.session.scalar(sa.select(Thing.author_id).group_by(Thing.author_id)
                                 .order_by(sa.func.count().desc(), Thing.author_id).limit(1))
    return {"many": many, "few": few, "loner": loner, "author": prolific, "audiences": len(cache)}


# -- measuring ---------------------------------------------------------------------------------

def _sql(stmt, dialect) -> str:
    return str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def _plan(cursor, sql: str, postgres: bool) -> list[str]:
    cursor.execute(("EXPLAIN " if postgres else "EXPLAIN QUERY PLAN ") + sql)
    rows = cursor.fetchall()
    if postgres:
        return [r[0] for r in rows]
    depth = {0: -1}
    for r in rows:  # (id, parent, notused, detail): indent children under their parent
        depth[r[0]] = depth.get(r[1], -1) + 1
    return [f"{'  ' * depth[r[0]]}{r[3]}" for r in rows]


def _full_scan(plan: list[str], postgres: bool) -> bool:
    if postgres:
        return any(re.search(rf"Seq Scan on {TABLE}\b", line) for line in plan)
    return any(re.search(rf"\bSCAN {TABLE}\b(?!.*USING (COVERING )?INDEX)", line) for line in plan)


def _sorts(plan: list[str], postgres: bool) -> bool:
    """Whether every matching row is fetched and sorted, rather than read in ORDER BY order."""
    if postgres:
        return any(re.match(r"\s*(->\s*)?(Incremental )?Sort\b", line) for line in plan)
    return any("USE TEMP B-TREE FOR ORDER BY" in line for line in plan)


def _time(cursor, sqls: dict[str, str], rounds: int, per_round: int) -> dict[str, list[Timings]]:
    """Each statement ``per_round`` times per round, the statements taking turns within a round."""
    out: dict[str, list[Timings]] = {label: [] for label in sqls}
    for r in range(rounds):
        for label, sql in sqls.items():
            for _ in range(20 if r == 0 else 3):  # warm-up: caches, psycopg's prepared statements
                cursor.execute(sql)
                cursor.fetchall()
            t = Timings([], [])
            for _ in range(per_round):
                c0, t0 = time.thread_time(), time.perf_counter()
                cursor.execute(sql)
                cursor.fetchall()
                t.wall.append((time.perf_counter() - t0) * 1000)
                t.cpu.append((time.thread_time() - c0) * 1000)
            out[label].append(t)
    return out


def run(ctx: Context) -> list[Result]:
    from intranet.core.audiences import visible_to
    from intranet.core.models import User
    from intranet.extensions import db

    n = _scale(ctx)
    rng = random.Random(3)
    postgres = ctx.db == "postgres"
    rounds = 5
    with fresh_app(ctx) as app, app.app_context():
        t0 = time.perf_counter()
        seed_network(n["orgs"], n["users"])
        _Base.metadata.create_all(db.engine)
        people = _seed(n, rng)
        if postgres:
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                for table in (TABLE, "core_audiences", "core_audience_entries", "core_users", "groups_groups",
                              "groups_memberships"):
                    conn.execute(sa.text(f"VACUUM ANALYZE {table}"))  # what autovacuum does after a bulk load
        print(f"[{NAME}] {n['users']} people / {n['orgs']} orgs, {n['groups']} groups, {n['things']} objects, "
              f"{people['audiences']} audiences, built in {time.perf_counter() - t0:.1f} s"
              + ("" if postgres else " (no ANALYZE: as the app runs SQLite)"))

        newest = sa.select(Thing).order_by(Thing.created_at.desc()).limit(20)
        by_author = Thing.author_id == people["author"]
        viewers = {  # label: (viewer, extra condition)
            "membre, 30 groupes": (people["many"], None),
            "membre, 2 groupes": (people["few"], None),
            "membre qui voit le moins (sans groupe)": (people["loner"], None),
            "profil d'un auteur, vu par un membre": (people["few"], by_author),
        }
        dialect = db.engine.dialect
        sqls, base_sqls, counts = {}, {}, {}
        for label, (uid, cond) in viewers.items():
            user = db.session.get(User, uid)
            query = newest if cond is None else newest.where(cond)
            stmt = visible_to(user, query, Thing)
            sqls[label] = _sql(stmt, dialect)
            base_sqls[label] = _sql(query, dialect)
            count = sa.select(sa.func.count(Thing.id))
            counts[label] = db.session.scalar(visible_to(user, count if cond is None else count.where(cond), Thing))
            got = len(db.session.scalars(stmt).all())
            if got != min(20, counts[label]):
                raise RuntimeError(f"{label}: {got} objects listed, {counts[label]} visible")
        db.session.rollback()

        raw = db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            plans = {label: _plan(cursor, sql, postgres) for label, sql in sqls.items()}
            base_plan = _plan(cursor, base_sqls["membre, 2 groupes"], postgres)
            timed = _time(cursor, {**sqls, **{f"{k} (base)": v for k, v in base_sqls.items()}},
                          rounds, n["per_round"])
            cursor.close()
        finally:
            raw.close()

    db_name = "PostgreSQL" if postgres else "SQLite"
    print(f"[{NAME}] {db_name}: SQL only (raw cursor, rows fetched), {rounds} rounds × {n['per_round']} after warm-up; "
          f"p95 = best round")
    print(f"[{NAME}] baseline plan (newest 20, no visibility filter):")
    for line in base_plan:
        print(f"    {line}")
    results = []
    for label in viewers:
        s, b = summarize(timed[label]), summarize(timed[f"{label} (base)"])
        scan = _full_scan(plans[label], postgres)
        how = ("FULL SCAN of the objects" if scan else "indexes, no full scan") \
            + (", sorts the matches" if _sorts(plans[label], postgres) else ", read in index order")
        print(f"[{NAME}] {label} (user #{viewers[label][0]}, sees {counts[label]} objects): "
              f"p50 {s.p50:.2f} ms, p95 {s.p95:.2f} ms (rounds {'/'.join(f'{v:.2f}' for v in s.round_p95)}), "
              f"max {ms(s.max)}" + ("" if postgres else f", CPU p95 {s.cpu_p95:.2f} ms")
              + f"; baseline (no filter) p50 {b.p50:.2f} ms, p95 {b.p95:.2f} ms; plan:")
        for line in plans[label]:
            print(f"    {line}")
        results.append(Result(
            f"{NAME}: {db_name} {label}",
            f"p95 {s.p95:.2f} ms (p50 {s.p50:.2f}; no filter {b.p95:.2f}); {how}",
            f"≤ {TARGET_MS:.0f} ms, indexed", s.p95 <= TARGET_MS and not scan, timing=True))
    return results
