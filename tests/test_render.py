"""The scorecard for people (cnneff.scorecard.render and .publish): numbers
without doubled units or scientific notation, tables that fit (fixed layout,
one unit per column, plain headings), one collapsible section per paper and
per verdict, the book's own questions apart, the pending claims grouped by
the one command that tests them, and the counts split by kind of evidence.
All on a small hand-made scorecard: no notebook, no results needed."""
import html
import re

import pandas as pd
import pytest

from cnneff.scorecard import KINDS
from cnneff.scorecard.publish import EVIDENCE, evidence_counts, evidence_html, evidence_of, glue_values
from cnneff.scorecard.render import HEADS, claims_html, human, pending_html, prose_values, summary_html, to_html
from cnneff.scorecard.verdicts import counts

NAN = float("nan")
FULL = "make reproduce PROFILE=gpu DATA_ROOT=/path/to/data NOTEBOOK={}"


def _row(cid, paper, kind, verdict, paper_value, ours, unit, notebook="nb_a", scope="paper", **more):
    row = dict(id=cid, paper=paper, where="Table 1", what=f"what {cid} says", kind=kind, paper_value=paper_value,
               ours=ours, unit=unit, verdict=verdict, proxy=False, reason=f"reason of {cid}", effect=NAN,
               ci_low=NAN, ci_high=NAN, n_seeds=NAN, n_test=NAN, mde=NAN, seeds_needed=NAN,
               cpu_hours_needed=None, gpu_hours_needed=None, gates=[], notebook=notebook, scope=scope,
               full_run_gpu_minutes=NAN, command=FULL.format(notebook))
    row.update(more)
    return row


@pytest.fixture
def card():
    note = "; the full run of nb_b (every claim it measures) is about 4,038 GPU-minutes on one GPU (estimate, cnneff.plan)"
    return pd.DataFrame([
        _row("000-macs", "000", "count", "reproduced", 759.17, 1846.150298, "M MACs"),
        _row("000-params", "000", "count", "partly", 20180000, 21458490, "params"),
        _row("000-gain", "000", "superiority", "inconclusive", "A > B", -2.29, "points", effect=-2.29, ci_low=-6.6,
             ci_high=2.02, n_seeds=3.0, seeds_needed=27.0, gpu_hours_needed=1.25, proxy=True),
        _row("000-acc", "000", "value", "needs the full run", 97.25, 71.5, "% accuracy", notebook="nb_b",
             reason="measured on a stand-in" + note, full_run_gpu_minutes=4037.68, proxy=True),
        _row("000-acc2", "000", "value", "needs the full run", 96.0, 70.1, "% accuracy", notebook="nb_b",
             reason="measured on a stand-in" + note, full_run_gpu_minutes=4037.68, proxy=True),
        _row("001-time", "001", "ratio", "needs the full run", 0.58, 1.09, "x standard", notebook="nb_c",
             effect=1.09, ci_low=0.98, ci_high=1.21, n_seeds=5.0),
        _row("001-sum", "001", "paper_inconsistent", "consistent", 2640261120, None, "MACs"),
        _row("000-own", "000", "ratio", "inconclusive", 2.0, 1.9996, "x fp32 latency", scope="book"),
    ])


def test_human_never_doubles_a_unit_nor_writes_scientific_notation():
    assert human(1846.150298, None, "M MACs") == "1,846"  # not "1.8 k" before "M MACs"
    assert human(2_640_261_120, None, "MACs") == "2,640,261,120"  # a count keeps every digit
    assert human(21_458_490.5, 24e6, "params") == "21.5 M"
    assert human(0.000123456) == "0.000123" and "e" not in human(3.2e-7) and "e" not in human(4.5e15, None, "MACs")
    assert human(None) == human(NAN) == "\u2013" and human("A > B") == "A > B"


def test_human_tells_ours_from_the_paper_and_keeps_the_paper_s_typed_digits():
    assert human(20.177, 20.18, "M params") == "20.177" and human(20.18, 20.177, "M params", typed=True) == "20.18"
    assert human(1.0038, 1.01, "x standard MACs") == "1.00" and human(0.5, 0.503, "x", typed=True) == "0.5"
    assert human(-12.98, -32.66, "% params", typed=True) == "-12.98"
    assert human(-12.98, -32.66, "% params") == "-13.0"  # ours rounds to 3 digits; the paper's number never does
    assert human(0.3746, 0.4257, "x baseline time", typed=True) == "0.3746"


def test_the_table_fits_names_its_columns_plainly_and_gives_the_unit_a_column(card):
    out = to_html(card)
    assert "table-layout:fixed" in out and "width:100%" in out and "<colgroup>" in out
    widths = [float(w) for w in re.findall(r'<col style="width:([\d.]+)%">', out)]
    assert len(widths) == 7 and abs(sum(widths) - 100) < 0.5
    heads = [html.unescape(h) for h in re.findall(r"<th [^>]*>([^<]*)</th>", out)]
    assert heads == [HEADS[c][0] for c in ("id", "what", "paper_value", "ours", "unit", "verdict", "reason")]
    assert "the paper's number" in heads and "our number" in heads and "unit" in heads
    cells = re.findall(r"<td [^>]*>(.*?)</td>", out)
    assert "1,846" in cells and "M MACs" in cells and not any("1,846 M" in c for c in cells)  # one unit, own column
    assert '<a id="claim-000-macs"></a>' in out and "<em>(proxy)</em>" in out


