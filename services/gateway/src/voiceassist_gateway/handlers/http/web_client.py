"""Serve the built web client (web/dist) at the gateway's origin, so one URL is the whole app.

The client is a single-page app: its own routes (/talk, /admin/users, ...) all answer with
index.html and the browser's router picks the screen. It answers only what no route matched,
and paths of the API and the other gateway areas never fall back to the page: an unknown /api/
path stays a problem+json 404, so a client bug is not hidden behind a 200 of HTML. Vite names
every built asset after its content hash, so /assets/ files are cached for a year while
index.html is revalidated on every visit; a new build is picked up at the next page load
without restarting the gateway.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

logger = logging.getLogger(__name__)

# Areas the gateway answers itself; an unknown path under them is a 404, never the app.
RESERVED_PREFIXES = (
    "api/",
    "auth/",
    "ws/",
    "realms/",
    "docs",
    "openapi.json",
    "healthz",
    "readyz",
    "livez",
    "metrics",
)
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"

_NOT_BUILT = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>VoiceAssist</title></head><body><main><h1>VoiceAssist</h1>
<p>The web client has not been built. Run <code>make up</code>, which builds it into
<code>web/dist</code>, or set WEB_DIST_DIR to a built copy.</p></main></body></html>"""


def _inside(root: Path, relative: str) -> Path | None:
    """Return the file `relative` names under `root`, or None if it is not a file in there."""
    try:
        candidate = (root / relative).resolve()
    except (OSError, ValueError):
        return None
    if not candidate.is_relative_to(root) or not candidate.is_file():
        return None
    return candidate


class WebClient:
    """The router's fallback: serve `dist` (the Vite build) for paths no route matched.

    Installed as the router's ``default`` rather than as a catch-all route, so that a route
    added to the app at any time (before or after this) always wins over the page.
    """

    def __init__(self, dist: Path | None, not_found: ASGIApp) -> None:
        """Serve `dist`; without one (an API-only gateway) unmatched paths stay `not_found`."""
        self.root = dist.resolve() if dist is not None else None
        self.not_found = not_found
        if self.root is not None and not (self.root / "index.html").is_file():
            logger.warning("the web client is not built; the gateway serves the API only")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer an unmatched GET with an asset or the app's page; anything else as before."""
        path = str(scope.get("path", "/")).lstrip("/")
        serving = self.root is not None and scope["type"] == "http"
        if not serving or scope.get("method") not in ("GET", "HEAD"):
            await self.not_found(scope, receive, send)
            return
        if path.startswith(RESERVED_PREFIXES):
            raise HTTPException(404, "Nothing is served at this address.")
        response = self._answer(path)
        await response(scope, receive, send)

    def _answer(self, path: str) -> Response:
        index = _inside(self.root, "index.html") if self.root is not None else None
        if self.root is None or index is None:
            return HTMLResponse(_NOT_BUILT, status_code=503, headers={"Retry-After": "30"})
        asset = _inside(self.root, path) if path else None
        if asset is not None:
            cache = IMMUTABLE if path.startswith("assets/") else REVALIDATE
            return FileResponse(asset, headers={"Cache-Control": cache})
        if path.startswith("assets/") or "." in path.rsplit("/", 1)[-1]:
            # A missing file (an old build's chunk) must fail loudly, not load the page as JS.
            raise HTTPException(404, "No such file in the web client.")
        return FileResponse(index, headers={"Cache-Control": REVALIDATE})


def install_web_client(app: FastAPI, dist: Path | None) -> None:
    """Serve `dist` for every GET that no route of `app` answers."""
    app.router.default = WebClient(dist, app.router.default)
