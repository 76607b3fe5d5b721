"""Authorization matrix: every route of the URL map × {anonyme, membre, animateur, admin} → status.

The routes come from ``app.url_map`` (an app built at collection time: the factory never touches
the database), so a new route without an entry in ``EXPECTED`` fails, naming the route. Each cell
runs in its own test with a fresh database: GET for every route that answers GET, and for the
POST-only routes a POST carrying a valid CSRF token (so the status shows the authorization, not
the CSRF check).

Private pages send anonymous visitors to the login page (302 to /accounts/connexion); pages an
authenticated person may not see answer 403. URL arguments are filled with real objects made in
``world`` below; the organization has a real logo and the target user a real photo, so the two
file routes answer 200 (a missing file would be a 404).

Some POST-only routes get the fields a real form sends (``POST_DATA``: a message, a reason), so an
allowed action is really done; ``EFFECTS`` says what it changes, checked after each allowed POST,
and a refused POST must leave every counter of ``_state`` unchanged.
"""

from __future__ import annotations

import io
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from PIL import Image
from werkzeug.datastructures import FileStorage

from tests.conftest import csrf_token

ROLES = ("anonyme", "membre", "animateur", "admin")
BOGUS_TOKEN = "jeton-inexistant-0123456789"


def _cell(anonyme, membre, animateur, admin):
    return {"anonyme": anonyme, "membre": membre, "animateur": animateur, "admin": admin}


PUBLIC = _cell(200, 200, 200, 200)
PRIVATE = _cell(302, 200, 200, 200)
ADMIN_ONLY = _cell(302, 403, 403, 200)
ADMIN_ONLY_ACTION = _cell(302, 403, 403, 302)  # POST-only admin action: done, then redirected
SECRET_GROUP = _cell(302, 404, 200, 200)
SECRET_GROUP_ACTION = _cell(302, 404, 302, 302)

