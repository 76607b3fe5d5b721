"""iCalendar (RFC 5545): writing feeds and reading imported files.

Feeds are written here directly: a member's year of events is thousands of VEVENTs and the
icalendar library takes about 0.4 ms per event to build and serialize them, four times the budget
of the issue (200 ms a year). What RFC 5545 asks of a writer is small and done below: CRLF line
ends, lines folded at 75 octets without cutting a UTF-8 character, text escaped (backslash,
semicolon, comma, newline), UTC DTSTAMP, local times with a TZID and its VTIMEZONE. VTIMEZONE
of Europe/Paris is written by hand in the RRULE form calendar programs use (see PARIS_VTIMEZONE);
other zones' blocks come from the icalendar library (cached per zone); the tests parse every feed
back with icalendar, ics-py and vobject. Reading (the .ics import) uses the icalendar library.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

import icalendar

CRLF = "\r\n"


def escape_text(value: str) -> str:
    return (str(value).replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n"))


# At most 74 octets (the fold's leading space makes 75) ending before a UTF-8 continuation byte,
# so that no character is cut: one regular-expression pass per long line.
_FOLD_CHUNK = re.compile(rb"[\x00-\xff]{1,74}(?![\x80-\xbf])")


def fold(line: str) -> str:
    """Fold a content line at 75 octets; continuation lines start with a space. Cuts on bytes,
    never inside a UTF-8 character."""
    data = line.encode("utf-8")
    if len(data) <= 75:
        return line
    return (CRLF + " ").join(chunk.decode("utf-8") for chunk in _FOLD_CHUNK.findall(data))


# %-formatting rather than strftime: twice as fast, and a feed writes four stamps per event.
def utc_stamp(dt: datetime) -> str:
    return local_stamp(dt.astimezone(UTC)) + "Z"


def local_stamp(dt: datetime) -> str:
    return "%04d%02d%02dT%02d%02d%02d" % (dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second)  # noqa: UP031


def date_stamp(d: date) -> str:
    return "%04d%02d%02d" % (d.year, d.month, d.day)  # noqa: UP031


#: Europe/Paris as calendar programs write it (Thunderbird, Google, Outlook): one DAYLIGHT and one
#: STANDARD rule. The block icalendar derives from the tz database lists each transition as an
#: RDATE with the March onset at 03:00 and TZOFFSETFROM +0100; vobject reads that as +01:00 all
#: year and put every summer event an hour late. These rules hold since 1996 (EU summer time);
#: the feeds cover a year around today.
PARIS_VTIMEZONE = CRLF.join((
    "BEGIN:VTIMEZONE", "TZID:Europe/Paris", "X-LIC-LOCATION:Europe/Paris",
    "BEGIN:DAYLIGHT", "TZOFFSETFROM:+0100", "TZOFFSETTO:+0200", "TZNAME:CEST", "DTSTART:19700329T020000",
    "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU", "END:DAYLIGHT",
    "BEGIN:STANDARD", "TZOFFSETFROM:+0200", "TZOFFSETTO:+0100", "TZNAME:CET", "DTSTART:19701025T030000",
    "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU", "END:STANDARD",
    "END:VTIMEZONE")) + CRLF


@lru_cache(maxsize=16)
def vtimezone(tz: str) -> str:
    """The VTIMEZONE block of ``tz``, CRLF-terminated: the rules above for Europe/Paris (nearly
    every event), else the icalendar library's block for that zone."""
    if tz == "Europe/Paris":
        return PARIS_VTIMEZONE
    block = icalendar.Timezone.from_tzid(tz, first_date=date(2000, 1, 1), last_date=date(2040, 1, 1))
    return block.to_ical().decode("utf-8")


def vevent(event, url: str, category: str = "", organizer: str = "") -> str:
    """One event's VEVENT, folded, CRLF-terminated, except its DTSTAMP and END:VEVENT lines,
    which ``calendar`` adds (the stamp is the feed's time: the rest depends on the event only)."""
    status = {"cancelled": "CANCELLED", "published": "CONFIRMED"}.get(event.status, "TENTATIVE")
    lines = ["BEGIN:VEVENT", f"UID:{event.uid}",
             f"CREATED:{utc_stamp(event.created_at)}", f"LAST-MODIFIED:{utc_stamp(event.updated_at)}",
             f"SEQUENCE:{event.sequence}", f"SUMMARY:{escape_text(event.title)}"]
    if event.is_all_day:
        lines += [f"DTSTART;VALUE=DATE:{date_stamp(event.start_local)}",
                  f"DTEND;VALUE=DATE:{date_stamp(event.end_local.date() + timedelta(days=1))}"]
    else:
        lines += [f"DTSTART;TZID={event.tz}:{local_stamp(event.start_local)}",
                  f"DTEND;TZID={event.tz}:{local_stamp(event.end_local)}"]
    if event.rrule:
        lines.append(f"RRULE:{event.rrule}")
        exdates = event.exdates
        if isinstance(exdates, str):  # the feed reads the column's JSON text, decoded only here
            exdates = json.loads(exdates)
        for day in exdates or []:
            d = date.fromisoformat(day)
            if event.is_all_day:
                lines.append(f"EXDATE;VALUE=DATE:{date_stamp(d)}")
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
    lines.append(f"STATUS:{status}")
    # Most lines are short ASCII: tested inline, only the others go through fold().
    return CRLF.join(line if len(line) <= 75 and line.isascii() else fold(line) for line in lines) + CRLF


