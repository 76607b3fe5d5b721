"""Shared helpers of the FVT tests: files written in the real Orange layout (so every expected
figure is known), importing them as the CLI and the worker do, and reading the store back.

Plain functions, importable: ``from tests.fvt_tab.conftest import csv_bytes, daily_rows, import_file…``.
They need the ``app`` fixture (an application context with an empty database).

    rows = daily_rows(date(2024, 7, 1), days=3, provenances=("NonLocal", "Etranger"), volume=100)
    data = csv_bytes(rows)                                 # ; UTF-8, header = the rows' keys
    imp = import_file("Nuitee_2024B4_SALERS0.csv", data)   # committed Import, status done
    message = import_fails("Nuitee_2024B4_SALERS0.csv", b"…")  # the French error, rolled back
    facts(family="Nuitee")                                 # Fact rows, ordered
"""

from __future__ import annotations

import io
import itertools
import zipfile
from collections.abc import Callable, Iterable
from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import force_locale

from intranet.extensions import db
from intranet.fvt_tab.importer import ImportFailed, run_import
from intranet.fvt_tab.models import DayQuality, Fact, Import, YearTotal, Zone, ZoneAlias

COMMON = ["Date", "JourDeLaSemaine", "VacancesA", "VacancesB", "VacancesC", "Ferie", "ZoneObservation",
          "Provenance", "CategorieVisiteur"]
DAYS_FR = ["Lundi", "Mardi", "Mercredi", "Jeudi", "Vendredi", "Samedi", "Dimanche"]
SOURCE = "Données Flux Vision Tourisme Orange"


# -- the network -----------------------------------------------------------------------------------

def cantal(factories) -> dict:
    """The Cantal with two territories under it, Pays de Salers (A) and Châtaigneraie (B), an office
    in each and the departmental agency (territory: the Cantal)."""
    department = factories.territory(name="Cantal", code="15")
    ta = factories.territory(name="Pays de Salers", code="SALERS", parent=department)
    tb = factories.territory(name="Châtaigneraie", code="CHATAIGNERAIE", parent=department)
    return {"cantal": department, "A": ta, "B": tb,
            "agency": factories.organization(name="Cantal Destination", kind="agence", territory=department),
            "office_a": factories.organization(name="Office de tourisme du Pays de Salers", territory=ta),
            "office_b": factories.organization(name="Office de tourisme de la Châtaigneraie", territory=tb)}


# -- writing files ---------------------------------------------------------------------------------