#: endpoint → expected status per role. Every route of the URL map (except static) must be here.
EXPECTED: dict[str, dict[str, int]] = {
    # -- core ---------------------------------------------------------------------------------
    "core.dashboard": PRIVATE,
    "core.healthz": PUBLIC,  # monitoring probes call it without a session
    "core.favicon": PUBLIC,
    "core.help": PUBLIC,  # the FAQ helps people who cannot log in
    "core.help_edit": ADMIN_ONLY,  # core.help.edit: admins only by default
    "core.organization": PRIVATE,
    "core.organization_logo": PRIVATE,  # the organization of the fixture has a real logo → 200
    "core.organizations": ADMIN_ONLY,
    "core.organization_new": ADMIN_ONLY,
    "core.organization_edit": ADMIN_ONLY,
    "core.territories": ADMIN_ONLY,
    "core.territory_new": ADMIN_ONLY,
    "core.territory_edit": ADMIN_ONLY,
    "core.permissions": ADMIN_ONLY,
    "core.audit_log": ADMIN_ONLY,
    "core.outbox": ADMIN_ONLY,
    "core.outbox_message": ADMIN_ONLY,
    "core.outbox_resend": ADMIN_ONLY_ACTION,  # POST-only: puts the failed mail back to pending
    # JSON helpers of the audience picker: any logged-in person.
    "core.audience_search": PRIVATE,
    "core.audience_description": PRIVATE,
    # -- accounts -----------------------------------------------------------------------------
    # The login page sends people who are already logged in to the dashboard.
    "accounts.login": _cell(200, 302, 302, 302),
    # POST-only; logging out is allowed to anyone (anonymous: nothing to end) → back to login.
    "accounts.logout": _cell(302, 302, 302, 302),
    # Bogus token: the French "link not valid" page with a 404, for everyone.
    "accounts.accept_invitation": _cell(404, 404, 404, 404),
    "accounts.reset_password": _cell(404, 404, 404, 404),
    # POST-only "send me a new invitation": always the same redirect and flash message, whatever
    # the token, so it cannot be used to probe which tokens exist.
    "accounts.renew_invitation": _cell(302, 302, 302, 302),
    "accounts.forgot_password": PUBLIC,
    "accounts.change_password": PRIVATE,
    "accounts.profile": PRIVATE,
    "accounts.photo": PRIVATE,  # the target user of the fixture has a real photo → 200
    "accounts.edit_profile": PRIVATE,
    "accounts.directory": PRIVATE,  # accounts.directory.view: granted to every role by default
    "accounts.admin_users": ADMIN_ONLY,
    "accounts.admin_invite": ADMIN_ONLY,
    "accounts.admin_user": ADMIN_ONLY,
    "accounts.admin_import": ADMIN_ONLY,
    "accounts.admin_resend": ADMIN_ONLY_ACTION,  # the target user is still invited (no password)
    "accounts.admin_deactivate": ADMIN_ONLY_ACTION,
    "accounts.admin_reactivate": ADMIN_ONLY_ACTION,
    # -- groups -------------------------------------------------------------------------------
    # The fixture's group is SECRET (by invitation), owned by someone else: for a plain member it
    # does not exist (404 on every group URL); animateurs and admins manage every group.
    "groups.index": PRIVATE,
    "groups.mine": PRIVATE,
    "groups.create": _cell(302, 403, 200, 200),  # groups.create: admin and animateur by default
    "groups.show": SECRET_GROUP,
    "groups.about": SECRET_GROUP,
    "groups.image": SECRET_GROUP,  # the group of the fixture has a real image → 200
    "groups.members": SECRET_GROUP,
    "groups.settings": SECRET_GROUP,
    # POST-only group actions: 404 for whoever cannot see the group; for a manager the action is
    # done (decide: accept the pending request; remove, role: on a member) or politely refused
    # with a flash message (join an invitation-only group, leave without being a member, invite
    # nobody), then redirected.
    "groups.join": SECRET_GROUP_ACTION,
    "groups.leave": SECRET_GROUP_ACTION,
    "groups.invite": SECRET_GROUP_ACTION,
    "groups.decide": SECRET_GROUP_ACTION,
    "groups.remove": SECRET_GROUP_ACTION,
    "groups.role": SECRET_GROUP_ACTION,
    # Answering an invitation that is not yours: 404, for everyone.
    "groups.respond": _cell(302, 404, 404, 404),
    # Muting a group's e-mails is for its members: managers who are not members get 403.
    "groups.mute": _cell(302, 404, 403, 403),
    # -- notifications ------------------------------------------------------------------------
    "notifications.index": PRIVATE,
    "notifications.counter": PRIVATE,  # JSON for the bell
    "notifications.preferences": PRIVATE,
    "notifications.mark_all_read": _cell(302, 302, 302, 302),  # POST-only, one's own notifications
    # The fixture's notification belongs to someone else: 404, even for admins.
    "notifications.open": _cell(302, 404, 404, 404),
    # Bogus token: 404 without logging in (the link comes from an e-mail footer).
    "notifications.unsubscribe": _cell(404, 404, 404, 404),
    "notifications.admin_defaults": ADMIN_ONLY,
    # -- feed ---------------------------------------------------------------------------------
    # The fixture's post is the plain member's, shared with the whole network, with a real PNG
    # image (and its thumbnail) and one comment written by the animateur.
    "feed.index": PRIVATE,
    # The group's « Fil » tab: the fixture's group is secret, so it does not exist for a member.
    "feed.group_feed": SECRET_GROUP,
    "feed.create": _cell(302, 302, 302, 302),  # anyone logged in publishes in the network feed
    "feed.show": PRIVATE,
    "feed.likers": PRIVATE,
    "feed.attachment": PRIVATE,  # a real image → 200
    "feed.thumbnail": PRIVATE,
    "feed.edit": _cell(302, 200, 403, 403),  # only the author, not even an admin
    "feed.delete": _cell(302, 302, 403, 302),  # the author or an admin
    "feed.like": _cell(302, 302, 302, 302),
    "feed.comment": _cell(302, 302, 302, 302),
    # Pin and hide: animateurs and admins (and the managers of the post's group, here none).
    "feed.pin": _cell(302, 403, 302, 302),
    "feed.hide": _cell(302, 403, 302, 302),
    "feed.unhide": _cell(302, 403, 302, 302),
    # The comment is the animateur's: only they edit it; they or an admin delete it.
    "feed.edit_comment": _cell(302, 403, 200, 403),
    "feed.delete_comment": _cell(302, 403, 302, 302),
    # -- events -------------------------------------------------------------------------------
    # The fixture's event is published for the whole network, proposed by someone of ANOTHER
    # organization (so the plain member may see it but not manage it), with a PDF programme. A
    # second event waits for validation (for ``events.review``, which validates it).
    "events.index": PRIVATE,
    "events.group_agenda": SECRET_GROUP,  # the fixture's group is secret
    "events.create": PRIVATE,  # any member proposes an event for their organization
    "events.show": PRIVATE,
    "events.attachment": PRIVATE,  # a real PDF → 200
    "events.event_ics": PRIVATE,
    # The proposer, members of the organizer and animateurs manage the event; others get 403.
    "events.edit": _cell(302, 403, 200, 200),
    "events.delete": _cell(302, 403, 302, 302),
    "events.cancel": _cell(302, 403, 302, 302),
    "events.participants": _cell(302, 403, 200, 200),
    "events.participants_csv": _cell(302, 403, 200, 200),
    "events.participate": _cell(302, 302, 302, 302),  # « Je participe »: anyone who sees the event
    # events.validate and events.import: animateurs and admins by default.
    "events.to_validate": _cell(302, 403, 200, 200),
    "events.review": _cell(302, 403, 302, 302),
    "events.import_ics": _cell(302, 403, 200, 200),
    # One's own subscription URL: anyone logged in.
    "events.subscription": PRIVATE,
    "events.mine": PRIVATE,
    "events.subscription_action": _cell(302, 302, 302, 302),
    # The personal iCal feed needs no session (calendar apps have none): a bogus token is a 404
    # for everyone, logged in or not.
    "events.feed": _cell(404, 404, 404, 404),
    # events.categories: admins only by default.
    "events.categories": ADMIN_ONLY,
    "events.category_edit": ADMIN_ONLY,
    "events.category_css": PUBLIC,  # colours only; the login page's stylesheet may use them
    # -- documents ------------------------------------------------------------------------------
    # A network-wide folder made by the animateur, holding their PNG with « lu et approuvé » asked
    # (so every role sees it, and
    # only its author, animateurs and admins make or restore versions). Hidden folders and
    # documents (404 for those outside) are in tests/documents/test_library.py.
    "documents.index": PRIVATE,
    "documents.group_documents": SECRET_GROUP,  # the fixture's group is secret
    "documents.folder_new": _cell(302, 403, 200, 200),  # a network folder: documents.folders
    "documents.folder": PRIVATE,
    "documents.upload": _cell(302, 400, 400, 400),  # POST-only; without a file: « Choisissez au moins un fichier »
    "documents.show": PRIVATE,
    "documents.download": PRIVATE,  # the PNG, as an attachment
    "documents.preview": PRIVATE,  # the PNG, inline
    "documents.new_version": _cell(302, 403, 302, 302),  # POST-only; without a file: back to the page, told why
    "documents.restore": _cell(302, 403, 302, 302),
    "documents.edit": _cell(302, 403, 200, 200),
    "documents.delete": _cell(302, 403, 302, 302),  # POST-only: to the trash, its feed item withdrawn
    "documents.trash": PRIVATE,
    "documents.untrash": _cell(302, 404, 404, 404),  # the fixture's document is not in the trash
    "documents.confirm": _cell(302, 302, 302, 302),  # « lu et approuvé », asked on the fixture's document
    "documents.readers": _cell(302, 403, 200, 200),  # « qui l'a ouvert »: its author and animateurs
    "documents.remind": _cell(302, 403, 302, 302),
    "documents.follow": _cell(302, 302, 302, 302),  # POST-only: « Suivre ce dossier »
    "documents.folder_zip": PRIVATE,  # the folder as a ZIP
    "documents.thumbnail": PRIVATE,  # the PNG's thumbnail, made as the worker does
    "documents.office_preview": _cell(302, 404, 404, 404),  # the fixture's PNG is no office file
    "documents.folder_edit": _cell(302, 403, 200, 200),  # its author (the animateur), animateurs, admins
    "documents.folder_delete": _cell(302, 403, 302, 302),  # not empty: back to the folder, told why
    # -- fvt_tab (Flux Vision) ------------------------------------------------------------------
    # The fixture's zone SALERS0 is linked to the territory of everyone's organization, with one
    # day of figures: every logged-in role sees and exports it. The full matrix (own / other /
    # unlinked zone × sharing on / off) is in tests/fvt_tab/test_access.py.
    "fvt_tab.index": _cell(302, 302, 302, 302),  # « Flux Vision » opens on the person's own territory
    "fvt_tab.territories": PRIVATE,  # every territory; for animateurs and admins, the network overview
    "fvt_tab.data": PRIVATE,  # the tab's figures as JSON
    "fvt_tab.export_selection": PRIVATE,  # the selection's CSV
    "fvt_tab.export_pdf": PRIVATE,  # the selection's PDF report
    "fvt_tab.zone": PRIVATE,
    "fvt_tab.export": PRIVATE,  # a CSV
    "fvt_tab.zone_arriving": PRIVATE,  # JSON the zone page polls while deliveries arrive
    # fvt_tab.manage and fvt_tab.import: admins and animateurs by default.
    "fvt_tab.sharing": _cell(302, 403, 302, 302),  # POST-only: turns « Partage entre destinations » off
    "fvt_tab.quality": _cell(302, 403, 302, 302),  # POST-only: marks a day, back to the zone page
    "fvt_tab.zone_settings": _cell(302, 403, 200, 200),
    "fvt_tab.imports": _cell(302, 403, 200, 200),
    "fvt_tab.upload": _cell(302, 403, 200, 200),
    "fvt_tab.import_report": _cell(302, 403, 200, 200),
    "fvt_tab.import_state": _cell(302, 403, 200, 200),  # JSON for the progress bar
    "fvt_tab.profiles": _cell(302, 403, 200, 200),
}

