"""The browser check's text rules (scripts/check_book.py), tested both ways on small pages."""
from helpers.scripts import load_script

check_book = load_script("check_book")


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


def test_scientific_notation_fails_in_prose_and_tables_and_on_the_scorecard_even_in_code():
    assert check_book.text_problems("results/cpu/scorecard.html", page("<td>2.64e+09</td>"))
    assert check_book.text_problems("results/cpu/scorecard.html", page("<pre>lr = 1e-04</pre>"))
    assert not check_book.text_problems("results/cpu/scorecard.html", page("<td>2,640 M</td>"))
    assert check_book.text_problems("results/cpu/other.html", page("<table><tr><td>lr 1e-04</td></tr></table>"))
    assert check_book.text_problems("results/cpu/other.html", page("<p>a rate of 5e-4 here.</p>"))
    assert not check_book.text_problems("results/cpu/other.html", page("<pre>lr = 1e-04</pre><p>a rate of 0.0005.</p>"))
    assert check_book.text_problems("results/cpu/other.html", page("<table><tr><td>NaN</td></tr></table>"))
    assert not check_book.text_problems("results/cpu/other.html", page("<table><tr><td>\u2013</td></tr></table>"))


def cell(source: str, output: str) -> str:
    """A notebook cell as Jupyter Book writes it: its input, then its output."""
    return (f"<div class='cell docutils container'><div class='cell_input docutils container'>"
            f"<div class='highlight'><pre>{source}</pre></div></div>"
            f"<div class='cell_output docutils container'><div class='output text_plain'>{output}</div></div></div>")


def test_doubled_units_fail_and_one_unit_passes():
    assert check_book.number_problems(page("<table><tr><td>1.8 k M MACs</td></tr></table>"))
    assert check_book.number_problems(page("<p>it has 20.2 M M params.</p>"))
    assert check_book.number_problems(page(cell("x", "<pre>cost 3 G G MACs</pre>")))
    assert not check_book.number_problems(page("<table><tr><td>1,846 M MACs</td><td>20.2 M params</td></tr></table>"))


def test_long_bare_floats_fail_in_prose_only():
    assert check_book.number_problems(page("<p>the accuracy was 71.18432 points.</p>"))
    assert check_book.number_problems(page("<ul><li>a ratio of 0.123456 here</li></ul>"))
    assert check_book.significant_digits("0.012340") == 5 and check_book.significant_digits("1,234.5") == 5
    fine = page("<p>71.18 % against 72.96 %, 2,640,261,120 MACs, torch 2.15.0, arXiv:1905.11946, "
                "<code>lr = 0.000123456</code>, 0.0001234.</p>"
                "<table><tr><td>71.18432</td></tr></table>" + cell("x = 3.14159265", "<pre>3.14159265</pre>"))
    assert not check_book.number_problems(fine)


def test_raw_python_reprs_fail_in_prose_and_outputs_not_in_code():
    assert check_book.number_problems(page(cell("print(d)", "<pre>{'accuracy': 0.71}</pre>")))
    assert check_book.number_problems(page(cell("print(xs)", "<pre>[1.3, 2.5, 3.1]</pre>")))
    assert check_book.number_problems(page(cell("print(x)", "<pre>[0.712345678]</pre>")))
    assert check_book.number_problems(page(cell("splits", "<pre>Splits(train=..., val=...)</pre>")))
    assert check_book.number_problems(page("<p>we got {'a': 1} here.</p>"))
    fine = page(cell("d = {'accuracy': 0.71}; Splits(train=t)", "<pre>accuracy 0.71</pre>")
                + "<p>the interval [0.4, 5.8] excludes 0; <code>{'a': 1}</code>.</p>")
    assert not check_book.number_problems(fine)


def test_tqdm_bars_fail_and_plain_logs_pass():
    bar = "epoch 1: 100%|\u2588\u2588\u2588\u2588\u2588\u2588| 40/40 [00:03&lt;00:00, 12.1it/s]"
    assert check_book.number_problems(page(cell("fit(m)", f"<pre>{bar}</pre>")))
    assert check_book.number_problems(page(cell("fit(m)", "<pre>HBox(children=(FloatProgress(value=0.0),))</pre>")))
    assert not check_book.number_problems(page(cell("fit(m)", "<pre>epoch 1: loss 0.41, 100 % of the batches</pre>")))


def test_nbval_markers_fail_in_code_cells_and_pass_in_prose():
    assert check_book.number_problems(page(cell("# NBVAL_CHECK_OUTPUT\ncount(m)", "<pre>5,288,548</pre>")))
    assert not check_book.number_problems(page(cell("count(m)", "<pre>5,288,548</pre>")
                                               + "<p>cells marked <code># NBVAL_CHECK_OUTPUT</code> are compared.</p>"))


def test_cut_sentences_fail_in_chapters():
    cut = page("<table><tr><td>ELPV is a real two-class image task that is</td></tr></table>")
    assert check_book.text_problems("book/paper_000.html", cut, chapter=True)
    assert not check_book.text_problems("results/cpu/x.html", cut)  # only hand-written chapters
    assert check_book.text_problems("book/x.html", page("<p>The results are in the notebook and</p>"), chapter=True)
    fine = page("<p>A whole sentence ends here.</p><p>Short</p><td>5 images</td>")
    assert not check_book.text_problems("book/x.html", fine, chapter=True)


def test_number_rules_spare_api_signatures_and_the_api_reference():
    signature = page("<dl><dt class='sig sig-object py'><em class='sig-param'>s: float = 1e-4</em></dt>"
                     "<dd><p>the L1 strength.</p></dd></dl>")
    assert not check_book.number_problems(signature)
    prose = page("<p>about 1e-4 of the total.</p>")
    assert check_book.text_problems("book/paper_001.html", prose)
    assert not check_book.text_problems("book/api/train.html", prose)  # docstrings quote code values


def test_tex_delimiters_quoted_in_code_are_not_math_but_bare_ones_are():
    """A docstring that quotes ``$$...$$`` in inline code has no math to typeset; the same delimiters in
    prose with nothing typeset are still caught."""
    quoted = '<p>writes <code class="docutils literal"><span class="pre">$$...$$</span></code> and ' \
             '<code>\\(x\\)</code> as text</p>'
    assert check_book.math_problem(quoted, "<html>" + quoted + "</html>") is None
    bare = "<p>the formula $$w = c$$ and \\(x\\) here</p>" + " " * 200
    assert check_book.math_problem(bare, "<html>" + bare + "</html>") is not None
