"""The jobs of each notebook for :mod:`cnneff.plan`, from its resolved
parameters (one function per notebook, named after it in :data:`JOBS`)."""
from __future__ import annotations

import math

from .plan import Job, _epochs, _seeds, data_size

__all__ = ["JOBS"]


def _make_efficientnetv2(p: dict) -> list[Job]:
    """Paper 000's Table 1 per seed: the baseline, each pruning's fine-tuning, sparse training and the
    slimmed model's fine-tuning, the half-resolution run, every row's evaluation, and the CPU timings
    (batch-1 latencies of every row, the int8 table, fp16 and slimmed-model training steps)."""
    from .plan import _macs
    from .train.config import TrainConfig

    train, test = data_size(p.get("data"), p.get("subset"))
    if str(p.get("data", "")).startswith("elpv"):  # ELPV's splits are fractions: published sizes are 80/10/10
        total = round(train / 0.8)
        train = int(total * (1 - p.get("val_fraction", 0.1) - p.get("test_fraction", 0.1)))
        test = int(total * p.get("test_fraction", 0.1))
    seeds, model, side = _seeds(p), p["trained_model"], int(p["image_size"])
    base, ft, sparse = _epochs(p["baseline"]), _epochs(p["finetune"]), _epochs(p["sparse"])
    rows = len(p.get("ratios") or []) + 1
    # Latencies are timed on the host CPU at batch 1: every row of every seed, the int8 table's models in both
    # precisions; at the 1e10 MACs/s a batch-1 forward pass ran at on this book's 2-core CPU (Lite0, 97 px).
    passes = int(p.get("latency_repeats", 20)) + 3
    n_pass = seeds * (rows + 4) * passes + 2 * len(p.get("int8_models") or []) * int(p.get("int8_rounds", 5)) * passes
    timing = n_pass * _macs(model, side) / 1e10 + 10 * len(p.get("int8_models") or [])  # + quantizing each model
    return [Job("baseline fine-tuning", model, side, train * base * seeds),
            Job("fine-tuning after each pruning", model, side, train * ft * rows * seeds),
            Job("sparse training", model, side, train * sparse * seeds),
            Job("half resolution", model, int(p["low_image_size"]), train * base * seeds),
            Job("every row evaluated (test + robustness)", model, side, 2 * test * (rows + 4) * seeds, train=False),
            Job("batch-1 CPU latencies and the int8 table", seconds=timing),
            Job("fp16 and slimmed-model training steps", model, side,
                TrainConfig.from_spec(p["baseline"]).batch_size * (2 * int(p.get("fp16_rounds", 3)) * (
                    int(p.get("fp16_steps", 3)) + 1) + 2 * seeds * (int(p.get("timing_steps", 3)) + 1)))]


def _simplified(p: dict) -> list[Job]:
    """Paper 001: every arm (block type) trained once per seed from scratch, each tested on the test
    split; MACs by :func:`cnneff.experiments.se_blocks.forward_macs` (sides below 32 px scaled)."""
    from .experiments.se_blocks import forward_macs
    from .models import build_model
    from .scorecard.power import GPU_SUSTAINED_MACS

    train, test = data_size(p.get("data"), p.get("subset"))
    test = min(test, int(p["test_images"])) if p.get("test_images") else test
    epochs, seeds, side = _epochs(p["train"]), _seeds(p), int(p["image_size"])
    jobs = []
    for arm in p.get("blocks") or []:
        net = build_model("simplified_efficientnet", block="standard" if arm == "plain" else arm)
        macs = forward_macs(net, side)
        jobs.append(Job(f"{arm} from scratch ({seeds} seeds)",
                        seconds=train * epochs * seeds * 3 * macs / GPU_SUSTAINED_MACS))
        jobs.append(Job(f"{arm} tested", seconds=test * seeds * macs / GPU_SUSTAINED_MACS))
    return jobs


