"""Posts and comments keep their HTML, rendered once when written, with the renderer's version:
an edit renders again, and so does a change of renderer (the page at once, the job for good)."""

from __future__ import annotations

import sqlalchemy as sa

from intranet.core.markup import RENDERER_VERSION
from intranet.extensions import db
from intranet.feed import services
from intranet.feed.models import Comment, Post
from tests.feed.conftest import last_post, post_as, text

LIST = "Au programme :\n- cadrage\n- atelier"
LIST_HTML = "<ul>\n<li>cadrage</li>\n<li>atelier</li>\n</ul>"


def _stale(model, row_id, html):
    """What an older renderer left: other HTML, an older version."""
    db.session.execute(sa.update(model).where(model.id == row_id).values(body_html=html, render_version=1))
    db.session.commit()
    db.session.expire_all()


def test_html_is_stored_with_the_renderer_version_and_an_edit_renders_again(factories, as_, app):
    author = factories.user(name="Anne Auteur")
    c = as_(author)
    post_as(c, "Première version")
    post = last_post()
    assert post.render_version == RENDERER_VERSION and post.body_html == "<p>Première version</p>"
    with app.test_request_context():
        services.update_post(author, post, LIST)
        db.session.commit()
    db.session.expire_all()
    post = db.session.get(Post, post.id)
    assert LIST_HTML in post.body_html and post.render_version == RENDERER_VERSION


def test_html_of_an_older_renderer_is_rendered_again_on_the_page_then_by_the_job(factories, as_, app):
    author = factories.user(name="Anne Auteur")
    c = as_(author)
    post_as(c, LIST)
    post = last_post()
    with app.test_request_context():
        comment = services.add_comment(author, post, "Merci :\n- pour tout")
        db.session.commit()
    _stale(Post, post.id, "<p>Au programme :<br>\n- cadrage<br>\n- atelier</p>")
    _stale(Comment, comment.id, "<p>ancien rendu</p>")
    # The page does not show the old HTML, even before the job has run.
    page = c.get("/feed/").get_data(as_text=True)
    assert LIST_HTML in page and "- cadrage" not in page and "ancien rendu" not in page
    assert "<li>pour tout</li>" in page
    with app.app_context():
        assert services.rerender_job() == "2 textes rendus à nouveau"
    db.session.expire_all()
    rows = [db.session.get(Post, post.id), db.session.get(Comment, comment.id)]
    assert [r.render_version for r in rows] == [RENDERER_VERSION, RENDERER_VERSION]
    assert LIST_HTML in rows[0].body_html and "<li>pour tout</li>" in rows[1].body_html
    with app.app_context():
        assert services.rerender_stale() == 0  # nothing left to do


def test_a_new_renderer_version_renders_every_stored_text_again(factories, as_, app, monkeypatch):
    author = factories.user()
    c = as_(author)
    for n in range(3):
        post_as(c, f"Message {n}")
    monkeypatch.setattr(services, "RENDERER_VERSION", RENDERER_VERSION + 1)
    with app.app_context():
        assert services.rerender_stale(batch=2) == 2  # bounded batches
        assert services.rerender_stale(batch=2) == 1
        db.session.commit()
    versions = set(db.session.scalars(sa.select(Post.render_version).where(Post.activity_key.is_(None))))
    assert versions == {RENDERER_VERSION + 1}
    assert "Message 2" in text(c.get("/feed/"))
