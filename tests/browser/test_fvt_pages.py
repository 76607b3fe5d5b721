"""Browser test of the Flux Vision pages while the demo's deliveries arrive, the worker paused (its
job queued, not run): a new office member, logged in through the form, opens « Flux Vision » from
the navigation and lands on their own territory; the list of territories has it first, by its name,
marked « données fictives » and
« Import en cours : 4 livraisons sur 12 »; its page says so above the figures, with the progress
bar of the import pages, and which period the figures cover. When one more delivery lands, the page
follows by itself (it polls, as the import report does), after a filter change too, and shows 5 of
12."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from intranet.core.demo import DEMO_PASSWORD, load_demo
from intranet.extensions import db
from intranet.fvt_tab.demo import queue_demo
from intranet.fvt_tab.jobs import import_demo_delivery
from intranet.fvt_tab.models import Import
from tests.browser.conftest import DESKTOP, PHONE, log_in, url_re

pytestmark = pytest.mark.browser


def test_a_member_reads_their_zone_while_the_demo_import_is_paused(app, live_server, page, shot):
    load_demo()
    job = queue_demo(years=(2024, 2025), zones=("SALERS0", "AURILLAC0"))
    db.session.commit()
    salers = db.session.scalars(sa.select(Import.id).where(Import.filename.like("Pays de Salers %"))
                                .order_by(Import.id)).all()
    assert len(salers) == 12
    for import_id in salers[:4]:  # four deliveries in (2024 B1–B4), then the worker pauses
        import_demo_delivery(import_id)

    page.set_viewport_size(DESKTOP)
    log_in(page, live_server.url, "salers@demo.local", DEMO_PASSWORD)
    page.get_by_role("link", name="Flux Vision").first.click()
    page.wait_for_url(url_re("/fvt_tab/zones/SALERS0"))  # « Flux Vision » opens on their own territory
    page.get_by_role("link", name="Tous les territoires").click()
    page.wait_for_url(url_re("/fvt_tab/territoires"))
    items = page.locator("[data-fvt-zones] li")
    first = items.first
    expect(first.get_by_role("link")).to_have_text("Pays de Salers")  # the name, and first: their own
    expect(first).to_contain_text("votre territoire")
    expect(first).to_contain_text("données fictives")
    expect(first).to_contain_text("Import en cours : 4 livraisons sur 12")
    expect(first).to_contain_text("consultation et export")
    expect(page.locator("[data-fvt-zones]")).not_to_contain_text("SALERS0")
    expect(page.locator("[data-fvt-fictitious]")).to_be_visible()

    first.get_by_role("link").click()
    page.wait_for_url(url_re("/fvt_tab/zones/SALERS0"))
    status = page.locator("[data-fvt-arriving] [data-import-status]")
    expect(status).to_contain_text("Import en cours : 4 livraisons sur 12 (33 %)")
    expect(status).to_contain_text("Les chiffres ci-dessous sont partiels")
    expect(page.locator("[data-fvt-arriving] [role=progressbar]")).to_have_attribute("aria-valuenow", "33")
    expect(page.locator("[data-fvt-period]")).to_have_text(
        re.compile(r"Année 2024 incomplète : les chiffres couvrent la période du 1er janvier au 31 août 2024\."))
    expect(page.get_by_text("Consultation seule")).to_have_count(0)
    expect(page.locator("[data-fvt-fictitious]")).to_be_visible()
    expect(page.get_by_role("link", name="Exporter (CSV)")).to_be_visible()
    expect(page.locator("#fvt-tab")).to_have_attribute("data-fvt-state", "ready")
    expect(page.locator('[data-chart="courbe"] canvas')).to_have_count(1)  # the partial figures are drawn
    shot(page, "fvt-zone-import-en-cours-1280")
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "fvt-zone-import-en-cours-390")
    page.set_viewport_size(DESKTOP)

    # A filter change swaps the tab in (no reload); one more delivery lands (the worker runs it):
    # the open page still follows without a click.
    page.evaluate("document.getElementById('fvt-tab').dataset.fvtState = 'changing'")
    page.locator("#f-provenance-etrangers").check()
    expect(page.locator("#fvt-tab")).to_have_attribute("data-fvt-state", "ready")
    status = page.locator("[data-fvt-arriving] [data-import-status]")
    expect(status).to_contain_text("Import en cours : 4 livraisons sur 12 (33 %)")
    import_demo_delivery(salers[4])
    expect(status).to_contain_text("Import en cours : 5 livraisons sur 12", timeout=15_000)
    expect(page.locator("[data-fvt-period]")).to_contain_text("du 1er janvier au 31 octobre 2024")
    assert db.session.get(type(job), job.id).status == "pending"  # the worker never ran
    assert page.console_errors == []
