"""`symdisco bench`: every discovery method on tasks whose symmetry is known.

Prints one table (similarity to the truth, identified algebra, seconds, and `symdisco verify`'s
check of every found generator: the worst held-out violation ratio and how many generators it
flags) and writes it as JSON, so runs on different machines or versions can be compared.
"""
from __future__ import annotations

from pathlib import Path

from .io_utils import atomic_write_json, atomic_write_text
from .methods.liegan import LORENTZ_OPTIONS

# (dataset, dataset options, method, method options); --quick uses the first `epochs` column
CASES = [
    ("nbody2", {}, "liegan", {"epochs": (5, 30)}),
    ("nbody2", {}, "symmetrygan", {"epochs": (5, 30)}),
    ("nbody2", {}, "augerino", {"epochs": (5, 30)}),
    ("nbody2", {}, "augmenter", {"epochs": (5, 30)}),
    ("so2-invariant", {}, "liegan", {"epochs": (20, 60)}),
    ("so2-equivariant", {}, "liegan", {"epochs": (20, 60)}),
    ("so3-invariant", {}, "liegan", {"n_generators": 3, "epochs": (30, 80)}),
    ("lorentz-jets", {"frame": "isotropic"}, "liegan", {**LORENTZ_OPTIONS, "epochs": (20, 40)}),
    ("nbody2", {}, "liesd", {}),
    ("so2-invariant", {}, "liesd", {}),
    ("so2-equivariant", {}, "liesd", {}),
    ("so3-invariant", {}, "liesd", {}),
    ("lorentz-jets", {"frame": "isotropic"}, "liesd", {}),
    ("discrete-rotation", {"k": 7}, "liesd", {}),
    ("discrete-rotation", {"k": 7}, "liegan", {"law": "integer", "discriminator": "fourier", "nontrivial": "relative",
                                               "lr_decay": 0.05, "n_starts": 6, "start_epochs": 8, "epochs": (15, 30)}),
]


def run_bench(out, *, quick: bool = False, seed: int = 0, cases=None, progress: bool = False,
              verify: bool = True) -> list[dict]:
    from . import datasets, methods
    from .errors import UserInputError
    from .verify import verify as verify_result

    rows = []
    for data_name, data_options, method_name, method_options in cases or CASES:
        options = {k: (v[0] if quick else v[1]) if isinstance(v, tuple) else v for k, v in method_options.items()}
        try:
            cls = methods.get(method_name)
        except (ImportError, AttributeError, UserInputError) as exc:
            rows.append({"dataset": data_name, "method": method_name, "error": str(exc)})
            continue
        dataset = datasets.load(data_name, **data_options)
        result = cls(seed=seed, **options).fit(dataset, progress=progress)
        name, _ = result.algebra.identify()
        rows.append({"dataset": data_name, "method": method_name, "similarity": result.similarity,
                     "algebra": name, "k": result.algebra.k, "seconds": round(result.seconds, 2), "options": _described(options),
                     **{k: result.extras[k] for k in ("rotation_angle",) if k in result.extras}})
        if verify and result.algebra.k and dataset.action != "image":
            report = verify_result(result, dataset, judge=not quick, fit_steps=200 if quick else 600, seed=seed)
            ratios = [r["ratio"] for r in report["generators"] if "ratio" in r]
            rows[-1].update(verify_max_ratio=max(ratios) if ratios else None, verify_flagged=len(report["flagged"]),
                            verify_judge=[r.get("judge_accuracy") for r in report["generators"]])
        print(_format_row(rows[-1]), flush=True)
    out = Path(out)
    atomic_write_json(out / "bench.json", {"quick": quick, "seed": seed, "rows": rows})
    atomic_write_text(out / "bench.md", "\n".join(["| dataset | method | similarity | algebra | seconds | "
                                                   "verify: worst ratio, flagged |", "|---|---|---|---|---|---|"]
                                                  + [_format_row(r) for r in rows]) + "\n")
    return rows


def _described(options: dict) -> dict:
    """Options as JSON: parts passed as objects (a coefficient law, a discriminator) by `describe()`."""
    return {k: v.describe() if hasattr(v, "describe") else v for k, v in options.items()}


def _format_row(row: dict) -> str:
    if "error" in row:
        return f"| {row['dataset']} | {row['method']} | - | {row['error']} | - | - |"
    sim = "n/a" if row["similarity"] is None else f"{row['similarity']:.3f}"
    name = row["algebra"] + (f" (angle {row['rotation_angle'][0]:.4f})" if "rotation_angle" in row else "")
    checked = "-" if row.get("verify_max_ratio") is None else \
        f"{row['verify_max_ratio']:.3g}, {row['verify_flagged']} of {row['k']}"
    return f"| {row['dataset']} | {row['method']} | {sim} | {name} | {row['seconds']} | {checked} |"
