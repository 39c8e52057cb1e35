"""The experiment configuration file (YAML).

Example::

    data: sharegpt.json          # one data set (any format unisel reads)
    limit: 3000                  # optional: its first N records make the data set
    model: smollm2-135m
    k: 1000                      # subset size (or fraction: 0.5)
    arms: [maxmin, random, first]   # selectors; add "full" for the whole training pool
    seeds: [0, 1, 2]             # one run per arm and seed
    holdout: 200                 # records held out of every arm (int) or a fraction
    embedder: word2vec
    train:                       # TrainConfig settings shared by every run
      objective: ce
      max_length: 256
      batch_size: 8
      lr: 2.0e-5
      max_steps: 60
    smoothing_window: 10
    thresholds: null             # null: picked from the curves
    eval_tasks: null             # e.g. [arc_challenge:25, truthfulqa_mc1] or a local task YAML

Token-matched arms (every arm trains on the same number of tokens, within one record)::

    budget: tokens
    token_budget: 200000         # training tokens of every arm (instead of k / fraction)
    train:
      epochs: 1                  # passes over each arm's subset (max_steps is not allowed)
      eval_every: 20             # held-out loss every 20 steps, and at the end
    heldout_thresholds: null     # held-out loss thresholds; null: picked from the runs

Relative paths (``data``, local task YAMLs) are taken relative to the config file.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from unisel.errors import InputError, ParameterError

FULL = "full"
RECORDS, TOKENS = "records", "tokens"
ARM_LABELS = {"maxmin": "uniform (maxmin)", "random": "random", "first": "first", FULL: "full"}
# TrainConfig fields the experiment sets itself.
_RESERVED_TRAIN = {
    "data",
    "output",
    "model",
    "seed",
    "eval_data",
    "save_model",
    "quiet",
    "schema",
    "text_field",
}


@dataclass
class ExperimentConfig:
    """Settings of one comparison; see the module docstring for the YAML form.

    Parameters
    ----------
    data : str
        The data set.
    model : str
        Model name or path for every run.
    schema, text_field : str or None
        Passed to the reader.
    limit : int or None
        Use the first ``limit`` records only.
    k, fraction : subset size of every selected arm (exactly one).
    arms : list of str
        Selector names (``maxmin``, ``random``, ``first``, ``clustered``, ...) and/or ``full``.
    seeds : list of int
        Training seeds; every arm trains once per seed.
    holdout : int or float
        Held-out records (count, or fraction of the data set), drawn at random with
        ``holdout_seed``; no arm selects from or trains on them.
    selection_seed : int
        Seed of the selectors (random subset, maxmin start...).
    reselect_per_seed : bool
        Select again for every training seed (seed = training seed), so that the spread between
        seeds includes the selection's randomness.
    embedder : str
        Embedding method for selection and the selection metrics.
    embedder_params : dict
    selector_params : dict
        ``{arm: {param: value}}``: settings of an arm's selection. A field of
        :class:`unisel.options.SelectOptions` (``preset``, ``outliers``, ``min_words``,
        ``length_buckets``, ``metric``, ...) sets that option; anything else goes to the selector
        (as ``--select-opt``).
    arm_options : dict
        ``{arm: {option: value}}``, the same as ``selector_params`` plus ``method``: an arm may
        have any name (``maxmin-paper``) and say which selector and options it runs, e.g.
        ``{maxmin-paper: {method: maxmin, preset: paper}}``. Every arm but ``full`` runs the
        selection flow of ``unisel select`` (`unisel.flows.select_records`) on the training pool
        and writes the subset with its manifest.
    train : dict
        :class:`~unisel.train.TrainConfig` settings shared by all runs.
    smoothing_window : int
        Window of the moving average and span of the EMA.
    smoothing : {"ma", "ema"}
        The smoothed curve thresholds are read on.
    thresholds : list of float or None
        Training-loss thresholds; None picks two from the curves.
    eval_tasks : list of str or None
        lm-eval tasks (names, ``name:shots`` or local YAML paths) run on every final model.
    eval_limit : int or None
        Documents per eval task (quick checks).
    eval_batch_size : int
    keep_models : bool
        Keep every run's ``model/`` (they are removed after evaluation otherwise).
    budget : {"records", "tokens"}
        ``records``: every selected arm has ``k`` records and trains ``train.max_steps`` (or
        ``train.epochs``). ``tokens``: every arm's subset holds at most ``token_budget``
        training tokens (response tokens after the template and ``max_length`` truncation,
        with the model's tokenizer) and falls short by less than one record; each run makes
        ``train.epochs`` passes over it, so every arm trains on the same number of tokens
        within one record. ``full`` is then a random sample of the pool to the budget, drawn
        anew with each training seed (a permutation of its own random stream, cut at the budget).
    token_budget : int or None
        Training tokens per arm with ``budget: tokens``.
    heldout_thresholds : list of float or None
        Held-out loss thresholds for the time / tokens to threshold on the held-out
        evaluations (``train.eval_every``); None picks two from the runs.
    """

    data: str
    model: str = "smollm2-135m"
    schema: str | None = None
    text_field: str | None = None
    limit: int | None = None
    k: int | None = None
    fraction: float | None = None
    arms: list[str] = field(default_factory=lambda: ["maxmin", "random"])
    seeds: list[int] = field(default_factory=lambda: [0])
    holdout: float = 0.1
    holdout_seed: int = 0
    selection_seed: int = 0
    reselect_per_seed: bool = False
    embedder: str = "word2vec"
    embedder_params: dict[str, Any] = field(default_factory=dict)
    selector_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    arm_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)
    smoothing_window: int = 10
    smoothing: str = "ma"
    thresholds: list[float] | None = None
    eval_tasks: list[str] | None = None
    eval_limit: int | None = None
    eval_batch_size: int = 8
    keep_models: bool = False
    budget: str = RECORDS
    token_budget: int | None = None
    heldout_thresholds: list[float] | None = None

    @property
    def by_tokens(self) -> bool:
        return self.budget == TOKENS

    def check(self) -> None:
        """Raise ParameterError on inconsistent settings."""
        if not self.arms:
            raise ParameterError("arms: give at least one arm")
        if len(set(self.arms)) != len(self.arms):
            raise ParameterError(f"arms: {self.arms} lists an arm twice")
        for arm in sorted(set(self.arm_options) - set(self.arms)):
            raise ParameterError(f"arm_options: {arm!r} is not one of the arms {self.arms}")
        for arm in self.arms:
            if arm != FULL:
                self.select_options(arm, seed=self.selection_seed)  # validates them
        if self.budget not in (RECORDS, TOKENS):
            raise ParameterError(f"budget must be 'records' or 'tokens', got {self.budget!r}")
        if self.by_tokens:
            if self.k is not None or self.fraction is not None:
                raise ParameterError(
                    "budget: tokens sizes the arms with token_budget; remove k/fraction"
                )
            tb = self.token_budget
            if isinstance(tb, bool) or not isinstance(tb, int) or tb < 1:
                raise ParameterError(
                    f"budget: tokens needs token_budget, a positive integer; got {tb!r}"
                )
            if self.train.get("max_steps") is not None:
                raise ParameterError(
                    "budget: tokens trains train.epochs passes over each arm; remove train.max_steps"
                )
        else:
            if self.token_budget is not None:
                raise ParameterError("token_budget needs budget: tokens")
            if any(a != FULL for a in self.arms) and (self.k is None) == (self.fraction is None):
                raise ParameterError("give exactly one of k and fraction for the selected arms")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ParameterError(f"seeds: need distinct seeds, got {self.seeds}")
        if self.holdout <= 0:
            raise ParameterError(f"holdout must be positive, got {self.holdout}")
        if self.smoothing_window < 1:
            raise ParameterError(
                f"smoothing_window must be at least 1, got {self.smoothing_window}"
            )
        if self.smoothing not in ("ma", "ema"):
            raise ParameterError(f"smoothing must be 'ma' or 'ema', got {self.smoothing!r}")
        bad = sorted(set(self.train) & _RESERVED_TRAIN)
        if bad:
            raise ParameterError(f"train: {bad[0]!r} is set by the experiment itself")
        self.train_config("x", "y", 0).check()

    def select_options(self, arm: str, *, seed: int, **size: Any) -> Any:
        """The `SelectOptions` of ``arm`` (not ``full``): its method (the arm's name unless
        ``arm_options`` names one), its options, and ``size`` (``k`` or ``tokens``)."""
        import dataclasses

        from unisel.options import SelectOptions
        from unisel.select import SELECTORS

        given = {**self.selector_params.get(arm, {}), **self.arm_options.get(arm, {})}
        fields = {f.name for f in dataclasses.fields(SelectOptions)}
        options = {key: value for key, value in given.items() if key in fields}
        extra = {key: value for key, value in given.items() if key not in fields}
        options.setdefault("method", arm)
        if options["method"] not in SELECTORS:
            raise ParameterError(
                f"arm {arm!r}: no selector {options['method']!r}; name one with "
                f"arm_options: {{{arm}: {{method: ...}}}} ({', '.join(SELECTORS.names())})"
            )
        for key in ("seed", "k", "fraction", "tokens", "extend", "checkpoint", "start"):
            if key in options:
                raise ParameterError(f"arm {arm!r}: {key} is set by the experiment itself")
        params = {**options.pop("selector_params", {}), **extra}
        return SelectOptions(**options, selector_params=params, seed=seed, **size)

    def train_config(self, data: str, output: str, seed: int, **extra: Any) -> Any:
        from unisel.train.config import TrainConfig

        return TrainConfig.from_dict(
            {
                "data": data,
                "output": output,
                "model": self.model,
                "seed": seed,
                **self.train,
                **extra,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def fingerprint(self) -> str:
        """Hash of every setting that changes results (not the eval or page settings)."""
        d = self.to_dict()
        for key in (
            "eval_tasks",
            "eval_limit",
            "eval_batch_size",
            "keep_models",
            "smoothing_window",
            "smoothing",
            "thresholds",
            "heldout_thresholds",
        ):
            d.pop(key)
        if d["budget"] == RECORDS and d["token_budget"] is None:
            del d["budget"], d["token_budget"]  # experiments made before these settings resume
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


def load_config(path: str | Path) -> ExperimentConfig:
    """Read and check an experiment YAML; relative paths become relative to its folder."""
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: config not found") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: the config must be a mapping")
    known = {f.name for f in fields(ExperimentConfig)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise InputError(
            f"{path}: unknown setting {unknown[0]!r}; known: {', '.join(sorted(known))}"
        )
    if "data" not in data:
        raise InputError(f"{path}: 'data' is required")
    base = path.resolve().parent

    def local(p: str) -> str:
        q = Path(p).expanduser()
        return str(q if q.is_absolute() else base / q)

    if Path(base / str(data["data"])).exists() or Path(str(data["data"])).is_absolute():
        data["data"] = local(str(data["data"]))
    tasks = data.get("eval_tasks")
    if isinstance(tasks, str):
        tasks = [t for t in tasks.split(",") if t.strip()]
    if tasks:
        data["eval_tasks"] = [_local_task(str(t).strip(), local) for t in tasks]
    try:
        cfg = ExperimentConfig(**data)
    except TypeError as exc:
        raise InputError(f"{path}: {exc}") from None
    try:
        cfg.check()
    except ParameterError as exc:
        raise InputError(f"{path}: {exc}") from None
    return cfg


def _local_task(task: str, local: Any) -> str:
    """A task spec with a local YAML path made absolute (``path.yaml:5`` keeps its shots)."""
    name, shots = task, ""
    if ":" in task and task.rsplit(":", 1)[1].isdigit():
        name, shots = task.rsplit(":", 1)
    if name.endswith((".yaml", ".yml")):
        name = local(name)
    return f"{name}:{shots}" if shots else name
