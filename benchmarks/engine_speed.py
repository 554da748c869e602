"""Training and evaluation images/s of the models the book trains, at the sizes
it trains them, for fp32, channels_last, bf16 autocast, both, and (optional)
torch.compile, as ratios over plain fp32 / contiguous in one run.

    python benchmarks/engine_speed.py                      # the book's models and sizes
    python benchmarks/engine_speed.py --compile mobilenet_v2   # also torch.compile (slow to compile)
    python benchmarks/engine_speed.py --accuracy           # + the accuracy check of channels_last

Training: cnneff.measure.training_throughput (median step time of a bare
SGD step on one random batch after warm-up).  Evaluation:
cnneff.measure.inference_latency at batch 64 (images/s of the median batch).
``--accuracy`` trains MobileNetV2 on 2,000 Fashion-MNIST images for three epochs
with and without channels_last (same seed, same data order) and prints both
test accuracies: a setting becomes a default only if it is at least 1.2x
faster and its accuracy stays within the binomial noise of the test set.
Timings are not tests: run it on an idle machine; it never fails.
"""
from __future__ import annotations

import argparse
import math
import sys

import pandas as pd
import torch

from cnneff.measure import hardware_info, inference_latency, training_throughput
from cnneff.models import build_model

# (registry name, side in pixels, classes): what the book's cpu profile trains
BOOK = [("efficientnet_lite0", 96, 2), ("efficientnet_b0", 32, 10), ("efficientnet_v2_s", 64, 2),
        ("mobilenet_v2", 32, 10), ("simplified_efficientnet", 32, 10), ("timm:tf_efficientnetv2_b0", 112, 10)]
MODES = {"fp32": (False, "fp32"), "channels_last": (True, "fp32"), "bf16": (False, "bf16"),
         "channels_last+bf16": (True, "bf16")}


def measure(name, size, classes, channels_last, precision, batch, steps, threads, compile_=False):
    torch.manual_seed(0)
    m = build_model(name, num_classes=classes)
    if compile_:
        m = torch.compile(m)
    train = training_throughput(m, size, batch, steps=steps, warmup=2, threads=threads, precision=precision,
                                channels_last=channels_last, num_classes=classes)["images_per_second"]
    ev = inference_latency(m, size, batch_size=64, repeats=steps, warmup=2, threads=threads,
                           channels_last=channels_last, precision=precision)["images_per_second"]
    return train, ev


def accuracy_check(threads: int) -> None:
    from cnneff.data import load
    from cnneff.train import fit

    splits = load("fashion-mnist", image_size=32, subset=2000, seed=0)
    for cl in (False, True):
        torch.manual_seed(0)
        r = fit(build_model("mobilenet_v2", num_classes=10), splits, epochs=3, batch_size=32, optimizer="adamw",
                lr=1e-3, warmup_epochs=0.2, schedule="cosine", image_size=32, channels_last=cl,
                bn_recalibration_batches=10, seed=0, progress=False)
        n, p = r.test["n"], r.test["accuracy"]
        print(f"channels_last={cl}: test accuracy {p:.4f} on {n} images (binomial sd {math.sqrt(p * (1 - p) / n):.4f}), "
              f"{r.train_seconds:.1f} s training")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--compile", nargs="*", default=[], metavar="MODEL", help="also time torch.compile for these")
    p.add_argument("--accuracy", action="store_true", help="also the short accuracy check of channels_last")
    a = p.parse_args(argv)
    rows = []
    for name, size, classes in BOOK:
        res = {mode: measure(name, size, classes, cl, prec, a.batch_size, a.steps, a.threads)
               for mode, (cl, prec) in MODES.items()}
        if name in a.compile:
            res["compile"] = measure(name, size, classes, False, "fp32", a.batch_size, a.steps, a.threads, True)
        base_t, base_e = res["fp32"]
        row = {"model": name, "side": size, "train fp32 img/s": round(base_t, 1), "eval fp32 img/s": round(base_e, 1)}
        for mode, (t, e) in res.items():
            if mode != "fp32":
                row[f"train {mode}"] = round(t / base_t, 2)
                row[f"eval {mode}"] = round(e / base_e, 2)
        rows.append(row)
        print(row, flush=True)
    hw = hardware_info()
    print(f"\nimages/s ratios over fp32/contiguous; training batch {a.batch_size}, evaluation batch 64, "
          f"{a.threads} threads, {hw['cpu']}, torch {hw['torch']}")
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(pd.DataFrame(rows).to_string(index=False))
    if a.accuracy:
        accuracy_check(a.threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
