"""Reading the feed: newest first, pinned posts on top and not repeated, the five filters, cursor
pagination (« Voir plus » fetches the next page without the layout), the « Nouveau » badge and the
« Déjà vu lors de votre dernière visite » marker, the dashboard widget, a group's « Fil » tab, and
the same number of SQL statements for 5 and for 50 posts."""

from __future__ import annotations

import base64
import html
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import current_app

from intranet.core.audiences import get_audience, network_audience
from intranet.core.models import User
from intranet.core.timeutil import utcnow
from intranet.extensions import db
from intranet.feed import services
from intranet.feed.models import Attachment, Post
from intranet.groups.models import Group, Membership
from tests.feed.conftest import action, pdf_bytes, png_bytes, post_as, text

PUBLICATION_RE = re.compile(r'<article[^>]*\bid="publication-(\d+)"')


# -- helpers ------------------------------------------------------------------------------------

def publish(author, body: str, *, ago: timedelta | None = None, when=None, group=None, audience=None) -> Post:
    """A post written through the service (as the composer does), dated ``ago`` before now."""
    with current_app.test_request_context():
        post = services.create_post(author, body, audience or network_audience(), group)
        if when is not None or ago is not None:
            post.created_at = when if when is not None else utcnow() - ago
        db.session.commit()
    return post


def comment(author, post, body: str, parent=None):
    """A comment written through the service, in a request as the page does."""
    with current_app.test_request_context():
        c = services.add_comment(author, post, body, parent)
        db.session.commit()
    return c


def shown(resp) -> list[int]:
    """The ids of the posts on a page (or a fragment), in the order a reader sees them."""
    return [int(i) for i in PUBLICATION_RE.findall(resp.get_data(as_text=True))]


def written(resp) -> list[int]:
    """``shown`` without the activity items of other plugins (« Nouveau groupe »…)."""
    ids = shown(resp)
    activity = set(db.session.scalars(sa.select(Post.id).where(Post.id.in_(ids), Post.activity_key.is_not(None))))
    return [i for i in ids if i not in activity]


def card(resp, post) -> str:
    """The HTML of one post's card on the page."""
    body = resp.get_data(as_text=True)
    start = body.index(f'id="publication-{post.id}"')
    start = body.rindex("<article", 0, start)
    return body[start:body.index("</article>", start)]


def more_link(resp) -> str | None:
    match = re.search(r'<a[^>]*href="([^"]+)"[^>]*data-feed-more', resp.get_data(as_text=True))
    return html.unescape(match.group(1)) if match else None


def as_fragment(url: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}fragment=1"


@pytest.fixture
def reader(make_user, make_org):
    return make_user(name="Lucie Lecteur", organization=make_org(name="Office de tourisme de Vannes"))


# -- order and pins -------------------------------------------------------------------------------

def test_newest_first(reader, make_user, as_):
    author = make_user()
    old = publish(author, "Le plus ancien", ago=timedelta(days=2))
    new = publish(author, "Le plus récent", ago=timedelta(minutes=5))
    middle = publish(author, "Celui du milieu", ago=timedelta(hours=3))
    resp = as_(reader).get("/feed/")
    assert resp.status_code == 200
    assert shown(resp) == [new.id, middle.id, old.id]


def test_network_pins_on_top_of_the_feed_once_and_not_again_on_the_next_page(reader, make_user, as_):
    author, animateur = make_user(), make_user(role="animateur")
    pinned = publish(author, "Règlement du fil : à lire", ago=timedelta(days=30))
    others = [publish(author, f"Message numéro {i}", ago=timedelta(minutes=100 - i)) for i in range(24)]
    c = as_(animateur)
    resp = action(c, f"/feed/{pinned.id}/epingler", pinned="1")
    assert resp.status_code == 302
    assert "Publication épinglée en haut du fil." in text(c.get(resp.location))

    first = as_(reader).get("/feed/")
    ids = shown(first)
    assert ids[0] == pinned.id and ids.count(pinned.id) == 1
    assert len(ids) == 21  # the pin, then a full page of 20
    assert ids[1:] == [p.id for p in reversed(others)][:20]
    assert "Épinglé" in text_of(card(first, pinned))
    # The next page holds the 4 oldest others, and not the pinned post again.
    second = as_(reader).get(as_fragment(more_link(first)))
    assert shown(second) == [p.id for p in reversed(others)][20:]

    # Unpinned: it goes back to its place, at the very end.
    action(c, f"/feed/{pinned.id}/epingler", pinned="0")
    ids = shown(as_(reader).get("/feed/"))
    assert pinned.id not in ids[:20]


