"""Training the samples: :func:`train_twist` (one model, ``cnneff.train.fit`` with the "tinynet_sweep"
preset), result files with a fingerprint, resume, and Ray workers (:func:`run_sweep`)."""
from __future__ import annotations

import hashlib
import json
import math
import os
import socket
import time
from pathlib import Path
from typing import Sequence

import pandas as pd
import torch

from ..models import twisted_b0
from ..train.config import TrainConfig
from ..train.presets import PRESETS
from ..core import atomic_write_json, num_threads
from .costs import b0_macs, image_side, twist_costs


# Short from-scratch training, identical for every model of a sweep: the "tinynet_sweep"
# preset of cnneff.train.presets (reasons there).  Overrides passed as ``train=`` are
# checked against TrainConfig's fields.
DEFAULT_TRAIN = dict(PRESETS["tinynet_sweep"])


_DATA_CACHE: dict = {}


def _resolve_data(data, data_kwargs: dict | None):
    """A Splits as is; a source string (``cnneff.data.load`` spec) loaded once per process."""
    if not isinstance(data, str):
        return data
    key = json.dumps([data, data_kwargs or {}], sort_keys=True, default=str)
    if key not in _DATA_CACHE:
        from ..data import load

        _DATA_CACHE.clear()  # one data set per worker process at a time
        _DATA_CACHE[key] = load(data, **(data_kwargs or {}))
    return _DATA_CACHE[key]


def _builder(spec: dict) -> str:
    """The registry model a spec names instead of a twist (``builder``), or ""."""
    b = spec.get("builder")
    return b if isinstance(b, str) else ""


def _network(spec: dict, num_classes: int, in_chans: int):
    """The network of one spec: B0 twisted by (r, w, d), or the registry model
    ``spec["builder"]`` (e.g. ``torchvision:resnet50``, Table 2's ResNets) when
    the spec names one.  Returns the module."""
    if _builder(spec):
        from ..models import build_model

        return build_model(_builder(spec), num_classes=num_classes)
    return twisted_b0(float(spec["r"]), float(spec["w"]), float(spec["d"]), num_classes=num_classes,
                      in_chans=in_chans)


def _count_at(model, side: int):
    """(params, MACs) of ``model`` for one ``side``-pixel image: FlopCounterMode's count, taken at 32 px
    (the counter's smallest side) and scaled with the side squared below it."""
    from ..counting import count

    c = count(model, max(side, 32))
    return c.params, int(c.macs * (side / max(side, 32)) ** 2)


def _spec_costs(spec: dict, model, side: int, scale: dict, trained: dict) -> dict:
    """params, macs and c (MACs / C0) at the cost ``scale``, and train_macs (one
    image at the trained ``side`` with the data's classes and channels): the
    analytic count of a twist, FlopCounterMode's of a registry model."""
    r, w, d = float(spec["r"]), float(spec["w"]), float(spec["d"])
    c0 = b0_macs(**scale)
    if not _builder(spec):
        cost = twist_costs(r, w, d, **scale)
        return dict(params=cost.params, macs=cost.macs, c=cost.macs / c0,
                    train_macs=twist_costs(r, w, d, **trained).macs)
    from ..models import build_model

    params, macs = _count_at(build_model(_builder(spec), num_classes=max(1, scale["num_classes"])),
                             image_side(r, scale["base_resolution"]))
    return dict(params=params, macs=macs, c=macs / c0, train_macs=_count_at(model, side)[1])


