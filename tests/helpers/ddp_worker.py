"""Started by torchrun with 2 CPU processes: fit a tiny model with DDP (gloo)
and save each rank's final weights to OUT_DIR/rank<R>.pt."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402

from cnneff.train import fit  # noqa: E402
from tiny import tiny_data, tiny_model  # noqa: E402

torch.set_num_threads(1)
r = fit(tiny_model(), tiny_data(n_train=128), epochs=2, batch_size=32, lr=0.1, progress=False, device="cpu")
rank = dist.get_rank()
torch.save({k: v.detach().clone() for k, v in r.model.state_dict().items()}, os.path.join(sys.argv[1], f"rank{rank}.pt"))
dist.destroy_process_group()