#: A feed row (``services.feed_events``) holds every column its VEVENT is written from, so the
#: text can be kept per row: calendar apps poll the same feeds all day and a year of the network
#: is thousands of events (~25 µs each to write). Rows are compared by value: a changed event is a
#: new key, never a stale text. Bounded: 5,000 rows and only events whose description is under
#: KEEP_MAX_CHARS (a few MB at most; a rare long description is written each time).
KEEP_MAX_CHARS = 3_000
_kept_vevent = lru_cache(maxsize=5_000)(vevent)


def vevent_of_row(row, url: str, category: str = "", organizer: str = "") -> str:
    if len(row.description) > KEEP_MAX_CHARS:
        return vevent(row, url, category, organizer)
    return _kept_vevent(row, url, category, organizer)


def forget_kept() -> None:
    _kept_vevent.cache_clear()


def calendar(name: str, prodid: str, vevents: list[str], zones: set[str], dtstamp: datetime) -> str:
    """A whole VCALENDAR, folded, with CRLF line ends, from ``vevent`` texts."""
    head = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{prodid}", "CALSCALE:GREGORIAN", "METHOD:PUBLISH",
            f"X-WR-CALNAME:{escape_text(name)}", "X-WR-TIMEZONE:Europe/Paris"]
    body = CRLF.join(fold(line) for line in head) + CRLF
    body += "".join(vtimezone(tz) for tz in sorted(zones))
    end = f"DTSTAMP:{utc_stamp(dtstamp)}{CRLF}END:VEVENT{CRLF}"
    body += end.join(vevents) + (end if vevents else "")
    return body + "END:VCALENDAR" + CRLF


# -- reading (import) -------------------------------------------------------------------------

class ImportError_(ValueError):  # noqa: N801 - not the builtin
    """A French message."""