def train_twist(spec: dict, data, *, data_kwargs: dict | None = None, base_resolution: int = 224,
                train: dict | None = None, seed: int = 0, threads: int | None = None,
                costs: dict | None = None) -> dict:
    """Train B0 twisted by ``spec`` (a mapping with id, r, w, d; optional kind,
    label, seed, and ``builder``: a registry model trained instead of a twist,
    e.g. Table 2's ResNets) on ``data`` (a :class:`cnneff.data.Splits`, or a
    ``cnneff.data.load`` source string plus ``data_kwargs``) at
    ``image_side(r, base_resolution)`` pixels with ``cnneff.train.fit`` and
    ``TrainConfig.from_dict({**DEFAULT_TRAIN, **train})`` (unknown keys
    refused); the model is initialized with ``torch.manual_seed(seed)`` and the
    data order is seeded too, so every model is trained identically (a
    ``seed`` key in ``spec`` overrides ``seed``: repeats that measure the
    noise).  ``threads`` sets torch's intra-op threads for the call.  ``costs``
    (keyword arguments of :func:`twist_costs`: base_resolution, num_classes,
    in_chans) says at which scale params, MACs and c are counted: None counts
    the trained model, ``PAPER_SCALE`` counts it as the paper would (224 px,
    1000 classes, RGB).  Returns the result record: id, kind, label, builder,
    r, w, d, image_size, params, macs, c, train_macs (MACs of one image at the
    trained side with the data's classes and channels), accuracy (test),
    val_accuracy, val_curve (validation accuracy after each epoch), train_loss,
    train_seconds, seconds (wall, incl. evaluation), cpu_seconds (CPU time of
    the process: with one thread, about what the wall time would be on an idle
    core), train_images, epochs, seed, worker (host:pid)."""
    t0, cpu0 = time.perf_counter(), time.process_time()
    with num_threads(threads):
        from ..train.engine import fit

        splits = _resolve_data(data, data_kwargs)
        cfg = TrainConfig.from_dict({**DEFAULT_TRAIN, **(train or {})})
        in_chans, num_classes = int(splits.channels), len(splits.classes)
        if spec.get("seed") is not None and not pd.isna(spec["seed"]):
            seed = int(spec["seed"])
        torch.manual_seed(seed)
        model = _network(spec, num_classes, in_chans)
        side = image_side(float(spec["r"]), base_resolution)
        res = fit(model, splits, cfg, image_size=side, seed=seed, progress=False)
        trained = dict(base_resolution=base_resolution, num_classes=num_classes, in_chans=in_chans)
        cost = _spec_costs(spec, model, side, _cost_scale(costs, base_resolution, num_classes, in_chans), trained)
        hist = res.history
        curve = [float(v) for v in hist["val_accuracy"]] if "val_accuracy" in hist else []
        return dict(id=str(spec["id"]), kind=str(spec.get("kind", "")), label=str(spec.get("label", "")),
                    builder=_builder(spec), r=float(spec["r"]), w=float(spec["w"]),
                    d=float(spec["d"]), image_size=side, **cost,
                    accuracy=float(res.test.get("accuracy", float("nan"))),
                    val_accuracy=curve[-1] if curve else float("nan"), val_curve=curve,
                    train_loss=float(hist.iloc[-1]["train_loss"]), train_seconds=float(res.train_seconds),
                    seconds=time.perf_counter() - t0, cpu_seconds=time.process_time() - cpu0,
                    train_images=len(splits.train), epochs=int(cfg.epochs), seed=int(seed),
                    worker=f"{socket.gethostname()}:{os.getpid()}")


def _cost_scale(costs, base_resolution, num_classes, in_chans) -> dict:
    if costs is None:
        return dict(base_resolution=base_resolution, num_classes=num_classes, in_chans=in_chans)
    unknown = set(costs) - {"base_resolution", "num_classes", "in_chans"}
    if unknown:
        raise ValueError(f"costs takes base_resolution, num_classes, in_chans; got {sorted(unknown)}")
    return dict(costs)


def _train_task(spec, data, data_kwargs, base_resolution, train, seed, threads, costs):
    # Module-level so that Ray pickles it by reference (workers import cnneff.search).
    import warnings

    warnings.filterwarnings("ignore", message="IProgress not found")
    return train_twist(spec, data, data_kwargs=data_kwargs, base_resolution=base_resolution, train=train,
                       seed=seed, threads=threads, costs=costs)


