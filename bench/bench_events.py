"""Issue 6, Performance: with 10,000 events (1,000 recurring), the month view has p95 ≤ 80 ms
server time and a member's personal iCal feed covering a year is produced in ≤ 200 ms.

The network: 500 people in 30 organizations (``seed_network``), 20 groups (public, private and
secret) with 10 to 40 members each. The events are spread over three years around today (from
18 months back to 18 months ahead), in the five categories of the migration: 90 % published,
3 % cancelled, the rest pending, with changes requested or refused; about 16 % all-day, 10 %
over several days; 80 % shared with « Tout le réseau », 11 % with the organizer's organization,
8 % with a group (the group's agenda). One event in ten repeats: weekly (one or two days a week,
every week or every other week) or monthly on a weekday (« le 2e mardi »), some with exceptions,
ending after a COUNT (45 %), at an UNTIL date (30 %) or never (25 %, materialized up to the
horizon, ``recurrence.HORIZON_DAYS``). Rows are inserted in bulk; each recurring event's
occurrences are expanded by the app's own ``services.refresh_occurrences`` (recurring-ical-events),
a single event's one occurrence is inserted in bulk. Participations: 0 to 8 people per published
event, the viewer in about 3 % of them.

One process, two databases in turn: the issue's calendar is built (200 events first, then topped
up) and its pages are measured; then the baseline, a fresh database with the same network and
only those first 200 events (20 recurring), is measured with the same URLs (the big calendar's
busiest month included, known only once it is built). The pages are seen by one office member
(not an animateur, who would skip the visibility filter): the month grid of the current month and
of the busiest month, the week, the list « À venir », and the member's personal feed
``/events/ical/<token>.ics`` (no session: the token is the key; −31 to +366 days).

The feed keeps each event's VEVENT text (``ical.vevent_of_row``, keyed by the whole row) as a
running intranet does between polls; its first request, with nothing kept, is timed apart (5
requests, the texts dropped before each: a figure, not the target).

Each page reports p50/p95 (five interleaved rounds, p95 = best round, see
``bench.common.summarize``, every round printed, and the CPU p95 that a busy machine inflates
less), the SQL statements of one request (their number must not grow with the data), the response
size, what it shows (occurrences, of how many events, how many from recurring ones, chips drawn;
VEVENTs of the feed), the plans of the month query and of the feed query (EXPLAIN QUERY PLAN on
SQLite, EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL) and the time of that SQL alone (raw cursor,
rows fetched), so that a miss shows whether SQL or Python is slow; a page that misses its target
is also profiled (cProfile of one request, the heaviest functions printed), and so are the month
and the feed in the full run.

``small``: 2,500 events (250 recurring), 5 rounds × 6 requests; ``full``: 10,000 events (1,000
recurring), 5 rounds × 40 requests.
"""

from __future__ import annotations

import cProfile
import difflib
import io
import pstats
import random
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from bench.common import (
    PLACES,
    BenchError,
    Context,
    Result,
    fresh_app,
    get_ok,
    logged_in_client,
    ms,
    percentile,
    seed_network,
    statements_of,
    summarize,
    time_pages,
)

NAME = "events"
NETWORK = (30, 500)  # organizations, people
N_GROUPS = 20
TINY = (200, 20)  # events, of which recurring: the baseline
TARGET_MONTH_MS = 80.0
TARGET_FEED_MS = 200.0
SPAN_DAYS = 548  # events from 18 months back to 18 months ahead
BATCH = 1000
ROOT = Path(__file__).resolve().parents[1]

TOPICS = ("accueillir la clientèle étrangère", "les réseaux sociaux de l'office", "la taxe de séjour",
          "Apidae pour les débutants", "la boutique de l'office", "le label Qualité Tourisme",
          "photographier le territoire", "l'accueil hors les murs", "la relation presse", "le site web",
          "les randonnées du Cantal", "l'accessibilité des sites", "la billetterie en ligne",
          "le tourisme d'affaires", "la gestion des avis clients")
