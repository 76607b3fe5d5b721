"""@mentions: « @Marie Dupont » in a post or a comment names a member of the directory.

The autocomplete inserts the person's name as the directory shows it. When the text is saved, each
``@`` followed by one to four words is matched against the names of active members, longest first
(« @Marie Dupont » before « @Marie »), in one query. Matched mentions become links to the profile
in the rendered HTML; the text keeps what the author typed.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask import current_app, has_request_context, url_for

from intranet.core.markup import render_markdown
from intranet.core.models import User
from intranet.core.textfold import fold, fold_sql
from intranet.extensions import db

# An @ not glued to a word (so e-mail addresses are not mentions), then up to four words.
_MENTION_RE = re.compile(r"(?<![\w@])@(\w[\w'’.-]*(?:[ \u00a0][\w'’-]+){0,3})")
_MD_SPECIAL_RE = re.compile(r"([\\`*_\[\]<>()#!|~])")


def _candidates(words: str) -> list[str]:
    """« Marie Dupont du Lac » → the four longest-first prefixes by words."""
    parts = words.replace("\u00a0", " ").split(" ")
    return [" ".join(parts[:n]).rstrip(".") for n in range(len(parts), 0, -1)]


def find_mentions(text: str) -> list[tuple[int, int, User]]:
    """``(start, end, user)`` for every mention in ``text``, in order."""
    matches = list(_MENTION_RE.finditer(text or ""))
    if not matches:
        return []
    typed = {c for m in matches for c in _candidates(m.group(1))}
    # Names compared without accents or case on both databases (« @emilie roux » is Émilie Roux).
    users: dict[str, User] = {}
    for user in db.session.scalars(sa.select(User).where(
            User.is_active_account.is_(True), fold_sql(User.name).in_({fold(c) for c in typed}))
            .order_by(User.id)):
        users.setdefault(fold(user.name), user)
    found = []
    for m in matches:
        for cand in _candidates(m.group(1)):
            user = users.get(fold(cand))
            if user is not None:
                found.append((m.start(), m.start() + 1 + len(cand), user))
                break
    return found


def mentioned_users(text: str) -> list[User]:
    seen: dict[int, User] = {}
    for _s, _e, user in find_mentions(text):
        seen.setdefault(user.id, user)
    return list(seen.values())


def _profile_path(user_id: int) -> str:
    if has_request_context():
        return url_for("accounts.profile", user_id=user_id)
    with current_app.test_request_context():  # the CLI (demo data) and the worker
        return url_for("accounts.profile", user_id=user_id)


def render_with_mentions(text: str) -> str:
    """The one markdown renderer, with each mention turned into a link to the person's profile."""
    out, last = [], 0
    for start, end, user in find_mentions(text):
        name = _MD_SPECIAL_RE.sub(r"\\\1", user.name)
        out.append(text[last:start])
        out.append(f"[@{name}]({_profile_path(user.id)})")
        last = end
    out.append((text or "")[last:])
    return str(render_markdown("".join(out)))
