"""GraphiQL served from files the install brings: no CDN at run time.

Strawberry's own page loads React and GraphiQL from unpkg.com, so without internet it stays at
"Loading...". The same pinned builds (React 18.2.0, GraphiQL 3.8.3, the explorer plugin 1.0.2;
byte-identical to the CDN files Strawberry names) are committed under ``static/graphiql/vendor``
and refreshed with ``make graphiql`` from ``web/graphiql/package.json``. Development mode only:
production serves neither the page nor the assets.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static" / "graphiql"
VENDOR_DIR = STATIC_DIR / "vendor"
VENDOR_PATH = "/graphiql/vendor"
VENDOR_FILES = (
    "react.production.min.js",
    "react-dom.production.min.js",
    "graphiql.min.js",
    "graphiql.min.css",
    "plugin-explorer.umd.js",
    "plugin-explorer.css",
)


@cache
def page_html() -> str:
    """The GraphiQL page, pointing at the local assets; fails loudly if an asset is missing."""
    missing = [name for name in VENDOR_FILES if not (VENDOR_DIR / name).is_file()]
    if missing:
        raise RuntimeError(f"GraphiQL assets missing in {VENDOR_DIR}: {', '.join(missing)} (run `make graphiql`)")
    return (STATIC_DIR / "index.html").read_text(encoding="utf-8").replace("{{VENDOR}}", VENDOR_PATH)


def vendor_mount() -> Mount:
    return Mount(VENDOR_PATH, app=StaticFiles(directory=VENDOR_DIR), name="graphiql-vendor")
