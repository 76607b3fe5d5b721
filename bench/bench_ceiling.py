"""Issue 22, point 1, the ceiling: how far the intranet's pages are from a bare Flask app sending
the same HTML, both served alike (gunicorn, 2 sync workers, loopback), under the same load (wrk,
8 connections, 2 threads). Targets, for ``/feed/`` and the dashboard: throughput ≥ 0.5 × the bare
app's, p95 ≤ 2 × the bare app's. They are a measurement, not a gate: a page below is marked
BELOW and the run does not fail for it.

The data: the feed's network and posts (``bench_feed``: 2,000 people in 50 organizations, 200
groups, posts with their comments, likes, files and mentions; ``small`` 5,000 posts and 25,000
comments, ``full`` the issue's 200,000 and 1,000,000), the agenda (``bench_events``: 20 more
groups, 1,000 events, ``full`` 10,000, a tenth recurring, with their occurrences and
participations) and one FVT zone with two years of daily figures (``bench_fvt``'s store filler,
year totals and outage days), linked to the viewer's territory. On PostgreSQL the database is
vacuumed and analyzed after the load.

The real side: ``intranet.app.create_app`` with the benchmark's settings, served by gunicorn;
a member (an office's, not an animateur, in 6 groups) logs in through the login form (CSRF token
and password, as a browser does) and wrk sends their session cookie and the same User-Agent.
Pages: ``/feed/``, the dashboard ``/``, the « Fil » tab of the viewer's busiest group, the month
view of the agenda, the FVT zone page. Each is fetched once and saved; the bare side
(``bench.ceiling_bare``, see its docstring) renders each saved page through Jinja from in-memory
data, byte for byte the same, and is served by the same gunicorn settings.

The load: for each page, real and bare in turn (real, bare, real, bare…), ``ROUNDS`` rounds of
``seconds`` seconds each after one untimed second per side, each run bounded in time (wrk ``-d``)
and in requests (the wrk script stops a thread at ``MAX_REQUESTS``). Per round: requests per
second, p50 and p95 of the latency (wrk's own histogram, read by the script's ``done``). The
figures compared are the best round's of each side (other processes only ever lower throughput
and add latency), every round's throughput is printed (min–max), and so is the load average
before the data, before the load and at the end.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from bench.common import BenchError, Context, Result, fresh_app, password_hash

NAME = "ceiling"
ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 0.5  # real throughput ≥ 0.5 × bare
TARGET_P95 = 2.0  # real p95 ≤ 2 × bare
TARGETED = ("/feed/", "tableau de bord")
WORKERS, CONNECTIONS, THREADS = 2, 8, 2
USER_AGENT = "intranet-bench-ceiling"
PASSWORD = "bench-motdepasse"  # the one of every person of seed_network (bench.common.password_hash)
MAX_REQUESTS = 50_000  # per wrk thread and run: a bound if a page answers far faster than expected
# The settings the real side is created with in the gunicorn workers: those of fresh_app's app.
SETTINGS = ("SECRET_KEY", "DATABASE_URL", "DEMO", "UPLOAD_DIR", "MAIL_DIR", "MAIL_SERVER", "BASE_URL",
            "SESSION_COOKIE_SECURE")

# wrk's Lua: a request bound per thread (wrk -d bounds the time), non-200 answers counted, and one
# line of figures printed at the end (wrk --latency prints no p95).
WRK_SCRIPT = """
local limit = tonumber(os.getenv("CEILING_MAX_REQUESTS") or "0")
local threads = {}
answered, not_ok = 0, 0

function setup(thread)
  table.insert(threads, thread)
end

function response(status, headers, body)
  answered = answered + 1
  if status ~= 200 then not_ok = not_ok + 1 end
  if limit > 0 and answered >= limit then wrk.thread:stop() end
end

function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do bad = bad + t:get("not_ok") end
  local e = summary.errors
  io.write(string.format("CEILING requests=%d duration_us=%d not_ok=%d socket_errors=%d p50_us=%d p95_us=%d\\n",
    summary.requests, summary.duration, bad, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(95)))
