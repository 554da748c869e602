"""The README is the front page: its results tables say what the scorecard says.

scripts/readme_results.py writes them between two marker comments from the
rows of ``cnneff claims --json`` (:func:`cnneff.scorecard.rows`); the
headline claims are those each paper's chapter quotes.  The first test reads
the committed results (results/cpu/); the others run on small hand-made rows.
"""
import re
from pathlib import Path

import pytest

from cnneff.scorecard.publish import headline_ids

from helpers.scripts import load_script

REPO = Path(__file__).resolve().parents[1]
readme_results = load_script("readme_results")


def _row(cid, verdict="reproduced", kind="count", **more):
    row = dict(id=cid, paper=cid[:3], what=f"what {cid} says", kind=kind, paper_value=759.17, ours=759.101,
               unit="M MACs", verdict=verdict, proxy=False, ci_low=None, ci_high=None, notebook="nb_a",
               scope="paper", command="make reproduce PROFILE=gpu DATA_ROOT=/path/to/data NOTEBOOK=nb_a")
    row.update(more)
    return row


@pytest.fixture
def book(tmp_path):
    (tmp_path / "paper_000.md").write_text(
        "Ours {glue:text}`../results/cpu/scorecard.ipynb::000-b__ours:s`, then "
        "{glue:text}`../results/cpu/scorecard.ipynb::000-a__effect:s`, the gate "
        "{glue:text}`../results/cpu/scorecard.ipynb::gate__x_above_majority:s`, "
        "{glue:text}`../results/cpu/scorecard.ipynb::000-b__verdict:s` again, "
        "{glue:text}`../results/cpu/scorecard.ipynb::000-own__effect:s`.")
    return tmp_path


def test_the_readme_shows_what_the_scorecard_says(monkeypatch):
    """README.md between its markers is exactly what the script writes from
    ``cnneff claims --json`` of the committed cpu results (run the script to
    update it)."""
    from cnneff.claims import load
    from cnneff.paths import RESULTS
    from cnneff.scorecard import rows

    monkeypatch.setenv("CNNEFF_RESULTS_DIR", str(RESULTS))  # read (never write) the committed results

    text = (REPO / "README.md").read_text()
    assert readme_results.BEGIN in text and readme_results.END in text, "README.md lost its results markers"
    written = text.split(readme_results.BEGIN, 1)[1].split(readme_results.END, 1)[0]
    expected = readme_results.section(rows("cpu"), load()["papers"], "cpu")
    assert readme_results.BEGIN + written + readme_results.END == expected, \
        "README.md's results are out of date: run python scripts/readme_results.py"


def test_headline_claims_are_those_the_chapter_quotes_in_its_order(book):
    assert headline_ids("000", book) == ["000-b", "000-a", "000-own"]  # gates are not claims
    assert headline_ids("009", book) == []


def test_the_chapters_quote_claims_that_exist():
    from cnneff.claims import load

    ids = {c["id"] for c in load()["claims"]}
    for paper in load()["papers"]:
        quoted = headline_ids(paper)
        assert set(quoted) <= ids, (paper, sorted(set(quoted) - ids))


def test_one_table_per_paper_with_the_command_proxy_marks_and_no_book_questions(book):
    rows = [_row("000-a", "inconclusive", "superiority", paper_value="A > B", ours=-2.29, unit="points",
                 ci_low=-6.6, ci_high=2.02, proxy=True),
            _row("000-b", "needs the full run"), _row("000-own", scope="book"), _row("000-c")]
    out = readme_results.section(rows, {"000": "Paper zero", "001": "Paper one"}, "cpu", book)
    assert out.startswith(readme_results.BEGIN) and out.endswith(readme_results.END)
    assert out.count("| claim | the paper | ours | verdict | reproduce with |") == 1  # 001 quotes nothing here
    lines = [line for line in out.splitlines() if line.startswith("| `")]
    assert [re.match(r"\| `([\w-]+)`", line).group(1) for line in lines] == ["000-b", "000-a"]  # chapter order
    assert "| `make reproduce PROFILE=gpu DATA_ROOT=/path/to/data NOTEBOOK=nb_a` |" in lines[0]  # pending: full run
    assert "-2.29 points [-6.60, 2.02] *proxy*" in lines[1] and "`cnneff run nb_a`" in lines[1]
    assert "759.17 M MACs" in lines[0] and "k M" not in out  # the paper's number as typed, one unit
    assert "of the papers' 3 claims" in out  # the book's own question is not counted


def test_the_paper_s_arithmetic_is_reproduced_by_cnneff_claims_and_pipes_are_escaped(book):
    row = _row("000-b", "paper inconsistent", "paper_inconsistent", what="a | b")
    out = readme_results.section([row], {"000": "Paper zero"}, "cpu", book)
    assert "`cnneff claims`" in out and "a \\| b" in out


def test_replace_touches_only_the_part_between_the_markers():
    text = f"# title\n\nintro\n\n{readme_results.BEGIN}\nold\n{readme_results.END}\n\n## Two commands\n"
    new = f"{readme_results.BEGIN}\nnew\n{readme_results.END}"
    once = readme_results.replace(text, new)
    assert once == f"# title\n\nintro\n\n{new}\n\n## Two commands\n" and readme_results.replace(once, new) == once
    bare = readme_results.replace("# title\n\nintro\n\n## Two commands\n", new)
    assert bare.index(readme_results.BEGIN) < bare.index("## Two commands")
