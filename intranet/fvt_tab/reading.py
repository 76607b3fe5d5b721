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
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import PurePosixPath

import numpy as np
import pandas as pd
from flask_babel import gettext as _

from intranet.core.i18n import lazy_gettext as _l
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
# What a volume may hold besides digits: thousands separators (« 1 234 », « 1\u202f234 »).
_VOLUME_SPACES_RE = re.compile(r"[\s\u00a0\u202f]")
# The columns normalise reads (besides DeptZone… and the class column of DureePresence / Recurrence).
USED_COLUMNS = {*REQUIRED, "ZoneObservation", *BREAKDOWN_COLUMN.values(), "NomRegion", "DureeSejour", "DureeSejourNum"}

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
    # The kept lines as named numpy arrays of one length (``line``: the line number in the file; day,
    # value, is_total, category, provenance, origin, profile, other_place): building a DataFrame of
    # them cost more than everything the importer does with them.
    rows: dict[str, np.ndarray]
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
    return _decoded(data, name)[0]


def _decoded(data: bytes, name: str) -> tuple[str, str]:
    """The text and the encoding it was read with."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        try:
            return data.decode("cp1252"), "cp1252"
        except UnicodeDecodeError as exc:
            raise ReadError(_("%(name)s : encodage illisible (ni UTF-8 ni Windows-1252).", name=name)) from exc


def _separator(header: str) -> str:
    counts = {sep: header.count(sep) for sep in (";", ",", "\t", "|")}
    return max(counts, key=counts.get) if max(counts.values()) else ";"


@lru_cache(maxsize=1024)
def _canonical(header: str) -> str:
    key = fold(header).replace(" ", "")
    return HEADER_ALIASES.get(key, HEADER_ALIASES.get(fold(header), header.strip()))


def _records(data: bytes, text: str, encoding: str, sep: str) -> tuple[np.ndarray, np.ndarray]:
    """(first line, number of fields) of every non-blank record, as two arrays; quoted fields respected."""
    if '"' not in text and data.count(b"\r") == data.count(b"\r\n"):
        # The common case, counted on the bytes at C speed: lines end at \n (\r\n included), and the
        # separator and the line ends are single bytes in UTF-8 as in Windows-1252.
        buf = np.frombuffer(data, dtype=np.uint8)
        ends = np.flatnonzero(buf == 10)
        if not data.endswith(b"\n"):
            ends = np.append(ends, len(buf))
        starts = np.concatenate(([0], ends[:-1] + 1))
        seps = np.flatnonzero(buf == ord(sep))
        counts = np.searchsorted(seps, ends) - np.searchsorted(seps, starts) + 1
        numbers = np.arange(1, len(ends) + 1)
        # A line without a separator may be blank (what str.strip calls blank): the few checked one by one.
        maybe_blank = np.flatnonzero(counts == 1)
        blank = [i for i in maybe_blank.tolist()
                 if not data[starts[i]:ends[i]].decode(encoding, errors="replace").lstrip("\ufeff").strip()]
        if blank:
            keep = np.ones(len(ends), dtype=bool)
            keep[blank] = False
            numbers, counts = numbers[keep], counts[keep]
        return numbers, counts
    out: list[tuple[int, int]] = []
    if '"' not in text:
        out = [(n, ln.count(sep) + 1) for n, ln in enumerate(text.splitlines(), 1) if ln.strip()]
    else:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
        start = 1
        for row in reader:
            if any(cell.strip() for cell in row):
                out.append((start, len(row)))
            start = reader.line_num + 1
    return np.array([n for n, _c in out], dtype=np.int64), np.array([c for _n, c in out], dtype=np.int64)


def _used(info: FileInfo):
    """Whether ``normalise`` reads a column (by its name in the file): the others (weekday, holidays,
    old region names…) are never turned into Python strings."""
    def used(header: str) -> bool:
        name = _canonical(header)
        return (name in USED_COLUMNS or name.lower().startswith("deptzone")
                or fold(name).replace(" ", "") in (info.family.lower(), "classe"))
    return used


def _parse(data: bytes, encoding: str, sep: str, info: FileInfo) -> pd.DataFrame:
    """pandas' C parser on the bytes: the volume straight to floats (only a blank is missing: withheld),
    the other columns as text (the reader makes one Python string per distinct text of a column, and
    ``normalise`` numbers them: ``_distinct``; read as categories instead, pandas spends twice as long
    building and sorting the categories); a volume column that is not plain numbers (« 1 234 »,
    « 12,5 ») is read as text and parsed by ``normalise``."""
    text = dict(sep=sep, encoding="utf-8-sig" if encoding == "utf-8" else encoding, engine="c",
                keep_default_na=False, skip_blank_lines=True, index_col=False, usecols=_used(info),
                low_memory=False)
    header = next(csv.reader(io.StringIO(data[:data.find(b"\n")].decode(encoding, errors="replace")
                                         .lstrip("\ufeff")), delimiter=sep), [])
    volume = [h for h in header if _canonical(h) == "Volume"]
    if len(volume) == 1:
        try:
            return pd.read_csv(io.BytesIO(data), dtype=defaultdict(lambda: str, {volume[0]: "float64"}),
                               na_values={volume[0]: [""]}, **text)
        except ValueError:
            pass  # not plain numbers: read as text below
    return pd.read_csv(io.BytesIO(data), dtype=str, na_filter=False, **text)


def read_csv(data: bytes, info: FileInfo) -> pd.DataFrame:
    """The file as a DataFrame of the columns ``normalise`` reads (text, the volume as floats when it
    is plain numbers), with canonical column names and a ``line`` column.

    Every line must have as many fields as the header: a line cut short at the end is a truncated
    file, a line with more or fewer fields elsewhere a malformed one (pandas would otherwise shift
    the columns or read the missing volume as withheld)."""
    text, encoding = _decoded(data, info.name)
    if not text.strip():
        raise ReadError(_("%(name)s est vide.", name=info.name))
    header_line = text.split("\n", 1)[0]
    sep = _separator(header_line)
    numbers, counts = _records(data, text, encoding, sep)
    n_fields = counts[0]
    wrong = np.flatnonzero(counts[1:] != n_fields)
    if len(wrong):
        n = int(wrong[0]) + 1
        line, count = int(numbers[n]), int(counts[n])
        if n == len(counts) - 1 and count < n_fields:
            raise ReadError(_("%(name)s est tronqué ou mal formé : la ligne %(line)d est incomplète.",
                              name=info.name, line=line))
        raise ReadError(_("%(name)s est mal formé : la ligne %(line)d a %(found)d champs au lieu de %(expected)d.",
                          name=info.name, line=line, found=count, expected=int(n_fields)))
    try:
        df = _parse(data, encoding, sep, info)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise ReadError(_("%(name)s est mal formé (guillemets ou séparateurs incohérents).",
                          name=info.name)) from exc
    df.columns = [_canonical(c) for c in df.columns]
    lines = numbers[1:]
    df["line"] = lines if len(lines) == len(df) else np.arange(2, len(df) + 2)
    return df


# -- normalisation -----------------------------------------------------------------------------------

def _mapper(dimension: str, extra: dict[str, str]):
    index = INDEXES[dimension]

    def code(label: str) -> str | None:
        key = _folded(label)
        return extra.get(key) or index.get(key)
    return code


def _objects(values: list) -> np.ndarray:
    """A list as a 1-d array of Python objects (None kept as None)."""
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


@dataclass
class _Coded:
    """A column as its distinct values and each row's index into them: what is parsed or mapped is
    the few distinct values, and it reaches the rows by indexing."""

    values: np.ndarray  # of Python objects
    idx: np.ndarray  # one per row

    @classmethod
    def constant(cls, value: object, n: int) -> _Coded:
        return cls(_objects([value]), np.zeros(n, dtype=np.intp))

    def rows(self, mask: np.ndarray) -> np.ndarray:
        return self.values[self.idx[mask]]

    def groups(self) -> tuple[np.ndarray, int]:
        """Each row's number, equal for equal values (None included), and how many numbers."""
        # A few dozen values (texts, days, None): a dict numbers them faster than pandas is called.
        first: dict = {}
        numbers = np.array([first.setdefault(v, len(first)) for v in self.values.tolist()], dtype=np.intp)
        return numbers[self.idx], len(first)