def read_events(data: bytes) -> list[dict]:
    """The VEVENTs of an .ics file as dicts, or ``ImportError_`` for a file that cannot be read.

    Each dict: title, description, place, start_local, end_local, tz, is_all_day, rrule, exdates,
    uid, recurrence_id (for an occurrence edited in the source calendar: the local start it
    replaces, in ``tz``, else None), cancelled (STATUS:CANCELLED), error (a French message for an
    event that cannot be imported, else "").

    Time zones: the TZID's IANA name, a Windows name (Outlook's « Romance Standard Time ») mapped
    to its IANA zone, else the calendar's X-WR-TIMEZONE (Google), else Europe/Paris; a time in UTC
    or a floating time is shown in that zone.
    """
    from flask_babel import gettext as _

    from intranet.events.recurrence import RecurrenceError, occurrences, zone

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportError_(_("Le fichier n'est pas un calendrier iCalendar lisible (encodage).")) from exc
    if "BEGIN:VCALENDAR" not in text[:2000].upper():
        raise ImportError_(_("Le fichier n'est pas un calendrier iCalendar (.ics) : « BEGIN:VCALENDAR » manque."))
    _check_lines(text)
    try:
        cal = icalendar.Calendar.from_ical(text)
        components = list(cal.walk("VEVENT"))
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise ImportError_(_("Le fichier .ics est endommagé : son contenu ne peut pas être lu.")) from exc
    default_tz = _zone_name(str(cal.get("X-WR-TIMEZONE", "")).strip()) or "Europe/Paris"
    out = []
    for comp in components:
        item = {"title": str(comp.get("SUMMARY", "")).strip(), "description": str(comp.get("DESCRIPTION", "")),
                "place": str(comp.get("LOCATION", "")).strip(), "uid": str(comp.get("UID", "")).strip(),
                "rrule": None, "exdates": [], "error": "", "recurrence_id": None,
                "cancelled": str(comp.get("STATUS", "")).strip().upper() == "CANCELLED"}
        try:
            start = comp.decoded("DTSTART")
            if not isinstance(start, date):
                raise ValueError(start)
            if "DTEND" in comp:
                end = comp.decoded("DTEND")
            elif "DURATION" in comp:
                end = start + comp.decoded("DURATION")
            elif isinstance(start, datetime):
                end = start + timedelta(hours=1)  # no end given: an hour, as the form does
            else:
                end = start
            if not isinstance(end, date) or isinstance(start, datetime) != isinstance(end, datetime):
                raise ValueError(end)
        except (KeyError, ValueError, TypeError):
            item["error"] = _("Date de début absente ou illisible.")
            out.append(item)
            continue
        bad = [name for name, _detail in getattr(comp, "errors", []) if name]
        if bad:
            item["error"] = _("Valeur illisible : %(names)s.", names=", ".join(sorted(set(bad))))
        if not item["title"] and not item["error"]:
            item["error"] = _("Titre absent.")
        if isinstance(start, datetime):
            tzname = (_zone_name(getattr(start.tzinfo, "key", None) or "")
                      or _zone_name(str(comp["DTSTART"].params.get("TZID", ""))) or default_tz)
            if tzname in ("UTC", "Etc/UTC", "GMT", "Etc/GMT"):  # a time in UTC: shown in the calendar's zone
                tzname = default_tz
            tz = zone(tzname)
            s = start.astimezone(tz).replace(tzinfo=None) if start.tzinfo else start
            e = end.astimezone(tz).replace(tzinfo=None) if isinstance(end, datetime) and end.tzinfo else end
            item.update(start_local=s, end_local=e if isinstance(e, datetime) else s, tz=tzname, is_all_day=False)
        else:
            last = end - timedelta(days=1) if end > start else start
            item.update(start_local=datetime.combine(start, datetime.min.time()),
                        end_local=datetime.combine(last, datetime.min.time()), tz="Europe/Paris", is_all_day=True)
        if "RECURRENCE-ID" in comp:
            try:
                rid = comp.decoded("RECURRENCE-ID")
            except (KeyError, ValueError, TypeError):
                rid = None
            if isinstance(rid, datetime):
                if rid.tzinfo is not None:
                    rid = rid.astimezone(zone(item["tz"])).replace(tzinfo=None)
            elif isinstance(rid, date):
                rid = datetime.combine(rid, datetime.min.time())
            else:
                item["error"] = item["error"] or _("Valeur illisible : %(names)s.", names="RECURRENCE-ID")
            item["recurrence_id"] = rid
        if "RRULE" in comp:
            rule = comp["RRULE"]
            item["rrule"] = rule.to_ical().decode() if not isinstance(rule, list) else ""
            for ex in comp.get("EXDATE", []) if isinstance(comp.get("EXDATE"), list) else [comp.get("EXDATE")]:
                if ex is None:
                    continue
                for d in ex.dts:
                    value = d.dt
                    if isinstance(value, datetime) and value.tzinfo and not item["is_all_day"]:
                        value = value.astimezone(zone(item["tz"]))
                    item["exdates"].append((value.date() if isinstance(value, datetime) else value).isoformat())
            try:
                if not item["rrule"]:
                    raise RecurrenceError("")
                occurrences(item["start_local"], item["end_local"], item["tz"], item["is_all_day"], item["rrule"],
                            item["exdates"])
            except RecurrenceError:
                item["error"] = item["error"] or _("Règle de répétition invalide ou non prise en charge.")
        out.append(item)
    return out


def _zone_name(name: str) -> str | None:
    """The IANA zone for a TZID or X-WR-TIMEZONE value (a Windows name is mapped), else None."""
    from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

    from intranet.events.recurrence import RecurrenceError, zone

    name = WINDOWS_TO_OLSON.get(name.strip('"'), name.strip('"'))
    if not name:
        return None
    try:
        zone(name)
    except RecurrenceError:
        return None
    return name


def _check_lines(text: str) -> None:
    """French errors for what the icalendar library would skip silently: a line that is not
    « NOM:valeur » (or « NOM;PARAMÈTRES:valeur »), a block opened and never closed (a truncated file)."""
    from flask_babel import gettext as _

    stack: list[str] = []
    logical: list[tuple[int, str]] = []
    for number, line in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), start=1):
        if line[:1] in (" ", "\t") and logical:
            logical[-1] = (logical[-1][0], logical[-1][1] + line[1:])
        elif line.strip():
            logical.append((number, line))
    for number, line in logical:
        name = re.match(r"[A-Za-z0-9-]+(?=[;:])", line)
        if name is None or ":" not in line:
            raise ImportError_(_("Le fichier .ics est endommagé : la ligne %(n)d est illisible (« %(line)s »).",
                                 n=number, line=line[:60]))
        key = name.group(0).upper()
        if key in ("BEGIN", "END"):
            block = line.partition(":")[2].strip().upper()
            if key == "BEGIN":
                stack.append(block)
            elif not stack or stack[-1] != block:
                raise ImportError_(_("Le fichier .ics est endommagé : « %(line)s » inattendu à la ligne %(n)d.",
                                     line=line[:60], n=number))
            else:
                stack.pop()
    if stack:
        raise ImportError_(_("Le fichier .ics est incomplet (tronqué ?) : « END:%(block)s » manque.",
                             block=stack[-1][:30]))
