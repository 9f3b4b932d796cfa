"""`thinklens view PATH`: browse runs in a local web page, or export them as a static site."""

from __future__ import annotations

import argparse
import sys

from .i18n import LANGUAGES

# Here, not imported from .server: every `thinklens` command builds this parser, and
# none of them should pay for importing Starlette.
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7575


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "view",
        help="browse runs, samples and perf results in a local web viewer (offline)",
        description="Serve every run (a folder holding run.sqlite) and perf folder below PATH at "
        f"http://{DEFAULT_HOST}:{DEFAULT_PORT}/ ; pages update while a run is in progress. "
        "With --export, write the same pages as a static site instead.",
    )
    p.add_argument("path", nargs="?", default="outputs", help="a run folder or a folder holding runs (default: outputs)")
    p.add_argument("--host", default=DEFAULT_HOST,
                   help=f"address to bind (default {DEFAULT_HOST}: this machine only; 0.0.0.0 opens it to the network)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 picks a free one)")
    p.add_argument("--lang", choices=LANGUAGES, default="en", help="language of the interface (default en)")
    p.add_argument("--export", metavar="DIR", help="write a static, self-contained HTML site to DIR and exit")
    p.add_argument("--open", action="store_true", help="open the viewer in the default browser")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.export:
        from .export import export_site

        result = export_site(args.path, args.export, lang=args.lang, progress=lambda m: print(m, file=sys.stderr),
                             warn=lambda m: print(f"warning: {m}", file=sys.stderr))
        print(f"wrote {result.pages} pages and {result.files} files to {result.out_dir} in {result.seconds:.1f}s "
              f"(open {result.out_dir / 'index.html'})")
        if result.broken:
            # exit 0: the site is complete for every readable run and marks the broken ones
            print(f"warning: {len(result.broken)} broken run(s) exported as broken-run pages: "
                  f"{', '.join(result.broken)}", file=sys.stderr)
        return 0

    from .server import serve

    def ready(url: str) -> None:
        print(f"thinklens viewer: {url}  (serving {args.path}; Ctrl+C to stop)", flush=True)
        if args.open:
            import webbrowser

            webbrowser.open(url)

    serve(args.path, host=args.host, port=args.port, lang=args.lang, ready=ready)
    return 0
