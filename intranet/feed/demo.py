"""Demo posts: a network feed that looks lived-in on the first `make run`."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from intranet.core.audiences import get_audience, network_audience
from intranet.core.models import User
from intranet.core.timeutil import utcnow
from intranet.extensions import db
from intranet.feed.mentions import render_with_mentions
from intranet.feed.models import Comment, Post
from intranet.groups.models import Group

POSTS = [
    ("animateur@demo.local", 50, "Bienvenue sur le **fil du réseau** ! Partagez ici vos nouveautés, vos questions et "
     "vos bons plans. Pour prévenir quelqu'un, tapez @ puis son nom.", True),
    ("salers@demo.local", 26, "La **fête de la Salers** aura lieu le premier week-end de septembre. Nous cherchons "
     "des bénévoles pour l'accueil :\n\n- samedi matin\n- dimanche après-midi\n\nQui est partant ?", False),
    ("aurillac@demo.local", 8, "Quelqu'un a-t-il déjà les nouvelles brochures randonnée 2027 ? @Julien Animateur "
     "sais-tu quand elles arrivent ?", False),
    ("lioran@demo.local", 2, "Ouverture de la station prévue le 19 décembre si l'enneigement le permet. Infos à jour "
     "sur https://www.lelioran.com", False),
]

# (group, author, hours ago, body): each demo group's Fil has a discussion going.
GROUP_POSTS = [
    ("Accueil et conseil en séjour", "mauriac@demo.local", 30,
     "Question du comptoir : de plus en plus de visiteurs demandent des **bornes de recharge**. Quelqu'un a "
     "une carte à jour du département ?"),
    ("Accueil et conseil en séjour", "animateur@demo.local", 5,
     "Rappel : la formation accueil de la clientèle étrangère commence mardi. Au programme :\n- phrases utiles "
     "en anglais et en allemand\n- jeux de rôle au comptoir\n- les attentes des clientèles belge et néerlandaise"),
    ("Communication et réseaux sociaux", "carlades@demo.local", 20,
     "Nous partageons notre calendrier éditorial de l'hiver : une publication par semaine sur les balades "
     "en raquettes. Qui veut croiser les publications ?"),
    ("Directeurs d'offices", "saintflour@demo.local", 12,
     "Ordre du jour proposé pour le comité de pilotage :\n1. bilan de la saison d'été\n2. convention Flux "
     "Vision 2027\n3. budget de la taxe de séjour"),
]

COMMENTS = [
    (1, "hautcantal@demo.local", "Je peux venir samedi matin avec une collègue."),
    (2, "animateur@demo.local", "Livraison prévue la semaine prochaine, je vous tiens au courant."),
]


def load_demo() -> str:
    people = {u.email: u for u in db.session.scalars(sa.select(User))}
    audience = network_audience()
    now = utcnow()
    posts = []
    for email, hours, body, pinned in POSTS:
        author = people[email]
        created = now - timedelta(hours=hours)
        posts.append(Post(author_id=author.id, audience_id=audience.id, audience=audience, body=body,
                          body_html=render_with_mentions(body), created_at=created,
                          pinned_at=created if pinned else None))
    groups = {g.name: g for g in db.session.scalars(sa.select(Group))}
    for group_name, email, hours, body in GROUP_POSTS:
        group = groups.get(group_name)
        if group is None:  # the groups plugin's demo did not run
            continue
        group_audience = get_audience([("group", group.id)])
        posts.append(Post(author_id=people[email].id, audience_id=group_audience.id, audience=group_audience,
                          group_id=group.id, body=body, body_html=render_with_mentions(body),
                          created_at=now - timedelta(hours=hours)))
    db.session.add_all(posts)
    db.session.flush()
    for index, email, body in COMMENTS:
        post = posts[index]
        db.session.add(Comment(post_id=post.id, author_id=people[email].id, body=body,
                               body_html=render_with_mentions(body), created_at=post.created_at + timedelta(hours=1)))
        post.comment_count += 1
    db.session.flush()
    return f"{len(posts)} messages dans le fil"
