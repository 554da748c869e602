"""Paper 000's Table 1, one seed at a time: fine-tune a baseline, then compress
it every way the paper does (channel pruning at each ratio, network slimming,
half resolution, fp16) plus the book's own int8 row, and measure every row the
same way (:func:`cnneff.evaluation.classifier_row`).

``Table1`` holds what every row shares (the data, the training settings, the
sizes); :meth:`Table1.seed_rows` runs one seed and returns its rows.  The
notebook ``make_efficientnetv2_more_efficient`` calls it once per seed; the
functions below it turn the rows into the counts and the costs the claims read
(:func:`untrained_counts`, :func:`trained_counts`, :func:`replicate_cost`).
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field

import pandas as pd
import torch
from torch import nn

from ..compress import NetworkSlimming, bn_gammas, prune_channels, quantize_int8, to_half
from ..core import IMAGENET_MEAN, IMAGENET_STD
from ..counting import count
from ..evaluation import classifier_row
from ..models import build_model
from ..train import FitResult, TrainConfig, fit, resolve_device
from ..train.batches import prepare_batch

__all__ = ["Table1", "row_key", "pruned_name", "COUNTED_ROWS", "untrained_counts", "trained_counts", "replicate_cost",
           "class_folder_counts"]


def row_key(name: str) -> str:
    """The metric-key stem of a Table 1 row: ``"Pruned 30%"`` -> ``"pruned_30"``,
    ``"int8 (ours)"`` -> ``"int8_ours"``, ``"Low-reso"`` -> ``"low_reso"``."""
    return name.lower().replace(" ", "_").replace("%", "").replace("(", "").replace(")", "").replace("-", "_")


def pruned_name(ratio: float) -> str:
    """The Table 1 row name of plain pruning at ``ratio``: 0.3 -> ``"Pruned 30%"``."""
    return f"Pruned {int(round(100 * ratio))}%"


@dataclass
class Table1:
    """Everything the rows of one seed share.

    ``splits`` / ``robust``: the data and the robustness copy of its test
    split; ``model_name`` / ``pretrained`` / ``dropout``: the network every
    row starts from; ``baseline`` / ``finetune`` / ``sparse``: the training
    configs (:class:`~cnneff.train.config.TrainConfig`) of the baseline, of the
    fine-tuning after each pruning and of the sparse training; ``image_size`` /
    ``low_image_size``: the sides (pixels) of every row and of the
    half-resolution row; ``ratios``: the plain pruning ratios; ``slim_ratio`` /
    ``sparsity``: network slimming's pruning ratio and L1 strength ``s``;
    ``max_layer_ratio``: the most any layer may lose; ``calibration_images``:
    training images that calibrate int8; ``latency_repeats`` / ``threads``:
    batch-1 CPU latency settings; ``count_image_size``: every row is also
    counted at this side (the paper's 224 px; 0: not); ``timing_steps``:
    timed training steps of the slimmed model at both sides (0: not timed);
    ``eval_device``: where the rows are tested (the int8 row always on the
    CPU; latencies are always timed on the CPU)."""

    splits: object
    robust: object
    model_name: str
    pretrained: bool
    dropout: float
    baseline: TrainConfig
    finetune: TrainConfig
    sparse: TrainConfig
    image_size: int
    low_image_size: int
    ratios: list = field(default_factory=lambda: [0.3, 0.5, 0.7])
    slim_ratio: float = 0.5
    sparsity: float = 1e-2
    max_layer_ratio: float = 0.9
    calibration_images: int = 256
    latency_repeats: int = 20
    threads: int | None = None
    count_image_size: int = 0
    timing_steps: int = 0
    eval_device: str = "cpu"

    # ------------------------------------------------------------------ pieces
    def fresh(self, seed: int) -> nn.Module:
        """A new network to fine-tune, initialized from ``seed`` (timm's Lite0
        names its dropout ``drop_rate``, torchvision's nets ``dropout``)."""
        torch.manual_seed(seed)
        kw = {"drop_rate": self.dropout} if self.model_name == "efficientnet_lite0" else {"dropout": self.dropout}
        if self.pretrained:
            kw["pretrained"] = True
        return build_model(self.model_name, num_classes=len(self.splits.classes), **kw)

    def train(self, model: nn.Module, config: TrainConfig, seed: int, image_size: int | None = None,
              callbacks=()) -> FitResult:
        """Fine-tune ``model`` on the training split with ``config`` at
        ``image_size`` (default: the table's side).  Returns the FitResult."""
        cfg = config.replace(image_size=image_size or self.image_size, seed=seed)
        return fit(model, self.splits, cfg, callbacks=list(callbacks))

    def train_macs(self, model: nn.Module, config: TrainConfig, image_size: int | None = None) -> float:
        """Training MACs of one fit of ``model`` with ``config``: forward MACs
        per image at ``image_size`` (default the table's) x training images x
        epochs x 3 (forward and backward).  Returns a float (MACs)."""
        macs = count(model, image_size or self.image_size).macs
        return float(macs) * len(self.splits.train) * config.epochs * 3

    def row(self, name: str, seed: int, model: nn.Module, size: int, fitted: FitResult | None = None,
            started: float | None = None, train_macs: float = 0.0, **kw) -> dict:
        """:func:`~cnneff.evaluation.classifier_row` of ``model`` plus the row
        name, the seed, the training seconds, the epochs' seconds, ``train_macs``
        (MACs), ``seconds`` (wall seconds since ``started``: the row's training
        and evaluation) and, with ``count_image_size``, ``count_params_m`` /
        ``count_macs_m`` (millions, at that side)."""
        t0 = time.perf_counter() if started is None else started
        dev = "cpu" if kw.get("cost_model") is not None else self.eval_device  # int8 runs on the CPU only
        r = classifier_row(model.to(dev).to(memory_format=torch.contiguous_format), self.splits.test, self.robust,
                           size, device=dev, latency_repeats=self.latency_repeats, threads=self.threads, **kw)
        out = dict(row=name, seed=seed, train_seconds=fitted.train_seconds if fitted else 0.0,
                   epoch_seconds=fitted.history["epoch_seconds"].tolist() if fitted else [], train_macs=train_macs,
                   seconds=time.perf_counter() - t0, **r)
        if self.count_image_size:
            c = count(kw.get("cost_model") or model, self.count_image_size)
            out.update(count_params_m=c.params / 1e6, count_macs_m=c.macs / 1e6)
        return out

    def pruned_rows(self, base: nn.Module, seed: int) -> tuple[list[dict], dict]:
        """Each plain pruning ratio of the trained ``base``, fine-tuned.
        Returns (rows, channels kept per row name)."""
        out, kept = [], {}
        for ratio in self.ratios:
            t0 = time.perf_counter()
            pruned, rep = prune_channels(base, ratio, self.image_size, max_layer_ratio=self.max_layer_ratio)
            name = pruned_name(ratio)
            macs = self.train_macs(pruned, self.finetune)
            ft = self.train(pruned, self.finetune, seed)
            row = self.row(name, seed, ft.model, self.image_size, ft, t0, macs)
            out.append(row | dict(macs_change=rep.macs_change))
            kept[name] = rep.channels
        return out, kept

    def slimmed_epoch_seconds(self, slimmed: nn.Module) -> dict:
        """Seconds of one retraining epoch of ``slimmed`` at the table's side
        and at the half-resolution side, from ``timing_steps`` timed training
        steps each (alternated, on the fine-tuning's device).  Returns
        {"full": s, "low": s}, empty when ``timing_steps`` is 0."""
        if not self.timing_steps:
            return {}
        from ..measure import training_throughput

        dev = resolve_device(self.finetune.device)
        out = {}
        for key, side in (("full", self.image_size), ("low", self.low_image_size)):
            ips = training_throughput(copy.deepcopy(slimmed), side, batch_size=self.finetune.batch_size,
                                      steps=self.timing_steps, warmup=1, threads=self.threads,
                                      device=dev)["images_per_second"]
            out[key] = len(self.splits.train) / ips
        return out

    def sparse_row(self, base: nn.Module, seed: int) -> tuple[dict, torch.Tensor, pd.DataFrame]:
        """Network slimming: sparse training of a copy of ``base``, pruning by
        ``|gamma|``, fine-tuning.  Returns (row, ``|gamma|`` after sparse training,
        channels kept); the row holds ``slimmed_epoch_seconds`` (see
        :meth:`slimmed_epoch_seconds`)."""
        t0 = time.perf_counter()
        slimming = NetworkSlimming(self.sparsity)
        macs = self.train_macs(base, self.sparse)
        sparse = self.train(copy.deepcopy(base), self.sparse, seed, callbacks=[slimming])
        gammas = bn_gammas(sparse.model.cpu())
        slimmed, rep = slimming.prune(sparse.model.cpu().to(memory_format=torch.contiguous_format),
                                      self.slim_ratio, self.image_size, max_layer_ratio=self.max_layer_ratio)
        timing = self.slimmed_epoch_seconds(slimmed)
        macs += self.train_macs(slimmed, self.finetune)
        ft = self.train(slimmed, self.finetune, seed)
        r = self.row("Sparse training", seed, ft.model, self.image_size, ft, t0, macs) | dict(
            macs_change=rep.macs_change, slimmed_epoch_seconds=timing)
        r["train_seconds"] = sparse.train_seconds + ft.train_seconds
        return r, gammas, rep.channels

    def int8_row(self, base: nn.Module, seed: int) -> dict:
        """The book's own row: ``base`` quantized to int8, calibrated on training images."""
        calib = prepare_batch(self.splits.train.images[:self.calibration_images], self.image_size, 3,
                              getattr(base, "mean", IMAGENET_MEAN), getattr(base, "std", IMAGENET_STD), "cpu")
        q, _ = quantize_int8(base, calib)
        return self.row("int8 (ours)", seed, q, self.image_size, cost_model=base)

    # ------------------------------------------------------------------ one seed
    def seed_rows(self, seed: int) -> tuple[list[dict], dict]:
        """Every trained row of Table 1 for one seed.  Returns (rows, extras):
        the rows Baseline, Pruned N% ..., Sparse training, Low-reso, Half
        precision, int8 (ours); extras ``base`` (the fine-tuned baseline),
        ``gammas`` (``|gamma|`` after sparse training) and ``kept`` (channels kept
        per pruned row)."""
        t0 = time.perf_counter()
        fresh = self.fresh(seed)
        macs = self.train_macs(fresh, self.baseline)
        base_fit = self.train(fresh, self.baseline, seed)
        base = base_fit.model.cpu().to(memory_format=torch.contiguous_format).eval()
        rows = [self.row("Baseline", seed, base, self.image_size, base_fit, t0, macs)]
        pruned, kept = self.pruned_rows(base, seed)
        sparse, gammas, kept["Sparse training"] = self.sparse_row(base, seed)
        t0 = time.perf_counter()
        fresh = self.fresh(seed)
        macs = self.train_macs(fresh, self.baseline, self.low_image_size)
        low_fit = self.train(fresh, self.baseline, seed, self.low_image_size)
        low = self.row("Low-reso", seed, low_fit.model, self.low_image_size, low_fit, t0, macs)
        half, _ = to_half(base, self.image_size)
        half = self.row("Half precision", seed, half, self.image_size, latency_model=base, latency_precision="bf16")
        return rows + pruned + [sparse, low, half, self.int8_row(base, seed)], dict(base=base, gammas=gammas,
                                                                                    kept=kept)


# ---------------------------------------------------------------------- counts and costs
COUNTED_ROWS = ("Baseline", "Sparse training")  # with the pruned rows: the rows whose counts Table 1 prints


def _count_frame(models: dict, image_size: int) -> pd.DataFrame:
    """Params (M), MACs (M, at ``image_size``) and their changes (%) against
    the "Baseline" entry of ``models`` (name -> module).  Returns a DataFrame
    indexed by row name."""
    rows = {name: count(m, image_size) for name, m in models.items()}
    base = rows["Baseline"]
    out = pd.DataFrame([dict(row=name, params_m=c.params / 1e6, macs_m=c.macs / 1e6,
                             params_change_pct=100 * (c.params / base.params - 1) if name != "Baseline" else None,
                             macs_change_pct=100 * (c.macs / base.macs - 1) if name != "Baseline" else None)
                        for name, c in rows.items()])
    return out.set_index("row")


def untrained_counts(model_name: str, num_classes: int, ratios, slim_ratio: float, image_size: int,
                     max_layer_ratio: float = 0.9, seed: int = 0) -> pd.DataFrame:
    """The counts of an UNTRAINED ``model_name`` (initialized from ``seed``)
    pruned by weight magnitude at each ratio and at ``slim_ratio`` (the sparse
    row: without training every ``|gamma|`` is 1, so slimming has nothing to rank
    by), at ``image_size``.  Used where the trained network is not the paper's.
    Returns the DataFrame of :func:`_count_frame`."""
    torch.manual_seed(seed)
    net = build_model(model_name, num_classes=num_classes).eval()
    models = {"Baseline": net}
    for ratio in ratios:
        models[pruned_name(ratio)] = prune_channels(net, ratio, image_size, max_layer_ratio=max_layer_ratio)[0]
    models["Sparse training"] = prune_channels(net, slim_ratio, image_size, max_layer_ratio=max_layer_ratio)[0]
    return _count_frame(models, image_size)


def trained_counts(table: pd.DataFrame) -> pd.DataFrame:
    """The counts of the TRAINED rows (``count_params_m`` / ``count_macs_m``
    of :meth:`Table1.row`): the baseline, each plainly pruned row and the
    slimmed row, mean over seeds, with their changes against the same seed's
    baseline (%, then averaged).  Returns a DataFrame like :func:`_count_frame`'s."""
    names = [n for n in table["row"].unique() if n in COUNTED_ROWS or n.startswith("Pruned")]
    part = table[table["row"].isin(names)].set_index(["row", "seed"])[["count_params_m", "count_macs_m"]]
    base = part.loc["Baseline"]
    rows = []
    for name in names:
        own = part.loc[name]
        change = (own / base.loc[own.index] - 1) * 100
        rows.append(dict(row=name, params_m=own["count_params_m"].mean(), macs_m=own["count_macs_m"].mean(),
                         params_change_pct=None if name == "Baseline" else change["count_params_m"].mean(),
                         macs_change_pct=None if name == "Baseline" else change["count_macs_m"].mean()))
    return pd.DataFrame(rows).set_index("row")


def replicate_cost(table: pd.DataFrame, rows) -> tuple[list[float], list[float]]:
    """What one paired replicate of a comparison between Table 1 ``rows``
    costs, per seed: the wall seconds (``seconds``: training and evaluation)
    and the training MACs (``train_macs``) of those rows plus the baseline
    every row starts from.  Returns (seconds per seed, MACs per seed), in seed order."""
    part = table[table["row"].isin(set(rows) | {"Baseline"})]
    per_seed = part.groupby("seed")[["seconds", "train_macs"]].sum().sort_index()
    return per_seed["seconds"].tolist(), per_seed["train_macs"].tolist()


def class_folder_counts(root) -> pd.DataFrame:
    """What a one-folder-per-class data set holds (RMFD's ``face/`` and
    ``masked/``, each with one sub-folder per person): per class folder under
    ``root``, ``images`` (image files, searched recursively) and ``persons``
    (its immediate sub-folders).  Returns a DataFrame indexed by class name."""
    from pathlib import Path

    from ..data import IMAGE_EXTENSIONS

    root = Path(root).expanduser()
    image = lambda p: p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".")
    rows = [dict(cls=d.name, images=sum(1 for p in d.rglob("*") if image(p)),
                 persons=sum(1 for p in d.iterdir() if p.is_dir()))
            for d in sorted(root.iterdir()) if d.is_dir() and not d.name.startswith(".")]
    if not rows:
        raise FileNotFoundError(f"{root} holds no class folders; pass the folder with one sub-folder per class")
    return pd.DataFrame(rows).set_index("cls")
