"""`symdisco bench`: every discovery method on tasks whose symmetry is known.

Prints one table (similarity to the truth, identified algebra, seconds) and writes it as
JSON, so runs on different machines or versions can be compared.
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
    ("discrete-rotation", {"k": 7}, "liegan", {"law": "integer", "discriminator": "fourier", "nontrivial": "relative",
                                               "lr_decay": 0.05, "n_starts": 6, "start_epochs": 8, "epochs": (15, 30)}),
]


def run_bench(out, *, quick: bool = False, seed: int = 0, cases=None, progress: bool = False) -> list[dict]:
    from . import datasets, methods
    from .errors import UserInputError

    rows = []
    for data_name, data_options, method_name, method_options in cases or CASES:
        options = {k: (v[0] if quick else v[1]) if isinstance(v, tuple) else v for k, v in method_options.items()}
        try:
            cls = methods.get(method_name)
        except (ImportError, AttributeError, UserInputError) as exc:
            rows.append({"dataset": data_name, "method": method_name, "error": str(exc)})
            continue
        result = cls(seed=seed, **options).fit(datasets.load(data_name, **data_options), progress=progress)
        name, _ = result.algebra.identify()
        rows.append({"dataset": data_name, "method": method_name, "similarity": result.similarity,
                     "algebra": name, "seconds": round(result.seconds, 2), "options": options,
                     **{k: result.extras[k] for k in ("rotation_angle",) if k in result.extras}})
        print(_format_row(rows[-1]), flush=True)
    out = Path(out)
    atomic_write_json(out / "bench.json", {"quick": quick, "seed": seed, "rows": rows})
    atomic_write_text(out / "bench.md", "\n".join(["| dataset | method | similarity | algebra | seconds |",
                                                   "|---|---|---|---|---|"] + [_format_row(r) for r in rows]) + "\n")
    return rows


def _format_row(row: dict) -> str:
    if "error" in row:
        return f"| {row['dataset']} | {row['method']} | - | {row['error']} | - |"
    sim = "n/a" if row["similarity"] is None else f"{row['similarity']:.3f}"
    name = row["algebra"] + (f" (angle {row['rotation_angle'][0]:.4f})" if "rotation_angle" in row else "")
    return f"| {row['dataset']} | {row['method']} | {sim} | {name} | {row['seconds']} |"
