"""Issue 5, Performance: with 200,000 posts, 1,000,000 comments and 2,000 users, the feed page (20
items with their authors, the 3 latest comments, like counts and attachments) has p95 ≤ 60 ms server
time on SQLite and on PostgreSQL, and the same number of SQL statements for 5 and for 50 items.

One database, one process, as ``bench_pages``: a tiny network first (10 people, 2 organizations, one
private group, 5 items: a pinned post, a group post with replies, a post with images mentioning the
viewer, one with a file, the group's « Nouveau groupe » item: the baseline), its pages measured; then
the same network grows to 2,000 people in 50 organizations, 200 groups (public, private, secret) with
their members, and two years of posts with their comments, likes, files and mentions, written
straight through the driver (one ``executemany`` per table and chunk on SQLite, ``COPY`` on
PostgreSQL, explicit ids; audiences made by ``get_audience``), and the same pages, seen by the same
person, are measured again. On PostgreSQL the tables are then vacuumed and analyzed (what autovacuum
does after a bulk load); SQLite gets no ANALYZE, as the app runs it.

The viewer is a member of a tourist office (not an animateur, so the audience filter and the
moderation rule run), in 6 groups, mentioned in a few dozen posts. Pages: ``/feed/`` (first page,
pinned posts on top), ``/feed/?apres=…`` (a page about 18 months down the list),
``?filtre=organisation``, ``?filtre=mentions`` and the « Fil » tab of their busiest group. For each:
p50/p95 of the whole request (test client, same process; 5 interleaved rounds, p95 = best round,
see ``bench.common.summarize``) and the CPU p95; then, for the median of 7 more requests, the time
spent in ``feed_page`` (SQL and ORM; the rest is mostly the templates), the SQL time and the 3
slowest statements; the statements of one request, compared with the baseline's (a difference is
named by table). Then « 5 vs 50 items »: the statements of ``feed_page(viewer, limit=5)`` and
``limit=50`` on seven views, each in a fresh session, which must be as many (IN lists of any length
count as the same statement). The full run (and any page that misses) prints the plans of the page's
post queries (the pinned ones, the page itself): EXPLAIN QUERY PLAN on SQLite, EXPLAIN (ANALYZE,
BUFFERS) on PostgreSQL.

The data: posts spread over two years (ids in time order), about 78 % shared with « Tout le
réseau », 8 % with the author's organization, 12 % written in a group (the viewer's busiest group a
sixth of them, the others a long tail), 2 % with a few chosen people, one « Nouveau groupe » activity
item per public or private group; 4 pinned posts, 0.1 % hidden, 5 % edited; 10 % with files (70 %
of them 1 to 4 images, the rest a PDF or a document: rows only, the files do not exist, the list
only links them); comments per post exponential (mean 5, so about a sixth have none), 30 % of them
replies, a few deleted ones kept for their replies; likes exponential (mean 3.5); 5 % of posts
mention someone. ``comment_count`` and ``like_count`` match the rows (checked). Authors follow a
long tail (a few people write a lot). ``small`` (``make bench``) is the same network with a tenth
of the posts and comments and fewer requests.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from markupsafe import escape

from bench.common import (
    BenchError,
    Context,
    Result,
    fresh_app,
    get_ok,
    logged_in_client,
    ms,
    recorded_statements,
    seed_network,
    summarize,
    time_pages,
)
from intranet.core.markup import RENDERER_VERSION  # pure module: no app is built by importing it

NAME = "feed"
TARGET_P95_MS = 60.0
TINY = (2, 10)  # organizations, people: the baseline network (5 posts)
ROUNDS = 5
CHUNK = 10_000  # posts generated (with their comments, likes…) and written per batch
VIEWER_GROUPS = 6


def _scale(ctx: Context) -> dict:
    return ctx.pick(dict(orgs=50, users=2_000, groups=200, posts=20_000, comments=100_000, per_round=20),
                    dict(orgs=50, users=2_000, groups=200, posts=200_000, comments=1_000_000, per_round=60))


# -- texts ----------------------------------------------------------------------------------------

POST_TEXTS = (
    "Bonjour à tous, la **réunion du réseau** aura lieu jeudi à 14 h à la Maison du tourisme d'Aurillac.",
    "Retour sur le salon de Lyon : beaucoup de demandes sur la randonnée et les *buronniers*. "
    "Merci à toutes celles et ceux qui ont tenu le stand !",
    "Nouvelle brochure « Cantal en famille » disponible :\n\n- 2 000 exemplaires pour chaque office\n"
    "- la version PDF sur [le site pro](https://pro.exemple.fr/brochures)\n- les affiches la semaine prochaine",
    "Quelqu'un a-t-il un contact pour les visites de la coopérative de Salers ? Un groupe de 40 personnes "
    "me demande une date en juin.",
    "Rappel : les chiffres de fréquentation du trimestre sont à saisir avant vendredi. **Merci !**",
    "Le Puy Mary sera fermé à la circulation du 15 au 20 pour travaux. Pensez à prévenir vos visiteurs.",
    "Formation « accueil numérique » : il reste 4 places le 12. Inscriptions auprès de l'agence.",
    "Belle fréquentation ce week-end à Salers, plus de 3 000 visiteurs à l'office. Bravo à l'équipe !",
    "Partage d'expérience : nous testons un accueil hors les murs au marché du samedi. Premiers retours "
    "très positifs, je vous raconte en réunion.",
    "Les photos de l'éductour sont en ligne, n'hésitez pas à les utiliser pour vos réseaux sociaux "
    "(crédit : Cantal Destination).",
    "Question pratique : quel logiciel de billetterie utilisez-vous pour les visites guidées ?",
    "Alerte météo orange neige demain sur le Lioran : routes difficiles, conseillez le report des "
    "déplacements.",
    "Le compte rendu de la commission hébergement est disponible.\n\n1. labels\n2. taxe de séjour\n"
    "3. plateformes de réservation",
    "Bienvenue à nos deux nouvelles conseillères en séjour, arrivées lundi à Saint-Flour !",
    "Programme des animations d'été : merci d'envoyer vos dates avant le 30 avril.",
    "Vu dans la presse : un bel article sur les estives et la transhumance. De quoi donner envie !",
)
COMMENT_TEXTS = (
    "Merci pour l'info !", "Bonne nouvelle 👍", "Je transmets à l'équipe.", "On sera là.",
    "Est-ce que c'est ouvert aux partenaires ?", "Super, merci **beaucoup**.", "Je vous envoie ça demain.",
    "Même question de notre côté.", "Bravo !", "Nous avons la même demande, voyons-nous jeudi.",
    "C'est noté, merci.", "Le lien ne marche pas chez moi, quelqu'un peut vérifier ?",
    "Très bonne idée, on essaie aussi.", "Oui, voir avec le service réservation.",
)
HIDDEN_REASON = "Message hors sujet : merci d'utiliser le groupe dédié."


def _rendered(texts) -> list[tuple[str, str]]:
    from intranet.core.markup import render_markdown

    return [(t, str(render_markdown(t))) for t in texts]


def _with_mention(text: str, html: str, people: list[tuple[int, str]]) -> tuple[str, str]:
    """« @Marie Dupont … » and its HTML as ``render_with_mentions`` makes it (a link to the profile)."""
    typed = " ".join(f"@{name}" for _uid, name in people)
    links = " ".join(f'<a href="/accounts/personnes/{uid}">@{escape(name)}</a>' for uid, name in people)
    return f"{typed} {text}", html.replace("<p>", f"<p>{links} ", 1)


# -- bulk writing ------------------------------------------------------------------------------

class _Writer:
    """Rows buffered per table and written straight through the driver, parents first: one
    ``executemany`` per table and chunk on SQLite, one ``COPY … FROM STDIN`` on PostgreSQL. Values are
    converted here as the column types would (naive UTC timestamps, JSON text, 0/1 on SQLite)."""

    ORDER = ("feed_posts", "feed_attachments", "feed_comments", "feed_likes", "feed_mentions")

    def __init__(self):
        from intranet.feed.models import Attachment, Comment, Like, Mention, Post

        self.tables = {m.__tablename__: m.__table__ for m in (Post, Attachment, Comment, Like, Mention)}
        self.rows: dict[str, list[dict]] = {name: [] for name in self.ORDER}
        self.written: dict[str, int] = dict.fromkeys(self.ORDER, 0)

    def add(self, table: str, row: dict) -> None:
        self.rows[table].append(row)

    def flush(self) -> None:
        from intranet.extensions import db

        conn = db.session.connection()
        postgres = conn.dialect.name == "postgresql"
        cursor = conn.connection.dbapi_connection.cursor()
        for name in self.ORDER:
            rows = self.rows[name]
            if not rows:
                continue
            columns = [c.name for c in self.tables[name].columns]
            convert = [_converter(self.tables[name].columns[c], postgres) for c in columns]
            values = [tuple(f(row[c]) for f, c in zip(convert, columns, strict=True)) for row in rows]
            quoted = ", ".join(f'"{c}"' for c in columns)
            if postgres:
                with cursor.copy(f"COPY {name} ({quoted}) FROM STDIN") as copy:
                    for value in values:
                        copy.write_row(value)
            else:
                cursor.executemany(f"INSERT INTO {name} ({quoted}) VALUES ({', '.join('?' * len(columns))})", values)
            self.written[name] += len(rows)
            rows.clear()
        cursor.close()
        db.session.commit()


def _converter(column: sa.Column, postgres: bool):
    """What the column's type does to a Python value before the driver sees it."""
    if isinstance(column.type, sa.JSON):
        return json.dumps
    from intranet.core.timeutil import UTCDateTime

    if isinstance(column.type, UTCDateTime):
        if postgres:
            return lambda v: None if v is None else v.astimezone(UTC).replace(tzinfo=None)
        return lambda v: None if v is None else v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(column.type, sa.Boolean) and not postgres:
        return lambda v: None if v is None else int(v)
    return lambda v: v


