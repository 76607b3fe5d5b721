#!/usr/bin/env python3
"""Copy the front-end libraries installed by npm into intranet/static/vendor/.

Usage (from anywhere; paths are relative to the repository root):

    npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
    python scripts/vendor_assets.py

Layout produced (served by Flask under /static/vendor/):

    vendor/bootstrap/bootstrap.min.css
    vendor/bootstrap/bootstrap.bundle.min.js        (Popper included)
    vendor/bootstrap-icons/bootstrap-icons.min.css  (refers to ./fonts/...)
    vendor/bootstrap-icons/fonts/bootstrap-icons.woff2, .woff
    vendor/echarts/echarts.min.js
    vendor/echarts/langFR.js
    vendor/tom-select/tom-select.complete.min.js, tom-select.bootstrap5.min.css
    vendor/pdfjs/pdf.min.mjs, pdf.worker.min.mjs
    vendor/world-atlas/countries-110m.json
    vendor/topojson-client/topojson-client.min.js
    vendor/licenses/<package>/LICENSE...            (and NOTICE for echarts)

Standard library only. Idempotent: files already identical are left untouched,
others are replaced atomically. Nothing else in vendor/ is deleted.
Exit status: 0 on success, 1 if node_modules or a required file is missing.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (source relative to node_modules/, destination relative to vendor/)
FILES: list[tuple[str, str]] = [
    # Bootstrap (MIT)
    ("bootstrap/dist/css/bootstrap.min.css", "bootstrap/bootstrap.min.css"),
    ("bootstrap/dist/js/bootstrap.bundle.min.js", "bootstrap/bootstrap.bundle.min.js"),
    # Bootstrap Icons (MIT): the CSS loads url("fonts/bootstrap-icons.woff2"),
    # relative to itself, so the fonts/ folder stays beside it.
    ("bootstrap-icons/font/bootstrap-icons.min.css", "bootstrap-icons/bootstrap-icons.min.css"),
    ("bootstrap-icons/font/fonts/bootstrap-icons.woff2", "bootstrap-icons/fonts/bootstrap-icons.woff2"),
    ("bootstrap-icons/font/fonts/bootstrap-icons.woff", "bootstrap-icons/fonts/bootstrap-icons.woff"),
    # Apache ECharts (Apache-2.0); use echarts.init(el, null, {locale: "FR"})
    ("echarts/dist/echarts.min.js", "echarts/echarts.min.js"),
    ("echarts/i18n/langFR.js", "echarts/langFR.js"),
    # Tom Select (Apache-2.0): the « Visible par » chip picker; "complete" bundles its plugins
    # (remove_button) and @orchidjs/sifter and unicode-variants (accent-insensitive search).
    ("tom-select/dist/js/tom-select.complete.min.js", "tom-select/tom-select.complete.min.js"),
    ("tom-select/dist/css/tom-select.bootstrap5.min.css", "tom-select/tom-select.bootstrap5.min.css"),
    # Licences of the packages served, and of the code bundled inside them
    # (Popper in bootstrap.bundle.min.js; zrender, tslib and d3 parts in echarts.min.js).
    ("bootstrap/LICENSE", "licenses/bootstrap/LICENSE"),
    ("bootstrap-icons/LICENSE", "licenses/bootstrap-icons/LICENSE"),
    ("echarts/LICENSE", "licenses/echarts/LICENSE"),
    ("echarts/NOTICE", "licenses/echarts/NOTICE"),
    ("echarts/licenses/LICENSE-d3", "licenses/echarts/LICENSE-d3"),
    ("@popperjs/core/LICENSE.md", "licenses/popperjs-core/LICENSE.md"),
    ("zrender/LICENSE", "licenses/zrender/LICENSE"),
    ("tslib/LICENSE.txt", "licenses/tslib/LICENSE.txt"),
    ("tom-select/LICENSE", "licenses/tom-select/LICENSE"),
    ("@orchidjs/unicode-variants/LICENSE", "licenses/orchidjs-unicode-variants/LICENSE"),
    # PDF.js (Apache-2.0): the library's PDF preview draws the pages on canvases, in the page.
    ("pdfjs-dist/build/pdf.min.mjs", "pdfjs/pdf.min.mjs"),
    ("pdfjs-dist/build/pdf.worker.min.mjs", "pdfjs/pdf.worker.min.mjs"),
    ("pdfjs-dist/LICENSE", "licenses/pdfjs-dist/LICENSE"),
    # The FVT tab's world map: Natural Earth 1:110m countries (public domain) as TopoJSON, decoded
    # in the page by topojson-client (both ISC).
    ("world-atlas/countries-110m.json", "world-atlas/countries-110m.json"),
    ("world-atlas/LICENSE", "licenses/world-atlas/LICENSE"),
    ("topojson-client/dist/topojson-client.min.js", "topojson-client/topojson-client.min.js"),
    ("topojson-client/LICENSE", "licenses/topojson-client/LICENSE"),
]


def copy_if_changed(src: Path, dst: Path) -> bool:
    """Copy src to dst atomically unless dst already has the same content."""
    if dst.is_file() and filecmp.cmp(src, dst, shallow=False):
        return False
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=dst.parent)
    os.close(fd)
    try:
        shutil.copyfile(src, tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dst)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--node-modules", type=Path, default=ROOT / "node_modules",
                        help="npm's install folder (default: %(default)s)")
    parser.add_argument("--dest", type=Path, default=ROOT / "intranet" / "static" / "vendor",
                        help="destination folder (default: %(default)s)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    args = parser.parse_args(argv)

    node_modules: Path = args.node_modules
    dest: Path = args.dest

    if not node_modules.is_dir():
        print(f"vendor_assets: error: {node_modules} is missing; run first:\n"
              "    npm ci --no-audit --no-fund --ignore-scripts --loglevel=error",
              file=sys.stderr)
        return 1

    missing = [src for src, _ in FILES if not (node_modules / src).is_file()]
    if missing:
        print("vendor_assets: error: missing in node_modules (is it up to date with "
              "package-lock.json? run npm ci):", file=sys.stderr)
        for src in missing:
            print(f"    {node_modules / src}", file=sys.stderr)
        return 1

    changed = 0
    for src, dst in FILES:
        if copy_if_changed(node_modules / src, dest / dst):
            changed += 1
            if not args.quiet:
                print(f"vendor_assets: {src} -> {dest / dst}")
    if not args.quiet:
        print(f"vendor_assets: {len(FILES)} files in {dest} ({changed} updated)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
