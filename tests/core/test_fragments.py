"""core.fragments: a kept fragment comes back with the reader's own token, under its inputs only,
and the cache holds no more than its bound."""

from __future__ import annotations

from markupsafe import Markup

from intranet.core.fragments import FragmentCache


def test_a_kept_fragment_carries_each_readers_token():
    cache, drawn = FragmentCache(max_entries=10), []

    def draw(token):
        def render():
            drawn.append(token)
            return f'<form><input name="csrf_token" value="{token}"></form><p>Marché de Salers</p>'
        return render

    first = cache.get(("carte", 1), draw("jeton-de-louis"), secret="jeton-de-louis")
    second = cache.get(("carte", 1), draw("jeton-de-jeanne"), secret="jeton-de-jeanne")
    assert drawn == ["jeton-de-louis"]  # drawn once, served twice
    assert 'value="jeton-de-louis"' in first and "jeton-de-jeanne" not in first
    assert 'value="jeton-de-jeanne"' in second and "jeton-de-louis" not in second
    assert isinstance(second, Markup)


def test_other_inputs_draw_again_and_the_bound_holds():
    cache, drawn = FragmentCache(max_entries=3), []
    for k in range(5):
        cache.get(("carte", k), lambda k=k: drawn.append(k) or f"<p>{k}</p>", secret="t")
    assert drawn == [0, 1, 2, 3, 4] and len(cache) == 3
    assert cache.get(("carte", 4), lambda: "<p>autre</p>", secret="t") == "<p>4</p>"  # kept: the newest
    assert cache.get(("carte", 0), lambda: "<p>redessinée</p>", secret="t") == "<p>redessinée</p>"  # aged out
    assert (cache.hits, cache.misses) == (1, 6)