FEASTS = ("Fête de la Salers", "Marché de producteurs", "Festival des arts de la rue", "Fête du fromage",
          "Nuit des étoiles", "Foire aux bestiaux", "Fête de la transhumance", "Journées du patrimoine",
          "Concert à l'église", "Trail du Puy Mary", "Fête de la myrtille", "Marché de Noël")
FAIRS = ("Salon du randonneur", "Salon des vacances", "Salon Destinations Nature", "Salon du tourisme de Lyon",
         "Salon de l'agriculture", "Bourse d'échange de documentation")
STREETS = ("Place de l'Église", "Salle des fêtes", "Maison du tourisme", "Espace Hélitas", "Médiathèque",
           "Halle aux grains", "Centre des congrès", "Cantal Destination, 36 rue de Sistrières")
PARAGRAPHS = (
    "Une matinée pour **échanger entre offices** et repartir avec des outils concrets. Apportez vos "
    "questions, vos exemples et, si possible, un ordinateur portable.",
    "Programme :\n\n- 9 h 00 : accueil café ;\n- 9 h 30 : tour de table, attentes de chacun ;\n"
    "- 10 h 00 : atelier pratique, par groupes de 4 ;\n- 12 h 00 : synthèse et suite à donner.",
    "Intervenante : Camille Delmas, chargée de mission numérique. Déjeuner libre ; possibilité de "
    "covoiturage depuis Aurillac, Saint-Flour et Mauriac (voir le groupe « Covoiturage »).",
    "Inscription obligatoire avant le vendredi précédent ; le nombre de places est limité. "
    "En cas d'empêchement, prévenez-nous : une personne sur liste d'attente prendra votre place.",
    "Tarifs : gratuit pour les offices adhérents ; 15 € pour les partenaires, repas compris. "
    "Accessible aux personnes à mobilité réduite ; parking gratuit à 200 m.",
    "Cette session fait suite aux retours de l'an dernier : plus de pratique, moins de diapositives, "
    "et un temps d'échange sur vos saisons respectives (printemps, été, automne).",
)
TIMES = ((8, 30), (9, 0), (9, 0), (9, 30), (10, 0), (14, 0), (14, 0), (14, 30), (18, 0), (20, 30))
STATUSES = ["published"] * 90 + ["cancelled"] * 3 + ["pending"] * 5 + ["changes_requested"] + ["refused"]


# -- data ----------------------------------------------------------------------------------------

def _network(rng: random.Random) -> dict:
    """Groups and memberships; the viewer (an office member, in a public, a private and a secret
    group) with a subscription token. Returns what the events need to pick authors and audiences."""
    from intranet.core.audiences import NETWORK as NET
    from intranet.core.audiences import ORG, get_audience
    from intranet.core.models import Organization, User
    from intranet.core.timeutil import utcnow
    from intranet.events import services
    from intranet.events.models import Category
    from intranet.extensions import db
    from intranet.groups.models import Group, Membership

    now = utcnow()
    seed_network(*NETWORK)
    users = db.session.execute(sa.select(User.id, User.organization_id, User.role).where(
        User.is_active_account.is_(True)).order_by(User.id)).all()
    viewer = db.session.scalar(
        sa.select(User.id).join(Organization, User.organization_id == Organization.id)
        .where(Organization.kind == "office", User.role == "membre", User.is_active_account.is_(True),
               User.password_hash.is_not(None)).order_by(User.id).limit(1))

    visibilities = ["public"] * 4 + ["private"] * 4 + ["secret"] * 2
    db.session.execute(sa.insert(Group), [
        {"name": f"Groupe de travail « {TOPICS[i % len(TOPICS)]} »" + (f" {i // len(TOPICS) + 1}"
                                                                      if i >= len(TOPICS) else ""),
         "description": "", "visibility": visibilities[i % 10], "join_policy": "open", "created_at": now}
        for i in range(N_GROUPS)])
    groups = db.session.execute(sa.select(Group.id, Group.visibility).order_by(Group.id)).all()
    viewer_groups = {next(g.id for g in groups if g.visibility == v) for v in ("public", "private", "secret")}
    pool = [u.id for u in users if u.id != viewer]
    members: dict[int, list[int]] = {}
    rows = []
    for g in groups:
        chosen = rng.sample(pool, rng.randint(10, 40)) + ([viewer] if g.id in viewer_groups else [])
        members[g.id] = chosen
        rows += [{"group_id": g.id, "user_id": uid, "role": "owner" if k == 0 else "member", "created_at": now}
                 for k, uid in enumerate(chosen)]
    db.session.execute(sa.insert(Membership), rows)

    audiences = {("network", 0): get_audience([(NET, 0)]).id}
    for org_id in {u.organization_id for u in users}:
        audiences[("org", org_id)] = get_audience([(ORG, org_id)]).id
    for g in groups:
        audiences[("group", g.id)] = get_audience([("group", g.id)]).id
    token = services.calendar_token(db.session.get(User, viewer), create=True).token
    db.session.commit()
    categories = {c.name: c.id for c in db.session.scalars(sa.select(Category))}
    return {"users": [(u.id, u.organization_id) for u in users], "org_of": {u.id: u.organization_id for u in users},
            "viewer": viewer, "token": token, "members": members, "audiences": audiences, "categories": categories}