#: Fields a real form sends with some POST-only routes (besides the CSRF token).
POST_DATA: dict[str, dict[str, str]] = {
    "feed.create": {"body": "Bonjour à tout le réseau"},
    "feed.comment": {"body": "Merci pour l'information"},
    "feed.pin": {"pinned": "1"},
    "feed.hide": {"reason": "Hors sujet"},
    "events.participate": {"status": "yes"},
    "fvt_tab.sharing": {"on": "0"},
    "fvt_tab.quality": {"day": "2024-07-02", "flag": "interpolated", "note": "Relais en maintenance"},
}

#: What an allowed POST changes: counter of ``_state`` → difference.
EFFECTS: dict[str, dict[str, int]] = {
    "feed.create": {"posts": 1},
    "feed.delete": {"posts": -1, "comments": -1},
    "feed.like": {"likes": 1},
    "feed.comment": {"comments": 1},
    "feed.pin": {"pinned": 1},
    "feed.hide": {"hidden": 1},
    "feed.delete_comment": {"comments": -1},
    # Deleting the published event also withdraws its item from the feed.
    "events.delete": {"events": -1, "published": -1, "posts": -1},
    "events.cancel": {"published": -1, "cancelled": 1},
    "events.review": {"published": 1, "posts": 1, "audit": 1},  # validated: published, in the feed, audited
    "events.participate": {"participations": 1},
    "events.subscription_action": {"calendar_tokens": 1},  # « renouveler » creates one's token
    "documents.delete": {"posts": -1},
    "fvt_tab.sharing": {"fvt_sharing": -1, "audit": 1},
    "fvt_tab.quality": {"fvt_days_flagged": 1, "audit": 1},
}


