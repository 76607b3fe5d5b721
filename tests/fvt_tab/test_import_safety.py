"""Damaged and hostile uploads: truncated and malformed files, header / file-name mismatches, ZIP
bombs, too many entries, path traversal, an entry lying about its size, files that are not what
their name says. Each is refused as a whole with a French error, and nothing changes: the store
holds exactly what it held before (facts, year totals, zones, aliases, day flags, imports).
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from datetime import date

import pytest
import sqlalchemy as sa

from intranet.extensions import db
from intranet.fvt_tab import reading
from intranet.fvt_tab.models import Import
from tests.conftest import csrf_token
from tests.fvt_tab.conftest import (
    COMMON,
    csv_bytes,
    daily_rows,
    facts,
    import_fails,
    import_file,
    sheet_rows,
    snapshot,
    xlsx_bytes,
    zip_bytes,
)

JULY = date(2024, 7, 1)
NAME = "Nuitee_2024B4_SALERS0.csv"


def nuitee(volume=100, days: int = 3) -> bytes:
    return csv_bytes(daily_rows(JULY, days=days, provenances=("NonLocal", "Etranger"), volume=volume))


@pytest.fixture
def store(app):
    """A store holding a delivery already (so « nothing changed » means something): its snapshot."""
    import_file("Pays de Salers.zip", zip_bytes({
        NAME: nuitee(100),
        "Nuitee_Pays_2024B4_SALERS0.csv": csv_bytes(daily_rows(
            JULY, days=3, provenances=("Etranger",), extra={"Pays": ["BELGIQUE", "CUMUL"]}, volume=40)),
        "Diurne_2024B4_SALERS0.csv": csv_bytes(daily_rows(JULY, days=3, categories=("Excursionniste",),
                                                          volume=70)),
    }))
    before = snapshot()
    assert len(before["facts"]) == 15 and before["imports_done"] == [1]
    return before


def refused(name: str, data: bytes, before: dict, **kw) -> str:
    """Import ``data``, expect a refusal; check that nothing changed and no import was recorded."""
    message = import_fails(name, data, **kw)
    assert snapshot() == before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Import)) == len(before["imports_done"])
    assert "Traceback" not in message and "Error" not in message
    return message


# -- truncated and malformed files ------------------------------------------------------------------------

def test_a_truncated_csv_is_refused_in_french(store):
    cut = nuitee(999)[:-7]  # the last line stops in the middle of its category
    assert cut.endswith(b";Etranger;Touris")
    assert refused(NAME, cut, store) == f"{NAME} est tronqué ou mal formé : la ligne 7 est incomplète."


def test_a_truncated_file_inside_a_delivery_refuses_the_whole_delivery(store):
    data = zip_bytes({
        "Diurne_2024B4_SALERS0.csv": csv_bytes(daily_rows(JULY, days=3, categories=("Excursionniste",), volume=1)),
        NAME: nuitee(999)[:-7],
        "Arrivee_2024B4_SALERS0.csv": nuitee(5),
    })
    # The other files were fine and would have changed figures: none of them is loaded.
    assert refused("Pays de Salers.zip", data, store) == (
        f"{NAME} est tronqué ou mal formé : la ligne 7 est incomplète.")
    assert {f.value for f in facts(family="Diurne")} == {70}


def test_a_truncated_zip_is_refused(store):
    data = zip_bytes({NAME: nuitee(999), "Diurne_2024B4_SALERS0.csv": nuitee(1)})
    for cut in (len(data) // 2, len(data) - 30, 10):
        assert refused("Pays de Salers.zip", data[:cut], store) == (
            "Pays de Salers.zip est endommagé ou n'est pas une archive ZIP valide.")


def test_a_zip_entry_with_corrupted_data_is_refused(store):
    data = bytearray(zip_bytes({NAME: nuitee(999, days=30)}))
    start = 30 + len(NAME)  # the local header, then the compressed data
    data[start + 20:start + 40] = b"\x00" * 20
    assert refused("Pays de Salers.zip", bytes(data), store) == f"Pays de Salers.zip : le fichier {NAME} est endommagé."


@pytest.mark.parametrize(("content", "message"), [
    # More fields than the header on the first data line: pandas would take them as an index and shift
    # every column (the date read as the weekday…).
    (b"Date;Provenance;CategorieVisiteur;Volume\n2024-07-01;NonLocal;Touriste;12;34\n"
     b"2024-07-02;NonLocal;Touriste;56\n",
     f"{NAME} est mal formé : la ligne 2 a 5 champs au lieu de 4."),
    # A line in the middle cut short: its volume must not be read as withheld.
    (b"Date;Provenance;CategorieVisiteur;Volume\n2024-07-01;NonLocal;Touriste\n2024-07-02;NonLocal;Touriste;56\n",
     f"{NAME} est mal formé : la ligne 2 a 3 champs au lieu de 4."),
    (b"Date;Provenance;CategorieVisiteur;Volume\n2024-07-01;NonLocal;Touriste;1\n\n2024-07-02;NonLocal;Touriste;5;6\n"
     b"2024-07-03;NonLocal;Touriste;1\n",
     f"{NAME} est mal formé : la ligne 4 a 5 champs au lieu de 4."),
    # A quote never closed swallows the rest of the file.
    (b'Date;Provenance;CategorieVisiteur;Volume\n2024-07-01;"NonLocal;Touriste;1\n2024-07-02;NonLocal;Touriste;5\n',
     f"{NAME} est tronqué ou mal formé : la ligne 2 est incomplète."),
    (b"", f"{NAME} est vide."),
    (b"\xef\xbb\xbf\r\n \r\n", f"{NAME} est vide."),
    # Neither UTF-8 nor Windows-1252 (bytes cp1252 leaves undefined).
    (b"Date;Volume\n\x81\x8d\x8f\x90\x9d\n", f"{NAME} : encodage illisible (ni UTF-8 ni Windows-1252)."),
    # Not a CSV at all (a PNG renamed): no column the importer needs.
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10",
     f"{NAME} : colonne(s) absente(s) : Date, Provenance, CategorieVisiteur, Volume."),
], ids=["extra-fields-first-line", "short-line", "extra-fields-after-blank", "unclosed-quote", "empty", "blank",
        "undecodable", "binary"])
def test_a_malformed_csv_is_refused_in_french(store, content, message):
    assert refused(NAME, content, store) == message


def test_a_csv_header_with_a_missing_required_column_is_refused(store):
    rows = daily_rows(JULY, days=2)
    header = [h for h in rows[0] if h != "Provenance"]
    assert refused(NAME, csv_bytes(rows, header=header), store) == (
        f"{NAME} : colonne(s) absente(s) : Provenance.")


@pytest.mark.parametrize(("name", "extra", "message"), [
    ("Nuitee_Pays_2024B4_SALERS0.csv", {},
     "Nuitee_Pays_2024B4_SALERS0.csv : le nom annonce la ventilation « Pays » mais l'en-tête n'a pas la colonne "
     "Pays."),
    # A country file named as a department file.
    ("Nuitee_Departement_2024B4_SALERS0.csv", {"Pays": ["BELGIQUE"]},
     "Nuitee_Departement_2024B4_SALERS0.csv : le nom annonce la ventilation « Departement » mais l'en-tête n'a pas "
     "la colonne NomDepartement."),
    ("Nuitee_Age_2024B4_SALERS0.csv", {"Geolife": ["Urbains aisés"]},
     "Nuitee_Age_2024B4_SALERS0.csv : le nom annonce la ventilation « Age » mais l'en-tête n'a pas la colonne Age."),
    ("SejourDuree_2024B4_SALERS0.csv", {},
     "SejourDuree_2024B4_SALERS0.csv : un fichier SejourDuree doit avoir la colonne DureeSejour."),
    ("LieuNuitee_Soir_2024B4_SALERS0.csv", {"ZoneNuiteeSoir": ["Aurillac"]},
     "LieuNuitee_Soir_2024B4_SALERS0.csv : la colonne du département de l'autre lieu (DeptZone…) manque."),
], ids=["pays", "departement", "age", "sejour", "mobility"])
def test_header_and_breakdown_of_the_name_must_agree(store, name, extra, message):
    data = csv_bytes(daily_rows(JULY, days=2, extra=extra))
    assert refused(name, data, store) == message
    # Inside a delivery, the whole delivery is refused.
    assert refused("Pays de Salers.zip", zip_bytes({"Diurne_2024B4_SALERS0.csv": nuitee(1), name: data}),
                   store) == message


# -- archives -----------------------------------------------------------------------------------------------

def bomb_entry(size: int = 20 * 1024 * 1024) -> bytes:
    """A CSV-looking entry of ``size`` bytes that deflates about 1000:1."""
    return (";".join(COMMON + ["Volume"]) + "\n").encode() + b"0" * size


def test_a_zip_bomb_is_refused_before_it_is_inflated(store, monkeypatch):
    data = zip_bytes({NAME: nuitee(999), "Diurne_2024B4_SALERS0.csv": bomb_entry()})
    assert len(data) < 100_000  # 20 MB inside
    inflated = []
    monkeypatch.setattr(reading, "read_entry", lambda *a: inflated.append(a) or b"")
    message = refused("Pays de Salers.zip", data, store)
    assert message.startswith("Pays de Salers.zip ressemble à une bombe de décompression (taux ")
    assert message.endswith(":1 pour Diurne_2024B4_SALERS0.csv).")
    assert int(message.split("taux ")[1].split(":")[0]) > reading.MAX_RATIO
    assert inflated == []  # checked from the directory, no entry read


def test_many_small_entries_that_together_are_a_bomb_are_refused(store):
    """Each entry under 1 MB (below the per-entry check), together some 100 MB from about 100 KB."""
    files = {f"Nuitee_2024B{1 + i % 6}_ZONE{i}.csv": bomb_entry(1000 * 1000) for i in range(100)}
    data = zip_bytes(files)
    assert len(data) < 200_000
    message = refused("Pays de Salers.zip", data, store)
    assert message.startswith("Pays de Salers.zip ressemble à une bombe de décompression (taux ")


def test_a_workbook_bomb_is_refused(store):
    workbook = zipfile.ZipFile(io.BytesIO(xlsx_bytes({"Nuitee": sheet_rows(daily_rows(JULY))})))
    files = {i.filename: workbook.read(i) for i in workbook.infolist()}
    files["xl/worksheets/sheet1.xml"] = files["xl/worksheets/sheet1.xml"] + b" " * (20 * 1024 * 1024)
    message = refused("Livraison_2024B4_SALERS0.xlsx", zip_bytes(files), store)
    assert message.startswith("Livraison_2024B4_SALERS0.xlsx ressemble à une bombe de décompression (taux ")


def test_compressible_but_honest_files_are_not_taken_for_bombs(app):
    """Orange's CSVs compress about 10:1 (repeated columns): a large real file is accepted."""
    rows = daily_rows(JULY, days=62, provenances=("Local", "NonLocal", "Etranger"),
                      extra={"NomDepartement": ["Cantal", "Puy-de-Dôme", "Corrèze", "Aveyron", "Lot", "Paris"]},
                      volume=lambda r: r["day"].day * 7 + len(r["NomDepartement"]))
    entry = csv_bytes(rows)
    data = zip_bytes({"Nuitee_Departement_2024B4_SALERS0.csv": entry})
    assert len(entry) / len(data) > 10
    imp = import_file("Pays de Salers.zip", data)
    assert imp.rows_loaded == len(rows) == 1116


