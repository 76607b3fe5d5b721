"""Rendering of user-written text.

This is the ONE markdown renderer of the project: every piece of user text that is shown as
formatted HTML (posts, comments, forum messages, articles, descriptions, e-mail bodies…) goes
through :func:`render_markdown`. Do not call ``markdown`` or ``bleach`` anywhere else.

Pipeline:

1. python-markdown, with raw HTML *disabled*: ``<script>`` written by a user is shown as text,
   never interpreted. Headings are shifted down two levels (``#`` becomes ``<h3>``) so user
   content never competes with the page title, and images become plain links (no remote image
   is loaded behind the reader's back).
2. bleach with a strict allow-list of tags, attributes and URL protocols (http, https, mailto).
3. bleach linkify: bare URLs become links; every link gets ``rel="nofollow noopener noreferrer"``.
"""

from __future__ import annotations

import html
import re
import threading
import xml.etree.ElementTree as etree
from functools import lru_cache, partial

import bleach
import markdown
from bleach.linkifier import LinkifyFilter
from markdown.extensions import Extension
from markdown.extensions.tables import TableExtension
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import Treeprocessor
from markupsafe import Markup

__all__ = ["ALLOWED_PROTOCOLS", "ALLOWED_TAGS", "RENDERER_VERSION", "excerpt", "plain_text", "render_markdown"]

# Bump whenever a change here alters the HTML produced for the same text (an extension, the
# allow-list, a preprocessor): HTML stored at write time with an older version is rendered again.
RENDERER_VERSION = 2

ALLOWED_TAGS = frozenset(
    {
        "p", "br", "hr", "strong", "em", "b", "i", "del", "sup", "sub", "abbr",
        "ul", "ol", "li", "dl", "dt", "dd",
        "a", "blockquote", "code", "pre",
        "h3", "h4", "h5", "h6",
        "table", "thead", "tbody", "tr", "th", "td",
    }
)  # fmt: skip

ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})

REL = "nofollow noopener noreferrer"

_CODE_CLASS_RE = re.compile(r"^language-[A-Za-z0-9_+-]{1,30}$")
_ALIGN_VALUES = {"left", "right", "center"}


def _allowed_attribute(tag: str, name: str, value: str) -> bool:
    if tag == "a":
        return name in {"href", "title"}
    if tag == "abbr":
        return name == "title"
    if tag == "code":  # fenced code blocks: ```python
        return name == "class" and bool(_CODE_CLASS_RE.match(value))
    if tag in {"th", "td"}:  # table column alignment
        return name == "align" and value in _ALIGN_VALUES
    if tag == "ol":  # sane_lists: a list starting at 3.
        return name == "start" and value.isdigit()
    return False


class _SafeTreeprocessor(Treeprocessor):
    """Shift headings down two levels and turn images into links."""

    def run(self, root: etree.Element) -> None:
        for element in root.iter():
            if re.fullmatch(r"h[1-6]", element.tag):
                element.tag = f"h{min(int(element.tag[1]) + 2, 6)}"
            elif element.tag == "img":
                src = element.get("src", "")
                label = element.get("alt") or element.get("title") or src
                element.attrib.clear()
                element.tag = "a"
                element.set("href", src)
                element.text = label


# Ordered items of at most three digits: « 2024. Une belle saison » after a sentence is a year.
_LIST_ITEM_RE = re.compile(r"^ {0,3}(?:[-*+]|\d{1,3}\.)[ \t]+\S")
_RULE_RE = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


class _ListAfterSentence(Preprocessor):
    """Start a list on the line after a sentence, as people type it.

    Markdown wants a blank line before a list; without it « Au programme :\n- cadrage » shows
    a literal dash. A blank line is inserted before the first item of such a list (never inside
    fenced code, nor before a horizontal rule)."""

    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        fence: str | None = None
        in_list = False
        for line in lines:
            marker = _FENCE_RE.match(line)
            if fence:
                if marker and marker.group(1)[0] == fence[0] and len(marker.group(1)) >= len(fence):
                    fence = None
            elif marker:
                fence = marker.group(1)
            elif not line.strip():
                in_list = False
            elif _LIST_ITEM_RE.match(line) and not _RULE_RE.match(line):
                if not in_list and out and out[-1].strip():
                    out.append("")
                in_list = True
            out.append(line)
        return out


class _SafeExtension(Extension):
    def extendMarkdown(self, md: markdown.Markdown) -> None:
        # After "normalize_whitespace" (30): the text is already split into clean lines.
        md.preprocessors.register(_ListAfterSentence(md), "intranet_list_after_sentence", 15)
        # No raw HTML: neither blocks nor inline tags. The text is escaped by the serializer.
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")
        md.treeprocessors.register(_SafeTreeprocessor(md), "intranet_safe", 0)


