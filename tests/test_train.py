import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from cnneff.compress import NetworkSlimming
from cnneff.train import Callback, ProgressiveLearning, evaluate, fit
from cnneff.train.optim import lr_factor
from cnneff.train.probe import linear_probe

sys.path.insert(0, str(Path(__file__).parent / "helpers"))
from tiny import tiny_data, tiny_model  # noqa: E402

HELPERS = Path(__file__).parent / "helpers"


def quick_fit(**kw):
    args = dict(epochs=2, batch_size=32, lr=0.1, progress=False, seed=1)
    args.update(kw)
    return fit(tiny_model(), tiny_data(), **args)


def test_fit_learns_and_reports_every_column():
    r = quick_fit(epochs=3)
    cols = {"epoch", "lr", "image_size", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "val_precision",
            "val_recall", "val_f1", "epoch_seconds", "images_per_second"}
    assert cols <= set(r.history.columns)
    assert len(r.history) == 3
    assert r.test["accuracy"] > 0.9  # the classes are easy
    assert set(r.test) >= {"accuracy", "precision", "recall", "f1", "loss", "seconds", "images_per_second"}
    assert r.train_seconds == pytest.approx(r.history["epoch_seconds"].sum())


def test_deterministic_on_cpu():
    a, b = quick_fit(), quick_fit()
    drop = ["epoch_seconds", "images_per_second"]
    assert a.history.drop(columns=drop).equals(b.history.drop(columns=drop))
    assert a.test["loss"] == b.test["loss"]
    for (k, v), w in zip(a.model.state_dict().items(), b.model.state_dict().values()):
        assert torch.equal(v, w), k


def test_resume_after_kill_9_matches_an_uninterrupted_run(tmp_path):
    worker = [sys.executable, str(HELPERS / "fit_worker.py")]
    full = tmp_path / "full.json"
    subprocess.run(worker + [str(tmp_path / "ck_full"), str(full)], check=True)
    # 192 images / 32 = 6 steps per epoch: die at step 9, in the middle of epoch 2
    killed = subprocess.run(worker + [str(tmp_path / "ck"), str(tmp_path / "x.json"), "9"])
    assert killed.returncode == -9
    assert (tmp_path / "ck" / "last.pt").is_file()
    saved = torch.load(tmp_path / "ck" / "last.pt", weights_only=True)
    assert saved["epoch"] == 0  # only epoch 1 had finished
    resumed = tmp_path / "resumed.json"
    subprocess.run(worker + [str(tmp_path / "ck"), str(resumed)], check=True)
    assert json.loads(resumed.read_text()) == json.loads(full.read_text())


def test_checkpoint_of_another_run_is_refused(tmp_path):
    quick_fit(epochs=1, checkpoint_dir=tmp_path)
    with pytest.raises(ValueError, match="another run"):
        quick_fit(epochs=1, lr=0.5, checkpoint_dir=tmp_path)


def test_ddp_two_cpu_processes_end_with_identical_weights(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                    str(HELPERS / "ddp_worker.py"), str(tmp_path)], check=True, env=env, timeout=300,
                   capture_output=True)
    a, b = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert not torch.equal(a["0.weight"], tiny_model()[0].weight.detach())  # it did train


def test_after_backward_hook_sees_unscaled_grads_and_bn_l1_shrinks_gamma():
    seen = []

    class Spy(Callback):
        def on_after_backward(self, state):
            seen.append(state.model[1].weight.grad.clone())

    plain = quick_fit(epochs=1, callbacks=[Spy()])
    slim = quick_fit(epochs=1, callbacks=[NetworkSlimming(s=0.05)])
    assert len(seen) == 6
    g_plain = plain.model[1].weight.detach().abs().sum()
    g_slim = slim.model[1].weight.detach().abs().sum()
    assert g_slim < g_plain
    with pytest.raises(ValueError, match="BatchNorm"):
        fit(nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 2)), tiny_data(), epochs=1, progress=False,
            callbacks=[NetworkSlimming()])


def test_progressive_learning_schedule_and_effect():
    pl = ProgressiveLearning(stages=3, image_size=(16, 32), dropout=(0.0, 0.3), randaug=(0, 10), mixup=(0.0, 0.2))
    table = pl.schedule(epochs=6)
    assert list(table["image_size"]) == [16, 24, 32]
    assert list(table["dropout"]) == pytest.approx([0.0, 0.15, 0.3])
    assert list(table["randaug_magnitude"]) == [0, 5, 10]
    assert list(table["epochs"]) == ["1-2", "3-4", "5-6"]
    r = quick_fit(epochs=3, callbacks=[ProgressiveLearning(stages=3, image_size=(16, 32), dropout=(0.0, 0.3))])
    assert list(r.history["image_size"]) == [16, 24, 32]
    assert r.model[8].p == pytest.approx(0.3)


