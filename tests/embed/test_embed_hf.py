"""hf:PATH with a tiny randomly initialised BERT written to a temporary folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import transformers

from unisel.embed import embed_texts, get_embedder
from unisel.errors import InputError

WORDS = ["the", "cat", "dog", "sat", "on", "mat", "ran", "far", "a", "big", "small", "red"]


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tiny-bert")
    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]) + "\n")
    tokenizer = transformers.BertTokenizerFast(vocab_file=str(vocab))
    config = transformers.BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=32,
    )
    torch.manual_seed(0)
    transformers.BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


TEXTS = ["the cat sat on the mat", "a big red dog ran far", "cat", "the small dog", "zebra !", ""]


def test_shape_dtype_and_deterministic(tiny_bert: Path) -> None:
    runs = [
        embed_texts(TEXTS, f"hf:{tiny_bert}", cache_dir=False, quiet=True, batch_size=4)
        for _ in range(2)
    ]
    X = runs[0].vectors
    assert X.shape == (len(TEXTS), 16) and X.dtype == np.float32 and np.isfinite(X).all()
    assert X.tobytes() == runs[1].vectors.tobytes()
    assert runs[0].method == f"hf:{tiny_bert}"


def test_batched_padded_mean_equals_one_text_at_a_time(tiny_bert: Path) -> None:
    tokenizer = transformers.AutoTokenizer.from_pretrained(tiny_bert)
    model = transformers.AutoModel.from_pretrained(tiny_bert).eval()
    with torch.no_grad():
        want = np.stack(
            [
                model(**tokenizer(t, return_tensors="pt")).last_hidden_state[0].mean(0).numpy()
                for t in TEXTS
            ]
        )
    got = embed_texts(TEXTS, f"hf:{tiny_bert}", cache_dir=False, quiet=True, batch_size=3).vectors
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_long_text_is_truncated_to_the_model_window(tiny_bert: Path) -> None:
    long = " ".join(["cat"] * 200)  # far beyond max_position_embeddings=32
    X = embed_texts([long, "dog"], f"hf:{tiny_bert}", cache_dir=False, quiet=True).vectors
    assert X.shape == (2, 16) and np.isfinite(X).all()


def test_cached_and_keyed_on_the_folder(tiny_bert: Path, tmp_path: Path) -> None:
    a = embed_texts(TEXTS, f"hf:{tiny_bert}", cache_dir=tmp_path, quiet=True)
    assert a.params["folder"] == str(tiny_bert.resolve()) and len(a.params["fingerprint"]) == 64
    b = embed_texts(TEXTS, f"hf:{tiny_bert}", cache_dir=tmp_path, quiet=True, max_length=8)
    assert a.cache_path != b.cache_path


def test_missing_folder(tmp_path: Path) -> None:
    spec = f"hf:{tmp_path / 'no-model'}"
    with pytest.raises(InputError, match="no such model folder"):
        embed_texts(TEXTS, spec, cache_dir=False, quiet=True)


def test_folder_without_a_model(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        embed_texts(TEXTS, f"hf:{tmp_path}", cache_dir=False, quiet=True)
    assert "cannot load a model" in str(info.value) and "\n" not in str(info.value)


def test_hub_name_not_cached_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    name = "unisel-tests/certainly-not-a-cached-model"
    with pytest.raises(InputError) as info:
        get_embedder(f"hf:{name}").embed(TEXTS, progress=False)
    message = str(info.value)
    assert name in message and "(offline)" in message and "\n" not in message


def test_unreachable_hub_fails_fast_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    probed: list[str] = []

    def unreachable(name: str, **kwargs: object) -> None:
        probed.append(name)
        raise ConnectionError("Name or service not known")

    monkeypatch.setattr(huggingface_hub, "model_info", unreachable)
    name = "unisel-tests/certainly-not-a-cached-model"
    with pytest.raises(InputError) as info:
        get_embedder(f"hf:{name}").embed(TEXTS, progress=False)
    assert probed == [name]
    assert str(info.value) == (
        f"hf:{name}: not a local folder and not in the Hugging Face cache, and the hub cannot "
        "be reached (Name or service not known); pass a local model folder"
    )
