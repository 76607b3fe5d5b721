"""Importing a delivery: all or nothing, idempotent, reported.

``run_import(imp, data)`` reads every file first (``reading.py``): a damaged archive, a truncated
or malformed file stops everything with a French error before the database is touched. Then, in
the caller's transaction, for each file: its zone (by the code in the file name, else by the
``ZoneObservation`` label; an unknown zone is created and reported for the observatory to link),
its rows replace the rows of the same zone, family, breakdown and days (so a re-import changes
nothing and a final delivery supersedes a provisional one; a provisional file never overwrites
final data). Then the year totals of the touched zones and years are rebuilt, outage days are
detected, and the report is written. The caller commits, or rolls back on any error.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import replace
from datetime import date, timedelta
from pathlib import PurePosixPath

import numpy as np
import pandas as pd
import sqlalchemy as sa
from flask_babel import gettext as _

from intranet.core.i18n import format_count
from intranet.core.timeutil import utcnow
from intranet.extensions import db
from intranet.fvt_tab import reading, series
from intranet.fvt_tab.arriving import set_import_zones
from intranet.fvt_tab.bulk import insert_rows
from intranet.fvt_tab.models import (
    DayQuality,
    Fact,
    Import,
    ImportIssue,
    LabelAlias,
    MappingProfile,
    YearTotal,
    Zone,
    ZoneAlias,
)
from intranet.fvt_tab.reading import Parsed, ReadError
from intranet.fvt_tab.reference import DIMENSION_LABELS, fold

MAX_ISSUES = 2000  # issues kept per import (the counts stay exact)


class ImportFailed(ValueError):
    """A French message; nothing was changed."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def duplicate_of(digest: str) -> Import | None:
    return db.session.scalar(sa.select(Import).where(Import.sha256 == digest, Import.status == "done"))


# -- reading every file of an upload -------------------------------------------------------------

def _label_aliases() -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = defaultdict(dict)
    for a in db.session.scalars(sa.select(LabelAlias)):
        out[a.dimension][a.folded] = a.code
    return out


def read_upload(filename: str, data: bytes, profile: MappingProfile | None = None,
                progress=lambda done, total: None) -> tuple[list[Parsed], list[str]]:
    """Every file of the upload, read and normalised; and the names of the files skipped."""
    aliases = _label_aliases()
    name = PurePosixPath(filename.replace("\\", "/")).name
    lower = name.lower()
    parsed: list[Parsed] = []
    skipped: list[str] = []
    if lower.endswith(".zip"):
        archive = reading.check_archive(data, name)
        entries = [i for i in archive.infolist() if not i.is_dir()]
        for n, info in enumerate(entries, 1):
            entry = PurePosixPath(info.filename).name
            meta = reading.parse_name(entry)
            if meta is None or not entry.lower().endswith((".csv", ".txt")):
                skipped.append(entry)
                continue
            df = reading.read_csv(reading.read_entry(archive, info, name), meta)
            parsed.append(reading.normalise(df, meta, aliases))
            progress(n, len(entries))
    elif lower.endswith((".csv", ".txt")):
        meta = reading.parse_name(name)
        if meta is None:
            raise ReadError(_("%(name)s : nom de fichier non reconnu (attendu par exemple "
                              "Nuitee_Departement_2024B4_SALERS0.csv).", name=name))
        parsed.append(reading.normalise(reading.read_csv(data, meta), meta, aliases))
    elif lower.endswith((".xlsx", ".xlsm")):
        sheets = reading.read_workbook(data, name)
        zone_code = reading.zone_code_in(name)
        for n, (sheet_name, frame) in enumerate(sheets.items(), 1):
            if profile is not None:
                if profile.sheet and sheet_name != profile.sheet:
                    continue
                if not profile.sheet and len(frame) < profile.header_row:  # a chart or an empty sheet
                    skipped.append(f"{name} › {sheet_name}")
                    continue
                parsed.extend(_profiled_sheet(frame, sheet_name, name, profile, aliases, zone_code))
                continue
            meta = reading.parse_name(f"{sheet_name}_2000B1.csv")
            if meta is None:
                skipped.append(f"{name} › {sheet_name}")
                continue
            meta.name, meta.zone_code, meta.year, meta.bimestre = f"{name} › {sheet_name}", zone_code, None, None
            meta.is_weekly = meta.is_weekly or "semaine" in name.lower()
            parsed.extend(_per_zone(reading.sheet_as_long(frame, 1, meta.name), meta, aliases))
            progress(n, len(sheets))
    else:
        raise ReadError(_("%(name)s : type de fichier non pris en charge (ZIP, CSV ou Excel .xlsx).", name=name))
    if not parsed:
        raise ReadError(_("%(name)s ne contient aucun fichier Flux Vision reconnu.", name=name))
    return parsed, skipped