end
"""


def _scale(ctx: Context) -> dict:
    return ctx.pick(dict(orgs=50, users=2_000, groups=200, posts=5_000, comments=25_000, events=1_000,
                         rounds=3, seconds=5),
                    dict(orgs=50, users=2_000, groups=200, posts=200_000, comments=1_000_000, events=10_000,
                         rounds=5, seconds=10))


# -- the gunicorn side: the real app's factory, the servers -----------------------------------------

def real_app():
    """The real intranet, as a gunicorn worker creates it (``bench.bench_ceiling:real_app()``)."""
    from intranet.app import create_app

    return create_app(json.loads(os.environ["BENCH_CEILING_SETTINGS"]))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    name: str
    port: int
    proc: subprocess.Popen
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class Servers:
    """The gunicorn processes started by the run, each in its own process group so that stopping
    it stops its workers too; ``stop_all`` runs in a ``finally``."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.started: list[Server] = []

    def start(self, name: str, app_spec: str, env: dict[str, str]) -> Server:
        port = _free_port()
        log = self.folder / f"gunicorn-{name}.log"
        cmd = [sys.executable, "-m", "gunicorn", "--workers", str(WORKERS), "--worker-class", "sync",
               "--bind", f"127.0.0.1:{port}", "--timeout", "120", "--graceful-timeout", "5",
               "--log-level", "warning", "--chdir", str(ROOT), app_spec]
        with open(log, "wb") as out:
            # Our own command line (this Python, fixed options); a new session: killpg reaches the workers.
            proc = subprocess.Popen(cmd, env={**os.environ, **env}, stdout=out,  # noqa: S603
                                    stderr=subprocess.STDOUT, start_new_session=True)
        server = Server(name, port, proc, log)
        self.started.append(server)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise BenchError(f"gunicorn ({name}) exited with {proc.returncode}: {self._tail(server)}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return server
            except OSError:
                time.sleep(0.2)
        raise BenchError(f"gunicorn ({name}) did not listen on 127.0.0.1:{port} within 90 s")

    @staticmethod
    def _tail(server: Server) -> str:
        return server.log.read_text(errors="replace")[-2000:]

    def stop_all(self) -> None:
        for server in self.started:
            if server.proc.poll() is None:
                try:
                    os.killpg(server.proc.pid, signal.SIGTERM)  # the arbiter and its workers
                except ProcessLookupError:
                    continue
        for server in self.started:
            try:
                server.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(server.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                server.proc.wait(timeout=5)
        self.started.clear()


@contextmanager
def servers(folder: Path):
    s = Servers(folder)
    try:
        yield s
    finally:
        s.stop_all()


# -- the data --------------------------------------------------------------------------------------

def _build(n: dict) -> dict:
    """The feed's network and posts, the agenda, an FVT zone; returns what the pages need."""
    from bench import bench_events, bench_feed
    from intranet.core.models import User
    from intranet.events.services import paris_today
    from intranet.extensions import db

    rng = random.Random(22)
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    t0 = time.perf_counter()
    tiny = bench_feed._seed_tiny(rng, now)
    viewer, group = tiny["viewer"], tiny["group"]
    bench_feed._seed_big(n, rng, now, viewer, group)
    t_feed = time.perf_counter() - t0
    t0 = time.perf_counter()
    net = _agenda_network(viewer)
    events = bench_events._seed_events(n["events"], paris_today(), net, rng)
    t_events = time.perf_counter() - t0
    t0 = time.perf_counter()
    zone, fvt_rows = _fvt_zone(viewer)
    t_fvt = time.perf_counter() - t0
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))  # what autovacuum does after a bulk load
    counts = {name: db.session.scalar(sa.select(sa.func.count()).select_from(sa.table(name)))
              for name in ("core_users", "groups_groups", "feed_posts", "feed_comments", "events_events",
                           "events_occurrences")}
    user = db.session.get(User, viewer)
    print(f"[{NAME}] built {counts['core_users']} people, {counts['groups_groups']} groups, {counts['feed_posts']} "
          f"posts, {counts['feed_comments']} comments in {t_feed:.1f} s; {counts['events_events']} events "
          f"({events['recurring']} recurring, {counts['events_occurrences']} occurrences) in {t_events:.1f} s; "
          f"zone {zone} with {fvt_rows} daily figures over 2 years in {t_fvt:.1f} s")
    return {"viewer": viewer, "email": user.email, "group": group, "zone": zone}


