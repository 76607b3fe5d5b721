"""The one markdown renderer: formatting works, and no user text can run script in a reader's page."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from markupsafe import Markup, escape

from intranet.core.markup import ALLOWED_PROTOCOLS, ALLOWED_TAGS, excerpt, plain_text, render_markdown


class _Collector(HTMLParser):
    """Every element and attribute a browser would build from the output."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def parse(html: str) -> list[tuple[str, dict[str, str | None]]]:
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return collector.elements


def assert_inert(html: str) -> None:
    """No element, attribute or URL of the output can execute anything."""
    lowered = html.lower()
    assert "<script" not in lowered
    assert "<svg" not in lowered
    assert "<img" not in lowered
    assert "<iframe" not in lowered
    for tag, attrs in parse(html):
        assert tag in ALLOWED_TAGS, tag
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            assert name not in {"style", "src", "srcdoc", "formaction"}, (tag, name)
            if name == "href":
                url = (value or "").strip().lower()
                # The browser ignores tabs/newlines inside a scheme: check the compacted URL too.
                compact = "".join(url.split())
                for scheme in ("javascript:", "data:", "vbscript:"):
                    assert not compact.startswith(scheme), value
                scheme = compact.split(":", 1)[0] if ":" in compact.split("/", 1)[0] else None
                assert scheme is None or scheme in ALLOWED_PROTOCOLS, value


def hrefs(html: str) -> list[str | None]:
    return [attrs.get("href") for tag, attrs in parse(html) if tag == "a"]


# --- Formatting that members use ------------------------------------------------------------


def test_bold_italic_and_lists_render():
    html = render_markdown("**Réunion** des *offices*\n\n- Accueil\n- Numérique\n\n1. Un\n2. Deux")
    assert "<strong>Réunion</strong>" in html
    assert "<em>offices</em>" in html
    assert "<ul>\n<li>Accueil</li>\n<li>Numérique</li>\n</ul>" in html
    assert "<ol>\n<li>Un</li>\n<li>Deux</li>\n</ol>" in html


@pytest.mark.parametrize(("typed", "items", "tag"), [
    ("Au programme :\n- cadrage\n- atelier", ["cadrage", "atelier"], "ul"),
    ("À apporter\n* badge\n+ tablette", ["badge", "tablette"], "ul"),
    ("Étapes :\n1. inscription\n2. venue", ["inscription", "venue"], "ol"),
])
def test_a_list_typed_right_after_a_sentence_is_a_list(typed, items, tag):
    html = str(render_markdown(typed))
    assert html.startswith("<p>") and "<br>" not in html.split("</p>")[0]
    assert f"<{tag}>\n" + "\n".join(f"<li>{i}</li>" for i in items) + f"\n</{tag}>" in html
    assert "- cadrage" not in html and "* badge" not in html


def test_what_only_looks_like_a_list_after_a_sentence_is_left_alone():
    # A year opening a line, a horizontal rule, a setext heading and fenced code keep their meaning.
    assert "<ol" not in render_markdown("Bilan de saison\n2024. Une année record")
    assert "<hr>" in render_markdown("Fin du premier point\n* * *\nSuite")
    assert "<h4>Titre</h4>" in render_markdown("Titre\n---\ntexte")
    fenced = str(render_markdown("```\nune commande\n- pas une liste\n```"))
    assert "<li>" not in fenced and "- pas une liste" in fenced
    # A continuation line stays in its item; a following item is in the same list.
    html = str(render_markdown("Points :\n- premier\n  suite du premier\n- second"))
    assert html.count("<ul>") == 1 and html.count("<li>") == 2 and "suite du premier</li>" in html


def test_the_renderer_is_reused_and_keeps_no_state_between_texts():
    from intranet.core import markup
    render_markdown("*[HTML]: Hyper Text\n\nHTML")
    first = markup._renderer()
    # An abbreviation defined in one text must not leak into the next one.
    assert "<abbr" not in render_markdown("HTML encore")
    assert markup._renderer() is first


