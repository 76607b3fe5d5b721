"""Configuration from ``INTRANET_*`` environment variables, and the production safety checks."""

from __future__ import annotations

import pytest

from intranet import config as config_module
from intranet.app import create_app

DEFAULT_KEY = config_module.Base.SECRET_KEY


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No INTRANET_* variable from the shell, and an instance folder without a secret_key file."""
    import os

    for key in list(os.environ):
        if key.startswith("INTRANET_"):
            monkeypatch.delenv(key)
    monkeypatch.setattr(config_module, "INSTANCE", tmp_path / "instance")
    return monkeypatch


def test_environment_variables_override_the_config(clean_env, tmp_path):
    url = f"sqlite:///{tmp_path / 'autre.sqlite'}"
    clean_env.setenv("INTRANET_DATABASE_URL", url)
    clean_env.setenv("INTRANET_SECRET_KEY", "une-cle-secrete-de-production")
    clean_env.setenv("INTRANET_DEMO", "1")
    clean_env.setenv("INTRANET_MAIL_SERVER", "smtp.cantal.example")
    clean_env.setenv("INTRANET_MAIL_PORT", "2525")
    clean_env.setenv("INTRANET_MAIL_DEFAULT_SENDER", "Intranet Cantal <intranet@cantal.example>")

    app = create_app()

    assert app.config["DATABASE_URL"] == url
    assert app.config["SQLALCHEMY_DATABASE_URI"] == url  # what the database layer really uses
    assert app.config["SECRET_KEY"] == "une-cle-secrete-de-production"
    assert app.config["DEMO"] is True
    assert app.config["MAIL_SERVER"] == "smtp.cantal.example"
    assert app.config["MAIL_PORT"] == 2525 and isinstance(app.config["MAIL_PORT"], int)
    assert app.config["MAIL_DEFAULT_SENDER"] == "Intranet Cantal <intranet@cantal.example>"
    # Flask-Mail took the same settings: mails go to that server, from that sender.
    state = app.extensions["mail"]
    assert (state.server, state.port, state.default_sender) == (
        "smtp.cantal.example", 2525, "Intranet Cantal <intranet@cantal.example>")


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("true", True), ("oui", True),
                                                 ("0", False), ("", False), ("non", False)])
def test_demo_flag(clean_env, value, expected):
    clean_env.setenv("INTRANET_DEMO", value)
    assert create_app().config["DEMO"] is expected


def test_defaults_without_environment(clean_env):
    app = create_app()
    assert app.config["DEMO"] is False
    assert app.config["MAIL_SERVER"] is None  # no server: mails are written as .eml files
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("intranet.sqlite")
    assert app.config["PLUGINS"] == config_module.DEFAULT_PLUGINS


@pytest.mark.parametrize("name", ["SECRET_KEY", "MAIL_PASSWORD", "MAIL_USERNAME"])
def test_text_settings_stay_text_even_when_they_look_like_numbers(clean_env, name):
    # An operator whose SMTP password is "20252025" must not get an int that smtplib rejects.
    clean_env.setenv(f"INTRANET_{name}", "20252025")
    value = create_app().config[name]
    assert value == "20252025" and isinstance(value, str)


def test_plugins_from_a_comma_list(clean_env):
    clean_env.setenv("INTRANET_PLUGINS", " accounts , ")
    app = create_app()
    assert app.config["PLUGINS"] == ["accounts"]
    assert list(app.extensions["intranet_registry"].plugins) == ["accounts"]


def test_explicit_config_wins_over_environment(clean_env):
    clean_env.setenv("INTRANET_MAIL_PORT", "2525")
    assert create_app({"MAIL_PORT": 587}).config["MAIL_PORT"] == 587


def test_production_refuses_the_default_secret_key(clean_env):
    clean_env.setenv("INTRANET_ENV", "production")
    with pytest.raises(RuntimeError, match="INTRANET_SECRET_KEY"):
        create_app()


def test_production_refuses_the_default_secret_key_even_when_given_explicitly(clean_env):
    clean_env.setenv("INTRANET_ENV", "production")
    clean_env.setenv("INTRANET_SECRET_KEY", DEFAULT_KEY)
    with pytest.raises(RuntimeError, match="INTRANET_SECRET_KEY"):
        create_app()


def test_production_with_a_real_key_has_secure_cookies(clean_env):
    clean_env.setenv("INTRANET_ENV", "production")
    clean_env.setenv("INTRANET_SECRET_KEY", "0f3c9a1e5b7d2f4a6c8e0b1d3f5a7c9e")
    app = create_app()
    assert app.config["SECRET_KEY"] == "0f3c9a1e5b7d2f4a6c8e0b1d3f5a7c9e"
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["PREFERRED_URL_SCHEME"] == "https"


def test_secret_key_file_written_by_make_install_is_used(clean_env):
    folder = config_module.INSTANCE
    folder.mkdir()
    (folder / "secret_key").write_text("cle-du-fichier-instance\n")
    clean_env.setenv("INTRANET_ENV", "production")
    assert create_app().config["SECRET_KEY"] == "cle-du-fichier-instance"


def test_a_sqlite_app_does_not_leak_its_engine_options_into_the_next_app(clean_env, tmp_path):
    # SQLite gets a busy timeout; a PostgreSQL app built later in the same process must not
    # inherit it (psycopg refuses the unknown "timeout" option and nothing could connect).
    create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'a.sqlite'}"})
    pg = create_app({"DATABASE_URL": "postgresql+psycopg://intranet:x@127.0.0.1:1/nulle"})
    assert "timeout" not in pg.config["SQLALCHEMY_ENGINE_OPTIONS"].get("connect_args", {})
    assert config_module.Base.SQLALCHEMY_ENGINE_OPTIONS == {}


def test_a_file_of_the_upload_limit_fits_in_a_request(clean_env):
    # With the defaults (both 25 MiB) a file of exactly MAX_UPLOAD_BYTES plus the form's other
    # fields used to be cut by the request limit (a bare 413) before the storage's own check.
    app = create_app()
    assert app.config["MAX_CONTENT_LENGTH"] >= app.config["MAX_UPLOAD_BYTES"] + 1024 * 1024
    small = create_app({"MAX_UPLOAD_BYTES": 2000, "MAX_CONTENT_LENGTH": 2000})
    assert small.config["MAX_CONTENT_LENGTH"] == 2000 + 1024 * 1024
    roomy = create_app({"MAX_UPLOAD_BYTES": 2000, "MAX_CONTENT_LENGTH": 50 * 1024 * 1024})
    assert roomy.config["MAX_CONTENT_LENGTH"] == 50 * 1024 * 1024  # a larger limit is kept
