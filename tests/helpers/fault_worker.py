"""One deterministic 4-epoch fit in a subprocess that can be SIGKILLed at a
chosen point: ``fault_worker.py CKPT_DIR OUT_JSON [step:N | save:E]``.

``step:N`` dies after the backward pass of the step that starts with N steps
done (N = 0: the first step, before any checkpoint);
``save:E`` dies in the middle of writing the checkpoint of epoch E (0-based),
after half of the file's bytes reached the disk.  Without a kill point the run
finishes and writes its final history, test metrics and weight sums to OUT_JSON."""
import io
import json
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(__file__))
import torch  # noqa: E402

from cnneff.train import Callback, fit  # noqa: E402
from tiny import tiny_data, tiny_model  # noqa: E402

torch.set_num_threads(1)
EPOCHS, BATCH = 4, 16  # 96 training images of 16x16: 6 steps per epoch, 24 in all


def run(ckpt, kill=None):
    """Fit (dying at ``kill``) and return the comparable outcome as a dict."""
    what, _, at = (kill or "").partition(":")
    cbs = []
    if what == "step":
        class Killer(Callback):
            def on_after_backward(self, state):
                if state.step == int(at):
                    os.kill(os.getpid(), signal.SIGKILL)

        cbs.append(Killer())
    elif what == "save":
        real_save = torch.save

        def dying_save(obj, f, *a, **k):
            if isinstance(obj, dict) and obj.get("epoch") == int(at):
                buf = io.BytesIO()
                real_save(obj, buf)
                data = buf.getvalue()
                f.write(data[: len(data) // 2])
                f.flush()
                os.fsync(f.fileno())
                os.kill(os.getpid(), signal.SIGKILL)
            return real_save(obj, f, *a, **k)

        torch.save = dying_save
    r = fit(tiny_model(), tiny_data(n_train=96, n_val=32, n_test=32, size=16), epochs=EPOCHS, batch_size=BATCH,
            lr=0.1, checkpoint_dir=ckpt, callbacks=cbs, progress=False, seed=3)
    hist = r.history.drop(columns=["epoch_seconds", "images_per_second"]).to_dict(orient="records")
    weights = {k: v.double().sum().item() for k, v in r.model.state_dict().items()}
    return dict(history=hist, test={k: r.test[k] for k in ("accuracy", "loss", "f1")}, weights=weights)


def run_to(ckpt, out_json, kill=None):
    """:func:`run` and write its outcome to ``out_json`` (a multiprocessing target)."""
    out = run(ckpt, kill)
    with open(out_json, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    out = run(sys.argv[1], sys.argv[3] if len(sys.argv) > 3 else None)
    with open(sys.argv[2], "w") as f:
        json.dump(out, f)
