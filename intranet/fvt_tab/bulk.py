"""Writing many rows fast, on a connection of the caller's transaction: pysqlite's executemany on
SQLite, COPY on PostgreSQL, SQLAlchemy's executemany elsewhere. An import writes its facts (about
200,000 rows for a bimestre of 11 zones) and its series (about 20,000 rows of 1.5 KB) through it:
through SQLAlchemy, each row's parameters cost more than the database's own work on it."""

from __future__ import annotations

import sqlalchemy as sa


def insert_rows(conn: sa.Connection, table: sa.Table, columns: dict[str, list]) -> None:
    """Insert the rows given column by column (equal lengths) into ``table``. Dates must come as
    the database stores them (ISO text on SQLite)."""
    names = list(columns)
    rows = zip(*(columns[c] for c in names), strict=True)
    raw = conn.connection.dbapi_connection
    # Table and column names come from the models, never from a file.
    if conn.dialect.name == "sqlite":
        raw.executemany(f"INSERT INTO {table.name} ({', '.join(names)}) "  # noqa: S608
                        f"VALUES ({', '.join('?' * len(names))})", rows)
    elif conn.dialect.name == "postgresql":
        with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        conn.execute(sa.insert(table), [dict(zip(names, row, strict=True)) for row in rows])
