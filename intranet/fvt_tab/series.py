"""Each zone's daily figures as series: the columnar copy of the daily facts that the tab reads.

A series is one year of one key of the facts (family, breakdown, category, provenance, origin,
profile, other place). It holds 366 values, one per day from 1 January: the day's value,
``WITHHELD`` (-1) where Orange withheld it (small numbers) and ``NO_ROW`` (-2) where the delivery
has no line for that day. Weekly rows and total rows (``CUMUL``) are left out, since the tab never
adds them.

Why it exists: a zone-year is about 120,000 facts but only a few hundred series. The tab's figures
for any period (KPIs, the daily curve, the folds by month and weekday, origins, profiles,
mobility) then come from numpy over a few hundred rows read in one statement. Before this, each
answer ran two dozen grouped scans of the facts, each 2–10 ms on PostgreSQL.

The importer keeps the series in step inside the import's transaction (``import_series``). It
uses the rows it has just written and reads no fact back. ``rebuild`` recomputes a zone-year from
the facts; the migration and the benchmarks' fills use it, and a test keeps both ways equal.
"""

from __future__ import annotations

from datetime import date, timedelta
from uuid import uuid4

import numpy as np
import pandas as pd
import sqlalchemy as sa

from intranet.fvt_tab.bulk import insert_rows
from intranet.fvt_tab.models import Fact, Series, Zone

KEYS = ("family", "breakdown", "category", "provenance", "origin", "profile", "other_place")
DAYS = 366
WITHHELD = -1
NO_ROW = -2
DAY_GROUPS = ("day", "month", "weekday")


_INT32 = np.iinfo(np.int32).max


# A series is stored from its first day with a row to its last, after a 4-byte header: a bimestre
# of a year still being delivered takes 252 bytes, not 1,464 (an import wrote about 30 MB of series
# for a bimestre of 11 zones, mostly days without a row). The header is -(1000 + first day) for
# int32 values, -(2000 + first day) for int64 (a value too big for int32). Rows written before the
# header existed hold exactly 366 values from 1 January: 1,464 bytes whose first value is ≥ NO_ROW
# (never a header), or 2,928 bytes (a length no headed series has); they are read as they are.
_HEADER32, _HEADER64 = -1000, -2000


def encode(values: np.ndarray) -> bytes:
    """The header and the days from the first with a row to the last (at most 1,468 bytes: under
    PostgreSQL's 2 KB threshold, so stored in the row, never compressed out of line)."""
    present = np.flatnonzero(values != NO_ROW)
    lo, hi = (int(present[0]), int(present[-1]) + 1) if len(present) else (0, 0)
    part = values[lo:hi]
    if part.max(initial=0) <= _INT32:
        return np.array([_HEADER32 - lo], dtype="<i4").tobytes() + part.astype("<i4").tobytes()
    return np.array([_HEADER64 - lo], dtype="<i4").tobytes() + part.astype("<i8").tobytes()


def decode(data: bytes) -> np.ndarray:
    """The 366 values of a stored series (NO_ROW where none is stored)."""
    head = int.from_bytes(data[:4], "little", signed=True)
    if len(data) == DAYS * 8 or (len(data) == DAYS * 4 and head >= NO_ROW):  # without a header
        return np.frombuffer(data, dtype="<i4" if len(data) == DAYS * 4 else "<i8")
    wide = head <= _HEADER64
    lo = (_HEADER64 if wide else _HEADER32) - head
    part = np.frombuffer(data, dtype="<i8" if wide else "<i4", offset=4)
    out = empty()
    out[lo:lo + len(part)] = part
    return out


def empty() -> np.ndarray:
    return np.full(DAYS, NO_ROW, dtype=np.int64)


# -- writing ---------------------------------------------------------------------------------------

