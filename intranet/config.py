"""Configuration classes. Every setting can be overridden by an ``INTRANET_*`` environment variable.

``INTRANET_DATABASE_URL`` becomes ``DATABASE_URL`` (then ``SQLALCHEMY_DATABASE_URI``), and so on:
the prefix is stripped, the value parsed as JSON when it looks like JSON (numbers, booleans, lists),
kept as a string otherwise.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"

DEFAULT_PLUGINS = ["accounts", "notifications", "groups", "feed", "events", "documents", "fvt_tab"]


class Base:
    SECRET_KEY = "dev-secret-change-me"
    DATABASE_URL = f"sqlite:///{INSTANCE / 'intranet.sqlite'}"
    PLUGINS = list(DEFAULT_PLUGINS)
    DEMO = False
    SITE_NAME = "Intranet du réseau"
    AGENCY_NAME = "Cantal Destination"
    # Under intranet/static/: shown in the navigation bar and at the top of every e-mail.
    AGENCY_LOGO = "img/logo.png"
    BASE_URL = "http://127.0.0.1:5000"

    # Mail: without MAIL_SERVER, mails are written as .eml files under instance/mail/.
    MAIL_SERVER = ""
    MAIL_PORT = 25
    MAIL_USE_TLS = False
    MAIL_USE_SSL = False
    MAIL_USERNAME = None
    MAIL_PASSWORD = None
    MAIL_DEFAULT_SENDER = "Intranet <intranet@localhost>"
    MAIL_DIR = str(INSTANCE / "mail")
    # Delivery is decided by MAIL_SERVER only: Flask-Mail would otherwise silently drop every
    # message when TESTING is set, while the outbox marks it "sent".
    MAIL_SUPPRESS_SEND = False

    UPLOAD_DIR = str(INSTANCE / "uploads")
    # A whole form: a post may carry several files of MAX_UPLOAD_BYTES each.
    MAX_CONTENT_LENGTH = 110 * 1024 * 1024
    # One text field (Werkzeug's default is 500 KB): large enough that an over-long description
    # reaches the form's own French message (« trop longue ») instead of the 413 page.
    MAX_FORM_MEMORY_SIZE = 8 * 1024 * 1024
    MAX_UPLOAD_BYTES = 25 * 1024 * 1024

    # Password hashing: scrypt with N = 2**16 (OWASP 2023 minimum is 2**17 with r=8 p=1 for
    # 64 MiB; 2**16 keeps a login under 150 ms on the 2-core machines we run on).
    PASSWORD_HASH_METHOD = "scrypt:65536:8:1"
    LOGIN_MAX_FAILURES = 10
    LOGIN_WINDOW_MINUTES = 15
    # Reverse proxies (nginx…) in front of the app whose X-Forwarded-For/-Proto are trusted. Behind
    # one, set 1: otherwise every request seems to come from the proxy and the per-address login
    # throttle would lock the whole network out. Leave 0 when clients reach the app directly.
    TRUSTED_PROXIES = 0
    # Downloads handed to nginx (« X-Accel-Redirect: <prefix>/<key> », an internal location aliased to
    # UPLOAD_DIR): empty, the app sends the bytes itself.
    X_ACCEL_PREFIX = ""
    # LibreOffice for the previews of office documents: empty, « soffice » on the PATH if installed.
    SOFFICE = ""
    INVITATION_DAYS = 7
    RESET_HOURS = 1

    BABEL_DEFAULT_LOCALE = "fr"
    BABEL_DEFAULT_TIMEZONE = "Europe/Paris"
    LANGUAGES = ["fr", "en"]

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session

    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    WORKER_POLL_SECONDS = 5
    PAGE_SIZE = 25


class Development(Base):
    DEBUG = False


class Testing(Base):
    TESTING = True
    SECRET_KEY = "test-secret"
    # Fast hashes in tests; one test checks the production method separately.
    PASSWORD_HASH_METHOD = "scrypt:1024:8:1"
    BASE_URL = "http://127.0.0.1"


class Production(Base):
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"


CONFIGS = {"development": Development, "testing": Testing, "production": Production}


#: Settings that are always text, whatever they look like (their default may be None).
TEXT_SETTINGS = frozenset({"SECRET_KEY", "DATABASE_URL", "MAIL_USERNAME", "MAIL_PASSWORD", "MAIL_SERVER",
                           "MAIL_DEFAULT_SENDER"})


def _parse(value: str):
    if value[:1] in "[{" or value in ("true", "false") or value.lstrip("-").isdigit():
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def env_overrides(environ=None) -> dict:
    """The ``INTRANET_*`` variables, prefix stripped. ``INTRANET_PLUGINS`` may be a comma list."""
    environ = os.environ if environ is None else environ
    out = {}
    for key, value in environ.items():
        if not key.startswith("INTRANET_") or key == "INTRANET_ENV":
            continue
        name = key[len("INTRANET_"):]
        if name == "PLUGINS" and not value.startswith("["):
            out[name] = [p.strip() for p in value.split(",") if p.strip()]
        elif name == "DEMO":
            out[name] = value.strip().lower() in ("1", "true", "yes", "oui")
        elif name in TEXT_SETTINGS or isinstance(getattr(Base, name, None), str):
            out[name] = value  # a password or key made of digits stays text
        else:
            out[name] = _parse(value)
    return out
