"""Fictitious deliveries in the real Orange layout, for the demo and the benchmarks.

``write_deliveries(outdir, years)`` writes one ZIP per zone and bimestre (``Pays de Salers.zip``
holding ``Nuitee_2024B4_SALERS0.csv``, ``Nuitee_Departement_2024B4_SALERS0.csv``…) with the
families and breakdowns the importer reads: seasonality (summer, and winter at the ski resort),
weekdays, school holidays and bank holidays, plausible origins, small values withheld (blank),
a ``CUMUL`` row in the country files, one outage day per zone and year, and a ``Dispo_`` file of
an unknown family. Every figure is fictitious; the demo marks them so.
"""

from __future__ import annotations

import csv
import io
import math
import random
import zipfile
from datetime import date, timedelta
from pathlib import Path

from intranet.fvt_tab.reference import AGE_BANDS, DEPARTMENTS, GEOLIFE, REGIONS, STAY_LENGTHS

DEMO_YEARS = (2024, 2025)
# (zone code, zone label, territory code in the demo network, size, winter weight)
ZONES = [
    ("CANTAL0", "Cantal", "15", 10.0, 0.5),
    ("AURILLAC0", "Pays d'Aurillac", "AURILLAC", 2.0, 0.3),
    ("HAUTESTERRES0", "Hautes Terres", "HAUTESTERRES", 1.0, 0.6),
    ("HAUTCANTAL0", "Haut Cantal", "HAUTCANTAL", 1.2, 0.8),
    ("MAURIAC0", "Pays de Mauriac", "MAURIAC", 0.7, 0.2),
    ("CARLADES0", "Carladès", "CARLADES", 0.6, 0.3),
    ("CHATAIGNERAIE0", "Châtaigneraie", "CHATAIGNERAIE", 0.6, 0.2),
    ("SAINTFLOUR0", "Pays de Saint-Flour", "SAINTFLOUR", 1.5, 0.3),
    ("TRUYERE0", "Vallée de la Truyère", "TRUYERE", 0.8, 0.2),
    ("LIORAN0", "Le Lioran", "LIORAN", 1.0, 2.5),
    ("SALERS0", "Pays de Salers", "SALERS", 1.1, 0.3),
]
# Where each demo territory sits (its main town), for the network map.
POSITIONS = {"CANTAL0": (45.05, 2.65), "AURILLAC0": (44.926, 2.440), "HAUTESTERRES0": (45.110, 2.869),
             "HAUTCANTAL0": (45.282, 2.660), "MAURIAC0": (45.218, 2.333), "CARLADES0": (44.980, 2.626),
             "CHATAIGNERAIE0": (44.710, 2.198), "SAINTFLOUR0": (45.034, 3.093), "TRUYERE0": (44.855, 3.003),
             "LIORAN0": (45.088, 2.749), "SALERS0": (45.139, 2.496)}
HEADER = ["Date", "JourDeLaSemaine", "VacancesA", "VacancesB", "VacancesC", "Ferie", "ZoneObservation",
          "Provenance", "CategorieVisiteur"]
DAYS_FR = ["Lundi", "Mardi", "Mercredi", "Jeudi", "Vendredi", "Samedi", "Dimanche"]
# Departments visitors come from, most first (neighbours and big cities).
ORIGIN_DEPTS = ["63", "15", "75", "69", "19", "12", "43", "31", "33", "92", "78", "13", "46", "87", "03", "42",
                "44", "59", "34", "91", "94", "93", "77", "95", "38", "67", "06", "35", "49", "37", "45", "24",
                "30", "64", "57", "76", "29", "21", "71", "26"]
COUNTRIES = ["BELGIQUE", "PAYS-BAS", "ALLEMAGNE", "ROYAUME-UNI", "ESPAGNE", "SUISSE", "ITALIE", "ETATS-UNIS",
             "LUXEMBOURG", "CANADA", "PORTUGAL", "IRLANDE", "DANEMARK", "SUEDE", "POLOGNE", "AUTRICHE",
             "AUSTRALIE", "JAPON", "CHINE", "BRESIL", "NORVEGE", "ISRAEL", "GUADELOUPE, MARTINIQUE",
             "REPUBLIQUE TCHEQUE", "COREE DU SUD"]
BANK_HOLIDAYS = {(1, 1), (5, 1), (5, 8), (7, 14), (8, 15), (11, 1), (11, 11), (12, 25)}


def _holidays(day: date) -> tuple[int, int, int]:
    """Rough school holidays of zones A, B, C (summer, Christmas, February, spring)."""
    m, d = day.month, day.day
    summer = (m == 7 and d >= 6) or m == 8
    christmas = (m == 12 and d >= 20) or (m == 1 and d <= 3)
    winter = [(2, 7, 2, 22), (2, 14, 3, 1), (2, 21, 3, 8)]
    spring = [(4, 5, 4, 20), (4, 12, 4, 27), (4, 19, 5, 4)]
    out = []
    for (wm1, wd1, wm2, wd2), (sm1, sd1, sm2, sd2) in zip(winter, spring, strict=True):
        w = (m, d) >= (wm1, wd1) and (m, d) <= (wm2, wd2)
        s = (m, d) >= (sm1, sd1) and (m, d) <= (sm2, sd2)
        out.append(int(summer or christmas or w or s))
    return out[0], out[1], out[2]