def test_lr_schedules():
    # paper 002: x0.9 every 5 epochs
    assert lr_factor(10 * 5, 5, 20, "step", step_epochs=5, step_gamma=0.9) == pytest.approx(0.81)
    # warm-up then linear 0.01 -> 0.001 (paper 001)
    assert lr_factor(0, 10, 55, "linear", warmup_epochs=5, final_lr_ratio=0.1) == pytest.approx(1 / 50)
    assert lr_factor(549, 10, 55, "linear", warmup_epochs=5, final_lr_ratio=0.1) == pytest.approx(0.1, abs=2e-3)
    assert lr_factor(0, 10, 10, "cosine") == pytest.approx(1.0)
    assert lr_factor(24, 10, 10, "exponential", step_epochs=2.4, step_gamma=0.97) == pytest.approx(0.97)
    with pytest.raises(ValueError, match="schedule"):
        lr_factor(0, 1, 1, "poly")


@pytest.mark.parametrize("kw,msg", [(dict(precision="int4"), "precision"), (dict(optimizer="lion"), "optimizer"),
                                    (dict(schedule="poly"), "schedule")])
def test_bad_arguments(kw, msg):
    with pytest.raises(ValueError, match=msg):
        quick_fit(epochs=1, **kw)


def test_frozen_backbone_only_trains_the_head():
    m = tiny_model()
    for p in m[:-1].parameters():
        p.requires_grad = False
    before = m[0].weight.detach().clone()
    fit(m, tiny_data(), epochs=1, progress=False)
    assert torch.equal(m[0].weight, before)


def test_bf16_runs_and_evaluate_matches_fit():
    r = quick_fit(epochs=1, precision="bf16")
    assert math.isfinite(r.history["train_loss"].iloc[0])
    again = evaluate(r.model, tiny_data().test, precision="bf16")
    assert again["accuracy"] == r.test["accuracy"]


def test_linear_probe_on_torchvision_features():
    import torchvision

    torch.manual_seed(0)
    m = torchvision.models.mobilenet_v2(num_classes=2)
    out = linear_probe(m, tiny_data(n_train=64, n_val=32, n_test=32))
    assert out["feature_dim"] == 1280 and 0.0 <= out["test_accuracy"] <= 1.0


def test_bn_recalibration_uses_plain_averages_and_keeps_weights():
    from cnneff.train.batchnorm import recalibrate_bn

    m = tiny_model()
    data = tiny_data()
    w = m[0].weight.detach().clone()
    n = recalibrate_bn(m, data.train, batches=2, batch_size=32, image_size=32, channels=3,
                       mean=(0.5,) * 3, std=(0.5,) * 3, device=torch.device("cpu"))
    assert n == 64 and torch.equal(m[0].weight, w)
    assert m[1].momentum == 0.1 and m[1].num_batches_tracked.item() == 2
    r = quick_fit(epochs=1, bn_recalibration_batches=3)
    assert r.model[1].num_batches_tracked.item() == 3  # the statistics come from the recalibration


def test_training_throughput_reports_images_per_second():
    from cnneff.measure import inference_latency, training_throughput

    t = training_throughput(tiny_model(), 32, batch_size=8, steps=2, warmup=1, threads=1)
    assert t["images_per_second"] > 0 and t["batch_size"] == 8 and t["threads"] == 1
    lat = inference_latency(tiny_model(), 32, batch_size=4, repeats=2, warmup=1, threads=1)
    assert lat["latency_ms"] > 0 and lat["images_per_second"] == pytest.approx(4000 / lat["latency_ms"])


def test_cli_train_json_on_fashion_mnist(capsys):
    from cnneff import cli
    from cnneff.data import FASHION_MNIST_ROOT

    if not Path(FASHION_MNIST_ROOT, "train-images-idx3-ubyte.gz").is_file():
        pytest.skip("apt-get install dataset-fashion-mnist")
    assert cli.main(["train", "--model", "timm:mobilenetv3_small_050", "--data", "fashion-mnist", "--subset", "300",
                     "--epochs", "1", "--image-size", "32", "--threads", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(out) >= {"test_accuracy", "precision", "recall", "f1", "seconds", "images_per_second"}
    assert out["train_images"] == 300 and 0 <= out["test_accuracy"] <= 1


def test_cli_train_unknown_data_source(capsys):
    from cnneff import cli

    assert cli.main(["train", "--model", "mobilenet_v2", "--data", "imagenet"]) == 2
    assert "imagenet" in capsys.readouterr().err
