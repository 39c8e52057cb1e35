"""lm-evaluation-harness through its Python API; local task YAMLs made runnable offline."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from unisel.errors import InputError, ParameterError
from unisel.io.atomic import atomic_write_text

EVAL_FILE = "lm_eval.json"
EXAMPLE_TASK = Path(__file__).resolve().parent / "tasks" / "unisel_tiny_mc.yaml"

# The headline metric reported per task, in order of preference.
_HEADLINE = ("acc_norm,none", "acc,none", "mc1,none", "mc2,none", "exact_match,none")


@dataclass
class EvalResult:
    """Scores of one model on a set of tasks.

    Attributes
    ----------
    model : str
        What was evaluated (a run folder, model folder or name).
    scores : dict
        ``{task: {metric: value}}`` as lm-eval reports them (``acc,none``, ``acc_stderr,none``...).
    headline : dict
        ``{task: (metric, value)}``: ``acc_norm`` when present, else ``acc``, ``mc1``, ...
    num_fewshot : dict
        ``{task: shots}``.
    seconds : float
    """

    model: str
    scores: dict[str, dict[str, float]]
    headline: dict[str, tuple[str, float]]
    num_fewshot: dict[str, int | None] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvalResult:
        data = dict(data)
        data["headline"] = {k: tuple(v) for k, v in data["headline"].items()}
        return cls(**data)


def parse_tasks(spec: str | list[str]) -> list[tuple[str, int | None]]:
    """``"arc_challenge:25,truthfulqa_mc1"`` -> ``[("arc_challenge", 25), ("truthfulqa_mc1", None)]``."""
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    out: list[tuple[str, int | None]] = []
    for item in items:
        item = item.strip()
        if not item:
            continue
        name, _, shots = (
            item.rpartition(":")
            if ":" in item and item.rsplit(":", 1)[1].isdigit()
            else (item, "", "")
        )
        out.append((name, int(shots) if shots else None))
    if not out:
        raise ParameterError("no task given")
    return out


def local_task_config(path: str | Path) -> dict[str, Any]:
    """A local lm-eval task YAML as a config dict, with ``data_files`` made absolute.

    Raises
    ------
    InputError
        When the file is missing, not YAML, or names a data file that does not exist.
    """
    import yaml

    path = Path(path)
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: task file not found") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not a YAML task file ({str(exc).splitlines()[0]})") from None
    if not isinstance(config, dict) or "task" not in config:
        raise InputError(f"{path}: a task file needs a 'task' key")
    files = (config.get("dataset_kwargs") or {}).get("data_files")
    if files is not None:

        def fix(p: str) -> str:
            q = Path(p)
            q = q if q.is_absolute() else path.parent / q
            if not q.is_file():
                raise InputError(f"{path}: data file {p!r} not found (looked for {q})")
            return str(q)

        if isinstance(files, str):
            files = fix(files)
        elif isinstance(files, list):
            files = [fix(f) for f in files]
        else:
            files = {
                k: fix(v) if isinstance(v, str) else [fix(x) for x in v] for k, v in files.items()
            }
        config["dataset_kwargs"] = {**config["dataset_kwargs"], "data_files": files}
    return config


def _headline(metrics: dict[str, Any]) -> tuple[str, float]:
    for key in _HEADLINE:
        if key in metrics and isinstance(metrics[key], (int, float)):
            return key.split(",")[0], float(metrics[key])
    for key, value in metrics.items():
        if isinstance(value, (int, float)) and "stderr" not in key and key != "alias":
            return key.split(",")[0], float(value)
    return "none", float("nan")


def evaluate(
    model: str,
    tasks: str | list[str],
    *,
    output: str | Path | None = None,
    include_path: str | Path | None = None,
    batch_size: int = 8,
    limit: int | float | None = None,
    device: str = "cpu",
    seed: int = 0,
    quiet: bool = False,
) -> EvalResult:
    """Run lm-evaluation-harness tasks on a model.

    Parameters
    ----------
    model : str
        A training run folder (its ``model/`` is used), a model folder, or a model name
        (``smollm2-135m``, ``tiny-llama``, hub names).
    tasks : str or list of str
        Comma-separated lm-eval task names or local task YAML paths, each optionally with
        ``:SHOTS``.
    output : path, optional
        Where to write the JSON result (default: ``RUN/lm_eval.json`` for a run folder).
    include_path : path, optional
        A folder of extra lm-eval task YAMLs (lm-eval's ``--include_path``).
    batch_size : int
    limit : int or float, optional
        Documents per task (a fraction when < 1), for quick checks.
    device : str
        ``cpu``, ``cuda``, ``cuda:0``...
    seed : int
        lm-eval's random, numpy, torch and few-shot seeds.
    quiet : bool

    Returns
    -------
    EvalResult
    """
    try:
        import lm_eval
        from lm_eval.models.huggingface import HFLM
        from lm_eval.tasks import TaskManager
    except ImportError:
        raise ParameterError("unisel evaluate needs lm-eval: pip install 'unisel[eval]'") from None
    import logging

    from unisel.train.models import load_model, load_tokenizer, resolve_model

    parsed = parse_tasks(tasks)
    # Indexing lm-eval's built-in tasks takes seconds; skip it when every task is a local file.
    builtin = include_path is not None or any(not n.endswith((".yaml", ".yml")) for n, _ in parsed)
    manager = TaskManager(
        include_path=str(include_path) if include_path else None, include_defaults=builtin
    )
    known = set(manager.all_tasks)
    specs: list[tuple[str, Any, int | None]] = []  # (name, lm-eval task spec, shots)
    for name, shots in parsed:
        if name.endswith((".yaml", ".yml")):
            cfg = local_task_config(name)
            if shots is not None:
                cfg["num_fewshot"] = shots
            specs.append((str(cfg["task"]), cfg, shots))
        elif name in known:
            specs.append((name, name, shots))
        else:
            raise ParameterError(
                f"unknown lm-eval task {name!r} (a task name, or a local .yaml file)"
            )

    if quiet:
        logging.getLogger("lm_eval").setLevel(logging.ERROR)
        import transformers

        transformers.logging.disable_progress_bar()
    tokenizer = load_tokenizer(model)
    lm = HFLM(
        pretrained=load_model(model),
        tokenizer=tokenizer,
        batch_size=batch_size,
        device=device,
        max_length=None,
    )
    t0 = time.perf_counter()
    scores: dict[str, dict[str, float]] = {}
    fewshot: dict[str, int | None] = {}
    # One call per shot setting: lm-eval takes a single num_fewshot for names.
    groups: dict[int | None, list[Any]] = {}
    for _, spec, shots in specs:
        groups.setdefault(shots, []).append(spec)
    for shots, group in groups.items():
        try:
            res = lm_eval.simple_evaluate(
                model=lm,
                tasks=group,
                num_fewshot=shots,
                limit=limit,
                task_manager=manager,
                log_samples=False,
                random_seed=seed,
                numpy_random_seed=seed,
                torch_random_seed=seed,
                fewshot_random_seed=seed,
                bootstrap_iters=0,
            )
        except (ConnectionError, OSError) as exc:
            names = ", ".join(s if isinstance(s, str) else s["task"] for s in group)
            raise InputError(
                f"cannot load the data of task(s) {names}: no network access to the Hugging Face "
                f"hub? Use a local task YAML instead ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
            ) from None
        if res is None:
            continue
        for task, metrics in res["results"].items():
            scores[task] = {
                k: float(v)
                for k, v in metrics.items()
                if "," in k and isinstance(v, (int, float)) and not isinstance(v, bool)
            }
            fewshot[task] = res.get("n-shot", {}).get(task, shots)
    result = EvalResult(
        model=str(model),
        scores=scores,
        headline={t: _headline(m) for t, m in scores.items()},
        num_fewshot=fewshot,
        seconds=time.perf_counter() - t0,
    )
    if output is None and Path(resolve_model(model)).name == "model" and Path(model).is_dir():
        output = Path(model) / EVAL_FILE
    if output is not None:
        atomic_write_text(output, json.dumps(result.to_dict(), indent=2))
    return result


def load_eval(path: str | Path) -> EvalResult | None:
    """An :class:`EvalResult` saved by :func:`evaluate` (a file or a run folder), or None."""
    path = Path(path)
    if path.is_dir():
        path = path / EVAL_FILE
    if not path.is_file():
        return None
    return EvalResult.from_dict(json.loads(path.read_text()))
