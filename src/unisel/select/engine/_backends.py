"""Block products for the engine: ``A @ B.T`` in float32 with numpy (BLAS) or torch.

The engine's exactness does not depend on how a block product is computed, only on its error
being within the stated tolerance (any float32 summation order is; TF32 is not, so the torch
backend switches it off around its products).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

import numpy as np

from unisel.errors import ParameterError

Matmul = Callable[[np.ndarray, np.ndarray], np.ndarray]

# n * d above which device="auto" moves the block products to a CUDA device. Not measured:
# no GPU was available when the engine was written; see docs/performance.md.
AUTO_CUDA_MIN_SIZE = 20_000_000


def numpy_matmul(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """``A @ B.T`` for float32 ``A`` (m, d) and ``B`` (c, d), shape (m, c), float32 (BLAS)."""
    return A @ B.T


@contextmanager
def _full_float32(torch: Any):
    """Disable TF32 and reduced-precision reductions for the duration of a product."""
    old_tf32 = torch.backends.cuda.matmul.allow_tf32
    old_prec = torch.get_float32_matmul_precision()
    try:
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.set_float32_matmul_precision("highest")
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = old_tf32
        torch.set_float32_matmul_precision(old_prec)


def torch_matmul(device: str) -> Matmul:
    """A block product running on torch device ``device`` ("cpu", "cuda", "cuda:1", ...)."""
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - torch is installed with unisel[embed]
        raise ParameterError(f"device={device!r} needs torch: pip install 'unisel[embed]'") from exc
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ParameterError(f"device={device!r}: torch sees no CUDA device")

    def matmul(A: np.ndarray, B: np.ndarray) -> np.ndarray:
        with _full_float32(torch), torch.no_grad():
            a = torch.from_numpy(np.ascontiguousarray(A, dtype=np.float32)).to(dev)
            b = torch.from_numpy(np.ascontiguousarray(B, dtype=np.float32)).to(dev)
            return (a @ b.T).cpu().numpy()

    return matmul


def cuda_available() -> bool:
    """True when torch is importable and sees a CUDA device."""
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def resolve_device(device: str, n: int, d: int) -> tuple[str, Matmul]:
    """Map the user's ``device`` to (name, block product).

    ``"cpu"``: numpy/BLAS. ``"torch"``: torch on CPU tensors. ``"cuda"`` or ``"cuda:N"``: torch
    on that GPU. ``"auto"``: CUDA when available and ``n * d >= AUTO_CUDA_MIN_SIZE``, else cpu.
    """
    if device == "auto":
        device = "cuda" if n * d >= AUTO_CUDA_MIN_SIZE and cuda_available() else "cpu"
    if device == "cpu":
        return "cpu", numpy_matmul
    if device == "torch":
        return "torch", torch_matmul("cpu")
    if device == "cuda" or device.startswith("cuda:"):
        return device, torch_matmul(device)
    raise ParameterError(f"unknown device {device!r}; use 'cpu', 'torch', 'cuda' or 'auto'")
