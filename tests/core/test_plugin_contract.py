"""The plugin contract (DESIGN.md §3), checked on every loaded plugin, and the registry's own checks.

``contract_violations(app)`` lists every way the loaded plugins break the contract; the test
asserts the list is empty, and other tests feed it deliberately broken plugins to show that each
rule can fail.
"""

from __future__ import annotations

import ast
import sys
import types
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Blueprint

from intranet.app import create_app
from intranet.core.plugins import Job, NavEntry, NotificationType, Permission, Plugin, PluginError, Widget

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "intranet"
TEMPLATES = ROOT / "templates"
#: What a plugin may import from another plugin it requires (DESIGN.md §3).
SHARED_MODULES = ("models", "services", "signals")
NOT_PLUGINS = {"core", "static", "translations", "__pycache__"}


def _app(**config):
    base = {"TESTING": True, "DATABASE_URL": "sqlite://", "SECRET_KEY": "contrat"}
    base.update(config)
    return create_app(base)


# -- the checks --------------------------------------------------------------------------------

def model_tables(module_name: str) -> set[str]:
    """Tables of the ORM classes defined in ``module_name``."""
    from intranet.extensions import db

    return {m.local_table.name for m in db.Model.registry.mappers if m.class_.__module__ == module_name}


def plugin_packages() -> set[str]:
    return {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()
            and p.name not in NOT_PLUGINS}