def test_links_get_nofollow_noopener_and_bare_urls_are_linked():
    html = render_markdown(
        'Le [programme](https://example.org/prog "Programme") et https://adt.example.fr/agenda'
    )
    links = [attrs for tag, attrs in parse(html) if tag == "a"]
    assert [a["href"] for a in links] == ["https://example.org/prog", "https://adt.example.fr/agenda"]
    assert links[0]["title"] == "Programme"
    assert all(a["rel"] == "nofollow noopener noreferrer" for a in links)
    assert all("target" not in a for a in links)


def test_email_addresses_become_mailto_links():
    html = render_markdown("Écrire à accueil@ot-exemple.fr")
    assert hrefs(html) == ["mailto:accueil@ot-exemple.fr"]


def test_single_newlines_are_kept_as_line_breaks():
    assert str(render_markdown("Ligne 1\nLigne 2")) == "<p>Ligne 1<br>\nLigne 2</p>"


def test_headings_are_shifted_below_the_page_title():
    html = render_markdown("# Titre\n\n## Sous-titre\n\n###### Petit")
    assert "<h3>Titre</h3>" in html
    assert "<h4>Sous-titre</h4>" in html
    assert "<h6>Petit</h6>" in html
    assert "<h1" not in html and "<h2" not in html


def test_tables_quotes_and_code_render():
    html = render_markdown(
        "| Mois | Nuitées |\n|------|--------:|\n| Juillet | 1200 |\n\n"
        "> Citation\n\n```python\nx = '<b>'\n```"
    )
    assert "<table>" in html and "<th>Mois</th>" in html and '<td align="right">1200</td>' in html
    assert "<blockquote>\n<p>Citation</p>\n</blockquote>" in html
    assert "<pre><code class=\"language-python\">x = '&lt;b&gt;'" in html


def test_images_become_links_instead_of_loading_remote_content():
    html = render_markdown("![Plan du site](https://example.org/plan.png)")
    assert "<img" not in html
    assert parse(html)[1] == (
        "a",
        {"href": "https://example.org/plan.png", "rel": "nofollow noopener noreferrer"},
    )
    assert "Plan du site" in html


def test_returns_markup_so_jinja_does_not_escape_twice():
    html = render_markdown("**ok**")
    assert isinstance(html, Markup)
    assert escape(html) == html


@pytest.mark.parametrize("empty", [None, ""])
def test_empty_input_renders_nothing(empty):
    html = render_markdown(empty)
    assert isinstance(html, Markup)
    assert html == ""


def test_raw_html_is_shown_as_text_not_rendered():
    html = render_markdown('Bonjour <b>à tous</b> <div class="x">bloc</div>')
    assert "&lt;b&gt;à tous&lt;/b&gt;" in html
    assert "&lt;div" in html
    assert "<b>" not in html and "<div" not in html


# --- Attacks --------------------------------------------------------------------------------

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '<a href="javascript:alert(1)">clic</a>',
    '<a href="JaVaScRiPt:alert(1)">clic</a>',
    '<iframe src="javascript:alert(1)"></iframe>',
    '<p style="background:url(javascript:alert(1))">x</p>',
    "<details open ontoggle=alert(1)>",
    "[clic](javascript:alert(1))",
    "[clic](JaVaScRiPt:alert(1))",
    "[clic](&#106;avascript:alert(1))",
    "[clic](&#x6A;avascript&#x3A;alert(1))",
    "[clic](javascript&#58;alert(1))",
    "[clic](java\tscript:alert(1))",
    "[clic](  javascript:alert(1))",
    "[clic](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[clic](vbscript:msgbox(1))",
    "[clic][r]\n\n[r]: javascript:alert(1)",
    "<javascript:alert(1)>",
    "![x](javascript:alert(1))",
    '![x](https://example.org/a.png" onerror="alert(1))',
    '[x](https://example.org/" onmouseover="alert(1))',
    '<https://example.org/" onmouseover="alert(1)>',
    "<!--><script>alert(1)</script>-->",
    "`code` <scr<script>ipt>alert(1)</script>",
    "```\n</code></pre><script>alert(1)</script>\n```",
    "| a |\n|---|\n| <img src=x onerror=alert(1)> |",
]


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_xss_payloads_produce_no_executable_output(payload):
    html = str(render_markdown(payload))
    assert_inert(html)
    # Escaped payloads may stay visible as text, and quoted inside a harmless https URL;
    # but the tags themselves carry no handler and no dangerous URL.
    tags = " ".join(re.findall(r"<[^>]*>", html)).lower()
    assert not re.search(r"javascript:|data:|vbscript:", tags), html
    tag_names_and_attributes = re.sub(r'"[^"]*"', '""', tags)
    assert not re.search(r"\bon[a-z]+\s*=|style\s*=", tag_names_and_attributes), html


