#!/usr/bin/env python3
"""Open the built book in headless Chromium as a reader would, offline.

Serves ``_build/html`` on a loopback port with a server that logs every request,
and points Chromium at a logging "proxy" on another loopback port that answers
every request with 403, so any request that would leave the machine (a CDN
script, a web font, an analytics beacon) is recorded, and fails the check, even
on a machine that is online.  Chromium's own background requests (updater,
network time, sign-in: the hosts in BROWSER_HOSTS and whatever a blank page
triggers) are not the page's and are ignored.  For every page it then

* keeps a screenshot in ``OUT_DIR/<page>.png`` (one per chapter, for people to
  look at),
* dumps the DOM after the scripts ran and fails if a page with math still shows
  raw TeX or has no ``<mjx-container>`` (MathJax did not typeset it),
* fails on raw TeX anywhere in a page's prose (an unrendered ``$...$`` or a
  ``\\in``, ``\\frac``, ``\\sqrt``... outside code), on a machine path
  (``/tmp/...``, ``/work/...``, a home folder) anywhere on a page, outputs
  included, on "NaN" or "None" in a table cell (a dash is meant), on a
  number in scientific notation in the scorecard, and, on the
  chapters written by hand (``book/*.md``), on a paragraph that ends without a
  full stop or a table cell or list item that stops on a word like "that is"
  (a sentence cut short),
* fails on numbers people cannot read (:func:`number_problems`): scientific
  notation (``2.6e+09``) in prose and tables, a doubled unit ("1.8 k M MACs"),
  a bare float with more than 4 significant digits in prose, a raw Python repr
  (``{'a': ...}``, ``[1.3, 2.5, 3.1]``, ``Splits(train=...)``) in prose or an
  output, a tqdm progress bar, and a visible ``NBVAL_CHECK_OUTPUT`` marker in a
  code cell (mark the cell with nbval's ``nbval-check-output`` tag instead),

and at the end fails on any request that left the machine and on any local
resource the server did not have (HTTP status >= 400).

usage: scripts/check_book.py [--html DIR] [--out DIR] [--no-shots]
env:   CHROMIUM (default: chromium), WINDOW (default: 1280,2000),
       VTIME (virtual-time budget per page in ms, default: 10000)
Exit status: 0 all pages fine, 1 a check failed, 2 no Chromium / no pages.
"""
from __future__ import annotations

import argparse
import functools
import http.server
import os
import re
import shutil
import socketserver
import subprocess
import sys
import tempfile
import threading
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIP_DIRS = ("_static", "_sources", "mathjax", "_images")


class _Quiet(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):  # the browser closed the connection early: not our concern
        pass


# Hosts Chromium contacts on its own (component updater, network time, sign-in), whatever
# the page: its background requests, not the page's.  The check also subtracts whatever a
# blank page triggers on this machine (see main).
BROWSER_HOSTS = {"accounts.google.com", "update.googleapis.com", "clients1.google.com", "clients2.google.com",
                 "optimizationguide-pa.googleapis.com", "safebrowsing.googleapis.com", "redirector.gvt1.com",
                 "edgedl.me.gvt1.com", "content-autofill.googleapis.com", "www.google.com"}


def request_host(line: str) -> str:
    """Host of a logged proxy request line ("CONNECT host:443" or "GET http://host/path")."""
    target = line.split(" ", 1)[1]
    target = target.split("://", 1)[-1]
    return target.split("/", 1)[0].rsplit(":", 1)[0].lower()


