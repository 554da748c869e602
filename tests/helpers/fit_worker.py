"""Run one deterministic fit in a subprocess: ``fit_worker.py CKPT_DIR OUT_JSON [KILL_AT_STEP]``.
With KILL_AT_STEP the process SIGKILLs itself at that optimizer step (mid-epoch)."""
import json
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(__file__))
import torch  # noqa: E402

from cnneff.train import Callback, fit  # noqa: E402
from tiny import tiny_data, tiny_model  # noqa: E402

torch.set_num_threads(1)


class Killer(Callback):
    def __init__(self, at):
        self.at = at

    def on_after_backward(self, state):
        if state.step == self.at:
            os.kill(os.getpid(), signal.SIGKILL)


ckpt, out = sys.argv[1], sys.argv[2]
cbs = [Killer(int(sys.argv[3]))] if len(sys.argv) > 3 else []
r = fit(tiny_model(), tiny_data(), epochs=3, batch_size=32, lr=0.1, checkpoint_dir=ckpt, callbacks=cbs,
        progress=False, seed=3)
hist = r.history.drop(columns=["epoch_seconds", "images_per_second"]).to_dict(orient="records")
state = {k: v.double().sum().item() for k, v in r.model.state_dict().items()}
with open(out, "w") as f:
    json.dump(dict(history=hist, test={k: r.test[k] for k in ("accuracy", "loss", "f1")}, weights=state), f)