def _distinct(series: pd.Series) -> _Coded:
    """A column of text as its distinct values (each parsed or mapped once) and each row's index."""
    idx, uniques = pd.factorize(series.to_numpy(dtype=object), use_na_sentinel=False)
    return _Coded(_objects([str(u) for u in uniques]), idx)


@lru_cache(maxsize=4096)
def _day(text: str) -> date | None:
    """A day as Orange writes it (2024-07-14) or as a spreadsheet re-saves it (14/07/2024); None for
    anything else. Remembered: a delivery's files repeat the same days."""
    text = text.strip()
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, pattern).date()  # noqa: DTZ007 (a calendar day, no time)
        except ValueError:
            continue
    return None


@lru_cache(maxsize=4096)
def _folded(label: str) -> str:
    """``fold``, remembered: the same labels come back in every file of a delivery."""
    return fold(label)


def normalise(df: pd.DataFrame, info: FileInfo, extra_aliases: dict[str, dict[str, str]]) -> Parsed:
    """Long rows with reference codes; rejected lines and unknown labels reported.

    Vectorised: every column is split into its distinct values and each row's index into them
    (``_distinct``); the distinct values are parsed or mapped (a few dozen labels or dates per file),
    and the results reach the rows by indexing. A rejected row keeps the first reason found."""
    parsed = Parsed(info=info, rows={}, rows_read=len(df))
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

    n = len(df)
    reasons: list[str] = [""]  # reason codes: 0 = kept
    reason = np.zeros(n, dtype=np.int16)

    def reject(mask: np.ndarray, text) -> None:
        """The rows of ``mask`` not yet rejected are, for ``text`` (lazy: translated only when used)."""
        mask = mask & (reason == 0)
        if mask.any():
            reasons.append(str(text))
            reason[mask] = len(reasons) - 1

    # Dates: each distinct text parsed once (ISO, else 14/07/2024 from files re-saved by a spreadsheet).
    dates = _distinct(df["Date"])
    day = _Coded(_objects([_day(text) for text in dates.values]), dates.idx)
    reject(np.array([d is None for d in day.values], dtype=bool)[day.idx], _l("date illisible"))

    # Volumes: blank is withheld (NULL, never 0); « 1 234 » and « 12,5 » as people write them.
    if pd.api.types.is_float_dtype(df["Volume"].dtype):  # read_csv parsed them: NaN only for a blank
        number = df["Volume"].to_numpy(dtype=float)
        blank = np.isnan(number)
    else:
        volumes = _distinct(df["Volume"])
        numbers = pd.to_numeric(pd.Series(volumes.values, dtype=object), errors="coerce").to_numpy(dtype=float,
                                                                                               copy=True)
        blanks = np.zeros(len(numbers), dtype=bool)
        for i in np.flatnonzero(np.isnan(numbers)).tolist():  # the blanks and the odd ones only
            raw = _VOLUME_SPACES_RE.sub("", volumes.values[i])
            blanks[i] = raw == ""
            if raw:
                numbers[i] = pd.to_numeric(pd.Series([raw.replace(",", ".")], dtype=object), errors="coerce")[0]
        number, blank = numbers[volumes.idx], blanks[volumes.idx]
    reject(~blank & ~np.isfinite(number), _l("volume illisible"))  # « inf » would not fit a BIGINT
    reject(number < 0, _l("volume négatif"))

    def mapped(column: str, dimension: str) -> tuple[_Coded, np.ndarray, np.ndarray]:
        """The column's codes (None: unknown label), each row's « unknown » flag, and the labels."""
        labels = _distinct(df[column])
        code_of = _mapper(dimension, extra_aliases.get(dimension, {}))
        codes = _Coded(_objects([code_of(u) for u in labels.values]), labels.idx)
        missing = np.array([c is None for c in codes.values], dtype=bool)
        used = np.bincount(labels.idx, minlength=len(labels.values)) > 0
        unknown = {u for u, gone, seen in zip(labels.values, missing, used, strict=True)
                   if gone and seen and u.strip() and _folded(u) not in TOTAL_LABELS}
        if unknown:
            parsed.unknown.setdefault(dimension, set()).update(unknown)
        return codes, missing[labels.idx], labels.values

    category, unknown, _labels = mapped("CategorieVisiteur", "category")
    reject(unknown, _l("catégorie inconnue"))
    provenance, unknown, _labels = mapped("Provenance", "provenance")
    reject(unknown, _l("provenance inconnue"))
    origin = profile = other_place = _Coded.constant("", n)
    is_total = np.zeros(n, dtype=bool)

    if info.breakdown in ("Departement", "Pays", "Regions"):
        dimension = {"Departement": "department", "Pays": "country", "Regions": "region"}[info.breakdown]
        origin, unknown, labels = mapped(needed, dimension)
        totals = np.array([_folded(u) in TOTAL_LABELS for u in labels], dtype=bool)
        origin.values[totals] = "TOTAL"
        is_total = totals[origin.idx]
        reject(unknown & ~is_total, _l("libellé inconnu (%(col)s)", col=needed))
    elif info.breakdown in ("Age", "Geolife"):
        profile, unknown, _labels = mapped(needed, "age" if info.breakdown == "Age" else "geolife")
        reject(unknown, _l("libellé inconnu (%(col)s)", col=needed))
    if info.family == "SejourDuree":
        if "DureeSejourNum" in df.columns:
            texts = _distinct(df["DureeSejourNum"])
            nights = pd.to_numeric(pd.Series(texts.values, dtype=object), errors="coerce")
            nights = nights.where(nights.isna(), nights.clip(upper=13))
            profile = _Coded(nights.astype("Int64").astype(str).replace("<NA>", "").to_numpy(dtype=object), texts.idx)
            reject(nights.isna().to_numpy()[texts.idx], _l("durée de séjour illisible"))
        else:
            profile, unknown, _labels = mapped("DureeSejour", "stay")
            reject(unknown, _l("durée de séjour inconnue"))
    elif info.family in ("DureePresence", "Recurrence"):
        column = next((c for c in df.columns if fold(c).replace(" ", "") in (info.family.lower(), "classe")), None)
        if column:
            texts = _distinct(df[column])
            profile = _Coded(_objects([_folded(u)[:60] for u in texts.values]), texts.idx)
    if info.family.startswith("Lieu"):
        dept = next((c for c in df.columns if c.lower().startswith("deptzone")), None)
        if dept is None:
            raise ReadError(_("%(name)s : la colonne du département de l'autre lieu (DeptZone…) manque.",
                              name=info.name))
        texts = _distinct(df[dept])
        other_place = _Coded(_objects([u.strip().upper()[:10] for u in texts.values]), texts.idx)

    line = df["line"].to_numpy()
    bad = reason != 0
    parsed.rejected = [(line, reasons[code]) for line, code in zip(line[bad].tolist(), reason[bad].tolist(),
                                                                    strict=True)]
    # The same key twice in a file: the last line is kept, the others reported.
    kept = ~bad
    dup = np.zeros(n, dtype=bool)
    dup[kept] = _duplicated([c.groups() for c in (day, category, provenance, origin, profile, other_place)],
                            kept)
    if dup.any():
        parsed.rejected += [(line, _("ligne en double (la dernière est gardée)")) for line in line[dup].tolist()]
        kept &= ~dup
    parsed.rows = {
        "line": line[kept], "day": day.rows(kept), "value": np.where(blank, np.nan, number)[kept],
        "is_total": is_total[kept], "category": category.rows(kept), "provenance": provenance.rows(kept),
        "origin": origin.rows(kept), "profile": profile.rows(kept), "other_place": other_place.rows(kept)}
    return parsed


def _duplicated(groups: list[tuple[np.ndarray, int]], rows: np.ndarray) -> np.ndarray:
    """Among ``rows``, those whose key (the groups of each column) comes again later in the file."""
    key = np.zeros(int(rows.sum()), dtype=np.int64)
    size = 1
    for numbers, count in groups:
        size *= max(count, 1)
        if size >= 2 ** 62:  # cannot happen with Flux Vision's dimensions; pandas copes anyway
            return pd.DataFrame([g[rows] for g, _c in groups]).T.duplicated(keep="last").to_numpy()
        key = key * max(count, 1) + numbers[rows]
    return pd.Series(key).duplicated(keep="last").to_numpy()


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