def _foray(p: dict) -> list[Job]:
    from .models import native_image_size

    side = lambda m, base: round(int(base) * native_image_size(m) / 224)  # noqa: E731 - the native ratios
    held = lambda n, key: min(n, int(p.get(key) or n))  # noqa: E731 - a test draw, 0: the whole split
    train, test = data_size(p.get("scratch_data"), p.get("scratch_subset"))
    epochs, seeds, jobs = _epochs(p["scratch"]), _seeds(p), []
    for m in p.get("scratch_models") or []:
        s = side(m, p["scratch_base_size"])
        jobs += [Job(f"{m} from scratch", m, s, train * epochs * seeds),
                 Job(f"{m} tested", m, s, held(test, "scratch_test_images") * seeds, train=False)]
    runs = [(p.get("finetune_data"), {m: side(m, p["finetune_base_size"]) for m in p.get("finetune_models") or []},
             p["finetune"])]
    if p.get("cifar100_data"):
        c100 = {m: side(m, p["finetune_base_size"]) for m in p.get("cifar100_models") or []}
        runs.append((p["cifar100_data"], c100, p["finetune"]))
    if p.get("rps_data"):
        runs.append((p["rps_data"], dict(p.get("rps_sides") or {}), p["rps"]))
    fseeds = _seeds(p, "finetune_seeds")
    for spec, sides, cfg in runs:
        ftrain, ftest = data_size(spec, p.get("finetune_subset"))
        for m, s in sides.items():
            jobs += [Job(f"{m} fine-tuned on {spec}", m, s, ftrain * _epochs(cfg) * fseeds),
                     Job(f"{m} tested on {spec}", m, s, held(ftest, "finetune_test_images") * fseeds, train=False)]
    ttrain, ttest = data_size(p.get("transfer_data"), p.get("transfer_subset"))
    tseeds, inits = _seeds(p, "transfer_seeds"), 2 if p.get("transfer_random_init") else 1
    model, tside = p["transfer_model"], int(p["transfer_image_size"])
    frozen = _epochs(p["transfer_frozen"]) * inits + (_epochs(p["transfer_sgd"]) if p.get("transfer_sgd_run") else 0)
    unfrozen = _epochs(p["transfer_full"]) * inits + (
        _epochs(p["transfer_partial"]) if p.get("transfer_partial_run") else 0)
    arms = inits * 2 + bool(p.get("transfer_partial_run")) + bool(p.get("transfer_sgd_run"))
    jobs += [Job("transfer: frozen backbone (forward only)", model, tside, ttrain * frozen * tseeds, train=False),
             Job("transfer: unfrozen units", model, tside, ttrain * unfrozen * tseeds),
             Job("transfer: tested", model, tside, ttest * arms * tseeds, train=False)]
    if p.get("imagenet_val"):
        n = min(50_000, int(p.get("imagenet_limit") or 50_000))
        jobs.append(Job("MobileNetV2 on ImageNet val", "mobilenet_v2", int(p.get("imagenet_image_size") or 224), n,
                        train=False))
    models, rounds = p.get("efficiency_models") or [], int(p["measure_rounds"])
    scale = float(p["throughput_scale"])
    return jobs + _timed([(m, native_image_size(m)) for m in models], (int(p["latency_repeats"]) + 2) * rounds,
                         [(m, max(32, round(native_image_size(m) * scale))) for m in models],
                         (int(p["throughput_steps"]) + 1) * rounds, int(p["throughput_batch_size"]))


CALL_SECONDS, STEP_SECONDS = 0.01, 0.02  # a batch-1 forward and a training step of a small CNN on one GPU, at least


def _timed(latency, calls: int, training, steps: int, batch: int) -> list[Job]:
    """Timing measurements: ``calls`` batch-1 forwards of each (model, side) of ``latency`` and ``steps``
    training steps of ``batch`` images of each of ``training``, as their MACs plus a floor of
    :data:`CALL_SECONDS` per call and :data:`STEP_SECONDS` per step (kernel launches dominate small networks
    on a GPU; stated, not measured).  Returns the jobs."""
    jobs = [Job(f"{m} latency at {s} px", m, s, calls, train=False) for m, s in latency]
    jobs += [Job(f"{m} training steps at {s} px", m, s, steps * batch) for m, s in training]
    n_calls, n_steps = calls * len(latency), steps * len(training)
    return jobs + [Job(f"launch floor of {n_calls} timed calls and {n_steps} timed steps",
                       seconds=n_calls * CALL_SECONDS + n_steps * STEP_SECONDS)]


def _v2_training(p: dict) -> list[Job]:
    from .train import ProgressiveLearning

    train, test = data_size(p.get("data"), p.get("subset"))
    test = min(test, int(p.get("test_images") or test))
    epochs, seeds, model, final = _epochs(p["train"]), _seeds(p), p["model_name"], int(p["final_size"])
    pl = ProgressiveLearning(int(p["stages"]), image_size=(int(p["initial_size"]), final),
                             size_multiple=int(p["size_multiple"]))
    sides = [pl.values(pl.stage_of(e, epochs))["image_size"] for e in range(epochs)]  # one side per epoch
    jobs = [Job("fixed-size training", model, final, train * epochs * seeds)]
    jobs += [Job(f"progressive training at {s} px", model, int(s), train * sides.count(s) * seeds)
             for s in sorted(set(sides))]
    jobs.append(Job("test evaluations (both runs)", model, final, 2 * test * seeds, train=False))
    if p.get("imagenet_val"):
        n = min(50_000, int(p.get("imagenet_limit") or 50_000))
        for m, s in (("efficientnet_b6", 528), ("timm:resnetrs350", 288), ("timm:deit_base_patch16_224", 224),
                     ("efficientnet_v2_s", 384), ("efficientnet_b7", 600), ("torchvision:efficientnet_v2_m", 480),
                     ("efficientnet_b4", 380)):  # the publishers' crops
            jobs.append(Job(f"{m} on ImageNet val", m, int(p.get("imagenet_image_size") or s), n, train=False))
    side, small = int(p["fused_image_size"]), max(32, round(int(p["fused_image_size"]) * 224 / 380))
    fused = [(f"efficientnet_b4_fused{k}", side) for k in (0, 3, 5, 7)] + [("efficientnet_b4_fused0", small)]
    t10 = [(m, max(32, round(s * float(p.get("table10_latency_scale") or 1))))
           for m, s in (("efficientnet_b7", 600), ("torchvision:efficientnet_v2_m", 480))]
    return jobs + _timed(t10, int(p["table10_repeats"]) + 2, fused,
                         (int(p["fused_steps"]) + 1) * int(p["fused_rounds"]), int(p["fused_batch_size"]))


