"""Bulk invitation from a CSV file: a per-line report, valid lines invited, broken lines leave nothing."""

from __future__ import annotations

import html as htmllib
import io
import re
import zipfile

import pytest
import sqlalchemy as sa
from PIL import Image

from intranet.core.models import AccountToken, AuditEntry, MailMessage, User
from intranet.extensions import db
from tests.conftest import csrf_token

IMPORT_URL = "/accounts/admin/utilisateurs/import"
ROW_RE = re.compile(r'<tr class="table-(success|danger)"><td>(\d+)</td><td><code>(.*?)</code></td><td>(.*?)</td></tr>',
                    re.S)

SALERS = "Office de tourisme du Pays de Salers"
CARLADES = "Office de tourisme du Carladès"


def _text(resp) -> str:
    return htmllib.unescape(resp.get_data(as_text=True))


def _report(resp) -> dict[int, tuple[bool, str, str]]:
    """{line number: (ok, raw line, message)} as shown in the report table."""
    rows = ROW_RE.findall(resp.get_data(as_text=True))
    return {int(n): (kind == "success", htmllib.unescape(raw), htmllib.unescape(msg)) for kind, n, raw, msg in rows}


def _upload(client, data: bytes, filename="invitations.csv"):
    return client.post(IMPORT_URL, data={"file": (io.BytesIO(data), filename),
                                         "csrf_token": csrf_token(client, IMPORT_URL)},
                       content_type="multipart/form-data")


def _counts() -> tuple[int, int, int]:
    return (db.session.scalar(sa.select(sa.func.count(User.id))),
            db.session.scalar(sa.select(sa.func.count(MailMessage.id))),
            db.session.scalar(sa.select(sa.func.count(AccountToken.id))))


@pytest.fixture
def admin(make_user, make_org, login):
    make_org(name=SALERS)
    make_org(name=CARLADES)
    user = make_user(role="admin", organization=make_org(name="Cantal Destination", kind="agence"))
    login(user)
    return user


def test_a_mixed_file_gives_a_per_line_report_and_invites_only_the_good_lines(client, admin, make_user,
                                                                             outbox):
    make_user(email="existant@exemple.fr", name="Déjà Inscrite")
    lines = [
        "nom;email;organisation;role",
        f"Marie Dupont;marie.dupont@exemple.fr;{SALERS};membre",
        f"Élodie Martin;Elodie.Martin@Exemple.fr;{CARLADES};animatrice",
        f"Trois Colonnes;trois@exemple.fr;{SALERS}",
        "Org Inconnue;inconnue@exemple.fr;Office de tourisme de Nulle Part;membre",
        f"Adresse Fausse;pas-une-adresse;{SALERS};membre",
        f"Marie En Double;MARIE.DUPONT@exemple.fr;{SALERS};membre",
        f"Déjà Là;existant@exemple.fr;{SALERS};membre",
        f"Mauvais Rôle;role@exemple.fr;{SALERS};chef",
        "",
        f"  Paul Admin  ; paul@exemple.fr ; {SALERS.upper()} ;Administrateur",
    ]
    data = ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8")
    before = _counts()

    resp = _upload(client, data)
    assert resp.status_code == 200
    page = _text(resp)
    assert "Rapport : 3 invitation(s) envoyée(s), 6 ligne(s) rejetée(s)" in page

    report = _report(resp)
    assert sorted(report) == [2, 3, 4, 5, 6, 7, 8, 9, 11]
    ok = {n for n, (good, _, _) in report.items() if good}
    assert ok == {2, 3, 11}
    assert report[2][2] == "Invitation envoyée à marie.dupont@exemple.fr."
    assert report[4][2] == "3 colonne(s) au lieu de 4 (nom;email;organisation;role)."
    assert report[5][2] == "Organisation inconnue : « Office de tourisme de Nulle Part »."
    assert report[6][2] == "L'adresse e-mail « pas-une-adresse » n'est pas valide."
    assert report[7][2] == "L'adresse marie.dupont@exemple.fr apparaît plus haut dans le fichier."
    assert report[8][2] == "Un compte existe déjà pour existant@exemple.fr."
    assert report[9][2] == "Le rôle « chef » n'existe pas (admin, animateur ou membre)."
    assert report[5][1] == "Org Inconnue;inconnue@exemple.fr;Office de tourisme de Nulle Part;membre"

    # Exactly three people, three e-mails and three links more: nothing half-created.
    assert _counts() == (before[0] + 3, before[1] + 3, before[2] + 3)
    invited = {u.email: u for u in db.session.scalars(sa.select(User).where(User.password_hash.is_(None)))}
    assert set(invited) == {"marie.dupont@exemple.fr", "elodie.martin@exemple.fr", "paul@exemple.fr"}
    assert invited["elodie.martin@exemple.fr"].name == "Élodie Martin"
    assert invited["elodie.martin@exemple.fr"].role == "animateur"
    assert invited["elodie.martin@exemple.fr"].organization.name == CARLADES
    assert invited["paul@exemple.fr"].role == "admin"
    assert invited["paul@exemple.fr"].name == "Paul Admin"
    assert invited["paul@exemple.fr"].organization.name == SALERS
    assert sorted(r.to_addr for r in outbox()) == sorted(invited)
    for email in ("trois@exemple.fr", "inconnue@exemple.fr", "role@exemple.fr"):
        assert db.session.scalar(sa.select(User).where(User.email == email)) is None
    assert db.session.scalar(sa.select(User.name).where(User.email == "existant@exemple.fr")) == "Déjà Inscrite"

    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "user.bulk_invite"))
    assert entry is not None and entry.actor_id == admin.id
    assert len(db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "user.invite")).all()) == 3


