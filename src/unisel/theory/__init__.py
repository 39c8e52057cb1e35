"""Runnable checks of the paper's three theoretical predictions on synthetic data.

Each experiment writes ``<name>.json`` (every measured number, the predictions and the
statistics that decide them) and ``<name>.png`` into an output folder:

* ``uniformity`` (Theorem 1): h_min of n i.i.d. points scales like
  (n^2 * integral of p^2)^(-1/d); peaked densities give smaller gaps; max-min subsets of a
  biased sample have larger gaps than random subsets.
* ``convergence`` (Corollary 3): as two inputs approach, the smallest eigenvalue of the Gram
  matrix of per-sample output gradients vanishes and gradient descent slows down.
* ``approximation`` (Theorem 3): interpolation error grows with the largest Delaunay simplex
  diameter; max-min designs give the smallest error.

Python API: `run` (one experiment or all), `EXPERIMENTS` (name -> function),
`TheoryResult`/`Check` (the result types). Command line: ``unisel theory``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from unisel.errors import ParameterError
from unisel.theory.common import Check, TheoryResult, deterministic, write_json

Experiment = Callable[..., TheoryResult]


def _uniformity(output_dir: Path, *, quick: bool, seed: int, quiet: bool) -> TheoryResult:
    from unisel.theory.uniformity import run_uniformity

    return run_uniformity(output_dir, quick=quick, seed=seed, quiet=quiet)


def _convergence(output_dir: Path, *, quick: bool, seed: int, quiet: bool) -> TheoryResult:
    from unisel.theory.convergence import run_convergence

    return run_convergence(output_dir, quick=quick, seed=seed, quiet=quiet)


def _approximation(output_dir: Path, *, quick: bool, seed: int, quiet: bool) -> TheoryResult:
    from unisel.theory.approximation import run_approximation

    return run_approximation(output_dir, quick=quick, seed=seed, quiet=quiet)


#: Experiment name -> function(output_dir, *, quick, seed, quiet) -> TheoryResult.
EXPERIMENTS: dict[str, Experiment] = {
    "uniformity": _uniformity,
    "convergence": _convergence,
    "approximation": _approximation,
}


def run(
    name: str,
    output_dir: str | Path,
    *,
    quick: bool = False,
    seed: int = 0,
    quiet: bool = False,
) -> dict[str, TheoryResult]:
    """Run one theory experiment, or ``"all"`` of them, and write their JSON and PNG.

    Parameters
    ----------
    name : {"uniformity", "convergence", "approximation", "all"}
    output_dir : str or Path
        Folder for ``<name>.json`` and ``<name>.png`` (created if missing).
    quick : bool
        Small sweeps: all three together take well under a minute each on 2 cores.
    seed : int
        The one seed every random draw derives from; the same seed gives byte-identical JSON.
    quiet : bool
        No progress bars.

    Returns
    -------
    dict of str -> TheoryResult
        In run order. Wall-clock seconds are in ``result.extra["seconds"]`` (not in the JSON,
        which must not change between runs).

    Raises
    ------
    ParameterError
        Unknown experiment name, negative seed, or an output path that is a file.
    """
    names = list(EXPERIMENTS) if name == "all" else [name]
    for n in names:
        if n not in EXPERIMENTS:
            known = ", ".join([*EXPERIMENTS, "all"])
            raise ParameterError(f"unknown theory experiment {n!r}; known: {known}")
    if seed < 0:
        raise ParameterError(f"--seed must be >= 0, got {seed}")
    out = Path(output_dir)
    if out.exists() and not out.is_dir():
        raise ParameterError(f"output folder {str(out)!r} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, TheoryResult] = {}
    for n in names:
        t0 = time.perf_counter()
        with deterministic(threads=1):
            result = EXPERIMENTS[n](out, quick=quick, seed=seed, quiet=quiet)
        result.json_path = out / f"{n}.json"
        write_json(result.to_dict(), result.json_path)
        result.extra["seconds"] = time.perf_counter() - t0
        results[n] = result
    return results


__all__ = ["EXPERIMENTS", "Check", "TheoryResult", "run"]
