"""Reading Flux Vision files into long rows (pandas), before anything touches the database.

What is read: ZIPs of CSVs (one ZIP per zone and bimestre), loose CSVs, and Excel workbooks (one
sheet per family in the same long layout, or a formatted sheet read through a mapping profile).
Family and breakdown come from the file name and must be confirmed by the header. Archives are
checked before they are opened (size, entries, compression ratio, entry names).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import PurePosixPath

import pandas as pd
from flask_babel import gettext as _

from intranet.fvt_tab.reference import INDEXES, TOTAL_LABELS, fold

FILE_RE = re.compile(
    r"^(?P<family>[A-Za-z]+(?:_(?:Soir|Veille))?)(?:_(?P<breakdown>Departement|Pays|Regions|Age|Geolife))?"
    r"_(?P<year>20\d\d)B(?P<bimestre>[1-6])(?:_(?P<zone>.+))?\.(?:csv|txt)$", re.IGNORECASE)
FAMILIES = {"Nuitee", "Diurne", "Arrivee", "Depart", "SejourDuree", "DureePresence", "Recurrence",
            "LieuNuitee_Soir", "LieuNuitee_Veille", "LieuActivite_Soir", "LieuActivite_Veille"}
_FAMILY_BY_FOLD = {f.lower(): f for f in FAMILIES}
BREAKDOWNS = {"departement": "Departement", "pays": "Pays", "regions": "Regions", "age": "Age", "geolife": "Geolife"}

# Header aliases: what older or other files call the columns.
HEADER_ALIASES = {
    "zone": "ZoneObservation", "zoneobservation": "ZoneObservation", "zone observation": "ZoneObservation",
    "categorievisiteurs": "CategorieVisiteur", "categorievisiteur": "CategorieVisiteur",
    "categorie visiteur": "CategorieVisiteur", "categorie": "CategorieVisiteur",
    "provenance": "Provenance", "provenances": "Provenance", "date": "Date", "jour": "Date", "semaine": "Date",
    "volume": "Volume", "valeur": "Volume", "nomdepartement": "NomDepartement", "departement": "NomDepartement",
    "nomregion": "NomRegion", "nomnouvelleregion": "NomNouvelleRegion", "pays": "Pays", "age": "Age",
    "trancheage": "Age", "geolife": "Geolife", "dureesejour": "DureeSejour", "dureesejournum": "DureeSejourNum",
}
# The column a breakdown needs in the header (the file name says the breakdown, the header confirms it).
BREAKDOWN_COLUMN = {"Departement": "NomDepartement", "Pays": "Pays", "Age": "Age", "Geolife": "Geolife",
                    "Regions": "NomNouvelleRegion"}
REQUIRED = ("Date", "Provenance", "CategorieVisiteur", "Volume")

# Archive limits (ZIP deliveries and xlsx workbooks).
MAX_ENTRIES = 2000
MAX_TOTAL_BYTES = 1024 * 1024 * 1024  # uncompressed
MAX_RATIO = 200  # a ZIP bomb compresses far more than CSVs (about 10:1)


class ReadError(ValueError):
    """A French message: the whole import is refused and nothing changes."""


@dataclass
class FileInfo:
    name: str
    family: str
    breakdown: str
    zone_code: str
    is_weekly: bool
    year: int | None = None
    bimestre: int | None = None


@dataclass
class Parsed:
    """One file (or sheet) read: its long rows, and what went wrong line by line."""

    info: FileInfo
    rows: pd.DataFrame  # columns below, one per kept line; ``line`` = the line number in the file
    rows_read: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)
    unknown: dict[str, set[str]] = field(default_factory=dict)  # dimension → labels
    zone_label: str = ""


def parse_name(name: str) -> FileInfo | None:
    """The family, breakdown and zone of a file name; None for a file of no known family."""
    base = PurePosixPath(name).name
    weekly = "semaine" in base.lower()
    cleaned = re.sub(r"_?Semaine(?=_|\b)", "", base, flags=re.IGNORECASE)
    m = FILE_RE.match(cleaned)
    if not m:
        return None
    family = _FAMILY_BY_FOLD.get(m.group("family").lower())
    if family is None:
        return None
    breakdown = BREAKDOWNS.get((m.group("breakdown") or "").lower(), "")
    return FileInfo(name=base, family=family, breakdown=breakdown, zone_code=(m.group("zone") or "").strip(),
                    is_weekly=weekly, year=int(m.group("year")), bimestre=int(m.group("bimestre")))


def zone_code_in(name: str) -> str:
    """The zone code a workbook's name carries (``Livraison_2024B4_CARLADES0.xlsx`` → CARLADES0), or ""."""
    stem = PurePosixPath(name).stem
    meta = parse_name(stem + ".csv")
    if meta is not None:
        return meta.zone_code
    m = re.search(r"_20\d\dB[1-6]_(?P<zone>[A-Za-z0-9-]+)$", stem)
    return m.group("zone") if m else ""


