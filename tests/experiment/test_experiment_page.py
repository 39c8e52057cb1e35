"""The experiment's report from finished runs: summary, jinja2 page, pyplot-free figures.

The runs are written by hand (no training), so these tests only exercise `build_report`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from unisel.experiment import ExperimentConfig, build_report

SECTIONS = [
    "Set-up",
    "Arms: selection metrics and training numbers",
    "Time to threshold (training loss)",
    "Time to threshold (held-out loss)",
    "Loss against steps",
    "Loss against wall-clock",
    "Loss against training tokens",
    "Held-out loss during training",
    "Held-out loss",
    "Length of the records (training tokens per record)",
    "Configuration",
]


def _finished_runs(out: Path) -> tuple[ExperimentConfig, list[dict], dict]:
    """Two arms, one seed, four logged steps each: the files `train` leaves in a run folder."""
    cfg = ExperimentConfig(
        data="pool & friends <v2>.json",
        model="tiny-llama",
        k=3,
        arms=["maxmin", "random"],
        seeds=[0],
        smoothing_window=1,
        thresholds=[2.0],
        heldout_thresholds=[2.5],
    )
    losses = {"maxmin": [3.0, 2.0, 1.5, 1.0], "random": [3.0, 2.8, 2.6, 2.4]}
    runs = []
    for arm, loss in losses.items():
        run = out / "runs" / f"{arm}-s0"
        run.mkdir(parents=True)
        log = [
            {
                "step": s + 1,
                "loss": v,
                "ce": v,
                "accuracy": 0.1,
                "tokens": 10,
                "seconds": 60.0 * (s + 1),
            }
            for s, v in enumerate(loss)
        ]
        (run / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in log))
        held = {
            "step": 4,
            "seconds": 240.0,
            "loss": loss[-1] + 0.5,
            "ce": loss[-1],
            "accuracy": 0.2,
        }
        (run / "eval.jsonl").write_text(json.dumps(held) + "\n")
        result = {"tokens": 40, "heldout": {**held, "tokens": 12}}
        (run / "result.json").write_text(json.dumps(result))
        runs.append({"arm": arm, "seed": 0, "subset": arm, "run": str(run), "trained": True})
    subset = {"size": 3, "tokens": 30, "token_counts": [9, 10, 11], "h_min_cosine": 0.5}
    info = {
        "n_records": 24,
        "holdout": [0, 1, 2, 3],
        "pool_size": 20,
        "k": 3,
        "embedder": {"method": "tfidf", "dim": 8},
        "pool_tokens": None,
        "pool_token_counts": list(range(5, 25)),
        "arms": {"maxmin": {**subset, "covering_radius_cosine": 0.7}, "random": subset},
    }
    return cfg, runs, info


def test_report_summary_and_page_from_finished_runs(tmp_path: Path) -> None:
    out = tmp_path / "exp"
    cfg, runs, info = _finished_runs(out)
    res = build_report(cfg, out, runs, info)

    summary = json.loads((out / "summary.json").read_text())
    assert (res.thresholds, res.thresholds_picked, res.page) == (
        [2.0],
        False,
        str(out / "index.html"),
    )
    maxmin = summary["arms"]["maxmin"]
    assert maxmin["time_to_threshold"]["2"]["step_mean"] == 2.0  # loss 2.0 at step 2
    assert summary["arms"]["random"]["time_to_threshold"]["2"]["reached"] == 0
    assert maxmin["heldout_time_to_threshold"]["2.5"]["reached"] == 1  # held-out 1.0 + 0.5
    assert summary["arms"]["random"]["heldout_time_to_threshold"]["2.5"]["reached"] == 0
    assert [r["seed"] for r in res.runs] == [0, 0]

    page = (out / "index.html").read_text(encoding="utf-8")
    heads = [h.split("</h2>")[0] for h in page.split("<h2>")[1:]]
    assert heads == SECTIONS
    # jinja2 autoescaping: the data path is text, not markup
    assert "<code>pool &amp; friends &lt;v2&gt;.json</code>" in page
    assert page.count("data:image/png;base64,") == 6
    assert "<td>uniform (maxmin)</td>" in page and "loss ≤ 2" in page
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]  # all written atomically


def test_the_report_leaves_the_matplotlib_backend_and_pyplot_alone(tmp_path: Path) -> None:
    # In a fresh interpreter: the backend chosen before the report must be the one after it.
    root = Path(__file__).resolve().parents[2]
    script = f"""
import matplotlib
matplotlib.use("svg")
import sys
sys.path[:0] = [{str(root / "src")!r}, {str(root)!r}]
from pathlib import Path
from tests.experiment.test_experiment_page import _finished_runs
from unisel.experiment import build_report
import unisel.theory
out = Path({str(tmp_path / "exp")!r})
cfg, runs, info = _finished_runs(out)
build_report(cfg, out, runs, info)
import matplotlib.pyplot as plt
assert matplotlib.get_backend() == "svg", matplotlib.get_backend()
assert plt.get_fignums() == [], plt.get_fignums()
print("ok")
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().endswith("ok")