def csv_bytes(rows: Iterable, header: list[str] | None = None, sep: str = ";", encoding: str = "utf-8",
              bom: bool = False, rename: dict[str, str] | None = None, newline: str = "\n") -> bytes:
    """A CSV as Orange writes it. ``rows``: dicts (looked up by header name; ``header`` defaults to the
    first row's keys, in order) or lists (written as given). ``rename`` changes header names only
    (``{"ZoneObservation": "Zone"}``: an older file). No quoting: Orange's files have none (a value
    holding the separator must be quoted by the caller)."""
    rows = list(rows)
    if header is None:
        header = list(rows[0]) if rows and isinstance(rows[0], dict) else []
    lines = [sep.join((rename or {}).get(h, h) for h in header)]
    for row in rows:
        values = [row.get(h, "") for h in header] if isinstance(row, dict) else list(row)
        lines.append(sep.join("" if v is None else str(v) for v in values))
    text = newline.join(lines) + newline
    data = text.encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def zip_bytes(files: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A ZIP holding ``files`` (name → bytes), in the given order."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return out.getvalue()


def daily_rows(start: date, days: int = 1, *, zone: str = "Pays de Salers",
               provenances: Iterable[str] = ("NonLocal",), categories: Iterable[str] = ("Touriste",),
               extra: dict[str, list] | None = None,
               volume: int | str | None | Callable[[dict], int | str | None] = 100) -> list[dict]:
    """Rows of a daily file: one per day × provenance × category × combination of ``extra`` columns
    (``{"NomDepartement": ["Cantal", "Ardèche"]}``), with the common columns filled as Orange does
    (weekday in French, holiday flags, ZoneObservation) and ``Volume`` last. ``volume`` is a value
    (``""`` = withheld) or a function of the row (its keys: the columns, and ``day`` as a date)."""
    extra = extra or {}
    names = list(extra)
    rows = []
    for n in range(days):
        day = start + timedelta(days=n)
        for prov, cat in itertools.product(provenances, categories):
            for combo in itertools.product(*(extra[k] for k in names)) if names else [()]:
                row = {"Date": day.isoformat(), "JourDeLaSemaine": DAYS_FR[day.weekday()],
                       "VacancesA": int(day.month in (7, 8)), "VacancesB": int(day.month in (7, 8)),
                       "VacancesC": int(day.month in (7, 8)), "Ferie": int((day.month, day.day) in ((7, 14), (8, 15))),
                       "ZoneObservation": zone, "Provenance": prov, "CategorieVisiteur": cat}
                row.update(zip(names, combo, strict=True))
                row["Volume"] = volume(dict(row, day=day)) if callable(volume) else volume
                rows.append(row)
    return rows


# -- importing ---------------------------------------------------------------------------------------

def _new_import(name: str, provisional: bool, profile_id: int | None, user_id: int | None) -> Import:
    imp = Import(filename=name, sha256="", is_provisional=provisional, status="running",
                 mapping_profile_id=profile_id, user_id=user_id)
    db.session.add(imp)
    db.session.flush()
    return imp


def import_file(name: str, data: bytes, provisional: bool = False, profile_id: int | None = None,
                user_id: int | None = None) -> Import:
    """Import one upload as the CLI does (an Import row, run_import, commit); the Import, done.
    An ImportFailed is re-raised after the rollback."""
    imp = _new_import(name, provisional, profile_id, user_id)
    try:
        with force_locale("fr"):
            run_import(imp, data)
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()
    return imp


def import_fails(name: str, data: bytes, provisional: bool = False, profile_id: int | None = None) -> str:
    """Import an upload that must be refused: its French message (the transaction rolled back)."""
    try:
        import_file(name, data, provisional=provisional, profile_id=profile_id)
    except ImportFailed as exc:
        return str(exc)
    raise AssertionError(f"{name} was imported, a refusal was expected")


# -- reading the store back -------------------------------------------------------------------------

def facts(**where) -> list[Fact]:
    """Facts matching ``where`` (column=value; ``zone="SALERS0"`` by code), ordered by day and keys."""
    query = sa.select(Fact)
    code = where.pop("zone", None)
    if code is not None:
        query = query.join(Zone, Zone.id == Fact.zone_id).where(Zone.code == code)
    for column, value in where.items():
        query = query.where(getattr(Fact, column) == value)
    return list(db.session.scalars(query.order_by(Fact.day, Fact.family, Fact.breakdown, Fact.category,
                                                  Fact.provenance, Fact.origin, Fact.profile, Fact.other_place)))


def year_totals(**where) -> dict[tuple, int | None]:
    """Year totals matching ``where`` (``zone="SALERS0"`` by code): (year, family, breakdown, category,
    provenance, origin, profile) → value."""
    query = sa.select(YearTotal)
    code = where.pop("zone", None)
    if code is not None:
        query = query.join(Zone, Zone.id == YearTotal.zone_id).where(Zone.code == code)
    for column, value in where.items():
        query = query.where(getattr(YearTotal, column) == value)
    return {(t.year, t.family, t.breakdown, t.category, t.provenance, t.origin, t.profile): t.value
            for t in db.session.scalars(query)}


def snapshot() -> dict:
    """Everything an import may change, comparable before / after (ids left out of facts)."""
    db.session.expire_all()
    return {
        "facts": sorted((f.zone_id, f.family, f.breakdown, f.is_weekly, f.day, f.category, f.provenance, f.origin,
                         f.profile, f.other_place, f.value, f.is_total, f.is_provisional)
                        for f in db.session.scalars(sa.select(Fact))),
        "totals": sorted((t.zone_id, t.year, t.family, t.breakdown, t.category, t.provenance, t.origin, t.profile,
                          t.value, t.days) for t in db.session.scalars(sa.select(YearTotal))),
        "zones": sorted((z.code, z.name, z.territory_id) for z in db.session.scalars(sa.select(Zone))),
        "aliases": sorted((a.zone_id, a.alias) for a in db.session.scalars(sa.select(ZoneAlias))),
        "quality": sorted((q.zone_id, q.day, q.flag, q.source) for q in db.session.scalars(sa.select(DayQuality))),
        "imports_done": sorted(i.id for i in db.session.scalars(sa.select(Import).where(Import.status == "done"))),
    }


def xlsx_bytes(sheets: dict[str, list[list]]) -> bytes:
    """A minimal Excel workbook (no spreadsheet library needed): sheet name → rows of cells. Cells:
    str (an inline string), int/float (a number), date (a real Excel date, shown as jj/mm/aaaa),
    None or "" (empty)."""
    from xml.sax.saxutils import escape, quoteattr

    def column(n: int) -> str:
        name = ""
        n += 1
        while n:
            n, r = divmod(n - 1, 26)
            name = chr(65 + r) + name
        return name

    def cell(ref: str, value) -> str:
        if value is None or value == "":
            return ""
        if isinstance(value, date):
            serial = (value - date(1899, 12, 30)).days
            return f'<c r="{ref}" s="1"><v>{serial}</v></c>'
        if isinstance(value, bool | int | float):
            return f'<c r="{ref}"><v>{value}</v></c>'
        return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(str(value))}</t></is></c>'

    def sheet_xml(rows: list[list]) -> str:
        body = "".join(
            f'<row r="{r + 1}">' + "".join(cell(f"{column(c)}{r + 1}", v) for c, v in enumerate(row)) + "</row>"
            for r, row in enumerate(rows))
        return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                f"<sheetData>{body}</sheetData></worksheet>")

    names = list(sheets)
    ns_main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    ns_rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    ns_pkg = "http://schemas.openxmlformats.org/package/2006/relationships"
    files = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            + "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
                      f'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                      for i in range(1, len(names) + 1))
            + "</Types>"),
        "_rels/.rels": (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{ns_pkg}">'
            f'<Relationship Id="rId1" Type="{ns_rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="{ns_main}" '
            f'xmlns:r="{ns_rel}"><sheets>'
            + "".join(f'<sheet name={quoteattr(n)} sheetId="{i}" r:id="rId{i}"/>' for i, n in enumerate(names, 1))
            + "</sheets></workbook>"),
        "xl/_rels/workbook.xml.rels": (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{ns_pkg}">'
            + "".join(f'<Relationship Id="rId{i}" Type="{ns_rel}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                      for i in range(1, len(names) + 1))
            + f'<Relationship Id="rId{len(names) + 1}" Type="{ns_rel}/styles" Target="styles.xml"/>'
            + "</Relationships>"),
        "xl/styles.xml": (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><styleSheet xmlns="{ns_main}">'
            '<fonts count="1"><font/></fonts><fills count="1"><fill/></fills><borders count="1"><border/></borders>'
            '<cellStyleXfs count="1"><xf/></cellStyleXfs>'
            '<cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/></cellXfs>'
            "</styleSheet>"),
    }
    for i, n in enumerate(names, 1):
        files[f"xl/worksheets/sheet{i}.xml"] = sheet_xml(sheets[n])
    return zip_bytes({k: v.encode("utf-8") for k, v in files.items()})


def sheet_rows(rows: list[dict], header: list[str] | None = None) -> list[list]:
    """Dict rows (``daily_rows``) as a sheet: the header then the values (volumes as numbers)."""
    header = header or list(rows[0])
    out = [list(header)]
    for row in rows:
        out.append([int(v) if h == "Volume" and str(v).strip().isdigit() else v
                    for h, v in ((h, row.get(h, "")) for h in header)])
    return out