def _rule(rng: random.Random, start: date) -> str:
    """Weekly (one or two days, every week or every other week) or monthly on a weekday; ends
    after a COUNT (45 %), at an UNTIL date (30 %) or never (25 %)."""
    from intranet.events.recurrence import WEEKDAYS, build_rule

    r = rng.random()
    until = count = None
    if r < 0.45:
        count = rng.randint(3, 20)
    elif r < 0.75:
        until = start + timedelta(days=rng.randint(30, 270))
    if rng.random() < 0.6:
        days = [WEEKDAYS[start.weekday()]]
        if rng.random() < 0.2:
            days.append(WEEKDAYS[(start.weekday() + 2) % 5])
        return build_rule("weekly", start, 2 if rng.random() < 0.2 else 1, days, until, count)
    return build_rule("monthly", start, 1, None, until, count)


def _event_row(i: int, today: date, net: dict) -> dict:
    """Event number ``i`` (one in ten recurring), the same in every run."""
    from intranet.events.recurrence import span_utc

    rng = random.Random(i * 7919 + 6)
    cat = rng.choice(("Formation", "Formation", "Manifestation", "Manifestation", "Manifestation",
                      "Réunion réseau", "Salon", "Webinaire"))
    day = today + timedelta(days=rng.randint(-SPAN_DAYS, SPAN_DAYS))
    recurring = i % 10 == 3
    all_day = cat in ("Manifestation", "Salon") and rng.random() < 0.35 and not recurring
    if all_day:
        start = datetime.combine(day, datetime.min.time())
        end = start + timedelta(days=rng.choice((0, 0, 0, 1, 2)))
    else:
        h, m = rng.choice(TIMES)
        start = datetime(day.year, day.month, day.day, h, m)
        end = start + timedelta(hours=rng.choice((1, 2, 2, 3, 3, 4)))
        if not recurring and rng.random() < 0.03:
            end = datetime.combine(day + timedelta(days=rng.randint(1, 2)), datetime.min.time()).replace(hour=17)
    start_at, end_at = span_utc(start, end, "Europe/Paris", all_day)

    user_id, org_id = rng.choice(net["users"])
    r = rng.random()
    group_id = None
    if r < 0.80:
        audience = net["audiences"][("network", 0)]
    elif r < 0.92:
        audience = net["audiences"][("org", org_id)]
    else:
        group_id = rng.choice(sorted(net["members"]))
        user_id = rng.choice(net["members"][group_id])
        org_id = net["org_of"][user_id]
        audience = net["audiences"][("group", group_id)]
    commune = rng.choice(PLACES)
    title = {
        "Formation": f"Formation : {rng.choice(TOPICS)}",
        "Manifestation": f"{rng.choice(FEASTS)} à {commune}",
        "Réunion réseau": f"Réunion du réseau des offices ; secteur {commune}",
        "Salon": rng.choice(FAIRS) + f", stand du Cantal n° {rng.randint(1, 90)}",
        "Webinaire": f"Webinaire : {rng.choice(TOPICS)}",
    }[cat] + (f" — session {i}" if recurring else "")
    online = cat == "Webinaire"
    price = rng.choice(("", "free", "free", "amount", "text"))
    rrule, exdates = None, []
    if recurring:
        rrule = _rule(rng, day)
        if rng.random() < 0.2:
            step = 7 if "WEEKLY" in rrule else 28
            exdates = sorted({(day + timedelta(days=step * rng.randint(1, 6))).isoformat()
                              for _ in range(rng.randint(1, 3))})
    created = min(start_at, datetime.now(UTC)) - timedelta(days=rng.randint(5, 90))
    return {
        "uid": f"bench-{i}@127.0.0.1", "title": title, "category_id": net["categories"].get(cat),
        "description": "\n\n".join(rng.sample(PARAGRAPHS, rng.randint(1, 4))), "tz": "Europe/Paris",
        "is_all_day": all_day, "start_local": start, "end_local": end, "start_at": start_at, "end_at": end_at,
        "rrule": rrule, "exdates": exdates,
        "place": "" if online else rng.choice(STREETS), "commune": "" if online else commune,
        "online_url": f"https://visio.exemple.fr/salle-{i}" if online else "",
        "price_kind": price, "price_amount": Decimal(rng.choice((5, 10, 15, 25, 40))) if price == "amount" else None,
        "price_text": "Gratuit pour les adhérents, 20 € sinon" if price == "text" else "",
        "organization_id": org_id, "contact": f"Contact : 04 71 {rng.randint(10, 99)} {rng.randint(10, 99)} 00",
        "registration_url": "https://www.exemple.fr/inscription" if rng.random() < 0.3 else "",
        "capacity": rng.choice((None, None, None, 12, 20, 50)), "group_id": group_id,
        "status": rng.choice(STATUSES), "review_note": "", "reviewed_by_id": None, "reviewed_at": None,
        "sequence": rng.choice((0, 0, 0, 1, 2)), "created_at": created, "updated_at": created,
        "audience_id": audience, "author_id": user_id,
    }


