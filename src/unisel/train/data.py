"""From records to token ids with response-only labels.

Records are read with :func:`unisel.io.read_records` (which checks the file and detects the
schema); the structured fields the prompt template needs are then taken from the same rows.
Each schema has one renderer that turns a row into token ids and labels, ``-100`` on every token
the loss must not see:

``alpaca``    the Stanford Alpaca prompt (with or without ``input``) is masked; the ``output``
              plus the EOS token is the response.
``sharegpt``  ``conversations`` of ``{"from", "value"}`` turns, rendered with the tokenizer's
              chat template; every assistant turn (``gpt``/``assistant``/``chatgpt``/``bing``) is
              a response, everything else is masked.
``messages``  ``messages`` of ``{"role", "content"}`` turns, same as ``sharegpt``.
``text``      plain text: every token is a response (ordinary language modelling).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from unisel.errors import InputError, ParameterError

IGNORE = -100

ALPACA_PROMPT_INPUT = (
    "Below is an instruction that describes a task, paired with an input that provides further "
    "context. Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:"
)
ALPACA_PROMPT_NO_INPUT = (
    "Below is an instruction that describes a task. Write a response that appropriately "
    "completes the request.\n\n### Instruction:\n{instruction}\n\n### Response:"
)

_ROLE = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "chatgpt": "assistant",
    "bing": "assistant",
    "bard": "assistant",
    "model": "assistant",
    "system": "system",
}


@dataclass
class Example:
    """One training sequence.

    Attributes
    ----------
    input_ids : list of int, length T (<= max_length)
    labels : list of int, length T
        ``input_ids`` on response tokens, ``-100`` elsewhere (the loss at position t predicts
        ``labels[t]`` from ``input_ids[:t]``).
    """

    input_ids: list[int]
    labels: list[int]

    @property
    def n_targets(self) -> int:
        """Tokens the loss is taken on (a label at position 0 has no context and never counts)."""
        return sum(1 for x in self.labels[1:] if x != IGNORE)


@dataclass
class LoadedData:
    """Rows of a data file with their schema."""

    source: str
    schema: str
    rows: list[dict[str, Any]]
    text_field: str | None = None


# ----------------------------------------------------------------------------- reading rows
def raw_rows(records: Any) -> list[dict[str, Any]]:
    """The raw rows behind a :class:`~unisel.io.RecordSet`, aligned with ``records.texts``.

    Uses ``records.rows`` when the caller kept them, else reads them through
    `unisel.io.source_records` (the reader's own formats; records it left out stay out).
    """
    kept = getattr(records, "rows", None)
    if kept is not None:
        return list(kept)
    from unisel.io import source_records

    return source_records(records)


def load_rows(
    source: str | Path,
    *,
    schema: str | None = None,
    text_field: str | None = None,
    quiet: bool = True,
) -> LoadedData:
    """Rows and schema of a data file, a subset manifest or a data set folder.

    A manifest (``*.manifest.json``) stands for the rows ``indices`` of its input, in selection
    order.
    """
    from unisel.manifest import MANIFEST_SUFFIX, InputInfo, load_manifest

    source = str(source)
    if source.endswith(MANIFEST_SUFFIX):
        manifest = load_manifest(source)
        inp = manifest.section(InputInfo, partial=True)
        if not inp.source:
            raise InputError(f"{source}: the manifest names no input source")
        full = load_rows(
            inp.source,
            schema=schema or inp.schema or None,
            text_field=text_field or inp.text_field,
            quiet=quiet,
        )
        n = len(full.rows)
        bad = [i for i in manifest.indices if not 0 <= i < n]
        if bad:
            raise InputError(f"{source}: index {bad[0]} is outside the input ({n} rows)")
        return LoadedData(
            source, full.schema, [full.rows[i] for i in manifest.indices], full.text_field
        )

    from unisel.io import read_records

    records = read_records(source, schema=schema, text_field=text_field, quiet=quiet)
    if len(records) == 0:
        raise InputError(f"{source}: no records")
    return LoadedData(records.source, records.schema, raw_rows(records), records.text_field)


# ----------------------------------------------------------------------------- rendering
def _alpaca_example(row: dict[str, Any], tokenizer: Any, text_field: str | None) -> Example:
    instruction = str(row.get("instruction") or "")
    inp = str(row.get("input") or "")
    output = str(row.get("output") or "")
    template = ALPACA_PROMPT_INPUT if inp.strip() else ALPACA_PROMPT_NO_INPUT
    prompt = template.format(instruction=instruction, input=inp)
    # Tokenised apart so that the prompt/response boundary is exact whatever the merges.
    p_ids = tokenizer(prompt, add_special_tokens=True)["input_ids"]
    r_ids = tokenizer(output, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    return Example(p_ids + r_ids, [IGNORE] * len(p_ids) + r_ids)


def _text_example(row: dict[str, Any], tokenizer: Any, text_field: str | None) -> Example:
    field = text_field or "text"
    text = str(row.get(field) or "")
    ids = tokenizer(text, add_special_tokens=True)["input_ids"] + [tokenizer.eos_token_id]
    return Example(ids, list(ids))


def conversation_messages(row: dict[str, Any]) -> list[dict[str, str]]:
    """A ShareGPT (``conversations``/``from``/``value``) or messages row as role/content dicts."""
    turns = row.get("conversations")
    if turns is None:
        turns = row.get("messages") or []
    out = []
    for turn in turns:
        role = turn.get("from", turn.get("role"))
        content = turn.get("value", turn.get("content"))
        role = _ROLE.get(str(role).lower(), str(role))
        out.append({"role": role, "content": "" if content is None else str(content)})
    return out


def _chat_example(row: dict[str, Any], tokenizer: Any, text_field: str | None) -> Example:
    messages = conversation_messages(row)

    def render(msgs: list[dict[str, str]], gen: bool) -> str:
        return str(tokenizer.apply_chat_template(msgs, tokenize=False, add_generation_prompt=gen))

    full = render(messages, False)
    # Character spans of the assistant turns: from the end of the generation prompt before the
    # turn to the end of the turn. Offsets then map them onto tokens whatever the merges.
    spans = []
    for t, msg in enumerate(messages):
        if msg["role"] != "assistant":
            continue
        before = render(messages[:t], True) if t else ""
        upto = render(messages[: t + 1], False)
        if not (full.startswith(before) and full.startswith(upto)):
            raise ParameterError(
                "the tokenizer's chat template renders a conversation differently from its "
                "prefixes; cannot tell the response tokens apart"
            )
        spans.append((len(before), len(upto)))
    enc = tokenizer(full, add_special_tokens=False, return_offsets_mapping=True)
    ids = list(enc["input_ids"])
    labels = [IGNORE] * len(ids)
    for j, (a, b) in enumerate(enc["offset_mapping"]):
        if b > a and any(lo <= a < hi for lo, hi in spans):
            labels[j] = ids[j]
    return Example(ids, labels)


RENDERERS: dict[str, Callable[[dict[str, Any], Any, str | None], Example]] = {
    "alpaca": _alpaca_example,
    "sharegpt": _chat_example,
    "messages": _chat_example,
    "text": _text_example,
}


def ensure_chat_template(tokenizer: Any) -> None:
    """Give a tokenizer without a chat template the ChatML one (used by SmolLM2)."""
    if getattr(tokenizer, "chat_template", None) is None:
        from unisel.train.models import CHATML_TEMPLATE

        tokenizer.chat_template = CHATML_TEMPLATE


def tokenize_rows(
    rows: Iterable[dict[str, Any]],
    schema: str,
    tokenizer: Any,
    *,
    max_length: int,
    text_field: str | None = None,
) -> tuple[list[Example], list[int]]:
    """Render and tokenise rows, truncated to ``max_length`` tokens.

    Returns
    -------
    examples : list of Example
        One per row that keeps at least one response token after truncation.
    skipped : list of int
        Positions of the rows dropped because no response token survived (empty responses,
        conversations without an assistant turn, prompts longer than ``max_length``).
    """
    if schema not in RENDERERS:
        raise ParameterError(f"cannot train on schema {schema!r}; known: {', '.join(RENDERERS)}")
    if max_length < 2:
        raise ParameterError(f"max_length must be at least 2, got {max_length}")
    render = RENDERERS[schema]
    if render is _chat_example:
        ensure_chat_template(tokenizer)
    examples, skipped = [], []
    for i, row in enumerate(rows):
        ex = render(row, tokenizer, text_field)
        ex = Example(ex.input_ids[:max_length], ex.labels[:max_length])
        if ex.n_targets == 0:
            skipped.append(i)
        else:
            examples.append(ex)
    return examples, skipped


def target_counts(
    rows: Sequence[dict[str, Any]],
    schema: str,
    tokenizer: Any,
    *,
    max_length: int,
    text_field: str | None = None,
) -> np.ndarray:
    """Tokens the loss is taken on, per row, as training sees them (0 for a dropped row).

    The same rendering and truncation as :func:`tokenize_rows`, so a run over these rows
    trains on ``counts.sum()`` tokens per epoch.

    Returns
    -------
    ndarray of shape (len(rows),), int64
    """
    examples, skipped = tokenize_rows(
        rows, schema, tokenizer, max_length=max_length, text_field=text_field
    )
    counts = np.zeros(len(rows), dtype=np.int64)
    kept = np.setdiff1d(np.arange(len(rows)), np.asarray(skipped, dtype=np.int64))
    counts[kept] = [e.n_targets for e in examples]
    return counts


def collate(examples: list[Example], pad_id: int) -> dict[str, Any]:
    """Right-padded tensors ``input_ids``, ``attention_mask``, ``labels`` of shape (B, T_max)."""
    import torch

    T = max(len(e.input_ids) for e in examples)
    B = len(examples)
    ids = torch.full((B, T), pad_id, dtype=torch.long)
    mask = torch.zeros((B, T), dtype=torch.long)
    labels = torch.full((B, T), IGNORE, dtype=torch.long)
    for b, e in enumerate(examples):
        n = len(e.input_ids)
        ids[b, :n] = torch.tensor(e.input_ids)
        mask[b, :n] = 1
        labels[b, :n] = torch.tensor(e.labels)
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}
