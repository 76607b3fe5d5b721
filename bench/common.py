"""What every benchmark shares: a fresh migrated database, fast bulk data, a logged-in client,
request timing, SQL statement counting, and the result rows printed by ``python -m bench``."""

from __future__ import annotations

import logging
import math
import os
import random
import shutil
import tempfile
import time
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa


class BenchError(RuntimeError):
    """A benchmark that cannot run (no database, a page that does not answer 200, …)."""


@dataclass
class Result:
    benchmark: str
    figure: str
    target: str
    ok: bool
    timing: bool = False  # a time figure, which another busy process can spoil
    advisory: bool = False  # a measurement beside a target: BELOW when missed, never a MISS of the run


@dataclass
class Context:
    scale: str  # "small" | "full"
    db: str  # "sqlite" | "postgres"

    def pick(self, small, full):
        return full if self.scale == "full" else small


# -- the database -----------------------------------------------------------------------------

def postgres_url() -> str:
    url = os.environ.get("INTRANET_BENCH_POSTGRES_URL") or os.environ.get("INTRANET_TEST_POSTGRES_URL")
    if not url:
        raise BenchError("--db postgres needs INTRANET_BENCH_POSTGRES_URL (or INTRANET_TEST_POSTGRES_URL); "
                         "its schema public is dropped and created again")
    return url


@contextmanager
def fresh_app(ctx: Context, **config) -> Iterator:
    """An application on an empty, migrated database (a temporary SQLite file, or the PostgreSQL
    of INTRANET_BENCH_POSTGRES_URL with its schema public recreated), default permissions written.

    Otherwise the configuration of INTRANET_ENV (development by default: the production password
    hash method, no TESTING, no DEBUG), mail and uploads in the temporary folder."""
    from flask_migrate import upgrade

    from intranet.app import create_app
    from intranet.core.permissions import sync_permissions
    from intranet.extensions import db

    url = postgres_url() if ctx.db == "postgres" else None
    tmp = tempfile.mkdtemp(prefix="intranet-bench-")
    url = url or f"sqlite:///{tmp}/bench.sqlite"
    settings = {
        "SECRET_KEY": "bench-secret",
        "DATABASE_URL": url,
        "DEMO": False,
        "UPLOAD_DIR": os.path.join(tmp, "uploads"),
        "MAIL_DIR": os.path.join(tmp, "mail"),
        "MAIL_SERVER": None,
        "BASE_URL": "http://127.0.0.1",
        "SESSION_COOKIE_SECURE": False,  # the test client speaks http, whatever INTRANET_ENV says
    }
    settings.update(config)
    app = create_app(settings)
    try:
        with app.app_context():
            if ctx.db == "postgres":
                with db.engine.begin() as conn:
                    conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
                    conn.execute(sa.text("CREATE SCHEMA public"))
            logging.disable(logging.INFO)  # alembic's "Running upgrade …" lines
            try:
                upgrade()
            finally:
                logging.disable(logging.NOTSET)
            sync_permissions()
            db.session.commit()
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        shutil.rmtree(tmp, ignore_errors=True)


# -- bulk data ----------------------------------------------------------------------------------

FIRST_NAMES = ("Camille", "Léa", "Manon", "Chloé", "Inès", "Jeanne", "Louise", "Margaux", "Sophie", "Anne",
               "Hélène", "Élodie", "Julie", "Claire", "Marie", "Lucas", "Hugo", "Louis", "Arthur", "Jules",
               "Thomas", "Nicolas", "Pierre", "Antoine", "Mathieu", "Julien", "Bastien", "Rémi", "Olivier",
               "Étienne")
LAST_NAMES = ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
              "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "Roux", "Fournier", "Girard", "Bonnet", "Dupont",
              "Lambert", "Fontaine", "Rousseau", "Vincent", "Chevalier", "Delmas", "Vidal", "Cantuel", "Bouygues",
              "Rigal")
JOB_TITLES = ("Conseillère en séjour", "Conseiller en séjour", "Directrice", "Directeur",
              "Chargée de communication", "Responsable de l'accueil", "Animateur numérique de territoire",
              "Chargé de promotion", "Responsable qualité", "Guide-conférencière", "Chargée de mission",
              "Responsable boutique", "")
