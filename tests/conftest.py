"""Shared test settings: small thread pools so the suite behaves on 2-core CI machines."""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


import pytest  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _private_unisel_cache(tmp_path_factory: pytest.TempPathFactory):
    """Never touch the user's cache: the embeddings and converted models (tiny-llama,
    SmolLM2) go under a temporary ``UNISEL_CACHE_DIR`` for the whole session, subprocesses
    included (they inherit the environment). Tests that want their own set it themselves."""
    root = tmp_path_factory.mktemp("unisel-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("UNISEL_CACHE_DIR", str(root))
        yield root


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory):
    """A randomly initialised 2-layer BERT with a word-level vocabulary, saved to a folder."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    from tests._data import WORDS

    folder = tmp_path_factory.mktemp("tiny_bert")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted(set(WORDS))]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    BertTokenizerFast(vocab_file=str(folder / "vocab.txt")).save_pretrained(folder)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    torch.manual_seed(0)
    BertModel(config).save_pretrained(folder)
    return folder