def _post(pid, author, audience_id, at, text_html=("", ""), **extra) -> dict:
    row = {"id": pid, "group_id": None, "body": text_html[0], "body_html": text_html[1], "activity_key": None,
           "object_id": None, "data": {}, "has_attachments": False, "comment_count": 0, "like_count": 0,
           "pinned_at": None, "hidden_at": None, "hidden_reason": "", "hidden_by_id": None, "created_at": at,
           "edited_at": None, "audience_id": audience_id, "author_id": author, "render_version": RENDERER_VERSION}
    row.update(extra)
    return row


class _Seeder:
    """Everything one post brings: its attachments, comments (with replies), likes and mentions,
    with consistent counters. Ids are given here (posts, comments, attachments) so no row is read back."""

    def __init__(self, rng: random.Random, writer: _Writer, now: datetime, people: list[int],
                 names: dict[int, str]):
        from intranet.extensions import db
        from intranet.feed.models import Attachment, Comment, Post

        self.rng, self.w, self.now = rng, writer, now
        self.people, self.names = people, names
        # A long tail: the person at rank k writes in proportion to 1 / (k + 50).
        order = people[:]
        rng.shuffle(order)
        self.weighted = order
        self.cum = list(_cumulate(1 / (k + 50) for k in range(len(order))))
        self.next_id = {name: (db.session.scalar(sa.select(sa.func.max(m.id))) or 0) + 1
                        for name, m in (("post", Post), ("comment", Comment), ("attachment", Attachment))}
        self.posts_html = _rendered(POST_TEXTS)
        self.comments_html = _rendered(COMMENT_TEXTS)

    def new_id(self, kind: str) -> int:
        value = self.next_id[kind]
        self.next_id[kind] += 1
        return value

    def someone(self) -> int:
        return self.rng.choices(self.weighted, cum_weights=self.cum)[0]

    def post(self, author: int, audience_id: int, at: datetime, *, group_id=None, mentions=(), comments=0,
             likes=0, files=None, likers=(), **extra) -> int:
        rng = self.rng
        pid = self.new_id("post")
        text, html = rng.choice(self.posts_html)
        if mentions:
            text, html = _with_mention(text, html, [(u, self.names[u]) for u in mentions])
            for uid in dict.fromkeys(mentions):
                self.w.add("feed_mentions", {"post_id": pid, "user_id": uid})
        row = _post(pid, author, audience_id, at, (text, html), group_id=group_id, **extra)
        if rng.random() < 0.05:
            row["edited_at"] = min(at + timedelta(minutes=rng.randint(2, 600)), self.now)
        if files is None:
            files = rng.random() < 0.10
        if files:
            row["has_attachments"] = True
            self._attachments(pid, images=rng.random() < 0.7)
        row["comment_count"] = self._comments(pid, at, comments)
        chosen = list(dict.fromkeys(likers))
        if likes > len(chosen):
            more = [u for u in rng.sample(self.people, min(likes, len(self.people))) if u not in chosen]
            chosen += more[:likes - len(chosen)]
        for uid in chosen:
            self.w.add("feed_likes", {"post_id": pid, "user_id": uid,
                                      "created_at": min(at + timedelta(minutes=rng.randint(1, 4000)), self.now)})
        row["like_count"] = len(chosen)
        self.w.add("feed_posts", row)
        return pid

    def _attachments(self, pid: int, images: bool) -> None:
        rng = self.rng
        if images:
            for j in range(rng.choice((1, 1, 1, 2, 2, 3, 4))):
                aid = self.new_id("attachment")
                self.w.add("feed_attachments", {
                    "id": aid, "post_id": pid, "is_image": True, "key": f"bench/{aid}.jpg",
                    "thumb_key": f"bench/{aid}-480.jpg", "name": f"photo-{j + 1}.jpg", "content_type": "image/jpeg",
                    "size": rng.randint(150_000, 1_500_000), "position": j})
        else:
            for j in range(rng.choice((1, 1, 1, 2))):
                aid = self.new_id("attachment")
                pdf = rng.random() < 0.7
                self.w.add("feed_attachments", {
                    "id": aid, "post_id": pid, "is_image": False, "key": f"bench/{aid}." + ("pdf" if pdf else "docx"),
                    "thumb_key": None, "name": ("compte-rendu.pdf" if pdf else "programme-ete.docx"),
                    "content_type": "application/pdf" if pdf else
                    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                    "size": rng.randint(40_000, 4_000_000), "position": j})

    def _comments(self, pid: int, at: datetime, n: int) -> int:
        """``n`` comments, about 30 % of them replies; returns the visible count (the deleted
        ones kept for their replies are not counted, as ``_recount_comments`` does)."""
        rng = self.rng
        when = at
        tops: list[int] = []
        rows = []
        for _ in range(n):
            when = min(when + timedelta(minutes=rng.expovariate(1 / 300) + 1), self.now)
            cid = self.new_id("comment")
            parent = rng.choice(tops) if tops and rng.random() < 0.3 else None
            text, html = rng.choice(self.comments_html)
            rows.append({"id": cid, "post_id": pid, "parent_id": parent, "author_id": self.someone(),
                         "body": text, "body_html": html, "is_deleted": False, "created_at": when,
                         "edited_at": None, "render_version": RENDERER_VERSION})
            if parent is None:
                tops.append(cid)
        replied = {r["parent_id"] for r in rows if r["parent_id"]}
        deleted = 0
        for r in rows:
            if r["id"] in replied and rng.random() < 0.02:  # deleted, kept for its replies
                r.update(is_deleted=True, body="", body_html="")
                deleted += 1
            self.w.add("feed_comments", r)
        return n - deleted