def _seed_events(n_events: int, today: date, net: dict, rng: random.Random) -> dict:
    """Top the calendar up to ``n_events`` events (event numbers ``have..n_events``), with their
    occurrences and participations. Returns counts for the printout."""
    from intranet.events.models import Event, Occurrence, Participation
    from intranet.events.services import refresh_occurrences
    from intranet.extensions import db

    have = db.session.scalar(sa.select(sa.func.count(Event.id)))
    t0 = time.perf_counter()
    expand = 0.0
    for lo in range(have, n_events, BATCH):
        rows = [_event_row(i, today, net) for i in range(lo, min(lo + BATCH, n_events))]
        db.session.execute(sa.insert(Event), rows)
        ids = dict(db.session.execute(sa.select(Event.uid, Event.id).where(
            Event.uid.in_([r["uid"] for r in rows]))).all())
        singles = [{"event_id": ids[r["uid"]], "start_at": r["start_at"], "end_at": r["end_at"]}
                   for r in rows if not r["rrule"]]
        db.session.execute(sa.insert(Occurrence), singles)
        t1 = time.perf_counter()
        for event in db.session.scalars(sa.select(Event).where(
                Event.id.in_([ids[r["uid"]] for r in rows if r["rrule"]]))):
            refresh_occurrences(event)
        expand += time.perf_counter() - t1
        participations = []
        for r in rows:
            if r["status"] != "published":
                continue
            who = {uid for uid, _org in rng.sample(net["users"], rng.randint(0, 8))}
            if rng.random() < 0.03:
                who.add(net["viewer"])
            participations += [{"event_id": ids[r["uid"]], "user_id": uid,
                                "status": rng.choice(("yes", "yes", "yes", "maybe", "no")), "is_waiting": False,
                                "created_at": r["created_at"]} for uid in who]
        if participations:
            db.session.execute(sa.insert(Participation), participations)
        db.session.commit()
        db.session.expunge_all()
    return {"seconds": time.perf_counter() - t0, "expand": expand,
            "events": db.session.scalar(sa.select(sa.func.count(Event.id))),
            "recurring": db.session.scalar(sa.select(sa.func.count(Event.id)).where(Event.rrule.is_not(None))),
            "occurrences": db.session.scalar(sa.select(sa.func.count()).select_from(Occurrence)),
            "participations": db.session.scalar(sa.select(sa.func.count()).select_from(Participation))}


