"""Paper 002's trained comparisons, one seed at a time: a family of networks
(B0/B1/B2 from scratch, or an ImageNet-pretrained compound-scaled family
fine-tuned whole) trained on the same images in the same batch order, each at
its own side, and what one paired replicate costs.

* :func:`scaled_sides` -- each member's side: ``base x native / 224`` (the
  paper's resolution ratios, scaled together), or fixed sides.
* :func:`train_member` -- one member, one seed: from scratch (zero head) or
  from ImageNet weights, fine-tuned whole; the classifier of every member is
  drawn from the same seed (common random numbers: the heads of a family
  share their 1280 inputs, so they start identical).
* :func:`train_family` -- every member for every seed, the first member
  rotating from seed to seed; returns the rows, the curves and the cost of
  each seed's replicate (wall seconds, training MACs).
* :func:`family_metrics` -- the per-seed lists the claims read.
* :class:`TransferArms` -- section 4.2's transfer settings for one seed:
  (a) the backbone frozen, (c) the last units unfrozen after (a), (b)
  everything unfrozen, (d) (a) again with SGD, each from the same ImageNet
  start, the arm that runs first rotating from seed to seed.
* :func:`phase_gain_interval` -- the interval over seeds of (train-accuracy
  gain - validation-accuracy gain) of a training phase (paper 002's "slowly
  over-fitting" while the last layers train).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import pandas as pd
import torch
from torch import nn

from .. import stats, transfer
from ..counting import count
from ..models import build_model, native_image_size
from ..train import fit

__all__ = ["scaled_sides", "seeded_head", "train_macs", "train_member", "train_family", "family_metrics",
           "replicate_metrics", "TransferArms", "phase_gain_interval"]


def scaled_sides(models, base: int, fixed: dict | None = None) -> dict[str, int]:
    """The training side of each of ``models`` (pixels): ``fixed[model]`` where
    given, else ``round(base x native side / 224)`` (B1 at 240/224, B2 at
    260/224 of B0's side, as at full scale).  Returns {model: side}."""
    fixed = fixed or {}
    return {m: int(fixed[m]) if m in fixed else round(int(base) * native_image_size(m) / 224) for m in models}


def seeded_head(model: nn.Module, seed: int) -> nn.Module:
    """Re-draw the classifier's last ``nn.Linear`` from ``seed`` (PyTorch's
    default initialization), so that members whose heads have the same shape
    start with the same head.  Returns the model."""
    lin = [m for m in transfer.classifier_of(model).modules() if isinstance(m, nn.Linear)][-1]
    gen_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    lin.reset_parameters()
    torch.random.set_rng_state(gen_state)
    return model


def train_macs(model: nn.Module, side: int, images: int, epochs: int) -> float:
    """Training MACs of one fit: forward MACs per image at ``side`` px x
    ``images`` x ``epochs`` x 3 (forward and backward).  Returns a float (MACs)."""
    return float(count(model, side).macs) * images * epochs * 3


def train_member(name: str, data, config, seed: int, side: int, pretrained: bool, weights: str = "",
                 zero_head: bool = True, checkpoint_dir: str | None = None) -> tuple[dict, pd.DataFrame]:
    """Train one member ``name`` on ``data`` (a Splits stored at ``side`` px)
    with ``config`` (a TrainConfig) and ``seed``: from scratch (its head zeroed
    when ``zero_head``, the paper's short-run fix) or, with ``pretrained``,
    from its ImageNet weights (``weights``: a local state dict; empty: the
    registry's own) with every layer trainable.  Returns (row, history): the
    row holds model, seed, image_size, s_per_epoch, train_img_per_s,
    best_val_acc, test_acc, n_test, train_seconds, seconds (wall: training and
    test) and train_macs (MACs)."""
    t0 = time.perf_counter()
    if pretrained:
        model = transfer.pretrained_model(name, data.num_classes, weights, seed=seed)
        seeded_head(model, seed)
        transfer.set_trainable(model, "all")
    else:
        torch.manual_seed(seed)
        model = build_model(name, num_classes=data.num_classes)
        transfer.zero_head(model) if zero_head else seeded_head(model, seed)
    macs = train_macs(model, side, len(data.train), config.epochs)
    r = fit(model, data, config.replace(seed=seed, checkpoint_dir=checkpoint_dir))
    h = r.history
    return dict(model=name, seed=seed, image_size=side, s_per_epoch=float(h["epoch_seconds"].mean()),
                train_img_per_s=float(h["images_per_second"].mean()), best_val_acc=float(h["val_accuracy"].max()),
                test_acc=r.test["accuracy"], n_test=r.test["n"], train_seconds=r.train_seconds,
                seconds=time.perf_counter() - t0, train_macs=macs), h


def train_family(sides: dict[str, int], sets: dict[int, object], config, seeds, pretrained: bool,
                 weights: dict | None = None, zero_head: bool = True, checkpoints=None,
                 progress=None) -> tuple[pd.DataFrame, dict, pd.DataFrame]:
    """Every member of ``sides`` ({model: side}) for every seed, on
    ``sets[side]`` (the same images stored at each side), the first member
    rotating from seed to seed (no member always runs on a fresh machine).
    ``weights``: {model: local ImageNet state dict}; ``checkpoints(model,
    seed)``: a checkpoint folder or None; ``progress``: wraps the seeds (tqdm).
    Returns (rows, {(model, seed): history}, replicates): one row per run
    (:func:`train_member`), and one replicate row per seed with ``seconds``
    (wall, every member) and ``train_macs``."""
    names, rows, hist, reps = list(sides), [], {}, []
    for i, seed in enumerate(progress(seeds) if progress else seeds):
        order = names[i % len(names):] + names[:i % len(names)]
        t0, macs = time.perf_counter(), 0.0
        for name in order:
            row, hist[(name, seed)] = train_member(
                name, sets[sides[name]], config, seed, sides[name], pretrained, (weights or {}).get(name, ""),
                zero_head, checkpoints(name, seed) if checkpoints else None)
            rows.append(row)
            macs += row["train_macs"]
        reps.append(dict(seed=seed, seconds=time.perf_counter() - t0, train_macs=macs))
    order = {n: k for k, n in enumerate(names)}
    table = pd.DataFrame(rows).sort_values(["seed", "model"], key=lambda s: s.map(order) if s.name == "model" else s)
    return table.reset_index(drop=True), hist, pd.DataFrame(reps)


def family_metrics(rows: pd.DataFrame, hist: dict, key_of: dict[str, str]) -> dict:
    """The per-seed lists of one family run: ``{KEY}_test_acc`` (one test
    accuracy per seed, in seed order) and ``{KEY}_epoch_seconds`` (every
    epoch's seconds, seed after seed) for each model, ``KEY = key_of[model]``.
    Returns a dict of metrics."""
    out = {}
    for name, key in key_of.items():
        part = rows[rows["model"] == name].sort_values("seed")
        out[f"{key}_test_acc"] = part["test_acc"].astype(float).tolist()
        out[f"{key}_epoch_seconds"] = [float(e) for s in part["seed"] for e in hist[(name, s)]["epoch_seconds"]]
    return out


def replicate_metrics(prefix: str, replicates: pd.DataFrame) -> dict:
    """The cost of one paired replicate, as the scorecard's power analysis
    reads it (claims' ``cost: PREFIX``): ``PREFIX_seed_seconds`` (wall seconds
    per seed, every arm) and ``PREFIX_seed_macs`` (training MACs per seed,
    every arm).  Returns the two metrics."""
    return {f"{prefix}_seed_seconds": replicates["seconds"].astype(float).tolist(),
            f"{prefix}_seed_macs": replicates["train_macs"].astype(float).tolist()}


@dataclass
class TransferArms:
    """Paper 002's transfer settings on ``data`` (a Splits) for network
    ``model`` with ImageNet ``weights`` (a local state dict; empty: the
    registry's own): ``settings`` maps "(a)", "(b)", "(c)", "(d)" to their
    TrainConfigs; ``unfreeze_units``: the backbone units (c) unfreezes;
    ``partial`` / ``sgd``: whether (c) and (d) run; ``image_size``: the
    training side (pixels, for the MACs); ``checkpoint_dir``: checkpoints per
    run (empty: none).  :meth:`seed` fills ``rows`` and ``histories``."""

    data: object
    model: str
    weights: str
    settings: dict
    image_size: int
    unfreeze_units: int = 4
    partial: bool = True
    sgd: bool = True
    checkpoint_dir: str = ""
    rows: list = field(default_factory=list)
    histories: dict = field(default_factory=dict)

    def fresh(self, init: str, seed: int) -> nn.Module:
        """The network with a new head, from ImageNet (``init`` "ImageNet") or random weights.  Returns it."""
        return transfer.pretrained_model(self.model, self.data.num_classes, self.weights,
                                         pretrained=init == "ImageNet", seed=seed)

    def run(self, model, setting: str, init: str, trainable, seed: int, offset: float = 0.0, epoch_offset: int = 0):
        """Train ``model`` with ``trainable`` units unfrozen (``"head"``,
        ``"all"`` or a count) under ``setting`` (its first three characters
        name the config); record a row and the curve (epochs and seconds
        shifted by ``epoch_offset`` / ``offset`` when it continues another
        run).  Returns the FitResult."""
        cfg = self.settings[setting[:3]].replace(seed=seed, checkpoint_dir=transfer.checkpoint_folder(
            self.checkpoint_dir, f"transfer-{init}-{setting[:3]}-seed{seed}"))
        t0 = time.perf_counter()
        macs = train_macs(model, self.image_size, len(self.data.train), cfg.epochs)
        r, summary = transfer.fine_tune(model, self.data, cfg, trainable)
        h = r.history.assign(epoch=r.history["epoch"] + epoch_offset,
                             seconds=offset + r.history["epoch_seconds"].cumsum())
        self.histories[(init, setting, seed)] = h
        self.rows.append(dict(init=init, setting=setting, seed=seed, trainable_params=summary["trainable_params"],
                              trainable_pct=100 * summary["trainable_fraction"], epochs=epoch_offset + cfg.epochs,
                              lr=cfg.lr, s_per_epoch=h["epoch_seconds"].mean(),
                              train_seconds=float(h["seconds"].iloc[-1]), best_val_acc=h["val_accuracy"].max(),
                              test_acc=r.test["accuracy"], n_test=r.test["n"],
                              seconds=time.perf_counter() - t0, train_macs=macs))
        return r

    def seed(self, init: str, seed: int, first: int = 0) -> None:
        """One seed of every setting from the ``init`` start ("ImageNet" or
        "random"; (c) and (d) only from ImageNet): (a) then (c) continuing
        from it, (b), (d), rotated by ``first`` (the arm that runs first).
        Returns None (the rows and curves are recorded)."""
        pre = init == "ImageNet"

        def frozen_then_partial():
            ra = self.run(self.fresh(init, seed), "(a) frozen backbone", init, "head", seed)
            if pre and self.partial:
                self.run(ra.model, f"(c) + last {self.unfreeze_units} units", init, self.unfreeze_units, seed,
                         offset=ra.train_seconds, epoch_offset=self.settings["(a)"].epochs)
        arms = [frozen_then_partial,
                lambda: self.run(self.fresh(init, seed), "(b) everything unfrozen", init, "all", seed)]
        if pre and self.sgd:
            arms.append(lambda: self.run(self.fresh(init, seed), "(d) frozen backbone, SGD", init, "head", seed))
        for arm in arms[first % len(arms):] + arms[:first % len(arms)]:
            arm()


def phase_gain_interval(before: dict, after: dict) -> dict:
    """The interval over seeds of a training phase's (training-accuracy gain -
    validation-accuracy gain), where ``before`` / ``after`` map each seed to
    the history (a DataFrame with ``train_accuracy`` and ``val_accuracy``)
    whose LAST epoch starts / ends the phase.  A positive effect: training
    accuracy rose more than validation accuracy (over-fitting).  Returns
    {effect, ci_low, ci_high, n, sd, method} in fractions (None for an
    interval that one seed cannot give)."""
    seeds = sorted(set(before) & set(after))
    gain = lambda col: [float(after[s][col].iloc[-1] - before[s][col].iloc[-1]) for s in seeds]  # noqa: E731
    iv = stats.paired_difference(gain("train_accuracy"), gain("val_accuracy"))
    finite = lambda x: float(x) if x == x else None  # noqa: E731 - NaN -> None
    return dict(effect=finite(iv.mean), ci_low=finite(iv.low), ci_high=finite(iv.high), n=iv.n, sd=finite(iv.sd),
                method=f"{iv.method}: train minus validation accuracy gain")