def _cumulate(values) -> Iterator[float]:
    total = 0.0
    for v in values:
        total += v
        yield total


def _counts(rng: random.Random, n: int, total: int) -> list[int]:
    """``n`` exponential counts (mean total / n) adjusted to sum to ``total`` exactly."""
    mean = total / n
    counts = [int(rng.expovariate(1 / (mean + 0.5))) for _ in range(n)]
    diff = total - sum(counts)
    while diff:
        i = rng.randrange(n)
        if diff > 0:
            counts[i] += 1
            diff -= 1
        elif counts[i] > 0:
            counts[i] -= 1
            diff += 1
    return counts


# -- the tiny network (the baseline) -----------------------------------------------------------------

def _viewer() -> int:
    """An active member of a tourist office (not an animateur), with a password."""
    from intranet.core.models import Organization, User
    from intranet.extensions import db

    return db.session.scalar(
        sa.select(User.id).join(Organization, User.organization_id == Organization.id)
        .where(Organization.kind == "office", User.role == "membre", User.is_active_account.is_(True),
               User.password_hash.is_not(None))
        .order_by(User.id).limit(1))


def _seed_tiny(rng: random.Random, now: datetime) -> dict:
    """10 people, a private group with the viewer, and 5 items dated before the big data's two years
    (so the big run's pages do not show them): a pinned post, a group post with a reply thread, a post
    with images mentioning the viewer, a file, and the group's « Nouveau groupe » item."""
    from intranet.core.audiences import NETWORK, ORG, get_audience
    from intranet.core.models import User
    from intranet.extensions import db
    from intranet.groups.models import Group, Membership

    seed_network(*TINY)
    viewer = _viewer()
    people = db.session.execute(sa.select(User.id, User.name, User.organization_id)
                                .where(User.is_active_account.is_(True), User.password_hash.is_not(None))
                                .order_by(User.id)).all()
    ids = [p.id for p in people]
    others = [u for u in ids if u != viewer]
    org = next(p.organization_id for p in people if p.id == viewer)
    group = Group(name="Réseau des offices", description="Les conseillers en séjour du réseau.",
                  visibility="private", join_policy="request", created_at=now - timedelta(days=800))
    db.session.add(group)
    db.session.flush()
    db.session.add_all([Membership(group_id=group.id, user_id=u, role="owner" if k == 0 else "member",
                                   created_at=now - timedelta(days=800)) for k, u in enumerate([others[0], viewer,
                                                                                                 *others[1:4]])])
    user = db.session.get(User, viewer)
    user.previous_visit_at = now - timedelta(days=1)
    network = get_audience([(NETWORK, 0)]).id
    group_aud = get_audience([("group", group.id)]).id
    org_aud = get_audience([(ORG, org)]).id
    db.session.commit()

    writer = _Writer()
    seeder = _Seeder(rng, writer, now, ids, {p.id: p.name for p in people})
    t0 = now - timedelta(days=760)
    writer.add("feed_posts", _post(seeder.new_id("post"), others[0], network, t0 - timedelta(days=1),
                                   activity_key="groups.created", object_id=group.id,
                                   data={"title": group.name, "excerpt": group.description,
                                         "visibility": "private"}))
    seeder.post(others[1], network, t0, comments=6, likes=4, files=False, likers=[viewer],
                pinned_at=t0 + timedelta(hours=2))
    seeder.post(others[0], group_aud, t0 + timedelta(hours=3), group_id=group.id, comments=8, likes=2, files=False)
    seeder.post(others[2], network, t0 + timedelta(hours=5), mentions=[viewer], comments=2, likes=3, files=True)
    seeder.post(others[3], org_aud, t0 + timedelta(hours=7), comments=1, likes=1, files=True)
    writer.flush()
    return {"viewer": viewer, "group": group.id}