def _per_zone(body: pd.DataFrame, meta: reading.FileInfo, aliases: dict[str, dict[str, str]]) -> list[Parsed]:
    """A sheet's rows, one part per zone it names: a sheet may hold several zones (a report with one row
    per territory), and each goes to its own zone (by its label, not by the workbook's code)."""
    if "ZoneObservation" not in body.columns:
        return [reading.normalise(body, meta, aliases)]
    keys = body["ZoneObservation"].map(fold)
    labels = [k for k in dict.fromkeys(keys) if k]
    if len(labels) <= 1:
        return [reading.normalise(body, meta, aliases)]
    return [reading.normalise(body[keys == k].copy(), replace(meta, zone_code=""), aliases) for k in labels]


def _profiled_sheet(frame: pd.DataFrame, sheet: str, name: str, profile: MappingProfile,
                    aliases: dict[str, dict[str, str]], zone_code: str) -> list[Parsed]:
    """A formatted report sheet read through a mapping profile, turned into the long layout."""
    body = reading.sheet_as_long(frame, profile.header_row, f"{name} › {sheet}")
    cols = list(body.columns)
    if profile.period_columns:
        periods = [c for c in cols if c in profile.period_columns]
        if not periods:
            raise ReadError(_("%(name)s › %(sheet)s : aucune des colonnes de période du profil n'existe.",
                              name=name, sheet=sheet))
        ids = ["line"] + ([profile.zone_column] if profile.zone_column in cols else [])
        body = body.melt(id_vars=ids, value_vars=periods, var_name="Date", value_name="Volume")
        body["Date"] = body["Date"].astype(str).str.slice(0, 10)
    else:
        for col in (profile.date_column, profile.value_column):
            if col not in cols:
                raise ReadError(_("%(name)s › %(sheet)s : la colonne « %(col)s » du profil manque.",
                                  name=name, sheet=sheet, col=col))
        body = body.rename(columns={profile.date_column: "Date", profile.value_column: "Volume"})
        body["Date"] = reading.excel_dates(body["Date"])
    if profile.zone_column and profile.zone_column in body.columns:
        body = body.rename(columns={profile.zone_column: "ZoneObservation"})
    body["CategorieVisiteur"] = profile.category
    body["Provenance"] = profile.provenance
    meta = reading.FileInfo(name=f"{name} › {sheet}", family=profile.family, breakdown="",
                            zone_code=profile.zone_code or zone_code, is_weekly=False)
    return _per_zone(body, meta, aliases)


# -- zones -----------------------------------------------------------------------------------------

def resolve_zone(code: str, label: str, report: dict) -> Zone:
    """The zone named by the file: by its code; by alias only for a file that names no code (an
    unknown code is a new zone, never another zone that happens to share its label); created (and
    reported) when unknown."""
    zone = None
    if code:
        zone = db.session.scalar(sa.select(Zone).where(Zone.code == code))
    if zone is None and not code and label:
        alias = db.session.scalar(sa.select(ZoneAlias).where(ZoneAlias.folded == fold(label)))
        zone = alias.zone if alias else None
    if zone is None and not code and label:
        # Workbooks name no code: the label itself (upper-cased, without spaces) becomes the code.
        code = fold(label).upper().replace(" ", "")[:50]
        zone = db.session.scalar(sa.select(Zone).where(Zone.code == code))
    if zone is None:
        if not code:
            raise ImportFailed(_("Impossible de savoir à quelle zone appartient un fichier : ni code dans son nom, "
                                 "ni colonne ZoneObservation."))
        zone = Zone(code=code, name=label or code)
        db.session.add(zone)
        db.session.flush()
        report.setdefault("new_zones", []).append(code)
    if label and not db.session.scalar(sa.select(ZoneAlias.id).where(ZoneAlias.folded == fold(label))):
        db.session.add(ZoneAlias(zone_id=zone.id, alias=label[:200], folded=fold(label)[:200]))
        db.session.flush()
    return zone


# -- writing -----------------------------------------------------------------------------------------

