"""File storage on the local disk.

Uploaded files are checked by their *content* (magic bytes), never trusted by their name or by
the browser's content type, and stored under ``UPLOAD_DIR`` (outside the static folder) with a
random name in a two-character sub-folder::

    UPLOAD_DIR/3f/3fa9…c2.pdf      key = "3f/3fa9…c2.pdf"

The user's file name is only kept, sanitized, for display and as the download name. Files are
served by :func:`send_stored` as attachments with ``X-Content-Type-Options: nosniff``.

Nothing remains on disk when a check fails: the upload is streamed to a temporary file in
``UPLOAD_DIR`` that is removed on any error, and renamed to its final place only when accepted.

A big file is written once: :class:`UploadRequest` has Werkzeug spool each file part of a form
straight into ``UPLOAD_DIR`` (:class:`PartFile`, removed when the request ends) instead of
``/tmp``, so an accepted file is checked where it lies and given its final name by a hard link,
not copied a second time.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import os
import re
import secrets
import tempfile
import unicodedata
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import filetype
from flask import Request, Response, current_app, send_file
from flask_babel import gettext as _
from PIL import Image, ImageOps
from werkzeug.datastructures import FileStorage
from werkzeug.formparser import FormDataParser, MultiPartParser

__all__ = [
    "KINDS",
    "PartFile",
    "UploadRequest",
    "StoredFile",
    "UploadError",
    "allowed_extensions",
    "delete_stored",
    "format_size",
    "open_stored",
    "path_for",
    "sanitize_filename",
    "save_image",
    "save_thumbnail",
    "save_upload",
    "send_stored",
]

CHUNK_SIZE = 64 * 1024
HEAD_SIZE = 8192  # what ``filetype`` looks at
MAX_NAME_LENGTH = 200
DEFAULT_NAME = "fichier"


@dataclass(frozen=True)
class _Type:
    content_type: str
    #: ``filetype`` extensions that the content may be detected as; ``None`` = text, no magic.
    magic: frozenset[str] | None


def _t(content_type: str, *magic: str) -> _Type:
    return _Type(content_type, frozenset(magic))


#: Every extension the storage knows, with the content it must have.
TYPES: dict[str, _Type] = {
    "jpg": _t("image/jpeg", "jpg"),
    "jpeg": _t("image/jpeg", "jpg"),
    "png": _t("image/png", "png", "apng"),
    "gif": _t("image/gif", "gif"),
    "webp": _t("image/webp", "webp"),
    "pdf": _t("application/pdf", "pdf"),
    # Office Open XML and OpenDocument files are zip archives: accept the precise detection
    # or a plain zip (``filetype`` only recognises them when the right entry comes first).
    "docx": _t("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx", "zip"),
    "xlsx": _t("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx", "zip"),
    "pptx": _t("application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx", "zip"),
    "odt": _t("application/vnd.oasis.opendocument.text", "odt", "zip"),
    "ods": _t("application/vnd.oasis.opendocument.spreadsheet", "ods", "zip"),
    "odp": _t("application/vnd.oasis.opendocument.presentation", "odp", "zip"),
    "zip": _t("application/zip", "zip"),
    "txt": _Type("text/plain", None),
    "csv": _Type("text/csv", None),
}

#: Categories that callers pass to :func:`save_upload` in ``kinds``.
KINDS: dict[str, frozenset[str]] = {
    "image": frozenset({"jpg", "jpeg", "png", "gif", "webp"}),
    "document": frozenset({"pdf", "docx", "xlsx", "pptx", "odt", "ods", "odp", "txt", "csv", "zip"}),
}

#: Images that a browser may display inline (``send_stored(..., as_attachment=False)``).
INLINE_EXTENSIONS = KINDS["image"]


class UploadError(ValueError):
    """An upload was refused; the message is in French and can be shown to the user."""


@dataclass(frozen=True)
class StoredFile:
    key: str  # relative path under UPLOAD_DIR, e.g. "3f/3fa9….pdf" (random, never the user's name)
    original_name: str  # sanitized name given by the user, for display and download
    content_type: str
    size: int  # bytes


# --------------------------------------------------------------------------------------------
# Names


_UNSAFE_CHARS_RE = re.compile(r'[<>:"|?*]')


def sanitize_filename(name: str | None, default: str = DEFAULT_NAME) -> str:
    """A file name fit for display and ``Content-Disposition``, never for the disk.

    Keeps only the base name (both ``/`` and ``\\`` are separators), drops control and
    invisible formatting characters (such as the right-to-left override used to disguise
    ``exe.jpg``), collapses white space, and cuts to 200 characters keeping the extension.
    """
    name = unicodedata.normalize("NFC", str(name or ""))
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(" " if ch.isspace() else ch for ch in name)
    name = "".join(ch for ch in name if unicodedata.category(ch) not in {"Cc", "Cf"})
    name = _UNSAFE_CHARS_RE.sub("_", name)
    name = re.sub(r"\s+", " ", name).strip(" .")
    if not name:
        return default
    if len(name) > MAX_NAME_LENGTH:
        stem, dot, ext = name.rpartition(".")
        if dot and stem and 0 < len(ext) <= 10:
            name = stem[: MAX_NAME_LENGTH - len(ext) - 1].rstrip(" .") + "." + ext
        else:
            name = name[:MAX_NAME_LENGTH].rstrip(" .")
    return name or default


def _extension(name: str) -> str:
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem else ""


def allowed_extensions(kinds: Iterable[str]) -> frozenset[str]:
    """Extensions accepted for ``kinds``: category names ("image", "document") or extensions."""
    if isinstance(kinds, str):
        kinds = {kinds}
    exts: set[str] = set()
    for kind in kinds:
        kind = kind.lower().lstrip(".")
        exts |= KINDS.get(kind, {kind})
    return frozenset(exts)


def format_size(size: int) -> str:
    """« 2,5 Mo »: a size as French readers write it."""
    for unit, factor in (("Go", 1024**3), ("Mo", 1024**2), ("Ko", 1024)):
        if size >= factor:
            value = size / factor
            text = f"{value:.0f}" if value == int(value) else f"{value:.1f}".replace(".", ",")
            return f"{text} {unit}"
    return f"{size} octets"


# --------------------------------------------------------------------------------------------
# Paths


def _upload_root() -> Path:
    root = Path(current_app.config["UPLOAD_DIR"]).resolve()
    root.mkdir(parents=True, exist_ok=True)
    return root


def path_for(key: str) -> Path:
    """Absolute path of a stored file; ``FileNotFoundError`` for any key outside UPLOAD_DIR."""
    if not isinstance(key, str) or not key or "\x00" in key or "\\" in key or key.startswith("/"):
        raise FileNotFoundError(key)
    parts = key.split("/")
    if any(part in {"", ".", ".."} or part.startswith(".") for part in parts):
        raise FileNotFoundError(key)
    root = _upload_root()
    path = (root / key).resolve()
    if path == root or not path.is_relative_to(root):  # also catches symbolic links leading out
        raise FileNotFoundError(key)
    return path


def open_stored(key: str) -> IO[bytes]:
    """Open a stored file for reading (binary). The caller closes it."""
    path = path_for(key)
    if not path.is_file():
        raise FileNotFoundError(key)
    return path.open("rb")


def delete_stored(key: str) -> bool:
    """Delete a stored file; returns False when it did not exist."""
    try:
        path = path_for(key)
    except FileNotFoundError:
        return False
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    with contextlib.suppress(OSError):
        path.parent.rmdir()  # only succeeds when the sub-folder is now empty
    return True


class PartFile(io.FileIO):
    """A form's file part spooled in UPLOAD_DIR; the file goes when it is closed (Werkzeug closes
    the request's files at its end, the garbage collector otherwise). Unbuffered: Werkzeug writes
    and the checks read blocks of 64 KiB."""

    def __init__(self, root: Path) -> None:
        fd, name = tempfile.mkstemp(dir=root, prefix=".upload-", suffix=".part")
        super().__init__(fd, "r+b", closefd=True)
        self.path = Path(name)

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.path.unlink(missing_ok=True)


# Below this, a part stays in memory (Werkzeug's own threshold).
IN_MEMORY_PART = 500 * 1024


# Werkzeug reads a body by 64 KiB; by 256 KiB its parser runs about 1.5× faster on a big file
# (fewer rounds of its Python loop for the same copies), and memory stays bounded.
PARSER_BUFFER = 256 * 1024


class _FormDataParser(FormDataParser):
    def _parse_multipart(self, stream: IO[bytes], mimetype: str, content_length: int | None,
                         options: dict[str, str]):
        # Werkzeug's own method, with the buffer size as the only change.
        parser = MultiPartParser(stream_factory=self.stream_factory, max_form_memory_size=self.max_form_memory_size,
                                 max_form_parts=self.max_form_parts, cls=self.cls, buffer_size=PARSER_BUFFER)
        boundary = options.get("boundary", "").encode("ascii")
        if not boundary:
            raise ValueError("Missing boundary")
        form, files = parser.parse(stream, boundary, content_length)
        return stream, form, files


class UploadRequest(Request):
    """The app's request: file parts bigger than IN_MEMORY_PART are spooled into UPLOAD_DIR."""

    form_data_parser_class = _FormDataParser

    def _get_file_stream(self, total_content_length: int | None, content_type: str | None,
                         filename: str | None = None, content_length: int | None = None) -> IO[bytes]:
        if total_content_length is not None and total_content_length <= IN_MEMORY_PART:
            return io.BytesIO()
        return PartFile(_upload_root())


