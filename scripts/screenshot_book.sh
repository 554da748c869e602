#!/usr/bin/env bash
# Screenshot the built Jupyter Book with headless Chromium and/or check that
# MathJax typeset the math on every page (fully offline, file:// URLs).
#
# usage: scripts/screenshot_book.sh [--shots | --check-math | --all] [HTML_DIR] [OUT_DIR]
#   --shots       (default) write one PNG per page to OUT_DIR
#   --check-math  dump each page's DOM after scripts ran (OUT_DIR/*.dom.html) and
#                 exit 1 if a page with math shows raw TeX or no <mjx-container>
#   --all         both
#   HTML_DIR      built site (default: _build/html)
#   OUT_DIR       default: _build/screenshots
# Pages: index.html plus every content page (not genindex/search/_static/mathjax/_sources).
# Env: CHROMIUM (default: chromium), PYTHON (default: python3),
#      WINDOW (default: 1280,2000), VTIME (virtual-time budget ms, default 10000).
set -euo pipefail

MODE=shots
case "${1:-}" in
    --shots) MODE=shots; shift ;;
    --check-math) MODE=math; shift ;;
    --all) MODE=all; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
esac
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HTML_DIR="$(cd "${1:-$ROOT/_build/html}" && pwd)"
OUT_DIR="${2:-$ROOT/_build/screenshots}"
CHROMIUM="${CHROMIUM:-chromium}"
PYTHON="${PYTHON:-python3}"
WINDOW="${WINDOW:-1280,2000}"
VTIME="${VTIME:-10000}"
mkdir -p "$OUT_DIR"
OUT_DIR="$(cd "$OUT_DIR" && pwd)"

command -v "$CHROMIUM" >/dev/null || { echo "screenshot_book: $CHROMIUM not found" >&2; exit 2; }

PROFILE="$(mktemp -d)"
trap 'rm -rf "$PROFILE"' EXIT

# Headless, throwaway profile, no background services. All http(s) traffic goes
# to a dead proxy, so a page that needs the network (a CDN) renders broken
# here even on a machine that is online; file:// pages are unaffected.
chrome() {  # chrome ARGS... URL
    "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --disable-default-apps --disable-extensions --hide-scrollbars \
        --proxy-server="http://127.0.0.1:9" --proxy-bypass-list="<-loopback>" \
        --user-data-dir="$PROFILE" --virtual-time-budget="$VTIME" "$@" 2>/dev/null
}

mapfile -t PAGES < <(cd "$HTML_DIR" && find . -name '*.html' \
    -not -path './_static/*' -not -path './_sources/*' -not -path './mathjax/*' \
    -not -path './_images/*' -not -name genindex.html -not -name search.html \
    | sed 's|^\./||' | sort)
[[ ${#PAGES[@]} -gt 0 ]] || { echo "screenshot_book: no pages in $HTML_DIR" >&2; exit 2; }

fail=0
for page in "${PAGES[@]}"; do
    name="${page%.html}"; name="${name//\//__}"
    url="file://$HTML_DIR/$page"
    if [[ $MODE == shots || $MODE == all ]]; then
        chrome --window-size="$WINDOW" --screenshot="$OUT_DIR/$name.png" "$url" >/dev/null
        if [[ -s "$OUT_DIR/$name.png" ]]; then echo "shot  $page -> $OUT_DIR/$name.png"
        else echo "FAIL  $page: no screenshot" >&2; fail=1; fi
    fi
    if [[ $MODE == math || $MODE == all ]]; then
        chrome --dump-dom "$url" > "$OUT_DIR/$name.dom.html" || true
        if ! "$PYTHON" - "$HTML_DIR/$page" "$OUT_DIR/$name.dom.html" "$page" <<'PY'
import re, sys
from html.parser import HTMLParser

src_path, dom_path, page = sys.argv[1:4]
src = open(src_path, encoding="utf-8").read()
dom = open(dom_path, encoding="utf-8", errors="replace").read()

# Pages whose built HTML contains Sphinx math nodes (or TeX delimiters) need MathJax.
has_math = bool(re.search(r'class="[^"]*\bmath\b', src)) or "\\(" in src or "$$" in src

class Text(HTMLParser):
    """Visible text outside <script>/<style>/<pre>/<code>/<textarea>."""
    SKIP = {"script", "style", "pre", "code", "textarea", "noscript"}
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.depth, self.chunks = 0, []
    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP: self.depth += 1
    def handle_endtag(self, tag):
        if tag in self.SKIP and self.depth: self.depth -= 1
    def handle_data(self, data):
        if not self.depth: self.chunks.append(data)

p = Text(); p.feed(dom)
text = "".join(p.chunks)
raw = [m.group(0) for m in re.finditer(r"\\\(|\\\[|\\begin\{|\$\$", text)]
n_mjx = dom.count("<mjx-container")
if not has_math:
    print(f"ok    {page}: no math ({n_mjx} mjx-container)")
    sys.exit(0)
if len(dom) < 200:
    print(f"FAIL  {page}: empty DOM dump", file=sys.stderr); sys.exit(1)
if raw or n_mjx == 0:
    i = text.find(raw[0]) if raw else -1
    ctx = text[max(0, i - 40): i + 60].replace("\n", " ") if raw else ""
    print(f"FAIL  {page}: math not typeset ({n_mjx} mjx-container, {len(raw)} raw TeX"
          + (f", e.g. ...{ctx}...)" if ctx else ")"), file=sys.stderr)
    sys.exit(1)
print(f"ok    {page}: {n_mjx} mjx-container, no raw TeX")
PY
        then fail=1; fi
    fi
done
exit $fail
