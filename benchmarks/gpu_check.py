"""One prepared GPU check of the device-resident max-min loop: time it, prove it exact.

On a machine with a CUDA device (run from the repository root; about 2-6 minutes expected,
not measured: give the call a 560 s limit)::

    PYTHONUNBUFFERED=1 PYTHONPATH=src python3 benchmarks/gpu_check.py \
        --out "$OUT/gpu_check.json" 2>&1 | tee "$OUT/gpu_check.log"

Stages (the JSON is rewritten after each one, so a run cut short still reports what it did):

1. rows: ``--n`` x ``--d`` float32, the 100-component Gaussian mixture of
   ``bench_maxmin.py`` (``--data mixture``) or its wide biased mixture of issue 12
   (``--data wide``: 50 components, Dirichlet(0.5) weights, noise scales U(0.2, 1.0));
2. warm-up: the device loop on the first 20,000 rows (CUDA context, cuBLAS handles);
3. the device loop, ``maxmin(X, k, device=DEVICE, loop="device")``, timed end to end (row
   norms, upload, every step; the result is on the host when the clock stops): first for
   ``--check-steps`` steps; then for all k steps unless that prefix projects (linearly) to
   more than ``--budget-s`` seconds, so that one call of at most 10 minutes always ends;
4. exactness: the CPU engine (``loop="cpu"``, every core) for the first ``--check-steps``
   steps must give the same indices and distances bit for bit (a prefix of a greedy run is
   the greedy run with the smaller k); at ``--spot`` sampled later steps the recorded distance
   must equal, bit for bit, the canonical key of the picked row against every earlier centre
   (the reference's kernel); the sequence must have no repeated index and, after the first
   step, non-increasing distances;
5. baseline: ``--plain-steps`` steps of the plain float32 loop on the device (one full
   matrix-vector product and minimum per step), extrapolated to k steps.

Exit status 0 when every check passed ("ok": true in the JSON).

``--quick`` runs the same stages on a tiny problem (CPU torch when no CUDA device is there).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def _stand_in_for_ijson() -> None:
    """Let ``import unisel`` through where ijson is missing (the GPU machine's image).

    unisel.io imports ijson for JSON-array records at import time; nothing here reads
    records, so a stand-in with the names it imports is enough.
    """
    try:
        import ijson  # noqa: F401
    except ImportError:
        import types

        class JSONError(ValueError):
            pass

        class IncompleteJSONError(JSONError):
            pass

        stub, common = types.ModuleType("ijson"), types.ModuleType("ijson.common")
        common.JSONError, common.IncompleteJSONError = JSONError, IncompleteJSONError  # type: ignore[attr-defined]
        stub.common, stub.JSONError = common, JSONError  # type: ignore[attr-defined]
        stub.get_backend = lambda name: stub  # type: ignore[attr-defined]
        sys.modules["ijson"], sys.modules["ijson.common"] = stub, common


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--d", type=int, default=384)
    ap.add_argument("--k", type=int, default=100_000)
    ap.add_argument("--data", choices=["mixture", "wide"], default="mixture")
    ap.add_argument("--device", default=None, help="torch device (default: cuda if seen)")
    ap.add_argument("--refresh-every", type=int, default=1024, help="block length B")
    ap.add_argument("--check-steps", type=int, default=10_000)
    ap.add_argument("--spot", type=int, default=20, help="late steps checked exactly")
    ap.add_argument("--plain-steps", type=int, default=2000)
    ap.add_argument("--budget-s", type=float, default=240.0, help="skip the full run above")
    ap.add_argument("--out", default=None, help="JSON path (default: $OUT/gpu_check.json)")
    ap.add_argument("--quick", action="store_true", help="tiny sizes (a smoke test)")
    args = ap.parse_args(argv)
    if args.quick:
        args.n, args.d, args.k = 3000, 32, 600
        args.check_steps, args.spot, args.plain_steps = 300, 5, 50
        args.refresh_every, args.budget_s = 64, 600.0

    _stand_in_for_ijson()
    import torch
    from bench_maxmin import gaussian_mixture, wide_mixture

    from unisel.select.engine import _torch_loop, canonical_distances, fast, maxmin

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    out_path = Path(args.out or Path(os.environ.get("OUT", ".")) / "gpu_check.json")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    report: dict = {
        "n": args.n,
        "d": args.d,
        "k": args.k,
        "data": args.data,
        "device": device,
        "device_name": torch.cuda.get_device_name(device) if device.startswith("cuda") else "cpu",
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "refresh_every": args.refresh_every,
    }

    def save(stage: str) -> None:
        report["last_stage"] = stage
        out_path.write_text(json.dumps(report, indent=2))
        print(f"[{stage}] {json.dumps({k: v for k, v in report.items() if k != 'stats'})}")
        sys.stdout.flush()

    t0 = time.perf_counter()
    gen = gaussian_mixture if args.data == "mixture" else wide_mixture
    X = gen(args.n, args.d)
    report["generate_s"] = round(time.perf_counter() - t0, 3)
    save("data")

    w = min(args.n, 20_000)
    t0 = time.perf_counter()
    maxmin(
        X[:w], min(w, 2000, args.k), device=device, loop="device", refresh_every=args.refresh_every
    )
    report["warmup_s"] = round(time.perf_counter() - t0, 3)
    save("warmup")

    # a prefix first: if the whole run would not fit in --budget-s, it is not started
    m = min(args.check_steps, args.k)
    t0 = time.perf_counter()
    idx, dist = maxmin(X, m, device=device, loop="device", refresh_every=args.refresh_every)
    report["device_prefix_steps"] = m
    report["device_prefix_s"] = round(time.perf_counter() - t0, 3)
    projected = report["device_prefix_s"] * args.k / m
    report["device_projected_s"] = round(projected, 3)
    save("device_prefix")
    if args.k > m and projected <= args.budget_s:
        t0 = time.perf_counter()
        idx, dist = maxmin(
            X, args.k, device=device, loop="device", refresh_every=args.refresh_every
        )
        report["device_loop_s"] = round(time.perf_counter() - t0, 3)
    elif args.k == m:
        report["device_loop_s"] = report["device_prefix_s"]
    else:
        report["device_loop_s"] = None
        report["skipped"] = f"projected {projected:.0f} s > --budget-s {args.budget_s}"
    report["device_steps"] = int(idx.size)
    report["stats"] = dict(_torch_loop.LAST_STATS)
    report["unique_indices"] = bool(np.unique(idx).size == idx.size)
    report["non_increasing"] = bool(np.all(np.diff(dist[1:]) <= 0))
    save("device_loop")

    t0 = time.perf_counter()
    cidx, cdist = maxmin(X, m, loop="cpu")
    report["cpu_check_steps"] = m
    report["cpu_engine_s"] = round(time.perf_counter() - t0, 3)
    same_dist = (cdist == dist[:m]) | (np.isnan(cdist) & np.isnan(dist[:m]))
    diff = np.flatnonzero((cidx != idx[:m]) | ~same_dist)
    report["identical_prefix"] = bool(diff.size == 0)
    report["first_difference"] = int(diff[0]) if diff.size else None
    save("cpu_check")

    # later steps: the recorded distance is the canonical key against every earlier centre
    nrm = fast.row_norms(X)
    rng = np.random.default_rng(1)
    late = np.unique(rng.integers(m, idx.size, size=args.spot)) if idx.size > m else []
    spot_ok = []
    for t in late:
        C = X[idx[:t]].astype(np.float64) / nrm[idx[:t], None]
        u = X[idx[t]].astype(np.float64) / nrm[idx[t]]
        spot_ok.append(bool(canonical_distances(C, u).min() == dist[t]))
    report["spot_steps"] = [int(t) for t in late]
    report["spot_exact"] = bool(all(spot_ok))
    save("spot_check")

    dev = torch.device(device)
    steps = min(args.plain_steps, args.k)
    with torch.no_grad():
        U = torch.from_numpy(X).to(dev)
        U = U / U.norm(dim=1, keepdim=True).clamp_min(1e-30)
        md = torch.full((args.n,), float("inf"), device=dev)
        i = torch.zeros((), dtype=torch.int64, device=dev)
        if dev.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(steps):
            torch.minimum(md, 1.0 - U @ U[i], out=md)
            md[i] = -float("inf")
            i = torch.argmax(md)
        if dev.type == "cuda":
            torch.cuda.synchronize()
        per_step = (time.perf_counter() - t0) / max(1, steps)
    report["plain_float32_steps"] = steps
    report["plain_float32_extrapolated_s"] = round(per_step * args.k, 3)
    if report["device_loop_s"]:
        report["ratio_plain_over_device"] = round(per_step * args.k / report["device_loop_s"], 2)
    ok = report["identical_prefix"] and report["spot_exact"] and report["unique_indices"]
    report["ok"] = bool(ok and report["non_increasing"])
    save("done")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