def test_too_many_entries_are_refused(store):
    files = {f"Nuitee_2024B4_ZONE{i}.csv": b"" for i in range(reading.MAX_ENTRIES + 1)}
    message = refused("Pays de Salers.zip", zip_bytes(files, compression=zipfile.ZIP_STORED), store)
    assert message == f"Pays de Salers.zip contient trop de fichiers ({reading.MAX_ENTRIES + 1})."


def test_too_much_once_uncompressed_is_refused(store, monkeypatch):
    monkeypatch.setattr(reading, "MAX_TOTAL_BYTES", 5_000)  # the real limit is 1 GB
    data = zip_bytes({NAME: nuitee(5, days=30), "Diurne_2024B4_SALERS0.csv": nuitee(6, days=30)})
    assert refused("Pays de Salers.zip", data, store) == "Pays de Salers.zip est trop gros une fois décompressé."


@pytest.mark.parametrize("entry", [
    "../x.csv", f"../../{NAME}", f"Pays de Salers/../../{NAME}", f"/{NAME}", "/etc/cron.d/x.csv",
    f"..\\{NAME}", f"C:\\Windows\\{NAME}", f"C:/{NAME}",
], ids=["parent", "parent2", "inner-parent", "absolute", "absolute-etc", "backslash-parent", "drive", "drive-slash"])
def test_a_path_traversal_entry_refuses_the_delivery(store, entry, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = zip_bytes({NAME: nuitee(999), entry: nuitee(999)})
    message = refused("Pays de Salers.zip", data, store)
    listed = zipfile.ZipFile(io.BytesIO(data)).infolist()[1].filename  # as the ZIP's directory spells it
    assert message == f"Pays de Salers.zip contient un chemin interdit : {listed}"
    assert list(tmp_path.rglob("*")) == [] and list(tmp_path.parent.glob("*.csv")) == []


def test_a_path_traversal_entry_in_a_workbook_is_refused(store):
    workbook = zipfile.ZipFile(io.BytesIO(xlsx_bytes({"Nuitee": sheet_rows(daily_rows(JULY))})))
    files = {i.filename: workbook.read(i) for i in workbook.infolist()}
    files["../../xl/evil.xml"] = b"<x/>"
    assert refused("Livraison_2024B4_SALERS0.xlsx", zip_bytes(files), store) == (
        "Livraison_2024B4_SALERS0.xlsx contient un chemin interdit : ../../xl/evil.xml")


def test_folders_inside_a_delivery_are_fine(app):
    imp = import_file("Pays de Salers.zip", zip_bytes({f"Pays de Salers/2024B4/{NAME}": nuitee(5)}))
    assert imp.rows_loaded == 6 and [f["name"] for f in imp.report["files"]] == [NAME]


def lying_zip(declared: int) -> bytes:
    """A ZIP whose only entry inflates to more than its headers declare (``declared`` bytes)."""
    data = bytearray(zip_bytes({NAME: nuitee(999, days=40)}))
    real = zipfile.ZipFile(io.BytesIO(bytes(data))).infolist()[0].file_size
    assert real > declared
    local = data.index(b"PK\x03\x04")
    central = data.index(b"PK\x01\x02")
    struct.pack_into("<I", data, local + 22, declared)  # uncompressed size in the local header
    struct.pack_into("<I", data, central + 24, declared)  # and in the central directory
    return bytes(data)


def test_an_entry_larger_than_it_declares_is_refused(store):
    message = refused("Pays de Salers.zip", lying_zip(200), store)
    assert message in (f"Pays de Salers.zip : le fichier {NAME} est plus gros qu'annoncé.",
                       f"Pays de Salers.zip : le fichier {NAME} est endommagé.")


def with_flags(data: bytes, *, flags: int | None = None, method: int | None = None) -> bytes:
    """The ZIP with its first entry's general-purpose flags or compression method changed in both headers."""
    data = bytearray(data)
    local, central = data.index(b"PK\x03\x04"), data.index(b"PK\x01\x02")
    if flags is not None:
        struct.pack_into("<H", data, local + 6, flags)
        struct.pack_into("<H", data, central + 8, flags)
    if method is not None:
        struct.pack_into("<H", data, local + 8, method)
        struct.pack_into("<H", data, central + 10, method)
    return bytes(data)


def test_an_encrypted_entry_is_refused(store):
    data = with_flags(zip_bytes({NAME: nuitee(999)}), flags=0x1)  # « encrypted »: a password would be needed
    assert zipfile.ZipFile(io.BytesIO(data)).infolist()[0].flag_bits & 0x1
    assert refused("Pays de Salers.zip", data, store) == f"Pays de Salers.zip : le fichier {NAME} est endommagé."


def test_an_entry_in_an_unsupported_compression_method_is_refused(store):
    data = with_flags(zip_bytes({NAME: nuitee(999)}), method=9)  # Deflate64, which Python cannot read
    assert refused("Pays de Salers.zip", data, store) == f"Pays de Salers.zip : le fichier {NAME} est endommagé."


# -- files that are not what their name says -------------------------------------------------------------------

@pytest.mark.parametrize("content", [
    nuitee(5),  # a CSV renamed .zip
    b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< >>\nendobj\n",
    b"PK\x03\x04" + b"\x00" * 40,  # a ZIP's signature, nothing behind
    b"",
], ids=["csv", "pdf", "signature-only", "empty"])
def test_a_file_named_zip_that_is_not_a_zip_is_refused(store, content):
    assert refused("Pays de Salers.zip", content, store) == (
        "Pays de Salers.zip est endommagé ou n'est pas une archive ZIP valide.")


def test_a_file_named_xlsx_that_is_not_a_workbook_is_refused(store):
    assert refused("Livraison.xlsx", nuitee(5), store) == (
        "Livraison.xlsx est endommagé ou n'est pas une archive ZIP valide.")
    # A real ZIP, but no workbook inside.
    assert refused("Livraison.xlsx", zip_bytes({NAME: nuitee(5)}), store) == (
        "Livraison.xlsx : classeur Excel illisible ou endommagé.")


def test_a_workbook_sheet_without_its_header_row_is_refused(store):
    from intranet.fvt_tab.models import MappingProfile

    db.session.add(MappingProfile(name="Rapport", sheet="Synthèse", header_row=5, zone_code="SALERS0",
                                  period_columns=["2024-07-01"]))
    db.session.commit()
    before = snapshot()
    profile_id = db.session.scalar(sa.select(MappingProfile.id))
    data = xlsx_bytes({"Synthèse": [["Titre"], ["Zone", "2024-07-01"], ["Pays de Salers", 4]]})
    assert refused("Rapport.xlsx", data, before, profile_id=profile_id) == (
        "Rapport.xlsx › Synthèse : la feuille n'a pas de ligne 5, où l'en-tête est attendu.")
    # A profile naming columns the sheet does not have.
    data = xlsx_bytes({"Synthèse": [[], [], [], [], ["Zone", "juillet 2024"], ["Pays de Salers", 4]]})
    assert refused("Rapport.xlsx", data, before, profile_id=profile_id) == (
        "Rapport.xlsx › Synthèse : aucune des colonnes de période du profil n'existe.")


@pytest.mark.parametrize(("name", "content", "message"), [
    ("rapport.pdf", b"%PDF-1.4\n", "rapport.pdf : type de fichier non pris en charge (ZIP, CSV ou Excel .xlsx)."),
    ("Livraison.xls", b"\xd0\xcf\x11\xe0", "Livraison.xls : type de fichier non pris en charge (ZIP, CSV ou Excel "
                                           ".xlsx)."),
    ("Bilan de saison.csv", None, "Bilan de saison.csv : nom de fichier non reconnu (attendu par exemple "
                                  "Nuitee_Departement_2024B4_SALERS0.csv)."),
    ("Dispo_2024B4_SALERS0.csv", None, "Dispo_2024B4_SALERS0.csv : nom de fichier non reconnu (attendu par exemple "
                                       "Nuitee_Departement_2024B4_SALERS0.csv)."),
    ("Pays de Salers.zip", "zip-without-flux-vision",
     "Pays de Salers.zip ne contient aucun fichier Flux Vision reconnu."),
], ids=["pdf", "xls", "csv-name", "unknown-family-alone", "zip-nothing-known"])
def test_files_the_importer_does_not_know_are_refused(store, name, content, message):
    if content is None:
        content = nuitee(5)
    elif content == "zip-without-flux-vision":
        content = zip_bytes({"Dispo_2024B4_SALERS0.csv": b"Date;Disponibilite\n", "LisezMoi.txt": b"Bonjour"})
    assert refused(name, content, store) == message


def test_a_zone_less_file_with_no_zone_label_is_refused(store):
    rows = daily_rows(JULY, days=2)
    header = [h for h in rows[0] if h != "ZoneObservation"]
    assert refused("Nuitee_2024B5.csv", csv_bytes(rows, header=header), store) == (
        "Impossible de savoir à quelle zone appartient un fichier : ni code dans son nom, ni colonne "
        "ZoneObservation.")


def test_a_failure_after_rows_were_written_rolls_everything_back(store):
    """The first file is written (new values, a new zone), then the second names no zone: the whole
    transaction is rolled back, on SQLite (executemany) and on PostgreSQL (COPY) alike."""
    rows = daily_rows(JULY, days=2)
    header = [h for h in rows[0] if h != "ZoneObservation"]
    data = zip_bytes({NAME: nuitee(999), "Nuitee_2024B4_NOUVELLE0.csv": nuitee(5),
                      "Diurne_2024B5.csv": csv_bytes(rows, header=header)})
    assert refused("Livraison.zip", data, store) == (
        "Impossible de savoir à quelle zone appartient un fichier : ni code dans son nom, ni colonne "
        "ZoneObservation.")
    assert {f.value for f in facts(family="Nuitee", breakdown="")} == {100}
    # The store works on: the same delivery without its bad file is imported.
    imp = import_file("Livraison.zip", zip_bytes({NAME: nuitee(999), "Nuitee_2024B4_NOUVELLE0.csv": nuitee(5)}))
    assert imp.report["new_zones"] == ["NOUVELLE0"]
    assert {f.value for f in facts(zone="SALERS0", family="Nuitee", breakdown="")} == {999}


# -- through the worker ---------------------------------------------------------------------------------------

def test_a_bomb_sent_through_the_upload_page_fails_in_the_worker_and_changes_nothing(store, client, login, factories):
    from intranet.core import jobs

    login(factories.user(role="animateur"))
    before = snapshot()
    data = zip_bytes({NAME: nuitee(999), "Diurne_2024B4_SALERS0.csv": bomb_entry()})
    resp = client.post("/fvt_tab/imports/nouveau", data={
        "csrf_token": csrf_token(client, "/fvt_tab/imports/nouveau"), "profile_id": "0",
        "file": (io.BytesIO(data), "Pays de Salers.zip")}, content_type="multipart/form-data")
    assert resp.status_code == 302
    jobs.run_once()
    db.session.expire_all()
    imp = db.session.scalars(sa.select(Import).order_by(Import.id.desc())).first()
    assert imp.status == "failed" and imp.stored_key is None
    assert imp.error.startswith("Pays de Salers.zip ressemble à une bombe de décompression")
    page = client.get(f"/fvt_tab/imports/{imp.id}")
    assert page.status_code == 200 and "bombe de décompression" in page.get_data(as_text=True)
    after = snapshot()
    assert after["imports_done"] == before["imports_done"]
    assert {k: v for k, v in after.items() if k != "imports_done"} == {
        k: v for k, v in before.items() if k != "imports_done"}


def test_crc_check_is_kept(store):
    """A byte flipped in an entry stored uncompressed: the CRC tells, the file is refused."""
    data = bytearray(zip_bytes({NAME: nuitee(999)}, compression=zipfile.ZIP_STORED))
    start = 30 + len(NAME)
    body = nuitee(999)
    assert data[start:start + len(body)] == body and zlib.crc32(body)
    data[start + len(body) - 3] ^= 0x01  # a digit of the last volume
    assert refused("Pays de Salers.zip", bytes(data), store) == (
        f"Pays de Salers.zip : le fichier {NAME} est endommagé.")