class _Pending:
    """The facts of an upload's files, inserted together (one COPY on PostgreSQL, where a COPY per
    file cost about as much again as the rows): held until a file replaces days of the same zone,
    family and breakdown (its delete must see them), and at the end of the files."""

    def __init__(self) -> None:
        self.columns: dict[str, list] = defaultdict(list)
        self.n = 0
        self.scopes: set[tuple] = set()

    def add(self, scope: tuple, columns: dict[str, list], n: int) -> None:
        for name, values in columns.items():
            self.columns[name].extend(values)
        self.n += n
        self.scopes.add(scope)

    def flush(self) -> None:
        if self.n:
            _bulk_insert(dict(self.columns))
        self.columns, self.n, self.scopes = defaultdict(list), 0, set()


def _write(parsed: Parsed, zone: Zone, imp: Import, report: dict, pending: _Pending) -> int:
    """Replace the rows of this zone, family, breakdown and days by the file's: the stored ones
    deleted, the file's added to ``pending`` (which must hold none of the same scope: ``run_import``
    inserts them first). Returns rows loaded."""
    info, rows = parsed.info, parsed.rows
    n = len(rows["line"])
    if not n:
        return 0
    days = pd.unique(rows["day"])  # a few dozen: min and max compare those only
    first, last = min(days), max(days)
    scope = sa.and_(Fact.zone_id == zone.id, Fact.family == info.family, Fact.breakdown == info.breakdown,
                    Fact.is_weekly.is_(info.is_weekly), Fact.day >= first, Fact.day <= last)
    if imp.is_provisional:
        final = db.session.scalar(sa.select(sa.func.count()).select_from(Fact).where(
            scope, Fact.is_provisional.is_(False)))
        if final:
            report.setdefault("skipped_provisional", []).append(info.name)
            return 0
    # On the table, not the ORM: no Fact object is ever loaded, so there is nothing to synchronise.
    db.session.connection().execute(sa.delete(Fact.__table__).where(scope))
    value = rows["value"]
    withheld = np.isnan(value)
    values = np.nan_to_num(value).astype(np.int64).astype(object)  # Python ints, as the drivers want them
    values[withheld] = None
    columns = {
        "zone_id": [zone.id] * n, "family": [info.family] * n, "breakdown": [info.breakdown] * n,
        "is_weekly": [info.is_weekly] * n, "day": rows["day"].tolist(), "category": rows["category"].tolist(),
        "provenance": rows["provenance"].tolist(), "origin": rows["origin"].tolist(),
        "profile": rows["profile"].tolist(), "other_place": rows["other_place"].tolist(),
        "value": values.tolist(), "is_total": rows["is_total"].tolist(),
        "is_provisional": [imp.is_provisional] * n, "import_id": [imp.id] * n}
    pending.add((zone.id, info.family, info.breakdown, info.is_weekly), columns, n)
    for year in range(first.year, last.year + 1):
        report.setdefault("_touched", set()).add((zone.id, year))
    if not info.is_weekly:  # the rows the year totals will add up without reading them back
        report.setdefault("_written", {}).setdefault((zone.id, info.family, info.breakdown), []).append(
            (first, last, rows))
    return n


def _bulk_insert(columns: dict[str, list]) -> None:
    """Insert facts fast, on the session's own connection (so in its transaction): ``bulk.insert_rows``."""
    conn = db.session.connection()
    if conn.dialect.name == "sqlite":
        # The days as SQLite stores them, each distinct day formatted once.
        iso = {d: d.isoformat() for d in set(columns["day"])}
        columns = dict(columns, day=[iso[d] for d in columns["day"]])
    insert_rows(conn, Fact.__table__, columns)


def refresh_year_totals(zone_id: int, year: int) -> None:
    """Rebuild a zone's year totals from its daily facts (weekly and total rows never add to them):
    what the benchmarks' fills and the tests compare the import's own totals with."""
    f = Fact
    start, end = date(year, 1, 1), date(year, 12, 31)
    db.session.execute(sa.delete(YearTotal).where(YearTotal.zone_id == zone_id, YearTotal.year == year))
    select = (sa.select(f.zone_id, sa.literal(year), f.family, f.breakdown, f.category, f.provenance, f.origin,
                        f.profile, sa.func.sum(f.value), sa.func.count(f.value))
              .where(f.zone_id == zone_id, f.day >= start, f.day <= end, f.is_weekly.is_(False),
                     f.is_total.is_(False))
              .group_by(f.zone_id, f.family, f.breakdown, f.category, f.provenance, f.origin, f.profile))
    db.session.execute(sa.insert(YearTotal).from_select(
        ["zone_id", "year", "family", "breakdown", "category", "provenance", "origin", "profile", "value", "days"],
        select))


