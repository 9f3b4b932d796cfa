"""The viewer's web app (Starlette) and how to serve it (uvicorn).

Security model: everything shown comes from files the user pointed us at, but model
output and dataset text are attacker-controlled.  Layers: Jinja autoescape + safe
markdown (render.py); a strict Content-Security-Policy (no inline script, nothing
from other origins) on every response; files served only from inside the root;
a Host check against DNS rebinding; 127.0.0.1 unless `--host` says otherwise.
"""

from __future__ import annotations

import hashlib
import mimetypes
import socket
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import __version__
from ..errors import ConfigError
from . import pages
from .catalog import Catalog, NotFound
from .command import DEFAULT_HOST, DEFAULT_PORT
from .links import ServedLinks
from .query import BadQuery, SampleQuery
from .site import FILE_CSP, SERVED_CSP, STATIC_DIR, Renderer, viewer_root

# Files below the root the viewer may serve: results, never arbitrary files.
SERVABLE_SUFFIXES = (".png", ".svg", ".jpg", ".jpeg", ".webp", ".json", ".jsonl", ".csv", ".yaml", ".yml", ".txt", ".md")


class SecurityHeaders:
    """Adds the CSP and friends to every response (pages, files, static assets)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(k.lower() == b"content-security-policy" for k, _ in headers):
                    headers.append((b"content-security-policy", SERVED_CSP.encode()))
                headers += [
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY"),
                    (b"cross-origin-opener-policy", b"same-origin"),
                    (b"cross-origin-resource-policy", b"same-origin"),
                ]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class HostCheck:
    """Refuse requests whose Host header names another site (DNS rebinding: a page on
    evil.example whose name resolves to 127.0.0.1 must not read the runs).  Unlike
    Starlette's TrustedHostMiddleware it understands bracketed IPv6 hosts ([::1]:7575)."""

    def __init__(self, app: ASGIApp, allowed_hosts: list[str]):
        self.app = app
        self.allowed = {h.lower().strip("[]") for h in allowed_hosts}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and "*" not in self.allowed:
            host = dict(scope["headers"]).get(b"host", b"").decode("latin-1").lower()
            name = host[1:].partition("]")[0] if host.startswith("[") else host.partition(":")[0]
            if name not in self.allowed:
                response = PlainTextResponse("Invalid host header", status_code=400)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _asset_version() -> str:
    h = hashlib.sha1(__version__.encode())
    for name in ("viewer.css", "viewer.js"):
        try:
            h.update(str((STATIC_DIR / name).stat().st_mtime_ns).encode())
        except OSError:
            pass
    return h.hexdigest()[:10]


def create_app(root: str | Path, *, lang: str = "en", allowed_hosts: list[str] | None = None) -> Starlette:
    """The viewer for every run and perf folder below `root`."""
    catalog = Catalog(viewer_root(root, lang))
    site = _Site(catalog, Renderer(catalog.root, lang), ServedLinks(_asset_version()))
    middleware = [Middleware(SecurityHeaders)]
    if allowed_hosts is not None:
        middleware.append(Middleware(HostCheck, allowed_hosts=allowed_hosts))
    app = Starlette(routes=_routes(site), middleware=middleware, exception_handlers={404: site.not_found})
    app.state.catalog = catalog
    app.state.renderer = site.renderer
    return app


Handler = Callable[[Request], Response]


class _Site:
    """What every handler needs (the runs, the templates, the links), and how a handler's
    result or expected failure becomes a page."""

    def __init__(self, catalog: Catalog, renderer: Renderer, links: ServedLinks):
        self.catalog = catalog
        self.renderer = renderer
        self.links = links
        self.t = renderer.t

    def page(self, built: pages.Page, status: int = 200) -> HTMLResponse:
        template, context = built
        html = self.renderer.render(template, self.links, context)
        return HTMLResponse(html, status_code=status, headers={"cache-control": "no-store"})

    def error_page(self, status: int, title: str, message: str) -> HTMLResponse:
        return self.page(("error.html", {"title": title, "message": message}), status)

    def guarded(self, handler: Callable[["_Site", Request], Response]) -> Handler:
        """The endpoint of `handler`: expected failures become readable pages, not tracebacks."""

        def endpoint(request: Request) -> Response:
            try:
                return handler(self, request)
            except NotFound as exc:
                return self.error_page(404, self.t("not_found"), str(exc))
            except BadQuery as exc:
                return self.error_page(400, "400", str(exc))
            except sqlite3.DatabaseError as exc:
                reason = _broken_reason(self.catalog, request.path_params.get("rid"), exc)
                return self.error_page(500, self.t("broken_run"), reason)

        endpoint.__name__ = handler.__name__.lstrip("_")
        return endpoint

    def not_found(self, request: Request, exc: Exception) -> Response:
        return self.error_page(404, self.t("not_found"), request.url.path)


# ---- handlers: one per route -------------------------------------------------------------
def _runs(site: _Site, request: Request) -> Response:
    template, ctx = pages.runs_page(site.catalog)
    return site.page((template, {**ctx, "compare_action": "/compare"}))


def _run(site: _Site, request: Request) -> Response:
    return site.page(pages.run_page(site.catalog, request.path_params["rid"], site.t))


def _run_no_slash(site: _Site, request: Request) -> Response:
    return RedirectResponse(site.links.run(request.path_params["rid"]), status_code=308)


