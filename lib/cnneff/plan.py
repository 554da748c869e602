"""What a run costs before it runs: ``cnneff run NAME|all --profile gpu --plan``.

Each notebook's work is listed as training and evaluation *jobs* from its
resolved parameters (the profile's values over the notebook's defaults): a
network, its input side, how many images it sees (training images x epochs x
seeds, or test images x passes) and its MACs per image.  The estimate of one
job on one current data-centre GPU is::

    GPU-seconds = images x MACs per image x (3 for training: forward and backward;
                  1 for evaluation) / GPU_SUSTAINED_MACS

(:data:`cnneff.scorecard.power.GPU_SUSTAINED_MACS`, 10 T MAC/s for these small
convolutional networks in bf16: stated, not measured; the reasons are beside it).  Data-set sizes come
from ``DATA_ROOT`` where the run reads the papers' data (files counted), else
from the embedded stand-ins, else from the published sizes in
:data:`PUBLISHED_SIZES`.  Timing-only measurements (latency, throughput) are a
fixed minute each.  Where one GPU is not enough the plan says how the work
divides: the TinyNet sweep over a Ray cluster (``RAY_ADDRESS``), a long
training over several GPUs with ``torchrun``.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Job", "PUBLISHED_SIZES", "notebook_jobs", "plan_rows", "format_plan", "gpu_minutes"]

# Training / test images of the papers' data sets as published (used when DATA_ROOT is not counted).
PUBLISHED_SIZES = {
    "imagenet": (1_281_167, 50_000), "imagenet100": (126_689, 5_000), "imagenet100_64": (126_689, 5_000),
    "rmfd": (90_000, 2_000), "deepweeds": (14_007, 3_502), "cifar10": (50_000, 10_000), "cifar100": (50_000, 10_000),
    "rps": (2_520, 372), "elpv": (1_864, 582), "fashion-mnist": (60_000, 10_000),
}
TIMING_SECONDS = 60.0  # one latency / throughput measurement block on the GPU


@dataclass(frozen=True)
class Job:
    """One piece of a notebook's work: ``what`` (in words), ``model`` (registry
    name), ``side`` (pixels), ``images`` (images processed, all epochs and
    seeds), ``train`` (forward and backward, else forward only) and
    ``seconds`` (a fixed time instead, for timing measurements)."""

    what: str
    model: str = ""
    side: int = 0
    images: int = 0
    train: bool = True
    seconds: float = 0.0


def _macs(model: str, side: int) -> int:
    """MACs per image of registry model ``model`` at ``side`` px (counted once per pair)."""
    return _macs_cached(model, int(side))


def _macs_cached(model: str, side: int, _cache: dict = {}) -> int:  # noqa: B006 - a module-lifetime cache
    if (model, side) not in _cache:
        from .counting import count
        from .models import build_model

        _cache[(model, side)] = count(build_model(model), side).macs
    return _cache[(model, side)]


def gpu_minutes(job: Job) -> float:
    """The estimated GPU-minutes of one job (see the module docstring)."""
    from .scorecard.power import GPU_SUSTAINED_MACS

    if job.seconds:
        return job.seconds / 60
    return job.images * _macs(job.model, job.side) * (3 if job.train else 1) / GPU_SUSTAINED_MACS / 60


def data_size(spec: str | None, subset=None) -> tuple[int, int]:
    """(training images, test images) of a data source string: counted under
    its path when it exists, else the published or embedded size of its name;
    ``subset`` caps the training images.  Returns the pair."""
    if not spec:
        return 0, 0
    source, _, path = str(spec).partition(":")
    name = Path(path).name if path else source
    train, test = PUBLISHED_SIZES.get(name, PUBLISHED_SIZES.get(source, (10_000, 1_000)))
    if path and Path(path).is_dir():
        n = sum(1 for _, _, files in os.walk(path) for f in files if f.lower().endswith((".jpg", ".jpeg", ".png")))
        if n:
            train, test = int(n * 0.8), max(1, int(n * 0.1))
    if subset:
        train = min(train, int(subset))
    return train, test


def _seeds(p: dict, key: str = "seeds") -> int:
    return len(p.get(key) or [0])


def _epochs(spec) -> int:
    from .train.config import TrainConfig

    return TrainConfig.from_spec(spec).epochs if isinstance(spec, (dict, str)) else int(spec or 1)


def notebook_jobs(name: str, p: dict) -> list[Job]:
    """The jobs of notebook ``name`` with resolved parameters ``p``.  Returns a list of :class:`Job`."""
    from .plan_jobs import JOBS

    fn = JOBS.get(name)
    return fn(p) if fn else []


def plan_rows(names: list[str], resolved: dict[str, dict]) -> list[dict]:
    """One row per notebook: its GPU-minutes, its largest job and how the
    work divides when one GPU is not enough.  Returns a list of dicts."""
    rows = []
    for name in names:
        jobs = notebook_jobs(name, resolved[name])
        minutes = [gpu_minutes(j) for j in jobs]
        total = sum(minutes)
        biggest = jobs[max(range(len(jobs)), key=minutes.__getitem__)].what if jobs else "-"
        if name == "tinynet_rubiks_cube" and total > 60:
            divide = "the sweep's models are independent: a Ray cluster (RAY_ADDRESS, -p ray_address auto) runs them"
        elif total > 24 * 60:
            divide = "longer than a day on one GPU: torchrun --nproc_per_node N runs the same fit on N GPUs (DDP)"
        else:
            divide = "one GPU"
        rows.append(dict(notebook=name, jobs=len(jobs), gpu_minutes=total, largest=biggest, divide=divide))
    return rows


def format_plan(rows: list[dict], data_note: str) -> str:
    """The plan as the command prints it: one line per notebook, then the
    total, the last line ``total <N> GPU-minutes (estimate)``.  Returns the text."""
    lines = [f"plan ({data_note}; one GPU at the stated sustained rate, see cnneff.plan):"]
    for r in rows:
        lines.append(f"  {r['notebook']:36s} {r['gpu_minutes']:>12,.1f} GPU-minutes  {r['jobs']:>3} jobs; "
                     f"largest: {r['largest']}; {r['divide']}")
    total = sum(r["gpu_minutes"] for r in rows)
    lines.append(f"total {math.ceil(total):,} GPU-minutes (estimate)")
    return "\n".join(lines)


def paper_parameters(name: str) -> dict:
    """The parameters notebook ``name`` runs with at paper scale: its declared
    defaults, the gpu profile's common keys and its ``paper_data`` section
    (``${DATA_ROOT}`` left unexpanded: the sizes come from
    :data:`PUBLISHED_SIZES`).  Returns a dict."""
    import yaml

    from .paths import PARAMS
    from .runner.params import notebook_parameters

    out = dict(notebook_parameters(name))
    path = PARAMS / "gpu" / f"{name}.yaml"
    if path.is_file():
        values = yaml.safe_load(path.read_text()) or {}
        section = values.pop("paper_data", None) or {}
        values.pop("embedded", None)
        for k, v in {**values, **section}.items():
            out[k] = {**out[k], **v} if isinstance(out.get(k), dict) and isinstance(v, dict) else v
    return out


def paper_minutes(name: str, _cache: dict = {}) -> float | None:  # noqa: B006 - a module-lifetime cache
    """The estimated GPU-minutes of notebook ``name``'s paper-scale run (one
    GPU, :func:`gpu_minutes` of its jobs), computed once per process.
    Returns None where no estimate can be made."""
    if name not in _cache:
        try:
            _cache[name] = sum(gpu_minutes(j) for j in notebook_jobs(name, paper_parameters(name)))
        except Exception:  # noqa: BLE001 - an estimate that cannot be made is shown as unknown
            _cache[name] = None
    return _cache[name]