# -- the big network -------------------------------------------------------------------------------

def _seed_big(n: dict, rng: random.Random, now: datetime, viewer: int, active_group: int) -> dict:
    from intranet.core.audiences import NETWORK, ORG, USER, get_audience
    from intranet.core.models import User
    from intranet.extensions import db
    from intranet.groups.models import Group, Membership

    seed_network(n["orgs"], n["users"])
    people = db.session.execute(sa.select(User.id, User.name, User.organization_id)
                                .where(User.is_active_account.is_(True), User.password_hash.is_not(None))
                                .order_by(User.id)).all()
    ids = [p.id for p in people]
    org_of = {p.id: p.organization_id for p in people}
    admin_id = db.session.scalar(sa.select(User.id).where(User.role == "admin").order_by(User.id).limit(1))

    # Groups: 4 public, 4 private, 2 secret in 10; 10 to 40 members each, the first one owner.
    visibilities = ["public"] * 4 + ["private"] * 4 + ["secret"] * 2
    have = db.session.scalar(sa.select(sa.func.count(Group.id)))
    start_at = now - timedelta(days=730)
    groups = [{"name": f"Groupe de travail {i}", "description": "Échanges et documents du groupe.",
               "visibility": visibilities[i % 10], "join_policy": "request", "image": None, "created_by_id": None,
               "created_at": start_at + timedelta(days=rng.uniform(0, 700))} for i in range(have, n["groups"])]
    db.session.execute(sa.insert(Group.__table__), groups)
    group_rows = db.session.execute(sa.select(Group.id, Group.name, Group.visibility, Group.created_at)
                                    .order_by(Group.id)).all()
    members: dict[int, list[int]] = {
        g: list(db.session.scalars(sa.select(Membership.user_id).where(Membership.group_id == g)
                                   .order_by(Membership.created_at, Membership.user_id)))
        for g in (r.id for r in group_rows)}
    # The viewer's groups: the tiny network's private one (their busiest) and 5 others of every kind.
    viewer_groups = [active_group]
    for vis in ("public", "public", "private", "private", "secret"):
        viewer_groups.append(next(r.id for r in group_rows if r.visibility == vis and r.id not in viewer_groups))
    pool = [u for u in ids if u != viewer]
    memberships = []
    for r in group_rows:
        if r.id == active_group and members[r.id]:
            chosen = [u for u in rng.sample(pool, 40) if u not in members[r.id]]
        else:
            chosen = rng.sample(pool, rng.randint(10, 40))
            if r.id in viewer_groups:
                chosen.append(viewer)
        for u in chosen:
            memberships.append({"group_id": r.id, "user_id": u, "role": "member" if members[r.id] else "owner",
                                "created_at": r.created_at})
            members[r.id].append(u)
    db.session.execute(sa.insert(Membership.__table__), memberships)
    db.session.commit()

    cache: dict[frozenset, int] = {}

    def audience(targets) -> int:
        key = frozenset(targets)
        if key not in cache:
            cache[key] = get_audience(key).id
            if len(cache) % 100 == 0:  # keep the session small: its flushes stay cheap
                db.session.commit()
                db.session.expunge_all()
        return cache[key]

    network = audience([(NETWORK, 0)])
    writer = _Writer()
    seeder = _Seeder(rng, writer, now, ids, {p.id: p.name for p in people})

    # Group posts: the viewer's busiest group gets a sixth of them (2 % of all posts), the others a
    # long tail (the group at rank k in proportion to 1 / (k + 5)).
    other_groups = [r.id for r in group_rows if r.id != active_group]
    rng.shuffle(other_groups)
    group_cum = list(_cumulate(1 / (k + 5) for k in range(len(other_groups))))
    chosen_sets = [rng.sample(ids, rng.randint(1, 4)) for _ in range(max(50, min(400, n["posts"] // 100)))]
    comment_counts = _counts(rng, n["posts"], n["comments"])
    viewer_mentions = set(rng.sample(range(n["posts"]), max(25, n["posts"] // 3000)))
    pinned_at = {n["posts"] - k * n["posts"] // 400 - 3: now - timedelta(days=k) for k in (1, 5, 12)}
    step = timedelta(days=730) / n["posts"]
    deep_index = n["posts"] // 4  # about 18 months ago
    deep_post = None
    group_pinned = False

    # Activity items: « Nouveau groupe » for each public or private group, shared with everyone.
    activity = sorted((r for r in group_rows if r.visibility != "secret" and r.id != active_group),
                      key=lambda r: r.created_at)
    act_i = 0

    t0 = time.perf_counter()
    for i in range(n["posts"]):
        at = start_at + i * step + timedelta(seconds=rng.uniform(0, step.total_seconds() * 0.9))
        while act_i < len(activity) and activity[act_i].created_at.replace(tzinfo=UTC) <= at:
            g = activity[act_i]
            writer.add("feed_posts", _post(seeder.new_id("post"), members[g.id][0], network,
                                           g.created_at.replace(tzinfo=UTC), activity_key="groups.created",
                                           object_id=g.id, data={"title": g.name, "excerpt": "Échanges et "
                                                                 "documents du groupe.", "visibility": g.visibility}))
            act_i += 1
        r = rng.random()
        extra: dict = {}
        mentions: list[int] = []
        group_id = None
        if i in viewer_mentions:
            r = 0.0  # a network post
            mentions.append(viewer)
        if i in pinned_at:
            r = 0.0
        if r < 0.78:
            author, aud = seeder.someone(), network
        elif r < 0.86:
            author = seeder.someone()
            aud = audience([(ORG, org_of[author])])
        elif r < 0.98:
            group_id = active_group if rng.random() < 1 / 6 else \
                rng.choices(other_groups, cum_weights=group_cum)[0]
            author = rng.choice(members[group_id])
            aud = audience([("group", group_id)])
        else:
            author = seeder.someone()
            aud = audience([(USER, u) for u in rng.choice(chosen_sets)])
        if rng.random() < 0.05:
            mentions.append(rng.choice(ids))
            if rng.random() < 0.2:
                mentions.append(rng.choice(ids))
        if i in pinned_at:
            extra["pinned_at"] = pinned_at[i]
        elif group_id == active_group and not group_pinned and i > n["posts"] * 0.95:
            extra["pinned_at"] = now - timedelta(days=3)
            group_pinned = True
        elif rng.random() < 0.001:
            extra.update(hidden_at=min(at + timedelta(hours=5), now), hidden_reason=HIDDEN_REASON,
                         hidden_by_id=admin_id)
        likes = int(rng.expovariate(1 / 3.5))
        pid = seeder.post(author, aud, at, group_id=group_id, mentions=mentions, comments=comment_counts[i],
                          likes=likes, **extra)
        if deep_post is None and i >= deep_index and aud == network and not extra:
            deep_post = pid
        if (i + 1) % CHUNK == 0:
            writer.flush()
    writer.flush()
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:  # explicit ids: the sequences go on after them
            for table in ("feed_posts", "feed_comments", "feed_attachments"):
                conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                     f"(SELECT max(id) FROM {table}))"))
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in ("feed_posts", "feed_comments", "feed_likes", "feed_attachments", "feed_mentions",
                          "core_users", "core_audiences", "core_audience_entries", "groups_groups",
                          "groups_memberships"):
                conn.execute(sa.text(f"VACUUM ANALYZE {table}"))  # what autovacuum does after a bulk load
    return {"written": dict(writer.written), "seconds": time.perf_counter() - t0, "audiences": len(cache),
            "deep_post": deep_post, "viewer_groups": viewer_groups}


def _check_counters() -> dict:
    """The counters on the posts match the rows (as the services keep them)."""
    from intranet.extensions import db
    from intranet.feed.models import Comment, Like, Post

    comments = (sa.select(sa.func.count(Comment.id)).where(Comment.post_id == Post.id, Comment.is_deleted.is_(False))
                .scalar_subquery())
    likes = sa.select(sa.func.count()).select_from(Like).where(Like.post_id == Post.id).scalar_subquery()
    bad = db.session.scalar(sa.select(sa.func.count(Post.id)).where(
        sa.or_(Post.comment_count != comments, Post.like_count != likes)))
    if bad:
        raise BenchError(f"{bad} posts whose comment_count or like_count does not match their rows")
    return {name: db.session.scalar(sa.select(sa.func.count()).select_from(sa.table(name)))
            for name in ("feed_posts", "feed_comments", "feed_likes", "feed_attachments", "feed_mentions",
                         "groups_memberships", "core_users")}


# -- measuring -------------------------------------------------------------------------------------

@contextmanager
def _timed_statements(engine) -> Iterator[list[tuple[float, str, object]]]:
    """(milliseconds, statement, parameters) of each statement ``engine`` runs inside the block."""
    seen: list[tuple[float, str, object]] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info.setdefault("feed_bench_t0", []).append(time.perf_counter())

    def after(conn, cursor, statement, parameters, context, executemany):
        t0 = conn.info["feed_bench_t0"].pop()
        seen.append(((time.perf_counter() - t0) * 1000, statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", before)
    sa.event.listen(engine, "after_cursor_execute", after)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
        sa.event.remove(engine, "after_cursor_execute", after)


def _is_feed_query(statement: str) -> bool:
    """The statement that picks the page's posts (not the pinned ones, not the extras)."""
    flat = " ".join(statement.split())
    return (flat.startswith("SELECT feed_posts.") and "ORDER BY feed_posts.created_at DESC, feed_posts.id DESC" in flat
            and "FROM feed_posts" in flat)


def _items(html: str) -> int:
    return html.count('class="card mb-3 feed-post')


def _plan(engine, statement: str, parameters, postgres: bool) -> list[str]:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if postgres:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            lines = [r[0] for r in cursor.fetchall()]
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            rows = cursor.fetchall()
            depth = {0: -1}
            lines = []
            for r in rows:  # (id, parent, notused, detail): children indented under their parent
                depth[r[0]] = depth.get(r[1], -1) + 1
                lines.append(f"{'  ' * depth[r[0]]}{r[3]}")
        cursor.close()
        raw.rollback()
        return lines
    finally:
        raw.close()


def _one_request(app, client, url: str, repeat: int = 7) -> dict:
    """The GET of median time among ``repeat``, each statement timed, and how long the view spent in
    ``feed_page`` (SQL and ORM); the rest of the request is mostly the templates."""
    from intranet.extensions import db
    from intranet.feed import services

    with app.app_context():
        engine = db.engine
    real = services.feed_page
    spent: list[float] = []

    def timed_feed_page(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            spent.append((time.perf_counter() - t0) * 1000)

    runs = []
    services.feed_page = timed_feed_page  # the views call services.feed_page: timed, for this loop only
    try:
        for _ in range(repeat):
            spent.clear()
            with _timed_statements(engine) as seen:
                t0 = time.perf_counter()
                resp = get_ok(client, url)
                total = (time.perf_counter() - t0) * 1000
            runs.append({"statements": [s for _t, s, _p in seen], "timed": seen,
                         "sql_ms": sum(t for t, _s, _p in seen), "feed_page_ms": sum(spent), "total_ms": total,
                         "items": _items(resp.get_data(as_text=True))})
    finally:
        services.feed_page = real
    return sorted(runs, key=lambda r: r["total_ms"])[len(runs) // 2]


def _measure(app, viewer: int, urls: dict[str, str], rounds: int, per_round: int) -> dict:
    client = logged_in_client(app, viewer)
    timings = time_pages(client, urls, rounds, per_round)
    return {label: (summarize(timings[label]), _one_request(app, client, url)) for label, url in urls.items()}


def _five_vs_fifty(app, viewer: int, group_id: int, cursor: str) -> dict[str, tuple[list[str], int, list[str], int]]:
    """Statements and items of ``feed_page`` with 5 and with 50 items, on each view, each in a fresh
    session (so nothing is served from the identity map)."""
    from intranet.core.models import User
    from intranet.extensions import db
    from intranet.feed.services import feed_page
    from intranet.groups.models import Group

    views = {"tout": {}, "page lointaine": {"cursor": cursor}, "organisation": {"filter_": "organisation"},
             "mentions": {"filter_": "mentions"}, "groupe": {"group": group_id},
             "groupes": {"filter_": "groupes"}, "fichiers": {"filter_": "fichiers"}}
    out = {}
    with app.app_context():
        for label, kwargs in views.items():
            got: list = []
            for limit in (5, 50):
                db.session.remove()
                user = db.session.get(User, viewer)
                args = dict(kwargs)
                if "group" in args:
                    args["group"] = db.session.get(Group, args["group"])
                with recorded_statements(db.engine) as seen:
                    page = feed_page(user, limit=limit, **args)
                got += [list(seen), len(page.items)]
            out[label] = tuple(got)
        db.session.remove()
    return out


def _normalized(statement: str) -> str:
    """One line, and an IN list of any length as one placeholder (5 or 50 ids are the same query)."""
    flat = " ".join(statement.split())
    one = r"(?:\?|%\(\w+\)s(?:::\w+)?)"
    return re.sub(rf"\({one}(?:, {one})*\)", "(…)", flat)


def _label(statement: str) -> str:
    """« posts (page) », « posts (pinned) » or the table a statement reads first."""
    flat = " ".join(statement.split())
    if flat.startswith("SELECT feed_posts."):
        return "posts (page)" if _is_feed_query(flat) else (
            "posts (pinned)" if "pinned_at IS NOT NULL" in flat else "posts")
    m = re.search(r"\bFROM (\w+)", flat)
    return m.group(1) if m else flat[:30]


def _tables_of(statements: list[str]) -> str:
    """« feed_attachments, groups_groups »: the first table each statement reads, to name a difference."""
    return ", ".join(_label(st) for st in statements)


def _difference(fewer: list[str], more: list[str]) -> str:
    """What the longer list of statements runs on top of the other (by table), both ways."""
    fewer, more = [_normalized(st) for st in fewer], [_normalized(st) for st in more]
    added, removed = [], []
    for st in dict.fromkeys(more + fewer):
        k = more.count(st) - fewer.count(st)
        (added if k > 0 else removed).extend([st] * abs(k))
    parts = []
    if added:
        parts.append(f"+{len(added)}: {_tables_of(added)}")
    if removed:
        parts.append(f"-{len(removed)}: {_tables_of(removed)}")
    return "; ".join(parts)


def _urls(viewer_group: int, cursor: str) -> dict[str, str]:
    return {
        "/feed/": "/feed/",
        "/feed/?apres= (loin)": f"/feed/?apres={cursor}",
        "?filtre=organisation": "/feed/?filtre=organisation",
        "?filtre=mentions": "/feed/?filtre=mentions",
        "onglet Fil d'un groupe": f"/feed/groupe/{viewer_group}",
    }


def _cursor_of(post_id: int) -> str:
    from intranet.extensions import db
    from intranet.feed.models import Post
    from intranet.feed.services import encode_cursor

    return encode_cursor(db.session.get(Post, post_id))


def run(ctx: Context) -> list[Result]:
    from intranet.extensions import db
    from intranet.feed.models import Post

    n = _scale(ctx)
    rng = random.Random(5)
    postgres = ctx.db == "postgres"
    db_name = "PostgreSQL" if postgres else "SQLite"
    per_round = n["per_round"]
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)

    with fresh_app(ctx) as app:
        with app.app_context():
            tiny = _seed_tiny(rng, now)
            viewer, group_id = tiny["viewer"], tiny["group"]
            tiny_posts = db.session.scalars(sa.select(Post.id).where(Post.activity_key.is_(None))
                                            .order_by(Post.created_at.desc())).all()
            tiny_cursor = _cursor_of(tiny_posts[0])
        base = _measure(app, viewer, _urls(group_id, tiny_cursor), ROUNDS, per_round)

        with app.app_context():
            t0 = time.perf_counter()
            big = _seed_big(n, rng, now, viewer, group_id)
            t_seed = time.perf_counter() - t0
            t0 = time.perf_counter()
            rows = _check_counters()
            t_check = time.perf_counter() - t0
            cursor = _cursor_of(big["deep_post"])
            deep_at = db.session.get(Post, big["deep_post"]).created_at
            db.session.remove()
        print(f"[{NAME}] {db_name}: built {rows['core_users']} people / {n['orgs']} orgs, {n['groups']} groups "
              f"({rows['groups_memberships']} memberships), {rows['feed_posts']} posts, {rows['feed_comments']} "
              f"comments, {rows['feed_likes']} likes, {rows['feed_attachments']} attachments, "
              f"{rows['feed_mentions']} mentions, {big['audiences']} audiences in {t_seed:.1f} s "
              f"(posts and what they bring: {big['seconds']:.1f} s); counters checked in {t_check:.1f} s"
              + ("" if postgres else " (no ANALYZE: as the app runs SQLite)"))
        urls = _urls(group_id, cursor)
        timed = _measure(app, viewer, urls, ROUNDS, per_round)
        five_fifty = _five_vs_fifty(app, viewer, group_id, cursor)

        print(f"[{NAME}] member #{viewer} (office, not animateur, in {VIEWER_GROUPS} groups) logged in; each page "
              f"{ROUNDS} rounds × {per_round} GETs after 10 warm-up; baseline {TINY[1]} people / 5 posts, then the "
              f"big network; p95 = best round (each round's p95 in ms after 'rounds'); deep page after "
              f"{deep_at:%Y-%m-%d}")
        results = []
        plans_wanted = []
        for label in urls:
            (b, b_req), (s, req) = base[label], timed[label]
            slow = sorted(req["timed"], key=lambda x: -x[0])[:3]
            for scale, summ, r in (("big", s, req), ("tiny", b, b_req)):
                print(f"[{NAME}] {label:<24} {scale:>4}: p50 {ms(summ.p50)}, p95 {ms(summ.p95)} "
                      f"(rounds {summ.rounds_text()}), max {ms(summ.max)}, CPU p95 {ms(summ.cpu_p95)}; "
                      f"{r['items']} items, {len(r['statements'])} SQL; median of 7 requests: {r['total_ms']:.1f} ms, "
                      f"of which feed_page {r['feed_page_ms']:.1f} ms, SQL {r['sql_ms']:.1f} ms")
            print(f"[{NAME}]     slowest statements (big): "
                  + "; ".join(f"{_label(st)} {t:.1f} ms" for t, st, _p in slow))
            ok = s.p95 <= TARGET_P95_MS
            results.append(Result(
                f"{NAME}: {label} p95",
                f"{ms(s.p95)} (p50 {ms(s.p50)}; SQL {req['sql_ms']:.1f} ms; 5 posts: {ms(b.p95)})",
                f"≤ {TARGET_P95_MS:.0f} ms", ok, timing=True))
            same = len(req["statements"]) == len(b_req["statements"])
            why = "" if same else f"; {_difference(b_req['statements'], req['statements'])}"
            results.append(Result(
                f"{NAME}: {label} SQL/request", f"{len(req['statements'])} (5 posts: {len(b_req['statements'])}{why})",
                "= 5 posts", same))
            if ctx.scale == "full" or not ok:
                plans_wanted.append(label)

        print(f"[{NAME}] feed_page(viewer, limit=5) vs limit=50, statements (items):")
        unequal: dict[str, list[str]] = {}
        for label, (s5, i5, s50, i50) in five_fifty.items():
            print(f"[{NAME}]     {label:<15} 5 → {len(s5)} SQL ({i5} items); 50 → {len(s50)} SQL ({i50} items)"
                  + ("" if len(s5) == len(s50) else f"  DIFFERENT, 50 items vs 5: {_difference(s5, s50)}"))
            if len(s5) != len(s50):
                unequal.setdefault(_difference(s5, s50), []).append(f"{label} {len(s5)}/{len(s50)}")
        results.append(Result(
            f"{NAME}: SQL for 5 and 50 items",
            f"equal on the {len(five_fifty)} views" if not unequal else
            "; ".join(f"{', '.join(views)} ({why})" for why, views in unequal.items()),
            "equal", not unequal))

        with app.app_context():
            engine = db.engine
            how = "EXPLAIN (ANALYZE, BUFFERS)" if postgres else "EXPLAIN QUERY PLAN"
            for label in plans_wanted:
                posts_sql = [(t, st, p) for t, st, p in timed[label][1]["timed"]
                             if _label(st) in ("posts (page)", "posts (pinned)")]
                for t, statement, params in posts_sql:
                    print(f"[{NAME}] {label}: {how} of the {_label(statement)} query ({t:.1f} ms in the request):")
                    if label == "/feed/":
                        print("    " + " ".join(statement.split()))
                    for line in _plan(engine, statement, params, postgres):
                        print(f"    {line}")
    return results