def _busy_month(viewer_id: int) -> tuple[date, int]:
    """The month (Paris) with the most occurrences the viewer sees, and how many."""
    from intranet.core.models import User
    from intranet.core.timeutil import PARIS
    from intranet.events.models import Event, Occurrence
    from intranet.events.services import listed_events
    from intranet.extensions import db

    viewer = db.session.get(User, viewer_id)
    visible = listed_events(viewer).with_only_columns(Event.id)
    per_month: Counter = Counter()
    for (start,) in db.session.execute(sa.select(Occurrence.start_at).where(Occurrence.event_id.in_(visible))):
        local = start.astimezone(PARIS)
        per_month[(local.year, local.month)] += 1
    db.session.rollback()
    (year, month), n = per_month.most_common(1)[0]
    return date(year, month, 1), n


# -- measuring -------------------------------------------------------------------------------------

def _urls(token: str, busy: date) -> dict[str, str]:
    return {
        "mois (ce mois-ci)": "/events/?vue=mois",
        f"mois le plus chargé ({busy:%m/%Y})": f"/events/?vue=mois&date={busy.isoformat()}",
        "semaine": "/events/?vue=semaine",
        "liste « À venir »": "/events/?vue=liste",
        "flux iCal personnel": f"/events/ical/{token}.ics",
    }


def _target(label: str) -> float | None:
    """The issue's targets: the month view and the feed; the week and the list are figures only."""
    return TARGET_FEED_MS if label.startswith("flux") else TARGET_MONTH_MS if label.startswith("mois") else None


def _shown(app, viewer_id: int, url: str, body: bytes) -> str:
    """What a page shows: the occurrences of a calendar view (as the view selects them: the month
    grid's weeks, the week, the list's first page), of how many events, how many of them from
    recurring events, and the chips drawn for them; the VEVENTs of a feed, how many with an RRULE."""
    import calendar as pycalendar
    from datetime import time as clock

    from intranet.core.models import User
    from intranet.core.timeutil import PARIS, utcnow
    from intranet.events import services
    from intranet.events.views import LIST_SIZE
    from intranet.extensions import db

    if "/ical/" in url:
        return f"{body.count(b'BEGIN:VEVENT')} VEVENT ({body.count(b'RRULE:')} with an RRULE)"
    args = dict(part.split("=", 1) for part in url.partition("?")[2].split("&") if "=" in part)
    anchor = date.fromisoformat(args["date"]) if "date" in args else services.paris_today()
    with app.app_context():
        user = db.session.get(User, viewer_id)
        if args.get("vue") == "liste":
            now = utcnow()
            items = services.occurrences_between(user, now, now + timedelta(days=3 * 366), limit=LIST_SIZE)
        else:
            if args.get("vue") == "semaine":
                first = anchor - timedelta(days=anchor.weekday())
                last = first + timedelta(days=6)
            else:
                weeks = pycalendar.Calendar(firstweekday=0).monthdatescalendar(anchor.year, anchor.month)
                first, last = weeks[0][0], weeks[-1][-1]
            items = services.occurrences_between(user, datetime.combine(first, clock(), PARIS),
                                                 datetime.combine(last + timedelta(days=1), clock(), PARIS))
        chips = body.count(b'class="event-chip') + body.count(b'class="list-group-item d-flex')
        text = (f"{len(items)} occurrences of {len({e.id for _o, e in items})} events "
                f"({sum(1 for _o, e in items if e.rrule)} from recurring ones), {chips} chips or rows")
        db.session.rollback()
    return text


def _statements_with_params(app, client, url: str) -> list[tuple[str, object]]:
    from intranet.extensions import db

    seen: list[tuple[str, object]] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        get_ok(client, url)
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
    return seen


