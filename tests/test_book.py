"""The Jupyter Book builds warning-free and loads nothing from the network.

One build (module-scoped fixture) into a temporary --path-output, shared by all
checks:
* `jupyter-book build <repo> -W --keep-going` succeeds with no warnings;
* no page loads a script, stylesheet, font, image or frame over http(s);
* no built .css file pulls an http(s) url(...) or @import;
* MathJax is served from the vendored copy (scripts/vendor_mathjax.sh) and
  every page's MathJax <script src> resolves to a file of the build;
* each notebook chapter offers its executed .ipynb for download;
* if chromium is installed, MathJax really typesets the math (no raw TeX).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

yaml = pytest.importorskip("yaml")

REPO = Path(__file__).resolve().parents[1]
VENDOR_SCRIPT = REPO / "scripts" / "vendor_mathjax.sh"
CHECK_SCRIPT = REPO / "scripts" / "check_book.py"
MATHJAX_REL = Path("mathjax/es5/tex-mml-chtml.js")  # inside the built site
SOURCE_SUFFIXES = (".ipynb", ".md", ".myst", ".rst")

# A URL that reaches the network: http(s)://... or protocol-relative //host/...
NETWORK_URL = re.compile(r"^\s*(?:https?:)?//", re.IGNORECASE)
# rel values of <link> that make the browser fetch the target.
FETCHING_RELS = {
    "stylesheet", "preload", "modulepreload", "prefetch", "preconnect",
    "dns-prefetch", "prerender", "icon", "shortcut", "apple-touch-icon",
    "manifest", "mask-icon",
}
FONT_EXT = re.compile(r"\.(?:woff2?|ttf|otf|eot)(?:[?#]|$)", re.IGNORECASE)
# Inside inline <script>/<style>: an absolute URL of a resource to be fetched.
INLINE_RESOURCE_URL = re.compile(
    r"(?:https?:)?//[\w.-]+\.[a-z]{2,}/[^\s\"'()]*?\.(?:m?js|css|woff2?|ttf|otf)\b",
    re.IGNORECASE,
)
CSS_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
CSS_URL = re.compile(r"url\(\s*(['\"]?)(.*?)\1\s*\)", re.IGNORECASE | re.DOTALL)
CSS_IMPORT = re.compile(r"@import\s+(?:url\(\s*)?['\"]?([^'\")\s;]+)", re.IGNORECASE)
WARNING_LINE = re.compile(r"WARNING:|\[Warning\]|^\s*Warning,", re.MULTILINE)


# --------------------------------------------------------------------------- helpers
def _toc_files(toc: dict) -> list[str]:
    """All `file:` entries (and the root) of a jb-book _toc.yml."""
    found = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                found.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk({k: v for k, v in toc.items() if k != "root"})
    return found


def _resolve_source(docname: str) -> Path | None:
    base = REPO / docname
    if base.suffix in SOURCE_SUFFIXES and base.exists():
        return base
    for suffix in SOURCE_SUFFIXES:
        if base.with_suffix(suffix).exists():
            return base.with_suffix(suffix)
    return None


def _is_executed(nb_path: Path) -> bool:
    import nbformat

    nb = nbformat.read(nb_path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    return not code or all(c.get("execution_count") is not None for c in code)


class _PageResources(HTMLParser):
    """Collects what an HTML page would fetch."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.scripts: list[str] = []            # <script src>
        self.links: list[tuple[str, str, str]] = []  # (rel, href, as)
        self.media: list[tuple[str, str]] = []  # (tag, src) for img/iframe/...
        self.inline: list[str] = []             # inline <script>/<style> bodies
        self.styles: list[str] = []             # style="..." attributes
        self.has_math = False
        self._in = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if "math" in a.get("class", "").split():
            self.has_math = True
        if a.get("style"):
            self.styles.append(a["style"])
        if tag == "script":
            if a.get("src"):
                self.scripts.append(a["src"])
            else:
                self._in = "script"
        elif tag == "style":
            self._in = "style"
        elif tag == "link" and a.get("href"):
            self.links.append((a.get("rel", "").lower(), a["href"], a.get("as", "")))
        elif tag in {"img", "iframe", "embed", "source", "video", "audio", "track", "input"}:
            for key in ("src", "data", "poster"):
                if a.get(key):
                    self.media.append((tag, a[key]))
            for part in a.get("srcset", "").split(","):
                if part.strip():
                    self.media.append((tag, part.split()[0]))
        elif tag == "object" and a.get("data"):
            self.media.append((tag, a["data"]))

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._in = None

    def handle_data(self, data):
        if self._in:
            self.inline.append(data)


