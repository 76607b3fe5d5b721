"""Helpers for the browser tests (the fixtures live_server, page, browser_context are in tests/conftest.py)."""

from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path

import pytest

from tests.factories import DEFAULT_PASSWORD

SHOTS = Path(os.environ.get("INTRANET_SHOTS_DIR", "/tmp/shots"))
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
LOGIN_PATH = "/accounts/connexion"
HERE = Path(__file__).resolve().parent

# Werkzeug's development server leaks the open file of a static response when the browser resets the
# connection mid-response (Chromium cancels a favicon or script fetch when a test navigates on or closes
# its context): the ``finally`` of ``WSGIRequestHandler.run_wsgi`` raises before it closes the iterator,
# and the file's ResourceWarning, an error under this suite's ``filterwarnings``, lands in whatever test
# runs then. Only those static files are forgiven, only during browser tests.
STATIC_FILE_LEAK = r"ignore:unclosed file <_io\.BufferedReader name='[^']*/static/:ResourceWarning"


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.filterwarnings(STATIC_FILE_LEAK))


@pytest.fixture(autouse=True)
def _request_threads_finish():
    """Torn down last: let the live server's request threads end inside the test that started them."""
    yield
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and any(
            t.name.endswith("(process_request_thread)") for t in threading.enumerate()):
        time.sleep(0.02)


def url_re(path: str) -> re.Pattern:
    """A pattern for ``page.wait_for_url`` matching ``path`` with or without a query string."""
    return re.compile(rf"^https?://[^/]+{re.escape(path)}(\?.*)?$")


def log_in(page, base_url: str, email: str, password: str = DEFAULT_PASSWORD) -> None:
    """Log in through the French login form, then wait for the dashboard."""
    if LOGIN_PATH not in page.url:
        page.goto(base_url + LOGIN_PATH)
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe", exact=True).fill(password)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(url_re("/"))


def log_out(page) -> None:
    """Log out through the user menu (a POST form inside a dropdown), then wait for the login page."""
    menu = page.locator("#user-menu")
    if not menu.is_visible():  # phone width: the navbar is collapsed behind its toggler
        page.get_by_role("button", name="Menu").click()
    menu.click()
    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url(url_re(LOGIN_PATH))


@pytest.fixture
def shot():
    """``shot(page, name)``: a full-page screenshot under /tmp/shots (never committed)."""
    SHOTS.mkdir(parents=True, exist_ok=True)

    def _shot(page, name: str) -> Path:
        path = SHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return _shot