# The parts of "extra" that make sense for user content; footnotes, attr_list and md_in_html are
# left out (they exist to emit ids, classes and raw HTML, which the allow-list would remove).
_EXTENSIONS = [
    "fenced_code",
    TableExtension(use_align_attribute=True),
    "def_list",
    "abbr",
    "sane_lists",
    "nl2br",
    _SafeExtension(),
]


def _set_rel(attrs: dict, new: bool = False) -> dict | None:
    if not attrs.get((None, "href")):
        return None  # the href was refused by the allow-list: keep the text, drop the link
    attrs[(None, "rel")] = REL
    return attrs


_cleaner = bleach.Cleaner(
    tags=ALLOWED_TAGS,
    attributes=_allowed_attribute,
    protocols=ALLOWED_PROTOCOLS,
    strip=True,
    strip_comments=True,
    filters=[partial(LinkifyFilter, callbacks=[_set_rel], skip_tags={"pre", "code"}, parse_email=True)],
)


_local = threading.local()


def _renderer() -> markdown.Markdown:
    """This thread's Markdown instance: building one costs more than a conversion, and an
    instance keeps state between conversions, so each thread has its own, reset after use."""
    md = getattr(_local, "md", None)
    if md is None:
        md = _local.md = markdown.Markdown(extensions=_EXTENSIONS, output_format="html")
    return md


def render_markdown(text: str | None) -> Markup:
    """Render user markdown to safe HTML, ready to be inserted in a template as is."""
    if not text:
        return Markup("")
    text = str(text)
    if len(text) <= _CACHED_LENGTH:
        # Safe: _render's output has been through the bleach allow-list.
        return Markup(_render_cached(text))  # noqa: S704
    return Markup(_render(text))  # noqa: S704


_CACHED_LENGTH = 20_000  # the help page, a group's description…: texts that are shown again and again


@lru_cache(maxsize=512)
def _render_cached(text: str) -> str:
    return _render(text)


def _render(text: str) -> str:
    """Markdown, then the bleach allow-list: the only way user text becomes HTML."""
    md = _renderer()
    try:
        html_output = md.convert(text)
    finally:
        md.reset()
    return _cleaner.clean(html_output).strip()


_WS_RE = re.compile(r"\s+")
_BLANKS_RE = re.compile(r"[^\S\n]+")
_BLOCK_END_RE = re.compile(r"<br\s*/?>|</(p|li|h[1-6]|tr|td|th|dt|dd|blockquote|pre)>")


def plain_text(text: str | None, lines: bool = False) -> str:
    """The text a reader sees, without formatting (not HTML-escaped).

    On a single line by default; with ``lines`` the line breaks, paragraphs and list items
    (« • ») are kept as newlines, for a place that shows them with ``white-space: pre-line``."""
    if not text:
        return ""
    text = str(text)
    if len(text) <= _CACHED_LENGTH:
        return _plain_text_cached(text, lines)  # the dashboard's excerpts, drawn for every visit
    return _plain_text(text, lines)


@lru_cache(maxsize=512)
def _plain_text_cached(text: str, lines: bool) -> str:
    return _plain_text(text, lines)


def _plain_text(text: str, lines: bool) -> str:
    rendered = str(render_markdown(text))
    if lines:
        rendered = rendered.replace("<li>", "<li>• ")
    # Block ends become spaces (or newlines) so that paragraphs and list items do not stick together.
    rendered = _BLOCK_END_RE.sub("\n" if lines else " ", rendered)
    flat = html.unescape(bleach.clean(rendered, tags=set(), strip=True))
    if not lines:
        return _WS_RE.sub(" ", flat).strip()
    kept = (_BLANKS_RE.sub(" ", line).strip() for line in flat.split("\n"))
    return "\n".join(line for line in kept if line)


def excerpt(text: str | None, length: int = 300, lines: bool = False) -> str:
    """Plain-text summary of markdown ``text``, at most ``length`` characters.

    When the text is longer it is cut at a word boundary and ends with "…" (the ellipsis is
    counted in ``length``). The result is plain text: let Jinja escape it. With ``lines`` its
    line breaks are kept (see :func:`plain_text`).
    """
    flat = plain_text(text, lines=lines)
    if len(flat) <= length:
        return flat
    cut = flat[: max(length - 1, 0)]
    if not flat[len(cut)].isspace() and (" " in cut or "\n" in cut):
        # The cut fell inside a word: drop that partial word (unless it is the only one).
        cut = re.split(r"\s(?=\S*$)", cut, maxsplit=1)[0]
    cut = cut.rstrip(" ,;:.!?-–—(\n•")
    return cut + "…"