#: Routes that answer a file or JSON rather than a page (checked for their content type).
FILE_ROUTES = {
    "core.favicon": "image/", "core.organization_logo": "image/", "accounts.photo": "image/", "groups.image": "image/",
    "core.healthz": "application/json", "core.audience_search": "application/json",
    "core.audience_description": "application/json", "notifications.counter": "application/json",
    "feed.attachment": "image/", "feed.thumbnail": "image/",
    "events.attachment": "application/pdf", "events.event_ics": "text/calendar",
    "events.participants_csv": "text/csv", "events.category_css": "text/css",
    "fvt_tab.export": "text/csv", "fvt_tab.import_state": "application/json",
    "fvt_tab.zone_arriving": "application/json", "fvt_tab.data": "application/json",
    "fvt_tab.export_selection": "text/csv", "fvt_tab.export_pdf": "application/pdf",
    "documents.download": "image/png", "documents.preview": "image/png", "documents.folder_zip": "application/zip",
    "documents.thumbnail": "image/",
}


def _rules():
    """The rules of a freshly built app (no database needed: the factory never connects)."""
    from intranet.app import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://", "SECRET_KEY": "matrix"})
    return sorted((r for r in app.url_map.iter_rules() if r.endpoint != "static"),
                  key=lambda r: (r.endpoint, r.rule))


