"""« Visible par » as a chip picker (Tom Select over the plain multiple select): usable with the
keyboard alone, and on a phone without sideways scrolling."""

from __future__ import annotations

import sqlalchemy as sa
from playwright.sync_api import expect

from intranet.extensions import db
from intranet.feed.models import Post
from tests.browser.conftest import PHONE, log_in, url_re

OFFICE = "Office de tourisme du Carladès"


def _setup(make_user, make_org):
    reader_org = make_org("Office de tourisme de Salers")
    author = make_user(name="Anaïs Delmas", organization=reader_org)
    make_org(OFFICE)
    make_user(name="Hélène Roux", organization=make_org("Hautes Terres Tourisme"))
    return author


def _open_picker(page):
    page.locator("#publier summary").click()
    return page.locator("#publier [data-audience-picker]")


def test_choosing_an_office_and_a_person_with_the_keyboard_only(live_server, page, make_user, make_org, shot):
    author = _setup(make_user, make_org)
    log_in(page, live_server.url, author.email)
    page.goto(live_server.url + "/feed/")
    box = _open_picker(page)
    expect(box.get_by_text("Ctrl-clic")).to_have_count(0)  # the native select's hint is gone
    field = box.get_by_role("combobox")
    field.focus()
    page.keyboard.type("carla")  # accents and case do not matter
    expect(page.locator(".ts-dropdown .option.active")).to_contain_text(OFFICE)
    page.keyboard.press("Enter")
    page.keyboard.type("helene")  # a person: searched on the server
    expect(page.locator(".ts-dropdown .option.active")).to_contain_text("Hélène Roux")
    page.keyboard.press("Enter")
    chips = box.locator(".ts-control .item")
    expect(chips).to_have_count(2)
    expect(chips.nth(0)).to_contain_text(OFFICE)
    expect(chips.nth(1)).to_contain_text("Hélène Roux")
    summary = box.locator("[data-audience-summary]")
    expect(summary).to_contain_text(OFFICE)
    expect(summary).to_contain_text("Hélène Roux")
    shot(page, "audience-picker-keyboard")
    # Backspace takes the last chip away, and the summary follows.
    page.keyboard.press("Backspace")
    expect(chips).to_have_count(1)
    expect(summary).not_to_contain_text("Hélène Roux")
    page.keyboard.type("roux")
    expect(page.locator(".ts-dropdown .option.active")).to_contain_text("Hélène Roux")
    page.keyboard.press("Enter")
    expect(chips).to_have_count(2)
    # Write and publish without the mouse.
    page.keyboard.press("Escape")
    body = page.locator("#publier textarea")
    body.focus()
    page.keyboard.type("Réunion des conseillers en séjour jeudi")
    page.locator("#publier").get_by_role("button", name="Publier").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(url_re("/feed/"))
    expect(page.get_by_role("alert")).to_contain_text("Votre message est publié.")
    db.session.expire_all()
    post = db.session.scalar(sa.select(Post).order_by(Post.id.desc()))
    kinds = sorted(kind for kind, _ in post.audience.targets())
    assert kinds == ["org", "user"], post.audience.targets()


def test_the_picker_fits_a_phone(live_server, page, make_user, make_org, shot):
    author = _setup(make_user, make_org)
    page.set_viewport_size(PHONE)
    log_in(page, live_server.url, author.email)
    page.goto(live_server.url + "/feed/")
    box = _open_picker(page)
    box.locator(".ts-control").click()
    dropdown = page.locator(".ts-dropdown")
    expect(dropdown).to_be_visible()
    option = dropdown.locator(".option", has_text=OFFICE)
    option.click()
    expect(box.locator(".ts-control .item")).to_contain_text(OFFICE)
    box.get_by_role("combobox").click()  # the text box beside the chip opens the list again
    expect(dropdown).to_be_visible()
    dbox = dropdown.bounding_box()
    assert dbox["x"] >= 0 and dbox["x"] + dbox["width"] <= PHONE["width"], dbox
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "audience-picker-phone")
