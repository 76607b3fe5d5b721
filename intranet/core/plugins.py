"""Plugin manifests and the registry that loads them.

A plugin is a package under ``intranet/`` whose ``__init__`` exports ``plugin = Plugin(...)``.
The enabled plugins are the ordered ``PLUGINS`` setting (``INTRANET_PLUGINS``); nothing is
discovered by globbing. ``load_plugins`` validates every manifest before registering anything,
so a broken manifest stops the start-up with a clear message instead of half a site.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Flask, current_app

NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
# The platform roles a permission may name; users.role holds one of them.
ROLES = ("admin", "animateur", "membre")


class PluginError(RuntimeError):
    """A manifest that breaks the contract."""


@dataclass(frozen=True)
class Permission:
    key: str
    label: str
    roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class NavEntry:
    label: str
    endpoint: str
    area: str = "main"  # "main" or "admin"
    order: int = 100
    permission: str | None = None
    icon: str = ""
    badge: Callable[[], int] | None = None  # a number shown on the entry (e.g. unread notifications)


@dataclass(frozen=True)
class NotificationType:
    """A kind of notification. ``message`` is the one-line in-app text and ``subject`` the e-mail
    subject; both are format strings over the notification context (%(actor)s, %(title)s…)."""

    key: str
    label: str
    category: str = ""
    message: str = "%(title)s"
    subject: str = "%(title)s"
    channels: tuple[str, ...] = ("web", "email")
    # The roles that can ever receive it (empty: everyone); the preferences show it only to them.
    roles: tuple[str, ...] = ()
    # The roles whose e-mails of this type wait for the daily digest unless they choose otherwise.
    digest_roles: tuple[str, ...] = ()

    def reaches(self, role: str) -> bool:
        return not self.roles or role in self.roles


@dataclass(frozen=True)
class Widget:
    key: str
    title: str
    render: Callable[..., str]
    order: int = 100


@dataclass(frozen=True)
class Job:
    """Work the worker runs: ``every`` seconds when periodic, or on demand by name."""

    key: str
    func: Callable[..., Any]
    every: int | None = None


@dataclass(frozen=True)
class GroupTab:
    """A tab of the group page; ``endpoint`` takes ``group_id``."""

    key: str
    label: str
    endpoint: str
    order: int = 100


@dataclass(frozen=True)
class ActivityType:
    """An item a plugin contributes to the feed (see ``core.signals.activity_published``);
    ``template`` renders it and receives ``item`` (the feed post) and ``data``. It draws from
    ``item.object_id`` and ``data`` alone (no query, no ``current_user``): the feed keeps the
    card it is part of under those values (``feed.views.feed_card``)."""

    key: str
    label: str
    template: str
    icon: str = "lightning"


@dataclass
class Plugin:
    name: str
    title: str
    blueprint: Blueprint | None = None
    url_prefix: str | None = None  # default "/<name>"
    requires: tuple[str, ...] = ()
    models: str | None = None  # module path imported for the ORM and Alembic
    permissions: tuple[Permission, ...] = ()
    nav: tuple[NavEntry, ...] = ()
    notification_types: tuple[NotificationType, ...] = ()
    widgets: tuple[Widget, ...] = ()
    jobs: tuple[Job, ...] = ()
    profile_sections: tuple[Callable[..., str], ...] = ()
    group_tabs: tuple[GroupTab, ...] = ()
    activity_types: tuple[ActivityType, ...] = ()
    # The French label of each action the plugin writes to the audit log (« group.create »: « Création d'un groupe »).
    audit_actions: dict[str, str] = field(default_factory=dict)
    audience_principals: tuple[Any, ...] = ()  # intranet.core.audiences.Principal
    notifiable_kinds: tuple[Any, ...] = ()  # intranet.core.notifications.NotifiableKind
    search: Any = None
    cli: Any = None
    settings: dict[str, Any] = field(default_factory=dict)
    demo: Callable[[], str] | None = None  # demo content after the core's (INTRANET_DEMO=1); returns a summary
    setup: Callable[[Flask], None] | None = None


class Registry:
    """What the enabled plugins contribute, in load order."""

    def __init__(self) -> None:
        self.plugins: dict[str, Plugin] = {}
        self.core_permissions: list[Permission] = []
        self.core_nav: list[NavEntry] = []
        self.core_widgets: list[Widget] = []
        self.core_jobs: list[Job] = []
        self.core_audit_actions: dict[str, str] = {}

    # -- views over every contribution -------------------------------------------------
    def _all(self, attr: str, core: list) -> list:
        out = list(core)
        for p in self.plugins.values():
            out.extend(getattr(p, attr))
        return out

    @property
    def permissions(self) -> list[Permission]:
        return self._all("permissions", self.core_permissions)

    @property
    def nav(self) -> list[NavEntry]:
        # str(): one translation per entry (comparing lazy labels translates them at every comparison).
        return sorted(self._all("nav", self.core_nav), key=lambda n: (n.order, str(n.label)))

    @property
    def widgets(self) -> list[Widget]:
        return sorted(self._all("widgets", self.core_widgets), key=lambda w: (w.order, w.key))

    @property
    def jobs(self) -> list[Job]:
        return self._all("jobs", self.core_jobs)

    @property
    def audit_actions(self) -> dict[str, str]:
        out = dict(self.core_audit_actions)
        for p in self.plugins.values():
            out.update(p.audit_actions)
        return out

    @property
    def notification_types(self) -> list[NotificationType]:
        return self._all("notification_types", [])

    @property
    def profile_sections(self) -> list[Callable[..., str]]:
        return self._all("profile_sections", [])

    @property
    def group_tabs(self) -> list[GroupTab]:
        return sorted(self._all("group_tabs", []), key=lambda t: (t.order, t.key))

    @property
    def activity_types(self) -> dict[str, ActivityType]:
        return {a.key: a for a in self._all("activity_types", [])}

    @property
    def audience_principals(self) -> list:
        return self._all("audience_principals", [])

    @property
    def notifiable_kinds(self) -> list:
        return self._all("notifiable_kinds", [])

    def permission(self, key: str) -> Permission | None:
        return next((p for p in self.permissions if p.key == key), None)

    def job(self, key: str) -> Job | None:
        return next((j for j in self.jobs if j.key == key), None)


def current_registry() -> Registry:
    """The registry of the current application (set by ``create_app``)."""
    return current_app.extensions["intranet_registry"]


def validate(plugin: Plugin, module_name: str, loaded: dict[str, Plugin]) -> list[str]:
    """Every way ``plugin`` breaks the contract, in French-free developer English."""
    if not isinstance(plugin, Plugin):
        return [f"{module_name}: `plugin` is not a Plugin"]
    errors = []
    name = plugin.name
    if not NAME_RE.match(name or ""):
        errors.append(f"{module_name}: invalid name {name!r}")
    if module_name != f"intranet.{name}":
        errors.append(f"{module_name}: name {name!r} must equal the package name")
    if name in loaded:
        errors.append(f"{name}: loaded twice")
    for req in plugin.requires:
        if req not in loaded:
            errors.append(f"{name}: requires {req!r}, which must be listed (and load) before it")
    if plugin.blueprint is not None and plugin.blueprint.name != name:
        errors.append(f"{name}: blueprint is named {plugin.blueprint.name!r}")
    if plugin.url_prefix not in (None, f"/{name}"):
        errors.append(f"{name}: url prefix {plugin.url_prefix!r} must be '/{name}'")
    for perm in plugin.permissions:
        if not perm.key.startswith(name + "."):
            errors.append(f"{name}: permission {perm.key!r} must start with '{name}.'")
        for role in perm.roles:
            if role not in ROLES:
                errors.append(f"{name}: permission {perm.key!r} names unknown role {role!r}")
    for nt in plugin.notification_types:
        if not nt.key.startswith(name + "."):
            errors.append(f"{name}: notification type {nt.key!r} must start with '{name}.'")
    for job in plugin.jobs:
        if not job.key.startswith(name + "."):
            errors.append(f"{name}: job {job.key!r} must start with '{name}.'")
    for w in plugin.widgets:
        if not w.key.startswith(name + "."):
            errors.append(f"{name}: widget {w.key!r} must start with '{name}.'")
    for act in plugin.activity_types:
        if not act.key.startswith(name + "."):
            errors.append(f"{name}: activity type {act.key!r} must start with '{name}.'")
    for entry in plugin.nav:
        if entry.area not in ("main", "admin", "user", "icons"):
            errors.append(f"{name}: nav entry {entry.label!r} has unknown area {entry.area!r}")
    return errors


def load_plugins(app: Flask, registry: Registry) -> None:
    """Import, validate and register the plugins named in ``app.config['PLUGINS']``."""
    for name in app.config["PLUGINS"]:
        module_name = f"intranet.{name}"
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise PluginError(f"plugin {name!r} cannot be imported: {exc}") from exc
        plugin = getattr(module, "plugin", None)
        if plugin is None:
            raise PluginError(f"{module_name} has no `plugin` manifest")
        errors = validate(plugin, module_name, registry.plugins)
        if errors:
            raise PluginError("; ".join(errors))
        if plugin.models:
            importlib.import_module(plugin.models)
        if plugin.blueprint is not None:
            app.register_blueprint(plugin.blueprint, url_prefix=plugin.url_prefix
                                   if plugin.url_prefix is not None else f"/{name}")
        if plugin.cli is not None:
            app.cli.add_command(plugin.cli)
        if plugin.setup is not None:
            plugin.setup(app)
        registry.plugins[name] = plugin
