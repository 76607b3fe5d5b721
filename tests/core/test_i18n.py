"""French by default, English for those who choose it; dates the French way in Europe/Paris;
e-mails in the recipient's language; an English catalog complete and in step with the code.

The app reads the compiled ``messages.mo`` (git-ignored), built by ``make translations``, which
``make test`` runs first."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask import render_template_string
from flask_babel import force_locale

from tests.conftest import csrf_token
from tests.notifications import text

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "intranet" / "translations"
POT = TRANSLATIONS / "messages.pot"
CATALOGS = sorted(TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"))
PLACEHOLDER = re.compile(r"%\(\w+\)[sdifr]|%[sdif%]")
UPDATE_HINT = (".venv/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o intranet/translations/messages.pot . "
               "&& .venv/bin/pybabel update -i intranet/translations/messages.pot -d intranet/translations, "
               "then translate the new strings in intranet/translations/en/LC_MESSAGES/messages.po")


def _read_po(path: Path):
    with path.open("rb") as fh:
        return read_po(fh)


def _ids(catalog) -> set[str]:
    """The msgids of a catalog (a plural message counted by its singular)."""
    return {m.id[0] if isinstance(m.id, tuple) else m.id for m in catalog if m.id}


def _key(value):
    return tuple(value) if isinstance(value, list | tuple) else value


@pytest.fixture(scope="module")
def compiled():
    """The English .mo the app loads must say what the .po says (else: ``make translations``)."""
    po = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"
    mo = po.with_suffix(".mo")
    if not mo.exists():
        pytest.fail(f"{mo.relative_to(ROOT)} is missing: run `make translations` (make test does)")
    with mo.open("rb") as fh:
        built = {_key(m.id): _key(m.string) for m in read_mo(fh) if m.id}
    stale = sorted(str(m.id) for m in _read_po(po)
                   if m.id and not m.fuzzy and built.get(_key(m.id)) != _key(m.string))
    if stale:
        pytest.fail(f"{mo.relative_to(ROOT)} is older than its .po ({len(stale)} strings differ, e.g. "
                    f"{stale[:3]}): run `make translations`")


def test_the_compiled_catalog_is_up_to_date(compiled):
    pass


# -- the language of the pages ---------------------------------------------------------------

def test_french_by_default(client, make_user, login):
    login(make_user())
    resp = client.get("/")
    page = text(resp)
    assert resp.status_code == 200
    assert '<html lang="fr"' in resp.get_data(as_text=True)
    assert "Tableau de bord" in page and "Annuaire" in page and "Se déconnecter" in page
    assert "Dashboard" not in page and "Directory" not in page


def test_a_user_whose_locale_is_english_sees_the_dashboard_in_english(compiled, client, make_user, login):
    login(make_user(locale="en"))
    resp = client.get("/")
    page = text(resp)
    assert resp.status_code == 200
    assert '<html lang="en"' in resp.get_data(as_text=True)
    assert "Dashboard" in page and "Directory" in page and "Log out" in page
    assert "Tableau de bord" not in page and "Annuaire" not in page


def test_the_language_is_chosen_on_the_profile_page(compiled, client, make_user, login):
    user = make_user(name="Anne Vidal")
    login(user)
    token = csrf_token(client, "/accounts/profil")
    resp = client.post("/accounts/profil", data={"name": "Anne Vidal", "locale": "en", "csrf_token": token},
                       follow_redirects=True)
    assert resp.status_code == 200
    assert "Your profile has been saved." in text(resp)
    assert "Dashboard" in text(client.get("/"))

    token = csrf_token(client, "/accounts/profil")
    resp = client.post("/accounts/profil", data={"name": "Anne Vidal", "locale": "fr", "csrf_token": token},
                       follow_redirects=True)
    assert "Votre profil a été enregistré." in text(resp)
    assert "Tableau de bord" in text(client.get("/"))


def test_before_login_a_lang_cookie_chooses_the_language(compiled, client):
    assert "Mot de passe oublié ?" in text(client.get("/accounts/connexion"))
    client.set_cookie("lang", "en")
    page = text(client.get("/accounts/connexion"))
    assert "Forgot your password?" in page and "Mot de passe oublié" not in page
    client.set_cookie("lang", "xx")  # unknown: French
    assert "Mot de passe oublié ?" in text(client.get("/accounts/connexion"))


# -- dates -----------------------------------------------------------------------------------

def _render(source: str, **context) -> str:
    return render_template_string(source, **context)


@pytest.mark.parametrize(("utc", "expected"), [
    (datetime(2026, 7, 14, 10, 0, tzinfo=UTC), "14 juillet 2026 à 12:00"),  # summer: UTC+2
    (datetime(2026, 1, 14, 10, 0, tzinfo=UTC), "14 janvier 2026 à 11:00"),  # winter: UTC+1
    (datetime(2026, 7, 14, 10, 0), "14 juillet 2026 à 12:00"),  # naive values are UTC
])
def test_dates_are_written_the_french_way_in_paris_time(app, utc, expected):
    with app.test_request_context():
        assert _render("{{ d|datetime }}", d=utc) == expected


def test_the_date_filter_is_the_paris_day(app):
    late = datetime(2026, 7, 14, 22, 30, tzinfo=UTC)  # already the 15th in Paris
    with app.test_request_context():
        assert _render("{{ d|date }}", d=late) == "15 juillet 2026"
        assert _render("{{ d|datetime }}", d=late) == "15 juillet 2026 à 00:30"
        assert _render("{{ d|datetime }}", d=None) == ""


def test_english_dates_keep_paris_time(compiled, app):
    with app.test_request_context(), force_locale("en"):
        assert _render("{{ d|datetime }}", d=datetime(2026, 7, 14, 10, 0, tzinfo=UTC)) == "14 July 2026 at 12:00"


# -- e-mails, in the recipient's language ------------------------------------------------------

def test_a_password_reset_email_is_written_in_the_recipients_language(compiled, app, make_user, outbox):
    from intranet.accounts.services import request_password_reset
    from intranet.extensions import db

    make_user(name="Jane Smith", email="jane@exemple.fr", locale="en")
    make_user(name="Jean Martin", email="jean@exemple.fr")
    with app.test_request_context(), force_locale("fr"):  # whoever asks, the mail follows its reader
        request_password_reset("jane@exemple.fr")
        request_password_reset("jean@exemple.fr")
        db.session.commit()
    english, french = outbox()
    assert english.subject == "Reset your password"
    assert "Hello Jane Smith," in english.text and "valid for 1 hour" in english.text
    assert '<html lang="en">' in english.html and "Choose a new password" in english.html
    assert french.subject == "Réinitialisation de votre mot de passe"
    assert "Bonjour Jean Martin," in french.text and "valable 1 heure" in french.text
    assert '<html lang="fr">' in french.html


def test_an_invitation_sent_by_an_english_speaker_is_in_french_for_the_newcomer(compiled, app, make_user, outbox):
    from intranet.accounts.services import invite
    from intranet.extensions import db

    admin = make_user(role="admin", name="Jane Smith", locale="en")
    with app.test_request_context(), force_locale("en"):
        invite("Marie Dupont", "marie@exemple.fr", admin.organization, "membre", admin)
        db.session.commit()
    [mail] = outbox()
    assert mail.subject.endswith(": votre invitation")
    assert "Jane Smith vous invite à rejoindre Intranet du réseau, l'intranet de" in mail.text
    assert "valable 7 jours" in mail.text


def test_a_notification_email_is_rendered_in_the_recipients_language(compiled, app, factories):
    from intranet.core.mail import deliver_outbox
    from tests.notifications import invite, mails_to

    owner = factories.user(name="Odile Martin")
    guest = factories.user(name="Jane Smith", locale="en")
    invite(app, owner, factories.group(name="Comité de pilotage", visibility="private", owner=owner), guest)
    deliver_outbox()
    [mail] = mails_to(guest)
    assert mail.status == "sent"
    assert mail.subject == "Invitation to the group “Comité de pilotage”"
    assert "Hello Jane Smith," in mail.text
    assert "Odile Martin invites you to the group “Comité de pilotage”" in mail.text
    assert "View on the intranet: http://127.0.0.1/" in mail.text
    assert "You receive this email for: I am invited to a group." in mail.text


def test_a_digest_is_written_in_its_readers_language(compiled, app, factories):
    from intranet.core import notifications as bus
    from intranet.core.digests import send_digest
    from intranet.core.notifications import notify
    from intranet.extensions import db
    from tests.notifications import mails_to

    owner = factories.user(name="Odile Martin")
    reader = factories.user(name="Jane Smith", locale="en")
    group = factories.group(name="Balades nature", owner=owner, admins=[reader])
    bus.set_frequency(reader.id, "daily")
    db.session.commit()
    for member in ("Zoé Lefèvre", "Paul Roux"):
        with app.test_request_context():
            notify("groups.new_member", [reader], owner, group, member=member)
            db.session.commit()
    assert send_digest("daily") == 1
    db.session.commit()
    [mail] = mails_to(reader)
    assert mail.subject == "Your daily digest: 2 new items"
    assert "Hello Jane Smith," in mail.text and "== A new member joins a group I manage ==" in mail.text
    assert "- Zoé Lefèvre joined the group “Balades nature”" in mail.text
    assert "Choose your notifications: http://127.0.0.1/notifications/preferences" in mail.text


# -- the catalogs ----------------------------------------------------------------------------------

@pytest.mark.parametrize("po", CATALOGS, ids=lambda p: p.parts[-3])
def test_every_string_is_translated_with_the_same_placeholders(po):
    catalog = _read_po(po)
    problems = []
    for m in catalog:
        if not m.id:
            continue
        sources = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        if m.fuzzy:
            problems.append(f"fuzzy: {sources[0]!r}")
        if not all(strings):
            problems.append(f"not translated: {sources[0]!r}")
            continue
        for i, string in enumerate(strings):
            source = sources[min(i, len(sources) - 1)]
            want, got = set(PLACEHOLDER.findall(source)), set(PLACEHOLDER.findall(string))
            if len(sources) > 1:  # a plural form may leave the number out ("one new item")
                got |= want & {"%(num)d"}
            if want != got:
                problems.append(f"placeholders {sorted(want)} ≠ {sorted(got)}: {source!r} → {string!r}")
    assert CATALOGS and not problems, "\n".join(problems)


def test_the_catalogs_are_up_to_date_with_the_code(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    fresh = tmp_path / "messages.pot"
    CommandLineInterface().run(["pybabel", "-q", "extract", "-F", "babel.cfg", "-k", "_l", "-k", "lazy_gettext",
                                "-o", str(fresh), "."])
    in_code = _ids(_read_po(fresh))
    assert len(in_code) > 100
    for path in [POT, *CATALOGS]:
        listed = _ids(_read_po(path))
        missing, stale = sorted(in_code - listed), sorted(listed - in_code)
        assert not missing and not stale, (
            f"{path.relative_to(ROOT)} is not up to date with the code.\n"
            f"Strings missing from it: {missing}\nStrings no longer in the code: {stale}\nRun: {UPDATE_HINT}")
