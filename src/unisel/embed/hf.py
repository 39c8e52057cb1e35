"""``hf:PATH``: mean-pooled hidden states of any Hugging Face encoder (``transformers.AutoModel``).

``PATH`` is a local model folder (config, weights and tokenizer files) or a hub name such as
``org/model``. A hub name is looked up in the local Hugging Face cache first; only if it is not
there, and ``HF_HUB_OFFLINE`` is not set, is it downloaded. A model that cannot be found or read
is reported in one line.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from unisel._progress import progress_bar
from unisel.embed._deps import require, transformers_progress
from unisel.embed.base import EMBEDDERS, Embedder, check_at_least
from unisel.errors import InputError, ParameterError


def _looks_like_path(spec: str) -> bool:
    return (
        spec.startswith(("/", "./", "../", "~")) or spec in (".", "..") or os.sep + os.sep in spec
    )


def folder_fingerprint(folder: Path) -> str:
    """sha256 (hex) of the names, sizes and modification times of the files in ``folder``.

    Cheap stand-in for hashing the weights: a changed or replaced model file changes it.
    """
    h = hashlib.sha256()
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        st = file.stat()
        h.update(f"{file.relative_to(folder)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


@EMBEDDERS.register("hf")
class HFEmbedder(Embedder):
    """Attention-mask weighted mean of the last hidden states of a transformers encoder.

    Parameters
    ----------
    path : str
        Local model folder or hub name (the part after ``hf:`` in the spec).
    batch_size : int
        Texts per forward pass (memory only; not part of the cache key).
    max_length : int
        Tokens kept per text; also capped by the tokenizer's and the model's own limits.
    device : str
        Torch device, e.g. ``"cpu"`` or ``"cuda"``.
    local_files_only : bool
        Never download a hub name, even when online.
    """

    spec_argument = "path"

    def __init__(
        self,
        *,
        path: str,
        batch_size: int = 16,
        max_length: int = 512,
        device: str = "cpu",
        local_files_only: bool = False,
    ) -> None:
        if not path:
            raise ParameterError("hf: no model given; use hf:PATH (a local folder or a hub name)")
        check_at_least(f"hf:{path}", batch_size=batch_size, max_length=max_length)
        self.path = str(path)
        self.batch_size = int(batch_size)
        self.max_length = int(max_length)
        self.device = str(device)
        self.local_files_only = bool(local_files_only)

    def _local_folder(self) -> Path | None:
        folder = Path(self.path).expanduser()
        if folder.is_dir():
            return folder.resolve()
        if _looks_like_path(self.path) or folder.exists():
            raise InputError(f"hf:{self.path}: no such model folder")
        return None

    def config(self) -> dict[str, Any]:
        folder = self._local_folder()
        model: dict[str, Any] = (
            {"folder": str(folder), "fingerprint": folder_fingerprint(folder)}
            if folder is not None
            else {"hub": self.path}
        )
        return {**model, "max_length": self.max_length, "pooling": "mean", "device": self.device}

    def _load(self, progress: bool) -> tuple[Any, Any]:
        transformers = require("transformers", "hf")
        folder = self._local_folder()
        source = str(folder) if folder is not None else self.path
        try:  # a local folder, or a hub name already in the local cache: no network
            return self._from_pretrained(transformers, source, True, progress)
        except (OSError, ValueError, KeyError) as exc:
            if folder is not None:
                raise InputError(
                    f"hf:{self.path}: cannot load a model and tokenizer from the folder "
                    f"{source}: {_first_line(exc)}"
                ) from None
            if self.local_files_only or _env_offline():
                raise InputError(
                    f"hf:{self.path}: not a local folder and not in the Hugging Face cache "
                    f"(offline): {_first_line(exc)}"
                ) from None
        _probe_hub(self.path)
        try:
            return self._from_pretrained(transformers, source, False, progress)
        except (OSError, ValueError, KeyError) as exc:
            raise InputError(
                f"hf:{self.path}: cannot load a model and tokenizer from the hub: "
                f"{_first_line(exc)}"
            ) from None

    @staticmethod
    def _from_pretrained(
        transformers: Any, source: str, local_only: bool, progress: bool
    ) -> tuple[Any, Any]:
        with transformers_progress(progress):
            tokenizer = transformers.AutoTokenizer.from_pretrained(
                source, local_files_only=local_only
            )
            model = transformers.AutoModel.from_pretrained(source, local_files_only=local_only)
        return tokenizer, model

    def embed(self, texts: Sequence[str], *, progress: bool = True) -> np.ndarray:
        """Encode ``texts`` in batches, longest first, and mean-pool the token states.

        As `Embedder.embed`, ``progress`` showing a bar over the batches.

        Returns
        -------
        ndarray of shape (n, hidden_size), float32.
        """
        torch = require("torch", "hf")
        tokenizer, model = self._load(progress)
        model.to(self.device).eval()
        limit = min(self.max_length, int(getattr(tokenizer, "model_max_length", self.max_length)))
        positions = getattr(model.config, "max_position_embeddings", None)
        if positions:
            limit = min(limit, int(positions))
        hidden = int(model.config.hidden_size)
        out = np.zeros((len(texts), hidden), dtype=np.float32)
        # Longest first: batches of similar length waste less padding.
        order = np.argsort([-len(t) for t in texts], kind="stable")
        starts = range(0, len(texts), self.batch_size)
        with torch.inference_mode():
            for start in progress_bar(
                starts, desc=f"hf:{self.path}", unit="batch", quiet=not progress
            ):
                rows = order[start : start + self.batch_size]
                batch = tokenizer(
                    [texts[i] for i in rows],
                    padding=True,
                    truncation=True,
                    max_length=limit,
                    return_tensors="pt",
                ).to(self.device)
                states = model(**batch).last_hidden_state.float()
                mask = batch["attention_mask"].unsqueeze(-1).to(states.dtype)
                pooled = (states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
                out[rows] = pooled.cpu().numpy()
        return out


def _probe_hub(name: str) -> None:
    """Fail fast, in one line, when the hub cannot be reached or has no such model.

    Downloading through transformers would retry for most of a minute before giving up.
    """
    hub = require("huggingface_hub", "hf")
    try:
        hub.model_info(name, timeout=10)
    except hub.errors.GatedRepoError:
        return  # may still load with the user's token
    except hub.errors.RepositoryNotFoundError:
        raise InputError(
            f"hf:{name}: not a local folder, not in the Hugging Face cache, and no such model "
            "on the hub"
        ) from None
    except hub.errors.HfHubHTTPError:
        return  # the hub answered; let the download report what is wrong
    except Exception as exc:  # network errors of the HTTP client in use
        raise InputError(
            f"hf:{name}: not a local folder and not in the Hugging Face cache, and the hub "
            f"cannot be reached ({_first_line(exc)}); pass a local model folder"
        ) from None


def _first_line(exc: BaseException, limit: int = 200) -> str:
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _env_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")