@pytest.mark.parametrize(
    "payload",
    [
        "[clic](javascript:alert(1))",
        "[clic](JaVaScRiPt:alert(1))",
        "[clic](&#106;avascript:alert(1))",
        "[clic](data:text/html,x)",
        "[clic](vbscript:x)",
    ],
)
def test_dangerous_links_keep_their_text_but_lose_the_link(payload):
    html = render_markdown(payload)
    assert html == "<p>clic</p>"


def test_raw_anchor_with_javascript_is_only_visible_text():
    html = render_markdown('<a href="javascript:alert(1)">clic</a>')
    assert hrefs(html) == []
    assert "&lt;a href=" in html  # shown to the reader as typed


def test_attributes_outside_the_allow_list_are_removed():
    # attr_list syntax is not enabled: it stays text and never becomes an attribute.
    html = render_markdown("Titre {: onclick=alert(1) }\n\n[lien](https://example.org){: onclick=alert(1)}")
    assert all(not name.startswith("on") for _tag, attrs in parse(html) for name in attrs)


# --- Excerpts -------------------------------------------------------------------------------


def test_excerpt_strips_markdown_and_html():
    text = "# Bienvenue\n\n**Bonjour** à *tous*, voir [le site](https://example.org).\n\n- un\n- deux"
    assert excerpt(text) == "Bienvenue Bonjour à tous, voir le site. un deux"


def test_excerpt_shows_escaped_html_as_plain_characters():
    assert excerpt("Tom & Jerry <b>gras</b>") == "Tom & Jerry <b>gras</b>"


def test_excerpt_cuts_long_text_at_a_word_boundary():
    words = ("Le comité départemental du tourisme réunit les offices " * 20).strip()
    result = excerpt(words)
    assert len(result) <= 300
    assert result.endswith("…")
    body = result[:-1]
    assert words.startswith(body)
    assert words[len(body)] == " "  # the cut falls between two words
    assert len(body) > 250


def test_excerpt_respects_a_custom_length():
    result = excerpt("un deux trois quatre cinq six", length=12)
    assert result == "un deux…"
    assert len(result) <= 12


def test_short_text_is_not_cut():
    assert excerpt("Court **texte**.") == "Court texte."
    assert not excerpt("Court").endswith("…")


def test_an_excerpt_with_lines_keeps_paragraphs_breaks_and_list_items():
    typed = "Au programme :\n- cadrage\n- atelier **pratique**\n\nRendez-vous\nà 9 h"
    assert excerpt(typed, 300, lines=True) == "Au programme :\n• cadrage\n• atelier pratique\nRendez-vous\nà 9 h"
    assert excerpt(typed, 30, lines=True) == "Au programme :\n• cadrage…"
    assert "\n" not in excerpt(typed, 300)


def test_excerpt_of_nothing_is_empty():
    assert excerpt(None) == ""
    assert excerpt("") == ""
    assert plain_text(None) == ""


def test_excerpt_cuts_a_single_long_word():
    result = excerpt("a" * 400, length=50)
    assert result == "a" * 49 + "…"


def test_a_text_shown_again_is_rendered_once_and_the_same():
    from intranet.core import markup
    text = "Un texte **affiché** sur chaque page, comme l'aide."
    first = render_markdown(text)
    hits = markup._render_cached.cache_info().hits
    again = render_markdown(text)
    assert again == first and isinstance(again, Markup)
    assert markup._render_cached.cache_info().hits == hits + 1
    long_text = "mot " * 6000  # past the cached length: rendered each time, not kept in memory
    assert render_markdown(long_text).startswith("<p>mot mot")
    assert markup._render_cached.cache_info().hits == hits + 1
