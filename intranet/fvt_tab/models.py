"""The Flux Vision store.

One long fact table (``fvt_tab_facts``): a zone, a day (or the Monday of a week for weekly files, kept
apart by ``is_weekly``), the file family and breakdown it came from, the visitor category and
provenance, at most one origin (department INSEE code, ISO country code or region code), at most
one profile (age band, Geolife segment, stay length, presence class), the other place of the
mobility families, and the value — NULL when Orange withheld it (small numbers), never 0. A unique
natural key makes a re-import an update, never a duplicate.

Dashboards read ``fvt_tab_year_totals`` (sums per zone, year and dimensions, refreshed for the zones
and years an import touches), not the facts. Reference data (categories, departments, countries…)
lives in code (``reference.py``), versioned with the importer that reads it; what observatories
edit lives here: zone aliases, label aliases, mapping profiles, day-quality flags.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import uuid4

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from intranet.core.models import Territory, User
from intranet.core.timeutil import UTCDateTime, utcnow
from intranet.extensions import db


class Zone(db.Model):
    __tablename__ = "fvt_tab_zones"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(50), unique=True)  # as in the file names: SALERS0
    name: Mapped[str] = mapped_column(sa.String(200))
    territory_id: Mapped[int | None] = mapped_column(sa.ForeignKey("core_territories.id", ondelete="SET NULL"),
                                                     index=True)
    # The demo's zones: every page and export showing their figures says « données fictives »
    # (set when the zone is created, before its first row is imported).
    is_fictitious: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    # Where the territory lies (its centre, WGS 84): its place on the network's map.
    latitude: Mapped[float | None] = mapped_column(sa.Float)
    longitude: Mapped[float | None] = mapped_column(sa.Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A new random token each time the zone's series are written (``series._replace``, in the same
    # transaction): the tab keeps a zone's series in memory under it (``figures._store``). Random,
    # not a counter: a database rebuilt or restored reuses zone ids and counts, never tokens.
    # Empty (zones from before the column): never kept.
    series_version: Mapped[str] = mapped_column(sa.String(32), default=lambda: uuid4().hex, server_default="")

    territory: Mapped[Territory | None] = relationship()
    aliases: Mapped[list[ZoneAlias]] = relationship(back_populates="zone", cascade="all, delete-orphan",
                                                    order_by="ZoneAlias.alias")


class ZoneAlias(db.Model):
    """Another name of a zone (the ZoneObservation label, an old name): series stay whole."""

    __tablename__ = "fvt_tab_zone_aliases"

    id: Mapped[int] = mapped_column(primary_key=True)
    zone_id: Mapped[int] = mapped_column(sa.ForeignKey("fvt_tab_zones.id", ondelete="CASCADE"), index=True)
    alias: Mapped[str] = mapped_column(sa.String(200))
    folded: Mapped[str] = mapped_column(sa.String(200), unique=True)

    zone: Mapped[Zone] = relationship(back_populates="aliases")


class LabelAlias(db.Model):
    """An observatory's mapping of a label found in files to a reference code (« GRANDE-BRETAGNE » → GB)."""

    __tablename__ = "fvt_tab_label_aliases"
    __table_args__ = (sa.UniqueConstraint("dimension", "folded"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dimension: Mapped[str] = mapped_column(sa.String(20))  # category, provenance, department, country, age…
    folded: Mapped[str] = mapped_column(sa.String(200))
    code: Mapped[str] = mapped_column(sa.String(50))


class Import(db.Model):
    __tablename__ = "fvt_tab_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(sa.String(255))
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    stored_key: Mapped[str | None] = mapped_column(sa.String(100))  # the upload, until the worker has read it
    is_provisional: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    mapping_profile_id: Mapped[int | None] = mapped_column(sa.ForeignKey("fvt_tab_mapping_profiles.id",
                                                                         ondelete="SET NULL"))
    # queued, running, done, failed
    status: Mapped[str] = mapped_column(sa.String(10), default="queued")
    error: Mapped[str] = mapped_column(sa.Text, default="")
    rows_read: Mapped[int] = mapped_column(default=0)
    rows_loaded: Mapped[int] = mapped_column(default=0)
    rows_rejected: Mapped[int] = mapped_column(default=0)
    report: Mapped[dict] = mapped_column(sa.JSON, default=dict)  # files, zones, unknown labels, outages…
    job_id: Mapped[int | None] = mapped_column()  # the worker's job: its progress is what the page shows
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("core_users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User | None] = relationship()


class ImportZone(db.Model):
    """A zone an import concerns: guessed from the file names when the upload is queued (so the zone's
    pages say that figures are arriving), replaced by the zones really loaded when it ends. An empty
    code: an upload whose zones cannot be known before it is read (a workbook naming zones by label);
    it concerns every zone until it ends."""

    __tablename__ = "fvt_tab_import_zones"

    import_id: Mapped[int] = mapped_column(sa.ForeignKey("fvt_tab_imports.id", ondelete="CASCADE"), primary_key=True)
    zone_code: Mapped[str] = mapped_column(sa.String(50), primary_key=True, index=True)


class ImportIssue(db.Model):
    __tablename__ = "fvt_tab_import_issues"

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(sa.ForeignKey("fvt_tab_imports.id", ondelete="CASCADE"), index=True)
    file: Mapped[str] = mapped_column(sa.String(255), default="")
    line: Mapped[int | None] = mapped_column()
    severity: Mapped[str] = mapped_column(sa.String(10))  # error, warning, info
    message: Mapped[str] = mapped_column(sa.Text)


class Fact(db.Model):
    __tablename__ = "fvt_tab_facts"
    __table_args__ = (
        sa.UniqueConstraint("zone_id", "family", "breakdown", "is_weekly", "day", "category", "provenance",
                            "origin", "profile", "other_place", name="uq_fvt_facts_natural"),
        # No other index: the key's first columns serve every query on the facts (they all name
        # is_weekly), and each imported row would pay for a second one.
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    # No foreign key (migration 0017): on PostgreSQL it costs a trigger per row written, and the
    # importer writes facts only for the zone it has just resolved; zones are never deleted.
    zone_id: Mapped[int] = mapped_column()
    family: Mapped[str] = mapped_column(sa.String(30))
    breakdown: Mapped[str] = mapped_column(sa.String(15), default="")
    is_weekly: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    day: Mapped[date] = mapped_column(sa.Date)
    category: Mapped[str] = mapped_column(sa.String(30), default="")
    provenance: Mapped[str] = mapped_column(sa.String(15), default="")
    origin: Mapped[str] = mapped_column(sa.String(10), default="")
    profile: Mapped[str] = mapped_column(sa.String(60), default="")
    other_place: Mapped[str] = mapped_column(sa.String(10), default="")
    value: Mapped[int | None] = mapped_column(sa.BigInteger)
    is_total: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    is_provisional: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    import_id: Mapped[int | None] = mapped_column()  # no FK: millions of rows, checked by the importer


class YearTotal(db.Model):
    """Pre-aggregated sums that dashboards and `flask fvt summary` read (daily rows, weekly excluded)."""

    __tablename__ = "fvt_tab_year_totals"
    __table_args__ = (sa.Index("ix_fvt_year_totals_lookup", "zone_id", "year", "family", "breakdown"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    zone_id: Mapped[int] = mapped_column(sa.ForeignKey("fvt_tab_zones.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column()
    family: Mapped[str] = mapped_column(sa.String(30))
    breakdown: Mapped[str] = mapped_column(sa.String(15))
    category: Mapped[str] = mapped_column(sa.String(30))
    provenance: Mapped[str] = mapped_column(sa.String(15))
    origin: Mapped[str] = mapped_column(sa.String(10))
    profile: Mapped[str] = mapped_column(sa.String(60))
    value: Mapped[int | None] = mapped_column(sa.BigInteger)  # NULL: every value withheld
    days: Mapped[int] = mapped_column(default=0)  # days with a value


class DayQuality(db.Model):
    """A day of a zone that is not like the others: an outage (detected) or interpolated (by hand)."""

    __tablename__ = "fvt_tab_day_quality"

    zone_id: Mapped[int] = mapped_column(sa.ForeignKey("fvt_tab_zones.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    flag: Mapped[str] = mapped_column(sa.String(15))  # outage, interpolated
    source: Mapped[str] = mapped_column(sa.String(10), default="auto")  # auto, manual
    note: Mapped[str] = mapped_column(sa.String(300), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MappingProfile(db.Model):
    """How to read a formatted report sheet (not the long layout): where the header is, which
    columns hold the date, the zone and the value, or which period columns to unpivot."""

    __tablename__ = "fvt_tab_mapping_profiles"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    sheet: Mapped[str] = mapped_column(sa.String(100), default="")  # "" = the first sheet
    header_row: Mapped[int] = mapped_column(default=1)  # 1-based, as Excel shows it
    date_column: Mapped[str] = mapped_column(sa.String(100), default="")
    zone_column: Mapped[str] = mapped_column(sa.String(100), default="")
    value_column: Mapped[str] = mapped_column(sa.String(100), default="")
    period_columns: Mapped[list] = mapped_column(sa.JSON, default=list)  # unpivoted: header = a date
    family: Mapped[str] = mapped_column(sa.String(30), default="Nuitee")
    category: Mapped[str] = mapped_column(sa.String(30), default="Touriste")
    provenance: Mapped[str] = mapped_column(sa.String(15), default="NonLocal")
    zone_code: Mapped[str] = mapped_column(sa.String(50), default="")  # when the sheet has no zone column


class Series(db.Model):
    """One year of one key of the daily facts, 366 values in a row (``series.py``): what the tab reads."""

    __tablename__ = "fvt_tab_series"
    __table_args__ = (sa.UniqueConstraint("zone_id", "year", "family", "breakdown", "category", "provenance",
                                          "origin", "profile", "other_place", name="uq_fvt_series"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    zone_id: Mapped[int] = mapped_column(sa.ForeignKey("fvt_tab_zones.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column()
    family: Mapped[str] = mapped_column(sa.String(30))
    breakdown: Mapped[str] = mapped_column(sa.String(15))
    category: Mapped[str] = mapped_column(sa.String(30))
    provenance: Mapped[str] = mapped_column(sa.String(15))
    origin: Mapped[str] = mapped_column(sa.String(10))
    profile: Mapped[str] = mapped_column(sa.String(60))
    other_place: Mapped[str] = mapped_column(sa.String(10))
    days: Mapped[bytes] = mapped_column(sa.LargeBinary)  # series.encode: a header, then the days with a row
