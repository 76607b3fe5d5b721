"""No page of the navigation is wider than a 360 px phone, for each role; the menu holds on one
line on the commonest laptop width (1366 px) for animateurs and admins."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from intranet.core.timeutil import PARIS
from tests.browser.conftest import log_in
from tests.events.conftest import make_event

NARROW = {"width": 360, "height": 740}
LAPTOP = {"width": 1366, "height": 768}
# Pages reached from the pages of the menu that a phone user opens all the time.
EXTRA = ["/events/?vue=semaine", "/events/?vue=liste", "/notifications/preferences", "/accounts/profil"]


@pytest.fixture
def people(make_user, make_org, factories):
    office = make_org("Office de tourisme Vallée de la Truyère – Saint-Flour Communauté")
    member = make_user(name="Marie-Amélie Fontanges-Delmas", organization=office)
    animateur = make_user(role="animateur", name="Julien Animateur")
    admin = make_user(role="admin", name="Camille Administratrice")
    factories.group(name="Accueil et conseil en séjour", owner=animateur, members=[member])
    start = datetime.now(PARIS).replace(tzinfo=None, hour=9, minute=0) + timedelta(days=2)
    make_event(animateur, "Formation : accueillir la clientèle étrangère et les groupes scolaires", start=start,
               end=start + timedelta(hours=3))
    return {"membre": member, "animateur": animateur, "admin": admin}


def _menu_paths(page) -> list[str]:
    hrefs = page.eval_on_selector_all(
        "nav.navbar a.nav-link[href^='/'], nav.navbar a.dropdown-item[href^='/']",
        "links => links.map(a => a.getAttribute('href'))")
    return list(dict.fromkeys(h for h in hrefs if h))


@pytest.mark.parametrize("role", ["membre", "animateur", "admin"])
def test_no_page_of_the_menu_scrolls_sideways_at_360_px(live_server, page, people, role):
    page.set_viewport_size(NARROW)
    log_in(page, live_server.url, people[role].email)
    paths = _menu_paths(page) + EXTRA
    assert len(paths) >= 8, paths
    too_wide = {}
    for path in paths:
        page.goto(live_server.url + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > NARROW["width"]:
            culprits = page.evaluate("""() => [...document.querySelectorAll('main *')]
                .filter(e => e.getBoundingClientRect().right > 361).slice(0, 3)
                .map(e => e.tagName + '.' + e.className)""")
            too_wide[path] = (width, culprits)
    assert not too_wide, too_wide


@pytest.mark.parametrize("role", ["animateur", "admin"])
def test_the_menu_holds_on_one_line_at_1366_px(live_server, page, people, role):
    page.set_viewport_size(LAPTOP)
    log_in(page, live_server.url, people[role].email)
    tops = page.eval_on_selector_all("#nav-main > ul > li", "items => items.map(li => li.getBoundingClientRect().top)")
    assert len(tops) >= 7 and max(tops) - min(tops) < 4, tops
    assert page.locator("nav.navbar").bounding_box()["height"] < 80
