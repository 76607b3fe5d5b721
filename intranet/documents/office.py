"""Office files (docx, xlsx, pptx, odt, ods, odp) turned into a PDF for the page's preview, by
LibreOffice without its interface, in the worker — when it is installed (``soffice`` on the PATH,
or the ``SOFFICE`` setting of the configuration); otherwise the page says « aperçu indisponible ».

Each conversion runs in a temporary folder of its own (its own LibreOffice profile), without
network (``unshare --net`` when the system allows it, else no conversion), with a time limit and
an address-space limit, on a copy of the file whose zip parts were checked first (a « ZIP bomb »
is never unpacked: ``documents.text``'s bounds). Anything that goes wrong gives no preview."""

from __future__ import annotations

import logging
import os
import resource
import shutil
import signal
import subprocess
import tempfile
import zipfile
from pathlib import Path

from flask import current_app

from intranet.documents.text import _safe_members

log = logging.getLogger(__name__)

OFFICE_KINDS = {"docx", "xlsx", "pptx", "odt", "ods", "odp"}
TIMEOUT_S = 60
MEMORY_BYTES = 2 * 1024 ** 3
MAX_PDF_BYTES = 50 * 1024 * 1024


def soffice() -> str | None:
    """The LibreOffice program, when it is there (a configured path that does not exist counts as none)."""
    return shutil.which(current_app.config.get("SOFFICE") or "soffice")


def _no_network() -> list[str] | None:
    """The prefix that runs a command without network, or None when the system does not allow it."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "--net", "true"], capture_output=True, timeout=10).returncode == 0:  # noqa: S603 (fixed arguments)
        return [unshare, "--net"]
    return None


def _limits() -> None:  # in the child, before LibreOffice starts
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))


def to_pdf(path: Path, kind: str) -> bytes | None:
    """The PDF of an office file, or None (not an office file, no LibreOffice, refused, failed)."""
    program = soffice()
    if kind not in OFFICE_KINDS or not program:
        return None
    prefix = _no_network()
    if prefix is None:
        log.warning("no office preview: the conversion cannot be run without network here")
        return None
    try:
        with zipfile.ZipFile(path) as archive:
            _safe_members(archive, _ALL)
    except Exception:
        log.info("no office preview for %s: not a sound archive", path.name, exc_info=True)
        return None
    with tempfile.TemporaryDirectory(prefix="intranet-office-") as tmp:
        work = Path(tmp)
        source = work / f"document.{kind}"
        shutil.copyfile(path, source)
        command = [*prefix, program, "--headless", "--norestore", "--nolockcheck", "--nodefault",
                   f"-env:UserInstallation=file://{work / 'profile'}", "--convert-to", "pdf",
                   "--outdir", str(work / "out"), str(source)]
        # Its own session: on timeout the whole group goes (the soffice script and soffice.bin).
        try:
            proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,  # noqa: S603
                                    stderr=subprocess.DEVNULL, start_new_session=True,
                                    preexec_fn=_limits,  # noqa: PLW1509
                                    env={"HOME": str(work), "PATH": os.environ.get("PATH", "/usr/bin:/bin")})
        except OSError:
            log.warning("office preview of %s: LibreOffice could not be started", path.name, exc_info=True)
            return None
        try:
            proc.wait(TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            log.warning("office preview of %s stopped after %s s", path.name, TIMEOUT_S)
            return None
        result = work / "out" / "document.pdf"
        if not result.is_file() or result.stat().st_size > MAX_PDF_BYTES:
            return None
        return result.read_bytes()


class _All:
    """Every part of the archive (the bounds apply to all of them before LibreOffice opens it)."""

    @staticmethod
    def search(_name: str) -> bool:
        return True


_ALL = _All()