_EXCEL_DATE_RE = r"^(\d{4}-\d\d-\d\d)[ T]00:00:00$"


def excel_dates(values: pd.Series) -> pd.Series:
    """Cells Excel holds as dates come back as « 2024-07-14 00:00:00 »: the day only."""
    return values.astype(str).str.strip().str.replace(_EXCEL_DATE_RE, r"\1", regex=True)


# -- archives --------------------------------------------------------------------------------------

def check_archive(data: bytes, what: str) -> zipfile.ZipFile:
    """Open a ZIP (or xlsx) after checking it cannot hurt: entries, sizes, ratio, names."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        raise ReadError(_("%(what)s est endommagé ou n'est pas une archive ZIP valide.", what=what)) from exc
    if len(infos) > MAX_ENTRIES:
        raise ReadError(_("%(what)s contient trop de fichiers (%(n)d).", what=what, n=len(infos)))
    total = 0
    for info in infos:
        name = info.filename
        parts = PurePosixPath(name.replace("\\", "/")).parts
        if name.startswith(("/", "\\")) or ".." in parts or re.match(r"^[A-Za-z]:", name) or "\x00" in name:
            raise ReadError(_("%(what)s contient un chemin interdit : %(name)s", what=what, name=name[:200]))
        total += info.file_size
        if info.file_size > 1024 * 1024 and info.compress_size and info.file_size / info.compress_size > MAX_RATIO:
            raise ReadError(_("%(what)s ressemble à une bombe de décompression (taux %(ratio)d:1 pour %(name)s).",
                              what=what, ratio=info.file_size // max(info.compress_size, 1), name=name[:200]))
    if total > MAX_TOTAL_BYTES:
        raise ReadError(_("%(what)s est trop gros une fois décompressé.", what=what))
    # Many small entries (each under the size checked above) can make a bomb together.
    packed = sum(info.compress_size for info in infos)
    if total > 1024 * 1024 and total / max(packed, 1) > MAX_RATIO:
        raise ReadError(_("%(what)s ressemble à une bombe de décompression (taux %(ratio)d:1 sur l'ensemble "
                          "de ses fichiers).", what=what, ratio=total // max(packed, 1)))
    return archive


def read_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, what: str) -> bytes:
    """An entry's bytes, never more than it declared (a lying header cannot inflate more)."""
    limit = info.file_size
    try:
        with archive.open(info) as f:
            data = f.read(limit + 1)
    # RuntimeError: an encrypted entry (a password would be needed).
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, NotImplementedError, RuntimeError) as exc:
        raise ReadError(_("%(what)s : le fichier %(name)s est endommagé.", what=what, name=info.filename)) from exc
    if len(data) > limit:
        raise ReadError(_("%(what)s : le fichier %(name)s est plus gros qu'annoncé.", what=what, name=info.filename))
    return data


# -- CSV -------------------------------------------------------------------------------------------