def serve_site(html_dir: Path, log: list):
    """Static server for ``html_dir`` on 127.0.0.1 that appends (path, status) to ``log``."""

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_request(self, code="-", size="-"):
            log.append((self.path, int(code) if str(code).isdigit() else 0))

        def log_message(self, *args):  # errors are logged by log_request too
            pass

    server = _Quiet(("127.0.0.1", 0), functools.partial(Handler, directory=str(html_dir)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def serve_dead_proxy(log: list):
    """An HTTP proxy on 127.0.0.1 that records every request and refuses it (403)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def _refuse(self):
            log.append(f"{self.command} {self.path}")
            self.send_error(403, "offline check: no request may leave the machine")

        do_GET = do_POST = do_HEAD = do_CONNECT = do_PUT = do_OPTIONS = _refuse

        def log_message(self, *args):
            pass

    server = _Quiet(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class _Text(HTMLParser):
    """The text nodes of a page outside the elements named in ``skip`` (and
    outside everything nested in them), in order, as ``chunks``."""

    def __init__(self, skip: frozenset):
        super().__init__(convert_charrefs=True)
        self.skip, self.depth, self.chunks = skip, 0, []

    def handle_starttag(self, tag, attrs):
        if tag in self.skip:
            self.depth += 1

    def handle_endtag(self, tag):
        if tag in self.skip and self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if not self.depth:
            self.chunks.append(data)


VISIBLE = frozenset({"script", "style", "pre", "code", "textarea", "noscript"})  # the prose a reader sees
EVERY = frozenset({"script", "style"})  # every text node, code and outputs included


class _Blocks(HTMLParser):
    """Text of the prose blocks inside the page's <main>: every <p> that is
    not inside a table, a list, an admonition or a cell's output (kind "p"),
    and every <li>, <td> and <th> (their kind), in order."""

    BLOCKS = ("p", "li", "td", "th")
    VOID = {"br", "img", "hr", "input", "meta", "link", "source", "wbr", "col", "area", "base", "embed"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.open, self.stack, self.blocks, self.skip, self.in_main = [], [], [], 0, 0

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        a = dict(attrs)
        if tag == "main" or a.get("id") == "main-content":
            self.in_main += 1
        cls = a.get("class") or ""
        nested = any(t in ("td", "th", "li", "table", "nav", "footer", "a")
                     or any(k in c for k in ("output", "admonition", "prev-next"))
                     for t, c in self.open + [(tag, cls)])
        self.open.append((tag, cls))
        if tag in ("script", "style", "pre"):
            self.skip += 1
        if tag == "mjx-container" and self.stack:
            self.stack[-1][1] += " \u27e8math\u27e9."  # a formula ends its sentence well enough
            self.skip += 1
        if tag in self.BLOCKS:
            self.stack.append([tag if (tag != "p" or not nested) else "p-nested", ""])

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        while self.open:
            t, _ = self.open.pop()
            if t == tag:
                break
        if tag in ("script", "style", "pre", "mjx-container") and self.skip:
            self.skip -= 1
        if tag in self.BLOCKS and self.stack:
            kind, text = self.stack.pop()
            if self.in_main and kind != "p-nested":
                self.blocks.append((kind, " ".join(text.split())))

    def handle_data(self, data):
        if self.open and self.open[-1][0] == "a" and "headerlink" in self.open[-1][1]:
            return  # a caption's or heading's permalink sign ("#") is not the end of its sentence
        if self.stack and not self.skip:
            self.stack[-1][1] += data


RAW_TEX = re.compile(r"\\(?:in|frac|sqrt|times|phi|alpha|beta|gamma|lfloor|rfloor|cdot|sum|le|ge|approx)\b"
                     r"|(?<![\w$])\$[^\s$][^$\n]{0,200}?\$(?![\w$])")
MACHINE_PATH = re.compile(r"(?<![\w.])(/tmp/|/var/folders/|/work/|/home/[a-z_][\w-]*/|/root/|[A-Z]:\\Users\\)")
SCIENTIFIC = re.compile(r"\b\d(?:\.\d+)?e[+-]\d{2}\b")
CUT_WORDS = ("that is", "the", "a", "an", "and", "or", "of", "to", "is", "are", "that", "with", "which", "for",
             "by", "as", "from")


class _Streams(HTMLParser):
    """The text of a page sorted by where a reader meets it, typeset math left
    out: ``prose`` (paragraphs, lists, headings, outside code, tables and cell
    outputs), ``table`` (table cells, in outputs or not), ``output`` (the other
    text of notebook cell outputs, printed text included) and ``code`` (code
    blocks and cell inputs).  Each is a list of text chunks."""

    VOID = _Blocks.VOID

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.open = []
        self.prose, self.table, self.output, self.code = [], [], [], []

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.open.append((tag, dict(attrs).get("class") or ""))

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        while self.open:
            if self.open.pop()[0] == tag:
                break

    def handle_data(self, data):
        tags = {t for t, _ in self.open}
        classes = " ".join(c for _, c in self.open)
        if tags & {"script", "style", "mjx-container", "textarea", "noscript"} or re.search(r"\bmath\b", classes):
            return
        if "cell_input" in classes or ("pre" in tags and "output" not in classes) \
                or re.search(r"\bsig\b", classes):  # a code cell, a code block, an API signature
            self.code.append(data)
        elif "code" in tags:
            return  # inline code in prose: a name or a command, not a number for people
        elif tags & {"td", "th"}:
            self.table.append(data)
        elif "output" in classes:
            self.output.append(data)
        else:
            self.prose.append(data)


SCIENTIFIC_ANY = re.compile(r"(?<![\w.])\d+(?:\.\d+)?[eE][+-]\d+\b")
DOUBLED_UNIT = re.compile(r"\d\s*[kMGT]\s+[kMGT]\b(?!-)")
LONG_FLOAT = re.compile(r"(?<![\w.:/#=-])-?(\d[\d,]*\.\d+)(?![\w.])")
PY_REPR = re.compile(r"\{'|\[-?\d+\.\d+(?:, -?\d+(?:\.\d+)?){2,}|\[-?\d+\.\d{5,}|\b[A-Z][A-Za-z0-9]*\([a-z_]+="
                     r"|\btensor\(|\barray\(\[| object at 0x[0-9a-f]+")
TQDM = re.compile(r"\d+%\|[^|\n]{0,80}\|\s*\d+/\d+|\d+(?:\.\d+)?(?:it/s|s/it)\]|FloatProgress\(")
API_PAGES = "book/api/"  # the pages autodoc writes from the docstrings (number rules do not apply)
NBVAL_MARKER = re.compile(r"NBVAL_(?:CHECK_OUTPUT|IGNORE_OUTPUT|SKIP|RAISES_EXCEPTION)")


def significant_digits(number: str) -> int:
    """How many significant digits the decimal ``number`` (e.g. "0.012340",
    "1,234.5") prints.  Returns an int."""
    digits = number.replace(",", "").replace(".", "").lstrip("-").lstrip("0")
    return len(digits)


def number_problems(dom: str) -> list[str]:
    """The number formats a reader should never see on a page (the DOM after
    its scripts ran): scientific notation in prose and tables; a doubled unit
    ("1.8 k M MACs"), a raw Python repr or a tqdm bar anywhere a reader
    looks (prose, tables, outputs); a bare float of more than 4 significant
    digits in prose (not in tables, outputs or code; identifiers such as
    "arXiv:1905.11946" or "2.15.0" are not bare floats); an nbval marker in a
    code cell (prose that names it in inline code is fine).  Returns a list of
    short messages."""
    streams = _Streams()
    streams.feed(dom)
    prose, table, output, code = (" ".join(s) for s in (streams.prose, streams.table, streams.output, streams.code))
    shown = " \n ".join((prose, table, output))
    out = []

    def flag(what: str, pattern: re.Pattern, text: str) -> None:
        m = pattern.search(text)
        if m:
            out.append(f"{what}: ...{text[max(0, m.start() - 30): m.end() + 20].strip()}...")

    flag("scientific notation in the text (write 2,640 M or 0.0001)", SCIENTIFIC_ANY, prose + " \n " + table)
    flag("a doubled unit (the number is already scaled)", DOUBLED_UNIT, shown)
    flag("a raw Python repr (format it for people)", PY_REPR, shown)
    flag("a progress bar in an output (turn tqdm off in the book)", TQDM, shown)
    flag("an nbval marker shown in a code cell (use the nbval-check-output cell tag)", NBVAL_MARKER, code)
    long = [m for m in LONG_FLOAT.finditer(prose) if significant_digits(m.group(1)) > 4]
    if long:
        m = long[0]
        out.append(f"a number with more than 4 significant digits in prose: "
                   f"...{prose[max(0, m.start() - 30): m.end() + 10].strip()}...")
    return out


def text_problems(page: str, dom: str, chapter: bool = False) -> list[str]:
    """What is wrong with a page's text: raw TeX in prose, machine paths
    anywhere, NaN or None in a table cell, scientific notation on the scorecard (code included), the
    number formats of :func:`number_problems` (not on the API reference, which quotes code) and, for
    ``chapter`` pages (written by hand), sentences cut short.  Returns a list of short messages."""
    out = []

    def flag(what: str, pattern: re.Pattern, text: str, after: int) -> None:
        m = pattern.search(text)
        if m:
            out.append(f"{what}: ...{text[max(0, m.start() - 30): m.end() + after].strip()}...")

    prose, everything = _Text(VISIBLE), _Text(EVERY)
    prose.feed(dom)
    everything.feed(dom)
    full = " ".join(everything.chunks)
    flag("raw TeX in the text", RAW_TEX, " ".join(prose.chunks), 30)
    flag("a machine path on the page", MACHINE_PATH, full, 40)
    if "scorecard" in page:
        flag("scientific notation on the scorecard", SCIENTIFIC, full, 10)
    if not page.startswith(API_PAGES):  # the API reference quotes code: defaults such as 1e-4, as written
        out += number_problems(dom)
    blocks = _Blocks()
    blocks.feed(dom)
    missing = [b for kind, b in blocks.blocks if kind in ("td", "th") and b in ("NaN", "nan", "None", "<NA>")]
    if missing:
        out.append(f"a missing value shown as {missing[0]!r} in a table (a dash is meant)")
    if chapter:
        for kind, block in blocks.blocks:
            words = block.lower().rstrip(" *").split()
            if not words:
                continue
            if kind == "p" and len(words) > 3 and not re.search(r"[.:!?)\]\u201d\"']$", block.rstrip(" *")):
                out.append(f"a paragraph ends without a full stop: ...{block[-60:]}")
            elif len(words) > 3 and (" ".join(words[-2:]) in CUT_WORDS or words[-1] in CUT_WORDS):
                out.append(f"a sentence cut short ({kind}): ...{block[-60:]}")
    return out


def math_problem(src: str, dom: str) -> str | None:
    """None if the page's math is typeset (or it has none), else what is wrong."""
    # TeX delimiters inside code (a docstring that quotes ``$$...$$``) are never typeset: not math
    bare = re.sub(r"<(code|pre)\b[^>]*>.*?</\1>", "", src, flags=re.S)
    has_math = bool(re.search(r'class="[^"]*\bmath\b', bare)) or "\\(" in bare or "$$" in bare
    if not has_math:
        return None
    if len(dom) < 200:
        return "empty DOM dump"
    p = _Text(VISIBLE)
    p.feed(dom)
    text = "".join(p.chunks)
    raw = [m.start() for m in re.finditer(r"\\\(|\\\[|\\begin\{|\$\$", text)]
    n_mjx = dom.count("<mjx-container")
    if raw or n_mjx == 0:
        ctx = text[max(0, raw[0] - 40): raw[0] + 60].replace("\n", " ") if raw else ""
        return f"math not typeset ({n_mjx} mjx-container, {len(raw)} raw TeX" + (f", e.g. ...{ctx}...)" if ctx else ")")
    return None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--html", type=Path, default=ROOT / "_build" / "html")
    ap.add_argument("--out", type=Path, default=ROOT / "_build" / "screenshots")
    ap.add_argument("--no-shots", action="store_true", help="skip the screenshots (checks only)")
    args = ap.parse_args(argv)
    chromium = shutil.which(os.environ.get("CHROMIUM", "chromium"))
    if not chromium:
        print("check_book: chromium not found (Debian package `chromium`; `make sysdeps` installs it as root)",
              file=sys.stderr)
        return 2
    html = args.html.resolve()
    pages = sorted(p.relative_to(html).as_posix() for p in html.rglob("*.html")
                   if not p.relative_to(html).parts[0] in SKIP_DIRS and p.name not in ("genindex.html", "search.html"))
    if not pages:
        print(f"check_book: no pages in {html} (run `make book` first)", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)

    site_log, proxy_log = [], []
    site, proxy = serve_site(html, site_log), serve_dead_proxy(proxy_log)
    base = f"http://127.0.0.1:{site.server_address[1]}"
    profile = tempfile.mkdtemp(prefix="check_book.")
    # Headless, throwaway profile, no background services; loopback goes direct (Chromium's
    # default), everything else to the refusing proxy.
    chrome = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--disable-default-apps", "--disable-extensions", "--hide-scrollbars",
              f"--proxy-server=http://127.0.0.1:{proxy.server_address[1]}",
              f"--user-data-dir={profile}", f"--virtual-time-budget={os.environ.get('VTIME', '10000')}"]
    failures = 0
    try:
        subprocess.run(chrome + ["--dump-dom", "data:text/html,<p>blank</p>"], capture_output=True, timeout=120)
        ignored = BROWSER_HOSTS | {request_host(r) for r in proxy_log}
        print("ignoring Chromium's own background requests to: " + ", ".join(sorted(ignored)))
        for page in pages:
            url, name = f"{base}/{page}", page.removesuffix(".html").replace("/", "__")
            first = len(site_log), len(proxy_log)
            dom = subprocess.run(chrome + ["--dump-dom", url], capture_output=True, text=True,
                                 errors="replace", timeout=120).stdout
            (args.out / f"{name}.dom.html").write_text(dom)
            if not args.no_shots:
                shot = args.out / f"{name}.png"
                subprocess.run(chrome + [f"--window-size={os.environ.get('WINDOW', '1280,2000')}",
                                         f"--screenshot={shot}", url], capture_output=True, timeout=120)
                if not shot.is_file() or shot.stat().st_size == 0:
                    print(f"FAIL  {page}: no screenshot", file=sys.stderr)
                    failures += 1
            problems = []
            bad = math_problem((html / page).read_text(encoding="utf-8"), dom)
            if bad:
                problems.append(bad)
            problems += text_problems(page, dom, chapter=page.startswith("book/"))
            # A browser asks for /favicon.ico on its own; that is missing only if a page links it.
            missing = sorted({p for p, code in site_log[first[0]:] if code >= 400
                              and not (p == "/favicon.ico" and "favicon.ico" not in dom)})
            if missing:
                problems.append(f"missing local resources: {', '.join(missing)}")
            outside = sorted({r for r in proxy_log[first[1]:] if request_host(r) not in ignored})
            if outside:
                problems.append(f"requests leaving the machine: {', '.join(outside)}")
            if problems:
                failures += 1
                print(f"FAIL  {page}: " + "; ".join(problems), file=sys.stderr)
            else:
                n = len(site_log) - first[0]
                print(f"ok    {page}: {n} local requests, none missing, none leaving the machine, "
                      f"{dom.count('<mjx-container')} typeset formulas")
    finally:
        site.shutdown(), proxy.shutdown()
        shutil.rmtree(profile, ignore_errors=True)
    print(f"{len(pages)} pages, {failures} failed; screenshots and DOM dumps in {args.out}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