PLACES = ("Aurillac", "Saint-Flour", "Mauriac", "Salers", "Murat", "Riom-ès-Montagnes", "Chaudes-Aigues",
          "Maurs", "Lioran", "Carladès", "Pierrefort", "Allanche", "Ydes", "Pleaux", "Laroquebrou", "Marcolès",
          "Montsalvy", "Massiac", "Condat", "Ruynes-en-Margeride", "Saint-Cernin", "Vic-sur-Cère", "Neussargues",
          "Champs-sur-Tarentaine", "Saignes")


def _slug(text: str) -> str:
    ascii_ = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in ascii_.lower() if c.isalnum())


_HASHES: dict[str, str] = {}


def password_hash(method: str) -> str:
    """One hash with the configured (production) method, computed once and shared by every row."""
    if method not in _HASHES:
        from werkzeug.security import generate_password_hash

        _HASHES[method] = generate_password_hash("bench-motdepasse", method=method)
    return _HASHES[method]


def seed_network(n_orgs: int, n_users: int, seed: int = 2) -> None:
    """Top the database up to ``n_orgs`` organizations (each with its territory under the
    department) and ``n_users`` people, with a few bulk INSERTs. Call it again with bigger numbers
    to grow the same network: existing rows are kept, so a baseline and a big run share them.

    Organization 1 is the agency; about one in six is a partner, the others are tourist offices.
    About 4 % of people are deactivated, 4 % invited without a password yet; one admin and a few
    animateurs, the rest members. Run inside an app context."""
    from flask import current_app

    from intranet.core.models import Organization, Territory, User
    from intranet.core.timeutil import utcnow
    from intranet.extensions import db

    rng = random.Random(seed)
    now = utcnow()
    dept_id = db.session.scalar(sa.select(Territory.id).where(Territory.code == "15"))
    if dept_id is None:
        dept_id = db.session.execute(sa.insert(Territory).values(name="Cantal", code="15", created_at=now)
                                     .returning(Territory.id)).scalar_one()

    have_orgs = db.session.scalar(sa.select(sa.func.count(Organization.id)))
    territories, orgs = [], []
    for i in range(have_orgs, n_orgs):
        place = PLACES[i % len(PLACES)] + (f" {i // len(PLACES) + 1}" if i >= len(PLACES) else "")
        territories.append({"name": f"Pays de {place}", "code": f"B{i:04d}", "parent_id": dept_id,
                            "created_at": now})
        if i == 0:
            orgs.append({"name": "Cantal Destination", "kind": "agence"})
        elif i % 6 == 5:
            orgs.append({"name": f"Maison des produits de {place}", "kind": "partenaire"})
        else:
            orgs.append({"name": f"Office de tourisme de {place}", "kind": "office"})
    if territories:
        db.session.execute(sa.insert(Territory), territories)
        codes = [t["code"] for t in territories]
        ids = dict(db.session.execute(sa.select(Territory.code, Territory.id).where(Territory.code.in_(codes))).all())
        for t, org in zip(territories, orgs, strict=True):
            org.update(territory_id=dept_id if org["kind"] == "agence" else ids[t["code"]],
                       address=f"1 place de l'Église, {t['name'][8:]}", website="https://www.exemple.fr",
                       email=f"contact@{_slug(org['name'])}.fr", created_at=now)
        db.session.execute(sa.insert(Organization), orgs)

    org_ids = db.session.scalars(sa.select(Organization.id).order_by(Organization.id)).all()
    have_users = db.session.scalar(sa.select(sa.func.count(User.id)))
    pw = password_hash(current_app.config["PASSWORD_HASH_METHOD"])
    users = []
    for i in range(have_users, n_users):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        invited = i % 25 == 7
        users.append({
            "name": f"{first} {last}", "email": f"{_slug(first)}.{_slug(last)}.{i}@exemple.fr",
            "role": "admin" if i == 0 else ("animateur" if i % 50 == 1 else "membre"),
            "organization_id": org_ids[i % len(org_ids)],
            "password_hash": None if invited else pw,
            "is_active_account": i % 25 != 13,
            "session_version": 1, "job_title": rng.choice(JOB_TITLES), "bio": "", "locale": "fr",
            "phone": f"04 71 {i // 100:02d} {i % 100:02d} 00",
            "created_at": now - timedelta(minutes=n_users - i), "invited_at": now - timedelta(minutes=n_users - i),
            "last_login_at": None if invited else now - timedelta(hours=i % 48),
            "last_seen_at": None if invited else now,
        })
    for start in range(0, len(users), 500):
        db.session.execute(sa.insert(User), users[start:start + 500])
    db.session.commit()