def _agenda_network(viewer: int) -> dict:
    """What ``bench_events._event_row`` picks authors and audiences from, made of the feed's network
    (``bench_events._network`` would add its own groups and memberships): the people, the audiences
    of the network, of each organization and of 20 groups (the viewer's among them) with their
    members, the categories of the migration."""
    from intranet.core.audiences import NETWORK, ORG, get_audience
    from intranet.core.models import User
    from intranet.events.models import Category
    from intranet.extensions import db
    from intranet.groups.models import Membership

    users = db.session.execute(sa.select(User.id, User.organization_id).where(
        User.is_active_account.is_(True)).order_by(User.id)).all()
    mine = db.session.scalars(sa.select(Membership.group_id).where(Membership.user_id == viewer)).all()
    others = db.session.scalars(sa.select(Membership.group_id).where(Membership.group_id.not_in(mine))
                                .distinct().order_by(Membership.group_id).limit(20 - len(mine))).all()
    members: dict[int, list[int]] = {}
    for group_id, user_id in db.session.execute(sa.select(Membership.group_id, Membership.user_id)
                                                .where(Membership.group_id.in_([*mine, *others]))):
        members.setdefault(group_id, []).append(user_id)
    audiences = {("network", 0): get_audience([(NETWORK, 0)]).id}
    for org_id in {u.organization_id for u in users}:
        audiences[("org", org_id)] = get_audience([(ORG, org_id)]).id
    for group_id in members:
        audiences[("group", group_id)] = get_audience([("group", group_id)]).id
    db.session.commit()
    return {"users": [(u.id, u.organization_id) for u in users], "org_of": {u.id: u.organization_id for u in users},
            "viewer": viewer, "members": members, "audiences": audiences,
            "categories": {c.name: c.id for c in db.session.scalars(sa.select(Category))}}


def _fvt_zone(viewer: int) -> tuple[str, int]:
    """The first demo zone, on the viewer's territory, with every day of two years of figures:
    rows in the shape the importer writes (``bench_fvt``'s template and filler), then its year
    totals and outage days as an import leaves them."""
    import numpy as np

    from bench import bench_fvt
    from intranet.core.models import User
    from intranet.extensions import db
    from intranet.fvt_tab import demo, series
    from intranet.fvt_tab.importer import detect_outages, refresh_year_totals
    from intranet.fvt_tab.models import Zone

    code, label, _territory, size, winter = demo.ZONES[0]
    user = db.session.get(User, viewer)
    zone = Zone(code=code, name=label, territory_id=user.organization.territory_id)
    db.session.add(zone)
    db.session.commit()
    data = demo.delivery_zip(demo.ZONES[0], bench_fvt.YEAR, bench_fvt.BIMESTRE)
    template = bench_fvt._template(bench_fvt.Delivery(f"{label} {bench_fvt.YEAR}B{bench_fvt.BIMESTRE}.zip",
                                                      data, {}), size, winter)
    rows = 0
    rng = np.random.default_rng(22)
    for year in (bench_fvt.YEAR - 1, bench_fvt.YEAR):
        rows += bench_fvt._fill_zone_year(template, zone.id, size, winter, year, set(), None, rng)
        db.session.commit()
        refresh_year_totals(zone.id, year)
        series.rebuild(db.session.connection(), zone.id, year)
        detect_outages(zone.id, year)
        db.session.commit()
    return code, rows


# -- HTTP ------------------------------------------------------------------------------------------

def _opener() -> tuple[urllib.request.OpenerDirector, http.cookiejar.CookieJar]:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("User-Agent", USER_AGENT)]
    return opener, jar


def _login(server: Server, email: str) -> str:
    """Logs in through the form (its CSRF token, the password) and returns the Cookie header."""
    opener, jar = _opener()
    with opener.open(server.base + "/accounts/connexion", timeout=30) as resp:
        page = resp.read().decode()
    m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page)
    if m is None:
        raise BenchError("no csrf_token on the login page")
    form = urllib.parse.urlencode({"csrf_token": m.group(1), "email": email, "password": PASSWORD}).encode()
    with opener.open(server.base + "/accounts/connexion", data=form, timeout=30) as resp:
        if urllib.parse.urlsplit(resp.url).path.startswith("/accounts/connexion"):
            raise BenchError(f"login as {email} failed (still on the login page)")
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def _get(server: Server, path: str, cookie: str | None = None) -> str:
    req = urllib.request.Request(server.base + path, headers={  # noqa: S310 (http://127.0.0.1 only)"User-Agent": USER_AGENT,
                                                              **({"Cookie": cookie} if cookie else {})})
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(req, timeout=60) as resp:
            return resp.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        raise BenchError(f"GET {path} on the {server.name} side answered {exc.code}, not 200") from None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect (to the login page) is an error here, not a page


