"""Importing this module runs one tiny fit (no checkpoint): a fork server that
preloads it hands its children an engine whose lazy first-use work (optimizer
and autograd set-up, scikit-learn metrics) is already done."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import torch  # noqa: E402

from cnneff.train import fit  # noqa: E402
from tiny import tiny_data, tiny_model  # noqa: E402

torch.set_num_threads(1)
fit(tiny_model(), tiny_data(n_train=32, n_val=16, n_test=16, size=16), epochs=1, batch_size=16, progress=False)