def _main_query(statements: list[tuple[str, object]], feed: bool) -> tuple[str, object]:
    """The calendar's query among a request's statements: the one reading occurrences with their
    events (views), or the events having an occurrence in the year (feed)."""
    for sql, params in statements:
        flat = " ".join(sql.split())
        if feed and flat.startswith("SELECT events_events.id") and "events_occurrences" in flat:
            return sql, params
        if not feed and "FROM events_occurrences JOIN events_events" in flat:
            return sql, params
    raise BenchError("the calendar query was not found among the request's statements")


def _plan(app, sql: str, params, postgres: bool) -> list[str]:
    from intranet.extensions import db

    with app.app_context():
        raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        if postgres:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            lines = [r[0] for r in cursor.fetchall()]
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            rows = cursor.fetchall()
            depth = {0: -1}
            for r in rows:  # (id, parent, notused, detail): children indented under their parent
                depth[r[0]] = depth.get(r[1], -1) + 1
            lines = [f"{'  ' * depth[r[0]]}{r[3]}" for r in rows]
        cursor.close()
        raw.rollback()
    finally:
        raw.close()
    return lines


def _time_sql(app, sql: str, params, n: int) -> tuple[float, float, float, int]:
    """The statement alone on a raw cursor, rows fetched: wall p50 and p95, this thread's CPU p50
    (ms; SQLite runs in this thread, PostgreSQL mostly in its server) and the rows."""
    from intranet.extensions import db

    with app.app_context():
        raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        for _ in range(3):
            cursor.execute(sql, params)
            rows = len(cursor.fetchall())
        wall, cpu = [], []
        for _ in range(n):
            c0, t0 = time.thread_time(), time.perf_counter()
            cursor.execute(sql, params)
            cursor.fetchall()
            wall.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.thread_time() - c0) * 1000)
        cursor.close()
        raw.rollback()
    finally:
        raw.close()
    return percentile(wall, 50), percentile(wall, 95), percentile(cpu, 50), rows


def _profile(client, url: str, top: int = 14) -> list[str]:
    """cProfile of one request: the functions with the most time of their own, then the app's
    functions and templates with the most cumulative time (cProfile slows Python calls down, so
    read the shares, not the absolute times)."""
    prof = cProfile.Profile()
    prof.enable()
    client.get(url)
    prof.disable()
    lines = []
    for order, restriction, title in (("tottime", (), "own time"),
                                      ("cumulative", (r"intranet/|templates/",), "cumulative, app code")):
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats(order).print_stats(*restriction, top)
        text = out.getvalue().replace(str(Path(sa.__file__).parents[1]) + "/", "").replace(f"{ROOT}/", "")
        rows = [line for line in text.splitlines() if line.strip()]
        total = next((line.strip() for line in rows if "function calls" in line), "")
        start = next((k for k, line in enumerate(rows) if line.lstrip().startswith("ncalls")), len(rows))
        lines += [f"-- by {title} ({total})"] + rows[start:]
    return lines


class _Clients:
    """The member's client for the pages, a client without a session for the feed (a calendar
    app has none), behind the one ``get`` that ``time_pages`` calls."""

    def __init__(self, app, viewer_id: int):
        self.member = logged_in_client(app, viewer_id)
        self.anonymous = app.test_client()

    def get(self, url: str):
        return (self.anonymous if url.startswith("/events/ical/") else self.member).get(url)


def _measure(app, net: dict, urls: dict[str, str], rounds: int, per_round: int) -> dict:
    both = _Clients(app, net["viewer"])
    timings = time_pages(both, urls, rounds, per_round, warmup=3)
    clients = {label: both.anonymous if url.startswith("/events/ical/") else both.member
               for label, url in urls.items()}
    out = {}
    for label, url in urls.items():
        body = get_ok(clients[label], url).data
        out[label] = {"summary": summarize(timings[label]),
                      "sql": statements_of(app, clients[label], url),
                      "with_params": _statements_with_params(app, clients[label], url),
                      "bytes": len(body), "shown": _shown(app, net["viewer"], url, body)}
    return out


