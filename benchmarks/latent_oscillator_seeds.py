"""Issue 13's oscillator over observation maps and seeds: is the prediction with the symmetry at
least as good as without?  Writes benchmarks/results/latent_oscillator_seeds.json.

    python benchmarks/latent_oscillator_seeds.py [--maps 0:1,7:11] [--seeds 0,1,2] [--set KEY=VALUE] [--out FILE]

Each case is `observed_oscillator(map_seed, seed)` (50 x 200 steps of dt 0.05 through a random
20-d tanh map, 5 held-out trajectories of 501 steps) and the README's run, `--latent-dim 2
--sindy` with the method seed given (with and without the symmetry, in one run).  Map 0:1 is the
README's file, 7:11 the slow test's.  Recorded per run: algebra, eigenvalue ratio, equations and
frequency, and the 500-step relative errors in input space, beyond reconstruction
(|psi(z_pred) - psi(phi(x))|^2 / |x|^2) and in latent space, at the last step and averaged over
the horizon; the summary gives with / without for each measure, both for the two separately
trained networks (with: latent LieGAN + equivariant SINDy; without: the SINDy autoencoder) and
on one network (`same_network`: the with-symmetry network's codes integrated with its equivariant
equation and with plain STLSQ's), and per side the median, mean and worst error over the runs
(what a user running once with an unknown seed can expect).  One thread; about a minute of
CPU per run.  `--summarise FILE` recomputes a stored file's summary without running anything.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

import symdisco.datasets as datasets  # noqa: E402
from symdisco.datasets.dynamics import observed_oscillator  # noqa: E402
from symdisco.io_utils import atomic_write_json  # noqa: E402
from symdisco.methods.latent import LatentLieGAN  # noqa: E402

MEASURES = {  # name -> (key in long_term_prediction, key inside it or None)
    "input_final": ("relative_mse_input_final", None),
    "beyond_reconstruction_final": ("relative_mse_beyond_reconstruction_final", None),
    "latent_final": ("relative_mse_latent_final", None),
    "input_horizon_mean": ("horizon_mean", "input"),
    "beyond_reconstruction_horizon_mean": ("horizon_mean", "beyond_reconstruction"),
}
SAME_NETWORK = ("relative_mse_input_final", "relative_mse_beyond_reconstruction_final", "horizon_mean")


def frequency(table: dict) -> float:
    terms, rows = table["terms"], np.asarray(table["coefficients"])
    linear = rows[:, [terms.index("z1"), terms.index("z2")]]
    return float(np.abs(np.linalg.eigvals(linear).imag).max())


def run_case(map_seed: int, data_seed: int, seed: int, folder: Path, options: dict | None = None) -> dict:
    path = folder / f"osc_{map_seed}_{data_seed}.npz"
    if not path.exists():
        np.savez(path, **observed_oscillator(map_seed=map_seed, seed=data_seed))
    data = datasets.load(str(path), task="dynamics")
    start, cpu = time.perf_counter(), time.process_time()
    result = LatentLieGAN(latent_dim=2, sindy=True, seed=seed, plots=False, **(options or {})).fit(
        data, progress=False)
    extras, prediction = result.extras, result.extras["long_term_prediction"]
    record = {"map_seed": map_seed, "data_seed": data_seed, "seed": seed,
              "seconds": round(time.perf_counter() - start, 1), "cpu_seconds": round(time.process_time() - cpu, 1),
              "algebra": result.algebra.identify()[0], "so2_eigen_ratio": extras["so2_eigen_ratio"][0],
              "equations": extras["equations"], "equations_stlsq": extras.get("equations_stlsq"),
              "equations_without_symmetry": extras["without_symmetry"]["equations"],
              "frequency": frequency(extras["sindy_coefficients"]),
              "frequency_without_symmetry": frequency(extras["without_symmetry"]["sindy_coefficients"]),
              "reconstruction_floor_final": prediction["reconstruction_floor_final"]}
    for name, (key, inner) in MEASURES.items():
        pair = {side: (values if inner is None else values[inner])
                for side, values in prediction[key].items()}
        record[name] = {**pair, "ratio": pair["with_symmetry"] / max(pair["without_symmetry"], 1e-300)}
    same = prediction["same_network"]
    record["same_network"] = {"equations_without_symmetry": same["equations_without_symmetry"]}
    for name, (key, inner) in MEASURES.items():
        pair = {side: (values if inner is None else values[inner]) for side, values in same[key].items()}
        ratio = pair["with_symmetry"] / max(pair["without_symmetry"], 1e-300)
        record["same_network"][name] = {**pair, "ratio": ratio}
    return record


def summary(runs: list[dict]) -> dict:
    """with / without per measure: for the two separately trained networks (the full ablation)
    and on one network (`same_network`: the equivariant equation against plain STLSQ's)."""
    out = {}
    for label, pick in (("separately_trained", lambda r: r), ("same_network", lambda r: r["same_network"])):
        out[label] = {}
        for name in MEASURES:
            ratios = [pick(r)[name]["ratio"] for r in runs]
            out[label][name] = {"with_at_most_without": f"{sum(x <= 1 for x in ratios)} of {len(ratios)}",
                                "ratio_min": min(ratios), "ratio_median": float(np.median(ratios)),
                                "ratio_max": max(ratios),
                                "over_runs": {side: spread([pick(r)[name][side] for r in runs])
                                              for side in ("with_symmetry", "without_symmetry")}}
        out[label]["frequency_error_max"] = {
            "with_symmetry": max(abs(r["frequency"] - 1) for r in runs),
            "without_symmetry": max(abs(r["frequency_without_symmetry"] - 1) for r in runs)}
    return out


def spread(values: list[float]) -> dict:
    """What a user running once with an unknown seed can expect: median, mean and worst error."""
    return {"median": float(np.median(values)), "mean": float(np.mean(values)), "max": float(np.max(values))}


def _value(text: str):
    """A --set value: JSON (numbers, true, null), else the bare string (training=two-stage)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--maps", default="0:1,7:11", help="map_seed:data_seed pairs")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a method option other than the defaults (e.g. epochs=300, w_gan=0)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "latent_oscillator_seeds.json"))
    parser.add_argument("--summarise", metavar="FILE", help="only recompute the summary of a stored file")
    args = parser.parse_args(argv)
    if args.summarise:
        stored = json.loads(Path(args.summarise).read_text())
        stored["summary"] = summary(stored["runs"])
        atomic_write_json(args.summarise, stored)
        return
    torch.set_num_threads(1)
    options = {key: _value(value) for key, value in (item.split("=", 1) for item in args.set)}
    report = {"benchmark": "latent_oscillator_seeds", "options": options, "runs": [],
              "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "torch": torch.__version__,
                          "load_average_before": os.getloadavg()[0]}}
    with tempfile.TemporaryDirectory() as folder:
        for pair in args.maps.split(","):
            map_seed, data_seed = map(int, pair.split(":"))
            for seed in map(int, args.seeds.split(",")):
                report["runs"].append(run_case(map_seed, data_seed, seed, Path(folder), options))
                report["summary"] = summary(report["runs"])
                atomic_write_json(args.out, report)  # after every run: a long run keeps what it has
                last = report["runs"][-1]
                print(f"map {map_seed} seed {seed}: input {last['input_final']}, "
                      f"beyond {last['beyond_reconstruction_final']}", flush=True)
    report["machine"]["load_average_after"] = os.getloadavg()[0]
    atomic_write_json(args.out, report)
    print(report["summary"])


if __name__ == "__main__":
    main()
