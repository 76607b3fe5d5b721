"""Test fixtures: a real database per run (SQLite, or PostgreSQL with INTRANET_TEST_DB=postgres),
emptied before each test; factories; a login helper; the outbox; a query counter; a live server
and Debian's Chromium for browser tests.

Under CI=true nothing may be skipped: a skip fails the run.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from tests.factories import Factories

# The ``things`` fixture: a shareable table for testing the sharing model.
pytest_plugins = ["tests.shared_things"]

CI = os.environ.get("CI") == "true"
USE_POSTGRES = os.environ.get("INTRANET_TEST_DB") == "postgres"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def pytest_report_header(config):
    return f"database: {'PostgreSQL' if USE_POSTGRES else 'SQLite'}; CI={CI}"


def pytest_sessionfinish(session, exitstatus):
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if CI and reporter is not None and reporter.stats.get("skipped"):
        reporter.write_line(f"CI=true: {len(reporter.stats['skipped'])} test(s) skipped, which CI counts as a failure.",
                            red=True)
        session.exitstatus = 1


def _database_url(tmp_path_factory) -> str:
    if USE_POSTGRES:
        url = os.environ.get("INTRANET_TEST_POSTGRES_URL")
        if not url:
            pytest.exit("INTRANET_TEST_DB=postgres needs INTRANET_TEST_POSTGRES_URL", returncode=2)
        return _worker_database(url)
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"


def _worker_database(url: str) -> str:
    """Under pytest-xdist each worker empties and migrates its own database (``…_gw0``,
    ``…_gw1``), created beside the given one; a run without workers uses the given database."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"{base.database}_{worker}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
            if not exists:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def _app(tmp_path_factory):
    from flask_migrate import upgrade

    from intranet.app import create_app

    base = tmp_path_factory.mktemp("instance")
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "DATABASE_URL": _database_url(tmp_path_factory),
        "DEMO": False,
        "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",
        "UPLOAD_DIR": str(base / "uploads"),
        "MAIL_DIR": str(base / "mail"),
        "MAIL_SERVER": None,
        "BASE_URL": "http://127.0.0.1",
        "SERVER_NAME": None,
    })
    with app.app_context():
        if USE_POSTGRES:
            with db_engine(app).begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE"))
                conn.execute(sa.text("CREATE SCHEMA public"))
        upgrade()  # the real migrations, so every test runs on the migrated schema
    yield app


def db_engine(app):
    from intranet.extensions import db

    return db.engine


def _empty_database(app) -> None:
    from intranet.extensions import db

    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if USE_POSTGRES:
            conn.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(sa.text(f"DELETE FROM {name}"))
            conn.execute(sa.text("DELETE FROM sqlite_sequence")) if conn.execute(sa.text(
                "SELECT 1 FROM sqlite_master WHERE name='sqlite_sequence'")).first() else None


@pytest.fixture
def app(_app):
    """The application with an empty database, default permissions written, an app context pushed."""
    from intranet.core.permissions import sync_permissions
    from intranet.extensions import db

    saved = dict(_app.config)
    with _app.app_context():
        _empty_database(_app)
        sync_permissions()
        db.session.commit()
    for folder in (_app.config["UPLOAD_DIR"], _app.config["MAIL_DIR"]):
        shutil.rmtree(folder, ignore_errors=True)
    ctx = _app.app_context()
    ctx.push()
    try:
        yield _app
    finally:
        db.session.rollback()
        db.session.remove()
        ctx.pop()
        _app.config.clear()
        _app.config.update(saved)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def factories(app) -> Factories:
    return Factories()


@pytest.fixture
def make_user(factories):
    return factories.user


@pytest.fixture
def make_org(factories):
    return factories.organization


def csrf_token(client, url: str = "/accounts/connexion") -> str:
    """The CSRF token of the form on ``url`` (as a browser would read it from the page)."""
    html = client.get(url).get_data(as_text=True)
    match = CSRF_RE.search(html)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


@pytest.fixture
def login(client):
    """``login(user)``: log the test client in as ``user`` through the real login form."""

    def _login(user, password: str = "motdepasse-test", c=None):
        c = c or client
        token = csrf_token(c, "/accounts/connexion")
        resp = c.post("/accounts/connexion", data={"email": user.email, "password": password, "csrf_token": token})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
        return c

    return _login


@pytest.fixture
def as_(app, login):
    """``as_(user)``: a fresh test client logged in as ``user`` (several people at once)."""

    def _as(user):
        c = app.test_client()
        login(user, c=c)
        return c

    return _as


