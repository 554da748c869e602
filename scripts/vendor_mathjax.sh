#!/usr/bin/env bash
# Vendor MathJax 3 (es5 build: combined tex-mml-chtml component, CHTML woff-v2
# fonts and the lazily loaded input/output/ui/a11y/sre pieces) into
# _vendor/mathjax/ so the Jupyter Book works fully offline.
# Idempotent: does nothing when the component is already present.
# _vendor/ is git-ignored and deliberately NOT under a _static/ folder
# (Jupyter Book would inject every .js there into every page); the book copies
# it into _build/html/mathjax/ via sphinx html_extra_path.
set -euo pipefail

MATHJAX_SPEC="${MATHJAX_SPEC:-mathjax@3.2.2}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/_vendor/mathjax"
COMPONENT="$DEST/es5/tex-mml-chtml.js"

if [[ -s "$COMPONENT" && -d "$DEST/es5/output/chtml/fonts/woff-v2" ]]; then
    echo "vendor_mathjax: $COMPONENT already present, nothing to do"
    exit 0
fi

command -v npm >/dev/null || { echo "vendor_mathjax: npm not found" >&2; exit 1; }

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

( cd "$TMP" && npm pack --silent "$MATHJAX_SPEC" >pack.txt 2>npm.err ) || {
    cat "$TMP/npm.err" >&2; echo "vendor_mathjax: npm pack $MATHJAX_SPEC failed" >&2; exit 1; }
TARBALL="$TMP/$(tail -n1 "$TMP/pack.txt")"
tar -xzf "$TARBALL" -C "$TMP"          # -> $TMP/package/
VERSION="$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$TMP/package/package.json" | head -n1)"

rm -rf "$DEST.tmp"
mkdir -p "$DEST.tmp"
# The es5 tree minus the combined components we do not use: keep the
# tex-mml-chtml.js component plus everything it may lazy-load (CHTML woff-v2
# fonts, input/tex/extensions, output/svg for the menu's renderer switch,
# ui/menu, a11y explorer and its speech-rule-engine maps in sre/).
cp -R "$TMP/package/es5" "$DEST.tmp/es5"
( cd "$DEST.tmp/es5" && rm -f node-main.js mml-chtml.js mml-svg.js tex-chtml.js \
      tex-chtml-full.js tex-chtml-full-speech.js tex-mml-svg.js tex-svg.js tex-svg-full.js )
cp "$TMP/package/LICENSE" "$DEST.tmp/LICENSE"
echo "$VERSION" > "$DEST.tmp/VERSION"
rm -rf "$DEST"
mv "$DEST.tmp" "$DEST"

echo "vendor_mathjax: installed MathJax $VERSION (es5, $(du -sh "$DEST" | cut -f1)) into $DEST"
