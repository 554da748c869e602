"""cnneff: the helper library of the CNN-efficiency reproducibility book.

Modules (one idea each):

* :mod:`cnneff.models`     registry of every network (``build_model``)
* :mod:`cnneff.simplified` paper 001's hand-written simplified EfficientNet
* :mod:`cnneff.counting`   exact params / MACs, in total and per layer
* :mod:`cnneff.data`       embedded and the papers' data sets as cached uint8 splits
* :mod:`cnneff.train`      ``fit`` / ``evaluate``: checkpoints, callbacks, DDP, linear probe
* :mod:`cnneff.measure`    CPU/GPU latency and throughput with hardware info
* :mod:`cnneff.claims`     the papers' own numbers (paper values only)
* :mod:`cnneff.runner`     papermill execution of the notebooks per profile
* :mod:`cnneff.paths`      where notebooks, results and parameters live
* :mod:`cnneff.results`    atomic writing of each notebook's metrics.json
"""
__version__ = "0.1.0"
