"""Demo library: a few folders with real small files on the first `make run`."""

from __future__ import annotations

import io

import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from intranet.core.audiences import get_audience
from intranet.core.models import User
from intranet.core.storage import save_upload
from intranet.documents import services
from intranet.documents.models import Document
from intranet.extensions import db
from intranet.groups.models import Group


def _pdf(text: str) -> bytes:
    """A one-page PDF with a line of text (written here: no PDF library needed to make one)."""
    stream = f"BT /F1 16 Tf 40 700 Td ({text}) Tj ET".encode("latin-1")
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
               b" /Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _file(name: str, content: bytes):
    return save_upload(FileStorage(io.BytesIO(content), filename=name), ["document", "image"])


def load_demo() -> str:
    people = {u.email.split("@")[0]: u for u in db.session.scalars(sa.select(User))}
    animateur, salers = people["animateur"], people["salers"]
    models = services.create_folder(animateur, "Modèles et chartes",
                                    description="Les modèles de l'agence à reprendre dans vos supports.")
    tarifs = services.create_folder(animateur, "Tarifs et taxe de séjour")
    board = services.create_folder(animateur, "Comités de pilotage",
                                   audience=get_audience([("org", animateur.organization_id)]))
    services.add_document(animateur, models, _file("Charte graphique 2027.pdf", _pdf("Charte graphique 2027")),
                          note="La charte **2027** : logo, couleurs et typographies.", tags="charte, communication")
    services.add_document(animateur, tarifs, _file("Grille taxe de sejour 2027.csv",
                                                   "Catégorie;Tarif par nuit\nHôtel 3 étoiles;1,50\nCamping;0,55\n"
                                                   .encode()), note="Les tarifs votés par le conseil départemental.",
                          tags="taxe de séjour, tarifs", needs_confirmation=True)
    services.add_document(animateur, board, _file("Compte rendu COPIL mars.pdf", _pdf("Compte rendu du COPIL")),
                          note="Réservé à l'agence.")
    directors = db.session.scalar(sa.select(Group).where(Group.name == "Directeurs d'offices"))
    count = 3
    if directors is not None:
        folder = services.create_folder(people["admin"], "Budgets 2027", group=directors)
        services.add_document(salers, folder, _file("Budget previsionnel Salers.pdf", _pdf("Budget 2027")),
                              note="Notre budget prévisionnel, pour comparer.")
        count += 1
    db.session.flush()
    for doc in db.session.scalars(sa.select(Document)):
        services.prepare(doc)  # text and thumbnails now: the worker's queue stays for the FVT imports
    return f"{count} documents in 4 folders"
