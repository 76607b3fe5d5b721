"""The XSS corpus of the feed (issue 5): what members could type into a post or a comment, or give
as the name of an attached file, hoping that a reader's browser runs it.

Each entry has a short label (the pytest id) and the text as typed. Most payloads call
``alert(1)``: in a browser, a dialog would be seen. :func:`flagged` turns them into payloads that set
``window.__xss = 1`` instead, for a check that does not rely on dialogs.

``MENTIONED`` is the name of a member that the mention tricks name: the tests create that person, so
the mention is real (a link to the profile is built around it) and they are notified.
"""

from __future__ import annotations

from dataclasses import dataclass

MENTIONED = "Bruno Lecteur"


@dataclass(frozen=True)
class Payload:
    label: str
    text: str


_CORPUS: list[tuple[str, str]] = [
    # -- script elements ---------------------------------------------------------------------
    ("script-tag", "<script>alert(1)</script>"),
    ("script-tag-uppercase", "<SCRIPT>alert(1)</SCRIPT>"),
    ("script-src", '<script src="data:text/javascript,alert(1)"></script>'),
    ("script-split-by-nesting", "<scr<script>ipt>alert(1)</scr</script>ipt>"),
    ("script-closing-textarea", "</textarea><script>alert(1)</script>"),
    ("script-closing-title", "</title><script>alert(1)</script>"),
    ("script-in-code-span", "`<script>alert(1)</script>`"),
    ("script-in-indented-code", "    <script>alert(1)</script>"),
    # -- event handlers --------------------------------------------------------------------------
    ("img-onerror", "<img src=x onerror=alert(1)>"),
    ("img-onerror-quoted", '<img src="x" onerror="alert(1)">'),
    ("img-onerror-slash", "<img/src=x/onerror=alert(1)>"),
    ("body-onload", "<body onload=alert(1)>"),
    ("div-onmouseover", '<div onmouseover="alert(1)" style="position:fixed;inset:0">survol</div>'),
    ("input-autofocus-onfocus", "<input autofocus onfocus=alert(1)>"),
    ("details-open-ontoggle", "<details open ontoggle=alert(1)><summary>x</summary></details>"),
    ("video-source-onerror", "<video><source onerror=alert(1)></video>"),
    ("marquee-onstart", "<marquee onstart=alert(1)>x</marquee>"),
    ("a-onclick", '<a href="#" onclick="alert(1)">clic</a>'),
    # -- javascript:, data:, vbscript: links -----------------------------------------------------
    ("html-a-javascript", '<a href="javascript:alert(1)">lien</a>'),
    ("html-a-scheme-with-tab", '<a href="jav\tascript:alert(1)">lien</a>'),
    ("html-a-scheme-with-newline", '<a href="java\nscript:alert(1)">lien</a>'),
    ("html-a-scheme-with-entities", '<a href="&#106;avascript:alert(1)">lien</a>'),
    ("html-a-data-html", '<a href="data:text/html,<script>alert(1)</script>">lien</a>'),
    ("html-form-formaction", '<form><button formaction="javascript:alert(1)">envoyer</button></form>'),
    ("bare-javascript-url", "javascript:alert(1)//http://exemple.fr"),
    # -- markdown link tricks --------------------------------------------------------------------
    ("md-link-javascript", "[x](javascript:alert(1))"),
    ("md-link-mixed-case", "[x](JaVaScRiPt:alert(1))"),
    ("md-link-leading-spaces", "[x](  javascript:alert(1))"),
    ("md-link-angle-brackets", "[x](<javascript:alert(1)>)"),
    ("md-link-entity-j", "[x](&#106;avascript:alert(1))"),
    ("md-link-hex-entities", "[x](&#x6A;&#x61;&#x76;&#x61;script:alert(1))"),
    ("md-link-entity-colon", "[x](javascript&#58;alert(1))"),
    ("md-link-named-entity-colon", "[x](javascript&colon;alert(1))"),
    ("md-link-tab-in-scheme", "[x](java\tscript:alert(1))"),
    ("md-link-percent-encoded", "[x](javascript%3Aalert(1))"),
    ("md-link-data-html", "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)"),
    ("md-link-data-svg", "[x](data:image/svg+xml,<svg onload=alert(1)>)"),
    ("md-link-vbscript", "[x](vbscript:msgbox(1))"),
    ("md-link-title-breakout", '[x](http://exemple.fr "titre" onmouseover="alert(1)")'),
    ("md-link-url-quote-breakout", '[x](http://exemple.fr/"onmouseover="alert(1))'),
    ("md-autolink-javascript", "<javascript:alert(1)>"),
    ("md-autolink-quote-breakout", '<http://exemple.fr/"onmouseover="alert(1)>'),
    ("md-reference-link", "[x][r]\n\n[r]: javascript:alert(1)"),
    ("md-reference-link-titled", '[x][r]\n\n[r]: javascript:alert(1) "titre"'),
    ("md-image-javascript", "![x](javascript:alert(1))"),
    ("md-image-onerror-alt", '![x" onerror="alert(1)](http://exemple.fr/a.png)'),
    ("md-image-reference-data", "![x][i]\n\n[i]: data:text/html,<script>alert(1)</script>"),
    ("md-nested-link", "[[x](javascript:alert(1))](http://exemple.fr)"),
    ("md-abbr-title", "*[HTML]: \"><img src=x onerror=alert(1)>\n\nHTML"),
    ("md-fenced-code-class", '```"><img src=x onerror=alert(1)>\ncode\n```'),
    ("md-table-align", '| a |\n|:-:|\n| <img src=x onerror=alert(1)> |'),
    ("md-linkify-quote", 'http://exemple.fr/"><img src=x onerror=alert(1)>'),
    # -- SVG, MathML, frames, objects ------------------------------------------------------------
    ("svg-onload", "<svg onload=alert(1)>"),
    ("svg-slash-onload", "<svg/onload=alert(1)>"),
    ("svg-animate-href", '<svg><a><animate attributeName="href" values="javascript:alert(1)"/>'
                         "<text x=20 y=20>clic</text></a></svg>"),
    ("svg-script", "<svg><script>alert(1)</script></svg>"),
    ("math-href", '<math href="javascript:alert(1)">x</math>'),
    ("math-maction", "<math><maction actiontype=statusline xlink:href=javascript:alert(1)>x</maction></math>"),
    ("iframe-srcdoc", '<iframe srcdoc="<script>alert(1)</script>"></iframe>'),
    ("iframe-javascript", "<iframe src=javascript:alert(1)></iframe>"),
    ("object-data", '<object data="data:text/html,<script>alert(1)</script>"></object>'),
    ("embed-src", '<embed src="javascript:alert(1)">'),
    ("base-href", '<base href="javascript:alert(1)//">'),
    ("meta-refresh", '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">'),
    # -- styles -----------------------------------------------------------------------------------
    ("style-element", "<style>@import 'javascript:alert(1)';</style>"),
    ("style-expression", '<div style="width: expression(alert(1))">x</div>'),
    ("style-url-javascript", '<div style="background:url(javascript:alert(1))">x</div>'),
    # -- attribute breakouts ----------------------------------------------------------------------
    ("breakout-double-quote", '"><svg onload=alert(1)>'),
    ("breakout-single-quote", "'><svg onload=alert(1)>"),
    ("breakout-unquoted", " onmouseover=alert(1) x="),
    ("breakout-comment", "--><script>alert(1)</script><!--"),
    ("breakout-cdata", "<![CDATA[<script>alert(1)</script>]]>"),
    # -- mention tricks ---------------------------------------------------------------------------
    ("mention-breakout", '@"><script>alert(1)</script>'),
    ("mention-then-script", f"@{MENTIONED}<script>alert(1)</script>"),
    ("mention-markdown-link", f"[@{MENTIONED}](javascript:alert(1))"),
    ("mention-then-link-target", f"@{MENTIONED}](javascript:alert(1))"),
    ("mention-then-img", f'@{MENTIONED}"><img src=x onerror=alert(1)>'),
    ("mention-in-link-text", f"[@{MENTIONED} <img src=x onerror=alert(1)>](http://exemple.fr)"),
    # -- template injection: must be shown as typed -----------------------------------------------
    ("template-expression", "{{7*7}}"),
    ("template-config", "{{ config.SECRET_KEY }}{{ self.__init__.__globals__ }}"),
    ("template-statement", "{% for i in range(3) %}{{ i }}{% endfor %}"),
    ("template-percent-format", "%(actor)s %(title)s %s"),
    # -- malicious file names (also used as they are in posts and comments) ----------------------
    ("filename-img-onerror", '"><img src=x onerror=alert(1)>.pdf'),
    ("filename-script", "<script>alert(1)</script>.pdf"),
    ("filename-svg-onload", "<svg onload=alert(1)>.png"),
    ("filename-rtl-override", "rapport\u202efdp.exe.pdf"),
    ("filename-quotes", "a\"b'c`d.pdf"),
    ("filename-newline-header", "a.pdf\r\nContent-Type: text/html\r\n\r\n<script>alert(1)</script>.pdf"),
    ("filename-traversal-script", "../../<script>alert(1)<\\script>.pdf"),
    ("filename-null-byte", "image.png\x00<img src=x onerror=alert(1)>.pdf"),
    ("filename-javascript", "javascript:alert(1).pdf"),
    ("filename-template", "{{7*7}}.pdf"),
]

CORPUS: list[Payload] = [Payload(label, text) for label, text in _CORPUS]

assert len(CORPUS) >= 60, len(CORPUS)
assert len({p.label for p in CORPUS}) == len(CORPUS), "labels must be unique (they are the test ids)"

#: Payloads whose text contains a template expression that must be shown as typed, never evaluated.
TEMPLATE_LITERALS = {"{{7*7}}": "49"}

FILE_EXTENSIONS = (".pdf", ".png", ".jpg", ".exe")


def flagged(text: str) -> str:
    """The same payload, setting ``window.__xss = 1`` instead of opening a dialog."""
    return text.replace("alert(1)", "window.__xss=1").replace("msgbox(1)", "window.__xss=1")


def file_stem(text: str) -> str:
    """The payload without a file extension it may end with (the test adds ``.pdf`` or ``.png``)."""
    for ext in FILE_EXTENSIONS:
        if text.lower().endswith(ext):
            return text[: -len(ext)]
    return text
