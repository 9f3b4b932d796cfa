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
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import __version__
from ..errors import ConfigError
from . import pages
from .catalog import Catalog, NotFound
from .command import DEFAULT_HOST, DEFAULT_PORT
from .i18n import LANGUAGES
from .links import ServedLinks
from .query import BadQuery, SampleQuery
from .site import FILE_CSP, SERVED_CSP, STATIC_DIR, Renderer

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
    if lang not in LANGUAGES:
        raise ConfigError(f"--lang must be one of {', '.join(LANGUAGES)}, got {lang!r}")
    root_path = Path(root).expanduser()
    if not root_path.exists():
        raise ConfigError(f"{root_path} does not exist: pass a run folder or a folder holding runs")
    catalog = Catalog(root_path)
    renderer = Renderer(catalog.root, lang)
    links = ServedLinks(_asset_version())
    t = renderer.t

    def page(template: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
        html = renderer.render(template, links, context)
        return HTMLResponse(html, status_code=status, headers={"cache-control": "no-store"})

    def error_page(status: int, title: str, message: str) -> HTMLResponse:
        return page("error.html", {"title": title, "message": message}, status)

    Handler = Callable[[Request], Response]

    def guarded(handler: Handler) -> Handler:
        """Expected failures become readable pages, not tracebacks."""

        def run(request: Request) -> Response:
            try:
                return handler(request)
            except NotFound as exc:
                return error_page(404, t("not_found"), str(exc))
            except BadQuery as exc:
                return error_page(400, "400", str(exc))
            except sqlite3.DatabaseError as exc:
                return error_page(500, t("broken_run"), _broken_reason(catalog, request.path_params.get("rid"), exc))

        run.__name__ = handler.__name__
        return run

    @guarded
    def runs(request: Request) -> Response:
        template, ctx = pages.runs_page(catalog)
        return page(template, {**ctx, "compare_action": "/compare"})

    @guarded
    def run(request: Request) -> Response:
        template, ctx = pages.run_page(catalog, request.path_params["rid"], t)
        return page(template, ctx)

    def run_no_slash(request: Request) -> Response:
        return RedirectResponse(links.run(request.path_params["rid"]), status_code=308)

    @guarded
    def samples(request: Request) -> Response:
        query = SampleQuery.from_params(request.query_params)
        template, ctx = pages.samples_page(catalog, request.path_params["rid"], query)
        return page(template, ctx)

    @guarded
    def sample(request: Request) -> Response:
        query = SampleQuery.from_params(request.query_params)
        template, ctx = pages.sample_page(catalog, request.path_params["rid"], request.path_params["key"], query)
        return page(template, ctx)

    @guarded
    def compare(request: Request) -> Response:
        params = request.query_params
        page_no = _int(params.get("page"), 1)
        template, ctx = pages.compare_page(catalog, params.getlist("run"), dataset=params.get("dataset", ""), page=page_no)
        return page(template, ctx)

    @guarded
    def compare_sample(request: Request) -> Response:
        params = request.query_params
        ident = (params.get("dataset", ""), params.get("subset", ""), params.get("sample_id", ""),
                 _int(params.get("repeat"), 0))
        template, ctx = pages.compare_sample_page(catalog, params.getlist("run"), ident)
        return page(template, ctx)

    @guarded
    def perf(request: Request) -> Response:
        template, ctx = pages.perf_page(catalog, request.path_params["pid"])
        return page(template, ctx)

    @guarded
    def files(request: Request) -> Response:
        rel = request.path_params["path"]
        if any(part.startswith(".") for part in Path(rel).parts) or not rel.lower().endswith(SERVABLE_SUFFIXES):
            raise NotFound(rel)
        target = catalog.contained_file(catalog.root, rel)
        media_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if target.suffix.lower() in (".json", ".jsonl", ".csv", ".yaml", ".yml", ".txt", ".md"):
            media_type = "text/plain; charset=utf-8"  # shown as text, never interpreted
        # A figure opened on its own (an SVG is a document that may carry script) runs
        # sandboxed: no script, an opaque origin, only its own inline styles.
        return FileResponse(target, media_type=media_type,
                            headers={"cache-control": "no-cache", "content-security-policy": FILE_CSP})

    @guarded
    def live(request: Request) -> Response:
        out: dict[str, Any] = {}
        for rid in request.query_params.getlist("run")[:50]:
            try:
                progress = catalog.reader(rid).progress()
            except (NotFound, sqlite3.DatabaseError):  # a broken run must not stop the others' updates
                continue
            out[rid] = {**progress.to_dict(), "state_label": t("state_" + progress.state)}
        return JSONResponse({"runs": out}, headers={"cache-control": "no-store"})

    def not_found(request: Request, exc: Exception) -> Response:
        return error_page(404, t("not_found"), request.url.path)

    routes = [
        Route("/", runs),
        Route("/run/{rid}/", run),
        Route("/run/{rid}", run_no_slash),
        Route("/run/{rid}/samples", samples),
        Route("/run/{rid}/sample/{key:path}", sample),
        Route("/compare", compare),
        Route("/compare/sample", compare_sample),
        Route("/perf/{pid}/", perf),
        Route("/files/{path:path}", files),
        Route("/api/live", live),
        Mount("/static", app=StaticFiles(directory=STATIC_DIR, follow_symlink=False), name="static"),
    ]
    middleware = [Middleware(SecurityHeaders)]
    if allowed_hosts is not None:
        middleware.append(Middleware(HostCheck, allowed_hosts=allowed_hosts))
    app = Starlette(routes=routes, middleware=middleware, exception_handlers={404: not_found})
    app.state.catalog = catalog
    app.state.renderer = renderer
    return app


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