def import_year_totals(zone_id: int, year: int, arrays: dict[tuple, np.ndarray]) -> None:
    """The year totals of the (family, breakdown) pairs whose series an import has just brought up to
    date (``series.import_series``), as ``refresh_year_totals`` computes them from the facts, added
    up from those series instead: each holds the 366 days of one key (weekly and total rows left
    out, as from the totals), so a key's total is the sum of its days with a value and its count
    those days (withheld ones are no value), over its other places. A few thousand series of
    numpy, where the facts are a hundred thousand rows."""
    if not arrays:
        return
    keys = list(arrays)
    matrix = np.stack([arrays[k] for k in keys])
    present = matrix >= 0  # WITHHELD and NO_ROW are negative
    sums = np.where(present, matrix, 0).sum(axis=1).tolist()
    counts = present.sum(axis=1).tolist()
    seen = (matrix != series.NO_ROW).any(axis=1).tolist()  # a key with a line (withheld ones included)
    totals: dict[tuple, list[int]] = {}
    for key, total, count, has_row in zip(keys, sums, counts, seen, strict=True):
        if has_row:
            entry = totals.setdefault(key[:6], [0, 0])  # other_place is not a key of the totals
            entry[0] += total
            entry[1] += count
    db.session.execute(sa.delete(YearTotal).where(
        YearTotal.zone_id == zone_id, YearTotal.year == year,
        sa.tuple_(YearTotal.family, YearTotal.breakdown).in_(sorted({key[:2] for key in keys}))))
    if totals:
        names = ["family", "breakdown", "category", "provenance", "origin", "profile"]
        columns = {name: [key[i] for key in totals] for i, name in enumerate(names)}
        insert_rows(db.session.connection(), YearTotal.__table__, dict(
            columns, zone_id=[zone_id] * len(totals), year=[year] * len(totals),
            value=[total if count else None for total, count in totals.values()],
            days=[count for _total, count in totals.values()]))


