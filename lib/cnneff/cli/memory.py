"""Whether a training batch fits in memory, estimated before any data loads:
:func:`activation_bytes` (what one image's forward pass keeps for the
backward pass) against :func:`available_bytes` (free RAM, or free GPU memory)."""
from __future__ import annotations

from pathlib import Path

from .common import CliError

__all__ = ["activation_bytes", "available_bytes", "check_batch_fits", "human"]


def human(n: float) -> str:
    """``n`` bytes as a short text (``1.2 GB``)."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def activation_bytes(model, image_size: int, channels: int = 3) -> int:
    """Bytes of every leaf module's output for ONE image at ``image_size``
    (float32): roughly what a training step keeps per image for the backward
    pass.  Shapes come from a forward pass on the ``meta`` device (nothing is
    computed or allocated); a model that cannot run there is run on the CPU.
    Returns the count."""
    import copy

    import torch

    total = 0

    def hook(_module, _inputs, output):
        nonlocal total
        for t in (output if isinstance(output, (tuple, list)) else [output]):
            if isinstance(t, torch.Tensor):
                total += t.numel() * 4

    for device in ("meta", "cpu"):
        total = 0
        m = copy.deepcopy(model).to(device).eval()
        handles = [mod.register_forward_hook(hook) for mod in m.modules() if not list(mod.children())]
        try:
            with torch.no_grad():
                m(torch.zeros(1, channels, image_size, image_size, device=device))
            return total
        except Exception:  # noqa: BLE001 - an op without a meta kernel: measure on the CPU instead
            continue
        finally:
            for h in handles:
                h.remove()
    return 0


def _cgroup_limit() -> int | None:
    """The memory this process's cgroup may still use (None if unlimited or unknown)."""
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = int(Path("/sys/fs/cgroup/memory.current").read_text().strip())
    except (OSError, ValueError):
        return None
    return None if limit == "max" else max(0, int(limit) - used)


def available_bytes(device) -> tuple[int | None, str]:
    """(bytes free for training on ``device``, what they are): free GPU memory
    on CUDA, else the kernel's MemAvailable (and the cgroup's remaining limit,
    if lower).  (None, "") when unknown."""
    import torch

    if getattr(device, "type", str(device)) == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return free, f"free memory on {device}"
    free = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                free = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    limit = _cgroup_limit()
    if limit is not None and (free is None or limit < free):
        return limit, "memory left to this process's cgroup"
    return free, "available RAM"


def check_batch_fits(model_name: str, image_size: int, batch_size: int, device) -> None:
    """CliError (one line with the estimate) if ``batch_size`` images of
    ``model_name`` at ``image_size`` px need more memory than ``device`` has
    free: activations per image x batch, plus the weights, their gradients
    and two optimizer buffers (4 x the parameter bytes).  Returns None."""
    from ..models import build_model

    free, what = available_bytes(device)
    if free is None:
        return
    model = build_model(model_name, num_classes=10)
    per_image = activation_bytes(model, image_size)
    fixed = 4 * 4 * sum(p.numel() for p in model.parameters())
    need = per_image * batch_size + fixed
    if need <= free:
        return
    fits = max(0, int((free - fixed) // max(per_image, 1)))
    raise CliError(f"--batch-size {batch_size} needs about {human(need)} ({human(per_image)} of activations per "
                   f"{image_size} px image x {batch_size}, plus {human(fixed)} for the weights, gradients and "
                   f"optimizer; a rough estimate: every layer's output kept for the backward pass), but this machine "
                   f"has {human(free)} of {what}; pass --batch-size {fits} or less, or a smaller --image-size")
