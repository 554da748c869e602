"""Latency and throughput measurement, with the hardware it was measured on.

Every number is a median over ``repeats`` timed runs after ``warmup`` untimed
ones, with a fixed thread count, so that figures are comparable between
models measured in the same session.  They are *not* comparable across
machines: :func:`hardware_info` is recorded next to them for that reason.
"""
from __future__ import annotations

import os
import platform
import statistics
import time

import torch
from torch import nn

from .core import autocast, check_precision, num_threads, weight_dtype

__all__ = ["inference_latency", "training_throughput", "hardware_info"]


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def inference_latency(model: nn.Module, image_size: int, batch_size: int = 1, repeats: int = 20,
                      warmup: int = 3, threads: int | None = None, device: str | torch.device = "cpu",
                      channels_last: bool = False, in_chans: int = 3, precision: str = "fp32") -> dict:
    """Time ``model`` in eval mode under ``torch.inference_mode`` on a random
    batch of ``batch_size`` x ``in_chans`` x ``image_size`` x ``image_size``.
    ``precision`` "bf16"/"fp16" runs under autocast; a model whose weights are
    already fp16/bf16 gets its input in that dtype.

    Returns a dict: ``latency_ms`` (median wall time of one batch, milliseconds),
    ``latency_ms_min``, ``images_per_second`` (batch_size / median seconds),
    ``times_ms`` (every timed repeat, milliseconds: the repeats a ratio's
    interval rests on), ``batch_size``, ``image_size``, ``threads``, ``repeats``, ``device``."""
    if repeats < 1:
        raise ValueError("repeats must be >= 1")
    device = torch.device(device)
    model = model.to(device).eval()
    x = torch.randn(batch_size, in_chans, image_size, image_size, device=device)
    dtype = weight_dtype(model)
    if dtype in (torch.float16, torch.bfloat16):
        x = x.to(dtype)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    times = []
    with num_threads(threads), torch.inference_mode(), autocast(device.type, precision):
        for _ in range(warmup):
            model(x)
        _sync(device)
        for _ in range(repeats):
            t0 = time.perf_counter()
            model(x)
            _sync(device)
            times.append(time.perf_counter() - t0)
        used_threads = torch.get_num_threads()
    med = statistics.median(times)
    return dict(latency_ms=1e3 * med, latency_ms_min=1e3 * min(times), images_per_second=batch_size / med,
                times_ms=[1e3 * t for t in times],
                batch_size=batch_size, image_size=image_size, threads=used_threads, repeats=repeats,
                device=str(device), precision=precision)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git_commit() -> str:
    import subprocess

    from .paths import ROOT

    try:
        out = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=5)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def hardware_info() -> dict:
    """Where a measurement was taken: git commit of the code, CPU model, logical cores, torch threads,
    GPU name (or None), and the versions of Python, torch, torchvision and timm."""
    import timm
    import torchvision

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return dict(git_commit=_git_commit(), cpu=_cpu_model(), cpu_count=os.cpu_count(), torch_threads=torch.get_num_threads(), gpu=gpu,
                python=platform.python_version(), torch=torch.__version__, torchvision=torchvision.__version__,
                timm=timm.__version__, platform=platform.platform())


def training_throughput(model: nn.Module, image_size: int, batch_size: int = 32, steps: int = 5, warmup: int = 2,
                        threads: int | None = None, device: str | torch.device = "cpu", precision: str = "fp32",
                        channels_last: bool = False, num_classes: int | None = None, in_chans: int = 3) -> dict:
    """Training images per second of a bare SGD loop (forward, cross-entropy,
    backward, step) on one random in-memory batch.  Returns ``images_per_second``
    (batch_size / median step seconds), ``step_ms`` (median), ``batch_size``,
    ``image_size``, ``precision``, ``channels_last``, ``threads``.  The model's
    weights change: pass a copy if you need them."""
    check_precision(precision)
    device = torch.device(device)
    model = model.to(device).train()
    x = torch.randn(batch_size, in_chans, image_size, image_size, device=device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        k = num_classes or model(x[:1]).shape[1]
    y = torch.randint(0, k, (batch_size,), device=device)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    times = []
    with num_threads(threads):
        for i in range(warmup + steps):
            t0 = time.perf_counter()
            with autocast(device.type, precision):
                loss = torch.nn.functional.cross_entropy(model(x).float(), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            _sync(device)
            if i >= warmup:
                times.append(time.perf_counter() - t0)
        used = torch.get_num_threads()
    med = statistics.median(times)
    return dict(images_per_second=batch_size / med, step_ms=1e3 * med, batch_size=batch_size,
                image_size=image_size, precision=precision, channels_last=channels_last, threads=used)
