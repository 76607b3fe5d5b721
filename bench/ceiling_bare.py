"""The « bare » side of ``bench_ceiling``: a plain Flask app, no database, no login, no extension,
that serves each saved page of the real app rendered by Jinja from data held in memory.

What a bare page does: at start-up, each saved HTML page (``BENCH_CEILING_PAGES``, a folder with a
``pages.json`` manifest written by ``bench_ceiling``) is cut into tokens (tags, comments, script
and style contents, text) and turned into a Jinja template:

- every run of 3 or more sibling elements of the same tag and class (the post cards of the feed,
  the days of the month grid, the rows of a table…) becomes one ``{% for it in loop_N %}`` over
  dicts built from the page; items of different shapes (a post with images, one without) are
  branches of an ``{% if it.k == … %}`` inside the loop, as a real template's conditions are. In an
  item, the texts and attribute values that differ from one item to another are variables
  ``{{ it.s[i] }}``, those that do not are literal markup;
- outside the loops every non-blank text is a variable ``{{ v[i] }}``, the tags literal markup.

Variables are autoescaped: their value is the unescaped text, so Jinja escapes it again and gives
back the very bytes of the page; a text that escaping would not give back (HTML the real app marked
safe, a literal apostrophe of a rendered Markdown) is held as ``Markup``, output as it is, as
``|safe`` would. The page is rendered by ``flask.render_template`` with the compiled template (the
template is compiled once, as Flask caches a file template), so the context processors, the
signals and the response are those of any Flask page. The rendered page is the saved page, byte
for byte (``bench_ceiling`` checks it), so the two sides send the same size and structure; the
difference between them is what the intranet does beyond rendering: routing through its
middleware and hooks, the session and login, the SQL, the ORM, and its heavier templates and
macros.

Served by gunicorn with the settings of the real side: ``bench.ceiling_bare:create_app()``.
"""

from __future__ import annotations

import html
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask, render_template
from markupsafe import Markup, escape

# A tag whose attribute values may hold « > » inside quotes; comments and doctype apart.
_TOKEN = re.compile(r"<!--.*?-->|<![^>]*>|</?[A-Za-z][^\s/>]*(?:[^>\"']|\"[^\"]*\"|'[^']*')*>", re.S)
_ATTR_VALUE = re.compile(r'(\s[^\s=/>"\']+=")([^"]*)(")')
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
_RAW_TEXT = {"script", "style", "textarea", "title"}
MIN_RUN = 3  # siblings of one tag and class from which a run is a loop
MAX_SHAPES = 40  # more distinct item shapes than this: the run stays inline (no loop)


@dataclass
class Token:
    kind: str  # "lit": markup kept as it is; "text": a text node; "tag": a start tag (attribute values)
    raw: str


@dataclass
class Element:
    tag: str
    cls: str
    start: int  # index of its start tag in the token list
    end: int  # index of its end tag (or of the start tag of a void element)
    children: list[Element] = field(default_factory=list)


