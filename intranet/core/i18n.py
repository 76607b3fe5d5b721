"""Flask-Babel set-up: French by default, English for those who choose it; Europe/Paris times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from babel import dates, numbers
from flask import Flask, current_app, g, has_request_context, request
from flask.globals import _cv_app
from flask_babel import format_date, get_locale, get_timezone, get_translations
from flask_babel.speaklater import LazyString
from flask_login import current_user
from jinja2 import pass_context
from markupsafe import Markup

from intranet.core.timeutil import utcnow
from intranet.extensions import babel


def select_locale() -> str:
    langs = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if getattr(current_user, "is_authenticated", False) and current_user.locale in langs:
        return current_user.locale
    chosen = request.cookies.get("lang")
    return chosen if chosen in langs else current_app.config["BABEL_DEFAULT_LOCALE"]


def locale_of(user) -> str:
    """The language to write to ``user`` in (e-mails rendered outside their requests)."""
    chosen = getattr(user, "locale", None)
    return chosen if chosen in current_app.config["LANGUAGES"] else current_app.config["BABEL_DEFAULT_LOCALE"]


def _babel_state():
    """Flask-Babel's per-context namespace (where it keeps the locale it selected and the one
    ``force_locale`` sets), read through the context variable: Flask-Babel's own lookup goes through
    the ``g`` proxy several times per call, and a feed page translates ~700 texts."""
    app_ctx = _cv_app.get(None)
    return None if app_ctx is None else app_ctx.g.__dict__.get("_flask_babel")


def current_locale():
    """``flask_babel.get_locale()``, once it has been selected in this context: its value, read
    directly (``force_locale`` is honoured: it sets the same attribute)."""
    state = _babel_state()
    locale = getattr(state, "babel_locale", None) if state is not None else None
    return locale if locale is not None else get_locale()


def current_translations():
    """``flask_babel.get_translations()`` for the current locale, the catalog kept per application
    and locale (Flask-Babel keeps it too, but looks the context up three times to find it)."""
    app_ctx = _cv_app.get(None)
    if app_ctx is None:
        return get_translations()
    locale = current_locale()
    cache = app_ctx.app.extensions.setdefault("intranet_translations", {})
    found = cache.get(locale)
    if found is None:
        found = cache[locale] = get_translations()
    return found


def gettext(string: str, **variables) -> str:
    """Flask-Babel's ``gettext`` through the catalog kept per application and locale: Flask-Babel
    looks its context up three times per text, and a page of figures translates about a hundred
    labels (the FVT tab's answer spent ~5 ms there)."""
    text = current_translations().ugettext(string)
    return text % variables if variables else text


def lazy_gettext(string: str, **variables) -> LazyString:
    """Flask-Babel's ``lazy_gettext``, resolved by ``gettext`` above."""
    return LazyString(gettext, string, **variables)


def _template_gettext(text: str) -> str:
    return current_translations().ugettext(text)


def _template_raw_ngettext(singular: str, plural: str, num: int) -> str:
    return current_translations().ungettext(singular, plural, num)


def format_count(value) -> str:
    """« 12 749 »: a count with the locale's thousands separator (a narrow no-break space in French)."""
    if value is None or value == "":
        return ""
    return numbers.format_decimal(value, locale=current_locale())


def _plural(singular: str, plural: str, num: int, variables: dict) -> tuple[str, dict]:
    """The catalog's text for ``num`` by the language's own rule, and its variables with ``num``
    shown as a count. French says « 0 participant » (singular for 0 and 1), where gettext's
    fallback, English-minded, says « 0 participants »."""
    locale = current_locale()
    as_one = locale is not None and locale.plural_form(abs(num)) == "one"
    text = current_translations().ungettext(singular, plural, 1 if as_one else num)
    variables.setdefault("num", num)
    if isinstance(variables["num"], int):
        text, variables["num"] = text.replace("%(num)d", "%(num)s"), format_count(variables["num"])
    return text, variables


def ngettext(singular: str, plural: str, num: int, **variables) -> str:
    """Flask-Babel's ``ngettext`` with the language's plural rule and ``num`` shown as a count
    (« 12 749 personnes »). Use this one, in Python and (as ``ngettext``) in templates."""
    text, variables = _plural(singular, plural, num, variables)
    return text % variables


@pass_context
def _template_ngettext(context, singular: str, plural: str, num: int, **variables):
    # As Jinja's own newstyle ngettext: the variables are escaped in an autoescaped template.
    text, variables = _plural(singular, plural, num, variables)
    # Safe: the text is the catalog's, not user input; the variables are escaped by the %.
    return (Markup(text) if context.eval_ctx.autoescape else text) % variables  # noqa: S704


def init_i18n(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=str(app.root_path + "/translations"))
    app.jinja_env.globals["get_locale"] = get_locale  # <html lang="…"> of pages and e-mails
    # Jinja's ``_()``/``gettext`` as Flask-Babel installs them (newstyle: escaped variables), through
    # the direct catalog lookup; ``ngettext`` is ours (the language's plural rule).
    app.jinja_env.install_gettext_callables(gettext=_template_gettext, ngettext=_template_raw_ngettext,
                                            newstyle=True)
    app.jinja_env.globals["ngettext"] = _template_ngettext
    app.jinja_env.filters["count"] = format_count

    @app.template_filter("datetime")
    def _datetime(value, fmt=None):
        # The pattern is translated too: "14 juillet 2026 à 12:00", "14 July 2026 at 12:00".
        if not value:
            return ""
        f = _date_formats()
        return f.format(value, fmt or f.datetime_pattern)

    @app.template_filter("date")
    def _date(value, fmt="d MMMM y"):
        return format_date(value, fmt) if value else ""

    @app.template_filter("ago")
    def _ago(value):
        """« il y a 5 minutes » during a week, then the date: what a feed reader wants."""
        if not value:
            return ""
        f = _date_formats()
        delta = utcnow() - value
        if delta < timedelta(minutes=1):
            return f.just_now
        if delta < timedelta(days=7):
            return f.ago % {"delta": f.duration(delta)}
        return f.format(value, f.ago_pattern)


class _DateFormats:
    """The locale, time zone and translated patterns of the date filters. A feed page formats about
    140 dates, and each Flask-Babel call looks the locale, the time zone and the catalog up again: these
    are looked up once per locale and context instead (the output is what Flask-Babel gives)."""

    def __init__(self, locale):
        self.locale = locale
        self.tz = get_timezone()
        self.datetime_pattern = gettext("d MMMM y 'à' HH:mm")
        self.ago_pattern = gettext("d MMM y 'à' HH:mm")
        self.just_now = gettext("à l'instant")
        self.ago = gettext("il y a %(delta)s")
        self._texts: dict[tuple, str] = {}

    def format(self, value: datetime, pattern: str) -> str:
        """``babel.dates.format_datetime(value, pattern, tzinfo, locale)`` as Flask-Babel calls it,
        each field of the pattern (day, month, hour…) formatted by Babel once per value of what it
        depends on: the ~140 dates of a feed page share their days, hours and minutes."""
        if not isinstance(value, datetime):  # a date, a timestamp: Babel's own way
            return dates.format_datetime(value, pattern, tzinfo=self.tz, locale=self.locale)
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        local = value.astimezone(self.tz)
        if hasattr(self.tz, "normalize"):  # pytz, as Babel does
            local = self.tz.normalize(local)
        return dates.parse_pattern(pattern).format % _Fields(self, local)

    def duration(self, delta: timedelta) -> str:
        """``babel.dates.format_timedelta(delta, threshold=1, add_direction=False)``: its text depends
        only on the unit Babel picks and the rounded count (Babel's own loop, below), so Babel
        writes each « 3 heures » once."""
        seconds = abs(delta.days * 86400 + delta.seconds)
        for unit, per_unit in dates.TIMEDELTA_UNITS:
            value = seconds / per_unit
            if value >= 1 or unit == "second":
                key = ("duration", unit, int(round(max(1, value) if unit == "second" and value > 0 else value)))
                break
        if key not in self._texts:
            self._texts[key] = dates.format_timedelta(delta, threshold=1, add_direction=False, locale=self.locale)
        return self._texts[key]


#: What a field of a date pattern depends on (Babel's DateTimeFormat): the date for the calendar
#: fields, the hour or the minute for these time fields; any other field is formatted each time.
_BY_DATE = frozenset("GyYuQqMLwWdDFEec")
_BY_HOUR = frozenset("hHKka")


class _Fields:
    """The mapping a parsed Babel pattern is %-formatted with, each field's text kept."""

    __slots__ = ("formats", "value")

    def __init__(self, formats: _DateFormats, value: datetime):
        self.formats, self.value = formats, value

    def __getitem__(self, name: str) -> str:
        char, value = name[0], self.value
        if char in _BY_DATE:
            key = (name, value.date())
        elif char in _BY_HOUR:
            key = (name, value.hour)
        elif char == "m":
            key = (name, value.minute)
        else:
            return dates.DateTimeFormat(value, self.formats.locale)[name]
        texts = self.formats._texts
        if key not in texts:
            texts[key] = dates.DateTimeFormat(value, self.formats.locale)[name]
        return texts[key]


def _date_formats() -> _DateFormats:
    # Keyed by locale: an e-mail to someone else is rendered under force_locale in the same context.
    locale = current_locale()
    cache = g.setdefault("_date_formats", {})
    if locale not in cache:
        cache[locale] = _DateFormats(locale)
    return cache[locale]
