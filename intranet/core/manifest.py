"""What the core itself contributes to the registry: its permission keys, menu entries and jobs."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from intranet.core.digests import digest_job
from intranet.core.mail import deliver_job
from intranet.core.plugins import Job, NavEntry, Permission, Registry

ADMIN = ("admin",)


def contribute(registry: Registry) -> None:
    registry.core_permissions += [
        Permission("core.organizations.manage", _l("Gérer les organisations et les territoires"), ADMIN),
        Permission("core.audit.view", _l("Consulter le journal d'audit"), ADMIN),
        Permission("core.help.edit", _l("Modifier la page d'aide"), ADMIN),
        Permission("core.permissions.manage", _l("Gérer les rôles et les permissions"), ADMIN),
        Permission("core.mail.view", _l("Consulter la boîte d'envoi"), ADMIN),
    ]
    registry.core_nav += [
        NavEntry(_l("Tableau de bord"), "core.dashboard", order=0, icon="house"),
        NavEntry(_l("Aide"), "core.help", order=900, icon="question-circle"),
        NavEntry(_l("Organisations"), "core.organizations", area="admin", order=20,
                 permission="core.organizations.manage"),
        NavEntry(_l("Territoires"), "core.territories", area="admin", order=30,
                 permission="core.organizations.manage"),
        NavEntry(_l("Rôles et permissions"), "core.permissions", area="admin", order=40,
                 permission="core.permissions.manage"),
        NavEntry(_l("Boîte d'envoi"), "core.outbox", area="admin", order=50, permission="core.mail.view"),
        NavEntry(_l("Journal d'audit"), "core.audit_log", area="admin", order=60, permission="core.audit.view"),
        NavEntry(_l("Page d'aide"), "core.help_edit", area="admin", order=70, permission="core.help.edit"),
    ]
    registry.core_audit_actions.update({
        "help.edit": _l("Page d'aide modifiée"),
        "organization.create": _l("Organisation créée"),
        "organization.update": _l("Organisation modifiée"),
        "territory.create": _l("Territoire créé"),
        "territory.update": _l("Territoire modifié"),
        "permissions.update": _l("Permissions des rôles modifiées"),
        "mail.resend": _l("E-mail renvoyé"),
    })
    registry.core_jobs += [Job("core.mail", deliver_job, every=10), Job("core.digests", digest_job, every=60)]
