"""Demo posts: a network feed that looks lived-in on the first `make run`."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from intranet.core.audiences import network_audience
from intranet.core.models import User
from intranet.core.timeutil import utcnow
from intranet.extensions import db
from intranet.feed.mentions import render_with_mentions
from intranet.feed.models import Comment, Post

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
    db.session.add_all(posts)
    db.session.flush()
    for index, email, body in COMMENTS:
        post = posts[index]
        db.session.add(Comment(post_id=post.id, author_id=people[email].id, body=body,
                               body_html=render_with_mentions(body), created_at=post.created_at + timedelta(hours=1)))
        post.comment_count += 1
    db.session.flush()
    return f"{len(posts)} messages dans le fil"