def tokenize(page: str) -> list[Token]:
    """Tags, comments and raw-text contents (``<script>``…) as markup; the text between tags."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(page):
        m = _TOKEN.search(page, pos)
        if m is None:
            tokens.append(Token("text", page[pos:]))
            break
        if m.start() > pos:
            tokens.append(Token("text", page[pos:m.start()]))
        raw = m.group(0)
        tag = _tag_name(raw)
        tokens.append(Token("tag" if tag and not raw.startswith("</") else "lit", raw))
        pos = m.end()
        if tag in _RAW_TEXT and not raw.startswith("</") and not raw.endswith("/>"):
            close = page.lower().find(f"</{tag}", pos)
            close = len(page) if close < 0 else close
            if close > pos:  # a script's code is markup, not text: never a variable
                tokens.append(Token("lit", page[pos:close]))
            pos = close
    return tokens


def _tag_name(raw: str) -> str:
    m = re.match(r"</?([A-Za-z][^\s/>]*)", raw)
    return m.group(1).lower() if m else ""


def tree(tokens: list[Token]) -> Element:
    """The elements, nested; an end tag closes up to its matching start tag (HTML's implied ends)."""
    root = Element("#root", "", -1, len(tokens))
    stack = [root]
    for i, tok in enumerate(tokens):
        if tok.kind == "tag":
            tag = _tag_name(tok.raw)
            m = re.search(r'\sclass="([^"]*)"', tok.raw)
            el = Element(tag, m.group(1) if m else "", i, i)
            stack[-1].children.append(el)
            if tag not in _VOID and not tok.raw.endswith("/>"):
                stack.append(el)
        elif tok.kind == "lit" and tok.raw.startswith("</"):
            tag = _tag_name(tok.raw)
            for k in range(len(stack) - 1, 0, -1):
                if stack[k].tag == tag:
                    for el in stack[k:]:
                        el.end = i
                    del stack[k:]
                    break
    for el in stack[1:]:
        el.end = len(tokens) - 1
    return root


def runs(el: Element) -> list[list[Element]]:
    """The outermost runs of at least MIN_RUN consecutive siblings of one tag and class."""
    out: list[list[Element]] = []
    kids = el.children
    i = 0
    while i < len(kids):
        j = i
        while j + 1 < len(kids) and (kids[j + 1].tag, kids[j + 1].cls) == (kids[i].tag, kids[i].cls):
            j += 1
        if j - i + 1 >= MIN_RUN:
            out.append(kids[i:j + 1])
        else:
            for kid in kids[i:j + 1]:
                out.extend(runs(kid))
        i = j + 1
    return out


# -- template building -------------------------------------------------------------------------

def _value(raw: str):
    """What a variable holds to be output as ``raw``: the plain text, which autoescaping turns back
    into ``raw``, or ``raw`` as Markup when escaping would not give it back."""
    text = html.unescape(raw)
    return text if str(escape(text)) == raw else Markup(raw)  # noqa: S704 (the real app's own output, sent as it was)


def _literal(text: str) -> str:
    """Markup as template source: a ``{% raw %}`` block when it holds Jinja's own delimiters."""
    if "{{" in text or "{%" in text or "{#" in text:
        return "{% raw %}" + text + "{% endraw %}"
    return text


def _pieces(tokens: list[Token]) -> list[str | tuple[str]]:
    """Literal markup (str) and slots ((raw value,)): non-blank texts and the attribute values of tags."""
    out: list[str | tuple[str]] = []
    for tok in tokens:
        if tok.kind == "text":
            out.append((tok.raw,) if tok.raw.strip() else tok.raw)
        elif tok.kind == "tag":
            pos = 0
            for m in _ATTR_VALUE.finditer(tok.raw):
                out.append(tok.raw[pos:m.end(1)])
                out.append((m.group(2),))
                pos = m.start(3)
            out.append(tok.raw[pos:])
        else:
            out.append(tok.raw)
    return out


def _loop(items: list[list[Token]], name: str) -> tuple[str, list[dict]] | None:
    """One ``{% for %}`` over the items: one branch per shape (the literal parts, slots apart), in each
    the slots whose value is the same in every item of that shape as literal markup."""
    shapes: dict[tuple, list[list]] = {}
    for tokens in items:
        pieces = _pieces(tokens)
        key = tuple(p if isinstance(p, str) else None for p in pieces)
        shapes.setdefault(key, []).append(pieces)
    if len(shapes) > MAX_SHAPES:
        return None
    branches, data = [], []
    index = {key: k for k, key in enumerate(shapes)}
    for k, (key, members) in enumerate(shapes.items()):
        slots = [n for n, p in enumerate(key) if p is None]
        varying = [n for n in slots if len({m[n][0] for m in members}) > 1]
        body, s = [], 0
        for n, p in enumerate(key):
            if p is not None:
                body.append(_literal(p))
            elif n in varying:
                body.append(f"{{{{ it.s[{s}] }}}}")
                s += 1
            else:
                body.append(_literal(members[0][n][0]))
        branches.append(("{% if" if k == 0 else "{% elif") + f" it.k == {k} %}}" + "".join(body))
    for tokens in items:
        pieces = _pieces(tokens)
        key = tuple(p if isinstance(p, str) else None for p in pieces)
        members = shapes[key]
        varying = [n for n, p in enumerate(key) if p is None and len({m[n][0] for m in members}) > 1]
        data.append({"k": index[key], "s": [_value(pieces[n][0]) for n in varying]})
    source = f"{{% for it in {name} %}}" + "".join(branches) + "{% endif %}{% endfor %}"
    return source, data


def build(page: str) -> tuple[str, dict]:
    """The Jinja source of ``page`` and the context that renders it back, byte for byte."""
    tokens = tokenize(page)
    loops = runs(tree(tokens))
    context: dict = {"v": []}
    parts: list[str] = []
    pos = 0

    def inline(upto: int) -> None:
        for tok in tokens[pos:upto]:
            if tok.kind == "text" and tok.raw.strip():
                parts.append(f"{{{{ v[{len(context['v'])}] }}}}")
                context["v"].append(_value(tok.raw))
            else:
                parts.append(_literal(tok.raw))

    for n, run in enumerate(loops):
        # Each item runs to the next sibling's start, so the blanks between them are the item's.
        bounds = [el.start for el in run] + [run[-1].end + 1]
        items = [tokens[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
        made = _loop(items, f"loop_{n}")
        if made is None:
            continue
        inline(bounds[0])
        parts.append(made[0])
        context[f"loop_{n}"] = made[1]
        pos = bounds[-1]
    inline(len(tokens))
    return "".join(parts), context


def stats(context: dict) -> tuple[int, int, int]:
    """Loops, loop items and variables of a built page (for the printout)."""
    loops = [k for k in context if k.startswith("loop_")]
    items = sum(len(context[k]) for k in loops)
    variables = len(context["v"]) + sum(len(it["s"]) for k in loops for it in context[k])
    return len(loops), items, variables


# -- the app ------------------------------------------------------------------------------------

def create_app(folder: str | None = None) -> Flask:
    """One route per saved page, at the real page's path (its query string ignored)."""
    folder = Path(folder or os.environ["BENCH_CEILING_PAGES"])
    manifest = json.loads((folder / "pages.json").read_text())
    app = Flask(__name__)
    app.jinja_env.keep_trailing_newline = True  # the saved page ends with a newline: kept
    for n, page in enumerate(manifest):
        source, context = build((folder / page["file"]).read_text(encoding="utf-8"))
        template = app.jinja_env.from_string(source)

        def view(_template=template, _context=context):
            return render_template(_template, **_context)

        app.add_url_rule(page["path"], endpoint=f"page_{n}", view_func=view)
    return app