RULES = _rules()


def test_every_route_has_an_entry_and_every_entry_a_route(app):
    endpoints = {r.endpoint for r in app.url_map.iter_rules() if r.endpoint != "static"}
    missing = sorted(endpoints - EXPECTED.keys())
    stale = sorted(EXPECTED.keys() - endpoints)
    assert not missing, f"routes without an entry in EXPECTED (add their expected statuses): {missing}"
    assert not stale, f"entries in EXPECTED for routes that no longer exist: {stale}"
    for endpoint, cell in EXPECTED.items():
        assert set(cell) == set(ROLES), f"{endpoint}: expected statuses for exactly {ROLES}"


def _png(color=(200, 30, 30, 255)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGBA", (16, 16), color).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def world(app, factories):
    """Real objects for the URL arguments, and one person per role."""
    from intranet.core.models import MailMessage
    from intranet.core.storage import save_image
    from intranet.extensions import db

    department = factories.territory(name="Cantal", code="15")
    territory = factories.territory(name="Pays de Salers", code="SALERS", parent=department)
    org = factories.organization(name="Office de tourisme du Pays de Salers", territory=territory)
    org.logo = save_image(FileStorage(io.BytesIO(_png()), filename="logo.png")).key
    target = factories.user(name="Personne Invitée", organization=org, password=None)
    target.photo = save_image(FileStorage(io.BytesIO(_png((0, 90, 200, 255))), filename="photo.png")).key
    mail = MailMessage(message_id="<matrix@test>", to_addr="x@exemple.fr", subject="Sujet", text="Texte",
                       status="failed", attempts=10)
    db.session.add(mail)
    db.session.commit()
    people = {role: factories.user(role=role, organization=org) for role in ("membre", "animateur", "admin")}
    args = {"org_id": org.id, "territory_id": territory.id, "user_id": target.id, "mail_id": mail.id,
            "token": BOGUS_TOKEN}
    if "notifications" in app.extensions["intranet_registry"].plugins:
        from intranet.core.notifications import Notification

        notification = Notification(user_id=target.id, type="groups.invited", object_kind="group", object_id=1,
                                    context={"title": "Invitation", "url": "/"})
        db.session.add(notification)
        db.session.commit()
        args["notification_id"] = notification.id
    if "groups" in app.extensions["intranet_registry"].plugins:
        from intranet.groups.models import Group, GroupRequest, Membership

        owner = factories.user(name="Propriétaire du groupe", organization=org)
        applicant = factories.user(name="Demandeuse", organization=org)
        group = Group(name="Groupe secret", visibility="secret", join_policy="invitation", created_by_id=owner.id,
                      image=save_image(FileStorage(io.BytesIO(_png()), filename="groupe.png")).key)
        db.session.add(group)
        db.session.flush()
        db.session.add_all([Membership(group_id=group.id, user_id=owner.id, role="owner"),
                            Membership(group_id=group.id, user_id=target.id, role="member")])
        req = GroupRequest(group_id=group.id, user_id=applicant.id, kind="request")
        db.session.add(req)
        db.session.commit()
        args.update(group_id=group.id, request_id=req.id, decision="accepter")
    if "feed" in app.extensions["intranet_registry"].plugins:
        from intranet.core.audiences import network_audience
        from intranet.core.storage import save_thumbnail
        from intranet.feed import services as feed
        from intranet.feed.services import Upload

        image = save_image(FileStorage(io.BytesIO(_png((30, 160, 60, 255))), filename="affiche.png"))
        post = feed.create_post(people["membre"], "Réunion des offices jeudi", network_audience(),
                                uploads=[Upload(image, True, save_thumbnail(image.key))])
        with app.test_request_context():  # the comment's notification links to it
            comment = feed.add_comment(people["animateur"], post, "J'y serai")
        db.session.commit()
        args.update(post_id=post.id, comment_id=comment.id, attachment_id=post.attachments[0].id)
    if "events" in app.extensions["intranet_registry"].plugins:
        from datetime import datetime, time, timedelta

        from intranet.core.audiences import network_audience
        from intranet.core.storage import save_upload
        from intranet.events import services as events
        from intranet.events.models import Category, EventAttachment

        other_org = factories.organization(name="Office de tourisme du Pays d'Aurillac")
        proposer = factories.user(name="Proposante d'ailleurs", organization=other_org)
        category = Category(name="Formation", color="#0b5394", position=1)
        db.session.add(category)
        db.session.flush()
        day = events.paris_today() + timedelta(days=10)

        def data(title):
            return events.EventData(title=title, category_id=category.id, description="Programme joint.",
                                    tz="Europe/Paris", is_all_day=False, start_local=datetime.combine(day, time(9)),
                                    end_local=datetime.combine(day, time(12)),
                                    organization_id=other_org.id, place="Salle des fêtes", commune="Aurillac")

        with app.test_request_context():
            event = events.create_event(proposer, data("Formation accueil numérique"), network_audience(),
                                        publish_now=True)
            pending = events.create_event(proposer, data("Salon des offices"), network_audience(), publish_now=False)
        pdf = save_upload(FileStorage(io.BytesIO(MINIMAL_PDF), filename="programme.pdf"), ["document"])
        attachment = EventAttachment(event_id=event.id, key=pdf.key, name=pdf.original_name,
                                     content_type=pdf.content_type, size=pdf.size)
        db.session.add(attachment)
        db.session.commit()
        args.update({"event_id": event.id, "category_id": category.id, "action": "renouveler",
                     # Arguments that another plugin's routes also use, with other values:
                     "events.attachment:attachment_id": attachment.id,
                     "events.review:event_id": pending.id, "events.review:decision": "valider"})
    if "documents" in app.extensions["intranet_registry"].plugins:
        from intranet.core.storage import save_upload
        from intranet.documents import services as documents

        with app.test_request_context():  # the notification links to the document
            folder = documents.create_folder(people["animateur"], "Modèles de brochures")
            png = save_upload(FileStorage(io.BytesIO(_png()), filename="affiche.png"), ["image"])
            document = documents.add_document(people["animateur"], folder, png, note="L'affiche de l'été",
                                              needs_confirmation=True)
            documents.prepare(document)  # its thumbnail, as the worker makes it
        db.session.commit()
        args.update(folder_id=folder.id, document_id=document.id, number=1)
    if "fvt_tab" in app.extensions["intranet_registry"].plugins:
        from datetime import date

        from intranet.fvt_tab.models import Zone
        from tests.fvt_tab.conftest import csv_bytes, daily_rows, import_file

        # A delivery imported from the command line (an import to report on), whose zone the
        # observatory then linked to the organization's territory.
        rows = daily_rows(date(2024, 7, 1), days=3, zone="Pays de Salers", provenances=("NonLocal", "Etranger"),
                          volume=1234)
        imp = import_file("Nuitee_2024B4_SALERS0.csv", csv_bytes(rows))
        zone = db.session.scalar(sa.select(Zone).where(Zone.code == "SALERS0"))
        zone.territory_id = territory.id
        db.session.commit()
        args.update(code=zone.code, import_id=imp.id)
    return {"args": args, "people": people}


MINIMAL_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
               b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


def _state() -> dict[str, int]:
    """Counters that any action of the matrix may change (a refused one must change none)."""
    from intranet.core.models import AuditEntry
    from intranet.core.plugins import current_registry
    from intranet.extensions import db

    def count(query):
        return db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))

    db.session.expire_all()
    state = {"audit": count(sa.select(AuditEntry.id))}
    if "feed" in current_registry().plugins:
        from intranet.feed.models import Comment, Like, Post

        state.update(posts=count(sa.select(Post.id)),
                     comments=count(sa.select(Comment.id).where(Comment.is_deleted.is_(False))),
                     likes=count(sa.select(Like.post_id)),
                     pinned=count(sa.select(Post.id).where(Post.pinned_at.is_not(None))),
                     hidden=count(sa.select(Post.id).where(Post.hidden_at.is_not(None))),
                     edited=count(sa.select(Post.id).where(Post.edited_at.is_not(None))))
    if "events" in current_registry().plugins:
        from intranet.events.models import CalendarToken, Category, Event, Participation

        state.update(events=count(sa.select(Event.id)),
                     published=count(sa.select(Event.id).where(Event.status == "published")),
                     cancelled=count(sa.select(Event.id).where(Event.status == "cancelled")),
                     participations=count(sa.select(Participation.user_id)),
                     calendar_tokens=count(sa.select(CalendarToken.user_id)),
                     categories=count(sa.select(Category.id)))
    if "fvt_tab" in current_registry().plugins:
        from intranet.core.models import Setting
        from intranet.fvt_tab.models import DayQuality, Fact, Import, MappingProfile, Zone, ZoneAlias

        sharing = db.session.get(Setting, "fvt_tab.sharing")
        state.update(fvt_sharing=int(sharing is None or bool(sharing.value)),
                     fvt_days_flagged=count(sa.select(DayQuality.zone_id)),
                     fvt_tab_imports=count(sa.select(Import.id)), fvt_tab_facts=count(sa.select(Fact.id)),
                     fvt_profiles=count(sa.select(MappingProfile.id)),
                     fvt_zones_linked=count(sa.select(Zone.id).where(Zone.territory_id.is_not(None))),
                     fvt_aliases=count(sa.select(ZoneAlias.id)))
    return state


