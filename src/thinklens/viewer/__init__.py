"""The results viewer (`thinklens view`): every run, subset and sample in a browser,
offline.  See docs/viewer.md.

Public entry points (imported from their modules, so `import thinklens.viewer` stays
free of Starlette):
- `thinklens.viewer.server.create_app(root, *, lang="en", allowed_hosts=None)`: the
  Starlette app for every run and perf folder below `root`.
- `thinklens.viewer.server.serve(root, *, host="127.0.0.1", port=7575, lang="en", ready=None)`.
- `thinklens.viewer.export.export_site(root, out_dir, *, lang="en", progress=None, workers=None)`.
- `thinklens.viewer.reader.RunReader(run_dir)`: fast read-only queries on one run
  (summary rows, filters, outcome counts, live progress), safe during an eval.

Modules: catalog (what is under the root), reader (one run: when to re-read its
summary table, whose SQL is in store/summary.py; progress; live scores), query (samples
filters in URLs), render (untrusted text to safe HTML), charts (inline SVG), features
(efficiency and perf results), pages (what each page shows), site (templates),
links (URLs for the server and the export), server, export, command, i18n.
"""