def _scatter(arrays: dict[tuple, np.ndarray], family: str, breakdown: str, rows, year: int) -> None:
    """Put the daily rows (of one family and breakdown) of ``year`` into their series: the rows'
    key columns are numbered with pandas, the numbers combined into one key per row. Then each
    key's days are set in one numpy assignment. ``rows``: named columns (an import's arrays,
    ``reading.Parsed.rows``, or a DataFrame of facts)."""
    jan1 = date(year, 1, 1)
    days = np.asarray(rows["day"], dtype=object)
    day_codes, distinct = pd.factorize(days)
    offsets_of = np.array([(_as_date(d) - jan1).days for d in distinct], dtype=np.int64)
    offsets = offsets_of[day_codes] if len(distinct) else np.zeros(0, dtype=np.int64)
    keep = (offsets >= 0) & (offsets < DAYS) & ~np.asarray(rows["is_total"], dtype=bool)
    if not keep.any():
        return
    offsets = offsets[keep]
    value = np.asarray(rows["value"], dtype=float)[keep]
    values = np.where(np.isnan(value), WITHHELD, np.nan_to_num(value)).astype(np.int64)
    group = np.zeros(int(keep.sum()), dtype=np.int64)
    columns = [np.asarray(rows[column], dtype=object)[keep] for column in KEYS[2:]]
    for column in columns:
        numbers, uniques = pd.factorize(column)
        group = group * max(len(uniques), 1) + numbers
    order = np.argsort(group, kind="stable")
    group, offsets, values = group[order], offsets[order], values[order]
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    ends = np.r_[starts[1:], len(group)]
    # Each key read on its first row (the rows sorted by key).
    labels = zip(*(column[order[starts]].tolist() for column in columns), strict=True)
    for parts, start, end in zip(labels, starts.tolist(), ends.tolist(), strict=True):
        key = (family, breakdown, *(str(p) for p in parts))
        target = arrays.get(key)
        if target is None:
            target = arrays[key] = empty()
        target[offsets[start:end]] = values[start:end]


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _replace(conn, zone_id: int, year: int, pairs, arrays: dict[tuple, np.ndarray]) -> None:
    """The series of these (family, breakdown) pairs of the zone-year become ``arrays``; a series
    left without a single row is removed."""
    scope = [Series.zone_id == zone_id, Series.year == year]
    if pairs is not None:
        scope.append(sa.tuple_(Series.family, Series.breakdown).in_(sorted(pairs)))
    conn.execute(sa.delete(Series).where(*scope))
    kept = [(key, values) for key, values in arrays.items() if (values != NO_ROW).any()]
    if kept:
        columns = {name: [key[i] for key, _values in kept] for i, name in enumerate(KEYS)}
        insert_rows(conn, Series.__table__, dict(columns, zone_id=[zone_id] * len(kept), year=[year] * len(kept),
                                                 days=[encode(values) for _key, values in kept]))
    # A new token: what a process keeps of the zone's series (``figures._store``) is read again.
    conn.execute(sa.update(Zone).where(Zone.id == zone_id).values(series_version=uuid4().hex))


# What an import wrote, per (zone, family, breakdown): each file's first day, last day and daily rows.
Written = dict[tuple[int, str, str], list[tuple[date, date, dict[str, np.ndarray]]]]


def import_series(conn, zone_id: int, year: int, written: Written) -> dict[tuple, np.ndarray]:
    """Update the zone-year's series for what an import has just written. ``written`` holds, per
    zone, family and breakdown, the first day, last day and daily rows of each file, in the order
    written. The importer replaced each file's days of its family and breakdown, so those days are
    emptied first, then filled with the file's rows. Returns every series of those families and
    breakdowns in the year (a key's 366 days; some may have no row left): the year totals are
    added up from them (``importer.import_year_totals``)."""
    pairs = sorted({(family, breakdown) for (zid, family, breakdown) in written if zid == zone_id})
    if not pairs:
        return {}
    jan1, dec31 = date(year, 1, 1), date(year, 12, 31)
    arrays = {tuple(row[:7]): decode(row[7]).copy() for row in conn.execute(
        sa.select(*(getattr(Series, k) for k in KEYS), Series.days).where(
            Series.zone_id == zone_id, Series.year == year,
            sa.tuple_(Series.family, Series.breakdown).in_(pairs)))}
    for family, breakdown in pairs:
        for first, last, rows in written[(zone_id, family, breakdown)]:
            lo, hi = max(first, jan1), min(last, dec31)
            if lo > hi:
                continue
            a, b = (lo - jan1).days, (hi - jan1).days + 1
            for key, values in arrays.items():
                if key[0] == family and key[1] == breakdown:
                    values[a:b] = NO_ROW
            _scatter(arrays, family, breakdown, rows, year)
    _replace(conn, zone_id, year, pairs, arrays)
    return arrays


def rebuild(conn, zone_id: int, year: int) -> None:
    """Every series of the zone-year, recomputed from the daily facts."""
    f = Fact
    result = conn.execute(sa.select(f.family, f.breakdown, f.category, f.provenance, f.origin, f.profile,
                                    f.other_place, f.day, f.value, f.is_total).where(
        f.zone_id == zone_id, f.is_weekly.is_(False), f.is_total.is_(False),
        f.day >= date(year, 1, 1), f.day <= date(year, 12, 31)))
    frame = pd.DataFrame(result.all(), columns=[*KEYS, "day", "value", "is_total"])
    arrays: dict[tuple, np.ndarray] = {}
    if len(frame):
        frame["value"] = frame["value"].astype(float)
        for (family, breakdown), rows in frame.groupby(["family", "breakdown"], sort=False):
            _scatter(arrays, family, breakdown, rows, year)
    _replace(conn, zone_id, year, None, arrays)


