"""The feed's ~140 dates a page go through the core filters ``|datetime`` and ``|ago``, which keep
each field's text (day, month, hour…) and each « 3 heures » for the page instead of asking Babel
every time (intranet.core.i18n). What they write must stay exactly what Flask-Babel writes."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from flask_babel import force_locale, format_datetime, format_timedelta, gettext

PATTERNS = [None, "d MMM y 'à' HH:mm", "d MMM HH:mm", "d", "MMM", "y", "EEEE d MMMM y, h:mm a",
            "dd/MM/yyyy HH:mm:ss zzzz", "QQQ w D", "h B", "K:mm a", "k'h'mm", "LLLL yy"]


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_the_datetime_filter_writes_what_babel_writes(app, locale):
    rng = random.Random(5)
    # Around both clock changes of a few years (Paris time), and anywhere over 25 years.
    instants = [datetime(y, m, 25, tzinfo=UTC) + timedelta(minutes=13 * k)
                for y in (2024, 2025, 2026) for m in (3, 10) for k in range(800)]
    instants += [datetime(2010, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(25 * 365 * 86400))
                 for _ in range(3000)]
    with app.test_request_context(), force_locale(locale):
        filter_ = app.jinja_env.filters["datetime"]
        for i, when in enumerate(instants):
            when = when.replace(tzinfo=None) if i % 5 == 0 else when  # naive values are UTC
            pattern = PATTERNS[i % len(PATTERNS)]
            assert filter_(when, pattern) == format_datetime(when, pattern or gettext("d MMMM y 'à' HH:mm"))
        assert filter_(date(2026, 7, 14)) == format_datetime(date(2026, 7, 14), gettext("d MMMM y 'à' HH:mm"))


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_the_ago_filter_writes_what_babel_writes(app, locale):
    from intranet.core.i18n import _date_formats

    rng = random.Random(5)
    units = (60, 3600, 86400, 7 * 86400, 30 * 86400, 365 * 86400)
    seconds = [k * u + o for u in units for k in range(30) for o in (-1, 0, 1, u // 2 - 1, u // 2, u // 2 + 1)]
    seconds += list(range(0, 3 * 3600, 7)) + [rng.randrange(400 * 86400) for _ in range(3000)]
    with app.test_request_context(), force_locale(locale):
        formats = _date_formats()
        for s in seconds:
            delta = timedelta(seconds=s, microseconds=rng.randrange(10**6))
            assert formats.duration(delta) == format_timedelta(delta, threshold=1, add_direction=False)
        ago = app.jinja_env.filters["ago"]
        now = datetime.now(UTC)
        assert ago(now - timedelta(hours=3, minutes=10)) == gettext(
            "il y a %(delta)s", delta=format_timedelta(timedelta(hours=3), threshold=1, add_direction=False))
