"""Engine overhead: cnneff.train.fit's training images/s over a bare
forward/backward/step loop on the same in-memory tensors (target >= 0.9).

    python benchmarks/engine_overhead.py [--model mobilenet_v2] [--image-size 64] [--images 1024] [--epochs 3]

Both sides train the same model on the same uint8 images with SGD, batch 64,
no augmentation; the bare loop gets the images already normalized as float, so
the ratio includes everything the engine adds (uint8 -> float, normalization,
scheduler, metrics, progress bar).  The first epoch of each is a warm-up.
Prints a ratio, never fails: timings are noisy on a shared machine."""
import argparse
import statistics
import sys
import time
from types import SimpleNamespace

import torch
import torch.nn.functional as F

from cnneff.data import ImageSet
from cnneff.measure import hardware_info
from cnneff.models import build_model
from cnneff.core import IMAGENET_MEAN, IMAGENET_STD
from cnneff.train import fit


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="mobilenet_v2")
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--images", type=int, default=1024)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    g = torch.Generator().manual_seed(0)
    x8 = torch.randint(0, 256, (a.images, 3, a.image_size, a.image_size), dtype=torch.uint8, generator=g)
    y = torch.randint(0, 10, (a.images,), generator=g)
    empty = ImageSet(x8[:0], y[:0], [str(i) for i in range(10)])
    data = SimpleNamespace(train=ImageSet(x8, y, [str(i) for i in range(10)]), val=empty, test=empty,
                           classes=[str(i) for i in range(10)])

    torch.manual_seed(0)
    r = fit(build_model(a.model, num_classes=10), data, epochs=a.epochs, batch_size=a.batch_size, lr=0.01,
            schedule="constant", augment=False, evaluate_test=False, progress=False)
    engine = statistics.median(r.history["images_per_second"].iloc[1:])

    torch.manual_seed(0)
    model = build_model(a.model, num_classes=10).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-5)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    xf = (x8.float() / 255 - mean) / std
    speeds = []
    for epoch in range(a.epochs):
        order = torch.randperm(a.images, generator=g)
        t0 = time.perf_counter()
        n = 0
        for i in range(0, a.images - a.images % a.batch_size, a.batch_size):
            idx = order[i:i + a.batch_size]
            loss = F.cross_entropy(model(xf[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            n += len(idx)
        speeds.append(n / (time.perf_counter() - t0))
    bare = statistics.median(speeds[1:])
    hw = hardware_info()
    print(f"{a.model} @ {a.image_size}px, batch {a.batch_size}, {a.threads} threads on {hw['cpu']}")
    print(f"engine {engine:.1f} img/s, bare loop {bare:.1f} img/s, ratio {engine / bare:.3f} (target >= 0.9)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
