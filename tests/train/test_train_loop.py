from __future__ import annotations

import json

import pytest
import torch

from tests.train.samples import ALPACA, write_json
from unisel.errors import ParameterError
from unisel.train import TrainConfig, read_log, train

LOGGED = ("step", "loss", "ce", "accuracy", "tokens", "lr", "seconds")


def _cfg(data, out, **kw):
    base = dict(
        data=str(data),
        output=str(out),
        model="tiny-llama",
        max_length=64,
        batch_size=2,
        warmup_steps=0,
        quiet=True,
        save_model=False,
    )
    base.update(kw)
    return TrainConfig(**base)


@pytest.mark.parametrize("objective,lr", [("ce", 3e-3), ("l2", 20.0)])
def test_both_objectives_decrease_loss_on_a_repeated_batch(tmp_path, objective, lr):
    data = write_json(tmp_path / "two.json", ALPACA[:2])  # batch_size 2: every step, same batch
    res = train(_cfg(data, tmp_path / "run", objective=objective, lr=lr, max_steps=6))
    log = read_log(tmp_path / "run" / "log.jsonl")
    assert [r["step"] for r in log] == list(range(1, 7))
    for r in log:
        assert set(LOGGED) <= set(r)
        assert r["tokens"] == log[0]["tokens"]
    assert log[-1]["loss"] < 0.9 * log[0]["loss"]
    if objective == "ce":
        assert all(r["loss"] == pytest.approx(r["ce"]) for r in log)
    assert res.steps == 6 and res.final_loss == log[-1]["loss"]
    assert all(b["seconds"] > a["seconds"] for a, b in zip(log, log[1:], strict=False))


def test_resumed_run_matches_uninterrupted(tmp_path):
    data = write_json(tmp_path / "a.json", ALPACA)
    kw = dict(max_steps=6, save_every=2, save_model=True, lr=1e-3, warmup_steps=2)
    full = train(_cfg(data, tmp_path / "full", **kw))

    class Interrupt(Exception):
        pass

    def stop_at_5(row):
        if row["step"] == 5:
            raise Interrupt

    with pytest.raises(Interrupt):
        train(_cfg(data, tmp_path / "resumed", **kw), on_step=stop_at_5)
    assert len(read_log(tmp_path / "resumed" / "log.jsonl")) == 5
    res = train(_cfg(data, tmp_path / "resumed", **kw))
    assert res.resumed_from == 4 and full.resumed_from == 0

    a = read_log(tmp_path / "full" / "log.jsonl")
    b = read_log(tmp_path / "resumed" / "log.jsonl")
    assert len(a) == len(b) == 6
    for ra, rb in zip(a, b, strict=True):
        for key in ("step", "tokens", "lr", "epoch"):
            assert ra[key] == rb[key]
        for key in ("loss", "ce", "accuracy"):
            assert ra[key] == pytest.approx(rb[key], rel=1e-5, abs=1e-7)

    from safetensors.torch import load_file

    wa = load_file(str(tmp_path / "full" / "model" / "model.safetensors"))
    wb = load_file(str(tmp_path / "resumed" / "model" / "model.safetensors"))
    assert wa.keys() == wb.keys()
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k], rtol=1e-5, atol=1e-6)
    assert not (tmp_path / "resumed" / "checkpoint").exists()


def test_gradient_accumulation_equals_larger_batch(tmp_path):
    data = write_json(tmp_path / "a.json", ALPACA[:4])
    one = train(_cfg(data, tmp_path / "b4", batch_size=4, max_steps=3, lr=1e-3))
    two = train(_cfg(data, tmp_path / "b2x2", batch_size=2, grad_accum=2, max_steps=3, lr=1e-3))
    a, b = read_log(one.output + "/log.jsonl"), read_log(two.output + "/log.jsonl")
    for ra, rb in zip(a, b, strict=True):
        assert ra["tokens"] == rb["tokens"]
        assert ra["loss"] == pytest.approx(rb["loss"], rel=1e-4)


def test_finished_run_is_returned_and_other_settings_refused(tmp_path):
    data = write_json(tmp_path / "a.json", ALPACA[:2])
    first = train(_cfg(data, tmp_path / "run", max_steps=2))
    again = train(_cfg(data, tmp_path / "run", max_steps=2))
    assert again == first
    assert json.loads((tmp_path / "run" / "result.json").read_text())["steps"] == 2
    with pytest.raises(ParameterError, match="other settings.*max_steps"):
        train(_cfg(data, tmp_path / "run", max_steps=3))
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "x.txt").write_text("mine")
    with pytest.raises(ParameterError, match="not a unisel training run"):
        train(_cfg(data, tmp_path / "junk", max_steps=1))
    with pytest.raises(ParameterError, match="batch_size"):
        train(_cfg(data, tmp_path / "bad", batch_size=0))


def test_lora_heldout_and_saved_model(tmp_path, sharegpt_file):
    held = write_json(tmp_path / "held.json", json.loads(sharegpt_file.read_text())[:2])
    res = train(
        _cfg(
            sharegpt_file,
            tmp_path / "run",
            lora=True,
            lora_r=4,
            max_steps=2,
            lr=1e-3,
            save_model=True,
            eval_data=str(held),
            eval_every=1,
        )
    )
    ev = read_log(tmp_path / "run" / "eval.jsonl")
    assert [r["step"] for r in ev] == [1, 2]
    assert res.heldout == pytest.approx(
        {k: ev[-1][k] for k in ("loss", "ce", "accuracy", "tokens")}
    )
    from unisel.train import load_model

    model = load_model(str(tmp_path / "run"))  # a run folder resolves to run/model
    assert not any("lora" in name for name, _ in model.named_parameters())


def test_one_epoch_trains_on_every_example_once(tmp_path):
    from unisel.train.data import load_rows, tokenize_rows
    from unisel.train.models import load_tokenizer

    data = write_json(tmp_path / "a.json", ALPACA[:5])
    res = train(_cfg(data, tmp_path / "run", batch_size=2, grad_accum=1, epochs=1.0))
    log = read_log(tmp_path / "run" / "log.jsonl")
    assert res.steps == len(log) == 3  # 2 + 2 + 1: the last step is not padded from epoch 2
    loaded = load_rows(str(data))
    examples, _ = tokenize_rows(
        loaded.rows, loaded.schema, load_tokenizer("tiny-llama"), max_length=64
    )
    assert res.tokens == sum(r["tokens"] for r in log) == sum(e.n_targets for e in examples)
    assert log[-1]["epoch"] == 1.0
