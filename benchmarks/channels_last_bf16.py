"""Training images/s with and without channels_last and bf16 autocast, per
model and resolution, as ratios over the plain fp32 / contiguous run.

    python benchmarks/channels_last_bf16.py [--models efficientnet_b0 efficientnet_v2_s mobilenet_v2] [--sizes 64 96]

Uses cnneff.measure.training_throughput (median step time of a bare SGD step
on one random batch after warm-up, fixed thread count).  Prints a table of
ratios; never fails (timings are not tests)."""
import argparse
import sys

import pandas as pd
import torch

from cnneff.measure import hardware_info, training_throughput
from cnneff.models import build_model


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=["efficientnet_b0", "efficientnet_v2_s", "mobilenet_v2"])
    p.add_argument("--sizes", nargs="+", type=int, default=[64, 96])
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args(argv)
    rows = []
    for name in a.models:
        for size in a.sizes:
            res = {}
            for cl in (False, True):
                for prec in ("fp32", "bf16"):
                    torch.manual_seed(0)
                    m = build_model(name, num_classes=10)
                    res[(cl, prec)] = training_throughput(m, size, a.batch_size, steps=a.steps, warmup=2,
                                                          threads=a.threads, precision=prec,
                                                          channels_last=cl)["images_per_second"]
            base = res[(False, "fp32")]
            rows.append({"model": name, "size": size, "fp32 img/s": round(base, 1),
                         "channels_last": round(res[(True, "fp32")] / base, 2),
                         "bf16": round(res[(False, "bf16")] / base, 2),
                         "channels_last+bf16": round(res[(True, "bf16")] / base, 2)})
            print(rows[-1], flush=True)
    hw = hardware_info()
    print(f"\ntraining speed ratios over fp32/contiguous, batch {a.batch_size}, {a.threads} threads, {hw['cpu']}, torch {hw['torch']}")
    print(pd.DataFrame(rows).to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