def _url(app, rule, args) -> str:
    from flask import url_for

    values = {}
    for name in rule.arguments:
        # ``endpoint:name`` gives one route its own value when plugins share an argument's name.
        key = f"{rule.endpoint}:{name}" if f"{rule.endpoint}:{name}" in args else name
        assert key in args, f"{rule.rule}: no fixture object for the URL argument <{name}>; add one in `world`"
        values[name] = args[key]
    with app.test_request_context():
        return url_for(rule.endpoint, **values)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.endpoint)
def test_route_status(rule, role, app, client, login, world):
    assert rule.endpoint in EXPECTED, (
        f"route {rule.rule} (endpoint {rule.endpoint!r}) has no entry in EXPECTED of {__name__}: "
        "add the status each role should get")
    expected = EXPECTED[rule.endpoint][role]
    if role != "anonyme":
        login(world["people"][role])
    url = _url(app, rule, world["args"])
    before = _state()
    if "GET" in rule.methods:
        method, resp = "GET", client.get(url)
    else:
        token = csrf_token(client, "/accounts/connexion" if role == "anonyme" else "/accounts/profil")
        method, resp = "POST", client.post(url, data={"csrf_token": token, **POST_DATA.get(rule.endpoint, {})})
    assert resp.status_code == expected, (
        f"{method} {url} as {role}: got {resp.status_code}, expected {expected} "
        f"(Location: {resp.headers.get('Location')})")
    if role == "anonyme" and expected == 302:
        assert urlsplit(resp.headers["Location"]).path == "/accounts/connexion", \
            f"{method} {url} as anonyme should go to the login page, went to {resp.headers['Location']}"
    after = _state()
    if method == "GET" or role == "anonyme" or expected in (403, 404):
        # A refused action leaves no trace: nothing was deactivated, re-sent, removed, published,
        # liked, pinned, hidden…; and looking at a page changes nothing either.
        assert after == before, f"{method} {url} as {role} changed something: {before} → {after}"
        if method == "POST":
            assert after["audit"] == 0, f"POST {url} as {role} left an audit entry"
    elif rule.endpoint in EFFECTS:
        changed = {k: after[k] - before[k] for k in after if after[k] != before[k]}
        assert changed == EFFECTS[rule.endpoint], \
            f"POST {url} as {role} should change {EFFECTS[rule.endpoint]}, changed {changed}"
    body = resp.get_data()
    resp.close()  # file responses (logo, photo, favicon) keep their file open until closed
    if not resp.mimetype.startswith("text/html"):
        assert expected == 200, f"{method} {url} as {role}: a {expected} should be a French HTML page"
        assert rule.endpoint in FILE_ROUTES, f"{method} {url} answered {resp.mimetype}, not a page"
        assert resp.mimetype.startswith(FILE_ROUTES[rule.endpoint]), f"{method} {url}: {resp.mimetype}"
        return
    html = body.decode()
    assert "Traceback" not in html
    if expected == 403:
        assert "Accès refusé" in html, f"{method} {url} as {role}: the French 403 page is expected"
    if expected == 404:
        assert "Page introuvable" in html or "Ce lien n'est pas valable" in html, \
            f"{method} {url} as {role}: a French 404 page is expected"
