"""cnneff: the helper library of the CNN-efficiency reproducibility book.

Modules (one idea each), lowest first (a module imports only modules above it in this list):

* :mod:`cnneff.core`       precision/autocast, thread pinning, device choice, weight dtype,
                           atomic writes, ImageNet mean/std (imports only torch)
* :mod:`cnneff.paths`      where notebooks, results and parameters live
* :mod:`cnneff.scaling`    compound scaling: B0 constants, B0..B7, image_side, inverse giant formula
* :mod:`cnneff.claims`     the papers' own numbers (paper values only)
* :mod:`cnneff.counting`   exact params / MACs, in total and per layer
* :mod:`cnneff.models`     registry of every network (``build_model``; package: registry,
                           efficientnet, tiny, mobile, fused, lite, simplified, describe)
* :mod:`cnneff.data`       data sets as cached uint8 splits (package: containers, pixels, splits,
                           cache, files, folders, elpv, arrays, robustness, sources)
* :mod:`cnneff.train`      ``TrainConfig`` and the book's presets, ``fit`` / ``train_one_epoch`` /
                           ``evaluate``, callbacks, checkpoints, DDP (package: config, presets,
                           engine, evaluate, batches, optim, callbacks, progressive, batchnorm,
                           checkpoint, probe)
* :mod:`cnneff.compress`   pruning, network slimming, fp16, int8: each ``(model, report)``
* :mod:`cnneff.evaluation` one results-table row of a trained classifier, int8 speed-ups
* :mod:`cnneff.experiments` experiment protocols the notebooks run (paper 000's Table 1)
* :mod:`cnneff.transfer`   fine-tuning helpers (freezing, heads) and torchvision's B-variants
* :mod:`cnneff.search`     TinyNet's Rubik's cube (package: costs, sampling, sweep, pareto, formula)
* :mod:`cnneff.measure`    CPU/GPU latency and throughput with hardware info
* :mod:`cnneff.scorecard`  the rulebook: every claim judged (package: kinds, rules, gates, ...)
* :mod:`cnneff.results`    each notebook's metrics.json
* :mod:`cnneff.runner`     papermill execution of the notebooks per profile
* :mod:`cnneff.cli`        the ``cnneff`` command line
"""
__version__ = "0.1.0"
