"""Time zones and recurrence. No hand-written date arithmetic for repetitions: rules are RRULEs and
their occurrences come from recurring-ical-events, which applies the time zone's daylight-saving
changes: a weekly 9:00 in Paris stays 9:00 local, which is 7:00 UTC in summer and 8:00 UTC in winter."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import icalendar
import recurring_ical_events

#: Occurrences are materialized this far ahead of today for rules without an end.
HORIZON_DAYS = 3 * 366
MAX_OCCURRENCES = 1000
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


class RecurrenceError(ValueError):
    """A French message."""


def zone(name: str) -> ZoneInfo:
    try:
        if name not in _zones():
            raise ZoneInfoNotFoundError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise RecurrenceError(name) from exc


_ZONES: set[str] = set()


def _zones() -> set[str]:
    if not _ZONES:
        _ZONES.update(available_timezones())
    return _ZONES


def to_utc(local: datetime, tz: str) -> datetime:
    """A wall time in ``tz`` as a UTC instant."""
    return local.replace(tzinfo=zone(tz)).astimezone(UTC)


def span_utc(start_local: datetime, end_local: datetime, tz: str, all_day: bool) -> tuple[datetime, datetime]:
    """UTC start and end; an all-day event runs from the first midnight to the midnight after its last day."""
    if all_day:
        start = datetime.combine(start_local.date(), time())
        end = datetime.combine(end_local.date() + timedelta(days=1), time())
        return to_utc(start, tz), to_utc(end, tz)
    return to_utc(start_local, tz), to_utc(end_local, tz)


def weekday_rule(start: date) -> str:
    """« le 2e mardi du mois » as BYDAY=2TU, or « le dernier … » (-1) when it is the month's last."""
    nth = (start.day - 1) // 7 + 1
    is_last = (start + timedelta(days=7)).month != start.month
    return f"{-1 if is_last and nth >= 4 else nth}{WEEKDAYS[start.weekday()]}"


def build_rule(freq: str, start: date, interval: int = 1, weekdays: list[str] | None = None,
               until: date | None = None, count: int | None = None, tz: str = "Europe/Paris",
               all_day: bool = False) -> str | None:
    """An RRULE from the form's choices: "" (none), "weekly" (on weekdays) or "monthly" (on the
    start's weekday of the month, e.g. every 2nd Tuesday).

    ``until`` is the last local day, included: a DATE for an all-day series (RFC 5545 wants the
    type of DTSTART), else the UTC instant of that day's last second in ``tz`` (an evening
    session in Martinique on that day is after midnight UTC and still belongs to the series)."""
    if not freq:
        return None
    parts = []
    if freq == "weekly":
        days = [d for d in (weekdays or []) if d in WEEKDAYS] or [WEEKDAYS[start.weekday()]]
        parts = ["FREQ=WEEKLY", f"BYDAY={','.join(sorted(set(days), key=WEEKDAYS.index))}"]
    elif freq == "monthly":
        parts = ["FREQ=MONTHLY", f"BYDAY={weekday_rule(start)}"]
    else:
        raise RecurrenceError(freq)
    if interval and interval > 1:
        parts.insert(1, f"INTERVAL={int(interval)}")
    if until:
        if all_day:
            parts.append(f"UNTIL={until.strftime('%Y%m%d')}")
        else:
            parts.append(f"UNTIL={utc_until(until, tz):%Y%m%dT%H%M%SZ}")
    elif count:
        parts.append(f"COUNT={int(count)}")
    return ";".join(parts)


def utc_until(until: date, tz: str) -> datetime:
    """The last second of the local day ``until`` in ``tz``, in UTC."""
    return to_utc(datetime.combine(until, time(23, 59, 59)), tz)


def until_date(value: str, tz: str = "Europe/Paris") -> date | None:
    """The local last day of a rule's UNTIL ("20261110", "20261110T225959Z" or a floating time)."""
    try:
        if len(value) == 8:
            return datetime.strptime(value, "%Y%m%d").date()
        moment = datetime.strptime(value[:15], "%Y%m%dT%H%M%S")
    except ValueError:
        return None
    if value.endswith("Z"):
        return moment.replace(tzinfo=UTC).astimezone(zone(tz)).date()
    return moment.date()


def parse_rule(rule: str | None) -> dict:
    """The rule's parts as a dict of strings ({"FREQ": "WEEKLY", "BYDAY": "TU,TH", …})."""
    out = {}
    for part in (rule or "").split(";"):
        key, _sep, value = part.partition("=")
        if key:
            out[key.upper()] = value
    return out


def occurrences(start_local: datetime, end_local: datetime, tz: str, all_day: bool, rule: str | None,
                exdates: list[str], now: datetime | None = None) -> list[tuple[datetime, datetime]]:
    """Every occurrence (UTC start, UTC end), at most ``MAX_OCCURRENCES``, up to the horizon."""
    first = span_utc(start_local, end_local, tz, all_day)
    if not rule:
        return [first]
    tzinfo = zone(tz)
    component = icalendar.Event()
    if all_day:
        component.add("dtstart", start_local.date())
        component.add("dtend", end_local.date() + timedelta(days=1))
    else:
        component.add("dtstart", start_local.replace(tzinfo=tzinfo))
        component.add("dtend", end_local.replace(tzinfo=tzinfo))
    try:
        recur = icalendar.vRecur.from_ical(rule)
    except ValueError as exc:
        raise RecurrenceError(rule) from exc
    if "FREQ" not in recur:
        raise RecurrenceError(rule)
    component.add("rrule", recur)
    for day in exdates or []:
        d = date.fromisoformat(day)
        component.add("exdate", d if all_day else datetime.combine(d, start_local.time()).replace(tzinfo=tzinfo))
    calendar = icalendar.Calendar()
    calendar.add_component(component)
    now = now or datetime.now(UTC)
    horizon = max(now, first[0]) + timedelta(days=HORIZON_DAYS)
    try:
        found = recurring_ical_events.of(calendar).between(first[0] - timedelta(days=1), horizon)
    except (ValueError, TypeError, IndexError, KeyError, OverflowError) as exc:
        # dateutil's own complaints about a rule (BYDAY=9TU, INTERVAL=-1…): the rule is invalid.
        raise RecurrenceError(rule) from exc
    out = []
    for occ in found:
        start, end = occ["DTSTART"].dt, occ["DTEND"].dt
        if all_day:
            s = to_utc(datetime.combine(start, time()), tz)
            e = to_utc(datetime.combine(end, time()), tz)
        else:
            s, e = start.astimezone(UTC), end.astimezone(UTC)
        out.append((s, e))
        if len(out) >= MAX_OCCURRENCES:
            break
    out.sort()
    return out or [first]