# -- wrk -------------------------------------------------------------------------------------------

@dataclass
class Run:
    rps: float
    p50: float  # ms
    p95: float  # ms
    requests: int


def _wrk(wrk: str, script: Path, server: Server, path: str, seconds: float, cookie: str | None) -> Run:
    cmd = [wrk, "-t", str(THREADS), "-c", str(CONNECTIONS), "-d", f"{seconds:g}s", "--timeout", "30s",
           "-s", str(script), "-H", f"User-Agent: {USER_AGENT}"]
    if cookie:
        cmd += ["-H", f"Cookie: {cookie}"]
    cmd.append(server.base + path)
    env = {**os.environ, "CEILING_MAX_REQUESTS": str(MAX_REQUESTS)}
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, env=env,  # noqa: S603
                         check=False)  # wrk from PATH, our URL on 127.0.0.1
    m = re.search(r"CEILING requests=(\d+) duration_us=(\d+) not_ok=(\d+) socket_errors=(\d+) p50_us=(\d+) "
                  r"p95_us=(\d+)", out.stdout)
    if out.returncode != 0 or m is None:
        raise BenchError(f"wrk on {server.name} {path} failed ({out.returncode}): {out.stdout[-500:]} "
                         f"{out.stderr[-500:]}")
    requests, duration, not_ok, socket_errors, p50, p95 = (int(g) for g in m.groups())
    if not_ok or socket_errors:
        raise BenchError(f"{server.name} {path}: {not_ok} answers not 200 and {socket_errors} socket errors "
                         f"in {requests} requests")
    return Run(requests / (duration / 1e6), p50 / 1000, p95 / 1000, requests)


# -- the benchmark ---------------------------------------------------------------------------------

def _pages(data: dict) -> list[tuple[str, str]]:
    return [
        ("/feed/", "/feed/"),
        ("tableau de bord", "/"),
        ("Fil d'un groupe", f"/feed/groupe/{data['group']}"),
        ("agenda (mois)", "/events/?vue=mois"),
        ("zone FVT", f"/fvt_tab/zones/{data['zone']}"),
    ]


@dataclass
class Row:
    label: str
    real: list[Run]
    bare: list[Run]

    @staticmethod
    def best(runs: list[Run]) -> Run:
        return max(runs, key=lambda r: r.rps)

    @property
    def ratio(self) -> float:
        return self.best(self.real).rps / self.best(self.bare).rps

    @property
    def p95_ratio(self) -> float:
        return min(r.p95 for r in self.real) / min(r.p95 for r in self.bare)


def _table(rows: list[Row]) -> list[str]:
    head = ("page", "réel req/s", "nu req/s", "ratio", "réel p50/p95", "nu p50/p95", "p95 ×nu",
            "réel min–max", "nu min–max", "cible")
    lines = [head]
    for row in rows:
        real, bare = Row.best(row.real), Row.best(row.bare)
        real_p95, bare_p95 = min(r.p95 for r in row.real), min(r.p95 for r in row.bare)
        if row.label in TARGETED:
            ok = row.ratio >= TARGET_RATIO and row.p95_ratio <= TARGET_P95
            target = f"≥ {TARGET_RATIO}, ≤ {TARGET_P95:g}×: " + ("OK" if ok else "BELOW")
        else:
            target = "—"
        lines.append((row.label, f"{real.rps:.0f}", f"{bare.rps:.0f}", f"{row.ratio:.2f}",
                      f"{real.p50:.1f}/{real_p95:.1f} ms", f"{bare.p50:.1f}/{bare_p95:.1f} ms",
                      f"{row.p95_ratio:.2f}",
                      f"{min(r.rps for r in row.real):.0f}–{max(r.rps for r in row.real):.0f}",
                      f"{min(r.rps for r in row.bare):.0f}–{max(r.rps for r in row.bare):.0f}", target))
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = ["  ".join(c.ljust(widths[i]) for i, c in enumerate(line)).rstrip() for line in lines]
    out.insert(1, "  ".join("-" * w for w in widths))
    return out


def _load() -> str:
    return "/".join(f"{v:.2f}" for v in os.getloadavg())


