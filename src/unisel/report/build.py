"""Assemble a report: metrics, figures, summary, ``report.json`` and ``index.html``, atomically."""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from markupsafe import Markup

from unisel._json import jsonable
from unisel._progress import progress_bar
from unisel.errors import ParameterError
from unisel.io import InputWarning
from unisel.io.atomic import atomic_output, check_writable
from unisel.manifest import load_manifest
from unisel.report import figures as F
from unisel.report.chosen import add_ratios, length_shift, what_was_chosen
from unisel.report.inputs import FULL_NAME, ReportInputs, SubsetSpec, resolve_inputs
from unisel.report.page import num_span, render_page
from unisel.report.summary import shift_sentences, summarize
from unisel.tokens import length_summary

DEFAULT_SAMPLE_SIZE = 20_000
# A set larger than this also gets the hexbin density view: its scatter saturates.
DENSITY_ABOVE = 5_000
REPORT_JSON = "report.json"
INDEX_HTML = "index.html"


def _metrics_dict(obj: Any) -> dict[str, Any]:
    from dataclasses import asdict, is_dataclass

    if is_dataclass(obj) and not isinstance(obj, type):
        return asdict(obj)
    if hasattr(obj, "to_dict"):
        return dict(obj.to_dict())
    return dict(vars(obj))


def check_report_folder(output_dir: str | Path) -> None:
    """Raise `ParameterError` unless a report can be written to ``output_dir``.

    It may be missing, an empty folder or an earlier report (a folder holding
    ``report.json``): a user's other folder or file is never replaced. Its parent must be a
    writable folder (or missing). ``unisel select --report`` calls it before any work.
    """
    out = Path(output_dir)
    if out.exists():
        if not out.is_dir():
            raise ParameterError(f"{out}: exists and is not a folder; choose another output (-o)")
        if any(out.iterdir()) and not (out / REPORT_JSON).exists():
            raise ParameterError(
                f"{out}: folder exists and is not a unisel report; choose another output (-o)"
            )
    check_writable(out, what="report folder", replace_dir=True)