def _level(day: date, size: float, winter: float) -> float:
    """The day's presence level: a summer bell, a winter bump, weekends and holidays higher."""
    doy = day.timetuple().tm_yday
    summer = math.exp(-((doy - 215) / 28) ** 2)
    snow = math.exp(-((min(doy, 366 - doy) + 20) / 30) ** 2) * winter
    base = 0.15 + 1.6 * summer + snow
    if day.weekday() >= 5:
        base *= 1.25
    if any(_holidays(day)):
        base *= 1.15
    return base * size


def _write_csv(rows: list[list], header: list[str]) -> bytes:
    out = io.StringIO()
    w = csv.writer(out, delimiter=";", lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return out.getvalue().encode("utf-8")


def _bimestre_days(year: int, b: int) -> list[date]:
    start = date(year, 2 * b - 1, 1)
    end = date(year + 1, 1, 1) if b == 6 else date(year, 2 * b + 1, 1)
    return [start + timedelta(days=i) for i in range((end - start).days)]


def delivery(code: str, label: str, size: float, winter: float, year: int, b: int,
             outage: date | None = None, departments: list[str] | None = None) -> dict[str, bytes]:
    """The files of one zone and bimestre: name → CSV bytes."""
    rng = random.Random(f"{code}-{year}-{b}")
    departments = departments or ORIGIN_DEPTS
    days = _bimestre_days(year, b)
    suffix = f"{year}B{b}_{code}.csv"
    files: dict[str, list[list]] = {}

    def common(day: date, prov: str, cat: str) -> list:
        a, bb, c = _holidays(day)
        ferie = int((day.month, day.day) in BANK_HOLIDAYS)
        return [day.isoformat(), DAYS_FR[day.weekday()], a, bb, c, ferie, label, prov, cat]

    def vol(x: float, withheld_below: int = 0):
        v = int(max(0, rng.gauss(x, x * 0.08)))
        return "" if withheld_below and v < withheld_below else v

    shares = {"Local": 0.2, "NonLocal": 0.65, "Etranger": 0.15}
    for day in days:
        lvl = 0.0 if day == outage else _level(day, size, winter)
        for prov, share in shares.items():
            files.setdefault("Nuitee", []).append(common(day, prov, "Touriste") + [vol(3000 * lvl * share)])
            files["Nuitee"].append(common(day, prov, "Resident") + [vol(4000 * size * share * (lvl > 0))])
            for cat, k in (("Touriste", 3000), ("Excursionniste", 2500), ("Excursionniste recurrent", 900),
                           ("Resident", 4000)):
                files.setdefault("Diurne", []).append(common(day, prov, cat) + [vol(k * lvl * share)])
            files.setdefault("Arrivee", []).append(common(day, prov, "Touriste") + [vol(900 * lvl * share)])
            files.setdefault("Depart", []).append(common(day, prov, "Touriste") + [vol(880 * lvl * share)])
            for n in range(1, 14):
                files.setdefault("SejourDuree", []).append(
                    common(day, prov, "Touriste") + [STAY_LENGTHS[str(n)], n, vol(300 * lvl * share / n, 0)])
        for i, dept in enumerate(departments):
            w = 0.25 / (i + 1) ** 0.9
            name = DEPARTMENTS[dept][0]
            region = REGIONS[DEPARTMENTS[dept][1]]
            files.setdefault("Nuitee_Departement", []).append(
                common(day, "NonLocal", "Touriste") + [name, "", region, vol(3000 * lvl * 0.65 * w, 20)])
            files.setdefault("Diurne_Departement", []).append(
                common(day, "NonLocal", "Excursionniste") + [name, "", region, vol(2500 * lvl * 0.65 * w, 20)])
        total = 0
        for i, country in enumerate(COUNTRIES):
            v = vol(3000 * lvl * 0.15 * 0.3 / (i + 1) ** 0.8, 20)
            total += v or 0
            files.setdefault("Nuitee_Pays", []).append(common(day, "Etranger", "Touriste") + [country, v])
        files["Nuitee_Pays"].append(common(day, "Etranger", "Touriste") + ["CUMUL", total])
        for r_name in list(REGIONS.values())[:13]:
            files.setdefault("Nuitee_Regions", []).append(
                common(day, "NonLocal", "Touriste") + ["", r_name, vol(3000 * lvl * 0.05, 20)])
        for band in AGE_BANDS.values():
            files.setdefault("Nuitee_Age", []).append(
                common(day, "NonLocal", "Touriste") + [band, vol(3000 * lvl * 0.1, 20)])
        for seg_label, _group in GEOLIFE.values():
            files.setdefault("Nuitee_Geolife", []).append(
                common(day, "NonLocal", "Touriste") + [seg_label, vol(3000 * lvl * 0.06, 20)])
        for dept in departments[:10]:
            files.setdefault("LieuNuitee_Soir", []).append(
                common(day, "NonLocal", "Excursionniste") + [DEPARTMENTS[dept][0], "", "", dept,
                                                             vol(500 * lvl * 0.05, 20)])
    extra = {
        "Nuitee_Departement": ["NomDepartement", "NomRegion", "NomNouvelleRegion"],
        "Diurne_Departement": ["NomDepartement", "NomRegion", "NomNouvelleRegion"],
        "Nuitee_Pays": ["Pays"], "Nuitee_Regions": ["NomRegion", "NomNouvelleRegion"],
        "Nuitee_Age": ["Age"], "Nuitee_Geolife": ["Geolife"], "SejourDuree": ["DureeSejour", "DureeSejourNum"],
        "LieuNuitee_Soir": ["ZoneNuiteeSoir", "CodeInseeNuiteeSoir", "EPCIZoneNuiteeSoir", "DeptZoneNuiteeSoir"],
    }
    out = {f"{family}_{suffix}": _write_csv(rows, HEADER + extra.get(family, []) + ["Volume"])
           for family, rows in files.items()}
    out[f"Dispo_{suffix}"] = b"Date;Disponibilite\n" + f"{days[0].isoformat()};1\n".encode()
    return out


def plan(years: list[int], zones=None) -> list[tuple[tuple, int, int, str]]:
    """The deliveries of the demo, in the order they are imported: (zone, year, bimestre, ZIP name)."""
    return [(zone, year, b, f"{zone[1]} {year}B{b}.zip") for zone in zones or ZONES for year in years
            for b in range(1, 7)]


def delivery_zip(zone: tuple, year: int, b: int) -> bytes:
    """One delivery as Orange sends it: a ZIP of the zone's CSVs for the bimestre."""
    code, label, _territory, size, winter = zone
    outage = date(year, 8, 29) if code == "SALERS0" else None
    files = delivery(code, label, size, winter, year, b, outage if outage and outage.month in
                     (2 * b - 1, 2 * b) else None)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return out.getvalue()


def write_deliveries(outdir: Path, years: list[int], zones=None) -> list[Path]:
    """One ZIP per zone and bimestre under ``outdir``; returns their paths."""
    outdir.mkdir(parents=True, exist_ok=True)
    paths = []
    for zone, year, b, name in plan(years, zones):
        path = outdir / name
        path.write_bytes(delivery_zip(zone, year, b))
        paths.append(path)
    return paths


def prepare_demo(years: list[int], job_id: int | None = None, zones=None) -> list[int]:
    """Before any figure is imported: the demo's zones, linked to the demo territories and marked
    fictitious (so an office reads its own territory as its own, « données fictives », from the first
    row on), and every delivery queued in the import history with its zone (so each zone's pages
    say « Import en cours : 4 livraisons sur 12 » until its last one is in). The import ids, in order.
    In the caller's transaction."""
    import sqlalchemy as sa

    from intranet.core.models import Territory
    from intranet.extensions import db
    from intranet.fvt_tab.arriving import set_import_zones
    from intranet.fvt_tab.models import Import, Zone, ZoneAlias
    from intranet.fvt_tab.reference import fold

    zones = zones or ZONES
    territories = dict(db.session.execute(sa.select(Territory.code, Territory.id)).all())
    existing = {z.code: z for z in db.session.scalars(sa.select(Zone).where(Zone.code.in_([z[0] for z in zones])))}
    for code, label, territory_code, _size, _winter in zones:
        zone = existing.get(code)
        if zone is None:
            zone = Zone(code=code, name=label)
            db.session.add(zone)
            db.session.flush()
            if not db.session.scalar(sa.select(ZoneAlias.id).where(ZoneAlias.folded == fold(label))):
                db.session.add(ZoneAlias(zone_id=zone.id, alias=label, folded=fold(label)))
        zone.is_fictitious = True
        if zone.latitude is None and code in POSITIONS:
            zone.latitude, zone.longitude = POSITIONS[code]
        if zone.territory_id is None:
            zone.territory_id = territories.get(territory_code)
    ids = []
    for zone, _year, _b, name in plan(years, zones):
        imp = Import(filename=name, sha256="", status="queued", job_id=job_id)
        db.session.add(imp)
        db.session.flush()
        set_import_zones(imp.id, {zone[0]})
        ids.append(imp.id)
    db.session.flush()
    return ids


def queue_demo(years=DEMO_YEARS, zones=None):
    """The demo job, queued with its zones and deliveries prepared (``prepare_demo``): called by
    ``flask setup`` in the demo network's transaction. Returns the job."""
    from intranet.core import jobs

    selected = [z for z in ZONES if not zones or z[0] in zones]
    job = jobs.enqueue("fvt_tab.demo", {"years": list(years), "zones": [z[0] for z in selected]})
    prepare_demo(list(years), job.id, selected)
    return job