def run(ctx: Context) -> list[Result]:
    from bench import ceiling_bare

    wrk = shutil.which("wrk")
    if wrk is None:
        raise BenchError("wrk is not installed (Debian: apt-get install wrk)")
    n = _scale(ctx)
    load_start = _load()
    folder = Path(tempfile.mkdtemp(prefix="intranet-ceiling-"))
    try:
        script = folder / "ceiling.lua"
        script.write_text(WRK_SCRIPT)
        with fresh_app(ctx) as app:
            with app.app_context():
                data = _build(n)
                password_hash(app.config["PASSWORD_HASH_METHOD"])
            settings = {key: app.config[key] for key in SETTINGS}
            pages = _pages(data)
            with servers(folder) as started:
                real = started.start("réel", "bench.bench_ceiling:real_app()",
                                     {"BENCH_CEILING_SETTINGS": json.dumps(settings)})
                cookie = _login(real, data["email"])
                manifest = []
                saved: dict[str, str] = {}
                for k, (label, path) in enumerate(pages):
                    page = _get(real, path, cookie)
                    saved[label] = page
                    (folder / f"page-{k}.html").write_text(page, encoding="utf-8")
                    manifest.append({"label": label, "path": urllib.parse.urlsplit(path).path,
                                     "file": f"page-{k}.html"})
                (folder / "pages.json").write_text(json.dumps(manifest))
                bare = started.start("nu", "bench.ceiling_bare:create_app()", {"BENCH_CEILING_PAGES": str(folder)})
                for (label, path), entry in zip(pages, manifest, strict=True):
                    got = _get(bare, entry["path"])
                    loops, items, variables = ceiling_bare.stats(ceiling_bare.build(saved[label])[1])
                    same = "identical" if got == saved[label] else f"DIFFERENT ({len(got)} bytes)"
                    print(f"[{NAME}] {label:<16} {path:<34} {len(saved[label].encode()):>7} bytes; bare page "
                          f"{same}: {loops} loops of {items} items, {variables} variables")
                    if got != saved[label]:
                        raise BenchError(f"the bare {label} is not the saved page")
                load_before = _load()
                rows = []
                for label, path in pages:
                    bare_path = urllib.parse.urlsplit(path).path
                    _wrk(wrk, script, real, path, 1, cookie)  # untimed: workers warm, templates compiled
                    _wrk(wrk, script, bare, bare_path, 1, None)
                    row = Row(label, [], [])
                    for _ in range(n["rounds"]):
                        row.real.append(_wrk(wrk, script, real, path, n["seconds"], cookie))
                        row.bare.append(_wrk(wrk, script, bare, bare_path, n["seconds"], None))
                    rows.append(row)
                    print(f"[{NAME}] {label:<16} réel {'/'.join(f'{r.rps:.0f}' for r in row.real)} req/s, "
                          f"nu {'/'.join(f'{r.rps:.0f}' for r in row.bare)} req/s")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    load_end = _load()

    print(f"[{NAME}] gunicorn {WORKERS} sync workers per side on 127.0.0.1, wrk {THREADS} threads × "
          f"{CONNECTIONS} connections; per page {n['rounds']} rounds × {n['seconds']} s per side, real and bare "
          f"in turn; best round compared (req/s max, p95 min); {os.cpu_count()} CPU, load average (1/5/15 min) "
          f"{load_start} before the data, {load_before} before the load, {load_end} at the end")
    for line in _table(rows):
        print(f"[{NAME}] {line}")
    results = []
    for row in rows:
        targeted = row.label in TARGETED
        results.append(Result(
            f"{NAME}: {row.label} req/s réel/nu",
            f"{row.ratio:.2f} ({Row.best(row.real).rps:.0f} / {Row.best(row.bare).rps:.0f} req/s)",
            f"≥ {TARGET_RATIO} (mesure)" if targeted else "— (mesure)",
            not targeted or row.ratio >= TARGET_RATIO, timing=True, advisory=True))
        results.append(Result(
            f"{NAME}: {row.label} p95 réel/nu",
            f"{row.p95_ratio:.2f} ({min(r.p95 for r in row.real):.1f} / {min(r.p95 for r in row.bare):.1f} ms)",
            f"≤ {TARGET_P95:g} (mesure)" if targeted else "— (mesure)",
            not targeted or row.p95_ratio <= TARGET_P95, timing=True, advisory=True))
    return results