# -- requests -----------------------------------------------------------------------------------

def logged_in_client(app, user_id: int):
    """A test client whose session carries the login as Flask-Login stores it (no password check).

    Also marks the person as just seen, so the once-every-five-minutes ``last_seen_at`` write does
    not land inside a timed request."""
    from intranet.core.models import User
    from intranet.core.timeutil import utcnow
    from intranet.extensions import db

    with app.app_context():
        user = db.session.get(User, user_id)
        user.last_seen_at = utcnow()
        db.session.commit()
        ident = user.get_id()
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = ident
        sess["_fresh"] = True
    return client


def get_ok(client, url: str):
    resp = client.get(url)
    if resp.status_code != 200:
        raise BenchError(f"GET {url} answered {resp.status_code}, not 200")
    return resp


@dataclass
class Timings:
    wall: list[float]  # milliseconds per request: the figure compared with the targets
    cpu: list[float]  # this thread's CPU milliseconds per request: far below wall when the machine is busy


def time_requests(client, url: str, n: int, warmup: int = 10) -> Timings:
    """``n`` GET requests after ``warmup`` untimed ones: the whole request through the WSGI app
    (routing, session, queries, templates) in the same process, test client included."""
    for _ in range(warmup):
        get_ok(client, url)
    out = Timings([], [])
    for _ in range(n):
        c0, t0 = time.thread_time(), time.perf_counter()
        resp = client.get(url)
        out.wall.append((time.perf_counter() - t0) * 1000)
        out.cpu.append((time.thread_time() - c0) * 1000)
        if resp.status_code != 200:
            raise BenchError(f"GET {url} answered {resp.status_code}, not 200")
    return out


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    k = max(0, math.ceil(p / 100 * len(ordered)) - 1)
    return ordered[k]


def time_pages(client, urls: dict[str, str], rounds: int, per_round: int, warmup: int = 10) -> dict[str, list[Timings]]:
    """Every page of ``urls`` timed in ``rounds`` rounds of ``per_round`` requests, the pages taking
    turns within each round, so a burst of load from another process falls on one round of one
    page instead of a whole page."""
    out: dict[str, list[Timings]] = {label: [] for label in urls}
    for r in range(rounds):
        for label, url in urls.items():
            out[label].append(time_requests(client, url, per_round, warmup=warmup if r == 0 else 2))
    return out


@dataclass
class Summary:
    p50: float  # median of the least disturbed round
    p95: float  # p95 of the least disturbed round: the figure compared with a target
    round_p95: list[float]  # p95 of each round, printed so a disturbed run shows
    cpu_p95: float  # p95 of this thread's CPU time over every sample
    max: float

    def rounds_text(self) -> str:
        return "/".join(f"{v:.0f}" for v in self.round_p95)


def summarize(rounds: list[Timings]) -> Summary:
    """Other processes on the machine only ever add time, so, as ``timeit`` keeps the best of its
    repeats, the p95 compared with the target is that of the best round; every round is kept for
    the printout."""
    round_p95 = [percentile(t.wall, 95) for t in rounds]
    best = rounds[round_p95.index(min(round_p95))]
    return Summary(p50=percentile(best.wall, 50), p95=min(round_p95), round_p95=round_p95,
                   cpu_p95=percentile([v for t in rounds for v in t.cpu], 95),
                   max=max(v for t in rounds for v in t.wall))


@contextmanager
def recorded_statements(engine) -> Iterator[list[str]]:
    """The SQL statements ``engine`` runs inside the block (``before_cursor_execute``)."""
    seen: list[str] = []

    def before(conn, cursor, statement, *args):
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)


def statements_of(app, client, url: str) -> list[str]:
    """The SQL statements one GET of ``url`` runs."""
    from intranet.extensions import db

    with app.app_context():
        engine = db.engine
    with recorded_statements(engine) as seen:
        get_ok(client, url)
    return seen


def ms(value: float) -> str:
    return f"{value:.1f} ms"
