"""The browser check's text rules (scripts/check_book.py), tested both ways on small pages."""
import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "check_book.py"
spec = importlib.util.spec_from_file_location("check_book", SCRIPT)
check_book = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_book)


def page(body: str) -> str:
    return f"<html><body><main id='main-content'>{body}</main></body></html>"


def test_raw_tex_in_prose_fails_and_typeset_or_code_passes():
    assert check_book.text_problems("x.html", page("<p>with $w=\\sqrt{c}$, which gives</p>"))
    assert check_book.text_problems("x.html", page("<p>a value \\frac{1}{2} here.</p>"))
    assert not check_book.text_problems("x.html", page("<p>typeset <mjx-container>w</mjx-container>.</p>"
                                                       "<pre>echo $HOME and $PATH</pre>"))


def test_machine_paths_fail_anywhere():
    assert check_book.text_problems("x.html", page("<pre>sweep in /tmp/tmpab12/sweep</pre>"))
    assert check_book.text_problems("x.html", page("<p>see /work/main/results.</p>"))
    assert not check_book.text_problems("x.html", page("<p>see results/cpu/metrics.json.</p>"))


def test_scientific_notation_fails_on_the_scorecard_only():
    assert check_book.text_problems("results/cpu/scorecard.html", page("<td>2.64e+09</td>"))
    assert not check_book.text_problems("results/cpu/scorecard.html", page("<td>2,640 M</td>"))
    assert not check_book.text_problems("results/cpu/other.html", page("<td>lr 1e-04</td>"))
    assert check_book.text_problems("results/cpu/other.html", page("<table><tr><td>NaN</td></tr></table>"))
    assert not check_book.text_problems("results/cpu/other.html", page("<table><tr><td>\u2013</td></tr></table>"))


def test_cut_sentences_fail_in_chapters():
    cut = page("<table><tr><td>ELPV is a real two-class image task that is</td></tr></table>")
    assert check_book.text_problems("book/paper_000.html", cut, chapter=True)
    assert not check_book.text_problems("results/cpu/x.html", cut)  # only hand-written chapters
    assert check_book.text_problems("book/x.html", page("<p>The results are in the notebook and</p>"), chapter=True)
    fine = page("<p>A whole sentence ends here.</p><p>Short</p><td>5 images</td>")
    assert not check_book.text_problems("book/x.html", fine, chapter=True)
