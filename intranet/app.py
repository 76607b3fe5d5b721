"""The application factory: a list of named steps, then the plugins. It never touches the database."""

from __future__ import annotations

import os

import sqlalchemy as sa
from flask import Flask

from intranet import config as config_module
from intranet.core.plugins import Registry, load_plugins
from intranet.core.storage import UploadRequest
from intranet.core.textfold import fold, french_collate
from intranet.extensions import csrf, db, login_manager, mail, migrate


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, template_folder="../templates", instance_path=str(config_module.INSTANCE))
    app.request_class = UploadRequest  # big uploads spooled into UPLOAD_DIR, written once
    load_config(app, config)
    init_proxy(app)
    init_database(app)
    init_extensions(app)
    init_login(app)
    init_i18n_step(app)
    init_security_and_errors(app)
    init_templates(app)
    init_core(app)
    registry = Registry()
    app.extensions["intranet_registry"] = registry
    init_core_contributions(registry)
    load_plugins(app, registry)
    return app


def load_config(app: Flask, overrides: dict | None) -> None:
    env = os.environ.get("INTRANET_ENV", "development")
    app.config.from_object(config_module.CONFIGS.get(env, config_module.Development))
    app.config.update(config_module.env_overrides())
    if overrides:
        app.config.update(overrides)
    secret_file = config_module.INSTANCE / "secret_key"
    if "SECRET_KEY" not in (overrides or {}) and "INTRANET_SECRET_KEY" not in os.environ and secret_file.exists():
        app.config["SECRET_KEY"] = secret_file.read_text().strip()  # written by `make install`
    if env == "production" and app.config["SECRET_KEY"] == config_module.Base.SECRET_KEY:
        raise RuntimeError("INTRANET_SECRET_KEY must be set in production")
    app.config["SQLALCHEMY_DATABASE_URI"] = app.config["DATABASE_URL"]
    app.config["MAIL_SERVER"] = app.config.get("MAIL_SERVER") or None
    # A file of MAX_UPLOAD_BYTES must reach the storage's own check (a precise French message),
    # so the whole request gets 1 MiB more for the other fields and the multipart framing.
    body_limit = app.config["MAX_UPLOAD_BYTES"] + 1024 * 1024
    if app.config["MAX_CONTENT_LENGTH"] < body_limit:
        app.config["MAX_CONTENT_LENGTH"] = body_limit


def init_proxy(app: Flask) -> None:
    hops = int(app.config.get("TRUSTED_PROXIES") or 0)
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def init_database(app: Flask) -> None:
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite"):
        # A copy: the class-level default dict is shared by every app of the process.
        opts = app.config["SQLALCHEMY_ENGINE_OPTIONS"] = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        opts.setdefault("connect_args", {"timeout": 30})
        if not sa.event.contains(sa.engine.Engine, "connect", _sqlite_pragmas):
            sa.event.listen(sa.engine.Engine, "connect", _sqlite_pragmas)
    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(app.root_path), "migrations"),
                     render_as_batch=True, compare_type=True)


def _sqlite_pragmas(dbapi_conn, _record):
    # Only SQLite connections: WAL so the worker and the web server share the file, foreign
    # keys enforced, and a busy timeout rather than "database is locked".
    if type(dbapi_conn).__module__.startswith("sqlite3"):
        cur = dbapi_conn.cursor()
        if cur.execute("PRAGMA journal_mode").fetchone()[0] != "memory":
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()
        # Case- and accent-insensitive search (intranet.core.textfold): SQLite's lower() is ASCII only.
        dbapi_conn.create_function("intranet_fold", 1, fold, deterministic=True)
        dbapi_conn.create_collation("intranet_fr", french_collate)


def init_extensions(app: Flask) -> None:
    csrf.init_app(app)
    mail.init_app(app)


def init_login(app: Flask) -> None:
    from flask_babel import lazy_gettext as _l

    from intranet.core.models import User

    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Connectez-vous pour accéder à cette page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(user_id: str):
        # The id carries the session version: logout, password change or deactivation bump it,
        # which ends every session of that person on its next request.
        try:
            uid, version = (int(x) for x in user_id.split(":"))
        except ValueError:
            return None
        user = db.session.get(User, uid)
        if user is None or user.session_version != version or not user.is_active_account:
            return None
        return user


def init_i18n_step(app: Flask) -> None:
    from intranet.core.i18n import init_i18n

    init_i18n(app)


def init_security_and_errors(app: Flask) -> None:
    from intranet.core.errors import init_errors
    from intranet.core.security import init_security

    init_security(app)
    init_errors(app)


def init_templates(app: Flask) -> None:
    from intranet.core.templating import init_templating

    init_templating(app)


def init_core(app: Flask) -> None:
    from intranet.core.cli import init_cli
    from intranet.core.views import bp

    app.register_blueprint(bp)
    init_cli(app)


def init_core_contributions(registry: Registry) -> None:
    from intranet.core.manifest import contribute

    contribute(registry)
