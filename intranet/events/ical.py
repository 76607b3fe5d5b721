"""iCalendar (RFC 5545): writing feeds and reading imported files.

Feeds are written here directly: a member's year of events is thousands of VEVENTs and the
icalendar library takes about 0.4 ms per event to build and serialize them, four times the budget
of the issue (200 ms a year). What RFC 5545 asks of a writer is small and done below: CRLF line
ends, lines folded at 75 octets without cutting a UTF-8 character, text escaped (backslash,
semicolon, comma, newline), UTC DTSTAMP, local times with a TZID and its VTIMEZONE. VTIMEZONE
blocks come from the icalendar library (cached per zone); the tests parse every feed back with
icalendar. Reading (the .ics import) uses the icalendar library.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

import icalendar

CRLF = "\r\n"


def escape_text(value: str) -> str:
    return (str(value).replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n"))


def fold(line: str) -> str:
    """Fold a content line at 75 octets; continuation lines start with a space."""
    encoded = line.encode("utf-8")
    if len(encoded) <= 75:
        return line
    parts, current, size, limit = [], [], 0, 75
    for ch in line:
        n = len(ch.encode("utf-8"))
        if size + n > limit:
            parts.append("".join(current))
            current, size, limit = [], 0, 74  # the leading space counts
        current.append(ch)
        size += n
    parts.append("".join(current))
    return (CRLF + " ").join(parts)


def utc_stamp(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def local_stamp(dt: datetime) -> str:
    return dt.strftime("%Y%m%dT%H%M%S")


@lru_cache(maxsize=16)
def vtimezone(tz: str) -> str:
    """The VTIMEZONE block of ``tz`` (from the icalendar library), CRLF-terminated."""
    block = icalendar.Timezone.from_tzid(tz, first_date=date(2000, 1, 1), last_date=date(2040, 1, 1))
    return block.to_ical().decode("utf-8")


def vevent(event, url: str, dtstamp: datetime, category: str = "", organizer: str = "") -> list[str]:
    """The content lines of one event (not yet folded)."""
    status = {"cancelled": "CANCELLED", "published": "CONFIRMED"}.get(event.status, "TENTATIVE")
    lines = ["BEGIN:VEVENT", f"UID:{event.uid}", f"DTSTAMP:{utc_stamp(dtstamp)}",
             f"CREATED:{utc_stamp(event.created_at)}", f"LAST-MODIFIED:{utc_stamp(event.updated_at)}",
             f"SEQUENCE:{event.sequence}", f"SUMMARY:{escape_text(event.title)}"]
    if event.is_all_day:
        lines += [f"DTSTART;VALUE=DATE:{event.start_local:%Y%m%d}",
                  f"DTEND;VALUE=DATE:{(event.end_local.date() + timedelta(days=1)):%Y%m%d}"]
    else:
        lines += [f"DTSTART;TZID={event.tz}:{local_stamp(event.start_local)}",
                  f"DTEND;TZID={event.tz}:{local_stamp(event.end_local)}"]
    if event.rrule:
        lines.append(f"RRULE:{event.rrule}")
        for day in event.exdates or []:
            d = date.fromisoformat(day)
            if event.is_all_day:
                lines.append(f"EXDATE;VALUE=DATE:{d:%Y%m%d}")
            else:
                lines.append(f"EXDATE;TZID={event.tz}:{local_stamp(datetime.combine(d, event.start_local.time()))}")
    location = ", ".join(p for p in (event.place, event.commune) if p) or event.online_url
    if location:
        lines.append(f"LOCATION:{escape_text(location)}")
    description = event.description or ""
    if event.online_url:
        description += f"\n\nEn ligne : {event.online_url}"
    if event.registration_url:
        description += f"\nInscription : {event.registration_url}"
    if organizer:
        description += f"\nOrganisateur : {organizer}"
    description += f"\n\n{url}"
    lines.append(f"DESCRIPTION:{escape_text(description.strip())}")
    lines.append(f"URL:{url}")
    if category:
        lines.append(f"CATEGORIES:{escape_text(category)}")
    lines += [f"STATUS:{status}", "END:VEVENT"]
    return lines


def calendar(name: str, prodid: str, events_lines: list[list[str]], zones: set[str]) -> str:
    """A whole VCALENDAR, folded, with CRLF line ends."""
    head = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{prodid}", "CALSCALE:GREGORIAN", "METHOD:PUBLISH",
            f"X-WR-CALNAME:{escape_text(name)}", "X-WR-TIMEZONE:Europe/Paris"]
    out = [fold(line) for line in head]
    body = CRLF.join(out) + CRLF
    body += "".join(vtimezone(tz) for tz in sorted(zones))
    body += "".join(CRLF.join(fold(line) for line in lines) + CRLF for lines in events_lines)
    return body + "END:VCALENDAR" + CRLF


# -- reading (import) -------------------------------------------------------------------------

class ImportError_(ValueError):  # noqa: N801 - not the builtin
    """A French message."""


def read_events(data: bytes) -> list[dict]:
    """The VEVENTs of an .ics file as dicts, or ``ImportError_`` for a file that cannot be read.

    Each dict: title, description, place, start_local, end_local, tz, is_all_day, rrule, exdates,
    uid, error (a French message for an event that cannot be imported, else "").
    """
    from flask_babel import gettext as _

    from intranet.events.recurrence import RecurrenceError, zone

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportError_(_("Le fichier n'est pas un calendrier iCalendar lisible (encodage).")) from exc
    if "BEGIN:VCALENDAR" not in text[:2000].upper():
        raise ImportError_(_("Le fichier n'est pas un calendrier iCalendar (.ics) : « BEGIN:VCALENDAR » manque."))
    try:
        cal = icalendar.Calendar.from_ical(text)
        components = list(cal.walk("VEVENT"))
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise ImportError_(_("Le fichier .ics est endommagé : %(detail)s", detail=str(exc)[:200])) from exc
    out = []
    for comp in components:
        item = {"title": str(comp.get("SUMMARY", "")).strip(), "description": str(comp.get("DESCRIPTION", "")),
                "place": str(comp.get("LOCATION", "")).strip(), "uid": str(comp.get("UID", "")).strip(),
                "rrule": None, "exdates": [], "error": ""}
        try:
            start = comp.decoded("DTSTART")
            if "DTEND" in comp:
                end = comp.decoded("DTEND")
            elif "DURATION" in comp:
                end = start + comp.decoded("DURATION")
            else:
                end = start
        except (KeyError, ValueError, TypeError):
            item["error"] = _("Date de début absente ou illisible.")
            out.append(item)
            continue
        if not item["title"]:
            item["error"] = _("Titre absent.")
        if isinstance(start, datetime):
            tzname = getattr(start.tzinfo, "key", None) or "Europe/Paris"
            try:
                zone(tzname)
            except RecurrenceError:
                tzname = "Europe/Paris"
            tz = zone(tzname)
            s = start.astimezone(tz).replace(tzinfo=None) if start.tzinfo else start
            e = end.astimezone(tz).replace(tzinfo=None) if isinstance(end, datetime) and end.tzinfo else end
            item.update(start_local=s, end_local=e if isinstance(e, datetime) else s, tz=tzname, is_all_day=False)
        else:
            last = end - timedelta(days=1) if end > start else start
            item.update(start_local=datetime.combine(start, datetime.min.time()),
                        end_local=datetime.combine(last, datetime.min.time()), tz="Europe/Paris", is_all_day=True)
        if "RRULE" in comp:
            item["rrule"] = comp["RRULE"].to_ical().decode()
            for ex in comp.get("EXDATE", []) if isinstance(comp.get("EXDATE"), list) else [comp.get("EXDATE")]:
                if ex is None:
                    continue
                for d in ex.dts:
                    value = d.dt
                    item["exdates"].append((value.date() if isinstance(value, datetime) else value).isoformat())
        out.append(item)
    return out