def detect_outages(zone_id: int, year: int) -> list[date]:
    """Days whose whole total is zero while the neighbouring days are large: an outage of the network.
    Reads the daily totals of the ``Diurne`` family (else ``Nuitee``), no breakdown."""
    for family in ("Diurne", "Nuitee"):
        rows = db.session.execute(
            sa.select(Fact.day, sa.func.sum(Fact.value), sa.func.count(Fact.value))
            .where(Fact.zone_id == zone_id, Fact.family == family, Fact.breakdown == "", Fact.is_weekly.is_(False),
                   Fact.day >= date(year, 1, 1) - timedelta(days=3), Fact.day <= date(year, 12, 31) + timedelta(days=3))
            .group_by(Fact.day).order_by(Fact.day)).all()
        if rows:
            break
    else:
        return []
    totals = {d if isinstance(d, date) else date.fromisoformat(str(d)): (s, n) for d, s, n in rows}
    found = []
    for day, (total, count) in totals.items():
        if day.year != year or count == 0 or (total or 0) != 0:
            continue
        neighbours = [totals[day + timedelta(days=k)][0] or 0 for k in (-3, -2, -1, 1, 2, 3)
                      if day + timedelta(days=k) in totals]
        neighbours = sorted(neighbours)
        if len(neighbours) >= 2 and neighbours[len(neighbours) // 2] >= 100:
            found.append(day)
    existing = {q.day: q for q in db.session.scalars(sa.select(DayQuality).where(
        DayQuality.zone_id == zone_id, DayQuality.day >= date(year, 1, 1), DayQuality.day <= date(year, 12, 31)))}
    for day, q in existing.items():
        if q.source == "auto" and day not in found:
            db.session.delete(q)
    for day in found:
        if day not in existing:
            db.session.add(DayQuality(zone_id=zone_id, day=day, flag="outage", source="auto"))
    db.session.flush()
    return found


def run_import(imp: Import, data: bytes, progress=lambda pct: None) -> Import:
    """Read, check and load one upload into the store (in the caller's transaction)."""
    digest = sha256(data)
    previous = duplicate_of(digest)
    if previous is not None and previous.id != imp.id:
        raise ImportFailed(_("Ce fichier a déjà été importé le %(date)s (import n° %(id)d) : rien n'a changé.",
                             date=previous.created_at.strftime("%d/%m/%Y"), id=previous.id))
    imp.sha256 = digest
    profile = db.session.get(MappingProfile, imp.mapping_profile_id) if imp.mapping_profile_id else None
    try:
        parsed, skipped = read_upload(imp.filename, data, profile,
                                      progress=lambda done, total: progress(int(40 * done / max(total, 1))))
    except ReadError as exc:
        raise ImportFailed(str(exc)) from exc
    report: dict = {"files": [], "skipped_files": skipped, "unknown_labels": {}, "new_zones": []}
    issues: list[ImportIssue] = []
    loaded = read = rejected = 0
    zones: dict[tuple[str, str], Zone] = {}  # a delivery's dozen files name the same zone: looked up once
    pending = _Pending()
    for n, p in enumerate(parsed, 1):
        key = (p.info.zone_code, p.zone_label)
        zone = zones.get(key) or zones.setdefault(key, resolve_zone(*key, report))
        if (zone.id, p.info.family, p.info.breakdown, p.info.is_weekly) in pending.scopes:
            pending.flush()  # an earlier file of this upload has these days: the delete must see its rows
        count = _write(p, zone, imp, report, pending)
        read += p.rows_read
        loaded += count
        rejected += len(p.rejected)
        report["files"].append({"name": p.info.name, "family": p.info.family, "breakdown": p.info.breakdown,
                                "zone": zone.code, "weekly": p.info.is_weekly, "read": p.rows_read,
                                "loaded": count, "rejected": len(p.rejected)})
        for dimension, labels in p.unknown.items():
            report["unknown_labels"].setdefault(dimension, set()).update(labels)
        for line, reason in p.rejected:
            if len(issues) < MAX_ISSUES:
                issues.append(ImportIssue(import_id=imp.id, file=p.info.name[:255], line=line, severity="error",
                                          message=reason))
        progress(40 + int(45 * n / len(parsed)))
    pending.flush()
    outages: dict[str, list[str]] = {}
    written = report.pop("_written", {})
    for zone_id, year in sorted(report.pop("_touched", set())):
        import_year_totals(zone_id, year, series.import_series(db.session.connection(), zone_id, year, written))
        days = detect_outages(zone_id, year)
        if days:
            code = db.session.get(Zone, zone_id).code
            outages.setdefault(code, []).extend(d.isoformat() for d in days)
    progress(95)
    report["outage_days"] = outages
    report["unknown_labels"] = {k: sorted(v) for k, v in report["unknown_labels"].items()}
    db.session.add_all(issues)
    # The zones really loaded replace those guessed from the file names when the upload was queued.
    set_import_zones(imp.id, {f["zone"] for f in report["files"]})
    imp.rows_read, imp.rows_loaded, imp.rows_rejected = read, loaded, rejected
    imp.report = report
    imp.status = "done"
    imp.finished_at = utcnow()
    db.session.flush()
    return imp


def format_report(imp: Import) -> str:
    """The report as the CLI prints it (French)."""
    r = imp.report or {}
    lines = [_("Import n° %(id)d : %(name)s", id=imp.id, name=imp.filename),
             _("Lignes lues : %(n)s, chargées : %(l)s, rejetées : %(r)s", n=format_count(imp.rows_read),
               l=format_count(imp.rows_loaded), r=format_count(imp.rows_rejected))]
    for f in r.get("files", []):
        lines.append(f"  {f['name']} ({f['zone']}) : {f['loaded']}/{f['read']}")
    if r.get("skipped_files"):
        lines.append(_("Fichiers ignorés (famille inconnue) : %(list)s", list=", ".join(r["skipped_files"])))
    if r.get("skipped_provisional"):
        lines.append(_("Fichiers provisoires non chargés (données définitives déjà présentes) : %(list)s",
                       list=", ".join(r["skipped_provisional"])))
    for dimension, labels in (r.get("unknown_labels") or {}).items():
        lines.append(_("Libellés inconnus (%(dim)s) : %(list)s", dim=DIMENSION_LABELS.get(dimension, dimension),
                       list=", ".join(labels)))
    if r.get("new_zones"):
        lines.append(_("Nouvelles zones à rattacher à un territoire : %(list)s", list=", ".join(r["new_zones"])))
    for code, days in (r.get("outage_days") or {}).items():
        lines.append(_("Jours de panne détectés (%(zone)s) : %(list)s", zone=code, list=", ".join(days)))
    issues = db.session.scalars(sa.select(ImportIssue).where(ImportIssue.import_id == imp.id)
                                .order_by(ImportIssue.id).limit(50)).all()
    for i in issues:
        lines.append(_("  rejet : %(file)s ligne %(line)s : %(msg)s", file=i.file, line=i.line, msg=i.message))
    return "\n".join(lines)
