"""Compression routines of paper 000, usable on any torchvision/timm CNN.

Every routine returns ``(new_model, report)``; the report is a
:class:`~cnneff.compress.report.CompressionReport` (params and MACs before and
after, MACs not FLOPs, at an image size; the weight file's bytes where the
number format changes; channels kept per layer where channels are removed).
Input models are never modified: each routine works on a copy.

* :mod:`~cnneff.compress.pruning`   ``prune_channels``: global L1-magnitude channel pruning
* :mod:`~cnneff.compress.slimming`  ``NetworkSlimming``: the L1-on-gamma regulariser and its pruning step
* :mod:`~cnneff.compress.precision` ``to_half``, ``weight_file_bytes``, ``training_memory_bytes``
* :mod:`~cnneff.compress.int8`      ``int8_ready``, ``quantize_int8`` (post-training static, CPU)
* :mod:`~cnneff.compress.report`    ``CompressionReport``, ``CompressionError``
"""
from .int8 import int8_ready, quantize_int8
from .precision import to_half, training_memory_bytes, weight_file_bytes
from .pruning import prune_channels
from .report import CompressionError, CompressionReport
from .slimming import NetworkSlimming, bn_gammas

__all__ = ["CompressionError", "CompressionReport", "prune_channels", "NetworkSlimming", "bn_gammas", "to_half",
           "weight_file_bytes", "training_memory_bytes", "int8_ready", "quantize_int8"]
