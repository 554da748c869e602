"""The claims file and the scorecard built from it."""
import json

import pytest

from cnneff import claims
from cnneff.paths import NOTEBOOKS, RESULTS
from cnneff.scorecard import KINDS, VERDICTS, _judge, counts, scorecard

CLAIMS = claims.load()["claims"]
REQUIRED = {"id", "paper", "where", "what", "value", "notebook", "kind"}


def test_claims_are_well_formed():
    ids = [c["id"] for c in CLAIMS]
    assert len(ids) == len(set(ids)), "claim ids must be unique"
    papers = claims.load()["papers"]
    for c in CLAIMS:
        assert REQUIRED <= set(c), c["id"]
        assert c["kind"] in KINDS, c["id"]
        assert c["paper"] in papers, c["id"]
        assert (NOTEBOOKS / f"{c['notebook']}.ipynb").is_file(), f"{c['id']}: no notebook {c['notebook']}"
        if c["kind"] in ("relative", "absolute"):
            assert float(c["tolerance"]) > 0, c["id"]
    assert {c["paper"] for c in CLAIMS} == set(papers), "every paper has claims"


@pytest.mark.parametrize("claim", [c for c in CLAIMS if c.get("metric")], ids=lambda c: c["id"])
def test_every_claim_names_a_metric_its_notebook_writes(claim):
    path = RESULTS / "cpu" / claim["notebook"] / "metrics.json"
    assert path.is_file(), f"run `cnneff run {claim['notebook']}`"
    assert claim["metric"] in json.loads(path.read_text()), f"{claim['notebook']} writes no metric {claim['metric']!r}"


@pytest.mark.parametrize("notebook", sorted({c["notebook"] for c in CLAIMS}))
def test_every_metric_a_notebook_writes_is_used_by_a_claim_or_a_page(notebook):
    """metrics.json is the scorecard's input: every key in it must be read by a
    claim, be provenance, or be named on a book page; values nobody reads go to
    details.json (see cnneff.results.save_metrics)."""
    from cnneff.results import PROVENANCE

    path = RESULTS / "cpu" / notebook / "metrics.json"
    assert path.is_file(), f"run `cnneff run {notebook}`"
    pages = "\n".join(p.read_text() for p in (RESULTS.parent / "book").glob("*.md"))
    used = claims.metric_keys(notebook) | set(PROVENANCE)
    unused = sorted(k for k in json.loads(path.read_text()) if k not in used and f"`{k}`" not in pages)
    assert not unused, f"{notebook} writes metrics no claim or page uses: {unused} (re-run it: `cnneff run {notebook}`)"


def test_every_table_parses():
    for name in claims.load()["tables"]:
        df = claims.paper_table(name)
        assert len(df) > 0, name


def test_verdict_rules():
    assert _judge("relative", 100, 101, 0.02) == "reproduced"
    assert _judge("relative", 100, 105, 0.02) == "partly"
    assert _judge("relative", 100, 110, 0.02) == "not reproduced"
    assert _judge("absolute", -70.2, -74.0, 5) == "reproduced"
    assert _judge("exact", 13580, 13580, 0) == "reproduced"
    assert _judge("exact", 2640261120, 2634117120, 0) == "not reproduced"
    assert _judge("boolean", True, False, 0) == "not reproduced"
    assert _judge("at_least", 1.0, 1.7, 0) == "reproduced"
    assert _judge("verdict", "x", "partly", 0) == "partly"
    assert _judge("relative", 1, None, 0.1) == "not run"


def test_scorecard_covers_every_claim_with_a_known_verdict():
    card = scorecard("cpu")
    assert len(card) == len(CLAIMS)
    assert set(card["verdict"]) <= set(VERDICTS)
    assert sum(counts(card).values()) == len(CLAIMS)
    assert (card[card["kind"] == "full_run"]["verdict"] == "needs the full run").all()
    assert card["command"].str.contains("make reproduce").all()
