"""Paper tables and schedules used by the simplified_efficientnet (001) and
efficientnetv2_training (003) notebooks."""
import re

import pytest
import yaml

from cnneff import claims
from cnneff.paths import PARAMS
from cnneff.runner import notebook_parameters
from cnneff.train import ProgressiveLearning, TrainConfig
from cnneff.train.optim import lr_factor


def test_simplified_table3_times_match_their_labels():
    t = claims.paper_table("simplified_table3").set_index("block")
    assert list(t.index) == ["standard", "se"]
    for _, row in t.iterrows():
        h, m = (int(x) for x in re.findall(r"\d+", row["train_time"]))
        assert row["train_minutes"] == 60 * h + m
    assert t.loc["se", "accuracy"] - t.loc["standard", "accuracy"] == pytest.approx(1.78)


def test_simplified_table2_schedule_is_the_linear_schedule():
    p = claims.paper_table("simplified_table2").set_index("parameter")["value"]
    epochs, warm = p["Epochs (incl. warm-up)"], p["Warm-up epochs"]
    ratio = p["Learning rate, final"] / p["Learning rate, initial"]
    spe = 10
    assert lr_factor(warm * spe - 1, spe, epochs, "linear", warm, ratio) == pytest.approx(1.0)
    assert lr_factor(epochs * spe, spe, epochs, "linear", warm, ratio) == pytest.approx(0.1)


def test_v2_progressive_settings_run_through_algorithm_1():
    s = claims.paper_table("v2_progressive_settings").set_index("model").loc["V2-S"]
    pl = ProgressiveLearning(int(s["stages"]), image_size=(s["size_min"], s["size_max"]),
                             dropout=(s["dropout_min"], s["dropout_max"]),
                             randaug=(s["randaug_min"], s["randaug_max"]), mixup=(s["mixup_min"], s["mixup_max"]),
                             size_multiple=4)
    table = pl.schedule(int(s["epochs"]))
    assert table["image_size"].tolist() == [128, 184, 244, 300]
    assert table["dropout"].iloc[0] == pytest.approx(0.1) and table["dropout"].iloc[-1] == pytest.approx(0.3)
    assert table["randaug_magnitude"].tolist() == pytest.approx([5, 5 + 10 / 3, 5 + 20 / 3, 15])


def test_cpu_defaults_of_the_v2_notebook_give_four_distinct_sizes():
    p = notebook_parameters("efficientnetv2_training")
    pl = ProgressiveLearning(p["stages"], image_size=(p["initial_size"], p["final_size"]),
                             dropout=tuple(p["dropout"]), randaug=tuple(p["randaug"]), mixup=tuple(p["mixup"]),
                             size_multiple=p["size_multiple"])
    sizes = pl.schedule(TrainConfig.from_spec(p["train"]).epochs)["image_size"].tolist()
    assert sizes[0] == p["initial_size"] and sizes[-1] == p["final_size"]
    assert len(set(sizes)) == p["stages"]
    assert min(sizes) >= 32  # cnneff.counting counts MACs from 32 px up


@pytest.mark.parametrize("name", ["simplified_efficientnet", "efficientnetv2_training"])
def test_gpu_profiles_use_cuda_and_paper_scale(name):
    """The paper-data run (common keys + paper_data) trains on the whole data set for the paper's epochs."""
    values = yaml.safe_load((PARAMS / "gpu" / f"{name}.yaml").read_text())
    paper = {**{k: v for k, v in values.items() if k not in ("paper_data", "embedded")}, **values["paper_data"]}
    assert paper["device"] == "cuda"
    assert paper["subset"] is None and paper["test_images"] is None
    assert TrainConfig.from_spec({**notebook_parameters(name)["train"], **paper["train"]}).epochs >= 55