def sweep_fingerprint(data, data_kwargs: dict | None, base_resolution: int, train: dict | None, seed: int,
                      costs: dict | None = None) -> str:
    """A short hash of everything that makes two results of one (r, w, d)
    interchangeable: the data, the base resolution, the training settings, the
    seed and the cost scale."""
    if isinstance(data, str):
        data_id = [data, data_kwargs or {}]
    else:
        data_id = [getattr(data, "name", type(data).__name__), len(data.train), len(data.val), len(data.test),
                   list(getattr(data, "classes", []))]
    blob = json.dumps(dict(data=data_id, base=base_resolution, train={**DEFAULT_TRAIN, **(train or {})}, seed=seed,
                           costs=costs), sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _result_path(out_dir: Path, sample_id: str) -> Path:
    return out_dir / f"{sample_id}.json"


def _finished(path: Path, spec: dict, fingerprint: str) -> dict | None:
    """The stored record if ``path`` holds a result of this spec and fingerprint."""
    if not path.is_file():
        return None
    try:
        rec = json.loads(path.read_text())
    except (OSError, ValueError):
        return None  # a damaged file is trained again
    same = rec.get("fingerprint") == fingerprint and all(
        math.isclose(float(rec.get(k, "nan")), float(spec[k]), rel_tol=0, abs_tol=1e-12) for k in ("r", "w", "d"))
    if spec.get("seed") is not None and not pd.isna(spec["seed"]):
        same = same and int(rec.get("seed", -1)) == int(spec["seed"])
    return rec if same and rec.get("builder", "") == _builder(spec) else None


def start_ray(workers: int = 2, threads_per_worker: int = 1, gpus: float | None = None, address: str | None = None,
              object_store_mb: int | None = 256):
    """Start (or join) Ray for :func:`run_sweep` and return the ``ray`` module.
    Without ``address`` a local instance with ``workers * threads_per_worker``
    CPUs is started (no dashboard, usage statistics off, logs not forwarded);
    ``address="auto"`` or ``"ray://HOST:10001"`` joins an existing cluster,
    whose nodes must have cnneff installed and the data at the same path.
    Does nothing if Ray is already running in this process."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import logging

    logging.getLogger("ray.widgets").setLevel(logging.WARNING)  # "Missing packages: ipywidgets" in notebooks
    import ray

    if ray.is_initialized():
        return ray
    if address:
        ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False)
    else:
        ray.init(num_cpus=int(workers * threads_per_worker), num_gpus=gpus, include_dashboard=False,
                 logging_level=logging.ERROR, log_to_driver=False,
                 object_store_memory=None if object_store_mb is None else int(object_store_mb) * 1024 ** 2)
    return ray


def _run_on_ray(todo: list[dict], data, args: tuple, store, bar, *, workers: int, gpus_per_worker: float,
                address: str | None) -> None:
    """Train ``todo`` as Ray tasks (``args`` as :func:`_train_task` takes them
    after the spec and data) and ``store`` each result as it arrives, on the
    running Ray instance or one started here (and shut down at the end).
    A failed task raises; the files of finished models stay.  Returns None."""
    import ray as _ray

    threads_per_worker = args[4]
    started_here = False
    if not _ray.is_initialized():
        start_ray(workers, threads_per_worker, gpus=(gpus_per_worker * workers or None), address=address)
        started_here = True
    try:
        task = _ray.remote(num_cpus=threads_per_worker, num_gpus=gpus_per_worker, max_retries=0)(_train_task)
        data_ref = _ray.put(data) if not isinstance(data, str) else data
        pending = {task.remote(s, data_ref, *args): s for s in todo}
        while pending:
            ready, _ = _ray.wait(list(pending), num_returns=1)
            for ref in ready:
                spec = pending.pop(ref)
                store(spec, _ray.get(ref))
                bar.update(1)
    finally:
        if started_here:
            _ray.shutdown()


def run_sweep(specs: pd.DataFrame | Sequence[dict], out_dir: str | os.PathLike, data, *,
              data_kwargs: dict | None = None, base_resolution: int = 224, train: dict | None = None, seed: int = 0,
              backend: str = "ray", workers: int = 2, threads_per_worker: int = 1, gpus_per_worker: float = 0.0,
              address: str | None = None, costs: dict | None = None, largest_first: bool = True,
              progress: bool = False) -> pd.DataFrame:
    """Train every model of ``specs`` (rows with id, r, w, d; optional kind,
    label, seed) with :func:`train_twist` and write ``out_dir/<id>.json`` per model
    (the record plus the sweep's ``fingerprint``).  Models whose file already
    holds a result with the same (r, w, d) and fingerprint are skipped: rerun a
    killed sweep with the same arguments and it resumes.

    ``backend="ray"`` farms the models out as Ray tasks of
    ``threads_per_worker`` CPUs (and ``gpus_per_worker`` GPUs) each, on the
    running Ray instance, or on one started by :func:`start_ray` with
    ``workers`` and ``address`` (and shut down again at the end);
    ``backend="local"`` trains them one after another in this process with
    ``threads_per_worker`` threads.  ``data`` is a Splits (shipped to the
    workers through Ray's object store) or a ``cnneff.data.load`` source
    string that each worker loads once (with ``data_kwargs``; on a cluster the
    path must exist on every node).  ``costs`` is passed to :func:`train_twist`.
    The driver writes every file, so the files are the same for both backends.
    ``largest_first`` submits the models in order of decreasing MACs at the
    trained size, so that the longest ones do not start last and leave
    workers idle at the end (longest-processing-time-first scheduling).  Returns the records of all
    ``specs`` as a DataFrame (spec order) with a column ``trained_now``."""
    if backend not in ("ray", "local"):
        raise ValueError(f"backend must be 'ray' or 'local', got {backend!r}")
    rows = specs.to_dict("records") if isinstance(specs, pd.DataFrame) else [dict(s) for s in specs]
    if len({str(s["id"]) for s in rows}) != len(rows):
        raise ValueError("sample ids must be unique (they name the result files)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fp = sweep_fingerprint(data, data_kwargs, base_resolution, train, seed, costs)
    done = {s["id"]: _finished(_result_path(out, str(s["id"])), s, fp) for s in rows}
    todo = [s for s in rows if done[s["id"]] is None]
    if largest_first:
        todo.sort(key=lambda s: -twist_costs(float(s["r"]), float(s["w"]), float(s["d"]), base_resolution).macs)
    fresh: set[str] = set()

    def store(spec, rec):
        rec = {**rec, "id": str(spec["id"]), "kind": str(spec.get("kind", rec.get("kind", ""))),
               "label": str(spec.get("label", rec.get("label", ""))), "fingerprint": fp}
        atomic_write_json(_result_path(out, rec["id"]), rec, sort_keys=True)
        done[spec["id"]] = rec
        fresh.add(rec["id"])

    from tqdm.auto import tqdm

    bar = tqdm(total=len(todo), desc="sweep", unit="model", disable=not progress, leave=False)
    args = (data_kwargs, base_resolution, train, seed, threads_per_worker, costs)
    if todo and backend == "local":
        for s in todo:
            store(s, _train_task(s, data, *args))
            bar.update(1)
    elif todo:
        _run_on_ray(todo, data, args, store, bar, workers=workers, gpus_per_worker=gpus_per_worker, address=address)
    bar.close()
    df = pd.DataFrame([done[s["id"]] for s in rows])
    df["trained_now"] = [s["id"] in fresh for s in rows]
    return df