def rebuild_all(conn) -> int:
    """Every zone-year that has daily facts (the migration that created the series). Returns how many."""
    f = Fact
    years = sa.cast(sa.func.substr(sa.cast(f.day, sa.String), 1, 4), sa.Integer)
    pairs = conn.execute(sa.select(f.zone_id, years).where(f.is_weekly.is_(False)).distinct()).all()
    for zone_id, year in pairs:
        rebuild(conn, zone_id, year)
    return len(pairs)


# -- reading ---------------------------------------------------------------------------------------

class Store:
    """The series of one zone over whole years, as one matrix: a row per key, a column per day from
    1 January of the first year to 31 December of the last. Read in one statement.

    Each key column is kept as integer codes (``codes``) and its distinct texts (``texts``): the
    filters and groupings of ``select`` are then comparisons of small integer arrays."""

    def __init__(self, conn, zone_id: int, first_year: int, last_year: int, families: tuple[str, ...] | None = None):
        """``families``: only the series of these families without breakdown (what the KPI cards and
        the daily curve read); None: every series."""
        self.zone_id, self.families = zone_id, families
        self.base = date(first_year, 1, 1)
        self.width = (date(last_year + 1, 1, 1) - self.base).days
        params = {"zone": zone_id, "first": first_year, "last": last_year}
        if families is None:
            rows = conn.execute(_LOAD, params).all()
        else:
            rows = conn.execute(_LOAD_BASE, {**params, "families": list(families)}).all()
        index: dict[tuple, int] = {}
        placed: list[tuple[int, int, int, bytes]] = []  # row, first column, days of the year, values
        for row in rows:
            i = index.setdefault(tuple(row[:7]), len(index))
            year = row[7]
            placed.append((i, (date(year, 1, 1) - self.base).days, (date(year + 1, 1, 1) - date(year, 1, 1)).days,
                           row[8]))
        self.matrix = np.full((len(index), self.width), NO_ROW, dtype=np.int64)
        for i, offset, n, data in placed:
            self.matrix[i, offset:offset + n] = decode(data)[:n]
        self.matrix.setflags(write=False)  # a store is shared by the requests of a process (figures._store)
        keys = list(index)
        self.codes: dict[str, np.ndarray] = {}
        self.texts: dict[str, list[str]] = {}
        self._code_of: dict[str, dict[str, int]] = {}
        for j, name in enumerate(KEYS):
            code_of: dict[str, int] = {}
            self.codes[name] = np.array([code_of.setdefault(k[j], len(code_of)) for k in keys], dtype=np.int64)
            self.texts[name] = list(code_of)
            self._code_of[name] = code_of

    def covers(self, lo: date, hi: date, families: tuple[str, ...] | None = None) -> bool:
        """Whether the days lo–hi of these families (None: all) are loaded."""
        wanted = self.families is None or (families is not None and set(families) <= set(self.families))
        return wanted and self.base <= lo and (hi - self.base).days < self.width

    def _rows(self, filters: dict) -> np.ndarray:
        mask = np.ones(len(self.matrix), dtype=bool)
        for key, value in filters.items():
            negate = key.endswith("_not")
            name = key[:-4] if negate else key
            code_of = self._code_of[name]
            wanted = value if isinstance(value, (tuple, list, set, frozenset)) else (value,)
            codes = [code_of[v] for v in wanted if v in code_of]
            if len(codes) == 1:
                hit = self.codes[name] == codes[0]
            else:
                hit = np.isin(self.codes[name], codes)
            mask &= ~hit if negate else hit
        return np.flatnonzero(mask)

    def _days(self, lo: date, hi: date) -> tuple[int, int]:
        return max((lo - self.base).days, 0), min((hi - self.base).days + 1, self.width)

    def span(self, lo: date, hi: date, **filters) -> tuple[date, date] | None:
        """The first and last day between lo and hi with a row (withheld or not) of the filtered series."""
        a, b = self._days(lo, hi)
        rows = self._rows(filters)
        if not len(rows) or a >= b:
            return None
        present = np.flatnonzero((self.matrix[rows, a:b] != NO_ROW).any(axis=0))
        if not len(present):
            return None
        return self.base + timedelta(days=a + int(present[0])), self.base + timedelta(days=a + int(present[-1]))

    def _groups(self, rows: np.ndarray, names: list[str]) -> tuple[np.ndarray, list[tuple]]:
        """Each row's group number (equal key columns, equal number) and each group's texts."""
        if not names:
            return np.zeros(len(rows), dtype=np.intp), [()]
        combined = np.zeros(len(rows), dtype=np.int64)
        for name in names:
            combined = combined * max(len(self.texts[name]), 1) + self.codes[name][rows]
        uniques, numbers = np.unique(combined, return_inverse=True)
        labels = []
        for code in uniques.tolist():
            parts = []
            for name in reversed(names):
                code, number = divmod(code, max(len(self.texts[name]), 1))
                parts.append(self.texts[name][number])
            labels.append(tuple(reversed(parts)))
        return numbers.reshape(-1), labels

    def select(self, lo: date, hi: date, group: tuple[str, ...], *, peak: bool = False, **filters) -> list[tuple]:
        """What ``SELECT group…, sum(value) … WHERE value IS NOT NULL GROUP BY group…`` gives on the daily
        facts of the days lo–hi: a tuple per group that has at least one value (withheld values count as
        nothing), its columns in ``group``'s order, the sum last. ``group`` names key columns and at most
        one of ``day`` (a date), ``month`` (« YYYY-MM ») or ``weekday`` (0 = Sunday … 6). ``filters``:
        ``family="Nuitee"`` (equal), ``category=("Touriste", …)`` (one of), ``origin_not=("", "TOTAL")``
        (none of). ``peak``: only the day of the largest sum (the earliest on a tie)."""
        rows = self._rows(filters)
        a, b = self._days(lo, hi)
        if not len(rows) or a >= b:
            return []
        block = self.matrix[rows, a:b]
        valid = block >= 0
        values = np.where(valid, block, 0)
        key_names = [g for g in group if g not in DAY_GROUPS]
        by_day = next((g for g in group if g in DAY_GROUPS), None)
        numbers, labels = self._groups(rows, key_names)
        if len(labels) < len(rows):  # several series per group: added up, group by group
            order = np.argsort(numbers, kind="stable")
            starts = np.flatnonzero(np.r_[True, numbers[order][1:] != numbers[order][:-1]])
            values = np.add.reduceat(values[order], starts, axis=0)
            valid = np.logical_or.reduceat(valid[order], starts, axis=0)
        else:  # a series per group, in the groups' order
            order = np.argsort(numbers)
            values, valid = values[order], valid[order]
        if peak:
            total, has = values.sum(axis=0), valid.any(axis=0)
            if not has.any():
                return []
            best = int(np.argmax(np.where(has, total, -1)))
            return [(self.base + timedelta(days=a + best), int(total[best]))]
        if by_day is None:
            return [(*label, total) for label, total, has in zip(
                labels, values.sum(axis=1).tolist(), valid.any(axis=1).tolist(), strict=True) if has]
        days = [self.base + timedelta(days=a + i) for i in range(b - a)]
        if by_day == "day":
            fold_labels = days
        else:
            names = ([f"{d.year:04d}-{d.month:02d}" for d in days] if by_day == "month"
                     else [(d.weekday() + 1) % 7 for d in days])
            fold_labels = sorted(set(names))
            position = {name: i for i, name in enumerate(fold_labels)}
            onehot = np.zeros((b - a, len(fold_labels)), dtype=np.int64)
            onehot[np.arange(b - a), [position[n] for n in names]] = 1
            values, valid = values @ onehot, (valid.astype(np.int64) @ onehot) > 0
        day_first = group.index(by_day) == 0
        out: list[tuple] = []
        for label, row_values, row_valid in zip(labels, values.tolist(), valid.tolist(), strict=True):
            if day_first:
                out += [(fold, *label, v) for fold, v, has in zip(fold_labels, row_values, row_valid, strict=True)
                        if has]
            else:
                out += [(*label, fold, v) for fold, v, has in zip(fold_labels, row_values, row_valid, strict=True)
                        if has]
        return out


_LOAD = sa.select(*(getattr(Series, k) for k in KEYS), Series.year, Series.days).where(
    Series.zone_id == sa.bindparam("zone"), Series.year >= sa.bindparam("first"), Series.year <= sa.bindparam("last"))
_LOAD_BASE = _LOAD.where(Series.family.in_(sa.bindparam("families", expanding=True)), Series.breakdown == "")
