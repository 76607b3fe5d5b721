"""Case- and accent-insensitive "contains" search that gives the same answers on SQLite and PostgreSQL.

``lower()`` alone is not enough in French: SQLite lowers ASCII letters only ("Élodie" stays
"Élodie"), and nobody types the accents of a name they search for ("elodie" must find "Élodie").
Both sides are folded the same way: the search text by :func:`fold` in Python, the column by
``intranet_fold()`` in SQL — on SQLite the same Python function registered on each connection
(see ``intranet.app._sqlite_pragmas``), on PostgreSQL ``lower(translate(…))``. ``%`` and ``_``
typed by the user are searched literally.
"""

from __future__ import annotations

from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

# Letters of French (and neighbouring) names, folded to plain lower-case ASCII, one for one.
_GROUPS = {"a": "àâäáãåÀÂÄÁÃÅ", "c": "çÇ", "e": "éèêëÉÈÊË", "i": "îïíìÎÏÍÌ", "o": "ôöóòõøÔÖÓÒÕØ",
           "u": "ùûüúÙÛÜÚ", "y": "ÿýŸÝ", "n": "ñÑ", "'": "’"}
_FROM = "".join(_GROUPS.values())
_TO = "".join(plain * len(letters) for plain, letters in _GROUPS.items())
_LIGATURES = (("œ", "oe"), ("Œ", "oe"), ("æ", "ae"), ("Æ", "ae"))
_TABLE = str.maketrans(_FROM, _TO)
LIKE_ESCAPE = "\\"


def fold(text: str | None) -> str | None:
    """``"Élodie Cœur"`` → ``"elodie coeur"``. Also the SQLite function ``intranet_fold``."""
    if text is None:
        return None
    for ligature, plain in _LIGATURES:
        text = text.replace(ligature, plain)
    return text.translate(_TABLE).lower()


class fold_sql(FunctionElement):  # noqa: N801  (reads as a SQL function)
    """``intranet_fold(expr)``: the SQL counterpart of :func:`fold`."""

    type = sa.String()
    name = "intranet_fold"
    inherit_cache = True


@compiles(fold_sql)
def _fold_sqlite(element, compiler, **kw):
    return f"intranet_fold({compiler.process(element.clauses, **kw)})"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@compiles(fold_sql, "postgresql")
def _fold_postgresql(element, compiler, **kw):
    sql = compiler.process(element.clauses, **kw)
    for ligature, plain in _LIGATURES:
        sql = f"replace({sql}, {_literal(ligature)}, {_literal(plain)})"
    return f"lower(translate({sql}, {_literal(_FROM)}, {_literal(_TO)}))"


# SQLite calls the collation for every comparison of a sort (the composer's picker: ~560 per page,
# on the same 250 names each time): each name is folded once.
_collation_fold = lru_cache(maxsize=8192)(fold)


def french_collate(a: str, b: str) -> int:
    """The SQLite collation ``intranet_fr``: « Émilie » among the E's, case and accents ignored
    first (then used to break ties, so the order is stable), as PostgreSQL's ``fr-x-icu`` does."""
    ka, kb = (_collation_fold(a), a), (_collation_fold(b), b)
    return (ka > kb) - (ka < kb)


class french(FunctionElement):  # noqa: N801  (reads as SQL)
    """``expr`` compared the French way, for ORDER BY: ``order_by(french(User.name))``."""

    type = sa.String()
    name = "intranet_french"
    inherit_cache = True


@compiles(french)
def _french_sqlite(element, compiler, **kw):
    return f"{compiler.process(element.clauses, **kw)} COLLATE intranet_fr"


@compiles(french, "postgresql")
def _french_postgresql(element, compiler, **kw):
    # ICU's French collation (PostgreSQL built with ICU, as Debian's is): accents and case count
    # only to break ties.
    return f'{compiler.process(element.clauses, **kw)} COLLATE "fr-x-icu"'


def contains(expr, text: str):
    """``expr`` contains ``text``, ignoring case and accents; wildcards in ``text`` are literal."""
    needle = fold(text)
    for special in (LIKE_ESCAPE, "%", "_"):
        needle = needle.replace(special, LIKE_ESCAPE + special)
    return fold_sql(expr).like(f"%{needle}%", escape=LIKE_ESCAPE)