def _parse(page: Path) -> _PageResources:
    parser = _PageResources()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def _local_target(page: Path, ref: str) -> Path:
    path = unquote(urlsplit(ref).path)
    return (page.parent / path).resolve()


def _css_network_refs(css: str) -> list[str]:
    css = CSS_COMMENT.sub("", css)
    refs = [m.group(2) for m in CSS_URL.finditer(css)]
    refs += [m.group(1) for m in CSS_IMPORT.finditer(css)]
    return [r for r in refs if NETWORK_URL.match(r)]


# --------------------------------------------------------------------------- fixture
@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Build the book once; return (html_dir, build_log)."""
    config, toc_path = REPO / "_config.yml", REPO / "_toc.yml"
    if not config.exists() or not toc_path.exists():
        pytest.skip("no _config.yml/_toc.yml at the repository root")
    toc = yaml.safe_load(toc_path.read_text(encoding="utf-8"))
    for docname in _toc_files(toc):
        src = _resolve_source(docname)
        if src is None:
            pytest.skip(
                f"book source {docname!r} listed in _toc.yml does not exist yet "
                f"(executed notebooks are produced by `make book` / `cnneff run`)"
            )
        if src.suffix == ".ipynb" and not _is_executed(src):
            pytest.skip(
                f"{src.relative_to(REPO)} is not executed; the book is built with "
                f"execute_notebooks: off, run the notebook first (`make book`)"
            )

    vendor = subprocess.run(
        ["bash", str(VENDOR_SCRIPT)], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert vendor.returncode == 0, (
        f"scripts/vendor_mathjax.sh failed (needs the npm registry once):\n"
        f"{vendor.stdout}\n{vendor.stderr}"
    )

    jb = Path(sys.executable).with_name("jupyter-book")
    jb_cmd = [str(jb)] if jb.exists() else [shutil.which("jupyter-book") or "jupyter-book"]
    out = tmp_path_factory.mktemp("book")
    proc = subprocess.run(
        [*jb_cmd, "build", str(REPO), "--path-output", str(out), "-W", "--keep-going"],
        cwd=REPO, capture_output=True, text=True, timeout=900,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"jupyter-book build -W failed:\n{log[-6000:]}"
    html = out / "_build" / "html"
    assert (html / "index.html").is_file(), f"no index.html in {html}"
    return html, log


@pytest.fixture(scope="module")
def pages(site):
    html, _ = site
    found = [
        p for p in sorted(html.rglob("*.html"))
        if p.relative_to(html).parts[0] not in {"_static", "_sources", "_images", "mathjax"}
    ]
    assert found, "the build produced no pages"
    return found


# --------------------------------------------------------------------------- tests
def test_build_has_no_warnings(site):
    _, log = site
    warnings = [line for line in log.splitlines() if WARNING_LINE.search(line)]
    assert not warnings, "build emitted warnings:\n" + "\n".join(warnings)


def test_pages_load_nothing_from_the_network(site, pages):
    html, _ = site
    offences = []
    for page in pages:
        rel = page.relative_to(html)
        res = _parse(page)
        offences += [f"{rel}: <script src={s}>" for s in res.scripts if NETWORK_URL.match(s)]
        for rels, href, as_ in res.links:
            fetched = set(rels.split()) & FETCHING_RELS or as_ or FONT_EXT.search(href)
            if fetched and NETWORK_URL.match(href):
                offences.append(f"{rel}: <link rel={rels} href={href}>")
        offences += [f"{rel}: <{t} {s}>" for t, s in res.media if NETWORK_URL.match(s)]
        for body in res.inline + res.styles:
            offences += [f"{rel}: inline {u}" for u in INLINE_RESOURCE_URL.findall(body)]
            offences += [f"{rel}: inline css {u}" for u in _css_network_refs(body)]
    assert not offences, "network resources referenced:\n" + "\n".join(offences)


def test_css_loads_nothing_from_the_network(site):
    html, _ = site
    css_files = sorted(html.rglob("*.css"))
    assert css_files, "no .css in the build?"
    offences = [
        f"{css.relative_to(html)}: {ref}"
        for css in css_files
        for ref in _css_network_refs(css.read_text(encoding="utf-8", errors="replace"))
    ]
    assert not offences, "CSS pulls from the network:\n" + "\n".join(offences)


def test_vendored_mathjax_is_in_the_build(site):
    html, _ = site
    component = html / MATHJAX_REL
    assert component.is_file() and component.stat().st_size > 100_000, component
    fonts = list((component.parent / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff"))
    assert fonts, "MathJax CHTML woff-v2 fonts missing from the build"
    assert not list(html.glob("_static/**/tex-mml-chtml.js")), "MathJax must not sit in _static/"


def test_mathjax_script_resolves_on_every_page(site, pages):
    html, _ = site
    component = (html / MATHJAX_REL).resolve()
    checked, problems = 0, []
    for page in pages:
        rel = page.relative_to(html)
        res = _parse(page)
        mj = [s for s in res.scripts if "mathjax" in s.lower() or "tex-mml" in s.lower()]
        if res.has_math and not mj:
            problems.append(f"{rel}: has math but no MathJax <script>")
        for src in mj:
            checked += 1
            target = _local_target(page, src)
            if NETWORK_URL.match(src) or target != component:
                problems.append(f"{rel}: MathJax src {src!r} -> {target} (want {component})")
    assert not problems, "\n".join(problems)
    assert checked, "no page loads MathJax (is there any math in the book?)"


def test_notebook_chapters_are_downloadable(site):
    html, _ = site
    toc = yaml.safe_load((REPO / "_toc.yml").read_text(encoding="utf-8"))
    notebooks = [
        d for d in _toc_files(toc)
        if (s := _resolve_source(d)) is not None and s.suffix == ".ipynb"
    ]
    if not notebooks:
        pytest.skip("no notebook chapters in _toc.yml")
    for docname in notebooks:
        docname = str(Path(docname).with_suffix(""))
        page = html / f"{docname}.html"
        assert page.is_file(), page
        ipynb = html / "_sources" / f"{docname}.ipynb"
        assert ipynb.is_file(), f"{ipynb} missing (download button target)"
        assert f"_sources/{docname}.ipynb" in page.read_text(encoding="utf-8"), (
            f"{page.name} has no download link to its .ipynb"
        )


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium not installed")
def test_pages_in_a_browser_are_offline_complete_and_typeset(site, tmp_path):
    """Headless Chromium over a logging local server: no request leaves the
    machine, no local resource is missing, and MathJax typeset every formula."""
    html, _ = site
    proc = subprocess.run(
        [sys.executable, str(CHECK_SCRIPT), "--html", str(html), "--out", str(tmp_path), "--no-shots"],
        cwd=REPO, capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, f"browser check failed:\n{proc.stdout}\n{proc.stderr}"
    assert "none leaving the machine" in proc.stdout


def test_browser_check_catches_a_cdn_script_and_a_missing_file(tmp_path):
    """The checker itself must fail on a page that fetches from the network or
    references a file the site lacks (a check that cannot fail checks nothing)."""
    if shutil.which("chromium") is None:
        pytest.skip("chromium not installed")
    site = tmp_path / "html"
    site.mkdir()
    (site / "index.html").write_text(
        "<html><head><script src='https://cdn.example.org/lib.js'></script>"
        "<link rel='stylesheet' href='_static/missing.css'></head><body><p>plain page</p></body></html>")
    proc = subprocess.run([sys.executable, str(CHECK_SCRIPT), "--html", str(site), "--out", str(tmp_path / "out"),
                           "--no-shots"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "cdn.example.org" in proc.stderr and "missing.css" in proc.stderr