def _samples(site: _Site, request: Request) -> Response:
    query = SampleQuery.from_params(request.query_params)
    return site.page(pages.samples_page(site.catalog, request.path_params["rid"], query))


def _sample(site: _Site, request: Request) -> Response:
    query = SampleQuery.from_params(request.query_params)
    return site.page(pages.sample_page(site.catalog, request.path_params["rid"], request.path_params["key"], query))


def _compare(site: _Site, request: Request) -> Response:
    params = request.query_params
    page_no = _int(params.get("page"), 1)
    return site.page(pages.compare_page(site.catalog, params.getlist("run"), dataset=params.get("dataset", ""),
                                        page=page_no))


def _compare_sample(site: _Site, request: Request) -> Response:
    params = request.query_params
    ident = (params.get("dataset", ""), params.get("subset", ""), params.get("sample_id", ""),
             _int(params.get("repeat"), 0))
    return site.page(pages.compare_sample_page(site.catalog, params.getlist("run"), ident))


def _perf(site: _Site, request: Request) -> Response:
    return site.page(pages.perf_page(site.catalog, request.path_params["pid"]))


def _files(site: _Site, request: Request) -> Response:
    rel = request.path_params["path"]
    if any(part.startswith(".") for part in Path(rel).parts) or not rel.lower().endswith(SERVABLE_SUFFIXES):
        raise NotFound(rel)
    target = site.catalog.contained_file(site.catalog.root, rel)
    media_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    if target.suffix.lower() in (".json", ".jsonl", ".csv", ".yaml", ".yml", ".txt", ".md"):
        media_type = "text/plain; charset=utf-8"  # shown as text, never interpreted
    # A figure opened on its own (an SVG is a document that may carry script) runs
    # sandboxed: no script, an opaque origin, only its own inline styles.
    return FileResponse(target, media_type=media_type,
                        headers={"cache-control": "no-cache", "content-security-policy": FILE_CSP})


def _live(site: _Site, request: Request) -> Response:
    out: dict[str, Any] = {}
    for rid in request.query_params.getlist("run")[:50]:
        try:
            progress = site.catalog.reader(rid).progress()
        except (NotFound, sqlite3.DatabaseError):  # a broken run must not stop the others' updates
            continue
        out[rid] = {**progress.to_dict(), "state_label": site.t("state_" + progress.state)}
    return JSONResponse({"runs": out}, headers={"cache-control": "no-store"})


# path -> handler: the whole site
_ROUTES: list[tuple[str, Callable[[_Site, Request], Response]]] = [
    ("/", _runs),
    ("/run/{rid}/", _run),
    ("/run/{rid}", _run_no_slash),
    ("/run/{rid}/samples", _samples),
    ("/run/{rid}/sample/{key:path}", _sample),
    ("/compare", _compare),
    ("/compare/sample", _compare_sample),
    ("/perf/{pid}/", _perf),
    ("/files/{path:path}", _files),
    ("/api/live", _live),
]


def _routes(site: _Site) -> list[BaseRoute]:
    routes: list[BaseRoute] = [Route(path, site.guarded(handler)) for path, handler in _ROUTES]
    routes.append(Mount("/static", app=StaticFiles(directory=STATIC_DIR, follow_symlink=False), name="static"))
    return routes


def _broken_reason(catalog: Catalog, rid: str | None, exc: Exception) -> str:
    """Which run folder is broken, and why (the page of a corrupt run.sqlite)."""
    where = ""
    if rid:
        try:
            where = catalog.run(rid).rel + ": "
        except NotFound:
            pass
    return f"{where}{type(exc).__name__}: {exc}"


def _int(raw: str | None, default: int) -> int:
    try:
        return int(raw) if raw not in (None, "") else default
    except ValueError:
        raise BadQuery(f"expected an integer, got {raw!r}") from None


def allowed_hosts_for(host: str) -> list[str]:
    """Host headers to accept: the loopback names, and the bound address itself.
    Binding to all interfaces means the user wants other machines in: accept any."""
    if host in ("0.0.0.0", "::", ""):
        return ["*"]
    return sorted({"127.0.0.1", "localhost", "::1", host})


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind before starting uvicorn: a taken port is a clear error, and port 0 picks one."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port} ({exc.strerror}); pass another --port") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def serve(root: str | Path, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, lang: str = "en",
          ready: Callable[[str], None] | None = None) -> None:
    """Serve until interrupted.  `ready(url)` is called once the socket is bound."""
    import uvicorn

    app = create_app(root, lang=lang, allowed_hosts=allowed_hosts_for(host))
    sock = bind_socket(host, port)
    bound_port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{bound_port}/"
    catalog: Catalog = app.state.catalog
    _warm_up(catalog, app.state.renderer)
    if ready:
        ready(url)
    config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=2)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
        catalog.close()


def _warm_up(catalog: Catalog, renderer: Renderer) -> None:
    """Compile the templates and build each run's summary table in the background:
    the first page is then as fast as the others."""
    import threading

    def work() -> None:
        for name in renderer.env.list_templates(extensions=["html"]):
            renderer.env.get_template(name)
        for entry in catalog.runs():
            try:
                catalog.reader(entry.id).sync()
            except Exception:  # an unreadable run shows its problem on the page instead
                continue

    threading.Thread(target=work, name="viewer-warm-up", daemon=True).start()
