"""Rendered fragments kept per process, keyed by everything they are drawn from.

A feed page draws 20-odd post cards; drawing one through Jinja (its macros, labels, dates, links)
costs about half a millisecond, and the same cards are drawn again for every member and every
visit. A ``FragmentCache`` keeps the HTML of such a fragment under a digest of *every value the
template reads* to draw it: the object's own fields, the viewer's flags that change it (« j'aime »,
« Modifier »…), the locale, the relative dates as they read now. Nothing is invalidated, and
nothing can be stale: a change of any input is a new key, and the old entry ages out of the bounded
LRU. The caller owns that list of inputs, and a fragment whose template reads anything else (the
database, the current user, the request) must not be kept.

The viewer's CSRF token is the one input that differs for every session while the rest is shared:
a fragment is stored cut at each occurrence of the token and joined again with the viewer's own.
A token is random and secret, so the only occurrences are the ones the template wrote; nothing a
member writes can make another person's token appear in a fragment.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable

from markupsafe import Markup


class FragmentCache:
    def __init__(self, max_entries: int):
        self.max_entries = max_entries
        self._entries: OrderedDict[bytes, tuple[str, ...]] = OrderedDict()
        self._lock = threading.Lock()  # gunicorn's threaded workers share the process's cache
        self.hits = self.misses = 0

    @staticmethod
    def digest(inputs: tuple) -> bytes:
        # repr: the inputs are plain values (numbers, texts, datetimes, tuples, frozen dataclasses,
        # rows) whose repr is their value. A digest rather than the tuple: the key does not keep
        # the texts it was made of alive.
        return hashlib.blake2b(repr(inputs).encode("utf-8", "surrogatepass"), digest_size=20).digest()

    def get(self, inputs: tuple, render: Callable[[], str], secret: str) -> Markup:
        """The fragment for ``inputs``, drawn by ``render()`` if not kept; ``secret`` (the viewer's
        CSRF token) is put back where the drawing wrote it."""
        key = self.digest(inputs)
        with self._lock:
            parts = self._entries.get(key)
            if parts is not None:
                self._entries.move_to_end(key)
                self.hits += 1
        if parts is None:
            html = str(render())
            parts = tuple(html.split(secret)) if secret else (html,)
            with self._lock:
                self.misses += 1
                self._entries[key] = parts
                self._entries.move_to_end(key)
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
        # Safe: the parts were drawn by an autoescaped template (the caller's Markup), the secret
        # is a token of letters, digits and punctuation that escaping leaves as it is.
        return Markup(secret.join(parts) if secret else parts[0])  # noqa: S704

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)
