"""Thumbnails of images and of a PDF's first page, shown in the lists, made by the worker.

The picture is drawn here (Pillow for images, with its decompression-bomb guard turned into an error;
PDFium through pypdfium2 for PDF) and stored through ``core.storage.save_image``, which re-encodes it
without any metadata. A file that cannot be drawn simply has no thumbnail (its icon is shown)."""

from __future__ import annotations

import io
import logging
import warnings
from pathlib import Path

from PIL import Image
from werkzeug.datastructures import FileStorage

from intranet.core.storage import StoredFile, save_image

log = logging.getLogger(__name__)

SIDE = 240
IMAGE_KINDS = {"jpg", "jpeg", "png", "gif", "webp"}


def make_thumbnail(path: Path, kind: str) -> StoredFile | None:
    try:
        if kind in IMAGE_KINDS:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(path) as img:
                    img.draft("RGB", (SIDE, SIDE))
                    picture = img.convert("RGBA" if img.mode in ("RGBA", "LA", "PA", "P") else "RGB")
        elif kind == "pdf":
            picture = _pdf_first_page(path)
        else:
            return None
        picture.thumbnail((SIDE, SIDE))
        out = io.BytesIO()
        picture.save(out, "PNG")
        return save_image(FileStorage(io.BytesIO(out.getvalue()), filename="apercu.png"), max_side=SIDE)
    except Exception:  # a damaged or hostile file: no thumbnail, never a failed job
        log.info("no thumbnail for %s (%s)", path.name, kind, exc_info=True)
        return None


def _pdf_first_page(path: Path) -> Image.Image:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    try:
        page = pdf[0]
        width, height = page.get_size()
        scale = SIDE / max(width, height, 1)
        return page.render(scale=max(scale, 0.05)).to_pil().convert("RGB")
    finally:
        pdf.close()
