"""cnneff: the helper library of the CNN-efficiency reproducibility book.

Modules (one idea each), lowest first (a module imports only modules above it in this list):

* :mod:`cnneff.core`       precision/autocast, thread pinning, device choice, weight dtype,
                           atomic writes, ImageNet mean/std (imports only torch)
* :mod:`cnneff.paths`      where notebooks, results and parameters live
* :mod:`cnneff.scaling`    compound scaling: B0 constants, B0..B7, image_side, inverse giant formula
* :mod:`cnneff.config`     ``TrainConfig``: every training knob, its default and reason, presets
* :mod:`cnneff.claims`     the papers' own numbers (paper values only)
* :mod:`cnneff.counting`   exact params / MACs, in total and per layer
* :mod:`cnneff.models`     registry of every network (``build_model``)
* :mod:`cnneff.simplified` paper 001's hand-written simplified EfficientNet
* :mod:`cnneff.data`       data sets as cached uint8 splits (package: containers, pixels, splits,
                           cache, files, folders, elpv, arrays, robustness, sources)
* :mod:`cnneff.checkpoint` run identity, lock, atomic checkpoint files
* :mod:`cnneff.train`      ``fit`` / ``train_one_epoch`` / ``evaluate``, callbacks, DDP, linear probe
* :mod:`cnneff.transfer`   fine-tuning helpers (freezing, heads) and torchvision's B-variants
* :mod:`cnneff.search`     TinyNet's Rubik's cube (package: costs, sampling, sweep, pareto, formula)
* :mod:`cnneff.measure`    CPU/GPU latency and throughput with hardware info
* :mod:`cnneff.results`    each notebook's metrics.json
* :mod:`cnneff.runner`     papermill execution of the notebooks per profile
* :mod:`cnneff.cli`        the ``cnneff`` command line
"""
__version__ = "0.1.0"