def imported_modules(path: Path, package: str) -> list[tuple[int, str]]:
    """Every module a file imports, absolute, with its line: ``from intranet.x import views`` gives
    both ``intranet.x`` and ``intranet.x.views`` (the name may be a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the file's package
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            out.append((node.lineno, module))
            if module.count(".") == 1:  # ``from intranet.x import views``: the names may be modules
                out += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
    return out


def import_violations(name: str, requires, files, plugins: set[str]) -> list[str]:
    """A plugin imports only the core, the extensions, and models/services/signals of what it requires."""
    errors = []
    for path, package in files:
        for line, module in imported_modules(path, package):
            parts = module.split(".")
            if len(parts) < 2 or parts[0] != "intranet" or parts[1] not in plugins or parts[1] == name:
                continue
            other = parts[1]
            if len(parts) == 2:
                # ``from intranet.other import models`` is listed again as intranet.other.models.
                continue
            where = f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}:{line}"
            if parts[2] == "views":
                errors.append(f"{name}: {where} imports {module}: never import another plugin's views")
            elif other not in requires:
                errors.append(f"{name}: {where} imports {module} but {name} does not require {other!r}")
            elif parts[2] not in SHARED_MODULES:
                errors.append(f"{name}: {where} imports {module}: only {'/'.join(SHARED_MODULES)} of "
                              "a required plugin may be imported")
    return errors


def _files(package_dir: Path, package: str):
    for path in sorted(package_dir.rglob("*.py")):
        rel = path.relative_to(package_dir).with_suffix("")
        parts = [package] + [p for p in rel.parts if p != "__init__"]
        yield path, ".".join(parts[:-1] if path.name != "__init__.py" else parts)


def contract_violations(app) -> list[str]:
    """Every way the loaded plugins (and the core) break the contract of DESIGN.md §3."""
    from intranet.extensions import db

    registry = app.extensions["intranet_registry"]
    errors: list[str] = []
    endpoints = {r.endpoint for r in app.url_map.iter_rules()}
    order = list(registry.plugins)
    seen_names = set()
    for plugin_name, plugin in registry.plugins.items():
        name = plugin.name
        if name in seen_names:
            errors.append(f"{name}: loaded twice")
        seen_names.add(name)
        module = sys.modules.get(f"intranet.{name}")
        if plugin_name != name or module is None or getattr(module, "plugin", None) is not plugin:
            errors.append(f"{name}: its manifest is not `plugin` of the package intranet.{name}")
        for req in plugin.requires:
            if req not in order or order.index(req) > order.index(plugin_name):
                errors.append(f"{name}: requires {req!r}, which is not loaded before it")
        if plugin.blueprint is not None:
            if plugin.blueprint.name != name:
                errors.append(f"{name}: blueprint is named {plugin.blueprint.name!r}")
            if plugin.url_prefix not in (None, f"/{name}"):
                errors.append(f"{name}: url prefix {plugin.url_prefix!r} is not '/{name}'")
            for rule in app.url_map.iter_rules():
                if rule.endpoint.startswith(f"{name}.") and not (
                        rule.rule == f"/{name}" or rule.rule.startswith(f"/{name}/")):
                    errors.append(f"{name}: route {rule.rule} is outside /{name}/")
            if not (TEMPLATES / name).is_dir():
                errors.append(f"{name}: has a blueprint but no templates/{name}/ folder")
        for kind, keys in (("permission", [p.key for p in plugin.permissions]),
                           ("notification type", [n.key for n in plugin.notification_types]),
                           ("widget", [w.key for w in plugin.widgets]),
                           ("job", [j.key for j in plugin.jobs])):
            errors += [f"{name}: {kind} {k!r} must start with '{name}.'" for k in keys
                       if not k.startswith(f"{name}.")]
        if plugin.models:
            tables = model_tables(plugin.models)
            if not tables:
                errors.append(f"{name}: models module {plugin.models} defines no table")
            errors += [f"{name}: table {t!r} must start with '{name}_'" for t in sorted(tables)
                       if not t.startswith(f"{name}_")]
        pkg_dir = PACKAGE / name
        if pkg_dir.is_dir():
            errors += import_violations(name, plugin.requires, _files(pkg_dir, f"intranet.{name}"),
                                        plugin_packages())
    # The core: its tables start with core_, and it never imports a plugin.
    for mapper in db.Model.registry.mappers:
        if mapper.class_.__module__.startswith("intranet.core.") and not mapper.local_table.name.startswith("core_"):
            errors.append(f"core: table {mapper.local_table.name!r} must start with 'core_'")
    for path, package in _files(PACKAGE / "core", "intranet.core"):
        for line, module in imported_modules(path, package):
            parts = module.split(".")
            if len(parts) >= 2 and parts[0] == "intranet" and parts[1] in plugin_packages():
                errors.append(f"core: {path.relative_to(ROOT)}:{line} imports the plugin module {module}")
    # Every table belongs to the core or to a loaded plugin.
    owners = ("core",) + tuple(order)
    for table in db.metadata.tables:
        if not any(table.startswith(f"{o}_") for o in owners):
            errors.append(f"table {table!r} belongs to no loaded plugin")
    for entry in registry.nav:
        if entry.endpoint not in endpoints:
            errors.append(f"nav entry {str(entry.label)!r} points to the unknown endpoint {entry.endpoint!r}")
        if entry.permission and registry.permission(entry.permission) is None:
            errors.append(f"nav entry {str(entry.label)!r} needs the undeclared permission {entry.permission!r}")
    keys = [p.key for p in registry.permissions]
    errors += [f"permission {k!r} is declared twice" for k in sorted({k for k in keys if keys.count(k) > 1})]
    return errors


# -- the loaded plugins keep the contract ------------------------------------------------------

def test_loaded_plugins_keep_the_contract(app):
    assert "accounts" in app.extensions["intranet_registry"].plugins
    assert contract_violations(app) == []


def test_permissions_checked_by_views_are_declared(app):
    # Every @require(key) on a view names a key some manifest declares (a typo would lock
    # everybody but admins out of the page).
    registry = app.extensions["intranet_registry"]
    for endpoint, view in app.view_functions.items():
        key = getattr(view, "required_permission", None)
        if key is not None:
            assert registry.permission(key) is not None, f"{endpoint} requires the undeclared permission {key!r}"


@pytest.fixture
def fake_plugin(monkeypatch):
    """``fake_plugin(package, **manifest)`` registers a module ``intranet.<package>`` exporting ``plugin``."""

    def _make(package: str, module_attr: str = "plugin", manifest=None, **fields):
        module = types.ModuleType(f"intranet.{package}")
        if module_attr:
            if manifest is None:
                fields.setdefault("name", package)
                fields.setdefault("title", package.title())
                manifest = Plugin(**fields)
            setattr(module, module_attr, manifest)
        monkeypatch.setitem(sys.modules, f"intranet.{package}", module)
        return module

    return _make


def test_the_contract_check_catches_a_plugin_breaking_every_rule(fake_plugin):
    # validate() lets all of this through (it has no URL map, templates or tables to look at);
    # the contract check must not.
    bp = Blueprint("zzbad", __name__)
    bp.add_url_rule("/page", "page", lambda: "ok")
    fake_plugin("zzbad", blueprint=bp, models="intranet.core.models",
                nav=(NavEntry("Nulle part", "zzbad.absente"),))
    app = _app(PLUGINS=["accounts", "zzbad"])
    errors = "\n".join(contract_violations(app))
    assert "zzbad: has a blueprint but no templates/zzbad/ folder" in errors
    assert "zzbad: table 'core_users' must start with 'zzbad_'" in errors
    assert "points to the unknown endpoint 'zzbad.absente'" in errors


def test_the_import_check_finds_views_of_another_plugin(tmp_path):
    pkg = tmp_path / "zzbad"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "handlers.py").write_text(
        "from intranet.accounts.views import bp\n"
        "from intranet.accounts import views\n"
        "import intranet.groups.services\n"
        "from intranet.accounts import forms\n"
        "from intranet.accounts import services\n"
        "from intranet.core.models import User\n"
        "from .helpers import x\n")
    errors = import_violations("zzbad", ("accounts",), _files(pkg, "intranet.zzbad"), {"accounts", "groups"})
    text = "\n".join(errors)
    assert "handlers.py:1 imports intranet.accounts.views: never import another plugin's views" in text
    assert "handlers.py:2 imports intranet.accounts.views" in text
    assert "handlers.py:3 imports intranet.groups.services but zzbad does not require 'groups'" in text
    assert "handlers.py:4 imports intranet.accounts.forms: only models/services/signals" in text
    assert len(errors) == 4  # services of a required plugin, the core and relative imports are fine


# -- validate() and load_plugins() refuse broken manifests with a clear message ------------------

@pytest.mark.parametrize(("fields", "message"), [
    ({"permissions": (Permission("autre.voir", "Voir"),)}, "permission 'autre.voir' must start with 'zzbad.'"),
    ({"permissions": (Permission("zzbad.voir", "Voir", ("chef",)),)}, "names unknown role 'chef'"),
    ({"notification_types": (NotificationType("feed.new", "Nouveau"),)},
     "notification type 'feed.new' must start with 'zzbad.'"),
    ({"widgets": (Widget("welcome", "Bienvenue", lambda: ""),)}, "widget 'welcome' must start with 'zzbad.'"),
    ({"jobs": (Job("import", lambda **_: None),)}, "job 'import' must start with 'zzbad.'"),
    ({"requires": ("inconnu",)}, "requires 'inconnu', which must be listed (and load) before it"),
    ({"blueprint": Blueprint("autre", __name__)}, "blueprint is named 'autre'"),
    ({"url_prefix": "/autre"}, "url prefix '/autre' must be '/zzbad'"),
    ({"name": "autre"}, "name 'autre' must equal the package name"),
    ({"nav": (NavEntry("X", "core.dashboard", area="sidebar"),)}, "unknown area 'sidebar'"),
])
def test_load_plugins_refuses_a_bad_manifest(fake_plugin, fields, message):
    fake_plugin("zzbad", **fields)
    with pytest.raises(PluginError, match="zzbad") as exc:
        _app(PLUGINS=["accounts", "zzbad"])
    assert message in str(exc.value)


def test_a_requirement_listed_after_the_plugin_is_refused(fake_plugin):
    fake_plugin("zzbad", requires=("accounts",))
    with pytest.raises(PluginError, match="requires 'accounts', which must be listed"):
        _app(PLUGINS=["zzbad", "accounts"])


def test_a_package_without_manifest_is_refused(fake_plugin):
    fake_plugin("zzbad", module_attr="")
    with pytest.raises(PluginError, match=r"intranet\.zzbad has no `plugin` manifest"):
        _app(PLUGINS=["accounts", "zzbad"])


def test_a_manifest_that_is_not_a_plugin_is_refused(fake_plugin):
    fake_plugin("zzbad", manifest={"name": "zzbad"})
    with pytest.raises(PluginError, match="`plugin` is not a Plugin"):
        _app(PLUGINS=["accounts", "zzbad"])


def test_an_unknown_plugin_is_refused():
    with pytest.raises(PluginError, match="plugin 'nexistepas' cannot be imported"):
        _app(PLUGINS=["accounts", "nexistepas"])


def test_a_plugin_listed_twice_is_refused():
    with pytest.raises(PluginError, match="accounts: loaded twice"):
        _app(PLUGINS=["accounts", "accounts"])


def test_validate_lists_every_problem_at_once():
    from intranet.core.plugins import validate

    plugin = Plugin(name="zzbad", title="Z", permissions=(Permission("x.y", "X"),), jobs=(Job("j", print),))
    errors = validate(plugin, "intranet.zzbad", {})
    assert len(errors) == 2 and all(e.startswith("zzbad: ") for e in errors)
    assert validate(Plugin(name="zzbad", title="Z"), "intranet.zzbad", {}) == []


# -- INTRANET_PLUGINS, `flask plugins` ----------------------------------------------------------

def test_intranet_plugins_env_sets_the_loaded_list_in_order(monkeypatch, fake_plugin):
    fake_plugin("zzextra", requires=("accounts",), permissions=(Permission("zzextra.voir", "Voir", ("membre",)),))
    monkeypatch.setenv("INTRANET_PLUGINS", "accounts,zzextra")
    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://"})
    registry = app.extensions["intranet_registry"]
    assert list(registry.plugins) == ["accounts", "zzextra"]
    assert registry.permission("zzextra.voir") is not None

    monkeypatch.setenv("INTRANET_PLUGINS", "accounts")
    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://"})
    assert list(app.extensions["intranet_registry"].plugins) == ["accounts"]
    # Leaving a plugin out removes its pages too.
    assert not any(r.endpoint.startswith("groups.") for r in app.url_map.iter_rules())


def test_flask_plugins_lists_the_loaded_plugins(app):
    result = app.test_cli_runner().invoke(args=["plugins"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    names = [line.split()[0] for line in lines if line.strip()]
    assert names == list(app.extensions["intranet_registry"].plugins)
    accounts = next(line for line in lines if line.startswith("accounts"))
    assert "url=/accounts" in accounts


# -- the factory never touches the database ------------------------------------------------------

@pytest.fixture
def connections():
    """Every DB-API connection opened by any engine while the fixture is active."""
    opened = []

    def on_connect(dbapi_connection, record):
        opened.append(dbapi_connection)

    sa.event.listen(sa.engine.Engine, "connect", on_connect)
    try:
        yield opened
    finally:
        sa.event.remove(sa.engine.Engine, "connect", on_connect)


def test_app_factory_does_not_connect_to_sqlite(tmp_path, connections):
    missing = tmp_path / "nexiste" / "pas"
    app = _app(DATABASE_URL=f"sqlite:///{missing / 'intranet.sqlite'}")
    assert app.extensions["intranet_registry"].plugins
    assert connections == []
    assert not missing.exists()  # SQLite would have failed (or created the file) on a connection
    # `flask plugins` works without a database too.
    assert "accounts" in app.test_cli_runner().invoke(args=["plugins"]).output
    assert connections == []


def test_app_factory_does_not_connect_to_postgresql(connections):
    # Nobody listens on port 1: any connection attempt would raise.
    app = _app(DATABASE_URL="postgresql+psycopg://intranet:x@127.0.0.1:1/nulle")
    assert app.extensions["intranet_registry"].plugins
    assert connections == []
