"""Security headers on every response, and no caching of private pages."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, request
from flask_login import current_user
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import IntegerConverter
from werkzeug.urls import iri_to_uri

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


#: The largest id a database integer column holds (PostgreSQL ``integer``): a longer number in a
#: URL or a query string names nothing, and must answer 404, not a database error.
MAX_ID = 2**31 - 1


class DatabaseIdConverter(IntegerConverter):
    """``<int:…>`` in every route: the ids of this application, at most :data:`MAX_ID`."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def init_security(app: Flask) -> None:
    # Before any blueprint: the routes bind their converters when they are added.
    app.url_map.converters["int"] = DatabaseIdConverter

    @app.before_request
    def drop_nul_characters():
        # PostgreSQL cannot store a NUL in text (SQLite can), and no one types one: they are
        # removed from every submitted form here, once, instead of a 500 deep in some INSERT.
        if request.method in ("POST", "PUT", "PATCH") and request.mimetype in (
                "application/x-www-form-urlencoded", "multipart/form-data"):
            form = request.form
            if any("\x00" in v for values in form.listvalues() for v in values):
                request.form = ImmutableMultiDict(
                    [(k, v.replace("\x00", "")) for k, values in form.lists() for v in values])

    @app.after_request
    def security_headers(response):
        h = response.headers
        h.setdefault("Content-Security-Policy", CSP)
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if app.config.get("SESSION_COOKIE_SECURE"):
            h.setdefault("Strict-Transport-Security", "max-age=31536000")
        # A private page must not come back from the browser cache after logout (back button).
        if not request.path.startswith("/static/") and (
                current_user and getattr(current_user, "is_authenticated", False)):
            h["Cache-Control"] = "no-store"
        return response


def safe_redirect_target(target: object, default: str) -> str:
    """``target`` if it is a path on this site, else ``default``: the one check of every redirect
    to an address that came from a form, a query string or a stored notification.

    Browsers read ``/\\evil`` as ``//evil`` and drop tabs and line breaks (``/<TAB>/evil``), and
    Werkzeug's own IRI conversion of the Location header drops them too: only a plain
    ``/path?query#fragment`` without backslash, space or control character gets through.
    """
    if not isinstance(target, str) or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(c.isspace() or ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    sent = iri_to_uri(target)  # what the Location header will carry
    if not sent.startswith("/") or sent.startswith("//") or urlsplit(sent).netloc:
        return default
    return target