@contextmanager
def atomic_directory(output_dir: str | Path) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``output_dir``; rename it onto ``output_dir`` on success.

    On error the temporary folder is removed and ``output_dir`` is untouched. An existing
    ``output_dir`` is replaced only if it is empty or an earlier report (see
    `check_report_folder`). The staging is `unisel.io.atomic_output`'s, so a later run removes
    the staging of a killed one.
    """
    out = Path(output_dir)
    check_report_folder(out)
    with atomic_output(out, replace_dir=out.is_dir()) as tmp:
        tmp.mkdir()
        yield tmp


def _title(source: str | None) -> str:
    if not source:
        return "Uniformity report"
    return f"Uniformity report: {Path(source.rstrip('/')).name or source}"


def build_report(
    inputs: ReportInputs,
    folder: Path,
    *,
    sample_size: int = DEFAULT_SAMPLE_SIZE,
    seed: int = 0,
    quiet: bool = False,
    exact_limit: int | None | str = "default",
) -> dict[str, Any]:
    """Write the figures, ``report.json`` and ``index.html`` of ``inputs`` into ``folder``.

    ``exact_limit``: as in `unisel.metrics.uniformity_report` ("default": its default).
    Returns the content of ``report.json``.
    """
    from unisel import __version__
    from unisel.metrics import NEAR_DUPLICATE_THRESHOLD, uniformity_report

    X = inputs.X
    names = [FULL_NAME] + [s.name for s in inputs.sets]
    indices: dict[str, np.ndarray | None] = {FULL_NAME: None}
    indices.update({s.name: s.indices for s in inputs.sets})
    colors = F.set_colors(names, FULL_NAME)
    sizes = {FULL_NAME: inputs.n, **{s.name: int(s.indices.size) for s in inputs.sets}}

    steps = progress_bar(total=5, desc="report", unit="step", quiet=quiet)
    steps.set_postfix_str("metrics and nearest neighbours")
    limit: dict[str, Any] = {} if exact_limit == "default" else {"exact_limit": exact_limit}
    ureport = uniformity_report(
        X,
        {s.name: s.indices for s in inputs.sets},
        full_name=FULL_NAME,
        random_state=seed,
        quiet=quiet,
        texts=inputs.text_digests,
        **limit,
    )
    by_name = {str(m["name"]): m for m in (jsonable(_metrics_dict(s)) for s in ureport.sets)}
    nn = ureport.nn_distances
    steps.update()

    steps.set_postfix_str("PCA")
    coords, pca_info = F.pca_coordinates(X, seed=seed)
    rng = np.random.default_rng(seed)
    panels = []
    for name in names:
        idx = indices[name]
        rows = np.arange(inputs.n, dtype=np.int64) if idx is None else idx
        shown = F.sample_rows(rows.shape[0], sample_size, rng)
        panels.append(F.Panel(name, colors[name], coords[rows], shown, rows))
    steps.update()

    steps.set_postfix_str("figures")
    figs: dict[str, Any] = {}
    figs["pca"] = F.plot_pca(panels, folder / "pca.png", sample_size=sample_size)
    figs["pca"].update(pca_info)
    if max(sizes.values()) > DENSITY_ABOVE:
        figs["density"] = F.plot_density(panels, folder / "density.png")
    figs["nn_histogram"] = F.plot_nn_histogram(nn, colors, folder / "nn_histogram.png")
    curves = {s.name: s.distances for s in inputs.sets if s.distances is not None}
    if curves:
        refs = {
            n: math.nan if by_name[n]["h_min_cosine"] is None else float(by_name[n]["h_min_cosine"])
            for n in names
            if n != FULL_NAME and n not in curves
        }
        figs["coverage"] = F.plot_coverage(curves, refs, colors, folder / "coverage.png")
    figs["bars"] = F.plot_bars(
        names,
        [
            math.nan if by_name[n]["h_min_cosine"] is None else by_name[n]["h_min_cosine"]
            for n in names
        ],
        [
            math.nan if by_name[n]["covering_radius"] is None else by_name[n]["covering_radius"]
            for n in names
        ],
        colors,
        folder / "bars.png",
    )
    lengths: dict[str, Any] = {}
    if inputs.lengths is not None:
        per_set = {
            n: inputs.lengths if indices[n] is None else inputs.lengths[indices[n]] for n in names
        }
        lengths = {n: length_summary(v) for n, v in per_set.items()}
        figs["lengths"] = F.plot_lengths(
            per_set, colors, folder / "lengths.png", unit=inputs.length_unit or "words"
        )
        for n in names:
            by_name[n]["length_mean"] = lengths[n].get("mean")
            by_name[n]["length_median"] = lengths[n].get("median")
    steps.update()

    steps.set_postfix_str("records")
    full_exact = by_name[FULL_NAME].get("nn_method", "exact") == "exact"
    chosen = what_was_chosen(
        inputs,
        seed=seed,
        nn_full=nn.get(FULL_NAME) if full_exact else None,
        threshold=NEAR_DUPLICATE_THRESHOLD,
    )
    shifts = {n: length_shift(inputs, indices[n]) for n in names}
    full_shift = shifts[FULL_NAME]
    for shift in shifts.values():
        if shift is not None and full_shift is not None:
            add_ratios(shift, full_shift)
    steps.update()

    steps.set_postfix_str("page")
    sets_json = []
    for name in names:
        spec = next((s for s in inputs.sets if s.name == name), None)
        sets_json.append(
            {
                "name": name,
                "kind": "full" if name == FULL_NAME else "subset",
                "method": spec.method if spec else None,
                "manifest": str(spec.manifest_path) if spec and spec.manifest_path else None,
                "color": colors[name],
                "metrics": by_name[name],
                "lengths": lengths.get(name),
                "shift": shifts[name],
            }
        )
    summary = summarize([s["metrics"] for s in sets_json], full_name=FULL_NAME)
    summary.sentences += shift_sentences(sets_json, full_name=FULL_NAME)
    report: dict[str, Any] = {
        "unisel_version": __version__,
        "title": _title(inputs.source),
        "source": inputs.source,
        "n_records": inputs.n,
        "embedder": jsonable(inputs.embedder),
        "full_name": FULL_NAME,
        "sample_size": int(sample_size),
        "seed": int(seed),
        "sets": sets_json,
        "length_unit": inputs.length_unit,
        "length_note": inputs.length_note,
        "summary": {"text": summary.text, "best": summary.best, "comparisons": summary.comparisons},
        "figures": figs,
        "chosen": chosen,
    }
    report = jsonable(report)
    (folder / REPORT_JSON).write_text(
        json.dumps(report, indent=1, allow_nan=False), encoding="utf-8"
    )
    page_figs = _figure_entries(report, folder)
    html = render_page(report, summary.sentences, page_figs)
    (folder / INDEX_HTML).write_text(html, encoding="utf-8")
    steps.update()
    steps.close()
    return report


def _figure_entries(report: dict[str, Any], folder: Path) -> list[dict[str, Any]]:
    """Title, caption (numbers marked) and PNG bytes of each figure, in page order."""
    figs = report["figures"]
    n = num_span("/n_records", report["n_records"], "int")
    evr = figs["pca"]["explained_variance_ratio"]
    sampled = any(p["n_shown"] < p["size"] for p in figs["pca"]["panels"])
    out: list[dict[str, Any]] = []
    cap = Markup(
        "PCA fitted on all {} records of the full set (the two components explain {} and {} of "
        "the variance) and applied to each subset; coordinates are min-max scaled to [0, 1] with "
        "the full set's range, and every panel has the same axes, so the panels compare directly: "
        "look for regions of the full set that a subset leaves empty or crowds."
    ).format(
        n,
        num_span("/figures/pca/explained_variance_ratio/0", evr[0]),
        num_span("/figures/pca/explained_variance_ratio/1", evr[1]),
    )
    if sampled:
        cap += Markup(
            " Sets larger than {} points are drawn as a random sample of that many."
        ).format(num_span("/sample_size", report["sample_size"], "int"))
    out.append(
        {
            "id": "pca",
            "title": "Where the records lie",
            "caption": cap,
            "key": "pca",
            "alt": "PCA scatter, one panel per set",
        }
    )
    if "density" in figs:
        out.append(
            {
                "id": "density",
                "title": "Density on the same plane",
                "key": "density",
                "alt": "hexbin density, one panel per set",
                "caption": Markup(
                    "Every record of each set, binned in hexagons on the PCA plane above; the "
                    "colour is the share of the set in the cell (one logarithmic scale for all "
                    "panels). An even colour means an even spread; bright cells are clumps."
                ),
            }
        )
    hist = figs["nn_histogram"]
    hist_cap = Markup(
        "For every record, the cosine distance to the nearest other record of the same set (all "
        "records; densities, so sets of different size compare). Mass near 0 means "
        "near-duplicates; no record of a set lies below that set's h_min."
    )
    for i, entry in enumerate(report["sets"]):
        m = entry["metrics"]
        if m.get("nn_method", "exact") == "exact":
            continue
        how = (
            "the exact distances of a random sample of {} of its records"
            if m["nn_method"] == "sample"
            else "HNSW approximate search (recall {} measured against exact search on {} records)"
        )
        parts = (
            [num_span(f"/sets/{i}/metrics/nn_sample_size", m["nn_sample_size"], "int")]
            if m["nn_method"] == "sample"
            else [
                num_span(f"/sets/{i}/metrics/nn_recall", m["nn_recall"]),
                num_span(f"/sets/{i}/metrics/nn_sample_size", m["nn_sample_size"], "int"),
            ]
        )
        hist_cap += Markup(
            " {} is too large for exact search: its histogram, mean, median and "
            "near duplicates come from " + how + "; its h_min is an upper bound "
            "unless it has identical embeddings."
        ).format(entry["name"], *parts)
    if hist["overflow_total"]:
        last = len(hist["bin_edges"]) - 1
        hist_cap += Markup(
            " The axis ends at {}; the last bin also counts the {} larger distances (up to {})."
        ).format(
            num_span(f"/figures/nn_histogram/bin_edges/{last}", hist["bin_edges"][last]),
            num_span("/figures/nn_histogram/overflow_total", hist["overflow_total"], "int"),
            num_span("/figures/nn_histogram/max_distance", hist["max_distance"]),
        )
    out.append(
        {
            "id": "nn_histogram",
            "title": "Distance to the nearest neighbour",
            "key": "nn_histogram",
            "alt": "histogram of nearest-neighbour distances",
            "caption": hist_cap,
        }
    )
    if "coverage" in figs:
        out.append(
            {
                "id": "coverage",
                "title": "Max-min coverage curve",
                "key": "coverage",
                "alt": "distance at which each record was chosen",
                "caption": Markup(
                    "For each max-min selection, the distance from the record chosen at each "
                    "step to the nearest record chosen before it (from the manifest). The curve "
                    "ends at the subset's h_min; dashed lines mark the h_min of the other "
                    "subsets."
                ),
            }
        )
    out.append(
        {
            "id": "bars",
            "title": "Spacing and coverage per set",
            "key": "bars",
            "alt": "bar charts of h_min and covering radius",
            "caption": Markup(
                "Left: h_min, the smallest distance between two records of the set. Right: the "
                "covering radius, the largest distance from a record of the full set to the "
                "nearest record of the set."
            ),
        }
    )
    if "lengths" in figs:
        unit = figs["lengths"]["unit"]
        out.append(
            {
                "id": "lengths",
                "title": "Length of the records",
                "key": "lengths",
                "alt": "histogram of record lengths per set",
                "caption": Markup(
                    "For every record of each set, its length in {} (the text unisel renders "
                    "and embeds), as a share of the set per logarithmic bin; the table gives "
                    "each set's mean and median. A subset whose curve sits left or right of the "
                    "full set's has shifted the length distribution: a subset of the same size "
                    "then holds fewer or more tokens to train on."
                ).format(unit),
            }
        )
    for entry in out:
        entry["file"] = figs[entry["key"]]["file"]
        entry["png"] = (folder / entry["file"]).read_bytes()
    return out


def write_report(
    full: str | Path | None,
    subsets: Sequence[SubsetSpec],
    output_dir: str | Path,
    *,
    names: Sequence[str] | None = None,
    embeddings: np.ndarray | str | Path | None = None,
    sample_size: int = DEFAULT_SAMPLE_SIZE,
    seed: int = 0,
    lengths: str | np.ndarray | None = "auto",
    quiet: bool = False,
    exact_limit: int | None | str = "default",
) -> Path:
    """Write a uniformity report comparing subsets of one data set.

    Parameters
    ----------
    full : path or str or None
        The full data set the subsets were drawn from (checked against the manifests); None to
        take it from the manifests, or when ``embeddings`` are given.
    subsets : sequence
        Manifest paths, subset files with their manifest beside them, and/or
        ``(name, indices)`` pairs of row indices into the full set.
    output_dir : path
        Folder to write (``index.html``, ``report.json``, PNG figures); replaced atomically.
    names : sequence of str, optional
        Labels of the subsets in order (default: each manifest's selector).
    embeddings : ndarray of shape (n, d) or path to ``.npy``, optional
        Full-set embeddings; default: the cache file the manifests name (never recomputed).
    sample_size : int
        Most points drawn per scatter panel; metrics, histograms and density views use all.
    seed : int
        Seed of the scatter samples and the PCA solver.
    lengths : str, ndarray of shape (n,) or None
        Record lengths for the length distribution of each set (figure and table columns):
        ``"auto"`` (default: the tokenizer of a manifest's token budget, else whitespace
        words; skipped with a note when the full set's records cannot be read), ``"words"``,
        a tokenizer name, an array of counts, or None for none. See
        :func:`unisel.report.inputs.resolve_inputs`. Unless None, the records are read for
        the "What was chosen" section and each set's length and turn shift as well.
    quiet : bool
        No progress bar.
    exact_limit : int, None or "default"
        Sets above this many rows get estimated nearest-neighbour numbers, said so on the
        page (`unisel.metrics.uniformity_report`; "default": its default, None: always exact).

    Returns
    -------
    Path
        ``output_dir / "index.html"``.

    Raises
    ------
    ParameterError, InputError
        Bad parameters, unreadable or mismatched manifests, missing embedding cache.
    """
    if sample_size < 1:
        raise ParameterError(f"sample size must be positive, got {sample_size}")
    inputs = resolve_inputs(full, subsets, names=names, embeddings=embeddings, lengths=lengths)
    with atomic_directory(output_dir) as folder:
        build_report(
            inputs, folder, sample_size=sample_size, seed=seed, quiet=quiet, exact_limit=exact_limit
        )
    return Path(output_dir) / INDEX_HTML


def random_baseline(n: int, k: int, seed: int) -> np.ndarray:
    """``k`` distinct rows of ``range(n)`` drawn with ``numpy.random.default_rng(seed)``."""
    return np.random.default_rng(seed).choice(n, size=k, replace=False).astype(np.int64)


def report_selection(
    manifest_path: str | Path,
    output_dir: str | Path,
    *,
    sample_size: int = DEFAULT_SAMPLE_SIZE,
    seed: int | None = None,
    quiet: bool = False,
) -> Path:
    """Report one selection against a random subset of the same size (``unisel select --report``).

    Parameters
    ----------
    manifest_path : path
        The manifest of the selection (or the subset file it sits beside).
    output_dir : path
    sample_size : int
    seed : int, optional
        Seed of the random baseline (``default_rng(seed).choice(n, k, replace=False)``) and of
        the plots; default: the selection's own seed (0 when the manifest has none).
    quiet : bool

    Returns
    -------
    Path
        ``output_dir / "index.html"``.
    """
    m = load_manifest(manifest_path)
    s = int(seed if seed is not None else (m.seed if m.seed is not None else 0))
    inputs = resolve_inputs(None, [manifest_path])
    baseline = random_baseline(inputs.n, len(m.indices), s)
    with warnings.catch_warnings():
        # The selection has just read the input and warned about it (records dropped or
        # skipped); the report reads it again for the record lengths and would say it twice.
        warnings.simplefilter("ignore", InputWarning)
        return write_report(
            None,
            [manifest_path, ("random", baseline)],
            output_dir,
            sample_size=sample_size,
            seed=s,
            quiet=quiet,
        )
