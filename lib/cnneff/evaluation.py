"""One row of a results table for a trained classifier: accuracy, precision,
recall, robustness, latency, size and cost, measured the same way for every
row (paper 000's Table 1 and any notebook that compares compressed models).

:func:`classifier_row` returns a flat dict; a table is a list of them, one per
(model, seed), and :func:`cnneff.stats.interval_table` turns it into means
with 95 % intervals over seeds.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

if TYPE_CHECKING:  # pandas is imported only where a table is built
    import pandas as pd

from .compress.precision import weight_file_bytes
from .counting import count
from .measure import inference_latency
from .train.evaluate import evaluate

__all__ = ["classifier_row", "int8_speedups", "operator_times"]


def classifier_row(model: nn.Module, test, robust=None, image_size: int = 224, *, device="cpu",
                   cost_model: nn.Module | None = None, latency_model: nn.Module | None = None,
                   latency_precision: str = "fp32", latency_repeats: int = 20, threads: int | None = None) -> dict:
    """Measure ``model`` at ``image_size`` and return a dict:

    ``test_accuracy``, ``precision``, ``recall`` (positive class, i.e. class 1)
    and ``robustness`` (accuracy on ``robust``, NaN without it): fractions;
    ``params_m`` (millions), ``macs_m`` (millions of multiply-accumulates per
    image at ``image_size``, not FLOPs), ``file_mb`` (state-dict file, MiB),
    ``latency_ms`` (median batch-1 CPU latency, milliseconds) and
    ``latency_times_ms`` (every timed repeat).

    ``cost_model`` is counted instead of ``model`` (an int8 model has no float
    convolutions to count: pass its float original); ``latency_model`` is
    timed instead (e.g. the fp32 model under ``latency_precision="bf16"``
    autocast for an fp16 row on a CPU without fp16 kernels)."""
    model = model.eval()
    counted = count(cost_model if cost_model is not None else model, image_size)
    scores = evaluate(model, test, image_size=image_size, device=device)
    rob = evaluate(model, robust, image_size=image_size, device=device)["accuracy"] if robust is not None else float("nan")
    lat = inference_latency(latency_model if latency_model is not None else model, image_size, batch_size=1,
                            repeats=latency_repeats, warmup=3, threads=threads, device="cpu",
                            precision=latency_precision)
    return dict(image_size=image_size, test_accuracy=scores["accuracy"], precision=scores["precision"],
                recall=scores["recall"], robustness=rob, params_m=counted.params / 1e6, macs_m=counted.macs / 1e6,
                file_mb=weight_file_bytes(model) / 2**20, latency_ms=lat["latency_ms"],
                latency_times_ms=lat["times_ms"])


def int8_speedups(models: dict[str, nn.Module], image_size: int, rounds: int = 5, repeats: int = 20,
                  threads: int | None = None, calibration_images: int = 32, seed: int = 0) -> "pd.DataFrame":
    """Batch-1 CPU latency of each model in fp32 and after
    :func:`cnneff.compress.quantize_int8`, timed alternately for ``rounds``
    rounds (fp32, int8, fp32, ...), so that a slow spell of the machine hits
    both.  Calibration: ``calibration_images`` random normal images (latency
    does not depend on the ranges).  Returns a DataFrame with one row per
    (model, round): ``model``, ``round``, ``fp32_ms``, ``int8_ms``,
    ``speedup`` (fp32_ms / int8_ms)."""
    import pandas as pd

    from .compress.int8 import quantize_int8

    gen = torch.Generator().manual_seed(seed)
    rows = []
    for name, model in models.items():
        model = model.cpu().eval()
        calib = torch.randn(calibration_images, 3, image_size, image_size, generator=gen)
        q, _ = quantize_int8(model, calib)
        for r in range(rounds):
            t = {k: inference_latency(m, image_size, batch_size=1, repeats=repeats, warmup=3,
                                      threads=threads)["latency_ms"] for k, m in (("fp32", model), ("int8", q))}
            rows.append(dict(model=name, round=r, fp32_ms=t["fp32"], int8_ms=t["int8"],
                             speedup=t["fp32"] / t["int8"]))
    return pd.DataFrame(rows)


def operator_times(model: nn.Module, image_size: int, passes: int = 20, threads: int | None = None,
                   top: int = 10) -> "pd.DataFrame":
    """Where a batch-1 CPU forward pass spends its time: PyTorch's profiler
    over ``passes`` passes (after 3 untimed ones).  Returns a DataFrame indexed
    by operator with ``calls`` (over all passes), ``self_ms`` (milliseconds
    per pass) and ``share (%)`` of the profiled time, the ``top`` most
    expensive first.  The profiler's C++ start/stop lines on stderr are
    silenced."""
    import os

    import pandas as pd

    from .core import num_threads

    model = model.cpu().eval()
    x = torch.randn(1, 3, image_size, image_size)
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        with num_threads(threads), torch.inference_mode():
            for _ in range(3):
                model(x)
            with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
                for _ in range(passes):
                    model(x)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    ops = pd.DataFrame([dict(operator=e.key, calls=e.count, self_ms=e.self_cpu_time_total / 1e3 / passes)
                        for e in prof.key_averages()]).sort_values("self_ms", ascending=False)
    ops["share (%)"] = 100 * ops["self_ms"] / ops["self_ms"].sum()
    return ops.head(top).set_index("operator")
