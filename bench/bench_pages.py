"""Issue 2, Performance: dashboard and directory pages, p95 ≤ 50 ms server time with 500 users and
50 organizations on one worker; the number of SQL statements per page does not grow with the data.

One database, one process: the pages are first measured on a tiny network (10 people, 2
organizations: the baseline), then the same network is grown to 500 people and 50 organizations
and the same pages, seen by the same member, are measured again. Each page reports p50/p95 of
the big run, the baseline p95 and their ratio, and the SQL statements of one request on both.
Timings are taken in five interleaved rounds; the p95 compared with the target is the best
round's (see ``bench.common.summarize``), every round's p95 is printed beside it.
"""

from __future__ import annotations

import difflib

import sqlalchemy as sa

from bench.common import (
    Context,
    Result,
    fresh_app,
    logged_in_client,
    ms,
    seed_network,
    statements_of,
    summarize,
    time_pages,
)

NAME = "pages"
TINY = (2, 10)  # organizations, people: the baseline
BIG = (50, 500)  # the scale
TARGET_P95_MS = 50.0

PAGES = (
    ("tableau de bord", "/"),
    ("annuaire", "/accounts/annuaire"),
    ("annuaire ?q=office", "/accounts/annuaire?q=office"),
    ("profil", "/accounts/personnes/{profile_id}"),
)


def _people() -> tuple[int, int]:
    """The viewer (an active member of an office, with a password) and a colleague whose profile
    they open: the same two people in the tiny and the big network."""
    from intranet.core.models import Organization, User
    from intranet.extensions import db

    ids = db.session.scalars(
        sa.select(User.id).join(Organization, User.organization_id == Organization.id)
        .where(Organization.kind == "office", User.role == "membre", User.is_active_account.is_(True),
               User.password_hash.is_not(None))
        .order_by(User.id).limit(2)).all()
    return ids[0], ids[1]


def _measure(app, viewer_id: int, urls: dict[str, str], rounds: int, per_round: int):
    client = logged_in_client(app, viewer_id)
    timings = time_pages(client, urls, rounds, per_round)
    return {label: (summarize(timings[label]), statements_of(app, client, url)) for label, url in urls.items()}


def run(ctx: Context) -> list[Result]:
    rounds, per_round = 5, ctx.pick(30, 100)
    with fresh_app(ctx) as app:
        with app.app_context():
            seed_network(*TINY)
            viewer_id, profile_id = _people()
        urls = {label: url.format(profile_id=profile_id) for label, url in PAGES}
        tiny = _measure(app, viewer_id, urls, rounds, per_round)
        with app.app_context():
            seed_network(*BIG)
        big = _measure(app, viewer_id, urls, rounds, per_round)

    print(f"[{NAME}] member #{viewer_id} logged in; each page {rounds} rounds × {per_round} GETs after 10 warm-up; "
          f"baseline {TINY[1]} people / {TINY[0]} orgs, then {BIG[1]} people / {BIG[0]} orgs; "
          f"p95 = best round (each round's p95 in ms after 'rounds')")
    results = []
    for label, _ in PAGES:
        (t, t_sql), (b, b_sql) = tiny[label], big[label]
        for scale, s, sql in ((f"{BIG[1]}/{BIG[0]}", b, b_sql), (f"{TINY[1]}/{TINY[0]}", t, t_sql)):
            print(f"[{NAME}] {label:<19} {scale:>6}: p50 {ms(s.p50)}, p95 {ms(s.p95)} (rounds {s.rounds_text()}), "
                  f"max {ms(s.max)}, CPU p95 {ms(s.cpu_p95)}, {len(sql)} SQL")
        results.append(Result(
            f"{NAME}: {label} p95",
            f"{ms(b.p95)} (p50 {ms(b.p50)}; baseline {ms(t.p95)}, ×{b.p95 / t.p95:.2f})",
            f"≤ {TARGET_P95_MS:.0f} ms", b.p95 <= TARGET_P95_MS, timing=True))
        results.append(Result(
            f"{NAME}: {label} SQL/request", f"{len(b_sql)} (baseline {len(t_sql)})", "= baseline",
            len(b_sql) == len(t_sql)))
        if len(b_sql) != len(t_sql):
            print(f"[{NAME}] {label}: statements differ (baseline → big):")
            for line in difflib.unified_diff(t_sql, b_sql, lineterm="", n=0):
                print(f"    {' '.join(line.split())[:160]}")
    return results
