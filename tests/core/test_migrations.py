"""The Alembic history: `flask db upgrade` on an empty database yields exactly the models, it can go
down to nothing and up again, and it is one straight line.

Each test builds a fresh app on a NEW empty database: a new SQLite file, or on PostgreSQL
(INTRANET_TEST_DB=postgres) a database created for the test and dropped after it.
"""

from __future__ import annotations

import os
import time
import uuid

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from intranet.app import create_app
from intranet.extensions import db
from tests.conftest import USE_POSTGRES


def _drop_database(admin, name: str) -> None:
    """Drop the test's database once the app's connections are closed.

    Not `WITH (FORCE)`: that terminates every backend on the database, and one may be an
    autovacuum worker which a role with only CREATEDB may not terminate (the CI run of
    2026-12-07 failed on it). A plain DROP stops autovacuum itself and waits up to 5 s for
    other sessions; a session still closing gets a few more tries.
    """
    for attempt in range(5):
        try:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
            return
        except sa.exc.OperationalError:
            if attempt == 4:
                raise
            time.sleep(1)


@pytest.fixture
def empty_database_url(tmp_path):
    if not USE_POSTGRES:
        yield f"sqlite:///{tmp_path / 'vide.sqlite'}"
        return
    base = make_url(os.environ["INTRANET_TEST_POSTGRES_URL"])
    name = f"intranet_migr_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        yield base.set(database=name).render_as_string(hide_password=False)
        _drop_database(admin, name)
    finally:
        admin.dispose()


@pytest.fixture
def fresh_app(empty_database_url, tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "migrations", "DATABASE_URL": empty_database_url,
                      "UPLOAD_DIR": str(tmp_path / "uploads"), "MAIL_DIR": str(tmp_path / "mail")})
    with app.app_context():
        try:
            yield app
        finally:
            db.session.remove()
            db.engine.dispose()


def schema_diff() -> list:
    """What autogenerate would write for the current database: empty when it equals the models."""
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def table_names() -> set[str]:
    with db.engine.connect() as conn:
        return set(sa.inspect(conn).get_table_names())


def test_the_database_starts_empty(fresh_app):
    assert table_names() == set()
    # Against an empty database, the diff lists every table: the comparison does see things.
    added = {d[1].name for d in schema_diff() if d[0] == "add_table"}
    assert added == set(db.metadata.tables)


def test_upgrade_from_empty_equals_the_models(fresh_app):
    from flask_migrate import upgrade

    upgrade()
    diff = schema_diff()
    assert diff == [], "the migrations and the models differ; write a migration for:\n" + \
        "\n".join(map(repr, diff))
    assert table_names() == set(db.metadata.tables) | {"alembic_version"}


def test_downgrade_to_base_then_upgrade_again(fresh_app):
    from flask_migrate import downgrade, upgrade

    upgrade()
    downgrade(revision="base")
    assert table_names() - {"alembic_version"} == set(), "downgrade to base left tables behind"
    upgrade()
    assert schema_diff() == []
    # The schema works: a row goes in and comes back.
    from intranet.core.models import Organization

    db.session.add(Organization(name="Cantal Destination", kind="agence"))
    db.session.commit()
    assert db.session.scalar(sa.select(Organization.name)) == "Cantal Destination"


def _script(app) -> ScriptDirectory:
    with app.app_context():
        return ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())


def test_one_linear_history(fresh_app):
    script = _script(fresh_app)
    heads = script.get_heads()
    assert len(heads) == 1, f"several heads {heads}: merge them into one history"
    assert len(script.get_bases()) == 1
    every = {r.revision for r in script.walk_revisions()}
    # Following down_revision from the head visits every revision exactly once.
    chain, rev = [], script.get_revision(heads[0])
    while rev is not None:
        assert not isinstance(rev.down_revision, tuple | list), f"{rev.revision} merges several revisions"
        assert not rev.is_branch_point, f"{rev.revision} is a branch point: keep the history linear"
        chain.append(rev.revision)
        rev = script.get_revision(rev.down_revision) if rev.down_revision else None
    assert len(chain) == len(set(chain))
    assert set(chain) == every, f"revisions off the main line: {sorted(every - set(chain))}"


def test_upgrade_records_the_head(fresh_app):
    from flask_migrate import upgrade

    upgrade()
    with db.engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    assert current == _script(fresh_app).get_current_head()
