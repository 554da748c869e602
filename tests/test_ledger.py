"""The ledger of the papers' statements and errata (lib/cnneff/ledger.yaml, cnneff.scorecard.ledger):
every claim of claims.yaml is cited by a statement, every id the ledger cites is a claim (or a pending
proposal), every quote is the paper's own words, and the two book pages render from the glue the scorecard
notebook writes."""
import os
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from cnneff import claims
from cnneff.paths import RESULTS
from cnneff.scorecard.ledger import (cited_ids, errata_html, ledger_counts, ledger_glue_values, ledger_html,
                                     load_ledger, reach_scope)

LEDGER = load_ledger()
CLAIM_IDS = {c["id"] for c in claims.load()["claims"]}
REPO = RESULTS.parent
PAPERS = Path(os.environ.get("CNNEFF_PAPERS", "/work/shared/papers"))


def test_every_claim_is_cited_by_a_statement():
    uncited = sorted(CLAIM_IDS - cited_ids())
    assert not uncited, f"claims no ledger entry cites (add them to lib/cnneff/ledger.yaml): {uncited}"


def test_every_cited_id_is_a_claim_or_pending():
    known = CLAIM_IDS | set(LEDGER["pending"])
    for where, ids in [(f"entry {e['paper']} {e['where']}", e.get("claims") or []) for e in LEDGER["entries"]] + \
            [(f"erratum {x['id']}", x.get("claims") or []) for x in LEDGER["errata"]]:
        unknown = sorted(set(ids) - known)
        assert not unknown, f"{where} cites unknown claim ids {unknown}"
        assert len(ids) == len(set(ids)), f"{where} cites an id twice"


def test_pending_claims_are_cited_and_name_a_notebook():
    notebooks = {p.stem for p in (REPO / "notebooks").glob("*.ipynb")}
    cited = cited_ids(errata=True)
    for cid, notebook in LEDGER["pending"].items():
        assert cid in cited, f"pending {cid} is cited by no entry"
        assert notebook in notebooks, f"pending {cid}: no notebook {notebook}"


def test_entries_and_errata_are_well_formed():
    papers = set(claims.load()["papers"])
    assert set(LEDGER["sources"]) == papers
    for e in LEDGER["entries"]:
        assert e["paper"] in papers and e["where"] and e["quote"], e
        assert set(e) <= {"paper", "where", "quote", "claims", "reach", "note"}, set(e)
        if e.get("reach"):
            assert "out of reach" in e["reach"], e["reach"]
    ids = [x["id"] for x in LEDGER["errata"]]
    assert len(ids) == len(set(ids))
    for x in LEDGER["errata"]:
        assert x["paper"] in papers and x["id"].startswith(f"E{x['paper']}-"), x["id"]
        assert x["severity"] in ("arithmetic", "contradiction", "wording", "plausibility"), x["id"]
        assert x["statements"] and x["arithmetic"] and x["result"], x["id"]


def _collapsed(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@pytest.mark.skipif(not PAPERS.is_dir(), reason=f"the paper texts are not at {PAPERS} (set CNNEFF_PAPERS)")
def test_every_quote_is_the_papers_own_words():
    texts = {p: _collapsed((PAPERS / name).read_text()) for p, name in LEDGER["sources"].items()}
    missing = [(e["paper"], e["where"], e["quote"][:60]) for e in LEDGER["entries"]
               if _collapsed(str(e["quote"])) not in texts[e["paper"]]]
    assert not missing, missing


def test_reach_scope():
    assert reach_scope({"reach": "out of reach: a Huawei P40"}) == "whole"
    assert reach_scope({"reach": "top-1: out of reach (ImageNet-1000 training)"}) == "part"
    assert reach_scope({}) == ""


def _card(verdict: str = "consistent") -> pd.DataFrame:
    """A scorecard stand-in: every claim with one verdict and a reason."""
    return pd.DataFrame([dict(id=c["id"], paper=c["paper"], kind=c["kind"], verdict=verdict,
                              reason=f"reason of {c['id']}", paper_value=c.get("value"), ours=None,
                              unit=c.get("unit", ""))
                         for c in claims.load()["claims"]])


def test_the_tables_show_every_statement_erratum_and_verdict():
    card = _card()
    card.loc[card["id"] == "000-sparse-time-change", "verdict"] = "paper inconsistent"
    page = ledger_html(card, link="../results/cpu/scorecard.html")
    assert page.count("<tr>") == len(LEDGER["entries"]) + 1
    assert 'href="../results/cpu/scorecard.html#claim-000-v2s-params"' in page
    pending = next(iter(LEDGER["pending"]))
    assert pending in page and "proposed" in page
    assert page.count("in part</em>") == sum(reach_scope(e) == "part" for e in LEDGER["entries"])
    errata = errata_html(card)
    assert errata.count("<tr>") == len(LEDGER["errata"]) + 1
    assert "reason of 000-sparse-time-change" in errata  # a paper_inconsistent claim's recomputation is shown
    citing = sum("000-sparse-time-change" in x["claims"] for x in LEDGER["errata"])
    assert errata.count("shown by the scorecard") == citing  # only where a cited claim IS paper inconsistent today
    assert "paper inconsistent" in errata and "consistent" in errata
    assert errata_html(card, "001").count("<tr>") == sum(x["paper"] == "001" for x in LEDGER["errata"]) + 1


def test_counts_add_up():
    n = ledger_counts(_card())
    assert n["ledger_n_entries"] == len(LEDGER["entries"]) and n["errata_n"] == len(LEDGER["errata"])
    no_claims_reach = sum(1 for e in LEDGER["entries"] if not e.get("claims") and e.get("reach"))
    assert n["ledger_n_tested"] + n["ledger_n_pending_only"] + n["ledger_n_untested"] + no_claims_reach \
        == n["ledger_n_entries"]
    assert sum(n[f"errata_n_{s}"] for s in ("arithmetic", "contradiction", "wording", "plausibility")) == n["errata_n"]
    assert n["ledger_n_claims"] == len(cited_ids() & CLAIM_IDS)
    assert n["errata_n_shown"] == 0  # nothing is paper inconsistent in this card


def _glue_keys(page: Path) -> set[str]:
    text = page.read_text()
    return set(re.findall(r"scorecard\.ipynb::([\w.-]+?)(?::\w)?`", text)) | set(re.findall(r"```\{glue\} (\S+)", text))


def test_the_pages_glue_only_keys_the_scorecard_writes():
    from cnneff.scorecard.publish import glue_values

    card = _card()
    written = set(ledger_glue_values(card)) | set(glue_values(card))
    for name in ("ledger", "errata"):
        keys = _glue_keys(REPO / "book" / f"{name}.md")
        assert keys, f"book/{name}.md glues nothing"
        assert keys <= written, (name, sorted(keys - written))


def test_the_pages_follow_the_scorecard_in_the_table_of_contents():
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    results = next(p for p in toc["parts"] if p["caption"] == "Results")
    files = [c["file"] for c in results["chapters"]]
    assert files[files.index("results/cpu/scorecard") + 1:][:2] == ["book/ledger", "book/errata"]


def test_the_scorecard_notebook_glues_the_ledger():
    import json

    cells = json.loads((REPO / "notebooks" / "scorecard.ipynb").read_text())["cells"]
    assert any("publish_ledger(card, profile)" in "".join(c["source"]) for c in cells)