def decode(data: bytes, name: str) -> str:
    """UTF-8 (with or without BOM), else Windows-1252."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise ReadError(_("%(name)s : encodage illisible (ni UTF-8 ni Windows-1252).", name=name)) from exc


def _separator(header: str) -> str:
    counts = {sep: header.count(sep) for sep in (";", ",", "\t", "|")}
    return max(counts, key=counts.get) if max(counts.values()) else ";"


def _canonical(header: str) -> str:
    key = fold(header).replace(" ", "")
    return HEADER_ALIASES.get(key, HEADER_ALIASES.get(fold(header), header.strip()))


def _records(text: str, sep: str) -> list[tuple[int, int]]:
    """(first line, number of fields) of every non-blank record; quoted fields respected."""
    if '"' not in text:
        return [(n, ln.count(sep) + 1) for n, ln in enumerate(text.splitlines(), 1) if ln.strip()]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    out, start = [], 1
    for row in reader:
        if any(cell.strip() for cell in row):
            out.append((start, len(row)))
        start = reader.line_num + 1
    return out


def read_csv(data: bytes, info: FileInfo) -> pd.DataFrame:
    """The file as a DataFrame of strings with canonical column names and a ``line`` column.

    Every line must have as many fields as the header: a line cut short at the end is a truncated
    file, a line with more or fewer fields elsewhere a malformed one (pandas would otherwise shift
    the columns or read the missing volume as withheld)."""
    text = decode(data, info.name)
    if not text.strip():
        raise ReadError(_("%(name)s est vide.", name=info.name))
    header_line = text.split("\n", 1)[0]
    sep = _separator(header_line)
    records = _records(text, sep)
    n_fields = records[0][1]
    for n, (line, count) in enumerate(records[1:], 2):
        if count == n_fields:
            continue
        if n == len(records) and count < n_fields:
            raise ReadError(_("%(name)s est tronqué ou mal formé : la ligne %(line)d est incomplète.",
                              name=info.name, line=line))
        raise ReadError(_("%(name)s est mal formé : la ligne %(line)d a %(found)d champs au lieu de %(expected)d.",
                          name=info.name, line=line, found=count, expected=n_fields))
    try:
        df = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, na_filter=False,
                         engine="c", skip_blank_lines=True, index_col=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise ReadError(_("%(name)s est mal formé (guillemets ou séparateurs incohérents).",
                          name=info.name)) from exc
    df.columns = [_canonical(c) for c in df.columns]
    lines = [line for line, _count in records[1:]]
    df["line"] = lines if len(lines) == len(df) else range(2, len(df) + 2)
    return df


# -- normalisation -----------------------------------------------------------------------------------

def _mapper(dimension: str, extra: dict[str, str]):
    index = INDEXES[dimension]

    def code(label: str) -> str | None:
        key = fold(label)
        return extra.get(key) or index.get(key)
    return code


def normalise(df: pd.DataFrame, info: FileInfo, extra_aliases: dict[str, dict[str, str]]) -> Parsed:
    """Long rows with reference codes; rejected lines and unknown labels reported."""
    parsed = Parsed(info=info, rows=df, rows_read=len(df))
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise ReadError(_("%(name)s : colonne(s) absente(s) : %(cols)s.", name=info.name, cols=", ".join(missing)))
    needed = BREAKDOWN_COLUMN.get(info.breakdown)
    if info.breakdown == "Regions" and needed not in df.columns and "NomRegion" in df.columns:
        needed = "NomRegion"
    if needed and needed not in df.columns:
        raise ReadError(_("%(name)s : le nom annonce la ventilation « %(b)s » mais l'en-tête n'a pas la colonne "
                          "%(col)s.", name=info.name, b=info.breakdown, col=needed))
    if info.family == "SejourDuree" and not {"DureeSejour", "DureeSejourNum"} & set(df.columns):
        raise ReadError(_("%(name)s : un fichier SejourDuree doit avoir la colonne DureeSejour.", name=info.name))
    if "ZoneObservation" in df.columns and len(df):
        parsed.zone_label = str(df["ZoneObservation"].iloc[0]).strip()

    reasons = pd.Series("", index=df.index, dtype=object)

    def reject(mask, reason):
        nonlocal reasons
        mask = mask & (reasons == "")
        reasons = reasons.mask(mask, reason)

    days = pd.to_datetime(df["Date"].str.strip(), format="%Y-%m-%d", errors="coerce")
    alt = days.isna() & df["Date"].str.strip().ne("")
    if alt.any():  # 14/07/2024 in files re-saved by a spreadsheet
        days = days.fillna(pd.to_datetime(df["Date"].str.strip(), format="%d/%m/%Y", errors="coerce"))
    reject(days.isna(), _("date illisible"))

    raw_volume = df["Volume"].str.replace(r"[\s\u00a0\u202f]", "", regex=True)
    volume = pd.to_numeric(raw_volume.str.replace(",", ".", regex=False), errors="coerce")
    reject(raw_volume.ne("") & volume.isna(), _("volume illisible"))
    reject(volume < 0, _("volume négatif"))

    out = pd.DataFrame(index=df.index)
    out["line"] = df["line"]
    out["day"] = days.dt.date
    out["value"] = volume.where(raw_volume.ne(""))  # blank: withheld (NULL), never 0
    out["is_total"] = False

    def mapped(column: str, dimension: str, label: str):
        values = df[column].astype(str)
        uniques = values.unique()
        code_of = _mapper(dimension, extra_aliases.get(dimension, {}))
        table = {u: code_of(u) for u in uniques}
        codes = values.map(table)
        unknown = {u for u, c in table.items() if c is None and u.strip() and fold(u) not in TOTAL_LABELS}
        if unknown:
            parsed.unknown.setdefault(dimension, set()).update(unknown)
        return codes, values

    cat, cat_raw = mapped("CategorieVisiteur", "category", "catégorie")
    reject(cat.isna(), _("catégorie inconnue"))
    prov, prov_raw = mapped("Provenance", "provenance", "provenance")
    reject(prov.isna(), _("provenance inconnue"))
    out["category"], out["provenance"] = cat, prov
    out["origin"], out["profile"], out["other_place"] = "", "", ""

    if info.breakdown in ("Departement", "Pays", "Regions"):
        column = needed
        dimension = {"Departement": "department", "Pays": "country", "Regions": "region"}[info.breakdown]
        codes, raw = mapped(column, dimension, column)
        total = raw.map({u: fold(u) in TOTAL_LABELS for u in raw.unique()})
        out["is_total"] = total
        out["origin"] = codes.where(~total, "TOTAL")
        reject(codes.isna() & ~total, _("libellé inconnu (%(col)s)", col=column))
    elif info.breakdown in ("Age", "Geolife"):
        dimension = "age" if info.breakdown == "Age" else "geolife"
        codes, _raw = mapped(needed, dimension, needed)
        out["profile"] = codes
        reject(codes.isna(), _("libellé inconnu (%(col)s)", col=needed))
    if info.family == "SejourDuree":
        if "DureeSejourNum" in df.columns:
            nights = pd.to_numeric(df["DureeSejourNum"], errors="coerce")
            nights = nights.where(nights.isna(), nights.clip(upper=13))
            out["profile"] = nights.astype("Int64").astype(str).replace("<NA>", "")
            reject(nights.isna(), _("durée de séjour illisible"))
        else:
            codes, _raw = mapped("DureeSejour", "stay", "DureeSejour")
            out["profile"] = codes
            reject(codes.isna(), _("durée de séjour inconnue"))
    elif info.family in ("DureePresence", "Recurrence"):
        column = next((c for c in df.columns if fold(c).replace(" ", "") in (info.family.lower(), "classe")), None)
        if column:
            out["profile"] = df[column].map({u: fold(u)[:60] for u in df[column].unique()})
    if info.family.startswith("Lieu"):
        dept = next((c for c in df.columns if c.lower().startswith("deptzone")), None)
        if dept is None:
            raise ReadError(_("%(name)s : la colonne du département de l'autre lieu (DeptZone…) manque.",
                              name=info.name))
        out["other_place"] = df[dept].astype(str).str.strip().str.upper().str[:10]

    bad = reasons != ""
    parsed.rejected = [(int(line), str(reason)) for line, reason in zip(df["line"][bad], reasons[bad], strict=True)]
    kept = out[~bad].copy()
    keys = ["day", "category", "provenance", "origin", "profile", "other_place"]
    dup = kept.duplicated(subset=keys, keep="last")
    if dup.any():
        parsed.rejected += [(int(line), _("ligne en double (la dernière est gardée)")) for line in kept["line"][dup]]
        kept = kept[~dup]
    parsed.rows = kept
    return parsed


# -- Excel ---------------------------------------------------------------------------------------------

def read_workbook(data: bytes, name: str) -> dict[str, pd.DataFrame]:
    """Every sheet as a DataFrame of strings (python-calamine), after the archive checks."""
    check_archive(data, name)
    try:
        sheets = pd.read_excel(io.BytesIO(data), sheet_name=None, dtype=str, engine="calamine", header=None,
                               keep_default_na=False, na_filter=False)
    except Exception as exc:  # calamine raises its own error types for damaged workbooks
        raise ReadError(_("%(name)s : classeur Excel illisible ou endommagé.", name=name)) from exc
    return sheets


def sheet_as_long(frame: pd.DataFrame, header_row: int = 1, what: str = "") -> pd.DataFrame:
    """A sheet in the long layout: the header on ``header_row`` (1-based), canonical names, ``line``."""
    frame = frame.reset_index(drop=True)
    if len(frame) < header_row:
        raise ReadError(_("%(what)s : la feuille n'a pas de ligne %(row)d, où l'en-tête est attendu.",
                          what=what, row=header_row))
    header = excel_dates(frame.iloc[header_row - 1]).tolist()  # period columns may be real dates
    body = frame.iloc[header_row:].copy()
    body.columns = [_canonical(h) if h else f"col{i}" for i, h in enumerate(header)]
    body = body.astype(str)
    lines = [i + header_row + 1 for i in range(len(body))]
    keep = ~(body == "").all(axis=1)
    body = body[keep].copy()
    if "Date" in body.columns:
        body["Date"] = excel_dates(body["Date"])
    body["line"] = [line for line, k in zip(lines, keep, strict=True) if k]
    return body
