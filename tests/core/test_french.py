"""The French a reader sees: plurals (singular for 0 and 1, « Aucun … » where it reads better),
counts with thousands separators, months in lower case inside dates, names sorted the French way
(accents and case ignored) on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import force_locale

from intranet.core.i18n import format_count, ngettext
from intranet.core.models import User
from intranet.core.textfold import french
from intranet.extensions import db
from tests.events.conftest import make_event, text
from tests.feed.conftest import post_as

NNBSP = "\u202f"  # the thousands separator of French (narrow no-break space)


def test_zero_and_one_take_the_singular_in_french_and_counts_get_separators(app):
    with app.test_request_context():
        assert ngettext("%(num)d membre", "%(num)d membres", 0) == "0 membre"
        assert ngettext("%(num)d membre", "%(num)d membres", 1) == "1 membre"
        assert ngettext("%(num)d membre", "%(num)d membres", 2) == "2 membres"
        assert ngettext("%(num)d membre", "%(num)d membres", 12749) == f"12{NNBSP}749 membres"
        assert format_count(1234567) == f"1{NNBSP}234{NNBSP}567"
        with force_locale("en"):
            assert ngettext("%(num)d membre", "%(num)d membres", 0) == "0 members"
            assert ngettext("%(num)d membre", "%(num)d membres", 12749) == "12,749 members"


def test_templates_use_the_french_rule_and_escape_their_variables(app):
    with app.test_request_context():
        html = app.jinja_env.from_string(
            "{{ ngettext('%(num)d invité de %(who)s', '%(num)d invités de %(who)s', n, who=who) }}")
        assert html.render(n=0, who="<b>Zoé</b>") == "0 invité de &lt;b&gt;Zoé&lt;/b&gt;"
        assert html.render(n=1500, who="Zoé") == f"1{NNBSP}500 invités de Zoé"


def test_an_event_without_participants_says_so(factories, as_):
    office = factories.organization("Office de tourisme de Salers")
    member = factories.user(organization=office, name="Marie Membre")
    animateur = factories.user(role="animateur", name="Anne Animatrice")
    event = make_event(animateur, "Atelier photo")
    c = as_(member)
    page = text(c.get(f"/events/{event.id}"))
    assert "Aucun participant pour l'instant" in page and "0 participe" not in page
    assert "peut-être" not in page.split("Aucun participant pour l'instant", 1)[1][:40]
    c.post(f"/events/{event.id}/participation", data={"status": "yes", "csrf_token": _token(c, event)})
    page = text(c.get(f"/events/{event.id}"))
    assert "1 participe" in page and "Aucun participant" not in page


def _token(c, event):
    import re
    html = c.get(f"/events/{event.id}").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_a_post_without_comments_or_likes_shows_no_zero(factories, as_):
    author = factories.user(name="Paul Auteur")
    c = as_(author)
    post_as(c, "Nouvelle brochure")
    page = text(c.get("/feed/"))
    card = page.split("Nouvelle brochure", 1)[1][:200]
    assert "Aucun commentaire" in card
    assert "0 commentaire" not in page and "0 j'aime" not in page


def test_dates_keep_their_months_in_lower_case(factories, as_):
    animateur = factories.user(role="animateur")
    make_event(animateur, "Salon des offices", start=datetime(2026, 12, 8, 10, 0), end=datetime(2026, 12, 8, 12, 0))
    html = as_(animateur).get("/events/?vue=mois&date=2026-12-08").get_data(as_text=True)
    assert "mardi 8 décembre" in html
    assert "text-capitalize" not in html  # it would show « Mardi 8 Décembre »
    assert "text-first-capital" in html


def test_names_sort_the_french_way_ignoring_accents_and_case(factories, as_):
    office = factories.organization("Office de tourisme d'Aurillac")
    for name in ["Zoé Martin", "émilie Roux", "Emma Petit", "Élodie Blanc", "eric Noir", "Adèle Vert", "Éric Bleu"]:
        factories.user(organization=office, name=name)
    ordered = db.session.scalars(sa.select(User.name).where(User.organization_id == office.id)
                                 .order_by(french(User.name), User.id)).all()
    assert ordered == ["Adèle Vert", "Élodie Blanc", "émilie Roux", "Emma Petit", "Éric Bleu", "eric Noir",
                       "Zoé Martin"]
    # The directory lists people in that order.
    page = text(as_(factories.user(organization=office, name="Yves Lecteur")).get(
        f"/accounts/annuaire?organisation={office.id}"))
    positions = [page.find(n) for n in ordered]
    assert -1 not in positions and positions == sorted(positions), positions


def test_fvt_import_row_counts_are_written_with_separators(app):
    from intranet.fvt_tab.importer import format_report
    from intranet.fvt_tab.models import Import
    with app.test_request_context():
        report = format_report(Import(id=7, filename="flux.xlsx", rows_read=12749, rows_loaded=12700, rows_rejected=49))
    assert f"Lignes lues : 12{NNBSP}749, chargées : 12{NNBSP}700, rejetées : 49" in report