@pytest.fixture
def outbox(app):
    """The e-mail outbox rows, newest last: ``outbox()`` returns them."""
    from intranet.core.models import MailMessage
    from intranet.extensions import db

    def _outbox():
        db.session.expire_all()
        return db.session.scalars(sa.select(MailMessage).order_by(MailMessage.id)).all()

    return _outbox


@pytest.fixture
def count_queries(app):
    """``with count_queries() as n: …`` then ``n()``: SQL statements run inside the block."""
    from intranet.extensions import db

    @contextmanager
    def _count():
        statements: list[str] = []

        def before(conn, cursor, statement, *args):
            statements.append(statement)

        sa.event.listen(db.engine, "before_cursor_execute", before)
        try:
            yield lambda: len(statements)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", before)

    return _count


# -- a real SMTP server --------------------------------------------------------------------------

@pytest.fixture
def smtp_server(app):
    """A real SMTP server (aiosmtpd) on 127.0.0.1; ``smtp_server.messages`` are parsed e-mails."""
    import socket
    from email import message_from_bytes
    from email.policy import default

    from aiosmtpd.controller import Controller

    class Handler:
        def __init__(self):
            self.messages = []
            self.raw = []  # the bytes as received, for what parsing would hide (header encodings)

        async def handle_DATA(self, server, session, envelope):
            self.raw.append(envelope.content)
            self.messages.append(message_from_bytes(envelope.content, policy=default))
            return "250 OK"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    handler = Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    from intranet.extensions import mail

    mail.init_app(app)  # Flask-Mail reads its settings at init
    handler.port = port
    try:
        yield handler
    finally:
        controller.stop()
        app.config.update(MAIL_SERVER=None)
        mail.init_app(app)


# -- browser tests --------------------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def live_server(app):
    """The app served over HTTP on 127.0.0.1 in a thread, for the browser."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_port}"
    app.config["BASE_URL"] = server.url
    try:
        yield server
    finally:
        server.shutdown()
        thread.join(5)


@pytest.fixture(scope="session")
def _browser():
    if not os.path.exists(CHROMIUM):
        if CI:
            pytest.fail(f"CI=true and {CHROMIUM} is missing: .ci/run must install Debian's chromium")
        pytest.skip(f"browser tests skipped: {CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    browser = pw.chromium.launch(
        executable_path=CHROMIUM, timeout=30_000,
        args=["--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--disable-default-apps",
              "--disable-extensions", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"])
    yield browser
    browser.close()
    pw.stop()


@pytest.fixture
def browser_context(_browser):
    context = _browser.new_context(locale="fr-FR", timezone_id="Europe/Paris", reduced_motion="reduce")
    context.set_default_timeout(10_000)
    yield context
    context.close()


@pytest.fixture
def page(browser_context):
    page = browser_context.new_page()
    page.console_errors = []
    page.on("console", lambda m: page.console_errors.append(m.text) if m.type == "error" else None)
    return page


# -- one fresh ``g`` per request --------------------------------------------------------------------

@pytest.fixture(autouse=True, scope="session")
def _fresh_g_per_request():
    """Start every request with an empty ``g``, as in production.

    The ``app`` fixture keeps one app context pushed for the whole test, so the test client's
    requests reuse it, and its ``g``: Flask-Login's cached ``g._login_user`` (and Flask-WTF's
    ``g.csrf_token``, the permission cache ``g._grants``) would leak from one request to the next,
    even across two clients. Then a second client is "logged in" as the first one, and a session
    ended by logout, password change or deactivation still looks alive.
    """
    from flask import g, request_started

    def clear(sender, **extra):
        g.__dict__.clear()

    request_started.connect(clear, weak=False)
    yield
    request_started.disconnect(clear)


# -- close pooled connections at the end of the run -------------------------------------------------

@pytest.fixture(autouse=True, scope="session")
def _close_pooled_connections():
    """Dispose of every engine used during the run when it ends.

    Otherwise the pooled psycopg connections are only garbage-collected after pytest has finished,
    each one raising a ResourceWarning that pytest reports as an error of the whole PostgreSQL run
    (a single one is printed, several fail it), typically after tests that use several threads.
    """
    import weakref

    engines: weakref.WeakSet = weakref.WeakSet()

    def remember(conn):
        engines.add(conn.engine)

    sa.event.listen(sa.engine.Engine, "engine_connect", remember)
    yield
    sa.event.remove(sa.engine.Engine, "engine_connect", remember)
    for engine in list(engines):
        engine.dispose()
