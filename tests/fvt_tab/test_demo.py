"""The demo's Flux Vision data as a new office member meets it right after `make run`: their own
territory is theirs (never « consultation ») and marked « données fictives » before the worker has
imported anything, while it imports (each delivery) and after; the pages say how many deliveries
are in, and the figures say which period they cover.

The demo network is the real one (``load_demo``), the job is queued as ``flask setup`` queues it and
run by the real worker loop (``run_once``); only its deliveries are fewer (one zone of a member and
one other, one year) so that the test stays short. The pages are read between two deliveries by
wrapping the job's ``run_import`` (the real one runs right after).
"""

from __future__ import annotations

import sqlalchemy as sa

from intranet.core import jobs
from intranet.core.demo import DEMO_PASSWORD, load_demo
from intranet.core.models import User
from intranet.extensions import db
from intranet.fvt_tab import jobs as fvt_jobs
from intranet.fvt_tab.demo import queue_demo
from intranet.fvt_tab.models import Import, Zone

OWN, OTHER = "SALERS0", "AURILLAC0"


def _member(app, login):
    member = db.session.scalar(sa.select(User).where(User.email == "salers@demo.local"))
    return login(member, password=DEMO_PASSWORD, c=app.test_client())


def _read(client) -> dict:
    listing = client.get("/fvt_tab/territoires").get_data(as_text=True)
    own = client.get(f"/fvt_tab/zones/{OWN}")
    body = own.get_data(as_text=True)
    export = client.get(f"/fvt_tab/zones/{OWN}/export.csv")
    return {"listing": listing, "status": own.status_code, "page": body, "export": export}


def _check_own_zone(seen: dict, arriving: str | None) -> None:
    listing, page = seen["listing"], seen["page"]
    assert seen["status"] == 200
    assert "Consultation seule" not in page
    own_item = listing[listing.index(f'href="/fvt_tab/zones/{OWN}"'):]
    own_item = own_item[:own_item.index("</li>")]
    assert "consultation et export" in own_item and "votre territoire" in own_item
    assert listing.index(f'href="/fvt_tab/zones/{OWN}"') < listing.index(f'href="/fvt_tab/zones/{OTHER}"')
    assert "données fictives" in own_item
    assert "données fictives de démonstration" in page  # the banner of every FVT page
    if arriving:
        assert arriving in page and arriving in own_item
    else:
        assert "Import en cours" not in page and "Import en cours" not in listing


def test_a_members_own_zone_is_theirs_and_fictitious_before_during_and_after_the_demo_import(app, login,
                                                                                            monkeypatch):
    load_demo()
    job = queue_demo(years=(2025,), zones=(OWN, OTHER))
    db.session.commit()
    member = _member(app, login)

    # Queued, the worker not started: the zones are there, linked, marked, and nothing is imported.
    seen = _read(member)
    _check_own_zone(seen, "Import en cours : 0 livraison sur 6")
    assert "Pas encore de données" not in seen["page"]  # the import says the figures are coming
    assert seen["export"].status_code == 200
    assert db.session.scalar(sa.select(sa.func.count(Import.id)).where(Import.status == "queued")) == 12

    readings = []
    real_run_import = fvt_jobs.run_import

    def reading_then_import(imp, data, **kwargs):
        zone_done = db.session.scalar(sa.select(sa.func.count(Import.id)).where(
            Import.status == "done", Import.filename.like("Pays de Salers %")))
        readings.append((imp.filename, zone_done, _read(member)))
        return real_run_import(imp, data, **kwargs)

    monkeypatch.setattr(fvt_jobs, "run_import", reading_then_import)
    assert jobs.run_once()["jobs"] == 1

    assert len(readings) == 12
    for filename, zone_done, seen in readings:
        if filename.startswith("Pays de Salers"):
            _check_own_zone(seen, f"Import en cours : {zone_done} livraison{'s' if zone_done > 1 else ''} sur 6")
        else:  # the other zone's deliveries come first: the member's are all still waiting
            _check_own_zone(seen, "Import en cours : 0 livraison sur 6")
        assert seen["export"].status_code == 200
        csv_text = seen["export"].get_data(as_text=True)
        assert "Données fictives de démonstration" in csv_text
        if zone_done:
            # Partial figures are not the year's: the page says which days they cover.
            assert "Année 2025 incomplète : les chiffres couvrent la période du 1er janvier au" in seen["page"]
            assert "ces chiffres sont partiels" in csv_text
    # While the second bimestre of the member's zone is being read, the first one is in.
    salers = [r for r in readings if r[0].startswith("Pays de Salers")]
    assert [r[1] for r in salers] == [0, 1, 2, 3, 4, 5]
    assert "du 1er janvier au 29 février 2025" not in salers[1][2]["page"]  # 2025 has no 29 February
    assert "du 1er janvier au 28 février 2025" in salers[1][2]["page"]

    # After: every delivery in, nothing pending, the year complete, still theirs and fictitious.
    db.session.expire_all()
    assert db.session.get(jobs.Job, job.id).status == "done"
    assert set(db.session.scalars(sa.select(Import.status))) == {"done"}
    seen = _read(member)
    _check_own_zone(seen, None)
    assert "Année complète, du 1er janvier au 31 décembre 2025." in seen["page"]
    assert "Données fictives de démonstration" in seen["export"].get_data(as_text=True)
    zones = {z.code: z for z in db.session.scalars(sa.select(Zone))}
    assert set(zones) == {OWN, OTHER}
    assert all(z.is_fictitious and z.territory_id is not None for z in zones.values())
    assert zones[OWN].name == "Pays de Salers"