def _cold_feed(clients: _Clients, url: str, n: int = 5) -> list[float]:
    """The feed with its kept VEVENT texts dropped before each request (``ical.vevent_of_row``):
    what the first calendar app to poll after a restart or a change of every event waits."""
    from intranet.events import ical

    out = []
    for _ in range(n):
        ical.forget_kept()
        t0 = time.perf_counter()
        get_ok(clients.anonymous, url)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def _polls(clients: _Clients, url: str, n: int = 30) -> tuple[list[float], int]:
    """A calendar app's poll with the ETag it kept (If-None-Match): milliseconds each, sorted,
    and the status (304: nothing changed, no body built)."""
    etag = get_ok(clients.anonymous, url).headers["ETag"]
    out, status = [], 0
    for _ in range(n):
        t0 = time.perf_counter()
        resp = clients.anonymous.get(url, headers={"If-None-Match": etag})
        out.append((time.perf_counter() - t0) * 1000)
        status = resp.status_code
    return sorted(out), status


def run(ctx: Context) -> list[Result]:
    from intranet.events.services import paris_today

    rounds, per_round = 5, ctx.pick(6, 40)
    n_events = ctx.pick(2_500, 10_000)
    postgres = ctx.db == "postgres"
    rng = random.Random(6)
    with fresh_app(ctx) as app:
        with app.app_context():
            t0 = time.perf_counter()
            net = _network(rng)
            today = paris_today()
            tiny_seed = _seed_events(TINY[0], today, net, rng)
        print(f"[{NAME}] network of {NETWORK[1]} people / {NETWORK[0]} orgs and {N_GROUPS} groups, baseline "
              f"{tiny_seed['events']} events ({tiny_seed['recurring']} recurring, {tiny_seed['occurrences']} "
              f"occurrences) built in {time.perf_counter() - t0:.1f} s")

        with app.app_context():
            t0 = time.perf_counter()
            big_seed = _seed_events(n_events, today, net, rng)
            if postgres:
                from intranet.extensions import db

                with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    for table in ("events_events", "events_occurrences", "events_participations", "core_audiences",
                                  "core_audience_entries", "groups_groups", "groups_memberships", "core_users"):
                        conn.execute(sa.text(f"VACUUM ANALYZE {table}"))  # what autovacuum does after a bulk load
            busy, busy_n = _busy_month(net["viewer"])
        print(f"[{NAME}] topped up to {big_seed['events']} events ({big_seed['recurring']} recurring), "
              f"{big_seed['occurrences']} occurrences, {big_seed['participations']} participations in "
              f"{time.perf_counter() - t0:.1f} s (of which {big_seed['expand']:.1f} s expanding the recurring "
              f"events with refresh_occurrences)" + (", VACUUM ANALYZE" if postgres else
                                                      " (no ANALYZE: as the app runs SQLite)")
              + f"; busiest month for the member: {busy:%m/%Y} ({busy_n} occurrences)")

        urls = _urls(net["token"], busy)
        big = _measure(app, net, urls, rounds, per_round)
        missed = [label for label, m in big.items() if _target(label) and m["summary"].p95 > _target(label)]
        month_label, busy_label, feed_label = list(urls)[0], list(urls)[1], list(urls)[-1]
        plans = {}
        for label in (month_label, busy_label, feed_label):
            sql, params = _main_query(big[label]["with_params"], feed=label == feed_label)
            plans[label] = (_plan(app, sql, params, postgres), _time_sql(app, sql, params, ctx.pick(20, 50)))
        both = _Clients(app, net["viewer"])
        cold = _cold_feed(both, urls[feed_label])
        polls, poll_status = _polls(both, urls[feed_label])
        profiles = {label: _profile(both, urls[label]) for label in urls
                    if label in missed or ctx.scale == "full" and label in (month_label, feed_label)}

    # The baseline: the same URLs (the big calendar's busiest month included, which is only known
    # once it is built) on a second fresh database holding the baseline's events: the same network,
    # viewer and first events as above.
    with fresh_app(ctx) as app:
        with app.app_context():
            rng = random.Random(6)
            net2 = _network(rng)
            _seed_events(TINY[0], today, net2, rng)
        if net2["viewer"] != net["viewer"]:
            raise BenchError("the baseline's member is not the big calendar's")
        tiny = _measure(app, net2, _urls(net2["token"], busy), rounds, per_round)

    db_name = "PostgreSQL" if postgres else "SQLite"
    print(f"[{NAME}] {db_name}: member #{net['viewer']} (office, in 3 groups); each page {rounds} rounds × "
          f"{per_round} GETs after 3 warm-up; p95 = best round (each round's p95 in ms after 'rounds'); "
          f"baseline {TINY[0]} events ({TINY[1]} recurring), then {n_events}")
    results = []
    for label in urls:
        b, t = big[label], tiny[label]
        for scale, m in ((f"{n_events}", b), (f"{TINY[0]}", t)):
            s = m["summary"]
            print(f"[{NAME}] {label:<30} {scale:>6} events: p50 {ms(s.p50)}, p95 {ms(s.p95)} "
                  f"(rounds {s.rounds_text()}), max {ms(s.max)}, CPU p95 {ms(s.cpu_p95)}, {len(m['sql'])} SQL, "
                  f"{m['bytes'] / 1024:.0f} KiB, {m['shown']}")
        target = _target(label)
        has_target = target is not None
        s = b["summary"]
        results.append(Result(
            f"{NAME}: {label} p95",
            f"{ms(s.p95)} (p50 {ms(s.p50)}, CPU p95 {ms(s.cpu_p95)}; {b['shown'].split(' (')[0].split(' of ')[0]}, "
            f"{b['bytes'] / 1024:.0f} KiB; baseline {ms(t['summary'].p95)})",
            f"≤ {target:.0f} ms" if has_target else "none (figure only)",
            not has_target or s.p95 <= target, timing=has_target))
        results.append(Result(f"{NAME}: {label} SQL/request", f"{len(b['sql'])} (baseline {len(t['sql'])})",
                              "= baseline", len(b["sql"]) == len(t["sql"])))
        if len(b["sql"]) != len(t["sql"]):
            print(f"[{NAME}] {label}: statements differ (baseline → big):")
            for line in difflib.unified_diff(t["sql"], b["sql"], lineterm="", n=0):
                print(f"    {' '.join(line.split())[:160]}")
    cold.sort()
    print(f"[{NAME}] {feed_label}, texts not kept yet (cache emptied before each of {len(cold)} requests): "
          f"{', '.join(f'{v:.0f}' for v in cold)} ms")
    results.append(Result(f"{NAME}: {feed_label}, premier appel", f"median {ms(cold[len(cold) // 2])} "
                          f"(max {ms(cold[-1])}; VEVENT texts written afresh)", "none (figure only)", True))
    poll_p95 = percentile(polls, 95)
    print(f"[{NAME}] {feed_label}, poll with If-None-Match (nothing changed): status {poll_status}, "
          f"p50 {ms(percentile(polls, 50))}, p95 {ms(poll_p95)} over {len(polls)} requests")
    results.append(Result(f"{NAME}: {feed_label}, sondage inchangé (304)",
                          f"{ms(poll_p95)} p95 (status {poll_status}; full body: "
                          f"{ms(big[feed_label]['summary'].p95)})", "304, none (figure only)",
                          poll_status == 304))
    for label, (plan, (p50, p95, cpu50, rows)) in plans.items():
        print(f"[{NAME}] {db_name} {'feed' if label.startswith('flux') else 'month'} query of « {label} » "
              f"({rows} rows): alone on a raw cursor, rows fetched, p50 {p50:.2f} ms, p95 {p95:.2f} ms, "
              f"CPU of this process p50 {cpu50:.2f} ms; "
              f"{'EXPLAIN (ANALYZE, BUFFERS)' if postgres else 'EXPLAIN QUERY PLAN'}:")
        for line in plan:
            print(f"    {line}")
    for label, lines in profiles.items():
        why = "missed its target" if label in missed else "full run"
        print(f"[{NAME}] cProfile of one GET of « {label} » ({why}):")
        for line in lines:
            print(f"    {line.rstrip()[:170]}")
    return results