def test_claims_come_in_one_collapsible_section_per_paper_and_per_verdict(card):
    out = claims_html(card, papers={"000": "Paper zero", "001": "Paper one"})
    assert out.count('<details class="cnneff-paper">') == 3  # two papers and the book's own questions
    assert out.count('<details class="cnneff-verdict"') == 7  # 000: 4 verdicts; 001: 2; the book's: 1
    assert "Paper 000: Paper zero" in out and "The book's own questions" in out
    paper_000 = out.split("Paper 001")[0]
    assert "000-own" not in paper_000 and "000-own" in out  # the book's own questions apart
    gain = out[out.index("claim-000-gain"):].split("</tr>")[0]
    assert "[-6.60, 2.02]" in gain and ">27<" in gain and ">1.2<" in gain  # interval, seeds to decide, GPU hours
    static_head = out[:out.index("claim-000-macs")].rsplit("<table", 1)[1]
    assert "seeds to decide" not in static_head and "our 95 % interval" not in static_head  # only where a row has one


def test_pending_claims_are_grouped_by_their_one_command_shown_once(card):
    out = pending_html(card)
    assert out.count('<details class="cnneff-pending">') == 2  # nb_b and nb_c
    assert out.count(f'<div class="highlight"><pre>{FULL.format("nb_b")}</pre></div>') == 1
    assert "<code>nb_b</code>: 2 claims, about 4,038 GPU-minutes" in out
    assert "every claim it measures" not in out  # the note said once per group, not once per row
    assert "000-macs" not in out and "Nothing" in pending_html(card[card["verdict"] != "needs the full run"])


def test_every_kind_has_a_kind_of_evidence_and_the_counts_add_up(card):
    assert {evidence_of(k) for k in KINDS} <= set(EVIDENCE)
    assert evidence_of("count") == "static counts" and evidence_of("paper_inconsistent") == "the paper's own arithmetic"
    assert evidence_of("superiority") == "trained comparisons" and evidence_of("ratio") == "timings and ratios"
    table = evidence_counts(card)
    assert table["all"].sum() == sum(counts(card).values()) == 7  # the papers' claims; the book's apart
    assert table.loc["needs the full run", "results on the paper's data"] == 2
    assert evidence_counts(card, "001")["all"].sum() == 2
    out = evidence_html(card, "000")
    assert "table-layout:fixed" in out and "static counts" in out and "timings and ratios" not in out


def test_the_glued_counts_split_by_kind_for_the_landing_page_and_every_chapter(card):
    values = glue_values(card)
    assert values["n_claims"] == 7 and values["n_own_questions"] == 1 and values["n_inconclusive"] == 1
    for key in ("all", "000", "001"):
        assert "cnneff-counts" in values[f"summary_{key}"].data and f"evidence_{key}" in values
    assert "<strong>7 claims:</strong>" in summary_html(card) and "1 of the book's own questions" in summary_html(card)


def test_prose_values_quote_numbers_for_people(card):
    quoted = prose_values(card)
    assert quoted["000-macs__ours"] == "1,846" and quoted["000-gain__effect"] == "-2.3 points [-6.6, +2.0]"
    assert quoted["001-time__effect"] == "x1.09 [0.98, 1.21]" and quoted["000-macs__mde"] == "\u2013"
    assert not any(re.search(r"\de[+-]\d", v) for v in quoted.values())


def test_parameter_values_quote_the_settings_a_run_used(monkeypatch):
    """The chapters quote each notebook's settings from its metrics.json, never typed: lists joined, None
    as "all", a training spec resolved to its fields; a notebook not run is skipped."""
    import importlib

    pub = importlib.import_module("cnneff.scorecard.publish")  # the module (the package exports the function)

    def fake(nb, profile):
        if nb == "missing":
            raise FileNotFoundError(nb)
        return {"parameters": {"seeds": [0, 1, 2], "subset": 1000, "test_images": None, "image_size": 16,
                               "train": {"preset": "se_blocks", "epochs": 7}}}

    monkeypatch.setattr("cnneff.results.load_metrics", fake)
    v = pub.parameter_values("cpu", ["simplified_efficientnet", "missing"])
    assert v["param__simplified_efficientnet__seeds"] == "0, 1, 2"
    assert v["param__simplified_efficientnet__n_seeds"] == "3"
    assert v["param__simplified_efficientnet__subset"] == "1,000"
    assert v["param__simplified_efficientnet__test_images"] == "all"
    assert v["param__simplified_efficientnet__train__epochs"] == "7"
    assert not any(k.startswith("param__missing") for k in v)
