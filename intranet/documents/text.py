"""The text of a document's file, for the search to index (``Document.text``), read by the worker.

PDF through pypdf; Office Open XML and OpenDocument files (docx, pptx, odt, odp) are zip archives of
XML whose text is read from the parts that hold it; spreadsheets (xlsx, ods) through python-calamine,
which reads them for FVT imports too; plain text and CSV as they are. Every read is bounded: a part
that unpacks to more than ``MAX_PART`` bytes, or an archive whose parts claim a compression ratio
beyond ``MAX_RATIO`` (a « ZIP bomb »), is not read; the text kept is cut at ``MAX_TEXT`` characters.
A file that cannot be read simply has no text.
"""

from __future__ import annotations

import html
import logging
import re
import zipfile
from pathlib import Path

log = logging.getLogger(__name__)

MAX_TEXT = 200_000
MAX_PART = 20 * 1024 * 1024
MAX_RATIO = 100
MAX_PDF_PAGES = 200
_TAG = re.compile(r"<[^>]+>")
# The XML parts that carry a document's words, per format.
_PARTS = {
    "docx": re.compile(r"word/(document|header\d*|footer\d*|footnotes)\.xml$"),
    "pptx": re.compile(r"ppt/slides/slide\d+\.xml$"),
    "odt": re.compile(r"content\.xml$"),
    "odp": re.compile(r"content\.xml$"),
}
# Where a paragraph ends in these XML dialects: a space, so words of two paragraphs stay apart.
_BREAKS = re.compile(r"</(w:p|a:p|text:p|text:h)>")


def extract(path: Path, kind: str) -> str:
    try:
        if kind == "pdf":
            text = _pdf(path)
        elif kind in _PARTS:
            text = _zipped_xml(path, _PARTS[kind])
        elif kind in ("xlsx", "ods"):
            text = _sheets(path)
        elif kind in ("txt", "csv"):
            with path.open("rb") as fh:
                raw = fh.read(MAX_TEXT * 4)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = raw.decode("cp1252", errors="replace")
        else:
            return ""
    except Exception:  # a damaged or hostile file: no text, never a failed job
        log.info("no text read from %s (%s)", path.name, kind, exc_info=True)
        return ""
    return " ".join(text.split())[:MAX_TEXT]


def _pdf(path: Path) -> str:
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    out, size = [], 0
    for page in reader.pages[:MAX_PDF_PAGES]:
        words = page.extract_text() or ""
        out.append(words)
        size += len(words)
        if size > MAX_TEXT:
            break
    return "\n".join(out)


def _safe_members(archive: zipfile.ZipFile, wanted: re.Pattern) -> list[zipfile.ZipInfo]:
    members = [i for i in archive.infolist() if wanted.search(i.filename)]
    for info in members:
        if info.file_size > MAX_PART or info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise ValueError(f"{info.filename}: {info.file_size} bytes unpacked, refused")
    return members


def _zipped_xml(path: Path, wanted: re.Pattern) -> str:
    out = []
    with zipfile.ZipFile(path) as archive:
        for info in sorted(_safe_members(archive, wanted), key=lambda i: _natural(i.filename)):
            xml = archive.read(info).decode("utf-8", errors="replace")
            out.append(html.unescape(_TAG.sub(" ", _BREAKS.sub(" \\g<0>", xml))))
    return " ".join(out)


def _natural(name: str) -> list:
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]


def _sheets(path: Path) -> str:
    with zipfile.ZipFile(path) as archive:  # the same bound as the other zipped formats
        _safe_members(archive, re.compile(r"\.xml$"))
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(path))
    out, size = [], 0
    for name in book.sheet_names:
        out.append(name)
        for row in book.get_sheet_by_name(name).to_python():
            line = " ".join(str(c) for c in row if c not in ("", None))
            out.append(line)
            size += len(line)
            if size > MAX_TEXT:
                return "\n".join(out)
    return "\n".join(out)
