"""``bench.ceiling_bare``: the bare side of the ceiling benchmark must send the real page byte for
byte (same size, same structure), with its repeated blocks rendered by Jinja loops."""

import json

from bench import ceiling_bare


def _bare_get(tmp_path, page: str, path: str = "/page") -> str:
    (tmp_path / "page.html").write_text(page, encoding="utf-8")
    (tmp_path / "pages.json").write_text(json.dumps([{"label": "page", "path": path, "file": "page.html"}]))
    resp = ceiling_bare.create_app(str(tmp_path)).test_client().get(path)
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def test_a_real_page_comes_back_identical(tmp_path, as_, make_user):
    page = as_(make_user()).get("/").get_data(as_text=True)
    assert "<html" in page
    assert _bare_get(tmp_path, page, "/") == page


def test_repeated_blocks_become_a_loop_with_escaped_variables(tmp_path):
    items = "".join(f'\n<li class="post"><a href="/p/{i}">L&#39;été n° {i} &amp; {"<b>gras</b>" * (i % 2)}</a></li>'
                    for i in range(5))
    page = f'<!doctype html>\n<ul>{items}\n</ul><script>var s = "{{{{x}}}}";</script><p>Fin&nbsp;!</p>\n'
    source, context = ceiling_bare.build(page)
    assert "{% for it in loop_0 %}" in source
    assert ceiling_bare.stats(context)[:2] == (1, 5)
    assert _bare_get(tmp_path, page) == page