def test_a_windows_1252_file_from_excel_keeps_its_accents(client, admin, outbox):
    data = (f"Hélène Fàbre;helene@exemple.fr;{CARLADES};membre\r\n"
            f"François Œillet;francois@exemple.fr;{CARLADES};membre\r\n").encode("cp1252")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    resp = _upload(client, data)
    assert "Rapport : 2 invitation(s) envoyée(s), 0 ligne(s) rejetée(s)" in _text(resp)
    names = set(db.session.scalars(sa.select(User.name).where(User.password_hash.is_(None))))
    assert names == {"Hélène Fàbre", "François Œillet"}
    assert len(outbox()) == 2
    assert "Bonjour Hélène Fàbre," in outbox()[0].text or "Bonjour Hélène Fàbre," in outbox()[1].text


def test_a_utf8_file_without_bom_and_with_unix_line_ends(client, admin, outbox):
    data = f"Zoé Lebrun;zoe@exemple.fr;{SALERS};membre\n".encode()
    resp = _upload(client, data)
    assert _report(resp) == {1: (True, f"Zoé Lebrun;zoe@exemple.fr;{SALERS};membre",
                                 "Invitation envoyée à zoe@exemple.fr.")}
    assert db.session.scalar(sa.select(User.name).where(User.email == "zoe@exemple.fr")) == "Zoé Lebrun"


def test_a_comma_separated_file_says_which_separator_is_expected(client, admin, outbox):
    before = _counts()
    resp = _upload(client, f"Zoé Lebrun,zoe@exemple.fr,{SALERS},membre\n".encode())
    report = _report(resp)
    assert report[1][0] is False
    assert "au lieu de 4 (nom;email;organisation;role)" in report[1][2]
    assert _counts() == before


def test_html_in_a_line_is_shown_as_text(client, admin):
    resp = _upload(client, b"<script>alert(1)</script>;x@exemple.fr;Nulle part;membre\n")
    assert "<script>alert(1)</script>" not in resp.get_data(as_text=True)
    assert "&lt;script&gt;" in resp.get_data(as_text=True)


@pytest.mark.parametrize("data, message", [
    (b"", "Le fichier est vide."),
    (b"  \r\n\r\n", "Le fichier est vide."),
    (b"\xef\xbb\xbfnom;email;organisation;role\r\n", "Le fichier ne contient aucune ligne à importer."),
])
def test_empty_files_are_refused_in_french(client, admin, data, message, outbox):
    before = _counts()
    resp = _upload(client, data)
    assert resp.status_code == 200
    assert message in _text(resp)
    assert "Rapport" not in _text(resp)
    assert _counts() == before


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (20, 20), (0, 0, 0)).save(buf, "PNG")
    return buf.getvalue()


def _xlsx() -> bytes:
    """What people send when they forget to "save as CSV": an Excel workbook (a zip)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        z.writestr("xl/worksheets/sheet1.xml", f"<sheetData>Marie;marie@exemple.fr;{SALERS};membre</sheetData>")
    return buf.getvalue()


@pytest.mark.parametrize("make_data, filename", [(_png, "photo.csv"), (_xlsx, "invitations.xlsx"),
                                                 (lambda: bytes(range(1, 256)) * 4, "donnees.csv")])
def test_binary_files_are_refused_in_french_and_create_nothing(client, admin, make_data, filename, outbox):
    before = _counts()
    resp = _upload(client, make_data(), filename)
    assert resp.status_code == 200
    page = _text(resp)
    assert "Ce fichier n'est pas un fichier CSV." in page or "n'est pas un texte lisible" in page
    assert "Rapport" not in page
    assert _counts() == before


def test_no_file_chosen(client, admin):
    resp = client.post(IMPORT_URL, data={"csrf_token": csrf_token(client, IMPORT_URL)},
                       content_type="multipart/form-data")
    assert resp.status_code == 200
    assert "Choisissez un fichier CSV." in _text(resp)


def test_a_file_too_long_is_refused_before_inviting_anyone(client, admin, outbox):
    lines = [f"Personne {i};p{i}@exemple.fr;{SALERS};membre" for i in range(2002)]
    before = _counts()
    resp = _upload(client, "\n".join(lines).encode())
    assert "Le fichier compte plus de 2000 lignes : découpez-le." in _text(resp)
    assert _counts() == before


def test_invited_people_can_accept_their_invitation(app, client, admin, outbox):
    _upload(client, f"Zoé Lebrun;zoe@exemple.fr;{SALERS};membre\n".encode())
    path = re.search(r"http://127\.0\.0\.1(/accounts/invitation/\S+)", outbox()[0].text).group(1)
    invitee = app.test_client()
    token = csrf_token(invitee, path)
    resp = invitee.post(path, data={"password": "mon mot de passe", "confirm": "mon mot de passe",
                                    "csrf_token": token})
    assert resp.status_code == 302
    assert "Bonjour Zoé Lebrun !" in _text(invitee.get("/"))
