"""Browser journey of the FVT tab on the demo's deliveries (2024 and 2025 of the Pays de Salers, 2025
of the Pays d'Aurillac): the Salers office member opens « Flux Vision », picks 2025 and their
territory and reads the KPIs `flask fvt summary` prints; « étrangers » turns the map to the world;
« excursionnistes » greys out « nuit » with its reason; the spring holidays compare with those of
2024; the CSV and the PDF of the selection download (the PDF rendered to images, the KPI and the
source found drawn on them); the same at 390 px with the filters in a drawer; the Aurillac member
reads Salers in consultation, without export buttons, and the export URLs answer 403; the
animateur's overview draws the territories' map.
"""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from intranet.core.demo import DEMO_PASSWORD, load_demo
from intranet.extensions import db
from intranet.fvt_tab.demo import queue_demo
from intranet.fvt_tab.jobs import import_demo_delivery
from intranet.fvt_tab.models import Import
from tests.browser.conftest import DESKTOP, PHONE, SHOTS, log_in, log_out, url_re

pytestmark = pytest.mark.browser

NNBSP = "\u202f"
SOURCE = "Données Flux Vision Tourisme Orange"


def shown(n: int) -> str:
    return f"{n:,}".replace(",", NNBSP)


def summary(app, year: int) -> dict:
    result = app.test_cli_runner().invoke(args=["fvt", "summary", "--zone", "SALERS0", "--year", str(year), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def wait_ready(page) -> None:
    """The tab has swapped in the new figures and drawn them (fvt-tab.js sets the state)."""
    expect(page.locator("#fvt-tab")).to_have_attribute("data-fvt-state", "ready")


def choose(page, selector: str) -> None:
    """A filter change as a person makes it; the tab redraws without reloading the page."""
    page.evaluate("document.getElementById('fvt-tab').dataset.fvtState = 'changing'")
    if page.locator(selector).evaluate("e => e.tagName") == "SELECT":
        raise AssertionError("use choose_option for a select")
    page.locator(selector).check()
    wait_ready(page)


def choose_option(page, selector: str, value: str) -> None:
    page.evaluate("document.getElementById('fvt-tab').dataset.fvtState = 'changing'")
    page.locator(selector).select_option(value)
    wait_ready(page)


def card(page, key: str):
    return page.locator(f'[data-kpi="{key}"]')


def map_name(page) -> str:
    """The map the person sees once they scroll to it (charts below the screen are drawn when idle
    or when they come near it, so the page waits for every pending chart)."""
    page.locator('[data-chart="carte"]').scroll_into_view_if_needed()
    page.wait_for_selector('#fvt-tab[data-fvt-pending="0"]')
    return page.evaluate("echarts.getInstanceByDom(document.querySelector('[data-chart=\"carte\"]'))"
                         ".getOption().series[0].map")


def assert_drawn_in_pdf(pdf: bytes, needles: list[str], name: str) -> None:
    """Each text is on a page of the PDF rendered to an image, and drawn there: the pixels inside
    the box PDFium gives for it are not all white."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    try:
        found = dict.fromkeys(needles, False)
        for index in range(len(doc)):
            page = doc[index]
            scale = 2
            image = page.render(scale=scale).to_pil().convert("L")
            image.save(SHOTS / f"{name}-{index + 1}.png")
            text = page.get_textpage()
            height = page.get_height()
            for needle in needles:
                # PDFium reads the figures' no-break spaces as plain ones.
                hit = text.search(needle.replace("\u00a0", " ")).get_next()
                if hit is None:
                    continue
                start, count = hit
                left, bottom, right, top = text.get_charbox(start)
                for i in range(start + 1, start + count):
                    l2, b2, r2, t2 = text.get_charbox(i)
                    left, bottom, right, top = min(left, l2), min(bottom, b2), max(right, r2), max(top, t2)
                box = (int(left * scale), int((height - top) * scale), int(right * scale) + 1,
                       int((height - bottom) * scale) + 1)
                darkest = image.crop(box).getextrema()[0]
                assert darkest < 128, f"{needle!r} is in the text layer but not drawn (darkest pixel {darkest})"
                found[needle] = True
        assert all(found.values()), f"not in the PDF: {[n for n, ok in found.items() if not ok]}"
    finally:
        doc.close()


def test_an_office_member_explores_their_territory(app, live_server, page, shot):
    SHOTS.mkdir(parents=True, exist_ok=True)
    load_demo()
    queue_demo(years=(2024, 2025), zones=("SALERS0", "AURILLAC0"))
    db.session.commit()
    wanted = db.session.scalars(sa.select(Import.id).where(sa.or_(
        Import.filename.like("Pays de Salers %"), Import.filename.like("Pays d'Aurillac 2025%")))
        .order_by(Import.id)).all()
    for import_id in wanted:  # what the worker does, delivery by delivery
        import_demo_delivery(import_id)
    s2025 = summary(app, 2025)

    page.set_viewport_size(DESKTOP)
    log_in(page, live_server.url, "salers@demo.local", DEMO_PASSWORD)
    page.get_by_role("link", name="Flux Vision").first.click()
    page.wait_for_url(url_re("/fvt_tab/zones/SALERS0"))
    wait_ready(page)
    # Picks 2024, then 2025 again: the figures follow without a reload, the address holds the choice.
    choose_option(page, "#f-annee", "2024")
    assert "annee=2024" in page.url
    expect(card(page, "nuitees_touristes").locator("[data-kpi-n]")).to_have_text(
        shown(summary(app, 2024)["nuitees_touristes"]["n"]))
    choose_option(page, "#f-annee", "2025")
    for key in ("nuitees_touristes", "nuitees_francais", "nuitees_etrangers", "excursionnistes"):
        expect(card(page, key).locator("[data-kpi-n]")).to_have_text(shown(s2025[key]["n"]))
        expect(card(page, key).locator("[data-kpi-n1]")).to_contain_text(shown(s2025[key]["n1"]))
    expect(card(page, "duree_moyenne_sejour").locator("[data-kpi-n]")).to_have_text(
        f"{s2025['duree_moyenne_sejour']['n']:.2f}".rstrip("0").replace(".", ","))
    expect(page.locator('[data-chart="courbe"] canvas')).to_have_count(1)
    assert map_name(page) == "france"
    redraw_ms = int(page.locator("#fvt-tab").get_attribute("data-fvt-redraw-ms"))
    assert redraw_ms > 0
    shot(page, "fvt-tab-2025-1280")

    # « Étrangers »: the map becomes the world, the countries' table lists Belgium.
    choose(page, "#f-provenance-etrangers")
    assert "provenance=etrangers" in page.url
    expect(page.locator('[data-chart="carte"] canvas')).to_have_count(1)
    assert map_name(page) == "monde"
    expect(page.locator("main")).to_contain_text("Belgique")
    expect(page.locator("#f-visiteurs-locaux")).to_be_disabled()
    expect(page.locator("main")).to_contain_text("Les étrangers ne sont pas des locaux.")
    shot(page, "fvt-tab-etrangers-1280")
    # The daily curve's table of the swapped figures, filled in the browser when it is opened, is
    # the one the server writes for the same address.
    table = page.locator('table[data-table="courbe"]')
    expect(table.locator("tbody tr")).to_have_count(0)  # the fragment leaves it empty
    html = page.request.get(page.url).text()
    body = re.search(r'data-table="courbe">.*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    from_server = [re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row) for row in re.findall(r"<tr>(.*?)</tr>", body)]
    assert len(from_server) > 30 and len(from_server[0]) >= 3
    table.locator("xpath=ancestor::details/summary").click()
    # The browser fires « toggle » in a task of its own after the click: wait for the rows.
    expect(table.locator("tbody tr")).to_have_count(len(from_server))
    in_browser = table.locator("tbody tr").evaluate_all(
        "rows => rows.map(r => Array.from(r.cells, c => c.textContent))")
    assert in_browser == from_server
    page.go_back()  # back: the French map again
    wait_ready(page)
    expect(page.locator("#f-provenance-tous")).to_be_checked()
    assert map_name(page) == "france"

    # « Excursionnistes »: « nuit » is greyed out with the reason.
    choose(page, "#f-visiteurs-excursionnistes")
    expect(page.locator("#f-moment-nuit")).to_be_disabled()
    expect(page.locator("#f-moment-jour")).to_be_checked()
    expect(page.locator("main")).to_contain_text("Les excursionnistes ne passent pas la nuit sur place")
    choose(page, "#f-visiteurs-touristes")
    choose(page, "#f-moment-nuit")

    # The spring holidays of 2025 against those of 2024 (zone A).
    choose_option(page, "#f-periode", "vacances-printemps")
    period = page.locator("[data-fvt-period]")
    expect(period).to_contain_text("Vacances de printemps 2025 (zone A)")
    expect(period).to_contain_text("du 19 avril au 4 mai 2025")
    expect(period).to_contain_text(
        "Comparée aux mêmes vacances ou au même pont de 2024, du 13 avril au 28 avril 2024")
    data = page.request.get(f"{live_server.url}/fvt_tab/zones/SALERS0/donnees.json?annee=2025"
                            "&periode=vacances-printemps&sections=indicateurs").json()
    nights = next(k for k in data["indicateurs"] if k["cle"] == "nuitees_touristes")
    expect(card(page, "nuitees_touristes").locator("[data-kpi-n]")).to_have_text(shown(nights["n"]))
    expect(card(page, "nuitees_touristes").locator("[data-kpi-n1]")).to_contain_text(shown(nights["n1"]))

    # The CSV and the PDF of this selection.
    with page.expect_download() as got:
        page.locator('[data-fvt-export="csv"]').click()
    body = got.value.path().read_text(encoding="utf-8")
    assert got.value.suggested_filename == "fvt-SALERS0-2025-vacances-printemps.csv"
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff")), delimiter=";"))
    assert ["Nuitées touristiques", str(nights["n"]), str(nights["n1"])] == rows[rows.index(next(
        r for r in rows if r and r[0] == "Nuitées touristiques"))][:3]
    assert [f"Source : {SOURCE}"] in rows
    assert rows[-1] == ["Données fictives de démonstration : ces chiffres ne décrivent aucun territoire réel."]
    with page.expect_download() as got:
        page.locator('[data-fvt-export="pdf"]').click()
    pdf = got.value.path().read_bytes()
    assert pdf.startswith(b"%PDF")
    assert_drawn_in_pdf(pdf, [f"{nights['n']:,}".replace(",", "\u00a0"), SOURCE, "Vacances de printemps 2025",
                              "Données fictives"],
                        "fvt-rapport")

    # On a phone: the filters are in a drawer, nothing overflows.
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    expect(page.locator("#f-provenance-francais")).to_be_hidden()
    page.get_by_role("button", name="Filtres").click()
    expect(page.locator("#fvt-panel")).to_be_visible()
    choose(page, "#f-provenance-francais")
    expect(card(page, "nuitees_touristes").locator("[data-kpi-n]")).to_be_visible()
    page.locator("#fvt-panel").get_by_role("button", name="Fermer").click()
    expect(page.locator("#fvt-panel")).to_be_hidden()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "fvt-tab-francais-390")
    page.set_viewport_size(DESKTOP)
    assert page.console_errors == []
    log_out(page)

    # The neighbour reads Salers in consultation: no export button, and the server refuses them.
    log_in(page, live_server.url, "aurillac@demo.local", DEMO_PASSWORD)
    page.goto(f"{live_server.url}/fvt_tab/zones/SALERS0?annee=2025")
    wait_ready(page)
    expect(page.locator("[data-fvt-consultation]")).to_contain_text("Consultation seule")
    expect(page.locator("[data-fvt-export]")).to_have_count(0)
    expect(card(page, "nuitees_touristes").locator("[data-kpi-n]")).to_have_text(shown(s2025["nuitees_touristes"]["n"]))
    for export in ("selection.csv", "rapport.pdf"):
        assert page.request.get(f"{live_server.url}/fvt_tab/zones/SALERS0/{export}?annee=2025").status == 403
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "fvt-tab-consultation-390")
    page.set_viewport_size(DESKTOP)
    log_out(page)

    # The animateur's overview: both territories side by side and on the map.
    log_in(page, live_server.url, "animateur@demo.local", DEMO_PASSWORD)
    page.goto(f"{live_server.url}/fvt_tab/territoires?annee=2025")
    rows = page.locator("[data-fvt-overview] tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator('[data-fvt-overview] tr[data-zone="SALERS0"]')).to_contain_text(
        shown(s2025["nuitees_touristes"]["n"]))
    expect(page.locator("[data-fvt-network] canvas")).to_have_count(1)
    shot(page, "fvt-reseau-1280")
    assert page.console_errors == []
