"""Deliveries still arriving: which zones a queued or running import concerns, and how far it is.

A zone's pages read this to say « Import en cours : 4 livraisons sur 12 » instead of presenting the
figures of the first deliveries as the year's. The zones of an upload are guessed from its file
names when it is queued (Orange names every CSV ``…_2024B4_SALERS0.csv``), and replaced by the zones
really loaded when the import ends (``run_import``). An upload whose zones cannot be guessed (a
workbook naming them by label only) is recorded with the code "" and concerns every zone.

« 4 livraisons sur 12 »: the imports of the zone still queued or running, and those of the same
batch already finished (the zone's imports finished since the oldest pending one was queued).
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath

import sqlalchemy as sa

from intranet.core.models import Job
from intranet.extensions import db
from intranet.fvt_tab import reading
from intranet.fvt_tab.models import Import, ImportZone

PENDING = ("queued", "running")
ANY_ZONE = ""


@dataclass
class Arriving:
    done: int  # deliveries of the batch finished (done or failed)
    total: int  # deliveries of the batch
    running: bool  # one of them is being read now (else all are waiting for the worker)
    progress: int  # 0-99: the batch's share done, the running import's own progress included

    @property
    def status(self) -> str:
        return "running" if self.running else "queued"


def guess_zones(filename: str, data: bytes) -> set[str]:
    """The zone codes an upload's file names carry; {""} when they name none."""
    name = PurePosixPath(filename.replace("\\", "/")).name
    lower = name.lower()
    codes: set[str] = set()
    if lower.endswith(".zip"):
        try:
            names = zipfile.ZipFile(io.BytesIO(data)).namelist()
        except (zipfile.BadZipFile, OSError, ValueError):
            names = []  # the worker reports the damage; until then, any zone may be concerned
        for entry in names:
            meta = reading.parse_name(PurePosixPath(entry).name)
            if meta is not None and meta.zone_code:
                codes.add(meta.zone_code[:50])
    elif lower.endswith((".csv", ".txt")):
        meta = reading.parse_name(name)
        if meta is not None and meta.zone_code:
            codes.add(meta.zone_code[:50])
    elif lower.endswith((".xlsx", ".xlsm")):
        code = reading.zone_code_in(name)
        if code:
            codes.add(code[:50])
    return codes or {ANY_ZONE}


def set_import_zones(import_id: int, codes: set[str]) -> None:
    """Record (or replace) the zones an import concerns, in the caller's transaction."""
    db.session.execute(sa.delete(ImportZone).where(ImportZone.import_id == import_id))
    if codes:
        db.session.execute(sa.insert(ImportZone), [{"import_id": import_id, "zone_code": c} for c in sorted(codes)])


def arriving_by_zone() -> dict[str, Arriving]:
    """Zone code → its deliveries arriving, for every zone with an import queued or running
    (code "" : imports whose zones are not known yet). Three statements, whatever the number of zones."""
    pending = db.session.execute(
        sa.select(ImportZone.zone_code, Import.status, Import.job_id, Import.created_at)
        .join(Import, Import.id == ImportZone.import_id).where(Import.status.in_(PENDING))).all()
    if not pending:
        return {}
    earliest = min(row.created_at for row in pending)
    finished = db.session.execute(
        sa.select(ImportZone.zone_code, Import.finished_at).join(Import, Import.id == ImportZone.import_id)
        .where(Import.status.not_in(PENDING), Import.finished_at >= earliest)).all()
    job_ids = {row.job_id for row in pending if row.status == "running" and row.job_id}
    jobs = {j.id: j for j in db.session.scalars(sa.select(Job).where(Job.id.in_(job_ids)))} if job_ids else {}
    out: dict[str, Arriving] = {}
    for code in {row.zone_code for row in pending}:
        mine = [row for row in pending if row.zone_code == code]
        # The batch: the zone's imports waiting or running, and those finished since the first of
        # them was queued (the deliveries already in).
        since = min(row.created_at for row in mine)
        done = sum(1 for c, at in finished if c == code and at is not None and at >= since)
        share = 0.0
        for row in mine:
            job = jobs.get(row.job_id)
            # An upload's own job counts 0-100 for that import; the demo's job counts all its deliveries.
            if row.status == "running" and job is not None and job.key == "fvt_tab.import" and job.progress_total:
                share += job.progress / job.progress_total
        total = done + len(mine)
        out[code] = Arriving(done=done, total=total, running=any(row.status == "running" for row in mine),
                             progress=min(99, int(100 * (done + share) / total)))
    return out


def arriving_for(code: str, everything: dict[str, Arriving] | None = None) -> Arriving | None:
    """The deliveries arriving for one zone (its own imports, and those whose zones are not known yet)."""
    everything = arriving_by_zone() if everything is None else everything
    own, unknown = everything.get(code), everything.get(ANY_ZONE)
    if own is None or unknown is None:
        return own or unknown
    done, total = own.done + unknown.done, own.total + unknown.total
    return Arriving(done=done, total=total, running=own.running or unknown.running,
                    progress=min(99, int((own.progress * own.total + unknown.progress * unknown.total) / total)))