def _tinynet(p: dict) -> list[Job]:
    """Paper 004's sweep (tinynet_rubiks_cube): the random twists and their seed-noise repeats, the references
    (B0, B^-1..-4, Table 1's one-dimension shrinks, the paper's TinyNets) with their seeds, our TinyNet-B..E,
    the models around 0.5 C0, the best twists again on fresh seeds, and Table 2's ResNets."""
    from . import search
    from .scorecard.power import GPU_SUSTAINED_MACS

    train, test = data_size(p.get("data"), p.get("subset"))
    epochs, base = _epochs(p["train"]), int(p["base_resolution"])
    seeds = lambda key: len(p.get(key) or [])
    samples = search.sample_random(int(p["n_samples"]), seed=int(p.get("sample_seed", 0)), **dict(search.PAPER_SCALE))
    mean_c = float(samples["c"].mean()) if len(samples) else 0.5
    c0_at_side = search.b0_macs(**dict(search.PAPER_SCALE)) * (base / 224) ** 2  # MACs scale with the side squared
    twists = int(p["n_samples"]) + int(p.get("noise_twists") or 0) * seeds("noise_seeds")
    small = (4 * (1 + seeds("extra_seeds"))  # B^-1..-4 with their seeds (mean cost about 0.24 C0)
             + 4 * (1 + seeds("extra_seeds")))  # our TinyNet-B..E with the same seeds
    refs = 8 * (1 + seeds("table1_seeds")) + 2 * seeds("table1_seeds")  # B0, Table 1's shrinks, the best twists
    around = int(p.get("n_around") or 0) if p.get("train_around") else 0
    seconds = lambda n, c: n * train * epochs * 3 * c0_at_side * c / GPU_SUSTAINED_MACS
    jobs = [Job(f"{twists} random twists, {epochs} epochs each (mean cost {mean_c:.2f} C0)",
                seconds=seconds(twists, mean_c)),
            Job(f"{small} TinyNet-B..E and B^-1..-4 trainings (seeds)", seconds=seconds(small, 0.24)),
            Job(f"{refs} references (B0, one-dimension shrinks, paper TinyNets, best twists)", seconds=seconds(refs, 0.5)),
            Job(f"{around} models around 0.5 C0", seconds=seconds(around, 0.5))]
    table2 = {"resnet50": "torchvision:resnet50", "resnet34": "torchvision:resnet34", "resnet18": "torchvision:resnet18"}
    for key in p.get("resnets") or []:
        jobs.append(Job(f"Table 2: {key}", table2.get(key, f"torchvision:{key}"), base,
                        train * _epochs(p["resnet_train"])))
    return jobs


def _tables(p: dict) -> list[Job]:
    """Paper 004's Table 3 accuracies (tinynet_tables): the published weight files scored on ImageNet val, the
    rows without published weights trained on ImageNet-1k with the paper's recipe, and the latency proxy."""
    from .claims import paper_table
    from .models import native_image_size

    jobs = [Job("Table 4 latencies (batch 1, 5 networks)", seconds=15)]
    rows = paper_table("tinynet_table3_all")
    _, test = data_size(p.get("imagenet")) if p.get("imagenet") else (0, 0)
    test = min(test, int(p["imagenet_limit"])) if p.get("imagenet_limit") else test
    train, _ = data_size(p.get("imagenet_train"), p.get("imagenet_subset")) if p.get("imagenet_train") else (0, 0)
    runs = len(p.get("train_seeds") or [0]) * _epochs(p["train"])
    for _, row in rows.iterrows():
        side = native_image_size(row["builder"]) if math.isnan(row["r"]) else 32 * round(224 * row["r"] / 32)
        if isinstance(row["weights"], str) and test:
            jobs.append(Job(f"{row['key']}: published weights on ImageNet val", row["builder"], side, test, train=False))
        elif not isinstance(row["weights"], str) and train:
            trained_side = max(16, round(side * float(p.get("side_scale") or 1.0)))
            jobs.append(Job(f"{row['key']}: trained on ImageNet-1k", row["builder"], trained_side, train * runs))
    return jobs


def _architectures(p: dict) -> list[Job]:
    # counting is CPU work; on the GPU ~20 networks x latency_repeats batch-1 passes and the fused throughput
    return [Job("counts and latencies of every network", seconds=30)]


JOBS = {"make_efficientnetv2_more_efficient": _make_efficientnetv2, "simplified_efficientnet": _simplified,
        "foray_into_cnn_efficiency": _foray, "efficientnetv2_training": _v2_training,
        "tinynet_rubiks_cube": _tinynet, "tinynet_tables": _tables, "architectures_and_costs": _architectures,
        "scorecard": lambda p: []}