def _new_key(ext: str) -> tuple[str, Path]:
    root = _upload_root()
    while True:
        name = f"{secrets.token_hex(16)}.{ext}"
        key = f"{name[:2]}/{name}"
        path = root / name[:2] / name
        if not path.exists():
            path.parent.mkdir(exist_ok=True)
            return key, path


# --------------------------------------------------------------------------------------------
# Checks


class _TextCheck:
    """Incremental check that a stream is text: UTF-8 or Windows-1252, without NUL bytes."""

    def __init__(self) -> None:
        self.decoders = {enc: codecs.getincrementaldecoder(enc)() for enc in ("utf-8", "cp1252")}

    def feed(self, chunk: bytes, final: bool = False) -> bool:
        if b"\x00" in chunk:
            self.decoders.clear()
        for enc, decoder in list(self.decoders.items()):
            try:
                decoder.decode(chunk, final)
            except UnicodeDecodeError:
                del self.decoders[enc]
        return bool(self.decoders)


def _mismatch() -> UploadError:
    return UploadError(_("Le contenu du fichier ne correspond pas à son extension."))


def _receive(file_storage: FileStorage, allowed: frozenset[str],
             max_bytes: int | None = None) -> tuple[Path, str, str, int, str]:
    """Check an upload and stream it to a temporary file in UPLOAD_DIR.

    Returns ``(temporary path, extension, content type, size, sanitized original name)``.
    The temporary file is removed if any check fails.
    """
    if file_storage is None:
        raise UploadError(_("Aucun fichier n'a été envoyé."))
    original_name = sanitize_filename(file_storage.filename)
    ext = _extension(original_name)
    if ext not in allowed:
        accepted = ", ".join(sorted(allowed))
        raise UploadError(
            _(
                "Ce type de fichier n'est pas accepté : %(ext)s. Types acceptés : %(accepted)s.",
                ext=f".{ext}" if ext else _("sans extension"),
                accepted=accepted,
            )
        )

    stream = file_storage.stream
    head = stream.read(HEAD_SIZE)
    if not head:
        raise UploadError(_("Le fichier est vide."))

    known = TYPES.get(ext)
    detected = filetype.guess(head)
    if known is None:
        # An extension passed explicitly by a caller: the content must be detected as it.
        if detected is None or detected.extension != ext:
            raise _mismatch()
        content_type = detected.mime
        text_check = None
    elif known.magic is None:
        if detected is not None:
            raise _mismatch()
        content_type = known.content_type
        text_check = _TextCheck()
    else:
        if detected is None or detected.extension not in known.magic:
            raise _mismatch()
        content_type = known.content_type
        text_check = None

    max_bytes = int(max_bytes or current_app.config["MAX_UPLOAD_BYTES"])
    too_big = UploadError(
        _("Le fichier dépasse la taille maximale de %(size)s.", size=format_size(max_bytes))
    )
    if len(head) > max_bytes:
        raise too_big

    root = _upload_root()
    if isinstance(stream, PartFile) and stream.path.parent == root:
        linked = _accept_part(stream, head, text_check, max_bytes, too_big)
        if linked is not None:
            return linked, ext, content_type, os.fstat(stream.fileno()).st_size, original_name
        stream.seek(len(head))  # a disk without hard links: copied below, as any other stream
    fd, tmp_name = tempfile.mkstemp(dir=root, prefix=".upload-", suffix=".part")
    tmp_path = Path(tmp_name)
    try:
        size = 0
        with os.fdopen(fd, "wb") as out:
            chunk = head
            while chunk:
                size += len(chunk)
                if size > max_bytes:
                    raise too_big
                if text_check is not None and not text_check.feed(chunk):
                    raise _mismatch()
                out.write(chunk)
                chunk = stream.read(CHUNK_SIZE)
        if text_check is not None and not text_check.feed(b"", final=True):
            raise _mismatch()
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    return tmp_path, ext, content_type, size, original_name