def text_of(fragment: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", fragment))).strip()


def test_group_pins_are_on_top_of_the_group_tab_not_of_the_network_feed(reader, make_user, factories, as_):
    owner = make_user()
    group = factories.group(name="Balades nature", owner=owner, members=[reader])
    group_rule = publish(owner, "Charte du groupe Balades nature", group=group, ago=timedelta(days=10))
    group_news = publish(owner, "Sortie dimanche au marais", group=group, ago=timedelta(hours=1))
    network = publish(make_user(), "Nouvelles du réseau", ago=timedelta(minutes=10))
    resp = action(as_(owner), f"/feed/{group_rule.id}/epingler", pinned="1")  # the group's owner may pin it
    assert resp.status_code == 302

    tab = as_(reader).get(f"/feed/groupe/{group.id}")
    assert tab.status_code == 200
    assert shown(tab) == [group_rule.id, group_news.id]
    # In the network's feed a group pin does not jump to the top: it keeps its place.
    assert written(as_(reader).get("/feed/")) == [network.id, group_news.id, group_rule.id]


def test_a_member_cannot_pin(reader, make_user, as_):
    post = publish(make_user(), "Bonjour à tous")
    assert action(as_(reader), f"/feed/{post.id}/epingler", pinned="1").status_code == 403
    db.session.expire_all()
    assert db.session.get(Post, post.id).pinned_at is None


# -- filters ------------------------------------------------------------------------------------

@pytest.fixture
def variety(reader, make_user, make_org, factories, as_):
    """One post of each kind, seen by ``reader`` under « Tout »."""
    colleague = make_user(name="Paul Collègue", organization=reader.organization)
    stranger = make_user(name="Sacha Ailleurs", organization=make_org(name="Office de tourisme de Brest"))
    mine = factories.group(name="Balades nature", owner=stranger, members=[reader])
    other = factories.group(name="Randonnées", owner=stranger)  # public: its posts are readable
    posts = {
        "colleague": publish(colleague, "Réunion de l'équipe de Vannes", ago=timedelta(hours=9)),
        "own": publish(reader, "Ma propre annonce", ago=timedelta(hours=8)),
        "stranger": publish(stranger, "Nouvelles de Brest", ago=timedelta(hours=7)),
        "my_group": publish(stranger, "Sortie au marais du groupe", group=mine, ago=timedelta(hours=6)),
        "other_group": publish(stranger, "Randonnée du mardi", group=other, ago=timedelta(hours=5)),
        "mention": publish(stranger, "Merci @Lucie Lecteur pour ton aide", ago=timedelta(hours=4)),
        "comment_mention": publish(stranger, "Qui vient au salon ?", ago=timedelta(hours=3)),
    }
    comment(stranger, posts["comment_mention"], "Je crois que @Lucie Lecteur y sera")
    resp = post_as(as_(stranger), "Le compte rendu en pièce jointe", files=[(pdf_bytes(), "compte-rendu.pdf")])
    assert resp.status_code == 302
    posts["pdf"] = db.session.scalar(sa.select(Post).where(Post.body == "Le compte rendu en pièce jointe"))
    resp = post_as(as_(colleague), "", images=[(png_bytes(), "marais.png")])
    assert resp.status_code == 302
    posts["image"] = db.session.scalar(sa.select(Post).order_by(Post.id.desc()))
    assert posts["image"].has_attachments and posts["image"].attachments[0].is_image
    return posts


@pytest.mark.parametrize(("filtre", "expected"), [
    ("tout", {"colleague", "own", "stranger", "my_group", "other_group", "mention", "comment_mention", "pdf",
              "image"}),
    ("organisation", {"colleague", "own", "image"}),
    ("groupes", {"my_group"}),
    ("mentions", {"mention", "comment_mention"}),
    ("fichiers", {"pdf", "image"}),
])
def test_each_filter_shows_its_posts_and_not_the_others(reader, variety, as_, filtre, expected):
    resp = as_(reader).get(f"/feed/?filtre={filtre}")
    assert resp.status_code == 200
    wanted = {variety[k].id for k in expected}
    ids = written(resp)
    assert set(ids) == wanted, {k for k, p in variety.items() if p.id in set(ids) ^ wanted}
    assert len(ids) == len(wanted)
    assert ids == sorted(ids, key=lambda i: db.session.get(Post, i).created_at, reverse=True)
    # The chosen filter is the current one.
    labels = {"tout": "Tout", "organisation": "Mon organisation", "groupes": "Mes groupes", "mentions": "Mentions",
              "fichiers": "Avec pièces jointes"}
    current = re.search(r'aria-current="page" href="[^"]*">([^<]+)</a>', resp.get_data(as_text=True))
    assert current and current.group(1) == labels[filtre]


def test_an_unknown_filter_is_tout(reader, variety, as_):
    assert len(written(as_(reader).get("/feed/?filtre=nimportequoi"))) == len(variety)


def test_the_filters_never_show_what_i_may_not_see(reader, make_user, factories, as_):
    owner = make_user(organization=reader.organization)
    private = factories.group(name="Comité secret", visibility="private", owner=owner)
    hidden = publish(owner, "Ordre du jour du comité, voir le PDF", group=private)
    resp = post_as(as_(owner), "Budget réservé au comité", files=[(pdf_bytes(), "budget.pdf")],
                   audience=f"group:{private.id}")
    assert resp.status_code == 302
    for filtre in ("tout", "organisation", "groupes", "fichiers", "mentions"):
        ids = written(as_(reader).get(f"/feed/?filtre={filtre}"))
        assert hidden.id not in ids and ids == [], filtre


# -- pagination --------------------------------------------------------------------------------

def page_through(c, first_url: str) -> list[list[int]]:
    """Every page: the first one, then each « Voir plus » link fetched as the page's script does."""
    resp = c.get(first_url)
    assert resp.status_code == 200
    pages = [shown(resp)]
    url = more_link(resp)
    while url:
        resp = c.get(as_fragment(url))
        assert resp.status_code == 200
        body = resp.get_data(as_text=True)
        assert "<html" not in body and "<nav" not in body and "Partager avec le réseau" not in body
        pages.append(shown(resp))
        url = more_link(resp)
        assert len(pages) < 10
    return pages


def test_voir_plus_walks_45_posts_in_pages_of_20_20_and_5(reader, make_user, as_):
    author = make_user()
    posts = [publish(author, f"Publication {i}", ago=timedelta(minutes=1000 - i)) for i in range(45)]
    c = as_(reader)
    first = c.get("/feed/")
    assert "Voir plus" in text(first)
    assert "<html" in first.get_data(as_text=True)
    pages = page_through(c, "/feed/")
    assert [len(p) for p in pages] == [20, 20, 5]
    assert sum(pages, []) == [p.id for p in reversed(posts)]  # newest first, each once, none missing
    last = c.get(as_fragment(more_link(c.get(as_fragment(more_link(first))))))
    assert "Voir plus" not in text(last)


def test_posts_sharing_the_same_time_are_neither_repeated_nor_lost(reader, make_user, as_):
    author = make_user()
    base = utcnow().replace(microsecond=0) - timedelta(days=1)
    # Seven posts per second: the page boundaries (20, 40) fall inside a run of equal times.
    posts = [publish(author, f"Publication {i}", when=base + timedelta(seconds=i // 7)) for i in range(45)]
    pages = page_through(as_(reader), "/feed/")
    assert [len(p) for p in pages] == [20, 20, 5]
    everything = sum(pages, [])
    assert len(set(everything)) == 45 and set(everything) == {p.id for p in posts}
    expected = sorted(posts, key=lambda p: (p.created_at, p.id), reverse=True)
    assert everything == [p.id for p in expected]


def test_filters_and_group_tabs_paginate_too(reader, make_user, factories, as_):
    author = make_user()
    group = factories.group(owner=author, members=[reader])
    in_group = [publish(author, f"Dans le groupe {i}", group=group, ago=timedelta(minutes=300 - i)) for i in range(23)]
    for i in range(5):
        publish(author, f"Hors du groupe {i}", ago=timedelta(minutes=100 - i))
    c = as_(reader)
    pages = page_through(c, "/feed/?filtre=groupes")
    assert sum(pages, []) == [p.id for p in reversed(in_group)] and [len(p) for p in pages] == [20, 3]
    assert "filtre=groupes" in more_link(c.get("/feed/?filtre=groupes"))
    pages = page_through(c, f"/feed/groupe/{group.id}")
    assert sum(pages, []) == [p.id for p in reversed(in_group)] and [len(p) for p in pages] == [20, 3]


def _b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize("cursor", [
    "nimportequoi",
    "%%%",
    "x" * 500,
    _b64("pas une date|12"),
    _b64("2024-05-01T10:00:00+00:00|douze"),
    _b64("2024-05-01T10:00:00|12"),  # no time zone
    _b64("2024-05-01T10:00:00+00:00|99999999999999999999999"),  # beyond any database integer
    _b64("9999-12-31T23:59:59+00:00|-1"),
    _b64("0001-01-01T00:00:00+05:00|3"),  # before the year 1 in UTC
])
def test_a_bad_cursor_gives_the_first_page(reader, make_user, as_, cursor):
    author = make_user()
    posts = [publish(author, f"Publication {i}", ago=timedelta(minutes=50 - i)) for i in range(25)]
    c = as_(reader)
    expected = [p.id for p in reversed(posts)][:20]
    for url in (f"/feed/?apres={cursor}", f"/feed/?apres={cursor}&fragment=1"):
        resp = c.get(url)
        assert resp.status_code == 200, url
        assert shown(resp) == expected, url


# -- new since the last visit ---------------------------------------------------------------------

def test_nouveau_badge_and_last_visit_marker(reader, make_user, as_):
    author = make_user()
    seen = publish(author, "Déjà lu hier", ago=timedelta(hours=26))
    seen_too = publish(author, "Lu avant-hier", ago=timedelta(hours=50))
    fresh = publish(author, "Tout frais", ago=timedelta(minutes=30))
    fresher = publish(author, "Encore plus frais", ago=timedelta(minutes=5))
    own = publish(reader, "Mon message de ce matin", ago=timedelta(minutes=20))
    # The reader's last visit ended two hours ago: the next request starts a new visit.
    reader.last_seen_at = utcnow() - timedelta(hours=2)
    db.session.commit()
    c = as_(reader)
    resp = c.get("/feed/")
    db.session.expire_all()
    assert abs(reader.previous_visit_at - (utcnow() - timedelta(hours=2))) < timedelta(minutes=1)

    assert shown(resp) == [fresher.id, own.id, fresh.id, seen.id, seen_too.id]
    assert "Nouveau" in text_of(card(resp, fresher)) and "Nouveau" in text_of(card(resp, fresh))
    assert "Nouveau" not in text_of(card(resp, own))  # what I wrote is not news to me
    assert "Nouveau" not in text_of(card(resp, seen)) and "Nouveau" not in text_of(card(resp, seen_too))
    # One marker, between the last new post and the first one already seen.
    body = resp.get_data(as_text=True)
    assert body.count("Déjà vu lors de votre dernière visite") == 1
    marker = body.index("Déjà vu lors de votre dernière visite")
    assert body.index(f'id="publication-{fresh.id}"') < marker < body.index(f'id="publication-{seen.id}"')


def test_no_marker_when_everything_is_new_or_nothing_is(reader, make_user, as_):
    author = make_user()
    publish(author, "Ancien", ago=timedelta(days=3))
    # A first visit ever: nothing is marked.
    resp = as_(reader).get("/feed/")
    assert "Déjà vu lors de votre dernière visite" not in text(resp) and "Nouveau" not in text(resp)
    # Everything already seen: no marker above the first post either.
    reader.last_seen_at = reader.previous_visit_at = utcnow() - timedelta(hours=1)
    db.session.commit()
    resp = as_(reader).get("/feed/")
    assert "Déjà vu lors de votre dernière visite" not in text(resp) and "Nouveau" not in text(resp)


def test_widget_lists_the_latest_visible_posts_with_the_new_badge(reader, make_user, factories, as_):
    author = make_user(name="Bruno Auteur")
    private = factories.group(name="Comité", visibility="private", owner=author)
    for i in range(3):
        publish(author, f"Ancienne nouvelle {i}", ago=timedelta(days=5, minutes=10 - i))
    recent = [publish(author, f"Nouvelle récente {i}", ago=timedelta(hours=h)) for i, h in enumerate((11, 9, 3, 1))]
    publish(author, "Réservé au comité", group=private, ago=timedelta(minutes=1))
    reader.last_seen_at = utcnow() - timedelta(hours=8)
    db.session.commit()
    new_group = db.session.scalar(sa.select(Post).where(Post.activity_key == "groups.created"))

    resp = as_(reader).get("/")
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    start = body.index("Derniers messages du fil")
    widget = body[start:body.index("</section>", start)]
    links = re.findall(r'<a href="/feed/(\d+)">([^<]+)</a>', widget)
    # The five latest items the reader may see, newest first: the « new group » item (the
    # existence of a private group is public), then the four recent posts; not the group's post.
    assert [int(i) for i, _ in links] == [new_group.id, *(p.id for p in reversed(recent))]
    assert [html.unescape(t) for _, t in links] == ["Nouveau groupe : Comité",
                                                    *(f"Nouvelle récente {i}" for i in (3, 2, 1, 0))]
    assert "Réservé au comité" not in widget and "Ancienne nouvelle" not in widget
    assert "Bruno Auteur" in widget and 'href="/feed/"' in widget
    # New since the last visit (8 hours ago): the three newest.
    items = re.findall(r"<li.*?</li>", widget, flags=re.S)
    assert ["Nouveau" in text_of(li) for li in items] == [True, True, True, False, False]
    # A member of the group sees its post there.
    member_widget = as_(author).get("/").get_data(as_text=True)
    assert "Réservé au comité" in member_widget


def test_widget_is_empty_in_french(reader, as_):
    body = as_(reader).get("/").get_data(as_text=True)
    start = body.index("Derniers messages du fil")
    assert "Aucune publication pour l'instant." in text_of(body[start:body.index("</section>", start)])


# -- the group's « Fil » tab ---------------------------------------------------------------------

def test_group_tab_shows_only_that_groups_posts(reader, make_user, factories, as_):
    owner = make_user()
    nature = factories.group(name="Balades nature", owner=owner, members=[reader])
    velo = factories.group(name="Accueil vélo", owner=owner, members=[reader])
    a = publish(owner, "Sortie au marais", group=nature, ago=timedelta(hours=3))
    b = publish(reader, "Je viendrai avec des jumelles", group=nature, ago=timedelta(hours=1))
    publish(owner, "Nouvelle piste cyclable", group=velo)
    publish(owner, "Message à tout le réseau")
    resp = as_(reader).get(f"/feed/groupe/{nature.id}")
    assert resp.status_code == 200
    assert shown(resp) == [b.id, a.id]
    page = text(resp)
    assert "Balades nature" in page and "Publier dans le groupe" in page
    assert "Nouvelle piste cyclable" not in page and "Message à tout le réseau" not in page


def test_group_tab_of_a_private_group_is_for_members(reader, make_user, factories, as_):
    owner = make_user()
    private = factories.group(name="Comité", visibility="private", owner=owner)
    publish(owner, "Ordre du jour", group=private)
    assert as_(reader).get(f"/feed/groupe/{private.id}").status_code == 403
    secret = factories.group(name="Cercle", visibility="secret", owner=owner)
    assert as_(reader).get(f"/feed/groupe/{secret.id}").status_code == 404
    assert "Ordre du jour" in text(as_(owner).get(f"/feed/groupe/{private.id}"))


# -- bounded SQL --------------------------------------------------------------------------------

def _rich_posts(n: int, start: int, people: list, groups: list, readers_group) -> None:
    """``n`` posts with what a busy feed shows: comments and replies by several people, likes,
    two images and a file, authors of different organizations, some posts in groups."""
    with current_app.test_request_context():
        _write_rich_posts(n, start, people, groups, readers_group)


def _write_rich_posts(n, start, people, groups, readers_group) -> None:
    for i in range(start, start + n):
        author = people[i % len(people)]
        group = groups[i % len(groups)] if i % 3 == 0 else None
        if group is not None and author.id not in _member_ids(group):
            author = group_owner(group)
        post = services.create_post(author, f"Publication **{i}** avec @{people[(i + 1) % len(people)].name}",
                                    network_audience() if i % 5 else get_audience([("org", author.organization_id),
                                                                                  ("group", readers_group.id)]),
                                    group)
        post.attachments = [
            Attachment(is_image=True, key=f"img-{i}-a", thumb_key=f"th-{i}-a", name="photo.jpg",
                       content_type="image/jpeg", size=1000, position=0),
            Attachment(is_image=True, key=f"img-{i}-b", thumb_key=f"th-{i}-b", name="photo2.jpg",
                       content_type="image/jpeg", size=1000, position=1),
            Attachment(is_image=False, key=f"doc-{i}", name="compte-rendu.pdf", content_type="application/pdf",
                       size=20_000, position=2),
        ]
        post.has_attachments = True
        db.session.flush()
        top = [services.add_comment(people[(i + k) % len(people)], post, f"Commentaire {k} sur {i}")
               for k in range(4)]
        services.add_comment(people[(i + 2) % len(people)], post, "Une réponse", top[0])
        services.add_comment(people[(i + 3) % len(people)], post, "Une réponse à la réponse", top[-1])
        for k in range(3):
            services.toggle_like(people[(i + k) % len(people)], post)
        post.created_at = utcnow() - timedelta(minutes=1000 - i)
        db.session.commit()


def _member_ids(group):
    return db.session.scalars(sa.select(Membership.user_id).where(Membership.group_id == group.id)).all()


def group_owner(group):
    return db.session.scalar(sa.select(User).join(Membership, Membership.user_id == User.id).where(
        Membership.group_id == group.id, Membership.role == "owner"))


def test_the_feed_page_runs_the_same_number_of_sql_statements_for_5_and_50_posts(
        reader, make_user, make_org, factories, as_, count_queries):
    people = [make_user(name=f"Auteur {i}", organization=make_org(name=f"Office {i}")) for i in range(6)]
    people.append(make_user(name="Collègue du lecteur", organization=reader.organization))
    groups = [factories.group(name="Balades", owner=people[0], members=[reader, *people[1:3]]),
              factories.group(name="Comité", visibility="private", owner=people[3], members=[reader, people[4]]),
              factories.group(name="Randonnées", owner=people[5])]
    c = as_(reader)
    people_ids, group_ids = [p.id for p in people], [g.id for g in groups]

    def statements() -> tuple[int, list[int]]:
        assert c.get("/feed/").status_code == 200  # a first visit: the session's bookkeeping
        db.session.expunge_all()  # nothing cached from the setup
        with count_queries() as n:
            resp = c.get("/feed/")
        assert resp.status_code == 200
        return n(), written(resp)

    _rich_posts(5, 0, people, groups, groups[1])
    few, ids = statements()
    assert len(ids) == 5
    people = [db.session.get(User, i) for i in people_ids]
    groups = [db.session.get(Group, i) for i in group_ids]
    _rich_posts(45, 5, people, groups, groups[1])
    many, ids = statements()
    assert len(ids) == 17  # and the 3 « Nouveau groupe » items: a full page of 20
    print(f"SQL statements for GET /feed/: {few} with 5 posts, {many} with 50 posts")
    assert few == many


def test_a_pinned_post_adds_no_statement_to_the_page(reader, make_user, factories, as_, count_queries):
    """The pinned posts' authors, files and audiences are read with the page's (one query each for
    every item): a group's « Fil » with a pin runs the statements it runs without one."""
    owner = make_user(name="Animatrice du groupe")
    group = factories.group(name="Balades nature", owner=owner, members=[reader])
    posts = [publish(owner, f"Sortie numéro {i}", group=group, ago=timedelta(hours=i + 1)) for i in range(4)]
    with current_app.test_request_context():
        post = db.session.get(Post, posts[-1].id)
        post.attachments = [Attachment(is_image=True, key="img-pin", thumb_key="th-pin", name="carte.jpg",
                                       content_type="image/jpeg", size=1000, position=0)]
        post.has_attachments = True
        db.session.commit()
    comment(make_user(name="Promeneur"), posts[-1], "J'y serai")
    c, moderator = as_(reader), as_(owner)  # both logged in before the session is emptied below
    url = f"/feed/groupe/{group.id}"

    def statements() -> tuple[int, str]:
        assert c.get(url).status_code == 200  # a first visit: the session's bookkeeping
        db.session.expunge_all()
        with count_queries() as n:
            resp = c.get(url)
        assert resp.status_code == 200
        return n(), text(resp)

    unpinned, _page = statements()
    assert action(moderator, f"/feed/{posts[-1].id}/epingler", pinned="1").status_code == 302
    pinned, page = statements()
    assert shown(c.get(url))[0] == posts[-1].id
    # What the pinned item shows came with the page: its author, its file, its comment's author.
    assert "Épinglé" in page and "Animatrice du groupe" in page and "Promeneur" in page
    assert 'alt="carte.jpg"' in c.get(url).get_data(as_text=True)
    assert pinned == unpinned
