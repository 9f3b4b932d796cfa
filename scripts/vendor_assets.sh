#!/usr/bin/env bash
# Vendor the viewer's browser assets from npm into the package (run by a maintainer when
# upgrading; never at install or run time: the viewer works offline).
#
#   bash scripts/vendor_assets.sh            # KaTeX at the pinned version
#   KATEX_VERSION=0.19.1 bash scripts/vendor_assets.sh
#
# What is copied, from the npm tarball (`npm pack`, which downloads nothing but the
# tarball and runs no install scripts):
#   dist/katex.min.js, dist/katex.min.css,
#   dist/fonts/*.woff2 (every browser that runs the viewer reads woff2; the .woff/.ttf
#   fallbacks listed in katex.min.css are never fetched, so they are left out: 1.2 MB saved)
#   LICENSE (MIT)
# into src/thinklens/viewer/static/vendor/katex-<version>/.  Charts are drawn as inline
# SVG on the server, so no chart library is vendored.  KaTeX's auto-render is not
# needed: the server marks each formula (<span class="math">) and viewer.js renders
# exactly those, so "$5 and $10" in a model's answer never turns into math.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VERSION="${KATEX_VERSION:-0.19.1}"
DEST="$ROOT/src/thinklens/viewer/static/vendor/katex-$VERSION"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
(cd "$TMP" && npm pack --silent "katex@$VERSION" >/dev/null && tar xzf "katex-$VERSION.tgz")
PKG="$TMP/package"
grep -q "\"version\": \"$VERSION\"" "$PKG/package.json" || { echo "unexpected katex version" >&2; exit 1; }
rm -rf "$DEST"
mkdir -p "$DEST/fonts"
cp "$PKG/dist/katex.min.js" "$PKG/dist/katex.min.css" "$DEST/"
cp "$PKG"/dist/fonts/*.woff2 "$DEST/fonts/"
cp "$PKG/LICENSE" "$DEST/LICENSE"
echo "KaTeX $VERSION (MIT, https://katex.org) from the npm package 'katex'" > "$DEST/VERSION"
echo "vendored KaTeX $VERSION into $DEST ($(du -sh "$DEST" | cut -f1))"
# Older vendored versions stay until the templates point at the new one
# (thinklens/viewer/assets.py: KATEX_VERSION); delete them then.