def _accept_part(part: PartFile, head: bytes, text_check: _TextCheck | None, max_bytes: int,
                 too_big: UploadError) -> Path | None:
    """A part already in UPLOAD_DIR: checked where it lies (a text is read to its end, nothing is
    written), then given a second name that outlives the request's own clean-up. None when the
    disk has no hard links."""
    if os.fstat(part.fileno()).st_size > max_bytes:
        raise too_big
    if text_check is not None:
        chunk = head
        while chunk:
            if not text_check.feed(chunk):
                raise _mismatch()
            chunk = part.read(CHUNK_SIZE)
        if not text_check.feed(b"", final=True):
            raise _mismatch()
    while True:
        tmp_path = part.path.with_name(f".upload-{secrets.token_hex(8)}.part")
        try:
            os.link(part.path, tmp_path)
            return tmp_path
        except FileExistsError:
            continue
        except OSError:
            return None


def _sync(path: Path) -> None:
    """On the disk, not only in the page cache: the caller commits a row that says the file is
    there, so a crash just after must not leave the row without its bytes (a file's data, then
    the folder's entry of its final name)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --------------------------------------------------------------------------------------------
# Public API


def save_upload(file_storage: FileStorage, kinds: Iterable[str], max_bytes: int | None = None) -> StoredFile:
    """Check and store an uploaded file.

    ``kinds`` holds category names ("image", "document") and/or extensions ("pdf"). Raises
    :class:`UploadError` (French message) when the file is empty, too large, of a refused type,
    or when its content does not match its extension.
    """
    tmp_path, ext, content_type, size, original_name = _receive(file_storage, allowed_extensions(kinds), max_bytes)
    try:
        key, path = _new_key(ext)
        _sync(tmp_path)
        os.replace(tmp_path, path)
        _sync(path.parent)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    return StoredFile(key=key, original_name=original_name, content_type=content_type, size=size)


def save_image(file_storage: FileStorage, max_side: int = 1024) -> StoredFile:
    """Check, clean and store an image (avatars, illustrations).

    The image is turned upright according to its EXIF orientation, reduced so that its longest
    side is at most ``max_side`` pixels, and re-encoded without any metadata (no GPS position,
    camera or date). Images with transparency are stored as PNG, the others as JPEG.
    """
    tmp_path, _ext, _ct, _size, original_name = _receive(file_storage, KINDS["image"])
    path: Path | None = None
    try:
        unreadable = UploadError(_("L'image est illisible ou endommagée."))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(tmp_path) as img:
                    img.draft("RGB", (max_side, max_side))  # JPEG: decode at a reduced size
                    img.load()
                    img = ImageOps.exif_transpose(img)
                    img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
                    has_alpha = img.mode in {"RGBA", "LA", "PA"} or "transparency" in img.info
                    if has_alpha:
                        out_ext, content_type = "png", "image/png"
                        img = img.convert("RGBA")
                    else:
                        out_ext, content_type = "jpg", "image/jpeg"
                        img = img.convert("RGB")
                    # Only pixels are written: Pillow would otherwise carry over the comment, XMP
                    # and ICC data read from the upload (exif is only written when asked).
                    img.info = {}
                    key, path = _new_key(out_ext)
                    if has_alpha:
                        img.save(path, "PNG", optimize=True)
                    else:
                        img.save(path, "JPEG", quality=85, optimize=True, progressive=True)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise UploadError(_("L'image est trop grande.")) from exc
        except (OSError, SyntaxError, ValueError) as exc:
            raise unreadable from exc
    except BaseException:
        if path is not None:
            path.unlink(missing_ok=True)
        raise
    finally:
        tmp_path.unlink(missing_ok=True)
    stem = original_name.rpartition(".")[0] or DEFAULT_NAME
    return StoredFile(
        key=key,
        original_name=sanitize_filename(f"{stem}.{out_ext}"),
        content_type=content_type,
        size=path.stat().st_size,
    )


def save_thumbnail(key: str, max_side: int = 480) -> StoredFile:
    """A smaller copy of an image already stored by :func:`save_image` (same format, no metadata)."""
    source = path_for(key)
    ext = _extension(source.name)
    key_out, path = _new_key(ext)
    try:
        with Image.open(source) as img:
            img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
            img.info = {}
            if ext == "png":
                img.save(path, "PNG", optimize=True)
            else:
                img.convert("RGB").save(path, "JPEG", quality=80, optimize=True, progressive=True)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return StoredFile(key=key_out, original_name=source.name, content_type=_content_type_for(key_out),
                      size=path.stat().st_size)


def _content_type_for(key: str) -> str:
    ext = _extension(key.rsplit("/", 1)[-1])
    known = TYPES.get(ext)
    if known is not None:
        return known.content_type
    kind = filetype.get_type(ext=ext)
    return kind.mime if kind is not None else "application/octet-stream"


def send_stored(key: str, download_name: str, as_attachment: bool = True) -> Response:
    """Serve a stored file. Only images may be shown inline; everything else is downloaded."""
    path = path_for(key)
    if not path.is_file():
        raise FileNotFoundError(key)
    inline = not as_attachment and _extension(path.name) in INLINE_EXTENSIONS
    accel = current_app.config.get("X_ACCEL_PREFIX")  # e.g. "/_fichiers/": nginx's internal location
    response = send_file(
        path,
        mimetype=_content_type_for(key),
        as_attachment=not inline,
        download_name=sanitize_filename(download_name),
        conditional=not accel,  # nginx answers ranges and revalidations itself
    )
    if accel:
        # The permission was checked here; nginx sends the bytes from its internal location, so a
        # 200 MB download does not hold a web process (headers above are kept, the body is nginx's).
        if hasattr(response.response, "close"):
            response.response.close()  # the file send_file opened
        response.response = []
        response.direct_passthrough = False
        response.headers.pop("Content-Length", None)
        response.headers["X-Accel-Redirect"] = accel.rstrip("/") + "/" + key
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Even if a browser ever renders the file as a page, it may run nothing.
    response.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox; frame-ancestors 'none'"
    response.cache_control.private = True
    return response
